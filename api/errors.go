package api

import (
	"errors"

	"github.com/gatehouse-dev/gatehouse/auth/store"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
