package e2e

// End-to-end tests of the account forms of /profile (name, password,
// email addresses, sessions, security activity, deletion), of their
// refusals for an ended session and cross-site, and of the backend
// client's account additions (EmailAddresses, VerifyPassword,
// LockUser/UnlockUser, RemovePassword).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

const (
	profNewPassword   = "a fresh new passphrase"
	profThirdPassword = "yet another good passphrase"
	profChromeLinux   = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	profFirefoxWin    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0"
)

// profMail is one message of the development mailbox's JSON view.
type profMail struct {
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	SentAt  time.Time `json:"sent_at"`
}

// profMailbox reads GET /dev/mailbox as JSON (newest first).
func (ta *testApp) profMailbox(t testing.TB) []profMail {
	t.Helper()
	res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/dev/mailbox", nil, map[string]string{"Accept": "application/json"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /dev/mailbox (JSON): got %d, want 200; body: %.300s", res.StatusCode, body)
	}
	var out []profMail
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("GET /dev/mailbox (JSON): %v; body: %.300s", err, body)
	}
	return out
}

// profMailTo returns the messages to address, newest first.
func (ta *testApp) profMailTo(t testing.TB, to string) []profMail {
	t.Helper()
	var out []profMail
	for _, m := range ta.profMailbox(t) {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

var profSubjectRE = regexp.MustCompile(`^([0-9]{6}) is your verification code$`)

// profCode waits (up to 3 s) for the n-th message to to and returns the
// code of the newest one.
func (ta *testApp) profCode(t testing.TB, to string, n int) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		msgs := ta.profMailTo(t, to)
		if len(msgs) >= n {
			m := profSubjectRE.FindStringSubmatch(msgs[0].Subject)
			if m == nil {
				t.Fatalf("mail to %s: got subject %q, want \"<6 digits> is your verification code\"", to, msgs[0].Subject)
			}
			if !strings.Contains(msgs[0].Text, m[1]) {
				t.Errorf("mail to %s: the text does not carry the code %s of the subject: %.200q", to, m[1], msgs[0].Text)
			}
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailbox: got %d messages to %s, want %d", len(msgs), to, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// profOther returns a six-digit code that is not code.
func profOther(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

// profText is the page's text, tags removed and entities decoded.
func profText(body string) string { return html.UnescapeString(pgText(body)) }

// profPost posts a form to path and checks the status and, when location
// is not "", the Location.
func (ta *testApp) profPost(t testing.TB, c *http.Client, path string, form url.Values, status int, location string) (*http.Response, string) {
	t.Helper()
	res, body := harness.PostForm(t, c, ta.URL+path, form)
	if res.StatusCode != status {
		t.Fatalf("POST %s: got status %d, want %d; Location %q; page: %.500s", path, res.StatusCode, status, res.Header.Get("Location"), profText(body))
	}
	if location != "" && res.Header.Get("Location") != location {
		t.Errorf("POST %s: got Location %q, want %q", path, res.Header.Get("Location"), location)
	}
	return res, body
}

// profRefused posts a form that must be refused with status on the
// profile page, showing msg.
func (ta *testApp) profRefused(t testing.TB, c *http.Client, path string, form url.Values, status int, msg string) string {
	t.Helper()
	res, body := ta.profPost(t, c, path, form, status, "")
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("POST %s: got Content-Type %q, want the profile page (text/html)", path, ct)
	}
	if !strings.Contains(body, `data-testid="sessions"`) {
		t.Errorf("POST %s: got a page without the sessions table, want the profile again; page: %.300s", path, profText(body))
	}
	if text := profText(body); !strings.Contains(text, msg) {
		t.Errorf("POST %s (%d): page does not show %q; page: %.900s", path, status, msg, text)
	}
	return body
}

// profGetProfile gets /profile, which must answer 200.
func (ta *testApp) profGetProfile(t testing.TB, c *http.Client) string {
	t.Helper()
	res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/profile", nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /profile: got %d, want 200; Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	return body
}

// profSignIn signs a new browser in through the form with a user agent.
func (ta *testApp) profSignIn(t testing.TB, email, password, ua string) *http.Client {
	t.Helper()
	c := ta.Browser(t)
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if ua != "" {
		h["User-Agent"] = ua
	}
	res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/sign-in",
		strings.NewReader(url.Values{"identifier": {email}, "password": {password}}.Encode()), h)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in %s: got %d, want 303; page: %.300s", email, res.StatusCode, profText(body))
	}
	return c
}

// profSignInStatus posts the sign-in form from a fresh browser.
func (ta *testApp) profSignInStatus(t testing.TB, email, password string) (int, string) {
	t.Helper()
	res, body := harness.PostForm(t, ta.Browser(t), ta.URL+"/sign-in", url.Values{"identifier": {email}, "password": {password}})
	return res.StatusCode, profText(body)
}

// profLive reports whether c's session still refreshes: its session
// token is dropped, so the next request has to refresh from __client.
func (ta *testApp) profLive(t testing.TB, c *http.Client) bool {
	t.Helper()
	ta.dropCookie(c, "__session")
	_, uid := ta.me(t, c, nil)
	return uid != ""
}

func (ta *testApp) profUser(t testing.TB, id string) *clerkclient.User {
	t.Helper()
	u, err := ta.App.Client.Users.GetUser(context.Background(), id)
	if err != nil {
		t.Fatalf("GetUser %s: %v", id, err)
	}
	return u
}

// profAddress returns the user's address email, or nil.
func profAddress(u *clerkclient.User, email string) *clerkclient.EmailAddress {
	for i := range u.EmailAddresses {
		if u.EmailAddresses[i].EmailAddress == email {
			return &u.EmailAddresses[i]
		}
	}
	return nil
}

func (ta *testApp) profAddressOf(t testing.TB, userID, email string) *clerkclient.EmailAddress {
	t.Helper()
	e := profAddress(ta.profUser(t, userID), email)
	if e == nil {
		t.Fatalf("user %s: got no address %s, want it", userID, email)
	}
	return e
}

func (ta *testApp) profSessionStatus(t testing.TB, sid string) string {
	t.Helper()
	s, err := ta.App.Client.Sessions.GetSession(context.Background(), sid)
	if err != nil {
		t.Fatalf("GetSession %s: %v", sid, err)
	}
	return s.Status
}

// profBackdateCodes moves the send time of the codes mailed to email 31 s
// back, as if the resend cooldown had passed.
func (ta *testApp) profBackdateCodes(t testing.TB, email string) {
	t.Helper()
	db, _ := ta.App.Store.SQL()
	res, err := db.ExecContext(context.Background(), `UPDATE verification_codes SET sent_at = sent_at - 31000 WHERE email = $1`, email)
	if err != nil {
		t.Fatalf("backdate the codes of %s: %v", email, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("backdate the codes of %s: no code stored", email)
	}
}

// profAPIError returns the status and code of a backend-client error.
func profAPIError(err error) (int, string) {
	var e *clerkclient.APIError
	if !errors.As(err, &e) {
		return 0, ""
	}
	return e.Status, e.Code()
}

func profStr(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// profRow is one row of a table of the profile page.
type profRow struct {
	SessionID string
	Cells     []string
	HTML      string
}

var (
	profRowRE  = regexp.MustCompile(`(?s)<tr([^>]*)>(.*?)</tr>`)
	profCellRE = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	profSIDRE  = regexp.MustCompile(`data-session-id="([^"]+)"`)
)

// profTable returns the body rows of the table with data-testid testid.
func profTable(t testing.TB, body, testid string) []profRow {
	t.Helper()
	i := strings.Index(body, `data-testid="`+testid+`"`)
	if i < 0 {
		t.Fatalf("profile page: got no table data-testid=%q, want one; page: %.500s", testid, profText(body))
	}
	rest := body[i:]
	end := strings.Index(rest, "</table>")
	if end < 0 {
		t.Fatalf("profile page: table %q is not closed", testid)
	}
	rest = rest[:end]
	if j := strings.Index(rest, "<tbody"); j >= 0 {
		rest = rest[j:]
	}
	var rows []profRow
	for _, m := range profRowRE.FindAllStringSubmatch(rest, -1) {
		r := profRow{HTML: m[2]}
		if s := profSIDRE.FindStringSubmatch(m[1]); s != nil {
			r.SessionID = s[1]
		}
		for _, c := range profCellRE.FindAllStringSubmatch(m[2], -1) {
			r.Cells = append(r.Cells, profText(c[1]))
		}
		rows = append(rows, r)
	}
	return rows
}

// TestProfileSignedOut: the profile page sends a signed-out browser to
// sign in.
func TestProfileSignedOut(t *testing.T) {
	ta := startApp(t, nil)
	res, _ := harness.Do(t, ta.Browser(t), http.MethodGet, ta.URL+"/profile", nil, map[string]string{"Accept": "text/html", "Sec-Fetch-Dest": "document"})
	if res.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(res.Header.Get("Location"), "/sign-in") {
		t.Errorf("GET /profile signed out: got %d to %q, want 307 to /sign-in", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestProfileName: the name form saves trimmed names and refuses names
// over 100 characters next to the field, keeping the old name.
func TestProfileName(t *testing.T) {
	ta := startApp(t, nil)
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")

	ta.profPost(t, c, "/profile/name", url.Values{"first_name": {"  Dorothea "}, "last_name": {"Tester"}}, http.StatusSeeOther, "/profile?done=name#name")
	got := ta.profUser(t, u.ID)
	if profStr(got.FirstName) != "Dorothea" || profStr(got.LastName) != "Tester" {
		t.Errorf("after saving the name: got %q %q, want Dorothea Tester", profStr(got.FirstName), profStr(got.LastName))
	}
	page := ta.profGetProfile(t, c)
	if strings.Contains(profText(page), "Your name was saved.") {
		t.Errorf("GET /profile without done: got the notice \"Your name was saved.\", want none")
	}
	if res, page := harness.Do(t, c, http.MethodGet, ta.URL+"/profile?done=name", nil, nil); res.StatusCode != http.StatusOK || !strings.Contains(profText(page), "Your name was saved.") {
		t.Errorf("GET /profile?done=name: got %d without the notice, want 200 with \"Your name was saved.\"", res.StatusCode)
	}
	if !strings.Contains(page, `value="Dorothea"`) {
		t.Errorf("GET /profile: the first-name field does not hold the saved name")
	}

	for _, tc := range []struct{ name, field, first, last string }{
		{"first name too long", "first_name", strings.Repeat("a", 101), "Tester"},
		{"last name with a control character", "last_name", "Dorothea", "Te\x07ster"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ta.profRefused(t, c, "/profile/name", url.Values{"first_name": {tc.first}, "last_name": {tc.last}},
				http.StatusUnprocessableEntity, "at most 100 characters")
			if !strings.Contains(body, `id="`+tc.field+`-error"`) {
				t.Errorf("the message is not next to %s", tc.field)
			}
			got := ta.profUser(t, u.ID)
			if profStr(got.FirstName) != "Dorothea" || profStr(got.LastName) != "Tester" {
				t.Errorf("after a refused name: got %q %q, want Dorothea Tester unchanged", profStr(got.FirstName), profStr(got.LastName))
			}
		})
	}
}

// TestProfilePasswordChange: the refusals of the password form leave the
// password as it was; a change with "sign out of other devices" revokes
// the user's other sessions and keeps this one, one without keeps them.
func TestProfilePasswordChange(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")

	for _, tc := range []struct {
		name, current, next, field, msg string
		countsFailure                   bool
	}{
		{"wrong current password", "not my password at all", profNewPassword, "current_password", "Your current password is incorrect.", true},
		{"new equals current", doraPassword, doraPassword, "new_password", "different from your current one", false},
		{"new too short", doraPassword, "short1", "new_password", "8 characters", false},
		{"current missing", "", profNewPassword, "current_password", "Enter", false},
		{"new missing", doraPassword, "", "new_password", "Enter", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := ta.App.Store.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			body := ta.profRefused(t, c, "/profile/password", url.Values{"current_password": {tc.current}, "new_password": {tc.next},
				"sign_out_of_other_sessions": {"true"}}, http.StatusUnprocessableEntity, tc.msg)
			if !strings.Contains(body, `id="`+tc.field+`-error"`) {
				t.Errorf("the message is not next to %s", tc.field)
			}
			if _, err := ta.App.Client.Users.VerifyPassword(ctx, u.ID, doraPassword); err != nil {
				t.Errorf("the old password after a refused change: got %v, want it still valid", err)
			}
			after, err := ta.App.Store.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := before.FailedSignIns
			if tc.countsFailure {
				want++
			}
			if after.FailedSignIns != want {
				t.Errorf("failed sign-ins: got %d, want %d (before %d)", after.FailedSignIns, want, before.FailedSignIns)
			}
		})
	}
	if !ta.profLive(t, c) {
		t.Fatal("the browser was signed out by refused password changes")
	}

	t.Run("without sign-out keeps other sessions", func(t *testing.T) {
		o := ta.profSignIn(t, doraEmail, doraPassword, "")
		oSID := ta.sessionID(t, o)
		ta.profPost(t, c, "/profile/password", url.Values{"current_password": {doraPassword}, "new_password": {profNewPassword}},
			http.StatusSeeOther, "/profile?done=password#password")
		if s := ta.profSessionStatus(t, oSID); s != "active" {
			t.Errorf("the other session after a change without sign-out: got %q, want active", s)
		}
		if !ta.profLive(t, o) {
			t.Error("the other browser after a change without sign-out: got signed out, want signed in")
		}
		if _, err := ta.App.Client.Users.VerifyPassword(ctx, u.ID, profNewPassword); err != nil {
			t.Errorf("the new password: got %v, want it valid", err)
		}
	})

	t.Run("with sign-out revokes other sessions", func(t *testing.T) {
		o := ta.profSignIn(t, doraEmail, profNewPassword, "")
		oSID, cSID := ta.sessionID(t, o), ta.sessionID(t, c)
		ta.profPost(t, c, "/profile/password", url.Values{"current_password": {profNewPassword}, "new_password": {profThirdPassword},
			"sign_out_of_other_sessions": {"true"}}, http.StatusSeeOther, "/profile?done=password#password")
		if s := ta.profSessionStatus(t, oSID); s != "revoked" {
			t.Errorf("the other session: got %q, want revoked", s)
		}
		if s := ta.profSessionStatus(t, cSID); s != "active" {
			t.Errorf("this browser's session: got %q, want active", s)
		}
		if ta.profLive(t, o) {
			t.Error("the other browser after its refresh: got signed in, want signed out")
		}
		if !ta.profLive(t, c) {
			t.Error("this browser: got signed out, want signed in")
		}
		if res, page := harness.Do(t, c, http.MethodGet, ta.URL+"/profile?done=password", nil, nil); res.StatusCode != http.StatusOK ||
			!strings.Contains(profText(page), "Your password was changed.") {
			t.Errorf("GET /profile?done=password: got %d without the notice, want 200 with \"Your password was changed.\"", res.StatusCode)
		}
		if st, _ := ta.profSignInStatus(t, doraEmail, profNewPassword); st != http.StatusUnprocessableEntity {
			t.Errorf("sign-in with the previous password: got %d, want 422", st)
		}
		if st, _ := ta.profSignInStatus(t, doraEmail, profThirdPassword); st != http.StatusSeeOther {
			t.Errorf("sign-in with the new password: got %d, want 303", st)
		}
	})
}

// TestProfilePasswordWrongCurrentLocks: wrong current passwords on the
// password form count toward the lockout, like wrong sign-ins: after ten
// the account is locked, for the form and for sign-in.
func TestProfilePasswordWrongCurrentLocks(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")
	for i := 1; i <= 10; i++ {
		res, body := harness.PostForm(t, c, ta.URL+"/profile/password", url.Values{"current_password": {fmt.Sprintf("wrong password %d", i)},
			"new_password": {profNewPassword}})
		if res.StatusCode == http.StatusSeeOther {
			t.Fatalf("wrong current password %d: got 303, want a refusal; page %.200s", i, profText(body))
		}
	}
	if st, text := ta.profSignInStatus(t, doraEmail, doraPassword); st != http.StatusForbidden || !strings.Contains(text, "locked") {
		t.Errorf("sign-in with the right password after 10 wrong current passwords: got %d, want 403 (locked); page %.300s", st, text)
	}
	ta.profRefused(t, c, "/profile/password", url.Values{"current_password": {doraPassword}, "new_password": {profNewPassword}},
		http.StatusForbidden, "locked")
	if _, err := ta.App.Client.Users.VerifyPassword(ctx, u.ID, doraPassword); err != nil {
		t.Errorf("the password after the locked change: got %v, want it unchanged", err)
	}
}

// TestProfileEmailAddresses: an address added on the profile is stored
// unverified and mailed a code; a wrong code is refused, the right one
// verifies it (email_code); it can become primary, the old one can go,
// and the last verified address cannot be removed.
func TestProfileEmailAddresses(t *testing.T) {
	ta := startApp(t, nil)
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")
	const work = "dora.work@example.com"

	ta.profPost(t, c, "/profile/emails", url.Values{"email_address": {"  Dora.Work@Example.COM "}}, http.StatusSeeOther, "/profile?done=email-added#emails")
	e := ta.profAddressOf(t, u.ID, work)
	if e.Verification.Status != "unverified" || e.Verification.Strategy != nil {
		t.Errorf("the new address: got status %q strategy %s, want unverified without a strategy", e.Verification.Status, profStr(e.Verification.Strategy))
	}
	code := ta.profCode(t, work, 1)
	res, page := harness.Do(t, c, http.MethodGet, ta.URL+"/profile?done=email-added", nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /profile: got %d, want 200", res.StatusCode)
	}
	if !strings.Contains(profText(page), "We sent a code to the new address") {
		t.Errorf("GET /profile?done=email-added: got no notice about the code")
	}
	li := regexp.MustCompile(`(?s)<li[^>]*data-email="` + regexp.QuoteMeta(work) + `".*?</li>`).FindString(page)
	if !strings.Contains(li, "unverified") || !strings.Contains(li, `/profile/emails/`+e.ID+`/verify`) {
		t.Errorf("the address on the profile: got %.400s, want it marked unverified with a verify form", profText(li))
	}

	ta.profRefused(t, c, "/profile/emails/"+e.ID+"/verify", url.Values{"code": {profOther(code)}}, http.StatusUnprocessableEntity, "That code is incorrect.")
	if e := ta.profAddressOf(t, u.ID, work); e.Verification.Status != "unverified" {
		t.Errorf("after a wrong code: got %q, want unverified", e.Verification.Status)
	}
	ta.profPost(t, c, "/profile/emails/"+e.ID+"/verify", url.Values{"code": {code}}, http.StatusSeeOther, "/profile?done=email-verified#emails")
	if e := ta.profAddressOf(t, u.ID, work); e.Verification.Status != "verified" || profStr(e.Verification.Strategy) != "email_code" {
		t.Errorf("after the right code: got %q by %s, want verified by email_code", e.Verification.Status, profStr(e.Verification.Strategy))
	}

	ta.profPost(t, c, "/profile/emails/"+e.ID+"/primary", nil, http.StatusSeeOther, "/profile?done=email-primary#emails")
	if got := ta.profUser(t, u.ID); profStr(got.PrimaryEmailAddressID) != e.ID {
		t.Errorf("primary address: got %s, want %s (%s)", profStr(got.PrimaryEmailAddressID), e.ID, work)
	}
	old := ta.profAddressOf(t, u.ID, doraEmail)
	ta.profPost(t, c, "/profile/emails/"+old.ID+"/remove", nil, http.StatusSeeOther, "/profile?done=email-removed#emails")
	if got := ta.profUser(t, u.ID); profAddress(got, doraEmail) != nil || len(got.EmailAddresses) != 1 {
		t.Errorf("after removing %s: got %d addresses, want only %s", doraEmail, len(got.EmailAddresses), work)
	}

	ta.profRefused(t, c, "/profile/emails/"+e.ID+"/remove", nil, http.StatusBadRequest, "This is your last verified address")
	if ta.profAddressOf(t, u.ID, work) == nil {
		t.Error("the last verified address was removed")
	}

	if st, _ := ta.profSignInStatus(t, work, doraPassword); st != http.StatusSeeOther {
		t.Errorf("sign-in with the new primary address: got %d, want 303", st)
	}
	if st, _ := ta.profSignInStatus(t, doraEmail, doraPassword); st != http.StatusUnprocessableEntity {
		t.Errorf("sign-in with the removed address: got %d, want 422", st)
	}
}

// TestProfileEmailAddressLimits: at most three unverified addresses at a
// time; someone else's address, in any case, and a malformed one are
// refused next to the field; nothing is stored for a refusal.
func TestProfileEmailAddressLimits(t *testing.T) {
	ta := startApp(t, nil)
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Other")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")

	type refusal struct {
		name, email string
		status      int
		msg         string
		addresses   int // Dora's addresses, before and after
	}
	refused := func(tc refusal) {
		t.Run(tc.name, func(t *testing.T) {
			mails := len(ta.profMailbox(t))
			body := ta.profRefused(t, c, "/profile/emails", url.Values{"email_address": {tc.email}}, tc.status, tc.msg)
			if !strings.Contains(body, `id="email_address-error"`) {
				t.Error("the message is not next to the address field")
			}
			if got := ta.profUser(t, u.ID); len(got.EmailAddresses) != tc.addresses {
				t.Errorf("addresses after the refusal: got %d, want %d", len(got.EmailAddresses), tc.addresses)
			}
			if n := len(ta.profMailbox(t)); n != mails {
				t.Errorf("mailbox after the refusal: got %d messages, want %d", n, mails)
			}
		})
	}
	refused(refusal{"someone else's", evanEmail, http.StatusUnprocessableEntity, "That email address is taken", 1})
	refused(refusal{"someone else's in another case", "EVAN@Example.com", http.StatusUnprocessableEntity, "That email address is taken", 1})
	refused(refusal{"malformed", "not-an-email", http.StatusUnprocessableEntity, "valid email", 1})
	refused(refusal{"already mine", " DORA@example.com", http.StatusUnprocessableEntity, "That email address is taken", 1})
	for i := 1; i <= 3; i++ {
		ta.profPost(t, c, "/profile/emails", url.Values{"email_address": {fmt.Sprintf("extra%d@example.com", i)}}, http.StatusSeeOther, "/profile?done=email-added#emails")
	}
	refused(refusal{"a fourth unverified", "extra4@example.com", http.StatusBadRequest, "Verify or remove one of your unverified addresses first.", 4})
	// Someone else's address keeps its owner.
	if e := ta.profAddressOf(t, ta.UserID(t, evanEmail), evanEmail); e.Verification.Status != "verified" {
		t.Errorf("Evan's address: got %q, want verified", e.Verification.Status)
	}
	// Removing an unverified one makes room for another.
	e := ta.profAddressOf(t, u.ID, "extra1@example.com")
	ta.profPost(t, c, "/profile/emails/"+e.ID+"/remove", nil, http.StatusSeeOther, "/profile?done=email-removed#emails")
	ta.profPost(t, c, "/profile/emails", url.Values{"email_address": {"extra4@example.com"}}, http.StatusSeeOther, "/profile?done=email-added#emails")
}

// TestProfileEmailResend: a resend within 30 s of the last code is
// refused (429 with Retry-After) and mails nothing; after the cooldown it
// mails a new code, which replaces the old one.
func TestProfileEmailResend(t *testing.T) {
	ta := startApp(t, nil)
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")
	const extra = "dora.extra@example.com"
	ta.profPost(t, c, "/profile/emails", url.Values{"email_address": {extra}}, http.StatusSeeOther, "")
	first := ta.profCode(t, extra, 1)
	e := ta.profAddressOf(t, u.ID, extra)

	res, body := harness.PostForm(t, c, ta.URL+"/profile/emails/"+e.ID+"/resend", nil)
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("resend at once: got %d, want 429; page %.300s", res.StatusCode, profText(body))
	}
	if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 30 {
		t.Errorf("resend at once: got Retry-After %q, want 1–30 seconds", res.Header.Get("Retry-After"))
	}
	if !strings.Contains(profText(body), "A code was sent moments ago") {
		t.Errorf("resend at once: the page does not say why; page %.600s", profText(body))
	}
	if n := len(ta.profMailTo(t, extra)); n != 1 {
		t.Errorf("mail to %s after a refused resend: got %d, want 1", extra, n)
	}

	ta.profBackdateCodes(t, extra)
	ta.profPost(t, c, "/profile/emails/"+e.ID+"/resend", nil, http.StatusSeeOther, "/profile?done=email-sent#emails")
	second := ta.profCode(t, extra, 2)
	if second != first {
		ta.profRefused(t, c, "/profile/emails/"+e.ID+"/verify", url.Values{"code": {first}}, http.StatusUnprocessableEntity, "That code is incorrect.")
	}
	ta.profPost(t, c, "/profile/emails/"+e.ID+"/verify", url.Values{"code": {second}}, http.StatusSeeOther, "/profile?done=email-verified#emails")
	if e := ta.profAddressOf(t, u.ID, extra); e.Verification.Status != "verified" {
		t.Errorf("after the resent code: got %q, want verified", e.Verification.Status)
	}
	// A verified address has nothing to resend.
	ta.profRefused(t, c, "/profile/emails/"+e.ID+"/resend", nil, http.StatusBadRequest, "already verified")
}

// TestProfilePrimaryNeedsVerifiedAddress: an unverified address cannot
// become primary; the refusal says why on the page.
func TestProfilePrimaryNeedsVerifiedAddress(t *testing.T) {
	ta := startApp(t, nil)
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")
	primary := profStr(ta.profUser(t, u.ID).PrimaryEmailAddressID)
	ta.profPost(t, c, "/profile/emails", url.Values{"email_address": {"unverified@example.com"}}, http.StatusSeeOther, "")
	e := ta.profAddressOf(t, u.ID, "unverified@example.com")

	ta.profRefused(t, c, "/profile/emails/"+e.ID+"/primary", nil, http.StatusUnprocessableEntity, "Verify this address before making it primary.")
	if got := profStr(ta.profUser(t, u.ID).PrimaryEmailAddressID); got != primary {
		t.Errorf("primary address after the refusal: got %s, want %s unchanged", got, primary)
	}
}

// TestProfileOtherUsersIDs attacks the forms with ids of another user's
// addresses and sessions: each is 404 and changes nothing of theirs.
func TestProfileOtherUsersIDs(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	evan := ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Other")
	pending, err := ta.App.Client.EmailAddresses.Create(ctx, clerkclient.CreateEmailAddressParams{UserID: evan.ID, EmailAddress: "evan.pending@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := ta.App.Client.EmailAddresses.Create(ctx, clerkclient.CreateEmailAddressParams{UserID: evan.ID, EmailAddress: "evan.second@example.com", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	evanBrowser := ta.profSignIn(t, evanEmail, evanPassword, "")
	evanSID := ta.sessionID(t, evanBrowser)
	c := ta.profSignIn(t, doraEmail, doraPassword, "")

	snapshot := func() string {
		u := ta.profUser(t, evan.ID)
		var addrs []string
		for _, e := range u.EmailAddresses {
			addrs = append(addrs, e.EmailAddress+"="+e.Verification.Status)
		}
		slices.Sort(addrs)
		return fmt.Sprintf("primary=%s addresses=%v session=%s mails=%d", profStr(u.PrimaryEmailAddressID), addrs,
			ta.profSessionStatus(t, evanSID), len(ta.profMailbox(t)))
	}
	before := snapshot()
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/profile/emails/" + pending.ID + "/verify", url.Values{"code": {"123456"}}},
		{"/profile/emails/" + pending.ID + "/resend", nil},
		{"/profile/emails/" + second.ID + "/primary", nil},
		{"/profile/emails/" + second.ID + "/remove", nil},
		{"/profile/emails/" + pending.ID + "/remove", nil},
		{"/profile/sessions/" + evanSID + "/revoke", nil},
		{"/profile/emails/idn_doesnotexist/remove", nil},
		{"/profile/sessions/sess_doesnotexist/revoke", nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := harness.PostForm(t, c, ta.URL+tc.path, tc.form)
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s as Dora: got %d, want 404; page %.300s", tc.path, res.StatusCode, profText(body))
			}
			if after := snapshot(); after != before {
				t.Errorf("Evan's account after POST %s as Dora:\n got %s\nwant %s", tc.path, after, before)
			}
		})
	}
	if !ta.profLive(t, evanBrowser) {
		t.Error("Evan's browser: got signed out, want signed in")
	}
}

// TestProfileSessionsTable: the sessions table lists each live session
// of the user with its device, its IP, "this browser" on the current one
// and "impersonation" on an actor session, and a Sign out button on the
// others only; other users' sessions are not listed.
func TestProfileSessionsTable(t *testing.T) {
	ta := startApp(t, map[string]string{"ADMIN_EMAILS": "root@example.com"})
	admin := ta.CreateUser(t, "root@example.com", "correct horse battery", "Root", "Admin")
	dora := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Other")
	c := ta.profSignIn(t, doraEmail, doraPassword, profChromeLinux)
	o := ta.profSignIn(t, doraEmail, doraPassword, profFirefoxWin)
	evanSID := ta.sessionID(t, ta.profSignIn(t, evanEmail, evanPassword, profChromeLinux))
	_, impSID := impersonate(t, ta, admin.ID, dora.ID)
	cSID, oSID := ta.sessionID(t, c), ta.sessionID(t, o)

	check := func(t *testing.T, viewer *http.Client, self string) {
		rows := profTable(t, ta.profGetProfile(t, viewer), "sessions")
		byID := map[string]profRow{}
		for _, r := range rows {
			byID[r.SessionID] = r
		}
		if len(rows) != 3 || len(byID) != 3 {
			t.Fatalf("sessions table: got %d rows (%v), want 3: %s, %s, %s", len(rows), slices.Sorted(maps.Keys(byID)), cSID, oSID, impSID)
		}
		if _, ok := byID[evanSID]; ok {
			t.Errorf("sessions table lists Evan's session %s", evanSID)
		}
		for _, tc := range []struct {
			sid, device string
			imp         bool
		}{{cSID, "Chrome on Linux", false}, {oSID, "Firefox on Windows", false}, {impSID, "", true}} {
			r, ok := byID[tc.sid]
			if !ok {
				t.Errorf("sessions table: got no row for %s", tc.sid)
				continue
			}
			if len(r.Cells) < 5 {
				t.Errorf("row %s: got %d cells, want 5", tc.sid, len(r.Cells))
				continue
			}
			if tc.device != "" && !strings.HasPrefix(r.Cells[0], tc.device) {
				t.Errorf("row %s device: got %q, want %q", tc.sid, r.Cells[0], tc.device)
			}
			if r.Cells[1] != "127.0.0.1" {
				t.Errorf("row %s IP: got %q, want 127.0.0.1", tc.sid, r.Cells[1])
			}
			if got, want := strings.Contains(r.Cells[0], "this browser"), tc.sid == self; got != want {
				t.Errorf("row %s: \"this browser\" shown %v, want %v (%q)", tc.sid, got, want, r.Cells[0])
			}
			if got := strings.Contains(r.Cells[0], "impersonation"); got != tc.imp {
				t.Errorf("row %s: \"impersonation\" shown %v, want %v (%q)", tc.sid, got, tc.imp, r.Cells[0])
			}
			if got, want := strings.Contains(r.HTML, `action="/profile/sessions/`+tc.sid+`/revoke"`), tc.sid != self; got != want {
				t.Errorf("row %s: Sign out form shown %v, want %v", tc.sid, got, want)
			}
		}
	}
	t.Run("seen from Chrome", func(t *testing.T) { check(t, c, cSID) })
	t.Run("seen from Firefox", func(t *testing.T) { check(t, o, oSID) })
}

// TestProfileSessionsTableOmitsExpired: a session past its expiry is no
// longer live (its refresh fails), so "Active sessions" does not list it,
// even before anything has marked it expired in the store.
func TestProfileSessionsTableOmitsExpired(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")
	o := ta.profSignIn(t, doraEmail, doraPassword, "")
	cSID, oSID := ta.sessionID(t, c), ta.sessionID(t, o)
	db, _ := ta.App.Store.SQL()
	if _, err := db.ExecContext(context.Background(), `UPDATE sessions SET expire_at = $1 WHERE id = $2`,
		time.Now().Add(-time.Minute).UnixMilli(), oSID); err != nil {
		t.Fatal(err)
	}
	rows := profTable(t, ta.profGetProfile(t, c), "sessions")
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.SessionID)
	}
	if !slices.Equal(ids, []string{cSID}) {
		t.Errorf("Active sessions with %s past its expiry: got %v, want only %s", oSID, ids, cSID)
	}
	if ta.profLive(t, o) {
		t.Errorf("the browser of the expired session: got signed in after its refresh, want signed out")
	}
}

