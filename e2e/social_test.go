package e2e

// End-to-end tests of signing in with an OAuth or OpenID provider: the
// four rules of who the provider's account is here (against a real OpenID
// provider, zitadel's), the attacks on the callback (against a hostile
// issuer whose tokens the test breaks), GitHub's OAuth-only flavour, the
// profile's connected accounts, the frontend API's start of a flow, and
// the configuration's refusals.

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/e2e/oidctest"
	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

const (
	socAcmeID       = "gatehouse-acme"
	socAcmeSecret   = "acme-client-secret-for-tests"
	socGitHubID     = "gatehouse-github"
	socGitHubSecret = "github-client-secret-for-tests"
	socPassword     = "provider password 1"
	socAcmeStrategy = "oauth_custom_acme"
	socFlowCookie   = "__oauth_flow"
	socFlowPath     = "/sign-in/oauth/"
)

// socApp is the app with the providers it was started against: acme is
// the real provider (op) or the hostile one (fake); gh is GitHub's
// stand-in. Unused ones are nil.
type socApp struct {
	*testApp
	op   *oidctest.Provider
	fake *oidctest.Fake
	gh   *oidctest.GitHub
}

// socOptions say which providers to start before the app.
type socOptions struct {
	real, fake, github bool
	env                map[string]string
}

// socStart starts the providers first (the app discovers them at start),
// then the app configured with them, then registers the app's client with
// each.
func socStart(t *testing.T, o socOptions) *socApp {
	t.Helper()
	s := &socApp{}
	env := map[string]string{}
	var names []string
	issuer := ""
	switch {
	case o.real && o.fake:
		t.Fatal("socStart: acme is either the real provider or the fake")
	case o.real:
		s.op = oidctest.Start(t)
		issuer = s.op.Issuer()
	case o.fake:
		s.fake = oidctest.StartFake(t)
		issuer = s.fake.Issuer()
	}
	if issuer != "" {
		names = append(names, "acme")
		env["OAUTH_ACME_CLIENT_ID"] = socAcmeID
		env["OAUTH_ACME_CLIENT_SECRET"] = socAcmeSecret
		env["OAUTH_ACME_ISSUER"] = issuer
	}
	if o.github {
		s.gh = oidctest.StartGitHub(t)
		names = append(names, "github")
		env["OAUTH_GITHUB_CLIENT_ID"] = socGitHubID
		env["OAUTH_GITHUB_CLIENT_SECRET"] = socGitHubSecret
		env["OAUTH_GITHUB_URL"] = s.gh.URL()
		env["OAUTH_GITHUB_API_URL"] = s.gh.APIURL()
	}
	env["OAUTH_PROVIDERS"] = strings.Join(names, ",")
	for k, v := range o.env {
		env[k] = v
	}
	s.testApp = startApp(t, env)
	if s.op != nil {
		s.op.AddClient(socAcmeID, socAcmeSecret, s.URL+"/sign-in/oauth/acme/callback")
	}
	if s.fake != nil {
		s.fake.AddClient(socAcmeID, socAcmeSecret)
	}
	if s.gh != nil {
		s.gh.AddClient(socGitHubID, socGitHubSecret)
	}
	return s
}

// socFlow is a flow the app started: the provider's URL it redirected to
// and the flow cookie it set.
type socFlow struct {
	authorizeURL string
	cookie       string
}

// state is the state parameter the app sent to the provider.
func (f socFlow) state(t testing.TB) string {
	t.Helper()
	u, err := url.Parse(f.authorizeURL)
	if err != nil {
		t.Fatalf("authorize URL %q: %v", f.authorizeURL, err)
	}
	return u.Query().Get("state")
}

// begin posts the button of provider at path (/sign-in/oauth/ by
// default) from c and returns the flow: 303 to the provider, with the
// flow cookie.
func (s *socApp) begin(t testing.TB, c *http.Client, provider, redirectURL string) socFlow {
	t.Helper()
	return s.beginAt(t, c, socFlowPath+provider, redirectURL)
}

func (s *socApp) beginAt(t testing.TB, c *http.Client, path, redirectURL string) socFlow {
	t.Helper()
	form := url.Values{}
	if redirectURL != "" {
		form.Set("redirect_url", redirectURL)
	}
	res, body := harness.PostForm(t, c, s.URL+path, form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s: got %d Location %q, want 303 to the provider; page: %.400s",
			path, res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	loc := res.Header.Get("Location")
	if !s.isProviderURL(loc) {
		t.Fatalf("POST %s: got Location %q, want the provider's authorize URL", path, loc)
	}
	ck := setCookies(res)[socFlowCookie]
	if ck == nil || ck.Value == "" {
		t.Fatalf("POST %s: got no %s cookie, want one; Set-Cookie %q", path, socFlowCookie, res.Header.Values("Set-Cookie"))
	}
	return socFlow{authorizeURL: loc, cookie: ck.Value}
}

func (s *socApp) isProviderURL(u string) bool {
	for _, p := range []string{s.issuerOf("op"), s.issuerOf("fake"), s.issuerOf("gh")} {
		if p != "" && strings.HasPrefix(u, p+"/") {
			return true
		}
	}
	return false
}

func (s *socApp) issuerOf(which string) string {
	switch {
	case which == "op" && s.op != nil:
		return s.op.Issuer()
	case which == "fake" && s.fake != nil:
		return s.fake.Issuer()
	case which == "gh" && s.gh != nil:
		return s.gh.URL()
	}
	return ""
}

// socProviderRedirect sends the browser to the fake's or GitHub's
// authorize URL, which signs in at once, and returns where it redirects
// back to (the app's callback with code and state).
func socProviderRedirect(t testing.TB, authorizeURL string) string {
	t.Helper()
	res, body := harness.Do(t, plainClient(), http.MethodGet, authorizeURL, nil, nil)
	if res.StatusCode != http.StatusFound {
		t.Fatalf("GET %s: got %d, want 302 back to the app; body: %.300s", authorizeURL, res.StatusCode, body)
	}
	return res.Header.Get("Location")
}

// callback sends the provider's redirect back to the app from c. Nothing
// a provider or an attacker sends may make the app fail with 5xx.
func (s *socApp) callback(t testing.TB, c *http.Client, target string) (*http.Response, string) {
	t.Helper()
	if !strings.HasPrefix(target, s.URL+socFlowPath) {
		t.Fatalf("callback %q: want a URL under %s%s", target, s.URL, socFlowPath)
	}
	res, body := harness.Do(t, c, http.MethodGet, target, nil, nil)
	if res.StatusCode >= 500 {
		t.Errorf("GET %s: got %d, want < 500; page: %.400s", target, res.StatusCode, profText(body))
	}
	return res, body
}

// signInReal takes c through a whole sign-in at the real provider as
// username and returns the callback's answer.
func (s *socApp) signInReal(t testing.TB, c *http.Client, redirectURL, username string) (*http.Response, string) {
	t.Helper()
	f := s.begin(t, c, "acme", redirectURL)
	back := s.op.Login(t, nil, f.authorizeURL, username, socPassword)
	return s.callback(t, c, back)
}

// signInAuto takes c through a whole flow at the fake (acme) or GitHub
// (github), which sign in at once, and returns the callback's answer.
func (s *socApp) signInAuto(t testing.TB, c *http.Client, provider, redirectURL string) (*http.Response, string) {
	t.Helper()
	f := s.begin(t, c, provider, redirectURL)
	return s.callback(t, c, socProviderRedirect(t, f.authorizeURL))
}

// wantSignedIn checks a callback that signed c in as userID (the empty
// string: as anybody new) and went on to location; it returns the user id.
func (s *socApp) wantSignedIn(t testing.TB, what string, c *http.Client, res *http.Response, body, location, userID string) string {
	t.Helper()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != location {
		t.Fatalf("%s: got %d Location %q, want 303 to %q; page: %.400s", what, res.StatusCode, res.Header.Get("Location"), location, profText(body))
	}
	set := setCookies(res)
	for _, name := range []string{"__session", "__client"} {
		if ck := set[name]; ck == nil || ck.Value == "" || ck.MaxAge < 0 {
			t.Errorf("%s: got no %s cookie, want one", what, name)
		}
	}
	if ck := set[socFlowCookie]; ck == nil || ck.MaxAge >= 0 {
		t.Errorf("%s: got %v for the flow cookie, want it cleared", what, ck)
	}
	_, uid := s.me(t, c, nil)
	if uid == "" {
		t.Fatalf("%s: GET /api/me got signed out, want signed in", what)
	}
	if userID != "" && uid != userID {
		t.Errorf("%s: GET /api/me got user %q, want %q", what, uid, userID)
	}
	return uid
}

// wantRefused checks a refusal: a 4xx (status, when not 0), no session
// cookie, c still signed out, and the page saying msg (when not "").
func (s *socApp) wantRefused(t testing.TB, what string, c *http.Client, res *http.Response, body string, status int, msg string) {
	t.Helper()
	switch {
	case status != 0 && res.StatusCode != status:
		t.Errorf("%s: got %d Location %q, want %d; page: %.400s", what, res.StatusCode, res.Header.Get("Location"), status, profText(body))
	case status == 0 && (res.StatusCode < 400 || res.StatusCode >= 500):
		t.Errorf("%s: got %d Location %q, want a 4xx refusal; page: %.400s", what, res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	for _, ck := range res.Cookies() {
		if (ck.Name == "__client" || ck.Name == "__session") && ck.Value != "" && ck.MaxAge >= 0 {
			t.Errorf("%s: got Set-Cookie %s=%.20s…, want no session cookie", what, ck.Name, ck.Value)
		}
	}
	if msg != "" && !strings.Contains(profText(body), msg) {
		t.Errorf("%s: page does not say %q; page: %.600s", what, msg, profText(body))
	}
	if _, uid := s.me(t, c, nil); uid != "" {
		t.Errorf("%s: GET /api/me got user %q, want signed out", what, uid)
	}
}

// userCount is how many users the instance has.
func (s *socApp) userCount(t testing.TB) int {
	t.Helper()
	list, err := s.App.Client.Users.GetUserList(context.Background(), clerkclient.UserListParams{Limit: 100})
	if err != nil {
		t.Fatalf("GetUserList: %v", err)
	}
	return list.TotalCount
}

func (s *socApp) wantUsers(t testing.TB, what string, n int) {
	t.Helper()
	if got := s.userCount(t); got != n {
		t.Errorf("%s: got %d users, want %d", what, got, n)
	}
}

// events lists the audit events called name (of userID, when not "").
func (s *socApp) events(t testing.TB, userID, name string) []clerkclient.AuditEvent {
	t.Helper()
	list, err := s.App.Client.AuditEvents.List(context.Background(), clerkclient.AuditEventListParams{UserID: userID, Name: name, Limit: 100})
	if err != nil {
		t.Fatalf("list %s events: %v", name, err)
	}
	return list.Data
}

// payload decodes an audit event's payload.
func socPayload(t testing.TB, ev clerkclient.AuditEvent) map[string]any {
	t.Helper()
	m := map[string]any{}
	if len(ev.Payload) > 0 {
		if err := json.Unmarshal(ev.Payload, &m); err != nil {
			t.Fatalf("%s payload %s: %v", ev.Name, ev.Payload, err)
		}
	}
	return m
}

// setFlowCookie puts a flow cookie value into c's jar, as the app sets it.
func (s *socApp) setFlowCookie(c *http.Client, value string) {
	u, _ := url.Parse(s.URL + socFlowPath)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: socFlowCookie, Value: value, Path: socFlowPath}})
}

