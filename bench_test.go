package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// benchSession starts the app, signs a user in and returns a request
// factory carrying the session cookie.
func benchSession(b *testing.B) (*testApp, func(path string) *http.Request) {
	ta := startApp(b, map[string]string{"SESSION_TOKEN_TTL": "1h"})
	ta.createUser(b, "bench@example.com", "bench-password-123", "Bench", "User")
	c := ta.browser(b)
	ta.signIn(b, c, "bench@example.com", "bench-password-123")
	tok := ta.cookie(b, c, identity.SessionCookie)
	if tok == "" {
		b.Fatal("no session cookie after sign-in")
	}
	return ta, func(path string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: tok})
		r.Header.Set("Accept", "application/json")
		return r
	}
}

// BenchmarkAPIMeProtected is GET /api/me with a valid session cookie
// through the whole router: security headers, CSRF check, the auth
// middleware (verified-token cache hit), GetAuth and the JSON response.
func BenchmarkAPIMeProtected(b *testing.B) {
	ta, req := benchSession(b)
	h := ta.app.handler
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req("/api/me"))
		if rec.Code != http.StatusOK {
			b.Fatalf("got status %d, want 200", rec.Code)
		}
	}
}

// BenchmarkAPIMeUnprotected is the baseline: a bare handler writing the
// same JSON, without router or middleware.
func BenchmarkAPIMeUnprotected(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusOK, map[string]string{"userId": "user_2xQv9S8kS1bQ3nNw7hZ0aa"})
	})
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/me", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("got status %d, want 200", rec.Code)
		}
	}
}

// BenchmarkDashboardRender is a protected page: the loader (GetAuth, a
// backend-client read, the user's items), BuildClerkProps and the layout.
func BenchmarkDashboardRender(b *testing.B) {
	ta, req := benchSession(b)
	h := ta.app.handler
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		r := req("/dashboard")
		r.Header.Set("Accept", "text/html")
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			b.Fatalf("got status %d, want 200", rec.Code)
		}
	}
}
