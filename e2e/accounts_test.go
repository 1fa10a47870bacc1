package e2e

// End-to-end tests of the account flows: sign-ups verified by a mailed
// six-digit code (SIGN_UP_VERIFICATION=email_code), sign-ups stored
// unverified (off), the forgot-password pages, the development mailbox's
// JSON view, the address an accepted invitation verifies, the
// {{user.email_verified}} template shortcode, and the refusals of every
// new form (cross-site posts, malformed bodies).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// emailCode is the environment of the tests of verified sign-up (the
// harness signs up in one step by default).
var emailCode = map[string]string{"SIGN_UP_VERIFICATION": "email_code"}

const acctNewPassword = "a brand new passphrase"

// acctMessage is one message of the development mailbox's JSON view.
type acctMessage struct {
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	SentAt  time.Time `json:"sent_at"`
}

// acctMailbox reads GET /dev/mailbox as JSON.
func (ta *testApp) acctMailbox(t testing.TB) []acctMessage {
	t.Helper()
	res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/dev/mailbox", nil, map[string]string{"Accept": "application/json"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /dev/mailbox (JSON): got %d, want 200; body: %.300s", res.StatusCode, body)
	}
	var out []acctMessage
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("GET /dev/mailbox (JSON): body is not a JSON array of messages: %v; body: %.300s", err, body)
	}
	return out
}

