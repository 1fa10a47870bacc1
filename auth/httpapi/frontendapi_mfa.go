package httpapi

// The frontend API's second factors and reverification: a sign-in's
// second step, the session's verify routes, and /me's authenticator app
// and backup codes.

import (
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

func (f *FrontendAPI) mfaRoutes() []route {
	return []route{
		{"POST", "/client/sign_ins/{id}/attempt_second_factor", f.signInSecondFactor},
		{"POST", "/client/sessions/{sid}/verify", f.verifySession},
		{"POST", "/client/sessions/{sid}/verify/attempt_first_factor", f.verifySessionAttempt},
		{"POST", "/client/sessions/{sid}/verify/attempt_second_factor", f.verifySessionAttempt},
		{"POST", "/me/totp", f.createTOTP},
		{"DELETE", "/me/totp", f.deleteTOTP},
		{"POST", "/me/totp/attempt_verification", f.verifyTOTP},
		{"POST", "/me/backup_codes", f.createBackupCodes},
	}
}

// secondFactorNeeded answers a first factor that passed for a user with
// a second factor: Clerk's sign_in in needs_second_factor, remembered in
// this browser's attempt cookie. It reports false for any other err.
func (f *FrontendAPI) secondFactorNeeded(w http.ResponseWriter, r *http.Request, err error) bool {
	sf, ok := errors.AsType[*identity.SecondFactorRequired](err)
	if !ok {
		return false
	}
	at := f.svc.Cookies().ReadAttempts(r)
	at.SignIn = sf.AttemptID
	f.svc.Cookies().SetAttempts(w, at)
	factors := make([]map[string]any, 0, len(sf.Strategies))
	for _, s := range sf.Strategies {
		factors = append(factors, map[string]any{"strategy": s})
	}
	WriteJSON(w, http.StatusOK, map[string]any{
		"object": "sign_in", "id": sf.AttemptID, "status": "needs_second_factor",
		"supported_second_factors": factors, "second_factor_verification": nil, "created_session_id": nil,
	})
	return true
}

func (f *FrontendAPI) signInSecondFactor(w http.ResponseWriter, r *http.Request) {
	id, form, ok := f.attemptRequest(w, r, false, true)
	if !ok {
		return
	}
	res, err := f.svc.AttemptSecondFactor(f.limiter.RequestContext(r, ""), id, form["strategy"], form["code"],
		identity.ClientCookieValue(r), r.Header.Get("Origin"))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.signedIn(w, r, id, res)
}

// sessionVerificationJSON is Clerk's session_verification for the
// account's session: complete once fresh enough for the sensitive
// actions, else what it may verify with.
func sessionVerificationJSON(acct *identity.Account) map[string]any {
	status := "needs_first_factor"
	var first, second []map[string]any
	for _, s := range acct.ReverifyStrategies() {
		switch s {
		case "password":
			first = append(first, map[string]any{"strategy": s})
		default:
			second = append(second, map[string]any{"strategy": s})
		}
	}
	if len(second) > 0 {
		status = "needs_second_factor"
	}
	if acct.Reverified() {
		status = "complete"
	}
	return map[string]any{
		"object": "session_verification", "status": status, "level": "second_factor",
		"supported_first_factors": orNone(first), "supported_second_factors": orNone(second),
		"session": map[string]any{"id": acct.SessionID()},
	}
}

func orNone(v []map[string]any) []map[string]any {
	if v == nil {
		return []map[string]any{}
	}
	return v
}

// sessionAccount opens the {sid} session of this browser, or answers the
// request itself.
func (f *FrontendAPI) sessionAccount(w http.ResponseWriter, r *http.Request) (*identity.Account, *http.Request, map[string]string, bool) {
	acct, err := f.svc.ClientAccount(r.Context(), identity.ClientCookieValue(r), r.PathValue("sid"))
	if errors.Is(err, identity.ErrSignedOut) {
		f.signedOut(w)
		return nil, nil, nil, false
	}
	if err != nil {
		f.fail(w, r, err)
		return nil, nil, nil, false
	}
	form, err := ReadForm(w, r)
	if err != nil {
		f.fail(w, r, err)
		return nil, nil, nil, false
	}
	return acct, r.WithContext(f.limiter.RequestContext(r, acct.SessionID())), form, true
}

func (f *FrontendAPI) verifySession(w http.ResponseWriter, r *http.Request) {
	if acct, _, _, ok := f.sessionAccount(w, r); ok {
		WriteJSON(w, http.StatusOK, sessionVerificationJSON(acct))
	}
}

// verifySessionAttempt verifies the password (attempt_first_factor) or a
// code (attempt_second_factor) again, and sets a new session token at
// once, so the next request carries the new fva.
func (f *FrontendAPI) verifySessionAttempt(w http.ResponseWriter, r *http.Request) {
	if limited, wait := f.limiter.Limited(w, r); limited {
		WriteError(w, identity.ErrTooManyRequests(wait))
		return
	}
	acct, r, form, ok := f.sessionAccount(w, r)
	if !ok {
		return
	}
	secret := form["code"]
	if form["strategy"] == "password" {
		secret = form["password"]
	}
	if err := acct.Reverify(r.Context(), form["strategy"], secret); err != nil {
		f.fail(w, r, err)
		return
	}
	tok, err := f.svc.MintSessionToken(r.Context(), acct.SessionID(), r.Header.Get("Origin"))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.svc.Cookies().SetSession(w, tok)
	out := sessionVerificationJSON(acct)
	out["session"] = map[string]any{"id": acct.SessionID(), "last_active_token": map[string]string{"object": "token", "jwt": tok}}
	WriteJSON(w, http.StatusOK, out)
}

// totpJSON is Clerk's totp object.
func totpJSON(e *identity.TOTPEnrolment, codes []string, verified bool) map[string]any {
	out := map[string]any{"object": "totp", "verified": verified, "backup_codes": codes}
	if e != nil {
		out["id"], out["secret"], out["uri"] = e.ID, e.Secret, e.URI
	}
	return out
}

func (f *FrontendAPI) createTOTP(w http.ResponseWriter, r *http.Request) {
	acct, r, _, ok := f.meRequest(w, r)
	if !ok {
		return
	}
	e, err := acct.StartTOTP(r.Context())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, totpJSON(e, nil, false))
}

func (f *FrontendAPI) verifyTOTP(w http.ResponseWriter, r *http.Request) {
	acct, r, form, ok := f.meRequest(w, r)
	if !ok {
		return
	}
	codes, err := acct.ConfirmTOTP(r.Context(), form["code"])
	if err != nil {
		f.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, totpJSON(nil, codes, true))
}

func (f *FrontendAPI) deleteTOTP(w http.ResponseWriter, r *http.Request) {
	acct, r, ok := f.account(w, r)
	if !ok {
		return
	}
	if err := acct.DisableTOTP(r.Context()); err != nil {
		f.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"object": "totp", "deleted": true})
}

func (f *FrontendAPI) createBackupCodes(w http.ResponseWriter, r *http.Request) {
	acct, r, _, ok := f.meRequest(w, r)
	if !ok {
		return
	}
	codes, err := acct.RegenerateBackupCodes(r.Context())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"object": "backup_code", "codes": codes})
}
