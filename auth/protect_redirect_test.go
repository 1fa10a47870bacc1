package auth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// TestProtectRedirectStatus checks that signed-out page requests are sent
// to sign-in with 307 for GET and HEAD, and 303 for other methods, so a
// browser never re-posts a form body to the sign-in page.
func TestProtectRedirectStatus(t *testing.T) {
	rd, err := auth.NewRedirects("http://localhost:3000", nil, "/sign-in")
	if err != nil {
		t.Fatal(err)
	}
	verifier := token.NewVerifier(token.VerifierConfig{Keys: token.NewKeyring(), Issuer: "http://localhost:3000", TokenTTL: time.Minute})
	h := auth.Middleware(auth.Options{SecretKey: "sk_test_x", Verifier: verifier, Redirects: rd})(
		auth.Protect()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("protected handler ran signed out") })))
	for _, tt := range []struct {
		method string
		want   int
	}{{http.MethodGet, http.StatusTemporaryRedirect}, {http.MethodHead, http.StatusTemporaryRedirect},
		{http.MethodPost, http.StatusSeeOther}, {http.MethodDelete, http.StatusSeeOther}} {
		r := httptest.NewRequest(tt.method, "/account", nil)
		r.Header.Set("Accept", "text/html")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tt.want || !strings.HasPrefix(rec.Header().Get("Location"), "/sign-in?redirect_url=") {
			t.Errorf("%s signed out: got %d Location %q, want %d to /sign-in?redirect_url=…", tt.method, rec.Code, rec.Header().Get("Location"), tt.want)
		}
	}
}
