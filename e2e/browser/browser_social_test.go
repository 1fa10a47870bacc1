package browser

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/e2e/oidctest"
)

// The provider of these tests: a real OpenID provider (oidctest.Start) the
// app knows as "acme", labelled "Acme ID" on its buttons.
const (
	acmeClientID     = "gatehouse-browser"
	acmeClientSecret = "a-client-secret-for-the-browser-tests"
	acmeLabel        = "Acme ID"
	// acmeButton is the "Continue with Acme ID" button of the sign-in and
	// sign-up pages.
	acmeButton = `div[data-testid="oauth-providers"] form[data-provider="acme"] button[type="submit"]`
)

// startAppWithProvider starts a real OpenID provider, then the app
// configured against it (the app reads the provider's discovery document
// as it starts), and registers the app's callback with the provider.
func startAppWithProvider(t *testing.T, env map[string]string) (*testApp, *oidctest.Provider) {
	t.Helper()
	p := oidctest.Start(t)
	vars := map[string]string{
		"OAUTH_PROVIDERS":          "acme",
		"OAUTH_ACME_CLIENT_ID":     acmeClientID,
		"OAUTH_ACME_CLIENT_SECRET": acmeClientSecret,
		"OAUTH_ACME_ISSUER":        p.Issuer(),
		"OAUTH_ACME_LABEL":         acmeLabel,
	}
	for k, v := range env {
		vars[k] = v
	}
	ta := startApp(t, vars)
	p.AddClient(acmeClientID, acmeClientSecret, ta.URL+"/sign-in/oauth/acme/callback")
	return ta, p
}

// loginAtProvider waits for the provider's login page, checks that it is
// the provider's (another origin than the app's), and signs in on it as a
// person would.
func loginAtProvider(t *testing.T, ctx context.Context, ta *testApp, p *oidctest.Provider, username, password string) {
	t.Helper()
	waitPage(t, ctx, "land on the provider's login page", 15*time.Second, loadedPath(oidctest.LoginPath))
	origin := eval[string](t, ctx, "read the login page's origin", `location.origin`)
	if origin != p.Issuer() || origin == ta.URL {
		t.Fatalf("the login page is at %s, want the provider's origin %s (the app is at %s)", origin, p.Issuer(), ta.URL)
	}
	act(t, ctx, "sign in at the provider as "+username,
		chromedp.WaitVisible(chromedp.CSS(oidctest.LoginUsernameSelector)),
		chromedp.SendKeys(chromedp.CSS(oidctest.LoginUsernameSelector), username),
		chromedp.SendKeys(chromedp.CSS(oidctest.LoginPasswordSelector), password),
		chromedp.Click(chromedp.CSS(oidctest.LoginSubmitSelector)),
	)
}

// continueWithAcme opens /sign-in?redirect_url=redirect, checks the
// provider's button and its form, and clicks it.
func continueWithAcme(t *testing.T, ctx context.Context, ta *testApp, redirect, shot string) {
	t.Helper()
	act(t, ctx, "open /sign-in?redirect_url="+redirect,
		chromedp.Navigate(ta.URL+"/sign-in?redirect_url="+redirect),
		chromedp.WaitVisible(chromedp.CSS(acmeButton)),
	)
	type button struct {
		Action, Method, Redirect, Text string
	}
	b := eval[button](t, ctx, "read the provider's button", `(() => {
		const f = document.querySelector('div[data-testid="oauth-providers"] form[data-provider="acme"]');
		return {Action: f.getAttribute('action'), Method: f.method, Redirect: (f.elements.redirect_url || {}).value || '',
			Text: f.querySelector('button').textContent.trim()};
	})()`)
	if b.Action != "/sign-in/oauth/acme" || b.Method != "post" || b.Redirect != redirect || b.Text != "Continue with "+acmeLabel {
		t.Fatalf("the provider's form on /sign-in: got %+v, want a POST to /sign-in/oauth/acme keeping redirect_url %s, with the button %q",
			b, redirect, "Continue with "+acmeLabel)
	}
	if shot != "" {
		screenshot(t, ctx, shot)
	}
	act(t, ctx, "click Continue with "+acmeLabel, chromedp.Click(chromedp.CSS(acmeButton)))
}

