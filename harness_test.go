package main

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
	"github.com/gatehouse-dev/gatehouse/auth/config"
)

// testApp is the whole application served by an httptest.Server, with a
// fresh SQLite database on disk.
type testApp struct {
	*httptest.Server
	app *app
	cfg *config.Config
}

// startApp starts the app. env overrides the test defaults (any variable
// of the configuration, e.g. SESSION_TOKEN_TTL).
func startApp(t testing.TB, env map[string]string) *testApp {
	t.Helper()
	return startAppLogging(t, env, slog.New(slog.DiscardHandler))
}

// startAppLogging is startApp with the app logging to log.
func startAppLogging(t testing.TB, env map[string]string, log *slog.Logger) *testApp {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	vars := map[string]string{
		"APP_URL":              "http://" + srv.Listener.Addr().String(),
		"CLERK_SECRET_KEY":     config.NewSecretKey(false),
		"CLERK_ENCRYPTION_KEY": config.NewEncryptionKey(),
		"DATABASE_URL":         "sqlite:" + filepath.Join(t.TempDir(), "gatehouse.db"),
		"SIGN_IN_RATE_LIMIT":   "10000",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	a, err := newApp(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	srv.Config.Handler = a.handler
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	return &testApp{Server: srv, app: a, cfg: cfg}
}

// createUser adds a user through the backend client.
func (ta *testApp) createUser(t testing.TB, email, password, first, last string) *auth.User {
	t.Helper()
	u, err := ta.app.client.Users.CreateUser(context.Background(), auth.CreateUserParams{
		EmailAddress: []string{email}, Password: &password, FirstName: &first, LastName: &last,
	})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// browser returns an HTTP client with a cookie jar that does not follow
// redirects, so tests see every 303 and 307.
func (ta *testApp) browser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends a request and returns the response with its body read.
func do(t testing.TB, c *http.Client, method, url string, body io.Reader, header map[string]string) (*http.Response, string) {
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

// postForm posts a URL-encoded form.
func postForm(t testing.TB, c *http.Client, url string, form url.Values) (*http.Response, string) {
	t.Helper()
	return do(t, c, http.MethodPost, url, strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

// signIn signs c in through the sign-in form and fails the test otherwise.
func (ta *testApp) signIn(t testing.TB, c *http.Client, email, password string) {
	t.Helper()
	res, body := postForm(t, c, ta.URL+"/sign-in", url.Values{"identifier": {email}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in %s: got status %d, want 303; body: %.300s", email, res.StatusCode, body)
	}
}

// cookie returns the value of the named cookie in c's jar for the app.
func (ta *testApp) cookie(t testing.TB, c *http.Client, name string) string {
	t.Helper()
	u, _ := url.Parse(ta.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

func TestHarnessSignIn(t *testing.T) {
	ta := startApp(t, nil)
	ta.createUser(t, "dora@example.com", "correct horse battery", "Dora", "Test")
	c := ta.browser(t)
	ta.signIn(t, c, "dora@example.com", "correct horse battery")
	res, body := do(t, c, http.MethodGet, ta.URL+"/api/me", nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"userId":"user_`) {
		t.Fatalf("GET /api/me after sign-in: got %d %s, want 200 with a userId", res.StatusCode, body)
	}
}
