package browser

// Browser tests of the account flows: a sign-up verified by its mailed
// code, a forgotten password reset with a mailed code, and another
// browser's session signed out from the profile page. With
// GATEHOUSE_SCREENSHOTS=1, TestBrowserAccountScreenshots saves the account
// pages at desktop and phone width (screenshotDir).

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
)

// acctBrowserMail is one message of the development mailbox's JSON view.
type acctBrowserMail struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
}

var acctBrowserSubjectRE = regexp.MustCompile(`^([0-9]{6}) is your verification code$`)

// mailedCode polls the development mailbox (plain HTTP from the test, up
// to 5 s: reset codes are mailed after the response) until to has n
// messages, and returns the code of the newest.
func mailedCode(t *testing.T, ta *testApp, to string, n int) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, err := http.NewRequest(http.MethodGet, ta.URL+"/dev/mailbox", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET /dev/mailbox: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /dev/mailbox (JSON): got %d, want 200", res.StatusCode)
		}
		var all, mine []acctBrowserMail
		if err := json.Unmarshal(body, &all); err != nil {
			t.Fatalf("GET /dev/mailbox (JSON): %v: %.200s", err, body)
		}
		for _, m := range all {
			if m.To == to {
				mine = append(mine, m)
			}
		}
		if len(mine) >= n {
			m := acctBrowserSubjectRE.FindStringSubmatch(mine[0].Subject)
			if m == nil {
				t.Fatalf("mail to %s: got subject %q, want \"<6 digits> is your verification code\"", to, mine[0].Subject)
			}
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailbox: got %d messages to %s within 5 s, want %d", len(mine), to, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// newIsolatedBrowser opens a tab in a new browser context of parent's
// browser: its own cookie jar, as another person's browser.
func newIsolatedBrowser(t *testing.T, parent context.Context, name string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open the isolated browser %s: %v", name, err)
	}
	watchConsole(t, ctx, name)
	return ctx
}

// loadedPath reports whether the tab shows a fully loaded page at path.
func loadedPath(path string) func(pageInfo) bool {
	return func(p pageInfo) bool { return p.Path == path && p.Ready == "complete" }
}

func pageText(t *testing.T, ctx context.Context) string {
	t.Helper()
	return eval[string](t, ctx, "read the page text", `document.body.innerText.replace(/\s+/g, ' ')`)
}

// signUpInBrowser fills and submits the sign-up form and waits for the
// code page.
func signUpInBrowser(t *testing.T, ctx context.Context, ta *testApp, email, password string) {
	t.Helper()
	act(t, ctx, "open /sign-up",
		chromedp.Navigate(ta.URL+"/sign-up"),
		chromedp.WaitVisible(chromedp.CSS(`#email_address`)),
	)
	act(t, ctx, "fill and submit the sign-up form",
		chromedp.SendKeys(chromedp.CSS(`#first_name`), "Nora"),
		chromedp.SendKeys(chromedp.CSS(`#last_name`), "New"),
		chromedp.SendKeys(chromedp.CSS(`#email_address`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`form[action="/sign-up"] button[type="submit"]`)),
	)
	waitPage(t, ctx, "land on /sign-up/verify after signing up", 15*time.Second, loadedPath("/sign-up/verify"))
}

// startResetInBrowser goes from /sign-in through "Forgot password?" to
// the code page for email.
func startResetInBrowser(t *testing.T, ctx context.Context, ta *testApp, email string) {
	t.Helper()
	act(t, ctx, "open /sign-in", chromedp.Navigate(ta.URL+"/sign-in"), chromedp.WaitVisible(chromedp.CSS(`#identifier`)))
	act(t, ctx, "click Forgot password?", chromedp.Click(chromedp.CSS(`a[href="/sign-in/forgot-password"]`)))
	waitPage(t, ctx, "land on /sign-in/forgot-password", 10*time.Second, loadedPath("/sign-in/forgot-password"))
	act(t, ctx, "enter the address and send the code",
		chromedp.WaitVisible(chromedp.CSS(`form[action="/sign-in/forgot-password"] #identifier`)),
		chromedp.SendKeys(chromedp.CSS(`form[action="/sign-in/forgot-password"] #identifier`), email),
		chromedp.Click(chromedp.CSS(`form[action="/sign-in/forgot-password"] button[type="submit"]`)),
	)
	waitPage(t, ctx, "land on the code page", 10*time.Second, loadedPath("/sign-in/forgot-password/code"))
}