// withQuery returns target with its query parameters changed (an empty
// value removes one).
func socWithQuery(t testing.TB, target string, set map[string]string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, v := range set {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// wantExternalAccounts checks the user's external accounts: exactly one
// per strategy in want, with that provider user id.
func (s *socApp) wantExternalAccounts(t testing.TB, what, userID string, want map[string]string) *clerkclient.User {
	t.Helper()
	u := s.profUser(t, userID)
	got := map[string]string{}
	for _, ea := range u.ExternalAccounts {
		got[ea.Provider] = ea.ProviderUserID
	}
	if len(u.ExternalAccounts) != len(want) || len(got) != len(want) {
		t.Errorf("%s: got external accounts %v, want %v", what, got, want)
		return u
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got external accounts %v, want %v", what, got, want)
		}
	}
	return u
}

// ----- The real provider: the four rules -----

// TestSocialRule4NewUserIsCreatedVerifiedAndSignedIn: an account nobody
// here has seen, with an address nobody here has, signs up: a user with
// the provider's verified address (from_oauth_custom_acme) and names, the
// external account in Clerk's shape, a session whose creation names the
// strategy, and the redirect_url honoured. SIGN_UP_VERIFICATION is the
// default (email_code): the provider's verification stands in for the
// code.
func TestSocialRule4NewUserIsCreatedVerifiedAndSignedIn(t *testing.T) {
	s := socStart(t, socOptions{real: true, env: map[string]string{"SIGN_UP_VERIFICATION": "email_code"}})
	s.op.AddUser(oidctest.User{Subject: "acme-ada", Username: "ada", Password: socPassword,
		Email: "Ada@Example.com", EmailVerified: true, FirstName: "Ada", LastName: "Lovelace"})

	c := s.Browser(t)
	res, body := s.signInReal(t, c, "/profile", "ada")
	uid := s.wantSignedIn(t, "callback of a new account", c, res, body, "/profile", "")
	s.wantUsers(t, "after the sign-up", 1)

	u := s.profUser(t, uid)
	if u.FirstName == nil || *u.FirstName != "Ada" || u.LastName == nil || *u.LastName != "Lovelace" {
		t.Errorf("new user's names: got %v %v, want Ada Lovelace", u.FirstName, u.LastName)
	}
	if u.PasswordEnabled {
		t.Error("new user's password_enabled: got true, want false (signed up with a provider)")
	}
	e := profAddress(u, "ada@example.com")
	if e == nil {
		t.Fatalf("new user's addresses: got %v, want ada@example.com (normalised)", u.EmailAddresses)
	}
	if strategy := ""; e.Verification.Strategy != nil {
		strategy = *e.Verification.Strategy
		if e.Verification.Status != "verified" || strategy != "from_"+socAcmeStrategy {
			t.Errorf("address verification: got %s by %q, want verified by from_%s", e.Verification.Status, strategy, socAcmeStrategy)
		}
	} else {
		t.Errorf("address verification: got %s with no strategy, want verified by from_%s", e.Verification.Status, socAcmeStrategy)
	}
	if u.PrimaryEmailAddressID == nil || *u.PrimaryEmailAddressID != e.ID {
		t.Errorf("primary address: got %v, want %s", u.PrimaryEmailAddressID, e.ID)
	}

	if len(u.ExternalAccounts) != 1 {
		t.Fatalf("external_accounts: got %d, want 1", len(u.ExternalAccounts))
	}
	ea := u.ExternalAccounts[0]
	for _, tc := range []struct{ field, got, want string }{
		{"object", ea.Object, "external_account"},
		{"provider", ea.Provider, socAcmeStrategy},
		{"provider_user_id", ea.ProviderUserID, "acme-ada"},
		{"email_address", ea.EmailAddress, "ada@example.com"},
		{"first_name", ea.FirstName, "Ada"},
		{"last_name", ea.LastName, "Lovelace"},
		{"identification_id", ea.IdentificationID, e.ID},
		{"verification.object", ea.Verification.Object, "verification_oauth"},
		{"verification.status", ea.Verification.Status, "verified"},
		{"verification.strategy", ea.Verification.Strategy, socAcmeStrategy},
	} {
		if tc.got != tc.want {
			t.Errorf("external account %s: got %q, want %q", tc.field, tc.got, tc.want)
		}
	}
	if !strings.HasPrefix(ea.ID, "eac_") {
		t.Errorf("external account id: got %q, want eac_…", ea.ID)
	}

	// The frontend API shows the same account to the browser.
	res, body = harness.Do(t, c, http.MethodGet, s.URL+"/__clerk/v1/me", nil, nil)
	assertStatus(t, "GET /__clerk/v1/me", res, body, http.StatusOK)
	var me struct {
		ExternalAccounts []struct {
			Object, Provider string
			ProviderUserID   string `json:"provider_user_id"`
			Verification     struct{ Object, Status, Strategy string }
		} `json:"external_accounts"`
	}
	if err := json.Unmarshal([]byte(body), &me); err != nil {
		t.Fatalf("GET /__clerk/v1/me: %v: %.300s", err, body)
	}
	if len(me.ExternalAccounts) != 1 || me.ExternalAccounts[0].Provider != socAcmeStrategy ||
		me.ExternalAccounts[0].ProviderUserID != "acme-ada" || me.ExternalAccounts[0].Verification.Strategy != socAcmeStrategy {
		t.Errorf("GET /__clerk/v1/me external_accounts: got %+v, want one %s account acme-ada", me.ExternalAccounts, socAcmeStrategy)
	}

	created := s.events(t, uid, "session.created")
	if len(created) != 1 {
		t.Fatalf("session.created events: got %d, want 1", len(created))
	}
	if got := socPayload(t, created[0])["strategy"]; got != socAcmeStrategy {
		t.Errorf("session.created payload: got %s, want strategy %s", created[0].Payload, socAcmeStrategy)
	}
	if created[0].SessionID != s.sessionID(t, c) {
		t.Errorf("session.created: got session %q, want the browser's %q", created[0].SessionID, s.sessionID(t, c))
	}
	linked := s.events(t, uid, "externalAccount.created")
	if len(linked) != 1 || linked[0].ResourceID != ea.ID || socPayload(t, linked[0])["provider"] != "acme" {
		t.Errorf("externalAccount.created events: got %+v, want one for %s with provider acme", linked, ea.ID)
	}
	if mails := s.profMailTo(t, "ada@example.com"); len(mails) != 0 {
		t.Errorf("mail after a provider sign-up: got %d messages, want none (the provider verified the address)", len(mails))
	}

	t.Run("off-site redirect_url goes to the default", func(t *testing.T) {
		for _, next := range []string{"https://evil.example/steal", "//evil.example/x", "javascript:alert(1)"} {
			b := s.Browser(t)
			res, body := s.signInReal(t, b, next, "ada")
			s.wantSignedIn(t, "sign-in with redirect_url "+next, b, res, body, "/dashboard", uid)
		}
	})
}

// TestSocialRule1KnownAccountSignsInItsUser: an account seen before signs
// in the user it belongs to, found by the provider's subject — not by the
// address, which the provider may change — and no second user is made.
func TestSocialRule1KnownAccountSignsInItsUser(t *testing.T) {
	s := socStart(t, socOptions{real: true})
	ada := oidctest.User{Subject: "acme-ada", Username: "ada", Password: socPassword,
		Email: "ada@example.com", EmailVerified: true, FirstName: "Ada", LastName: "Lovelace"}
	s.op.AddUser(ada)

	c := s.Browser(t)
	res, body := s.signInReal(t, c, "", "ada")
	uid := s.wantSignedIn(t, "first sign-in", c, res, body, "/dashboard", "")

	for i, email := range []string{"ada@example.com", "ada.new@example.com"} {
		ada.Email = email
		s.op.AddUser(ada)
		b := s.Browser(t)
		res, body := s.signInReal(t, b, "/profile", "ada")
		s.wantSignedIn(t, "sign-in again with address "+email, b, res, body, "/profile", uid)
		s.wantUsers(t, "after signing in again", 1)
		if n := len(s.events(t, uid, "session.created")); n != i+2 {
			t.Errorf("session.created events after sign-in %d: got %d, want %d", i+2, n, i+2)
		}
	}
	u := s.wantExternalAccounts(t, "after three sign-ins", uid, map[string]string{socAcmeStrategy: "acme-ada"})
	if len(u.EmailAddresses) != 1 || u.EmailAddresses[0].EmailAddress != "ada@example.com" {
		t.Errorf("user's addresses after the provider changed its address: got %v, want only ada@example.com", u.EmailAddresses)
	}
	if n := len(s.events(t, uid, "externalAccount.created")); n != 1 {
		t.Errorf("externalAccount.created events: got %d, want 1", n)
	}
}

// TestSocialRule2VerifiedAddressLinksToItsUser: the provider verified the
// address and a user here has it verified: the account is connected to
// that user, who is signed in; no user is created, and the password goes
// on working.
func TestSocialRule2VerifiedAddressLinksToItsUser(t *testing.T) {
	s := socStart(t, socOptions{real: true})
	dora := s.CreateUser(t, doraEmail, doraPassword, "Dora", "Test") // the backend's addresses are verified
	if status, _ := s.acctVerification(t, doraEmail); status != "verified" {
		t.Fatalf("Dora's address: got %s, want verified", status)
	}
	s.op.AddUser(oidctest.User{Subject: "acme-dora", Username: "dora", Password: socPassword,
		Email: strings.ToUpper(doraEmail), EmailVerified: true, FirstName: "D", LastName: "T"})

	c := s.Browser(t)
	res, body := s.signInReal(t, c, "/profile", "dora")
	s.wantSignedIn(t, "sign-in with Dora's verified address", c, res, body, "/profile", dora.ID)
	s.wantUsers(t, "after linking", 1)
	u := s.wantExternalAccounts(t, "after linking", dora.ID, map[string]string{socAcmeStrategy: "acme-dora"})
	if u.FirstName == nil || *u.FirstName != "Dora" {
		t.Errorf("Dora's first name after linking: got %v, want Dora (the provider's names do not overwrite hers)", u.FirstName)
	}
	if status, strategy := s.acctVerification(t, doraEmail); status != "verified" || strategy != "admin" {
		t.Errorf("Dora's address after linking: got %s by %q, want still verified by admin", status, strategy)
	}
	if n := len(s.events(t, dora.ID, "externalAccount.created")); n != 1 {
		t.Errorf("externalAccount.created events for Dora: got %d, want 1", n)
	}
	if status, text := s.acctSignIn(t, doraEmail, doraPassword); status != http.StatusSeeOther {
		t.Errorf("password sign-in after linking: got %d, want 303: %.200s", status, text)
	}
}

// TestSocialRule3LinkRefusedUnlessBothVerified: a user here has the
// provider's address, but one side has not verified it: nothing is
// connected (a squatted address, or the provider's word alone), nobody
// is signed in or created, and the page (409) says how to get in.
func TestSocialRule3LinkRefusedUnlessBothVerified(t *testing.T) {
	for _, tc := range []struct {
		name                            string
		localVerified, providerVerified bool
	}{
		{"local address unverified", false, true},
		{"provider address unverified", true, false},
		{"neither verified", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := socStart(t, socOptions{real: true}) // SIGN_UP_VERIFICATION=off: a form sign-up is unverified
			var localID string
			if tc.localVerified {
				localID = s.CreateUser(t, doraEmail, doraPassword, "Dora", "Test").ID
			} else {
				res, body := signUpForm(t, s.Browser(t), s.URL, url.Values{"email_address": {doraEmail}, "password": {doraPassword}})
				assertStatus(t, "POST /sign-up", res, body, http.StatusSeeOther)
				localID = s.UserID(t, doraEmail)
				if status, _ := s.acctVerification(t, doraEmail); status != "unverified" {
					t.Fatalf("the squatter's address: got %s, want unverified", status)
				}
			}
			s.op.AddUser(oidctest.User{Subject: "acme-dora", Username: "dora", Password: socPassword,
				Email: doraEmail, EmailVerified: tc.providerVerified})

			c := s.Browser(t)
			res, body := s.signInReal(t, c, "/profile", "dora")
			s.wantRefused(t, "callback", c, res, body, http.StatusConflict, "")
			if !strings.Contains(body, `data-testid="link-refused"`) {
				t.Errorf("callback: got a page without data-testid=\"link-refused\", want the guidance page; page: %.500s", profText(body))
			}
			if text := profText(body); !strings.Contains(text, doraEmail) || !strings.Contains(text, "connect") {
				t.Errorf("guidance page: got %.500s, want the address and how to connect the provider", text)
			}
			s.wantUsers(t, "after the refusal", 1)
			s.wantExternalAccounts(t, "after the refusal", localID, map[string]string{})
			if n := len(s.events(t, "", "externalAccount.created")); n != 0 {
				t.Errorf("externalAccount.created events: got %d, want none", n)
			}
			if n := len(s.events(t, localID, "session.created")); n > 1 {
				t.Errorf("session.created events for the local user: got %d, want at most the sign-up's", n)
			}
		})
	}
}

