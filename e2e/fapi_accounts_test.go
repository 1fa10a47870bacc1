package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// fapiJSON posts (or sends method with) a JSON body to the frontend API
// and decodes the answer as an object.
func fapiJSON(t *testing.T, c *http.Client, method, u, body string) (*http.Response, string, map[string]any) {
	t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	} else {
		r = strings.NewReader("{}")
	}
	res, out := harness.Do(t, c, method, u, r, jsonHeader)
	if res.StatusCode >= 500 {
		t.Fatalf("%s %s: got %d, want < 500: %s", method, u, res.StatusCode, out)
	}
	var m map[string]any
	json.Unmarshal([]byte(out), &m)
	return res, out, m
}

// TestFrontendAPISignUpWithCode signs up through the frontend API as
// clerk-js does: an attempt (missing_requirements, email_address
// unverified), the code (Clerk's test address and code in development),
// then complete with a session; another browser cannot use the attempt.
func TestFrontendAPISignUpWithCode(t *testing.T) {
	ta := startApp(t, map[string]string{"SIGN_UP_VERIFICATION": "email_code"})
	base := ta.URL + "/__clerk/v1"
	c := ta.Browser(t)
	email := "fapi+clerk_test@example.com"
	res, body, m := fapiJSON(t, c, http.MethodPost, base+"/client/sign_ups",
		`{"email_address":"`+email+`","password":"a long passphrase 42","first_name":"Fay"}`)
	assertStatus(t, "POST /client/sign_ups", res, body, http.StatusOK)
	if m["object"] != "sign_up_attempt" || m["status"] != "missing_requirements" {
		t.Fatalf("sign_up: got object %v status %v, want sign_up_attempt missing_requirements", m["object"], m["status"])
	}
	if uf, _ := m["unverified_fields"].([]any); len(uf) != 1 || uf[0] != "email_address" {
		t.Errorf("unverified_fields: got %v, want [email_address]", m["unverified_fields"])
	}
	id, _ := m["id"].(string)
	if !strings.HasPrefix(id, "sua_") {
		t.Fatalf("sign_up id: got %v, want sua_…", m["id"])
	}
	if _, err := ta.App.Store.GetUserByEmail(context.Background(), email); err == nil {
		t.Fatal("a user exists before the code, want none")
	}

	// Another browser holds no such attempt.
	other := ta.Browser(t)
	res, body, _ = fapiJSON(t, other, http.MethodPost, base+"/client/sign_ups/"+id+"/attempt_verification", `{"code":"424242"}`)
	fapiError(t, "attempt from another browser", res, body, http.StatusNotFound, "resource_not_found")

	res, body, _ = fapiJSON(t, c, http.MethodPost, base+"/client/sign_ups/"+id+"/attempt_verification", `{"code":"000000"}`)
	fapiError(t, "wrong code", res, body, http.StatusUnprocessableEntity, "form_code_incorrect")

	res, body, m = fapiJSON(t, c, http.MethodPost, base+"/client/sign_ups/"+id+"/attempt_verification", `{"code":"424242"}`)
	assertStatus(t, "attempt_verification", res, body, http.StatusOK)
	if m["status"] != "complete" {
		t.Fatalf("attempt_verification: got status %v, want complete", m["status"])
	}
	if sid, _ := m["created_session_id"].(string); sid == "" || ta.sessionID(t, c) != sid {
		t.Errorf("created_session_id %v: want the session of the new __session cookie", m["created_session_id"])
	}
	u, err := ta.App.Client.Users.GetUser(context.Background(), ta.UserID(t, email))
	if err != nil {
		t.Fatal(err)
	}
	if v := u.EmailAddresses[0].Verification; v.Status != "verified" || v.Strategy == nil || *v.Strategy != "email_code" {
		t.Errorf("address verification: got %+v, want verified by email_code", v)
	}
}

