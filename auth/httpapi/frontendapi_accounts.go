package httpapi

import (
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// The frontend API's account routes, as Clerk's: sign-ups verified by an
// email code, sign-ins that reset a password, and /me. A sign-up or
// sign-in attempt is answered only to the browser that started it (its
// __attempt cookie); /me acts for a live session of this browser.

func (f *FrontendAPI) accountRoutes() []route {
	return []route{
		{"POST", "/client/sign_ups/{id}/prepare_verification", f.signUpPrepare},
		{"POST", "/client/sign_ups/{id}/attempt_verification", f.signUpAttempt},
		{"POST", "/client/sign_ins/{id}/prepare_first_factor", f.signInPrepare},
		{"POST", "/client/sign_ins/{id}/attempt_first_factor", f.signInAttempt},
		{"POST", "/client/sign_ins/{id}/reset_password", f.signInResetPassword},
		{"GET", "/me", f.me},
		{"PATCH", "/me", f.updateMe},
		{"DELETE", "/me", f.deleteMe},
		{"POST", "/me/change_password", f.changePassword},
		{"POST", "/me/email_addresses", f.addEmail},
		{"POST", "/me/email_addresses/{id}/prepare_verification", f.prepareEmail},
		{"POST", "/me/email_addresses/{id}/attempt_verification", f.attemptEmail},
		{"DELETE", "/me/email_addresses/{id}", f.deleteEmail},
		{"GET", "/me/sessions/active", f.activeSessions},
		{"POST", "/me/sessions/{id}/revoke", f.revokeSession},
	}
}

// verificationJSON is Clerk's verification_otp object of a code.
func verificationJSON(strategy string, c identity.CodeState) map[string]any {
	next := "needs_attempt"
	if c.Status != store.VerificationUnverified {
		next = ""
	}
	v := map[string]any{"object": "verification_otp", "status": c.Status, "strategy": strategy,
		"attempts": c.Attempts, "expire_at": nil, "next_action": next, "supported_strategies": []string{strategy}}
	if !c.ExpiresAt.IsZero() {
		v["expire_at"] = c.ExpiresAt.UnixMilli()
	}
	return v
}

func signUpJSON(a *identity.SignUpAttempt) map[string]any {
	unverified := []string{"email_address"}
	if a.Status != store.AttemptMissingRequirements {
		unverified = []string{}
	}
	return map[string]any{
		"object": "sign_up_attempt", "id": a.ID, "status": a.Status, "email_address": a.Code.Email,
		"required_fields": []string{"email_address", "password"}, "optional_fields": []string{"first_name", "last_name"},
		"missing_fields": []string{}, "unverified_fields": unverified,
		"verifications":      map[string]any{"email_address": verificationJSON("email_code", a.Code)},
		"created_session_id": nil, "created_user_id": nil, "abandon_at": a.AbandonAt.UnixMilli(),
	}
}

// attemptID returns the {id} of the request when it is the attempt this
// browser started (signUp true: its sign-up, else its sign-in).
func (f *FrontendAPI) attemptID(w http.ResponseWriter, r *http.Request, signUp bool) (string, bool) {
	at := f.svc.Cookies().ReadAttempts(r)
	want := at.SignIn
	if signUp {
		want = at.SignUp
	}
	if id := r.PathValue("id"); id == "" || id != want {
		WriteError(w, &identity.Error{Status: http.StatusNotFound, Code: "resource_not_found",
			Message: "Not found.", LongMessage: "No attempt with this id is under way in this browser."})
		return "", false
	}
	return want, true
}

// attemptRequest opens a request about this browser's attempt (signUp:
// its sign-up, else its sign-in): the per-IP limit when limit, the {id}
// checked against the attempt cookie, the body read. It answers the
// request itself and returns false when any of them refuses.
func (f *FrontendAPI) attemptRequest(w http.ResponseWriter, r *http.Request, signUp, limit bool) (string, map[string]string, bool) {
	if limit {
		if limited, wait := f.limiter.Limited(w, r); limited {
			WriteError(w, identity.ErrTooManyRequests(wait))
			return "", nil, false
		}
	}
	id, ok := f.attemptID(w, r, signUp)
	if !ok {
		return "", nil, false
	}
	form, err := ReadForm(w, r)
	if err != nil {
		f.fail(w, r, err)
		return "", nil, false
	}
	return id, form, true
}

// forgetAttempt clears this browser's sign-up (signUp) or sign-in attempt
// from its cookie once the attempt completed.
func (f *FrontendAPI) forgetAttempt(w http.ResponseWriter, r *http.Request, signUp bool) {
	at := f.svc.Cookies().ReadAttempts(r)
	if signUp {
		at.SignUp = ""
	} else {
		at.SignIn = ""
	}
	f.svc.Cookies().SetAttempts(w, at)
}

func (f *FrontendAPI) startSignUp(w http.ResponseWriter, r *http.Request, in identity.SignUpInput) {
	a, err := f.svc.StartSignUp(f.limiter.RequestContext(r, ""), in)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	at := f.svc.Cookies().ReadAttempts(r)
	at.SignUp = a.ID
	f.svc.Cookies().SetAttempts(w, at)
	WriteJSON(w, http.StatusOK, signUpJSON(a))
}

func (f *FrontendAPI) signUpPrepare(w http.ResponseWriter, r *http.Request) {
	id, form, ok := f.attemptRequest(w, r, true, false)
	if !ok {
		return
	}
	if s := form["strategy"]; s != "" && s != "email_code" {
		f.fail(w, r, strategyInvalid())
		return
	}
	a, err := f.svc.ResendSignUpCode(f.limiter.RequestContext(r, ""), id)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, signUpJSON(a))
}