// acctMailTo returns the messages to address, newest first.
func (ta *testApp) acctMailTo(t testing.TB, to string) []acctMessage {
	t.Helper()
	var out []acctMessage
	for _, m := range ta.acctMailbox(t) {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// acctWaitMail polls the mailbox (up to 2 s: reset codes are mailed after
// the response) until to has at least n messages, and returns them.
func (ta *testApp) acctWaitMail(t testing.TB, to string, n int) []acctMessage {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		msgs := ta.acctMailTo(t, to)
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailbox: got %d messages to %s after 2 s, want %d", len(msgs), to, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var acctSubjectRE = regexp.MustCompile(`^([0-9]{6}) is your verification code$`)

// acctCode returns the code a message carries in its subject.
func acctCode(t testing.TB, m acctMessage) string {
	t.Helper()
	s := acctSubjectRE.FindStringSubmatch(m.Subject)
	if s == nil {
		t.Fatalf("mail to %s: got subject %q, want \"<6 digits> is your verification code\"", m.To, m.Subject)
	}
	return s[1]
}

// acctNthCode waits for the n-th message to to and returns its code.
func (ta *testApp) acctNthCode(t testing.TB, to string, n int) string {
	t.Helper()
	return acctCode(t, ta.acctWaitMail(t, to, n)[0])
}

// acctWrong returns a six-digit code that is not code.
func acctWrong(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

// acctPost posts a form to path and checks the status and, when location
// is not "", the Location.
func (ta *testApp) acctPost(t testing.TB, c *http.Client, path string, form url.Values, status int, location string) (*http.Response, string) {
	t.Helper()
	res, body := harness.PostForm(t, c, ta.URL+path, form)
	if res.StatusCode != status {
		t.Fatalf("POST %s: got status %d, want %d; Location %q; body: %.400s", path, res.StatusCode, status, res.Header.Get("Location"), pgText(body))
	}
	if location != "" && res.Header.Get("Location") != location {
		t.Errorf("POST %s: got Location %q, want %q", path, res.Header.Get("Location"), location)
	}
	return res, body
}

// acctGet gets path and checks the status and, when location is not "",
// the Location.
func (ta *testApp) acctGet(t testing.TB, c *http.Client, path string, status int, location string) string {
	t.Helper()
	res, body := harness.Do(t, c, http.MethodGet, ta.URL+path, nil, nil)
	if res.StatusCode != status {
		t.Fatalf("GET %s: got status %d, want %d; Location %q; body: %.400s", path, res.StatusCode, status, res.Header.Get("Location"), pgText(body))
	}
	if location != "" && res.Header.Get("Location") != location {
		t.Errorf("GET %s: got Location %q, want %q", path, res.Header.Get("Location"), location)
	}
	return body
}

// acctStartSignUp posts the sign-up form with codes on: 303 to the code
// page, an attempt cookie, no session and no user yet.
func (ta *testApp) acctStartSignUp(t testing.TB, c *http.Client, email, password string) {
	t.Helper()
	res, body := ta.acctPost(t, c, "/sign-up", url.Values{"email_address": {email}, "password": {password},
		"first_name": {"Nora"}, "last_name": {"New"}}, http.StatusSeeOther, "/sign-up/verify")
	if tt, ok := t.(*testing.T); ok {
		assertNoAuthCookie(tt, res)
	}
	if ta.Cookie(t, c, identity.AttemptCookie) == "" {
		t.Fatalf("POST /sign-up: got no %s cookie, want one; headers %q; body %.200s", identity.AttemptCookie, res.Header.Values("Set-Cookie"), body)
	}
	if ta.acctUserExists(t, email) {
		t.Fatalf("after POST /sign-up with codes on: got a user %s, want none until the code is right", email)
	}
}

// acctStartReset posts the forgot-password form: 303 to the code page.
func (ta *testApp) acctStartReset(t testing.TB, c *http.Client, email string) *http.Response {
	t.Helper()
	res, _ := ta.acctPost(t, c, "/sign-in/forgot-password", url.Values{"identifier": {email}}, http.StatusSeeOther, "/sign-in/forgot-password/code")
	return res
}

// acctBackdateCode moves the send time of every code mailed to email 31 s
// back, as if the 30 s resend cooldown had passed.
func (ta *testApp) acctBackdateCode(t testing.TB, email string) {
	t.Helper()
	db, _ := ta.App.Store.SQL()
	res, err := db.ExecContext(context.Background(), `UPDATE verification_codes SET sent_at = sent_at - 31000 WHERE email = $1`, email)
	if err != nil {
		t.Fatalf("backdate the code of %s: %v", email, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("backdate the code of %s: no code stored for that address", email)
	}
}

func (ta *testApp) acctUserExists(t testing.TB, email string) bool {
	t.Helper()
	_, err := ta.App.Store.GetUserByEmail(context.Background(), email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("user %s: %v", email, err)
	}
	return err == nil
}

// acctVerification returns the verification status and strategy ("" for
// none) of the user's address email, through the backend client.
func (ta *testApp) acctVerification(t testing.TB, email string) (status, strategy string) {
	t.Helper()
	u, err := ta.App.Client.Users.GetUser(context.Background(), ta.UserID(t, email))
	if err != nil {
		t.Fatalf("GetUser %s: %v", email, err)
	}
	for _, e := range u.EmailAddresses {
		if e.EmailAddress == email {
			if e.Verification.Strategy != nil {
				strategy = *e.Verification.Strategy
			}
			return e.Verification.Status, strategy
		}
	}
	t.Fatalf("GetUser %s: got addresses %v, want %s among them", email, u.EmailAddresses, email)
	return "", ""
}

// acctFAPIVerification returns the verification status of the signed-in
// user's first address through the frontend API's GET /me.
func (ta *testApp) acctFAPIVerification(t testing.TB, c *http.Client) string {
	t.Helper()
	res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/__clerk/v1/me", nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /__clerk/v1/me: got %d, want 200; body: %.300s", res.StatusCode, body)
	}
	var u struct {
		EmailAddresses []struct {
			Verification struct{ Status string } `json:"verification"`
		} `json:"email_addresses"`
	}
	if err := json.Unmarshal([]byte(body), &u); err != nil || len(u.EmailAddresses) == 0 {
		t.Fatalf("GET /__clerk/v1/me: got %.300s (%v), want a user with an address", body, err)
	}
	return u.EmailAddresses[0].Verification.Status
}

// acctSignIn signs in through the form in a fresh browser and returns the
// status and the page text.
func (ta *testApp) acctSignIn(t testing.TB, email, password string) (int, string) {
	t.Helper()
	res, body := harness.PostForm(t, ta.Browser(t), ta.URL+"/sign-in", url.Values{"identifier": {email}, "password": {password}})
	return res.StatusCode, pgText(body)
}

// acctReset takes c through a whole password reset of email to newPassword
// (the code is the n-th mail to email), signing out of other sessions.
func (ta *testApp) acctReset(t testing.TB, c *http.Client, email string, n int, newPassword string) {
	t.Helper()
	ta.acctStartReset(t, c, email)
	code := ta.acctNthCode(t, email, n)
	ta.acctPost(t, c, "/sign-in/forgot-password/code", url.Values{"code": {code}}, http.StatusSeeOther, "/sign-in/forgot-password/new")
	ta.acctPost(t, c, "/sign-in/forgot-password/new", url.Values{"password": {newPassword}, "sign_out_of_other_sessions": {"true"}},
		http.StatusSeeOther, "/dashboard")
}

// TestSignUpCodeCreatesVerifiedUser: with codes on, a sign-up creates no
// user and mails a code; the right code, from the same browser, creates
// the user with the address verified by email_code and signs in.
func TestSignUpCodeCreatesVerifiedUser(t *testing.T) {
	ta := startApp(t, emailCode)
	const email = "nora@example.com"
	c := ta.Browser(t)
	ta.acctStartSignUp(t, c, email, doraPassword)

	msgs := ta.acctMailTo(t, email)
	if len(msgs) != 1 {
		t.Fatalf("mail to %s after sign-up: got %d messages, want 1", email, len(msgs))
	}
	m := msgs[0]
	code := acctCode(t, m)
	if !strings.Contains(m.Text, code) {
		t.Errorf("code mail text: got %q, want it to contain the code %s", m.Text, code)
	}
	if !strings.Contains(m.HTML, code) || !strings.HasPrefix(strings.ToLower(m.HTML), "<!doctype html>") {
		t.Errorf("code mail HTML: got %.200q, want an HTML document with the code %s", m.HTML, code)
	}

	body := ta.acctGet(t, c, "/sign-up/verify", http.StatusOK, "")
	pgWantText(t, "GET /sign-up/verify", body, email)

	res, _ := ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {code}}, http.StatusSeeOther, "/dashboard")
	assertAuthCookieAttrs(t, res, "__client")
	assertAuthCookieAttrs(t, res, "__session")
	if v := ta.Cookie(t, c, identity.AttemptCookie); v != "" {
		t.Errorf("%s cookie after the sign-up completed: got %.20q…, want it cleared", identity.AttemptCookie, v)
	}
	if _, uid := ta.me(t, c, nil); uid != ta.UserID(t, email) {
		t.Errorf("GET /api/me after the code: got userId %q, want %s", uid, ta.UserID(t, email))
	}
	if status, strategy := ta.acctVerification(t, email); status != "verified" || strategy != "email_code" {
		t.Errorf("address after the code: got %s by %q, want verified by email_code", status, strategy)
	}
	if got := ta.acctFAPIVerification(t, c); got != "verified" {
		t.Errorf("GET /__clerk/v1/me verification: got %q, want verified", got)
	}
	if status, text := ta.acctSignIn(t, email, doraPassword); status != http.StatusSeeOther {
		t.Errorf("sign-in with the sign-up's password: got %d, want 303: %.200s", status, text)
	}
}

// TestSignUpCodeWrongAttempts: a wrong code is 422; the fifth wrong one
// fails the code for good, and then even the right code is refused.
func TestSignUpCodeWrongAttempts(t *testing.T) {
	ta := startApp(t, emailCode)
	const email = "nora@example.com"
	c := ta.Browser(t)
	ta.acctStartSignUp(t, c, email, doraPassword)
	code := ta.acctNthCode(t, email, 1)
	wrong := acctWrong(code)

	for i := 1; i <= 4; i++ {
		res, body := ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {wrong}}, http.StatusUnprocessableEntity, "")
		assertNoAuthCookie(t, res)
		pgWantText(t, fmt.Sprintf("wrong code #%d", i), body, "That code is incorrect.")
	}
	res, body := ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {wrong}}, http.StatusBadRequest, "")
	assertNoAuthCookie(t, res)
	pgWantText(t, "wrong code #5", body, "Too many failed attempts")

	res, body = ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {code}}, http.StatusBadRequest, "")
	assertNoAuthCookie(t, res)
	pgWantText(t, "the right code after five wrong ones", body, "Too many failed attempts")
	if ta.acctUserExists(t, email) {
		t.Errorf("after a failed code: got a user %s, want none", email)
	}
	if _, uid := ta.me(t, c, nil); uid != "" {
		t.Errorf("GET /api/me after a failed code: got signed in as %s, want signed out", uid)
	}
}

