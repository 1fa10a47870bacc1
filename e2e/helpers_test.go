package e2e

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

const (
	doraEmail    = "dora@example.com"
	doraPassword = "correct horse battery"
	evanEmail    = "evan@example.com"
	evanPassword = "another fine password"
)

var (
	sameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin"}
	jsonHeader = map[string]string{"Content-Type": "application/json"}
)

// withHeaders merges header maps (later ones win).
func withHeaders(hs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = v
		}
	}
	return out
}

// plainClient is a client without a cookie jar that does not follow redirects.
func plainClient() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// browserWith returns a fresh browser whose jar holds only the given cookies.
func (ta *testApp) browserWith(t testing.TB, cookies map[string]string) *http.Client {
	t.Helper()
	c := ta.Browser(t)
	u, _ := url.Parse(ta.URL)
	var list []*http.Cookie
	for name, v := range cookies {
		list = append(list, &http.Cookie{Name: name, Value: v, Path: "/"})
	}
	c.Jar.SetCookies(u, list)
	return c
}

// dropCookie removes a cookie from c's jar.
func (ta *testApp) dropCookie(c *http.Client, name string) {
	u, _ := url.Parse(ta.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: "", Path: "/", MaxAge: -1}})
}

// setCookies returns the cookies a response sets, by name.
func setCookies(res *http.Response) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range res.Cookies() {
		out[c.Name] = c
	}
	return out
}

// rawSetCookie returns the Set-Cookie header line for name, or "".
func rawSetCookie(res *http.Response, name string) string {
	for _, line := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			return line
		}
	}
	return ""
}

// assertAuthCookieAttrs checks HttpOnly, SameSite=Lax and Path=/ on the
// Set-Cookie line of name, and that it carries a value.
func assertAuthCookieAttrs(t *testing.T, res *http.Response, name string) {
	t.Helper()
	line := rawSetCookie(res, name)
	if line == "" {
		t.Fatalf("Set-Cookie %s: got none, want one (headers %q)", name, res.Header.Values("Set-Cookie"))
	}
	attrs := map[string]bool{}
	parts := strings.Split(line, ";")
	if v := strings.TrimPrefix(strings.TrimSpace(parts[0]), name+"="); v == "" {
		t.Errorf("Set-Cookie %s: got an empty value, want a value", name)
	}
	for _, p := range parts[1:] {
		attrs[strings.ToLower(strings.TrimSpace(p))] = true
	}
	for _, want := range []string{"httponly", "samesite=lax", "path=/"} {
		if !attrs[want] {
			t.Errorf("Set-Cookie %s: got %q, want attribute %q", name, line, want)
		}
	}
	if attrs["secure"] {
		t.Errorf("Set-Cookie %s: got Secure on an http APP_URL, want none: %q", name, line)
	}
}

// assertNoAuthCookie checks that res sets neither auth cookie to a value.
func assertNoAuthCookie(t *testing.T, res *http.Response) {
	t.Helper()
	for _, c := range res.Cookies() {
		if (c.Name == "__client" || c.Name == "__session") && c.Value != "" && c.MaxAge >= 0 {
			t.Errorf("Set-Cookie: got %s=%.20s…, want no auth cookie", c.Name, c.Value)
		}
	}
}

// assertCleared checks that res clears both cookies (Max-Age <= 0).
func assertCleared(t *testing.T, res *http.Response) {
	t.Helper()
	set := setCookies(res)
	for _, name := range []string{"__client", "__session"} {
		c, ok := set[name]
		if !ok {
			t.Errorf("Set-Cookie %s: got none, want it cleared (headers %q)", name, res.Header.Values("Set-Cookie"))
			continue
		}
		if c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("Set-Cookie %s: got value %q MaxAge %d, want an empty value with MaxAge < 0", name, c.Value, c.MaxAge)
		}
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control on a response clearing cookies: got %q, want no-store", cc)
	}
}

func assertStatus(t *testing.T, what string, res *http.Response, body string, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s: got status %d, want %d; body: %.400s", what, res.StatusCode, want, body)
	}
}

