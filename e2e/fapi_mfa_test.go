package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// enrolTOTP sets up an authenticator for the signed-in browser c through
// the frontend API and returns its secret and backup codes.
func enrolTOTP(t *testing.T, ta *testApp, c *http.Client) (string, []string) {
	t.Helper()
	base := ta.URL + "/__clerk/v1"
	res, body, m := fapiJSON(t, c, http.MethodPost, base+"/me/totp", "")
	assertStatus(t, "POST /me/totp", res, body, http.StatusOK)
	secret, _ := m["secret"].(string)
	if uri, _ := m["uri"].(string); secret == "" || !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "issuer=Gatehouse") {
		t.Fatalf("POST /me/totp: got secret %q uri %q, want a secret and an otpauth URI issued by Gatehouse", secret, m["uri"])
	}
	res, body, _ = fapiJSON(t, c, http.MethodPost, base+"/me/totp/attempt_verification", `{"code":"000000"}`)
	fapiError(t, "a wrong first code", res, body, http.StatusUnprocessableEntity, "form_code_incorrect")
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	res, body, m = fapiJSON(t, c, http.MethodPost, base+"/me/totp/attempt_verification", `{"code":"`+code+`"}`)
	assertStatus(t, "attempt_verification", res, body, http.StatusOK)
	raw, _ := m["backup_codes"].([]any)
	if len(raw) != 10 || m["verified"] != true {
		t.Fatalf("attempt_verification: got verified %v and %d backup codes, want true and 10", m["verified"], len(raw))
	}
	codes := make([]string, len(raw))
	for i, v := range raw {
		codes[i], _ = v.(string)
	}
	return secret, codes
}

// TestFrontendAPISecondFactor: a user with an authenticator signs in
// through the frontend API in two steps, with no session before the code;
// a code of a used step and another user's code are refused; a backup code
// works once; the backend client sees the factor and can turn it off.
func TestFrontendAPISecondFactor(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	base := ta.URL + "/__clerk/v1"
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	ta.CreateUser(t, "eve@example.com", "a long passphrase 43", "Eve", "Other")
	dora := ta.Browser(t)
	ta.SignIn(t, dora, doraEmail, doraPassword)
	secret, backup := enrolTOTP(t, ta, dora)
	eve := ta.Browser(t)
	ta.SignIn(t, eve, "eve@example.com", "a long passphrase 43")
	eveSecret, _ := enrolTOTP(t, ta, eve)

	u, err := ta.App.Client.Users.GetUser(ctx, ta.UserID(t, doraEmail))
	if err != nil {
		t.Fatal(err)
	}
	if !u.TwoFactorEnabled || !u.TOTPEnabled || !u.BackupCodeEnabled || u.MFAEnabledAt == nil {
		t.Errorf("user resource: got two_factor %v totp %v backup %v mfa_enabled_at %v, want all set",
			u.TwoFactorEnabled, u.TOTPEnabled, u.BackupCodeEnabled, u.MFAEnabledAt)
	}

	signIn := func(c *http.Client) string {
		t.Helper()
		res, body, m := fapiJSON(t, c, http.MethodPost, base+"/client/sign_ins",
			`{"identifier":"`+doraEmail+`","password":"`+doraPassword+`"}`)
		assertStatus(t, "password sign-in", res, body, http.StatusOK)
		if m["status"] != "needs_second_factor" || m["created_session_id"] != nil {
			t.Fatalf("password sign-in: got status %v session %v, want needs_second_factor and none", m["status"], m["created_session_id"])
		}
		assertNoAuthCookie(t, res)
		id, _ := m["id"].(string)
		return id
	}
	c := ta.Browser(t)
	id := signIn(c)
	attempt := func(c *http.Client, id, strategy, code string) (*http.Response, string, map[string]any) {
		return fapiJSON(t, c, http.MethodPost, base+"/client/sign_ins/"+id+"/attempt_second_factor",
			`{"strategy":"`+strategy+`","code":"`+code+`"}`)
	}
	other, _ := totp.GenerateCode(eveSecret, time.Now())
	res, body, _ := attempt(c, id, "totp", other)
	fapiError(t, "another user's code", res, body, http.StatusUnprocessableEntity, "form_code_incorrect")
	res, body, _ = attempt(ta.Browser(t), id, "totp", other)
	fapiError(t, "the attempt from another browser", res, body, http.StatusNotFound, "resource_not_found")
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	res, body, m := attempt(c, id, "totp", next)
	assertStatus(t, "attempt_second_factor", res, body, http.StatusOK)
	if sid, _ := m["created_session_id"].(string); m["status"] != "complete" || sid == "" || ta.sessionID(t, c) != sid {
		t.Fatalf("attempt_second_factor: got status %v session %v, want complete with this browser's session", m["status"], m["created_session_id"])
	}
	claims := ta.orgClaims(t, c)
	if fva, _ := claims["fva"].([]any); len(fva) != 2 || fva[0] != 0.0 || fva[1] != 0.0 {
		t.Errorf("fva after both factors: got %v, want [0 0]", claims["fva"])
	}

	// The step just used is refused in a new sign-in: no replay.
	c2 := ta.Browser(t)
	id2 := signIn(c2)
	res, body, _ = attempt(c2, id2, "totp", next)
	fapiError(t, "a replayed code", res, body, http.StatusUnprocessableEntity, "form_code_incorrect")
	res, body, _ = attempt(c2, id2, "backup_code", backup[0])
	assertStatus(t, "a backup code", res, body, http.StatusOK)
	c3 := ta.Browser(t)
	id3 := signIn(c3)
	res, body, _ = attempt(c3, id3, "backup_code", backup[0])
	fapiError(t, "a backup code used twice", res, body, http.StatusUnprocessableEntity, "form_code_incorrect")

	// The backend client checks codes and turns the factor off.
	if _, err := ta.App.Client.Users.VerifyTOTP(ctx, u.ID, "000000"); err == nil {
		t.Error("VerifyTOTP with a wrong code: got nil error, want totp_incorrect")
	}
	if v, err := ta.App.Client.Users.VerifyTOTP(ctx, u.ID, backup[1]); err != nil || !v.Verified || v.CodeType != "backup_code" {
		t.Errorf("VerifyTOTP with a backup code: got %+v, %v; want verified backup_code", v, err)
	}
	off, err := ta.App.Client.Users.DisableMFA(ctx, u.ID)
	if err != nil || off.TwoFactorEnabled || off.BackupCodeEnabled || off.MFADisabledAt == nil {
		t.Fatalf("DisableMFA: got %+v, %v; want no second factor and mfa_disabled_at set", off, err)
	}
	res, body, m = fapiJSON(t, ta.Browser(t), http.MethodPost, base+"/client/sign_ins",
		`{"identifier":"`+doraEmail+`","password":"`+doraPassword+`"}`)
	if m["status"] != "complete" {
		t.Errorf("sign-in after DisableMFA: got %d %s, want complete", res.StatusCode, body)
	}
}

