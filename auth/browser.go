package auth

// The sign-in, sign-up and sign-out forms and the organization pages sign
// a browser in or out, and change its session, through these functions.
// They own the identity server's cookies (__client and __session): a page
// never sets them itself. Each needs the middleware's identity service
// and answers ErrCannotMint in a verify-only process.

import (
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/httpapi"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// Caller is who an organization call is made for (see
// clerkclient.OrganizationsAPI.As).
type Caller = clerkclient.Caller

// SignUpParams are the fields of the sign-up form.
type SignUpParams struct {
	EmailAddress, Password, FirstName, LastName string
}

// identityOf returns the identity service of the middleware that saw r.
func identityOf(r *http.Request) (*identity.Service, *Options, error) {
	st, ok := r.Context().Value(stateKey{}).(*requestState)
	if !ok {
		return nil, nil, ErrNoMiddleware
	}
	if st.opts.Identity == nil {
		return nil, nil, ErrCannotMint
	}
	return st.opts.Identity, st.opts, nil
}

// limited counts one sign-in or sign-up attempt against the per-IP limit,
// returning the refusal (429, Retry-After set) when it is over.
func limited(w http.ResponseWriter, r *http.Request, o *Options) error {
	if ok, wait := o.Limiter.Limited(w, r); ok {
		return identity.ErrTooManyRequests(wait)
	}
	return nil
}

// SignIn checks the identifier and password and, when they are right,
// signs this browser in: a new session, its cookies set on w. A refusal
// is an *Error (see AsError): wrong credentials, a locked account, too
// many attempts from this network. For a user with a second factor it is
// [ErrSecondFactorRequired]: no session yet, and this browser remembers
// the sign-in for [AttemptSecondFactor].
func SignIn(w http.ResponseWriter, r *http.Request, identifier, password string) error {
	svc, o, err := identityOf(r)
	if err != nil {
		return err
	}
	if err := limited(w, r, o); err != nil {
		return err
	}
	res, err := svc.SignIn(o.Limiter.RequestContext(r, ""), identifier, password, identity.ClientCookieValue(r), r.Header.Get("Origin"))
	if err != nil {
		return secondFactorNeeded(w, r, svc, err)
	}
	svc.Cookies().SetSignedIn(w, res)
	return nil
}

// SignUp creates an account with a password. With SIGN_UP_VERIFICATION
// =email_code (the default) no user exists yet: a code goes to the
// address, the attempt is remembered in this browser, and complete is
// false (continue with [VerifySignUp]). With verification off the user
// is created, its address unverified, this browser is signed in and
// complete is true. A refusal is an *Error, whose Param names the field
// at fault.
func SignUp(w http.ResponseWriter, r *http.Request, p SignUpParams) (complete bool, err error) {
	svc, o, err := identityOf(r)
	if err != nil {
		return false, err
	}
	if err := limited(w, r, o); err != nil {
		return false, err
	}
	ctx := o.Limiter.RequestContext(r, "")
	in := identity.SignUpInput{EmailAddress: p.EmailAddress, Password: p.Password, FirstName: p.FirstName, LastName: p.LastName}
	if svc.VerifiesSignUps() {
		a, err := svc.StartSignUp(ctx, in)
		if err != nil {
			return false, err
		}
		at := svc.Cookies().ReadAttempts(r)
		at.SignUp = a.ID
		svc.Cookies().SetAttempts(w, at)
		return false, nil
	}
	res, err := svc.SignUp(ctx, in, identity.ClientCookieValue(r), r.Header.Get("Origin"))
	if err != nil {
		return false, err
	}
	svc.Cookies().SetSignedIn(w, res)
	return true, nil
}

// SignInWithTicket uses a sign-in link's actor token, once, to start an
// impersonation session on this browser.
func SignInWithTicket(w http.ResponseWriter, r *http.Request, ticket string) error {
	svc, o, err := identityOf(r)
	if err != nil {
		return err
	}
	res, err := svc.SignInWithActorToken(o.Limiter.RequestContext(r, ""), ticket, identity.ClientCookieValue(r), r.Header.Get("Origin"))
	if err != nil {
		return err
	}
	svc.Cookies().SetSignedIn(w, res)
	return nil
}

// SignOut ends this browser's session and clears its cookies.
func SignOut(w http.ResponseWriter, r *http.Request) error {
	svc, o, err := identityOf(r)
	if err != nil {
		return err
	}
	if err := svc.SignOut(o.Limiter.RequestContext(r, ""), identity.ClientCookieValue(r)); err != nil {
		return err
	}
	svc.Cookies().Clear(w)
	return nil
}

// SetActiveOrganization makes orgID ("" for the personal account) the
// active organization of the request's session and sets the new session
// token on w at once. When the session has ended it clears the cookies
// and returns ErrSessionEnded.
func SetActiveOrganization(w http.ResponseWriter, r *http.Request, orgID string) error {
	svc, _, err := identityOf(r)
	if err != nil {
		return err
	}
	sid := ""
	if a, err := GetAuth(r); err == nil {
		sid = a.SessionID
	}
	res, err := svc.SetActiveOrganization(r.Context(), identity.ClientCookieValue(r), sid, orgID, r.Header.Get("Origin"))
	if errors.Is(err, identity.ErrSignedOut) {
		svc.Cookies().Clear(w)
		return ErrSessionEnded
	}
	if err != nil {
		return err
	}
	svc.Cookies().SetSession(w, res.Token)
	return nil
}

// SessionCaller re-reads the request's session from the store, as every
// sensitive write needs: a session ended a second ago is signed out,
// whatever its token says. Then it clears the cookies and returns
// ErrSessionEnded.
func SessionCaller(w http.ResponseWriter, r *http.Request) (Caller, error) {
	svc, o, err := identityOf(r)
	if err != nil {
		return Caller{}, err
	}
	a, err := GetAuth(r)
	if err != nil {
		return Caller{}, err
	}
	c, err := svc.SessionCaller(o.Limiter.RequestContext(r, a.SessionID), a.SessionID)
	if errors.Is(err, identity.ErrSignedOut) {
		svc.Cookies().Clear(w)
		return c, ErrSessionEnded
	}
	return c, err
}

// ReadForm reads a form (or JSON) body of at most 64 KiB into a flat map.
// A body it cannot read is an *Error: 413 too large, 415 another content
// type, 400 malformed or with a repeated field.
func ReadForm(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	return httpapi.ReadForm(w, r)
}

// AsUser is the caller of organization reads made for the user with id
// (writes take SessionCaller's, re-read from the store).
func AsUser(id string) Caller { return clerkclient.AsUser(id) }

// The pages the identity server's links open, with ?token=…: an
// organization invitation and an impersonation (actor token) sign-in.
const (
	InvitationPath = identity.InvitationPath
	TicketPath     = identity.TicketPath
)
