package auth

// The doors of the code pages (a sign-up's code, a password reset) and
// of the account settings. Like the sign-in doors they own the cookies:
// the attempt cookie that ties a code to the browser that asked for it,
// and the session cookies a completed sign-up or reset sets.

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// Attempt views and account types, as the identity server has them.
type (
	// SignUpAttempt is a sign-up waiting for its email code.
	SignUpAttempt = identity.SignUpAttempt
	// ResetAttempt is a password reset under way.
	ResetAttempt = identity.ResetAttempt
	// CodeState is where a code went and when another may be asked for.
	CodeState = identity.CodeState
	// Account is the signed-in user's own account (see [OpenAccount]).
	Account = identity.Account
)

// DeleteConfirmation is what a person types to delete their account.
const DeleteConfirmation = identity.DeleteConfirmation

// ErrNoAttempt means this browser has no sign-up or reset under way (or
// its attempt lapsed): the page should start over.
var ErrNoAttempt = errors.New("auth: no attempt under way in this browser")

// attemptDoor returns the identity service, the request's context with
// its request info, and this browser's attempts.
func attemptDoor(r *http.Request) (*identity.Service, context.Context, identity.Attempts, error) {
	svc, o, err := identityOf(r)
	if err != nil {
		return nil, nil, identity.Attempts{}, err
	}
	return svc, o.Limiter.RequestContext(r, ""), svc.Cookies().ReadAttempts(r), nil
}

// PendingSignUp returns this browser's sign-up attempt, or ErrNoAttempt.
func PendingSignUp(r *http.Request) (*SignUpAttempt, error) {
	svc, ctx, at, err := attemptDoor(r)
	if err != nil {
		return nil, err
	}
	if at.SignUp == "" {
		return nil, ErrNoAttempt
	}
	return svc.SignUpAttempt(ctx, at.SignUp)
}

// VerifySignUp checks the code of this browser's sign-up; when it is
// right the user is created with the address verified and this browser is
// signed in.
func VerifySignUp(w http.ResponseWriter, r *http.Request, code string) error {
	svc, ctx, at, err := attemptDoor(r)
	if err != nil {
		return err
	}
	if at.SignUp == "" {
		return ErrNoAttempt
	}
	res, err := svc.AttemptSignUp(ctx, at.SignUp, code, identity.ClientCookieValue(r), r.Header.Get("Origin"))
	if err != nil {
		return err
	}
	at.SignUp = ""
	svc.Cookies().SetAttempts(w, at)
	svc.Cookies().SetSignedIn(w, res)
	return nil
}

// ResendSignUpCode mails a new code for this browser's sign-up.
func ResendSignUpCode(w http.ResponseWriter, r *http.Request) (*SignUpAttempt, error) {
	svc, ctx, at, err := attemptDoor(r)
	if err != nil {
		return nil, err
	}
	if at.SignUp == "" {
		return nil, ErrNoAttempt
	}
	return svc.ResendSignUpCode(ctx, at.SignUp)
}

// StartPasswordReset begins a reset for the address and remembers it in
// this browser. The answer never says whether the address has an account.
func StartPasswordReset(w http.ResponseWriter, r *http.Request, identifier string) (*ResetAttempt, error) {
	svc, o, err := identityOf(r)
	if err != nil {
		return nil, err
	}
	if err := limited(w, r, o); err != nil {
		return nil, err
	}
	a, err := svc.StartPasswordReset(o.Limiter.RequestContext(r, ""), identifier)
	if err != nil {
		return nil, err
	}
	at := svc.Cookies().ReadAttempts(r)
	at.SignIn = a.ID
	svc.Cookies().SetAttempts(w, at)
	return a, nil
}

// PendingReset returns this browser's password reset, or ErrNoAttempt.
func PendingReset(r *http.Request) (*ResetAttempt, error) {
	svc, ctx, at, err := attemptDoor(r)
	if err != nil {
		return nil, err
	}
	if at.SignIn == "" {
		return nil, ErrNoAttempt
	}
	return svc.ResetAttempt(ctx, at.SignIn)
}

// ResendResetCode mails a new reset code (when the address has an account).
func ResendResetCode(w http.ResponseWriter, r *http.Request) (*ResetAttempt, error) {
	svc, ctx, at, err := attemptDoor(r)
	if err != nil {
		return nil, err
	}
	if at.SignIn == "" {
		return nil, ErrNoAttempt
	}
	return svc.ResendResetCode(ctx, at.SignIn)
}

// VerifyResetCode checks the reset code of this browser's reset.
func VerifyResetCode(w http.ResponseWriter, r *http.Request, code string) (*ResetAttempt, error) {
	svc, o, err := identityOf(r)
	if err != nil {
		return nil, err
	}
	if err := limited(w, r, o); err != nil {
		return nil, err
	}
	at := svc.Cookies().ReadAttempts(r)
	if at.SignIn == "" {
		return nil, ErrNoAttempt
	}
	return svc.AttemptResetCode(o.Limiter.RequestContext(r, ""), at.SignIn, code)
}

// ResetPassword sets the new password of this browser's reset (its code
// was right), ends the user's other sessions when signOutOthers, and signs
// this browser in.
func ResetPassword(w http.ResponseWriter, r *http.Request, password string, signOutOthers bool) error {
	svc, ctx, at, err := attemptDoor(r)
	if err != nil {
		return err
	}
	if at.SignIn == "" {
		return ErrNoAttempt
	}
	res, err := svc.ResetPassword(ctx, at.SignIn, password, signOutOthers, identity.ClientCookieValue(r), r.Header.Get("Origin"))
	if err != nil {
		return secondFactorNeeded(w, r, svc, err)
	}
	at.SignIn = ""
	svc.Cookies().SetAttempts(w, at)
	svc.Cookies().SetSignedIn(w, res)
	return nil
}

// OpenAccount returns the signed-in user's account, re-read from the
// store with the request's session, and the context to change it with
// (it carries the request's IP, user agent and session for the audit
// events). A session that has ended clears the cookies and returns
// ErrSessionEnded.
func OpenAccount(w http.ResponseWriter, r *http.Request) (*Account, context.Context, error) {
	svc, o, err := identityOf(r)
	if err != nil {
		return nil, nil, err
	}
	a, err := GetAuth(r)
	if err != nil {
		return nil, nil, err
	}
	acct, err := svc.Account(r.Context(), a.SessionID)
	if errors.Is(err, identity.ErrSignedOut) {
		svc.Cookies().Clear(w)
		return nil, nil, ErrSessionEnded
	}
	if err != nil {
		return nil, nil, err
	}
	return acct, o.Limiter.RequestContext(r, a.SessionID), nil
}

// AccountDeleted clears this browser's cookies after its account is gone.
func AccountDeleted(w http.ResponseWriter, r *http.Request) {
	if svc, _, err := identityOf(r); err == nil {
		svc.Cookies().Clear(w)
	}
}
