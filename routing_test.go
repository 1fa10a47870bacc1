package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPublicResponsesNeverRefresh checks that cacheable public responses
// (static files, JWKS, health) never carry a freshly minted session cookie,
// even for a browser whose session token is missing and whose client cookie
// is valid: a shared cache could otherwise hand the token to someone else.
func TestPublicResponsesNeverRefresh(t *testing.T) {
	ta := startApp(t, nil)
	ta.createUser(t, "pub@example.com", "public caching test", "Pub", "Lic")
	c := ta.browser(t)
	ta.signIn(t, c, "pub@example.com", "public caching test")
	client := ta.cookie(t, c, "__client")
	bare := ta.browser(t)
	u, _ := url.Parse(ta.URL)
	bare.Jar.SetCookies(u, []*http.Cookie{{Name: "__client", Value: client, Path: "/"}})

	for _, path := range []string{"/static/clerk.js", "/static/style.css", "/.well-known/jwks.json", "/healthz", "/readyz"} {
		res, _ := do(t, bare, http.MethodGet, ta.URL+path, nil, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: got status %d, want 200", path, res.StatusCode)
		}
		if sc := res.Header.Values("Set-Cookie"); len(sc) > 0 {
			t.Errorf("GET %s: got Set-Cookie %q, want none on a public response", path, sc)
		}
	}
	// The same browser on a page is refreshed inline, as it should be.
	res, _ := do(t, bare, http.MethodGet, ta.URL+"/api/me", nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(strings.Join(res.Header.Values("Set-Cookie"), ";"), "__session=") {
		t.Errorf("GET /api/me with only __client: got %d and Set-Cookie %q, want 200 with a new __session", res.StatusCode, res.Header.Values("Set-Cookie"))
	}
}

// TestStaticNoDirectoryListing checks that /static/ lists nothing.
func TestStaticNoDirectoryListing(t *testing.T) {
	ta := startApp(t, nil)
	res, body := do(t, ta.browser(t), http.MethodGet, ta.URL+"/static/", nil, nil)
	if res.StatusCode != http.StatusNotFound || strings.Contains(body, "clerk.js") {
		t.Errorf("GET /static/: got %d %.80q, want 404 without a listing", res.StatusCode, body)
	}
}
