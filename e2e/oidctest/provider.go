package oidctest

import (
	"context"
	"crypto/rand"
	"errors"
	"html"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// The provider's login page is one plain HTML form, so that a browser test
// can sign in on it the way a person would. These are its path and the CSS
// selectors of its parts, for chromedp and friends:
//
//	chromedp.WaitVisible(oidctest.LoginUsernameSelector),
//	chromedp.SendKeys(oidctest.LoginUsernameSelector, "ada"),
//	chromedp.SendKeys(oidctest.LoginPasswordSelector, "password"),
//	chromedp.Click(oidctest.LoginSubmitSelector),
//
// After a wrong password the form is shown again, with the reason in
// LoginErrorSelector and the username kept.
const (
	// LoginPath is the path of the login page on the provider. The
	// provider's authorize endpoint redirects there with the pending
	// request's id in the authRequestID query parameter, and the form
	// posts back to it.
	LoginPath = "/login/username"
	// LoginUsernameSelector selects the username input (name "username").
	LoginUsernameSelector = "#username"
	// LoginPasswordSelector selects the password input (name "password").
	LoginPasswordSelector = "#password"
	// LoginSubmitSelector selects the form's submit button.
	LoginSubmitSelector = "#login-submit"
	// LoginErrorSelector selects the message shown after a failed login.
	LoginErrorSelector = "#login-error"
)

// loginTemplate is the provider's login page. It is parsed per Provider
// rather than kept in a package variable, so the package holds no state.
const loginTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Sign in to the test provider</title>
</head>
<body>
<h1>Sign in to the test provider</h1>
<form method="post" action="` + LoginPath + `">
<input type="hidden" name="id" value="{{.ID}}">
<p><label for="username">Username</label>
<input id="username" name="username" autocomplete="username" value="{{.Username}}"></p>
<p><label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password"></p>
{{with .Error}}<p id="login-error" role="alert">{{.}}</p>{{end}}
<p><button id="login-submit" type="submit">Sign in</button></p>
</form>
</body>
</html>
`

// loginErrorPattern finds the failure message on a re-rendered login
// page, so Login can say why the provider refused the credentials.
var loginErrorPattern = regexp.MustCompile(`<p id="login-error"[^>]*>([^<]*)</p>`)

// User is an account on the real provider.
type User struct {
	// Subject is the ID token's sub claim. It defaults to Username.
	Subject string
	// Username and Password are what the login form accepts. Usernames
	// must be unique.
	Username, Password string
	// Email and EmailVerified become the email and email_verified claims
	// (scope email).
	Email         string
	EmailVerified bool
	// FirstName and LastName become given_name and family_name (scope
	// profile); name is both joined with a space.
	FirstName, LastName string
}

// Provider is a real OpenID provider, zitadel/oidc's op package, on a
// loopback httptest server with an in-memory store of clients and users.
// It exists so the app is tested against a standards-compliant provider
// whose behaviour the test does not script: discovery, authorization code
// with PKCE, client_secret_basic and client_secret_post, RS256 ID tokens
// with the nonce and the email and profile claims.
type Provider struct {
	srv    *httptest.Server
	issuer string
	op     *op.Provider
	store  *opStorage
	dir    *directory
	login  *template.Template
}

// Start starts a real OpenID provider and closes it when the test ends. It
// has no clients or users yet: add them with AddClient and AddUser, which
// may be done after the app started and its redirect URI is known.
//
// The issuer is http://127.0.0.1:<port>. zitadel refuses http issuers
// unless the provider is created with op.WithAllowInsecure, and http
// redirect URIs unless the client is in dev mode; Start does both.
func Start(t testing.TB) *Provider {
	t.Helper()
	// An unstarted server has its listener, and so the issuer, before any
	// request can arrive: the provider needs the issuer to be built.
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()

	dir := &directory{users: map[string]User{}, clients: map[string]opClient{}}
	store := &opStorage{
		// The example's storage does the protocol bookkeeping (auth
		// requests, codes, tokens, signing key). It gets an empty client
		// map of its own, never its package-level one, because clients
		// are looked up in dir instead (see opStorage).
		Storage: storage.NewStorageWithClients(dir, map[string]*storage.Client{}),
		dir:     dir,
	}

	var key [32]byte // encrypts the opaque access tokens
	_, _ = rand.Read(key[:])
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:          key,
		CryptoKeyId:        "oidctest",
		CodeMethodS256:     true, // advertise and verify PKCE S256
		AuthMethodPost:     true, // accept client_secret_post besides Basic
		SupportedUILocales: []language.Tag{language.English},
	}, store, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		srv.Close()
		t.Fatalf("oidctest: create the OpenID provider: %v", err)
	}

	p := &Provider{
		srv:    srv,
		issuer: issuer,
		op:     provider,
		store:  store,
		dir:    dir,
		login:  template.Must(template.New("login").Parse(loginTemplate)),
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LoginPath, p.loginPage)
	// The interceptor puts the issuer into the request context, where
	// op.AuthCallbackURL reads it to build the absolute callback URL.
	mux.Handle("POST "+LoginPath, op.NewIssuerInterceptor(provider.IssuerFromRequest).HandlerFunc(p.checkLogin))
	// The provider serves discovery, authorize, token, keys, userinfo, and
	// the authorize callback the login form finishes on.
	mux.Handle("/", provider)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return p
}

// Issuer returns the issuer URL (no trailing slash), for OAUTH_<NAME>_ISSUER.
// Its /.well-known/openid-configuration is the discovery document.
func (p *Provider) Issuer() string { return p.issuer }

// AddClient registers a confidential web client, or replaces the one with
// the same id. redirectURIs are matched exactly; http ones are allowed
// because the client is in zitadel's dev mode. It is safe to call at any
// time from any goroutine.
func (p *Provider) AddClient(id, secret string, redirectURIs ...string) {
	if id == "" {
		panic("oidctest: Provider.AddClient needs a client id")
	}
	p.dir.mu.Lock()
	defer p.dir.mu.Unlock()
	p.dir.clients[id] = opClient{
		id:           id,
		secret:       secret,
		redirectURIs: append([]string(nil), redirectURIs...),
	}
}

// AddUser adds an account that can sign in on the login page, or replaces
// the one with the same subject. It is safe to call at any time from any
// goroutine.
func (p *Provider) AddUser(u User) {
	if u.Username == "" {
		panic("oidctest: Provider.AddUser needs a Username")
	}
	if u.Subject == "" {
		u.Subject = u.Username
	}
	p.dir.mu.Lock()
	defer p.dir.mu.Unlock()
	p.dir.users[u.Subject] = u
}

// Login signs in on the provider the way a browser would, for the
// integration tests: given the provider's authorize URL the app redirected
// to, it follows the provider's redirects to its login page, submits
// username and password, follows the provider's redirects again and
// returns the URL of the redirect to the app's callback, with the code and
// state in its query. It does not follow that last redirect: the test
// sends it to the app with its own client.
//
// c is used with its cookie jar and transport but without following
// redirects. Login fails the test, saying at which step and why, when the
// provider refuses the request or the credentials or redirects back
// without a code.
func (p *Provider) Login(t testing.TB, c *http.Client, authorizeURL, username, password string) string {
	t.Helper()
	if c == nil {
		c = &http.Client{}
	}
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	if u, err := url.Parse(authorizeURL); err != nil || !p.owns(u) {
		t.Fatalf("oidctest: Login: %q is not a URL of the provider at %s", authorizeURL, p.issuer)
	}
	req := p.newRequest(t, http.MethodGet, authorizeURL, nil)
	redirect, page := p.walk(t, &nc, req)
	if redirect != "" {
		t.Fatalf("oidctest: Login: the provider redirected to %s instead of showing its login page", redirect)
	}
	if page.status != http.StatusOK || page.url.Path != LoginPath {
		t.Fatalf("oidctest: Login: the provider refused the authorize request %s: %d at %s: %s",
			authorizeURL, page.status, page.url, excerpt(page.body))
	}
	id := page.url.Query().Get("authRequestID")

	form := url.Values{"id": {id}, "username": {username}, "password": {password}}
	req = p.newRequest(t, http.MethodPost, p.issuer+LoginPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	redirect, page = p.walk(t, &nc, req)
	if redirect == "" {
		reason := excerpt(page.body)
		if m := loginErrorPattern.FindStringSubmatch(page.body); m != nil {
			reason = html.UnescapeString(m[1])
		}
		t.Fatalf("oidctest: Login: signing in as %q failed: %d at %s: %s", username, page.status, page.url, reason)
	}

	back, err := url.Parse(redirect)
	if err != nil {
		t.Fatalf("oidctest: Login: the provider redirected to an unparsable URL %q: %v", redirect, err)
	}
	if q := back.Query(); q.Get("code") == "" {
		t.Fatalf("oidctest: Login: the provider redirected to %s without a code (error %q: %q)",
			redirect, q.Get("error"), q.Get("error_description"))
	}
	return redirect
}

// page is a response Login stopped at because it was not a redirect.
type page struct {
	status int
	url    *url.URL
	body   string
}

// walk sends req and follows redirects as long as they stay on the
// provider. It returns the first redirect that leaves the provider (the
// one to the app), or else the page it ended on.
func (p *Provider) walk(t testing.TB, c *http.Client, req *http.Request) (redirect string, last page) {
	t.Helper()
	for range 10 {
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("oidctest: Login: %s %s: %v", req.Method, req.URL, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		if err != nil {
			t.Fatalf("oidctest: Login: read %s %s: %v", req.Method, req.URL, err)
		}
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
			http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			return "", page{status: resp.StatusCode, url: req.URL, body: string(body)}
		}
		next, err := resp.Location()
		if err != nil {
			t.Fatalf("oidctest: Login: %s %s redirected without a usable Location: %v", req.Method, req.URL, err)
		}
		if !p.owns(next) {
			return next.String(), page{}
		}
		req = p.newRequest(t, http.MethodGet, next.String(), nil)
	}
	t.Fatalf("oidctest: Login: more than 10 redirects within the provider, last %s", req.URL)
	return "", page{}
}

// newRequest builds a request bound to the test's context, so a hung
// provider cannot outlive the test.
func (p *Provider) newRequest(t testing.TB, method, target string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, target, body)
	if err != nil {
		t.Fatalf("oidctest: Login: %s %s: %v", method, target, err)
	}
	return req
}

// owns reports whether u is on the provider's origin.
func (p *Provider) owns(u *url.URL) bool {
	return u.Scheme+"://"+u.Host == p.issuer
}

// excerpt shortens a response body for a failure message.
func excerpt(body string) string {
	body = strings.TrimSpace(body)
	if len(body) > 500 {
		return body[:500] + "…"
	}
	return body
}

// loginData is what the login template shows.
type loginData struct {
	ID, Username, Error string
}

// loginPage shows the login form for the pending auth request the
// provider redirected to it with.
func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	if id == "" {
		http.Error(w, "missing authRequestID: start at the provider's authorize endpoint", http.StatusBadRequest)
		return
	}
	p.renderLogin(w, http.StatusOK, loginData{ID: id})
}

// checkLogin checks the submitted credentials against the pending auth
// request and, when they are right, hands the request back to the
// provider's authorize callback, which redirects to the client with a
// code. Wrong credentials show the form again with 401.
func (p *Provider) checkLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "cannot parse the login form: "+err.Error(), http.StatusBadRequest)
		return
	}
	id, username := r.PostForm.Get("id"), r.PostForm.Get("username")
	if err := p.store.CheckUsernamePassword(username, r.PostForm.Get("password"), id); err != nil {
		p.renderLogin(w, http.StatusUnauthorized, loginData{ID: id, Username: username, Error: err.Error()})
		return
	}
	http.Redirect(w, r, op.AuthCallbackURL(p.op)(r.Context(), id), http.StatusFound)
}

func (p *Provider) renderLogin(w http.ResponseWriter, status int, data loginData) {
	var b strings.Builder
	if err := p.login.Execute(&b, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}

// directory holds the provider's users and clients. It is the example
// storage's UserStore, and the client registry opStorage consults, behind
// one lock so both can change while the provider serves requests.
type directory struct {
	mu      sync.RWMutex
	users   map[string]User // by subject
	clients map[string]opClient
}

// GetUserByID implements storage.UserStore. It returns a copy, since the
// storage reads it after the lock is released.
func (d *directory) GetUserByID(id string) *storage.User {
	d.mu.RLock()
	defer d.mu.RUnlock()
	u, ok := d.users[id]
	if !ok {
		return nil
	}
	return storageUser(u)
}

// GetUserByUsername implements storage.UserStore.
func (d *directory) GetUserByUsername(username string) *storage.User {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, u := range d.users {
		if u.Username == username {
			return storageUser(u)
		}
	}
	return nil
}

// ExampleClientID implements storage.UserStore. The example storage lets
// the client with this id authenticate with the private key published in
// the zitadel repository (JWT profile), so it names no client a test would
// register.
func (d *directory) ExampleClientID() string { return "oidctest-no-such-service-client" }

func storageUser(u User) *storage.User {
	return &storage.User{
		ID:                u.Subject,
		Username:          u.Username,
		Password:          u.Password,
		FirstName:         u.FirstName,
		LastName:          u.LastName,
		Email:             u.Email,
		EmailVerified:     u.EmailVerified,
		PreferredLanguage: language.English,
	}
}

// opStorage is the example storage with clients from the directory. The
// example keeps clients in a map it reads under its own lock, which this
// package cannot take, so adding a client after Start would race; and its
// Client type cannot be made to put the email and profile claims into the
// ID token. Overriding the client lookups fixes both.
type opStorage struct {
	*storage.Storage
	dir *directory
}

// errUnknownClient is what the storage answers for an unregistered
// client id; the provider turns it into invalid_client.
var errUnknownClient = errors.New("oidctest: no such client")

// GetClientByClientID implements op.Storage.
func (s *opStorage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	c, ok := s.dir.clients[clientID]
	if !ok {
		return nil, errUnknownClient
	}
	return c, nil
}

// AuthorizeClientIDSecret implements op.Storage.
func (s *opStorage) AuthorizeClientIDSecret(_ context.Context, clientID, clientSecret string) error {
	s.dir.mu.RLock()
	defer s.dir.mu.RUnlock()
	c, ok := s.dir.clients[clientID]
	if !ok {
		return errUnknownClient
	}
	if !equal(c.secret, clientSecret) {
		return errors.New("oidctest: wrong client secret")
	}
	return nil
}

// ClientCredentials implements op.ClientCredentialsStorage by refusing:
// the example storage has a built-in service account for the client
// credentials grant, which the sign-in tests have no use for.
func (s *opStorage) ClientCredentials(context.Context, string, string) (op.Client, error) {
	return nil, errors.New("oidctest: the client credentials grant is not offered")
}

// opClient is a confidential web client of the provider. Its methods
// implement op.Client.
type opClient struct {
	id, secret   string
	redirectURIs []string
}

func (c opClient) GetID() string                    { return c.id }
func (c opClient) RedirectURIs() []string           { return c.redirectURIs }
func (c opClient) PostLogoutRedirectURIs() []string { return nil }
func (c opClient) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}

// AuthMethod is Basic, but the provider accepts client_secret_post from
// it too, because Config.AuthMethodPost is set.
func (c opClient) AuthMethod() oidc.AuthMethod { return oidc.AuthMethodBasic }
func (c opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c opClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c opClient) LoginURL(authRequestID string) string {
	return LoginPath + "?authRequestID=" + url.QueryEscape(authRequestID)
}
func (c opClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c opClient) IDTokenLifetime() time.Duration      { return time.Hour }

// DevMode allows http redirect URIs, which loopback apps have.
func (c opClient) DevMode() bool { return true }
func (c opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
func (c opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
func (c opClient) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts the email and profile claims into
// the ID token. By the letter of OIDC Core 5.4 they belong only in the
// userinfo response once an access token is issued, and zitadel keeps to
// that unless told otherwise; but the sign-in tests need the ID token
// alone to identify the user, as it does at most providers (Google,
// Microsoft and others put the claims there).
func (c opClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c opClient) ClockSkew() time.Duration             { return 0 }