// enterResetCode types the code on the reset's code page and waits for
// the new-password page.
func enterResetCode(t *testing.T, ctx context.Context, code string) {
	t.Helper()
	act(t, ctx, "type and submit the reset code",
		chromedp.WaitVisible(chromedp.CSS(`#code`)),
		chromedp.SendKeys(chromedp.CSS(`#code`), code),
		chromedp.Click(chromedp.CSS(`form[action="/sign-in/forgot-password/code"] button[type="submit"]`)),
	)
	waitPage(t, ctx, "land on the new-password page", 10*time.Second, loadedPath("/sign-in/forgot-password/new"))
}

// chooseNewPassword submits the new password and waits for the dashboard,
// signed in.
func chooseNewPassword(t *testing.T, ctx context.Context, password string) pageInfo {
	t.Helper()
	act(t, ctx, "choose the new password",
		chromedp.WaitVisible(chromedp.CSS(`form[action="/sign-in/forgot-password/new"] #password`)),
		chromedp.SendKeys(chromedp.CSS(`form[action="/sign-in/forgot-password/new"] #password`), password),
		chromedp.Click(chromedp.CSS(`form[action="/sign-in/forgot-password/new"] button[type="submit"]`)),
	)
	info := waitPage(t, ctx, "land on /dashboard after the reset", 15*time.Second, loadedAt("/dashboard"))
	if info.SSR == nil || !info.SSR.IsAuthenticated {
		t.Fatalf("/dashboard after the reset is not signed in: %s", info)
	}
	return info
}

// TestBrowserSignUpWithCode: with codes on, the sign-up form leads to the
// code page naming the address; the mailed code typed there signs the
// new user in, with the address verified.
func TestBrowserSignUpWithCode(t *testing.T) {
	ctx := newBrowser(t, 60*time.Second)
	ta := startApp(t, map[string]string{"SIGN_UP_VERIFICATION": "email_code"})
	const email = "nora.browser@example.com"

	signUpInBrowser(t, ctx, ta, email, "a perfectly fine pass")
	if got := eval[string](t, ctx, "read the address on the code page", `document.querySelector('[data-testid="code-email"]').textContent.trim()`); got != email {
		t.Errorf("code page: shows the address %q, want %q", got, email)
	}
	code := mailedCode(t, ta, email, 1)
	act(t, ctx, "type and submit the code",
		chromedp.WaitVisible(chromedp.CSS(`#code`)),
		chromedp.SendKeys(chromedp.CSS(`#code`), code),
		chromedp.Click(chromedp.CSS(`form[action="/sign-up/verify"] button[type="submit"]`)),
	)
	info := waitPage(t, ctx, "land on /dashboard after the code", 15*time.Second, loadedAt("/dashboard"))
	if info.SSR == nil || !info.SSR.IsAuthenticated || info.SSR.UserID == nil || *info.SSR.UserID != ta.UserID(t, email) {
		t.Fatalf("/dashboard after the code: got %s, want signed in as the new user %s", info, email)
	}

	act(t, ctx, "open /profile", chromedp.Navigate(ta.URL+"/profile"))
	waitPage(t, ctx, "/profile loads", 10*time.Second, loadedAt("/profile"))
	badges := eval[string](t, ctx, "read the address's badges",
		`(() => { const li = document.querySelector('li[data-email="`+email+`"]'); return li ? Array.from(li.querySelectorAll('.badge')).map(b => b.textContent.trim()).join(',') : '<none>'; })()`)
	if !strings.Contains(badges, "verified") || strings.Contains(badges, "unverified") {
		t.Errorf("/profile: the address %s has badges %q, want verified (and primary)", email, badges)
	}
	if !strings.Contains(badges, "primary") {
		t.Errorf("/profile: the address %s has badges %q, want primary", email, badges)
	}
}