// TestProfileImpersonationRestricted: an impersonation session cannot
// change the password or the addresses, nor delete the account (403,
// nothing changes); the profile says so.
func TestProfileImpersonationRestricted(t *testing.T) {
	ta := startApp(t, map[string]string{"ADMIN_EMAILS": "root@example.com"})
	ctx := context.Background()
	admin := ta.CreateUser(t, "root@example.com", "correct horse battery", "Root", "Admin")
	dora := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	second, err := ta.App.Client.EmailAddresses.Create(ctx, clerkclient.CreateEmailAddressParams{UserID: dora.ID, EmailAddress: "dora.second@example.com", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	imp, _ := impersonate(t, ta, admin.ID, dora.ID)
	if !strings.Contains(profText(ta.profGetProfile(t, imp)), "You are impersonating this user") {
		t.Error("GET /profile while impersonating: got no notice of the impersonation")
	}
	snapshot := func() string {
		u := ta.profUser(t, dora.ID)
		pw := "ok"
		if _, err := ta.App.Client.Users.VerifyPassword(ctx, dora.ID, doraPassword); err != nil {
			pw = clerkclient.ErrorCode(err)
		}
		return fmt.Sprintf("primary=%s addresses=%d password=%s", profStr(u.PrimaryEmailAddressID), len(u.EmailAddresses), pw)
	}
	before := snapshot()
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/profile/password", url.Values{"current_password": {doraPassword}, "new_password": {profNewPassword}}},
		{"/profile/emails", url.Values{"email_address": {"planted@example.com"}}},
		{"/profile/emails/" + second.ID + "/primary", nil},
		{"/profile/emails/" + second.ID + "/remove", nil},
		{"/profile/delete", url.Values{"current_password": {doraPassword}, "confirmation": {"delete my account"}}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ta.profRefused(t, imp, tc.path, tc.form, http.StatusForbidden, "Not available while impersonating.")
			if after := snapshot(); after != before {
				t.Errorf("Dora's account after POST %s while impersonating:\n got %s\nwant %s", tc.path, after, before)
			}
		})
	}
}

