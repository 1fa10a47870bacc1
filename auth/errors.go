package auth

import (
	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// Error is a refusal of the identity server or the backend client: the
// HTTP status, Clerk's code, the message a person may be shown and,
// for a field's error, the field (Param).
type Error = identity.Error

// AsError returns err as an *Error when it is a refusal (of the identity
// server, or of the backend client) rather than a failure.
func AsError(err error) (*Error, bool) { return clerkclient.AsIdentityError(err) }