// TestSignUpCodeUsedOnce: a code that completed a sign-up cannot be used
// again, neither from the same browser nor with its attempt cookie copied.
func TestSignUpCodeUsedOnce(t *testing.T) {
	ta := startApp(t, emailCode)
	const email = "nora@example.com"
	c := ta.Browser(t)
	ta.acctStartSignUp(t, c, email, doraPassword)
	attempt := ta.Cookie(t, c, identity.AttemptCookie)
	code := ta.acctNthCode(t, email, 1)
	ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {code}}, http.StatusSeeOther, "/dashboard")

	// The same browser: its attempt is over, it starts again.
	ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {code}}, http.StatusSeeOther, "/sign-up")

	// A copy of the attempt cookie: the attempt is complete, refused.
	replay := ta.browserWith(t, map[string]string{identity.AttemptCookie: attempt})
	res, body := harness.PostForm(t, replay, ta.URL+"/sign-up/verify", url.Values{"code": {code}})
	if res.StatusCode < 400 || res.StatusCode >= 500 {
		t.Errorf("the used code with a copied attempt cookie: got %d, want a 4xx refusal; body: %.300s", res.StatusCode, pgText(body))
	}
	assertNoAuthCookie(t, res)
	if _, uid := ta.me(t, replay, nil); uid != "" {
		t.Errorf("GET /api/me after replaying the code: got signed in as %s, want signed out", uid)
	}
	list, err := ta.App.Client.Sessions.GetSessionList(context.Background(), clerkclient.SessionListParams{UserID: ta.UserID(t, email)})
	if err != nil || list.TotalCount != 1 {
		t.Errorf("sessions of the new user: got %v (%v), want exactly the one the sign-up started", list, err)
	}
}

// TestSignUpCodeResend: a resend within 30 s is 429 with Retry-After and
// mails nothing; after it, a new code is mailed and the old one stops
// working.
func TestSignUpCodeResend(t *testing.T) {
	ta := startApp(t, emailCode)
	const email = "nora@example.com"
	c := ta.Browser(t)
	ta.acctStartSignUp(t, c, email, doraPassword)
	old := ta.acctNthCode(t, email, 1)

	res, body := ta.acctPost(t, c, "/sign-up/verify/resend", nil, http.StatusTooManyRequests, "")
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 || s > 30 {
		t.Errorf("resend within 30 s: got Retry-After %q, want 1 to 30 seconds", res.Header.Get("Retry-After"))
	}
	pgWantText(t, "resend within 30 s", body, email)
	if n := len(ta.acctMailTo(t, email)); n != 1 {
		t.Errorf("mail after a refused resend: got %d messages, want 1", n)
	}

	ta.acctBackdateCode(t, email)
	ta.acctPost(t, c, "/sign-up/verify/resend", nil, http.StatusSeeOther, "/sign-up/verify?sent=1")
	pgWantText(t, "code page after a resend", ta.acctGet(t, c, "/sign-up/verify?sent=1", http.StatusOK, ""), "We sent a new code.")
	fresh := ta.acctNthCode(t, email, 2)
	if n := len(ta.acctMailTo(t, email)); n != 2 {
		t.Errorf("mail after a resend: got %d messages, want 2", n)
	}
	// A second resend at once is refused again.
	ta.acctPost(t, c, "/sign-up/verify/resend", nil, http.StatusTooManyRequests, "")

	if fresh != old {
		ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {old}}, http.StatusUnprocessableEntity, "")
	} else {
		t.Log("the new code equals the old one (one chance in a million): the old-code check is skipped")
	}
	ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {fresh}}, http.StatusSeeOther, "/dashboard")
	if !ta.acctUserExists(t, email) {
		t.Errorf("after the new code: got no user %s, want one", email)
	}
}

// TestSignUpCodeOtherBrowser: a browser without the attempt cookie (or
// with a forged one) cannot use the code: it is sent back to /sign-up,
// and the code still works in the browser that asked for it.
func TestSignUpCodeOtherBrowser(t *testing.T) {
	ta := startApp(t, emailCode)
	const email = "nora@example.com"
	c := ta.Browser(t)
	ta.acctStartSignUp(t, c, email, doraPassword)
	code := ta.acctNthCode(t, email, 1)

	for name, other := range map[string]*http.Client{
		"no attempt cookie":     ta.Browser(t),
		"forged attempt cookie": ta.browserWith(t, map[string]string{identity.AttemptCookie: "sua_forged"}),
	} {
		t.Run(name, func(t *testing.T) {
			res, _ := ta.acctPost(t, other, "/sign-up/verify", url.Values{"code": {code}}, http.StatusSeeOther, "/sign-up")
			assertNoAuthCookie(t, res)
			ta.acctGet(t, other, "/sign-up/verify", http.StatusSeeOther, "/sign-up")
			ta.acctPost(t, other, "/sign-up/verify/resend", nil, http.StatusSeeOther, "/sign-up")
			if ta.acctUserExists(t, email) {
				t.Errorf("after another browser posted the code: got a user %s, want none", email)
			}
		})
	}
	ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {code}}, http.StatusSeeOther, "/dashboard")
}

// TestSignUpCodeAddressTakenMeanwhile: an address taken between the
// sign-up and its code is form_identifier_exists at completion.
func TestSignUpCodeAddressTakenMeanwhile(t *testing.T) {
	ta := startApp(t, emailCode)
	const email = "nora@example.com"
	c := ta.Browser(t)
	ta.acctStartSignUp(t, c, email, doraPassword)
	code := ta.acctNthCode(t, email, 1)
	taken := ta.CreateUser(t, email, evanPassword, "Other", "Owner")

	res, body := ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {code}}, http.StatusUnprocessableEntity, "")
	assertNoAuthCookie(t, res)
	pgWantText(t, "code for a taken address", body, "That email address is taken")
	if id := ta.UserID(t, email); id != taken.ID {
		t.Errorf("owner of %s: got %s, want the user created meanwhile, %s", email, id, taken.ID)
	}
	if _, uid := ta.me(t, c, nil); uid != "" {
		t.Errorf("GET /api/me after a taken address: got signed in as %s, want signed out", uid)
	}
}

