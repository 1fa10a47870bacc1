package auth_test

import (
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
