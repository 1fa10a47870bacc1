// Package harness starts the whole application for end-to-end tests: the
// app of internal/app behind an httptest.Server, with a fresh SQLite
// database on disk, and the few steps every test takes (a browser with a
// cookie jar, a user, a sign-in through the form).
package harness

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// HS256Secret is the shared secret of the HS256 JWT template tests create.
const HS256Secret = "a-supabase-jwt-secret-of-32-bytes-or-more"

// Server is the application served by an httptest.Server.
type Server struct {
	*httptest.Server
	App *app.App
	Cfg *config.Config
}

// Start starts the app. env overrides the test defaults (any variable of
// the configuration, e.g. SESSION_TOKEN_TTL).
func Start(t testing.TB, env map[string]string) *Server {
	t.Helper()
	return StartLogging(t, env, slog.New(slog.DiscardHandler))
}

// StartLogging is Start with the app logging to log.
func StartLogging(t testing.TB, env map[string]string, log *slog.Logger) *Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	vars := map[string]string{
		"APP_URL":              "http://" + srv.Listener.Addr().String(),
		"CLERK_SECRET_KEY":     config.NewSecretKey(false),
		"CLERK_ENCRYPTION_KEY": config.NewEncryptionKey(),
		"DATABASE_URL":         "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db"),
		"SIGN_IN_RATE_LIMIT":   "10000",
		// Tests of other features sign up in one step; the tests of
		// verified sign-up set email_code, the default, themselves.
		"SIGN_UP_VERIFICATION": "off",
		// Likewise the waits between failed sign-ins: the lockout tests
		// fail ten times in a row; the tests of the waits set them.
		"SIGN_IN_DELAY": "0s",
	}
	for k, v := range env {
		vars[k] = v
	}
	if vars["APP_URL"] != "http://"+srv.Listener.Addr().String() {
		// Another instance's APP_URL (several instances, one issuer): this
		// one is reached on its own address, which it must then allow, as
		// a deployment lists each instance's address in ALLOWED_HOSTS.
		vars["ALLOWED_HOSTS"] = strings.Trim(vars["ALLOWED_HOSTS"]+","+srv.Listener.Addr().String(), ",")
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	a, err := app.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv.Config.Handler = a.Handler
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	return &Server{Server: srv, App: a, Cfg: cfg}
}

// CreateUser adds a user through the backend client.
func (s *Server) CreateUser(t testing.TB, email, password, first, last string) *auth.User {
	t.Helper()
	u, err := s.App.Client.Users.CreateUser(context.Background(), clerkclient.CreateUserParams{
		EmailAddress: []string{email}, Password: &password, FirstName: &first, LastName: &last,
	})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// UserID returns the id of the user with the address.
func (s *Server) UserID(t testing.TB, email string) string {
	t.Helper()
	u, err := s.App.Store.GetUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u.ID
}

// OrgID returns the id of the organization with the slug.
func (s *Server) OrgID(t testing.TB, slug string) string {
	t.Helper()
	org, err := s.App.Client.Organizations.GetOrganization(context.Background(), slug)
	if err != nil {
		t.Fatalf("organization %s: %v", slug, err)
	}
	return org.ID
}

// Browser returns an HTTP client with a cookie jar that does not follow
// redirects, so tests see every 303 and 307.
func (s *Server) Browser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Do sends a request and returns the response with its body read.
func Do(t testing.TB, c *http.Client, method, url string, body io.Reader, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// PostForm posts a URL-encoded form.
func PostForm(t testing.TB, c *http.Client, url string, form url.Values) (*http.Response, string) {
	t.Helper()
	return Do(t, c, http.MethodPost, url, strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

// SignIn signs c in through the sign-in form and fails the test otherwise.
func (s *Server) SignIn(t testing.TB, c *http.Client, email, password string) {
	t.Helper()
	res, body := PostForm(t, c, s.URL+"/sign-in", url.Values{"identifier": {email}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in %s: got status %d, want 303; body: %.300s", email, res.StatusCode, body)
	}
}

// Cookie returns the value of the named cookie in c's jar for the app.
func (s *Server) Cookie(t testing.TB, c *http.Client, name string) string {
	t.Helper()
	u, _ := url.Parse(s.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}