// signOutInBrowser signs out from the user menu and waits for a signed-out
// page.
func signOutInBrowser(t *testing.T, ctx context.Context, ta *testApp) {
	t.Helper()
	act(t, ctx, "open the user menu",
		chromedp.Navigate(ta.URL+"/dashboard"),
		chromedp.Click(chromedp.CSS(`details.user-button > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`details.user-button form[data-clerk-sign-out] button`)))
	act(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`details.user-button form[data-clerk-sign-out] button`)))
	waitPage(t, ctx, "signed out", 10*time.Second, func(p pageInfo) bool {
		return p.Ready == "complete" && p.SSR != nil && !p.SSR.IsAuthenticated
	})
}

// signedInAt waits for a fully loaded page at path and checks that it is
// signed in; it returns the user and session ids.
func signedInAt(t *testing.T, ctx context.Context, ta *testApp, path string) (userID, sessionID string) {
	t.Helper()
	info := waitPage(t, ctx, "come back from the provider to "+path, 15*time.Second, loadedAt(path))
	if info.SSR == nil || !info.SSR.IsAuthenticated || info.SSR.UserID == nil || *info.SSR.UserID == "" ||
		info.SSR.SessionID == nil || *info.SSR.SessionID == "" {
		t.Fatalf("back from the provider on %s: SSR state %s, want signed in with a user and a session", path, info)
	}
	if href := eval[string](t, ctx, "read the URL", `location.href`); href != ta.URL+path {
		t.Errorf("back from the provider: the URL is %s, want %s", href, ta.URL+path)
	}
	return *info.SSR.UserID, *info.SSR.SessionID
}

// usersWith returns the users with the address.
func usersWith(t *testing.T, ta *testApp, email string) []*clerkclient.User {
	t.Helper()
	list, err := ta.App.Client.Users.GetUserList(context.Background(), clerkclient.UserListParams{Limit: 100, EmailAddress: []string{email}})
	if err != nil {
		t.Fatalf("list the users with %s: %v", email, err)
	}
	return list.Data
}

// userCount is the number of users of the app.
func userCount(t *testing.T, ta *testApp) int {
	t.Helper()
	list, err := ta.App.Client.Users.GetUserList(context.Background(), clerkclient.UserListParams{Limit: 100})
	if err != nil {
		t.Fatalf("list the users: %v", err)
	}
	return list.TotalCount
}

// TestBrowserSocialSignIn: in Chromium, "Continue with Acme ID" on the
// sign-in page goes to a real OpenID provider on another origin; signing
// in there comes back signed in to a new user made from the provider's
// profile, on the page the sign-in was for, and the profile lists the
// connected account with its address. Signed out and back with the
// provider, it is the same user (no second account). A provider account
// whose address is an unverified address of a user here is not linked:
// the browser gets the guidance page (409) and no session, and following
// it (sign in with the password, connect the provider from the profile)
// makes the provider sign in to that user. With GATEHOUSE_SCREENSHOTS=1
// the pages are saved at desktop and phone width (screenshotDir).
func TestBrowserSocialSignIn(t *testing.T) {
	ctx := newBrowser(t, 180*time.Second)
	ta, p := startAppWithProvider(t, nil)
	const adaEmail = "ada@acme.example"
	p.AddUser(oidctest.User{Subject: "acme-ada-0001", Username: "ada", Password: "ada's provider passphrase",
		Email: adaEmail, EmailVerified: true, FirstName: "Ada", LastName: "Lovelace"})

	// The sign-up page offers the provider too.
	act(t, ctx, "open /sign-up", chromedp.Navigate(ta.URL+"/sign-up"), chromedp.WaitVisible(chromedp.CSS(acmeButton)))
	if text := strings.TrimSpace(eval[string](t, ctx, "read the sign-up page's button",
		`document.querySelector('`+acmeButton+`').textContent`)); text != "Continue with "+acmeLabel {
		t.Errorf("the provider's button on /sign-up says %q, want %q", text, "Continue with "+acmeLabel)
	}
	screenshot(t, ctx, "sign-up-providers")

	// First sign-in: a new user from the provider's profile.
	continueWithAcme(t, ctx, ta, "/dashboard", "sign-in-providers")
	loginAtProvider(t, ctx, ta, p, "ada", "ada's provider passphrase")
	userID, firstSession := signedInAt(t, ctx, ta, "/dashboard")
	if lead := eval[string](t, ctx, "read the greeting", `document.querySelector('main .lead').textContent`); !strings.Contains(lead, "Ada Lovelace") {
		t.Errorf("the dashboard greeting %q does not show the provider's name Ada Lovelace", lead)
	}
	u, err := ta.App.Client.Users.GetUser(context.Background(), userID)
	if err != nil {
		t.Fatalf("get the signed-in user %s: %v", userID, err)
	}
	if len(u.EmailAddresses) != 1 || u.EmailAddresses[0].EmailAddress != adaEmail ||
		u.EmailAddresses[0].Verification.Status != "verified" {
		t.Errorf("the new user's addresses: got %+v, want %s, verified (the provider verified it)", u.EmailAddresses, adaEmail)
	}
	if len(u.ExternalAccounts) != 1 || u.ExternalAccounts[0].ProviderUserID != "acme-ada-0001" || u.ExternalAccounts[0].EmailAddress != adaEmail {
		t.Fatalf("the new user's external accounts: got %+v, want the provider's account acme-ada-0001 with %s", u.ExternalAccounts, adaEmail)
	}
	accountID := u.ExternalAccounts[0].ID

	// The profile's connected accounts card.
	act(t, ctx, "open /profile", chromedp.Navigate(ta.URL+"/profile"),
		chromedp.WaitVisible(chromedp.CSS(`section#connections ul[data-testid="connected-accounts"] li[data-account-provider="acme"]`)))
	type connections struct {
		Title     string   `json:"title"`
		Items     int      `json:"items"`
		Label     string   `json:"label"`
		Address   string   `json:"address"`
		Forms     []string `json:"forms"`
		ConnectMe int      `json:"connectMe"`
	}
	c := eval[connections](t, ctx, "read the connected accounts card", `(() => {
		const s = document.querySelector('section#connections');
		const li = s.querySelector('ul[data-testid="connected-accounts"] li[data-account-provider="acme"]');
		return {
			title: s.querySelector('h2').textContent.trim(),
			items: s.querySelectorAll('ul[data-testid="connected-accounts"] li').length,
			label: li.querySelector('strong').textContent.trim(),
			address: (li.querySelector('[data-testid="connected-address"]') || {textContent: ''}).textContent.trim(),
			forms: [...li.querySelectorAll('form')].map((f) => f.getAttribute('action')),
			connectMe: s.querySelectorAll('div[data-testid="connect-providers"] form[data-provider="acme"]').length,
		};
	})()`)
	if c.Title != "Connected accounts" || c.Items != 1 || c.Label != acmeLabel || c.Address != adaEmail {
		t.Errorf("the connected accounts card: got %+v, want %q listing one %s account with %s", c, "Connected accounts", acmeLabel, adaEmail)
	}
	if want := "/profile/connections/" + accountID + "/disconnect"; len(c.Forms) != 1 || c.Forms[0] != want {
		t.Errorf("the connected account's forms: got %q, want the one disconnect form %s", c.Forms, want)
	}
	if c.ConnectMe != 0 {
		t.Errorf("the card offers to connect %s again (%d forms), want no connect button for a connected provider", acmeLabel, c.ConnectMe)
	}
	screenshot(t, ctx, "profile-connected")

	// Signed out and back with the provider: the same user, a new session,
	// and the page the sign-in was for this time (/profile).
	signOutInBrowser(t, ctx, ta)
	continueWithAcme(t, ctx, ta, "/profile", "")
	loginAtProvider(t, ctx, ta, p, "ada", "ada's provider passphrase")
	again, secondSession := signedInAt(t, ctx, ta, "/profile")
	if again != userID {
		t.Errorf("signing in with the provider again: user %s, want the same user %s", again, userID)
	}
	if secondSession == firstSession {
		t.Errorf("signing in again reused the signed-out session %s", firstSession)
	}
	if n := len(usersWith(t, ta, adaEmail)); n != 1 {
		t.Errorf("users with %s: got %d, want 1 (no second account)", adaEmail, n)
	}
	if n := userCount(t, ta); n != 1 {
		t.Errorf("users after signing in twice with the provider: got %d, want 1", n)
	}
	if u, err := ta.App.Client.Users.GetUser(context.Background(), userID); err != nil || len(u.ExternalAccounts) != 1 || u.ExternalAccounts[0].ID != accountID {
		t.Errorf("after the second sign-in the user's external accounts are %+v (%v), want still the one %s", u, err, accountID)
	}
	signOutInBrowser(t, ctx, ta)

	// A user here with the provider account's address, unverified (an
	// extra address added by the backend, never confirmed): nothing is
	// linked, the browser is told how to get in, and no one is signed in.
	const graceEmail, graceWork, gracePassword = "grace@example.com", "grace.work@example.com", "correct horse battery"
	grace := ta.CreateUser(t, graceEmail, gracePassword, "Grace", "Hopper")
	if _, err := ta.App.Client.EmailAddresses.Create(context.Background(),
		clerkclient.CreateEmailAddressParams{UserID: grace.ID, EmailAddress: graceWork}); err != nil {
		t.Fatalf("add the unverified address %s: %v", graceWork, err)
	}
	p.AddUser(oidctest.User{Subject: "acme-grace-0002", Username: "grace", Password: "grace's provider passphrase",
		Email: graceWork, EmailVerified: true, FirstName: "Grace", LastName: "Hopper"})
	netlog := recordNetwork(t, ctx)
	continueWithAcme(t, ctx, ta, "/dashboard", "")
	loginAtProvider(t, ctx, ta, p, "grace", "grace's provider passphrase")
	act(t, ctx, "see the guidance page", chromedp.WaitVisible(chromedp.CSS(`section#link-refused`)))
	info := waitPage(t, ctx, "the guidance page loads", 10*time.Second, loadedAt("/sign-in/oauth/acme/callback"))
	if info.SSR != nil && info.SSR.IsAuthenticated {
		t.Errorf("the guidance page is signed in (%s), want no session", info)
	}
	var status int64
	for _, r := range netlog.matching("GET", "/sign-in/oauth/acme/callback") {
		if s, ok := netlog.statusOf(r.id); ok {
			status = s
		}
	}
	if status != http.StatusConflict {
		t.Errorf("the callback answered %d, want 409", status)
	}
	type guidance struct {
		Title  string `json:"title"`
		Email  string `json:"email"`
		SignIn string `json:"signIn"`
		Text   string `json:"text"`
	}
	g := eval[guidance](t, ctx, "read the guidance page", `(() => {
		const s = document.querySelector('section#link-refused');
		const a = s.querySelector('a.btn-primary');
		return {title: s.querySelector('h1').textContent.trim(),
			email: (s.querySelector('[data-testid="link-refused-email"]') || {textContent: ''}).textContent.trim(),
			signIn: a ? a.getAttribute('href') : '', text: s.innerText.replace(/\s+/g, ' ')};
	})()`)
	if g.Title != "You already have an account" || g.Email != graceWork || !strings.Contains(g.Text, acmeLabel) ||
		!strings.Contains(g.Text, "Connected accounts") || !strings.HasPrefix(g.SignIn, "/sign-in") {
		t.Errorf("the guidance page: got %+v, want the title, the address %s, the provider %s, where to connect it and a link to /sign-in",
			g, graceWork, acmeLabel)
	}
	screenshot(t, ctx, "oauth-link-refused")
	if n := len(usersWith(t, ta, graceWork)); n != 1 {
		t.Errorf("users with %s after the refusal: got %d, want only the one here", graceWork, n)
	}
	if n := userCount(t, ta); n != 2 {
		t.Errorf("users after the refusal: got %d, want 2 (no user made from the provider's account)", n)
	}
	if u, err := ta.App.Client.Users.GetUser(context.Background(), grace.ID); err != nil || len(u.ExternalAccounts) != 0 {
		t.Fatalf("after the refusal %s has external accounts %+v (%v), want none", graceEmail, u, err)
	}

	// Following the guidance: sign in with the password from the page's
	// link, connect the provider on the profile, and from then on the
	// provider signs in to that user.
	act(t, ctx, "click Sign in with your password", chromedp.Click(chromedp.CSS(`section#link-refused a.btn-primary`)))
	waitPage(t, ctx, "the sign-in page", 10*time.Second, loadedAt("/sign-in"))
	act(t, ctx, "sign in with the password",
		chromedp.WaitVisible(chromedp.CSS(`#identifier`)),
		chromedp.SendKeys(chromedp.CSS(`#identifier`), graceEmail),
		chromedp.SendKeys(chromedp.CSS(`#password`), gracePassword),
		chromedp.Click(chromedp.CSS(`form[action="/sign-in"] button[type="submit"]`)),
	)
	signedIn := waitPage(t, ctx, "signed in with the password", 15*time.Second, func(p pageInfo) bool {
		return p.Ready == "complete" && p.Clerk && p.SSR != nil && p.SSR.IsAuthenticated
	})
	if signedIn.SSR.UserID == nil || *signedIn.SSR.UserID != grace.ID {
		t.Fatalf("signed in with the password as %s, want %s", deref(signedIn.SSR.UserID), grace.ID)
	}
	const connect = `section#connections div[data-testid="connect-providers"] form[data-provider="acme"] button`
	act(t, ctx, "open /profile", chromedp.Navigate(ta.URL+"/profile"), chromedp.WaitVisible(chromedp.CSS(connect)))
	if text := strings.TrimSpace(eval[string](t, ctx, "read the connect button", `document.querySelector('`+connect+`').textContent`)); text != "Connect "+acmeLabel {
		t.Errorf("the connect button says %q, want %q", text, "Connect "+acmeLabel)
	}
	screenshot(t, ctx, "profile-connect")
	act(t, ctx, "click Connect "+acmeLabel, chromedp.Click(chromedp.CSS(connect)))
	loginAtProvider(t, ctx, ta, p, "grace", "grace's provider passphrase")
	act(t, ctx, "see the connected account",
		chromedp.WaitVisible(chromedp.CSS(`section#connections li[data-account-provider="acme"] [data-testid="connected-address"]`)))
	waitPage(t, ctx, "back on /profile", 10*time.Second, loadedAt("/profile"))
	if addr := strings.TrimSpace(eval[string](t, ctx, "read the connected address",
		`document.querySelector('section#connections li[data-account-provider="acme"] [data-testid="connected-address"]').textContent`)); addr != graceWork {
		t.Errorf("the connected account's address: got %q, want %s", addr, graceWork)
	}
	signOutInBrowser(t, ctx, ta)
	continueWithAcme(t, ctx, ta, "/dashboard", "")
	loginAtProvider(t, ctx, ta, p, "grace", "grace's provider passphrase")
	if id, _ := signedInAt(t, ctx, ta, "/dashboard"); id != grace.ID {
		t.Errorf("after connecting, the provider signs in to %s, want %s", id, grace.ID)
	}
	if n := userCount(t, ta); n != 2 {
		t.Errorf("users at the end: got %d, want 2", n)
	}
}

// TestBrowserSocialSignInWithJavaScript: from the sign-in page,
// window.Clerk.client.signIn.authenticateWithRedirect with the custom
// provider's strategy (oauth_custom_acme) sends the browser to the
// provider's login page; signing in there lands on redirectUrlComplete,
// signed in to a user made from the provider's profile.
func TestBrowserSocialSignInWithJavaScript(t *testing.T) {
	ctx := newBrowser(t, 90*time.Second)
	ta, p := startAppWithProvider(t, nil)
	p.AddUser(oidctest.User{Subject: "acme-js-0003", Username: "jess", Password: "jess's provider passphrase",
		Email: "jess@acme.example", EmailVerified: true, FirstName: "Jess", LastName: "Script"})

	act(t, ctx, "open /sign-in", chromedp.Navigate(ta.URL+"/sign-in"))
	waitPage(t, ctx, "/sign-in loads with the client script", 10*time.Second, loadedAt("/sign-in"))
	// The promise settles right after the script assigned the provider's
	// URL; if the navigation wins the race the evaluation is cut off,
	// which is fine as long as the provider's page comes.
	res, err := tryEval[string](ctx, `window.Clerk.client.signIn.authenticateWithRedirect({strategy: 'oauth_custom_acme', redirectUrlComplete: '/dashboard'})
		.then(() => 'started', (e) => 'failed: ' + ((e && e.message) || e))`)
	if err != nil {
		t.Logf("authenticateWithRedirect: the evaluation was cut off by the navigation: %v", err)
	} else if res != "started" {
		t.Fatalf("authenticateWithRedirect({strategy: 'oauth_custom_acme'}): %s", res)
	}
	loginAtProvider(t, ctx, ta, p, "jess", "jess's provider passphrase")
	userID, _ := signedInAt(t, ctx, ta, "/dashboard")
	users := usersWith(t, ta, "jess@acme.example")
	if len(users) != 1 || users[0].ID != userID {
		t.Fatalf("users with jess@acme.example: got %d, want the signed-in user %s", len(users), userID)
	}
	if ea := users[0].ExternalAccounts; len(ea) != 1 || ea[0].ProviderUserID != "acme-js-0003" || ea[0].Provider != "oauth_custom_acme" {
		t.Errorf("the user's external accounts: got %+v, want the provider's account acme-js-0003 (oauth_custom_acme)", ea)
	}
	if name := strings.TrimSpace(eval[string](t, ctx, "read the user menu", `document.querySelector('details.user-button .user-name').textContent`)); name != "Jess Script" {
		t.Errorf("the user menu shows %q, want the provider's name Jess Script", name)
	}
}
