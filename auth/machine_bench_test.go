package auth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth"
)

// benchMachineOn measures the middleware plus GetAuth on a request carrying
// a valid opaque token: one indexed SQLite lookup (last_used_at is written
// at most once a minute, so not in the loop).
func benchMachineOn(b *testing.B, s *stack, tok string, typ auth.TokenType) {
	h := auth.Middleware(s.opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := auth.GetAuth(r, auth.AcceptsToken(typ))
		if err != nil || !a.IsAuthenticated {
			b.Fatalf("GetAuth: got %v, %v; want %s", a, err, typ)
		}
	}))
	req := newReq("/", bearer(tok))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req) // the first use writes last_used_at
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// BenchmarkGetAuthM2MToken verifies an M2M token against the store.
func BenchmarkGetAuthM2MToken(b *testing.B) {
	s := newStack(b)
	tok := s.m2mToken(b, s.machines(b), `{"job":"bench"}`)
	benchMachineOn(b, s, tok.Token, auth.M2MToken)
}

// BenchmarkGetAuthAPIKey verifies a user's API key against the store.
func BenchmarkGetAuthAPIKey(b *testing.B) {
	s := newStack(b)
	sess := s.signIn(b, "benchkey@example.com")
	benchMachineOn(b, s, s.apiKey(b, sess.userID).Secret, auth.APIKey)
}
