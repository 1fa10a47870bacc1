package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// benchSession starts the app, signs a user in and returns a request
// factory carrying the browser's cookies.
func benchSession(b *testing.B) (*testApp, func(path string) *http.Request) {
	ta := startApp(b, map[string]string{"SESSION_TOKEN_TTL": "1h", "GATEHOUSE_LOADTEST_ROUTES": "1"})
	ta.CreateUser(b, "bench@example.com", "bench-password-123", "Bench", "User")
	c := ta.Browser(b)
	ta.SignIn(b, c, "bench@example.com", "bench-password-123")
	tok, client := ta.Cookie(b, c, identity.SessionCookie), ta.Cookie(b, c, identity.ClientCookie)
	if tok == "" || client == "" {
		b.Fatal("no session or client cookie after sign-in")
	}
	return ta, func(path string) *http.Request {
		// Both cookies, as a browser sends them.
		r := httptest.NewRequest(http.MethodGet, ta.URL+path, nil) // the app's Host
		r.AddCookie(&http.Cookie{Name: identity.ClientCookie, Value: client})
		r.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: tok})
		r.Header.Set("Accept", "application/json")
		return r
	}
}

// benchServe runs h on the request req makes, b.N times, and fails on a
// status other than want. Besides the wall time it reports the process's
// CPU time per operation (cpu-ns/op), which other work on a shared machine
// disturbs less.
func benchServe(b *testing.B, h http.Handler, req func() *http.Request, want int) {
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req())
		if rec.Code != want {
			b.Fatalf("got status %d, want %d", rec.Code, want)
		}
	}
	if cpu > 0 {
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	}
}

// reuse returns r every time: the handlers only read it.
func reuse(r *http.Request) func() *http.Request { return func() *http.Request { return r } }

// BenchmarkAPIMeProtected is GET /api/me with a valid session cookie
// through the whole router: security headers, CSRF check, the auth
// middleware (verified-token cache hit), GetAuth and the JSON response.
func BenchmarkAPIMeProtected(b *testing.B) {
	ta, req := benchSession(b)
	benchServe(b, ta.App.Handler, reuse(req("/api/me")), http.StatusOK)
}

// BenchmarkAPIMeBearer is GET /api/me with the session token in an
// Authorization: Bearer header instead of the cookie.
func BenchmarkAPIMeBearer(b *testing.B) {
	ta, req := benchSession(b)
	r := req("/api/me")
	c, err := r.Cookie(identity.SessionCookie)
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Del("Cookie")
	r.Header.Set("Authorization", "Bearer "+c.Value)
	benchServe(b, ta.App.Handler, reuse(r), http.StatusOK)
}

// BenchmarkAPIMeUnprotected is the baseline of the load test's (a): the
// same JSON as /api/me from /__bench/me, mounted behind the same router
// and common middleware but outside the CSRF check and auth, with the same
// cookies on the request.
func BenchmarkAPIMeUnprotected(b *testing.B) {
	ta, req := benchSession(b)
	benchServe(b, ta.App.Handler, reuse(req("/__bench/me")), http.StatusOK)
}

// BenchmarkPageUnprotected is the baseline of the load test's (d): the
// dashboard's view in the layout with fixed data, without auth, store
// reads or BuildClerkProps.
func BenchmarkPageUnprotected(b *testing.B) {
	ta, req := benchSession(b)
	r := req("/__bench/page")
	r.Header.Set("Accept", "text/html")
	benchServe(b, ta.App.Handler, reuse(r), http.StatusOK)
}

// BenchmarkDashboardRender is a protected page: the loader (GetAuth, a
// backend-client read, the user's items), BuildClerkProps and the layout.
func BenchmarkDashboardRender(b *testing.B) {
	ta, req := benchSession(b)
	r := req("/dashboard")
	r.Header.Set("Accept", "text/html")
	benchServe(b, ta.App.Handler, reuse(r), http.StatusOK)
}

// BenchmarkRefresh is the inline refresh: a request with only the
// __client cookie, so the middleware loads the client and its session from
// the store and mints a new RS256 session token.
func BenchmarkRefresh(b *testing.B) { benchRefresh(b, false) }

// BenchmarkRefreshWithOrganization is the inline refresh of a session
// with an active organization: one more store read (the membership, with
// the organization's slug) and the o and fea claims.
func BenchmarkRefreshWithOrganization(b *testing.B) { benchRefresh(b, true) }

func benchRefresh(b *testing.B, withOrg bool) {
	ta := startApp(b, nil)
	ta.CreateUser(b, "refresh@example.com", "bench-password-123", "Re", "Fresh")
	c := ta.Browser(b)
	ta.SignIn(b, c, "refresh@example.com", "bench-password-123")
	if withOrg {
		org, err := ta.App.Orgs.Create(context.Background(), identity.AsUser(ta.UserID(b, "refresh@example.com")),
			identity.CreateOrganizationInput{Name: "Bench"})
		if err != nil {
			b.Fatal(err)
		}
		ta.orgActivate(b, c, org.ID)
	}
	client := ta.Cookie(b, c, identity.ClientCookie)
	r := httptest.NewRequest(http.MethodGet, ta.URL+"/api/me", nil)
	r.AddCookie(&http.Cookie{Name: identity.ClientCookie, Value: client})
	benchServe(b, ta.App.Handler, reuse(r), http.StatusOK)
}

// BenchmarkRefreshFrontendAPI is the browser script's refresh, the load
// test's (f): POST /__clerk/v1/client/sessions/{sid}/tokens with both
// cookies, same-origin.
func BenchmarkRefreshFrontendAPI(b *testing.B) {
	ta, req := benchSession(b)
	c, err := req("/").Cookie(identity.SessionCookie)
	if err != nil {
		b.Fatal(err)
	}
	_, claims := jwtParts(b, c.Value)
	sid, _ := claims["sid"].(string)
	r := req("/__clerk/v1/client/sessions/" + sid + "/tokens")
	r.Method = http.MethodPost
	r.Host = strings.TrimPrefix(ta.URL, "http://")
	r.Header.Set("Origin", ta.URL)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Content-Type", "application/json")
	benchServe(b, ta.App.Handler, reuse(r), http.StatusOK)
}

// BenchmarkSignIn is POST /sign-in with the right password: an argon2id
// verification, the store writes and the first token.
func BenchmarkSignIn(b *testing.B) {
	ta := startApp(b, nil)
	ta.CreateUser(b, "signin@example.com", "bench-password-123", "Sign", "In")
	body := url.Values{"identifier": {"signin@example.com"}, "password": {"bench-password-123"}}.Encode()
	benchServe(b, ta.App.Handler, func() *http.Request { return formRequest(ta.URL+"/sign-in", body) }, http.StatusSeeOther)
}

// BenchmarkSignUp is POST /sign-up for a new address each time: the
// password rules, an argon2id hash, the user, the session and a token.
func BenchmarkSignUp(b *testing.B) {
	ta := startApp(b, nil)
	i := 0
	benchServe(b, ta.App.Handler, func() *http.Request {
		i++
		return formRequest(ta.URL+"/sign-up", url.Values{"email_address": {fmt.Sprintf("new%d@example.com", i)}, "password": {"bench-password-123"}}.Encode())
	}, http.StatusSeeOther)
}

// formRequest is a POST of a URL-encoded form body (a fresh body each call).
func formRequest(path, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}