func assertJSONType(t *testing.T, what string, res *http.Response) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: got Content-Type %q, want exactly application/json", what, ct)
	}
}

func decodeObject(t testing.TB, what, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s: body is not a JSON object: %v; body: %.300s", what, err, body)
	}
	return m
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// assertKeys checks that m has exactly the keys want.
func assertKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := keysOf(m); !slices.Equal(got, want) {
		t.Errorf("%s: got keys %v, want %v", what, got, want)
	}
}

// jwtParts decodes a compact JWS without verifying it.
func jwtParts(t testing.TB, tok string) (header, claims map[string]any) {
	t.Helper()
	seg := strings.Split(tok, ".")
	if len(seg) != 3 {
		t.Fatalf("token %.40s…: got %d segments, want 3", tok, len(seg))
	}
	dec := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("token segment is not unpadded base64url: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("token segment is not a JSON object: %v", err)
		}
		return m
	}
	return dec(seg[0]), dec(seg[1])
}

// verifyWithJWKS checks tok's RS256 signature against the app's published
// JWKS and returns its claims.
func (ta *testApp) verifyWithJWKS(t testing.TB, tok string) map[string]any {
	t.Helper()
	header, claims := jwtParts(t, tok)
	if header["alg"] != "RS256" || header["typ"] != "JWT" || header["cat"] != "cl_B7d4PD111AAA" {
		t.Errorf("token header: got %v, want alg RS256, typ JWT, cat cl_B7d4PD111AAA", header)
	}
	pub := ta.jwksKey(t, fmt.Sprint(header["kid"]))
	seg := strings.Split(tok, ".")
	sig, err := base64.RawURLEncoding.DecodeString(seg[2])
	if err != nil {
		t.Fatalf("signature is not base64url: %v", err)
	}
	sum := sha256.Sum256([]byte(seg[0] + "." + seg[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("token signature: got %v, want it to verify with the JWKS key", err)
	}
	if claims["iss"] != ta.URL {
		t.Errorf("token iss: got %v, want %s", claims["iss"], ta.URL)
	}
	return claims
}

// jwksKey fetches /.well-known/jwks.json and returns the key named kid.
func (ta *testApp) jwksKey(t testing.TB, kid string) *rsa.PublicKey {
	t.Helper()
	res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/.well-known/jwks.json", nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /.well-known/jwks.json: got %d, want 200", res.StatusCode)
	}
	var doc struct {
		Keys []struct{ Kid, Kty, N, E string }
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	for _, k := range doc.Keys {
		if k.Kid != kid {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil {
			t.Fatalf("JWKS key %s: n or e is not base64url", kid)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	t.Fatalf("JWKS: no key with kid %q in %s", kid, body)
	return nil
}

var (
	nonceAttrRE = regexp.MustCompile(` nonce="[^"]*"`)
	cspNonceRE  = regexp.MustCompile(`'nonce-([^']+)'`)
	ssrStateRE  = regexp.MustCompile(`<script id="__clerk_ssr_state" type="application/json"( nonce="([^"]*)")?>([\s\S]*?)</script>`)
)

// cspNonce returns the nonce of the response's Content-Security-Policy.
func cspNonce(t testing.TB, res *http.Response) string {
	t.Helper()
	m := cspNonceRE.FindStringSubmatch(res.Header.Get("Content-Security-Policy"))
	if m == nil {
		t.Fatalf("Content-Security-Policy %q: got no nonce, want 'nonce-…'", res.Header.Get("Content-Security-Policy"))
	}
	return m[1]
}

// ssrState extracts the __clerk_ssr_state script: its nonce and the state
// object inside the {"__clerk_ssr_state": …} wrapper.
func ssrState(t testing.TB, body string) (nonce string, state map[string]any) {
	t.Helper()
	m := ssrStateRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf(`page: got no <script id="__clerk_ssr_state" type="application/json" …>, want one; body: %.500s`, body)
	}
	var wrapper map[string]json.RawMessage
	if err := json.Unmarshal([]byte(m[3]), &wrapper); err != nil {
		t.Fatalf("SSR state is not a JSON object: %v: %.300s", err, m[3])
	}
	if len(wrapper) != 1 || wrapper["__clerk_ssr_state"] == nil {
		var top []string
		for k := range wrapper {
			top = append(top, k)
		}
		t.Fatalf("SSR state: got top-level keys %v, want only __clerk_ssr_state", top)
	}
	if err := json.Unmarshal(wrapper["__clerk_ssr_state"], &state); err != nil {
		t.Fatalf("__clerk_ssr_state is not an object: %v", err)
	}
	return m[2], state
}

var authStateKeys = []string{"tokenType", "isAuthenticated", "userId", "sessionId", "sessionStatus", "sessionClaims",
	"actor", "orgId", "orgRole", "orgSlug", "orgPermissions", "factorVerificationAge"}

// signUpForm posts the sign-up form.
func signUpForm(t testing.TB, c *http.Client, base string, v url.Values) (*http.Response, string) {
	t.Helper()
	return harness.PostForm(t, c, base+"/sign-up", v)
}

// fapiError checks Clerk's error envelope and returns the first code.
func fapiError(t *testing.T, what string, res *http.Response, body string, status int, code string) {
	t.Helper()
	if res.StatusCode != status {
		t.Errorf("%s: got status %d, want %d; body: %.300s", what, res.StatusCode, status, body)
	}
	assertJSONType(t, what, res)
	var env struct {
		Errors []map[string]any `json:"errors"`
		Trace  *string          `json:"clerk_trace_id"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("%s: body is not JSON: %v: %.300s", what, err, body)
	}
	top := decodeObject(t, what, body)
	assertKeys(t, what+" envelope", top, "errors", "clerk_trace_id")
	if env.Trace == nil || *env.Trace == "" {
		t.Errorf("%s: got clerk_trace_id %v, want a non-empty string", what, env.Trace)
	}
	if len(env.Errors) != 1 {
		t.Fatalf("%s: got %d errors, want 1: %s", what, len(env.Errors), body)
	}
	e := env.Errors[0]
	assertKeys(t, what+" error", e, "code", "message", "long_message", "meta")
	if e["code"] != code {
		t.Errorf("%s: got code %v, want %s", what, e["code"], code)
	}
	if s, _ := e["message"].(string); s == "" {
		t.Errorf("%s: got message %v, want a non-empty string", what, e["message"])
	}
	if s, _ := e["long_message"].(string); s == "" {
		t.Errorf("%s: got long_message %v, want a non-empty string", what, e["long_message"])
	}
	if _, ok := e["meta"].(map[string]any); !ok {
		t.Errorf("%s: got meta %v, want an object", what, e["meta"])
	}
}

// sessionID returns the sid of the session token in c's jar.
func (ta *testApp) sessionID(t testing.TB, c *http.Client) string {
	t.Helper()
	tok := ta.Cookie(t, c, "__session")
	if tok == "" {
		t.Fatal("__session cookie: got none, want one")
	}
	_, claims := jwtParts(t, tok)
	sid, _ := claims["sid"].(string)
	if !strings.HasPrefix(sid, "sess_") {
		t.Fatalf("token sid: got %q, want sess_…", sid)
	}
	return sid
}

// me calls GET /api/me and returns the status and the userId ("" when none).
func (ta *testApp) me(t testing.TB, c *http.Client, header map[string]string) (*http.Response, string) {
	t.Helper()
	res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/api/me", nil, header)
	if res.StatusCode >= 500 {
		t.Fatalf("GET /api/me: got %d, want < 500: %s", res.StatusCode, body)
	}
	if res.StatusCode != http.StatusOK {
		return res, ""
	}
	var m struct{ UserID string }
	json.Unmarshal([]byte(body), &m)
	return res, m.UserID
}

func ptr[T any](v T) *T { return &v }
