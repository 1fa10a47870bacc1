package pages

import (
	"context"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth"
)

// An organization's API keys are managed on /org by members whose role
// grants roles.APIKeysManage (the admin permission), with the same card
// and form rules as a user's keys on the profile page. The backend client
// has the store check the admin's membership inside every write.

// loadAPIKeys fills the API keys card of /org for the organization the
// page shows, keeping a form's outcome (Created, Error, FormName).
func (p *OrgPages) loadAPIKeys(r *http.Request, a *auth.Auth, caller auth.Caller, props *OrgManageProps) error {
	ctx := r.Context()
	v := &props.APIKeys
	v.Action, v.OrganizationID = orgKeysPath, props.Org.ID
	if a.Actor != nil {
		v.Disabled = errActorOrgAPIKeys
	}
	list, err := auth.ClerkClient(ctx).APIKeys.ListForOrganization(ctx, caller, auth.APIKeyListParams{Subject: props.Org.ID, Limit: 100})
	if auth.IsNotFound(err) || auth.ErrorCode(err) == codeNotAllowed {
		// The token still shows the permission the store no longer
		// grants: the card shows no keys, and its forms will be refused.
		return nil
	}
	if err != nil {
		return err
	}
	v.Keys = list.Data
	return nil
}

// CreateAPIKey serves POST /org/api-keys (organization_id, name,
// expires_in): it creates a key of the active organization and answers
// with /org showing the secret once (not a redirect: the secret is never
// stored to be shown later). The organization must be the session's
// active one, the page the secret is shown on.
func (p *OrgPages) CreateAPIKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, a, caller, ok := p.write(w, r, false)
		if !ok {
			return
		}
		// Refusals are shown at the top of /org, as for its other forms.
		props := OrgManageProps{APIKeys: APIKeysView{FormName: form["name"]}}
		refuse := func(status int, msg string) {
			props.Error = msg
			p.renderManage(w, r, status, props)
		}
		if form["organization_id"] != a.OrgID {
			refuse(http.StatusConflict, "This form is for another organization than your active one. Nothing was created; try again here.")
			return
		}
		params, msg := apiKeyParams(form, a.OrgID)
		if msg != "" {
			refuse(http.StatusUnprocessableEntity, msg)
			return
		}
		ctx := r.Context()
		key, err := auth.ClerkClient(ctx).APIKeys.CreateForOrganization(ctx, caller, params)
		if msg := apiKeyFormMessage(err); msg != "" {
			refuse(http.StatusUnprocessableEntity, msg)
			return
		}
		if err != nil {
			p.actionError(w, r, err, props)
			return
		}
		props.APIKeys = APIKeysView{Created: key}
		p.renderManage(w, r, http.StatusOK, props)
	})
}

// RevokeAPIKey serves POST /org/api-keys/{id}/revoke (organization_id):
// the key stops working from the next request. Only a key of that
// organization is found.
func (p *OrgPages) RevokeAPIKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		p.orgAction("key-revoked", false, func(ctx context.Context, c auth.Caller, f map[string]string) error {
			_, err := auth.ClerkClient(ctx).APIKeys.RevokeForOrganization(ctx, c, auth.RevokeAPIKeyParams{
				ID: id, Subject: f["organization_id"], RevocationReason: "Revoked by an organization admin",
			})
			return err
		}).ServeHTTP(w, r)
	})
}
