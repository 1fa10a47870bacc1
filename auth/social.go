package auth

// The doors of sign-in with an OAuth or OpenID provider: the buttons'
// providers, the start of a flow (sign in, connect to the signed-in
// account, or reverify the session) and its callback. They own the flow's
// cookie and, at the end, the session cookies.

import (
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// OAuthProvider is a provider people can sign in with.
type OAuthProvider struct {
	Name     string // as in OAUTH_PROVIDERS: google, github, acme, …
	Label    string // for buttons: "Google"
	Strategy string // Clerk's: oauth_google, oauth_custom_acme, …
}

// LinkRefused means the provider's address belongs to an account here
// that the provider's word alone cannot sign in to: show how to sign in
// as before and connect the provider from the profile.
type LinkRefused = identity.LinkRefused

// The intents of a flow.
const (
	OAuthSignIn   = identity.IntentSignIn
	OAuthConnect  = identity.IntentConnect
	OAuthReverify = identity.IntentReverify
)

// OAuthProviders returns the configured providers, in the order of their
// buttons (none when there is no identity server).
func OAuthProviders(r *http.Request) []OAuthProvider {
	svc, _, err := identityOf(r)
	if err != nil {
		return nil
	}
	var out []OAuthProvider
	for _, p := range svc.Providers() {
		out = append(out, OAuthProvider{Name: p.Name(), Label: p.Label(), Strategy: p.Strategy()})
	}
	return out
}

// StartOAuth begins a flow with provider name and returns the provider's
// URL to send the browser to (303). intent is [OAuthSignIn] (signed out),
// or [OAuthConnect] or [OAuthReverify] for the signed-in session; a
// connect needs a session fresh enough for sensitive changes
// ([IsReverificationRequired] otherwise). redirectURL, checked like every
// redirect_url, is where the callback sends the browser at the end.
func StartOAuth(w http.ResponseWriter, r *http.Request, name, intent, redirectURL string) (string, error) {
	svc, o, err := identityOf(r)
	if err != nil {
		return "", err
	}
	if err := limited(w, r, o); err != nil {
		return "", err
	}
	ctx, sid := o.Limiter.RequestContext(r, ""), ""
	switch intent {
	case OAuthSignIn:
	case OAuthConnect, OAuthReverify:
		acct, actx, err := OpenAccount(w, r)
		if err != nil {
			return "", err
		}
		if intent == OAuthConnect {
			if err := acct.CanConnect(); err != nil {
				return "", err
			}
		}
		ctx, sid = actx, acct.SessionID()
	default:
		return "", errors.New("auth: unknown oauth intent " + intent)
	}
	u, f, err := svc.StartOAuth(ctx, name, intent, sid, o.Redirects.Safe(redirectURL, ""))
	if err != nil {
		return "", err
	}
	if err := svc.Cookies().SetOAuthFlow(w, f); err != nil {
		return "", err
	}
	return u, nil
}

// OAuthDone is the end of a flow: what it was for and where to go.
type OAuthDone struct {
	Intent      string
	RedirectURL string // checked; "" when the flow named none
}

// FinishOAuth completes this browser's flow with provider name from the
// provider's callback request r. A sign-in sets the session cookies (or,
// for a user with a second factor, returns [ErrSecondFactorRequired]); a
// connect adds the account to the signed-in user; a reverify refreshes
// the session's first factor. The flow is used once, whatever happens.
// A refusal is an *Error to show on the sign-in page (or, when done is
// not nil and its intent is not a sign-in, on the page that started the
// flow), or a *LinkRefused.
func FinishOAuth(w http.ResponseWriter, r *http.Request, name string) (*OAuthDone, error) {
	svc, o, err := identityOf(r)
	if err != nil {
		return nil, err
	}
	f := svc.Cookies().ReadOAuthFlow(r)
	svc.Cookies().ClearOAuthFlow(w)
	ctx := o.Limiter.RequestContext(r, "")
	var done *OAuthDone
	if f != nil {
		done = &OAuthDone{Intent: f.Intent, RedirectURL: o.Redirects.Safe(f.RedirectURL, "")}
	}
	prof, err := svc.FinishOAuth(ctx, name, f, r.URL.Query())
	if err != nil {
		return done, err
	}
	if f.Intent == OAuthSignIn {
		res, err := svc.SocialSignIn(ctx, name, prof, identity.ClientCookieValue(r), r.Header.Get("Origin"))
		if err != nil {
			return done, secondFactorNeeded(w, r, svc, err)
		}
		svc.Cookies().SetSignedIn(w, res)
		return done, nil
	}
	// Connect and reverify belong to the session that started them.
	acct, actx, err := OpenAccount(w, r)
	if err != nil {
		return done, err
	}
	if acct.SessionID() != f.SessionID {
		return done, &identity.Error{Status: http.StatusBadRequest, Code: "oauth_state_invalid",
			Message: "That flow was started in another session. Try again.", LongMessage: "The OAuth flow belongs to another session."}
	}
	if f.Intent == OAuthConnect {
		return done, acct.ConnectExternalAccount(actx, name, prof)
	}
	if err := acct.ReverifyWithProvider(actx, name, prof); err != nil {
		return done, err
	}
	tok, err := svc.MintSessionToken(actx, acct.SessionID(), r.Header.Get("Origin"))
	if err != nil {
		return done, err
	}
	svc.Cookies().SetSession(w, tok)
	return done, nil
}

// DisconnectOAuth removes the signed-in user's connected account id,
// unless it is their last way to sign in. It is a sensitive action.
func DisconnectOAuth(w http.ResponseWriter, r *http.Request, id string) error {
	acct, ctx, err := OpenAccount(w, r)
	if err != nil {
		return err
	}
	return acct.DisconnectExternalAccount(ctx, id)
}
