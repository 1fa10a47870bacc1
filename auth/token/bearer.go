package token

import (
	"net/http"
	"strings"
)

// Bearer returns the token of an Authorization header: "Bearer X",
// or a bare "X" without a scheme. Other schemes are not ours.
func Bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, rest, found := strings.Cut(h, " ")
	if !found {
		return h, true
	}
	if strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(rest), true
	}
	return "", false
}