// TestProfileRevokeSession: Sign out on another session's row revokes it
// (its browser is signed out at its next refresh), not the current one
// (400) nor an unknown or ended one (404); "Sign out of all other
// devices" revokes every other one.
func TestProfileRevokeSession(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")
	o := ta.profSignIn(t, doraEmail, doraPassword, "")
	cSID, oSID := ta.sessionID(t, c), ta.sessionID(t, o)

	ta.profPost(t, c, "/profile/sessions/"+oSID+"/revoke", nil, http.StatusSeeOther, "/profile?done=session#sessions")
	if s := ta.profSessionStatus(t, oSID); s != "revoked" {
		t.Errorf("the revoked session: got %q, want revoked", s)
	}
	if ta.profLive(t, o) {
		t.Error("the revoked browser: got signed in after its refresh, want signed out")
	}
	if !ta.profLive(t, c) {
		t.Error("this browser: got signed out, want signed in")
	}
	for _, r := range profTable(t, ta.profGetProfile(t, c), "sessions") {
		if r.SessionID == oSID {
			t.Errorf("sessions table still lists the revoked session %s", oSID)
		}
	}

	ta.profRefused(t, c, "/profile/sessions/"+cSID+"/revoke", nil, http.StatusBadRequest, "To end this session, sign out.")
	if s := ta.profSessionStatus(t, cSID); s != "active" {
		t.Errorf("this session after revoking itself: got %q, want active", s)
	}
	ta.profRefused(t, c, "/profile/sessions/"+oSID+"/revoke", nil, http.StatusNotFound, "")

	o2 := ta.profSignIn(t, doraEmail, doraPassword, "")
	o3 := ta.profSignIn(t, doraEmail, doraPassword, "")
	ta.profPost(t, c, "/profile/sessions/revoke-others", nil, http.StatusSeeOther, "/profile?done=sessions#sessions")
	for _, b := range []*http.Client{o2, o3} {
		sid := ta.sessionID(t, b)
		if s := ta.profSessionStatus(t, sid); s != "revoked" {
			t.Errorf("session %s after revoke-others: got %q, want revoked", sid, s)
		}
		if ta.profLive(t, b) {
			t.Errorf("browser of %s after revoke-others: got signed in, want signed out", sid)
		}
	}
	if s := ta.profSessionStatus(t, cSID); s != "active" {
		t.Errorf("this session after revoke-others: got %q, want active", s)
	}
	if rows := profTable(t, ta.profGetProfile(t, c), "sessions"); len(rows) != 1 || rows[0].SessionID != cSID {
		t.Errorf("sessions table after revoke-others: got %d rows, want only this browser's", len(rows))
	}
}

