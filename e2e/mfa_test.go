package e2e

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// The browser pages of second factors: enrolling an authenticator app
// from the profile, the sign-in's second step, backup codes, the reverify
// page and the setup-mfa task of MFA_REQUIRED.

var (
	mfaSecretRE     = regexp.MustCompile(`data-testid="totp-secret">([A-Z2-7]+)<`)
	mfaBackupCodeRE = regexp.MustCompile(`<li class="list-item">([a-z2-9]{5}-[a-z2-9]{5})</li>`)
)

// mfaSecret returns the authenticator secret an enrolment page shows.
func mfaSecret(t testing.TB, body string) string {
	t.Helper()
	m := mfaSecretRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("enrolment page: got no secret, want one in <code data-testid=\"totp-secret\">; page: %.600s", profText(body))
	}
	if !strings.Contains(body, `src="data:image/png;base64,`) {
		t.Errorf("enrolment page: got no QR code, want an <img src=\"data:image/png;base64,…\">")
	}
	return m[1]
}

// mfaBackupCodes returns the backup codes a page shows.
func mfaBackupCodes(body string) []string {
	var out []string
	for _, m := range mfaBackupCodeRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// mfaCode is the authenticator code of secret at at.
func mfaCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// mfaWrongCode is a six-digit code of none of the steps the server
// accepts now (the one before, now, the one after).
func mfaWrongCode(t testing.TB, secret string) string {
	t.Helper()
	now := time.Now()
	valid := map[string]bool{}
	for _, d := range []time.Duration{-60, -30, 0, 30, 60} {
		valid[mfaCode(t, secret, now.Add(d*time.Second))] = true
	}
	for _, c := range []string{"000000", "123456", "654321", "111111"} {
		if !valid[c] {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// mfaEnrol sets up an authenticator app from c's /profile/two-step (or
// the task page at path) and returns its secret and backup codes. A wrong
// first code is refused on the way.
func (ta *testApp) mfaEnrol(t testing.TB, c *http.Client, path string) (string, []string) {
	t.Helper()
	res, body := harness.PostForm(t, c, ta.URL+path+"/start", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s/start: got %d, want 200; Location %q; page: %.400s", path, res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	secret := mfaSecret(t, body)

	res, body = harness.PostForm(t, c, ta.URL+path+"/confirm", url.Values{"code": {mfaWrongCode(t, secret)}})
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("POST %s/confirm with a wrong code: got %d, want 422; page: %.400s", path, res.StatusCode, profText(body))
	}
	if text := profText(body); !strings.Contains(text, "That code is incorrect.") {
		t.Errorf("wrong first code: got page %.400s, want \"That code is incorrect.\"", text)
	}
	if got := mfaSecret(t, body); got != secret {
		t.Errorf("enrolment after a wrong code: got secret %q, want the same %q", got, secret)
	}

	res, body = harness.PostForm(t, c, ta.URL+path+"/confirm", url.Values{"code": {mfaCode(t, secret, time.Now())}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s/confirm with the right code: got %d, want 200; page: %.400s", path, res.StatusCode, profText(body))
	}
	codes := mfaBackupCodes(body)
	if len(codes) != 10 {
		t.Fatalf("backup codes shown after confirming: got %d (%v), want 10", len(codes), codes)
	}
	if text := profText(body); !strings.Contains(text, "will not be shown again") {
		t.Errorf("backup codes page: got %.300s, want the note that they are shown once", text)
	}
	return secret, codes
}

// mfaPasswordStep posts the sign-in form from a fresh browser for a user
// with a second factor: 303 to the second step, and no session yet.
func (ta *testApp) mfaPasswordStep(t testing.TB, email, password, redirectURL string) *http.Client {
	t.Helper()
	b := ta.Browser(t)
	form := url.Values{"identifier": {email}, "password": {password}}
	want := "/sign-in/factor-two"
	if redirectURL != "" {
		form.Set("redirect_url", redirectURL)
		want += "?redirect_url=" + url.QueryEscape(redirectURL)
	}
	res, body := harness.PostForm(t, b, ta.URL+"/sign-in", form)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
		t.Fatalf("POST /sign-in for a user with TOTP: got %d Location %q, want 303 to %q; page: %.300s",
			res.StatusCode, res.Header.Get("Location"), want, profText(body))
	}
	for _, ck := range res.Cookies() {
		if (ck.Name == "__session" || ck.Name == "__client") && ck.Value != "" && ck.MaxAge >= 0 {
			t.Errorf("POST /sign-in before the second factor: got Set-Cookie %s, want no session cookie", ck.Name)
		}
	}
	if _, uid := ta.me(t, b, nil); uid != "" {
		t.Fatalf("GET /api/me after the password only: got user %q, want signed out", uid)
	}
	return b
}

func TestMFAEnrolAndSignIn(t *testing.T) {
	ta := startApp(t, nil)
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")

	body := ta.profGetProfile(t, c)
	if !strings.Contains(body, `data-testid="profile-two-step">off`) || !strings.Contains(body, `href="/profile/two-step"`) {
		t.Errorf("profile before enrolling: got %.300s, want the two-step section, off, linking to /profile/two-step", profText(body))
	}
	res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/profile/two-step", nil, nil)
	assertStatus(t, "GET /profile/two-step", res, body, http.StatusOK)
	if !strings.Contains(profText(body), "Set up an authenticator app") {
		t.Errorf("GET /profile/two-step before enrolling: got %.300s, want the set-up button", profText(body))
	}

	secret, codes := ta.mfaEnrol(t, c, "/profile/two-step")

	res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/profile/two-step", nil, nil)
	assertStatus(t, "GET /profile/two-step after enrolling", res, body, http.StatusOK)
	if !strings.Contains(body, `data-testid="two-step-status">on`) || !strings.Contains(body, `data-testid="backup-codes-left">10 of 10`) {
		t.Errorf("GET /profile/two-step after enrolling: got %.400s, want on with 10 of 10 backup codes", profText(body))
	}
	if body := ta.profGetProfile(t, c); !strings.Contains(body, `data-testid="profile-two-step">on`) {
		t.Errorf("profile after enrolling: got %.300s, want the two-step section on", profText(body))
	}

	res, body = harness.PostForm(t, c, ta.URL+"/sign-out", nil)
	assertStatus(t, "POST /sign-out", res, body, http.StatusSeeOther)

	t.Run("authenticator code", func(t *testing.T) {
		b := ta.mfaPasswordStep(t, doraEmail, doraPassword, "/profile")
		res, body := harness.Do(t, b, http.MethodGet, ta.URL+"/sign-in/factor-two?redirect_url=%2Fprofile", nil, nil)
		assertStatus(t, "GET /sign-in/factor-two", res, body, http.StatusOK)
		for _, want := range []string{`autocomplete="one-time-code"`, `inputmode="numeric"`, "Use a backup code instead"} {
			if !strings.Contains(body, want) {
				t.Errorf("GET /sign-in/factor-two: got a page without %q, want it", want)
			}
		}
		res, body = harness.Do(t, b, http.MethodGet, ta.URL+"/sign-in/factor-two?strategy=backup_code", nil, nil)
		assertStatus(t, "GET /sign-in/factor-two?strategy=backup_code", res, body, http.StatusOK)
		if !strings.Contains(body, `data-strategy="backup_code"`) || !strings.Contains(profText(body), "Backup code") {
			t.Errorf("GET ?strategy=backup_code: got %.300s, want the backup code field", profText(body))
		}

		next := mfaCode(t, secret, time.Now().Add(30*time.Second)) // the step used at enrolment cannot be reused

		// Another browser has no sign-in waiting: the same code is refused
		// there, and not spent.
		o := ta.Browser(t)
		res, body = harness.PostForm(t, o, ta.URL+"/sign-in/factor-two", url.Values{"strategy": {"totp"}, "code": {next}})
		if res.StatusCode != http.StatusGone || !strings.Contains(profText(body), "lapsed") {
			t.Errorf("POST /sign-in/factor-two from another browser: got %d %.200s, want 410 with \"lapsed\"", res.StatusCode, profText(body))
		}
		if _, uid := ta.me(t, o, nil); uid != "" {
			t.Errorf("GET /api/me in the other browser: got user %q, want signed out", uid)
		}
		res, body = harness.Do(t, o, http.MethodGet, ta.URL+"/sign-in/factor-two", nil, nil)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/sign-in") {
			t.Errorf("GET /sign-in/factor-two without a sign-in: got %d Location %q, want 303 to /sign-in", res.StatusCode, res.Header.Get("Location"))
		}

		res, body = harness.PostForm(t, b, ta.URL+"/sign-in/factor-two", url.Values{"strategy": {"totp"}, "code": {mfaWrongCode(t, secret)}, "redirect_url": {"/profile"}})
		assertStatus(t, "POST /sign-in/factor-two with a wrong code", res, body, http.StatusUnprocessableEntity)
		if !strings.Contains(profText(body), "That code is incorrect.") || !strings.Contains(body, `id="code-error"`) {
			t.Errorf("wrong second factor: got %.300s, want \"That code is incorrect.\" next to the code", profText(body))
		}
		if _, uid := ta.me(t, b, nil); uid != "" {
			t.Errorf("GET /api/me after a wrong code: got user %q, want signed out", uid)
		}

		res, body = harness.PostForm(t, b, ta.URL+"/sign-in/factor-two", url.Values{"strategy": {"totp"}, "code": {next}, "redirect_url": {"/profile"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile" {
			t.Fatalf("POST /sign-in/factor-two with the right code: got %d Location %q, want 303 to /profile; page: %.300s",
				res.StatusCode, res.Header.Get("Location"), profText(body))
		}
		if _, uid := ta.me(t, b, nil); uid != u.ID {
			t.Fatalf("GET /api/me after the second factor: got user %q, want %s", uid, u.ID)
		}
		// The attempt is used: posting again is refused.
		res, body = harness.PostForm(t, b, ta.URL+"/sign-in/factor-two", url.Values{"strategy": {"totp"}, "code": {next}})
		if res.StatusCode != http.StatusGone {
			t.Errorf("POST /sign-in/factor-two after signing in: got %d, want 410; page: %.200s", res.StatusCode, profText(body))
		}
	})

	t.Run("backup code works once", func(t *testing.T) {
		b := ta.mfaPasswordStep(t, doraEmail, doraPassword, "")
		res, body := harness.PostForm(t, b, ta.URL+"/sign-in/factor-two", url.Values{"strategy": {"backup_code"}, "code": {codes[0]}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != ta.Cfg.SignInFallbackRedirectURL {
			t.Fatalf("POST /sign-in/factor-two with a backup code: got %d Location %q, want 303 to %q; page: %.300s",
				res.StatusCode, res.Header.Get("Location"), ta.Cfg.SignInFallbackRedirectURL, profText(body))
		}
		if _, uid := ta.me(t, b, nil); uid != u.ID {
			t.Fatalf("GET /api/me after a backup code: got user %q, want %s", uid, u.ID)
		}
		res, body = harness.Do(t, b, http.MethodGet, ta.URL+"/profile/two-step", nil, nil)
		assertStatus(t, "GET /profile/two-step", res, body, http.StatusOK)
		if !strings.Contains(body, `data-testid="backup-codes-left">9 of 10`) {
			t.Errorf("backup codes left after one was used: got %.300s, want 9 of 10", profText(body))
		}

		again := ta.mfaPasswordStep(t, doraEmail, doraPassword, "")
		res, body = harness.PostForm(t, again, ta.URL+"/sign-in/factor-two", url.Values{"strategy": {"backup_code"}, "code": {codes[0]}})
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(profText(body), "That code is incorrect.") {
			t.Errorf("the same backup code again: got %d %.200s, want 422 \"That code is incorrect.\"", res.StatusCode, profText(body))
		}
		if _, uid := ta.me(t, again, nil); uid != "" {
			t.Errorf("GET /api/me after a used backup code: got user %q, want signed out", uid)
		}
	})

	t.Run("reset, new backup codes and turning off", func(t *testing.T) {
		// A password reset sets the new password, then asks for the code.
		const newPassword = "a reset password 77"
		b := ta.Browser(t)
		ta.acctStartReset(t, b, doraEmail)
		code := ta.acctNthCode(t, doraEmail, 1)
		ta.acctPost(t, b, "/sign-in/forgot-password/code", url.Values{"code": {code}}, http.StatusSeeOther, "/sign-in/forgot-password/new")
		ta.acctPost(t, b, "/sign-in/forgot-password/new", url.Values{"password": {newPassword}}, http.StatusSeeOther, "/sign-in/factor-two")
		if _, uid := ta.me(t, b, nil); uid != "" {
			t.Fatalf("GET /api/me after a reset, before the code: got user %q, want signed out", uid)
		}
		res, body := harness.PostForm(t, b, ta.URL+"/sign-in/factor-two", url.Values{"strategy": {"backup_code"}, "code": {codes[1]}})
		assertStatus(t, "POST /sign-in/factor-two with a backup code after a reset", res, body, http.StatusSeeOther)
		if _, uid := ta.me(t, b, nil); uid != u.ID {
			t.Fatalf("GET /api/me after the reset's second factor: got user %q, want %s", uid, u.ID)
		}
		res, body = harness.PostForm(t, b, ta.URL+"/profile/two-step/backup-codes", nil)
		assertStatus(t, "POST /profile/two-step/backup-codes", res, body, http.StatusOK)
		fresh := mfaBackupCodes(body)
		if len(fresh) != 10 || fresh[0] == codes[0] {
			t.Fatalf("new backup codes: got %v, want 10 new ones", fresh)
		}
		res, body = harness.PostForm(t, b, ta.URL+"/profile/two-step/disable", nil)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile/two-step?done=disabled" {
			t.Fatalf("POST /profile/two-step/disable: got %d Location %q, want 303 to /profile/two-step?done=disabled", res.StatusCode, res.Header.Get("Location"))
		}
		c := ta.profSignIn(t, doraEmail, newPassword, "")
		if _, uid := ta.me(t, c, nil); uid != u.ID {
			t.Errorf("GET /api/me after a password-only sign-in: got user %q, want %s", uid, u.ID)
		}
	})
}

func TestReverifyBeforeSensitiveForms(t *testing.T) {
	ta := startApp(t, map[string]string{"REVERIFICATION_MAX_AGE": "1s"})
	ctx := context.Background()
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")

	res, _ := harness.Do(t, ta.Browser(t), http.MethodGet, ta.URL+"/reverify?level=strict&redirect_url=%2Fprofile", nil, nil)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), ta.Cfg.SignInURL) {
		t.Errorf("GET /reverify signed out: got %d Location %q, want 303 to the sign-in page", res.StatusCode, res.Header.Get("Location"))
	}

	time.Sleep(2 * time.Second)
	const next = "a brand new password 42"
	res, body := harness.PostForm(t, c, ta.URL+"/profile/password", url.Values{"current_password": {doraPassword}, "new_password": {next}})
	want := "/reverify?level=strict&redirect_url=%2Fprofile%23password"
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
		t.Fatalf("POST /profile/password after the window: got %d Location %q, want 303 to %q; page: %.300s",
			res.StatusCode, res.Header.Get("Location"), want, profText(body))
	}
	if _, err := ta.App.Client.Users.VerifyPassword(ctx, u.ID, doraPassword); err != nil {
		t.Fatalf("the password after a change sent to reverify: got %v, want it unchanged", err)
	}
	res, body = harness.PostForm(t, c, ta.URL+"/profile/api-keys", url.Values{"name": {"deploy"}, "expires_in": {"never"}})
	want = "/reverify?level=strict&redirect_url=%2Fprofile%23api-keys"
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
		t.Errorf("POST /profile/api-keys after the window: got %d Location %q, want 303 to %q", res.StatusCode, res.Header.Get("Location"), want)
	}

	res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/reverify?level=strict&redirect_url=%2Fprofile%23password", nil, nil)
	assertStatus(t, "GET /reverify", res, body, http.StatusOK)
	if !strings.Contains(body, `name="password"`) || !strings.Contains(profText(body), "Confirm it's you") {
		t.Errorf("GET /reverify for a user without TOTP: got %.300s, want the password form", profText(body))
	}
	res, body = harness.PostForm(t, c, ta.URL+"/reverify", url.Values{"strategy": {"password"}, "password": {"not the password"}, "redirect_url": {"/profile#password"}})
	assertStatus(t, "POST /reverify with a wrong password", res, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, `id="password-error"`) {
		t.Errorf("POST /reverify with a wrong password: got %.300s, want the message next to the password", profText(body))
	}

	res, body = harness.PostForm(t, c, ta.URL+"/reverify", url.Values{"strategy": {"password"}, "password": {doraPassword}, "redirect_url": {"/profile#password"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile#password" {
		t.Fatalf("POST /reverify with the password: got %d Location %q, want 303 to /profile#password; page: %.300s",
			res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	res, body = harness.PostForm(t, c, ta.URL+"/profile/password", url.Values{"current_password": {doraPassword}, "new_password": {next}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile?done=password#password" {
		t.Fatalf("POST /profile/password after reverifying: got %d Location %q, want 303 to /profile?done=password#password; page: %.300s",
			res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	if _, err := ta.App.Client.Users.VerifyPassword(ctx, u.ID, next); err != nil {
		t.Errorf("the new password after reverifying: got %v, want it valid", err)
	}
}

func TestReverifyWithSecondFactor(t *testing.T) {
	ta := startApp(t, map[string]string{"REVERIFICATION_MAX_AGE": "2s"})
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")
	_, codes := ta.mfaEnrol(t, c, "/profile/two-step")

	time.Sleep(2500 * time.Millisecond)
	res, body := harness.PostForm(t, c, ta.URL+"/profile/two-step/backup-codes", nil)
	want := "/reverify?level=strict&redirect_url=%2Fprofile%2Ftwo-step"
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
		t.Fatalf("POST /profile/two-step/backup-codes after the window: got %d Location %q, want 303 to %q", res.StatusCode, res.Header.Get("Location"), want)
	}
	res, body = harness.Do(t, c, http.MethodGet, ta.URL+want, nil, nil)
	assertStatus(t, "GET /reverify for a user with TOTP", res, body, http.StatusOK)
	if !strings.Contains(body, `data-strategy="totp"`) || strings.Contains(body, `name="password"`) || !strings.Contains(body, "Use a backup code instead") {
		t.Errorf("GET /reverify for a user with TOTP: got %.400s, want the authenticator code (not the password) and the backup code option", profText(body))
	}
	res, body = harness.PostForm(t, c, ta.URL+"/reverify", url.Values{"strategy": {"backup_code"}, "code": {codes[0]}, "redirect_url": {"/profile/two-step"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile/two-step" {
		t.Fatalf("POST /reverify with a backup code: got %d Location %q, want 303 to /profile/two-step; page: %.300s",
			res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	res, body = harness.PostForm(t, c, ta.URL+"/profile/two-step/backup-codes", nil)
	assertStatus(t, "POST /profile/two-step/backup-codes after reverifying", res, body, http.StatusOK)
	if n := len(mfaBackupCodes(body)); n != 10 {
		t.Errorf("new backup codes after reverifying: got %d, want 10", n)
	}
}

// TestMFARequiredSetupTask: with MFA_REQUIRED a user without a second
// factor signs in to a pending session, which the protected pages send
// to the setup-mfa task; setting up there makes it active at once.
func TestMFARequiredSetupTask(t *testing.T) {
	ta := startApp(t, map[string]string{"MFA_REQUIRED": "true"})
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")
	sts := func() any {
		_, claims := jwtParts(t, ta.Cookie(t, c, "__session"))
		return claims["sts"]
	}
	if got := sts(); got != "pending" {
		t.Fatalf("first token: got sts %v, want pending", got)
	}
	page := map[string]string{"Accept": "text/html"}

	res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/profile", nil, page)
	if res.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(res.Header.Get("Location"), "/sign-in/tasks") {
		t.Fatalf("GET /profile in a pending session: got %d Location %q, want 307 to /sign-in/tasks", res.StatusCode, res.Header.Get("Location"))
	}
	res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/sign-in/tasks", nil, page)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/sign-in/tasks/setup-mfa" {
		t.Fatalf("GET /sign-in/tasks: got %d Location %q, want 303 to /sign-in/tasks/setup-mfa", res.StatusCode, res.Header.Get("Location"))
	}
	res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/sign-in/tasks/setup-mfa", nil, page)
	assertStatus(t, "GET /sign-in/tasks/setup-mfa", res, body, http.StatusOK)
	if !strings.Contains(profText(body), "Set up an authenticator app") {
		t.Errorf("GET /sign-in/tasks/setup-mfa: got %.300s, want the set-up button", profText(body))
	}
	res, _ = harness.Do(t, c, http.MethodPost, ta.URL+"/profile/two-step/start", strings.NewReader(""),
		map[string]string{"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"})
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/sign-in/tasks") {
		t.Errorf("POST /profile/two-step/start in a pending session: got %d Location %q, want 303 to /sign-in/tasks", res.StatusCode, res.Header.Get("Location"))
	}

	ta.mfaEnrol(t, c, "/sign-in/tasks/setup-mfa")
	if got := sts(); got != "active" {
		t.Errorf("token after setting up: got sts %v, want active", got)
	}
	res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/profile", nil, page)
	assertStatus(t, "GET /profile after setting up", res, body, http.StatusOK)
	if _, uid := ta.me(t, c, nil); uid != u.ID {
		t.Errorf("GET /api/me after setting up: got user %q, want %s", uid, u.ID)
	}
	res, _ = harness.Do(t, c, http.MethodGet, ta.URL+"/sign-in/tasks/setup-mfa", nil, page)
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /sign-in/tasks/setup-mfa after setting up: got %d, want 303 on", res.StatusCode)
	}
}