// TestFrontendAPIResetPassword resets a password through the frontend API:
// the identifier alone answers needs_first_factor with the same factors
// for a known and an unknown address, and the reset ends signed in.
func TestFrontendAPIResetPassword(t *testing.T) {
	ta := startApp(t, nil)
	base := ta.URL + "/__clerk/v1"
	email := "rita+clerk_test@example.com"
	ta.CreateUser(t, email, "the old passphrase 1", "Rita", "Reset")

	factors := func(email string) (*http.Client, string, string) {
		c := ta.Browser(t)
		res, body, m := fapiJSON(t, c, http.MethodPost, base+"/client/sign_ins", `{"identifier":"`+email+`"}`)
		assertStatus(t, "POST /client/sign_ins "+email, res, body, http.StatusOK)
		if m["status"] != "needs_first_factor" {
			t.Fatalf("sign_in %s: got status %v, want needs_first_factor", email, m["status"])
		}
		f, _ := json.Marshal(m["supported_first_factors"])
		return c, m["id"].(string), strings.ReplaceAll(string(f), email, "<address>")
	}
	c, id, known := factors(email)
	_, _, unknown := factors("nobody+clerk_test@example.com")
	if known != unknown {
		t.Errorf("supported_first_factors differ: known %s, unknown %s", known, unknown)
	}
	res, body, _ := fapiJSON(t, c, http.MethodPost, base+"/client/sign_ins/"+id+"/prepare_first_factor", `{"strategy":"reset_password_email_code"}`)
	assertStatus(t, "prepare_first_factor", res, body, http.StatusOK)
	res, body, m := fapiJSON(t, c, http.MethodPost, base+"/client/sign_ins/"+id+"/attempt_first_factor", `{"strategy":"reset_password_email_code","code":"424242"}`)
	assertStatus(t, "attempt_first_factor", res, body, http.StatusOK)
	if m["status"] != "needs_new_password" {
		t.Fatalf("attempt_first_factor: got status %v, want needs_new_password", m["status"])
	}
	res, body, _ = fapiJSON(t, c, http.MethodPost, base+"/client/sign_ins/"+id+"/reset_password", `{"password":"the old passphrase 1"}`)
	fapiError(t, "same password", res, body, http.StatusUnprocessableEntity, "form_new_password_matches_current")
	res, body, m = fapiJSON(t, c, http.MethodPost, base+"/client/sign_ins/"+id+"/reset_password", `{"password":"a brand new passphrase 2","sign_out_of_other_sessions":"true"}`)
	assertStatus(t, "reset_password", res, body, http.StatusOK)
	if m["status"] != "complete" {
		t.Fatalf("reset_password: got status %v, want complete", m["status"])
	}
	if _, uid := ta.me(t, c, nil); uid == "" {
		t.Error("after reset_password: got signed out, want signed in")
	}
	// The attempt is used up.
	res, body, _ = fapiJSON(t, c, http.MethodPost, base+"/client/sign_ins/"+id+"/reset_password", `{"password":"yet another passphrase 3"}`)
	if res.StatusCode < 400 {
		t.Errorf("second reset_password: got %d, want a refusal: %s", res.StatusCode, body)
	}
}