// TestProfileSecurityActivity: the security activity lists the user's
// own events in words, newest first, with the IP and device.
func TestProfileSecurityActivity(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Other")
	c := ta.profSignIn(t, doraEmail, doraPassword, profChromeLinux)
	ta.profSignIn(t, evanEmail, evanPassword, profChromeLinux)
	ta.profPost(t, c, "/profile/password", url.Values{"current_password": {doraPassword}, "new_password": {profNewPassword}}, http.StatusSeeOther, "")
	ta.profPost(t, c, "/profile/emails", url.Values{"email_address": {"dora.more@example.com"}}, http.StatusSeeOther, "")

	rows := profTable(t, ta.profGetProfile(t, c), "activity")
	var names []string
	for _, r := range rows {
		if len(r.Cells) > 0 {
			names = append(names, r.Cells[0])
		}
	}
	want := []string{"Email address added", "Password changed", "Signed in"}
	if len(names) < len(want) || !slices.Equal(names[:len(want)], want) {
		t.Fatalf("security activity: got %q, want it to start with %q (newest first)", names, want)
	}
	if n := len(slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s != "Signed in" })); n != 1 {
		t.Errorf("security activity: got %d \"Signed in\" rows, want 1 (Evan's sign-in is not Dora's): %q", n, names)
	}
	signIn := rows[2]
	if len(signIn.Cells) < 4 || signIn.Cells[2] != "127.0.0.1" || signIn.Cells[3] != "Chrome on Linux" {
		t.Errorf("the sign-in row: got %q, want IP 127.0.0.1 and device Chrome on Linux", signIn.Cells)
	}
}

