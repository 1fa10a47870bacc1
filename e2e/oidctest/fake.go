package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Identity is who the Fake says signed in: the claims of its ID tokens
// and of its userinfo response.
type Identity struct {
	// Subject is the sub claim.
	Subject string
	// Email and EmailVerified are the email and email_verified claims.
	Email         string
	EmailVerified bool
	// GivenName, FamilyName and Picture are the given_name, family_name
	// and picture claims; name is GivenName and FamilyName joined. Empty
	// ones are left out.
	GivenName, FamilyName, Picture string
}

// Tampering makes the Fake issue ID tokens that a careful client must
// refuse. Each field breaks one thing and leaves the rest of the token
// valid, so a test proves the app checks that one thing.
type Tampering struct {
	// WrongNonce sets a nonce claim other than the authorize request's.
	WrongNonce bool
	// NoNonce leaves the nonce claim out.
	NoNonce bool
	// WrongAudience issues the token to another client (aud).
	WrongAudience bool
	// WrongIssuer sets an iss other than the discovered issuer.
	WrongIssuer bool
	// BadSignature signs with another RSA key under the kid of the
	// published one, so the header looks right and only the signature
	// check fails.
	BadSignature bool
	// Expired issues a token that expired an hour ago.
	Expired bool
}

// Fake is a minimal OpenID issuer written for the tests, whose ID tokens
// the test controls: it signs what SetIdentity says with an RS256 key it
// publishes in its JWKS, breaks the tokens as Tamper says, and records
// what the app sent. Its authorize endpoint signs in at once, without a
// login page, and redirects back with a code.
//
// The token endpoint is strict where the app must be correct: it checks
// the client secret (Basic or form), that the code is known, unused and
// was issued to that client and redirect URI, and the PKCE S256 verifier,
// and refuses with a 400 invalid_grant JSON error otherwise.
type Fake struct {
	srv    *httptest.Server
	issuer string
	kid    string
	key    *rsa.PrivateKey
	jwks   []byte

	mu                sync.Mutex
	rogue             *rsa.PrivateKey // made on first use by BadSignature
	clients           map[string]string
	identity          Identity
	tampering         Tampering
	grants            map[string]fakeGrant // by code
	accessTokens      map[string]Identity
	authorizeRequests []url.Values
	tokenRequests     int
	pkceFailures      int
}

// fakeGrant is what an authorize request left for its code's exchange.
type fakeGrant struct {
	clientID, redirectURI string
	nonce                 string
	challenge, method     string
	identity              Identity
}

// StartFake starts a Fake with a fresh RS256 key, and closes it when the
// test ends. It has no clients (add them with AddClient) and signs in a
// default identity until SetIdentity is called.
func StartFake(t testing.TB) *Fake {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidctest: generate the Fake's key: %v", err)
	}
	f := &Fake{
		kid: "oidctest-" + strings.ToLower(randomToken()[:12]),
		key: key,
		identity: Identity{
			Subject:       "fake-user-1",
			Email:         "fake.user@example.com",
			EmailVerified: true,
			GivenName:     "Fake",
			FamilyName:    "User",
		},
		clients:      map[string]string{},
		grants:       map[string]fakeGrant{},
		accessTokens: map[string]Identity{},
	}
	if f.jwks, err = publicJWKS(&key.PublicKey, f.kid); err != nil {
		t.Fatalf("oidctest: the Fake's JWKS: %v", err)
	}

	// Unstarted, so the issuer is known before the first request.
	f.srv = httptest.NewUnstartedServer(nil)
	f.issuer = "http://" + f.srv.Listener.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", f.discovery)
	mux.HandleFunc("GET /jwks", f.serveJWKS)
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /userinfo", f.userinfo)
	mux.HandleFunc("POST /userinfo", f.userinfo)
	f.srv.Config.Handler = mux
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

