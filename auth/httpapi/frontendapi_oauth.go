package httpapi

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// startOAuth answers POST /client/sign_ins (or sign_ups) with an oauth_…
// strategy, as Clerk's signIn.authenticateWithRedirect sends it: the
// flow's cookie is set on this browser, and the attempt's first factor
// names the provider's URL to go to. The provider sends the browser back
// to the callback page, which signs it in and goes on to
// action_complete_redirect_url (else redirect_url), checked there like
// every redirect_url.
func (f *FrontendAPI) startOAuth(w http.ResponseWriter, r *http.Request, object string, form map[string]string) {
	strategy := form["strategy"]
	name := ""
	for _, p := range f.svc.Providers() {
		if p.Strategy() == strategy {
			name = p.Name()
		}
	}
	if name == "" {
		f.fail(w, r, &identity.Error{Status: http.StatusUnprocessableEntity, Code: "strategy_for_user_invalid", Param: "strategy",
			Message: "That way to sign in is not available.", LongMessage: "The OAuth strategy is not enabled for this instance."})
		return
	}
	redirect := form["action_complete_redirect_url"]
	if redirect == "" {
		redirect = form["redirect_url"]
	}
	u, flow, err := f.svc.StartOAuth(f.limiter.RequestContext(r, ""), name, identity.IntentSignIn, "", redirect)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	if err := f.svc.Cookies().SetOAuthFlow(w, flow); err != nil {
		f.fail(w, r, err)
		return
	}
	verification := map[string]any{"object": "verification_oauth", "status": "unverified", "strategy": strategy,
		"external_verification_redirect_url": u, "attempts": nil, "expire_at": flow.ExpireAt, "error": nil}
	out := map[string]any{"object": object, "status": "needs_first_factor"}
	if object == "sign_up" {
		out["status"] = "missing_requirements"
		out["verifications"] = map[string]any{"external_account": verification}
	} else {
		out["first_factor_verification"] = verification
	}
	WriteJSON(w, http.StatusOK, out)
}
