package oidctest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
)

// errClientAuth is returned by clientCredentials when a request carries
// contradicting client credentials.
var errClientAuth = errors.New("client_id in the form and in the Authorization header differ")

// clientCredentials returns the client id and secret of a token request,
// sent either with HTTP Basic (client_secret_basic) or in the form
// (client_secret_post). golang.org/x/oauth2 auto-detects the style by
// trying Basic first and then the form, so both must be accepted.
//
// Basic credentials are URL-decoded first: RFC 6749 section 2.3.1 has the
// client form-encode them, and x/oauth2 does.
func clientCredentials(r *http.Request) (id, secret string, err error) {
	formID := r.PostForm.Get("client_id")
	if user, pass, ok := r.BasicAuth(); ok {
		if id, err = url.QueryUnescape(user); err != nil {
			return "", "", err
		}
		if secret, err = url.QueryUnescape(pass); err != nil {
			return "", "", err
		}
		if formID != "" && formID != id {
			return "", "", errClientAuth
		}
		return id, secret, nil
	}
	return formID, r.PostForm.Get("client_secret"), nil
}

// s256 returns the PKCE S256 code challenge of verifier (RFC 7636 section
// 4.2).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// pkceOK reports whether verifier answers the code challenge of the
// authorize request. Only S256 is supported, because the app must never
// fall back to plain; a challenge without a method means plain (RFC 7636
// section 4.3) and therefore fails. A request without a challenge must
// not send a verifier either, since that would show the app lost track of
// which flow it started.
func pkceOK(challenge, method, verifier string) bool {
	if challenge == "" {
		return verifier == ""
	}
	if method != "S256" || verifier == "" {
		return false
	}
	return equal(s256(verifier), challenge)
}

// equal compares secrets in constant time. Timing does not matter on
// loopback, but the stand-ins should not teach bad habits.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// randomToken returns an unguessable token for codes and access tokens.
func randomToken() string {
	return rand.Text()
}

// withQuery returns redirectURI with params added to its query, keeping
// any query it already has, as RFC 6749 section 3.1.2 requires. Empty
// values are left out, so a request without state gets none back.
func withQuery(redirectURI string, params url.Values) (string, error) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			if v != "" {
				q.Add(k, v)
			}
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// copyValues returns a deep copy of v, so recorded requests handed to a
// test cannot be changed behind the server's lock.
func copyValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// copyRecorded returns deep copies of recorded requests.
func copyRecorded(recorded []url.Values) []url.Values {
	out := make([]url.Values, len(recorded))
	for i, v := range recorded {
		out[i] = copyValues(v)
	}
	return out
}
