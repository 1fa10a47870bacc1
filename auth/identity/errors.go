package identity

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// Error is a refusal the user should see, with Clerk's error code. Pages
// show Message; the frontend API sends the whole error in Clerk's envelope.
type Error struct {
	Status      int
	Code        string
	Message     string
	LongMessage string
	Param       string        // the form field at fault, if any
	RetryAfter  time.Duration // for 429, 503 and user_locked
}

func (e *Error) Error() string { return "identity: " + e.Code + ": " + e.Message }

// Meta returns the error's meta object for Clerk's envelope.
func (e *Error) Meta() map[string]any {
	m := map[string]any{}
	if e.Param != "" {
		m["param_name"] = e.Param
	}
	if e.Code == "user_locked" {
		m["lockout_expires_in_seconds"] = int(e.RetryAfter.Round(time.Second) / time.Second)
	}
	return m
}

// SetRetryAfter adds a Retry-After header when the error carries a wait.
func (e *Error) SetRetryAfter(w http.ResponseWriter) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
}

// AsError returns err as an *Error when it is one.
func AsError(err error) (*Error, bool) { return errors.AsType[*Error](err) }

// ErrSignedOut means the client cookie names no live session: the caller
// is signed out and its cookies should be cleared.
var ErrSignedOut = errors.New("identity: no live session for this client")

func paramMissing(param string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "form_param_missing", Param: param,
		Message: "Enter " + paramLabel(param) + ".", LongMessage: param + " must be included."}
}

func paramFormat(param, msg string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "form_param_format_invalid", Param: param,
		Message: msg, LongMessage: msg}
}

func paramLabel(p string) string {
	switch p {
	case "identifier", "email_address":
		return "your email address"
	case "password":
		return "a password"
	}
	return p
}

// errInvalidCredentials is the one answer to an unknown email and a wrong
// password alike, so sign-in never reveals which accounts exist.
var errInvalidCredentials = &Error{Status: http.StatusUnprocessableEntity, Code: "form_password_incorrect",
	Param: "password", Message: "Email address or password is incorrect.",
	LongMessage: "Email address or password is incorrect. Try again, or reset your password."}

// errLockedUntil is the refusal of an account locked until until (ms): for
// a while after failed attempts, or until an operator unlocks it.
func errLockedUntil(until int64, now time.Time) *Error {
	if until >= store.LockedForever {
		return &Error{Status: http.StatusForbidden, Code: "user_locked",
			Message:     "Your account is locked. Contact the site's administrators to unlock it.",
			LongMessage: "This account has been locked by an administrator."}
	}
	return errLocked(time.Duration(until-now.UnixMilli()) * time.Millisecond)
}

func errLocked(wait time.Duration) *Error {
	return &Error{Status: http.StatusForbidden, Code: "user_locked", RetryAfter: wait,
		Message:     "Your account is locked after too many failed attempts. Try again in " + humanWait(wait) + ".",
		LongMessage: "Your account is locked. You will be able to try again in " + humanWait(wait) + "."}
}

func errBusy() *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "too_many_requests", RetryAfter: time.Second,
		Message: "The server is busy. Try again in a moment.", LongMessage: "Too many sign-in attempts are being processed. Try again in a moment."}
}

func humanWait(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "1 minute"
	}
	return strconv.Itoa(m) + " minutes"
}

// ErrTooManyRequests is the error for an attempt over the per-IP limit.
func ErrTooManyRequests(wait time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "too_many_requests", RetryAfter: wait,
		Message:     "Too many attempts. Try again in " + humanWait(wait) + ".",
		LongMessage: "Too many requests from this network. Try again in " + humanWait(wait) + "."}
}
