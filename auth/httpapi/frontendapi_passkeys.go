package httpapi

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
)

// The frontend API's passkey routes, as Clerk's: creation options from
// POST /me/passkeys and the browser's credential to
// …/{id}/attempt_verification; a sign-in with strategy passkey gets the
// request options in its first factor's nonce and ends with
// attempt_first_factor and public_key_credential.
func (f *FrontendAPI) passkeyRoutes() []route {
	return []route{
		{"POST", "/me/passkeys", f.createPasskey},
		{"POST", "/me/passkeys/{id}/attempt_verification", f.verifyPasskey},
		{"PATCH", "/me/passkeys/{id}", f.renamePasskey},
		{"DELETE", "/me/passkeys/{id}", f.deletePasskey},
	}
}

// passkeyVerification is the verification of a passkey or a passkey
// sign-in under way: nonce holds the options for navigator.credentials.
func passkeyVerification(o *identity.PasskeyOptions) map[string]any {
	return map[string]any{"object": "verification_passkey", "status": "unverified", "strategy": identity.StrategyPasskey,
		"nonce": string(o.Options), "attempts": nil, "expire_at": nil, "error": nil}
}

func (f *FrontendAPI) createPasskey(w http.ResponseWriter, r *http.Request) {
	acct, r, _, ok := f.meRequest(w, r)
	if !ok {
		return
	}
	o, err := acct.BeginPasskeyRegistration(r.Context())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"object": "passkey", "id": o.ID, "name": nil, "last_used_at": nil,
		"verification": passkeyVerification(o)})
}

func (f *FrontendAPI) verifyPasskey(w http.ResponseWriter, r *http.Request) {
	acct, r, form, ok := f.meRequest(w, r)
	if !ok {
		return
	}
	if s := form["strategy"]; s != "" && s != identity.StrategyPasskey {
		f.fail(w, r, strategyInvalid())
		return
	}
	p, err := acct.FinishPasskeyRegistration(r.Context(), r.PathValue("id"), []byte(form["public_key_credential"]), form["name"])
	if err != nil {
		f.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, resource.NewPasskey(*p))
}

func (f *FrontendAPI) renamePasskey(w http.ResponseWriter, r *http.Request) {
	f.mePasskey(w, r, func(acct *identity.Account, r *http.Request, form map[string]string) error {
		return acct.RenamePasskey(r.Context(), r.PathValue("id"), form["name"])
	})
}

func (f *FrontendAPI) deletePasskey(w http.ResponseWriter, r *http.Request) {
	acct, r, _, ok := f.meRequest(w, r)
	if !ok {
		return
	}
	if err := acct.DeletePasskey(r.Context(), r.PathValue("id")); err != nil {
		f.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"object": "passkey", "id": r.PathValue("id"), "deleted": true})
}

// mePasskey runs fn and answers the passkey {id} as it is afterwards.
func (f *FrontendAPI) mePasskey(w http.ResponseWriter, r *http.Request, fn func(*identity.Account, *http.Request, map[string]string) error) {
	acct, r, form, ok := f.meRequest(w, r)
	if !ok {
		return
	}
	if err := fn(acct, r, form); err != nil {
		f.fail(w, r, err)
		return
	}
	list, err := acct.Passkeys(r.Context())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	for _, p := range list {
		if p.ID == r.PathValue("id") {
			WriteJSON(w, http.StatusOK, resource.NewPasskey(p))
			return
		}
	}
	f.fail(w, r, &identity.Error{Status: http.StatusNotFound, Code: "resource_not_found", Message: "Not found.", LongMessage: "No passkey with this id."})
}

// startPasskeySignIn answers POST /client/sign_ins with strategy passkey:
// a discoverable sign-in (no identifier), its challenge remembered as
// this browser's sign-in attempt.
func (f *FrontendAPI) startPasskeySignIn(w http.ResponseWriter, r *http.Request) {
	o, err := f.svc.BeginPasskeySignIn(f.limiter.RequestContext(r, ""))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	at := f.svc.Cookies().ReadAttempts(r)
	at.SignIn = o.ID
	f.svc.Cookies().SetAttempts(w, at)
	WriteJSON(w, http.StatusOK, map[string]any{"object": "sign_in", "id": o.ID, "status": "needs_first_factor",
		"supported_first_factors":   []map[string]any{{"strategy": identity.StrategyPasskey}},
		"first_factor_verification": passkeyVerification(o)})
}

// passkeyAttempt completes this browser's passkey sign-in id.
func (f *FrontendAPI) passkeyAttempt(w http.ResponseWriter, r *http.Request, id string, form map[string]string) {
	res, err := f.svc.FinishPasskeySignIn(f.limiter.RequestContext(r, ""), id, []byte(form["public_key_credential"]),
		identity.ClientCookieValue(r), r.Header.Get("Origin"))
	if f.secondFactorNeeded(w, r, err) {
		return
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.signedIn(w, r, id, res)
}
