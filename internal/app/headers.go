package app

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"

	"github.com/a-h/templ"
)

// SecurityHeaders sets the browser security headers on every response and
// a fresh CSP nonce per request, which the layout puts on its scripts (no
// inline script runs without it). hsts adds Strict-Transport-Security, for
// production behind https. formOrigins are the other origins forms may
// lead to (the sign-in pages of OAuth providers, reached by a redirect
// after a form, which form-action covers too).
func SecurityHeaders(hsts bool, formOrigins ...string) func(http.Handler) http.Handler {
	formAction := "'self'"
	for _, o := range formOrigins {
		formAction += " " + o
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var b [18]byte
			rand.Read(b[:])
			nonce := base64.RawStdEncoding.EncodeToString(b[:])
			h := w.Header()
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'nonce-"+nonce+"' 'strict-dynamic'; "+
				"style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "+
				"form-action "+formAction+"; frame-ancestors 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
			h.Set("X-Frame-Options", "DENY")
			if hsts {
				h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
			}
			next.ServeHTTP(w, r.WithContext(templ.WithNonce(r.Context(), nonce)))
		})
	}
}
