package pages

import (
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/components"
)

// AuthForms serves the sign-in, sign-up and sign-out forms. They work
// without JavaScript: plain POSTs answered with 303 on success and the
// form again (422, 403, 429) on failure.
type AuthForms struct {
	site *Site
}

// NewAuthForms returns the form handlers.
func NewAuthForms(site *Site) *AuthForms {
	return &AuthForms{site: site}
}

// redirectIfSignedIn sends a signed-in visitor of a sign-in or sign-up
// page on to where they were going.
func (f *AuthForms) redirectIfSignedIn(w http.ResponseWriter, r *http.Request, fallback string) bool {
	a, err := auth.GetAuth(r)
	if err != nil || !a.IsAuthenticated {
		return false
	}
	http.Redirect(w, r, f.site.Redirects.Safe(r.URL.Query().Get("redirect_url"), fallback), http.StatusSeeOther)
	return true
}

// SignInPage serves GET /sign-in.
func (f *AuthForms) SignInPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.redirectIfSignedIn(w, r, f.site.SignInFallback) {
			return
		}
		f.renderSignIn(w, r, http.StatusOK, components.SignInFormProps{RedirectURL: r.URL.Query().Get("redirect_url")})
	})
}

func (f *AuthForms) renderSignIn(w http.ResponseWriter, r *http.Request, status int, p components.SignInFormProps) {
	p.RedirectURL = f.site.Redirects.Safe(p.RedirectURL, "")
	p.SignUpURL = f.site.Env.SignUpURL
	p.Providers = oauthButtons(r)
	p.Passkeys, _ = auth.PasskeysEnabled(r)
	p.AfterPasskey = f.site.Redirects.Safe(p.RedirectURL, f.site.SignInFallback)
	if p.RedirectURL != "" {
		p.SignUpURL = auth.WithRedirectURL(p.SignUpURL, p.RedirectURL)
	}
	f.site.Render(w, r, status, "Sign in", components.SignInForm(p))
}

// SignIn serves POST /sign-in.
func (f *AuthForms) SignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(f.site, w, r, err)
			return
		}
		p := components.SignInFormProps{Identifier: form["identifier"], RedirectURL: form["redirect_url"]}
		if err := auth.SignIn(w, r, form["identifier"], form["password"]); err != nil {
			if errors.Is(err, auth.ErrSecondFactorRequired) {
				// The password was right; no session until the code is.
				http.Redirect(w, r, f.factorTwoURL(form["redirect_url"]), http.StatusSeeOther)
				return
			}
			e, ok := auth.AsError(err)
			if !ok {
				f.site.serverError(w, r, "sign-in", err)
				return
			}
			e.SetRetryAfter(w)
			p.Error = e.Message
			f.renderSignIn(w, r, e.Status, p)
			return
		}
		http.Redirect(w, r, f.site.Redirects.Safe(form["redirect_url"], f.site.SignInFallback), http.StatusSeeOther)
	})
}

// SignUpPage serves GET /sign-up.
func (f *AuthForms) SignUpPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.redirectIfSignedIn(w, r, f.site.SignUpFallback) {
			return
		}
		f.renderSignUp(w, r, http.StatusOK, components.SignUpFormProps{RedirectURL: r.URL.Query().Get("redirect_url")})
	})
}

func (f *AuthForms) renderSignUp(w http.ResponseWriter, r *http.Request, status int, p components.SignUpFormProps) {
	p.RedirectURL = f.site.Redirects.Safe(p.RedirectURL, "")
	p.SignInURL = f.site.Env.SignInURL
	p.Providers = oauthButtons(r)
	if p.RedirectURL != "" {
		p.SignInURL = auth.WithRedirectURL(p.SignInURL, p.RedirectURL)
	}
	f.site.Render(w, r, status, "Sign up", components.SignUpForm(p))
}

// SignUp serves POST /sign-up.
func (f *AuthForms) SignUp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(f.site, w, r, err)
			return
		}
		p := components.SignUpFormProps{
			EmailAddress: form["email_address"], FirstName: form["first_name"], LastName: form["last_name"],
			RedirectURL: form["redirect_url"],
		}
		complete, err := auth.SignUp(w, r, auth.SignUpParams{
			EmailAddress: form["email_address"], Password: form["password"],
			FirstName: form["first_name"], LastName: form["last_name"],
		})
		if err != nil {
			e, ok := auth.AsError(err)
			if !ok {
				f.site.serverError(w, r, "sign-up", err)
				return
			}
			e.SetRetryAfter(w)
			if e.Param != "" {
				p.Fields = components.FieldErrors{e.Param: e.Message}
			} else {
				p.Error = e.Message
			}
			f.renderSignUp(w, r, e.Status, p)
			return
		}
		if !complete {
			to := signUpVerifyPath
			if next := f.site.Redirects.Safe(form["redirect_url"], ""); next != "" {
				to = auth.WithRedirectURL(to, next)
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, f.site.Redirects.Safe(form["redirect_url"], f.site.SignUpFallback), http.StatusSeeOther)
	})
}

// SignOut serves POST /sign-out: it ends the browser's session, clears
// both cookies and sends the browser to the after-sign-out page.
func (f *AuthForms) SignOut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(f.site, w, r, err)
			return
		}
		if err := auth.SignOut(w, r); err != nil {
			f.site.serverError(w, r, "sign-out", err)
			return
		}
		http.Redirect(w, r, f.site.Redirects.Safe(form["redirect_url"], f.site.AfterSignOut), http.StatusSeeOther)
	})
}
