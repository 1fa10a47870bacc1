package auth

import (
	"net/http"
	"net/textproto"
	"strings"
)

// maxQuickCookies bounds the requests firstCookie answers: with more
// cookies, r.Cookie applies net/http's limit on their number.
const maxQuickCookies = 64

// firstCookie returns the value of r's first cookie called name, its
// quotes removed, without checking its bytes and without allocating; ""
// when there is none or the request carries more than maxQuickCookies.
//
// It is the middleware's quick path to the session token, used as
// follows: when the value verifies as a token, it consists of base64url
// characters and dots, so r.Cookie, which returns the first cookie of
// that name whose value has only valid bytes, would have returned the
// same value. In every other case the middleware asks r.Cookie.
func firstCookie(r *http.Request, name string) string {
	lines := r.Header["Cookie"]
	n := 0
	for _, line := range lines {
		n += strings.Count(line, ";") + 1
	}
	if n > maxQuickCookies {
		return ""
	}
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, _ := strings.Cut(textproto.TrimString(part), "=")
			if textproto.TrimString(k) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v
		}
	}
	return ""
}