// TestFrontendAPIMe changes the account through /v1/me as window.Clerk's
// user methods do, and refuses a session that has ended.
func TestFrontendAPIMe(t *testing.T) {
	ta := startApp(t, nil)
	base := ta.URL + "/__clerk/v1"
	email := "mona@example.com"
	ta.CreateUser(t, email, "mona's passphrase 1", "Mona", "Me")
	c := ta.Browser(t)
	ta.SignIn(t, c, email, "mona's passphrase 1")
	other := ta.Browser(t)
	ta.SignIn(t, other, email, "mona's passphrase 1")
	sid := ta.sessionID(t, c)
	q := "?_clerk_session_id=" + url.QueryEscape(sid)

	res, body, m := fapiJSON(t, c, http.MethodPatch, base+"/me"+q, `{"first_name":"Ramona"}`)
	assertStatus(t, "PATCH /me", res, body, http.StatusOK)
	if m["first_name"] != "Ramona" || m["last_name"] != "Me" {
		t.Errorf("PATCH /me: got names %v %v, want Ramona Me", m["first_name"], m["last_name"])
	}
	res, body, _ = fapiJSON(t, c, http.MethodPatch, base+"/me"+q, `{"password":"x"}`)
	fapiError(t, "PATCH /me password", res, body, http.StatusForbidden, "updating_user_password_deprecated")

	res, body, m = fapiJSON(t, c, http.MethodPost, base+"/me/email_addresses"+q, `{"email_address":"mona+clerk_test@example.com"}`)
	assertStatus(t, "POST /me/email_addresses", res, body, http.StatusOK)
	eid, _ := m["id"].(string)
	if v, _ := m["verification"].(map[string]any); v["status"] != "unverified" {
		t.Errorf("new address: got verification %v, want unverified", m["verification"])
	}
	res, body, _ = fapiJSON(t, c, http.MethodPost, base+"/me/email_addresses/"+eid+"/attempt_verification"+q, `{"code":"111111"}`)
	fapiError(t, "wrong address code", res, body, http.StatusUnprocessableEntity, "form_code_incorrect")
	res, body, m = fapiJSON(t, c, http.MethodPost, base+"/me/email_addresses/"+eid+"/attempt_verification"+q, `{"code":"424242"}`)
	assertStatus(t, "attempt_verification", res, body, http.StatusOK)
	if v, _ := m["verification"].(map[string]any); v["status"] != "verified" {
		t.Errorf("verified address: got verification %v, want verified", m["verification"])
	}

	res, body, m = fapiJSON(t, c, http.MethodPost, base+"/me/change_password"+q,
		`{"current_password":"wrong one","new_password":"mona's new passphrase 2"}`)
	fapiError(t, "change_password wrong current", res, body, http.StatusUnprocessableEntity, "form_password_incorrect")

	res, body = harness.Do(t, c, http.MethodGet, base+"/me/sessions/active"+q, nil, nil)
	assertStatus(t, "GET /me/sessions/active", res, body, http.StatusOK)
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("GET /me/sessions/active: %v: %s", err, body)
	}
	var otherID string
	for _, s := range list {
		if s["id"] != sid {
			otherID, _ = s["id"].(string)
		}
		if s["latest_activity"] == nil {
			t.Errorf("session %v: got no latest_activity, want the device", s["id"])
		}
	}
	if len(list) != 2 || otherID == "" {
		t.Fatalf("GET /me/sessions/active: got %d sessions, want 2", len(list))
	}
	res, body, m = fapiJSON(t, c, http.MethodPost, base+"/me/sessions/"+otherID+"/revoke"+q, "")
	assertStatus(t, "revoke", res, body, http.StatusOK)
	if m["status"] != "revoked" {
		t.Errorf("revoke: got status %v, want revoked", m["status"])
	}
	// The revoked browser can no longer use /me.
	res, body, _ = fapiJSON(t, other, http.MethodPatch, base+"/me", `{"first_name":"Mallory"}`)
	fapiError(t, "PATCH /me from a revoked session", res, body, http.StatusUnauthorized, "authentication_invalid")
	u, _ := ta.App.Client.Users.GetUser(context.Background(), ta.UserID(t, email))
	if u.FirstName == nil || *u.FirstName != "Ramona" {
		t.Errorf("first name after the revoked PATCH: got %v, want Ramona", u.FirstName)
	}

	res, body, _ = fapiJSON(t, c, http.MethodDelete, base+"/me"+q, `{"current_password":"mona's passphrase 1","confirmation":"no"}`)
	fapiError(t, "DELETE /me without confirmation", res, body, http.StatusUnprocessableEntity, "form_param_value_invalid")
	res, body, _ = fapiJSON(t, c, http.MethodDelete, base+"/me"+q, `{"current_password":"mona's passphrase 1","confirmation":"delete my account"}`)
	assertStatus(t, "DELETE /me", res, body, http.StatusOK)
	if _, err := ta.App.Client.Users.GetUser(context.Background(), u.ID); err == nil {
		t.Error("after DELETE /me: the user still exists")
	}
}
