package pages

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/components"
)

// APIKeysView is the view model of an API keys card: the user's on the
// profile page, or the active organization's on /org.
type APIKeysView struct {
	// Action is where the card's forms post: the create form to Action,
	// a revocation to Action/{id}/revoke.
	Action string
	// OrganizationID is set on an organization's card; its forms send it.
	OrganizationID string
	// Keys are the live keys, without their secrets.
	Keys []*auth.APIKeyObject
	// Created is the key a form just created, with its secret, which is
	// shown this once.
	Created *auth.APIKeyObject
	// Error refuses the last form; FormName keeps the name typed in it.
	Error, FormName string
	// Disabled says why this session cannot manage keys, or is "".
	Disabled string
}

// Where the API key forms post.
const (
	profileKeysPath = "/profile/api-keys"
	orgKeysPath     = "/org/api-keys"
)

const (
	errActorAPIKeys    = "API keys are managed by the user themself; an impersonation session cannot create or revoke them."
	errActorOrgAPIKeys = "An organization's API keys are managed by its admins themselves; an impersonation session cannot create or revoke them."
)

// apiKeyLifetimes are the choices of the form's expiration field, in days
// (0: never).
var apiKeyLifetimes = map[string]int64{"": 0, "never": 0, "7": 7, "30": 30, "90": 90, "365": 365}

func listAPIKeys(r *http.Request, a *auth.Auth) ([]*auth.APIKeyObject, error) {
	ctx := r.Context()
	list, err := auth.ClerkClient(ctx).APIKeys.List(ctx, auth.APIKeyListParams{Subject: a.UserID, Limit: 100})
	if err != nil {
		return nil, err
	}
	return list.Data, nil
}

// APIKeyForms serves the API key forms of the profile page. They work
// without JavaScript, like every form of the site, and are guarded by
// the same same-origin check.
type APIKeyForms struct {
	site *Site
}

// NewAPIKeyForms returns the API key form handlers.
func NewAPIKeyForms(site *Site) *APIKeyForms { return &APIKeyForms{site: site} }

// writer returns the signed-in user allowed to change API keys, or
// answers the request and returns nil. API keys are a sensitive write: the
// session is checked in the store, not only in the token, so a session
// revoked a moment ago cannot mint a long-lived credential.
func (f *APIKeyForms) writer(w http.ResponseWriter, r *http.Request) *auth.Auth {
	a := auth.Require(w, r) // signed in, not pending
	if a == nil {
		return nil
	}
	if a.Actor != nil {
		f.site.Render(w, r, http.StatusForbidden, "Forbidden",
			components.ErrorPage(http.StatusForbidden, "Not while impersonating", errActorAPIKeys))
		return nil
	}
	ctx := r.Context()
	sess, err := auth.ClerkClient(ctx).Sessions.GetSession(ctx, a.SessionID)
	if err != nil && !auth.IsNotFound(err) {
		f.site.serverError(w, r, "api keys", err)
		return nil
	}
	if err != nil || sess.Status != "active" || sess.UserID != a.UserID {
		f.site.Render(w, r, http.StatusUnauthorized, "Session ended",
			components.ErrorPage(http.StatusUnauthorized, "Your session has ended", "Sign in again to manage your API keys."))
		return nil
	}
	return a
}

// Create serves POST /profile/api-keys: it creates a key named by the
// form and answers with the profile page showing the secret once (not a
// redirect: the secret is never stored to be shown later). A session that
// has not verified a factor recently goes to the reverify page first.
func (f *APIKeyForms) Create() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(f.site, w, r, err)
			return
		}
		a := f.writer(w, r)
		if a == nil {
			return
		}
		// A key is a long-lived credential: minting one asks for a
		// recent verification, as a password change does.
		acct, _, err := auth.OpenAccount(w, r)
		if errors.Is(err, auth.ErrSessionEnded) {
			http.Redirect(w, r, f.site.Env.SignInURL, http.StatusSeeOther)
			return
		}
		if err != nil {
			f.site.serverError(w, r, "api keys", err)
			return
		}
		if !acct.Reverified() {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, auth.ReverifyPageURL("/profile#api-keys"), http.StatusSeeOther)
			return
		}
		profilePage(f.site, func(r *http.Request) (profileOutcome, int, error) {
			v, status, err := f.create(r, a, form)
			return profileOutcome{Keys: v}, status, err
		}).ServeHTTP(w, r)
	})
}