// TestBrowserForgotPassword: from the sign-in page, "Forgot password?"
// and the mailed code let a person choose a new password and land signed
// in; after signing out, the old password fails and the new one works.
func TestBrowserForgotPassword(t *testing.T) {
	ctx := newBrowser(t, 90*time.Second)
	ta := startApp(t, nil)
	const email, oldPassword, newPassword = "forgetful@example.com", "correct horse battery", "a brand new passphrase"
	u := ta.CreateUser(t, email, oldPassword, "Fern", "Forgetful")

	startResetInBrowser(t, ctx, ta, email)
	if text := pageText(t, ctx); !strings.Contains(text, email) {
		t.Errorf("the code page does not name the address %s: %.300s", email, text)
	}
	enterResetCode(t, ctx, mailedCode(t, ta, email, 1))
	info := chooseNewPassword(t, ctx, newPassword)
	if info.SSR.UserID == nil || *info.SSR.UserID != u.ID {
		t.Errorf("after the reset: signed in as %s, want %s", deref(info.SSR.UserID), u.ID)
	}

	act(t, ctx, "open the user menu",
		chromedp.Click(chromedp.CSS(`details.user-button > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`details.user-button form[data-clerk-sign-out] button`)),
	)
	act(t, ctx, "click Sign out", chromedp.Click(chromedp.CSS(`details.user-button form[data-clerk-sign-out] button`)))
	waitPage(t, ctx, "signed out on /", 10*time.Second, func(p pageInfo) bool {
		return p.Path == "/" && p.Ready == "complete" && p.SSR != nil && !p.SSR.IsAuthenticated
	})

	// The old password no longer works.
	act(t, ctx, "open /sign-in", chromedp.Navigate(ta.URL+"/sign-in"), chromedp.WaitVisible(chromedp.CSS(`#identifier`)))
	markDocument(t, ctx)
	act(t, ctx, "sign in with the old password",
		chromedp.SendKeys(chromedp.CSS(`#identifier`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), oldPassword),
		chromedp.Click(chromedp.CSS(`form[action="/sign-in"] button[type="submit"]`)),
	)
	p := waitPage(t, ctx, "the sign-in page again", 10*time.Second, func(p pageInfo) bool { return p.Ready == "complete" && !p.Mark })
	if p.Path != "/sign-in" || (p.SSR != nil && p.SSR.IsAuthenticated) {
		t.Errorf("sign-in with the old password: got %s, want /sign-in again, signed out", p)
	}
	if text := pageText(t, ctx); !strings.Contains(text, "incorrect") {
		t.Errorf("sign-in with the old password: the page does not say it is incorrect: %.300s", text)
	}

	signInWithForm(t, ctx, ta, email, newPassword)
}

// TestBrowserRevokeOtherSession: two browsers of one user; the first
// clicks "Sign out" on the second's row of the profile's sessions table,
// and the second is signed out once its short-lived token expires, while
// the first stays signed in.
func TestBrowserRevokeOtherSession(t *testing.T) {
	first := newBrowser(t, 90*time.Second)
	ta := startApp(t, map[string]string{"SESSION_TOKEN_TTL": "2s"})
	const email, password = "twice@example.com", "correct horse battery"
	ta.CreateUser(t, email, password, "Twice", "Signed")
	second := newIsolatedBrowser(t, first, "second browser")

	signInWithForm(t, first, ta, email, password)
	info := signInWithForm(t, second, ta, email, password)
	secondSID := *info.SSR.SessionID
	act(t, second, "open /profile in the second browser", chromedp.Navigate(ta.URL+"/profile"))
	waitPage(t, second, "the second browser on /profile", 10*time.Second, loadedAt("/profile"))

	act(t, first, "open /profile in the first browser", chromedp.Navigate(ta.URL+"/profile"))
	p := waitPage(t, first, "the first browser on /profile", 10*time.Second, loadedAt("/profile"))
	firstSID := *p.SSR.SessionID
	if firstSID == secondSID {
		t.Fatalf("both browsers share the session %s, want two", firstSID)
	}
	row := `tr[data-session-id="` + secondSID + `"]`
	if n := eval[int](t, first, "count the session rows", `document.querySelectorAll('[data-testid="sessions"] tbody tr').length`); n != 2 {
		t.Fatalf("the sessions table lists %d sessions, want 2", n)
	}
	if got := eval[string](t, first, "read this browser's row", `document.querySelector('tr[data-session-id="`+firstSID+`"]').innerText`); !strings.Contains(got, "this browser") {
		t.Errorf("this browser's row %q does not say \"this browser\"", got)
	}
	act(t, first, "click Sign out on the second browser's row",
		chromedp.WaitVisible(chromedp.CSS(row+` button`)),
		chromedp.Click(chromedp.CSS(row+` button`)),
	)
	deadline := time.Now().Add(10 * time.Second)
	for {
		gone, err := tryEval[bool](first, `document.readyState === 'complete' && location.pathname === '/profile' && location.search.includes('done=session') && document.querySelector('`+row+`') === null`)
		if err == nil && gone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after clicking Sign out: the profile still lists %s (or did not reload with done=session)", secondSID)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if text := pageText(t, first); !strings.Contains(text, "The session was signed out.") {
		t.Errorf("after clicking Sign out: got no notice \"The session was signed out.\"")
	}
	s, err := ta.App.Client.Sessions.GetSession(context.Background(), secondSID)
	if err != nil || s.Status != "revoked" {
		t.Fatalf("the second browser's session: got %v %v, want revoked", s, err)
	}
	revoked := time.Now()

	// The second browser: its token lives 2 s (and the verifier allows
	// 5 s of skew); reloading, it ends on the sign-in page.
	signedOut := false
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		act(t, second, "reload /profile in the second browser", chromedp.Navigate(ta.URL+"/profile"))
		p := waitPage(t, second, "the second browser loads", 10*time.Second, func(p pageInfo) bool { return p.Ready == "complete" })
		if p.Path == "/sign-in" {
			if p.SSR != nil && p.SSR.IsAuthenticated {
				t.Fatalf("the second browser on /sign-in but signed in: %s", p)
			}
			signedOut = true
			break
		}
	}
	if !signedOut {
		t.Fatalf("the second browser: still on /profile %v after its session was revoked, want redirected to /sign-in", time.Since(revoked).Round(time.Second))
	}
	t.Logf("the second browser was signed out %v after the revocation", time.Since(revoked).Round(100*time.Millisecond))

	// The first browser's token expired meanwhile too: it refreshes.
	act(t, first, "reload /profile in the first browser", chromedp.Navigate(ta.URL+"/profile"))
	p = waitPage(t, first, "the first browser still signed in", 10*time.Second, loadedAt("/profile"))
	if p.SSR == nil || !p.SSR.IsAuthenticated || *p.SSR.SessionID != firstSID {
		t.Errorf("the first browser after the revocation: got %s, want still signed in with %s", p, firstSID)
	}
}

// TestBrowserAccountScreenshots saves the account pages at desktop (1280)
// and phone (390) width as PNGs (see screenshotDir). It runs only with
// GATEHOUSE_SCREENSHOTS=1.
func TestBrowserAccountScreenshots(t *testing.T) {
	if !screenshotsOn() {
		t.Skip("skipping the screenshots: set GATEHOUSE_SCREENSHOTS=1 to write the account pages as PNGs (GATEHOUSE_SCREENSHOTS_DIR, default gatehouse-shots in the temporary folder)")
	}
	ctx := newBrowser(t, 120*time.Second)
	ta := startApp(t, map[string]string{"SIGN_UP_VERIFICATION": "email_code", "ADMIN_EMAILS": "shots@example.com"})
	const email, password = "shots@example.com", "correct horse battery"
	u := ta.CreateUser(t, email, password, "Shona", "Shots")

	shoot := func(name string) {
		t.Helper()
		screenshot(t, ctx, name)
	}

	scripts := func(on bool) {
		t.Helper()
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on}); err != nil {
			t.Fatalf("turn JavaScript %v: %v", on, err)
		}
	}
	// Signed out, with and without JavaScript.
	act(t, ctx, "open /sign-in", chromedp.Navigate(ta.URL+"/sign-in"))
	waitPage(t, ctx, "/sign-in loads", 10*time.Second, loadedPath("/sign-in"))
	shoot("sign-in")
	scripts(false)
	act(t, ctx, "open /sign-up", chromedp.Navigate(ta.URL+"/sign-up"))
	time.Sleep(300 * time.Millisecond)
	shoot("sign-up-nojs")
	scripts(true)

	signUpInBrowser(t, ctx, ta, "newcomer@example.com", "a perfectly fine pass")
	shoot("sign-up-verify")

	act(t, ctx, "open /sign-in/forgot-password", chromedp.Navigate(ta.URL+"/sign-in/forgot-password"))
	waitPage(t, ctx, "/sign-in/forgot-password loads", 10*time.Second, loadedPath("/sign-in/forgot-password"))
	shoot("forgot-password")

	startResetInBrowser(t, ctx, ta, email)
	shoot("forgot-password-code")
	enterResetCode(t, ctx, mailedCode(t, ta, email, 1))
	shoot("forgot-password-new")
	chooseNewPassword(t, ctx, "a brand new passphrase")

	// The profile with an unverified extra address and two sessions.
	if _, err := ta.App.Client.EmailAddresses.Create(context.Background(), clerkclient.CreateEmailAddressParams{UserID: u.ID, EmailAddress: "shots.work@example.com"}); err != nil {
		t.Fatal(err)
	}
	other := ta.Browser(t)
	req, err := http.NewRequest(http.MethodPost, ta.URL+"/sign-in", strings.NewReader(url.Values{"identifier": {email}, "password": {"a brand new passphrase"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
	res, err := other.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in a second session: got %d, want 303", res.StatusCode)
	}
	act(t, ctx, "open /profile", chromedp.Navigate(ta.URL+"/profile"))
	waitPage(t, ctx, "/profile loads", 10*time.Second, loadedAt("/profile"))
	if n := eval[int](t, ctx, "count the session rows", `document.querySelectorAll('[data-testid="sessions"] tbody tr').length`); n != 2 {
		t.Errorf("/profile lists %d sessions, want 2", n)
	}
	if !strings.Contains(pageText(t, ctx), "unverified") {
		t.Error("/profile shows no unverified address")
	}
	shoot("profile")
	scripts(false)
	act(t, ctx, "reload /profile", chromedp.Navigate(ta.URL+"/profile"))
	time.Sleep(300 * time.Millisecond)
	shoot("profile-nojs")
	scripts(true)
	act(t, ctx, "open /dashboard", chromedp.Navigate(ta.URL+"/dashboard"))
	waitPage(t, ctx, "/dashboard loads", 10*time.Second, loadedAt("/dashboard"))
	shoot("dashboard")
	act(t, ctx, "open /admin/audit", chromedp.Navigate(ta.URL+"/admin/audit"))
	waitPage(t, ctx, "/admin/audit loads", 10*time.Second, loadedAt("/admin/audit"))
	shoot("admin-audit")
	if _, err := ta.App.Client.Webhooks.CreateEndpoint(context.Background(), clerkclient.CreateWebhookEndpointParams{
		URL: "https://hooks.example.com/clerk", Events: []string{"user.created", "user.deleted"}, Description: "CRM sync"}); err != nil {
		t.Fatal(err)
	}
	act(t, ctx, "open /admin/webhooks", chromedp.Navigate(ta.URL+"/admin/webhooks"))
	waitPage(t, ctx, "/admin/webhooks loads", 10*time.Second, loadedAt("/admin/webhooks"))
	shoot("admin-webhooks")
}