func (f *FrontendAPI) signUpAttempt(w http.ResponseWriter, r *http.Request) {
	id, form, ok := f.attemptRequest(w, r, true, true)
	if !ok {
		return
	}
	res, err := f.svc.AttemptSignUp(f.limiter.RequestContext(r, ""), id, form["code"], identity.ClientCookieValue(r), r.Header.Get("Origin"))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.forgetAttempt(w, r, true)
	f.svc.Cookies().SetSignedIn(w, res)
	WriteJSON(w, http.StatusOK, map[string]any{
		"object": "sign_up_attempt", "id": id, "status": "complete", "email_address": res.User.PrimaryEmail(),
		"unverified_fields": []string{}, "created_user_id": res.User.ID, "created_session_id": res.Session.ID,
	})
}

func strategyInvalid() *identity.Error {
	return &identity.Error{Status: http.StatusBadRequest, Code: "verification_strategy_invalid", Param: "strategy",
		Message: "This strategy is not available.", LongMessage: "The verification strategy is not valid for this attempt."}
}

// signInJSON is Clerk's sign_in object for an attempt. The first factors
// offered are the same for every address, so they reveal nothing.
func signInJSON(a *identity.ResetAttempt) map[string]any {
	out := map[string]any{
		"object": "sign_in", "id": a.ID, "status": a.Status, "identifier": a.Code.Email,
		"supported_first_factors": []map[string]any{
			{"strategy": "password"},
			{"strategy": "reset_password_email_code", "safe_identifier": a.Code.Email},
		},
		"first_factor_verification": nil, "created_session_id": nil,
	}
	if a.Code.Status != "" && !a.Code.ExpiresAt.IsZero() {
		out["first_factor_verification"] = verificationJSON("reset_password_email_code", a.Code)
	}
	return out
}

func (f *FrontendAPI) startSignIn(w http.ResponseWriter, r *http.Request, identifier string) {
	a, err := f.svc.StartSignIn(f.limiter.RequestContext(r, ""), identifier)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	at := f.svc.Cookies().ReadAttempts(r)
	at.SignIn = a.ID
	f.svc.Cookies().SetAttempts(w, at)
	WriteJSON(w, http.StatusOK, signInJSON(a))
}

func (f *FrontendAPI) signInPrepare(w http.ResponseWriter, r *http.Request) {
	id, form, ok := f.attemptRequest(w, r, false, false)
	if !ok {
		return
	}
	if form["strategy"] != "reset_password_email_code" {
		f.fail(w, r, strategyInvalid())
		return
	}
	a, err := f.svc.ResendResetCode(f.limiter.RequestContext(r, ""), id)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, signInJSON(a))
}