// publicJWKS returns the JWK set publishing pub under kid.
func publicJWKS(pub *rsa.PublicKey, kid string) ([]byte, error) {
	k, err := jwk.Import(pub)
	if err != nil {
		return nil, err
	}
	for name, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: jwa.RS256(), jwk.KeyUsageKey: "sig"} {
		if err := k.Set(name, v); err != nil {
			return nil, err
		}
	}
	set := jwk.NewSet()
	if err := set.AddKey(k); err != nil {
		return nil, err
	}
	return json.Marshal(set)
}

// Issuer returns the issuer URL (no trailing slash), for OAUTH_<NAME>_ISSUER.
func (f *Fake) Issuer() string { return f.issuer }

// AddClient registers a client, or changes its secret. Any redirect URI
// is accepted at the authorize endpoint, and the token endpoint then
// requires the same one. It is safe to call at any time.
func (f *Fake) AddClient(id, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients[id] = secret
}

// SetIdentity sets who signs in at the authorize requests from now on.
func (f *Fake) SetIdentity(id Identity) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.identity = id
}

// Tamper sets how the ID tokens issued from now on are broken, until it
// is called again; Tamper(Tampering{}) goes back to honest tokens.
func (f *Fake) Tamper(how Tampering) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tampering = how
}

// AuthorizeRequests returns the query of every authorize request so far,
// in order, so a test can check what the app sent (state, nonce,
// code_challenge, code_challenge_method=S256, scope, redirect_uri).
func (f *Fake) AuthorizeRequests() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyRecorded(f.authorizeRequests)
}

// TokenRequests returns how many requests the token endpoint got,
// refused ones included. golang.org/x/oauth2's auto-detected client
// authentication sends a refused exchange twice (Basic, then the form).
func (f *Fake) TokenRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenRequests
}

// PKCEFailures returns how many token requests were refused because the
// code_verifier did not answer the authorize request's code_challenge, or
// one of them was missing.
func (f *Fake) PKCEFailures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pkceFailures
}

func (f *Fake) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                f.issuer,
		"authorization_endpoint":                f.issuer + "/authorize",
		"token_endpoint":                        f.issuer + "/token",
		"jwks_uri":                              f.issuer + "/jwks",
		"userinfo_endpoint":                     f.issuer + "/userinfo",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce",
			"email", "email_verified", "name", "given_name", "family_name", "picture"},
	})
}

func (f *Fake) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(f.jwks)
}

// authorize signs the current identity in at once and redirects back
// with a code, remembering what the exchange must match.
func (f *Fake) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authorizeRequests = append(f.authorizeRequests, copyValues(q))

	// Errors about the client or redirect URI are shown, not redirected,
	// as OAuth requires, since the redirect URI cannot be trusted.
	if _, ok := f.clients[q.Get("client_id")]; !ok {
		http.Error(w, "oidctest Fake: unknown client_id "+q.Get("client_id"), http.StatusBadRequest)
		return
	}
	redirectURI := q.Get("redirect_uri")
	if u, err := url.Parse(redirectURI); redirectURI == "" || err != nil || !u.IsAbs() {
		http.Error(w, "oidctest Fake: missing or invalid redirect_uri", http.StatusBadRequest)
		return
	}
	params := url.Values{"state": {q.Get("state")}}
	if q.Get("response_type") != "code" {
		params.Set("error", "unsupported_response_type")
	} else {
		code := randomToken()
		f.grants[code] = fakeGrant{
			clientID:    q.Get("client_id"),
			redirectURI: redirectURI,
			nonce:       q.Get("nonce"),
			challenge:   q.Get("code_challenge"),
			method:      q.Get("code_challenge_method"),
			identity:    f.identity,
		}
		params.Set("code", code)
	}
	target, err := withQuery(redirectURI, params)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// token exchanges a code for tokens, refusing anything a real provider