func (f *APIKeyForms) create(r *http.Request, a *auth.Auth, form map[string]string) (APIKeysView, int, error) {
	refuse := func(msg string) (APIKeysView, int, error) {
		return APIKeysView{Error: msg, FormName: form["name"]}, http.StatusUnprocessableEntity, nil
	}
	p, msg := apiKeyParams(form, a.UserID)
	if msg != "" {
		return refuse(msg)
	}
	p.CreatedBy = a.UserID
	ctx := r.Context()
	keys := auth.ClerkClient(ctx).APIKeys
	live, err := keys.List(ctx, auth.APIKeyListParams{Subject: a.UserID, Limit: 1})
	if err != nil {
		return APIKeysView{}, 0, err
	}
	if live.TotalCount >= auth.MaxLiveAPIKeys {
		return refuse("You have " + strconv.Itoa(live.TotalCount) + " API keys. Revoke one before creating another.")
	}
	// The count above words the usual refusal; the store counts again
	// inside the insert, so racing requests never pass the limit.
	key, err := keys.CreateForUser(ctx, p)
	if msg := apiKeyFormMessage(err); msg != "" {
		return refuse(msg)
	}
	if auth.ErrorCode(err) == codeAPIKeyQuota {
		return refuse("You have " + strconv.Itoa(auth.MaxLiveAPIKeys) + " API keys. Revoke one before creating another.")
	}
	if e, ok := errors.AsType[*auth.APIError](err); ok && e.Status < 500 && len(e.Errors) > 0 {
		// The account went away since the page loaded it.
		return APIKeysView{Error: e.Errors[0].Message}, e.Status, nil
	}
	if err != nil {
		return APIKeysView{}, 0, err
	}
	return APIKeysView{Created: key}, http.StatusOK, nil
}

// codeAPIKeyQuota refuses a key over the subject's limit.
const codeAPIKeyQuota = "api_key_quota_exceeded"

// apiKeyParams reads a create form (name, expires_in) into the params of
// a key of subject, or returns the message refusing the form.
func apiKeyParams(form map[string]string, subject string) (auth.CreateAPIKeyParams, string) {
	days, ok := apiKeyLifetimes[form["expires_in"]]
	if !ok {
		return auth.CreateAPIKeyParams{}, "Choose an expiration from the list."
	}
	p := auth.CreateAPIKeyParams{Name: form["name"], Subject: subject}
	if days > 0 {
		secs := days * 24 * 3600
		p.SecondsUntilExpiration = &secs
	}
	return p, ""
}

// apiKeyFormMessage returns what to tell the person whose create form the
// backend client refused for its name, or "" for any other outcome.
func apiKeyFormMessage(err error) string {
	e, ok := errors.AsType[*auth.APIError](err)
	if !ok || len(e.Errors) == 0 || e.Errors[0].Meta["param_name"] != "name" {
		return ""
	}
	if e.Code() == "form_param_missing" {
		return "Enter a name for the key."
	}
	return "The name must be at most 100 characters, without control characters."
}

// Revoke serves POST /profile/api-keys/{id}/revoke: the key stops working
// from the next request, and the browser goes back to the profile.
func (f *APIKeyForms) Revoke() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.ReadForm(w, r); err != nil {
			formError(f.site, w, r, err)
			return
		}
		a := f.writer(w, r)
		if a == nil {
			return
		}
		ctx := r.Context()
		_, err := auth.ClerkClient(ctx).APIKeys.Revoke(ctx, auth.RevokeAPIKeyParams{
			ID: r.PathValue("id"), Subject: a.UserID, RevocationReason: "Revoked by its owner",
		})
		if auth.IsNotFound(err) {
			f.site.ErrorPage(w, r, http.StatusNotFound) // not this user's key
			return
		}
		if err != nil {
			f.site.serverError(w, r, "api keys", err)
			return
		}
		http.Redirect(w, r, "/profile#api-keys", http.StatusSeeOther)
	})
}
