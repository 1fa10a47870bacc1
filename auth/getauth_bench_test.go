package auth_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/identity/password"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// benchGetAuth measures the middleware plus GetAuth on a request carrying
// a valid session cookie, with the verifier's cache sized cacheSize
// (negative: no cache, so every request pays the RS256 verification).
func benchGetAuth(b *testing.B, cacheSize int) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	encKey := make([]byte, 32)
	keys, err := token.LoadKeyring(ctx, st, encKey, "")
	if err != nil {
		b.Fatal(err)
	}
	const issuer = "http://localhost:3000"
	hasher := password.NewHasher(password.DefaultParams, 0)
	cookies, err := identity.NewCookies(encKey, false, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	svc := identity.New(identity.Config{Issuer: issuer, AppOrigin: issuer, AuthorizedParties: []string{issuer},
		TokenTTL: time.Hour, SessionMaxAge: 24 * time.Hour}, st, keys, cookies, hasher, slog.New(slog.DiscardHandler))
	client := auth.NewClient(st, hasher)
	pw := "bench-password-123"
	if _, err := client.Users.CreateUser(ctx, auth.CreateUserParams{EmailAddress: []string{"b@example.com"}, Password: &pw}); err != nil {
		b.Fatal(err)
	}
	in, err := svc.SignIn(ctx, "b@example.com", pw, "", "")
	if err != nil {
		b.Fatal(err)
	}
	verifier := token.NewVerifier(token.VerifierConfig{Keys: keys, Issuer: issuer, AuthorizedParties: []string{issuer},
		TokenTTL: time.Hour, CacheSize: cacheSize})
	h := auth.Middleware(auth.Options{SecretKey: "sk_test_bench", Verifier: verifier, Identity: svc, Client: client})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a, err := auth.GetAuth(r)
			if err != nil || !a.IsAuthenticated {
				b.Fatalf("GetAuth: got %v, %v; want signed in", a, err)
			}
		}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: in.Token})
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
