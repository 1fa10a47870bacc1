package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// benchGetAuth measures the middleware plus GetAuth on a request carrying
// a valid session cookie, with the verifier's cache sized cacheSize
// (negative: no cache, so every request pays the RS256 verification).
func benchGetAuth(b *testing.B, cacheSize int) {
	s := newStack(b)
	sess := s.signIn(b, "bench@example.com")
	opts := s.opts
	opts.Verifier = token.NewVerifier(token.VerifierConfig{Keys: s.keys, Issuer: appURL, AuthorizedParties: parties,
		TokenTTL: time.Minute, CacheSize: cacheSize})
	h := auth.Middleware(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := auth.GetAuth(r)
		if err != nil || !a.IsAuthenticated {
			b.Fatalf("GetAuth: got %v, %v; want signed in", a, err)
		}
	}))
	req := newReq("/", withCookie(identity.SessionCookie, sess.token))
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// BenchmarkGetAuthCached is the steady state: the token was verified before.
func BenchmarkGetAuthCached(b *testing.B) { benchGetAuth(b, 0) }

// BenchmarkGetAuthCold verifies the RS256 signature on every request.
func BenchmarkGetAuthCold(b *testing.B) { benchGetAuth(b, -1) }

// BenchmarkHas is a permission and a role check against the token's
// organization claims, as a handler would make them.
func BenchmarkHas(b *testing.B) {
	a := &auth.Auth{
		TokenType: auth.SessionToken, IsAuthenticated: true, UserID: "user_1", SessionID: "sess_1",
		SessionStatus: "active", OrgID: "org_1", OrgRole: "org:admin", OrgSlug: "acme",
		OrgPermissions: []string{"org:team:manage", "org:team:read", "org:billing:read", "org:sys_memberships:manage"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if !a.Has(auth.HasParams{Permission: "org:billing:read"}) || !a.Has(auth.HasParams{Role: "admin"}) {
			b.Fatal("Has: got false, want true")
		}
	}
}

// BenchmarkBuildClerkProps is a page loader's BuildClerkProps for a
// signed-in request with the user from the backend client: the auth state
// and the user resource, private metadata removed, as JSON.
func BenchmarkBuildClerkProps(b *testing.B) {
	s := newStack(b)
	sess := s.signIn(b, "props-bench@example.com")
	user, err := s.client.Users.GetUser(context.Background(), sess.userID)
	if err != nil {
		b.Fatal(err)
	}
	req := newReq("/", withCookie(identity.SessionCookie, sess.token))
	var r *http.Request
	serve(s.opts, req, func(_ http.ResponseWriter, rr *http.Request) { r = rr }) // r carries the resolved state
	b.ReportAllocs()
	for b.Loop() {
		if _, err := auth.BuildClerkProps(r, auth.InitState{User: user}); err != nil {
			b.Fatal(err)
		}
	}
}