// TestProfileDeleteAccount: deletion needs the exact confirmation and the
// current password, is refused (409) while the user is the last admin of
// an organization with other members, and then deletes the user with the
// organizations where they are alone, clears the cookies and signs out
// every other browser of theirs.
func TestProfileDeleteAccount(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	dora := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	evan := ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Other")
	solo, err := ta.App.Client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Solo", CreatedBy: &dora.ID})
	if err != nil {
		t.Fatal(err)
	}
	team, err := ta.App.Client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Team", CreatedBy: &dora.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.App.Client.Organizations.CreateOrganizationMembership(ctx, clerkclient.CreateOrganizationMembershipParams{
		OrganizationID: team.ID, UserID: evan.ID, Role: "org:member"}); err != nil {
		t.Fatal(err)
	}
	c := ta.profSignIn(t, doraEmail, doraPassword, "")
	o := ta.profSignIn(t, doraEmail, doraPassword, "")

	for _, tc := range []struct {
		name, password, confirmation string
		status                       int
		field, msg                   string
	}{
		{"wrong confirmation", doraPassword, "delete account", http.StatusUnprocessableEntity, "confirmation", "to confirm"},
		{"no confirmation", doraPassword, "", http.StatusUnprocessableEntity, "confirmation", "to confirm"},
		{"wrong password", "not my password", "delete my account", http.StatusUnprocessableEntity, "current_password", "Your current password is incorrect."},
		{"no password", "", "delete my account", http.StatusUnprocessableEntity, "current_password", "Enter"},
		{"last admin of an organization with members", doraPassword, "delete my account", http.StatusConflict, "", "last admin of an organization with other members"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ta.profRefused(t, c, "/profile/delete", url.Values{"current_password": {tc.password}, "confirmation": {tc.confirmation}}, tc.status, tc.msg)
			if tc.field != "" && !strings.Contains(body, `id="`+tc.field+`-error"`) {
				t.Errorf("the message is not next to %s", tc.field)
			}
			ta.profUser(t, dora.ID)
			for _, org := range []string{solo.ID, team.ID} {
				if _, err := ta.App.Client.Organizations.GetOrganization(ctx, org); err != nil {
					t.Errorf("organization %s after a refused deletion: %v, want it kept", org, err)
				}
			}
		})
	}
	if !ta.profLive(t, c) || !ta.profLive(t, o) {
		t.Fatal("refused deletions signed a browser out")
	}

	if _, err := ta.App.Client.Organizations.UpdateOrganizationMembership(ctx, clerkclient.UpdateOrganizationMembershipParams{
		OrganizationID: team.ID, UserID: evan.ID, Role: "org:admin"}); err != nil {
		t.Fatal(err)
	}
	oSID := ta.sessionID(t, o)
	res, _ := ta.profPost(t, c, "/profile/delete", url.Values{"current_password": {doraPassword}, "confirmation": {"delete my account"}},
		http.StatusSeeOther, "/?account=deleted")
	assertCleared(t, res)
	if _, err := ta.App.Client.Users.GetUser(ctx, dora.ID); !clerkclient.IsNotFound(err) {
		t.Errorf("GetUser after the deletion: got %v, want not found", err)
	}
	if _, err := ta.App.Client.Organizations.GetOrganization(ctx, solo.ID); !clerkclient.IsNotFound(err) {
		t.Errorf("the organization where Dora was alone: got %v, want not found", err)
	}
	members, err := ta.App.Client.Organizations.GetOrganizationMembershipList(ctx, clerkclient.OrganizationMembershipListParams{OrganizationID: team.ID})
	if err != nil {
		t.Fatalf("the organization with Evan: %v, want it kept", err)
	}
	if len(members.Data) != 1 {
		t.Errorf("members of Team after the deletion: got %d, want Evan alone", len(members.Data))
	}
	if _, uid := ta.me(t, c, nil); uid != "" {
		t.Errorf("this browser after the deletion: got signed in as %s, want signed out", uid)
	}
	if res, _ := harness.Do(t, o, http.MethodGet, ta.URL+"/profile", nil, nil); res.StatusCode == http.StatusOK {
		t.Error("GET /profile in the other browser after the deletion: got 200, want a redirect to sign in")
	}
	if s, err := ta.App.Client.Sessions.GetSession(ctx, oSID); err == nil && s.Status == "active" {
		t.Errorf("the other browser's session after the deletion: got active, want gone")
	}
	if ta.profLive(t, o) {
		t.Error("the other browser after the deletion: got signed in after its refresh, want signed out")
	}
	if st, _ := ta.profSignInStatus(t, doraEmail, doraPassword); st != http.StatusUnprocessableEntity {
		t.Errorf("sign-in as the deleted user: got %d, want 422", st)
	}
}