func (f *FrontendAPI) signInAttempt(w http.ResponseWriter, r *http.Request) {
	id, form, ok := f.attemptRequest(w, r, false, true)
	if !ok {
		return
	}
	ctx := f.limiter.RequestContext(r, "")
	switch form["strategy"] {
	case "password":
		res, err := f.svc.SignInAttemptWithPassword(ctx, id, form["password"], identity.ClientCookieValue(r), r.Header.Get("Origin"))
		if f.secondFactorNeeded(w, r, err) {
			return
		}
		if err != nil {
			f.fail(w, r, err)
			return
		}
		f.signedIn(w, r, id, res)
	case identity.StrategyPasskey:
		f.passkeyAttempt(w, r, id, form)
	case "reset_password_email_code":
		a, err := f.svc.AttemptResetCode(ctx, id, form["code"])
		if err != nil {
			f.fail(w, r, err)
			return
		}
		WriteJSON(w, http.StatusOK, signInJSON(a))
	default:
		f.fail(w, r, strategyInvalid())
	}
}

// signedIn answers a completed sign-in attempt: the cookies set, the
// attempt forgotten.
func (f *FrontendAPI) signedIn(w http.ResponseWriter, r *http.Request, id string, res *identity.SignedIn) {
	f.forgetAttempt(w, r, false)
	f.svc.Cookies().SetSignedIn(w, res)
	WriteJSON(w, http.StatusOK, map[string]any{
		"object": "sign_in", "id": id, "status": "complete", "identifier": res.User.PrimaryEmail(),
		"created_session_id": res.Session.ID,
	})
}