// TestSignUpCodeTestAddress: in development an address with +clerk_test
// gets no mail and accepts 424242.
func TestSignUpCodeTestAddress(t *testing.T) {
	ta := startApp(t, emailCode)
	const email = "nora+clerk_test@example.com"
	c := ta.Browser(t)
	ta.acctStartSignUp(t, c, email, doraPassword)
	if msgs := ta.acctMailTo(t, email); len(msgs) != 0 {
		t.Errorf("mail to a test address: got %d messages (%q), want none", len(msgs), msgs[0].Subject)
	}
	ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {"123456"}}, http.StatusUnprocessableEntity, "")
	ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {"424242"}}, http.StatusSeeOther, "/dashboard")
	if status, strategy := ta.acctVerification(t, email); status != "verified" || strategy != "email_code" {
		t.Errorf("test address after 424242: got %s by %q, want verified by email_code", status, strategy)
	}
}

// TestPasswordResetTestAddress: a +clerk_test account resets its password
// with 424242 and gets no mail.
func TestPasswordResetTestAddress(t *testing.T) {
	ta := startApp(t, nil)
	const email = "dora+clerk_test@example.com"
	ta.CreateUser(t, email, doraPassword, "Dora", "Test")
	c := ta.Browser(t)
	ta.acctStartReset(t, c, email)
	ta.acctPost(t, c, "/sign-in/forgot-password/code", url.Values{"code": {"424242"}}, http.StatusSeeOther, "/sign-in/forgot-password/new")
	ta.acctPost(t, c, "/sign-in/forgot-password/new", url.Values{"password": {acctNewPassword}, "sign_out_of_other_sessions": {"true"}},
		http.StatusSeeOther, "/dashboard")
	if msgs := ta.acctMailTo(t, email); len(msgs) != 0 {
		t.Errorf("mail to a test address: got %d messages, want none", len(msgs))
	}
	if status, text := ta.acctSignIn(t, email, acctNewPassword); status != http.StatusSeeOther {
		t.Errorf("sign-in with the new password: got %d, want 303: %.200s", status, text)
	}
}

// TestAccountsSignUpOffUnverified: with SIGN_UP_VERIFICATION=off a
// sign-up signs in at once, mails nothing, and the address is unverified.
func TestAccountsSignUpOffUnverified(t *testing.T) {
	ta := startApp(t, map[string]string{"SIGN_UP_VERIFICATION": "off"})
	const email = "nora@example.com"
	c := ta.Browser(t)
	res, _ := ta.acctPost(t, c, "/sign-up", url.Values{"email_address": {email}, "password": {doraPassword}}, http.StatusSeeOther, "/dashboard")
	assertAuthCookieAttrs(t, res, "__session")
	if _, uid := ta.me(t, c, nil); uid != ta.UserID(t, email) {
		t.Errorf("GET /api/me after sign-up: got %q, want %s", uid, ta.UserID(t, email))
	}
	if status, strategy := ta.acctVerification(t, email); status != "unverified" || strategy != "" {
		t.Errorf("address of an off-mode sign-up: got %s by %q, want unverified with no strategy", status, strategy)
	}
	if got := ta.acctFAPIVerification(t, c); got != "unverified" {
		t.Errorf("GET /__clerk/v1/me verification: got %q, want unverified", got)
	}
	if msgs := ta.acctMailTo(t, email); len(msgs) != 0 {
		t.Errorf("mail after an off-mode sign-up: got %d messages, want none", len(msgs))
	}
	ta.acctGet(t, c, "/sign-up/verify", http.StatusSeeOther, "/sign-up")
}

// TestMailboxJSON: the development mailbox answers JSON when asked: an
// array (empty, not null, at first) of {to, subject, text, html,
// sent_at}, newest first, not cached.
func TestMailboxJSON(t *testing.T) {
	ta := startApp(t, emailCode)
	res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/dev/mailbox", nil, map[string]string{"Accept": "application/json"})
	assertStatus(t, "GET /dev/mailbox (JSON)", res, body, http.StatusOK)
	assertJSONType(t, "GET /dev/mailbox (JSON)", res)
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("GET /dev/mailbox Cache-Control: got %q, want no-store", cc)
	}
	if strings.TrimSpace(body) != "[]" {
		t.Errorf("empty mailbox: got %q, want []", strings.TrimSpace(body))
	}

	ta.acctStartSignUp(t, ta.Browser(t), "first@example.com", doraPassword)
	ta.acctStartSignUp(t, ta.Browser(t), "second@example.com", doraPassword)
	res, body = harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/dev/mailbox", nil, map[string]string{"Accept": "application/json"})
	var raw []map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil || len(raw) != 2 {
		t.Fatalf("mailbox with two messages: got %.300s (%v), want an array of 2", body, err)
	}
	for i, m := range raw {
		assertKeys(t, fmt.Sprintf("message %d", i), m, "to", "subject", "text", "html", "sent_at")
	}
	msgs := ta.acctMailbox(t)
	if msgs[0].To != "second@example.com" || msgs[1].To != "first@example.com" {
		t.Errorf("mailbox order: got %s then %s, want second@example.com (newest) then first@example.com", msgs[0].To, msgs[1].To)
	}
	if msgs[0].SentAt.Before(msgs[1].SentAt) || msgs[1].SentAt.IsZero() {
		t.Errorf("sent_at: got %v then %v, want non-zero times, newest first", msgs[0].SentAt, msgs[1].SentAt)
	}
	for _, m := range msgs {
		if code := acctCode(t, m); !strings.Contains(m.Text, code) || !strings.Contains(m.HTML, code) {
			t.Errorf("message to %s: text or html lacks the code %s", m.To, code)
		}
	}
	// Without Accept: application/json it is the page.
	res, body = harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/dev/mailbox", nil, nil)
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET /dev/mailbox without Accept JSON: got %d %q, want 200 text/html", res.StatusCode, ct)
	}
	pgWantText(t, "mailbox page", body, "second@example.com")
}