// would refuse.
func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenRequests++

	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type "+gt+" is not supported")
		return
	}
	// Client authentication comes before the code, and a failed one
	// leaves the code alone, because x/oauth2 may retry with the
	// credentials in the form after Basic was refused.
	clientID, secret, err := clientCredentials(r)
	if want, ok := f.clients[clientID]; err != nil || !ok || !equal(want, secret) {
		if _, _, basic := r.BasicAuth(); basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		}
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong client secret")
		return
	}

	code := r.PostForm.Get("code")
	grant, ok := f.grants[code]
	delete(f.grants, code) // single use, whatever happens next
	switch {
	case !ok:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown or already used code")
		return
	case grant.clientID != clientID:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the code was issued to another client")
		return
	case r.PostForm.Get("redirect_uri") != grant.redirectURI:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorize request's")
		return
	case !pkceOK(grant.challenge, grant.method, r.PostForm.Get("code_verifier")):
		f.pkceFailures++
		oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed (code_verifier does not answer the S256 code_challenge)")
		return
	}

	idToken, err := f.idToken(grant)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	accessToken := randomToken()
	f.accessTokens[accessToken] = grant.identity
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": accessToken,
		"token_type":   "Bearer",
		"expires_in":   3600,
		"id_token":     idToken,
		"scope":        "openid email profile",
	})
}

// idToken signs the ID token for grant, broken as f.tampering says. The
// caller holds f.mu.
func (f *Fake) idToken(grant fakeGrant) (string, error) {
	now := time.Now()
	claims := identityClaims(grant.identity)
	claims["iss"] = f.issuer
	claims["aud"] = grant.clientID
	claims["iat"] = now.Unix()
	claims["auth_time"] = now.Unix()
	claims["exp"] = now.Add(time.Hour).Unix()
	if grant.nonce != "" {
		claims["nonce"] = grant.nonce
	}

	t := f.tampering
	if t.WrongNonce {
		claims["nonce"] = "not-" + grant.nonce
	}
	if t.NoNonce {
		delete(claims, "nonce")
	}
	if t.WrongAudience {
		claims["aud"] = "some-other-client"
	}
	if t.WrongIssuer {
		claims["iss"] = "https://issuer.invalid"
	}
	if t.Expired {
		claims["iat"] = now.Add(-2 * time.Hour).Unix()
		claims["auth_time"] = now.Add(-2 * time.Hour).Unix()
		claims["exp"] = now.Add(-time.Hour).Unix()
	}
	key := f.key
	if t.BadSignature {
		if f.rogue == nil {
			rogue, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				return "", err
			}
			f.rogue = rogue
		}
		key = f.rogue
	}

	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	h := jws.NewHeaders()
	for name, v := range map[string]string{jws.KeyIDKey: f.kid, jws.TypeKey: "JWT"} {
		if err := h.Set(name, v); err != nil {
			return "", err
		}
	}
	signed, err := jws.Sign(payload, jws.WithKey(jwa.RS256(), key, jws.WithProtectedHeaders(h)))
	return string(signed), err
}

// identityClaims returns the claims describing id, without empty ones.
func identityClaims(id Identity) map[string]any {
	claims := map[string]any{
		"sub":            id.Subject,
		"email_verified": id.EmailVerified,
	}
	for name, v := range map[string]string{
		"email":       id.Email,
		"given_name":  id.GivenName,
		"family_name": id.FamilyName,
		"name":        strings.TrimSpace(id.GivenName + " " + id.FamilyName),
		"picture":     id.Picture,
	} {
		if v != "" {
			claims[name] = v
		}
	}
	return claims
}

// userinfo answers with the identity an access token was issued for.
func (f *Fake) userinfo(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	id, ok := f.accessTokens[bearerToken(r)]
	f.mu.Unlock()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "missing or unknown access token")
		return
	}
	writeJSON(w, http.StatusOK, identityClaims(id))
}

// bearerToken returns the token of an "Authorization: Bearer" header, or
// "" without one.
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// oauthError writes an RFC 6749 section 5.2 error response.
func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}
