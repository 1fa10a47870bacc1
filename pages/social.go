package pages

import (
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/components"
)

// Where the forms of signing in with a provider post, each followed by
// the provider's name (or, to disconnect, the account's id and
// /disconnect). The provider sends the browser back to
// /sign-in/oauth/{provider}/callback.
const (
	oauthSignInPrefix   = components.OAuthSignInPrefix
	connectionsPrefix   = "/profile/connections/"
	reverifyOAuthPrefix = auth.ReverifyURL + "/oauth/"
	// oauthStrategyPrefix begins the reverify strategy of a provider.
	oauthStrategyPrefix = "oauth_"
	// connectionsURL is the profile's connected accounts card.
	connectionsURL = "/profile#connections"
)

// OAuthPages serve signing in with an OAuth or OpenID provider: the
// buttons' forms on the sign-in, sign-up and reverify pages and on the
// profile's connected accounts, and the provider's callback. Each button
// is a plain form answered with 303 to the provider; the callback answers
// 303 on to where the person was going, or a page saying what went wrong.
type OAuthPages struct {
	site    *Site
	forms   *AuthForms
	rv      *Reverification
	account *AccountForms
}

// NewOAuthPages returns the handlers of signing in with a provider.
func NewOAuthPages(site *Site) *OAuthPages {
	return &OAuthPages{site: site, forms: NewAuthForms(site), rv: NewReverification(site), account: NewAccountForms(site)}
}

// oauthButtons are the buttons of the configured providers, in order
// (none without any).
func oauthButtons(r *http.Request) []components.ProviderButton {
	var out []components.ProviderButton
	for _, p := range auth.OAuthProviders(r) {
		out = append(out, components.ProviderButton{Name: p.Name, Label: p.Label})
	}
	return out
}

// SignIn serves POST /sign-in/oauth/{provider}, a button of the sign-in
// or sign-up page: 303 to the provider, which sends the browser back to
// the callback. A refusal (an unknown provider, too many attempts, the
// provider unreachable) shows the sign-in page with it.
func (o *OAuthPages) SignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(o.site, w, r, err)
			return
		}
		to, err := auth.StartOAuth(w, r, r.PathValue("provider"), auth.OAuthSignIn, form["redirect_url"])
		if err != nil {
			o.signInRefused(w, r, form["redirect_url"], err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

// signInRefused shows the sign-in page with the refusal err, keeping
// redirectURL.
func (o *OAuthPages) signInRefused(w http.ResponseWriter, r *http.Request, redirectURL string, err error) {
	e, ok := auth.AsError(err)
	if !ok {
		o.site.serverError(w, r, "oauth sign-in", err)
		return
	}
	e.SetRetryAfter(w)
	o.forms.renderSignIn(w, r, e.Status, components.SignInFormProps{RedirectURL: redirectURL, Error: e.Message})
}

// Callback serves GET /sign-in/oauth/{provider}/callback, where the
// provider sends the browser back. A sign-in goes on to where the person
// was going (or to the second factor of a user with one); a connect to
// the profile's connected accounts; a reverify to the page that asked for
// it. A refusal is shown where the flow began: the sign-in page, the
// profile or the reverify page. An address whose account the provider
// alone cannot sign in to gets a page saying how to connect it (409).
func (o *OAuthPages) Callback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done, err := auth.FinishOAuth(w, r, r.PathValue("provider"))
		w.Header().Set("Cache-Control", "no-store")
		intent, next := auth.OAuthSignIn, ""
		if done != nil {
			intent, next = done.Intent, done.RedirectURL
		} else if err != nil && o.signedIn(r) {
			// The flow failed before saying what it was for (cancelled
			// at the provider, stale): a signed-in browser started it from
			// the profile, not the sign-in page.
			intent = auth.OAuthConnect
		}
		var lr *auth.LinkRefused
		switch {
		case err == nil:
			http.Redirect(w, r, o.finished(intent, next), http.StatusSeeOther)
		case errors.Is(err, auth.ErrSecondFactorRequired):
			// The provider vouched for the first factor; no session until
			// the code is right.
			http.Redirect(w, r, o.forms.factorTwoURL(next), http.StatusSeeOther)
		case errors.As(err, &lr):
			o.site.Render(w, r, http.StatusConflict, "You already have an account", components.LinkRefused(components.LinkRefusedProps{
				Provider: lr.Provider, Email: lr.Email, SignInURL: o.forms.signInAgainURL(next), ForgotPasswordURL: forgotPath,
			}))
		case errors.Is(err, auth.ErrSessionEnded):
			http.Redirect(w, r, o.forms.signInAgainURL(o.finished(intent, next)), http.StatusSeeOther)
		case intent == auth.OAuthConnect:
			o.account.answer(w, r, "connections", nil, "", err)
		case intent == auth.OAuthReverify:
			o.reverifyRefused(w, r, o.site.Redirects.Safe(next, "/profile"), "", err)
		default:
			o.signInRefused(w, r, next, err)
		}
	})
}