// TestFrontendAPIReverification attacks a stolen session: once its
// factors are older than REVERIFICATION_MAX_AGE it cannot change the
// password or add an address (403 session_reverification_required) until
// the password is verified again, which sets a new token at once.
func TestFrontendAPIReverification(t *testing.T) {
	ta := startApp(t, map[string]string{"REVERIFICATION_MAX_AGE": "1s"})
	base := ta.URL + "/__clerk/v1"
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.Browser(t)
	ta.SignIn(t, c, doraEmail, doraPassword)
	time.Sleep(1500 * time.Millisecond)
	change := `{"current_password":"` + doraPassword + `","new_password":"an entirely new passphrase 7"}`
	res, body, _ := fapiJSON(t, c, http.MethodPost, base+"/me/change_password", change)
	fapiError(t, "a stale session changing the password", res, body, http.StatusForbidden, "session_reverification_required")
	res, body, _ = fapiJSON(t, c, http.MethodPost, base+"/me/email_addresses", `{"email_address":"dora2@example.com"}`)
	fapiError(t, "a stale session adding an address", res, body, http.StatusForbidden, "session_reverification_required")
	res, body, _ = fapiJSON(t, ta.Browser(t), http.MethodPost, base+"/client/sign_ins", `{"identifier":"`+doraEmail+`","password":"an entirely new passphrase 7"}`)
	if res.StatusCode == http.StatusOK {
		t.Fatalf("the new password works after a refused change: %s", body)
	}

	sid := ta.sessionID(t, c)
	verify := base + "/client/sessions/" + sid + "/verify"
	res, body, m := fapiJSON(t, c, http.MethodPost, verify, "")
	assertStatus(t, "POST verify", res, body, http.StatusOK)
	if m["status"] != "needs_first_factor" {
		t.Errorf("verify: got status %v, want needs_first_factor", m["status"])
	}
	res, body, _ = fapiJSON(t, c, http.MethodPost, verify+"/attempt_first_factor", `{"strategy":"password","password":"wrong password 1"}`)
	fapiError(t, "reverify with a wrong password", res, body, http.StatusUnprocessableEntity, "form_password_incorrect")
	res, body, m = fapiJSON(t, c, http.MethodPost, verify+"/attempt_first_factor", `{"strategy":"password","password":"`+doraPassword+`"}`)
	assertStatus(t, "reverify", res, body, http.StatusOK)
	if m["status"] != "complete" {
		t.Errorf("reverify: got status %v, want complete", m["status"])
	}
	res, body, _ = fapiJSON(t, c, http.MethodPost, base+"/me/change_password", change)
	assertStatus(t, "change after reverifying", res, body, http.StatusOK)
}