// profFixture is a user with every kind of thing the account forms change:
// an unverified address (its code known, its cooldown passed), a verified
// second address, and another live session.
type profFixture struct {
	ta                *testApp
	userID            string
	pendingID, code   string
	secondID, otherID string
	other             *http.Client
}

func profStartFixture(t *testing.T) (*profFixture, *http.Client) {
	t.Helper()
	ta := startApp(t, nil)
	ctx := context.Background()
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")
	ta.profPost(t, c, "/profile/emails", url.Values{"email_address": {"dora.pending@example.com"}}, http.StatusSeeOther, "")
	f := &profFixture{ta: ta, userID: u.ID, code: ta.profCode(t, "dora.pending@example.com", 1)}
	f.pendingID = ta.profAddressOf(t, u.ID, "dora.pending@example.com").ID
	ta.profBackdateCodes(t, "dora.pending@example.com")
	second, err := ta.App.Client.EmailAddresses.Create(ctx, clerkclient.CreateEmailAddressParams{UserID: u.ID, EmailAddress: "dora.second@example.com", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	f.secondID = second.ID
	f.other = ta.profSignIn(t, doraEmail, doraPassword, "")
	f.otherID = ta.sessionID(t, f.other)
	return f, c
}

// cases are every account form, with values that would change the
// account were the post accepted.
func (f *profFixture) cases() []struct {
	path string
	form url.Values
} {
	return []struct {
		path string
		form url.Values
	}{
		{"/profile/name", url.Values{"first_name": {"Mallory"}, "last_name": {"Planted"}}},
		{"/profile/password", url.Values{"current_password": {doraPassword}, "new_password": {profNewPassword}, "sign_out_of_other_sessions": {"true"}}},
		{"/profile/emails", url.Values{"email_address": {"planted@example.com"}}},
		{"/profile/emails/" + f.pendingID + "/verify", url.Values{"code": {f.code}}},
		{"/profile/emails/" + f.pendingID + "/resend", nil},
		{"/profile/emails/" + f.secondID + "/primary", nil},
		{"/profile/emails/" + f.secondID + "/remove", nil},
		{"/profile/sessions/" + f.otherID + "/revoke", nil},
		{"/profile/sessions/revoke-others", nil},
		{"/profile/delete", url.Values{"current_password": {doraPassword}, "confirmation": {"delete my account"}}},
	}
}

// snapshot describes everything the forms could change.
func (f *profFixture) snapshot(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	ta := f.ta
	u, err := ta.App.Client.Users.GetUser(ctx, f.userID)
	if err != nil {
		return "user: " + err.Error()
	}
	var addrs []string
	for _, e := range u.EmailAddresses {
		addrs = append(addrs, e.EmailAddress+"="+e.Verification.Status)
	}
	slices.Sort(addrs)
	sessions, err := ta.App.Client.Sessions.GetSessionList(ctx, clerkclient.SessionListParams{UserID: f.userID, Status: "active"})
	if err != nil {
		t.Fatal(err)
	}
	var sids []string
	for _, s := range sessions.Data {
		sids = append(sids, s.ID)
	}
	slices.Sort(sids)
	pw := "ok"
	if _, err := ta.App.Client.Users.VerifyPassword(ctx, f.userID, doraPassword); err != nil {
		pw = clerkclient.ErrorCode(err)
	}
	events, err := ta.App.Client.AuditEvents.List(ctx, clerkclient.AuditEventListParams{UserID: f.userID, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("name=%s %s primary=%s addresses=%v active=%v password=%s mails=%d events=%d",
		profStr(u.FirstName), profStr(u.LastName), profStr(u.PrimaryEmailAddressID), addrs, sids, pw, len(ta.profMailbox(t)), events.TotalCount)
}

// TestProfileAccountFormsEndedSession attacks every account form with a
// browser whose session has ended, its session token still unexpired:
// revoked by the backend client, or signed out in another tab. Each post
// is sent to sign in and changes nothing.
func TestProfileAccountFormsEndedSession(t *testing.T) {
	for _, end := range []struct {
		name string
		fn   func(t *testing.T, f *profFixture, c *http.Client)
	}{
		{"revoked by the backend client", func(t *testing.T, f *profFixture, c *http.Client) {
			if _, err := f.ta.App.Client.Sessions.RevokeSession(context.Background(), f.ta.sessionID(t, c)); err != nil {
				t.Fatal(err)
			}
		}},
		{"signed out in another tab", func(t *testing.T, f *profFixture, c *http.Client) {
			tab := f.ta.browserWith(t, map[string]string{"__client": f.ta.Cookie(t, c, "__client"), "__session": f.ta.Cookie(t, c, "__session")})
			if res, body := harness.PostForm(t, tab, f.ta.URL+"/sign-out", nil); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign out in the other tab: got %d, want 303: %.200s", res.StatusCode, profText(body))
			}
		}},
	} {
		t.Run(end.name, func(t *testing.T) {
			f, c := profStartFixture(t)
			ta := f.ta
			sid := ta.sessionID(t, c)
			end.fn(t, f, c)
			if s := ta.profSessionStatus(t, sid); s == "active" {
				t.Fatalf("the session after ending it: got %q, want it ended", s)
			}
			cookies := map[string]string{"__client": ta.Cookie(t, c, "__client"), "__session": ta.Cookie(t, c, "__session")}
			before := f.snapshot(t)
			for _, tc := range f.cases() {
				t.Run(tc.path, func(t *testing.T) {
					b := ta.browserWith(t, cookies) // the ended session's token, still unexpired
					res, body := harness.PostForm(t, b, ta.URL+tc.path, tc.form)
					if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/sign-in") {
						t.Errorf("POST %s with an ended session: got %d to %q, want 303 to /sign-in; page %.300s",
							tc.path, res.StatusCode, res.Header.Get("Location"), profText(body))
					}
					if after := f.snapshot(t); after != before {
						t.Errorf("account after POST %s with an ended session:\n got %s\nwant %s", tc.path, after, before)
					}
				})
			}
		})
	}
}

// TestProfileAccountFormsCSRF attacks every account form cross-site
// (Sec-Fetch-Site or a foreign Origin) from a signed-in browser: 403,
// nothing changes, and the browser stays signed in.
func TestProfileAccountFormsCSRF(t *testing.T) {
	f, c := profStartFixture(t)
	ta := f.ta
	before := f.snapshot(t)
	for name, h := range map[string]map[string]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site": "cross-site"},
		"Origin evil.example":       {"Origin": "https://evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			for _, tc := range f.cases() {
				t.Run(tc.path, func(t *testing.T) {
					res, body := harness.Do(t, c, http.MethodPost, ta.URL+tc.path, strings.NewReader(tc.form.Encode()),
						withHeaders(map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, h))
					if res.StatusCode != http.StatusForbidden {
						t.Errorf("cross-site POST %s: got %d, want 403; page %.200s", tc.path, res.StatusCode, profText(body))
					}
					if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
						t.Errorf("cross-site POST %s: got Set-Cookie %q, want none", tc.path, sc)
					}
					if after := f.snapshot(t); after != before {
						t.Errorf("account after a cross-site POST %s:\n got %s\nwant %s", tc.path, after, before)
					}
				})
			}
		})
	}
	if !ta.profLive(t, c) {
		t.Error("the browser after the cross-site posts: got signed out, want signed in")
	}
	// The same form from the same site works (the refusals were CSRF's).
	ta.profPost(t, c, "/profile/name", url.Values{"first_name": {"Dorothea"}, "last_name": {"Test"}}, http.StatusSeeOther, "/profile?done=name#name")
}

