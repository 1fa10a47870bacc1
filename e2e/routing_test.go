package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/internal/cli"
)

// TestPublicResponsesNeverRefresh checks that cacheable public responses
// (static files, JWKS, health) never carry a freshly minted session cookie,
// even for a browser whose session token is missing and whose client cookie
// is valid: a shared cache could otherwise hand the token to someone else.
func TestPublicResponsesNeverRefresh(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, "pub@example.com", "public caching test", "Pub", "Lic")
	c := ta.Browser(t)
	ta.SignIn(t, c, "pub@example.com", "public caching test")
	client := ta.Cookie(t, c, "__client")
	bare := ta.Browser(t)
	u, _ := url.Parse(ta.URL)
	bare.Jar.SetCookies(u, []*http.Cookie{{Name: "__client", Value: client, Path: "/"}})

	for _, path := range []string{"/static/clerk.js", "/static/style.css", "/.well-known/jwks.json", "/healthz", "/readyz"} {
		res, _ := harness.Do(t, bare, http.MethodGet, ta.URL+path, nil, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: got status %d, want 200", path, res.StatusCode)
		}
		if sc := res.Header.Values("Set-Cookie"); len(sc) > 0 {
			t.Errorf("GET %s: got Set-Cookie %q, want none on a public response", path, sc)
		}
	}
	// The same browser on a page is refreshed inline, as it should be.
	res, _ := harness.Do(t, bare, http.MethodGet, ta.URL+"/api/me", nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(strings.Join(res.Header.Values("Set-Cookie"), ";"), "__session=") {
		t.Errorf("GET /api/me with only __client: got %d and Set-Cookie %q, want 200 with a new __session", res.StatusCode, res.Header.Values("Set-Cookie"))
	}
}

// TestStaticNoDirectoryListing checks that /static/ lists nothing.
func TestStaticNoDirectoryListing(t *testing.T) {
	ta := startApp(t, nil)
	res, body := harness.Do(t, ta.Browser(t), http.MethodGet, ta.URL+"/static/", nil, nil)
	if res.StatusCode != http.StatusNotFound || strings.Contains(body, "clerk.js") {
		t.Errorf("GET /static/: got %d %.80q, want 404 without a listing", res.StatusCode, body)
	}
}

// TestUnknownRoutesAnswerInKind checks that unknown paths answer JSON on
// the JSON surfaces and a page elsewhere, and that GET /sign-out is a 405
// naming POST.
func TestUnknownRoutesAnswerInKind(t *testing.T) {
	ta := startApp(t, nil)
	c := ta.Browser(t)
	for _, tt := range []struct {
		path, wantType string
		wantStatus     int
	}{
		{"/api/nope", "application/json", http.StatusNotFound},
		{"/api/items/", "application/json", http.StatusNotFound},
		{"/__clerk/v1/nope", "application/json", http.StatusNotFound},
		{"/__clerk/v1//client", "application/json", http.StatusNotFound},
		{"/nope", "text/html; charset=utf-8", http.StatusNotFound},
		{"/sign-out", "text/html; charset=utf-8", http.StatusMethodNotAllowed},
	} {
		res, _ := harness.Do(t, c, http.MethodGet, ta.URL+tt.path, nil, nil)
		if res.StatusCode != tt.wantStatus || res.Header.Get("Content-Type") != tt.wantType {
			t.Errorf("GET %s: got %d %q, want %d %q", tt.path, res.StatusCode, res.Header.Get("Content-Type"), tt.wantStatus, tt.wantType)
		}
	}
	res, _ := harness.Do(t, c, http.MethodGet, ta.URL+"/sign-out", nil, nil)
	if got := res.Header.Get("Allow"); got != http.MethodPost {
		t.Errorf("GET /sign-out: got Allow %q, want POST", got)
	}
}

// TestCommandHelp checks the command-line help.
func TestCommandHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"-h"}} {
		var out, errOut strings.Builder
		if code := cli.Run(t.Context(), args, &out, &errOut); code != 0 || !strings.Contains(out.String(), "users create") {
			t.Errorf("gatehouse %v: got exit %d and %q, want 0 and the command list", args, code, out.String())
		}
	}
	var out, errOut strings.Builder
	if code := cli.Run(t.Context(), []string{"users", "--help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "--email") {
		t.Errorf("gatehouse users --help: got exit %d and %q, want 0 and the usage", code, out.String())
	}
	if code := cli.Run(t.Context(), []string{"nonsense"}, &out, &errOut); code != 2 {
		t.Errorf("gatehouse nonsense: got exit %d, want 2", code)
	}
}

// TestTrustedProxyRateLimit checks that behind a trusted proxy (a bare IP
// in TRUSTED_PROXIES) the per-IP limit counts each X-Forwarded-For client
// apart, and without one the header is ignored.
func TestTrustedProxyRateLimit(t *testing.T) {
	attempt := func(ta *testApp, xff string) int {
		res, _ := harness.Do(t, ta.Browser(t), http.MethodPost, ta.URL+"/sign-in",
			strings.NewReader("identifier=x%40example.com&password=wrong-password"),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": xff})
		return res.StatusCode
	}
	behind := startApp(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1", "SIGN_IN_RATE_LIMIT": "2"})
	for i := range 2 {
		if got := attempt(behind, "203.0.113.7"); got != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d from 203.0.113.7: got %d, want 422", i+1, got)
		}
	}
	if got := attempt(behind, "203.0.113.7"); got != http.StatusTooManyRequests {
		t.Errorf("3rd attempt from 203.0.113.7: got %d, want 429", got)
	}
	if got := attempt(behind, "198.51.100.9"); got != http.StatusUnprocessableEntity {
		t.Errorf("1st attempt from another client behind the proxy: got %d, want 422", got)
	}

	direct := startApp(t, map[string]string{"SIGN_IN_RATE_LIMIT": "2"})
	attempt(direct, "203.0.113.1")
	attempt(direct, "203.0.113.2")
	if got := attempt(direct, "203.0.113.3"); got != http.StatusTooManyRequests {
		t.Errorf("untrusted X-Forwarded-For must not split the limit: got %d, want 429", got)
	}
}