// TestPasswordResetFlow: the sign-in page links to the forgot-password
// page; the mailed code leads to a new password, which signs in, ends the
// user's other sessions and replaces the old password; the current
// password is refused as the new one.
func TestPasswordResetFlow(t *testing.T) {
	ta := startApp(t, nil)
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	elsewhere := ta.Browser(t)
	ta.SignIn(t, elsewhere, doraEmail, doraPassword)
	otherSID := ta.sessionID(t, elsewhere)

	c := ta.Browser(t)
	if body := ta.acctGet(t, c, "/sign-in", http.StatusOK, ""); !strings.Contains(body, `href="/sign-in/forgot-password"`) {
		t.Errorf("GET /sign-in: got no link to /sign-in/forgot-password")
	}
	ta.acctGet(t, c, "/sign-in/forgot-password", http.StatusOK, "")
	ta.acctStartReset(t, c, doraEmail)
	pgWantText(t, "reset code page", ta.acctGet(t, c, "/sign-in/forgot-password/code", http.StatusOK, ""), "If an account exists for "+doraEmail)
	// The new-password page is not reachable before the code.
	ta.acctGet(t, c, "/sign-in/forgot-password/new", http.StatusSeeOther, "/sign-in/forgot-password")

	msgs := ta.acctWaitMail(t, doraEmail, 1)
	code := acctCode(t, msgs[0])
	if !strings.Contains(msgs[0].Text, code) || !strings.Contains(msgs[0].Text, "reset") {
		t.Errorf("reset mail text: got %q, want the code %s and a word about the reset", msgs[0].Text, code)
	}
	ta.acctPost(t, c, "/sign-in/forgot-password/code", url.Values{"code": {acctWrong(code)}}, http.StatusUnprocessableEntity, "")
	ta.acctPost(t, c, "/sign-in/forgot-password/code", url.Values{"code": {code}}, http.StatusSeeOther, "/sign-in/forgot-password/new")
	ta.acctGet(t, c, "/sign-in/forgot-password/code", http.StatusSeeOther, "/sign-in/forgot-password/new")
	ta.acctGet(t, c, "/sign-in/forgot-password/new", http.StatusOK, "")

	res, body := ta.acctPost(t, c, "/sign-in/forgot-password/new", url.Values{"password": {doraPassword}, "sign_out_of_other_sessions": {"true"}},
		http.StatusUnprocessableEntity, "")
	assertNoAuthCookie(t, res)
	pgWantText(t, "the current password as the new one", body, "different from your current one")

	res, _ = ta.acctPost(t, c, "/sign-in/forgot-password/new", url.Values{"password": {acctNewPassword}, "sign_out_of_other_sessions": {"true"}},
		http.StatusSeeOther, "/dashboard")
	assertAuthCookieAttrs(t, res, "__client")
	assertAuthCookieAttrs(t, res, "__session")
	if _, uid := ta.me(t, c, nil); uid != u.ID {
		t.Errorf("GET /api/me after the reset: got %q, want %s", uid, u.ID)
	}

	// The session signed in before the reset has ended.
	s, err := ta.App.Client.Sessions.GetSession(context.Background(), otherSID)
	if err != nil || s.Status != "revoked" {
		t.Errorf("the other session after the reset: got %v (%v), want revoked", s, err)
	}
	ta.dropCookie(elsewhere, "__session")
	if _, uid := ta.me(t, elsewhere, nil); uid != "" {
		t.Errorf("the other browser after the reset: got signed in as %s, want signed out", uid)
	}
	res, body = harness.Do(t, elsewhere, http.MethodGet, ta.URL+"/profile", nil, map[string]string{"Sec-Fetch-Dest": "document"})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, "/sign-in?") {
		t.Errorf("GET /profile in the other browser after the reset: got %d to %q, want 307 to /sign-in: %.200s", res.StatusCode, loc, pgText(body))
	}

	if status, _ := ta.acctSignIn(t, doraEmail, doraPassword); status != http.StatusUnprocessableEntity {
		t.Errorf("sign-in with the old password: got %d, want 422", status)
	}
	if status, text := ta.acctSignIn(t, doraEmail, acctNewPassword); status != http.StatusSeeOther {
		t.Errorf("sign-in with the new password: got %d, want 303: %.200s", status, text)
	}
	// The reset is over: its code page starts again.
	ta.acctGet(t, c, "/sign-in/forgot-password/code", http.StatusSeeOther, "/sign-in/forgot-password")
	ta.acctPost(t, c, "/sign-in/forgot-password/new", url.Values{"password": {"yet another passphrase"}}, http.StatusSeeOther, "/sign-in/forgot-password")
}

var acctResendRE = regexp.MustCompile(`(data-resend-in="|Resend code in )[0-9]+`)

// TestPasswordResetNoEnumeration: a known and an unknown address get the
// same answer and the same code page (but for the address); only the
// known one gets mail, and a code for the unknown one is as incorrect.
func TestPasswordResetNoEnumeration(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	const nobody = "nobody@example.com"

	page := func(email string) (*http.Response, string) {
		c := ta.Browser(t)
		res, _ := harness.PostForm(t, c, ta.URL+"/sign-in/forgot-password", url.Values{"identifier": {email}})
		if ta.Cookie(t, c, identity.AttemptCookie) == "" {
			t.Errorf("POST /sign-in/forgot-password %s: got no %s cookie, want one", email, identity.AttemptCookie)
		}
		body := ta.acctGet(t, c, "/sign-in/forgot-password/code", http.StatusOK, "")
		wrong, wbody := harness.PostForm(t, c, ta.URL+"/sign-in/forgot-password/code", url.Values{"code": {"000000"}})
		if wrong.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(pgText(wbody), "That code is incorrect.") {
			t.Errorf("a wrong reset code for %s: got %d %.200s, want 422 That code is incorrect.", email, wrong.StatusCode, pgText(wbody))
		}
		body = nonceAttrRE.ReplaceAllString(body, "")
		body = acctResendRE.ReplaceAllString(body, "${1}N")
		return res, strings.ReplaceAll(body, email, "ADDRESS")
	}
	unknownRes, unknownPage := page(nobody)
	knownRes, knownPage := page(doraEmail)

	if unknownRes.StatusCode != knownRes.StatusCode || unknownRes.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /sign-in/forgot-password: got %d for an unknown and %d for a known address, want 303 for both", unknownRes.StatusCode, knownRes.StatusCode)
	}
	if ul, kl := unknownRes.Header.Get("Location"), knownRes.Header.Get("Location"); ul != kl || kl != "/sign-in/forgot-password/code" {
		t.Errorf("POST /sign-in/forgot-password Location: got %q (unknown) and %q (known), want /sign-in/forgot-password/code for both", ul, kl)
	}
	if !strings.Contains(pgText(knownPage), "If an account exists for ADDRESS") {
		t.Errorf("code page: got %.400s, want \"If an account exists for <address>\"", pgText(knownPage))
	}
	if unknownPage != knownPage {
		t.Errorf("code pages differ beyond the address:\nunknown: %.800s\nknown:   %.800s", pgText(unknownPage), pgText(knownPage))
	}

	ta.acctWaitMail(t, doraEmail, 1) // the known address's mail arrives…
	if msgs := ta.acctMailTo(t, nobody); len(msgs) != 0 {
		t.Errorf("mail to an address with no account: got %d messages, want none", len(msgs))
	}
}