// TestProfileBackendClientEmailAddresses: the backend client's
// EmailAddresses group creates addresses on the operator's word (no mail;
// verified ones by strategy admin), reads, updates and deletes them, with
// Clerk's refusals.
func TestProfileBackendClientEmailAddresses(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	api := ta.App.Client.EmailAddresses
	dora := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Other")

	pending, err := api.Create(ctx, clerkclient.CreateEmailAddressParams{UserID: dora.ID, EmailAddress: " Dora.Pending@Example.com"})
	if err != nil {
		t.Fatalf("Create unverified: %v", err)
	}
	if pending.EmailAddress != "dora.pending@example.com" || pending.Verification.Status != "unverified" || pending.Verification.Strategy != nil {
		t.Errorf("Create unverified: got %s %s %s, want dora.pending@example.com unverified without a strategy",
			pending.EmailAddress, pending.Verification.Status, profStr(pending.Verification.Strategy))
	}
	primary, err := api.Create(ctx, clerkclient.CreateEmailAddressParams{UserID: dora.ID, EmailAddress: "dora.primary@example.com", Verified: true, Primary: true})
	if err != nil {
		t.Fatalf("Create verified primary: %v", err)
	}
	if primary.Verification.Status != "verified" || profStr(primary.Verification.Strategy) != "admin" {
		t.Errorf("Create verified: got %s by %s, want verified by admin", primary.Verification.Status, profStr(primary.Verification.Strategy))
	}
	if got := ta.profUser(t, dora.ID); profStr(got.PrimaryEmailAddressID) != primary.ID {
		t.Errorf("primary after Create with Primary: got %s, want %s", profStr(got.PrimaryEmailAddressID), primary.ID)
	}
	if n := len(ta.profMailbox(t)); n != 0 {
		t.Errorf("mailbox after the operator's addresses: got %d messages, want none", n)
	}
	// The operator is not held to the user's three unverified addresses.
	for i := range 3 {
		if _, err := api.Create(ctx, clerkclient.CreateEmailAddressParams{UserID: dora.ID, EmailAddress: fmt.Sprintf("op%d@example.com", i)}); err != nil {
			t.Errorf("Create unverified address %d by the operator: %v", i+2, err)
		}
	}

	for _, tc := range []struct {
		name   string
		p      clerkclient.CreateEmailAddressParams
		status int
		code   string
	}{
		{"malformed", clerkclient.CreateEmailAddressParams{UserID: dora.ID, EmailAddress: "nope"}, 422, "form_param_format_invalid"},
		{"taken", clerkclient.CreateEmailAddressParams{UserID: dora.ID, EmailAddress: "EVAN@example.com"}, 422, "form_identifier_exists"},
		{"primary without verified", clerkclient.CreateEmailAddressParams{UserID: dora.ID, EmailAddress: "x@example.com", Primary: true}, 422, "form_verification_needed"},
		{"unknown user", clerkclient.CreateEmailAddressParams{UserID: "user_nobody", EmailAddress: "y@example.com"}, 404, "resource_not_found"},
	} {
		t.Run("Create "+tc.name, func(t *testing.T) {
			_, err := api.Create(ctx, tc.p)
			if st, code := profAPIError(err); st != tc.status || code != tc.code {
				t.Errorf("Create %s: got %v, want %d %s", tc.name, err, tc.status, tc.code)
			}
		})
	}

	got, err := api.Get(ctx, pending.ID)
	if err != nil || got.ID != pending.ID || got.EmailAddress != "dora.pending@example.com" {
		t.Errorf("Get: got %+v %v, want the pending address", got, err)
	}
	if _, err := api.Get(ctx, "idn_nothing"); !clerkclient.IsNotFound(err) {
		t.Errorf("Get unknown: got %v, want not found", err)
	}

	if _, err := api.Update(ctx, pending.ID, clerkclient.UpdateEmailAddressParams{Primary: ptr(true)}); clerkclient.ErrorCode(err) != "form_verification_needed" {
		t.Errorf("Update Primary of an unverified address: got %v, want form_verification_needed", err)
	}
	up, err := api.Update(ctx, pending.ID, clerkclient.UpdateEmailAddressParams{Verified: ptr(true), Primary: ptr(true)})
	if err != nil || up.Verification.Status != "verified" || profStr(up.Verification.Strategy) != "admin" {
		t.Errorf("Update Verified: got %+v %v, want verified by admin", up, err)
	}
	if u := ta.profUser(t, dora.ID); profStr(u.PrimaryEmailAddressID) != pending.ID {
		t.Errorf("primary after Update: got %s, want %s", profStr(u.PrimaryEmailAddressID), pending.ID)
	}
	if _, err := api.Update(ctx, "idn_nothing", clerkclient.UpdateEmailAddressParams{Verified: ptr(true)}); !clerkclient.IsNotFound(err) {
		t.Errorf("Update unknown: got %v, want not found", err)
	}

	// Delete every address of Dora's but one verified: the last is refused.
	u := ta.profUser(t, dora.ID)
	for _, e := range u.EmailAddresses {
		if e.ID == pending.ID {
			continue
		}
		d, err := api.Delete(ctx, e.ID)
		if err != nil || !d.Deleted || d.ID != e.ID {
			t.Errorf("Delete %s: got %+v %v, want deleted", e.EmailAddress, d, err)
		}
	}
	_, err = api.Delete(ctx, pending.ID)
	if st, code := profAPIError(err); st != http.StatusBadRequest || code != "last_required_identification_deletion_failed" {
		t.Errorf("Delete the last verified address: got %v, want 400 last_required_identification_deletion_failed", err)
	}
	if u := ta.profUser(t, dora.ID); len(u.EmailAddresses) != 1 || u.EmailAddresses[0].ID != pending.ID || profStr(u.PrimaryEmailAddressID) != pending.ID {
		t.Errorf("Dora's addresses after the deletes: got %d, want only %s, primary", len(u.EmailAddresses), pending.ID)
	}
	if _, err := api.Delete(ctx, "idn_nothing"); !clerkclient.IsNotFound(err) {
		t.Errorf("Delete unknown: got %v, want not found", err)
	}
	if st, _ := ta.profSignInStatus(t, "dora.pending@example.com", doraPassword); st != http.StatusSeeOther {
		t.Errorf("sign-in with the address the operator verified: got %d, want 303", st)
	}
}

