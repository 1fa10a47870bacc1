package api

import (
	"errors"

	"github.com/gatehouse-dev/gatehouse/internal/appdata"
)

func isNotFound(err error) bool { return errors.Is(err, appdata.ErrNotFound) }