func (f *FrontendAPI) signInResetPassword(w http.ResponseWriter, r *http.Request) {
	id, form, ok := f.attemptRequest(w, r, false, false)
	if !ok {
		return
	}
	res, err := f.svc.ResetPassword(f.limiter.RequestContext(r, ""), id, form["password"], form["sign_out_of_other_sessions"] != "false",
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

// account opens /me for the _clerk_session_id session of this browser
// (or its last active one), or answers the request itself.
func (f *FrontendAPI) account(w http.ResponseWriter, r *http.Request) (*identity.Account, *http.Request, bool) {
	sid := r.URL.Query().Get("_clerk_session_id")
	acct, err := f.svc.ClientAccount(r.Context(), identity.ClientCookieValue(r), sid)
	if errors.Is(err, identity.ErrSignedOut) {
		f.signedOut(w)
		return nil, nil, false
	}
	if err != nil {
		f.fail(w, r, err)
		return nil, nil, false
	}
	return acct, r.WithContext(f.limiter.RequestContext(r, acct.SessionID())), true
}

// meRequest is account with the body read.
func (f *FrontendAPI) meRequest(w http.ResponseWriter, r *http.Request) (*identity.Account, *http.Request, map[string]string, bool) {
	acct, r, ok := f.account(w, r)
	if !ok {
		return nil, nil, nil, false
	}
	form, err := ReadForm(w, r)
	if err != nil {
		f.fail(w, r, err)
		return nil, nil, nil, false
	}
	return acct, r, form, true
}

// meAction runs fn on the account, with the body read, and answers the
// user as it is afterwards.
func (f *FrontendAPI) meAction(w http.ResponseWriter, r *http.Request, fn func(*identity.Account, *http.Request, map[string]string) error) {
	acct, r, form, ok := f.meRequest(w, r)
	if !ok {
		return
	}
	if err := fn(acct, r, form); err != nil {
		f.fail(w, r, err)
		return
	}
	f.writeUser(w, acct)
}

func (f *FrontendAPI) writeUser(w http.ResponseWriter, acct *identity.Account) {
	WriteJSON(w, http.StatusOK, resource.NewUser(acct.User(), false, store.Now()))
}

func (f *FrontendAPI) me(w http.ResponseWriter, r *http.Request) {
	if acct, _, ok := f.account(w, r); ok {
		f.writeUser(w, acct)
	}
}

func (f *FrontendAPI) updateMe(w http.ResponseWriter, r *http.Request) {
	f.meAction(w, r, func(a *identity.Account, r *http.Request, form map[string]string) error {
		if _, ok := form["password"]; ok {
			return &identity.Error{Status: http.StatusForbidden, Code: "updating_user_password_deprecated", Param: "password",
				Message: "Change the password with change_password.", LongMessage: "Updating the password here is not allowed; use /me/change_password."}
		}
		if id := form["primary_email_address_id"]; id != "" {
			if err := a.SetPrimaryEmailAddress(r.Context(), id); err != nil {
				return err
			}
		}
		first, last := form["first_name"], form["last_name"]
		_, hasFirst := form["first_name"]
		_, hasLast := form["last_name"]
		if !hasFirst && !hasLast {
			return nil
		}
		u := a.User()
		if !hasFirst {
			first = u.FirstName
		}
		if !hasLast {
			last = u.LastName
		}
		return a.UpdateName(r.Context(), first, last)
	})
}

func (f *FrontendAPI) changePassword(w http.ResponseWriter, r *http.Request) {
	f.meAction(w, r, func(a *identity.Account, r *http.Request, form map[string]string) error {
		return a.ChangePassword(r.Context(), form["current_password"], form["new_password"], form["sign_out_of_other_sessions"] != "false")
	})
}

func (f *FrontendAPI) deleteMe(w http.ResponseWriter, r *http.Request) {
	acct, r, form, ok := f.meRequest(w, r)
	if !ok {
		return
	}
	if err := acct.Delete(r.Context(), form["current_password"], form["confirmation"]); err != nil {
		f.fail(w, r, err)
		return
	}
	f.svc.Cookies().Clear(w)
	WriteJSON(w, http.StatusOK, map[string]any{"object": "user", "id": acct.User().ID, "deleted": true})
}

// emailJSON answers the address id of the account as it is now.
func (f *FrontendAPI) emailJSON(w http.ResponseWriter, acct *identity.Account, id string) {
	for _, e := range resource.NewUser(acct.User(), false, store.Now()).EmailAddresses {
		if e.ID == id {
			WriteJSON(w, http.StatusOK, e)
			return
		}
	}
	WriteError(w, &identity.Error{Status: http.StatusNotFound, Code: "resource_not_found", Message: "Email address not found.",
		LongMessage: "No email address with this id belongs to you."})
}

func (f *FrontendAPI) addEmail(w http.ResponseWriter, r *http.Request) {
	acct, r, form, ok := f.meRequest(w, r)
	if !ok {
		return
	}
	e, err := acct.AddEmailAddress(r.Context(), form["email_address"])
	if err != nil && e == nil {
		f.fail(w, r, err)
		return
	}
	// Added, even if its code could not be sent now (a resend will).
	f.emailJSON(w, acct, e.ID)
}

func (f *FrontendAPI) emailAction(w http.ResponseWriter, r *http.Request, fn func(*identity.Account, *http.Request, map[string]string) error) {
	acct, r, form, ok := f.meRequest(w, r)
	if !ok {
		return
	}
	if err := fn(acct, r, form); err != nil {
		f.fail(w, r, err)
		return
	}
	f.emailJSON(w, acct, r.PathValue("id"))
}

func (f *FrontendAPI) prepareEmail(w http.ResponseWriter, r *http.Request) {
	f.emailAction(w, r, func(a *identity.Account, r *http.Request, form map[string]string) error {
		if s := form["strategy"]; s != "" && s != "email_code" {
			return strategyInvalid()
		}
		return a.PrepareEmailVerification(r.Context(), r.PathValue("id"))
	})
}

func (f *FrontendAPI) attemptEmail(w http.ResponseWriter, r *http.Request) {
	f.emailAction(w, r, func(a *identity.Account, r *http.Request, form map[string]string) error {
		return a.AttemptEmailVerification(r.Context(), r.PathValue("id"), form["code"])
	})
}

func (f *FrontendAPI) deleteEmail(w http.ResponseWriter, r *http.Request) {
	acct, r, ok := f.account(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := acct.RemoveEmailAddress(r.Context(), id); err != nil {
		f.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"object": "email_address", "id": id, "deleted": true})
}

func (f *FrontendAPI) activeSessions(w http.ResponseWriter, r *http.Request) {
	acct, r, ok := f.account(w, r)
	if !ok {
		return
	}
	sessions, err := acct.Sessions(r.Context())
	if err != nil {
		f.fail(w, r, err)
		return
	}
	out := make([]*resource.Session, 0, len(sessions))
	for _, s := range sessions {
		out = append(out, resource.NewSession(s))
	}
	WriteJSON(w, http.StatusOK, out)
}

func (f *FrontendAPI) revokeSession(w http.ResponseWriter, r *http.Request) {
	acct, r, ok := f.account(w, r)
	if !ok {
		return
	}
	sess, err := acct.RevokeSession(r.Context(), r.PathValue("id"))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, resource.NewSession(sess))
}