// TestPasswordResetResend: a resend within 30 s is refused (429,
// Retry-After); after it a new code is mailed and the old one stops
// working.
func TestPasswordResetResend(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.Browser(t)
	ta.acctStartReset(t, c, doraEmail)
	old := ta.acctNthCode(t, doraEmail, 1)

	res, _ := ta.acctPost(t, c, "/sign-in/forgot-password/code/resend", nil, http.StatusTooManyRequests, "")
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 || s > 30 {
		t.Errorf("reset resend within 30 s: got Retry-After %q, want 1 to 30 seconds", res.Header.Get("Retry-After"))
	}
	ta.acctBackdateCode(t, doraEmail)
	ta.acctPost(t, c, "/sign-in/forgot-password/code/resend", nil, http.StatusSeeOther, "/sign-in/forgot-password/code?sent=1")
	fresh := ta.acctNthCode(t, doraEmail, 2)
	if fresh != old {
		ta.acctPost(t, c, "/sign-in/forgot-password/code", url.Values{"code": {old}}, http.StatusUnprocessableEntity, "")
	}
	ta.acctPost(t, c, "/sign-in/forgot-password/code", url.Values{"code": {fresh}}, http.StatusSeeOther, "/sign-in/forgot-password/new")
}

// acctLock locks email with MaxFailedSignIns (10) wrong passwords: the
// tenth answers 403.
func (ta *testApp) acctLock(t *testing.T, email string, wrongSoFar int) {
	t.Helper()
	for i := wrongSoFar + 1; i <= 10; i++ {
		status, text := ta.acctSignIn(t, email, "not the password at all")
		want := http.StatusUnprocessableEntity
		if i == 10 {
			want = http.StatusForbidden
		}
		if status != want {
			t.Fatalf("failure #%d of %s: got %d, want %d: %.200s", i, email, status, want, text)
		}
	}
	if status, text := ta.acctSignIn(t, email, doraPassword); status != http.StatusForbidden || !strings.Contains(text, "locked") {
		t.Fatalf("the right password of a locked account: got %d %.200s, want 403 locked", status, text)
	}
}

// TestPasswordResetLiftsLockout: a reset lifts a lockout; the new password
// signs in, the old one does not.
func TestPasswordResetLiftsLockout(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	ta.acctLock(t, doraEmail, 0)
	ta.acctReset(t, ta.Browser(t), doraEmail, 1, acctNewPassword)
	if status, text := ta.acctSignIn(t, doraEmail, acctNewPassword); status != http.StatusSeeOther {
		t.Errorf("sign-in with the new password after the lockout: got %d, want 303: %.200s", status, text)
	}
	if status, _ := ta.acctSignIn(t, doraEmail, doraPassword); status != http.StatusUnprocessableEntity {
		t.Errorf("sign-in with the old password: got %d, want 422", status)
	}
}

// TestPasswordResetWrongCodesCountTowardLockout: wrong reset codes count
// as failed sign-ins: 4 wrong codes and 6 wrong passwords lock the
// account (6 wrong passwords alone would not).
func TestPasswordResetWrongCodesCountTowardLockout(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.Browser(t)
	ta.acctStartReset(t, c, doraEmail)
	wrong := acctWrong(ta.acctNthCode(t, doraEmail, 1))
	for range 4 {
		ta.acctPost(t, c, "/sign-in/forgot-password/code", url.Values{"code": {wrong}}, http.StatusUnprocessableEntity, "")
	}
	ta.acctLock(t, doraEmail, 4)
}

// TestPasswordResetFifthWrongCodeCountsTowardLockout: the fifth wrong
// reset code, which fails the code, is a wrong guess too and counts: 5
// wrong codes and 5 wrong passwords lock the account.
func TestPasswordResetFifthWrongCodeCountsTowardLockout(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.Browser(t)
	ta.acctStartReset(t, c, doraEmail)
	wrong := acctWrong(ta.acctNthCode(t, doraEmail, 1))
	for range 4 {
		ta.acctPost(t, c, "/sign-in/forgot-password/code", url.Values{"code": {wrong}}, http.StatusUnprocessableEntity, "")
	}
	ta.acctPost(t, c, "/sign-in/forgot-password/code", url.Values{"code": {wrong}}, http.StatusBadRequest, "")
	ta.acctLock(t, doraEmail, 5)
}