// TestProfileBackendClientVerifyPassword: VerifyPassword says whether a
// password is right (422 incorrect_password when not, 400 no_password_set
// without one) and does not count toward the lockout.
func TestProfileBackendClientVerifyPassword(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	dora := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	users := ta.App.Client.Users

	v, err := users.VerifyPassword(ctx, dora.ID, doraPassword)
	if err != nil || v == nil || !v.Verified {
		t.Errorf("VerifyPassword right: got %+v %v, want verified", v, err)
	}
	for i := range 12 {
		_, err := users.VerifyPassword(ctx, dora.ID, fmt.Sprintf("wrong %d", i))
		if st, code := profAPIError(err); st != http.StatusUnprocessableEntity || code != "incorrect_password" {
			t.Fatalf("VerifyPassword wrong: got %v, want 422 incorrect_password", err)
		}
	}
	if su, err := ta.App.Store.GetUser(ctx, dora.ID); err != nil || su.FailedSignIns != 0 {
		t.Errorf("failed sign-ins after wrong VerifyPassword calls: got %v %v, want 0", su.FailedSignIns, err)
	}
	if st, _ := ta.profSignInStatus(t, doraEmail, doraPassword); st != http.StatusSeeOther {
		t.Errorf("sign-in after 12 wrong VerifyPassword calls: got %d, want 303 (no lockout)", st)
	}
	if _, err := users.VerifyPassword(ctx, "user_nobody", doraPassword); !clerkclient.IsNotFound(err) {
		t.Errorf("VerifyPassword unknown user: got %v, want not found", err)
	}
	if _, err := users.RemovePassword(ctx, dora.ID, false); err != nil {
		t.Fatal(err)
	}
	_, err = users.VerifyPassword(ctx, dora.ID, doraPassword)
	if st, code := profAPIError(err); st != http.StatusBadRequest || code != "no_password_set" {
		t.Errorf("VerifyPassword without a password: got %v, want 400 no_password_set", err)
	}
}

// TestProfileBackendClientLockUser: a locked user cannot sign in with the
// right password (403), and the page does not promise a retry time for a
// lock that lasts until it is lifted; UnlockUser lifts an operator's lock
// and one after failed sign-ins.
func TestProfileBackendClientLockUser(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	dora := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	users := ta.App.Client.Users

	u, err := users.LockUser(ctx, dora.ID)
	if err != nil || !u.Locked {
		t.Fatalf("LockUser: got %+v %v, want a locked user", u, err)
	}
	if got := ta.profUser(t, dora.ID); !got.Locked {
		t.Error("GetUser after LockUser: got locked false, want true")
	}
	res, body := harness.PostForm(t, ta.Browser(t), ta.URL+"/sign-in", url.Values{"identifier": {doraEmail}, "password": {doraPassword}})
	text := profText(body)
	if res.StatusCode != http.StatusForbidden || !strings.Contains(text, "locked") {
		t.Fatalf("sign-in of a locked user with the right password: got %d, want 403 saying locked; page %.300s", res.StatusCode, text)
	}
	assertNoAuthCookie(t, res)
	// The operator's lock has no end: no "try again in 1 minute".
	if strings.Contains(text, "Try again in 1 minute") {
		t.Errorf("sign-in of a user locked until unlocked: the page says %q, want no retry time for a lock without an end", "Try again in 1 minute")
	}
	if ra := res.Header.Get("Retry-After"); ra != "" {
		if n, err := strconv.Atoi(ra); err != nil || n <= 3600 {
			t.Errorf("sign-in of a user locked until unlocked: got Retry-After %q, want none (or far away)", ra)
		}
	}

	u, err = users.UnlockUser(ctx, dora.ID)
	if err != nil || u.Locked {
		t.Fatalf("UnlockUser: got %+v %v, want an unlocked user", u, err)
	}
	if st, _ := ta.profSignInStatus(t, doraEmail, doraPassword); st != http.StatusSeeOther {
		t.Errorf("sign-in after UnlockUser: got %d, want 303", st)
	}

	// A lock after ten failed sign-ins is lifted too.
	for i := range 10 {
		ta.profSignInStatus(t, doraEmail, fmt.Sprintf("wrong password %d", i))
	}
	if st, _ := ta.profSignInStatus(t, doraEmail, doraPassword); st != http.StatusForbidden {
		t.Fatalf("sign-in after 10 failures: got %d, want 403", st)
	}
	if _, err := users.UnlockUser(ctx, dora.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := ta.profSignInStatus(t, doraEmail, doraPassword); st != http.StatusSeeOther {
		t.Errorf("sign-in after unlocking a lockout: got %d, want 303", st)
	}
	if _, err := users.LockUser(ctx, "user_nobody"); !clerkclient.IsNotFound(err) {
		t.Errorf("LockUser unknown: got %v, want not found", err)
	}
}

// TestProfileBackendClientLockUserStopsRefresh: LockUser is documented as
// "no sign-in, no refresh": a browser signed in before the lock is signed
// out at its next refresh.
func TestProfileBackendClientLockUserStopsRefresh(t *testing.T) {
	ta := startApp(t, nil)
	dora := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.profSignIn(t, doraEmail, doraPassword, "")
	if _, err := ta.App.Client.Users.LockUser(context.Background(), dora.ID); err != nil {
		t.Fatal(err)
	}
	if ta.profLive(t, c) {
		t.Error("a browser of a locked user: got a refreshed session, want signed out (LockUser: no refresh)")
	}
}

// TestProfileBackendClientRemovePassword: RemovePassword leaves the user
// without a password (password sign-in fails, the profile offers to set
// one, which needs no current password); sessions stay unless asked.
func TestProfileBackendClientRemovePassword(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	dora := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	users := ta.App.Client.Users
	c := ta.profSignIn(t, doraEmail, doraPassword, "")

	u, err := users.RemovePassword(ctx, dora.ID, false)
	if err != nil || u.PasswordEnabled {
		t.Fatalf("RemovePassword: got %+v %v, want password_enabled false", u, err)
	}
	if !ta.profLive(t, c) {
		t.Error("a browser after RemovePassword without sign-out: got signed out, want signed in")
	}
	if st, _ := ta.profSignInStatus(t, doraEmail, doraPassword); st != http.StatusUnprocessableEntity {
		t.Errorf("sign-in with the removed password: got %d, want 422", st)
	}
	page := ta.profGetProfile(t, c)
	if !strings.Contains(profText(page), "Your account has no password yet") || strings.Contains(page, `id="current_password"`) {
		t.Error("GET /profile without a password: want the set-a-password form without a current-password field")
	}
	ta.profPost(t, c, "/profile/password", url.Values{"new_password": {profNewPassword}}, http.StatusSeeOther, "/profile?done=password#password")
	if st, _ := ta.profSignInStatus(t, doraEmail, profNewPassword); st != http.StatusSeeOther {
		t.Errorf("sign-in with the password set on the profile: got %d, want 303", st)
	}

	o := ta.profSignIn(t, doraEmail, profNewPassword, "")
	if _, err := users.RemovePassword(ctx, dora.ID, true); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]*http.Client{"first": c, "second": o} {
		if ta.profLive(t, b) {
			t.Errorf("the %s browser after RemovePassword with sign-out: got signed in, want signed out", name)
		}
	}
	if _, err := users.RemovePassword(ctx, "user_nobody", false); !clerkclient.IsNotFound(err) {
		t.Errorf("RemovePassword unknown: got %v, want not found", err)
	}
}
