package auth

// The doors of second factors and reverification: the sign-in page's
// second step, and the reverify page that makes a session fresh enough
// for sensitive actions.

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// ErrSecondFactorRequired means the first factor passed for a user with
// a second factor: no session exists yet; this browser remembers the
// sign-in for ten minutes, and the page should ask for the code.
var ErrSecondFactorRequired = errors.New("auth: a second factor is required")

// TOTPEnrolment is an authenticator app being set up.
type TOTPEnrolment = identity.TOTPEnrolment

// The second-factor strategies.
const (
	StrategyTOTP       = identity.StrategyTOTP
	StrategyBackupCode = identity.StrategyBackupCode
)

// secondFactorNeeded turns identity's SecondFactorRequired into
// ErrSecondFactorRequired, remembering the attempt in this browser.
func secondFactorNeeded(w http.ResponseWriter, r *http.Request, svc *identity.Service, err error) error {
	sf, ok := errors.AsType[*identity.SecondFactorRequired](err)
	if !ok {
		return err
	}
	at := svc.Cookies().ReadAttempts(r)
	at.SignIn, at.SecondFactor = "", sf.AttemptID
	svc.Cookies().SetAttempts(w, at)
	return ErrSecondFactorRequired
}

// PendingSecondFactor returns the strategies of this browser's sign-in
// that waits for its second factor (totp, and backup_code while codes are
// left), or ErrNoAttempt.
func PendingSecondFactor(r *http.Request) ([]string, error) {
	svc, ctx, at, err := attemptDoor(r)
	if err != nil {
		return nil, err
	}
	st, err := svc.SecondFactorStrategies(ctx, at.SecondFactor)
	if err != nil {
		return nil, ErrNoAttempt
	}
	return st, nil
}

// AttemptSecondFactor completes this browser's sign-in with a code of the
// user's second factor (strategy totp or backup_code) and sets the session
// cookies. A wrong code is an *Error and counts toward the lockout.
func AttemptSecondFactor(w http.ResponseWriter, r *http.Request, strategy, code string) error {
	svc, ctx, at, err := attemptDoor(r)
	if err != nil {
		return err
	}
	if at.SecondFactor == "" {
		return ErrNoAttempt
	}
	res, err := svc.AttemptSecondFactor(ctx, at.SecondFactor, strategy, code, identity.ClientCookieValue(r), r.Header.Get("Origin"))
	if err != nil {
		if e, ok := identity.AsError(err); ok && e.Code == "verification_missing" {
			return ErrNoAttempt
		}
		return err
	}
	at.SecondFactor = ""
	svc.Cookies().SetAttempts(w, at)
	svc.Cookies().SetSignedIn(w, res)
	return nil
}

// Reverify verifies a factor of the signed-in session again (strategy
// password, totp or backup_code) and sets a new session token at once, so
// the very next request carries the new fva. A wrong secret is an *Error
// and counts toward the lockout.
func Reverify(w http.ResponseWriter, r *http.Request, strategy, secret string) error {
	acct, ctx, err := OpenAccount(w, r)
	if err != nil {
		return err
	}
	if err := acct.Reverify(ctx, strategy, secret); err != nil {
		return err
	}
	svc, _, err := identityOf(r)
	if err != nil {
		return err
	}
	tok, err := svc.MintSessionToken(ctx, acct.SessionID(), r.Header.Get("Origin"))
	if err != nil {
		return err
	}
	svc.Cookies().SetSession(w, tok)
	return nil
}

// ReverifyURL is where [Require] sends a page request whose session must
// verify again.
const ReverifyURL = "/reverify"

// WithReverification requires the session to have verified its factors
// as recently as req asks (see [HasParams]). API requests that fail it
// get 403 with Clerk's reverification-error body; page requests go to
// [ReverifyURL] with the level and redirect_url.
func WithReverification(req ReverificationRequirement) ProtectOption {
	return func(c *protectConfig) { c.reverification = req }
}

// The tasks of a pending session and their pages.
const (
	TaskSetupMFA           = identity.TaskSetupMFA
	TaskChooseOrganization = identity.TaskChooseOrganization
	SetupMFAURL            = "/sign-in/tasks/setup-mfa"
	ChooseOrganizationURL  = "/sign-in/tasks/choose-organization"
)

// PendingTask returns the task of the request's pending session (setting
// up a second factor first, then choosing an organization), or "" when it
// has none.
func PendingTask(r *http.Request) (string, error) {
	svc, _, err := identityOf(r)
	if err != nil {
		return "", err
	}
	a, err := GetAuth(r)
	if err != nil {
		return "", err
	}
	if !a.IsAuthenticated {
		return "", ErrSessionEnded
	}
	task, err := svc.PendingTask(r.Context(), a.SessionID)
	if errors.Is(err, identity.ErrSignedOut) {
		return "", ErrSessionEnded
	}
	return task, err
}

// CodeReverificationRequired is the code of the refusal of a sensitive
// account action whose session must verify again (see [ReverifyURL]).
const CodeReverificationRequired = identity.CodeReverificationRequired

// IsReverificationRequired reports whether err is that refusal.
func IsReverificationRequired(err error) bool {
	e, ok := identity.AsError(err)
	return ok && e.Code == CodeReverificationRequired
}

// ReverifyPageURL is the reverify page for a sensitive action that
// returns to back afterwards.
func ReverifyPageURL(back string) string {
	return ReverifyURL + "?" + url.Values{"level": {string(Strict)}, "redirect_url": {back}}.Encode()
}