// TestInvitationVerifiesAddress: accepting an invitation through its link
// proves the mailbox is the user's: an unverified address becomes
// verified by ticket.
func TestInvitationVerifiesAddress(t *testing.T) {
	ta := startApp(t, map[string]string{"SIGN_UP_VERIFICATION": "off"})
	ctx := context.Background()
	owner := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	org, err := ta.App.Orgs.Create(ctx, identity.AsUser(owner.ID), identity.CreateOrganizationInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}

	evan := ta.Browser(t)
	ta.acctPost(t, evan, "/sign-up", url.Values{"email_address": {evanEmail}, "password": {evanPassword}}, http.StatusSeeOther, "/dashboard")
	if status, _ := ta.acctVerification(t, evanEmail); status != "unverified" {
		t.Fatalf("evan's address before the invitation: got %s, want unverified", status)
	}
	inv, err := ta.App.Orgs.Invite(ctx, identity.AsUser(owner.ID), identity.InviteInput{OrganizationID: org.ID, EmailAddress: evanEmail})
	if err != nil {
		t.Fatal(err)
	}
	link, err := url.Parse(inv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ta.acctPost(t, evan, "/org/invitations/accept", url.Values{"token": {link.Query().Get("token")}}, http.StatusSeeOther, "/org?notice=joined")
	if status, strategy := ta.acctVerification(t, evanEmail); status != "verified" || strategy != "ticket" {
		t.Errorf("evan's address after accepting: got %s by %q, want verified by ticket", status, strategy)
	}
	// The owner's address, verified by the backend, keeps its strategy.
	if status, strategy := ta.acctVerification(t, doraEmail); status != "verified" || strategy != "admin" {
		t.Errorf("the owner's address: got %s by %q, want verified by admin", status, strategy)
	}
}

// TestTemplateEmailVerified: {{user.email_verified}} is the boolean
// verification of the primary address: false for an off-mode sign-up,
// true after a code, true for a user the backend created.
func TestTemplateEmailVerified(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		join func(t *testing.T, ta *testApp, c *http.Client)
		want bool
	}{
		{"off-mode sign-up", map[string]string{"SIGN_UP_VERIFICATION": "off"}, func(t *testing.T, ta *testApp, c *http.Client) {
			ta.acctPost(t, c, "/sign-up", url.Values{"email_address": {"nora@example.com"}, "password": {doraPassword}}, http.StatusSeeOther, "/dashboard")
		}, false},
		{"code-verified sign-up", emailCode, func(t *testing.T, ta *testApp, c *http.Client) {
			ta.acctStartSignUp(t, c, "nora@example.com", doraPassword)
			ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {ta.acctNthCode(t, "nora@example.com", 1)}}, http.StatusSeeOther, "/dashboard")
		}, true},
		{"backend-created user", nil, func(t *testing.T, ta *testApp, c *http.Client) {
			ta.CreateUser(t, "nora@example.com", doraPassword, "Nora", "New")
			ta.SignIn(t, c, "nora@example.com", doraPassword)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := startApp(t, tc.env)
			if _, err := ta.App.Client.JwtTemplates.Create(context.Background(), clerkclient.CreateJwtTemplateParams{Name: "verified",
				Claims: json.RawMessage(`{"email":"{{user.primary_email_address}}","email_verified":"{{user.email_verified}}"}`)}); err != nil {
				t.Fatalf("a template with {{user.email_verified}}: %v", err)
			}
			c := ta.Browser(t)
			tc.join(t, ta, c)
			status, tok := ta.templateToken(t, c, "verified", nil)
			if status != http.StatusOK {
				t.Fatalf("GET /api/token?template=verified: got %d, want 200", status)
			}
			claims := parseJWT(t, tok, jwt.WithKeySet(ta.jwks(t)), jwt.WithIssuer(ta.URL))
			if v, ok := claims["email_verified"].(bool); !ok || v != tc.want {
				t.Errorf("email_verified claim: got %#v, want the boolean %v", claims["email_verified"], tc.want)
			}
			if claims["email"] != "nora@example.com" {
				t.Errorf("email claim: got %v, want nora@example.com", claims["email"])
			}
		})
	}
}

// TestAccountsCSRF: a cross-site POST to each new form is refused (403)
// before it does anything: no user, no session, no code used or replaced,
// no password changed.
func TestAccountsCSRF(t *testing.T) {
	ta := startApp(t, emailCode)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	hostile := []struct {
		name string
		h    map[string]string
	}{
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"Origin evil.example", map[string]string{"Origin": "https://evil.example"}},
	}
	n := 0
	post := func(t *testing.T, c *http.Client, path string, v url.Values, h map[string]string) {
		t.Helper()
		res, body := harness.Do(t, c, http.MethodPost, ta.URL+path, strings.NewReader(v.Encode()), withHeaders(form, h))
		assertStatus(t, "cross-site POST "+path, res, body, http.StatusForbidden)
		if len(res.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("cross-site POST %s: got Set-Cookie %q, want none", path, res.Header.Values("Set-Cookie"))
		}
	}
	for _, hc := range hostile {
		t.Run(hc.name, func(t *testing.T) {
			t.Run("POST /sign-up/verify", func(t *testing.T) {
				n++
				email := fmt.Sprintf("csrf-verify-%d@example.com", n)
				c := ta.Browser(t)
				ta.acctStartSignUp(t, c, email, doraPassword)
				code := ta.acctNthCode(t, email, 1)
				post(t, c, "/sign-up/verify", url.Values{"code": {code}}, hc.h)
				if ta.acctUserExists(t, email) {
					t.Errorf("after a cross-site code: got a user %s, want none", email)
				}
				// The code was neither used nor counted.
				ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {code}}, http.StatusSeeOther, "/dashboard")
			})
			t.Run("POST /sign-up/verify/resend", func(t *testing.T) {
				n++
				email := fmt.Sprintf("csrf-resend-%d@example.com", n)
				c := ta.Browser(t)
				ta.acctStartSignUp(t, c, email, doraPassword)
				code := ta.acctNthCode(t, email, 1)
				ta.acctBackdateCode(t, email)
				post(t, c, "/sign-up/verify/resend", nil, hc.h)
				if got := len(ta.acctMailTo(t, email)); got != 1 {
					t.Errorf("mail after a cross-site resend: got %d messages, want 1", got)
				}
				ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {code}}, http.StatusSeeOther, "/dashboard")
			})
			t.Run("POST /sign-in/forgot-password", func(t *testing.T) {
				n++
				email := fmt.Sprintf("csrf-forgot-%d@example.com", n)
				ta.CreateUser(t, email, doraPassword, "Csrf", "Test")
				c := ta.Browser(t)
				post(t, c, "/sign-in/forgot-password", url.Values{"identifier": {email}}, hc.h)
				ta.acctGet(t, c, "/sign-in/forgot-password/code", http.StatusSeeOther, "/sign-in/forgot-password")
			})
			t.Run("POST /sign-in/forgot-password/code", func(t *testing.T) {
				n++
				email := fmt.Sprintf("csrf-code-%d@example.com", n)
				ta.CreateUser(t, email, doraPassword, "Csrf", "Test")
				c := ta.Browser(t)
				ta.acctStartReset(t, c, email)
				code := ta.acctNthCode(t, email, 1)
				post(t, c, "/sign-in/forgot-password/code", url.Values{"code": {code}}, hc.h)
				ta.acctGet(t, c, "/sign-in/forgot-password/new", http.StatusSeeOther, "/sign-in/forgot-password")
				ta.acctPost(t, c, "/sign-in/forgot-password/code", url.Values{"code": {code}}, http.StatusSeeOther, "/sign-in/forgot-password/new")
			})
			t.Run("POST /sign-in/forgot-password/code/resend", func(t *testing.T) {
				n++
				email := fmt.Sprintf("csrf-coderesend-%d@example.com", n)
				ta.CreateUser(t, email, doraPassword, "Csrf", "Test")
				c := ta.Browser(t)
				ta.acctStartReset(t, c, email)
				code := ta.acctNthCode(t, email, 1)
				ta.acctBackdateCode(t, email)
				post(t, c, "/sign-in/forgot-password/code/resend", nil, hc.h)
				// Not replaced: the first code still works.
				ta.acctPost(t, c, "/sign-in/forgot-password/code", url.Values{"code": {code}}, http.StatusSeeOther, "/sign-in/forgot-password/new")
			})
			t.Run("POST /sign-in/forgot-password/new", func(t *testing.T) {
				n++
				email := fmt.Sprintf("csrf-new-%d@example.com", n)
				ta.CreateUser(t, email, doraPassword, "Csrf", "Test")
				elsewhere := ta.Browser(t)
				ta.SignIn(t, elsewhere, email, doraPassword)
				sid := ta.sessionID(t, elsewhere)
				c := ta.Browser(t)
				ta.acctStartReset(t, c, email)
				ta.acctPost(t, c, "/sign-in/forgot-password/code", url.Values{"code": {ta.acctNthCode(t, email, 1)}}, http.StatusSeeOther, "/sign-in/forgot-password/new")
				post(t, c, "/sign-in/forgot-password/new", url.Values{"password": {acctNewPassword}, "sign_out_of_other_sessions": {"true"}}, hc.h)
				if s, err := ta.App.Client.Sessions.GetSession(context.Background(), sid); err != nil || s.Status != "active" {
					t.Errorf("the other session after a cross-site reset: got %v (%v), want active", s, err)
				}
				if status, text := ta.acctSignIn(t, email, doraPassword); status != http.StatusSeeOther {
					t.Errorf("the old password after a cross-site reset: got %d, want 303 (unchanged): %.200s", status, text)
				}
				// The reset still waits for its password.
				ta.acctPost(t, c, "/sign-in/forgot-password/new", url.Values{"password": {acctNewPassword}, "sign_out_of_other_sessions": {"true"}},
					http.StatusSeeOther, "/dashboard")
			})
		})
	}
}