// signedIn reports whether the request has a signed-in session.
func (o *OAuthPages) signedIn(r *http.Request) bool {
	a, err := auth.GetAuth(r)
	return err == nil && a.IsAuthenticated && a.TokenType == auth.SessionToken
}

// finished is where a flow of intent that worked goes on to: next when it
// named one (a sign-in's or a reverify's), else the intent's own page.
func (o *OAuthPages) finished(intent, next string) string {
	switch intent {
	case auth.OAuthConnect:
		return connectionsURL
	case auth.OAuthReverify:
		return o.site.Redirects.Safe(next, "/profile")
	default:
		return o.site.Redirects.Safe(next, o.site.SignInFallback)
	}
}

// Connect serves POST /profile/connections/{provider}: 303 to the
// provider, whose callback adds the account to the signed-in user. Like
// every sensitive change it needs a recent verification: without one the
// browser goes to the reverify page first. A refusal shows the profile
// with it in the connected accounts card.
func (o *OAuthPages) Connect() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(o.site, w, r, err)
			return
		}
		to, err := auth.StartOAuth(w, r, r.PathValue("provider"), auth.OAuthConnect, connectionsURL)
		if errors.Is(err, auth.ErrSessionEnded) {
			http.Redirect(w, r, o.forms.signInAgainURL(connectionsURL), http.StatusSeeOther)
			return
		}
		if err != nil {
			o.account.answer(w, r, "connections", form, "", err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

// Disconnect serves POST /profile/connections/{id}/disconnect: the
// connected account is removed (303 to the profile and a notice), unless
// it is the user's only way to sign in. It is a sensitive change, like
// Connect.
func (o *OAuthPages) Disconnect() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(o.site, w, r, err)
			return
		}
		err = auth.DisconnectOAuth(w, r, r.PathValue("id"))
		if errors.Is(err, auth.ErrSessionEnded) {
			http.Redirect(w, r, o.forms.signInAgainURL(connectionsURL), http.StatusSeeOther)
			return
		}
		o.account.answer(w, r, "connections", form, "disconnected", err)
	})
}

// Reverify serves POST /reverify/oauth/{provider}, a button of the
// reverify page: 303 to the provider, whose callback makes the session
// fresh and goes on to the form's redirect_url. A refusal shows the
// reverify page with it.
func (o *OAuthPages) Reverify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(o.site, w, r, err)
			return
		}
		next := o.site.Redirects.Safe(form["redirect_url"], "/profile")
		to, err := auth.StartOAuth(w, r, r.PathValue("provider"), auth.OAuthReverify, next)
		if errors.Is(err, auth.ErrSessionEnded) {
			http.Redirect(w, r, o.forms.signInAgainURL(auth.ReverifyPageURL(next)), http.StatusSeeOther)
			return
		}
		if err != nil {
			o.reverifyRefused(w, r, next, form["level"], err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, to, http.StatusSeeOther)
	})
}

// reverifyRefused shows the reverify page with the refusal err; the page
// goes on to next, at level.
func (o *OAuthPages) reverifyRefused(w http.ResponseWriter, r *http.Request, next, level string, err error) {
	e, ok := auth.AsError(err)
	if !ok {
		o.site.serverError(w, r, "oauth reverify", err)
		return
	}
	acct, _ := o.rv.open(w, r, auth.ReverifyPageURL(next))
	if acct == nil {
		return
	}
	e.SetRetryAfter(w)
	o.rv.render(w, r, e.Status, acct, components.FactorFormProps{RedirectURL: next, Level: level, Error: e.Message})
}