// TestSocialUnverifiedProviderAddressSignUp: a provider that has not
// verified the address cannot sign up while sign-ups need a code
// (email_code, the default); with codes off it may, and the address stays
// unverified.
func TestSocialUnverifiedProviderAddressSignUp(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		created bool
	}{
		{"email_code", false},
		{"off", true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			s := socStart(t, socOptions{real: true, env: map[string]string{"SIGN_UP_VERIFICATION": tc.mode}})
			s.op.AddUser(oidctest.User{Subject: "acme-nora", Username: "nora", Password: socPassword,
				Email: "nora@example.com", EmailVerified: false})
			c := s.Browser(t)
			res, body := s.signInReal(t, c, "", "nora")
			if !tc.created {
				s.wantRefused(t, "callback with an unverified address", c, res, body, http.StatusBadRequest, "has not verified nora@example.com")
				s.wantUsers(t, "after the refusal", 0)
				if n := len(s.events(t, "", "externalAccount.created")); n != 0 {
					t.Errorf("externalAccount.created events: got %d, want none", n)
				}
				return
			}
			uid := s.wantSignedIn(t, "callback with an unverified address, codes off", c, res, body, "/dashboard", "")
			if status, strategy := s.acctVerification(t, "nora@example.com"); status != "unverified" || strategy != "" {
				t.Errorf("address from an unverified provider address: got %s by %q, want unverified", status, strategy)
			}
			s.wantExternalAccounts(t, "after the sign-up", uid, map[string]string{socAcmeStrategy: "acme-nora"})
		})
	}
}