// TestAccountsMalformedBodies: every new form answers a malformed body
// with a 4xx, never a 500, whatever attempt the browser has under way.
func TestAccountsMalformedBodies(t *testing.T) {
	ta := startApp(t, emailCode)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	const email = "nora@example.com"
	// One browser with a sign-up attempt and a reset waiting for its new
	// password; a second with a reset waiting for its code.
	c := ta.Browser(t)
	ta.acctStartSignUp(t, c, email, doraPassword)
	signUpCode := ta.acctNthCode(t, email, 1)
	ta.acctStartReset(t, c, doraEmail)
	ta.acctPost(t, c, "/sign-in/forgot-password/code", url.Values{"code": {ta.acctNthCode(t, doraEmail, 1)}}, http.StatusSeeOther, "/sign-in/forgot-password/new")
	waiting := ta.Browser(t)
	ta.acctStartReset(t, waiting, "someone@example.com")

	formCT := "application/x-www-form-urlencoded"
	bodies := []struct{ name, ct, body string }{
		{"bad percent-encoding", formCT, "code=%zz&identifier=%zz&password=%zz"},
		{"truncated JSON", "application/json", `{"code":`},
		{"JSON number", "application/json", `{"code":123456,"identifier":1,"password":2}`},
		{"JSON array", "application/json", `["code"]`},
		{"two JSON values", "application/json", `{} {}`},
		{"text/plain", "text/plain", "code=123456"},
		{"too large", formCT, "code=" + strings.Repeat("1", 70<<10)},
		{"empty form", formCT, ""},
		{"invalid UTF-8", formCT, "code=%ff%fe&identifier=%ff%fe%40example.com&password=%ff%fe"},
		{"NUL bytes", formCT, "code=%00%00%00%00%00%00&identifier=a%00b%40example.com&password=%00%00"},
		{"very long values", formCT, "code=" + strings.Repeat("9", 5000) + "&identifier=" + strings.Repeat("a", 5000) + "%40example.com&password=" + strings.Repeat("p", 5000)},
	}
	paths := []struct {
		path string
		c    *http.Client
	}{
		{"/sign-up/verify", c},
		{"/sign-up/verify/resend", c},
		{"/sign-in/forgot-password", ta.Browser(t)},
		{"/sign-in/forgot-password/code", waiting},
		{"/sign-in/forgot-password/code/resend", waiting},
		{"/sign-in/forgot-password/new", c},
	}
	for _, p := range paths {
		for _, b := range bodies {
			t.Run(p.path+" "+b.name, func(t *testing.T) {
				res, body := harness.Do(t, p.c, http.MethodPost, ta.URL+p.path, strings.NewReader(b.body), map[string]string{"Content-Type": b.ct})
				if res.StatusCode < 400 || res.StatusCode >= 500 {
					t.Errorf("POST %s with %s: got %d (Location %q), want a 4xx; body: %.200s", p.path, b.name, res.StatusCode, res.Header.Get("Location"), pgText(body))
				}
				assertNoAuthCookie(t, res)
			})
		}
	}
	if ta.acctUserExists(t, email) {
		t.Errorf("after malformed bodies: got a user %s, want none", email)
	}
	// Nothing malformed completed or broke the attempts. The sign-up code
	// took at most two counted wrong guesses (NUL bytes, invalid UTF-8),
	// so it still works.
	ta.acctPost(t, c, "/sign-up/verify", url.Values{"code": {signUpCode}}, http.StatusSeeOther, "/dashboard")
	if status, text := ta.acctSignIn(t, doraEmail, doraPassword); status != http.StatusSeeOther {
		t.Errorf("dora's password after malformed new passwords: got %d, want 303 (unchanged): %.200s", status, text)
	}
}