// TestSocialSecondFactorStillRequired: a user with an authenticator app
// who signs in with a provider still enters the code: 303 to the second
// step, no session until then.
func TestSocialSecondFactorStillRequired(t *testing.T) {
	s := socStart(t, socOptions{real: true})
	dora := s.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	secret, _ := s.mfaEnrol(t, s.profSignIn(t, doraEmail, doraPassword, ""), "/profile/two-step")
	s.op.AddUser(oidctest.User{Subject: "acme-dora", Username: "dora", Password: socPassword, Email: doraEmail, EmailVerified: true})
	before := len(s.events(t, dora.ID, "session.created"))

	c := s.Browser(t)
	res, body := s.signInReal(t, c, "/profile", "dora")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/sign-in/factor-two") {
		t.Fatalf("callback for a user with TOTP: got %d Location %q, want 303 to /sign-in/factor-two; page: %.300s",
			res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	assertNoAuthCookie(t, res)
	if _, uid := s.me(t, c, nil); uid != "" {
		t.Fatalf("GET /api/me before the code: got %q, want signed out", uid)
	}
	if n := len(s.events(t, dora.ID, "session.created")); n != before {
		t.Errorf("session.created events before the code: got %d, want %d", n, before)
	}

	res, body = harness.PostForm(t, c, s.URL+"/sign-in/factor-two", url.Values{"strategy": {"totp"},
		"code": {mfaCode(t, secret, time.Now().Add(30*time.Second))}, "redirect_url": {"/profile"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile" {
		t.Fatalf("POST /sign-in/factor-two: got %d Location %q, want 303 to /profile; page: %.300s",
			res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	if _, uid := s.me(t, c, nil); uid != dora.ID {
		t.Errorf("GET /api/me after the code: got %q, want %s", uid, dora.ID)
	}
}

// TestSocialLockedOrBannedUserCannotSignIn: the provider's word does not
// get around a ban or a lock: an account locked by an operator or after
// failed sign-ins, or banned, is refused at the callback without a
// session, as the password is.
func TestSocialLockedOrBannedUserCannotSignIn(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(t *testing.T, s *socApp, id string)
	}{
		{"locked by an operator", func(t *testing.T, s *socApp, id string) {
			if _, err := s.App.Client.Users.LockUser(context.Background(), id); err != nil {
				t.Fatal(err)
			}
		}},
		{"locked after failed sign-ins", func(t *testing.T, s *socApp, id string) { s.acctLock(t, doraEmail, 0) }},
		{"banned", func(t *testing.T, s *socApp, id string) {
			if _, err := s.App.Client.Users.BanUser(context.Background(), id); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := socStart(t, socOptions{fake: true})
			dora := s.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
			s.fake.SetIdentity(oidctest.Identity{Subject: "fake-dora", Email: doraEmail, EmailVerified: true})
			c := s.Browser(t)
			res, body := s.signInAuto(t, c, "acme", "")
			s.wantSignedIn(t, "first sign-in", c, res, body, "/dashboard", dora.ID)

			tc.stop(t, s, dora.ID)
			before := len(s.events(t, dora.ID, "session.created"))
			b := s.Browser(t)
			res, body = s.signInAuto(t, b, "acme", "")
			s.wantRefused(t, "sign-in with the provider after "+tc.name, b, res, body, 0, "")
			if n := len(s.events(t, dora.ID, "session.created")); n != before {
				t.Errorf("session.created events: got %d, want %d (no session for a user %s)", n, before, tc.name)
			}
		})
	}
}

// ----- The hostile provider: attacks on the callback -----

// TestSocialCallbackStateIsChecked: the callback belongs to the flow of
// the browser that started it, once: a missing or wrong state, no flow
// cookie, another browser's callback URL, a replayed cookie and URL, a
// flow of another provider, an expired flow, and a code of another flow
// are all refused, with no session and no user.
func TestSocialCallbackStateIsChecked(t *testing.T) {
	s := socStart(t, socOptions{fake: true, github: true})
	const stale = "expired or was started in another browser"
	const unconfirmed = "could not confirm who you are"

	// start takes a fresh browser to the provider and back: its flow and
	// the provider's redirect back, not yet followed.
	start := func(t *testing.T, provider string) (*http.Client, socFlow, string) {
		c := s.Browser(t)
		f := s.begin(t, c, provider, "")
		return c, f, socProviderRedirect(t, f.authorizeURL)
	}
	reencode := func(t *testing.T, f socFlow, change func(*identity.OAuthFlow)) string {
		req := httptest.NewRequest(http.MethodGet, "/sign-in/oauth/acme/callback", nil)
		req.AddCookie(&http.Cookie{Name: socFlowCookie, Value: f.cookie})
		flow := s.App.Identity.Cookies().ReadOAuthFlow(req)
		if flow == nil {
			t.Fatal("the app cannot read its own flow cookie")
		}
		change(flow)
		rec := httptest.NewRecorder()
		if err := s.App.Identity.Cookies().SetOAuthFlow(rec, flow); err != nil {
			t.Fatal(err)
		}
		for _, ck := range rec.Result().Cookies() {
			if ck.Name == socFlowCookie {
				return ck.Value
			}
		}
		t.Fatal("SetOAuthFlow set no cookie")
		return ""
	}

	for _, tc := range []struct {
		name string
		// attack returns the browser and the callback URL it sends.
		attack func(t *testing.T) (*http.Client, string)
		msg    string
	}{
		{"missing state", func(t *testing.T) (*http.Client, string) {
			c, _, back := start(t, "acme")
			return c, socWithQuery(t, back, map[string]string{"state": ""})
		}, stale},
		{"wrong state", func(t *testing.T) (*http.Client, string) {
			c, _, back := start(t, "acme")
			return c, socWithQuery(t, back, map[string]string{"state": "not-the-state-of-this-flow"})
		}, stale},
		{"no flow cookie", func(t *testing.T) (*http.Client, string) {
			_, _, back := start(t, "acme")
			return s.Browser(t), back
		}, stale},
		{"a garbled flow cookie", func(t *testing.T) (*http.Client, string) {
			c, f, back := start(t, "acme")
			s.setFlowCookie(c, f.cookie[:len(f.cookie)/2]+"x"+f.cookie[len(f.cookie)/2+1:])
			return c, back
		}, stale},
		{"another browser's callback URL", func(t *testing.T) (*http.Client, string) {
			_, _, victimBack := start(t, "acme")
			attacker, _, _ := start(t, "acme") // the attacker has a flow of its own
			return attacker, victimBack
		}, stale},
		{"a flow of another provider", func(t *testing.T) (*http.Client, string) {
			c, _, back := start(t, "github")
			return c, strings.Replace(back, "/sign-in/oauth/github/callback", "/sign-in/oauth/acme/callback", 1)
		}, stale},
		{"an expired flow", func(t *testing.T) (*http.Client, string) {
			c, f, back := start(t, "acme")
			s.setFlowCookie(c, reencode(t, f, func(fl *identity.OAuthFlow) { fl.ExpireAt = time.Now().Add(-time.Second).UnixMilli() }))
			return c, back
		}, stale},
		{"an error with the wrong state", func(t *testing.T) (*http.Client, string) {
			c, _, back := start(t, "acme")
			return c, socWithQuery(t, back, map[string]string{"code": "", "error": "access_denied", "state": "forged"})
		}, stale},
		{"no code", func(t *testing.T) (*http.Client, string) {
			c, _, back := start(t, "acme")
			return c, socWithQuery(t, back, map[string]string{"code": ""})
		}, stale},
		{"an oversized code", func(t *testing.T) (*http.Client, string) {
			c, _, back := start(t, "acme")
			return c, socWithQuery(t, back, map[string]string{"code": strings.Repeat("c", 4096)})
		}, stale},
		{"a made-up code", func(t *testing.T) (*http.Client, string) {
			c, _, back := start(t, "acme")
			return c, socWithQuery(t, back, map[string]string{"code": "made-up-code"})
		}, unconfirmed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, target := tc.attack(t)
			res, body := s.callback(t, c, target)
			s.wantRefused(t, "callback with "+tc.name, c, res, body, 0, tc.msg)
			s.wantUsers(t, "after "+tc.name, 0)
		})
	}

	t.Run("the control: a re-encoded live flow works", func(t *testing.T) {
		// The expired flow above was refused for its expiry, not for the
		// re-encoding: the same change without expiring it signs in.
		c, f, back := start(t, "acme")
		s.setFlowCookie(c, reencode(t, f, func(*identity.OAuthFlow) {}))
		res, body := s.callback(t, c, back)
		uid := s.wantSignedIn(t, "callback with a re-encoded flow", c, res, body, "/dashboard", "")
		if _, err := s.App.Client.Users.DeleteUser(context.Background(), uid); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("another browser's attempt leaves the victim's flow alone", func(t *testing.T) {
		victim, _, back := start(t, "acme")
		attacker, _, _ := start(t, "acme")
		res, body := s.callback(t, attacker, back)
		s.wantRefused(t, "the attacker's callback", attacker, res, body, 0, stale)
		res, body = s.callback(t, victim, back)
		uid := s.wantSignedIn(t, "the victim's callback", victim, res, body, "/dashboard", "")
		if _, err := s.App.Client.Users.DeleteUser(context.Background(), uid); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("replayed callback", func(t *testing.T) {
		c, f, back := start(t, "acme")
		res, body := s.callback(t, c, back)
		uid := s.wantSignedIn(t, "the first callback", c, res, body, "/dashboard", "")
		sessions := len(s.events(t, uid, "session.created"))
		for _, who := range []string{"the same browser", "a fresh browser"} {
			b := c
			if who == "a fresh browser" {
				b = s.Browser(t)
			}
			s.setFlowCookie(b, f.cookie) // the cookie the first callback cleared
			res, body = s.callback(t, b, back)
			if res.StatusCode < 400 || res.StatusCode >= 500 {
				t.Errorf("replay from %s: got %d Location %q, want a 4xx refusal", who, res.StatusCode, res.Header.Get("Location"))
			}
			assertNoAuthCookie(t, res)
			if !strings.Contains(profText(body), stale) {
				t.Errorf("replay from %s: page does not say %q: %.400s", who, stale, profText(body))
			}
		}
		if n := len(s.events(t, uid, "session.created")); n != sessions {
			t.Errorf("session.created events after the replays: got %d, want %d", n, sessions)
		}
		if _, err := s.App.Client.Users.DeleteUser(context.Background(), uid); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a code injected into another flow fails PKCE", func(t *testing.T) {
		// The attacker's own code, sent with the victim's browser and
		// state (a login CSRF / code injection): the victim's verifier
		// does not answer the attacker's challenge.
		_, _, attackerBack := start(t, "acme")
		victim, _, victimBack := start(t, "acme")
		failures := s.fake.PKCEFailures()
		code, _ := url.Parse(attackerBack)
		target := socWithQuery(t, victimBack, map[string]string{"code": code.Query().Get("code")})
		res, body := s.callback(t, victim, target)
		s.wantRefused(t, "callback with an injected code", victim, res, body, 0, unconfirmed)
		if got := s.fake.PKCEFailures(); got <= failures {
			t.Errorf("PKCE failures at the token endpoint: got %d, want more than %d (the exchange must send the flow's verifier)", got, failures)
		}
		s.wantUsers(t, "after the injected code", 0)
	})

	t.Run("unknown provider", func(t *testing.T) {
		c := s.Browser(t)
		res, body := s.callback(t, c, s.URL+"/sign-in/oauth/nope/callback?code=x&state=y")
		s.wantRefused(t, "callback of an unknown provider", c, res, body, http.StatusNotFound, "")
		res, body = harness.PostForm(t, c, s.URL+"/sign-in/oauth/nope", nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("POST /sign-in/oauth/nope: got %d Location %q, want 404; page: %.300s", res.StatusCode, res.Header.Get("Location"), profText(body))
		}
		if setCookies(res)[socFlowCookie] != nil {
			t.Errorf("POST /sign-in/oauth/nope: got a flow cookie, want none")
		}
	})
}

// TestSocialRefusesTamperedIDTokens: an ID token broken in any one way —
// its nonce, audience, issuer, signature or expiry — signs nobody in and
// creates nobody, though the code was exchanged; an honest one then
// works, so it was the token that was refused.
func TestSocialRefusesTamperedIDTokens(t *testing.T) {
	s := socStart(t, socOptions{fake: true})
	for _, tc := range []struct {
		name string
		how  oidctest.Tampering
	}{
		{"WrongNonce", oidctest.Tampering{WrongNonce: true}},
		{"NoNonce", oidctest.Tampering{NoNonce: true}},
		{"WrongAudience", oidctest.Tampering{WrongAudience: true}},
		{"WrongIssuer", oidctest.Tampering{WrongIssuer: true}},
		{"BadSignature", oidctest.Tampering{BadSignature: true}},
		{"Expired", oidctest.Tampering{Expired: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.fake.Tamper(tc.how)
			before := s.fake.TokenRequests()
			c := s.Browser(t)
			res, body := s.signInAuto(t, c, "acme", "/profile")
			s.wantRefused(t, "callback with a "+tc.name+" ID token", c, res, body, http.StatusBadRequest, "could not confirm who you are")
			if s.fake.TokenRequests() == before {
				t.Errorf("token requests: got none, want the code exchanged (the refusal must come from the ID token)")
			}
			s.wantUsers(t, "after a "+tc.name+" ID token", 0)
		})
	}
	s.fake.Tamper(oidctest.Tampering{})
	c := s.Browser(t)
	res, body := s.signInAuto(t, c, "acme", "/profile")
	s.wantSignedIn(t, "callback with an honest ID token", c, res, body, "/profile", "")
	s.wantUsers(t, "after an honest ID token", 1)
}

// TestSocialCancelledAtProvider: the provider's error with the flow's
// state lands on the sign-in page saying so (access_denied: cancelled),
// and nothing else happens.
func TestSocialCancelledAtProvider(t *testing.T) {
	s := socStart(t, socOptions{fake: true})
	for _, tc := range []struct{ errCode, msg string }{
		{"access_denied", "You cancelled the sign-in with acme."},
		{"server_error", "acme could not sign you in."},
		{"<script>alert(1)</script>", "acme could not sign you in."},
	} {
		t.Run(tc.errCode, func(t *testing.T) {
			c := s.Browser(t)
			f := s.begin(t, c, "acme", "/profile")
			q := url.Values{"error": {tc.errCode}, "error_description": {"The user said no"}, "state": {f.state(t)}}
			res, body := s.callback(t, c, s.URL+"/sign-in/oauth/acme/callback?"+q.Encode())
			s.wantRefused(t, "callback with error="+tc.errCode, c, res, body, http.StatusBadRequest, tc.msg)
			if !strings.Contains(body, `action="/sign-in"`) {
				t.Errorf("callback with error=%s: got a page without the sign-in form, want the sign-in page", tc.errCode)
			}
			if strings.Contains(body, "<script>alert(1)</script>") {
				t.Errorf("callback with error=%s: the provider's error is echoed unescaped", tc.errCode)
			}
			if n := s.fake.TokenRequests(); n != 0 {
				t.Errorf("token requests after an error: got %d, want none", n)
			}
		})
	}
	s.wantUsers(t, "after the errors", 0)
}

// TestSocialUsesPKCEAndNonce: the authorize request carries a state, a
// nonce and an S256 PKCE challenge, the redirect URI and the OpenID
// scopes; the flow cookie is HttpOnly, SameSite=Lax, sent only to the
// callbacks and lasts 10 minutes; the exchange answers the challenge.
func TestSocialUsesPKCEAndNonce(t *testing.T) {
	s := socStart(t, socOptions{fake: true})
	c := s.Browser(t)
	res, body := harness.PostForm(t, c, s.URL+"/sign-in/oauth/acme", url.Values{"redirect_url": {"/profile"}})
	assertStatus(t, "POST /sign-in/oauth/acme", res, body, http.StatusSeeOther)
	line := rawSetCookie(res, socFlowCookie)
	attrs := map[string]bool{}
	for _, p := range strings.Split(line, ";")[1:] {
		attrs[strings.ToLower(strings.TrimSpace(p))] = true
	}
	for _, want := range []string{"httponly", "samesite=lax", "path=" + socFlowPath, "max-age=600"} {
		if !attrs[want] {
			t.Errorf("Set-Cookie %s: got %q, want attribute %q", socFlowCookie, line, want)
		}
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("POST /sign-in/oauth/acme Cache-Control: got %q, want no-store", cc)
	}
	back := socProviderRedirect(t, res.Header.Get("Location"))
	res, body = s.callback(t, c, back)
	s.wantSignedIn(t, "callback", c, res, body, "/profile", "")

	reqs := s.fake.AuthorizeRequests()
	if len(reqs) != 1 {
		t.Fatalf("authorize requests: got %d, want 1", len(reqs))
	}
	q := reqs[0]
	for _, tc := range []struct{ param, got, want string }{
		{"response_type", q.Get("response_type"), "code"},
		{"client_id", q.Get("client_id"), socAcmeID},
		{"redirect_uri", q.Get("redirect_uri"), s.URL + "/sign-in/oauth/acme/callback"},
		{"code_challenge_method", q.Get("code_challenge_method"), "S256"},
	} {
		if tc.got != tc.want {
			t.Errorf("authorize request %s: got %q, want %q", tc.param, tc.got, tc.want)
		}
	}
	if n := len(q.Get("code_challenge")); n != 43 {
		t.Errorf("authorize request code_challenge: got %q (%d characters), want a base64url SHA-256 (43)", q.Get("code_challenge"), n)
	}
	for _, p := range []string{"state", "nonce"} {
		if len(q.Get(p)) < 22 {
			t.Errorf("authorize request %s: got %q, want a random value of at least 128 bits", p, q.Get(p))
		}
	}
	if q.Get("state") == q.Get("nonce") {
		t.Errorf("authorize request: state and nonce are the same %q, want two values", q.Get("state"))
	}
	scopes := strings.Fields(q.Get("scope"))
	for _, want := range []string{"openid", "email"} {
		if !strings.Contains(" "+strings.Join(scopes, " ")+" ", " "+want+" ") {
			t.Errorf("authorize request scope: got %q, want %s among them", q.Get("scope"), want)
		}
	}
	if n := s.fake.PKCEFailures(); n != 0 {
		t.Errorf("PKCE failures at the token endpoint: got %d, want 0", n)
	}
	if strings.Contains(back, q.Get("code_challenge")) {
		t.Errorf("the challenge is in the callback URL, want it only at the provider")
	}

	// Two flows never share their secrets.
	f2 := s.begin(t, s.Browser(t), "acme", "")
	u2, _ := url.Parse(f2.authorizeURL)
	for _, p := range []string{"state", "nonce", "code_challenge"} {
		if u2.Query().Get(p) == q.Get(p) {
			t.Errorf("a second flow's %s: got the first's %q, want a fresh one", p, q.Get(p))
		}
	}
}

// ----- GitHub -----

// TestSocialGitHubSignUpFromVerifiedPrimaryAddress: GitHub, OAuth without
// an ID token, signs up the user with the verified primary address from
// /user/emails (not the public one of /user), its numeric id as the
// subject, with PKCE.
func TestSocialGitHubSignUpFromVerifiedPrimaryAddress(t *testing.T) {
	s := socStart(t, socOptions{github: true, env: map[string]string{"SIGN_UP_VERIFICATION": "email_code"}})
	s.gh.SetUser(oidctest.GitHubUser{ID: 4242, Login: "octo-cat", Name: "Octo Cat", PublicEmail: "public@example.com",
		Emails: []oidctest.GitHubEmail{
			{Email: "secondary@example.com", Verified: true},
			{Email: "octo.cat@example.com", Primary: true, Verified: true},
		}})
	c := s.Browser(t)
	res, body := s.signInAuto(t, c, "github", "/profile")
	uid := s.wantSignedIn(t, "GitHub callback", c, res, body, "/profile", "")
	if status, strategy := s.acctVerification(t, "octo.cat@example.com"); status != "verified" || strategy != "from_oauth_github" {
		t.Errorf("address from GitHub: got %s by %q, want verified by from_oauth_github", status, strategy)
	}
	u := s.wantExternalAccounts(t, "after the GitHub sign-up", uid, map[string]string{"oauth_github": "4242"})
	if len(u.EmailAddresses) != 1 {
		t.Errorf("addresses: got %v, want only the primary one", u.EmailAddresses)
	}
	if len(u.ExternalAccounts) == 1 {
		ea := u.ExternalAccounts[0]
		if ea.Username == nil || *ea.Username != "octo-cat" || ea.FirstName != "Octo" || ea.LastName != "Cat" || ea.EmailAddress != "octo.cat@example.com" {
			t.Errorf("GitHub external account: got username %v name %q %q address %q, want octo-cat Octo Cat octo.cat@example.com",
				ea.Username, ea.FirstName, ea.LastName, ea.EmailAddress)
		}
		if ea.Verification.Strategy != "oauth_github" {
			t.Errorf("GitHub external account verification strategy: got %q, want oauth_github", ea.Verification.Strategy)
		}
	}
	reqs := s.gh.AuthorizeRequests()
	if len(reqs) != 1 || reqs[0].Get("code_challenge_method") != "S256" || reqs[0].Get("code_challenge") == "" ||
		!strings.Contains(reqs[0].Get("scope"), "user:email") {
		t.Errorf("GitHub authorize request: got %v, want an S256 challenge and the user:email scope", reqs)
	}
	if reqs[0].Get("nonce") != "" {
		t.Errorf("GitHub authorize request: got nonce %q, want none (no ID token)", reqs[0].Get("nonce"))
	}
	if n := s.gh.PKCEFailures(); n != 0 {
		t.Errorf("GitHub PKCE failures: got %d, want 0", n)
	}
	if n := len(s.events(t, uid, "session.created")); n != 1 {
		t.Errorf("session.created events: got %d, want 1", n)
	} else if ev := s.events(t, uid, "session.created")[0]; socPayload(t, ev)["strategy"] != "oauth_github" {
		t.Errorf("session.created payload: got %s, want strategy oauth_github", ev.Payload)
	}
}

// TestSocialGitHubWithoutVerifiedAddressIsRefused: a GitHub account with
// no verified address (or none shared) cannot sign up while sign-ups need
// a code; nothing is created.
func TestSocialGitHubWithoutVerifiedAddressIsRefused(t *testing.T) {
	s := socStart(t, socOptions{github: true, env: map[string]string{"SIGN_UP_VERIFICATION": "email_code"}})
	for _, tc := range []struct {
		name   string
		emails []oidctest.GitHubEmail
		msg    string
	}{
		{"unverified addresses", []oidctest.GitHubEmail{{Email: "new@example.com", Primary: true}, {Email: "other@example.com"}}, "has not verified new@example.com"},
		{"no address", nil, "did not share an email address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.gh.SetUser(oidctest.GitHubUser{ID: 7, Login: "newbie", PublicEmail: "public@example.com", Emails: tc.emails})
			c := s.Browser(t)
			res, body := s.signInAuto(t, c, "github", "")
			s.wantRefused(t, "GitHub callback with "+tc.name, c, res, body, http.StatusBadRequest, tc.msg)
			s.wantUsers(t, "after "+tc.name, 0)
		})
	}
	if n := len(s.events(t, "", "externalAccount.created")); n != 0 {
		t.Errorf("externalAccount.created events: got %d, want none", n)
	}
}

// ----- The profile's connected accounts -----

// TestSocialConnectProviderFromProfile: a password user connects GitHub
// from the profile (a fresh session); the account is listed in
// external_accounts and on the profile, recorded, and signs the user in
// afterwards though its address is not hers.
func TestSocialConnectProviderFromProfile(t *testing.T) {
	s := socStart(t, socOptions{fake: true, github: true})
	dora := s.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := s.profSignIn(t, doraEmail, doraPassword, "")
	if body := s.profGetProfile(t, c); !strings.Contains(body, `action="/profile/connections/github"`) {
		t.Errorf("profile: got no form posting to /profile/connections/github, want the connect button; page: %.600s", profText(body))
	}

	f := s.beginAt(t, c, "/profile/connections/github", "")
	if !strings.HasPrefix(f.authorizeURL, s.gh.URL()+"/login/oauth/authorize?") {
		t.Fatalf("POST /profile/connections/github: got Location %q, want GitHub's authorize URL", f.authorizeURL)
	}
	res, body := s.callback(t, c, socProviderRedirect(t, f.authorizeURL))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile#connections" {
		t.Fatalf("connect callback: got %d Location %q, want 303 to /profile#connections; page: %.400s",
			res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	if _, uid := s.me(t, c, nil); uid != dora.ID {
		t.Errorf("GET /api/me after connecting: got %q, want still %s", uid, dora.ID)
	}
	u := s.wantExternalAccounts(t, "after connecting", dora.ID, map[string]string{"oauth_github": "1001"})
	if len(u.EmailAddresses) != 1 {
		t.Errorf("Dora's addresses after connecting: got %v, want only hers (GitHub's address is not added)", u.EmailAddresses)
	}
	if ev := s.events(t, dora.ID, "externalAccount.created"); len(ev) != 1 || socPayload(t, ev[0])["provider"] != "github" {
		t.Errorf("externalAccount.created events: got %+v, want one for github", ev)
	}
	body = s.profGetProfile(t, c)
	if !strings.Contains(profText(body), "octo.user@example.com") || !strings.Contains(body, "/profile/connections/"+u.ExternalAccounts[0].ID+"/disconnect") {
		t.Errorf("profile after connecting: got %.800s, want the GitHub account with its disconnect form", profText(body))
	}

	b := s.Browser(t)
	res, body = s.signInAuto(t, b, "github", "")
	s.wantSignedIn(t, "GitHub sign-in after connecting", b, res, body, "/dashboard", dora.ID)
	s.wantUsers(t, "after the GitHub sign-in", 1)
}

// TestSocialConnectNeedsFreshSession: connecting is a sensitive change: a
// session whose factor is older than REVERIFICATION_MAX_AGE goes to the
// reverify page first, without starting a flow; after the password it
// may.
func TestSocialConnectNeedsFreshSession(t *testing.T) {
	s := socStart(t, socOptions{github: true, env: map[string]string{"REVERIFICATION_MAX_AGE": "1s"}})
	s.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := s.profSignIn(t, doraEmail, doraPassword, "")
	time.Sleep(1100 * time.Millisecond)

	res, body := harness.PostForm(t, c, s.URL+"/profile/connections/github", nil)
	want := "/reverify?level=strict&redirect_url=%2Fprofile%23connections"
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
		t.Fatalf("POST /profile/connections/github with a stale session: got %d Location %q, want 303 to %q; page: %.300s",
			res.StatusCode, res.Header.Get("Location"), want, profText(body))
	}
	if setCookies(res)[socFlowCookie] != nil {
		t.Errorf("POST /profile/connections/github with a stale session: got a flow cookie, want none")
	}
	res, body = harness.PostForm(t, c, s.URL+"/reverify", url.Values{"strategy": {"password"}, "password": {doraPassword}, "redirect_url": {"/profile#connections"}})
	assertStatus(t, "POST /reverify", res, body, http.StatusSeeOther)
	s.beginAt(t, c, "/profile/connections/github", "")
}

// TestSocialReverifyWithConnectedProvider: a user without a password
// confirms it's them with their connected provider, and may then connect
// another; another account of that provider does not count.
func TestSocialReverifyWithConnectedProvider(t *testing.T) {
	s := socStart(t, socOptions{fake: true, github: true, env: map[string]string{"REVERIFICATION_MAX_AGE": "1s"}})
	c := s.Browser(t)
	res, body := s.signInAuto(t, c, "github", "")
	uid := s.wantSignedIn(t, "GitHub sign-up", c, res, body, "/dashboard", "")
	time.Sleep(1100 * time.Millisecond)

	res, body = harness.PostForm(t, c, s.URL+"/profile/connections/acme", nil)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/reverify?") {
		t.Fatalf("POST /profile/connections/acme with a stale session: got %d Location %q, want 303 to /reverify", res.StatusCode, res.Header.Get("Location"))
	}
	res, body = harness.Do(t, c, http.MethodGet, s.URL+res.Header.Get("Location"), nil, nil)
	assertStatus(t, "GET /reverify", res, body, http.StatusOK)
	if !strings.Contains(body, `action="/reverify/oauth/github"`) {
		t.Errorf("GET /reverify for a GitHub-only user: got %.500s, want a button posting to /reverify/oauth/github", profText(body))
	}

	t.Run("another GitHub account", func(t *testing.T) {
		s.gh.SetUser(oidctest.GitHubUser{ID: 9999, Login: "someone-else", Emails: []oidctest.GitHubEmail{{Email: "else@example.com", Primary: true, Verified: true}}})
		defer s.gh.SetUser(oidctest.GitHubUser{ID: 1001, Login: "octo-user", Name: "Octo User",
			Emails: []oidctest.GitHubEmail{{Email: "octo.user@example.com", Primary: true, Verified: true}}})
		f := s.beginAt(t, c, "/reverify/oauth/github", "/profile#connections")
		res, body := s.callback(t, c, socProviderRedirect(t, f.authorizeURL))
		if res.StatusCode < 400 || res.StatusCode >= 500 || !strings.Contains(profText(body), "not connected to yours") {
			t.Errorf("reverify callback with another GitHub account: got %d %.300s, want a 4xx saying it is not connected", res.StatusCode, profText(body))
		}
		res, _ = harness.PostForm(t, c, s.URL+"/profile/connections/acme", nil)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/reverify?") {
			t.Errorf("connect after a refused reverify: got %d Location %q, want still 303 to /reverify", res.StatusCode, res.Header.Get("Location"))
		}
	})

	f := s.beginAt(t, c, "/reverify/oauth/github", "/profile#connections")
	res, body = s.callback(t, c, socProviderRedirect(t, f.authorizeURL))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile#connections" {
		t.Fatalf("reverify callback: got %d Location %q, want 303 to /profile#connections; page: %.300s", res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	if n := len(s.events(t, uid, "session.reverified")); n != 1 {
		t.Errorf("session.reverified events: got %d, want 1", n)
	}
	f = s.beginAt(t, c, "/profile/connections/acme", "")
	res, body = s.callback(t, c, socProviderRedirect(t, f.authorizeURL))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile#connections" {
		t.Fatalf("connect callback: got %d Location %q, want 303 to /profile#connections; page: %.300s", res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	s.wantExternalAccounts(t, "after connecting acme", uid, map[string]string{"oauth_github": "1001", socAcmeStrategy: "fake-user-1"})
}

// TestSocialDisconnect: disconnecting is refused for the only way a user
// has to sign in, and for another user's account; with a password it is
// allowed, recorded, and the account no longer signs in as the user.
func TestSocialDisconnect(t *testing.T) {
	s := socStart(t, socOptions{github: true})
	const octo = "octo.user@example.com"
	c := s.Browser(t)
	res, body := s.signInAuto(t, c, "github", "")
	uid := s.wantSignedIn(t, "GitHub sign-up", c, res, body, "/dashboard", "")
	u := s.wantExternalAccounts(t, "after the sign-up", uid, map[string]string{"oauth_github": "1001"})
	eaID := u.ExternalAccounts[0].ID
	path := "/profile/connections/" + eaID + "/disconnect"

	res, body = harness.PostForm(t, c, s.URL+path, nil)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(profText(body), "only way to sign in") {
		t.Errorf("POST %s for the only way to sign in: got %d Location %q %.300s, want 422 saying it is the only way",
			path, res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	s.wantExternalAccounts(t, "after the refused disconnect", uid, map[string]string{"oauth_github": "1001"})

	s.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	dora := s.profSignIn(t, doraEmail, doraPassword, "")
	res, body = harness.PostForm(t, dora, s.URL+path, nil)
	if res.StatusCode < 400 || res.StatusCode >= 500 {
		t.Errorf("POST %s from another user: got %d Location %q, want a 4xx refusal; page: %.300s", path, res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	s.wantExternalAccounts(t, "after another user's disconnect", uid, map[string]string{"oauth_github": "1001"})

	pw := "octo's own passphrase"
	if _, err := s.App.Client.Users.UpdateUser(context.Background(), uid, clerkclient.UpdateUserParams{Password: &pw}); err != nil {
		t.Fatal(err)
	}
	c = s.profSignIn(t, octo, pw, "")
	res, body = harness.PostForm(t, c, s.URL+path, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile?done=disconnected#connections" {
		t.Fatalf("POST %s with a password: got %d Location %q, want 303 to /profile?done=disconnected#connections; page: %.300s",
			path, res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	s.wantExternalAccounts(t, "after the disconnect", uid, map[string]string{})
	if ev := s.events(t, uid, "externalAccount.deleted"); len(ev) != 1 || ev[0].ResourceID != eaID {
		t.Errorf("externalAccount.deleted events: got %+v, want one for %s", ev, eaID)
	}
	res, body = harness.PostForm(t, c, s.URL+path, nil)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("POST %s again: got %d, want 404; page: %.300s", path, res.StatusCode, profText(body))
	}
}

// TestSocialConnectAccountOfAnotherUserIsRefused: a provider account
// connected to one user cannot be connected to another.
func TestSocialConnectAccountOfAnotherUserIsRefused(t *testing.T) {
	s := socStart(t, socOptions{github: true})
	evan := s.Browser(t)
	res, body := s.signInAuto(t, evan, "github", "")
	evanID := s.wantSignedIn(t, "GitHub sign-up", evan, res, body, "/dashboard", "")

	dora := s.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := s.profSignIn(t, doraEmail, doraPassword, "")
	f := s.beginAt(t, c, "/profile/connections/github", "")
	res, body = s.callback(t, c, socProviderRedirect(t, f.authorizeURL))
	if res.StatusCode < 400 || res.StatusCode >= 500 || !strings.Contains(profText(body), "connected to another user") {
		t.Errorf("connect callback with another user's GitHub account: got %d Location %q %.300s, want a 4xx saying it is another user's",
			res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	if _, uid := s.me(t, c, nil); uid != dora.ID {
		t.Errorf("GET /api/me after the refused connect: got %q, want still %s", uid, dora.ID)
	}
	s.wantExternalAccounts(t, "Dora after the refused connect", dora.ID, map[string]string{})
	s.wantExternalAccounts(t, "Evan after the refused connect", evanID, map[string]string{"oauth_github": "1001"})
}

// TestSocialConnectFlowBelongsToItsSession: a connect flow finishes only
// in the session that started it: signed out and in as someone else in
// the same browser, its callback connects nothing to either user.
func TestSocialConnectFlowBelongsToItsSession(t *testing.T) {
	s := socStart(t, socOptions{github: true})
	dora := s.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	evan := s.CreateUser(t, evanEmail, evanPassword, "Evan", "Other")
	c := s.profSignIn(t, doraEmail, doraPassword, "")
	f := s.beginAt(t, c, "/profile/connections/github", "")
	res, body := harness.PostForm(t, c, s.URL+"/sign-out", nil)
	assertStatus(t, "POST /sign-out", res, body, http.StatusSeeOther)
	s.SignIn(t, c, evanEmail, evanPassword)
	s.setFlowCookie(c, f.cookie) // in case sign-out cleared it: the flow must still be refused

	res, body = s.callback(t, c, socProviderRedirect(t, f.authorizeURL))
	if res.StatusCode < 400 || res.StatusCode >= 500 || !strings.Contains(profText(body), "another session") {
		t.Errorf("connect callback in another session: got %d Location %q %.300s, want a 4xx saying the flow is another session's",
			res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	s.wantExternalAccounts(t, "Dora after the callback", dora.ID, map[string]string{})
	s.wantExternalAccounts(t, "Evan after the callback", evan.ID, map[string]string{})
}

// TestSocialConnectSecondAccountOfSameProviderIsRefused: a user has one
// account per provider; connecting another is refused until the first is
// disconnected.
func TestSocialConnectSecondAccountOfSameProviderIsRefused(t *testing.T) {
	s := socStart(t, socOptions{github: true})
	dora := s.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := s.profSignIn(t, doraEmail, doraPassword, "")
	f := s.beginAt(t, c, "/profile/connections/github", "")
	res, body := s.callback(t, c, socProviderRedirect(t, f.authorizeURL))
	assertStatus(t, "first connect callback", res, body, http.StatusSeeOther)

	s.gh.SetUser(oidctest.GitHubUser{ID: 2002, Login: "dora-alt", Emails: []oidctest.GitHubEmail{{Email: "alt@example.com", Primary: true, Verified: true}}})
	f = s.beginAt(t, c, "/profile/connections/github", "")
	res, body = s.callback(t, c, socProviderRedirect(t, f.authorizeURL))
	if res.StatusCode < 400 || res.StatusCode >= 500 || !strings.Contains(profText(body), "connected already") {
		t.Errorf("second GitHub connect: got %d Location %q %.300s, want a 4xx saying one is connected already",
			res.StatusCode, res.Header.Get("Location"), profText(body))
	}
	s.wantExternalAccounts(t, "after the second connect", dora.ID, map[string]string{"oauth_github": "1001"})
	b := s.Browser(t)
	res, body = s.signInAuto(t, b, "github", "")
	uid := s.wantSignedIn(t, "sign-in with the refused GitHub account", b, res, body, "/dashboard", "")
	if uid == dora.ID {
		t.Errorf("the refused GitHub account signs in as Dora, want a user of its own")
	}
}

// TestSocialReservedAddressCannotSignUp: an administrator's address
// (ADMIN_EMAILS) cannot be claimed by signing up with a provider, however
// verified the provider says it is.
func TestSocialReservedAddressCannotSignUp(t *testing.T) {
	s := socStart(t, socOptions{fake: true, env: map[string]string{"ADMIN_EMAILS": "root@example.com"}})
	s.fake.SetIdentity(oidctest.Identity{Subject: "fake-root", Email: "Root@Example.com", EmailVerified: true})
	c := s.Browser(t)
	res, body := s.signInAuto(t, c, "acme", "/admin/audit")
	s.wantRefused(t, "sign-up with an administrator's address", c, res, body, http.StatusBadRequest, "cannot sign up here")
	s.wantUsers(t, "after the refusal", 0)
}

// ----- The frontend API -----

// TestSocialFrontendAPIOAuthSignIn: signIn.authenticateWithRedirect's
// request starts the same flow (the provider's URL in the first factor,
// the flow cookie); the callback with the same cookies signs in and goes
// on to the redirect, a safe one only. An unknown strategy is 422.
func TestSocialFrontendAPIOAuthSignIn(t *testing.T) {
	s := socStart(t, socOptions{real: true})
	s.op.AddUser(oidctest.User{Subject: "acme-ada", Username: "ada", Password: socPassword, Email: "ada@example.com", EmailVerified: true})
	base := s.URL + "/__clerk/v1"

	for _, tc := range []struct {
		name, ct, body, want string
	}{
		{"form", "application/x-www-form-urlencoded", url.Values{"strategy": {socAcmeStrategy}, "redirect_url": {"/profile"}}.Encode(), "/profile"},
		{"JSON with action_complete_redirect_url", "application/json",
			`{"strategy":"` + socAcmeStrategy + `","redirect_url":"/sso-callback","action_complete_redirect_url":"/profile?tab=1"}`, "/profile?tab=1"},
		{"off-site redirect_url", "application/x-www-form-urlencoded", url.Values{"strategy": {socAcmeStrategy}, "redirect_url": {"https://evil.example/"}}.Encode(), "/dashboard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s.Browser(t)
			res, body := harness.Do(t, c, http.MethodPost, base+"/client/sign_ins", strings.NewReader(tc.body), map[string]string{"Content-Type": tc.ct})
			assertStatus(t, "POST /client/sign_ins", res, body, http.StatusOK)
			assertJSONType(t, "POST /client/sign_ins", res)
			var si struct {
				Object, Status string
				First          struct {
					Object, Status, Strategy string
					RedirectURL              string `json:"external_verification_redirect_url"`
				} `json:"first_factor_verification"`
			}
			if err := json.Unmarshal([]byte(body), &si); err != nil {
				t.Fatalf("sign_in: %v: %.300s", err, body)
			}
			if si.Object != "sign_in" || si.Status != "needs_first_factor" || si.First.Object != "verification_oauth" ||
				si.First.Status != "unverified" || si.First.Strategy != socAcmeStrategy {
				t.Errorf("sign_in: got %+v, want a sign_in needing its first factor, an unverified %s verification", si, socAcmeStrategy)
			}
			if !strings.HasPrefix(si.First.RedirectURL, s.op.Issuer()+"/") {
				t.Fatalf("external_verification_redirect_url: got %q, want the provider's authorize URL", si.First.RedirectURL)
			}
			if ck := setCookies(res)[socFlowCookie]; ck == nil || ck.Value == "" || ck.Path != socFlowPath {
				t.Errorf("POST /client/sign_ins: got flow cookie %v, want one on %s", ck, socFlowPath)
			}
			assertNoAuthCookie(t, res)
			back := s.op.Login(t, nil, si.First.RedirectURL, "ada", socPassword)
			res, body = s.callback(t, c, back)
			uid := s.wantSignedIn(t, "callback", c, res, body, tc.want, "")
			if uid != s.UserID(t, "ada@example.com") {
				t.Errorf("signed in as %q, want ada@example.com's %q", uid, s.UserID(t, "ada@example.com"))
			}
			res, body = harness.Do(t, c, http.MethodGet, base+"/client", nil, nil)
			assertStatus(t, "GET /client", res, body, http.StatusOK)
			if !strings.Contains(body, `"provider":"`+socAcmeStrategy+`"`) {
				t.Errorf("GET /client: got %.400s, want the session's user with its %s external account", body, socAcmeStrategy)
			}
		})
	}
	s.wantUsers(t, "after three frontend API sign-ins", 1)

	t.Run("sign_ups", func(t *testing.T) {
		c := s.Browser(t)
		res, body := harness.PostForm(t, c, base+"/client/sign_ups", url.Values{"strategy": {socAcmeStrategy}, "redirect_url": {"/profile"}})
		assertStatus(t, "POST /client/sign_ups", res, body, http.StatusOK)
		var su struct {
			Object, Status string
			Verifications  struct {
				ExternalAccount struct {
					Strategy    string
					RedirectURL string `json:"external_verification_redirect_url"`
				} `json:"external_account"`
			}
		}
		if err := json.Unmarshal([]byte(body), &su); err != nil {
			t.Fatalf("sign_up: %v", err)
		}
		if su.Object != "sign_up" || su.Verifications.ExternalAccount.Strategy != socAcmeStrategy ||
			!strings.HasPrefix(su.Verifications.ExternalAccount.RedirectURL, s.op.Issuer()+"/") {
			t.Errorf("sign_up: got %+v, want a sign_up whose external_account verification names the provider's URL", su)
		}
	})

	t.Run("unknown strategy", func(t *testing.T) {
		for _, strategy := range []string{"oauth_custom_nope", "oauth_google", "oauth_"} {
			c := s.Browser(t)
			res, body := harness.PostForm(t, c, base+"/client/sign_ins", url.Values{"strategy": {strategy}})
			fapiError(t, "POST /client/sign_ins strategy="+strategy, res, body, http.StatusUnprocessableEntity, "strategy_for_user_invalid")
			if setCookies(res)[socFlowCookie] != nil {
				t.Errorf("strategy=%s: got a flow cookie, want none", strategy)
			}
		}
	})
}

// ----- Configuration -----

// socBaseEnv is a complete development configuration for config.Load.
func socBaseEnv(t *testing.T) map[string]string {
	return map[string]string{
		"APP_URL":              "http://127.0.0.1:3999",
		"CLERK_SECRET_KEY":     config.NewSecretKey(false),
		"CLERK_ENCRYPTION_KEY": config.NewEncryptionKey(),
		"DATABASE_URL":         "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db"),
	}
}

// TestSocialConfigErrorsNameTheVariable: a provider configured wrongly
// stops the start with a message naming the variable to fix: config.Load
// for what the environment alone shows, app.New for what the issuer's
// URL or its discovery shows.
func TestSocialConfigErrorsNameTheVariable(t *testing.T) {
	// A loopback port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	acme := map[string]string{"OAUTH_PROVIDERS": "acme", "OAUTH_ACME_CLIENT_ID": "id", "OAUTH_ACME_CLIENT_SECRET": "secret", "OAUTH_ACME_ISSUER": "https://id.acme.example"}
	without := func(m map[string]string, k string) map[string]string {
		out := map[string]string{}
		for kk, v := range m {
			if kk != k {
				out[kk] = v
			}
		}
		return out
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := without(m, "")
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	github := map[string]string{"OAUTH_PROVIDERS": "github", "OAUTH_GITHUB_CLIENT_ID": "id", "OAUTH_GITHUB_CLIENT_SECRET": "secret"}
	production := func(m map[string]string) map[string]string {
		return with(m, "APP_ENV", "production", "APP_URL", "https://app.example.com", "CLERK_SECRET_KEY", config.NewSecretKey(true))
	}

	for _, tc := range []struct {
		name    string
		env     map[string]string
		atLoad  bool // refused by config.Load (else by app.New)
		mention string
	}{
		{"unknown provider without an issuer", without(acme, "OAUTH_ACME_ISSUER"), true, "OAUTH_ACME_ISSUER"},
		{"missing secret", without(acme, "OAUTH_ACME_CLIENT_SECRET"), true, "OAUTH_ACME_CLIENT_SECRET"},
		{"missing client id", without(acme, "OAUTH_ACME_CLIENT_ID"), true, "OAUTH_ACME_CLIENT_ID"},
		{"GitHub without a secret", without(github, "OAUTH_GITHUB_CLIENT_SECRET"), true, "OAUTH_GITHUB_CLIENT_SECRET"},
		{"a name that cannot be a strategy", with(acme, "OAUTH_PROVIDERS", "ac-me"), true, "OAUTH_PROVIDERS"},
		{"a provider named twice", with(acme, "OAUTH_PROVIDERS", "acme,ACME"), true, "OAUTH_PROVIDERS"},
		{"a Microsoft tenant that is not one", map[string]string{"OAUTH_PROVIDERS": "microsoft", "OAUTH_MICROSOFT_CLIENT_ID": "id",
			"OAUTH_MICROSOFT_CLIENT_SECRET": "secret", "OAUTH_MICROSOFT_TENANT": "../evil"}, true, "OAUTH_MICROSOFT_TENANT"},
		{"an http issuer off loopback", with(acme, "OAUTH_ACME_ISSUER", "http://id.acme.example"), false, "OAUTH_ACME_ISSUER"},
		{"an issuer that is not a URL", with(acme, "OAUTH_ACME_ISSUER", "id.acme.example"), false, "OAUTH_ACME_ISSUER"},
		{"an http GitHub URL off loopback", with(github, "OAUTH_GITHUB_URL", "http://github.acme.example"), false, "OAUTH_GITHUB_URL"},
		{"an http GitHub API URL off loopback", with(github, "OAUTH_GITHUB_API_URL", "http://api.github.acme.example"), false, "OAUTH_GITHUB_API_URL"},
		{"production: an http issuer on loopback", production(with(acme, "OAUTH_ACME_ISSUER", "http://"+closed)), false, "OAUTH_ACME_ISSUER"},
		{"production: discovery fails", production(with(acme, "OAUTH_ACME_ISSUER", "https://"+closed)), false, "OAUTH_ACME_ISSUER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := socBaseEnv(t)
			for k, v := range tc.env {
				env[k] = v
			}
			cfg, err := config.Load(func(k string) string { return env[k] })
			if tc.atLoad {
				if err == nil || !strings.Contains(err.Error(), tc.mention) {
					t.Errorf("config.Load: got error %v, want one naming %s", err, tc.mention)
				}
				return
			}
			if err != nil {
				t.Fatalf("config.Load: got %v, want it to pass (the refusal is app.New's)", err)
			}
			a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				a.Close()
				t.Fatalf("app.New: got no error, want one naming %s", tc.mention)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("app.New: got error %q, want it to name %s", err, tc.mention)
			}
		})
	}
}

// TestSocialProviderDownInDevelopment: in development a provider whose
// discovery fails does not stop the start; its button then answers 503
// with Retry-After and the sign-in page, never a 500.
func TestSocialProviderDownInDevelopment(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + l.Addr().String()
	l.Close()
	ta := startApp(t, map[string]string{"OAUTH_PROVIDERS": "acme", "OAUTH_ACME_CLIENT_ID": "id",
		"OAUTH_ACME_CLIENT_SECRET": "secret", "OAUTH_ACME_ISSUER": issuer})
	c := ta.Browser(t)
	res, body := harness.PostForm(t, c, ta.URL+"/sign-in/oauth/acme", nil)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("POST /sign-in/oauth/acme with the provider down: got %d Retry-After %q, want 503 with Retry-After; page: %.300s",
			res.StatusCode, res.Header.Get("Retry-After"), profText(body))
	}
	if !strings.Contains(profText(body), "cannot be reached") || !strings.Contains(body, `action="/sign-in"`) {
		t.Errorf("POST /sign-in/oauth/acme with the provider down: got %.400s, want the sign-in page saying it cannot be reached", profText(body))
	}
	if setCookies(res)[socFlowCookie] != nil {
		t.Errorf("POST /sign-in/oauth/acme with the provider down: got a flow cookie, want none")
	}
}
