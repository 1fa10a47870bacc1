package main

// End-to-end tests of the whole app through HTTP: the forms, the SSR state,
// the example API, the frontend API, refresh and revocation, CSRF, hostile
// tokens and bad input. Each test starts its own app (startApp in
// harness_test.go) with a fresh SQLite database.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
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
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"
)

// ---------------------------------------------------------------------------
// Helpers (harness_test.go is shared; these are this file's own).

const (
	itDoraEmail    = "dora@example.com"
	itDoraPassword = "correct horse battery"
	itEvanEmail    = "evan@example.com"
	itEvanPassword = "another fine password"
)

var (
	itSameOrigin = map[string]string{"Sec-Fetch-Site": "same-origin"}
	itJsonHeader = map[string]string{"Content-Type": "application/json"}
)

// itWithHeaders merges header maps (later ones win).
func itWithHeaders(hs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = v
		}
	}
	return out
}

// itPlainClient is a client without a cookie jar that does not follow redirects.
func itPlainClient() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// itBrowserWith returns a fresh browser whose jar holds only the given cookies.
func (ta *testApp) itBrowserWith(t testing.TB, cookies map[string]string) *http.Client {
	t.Helper()
	c := ta.browser(t)
	u, _ := url.Parse(ta.URL)
	var list []*http.Cookie
	for name, v := range cookies {
		list = append(list, &http.Cookie{Name: name, Value: v, Path: "/"})
	}
	c.Jar.SetCookies(u, list)
	return c
}

// itDropCookie removes a cookie from c's jar.
func (ta *testApp) itDropCookie(c *http.Client, name string) {
	u, _ := url.Parse(ta.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: "", Path: "/", MaxAge: -1}})
}

// itSetCookies returns the cookies a response sets, by name.
func itSetCookies(res *http.Response) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range res.Cookies() {
		out[c.Name] = c
	}
	return out
}

// itRawSetCookie returns the Set-Cookie header line for name, or "".
func itRawSetCookie(res *http.Response, name string) string {
	for _, line := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			return line
		}
	}
	return ""
}

// itAssertAuthCookieAttrs checks HttpOnly, SameSite=Lax and Path=/ on the
// Set-Cookie line of name, and that it carries a value.
func itAssertAuthCookieAttrs(t *testing.T, res *http.Response, name string) {
	t.Helper()
	line := itRawSetCookie(res, name)
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

// itAssertNoAuthCookie checks that res sets neither auth cookie to a value.
func itAssertNoAuthCookie(t *testing.T, res *http.Response) {
	t.Helper()
	for _, c := range res.Cookies() {
		if (c.Name == "__client" || c.Name == "__session") && c.Value != "" && c.MaxAge >= 0 {
			t.Errorf("Set-Cookie: got %s=%.20s…, want no auth cookie", c.Name, c.Value)
		}
	}
}

// itAssertCleared checks that res clears both cookies (Max-Age <= 0).
func itAssertCleared(t *testing.T, res *http.Response) {
	t.Helper()
	set := itSetCookies(res)
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

func itAssertStatus(t *testing.T, what string, res *http.Response, body string, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s: got status %d, want %d; body: %.400s", what, res.StatusCode, want, body)
	}
}

func itAssertJSONType(t *testing.T, what string, res *http.Response) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: got Content-Type %q, want exactly application/json", what, ct)
	}
}

func itDecodeObject(t testing.TB, what, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s: body is not a JSON object: %v; body: %.300s", what, err, body)
	}
	return m
}

func itKeysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// itAssertKeys checks that m has exactly the keys want.
func itAssertKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := itKeysOf(m); !slices.Equal(got, want) {
		t.Errorf("%s: got keys %v, want %v", what, got, want)
	}
}

// itJwtParts decodes a compact JWS without verifying it.
func itJwtParts(t testing.TB, tok string) (header, claims map[string]any) {
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

// itVerifyWithJWKS checks tok's RS256 signature against the app's published
// JWKS and returns its claims.
func (ta *testApp) itVerifyWithJWKS(t testing.TB, tok string) map[string]any {
	t.Helper()
	header, claims := itJwtParts(t, tok)
	if header["alg"] != "RS256" || header["typ"] != "JWT" || header["cat"] != "cl_B7d4PD111AAA" {
		t.Errorf("token header: got %v, want alg RS256, typ JWT, cat cl_B7d4PD111AAA", header)
	}
	pub := ta.itJwksKey(t, fmt.Sprint(header["kid"]))
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

// itJwksKey fetches /.well-known/jwks.json and returns the key named kid.
func (ta *testApp) itJwksKey(t testing.TB, kid string) *rsa.PublicKey {
	t.Helper()
	res, body := do(t, itPlainClient(), http.MethodGet, ta.URL+"/.well-known/jwks.json", nil, nil)
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
	itNonceAttrRE = regexp.MustCompile(` nonce="[^"]*"`)
	itCspNonceRE  = regexp.MustCompile(`'nonce-([^']+)'`)
	itSsrStateRE  = regexp.MustCompile(`<script id="__clerk_ssr_state" type="application/json"( nonce="([^"]*)")?>([\s\S]*?)</script>`)
)

// itCspNonce returns the nonce of the response's Content-Security-Policy.
func itCspNonce(t testing.TB, res *http.Response) string {
	t.Helper()
	m := itCspNonceRE.FindStringSubmatch(res.Header.Get("Content-Security-Policy"))
	if m == nil {
		t.Fatalf("Content-Security-Policy %q: got no nonce, want 'nonce-…'", res.Header.Get("Content-Security-Policy"))
	}
	return m[1]
}

// itSsrState extracts the __clerk_ssr_state script: its nonce and the state
// object inside the {"__clerk_ssr_state": …} wrapper.
func itSsrState(t testing.TB, body string) (nonce string, state map[string]any) {
	t.Helper()
	m := itSsrStateRE.FindStringSubmatch(body)
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

var itAuthStateKeys = []string{"tokenType", "isAuthenticated", "userId", "sessionId", "sessionStatus", "sessionClaims",
	"actor", "orgId", "orgRole", "orgSlug", "orgPermissions", "factorVerificationAge"}

// itSignUpForm posts the sign-up form.
func itSignUpForm(t testing.TB, c *http.Client, base string, v url.Values) (*http.Response, string) {
	t.Helper()
	return postForm(t, c, base+"/sign-up", v)
}

// itFapiError checks Clerk's error envelope and returns the first code.
func itFapiError(t *testing.T, what string, res *http.Response, body string, status int, code string) {
	t.Helper()
	if res.StatusCode != status {
		t.Errorf("%s: got status %d, want %d; body: %.300s", what, res.StatusCode, status, body)
	}
	itAssertJSONType(t, what, res)
	var env struct {
		Errors []map[string]any `json:"errors"`
		Trace  *string          `json:"clerk_trace_id"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("%s: body is not JSON: %v: %.300s", what, err, body)
	}
	top := itDecodeObject(t, what, body)
	itAssertKeys(t, what+" envelope", top, "errors", "clerk_trace_id")
	if env.Trace == nil || *env.Trace == "" {
		t.Errorf("%s: got clerk_trace_id %v, want a non-empty string", what, env.Trace)
	}
	if len(env.Errors) != 1 {
		t.Fatalf("%s: got %d errors, want 1: %s", what, len(env.Errors), body)
	}
	e := env.Errors[0]
	itAssertKeys(t, what+" error", e, "code", "message", "long_message", "meta")
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

// itSessionID returns the sid of the session token in c's jar.
func (ta *testApp) itSessionID(t testing.TB, c *http.Client) string {
	t.Helper()
	tok := ta.cookie(t, c, "__session")
	if tok == "" {
		t.Fatal("__session cookie: got none, want one")
	}
	_, claims := itJwtParts(t, tok)
	sid, _ := claims["sid"].(string)
	if !strings.HasPrefix(sid, "sess_") {
		t.Fatalf("token sid: got %q, want sess_…", sid)
	}
	return sid
}

// me calls GET /api/me and returns the status and the userId ("" when none).
func (ta *testApp) itMe(t testing.TB, c *http.Client, header map[string]string) (*http.Response, string) {
	t.Helper()
	res, body := do(t, c, http.MethodGet, ta.URL+"/api/me", nil, header)
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

// ---------------------------------------------------------------------------
// Sign-up

func TestIntegrationSignUpForm(t *testing.T) {
	ta := startApp(t, nil)
	ta.createUser(t, itDoraEmail, itDoraPassword, "Dora", "Test")

	t.Run("success redirects to the fallback with cookies", func(t *testing.T) {
		c := ta.browser(t)
		res, body := itSignUpForm(t, c, ta.URL, url.Values{
			"email_address": {"new@example.com"}, "password": {"a perfectly fine pass"},
			"first_name": {"New"}, "last_name": {"Person"},
		})
		itAssertStatus(t, "POST /sign-up", res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/dashboard" {
			t.Errorf("Location: got %q, want /dashboard", loc)
		}
		itAssertAuthCookieAttrs(t, res, "__client")
		itAssertAuthCookieAttrs(t, res, "__session")
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control: got %q, want no-store", cc)
		}
		_, uid := ta.itMe(t, c, nil)
		if !strings.HasPrefix(uid, "user_") {
			t.Errorf("GET /api/me after sign-up: got userId %q, want user_…", uid)
		}
	})

	t.Run("success honours a safe redirect_url", func(t *testing.T) {
		c := ta.browser(t)
		res, body := itSignUpForm(t, c, ta.URL, url.Values{
			"email_address": {"other@example.com"}, "password": {"a perfectly fine pass"},
			"redirect_url": {"/profile?tab=1"},
		})
		itAssertStatus(t, "POST /sign-up", res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/profile?tab=1" {
			t.Errorf("Location: got %q, want /profile?tab=1", loc)
		}
	})

	failures := []struct {
		name, email, password, field, message string
	}{
		{"short password", "short@example.com", "short", "password", "8 characters"},
		{"long password", "long@example.com", strings.Repeat("p", 257), "password", "256 characters"},
		{"common password", "common@example.com", "password123", "password", "too common"},
		{"bad email", "not-an-email", "a perfectly fine pass", "email_address", "valid email"},
		{"taken email", itDoraEmail, "a perfectly fine pass", "email_address", "taken"},
		{"taken email in another case", "DORA@Example.com", "a perfectly fine pass", "email_address", "taken"},
	}
	for _, tc := range failures {
		t.Run("422 "+tc.name, func(t *testing.T) {
			c := ta.browser(t)
			res, body := itSignUpForm(t, c, ta.URL, url.Values{"email_address": {tc.email}, "password": {tc.password}})
			itAssertStatus(t, "POST /sign-up", res, body, http.StatusUnprocessableEntity)
			itAssertNoAuthCookie(t, res)
			if !strings.Contains(body, `id="`+tc.field+`-error"`) {
				t.Errorf("body: got no field message for %s, want one", tc.field)
			}
			if !strings.Contains(body, tc.message) {
				t.Errorf("body: got no %q, want the field message", tc.message)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type: got %q, want text/html", ct)
			}
			if _, uid := ta.itMe(t, c, nil); uid != "" {
				t.Errorf("GET /api/me after failed sign-up: got signed in as %s, want signed out", uid)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Sign-in

func TestIntegrationSignInForm(t *testing.T) {
	ta := startApp(t, nil)
	ta.createUser(t, itDoraEmail, itDoraPassword, "Dora", "Test")

	t.Run("success 303 with cookies", func(t *testing.T) {
		c := ta.browser(t)
		res, body := postForm(t, c, ta.URL+"/sign-in", url.Values{"identifier": {itDoraEmail}, "password": {itDoraPassword}})
		itAssertStatus(t, "POST /sign-in", res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/dashboard" {
			t.Errorf("Location: got %q, want /dashboard", loc)
		}
		itAssertAuthCookieAttrs(t, res, "__client")
		itAssertAuthCookieAttrs(t, res, "__session")
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control: got %q, want no-store", cc)
		}
		if ck := itSetCookies(res)["__client"]; ck == nil || ck.MaxAge != int(ta.cfg.SessionMaxAge/time.Second) {
			t.Errorf("__client Max-Age: got %v, want the session max age %d s", ck, int(ta.cfg.SessionMaxAge/time.Second))
		}
		first := ta.cookie(t, c, "__client")
		firstSID := ta.itSessionID(t, c)

		// Signing in again rotates the client secret and the session.
		ta.signIn(t, c, itDoraEmail, itDoraPassword)
		if ta.cookie(t, c, "__client") == first {
			t.Error("__client after a second sign-in: got the same value, want a new secret")
		}
		if sid := ta.itSessionID(t, c); sid == firstSID {
			t.Errorf("session after a second sign-in: got the same id %s, want a new one", sid)
		}
		// The first client cookie is worthless now.
		old := ta.itBrowserWith(t, map[string]string{"__client": first})
		if res, uid := ta.itMe(t, old, nil); uid != "" {
			t.Errorf("GET /api/me with the pre-rotation __client: got %d signed in, want signed out", res.StatusCode)
		}
	})

	t.Run("unknown email and wrong password are indistinguishable", func(t *testing.T) {
		c1, c2 := ta.browser(t), ta.browser(t)
		r1, b1 := postForm(t, c1, ta.URL+"/sign-in", url.Values{"identifier": {"nobody@example.com"}, "password": {"whatever password"}})
		r2, b2 := postForm(t, c2, ta.URL+"/sign-in", url.Values{"identifier": {itDoraEmail}, "password": {"whatever password"}})
		if r1.StatusCode != http.StatusUnprocessableEntity || r2.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status: got %d (unknown) and %d (wrong password), want 422 for both", r1.StatusCode, r2.StatusCode)
		}
		for i, r := range []*http.Response{r1, r2} {
			if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("response %d: got Set-Cookie %q, want none", i+1, sc)
			}
		}
		norm := func(b, email string) string {
			return strings.ReplaceAll(itNonceAttrRE.ReplaceAllString(b, ""), email, "EMAIL")
		}
		n1, n2 := norm(b1, "nobody@example.com"), norm(b2, itDoraEmail)
		if n1 != n2 {
			i := 0
			for i < len(n1) && i < len(n2) && n1[i] == n2[i] {
				i++
			}
			t.Errorf("bodies differ at byte %d: unknown …%.80q… vs wrong password …%.80q…", i, n1[max(0, i-20):], n2[max(0, i-20):])
		}
		if !strings.Contains(b1, "incorrect") {
			t.Errorf("body: got no generic 'incorrect' message, want one")
		}
		for _, h := range []string{"Content-Type", "X-Clerk-Auth-Status", "X-Clerk-Auth-Reason", "Retry-After"} {
			if r1.Header.Get(h) != r2.Header.Get(h) {
				t.Errorf("header %s: got %q (unknown) vs %q (wrong password), want equal", h, r1.Header.Get(h), r2.Header.Get(h))
			}
		}
	})

	t.Run("passwords are compared exactly as typed", func(t *testing.T) {
		long := strings.Repeat("0123456789", 10) // 100 characters: beyond bcrypt's 72
		ta.createUser(t, "exact@example.com", long, "Ex", "Act")
		ta.createUser(t, "unicode@example.com", "caf\u00e9 au lait!", "Uni", "Code") // NFC é
		for _, tc := range []struct {
			email, pw string
			want      int
		}{
			{"exact@example.com", long[:72], http.StatusUnprocessableEntity},
			{"exact@example.com", long + "x", http.StatusUnprocessableEntity},
			{"exact@example.com", long, http.StatusSeeOther},
			{itDoraEmail, strings.ToUpper(itDoraPassword), http.StatusUnprocessableEntity},
			{itDoraEmail, itDoraPassword + " ", http.StatusUnprocessableEntity},
			{"unicode@example.com", "cafe\u0301 au lait!", http.StatusSeeOther}, // NFD é: same password
			{"UNICODE@Example.COM", "caf\u00e9 au lait!", http.StatusSeeOther},  // email case does not matter
		} {
			res, body := postForm(t, ta.browser(t), ta.URL+"/sign-in", url.Values{"identifier": {tc.email}, "password": {tc.pw}})
			if res.StatusCode != tc.want {
				t.Errorf("sign-in %s with %q: got %d, want %d; body %.200s", tc.email, tc.pw, res.StatusCode, tc.want, body)
			}
		}
	})

	t.Run("missing fields are 422 without cookies", func(t *testing.T) {
		c := ta.browser(t)
		res, body := postForm(t, c, ta.URL+"/sign-in", url.Values{"identifier": {itDoraEmail}})
		itAssertStatus(t, "POST /sign-in without password", res, body, http.StatusUnprocessableEntity)
		itAssertNoAuthCookie(t, res)
	})
}

func TestIntegrationSignInLockout(t *testing.T) {
	t.Parallel()
	ta := startApp(t, nil)
	ta.createUser(t, itDoraEmail, itDoraPassword, "Dora", "Test")
	c := ta.browser(t)
	wrong := url.Values{"identifier": {itDoraEmail}, "password": {"not the password"}}
	for i := 1; i <= 9; i++ {
		res, body := postForm(t, c, ta.URL+"/sign-in", wrong)
		itAssertStatus(t, fmt.Sprintf("wrong password #%d", i), res, body, http.StatusUnprocessableEntity)
	}
	res, body := postForm(t, c, ta.URL+"/sign-in", wrong)
	if res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("wrong password #10: got %d, want 403 (locked) or 422; body %.200s", res.StatusCode, body)
	}
	res, body = postForm(t, c, ta.URL+"/sign-in", url.Values{"identifier": {itDoraEmail}, "password": {itDoraPassword}})
	itAssertStatus(t, "right password after 10 failures", res, body, http.StatusForbidden)
	itAssertNoAuthCookie(t, res)
	if !strings.Contains(strings.ToLower(body), "locked") {
		t.Errorf("403 body: got no mention of the lock, want the user_locked message")
	}
	if ra := res.Header.Get("Retry-After"); ra == "" {
		t.Error("Retry-After: got none, want the remaining seconds")
	} else {
		var secs int
		fmt.Sscanf(ra, "%d", &secs)
		if secs < 3000 || secs > 3600 {
			t.Errorf("Retry-After: got %q, want about an hour (3000-3600 s)", ra)
		}
	}
	if !strings.Contains(body, "minutes") {
		t.Errorf("403 body: got no wait shown, want the remaining time")
	}
	if _, uid := ta.itMe(t, c, nil); uid != "" {
		t.Errorf("GET /api/me: got signed in as %s, want signed out", uid)
	}
	// The lock lives in the store: the frontend API refuses as well.
	res, body = do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sign_ins",
		strings.NewReader(`{"identifier":"`+itDoraEmail+`","password":"`+itDoraPassword+`"}`), itJsonHeader)
	itFapiError(t, "FAPI sign-in while locked", res, body, http.StatusForbidden, "user_locked")
	var env struct {
		Errors []struct{ Meta map[string]any }
	}
	json.Unmarshal([]byte(body), &env)
	if len(env.Errors) == 1 {
		if secs, _ := env.Errors[0].Meta["lockout_expires_in_seconds"].(float64); secs < 3000 || secs > 3600 {
			t.Errorf("user_locked meta.lockout_expires_in_seconds: got %v, want about 3600", env.Errors[0].Meta["lockout_expires_in_seconds"])
		}
	}

	t.Run("failures must be consecutive", func(t *testing.T) {
		ta.createUser(t, "eve@example.com", itDoraPassword, "Eve", "Test")
		c := ta.browser(t)
		wrong := url.Values{"identifier": {"eve@example.com"}, "password": {"not the password"}}
		for i := 1; i <= 9; i++ {
			res, body := postForm(t, c, ta.URL+"/sign-in", wrong)
			itAssertStatus(t, fmt.Sprintf("wrong password #%d", i), res, body, http.StatusUnprocessableEntity)
		}
		ta.signIn(t, c, "eve@example.com", itDoraPassword)
		res, body := postForm(t, c, ta.URL+"/sign-in", wrong)
		itAssertStatus(t, "wrong password after a success", res, body, http.StatusUnprocessableEntity)
		ta.signIn(t, c, "eve@example.com", itDoraPassword)
	})
}

func TestIntegrationSignInRateLimit(t *testing.T) {
	ta := startApp(t, map[string]string{"SIGN_IN_RATE_LIMIT": "3"})
	ta.createUser(t, itDoraEmail, itDoraPassword, "Dora", "Test")
	c := ta.browser(t)
	for i := 1; i <= 3; i++ {
		res, body := postForm(t, c, ta.URL+"/sign-in", url.Values{"identifier": {"nobody@example.com"}, "password": {"guess number " + fmt.Sprint(i)}})
		itAssertStatus(t, fmt.Sprintf("attempt %d", i), res, body, http.StatusUnprocessableEntity)
	}
	// X-Forwarded-For is not trusted without TRUSTED_PROXIES: a forged
	// address does not get a fresh allowance.
	res, body := do(t, c, http.MethodPost, ta.URL+"/sign-in",
		strings.NewReader(url.Values{"identifier": {itDoraEmail}, "password": {itDoraPassword}}.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"})
	itAssertStatus(t, "attempt 4 (with a forged X-Forwarded-For)", res, body, http.StatusTooManyRequests)
	if !strings.Contains(body, "Try again in") {
		t.Errorf("429 page: got no wait shown, want 'Try again in …'")
	}
	if ra := res.Header.Get("Retry-After"); ra == "" {
		t.Error("Retry-After: got none, want a wait in seconds")
	}
	itAssertNoAuthCookie(t, res)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type: got %q, want a page", ct)
	}
	// The frontend API shares the limit.
	res, body = postForm(t, c, ta.URL+"/sign-up", url.Values{"email_address": {"new@example.com"}, "password": {"a perfectly fine pass"}})
	itAssertStatus(t, "sign-up over the limit", res, body, http.StatusTooManyRequests)
	itAssertNoAuthCookie(t, res)
	if res.Header.Get("Retry-After") == "" {
		t.Error("sign-up 429 Retry-After: got none, want one")
	}
	res, body = do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sign_ins",
		strings.NewReader(`{"identifier":"`+itDoraEmail+`","password":"`+itDoraPassword+`"}`), itJsonHeader)
	itFapiError(t, "FAPI sign-in over the limit", res, body, http.StatusTooManyRequests, "too_many_requests")
	if res.Header.Get("Retry-After") == "" {
		t.Error("FAPI 429 Retry-After: got none, want one")
	}
}

// ---------------------------------------------------------------------------
// redirect_url

func TestIntegrationRedirectURL(t *testing.T) {
	ta := startApp(t, nil)
	ta.createUser(t, itDoraEmail, itDoraPassword, "Dora", "Test")

	var signInURL string
	t.Run("signed-out dashboard redirects to sign-in", func(t *testing.T) {
		c := ta.browser(t)
		res, body := do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, map[string]string{"Accept": "text/html,application/xhtml+xml"})
		itAssertStatus(t, "GET /dashboard signed out", res, body, http.StatusTemporaryRedirect)
		want := "/sign-in?redirect_url=" + url.QueryEscape(ta.URL+"/dashboard")
		if loc := res.Header.Get("Location"); loc != want {
			t.Errorf("Location: got %q, want %q", loc, want)
		}
		signInURL = res.Header.Get("Location")
	})

	t.Run("sign-in page carries redirect_url and sign-in honours it", func(t *testing.T) {
		c := ta.browser(t)
		if signInURL == "" {
			signInURL = "/sign-in?redirect_url=" + url.QueryEscape(ta.URL+"/dashboard")
		}
		res, body := do(t, c, http.MethodGet, ta.URL+signInURL, nil, nil)
		itAssertStatus(t, "GET "+signInURL, res, body, http.StatusOK)
		u, _ := url.Parse(signInURL)
		back := u.Query().Get("redirect_url")
		if !strings.Contains(body, `name="redirect_url" value="/dashboard"`) && !strings.Contains(body, `name="redirect_url" value="`+back+`"`) {
			t.Errorf("sign-in page: got no hidden redirect_url for the dashboard, want one")
		}
		res, body = postForm(t, c, ta.URL+"/sign-in", url.Values{"identifier": {itDoraEmail}, "password": {itDoraPassword}, "redirect_url": {back}})
		itAssertStatus(t, "POST /sign-in", res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/dashboard" {
			t.Errorf("Location: got %q, want /dashboard", loc)
		}
		res, body = do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, map[string]string{"Accept": "text/html"})
		itAssertStatus(t, "GET /dashboard signed in", res, body, http.StatusOK)
	})

	hostile := []string{
		"//evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)",
		"/%5Cevil.com", "/%2F/evil.com", "http://evil.com@" + strings.TrimPrefix(ta.URL, "http://"),
		"https://evil.com/" + strings.TrimPrefix(ta.URL, "http://"), "/dashboard\r\nSet-Cookie: x=1", " //evil.com",
	}
	signedIn := ta.browser(t)
	ta.signIn(t, signedIn, itDoraEmail, itDoraPassword)
	for i, h := range hostile {
		t.Run(fmt.Sprintf("hostile %q falls back", h), func(t *testing.T) {
			if i < 4 { // the classic four go through a real sign-in (each costs a hash)
				c := ta.browser(t)
				res, body := postForm(t, c, ta.URL+"/sign-in", url.Values{"identifier": {itDoraEmail}, "password": {itDoraPassword}, "redirect_url": {h}})
				itAssertStatus(t, "POST /sign-in", res, body, http.StatusSeeOther)
				if loc := res.Header.Get("Location"); loc != "/dashboard" {
					t.Errorf("POST /sign-in Location: got %q, want the fallback /dashboard", loc)
				}
			}
			// Signed in: GET /sign-in with the same value also stays on site.
			res, _ := do(t, signedIn, http.MethodGet, ta.URL+"/sign-in?redirect_url="+url.QueryEscape(h), nil, nil)
			if res.StatusCode/100 != 3 {
				t.Fatalf("GET /sign-in signed in: got %d, want a redirect", res.StatusCode)
			}
			if loc := res.Header.Get("Location"); loc != "/dashboard" {
				t.Errorf("GET /sign-in signed in Location: got %q, want /dashboard", loc)
			}
		})
	}

	t.Run("sign-in page drops a hostile redirect_url", func(t *testing.T) {
		res, body := do(t, ta.browser(t), http.MethodGet, ta.URL+"/sign-in?redirect_url="+url.QueryEscape("https://evil.com/x"), nil, nil)
		itAssertStatus(t, "GET /sign-in", res, body, http.StatusOK)
		if strings.Contains(body, "evil.com") {
			t.Error("sign-in page: got the hostile redirect_url in the page, want it dropped")
		}
	})

	t.Run("protected page by Sec-Fetch-Dest and JSON callers", func(t *testing.T) {
		c := ta.browser(t)
		res, body := do(t, c, http.MethodGet, ta.URL+"/profile", nil, map[string]string{"Sec-Fetch-Dest": "document"})
		itAssertStatus(t, "GET /profile as a document", res, body, http.StatusTemporaryRedirect)
		if want := "/sign-in?redirect_url=" + url.QueryEscape(ta.URL+"/profile"); res.Header.Get("Location") != want {
			t.Errorf("Location: got %q, want %q", res.Header.Get("Location"), want)
		}
		res, body = do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, map[string]string{"Sec-Fetch-Dest": "document"})
		itAssertStatus(t, "GET /dashboard as a document", res, body, http.StatusTemporaryRedirect)
		res, body = do(t, c, http.MethodGet, ta.URL+"/profile", nil, map[string]string{"Accept": "application/json"})
		itAssertStatus(t, "GET /profile from fetch", res, body, http.StatusUnauthorized)
		itAssertJSONType(t, "GET /profile from fetch", res)
		if body != `{"error":"Unauthorized"}` {
			t.Errorf("GET /profile from fetch: got %s, want {\"error\":\"Unauthorized\"}", body)
		}
	})

	t.Run("sign-in page when signed in redirects away", func(t *testing.T) {
		c := ta.browser(t)
		ta.signIn(t, c, itDoraEmail, itDoraPassword)
		for _, p := range []string{"/sign-in", "/sign-up"} {
			res, body := do(t, c, http.MethodGet, ta.URL+p, nil, map[string]string{"Accept": "text/html"})
			if res.StatusCode/100 != 3 {
				t.Errorf("GET %s signed in: got %d, want a redirect; body %.200s", p, res.StatusCode, body)
				continue
			}
			if loc := res.Header.Get("Location"); loc != "/dashboard" {
				t.Errorf("GET %s signed in Location: got %q, want /dashboard", p, loc)
			}
		}
		res, _ := do(t, c, http.MethodGet, ta.URL+"/sign-in?redirect_url=%2Fprofile", nil, nil)
		if loc := res.Header.Get("Location"); loc != "/profile" {
			t.Errorf("GET /sign-in?redirect_url=/profile signed in: got Location %q, want /profile", loc)
		}
	})
}

// ---------------------------------------------------------------------------
// SSR state

func TestIntegrationSSRState(t *testing.T) {
	ta := startApp(t, nil)
	u := ta.createUser(t, itDoraEmail, itDoraPassword, "Dora", "Test")
	_, err := ta.app.client.Users.UpdateUserMetadata(context.Background(), u.ID, auth.UpdateUserMetadataParams{
		PrivateMetadata: json.RawMessage(`{"ssn":"SECRET-VALUE-4711","nested":{"deep":"SECRET-VALUE-4712"}}`),
		PublicMetadata:  json.RawMessage(`{"plan":"pro"}`),
	})
	if err != nil {
		t.Fatalf("UpdateUserMetadata: %v", err)
	}

	t.Run("signed-in dashboard", func(t *testing.T) {
		c := ta.browser(t)
		ta.signIn(t, c, itDoraEmail, itDoraPassword)
		res, body := do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, map[string]string{"Accept": "text/html"})
		itAssertStatus(t, "GET /dashboard", res, body, http.StatusOK)
		nonce, state := itSsrState(t, body)
		if nonce == "" {
			t.Error("SSR script: got no nonce, want one")
		} else if csp := itCspNonce(t, res); nonce != csp {
			t.Errorf("SSR script nonce: got %q, want the CSP nonce %q", nonce, csp)
		}
		for _, k := range itAuthStateKeys {
			if _, ok := state[k]; !ok {
				t.Errorf("SSR state: got no key %q, want all 12 auth keys", k)
			}
		}
		for k := range state {
			if !slices.Contains(itAuthStateKeys, k) && k != "user" && k != "session" && k != "organization" {
				t.Errorf("SSR state: got unexpected key %q", k)
			}
		}
		_, uid := ta.itMe(t, c, nil)
		if state["userId"] != uid || uid == "" {
			t.Errorf("SSR userId: got %v, want /api/me's %q", state["userId"], uid)
		}
		if sid := ta.itSessionID(t, c); state["sessionId"] != sid {
			t.Errorf("SSR sessionId: got %v, want the token's sid %s", state["sessionId"], sid)
		}
		if state["isAuthenticated"] != true || state["tokenType"] != "session_token" || state["sessionStatus"] != "active" {
			t.Errorf("SSR state: got isAuthenticated %v tokenType %v sessionStatus %v, want true session_token active",
				state["isAuthenticated"], state["tokenType"], state["sessionStatus"])
		}
		for _, k := range []string{"orgId", "orgRole", "orgSlug"} {
			if state[k] != nil {
				t.Errorf("SSR %s: got %v, want null without an organization", k, state[k])
			}
		}
		if claims, ok := state["sessionClaims"].(map[string]any); !ok || claims["sub"] != uid {
			t.Errorf("SSR sessionClaims: got %v, want the token's claims with sub %s", state["sessionClaims"], uid)
		}
		user, ok := state["user"].(map[string]any)
		if !ok {
			t.Fatalf("SSR user: got %v, want the user resource", state["user"])
		}
		if user["id"] != uid || user["object"] != "user" {
			t.Errorf("SSR user: got id %v object %v, want %s user", user["id"], user["object"], uid)
		}
		if _, ok := user["private_metadata"]; ok {
			t.Error("SSR user: got private_metadata, want it removed")
		}
		if pm, _ := user["public_metadata"].(map[string]any); pm["plan"] != "pro" {
			t.Errorf("SSR user public_metadata: got %v, want plan pro", user["public_metadata"])
		}
		if strings.Contains(body, "SECRET-VALUE") {
			t.Error("page: got private metadata values in the HTML, want none")
		}
		if strings.Contains(strings.ToLower(body), "private") {
			i := strings.Index(strings.ToLower(body), "private")
			t.Errorf("page: got %q, want no 'private' anywhere", body[max(0, i-60):min(len(body), i+60)])
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("signed-in page Cache-Control: got %q, want no-store", cc)
		}
	})

	t.Run("signed-out home", func(t *testing.T) {
		c := ta.browser(t)
		res, body := do(t, c, http.MethodGet, ta.URL+"/", nil, nil)
		itAssertStatus(t, "GET /", res, body, http.StatusOK)
		nonce, state := itSsrState(t, body)
		if csp := itCspNonce(t, res); nonce != csp {
			t.Errorf("SSR script nonce: got %q, want the CSP nonce %q", nonce, csp)
		}
		itAssertKeys(t, "signed-out SSR state", state, itAuthStateKeys...)
		if state["isAuthenticated"] != false || state["tokenType"] != "session_token" {
			t.Errorf("SSR state: got isAuthenticated %v tokenType %v, want false session_token", state["isAuthenticated"], state["tokenType"])
		}
		for _, k := range itAuthStateKeys {
			if k == "isAuthenticated" || k == "tokenType" {
				continue
			}
			if v, ok := state[k]; !ok || v != nil {
				t.Errorf("signed-out SSR %s: got %#v, want null", k, v)
			}
		}
		if !strings.Contains(body, `src="/static/clerk.js" nonce="`+nonce+`"`) {
			t.Error("page: got no clerk.js script with the CSP nonce, want one")
		}
	})
}

// ---------------------------------------------------------------------------
// The example API

func TestIntegrationAPI(t *testing.T) {
	ta := startApp(t, nil)
	ta.createUser(t, itDoraEmail, itDoraPassword, "Dora", "Test")
	ta.createUser(t, itEvanEmail, itEvanPassword, "Evan", "Other")
	dora, evan, anon := ta.browser(t), ta.browser(t), ta.browser(t)
	ta.signIn(t, dora, itDoraEmail, itDoraPassword)
	ta.signIn(t, evan, itEvanEmail, itEvanPassword)
	_, doraID := ta.itMe(t, dora, nil)

	t.Run("signed out is 401 JSON everywhere", func(t *testing.T) {
		for _, rq := range []struct{ method, path, body string }{
			{"GET", "/api/me", ""}, {"GET", "/api/token", ""}, {"GET", "/api/user", ""},
			{"GET", "/api/items", ""}, {"POST", "/api/items", `{"name":"x"}`}, {"DELETE", "/api/items/item_x", ""},
		} {
			res, body := do(t, anon, rq.method, ta.URL+rq.path, strings.NewReader(rq.body), itJsonHeader)
			itAssertStatus(t, rq.method+" "+rq.path, res, body, http.StatusUnauthorized)
			itAssertJSONType(t, rq.method+" "+rq.path, res)
			if body != `{"error":"Unauthorized"}` {
				t.Errorf("%s %s: got %s, want {\"error\":\"Unauthorized\"}", rq.method, rq.path, body)
			}
			if res.Header.Get("X-Clerk-Auth-Status") != "signed-out" || res.Header.Get("X-Clerk-Auth-Reason") == "" {
				t.Errorf("%s %s: got X-Clerk-Auth-Status %q Reason %q, want signed-out and a reason", rq.method, rq.path,
					res.Header.Get("X-Clerk-Auth-Status"), res.Header.Get("X-Clerk-Auth-Reason"))
			}
		}
	})

	t.Run("GET /api/me", func(t *testing.T) {
		res, body := do(t, dora, http.MethodGet, ta.URL+"/api/me", nil, nil)
		itAssertStatus(t, "GET /api/me", res, body, http.StatusOK)
		itAssertJSONType(t, "GET /api/me", res)
		m := itDecodeObject(t, "GET /api/me", body)
		itAssertKeys(t, "GET /api/me", m, "userId")
		if !strings.HasPrefix(doraID, "user_") {
			t.Errorf("userId: got %q, want user_…", doraID)
		}
		for _, h := range []string{"X-Clerk-Auth-Status", "X-Clerk-Auth-Reason"} {
			if v := res.Header.Get(h); v != "" {
				t.Errorf("signed-in %s: got %q, want none", h, v)
			}
		}
	})

	t.Run("GET /api/token", func(t *testing.T) {
		res, body := do(t, dora, http.MethodGet, ta.URL+"/api/token", nil, nil)
		itAssertStatus(t, "GET /api/token", res, body, http.StatusOK)
		itAssertJSONType(t, "GET /api/token", res)
		m := itDecodeObject(t, "GET /api/token", body)
		itAssertKeys(t, "GET /api/token", m, "userId", "token")
		tok, _ := m["token"].(string)
		claims := ta.itVerifyWithJWKS(t, tok)
		if sid := ta.itSessionID(t, dora); claims["sid"] != sid {
			t.Errorf("token sid: got %v, want the session %s", claims["sid"], sid)
		}
		if claims["sub"] != doraID || m["userId"] != doraID {
			t.Errorf("token sub / userId: got %v / %v, want %s", claims["sub"], m["userId"], doraID)
		}
		if claims["v"] != float64(2) || claims["sts"] != "active" || claims["azp"] != ta.URL {
			t.Errorf("token claims: got v %v sts %v azp %v, want 2 active %s", claims["v"], claims["sts"], claims["azp"], ta.URL)
		}

		// The token works as a Bearer from a client without cookies.
		res, body = do(t, itPlainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + tok})
		itAssertStatus(t, "GET /api/me with Bearer", res, body, http.StatusOK)
		if !strings.Contains(body, doraID) {
			t.Errorf("GET /api/me with Bearer: got %s, want userId %s", body, doraID)
		}
		if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("Bearer request: got Set-Cookie %q, want none", sc)
		}
	})

	t.Run("invalid Bearer beats a valid cookie", func(t *testing.T) {
		res, body := do(t, dora, http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer not.a.token"})
		itAssertStatus(t, "GET /api/me with a bad Bearer and a good cookie", res, body, http.StatusUnauthorized)
		if res.Header.Get("X-Clerk-Auth-Status") != "signed-out" {
			t.Errorf("X-Clerk-Auth-Status: got %q, want signed-out", res.Header.Get("X-Clerk-Auth-Status"))
		}
		if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("Bearer path: got Set-Cookie %q, want none (no refresh)", sc)
		}
	})

	t.Run("GET /api/user", func(t *testing.T) {
		before := time.Now().Add(-2 * time.Second)
		res, body := do(t, dora, http.MethodGet, ta.URL+"/api/user", nil, nil)
		itAssertStatus(t, "GET /api/user", res, body, http.StatusOK)
		itAssertJSONType(t, "GET /api/user", res)
		m := itDecodeObject(t, "GET /api/user", body)
		itAssertKeys(t, "GET /api/user", m, "id", "email", "metadata")
		if m["id"] != doraID || m["email"] != itDoraEmail {
			t.Errorf("GET /api/user: got id %v email %v, want %s %s", m["id"], m["email"], doraID, itDoraEmail)
		}
		md, _ := m["metadata"].(map[string]any)
		s, _ := md["lastApiAccess"].(string)
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatalf("metadata.lastApiAccess: got %q, want an RFC 3339 time", s)
		}
		if at.Before(before) || at.After(time.Now().Add(2*time.Second)) {
			t.Errorf("metadata.lastApiAccess: got %v, want about now", at)
		}
		u, err := ta.app.client.Users.GetUser(context.Background(), doraID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(u.PublicMetadata), s) {
			t.Errorf("stored public_metadata: got %s, want lastApiAccess %s", u.PublicMetadata, s)
		}
	})

	var doraItem string
	t.Run("items CRUD", func(t *testing.T) {
		res, body := do(t, dora, http.MethodGet, ta.URL+"/api/items", nil, nil)
		itAssertStatus(t, "GET /api/items", res, body, http.StatusOK)
		itAssertJSONType(t, "GET /api/items", res)
		if body != `{"items":[],"userId":"`+doraID+`"}` {
			t.Errorf("GET /api/items (empty): got %s, want {\"items\":[],\"userId\":…}", body)
		}
		res, body = do(t, dora, http.MethodPost, ta.URL+"/api/items", strings.NewReader(`{"name":"  First item  "}`), itJsonHeader)
		itAssertStatus(t, "POST /api/items", res, body, http.StatusCreated)
		itAssertJSONType(t, "POST /api/items", res)
		m := itDecodeObject(t, "POST /api/items", body)
		itAssertKeys(t, "POST /api/items", m, "userId", "created", "item")
		item, _ := m["item"].(map[string]any)
		itAssertKeys(t, "POST /api/items item", item, "id", "name", "created_at")
		if m["userId"] != doraID || m["created"] != true || item["name"] != "First item" {
			t.Errorf("POST /api/items: got %s, want userId %s, created true, name \"First item\"", body, doraID)
		}
		if ms, _ := item["created_at"].(float64); ms < float64(time.Now().Add(-time.Minute).UnixMilli()) {
			t.Errorf("created_at: got %v, want Unix milliseconds of now", item["created_at"])
		}
		doraItem, _ = item["id"].(string)

		res, body = do(t, dora, http.MethodPost, ta.URL+"/api/items", strings.NewReader(`{"name":"`+strings.Repeat("é", 200)+`"}`), itJsonHeader)
		itAssertStatus(t, "POST /api/items with 200 characters", res, body, http.StatusCreated)

		res, body = do(t, dora, http.MethodGet, ta.URL+"/api/items", nil, nil)
		itAssertStatus(t, "GET /api/items", res, body, http.StatusOK)
		var list struct {
			UserID string
			Items  []struct{ ID, Name string }
		}
		json.Unmarshal([]byte(body), &list)
		if len(list.Items) != 2 || list.Items[0].ID != doraItem || list.UserID != doraID {
			t.Errorf("GET /api/items: got %s, want 2 items, the first %s", body, doraItem)
		}

		// Evan sees none of them and cannot delete them.
		res, body = do(t, evan, http.MethodGet, ta.URL+"/api/items", nil, nil)
		if res.StatusCode != http.StatusOK || strings.Contains(body, doraItem) {
			t.Errorf("GET /api/items as another user: got %d %s, want 200 without %s", res.StatusCode, body, doraItem)
		}
		res, body = do(t, evan, http.MethodDelete, ta.URL+"/api/items/"+doraItem, nil, nil)
		itAssertStatus(t, "DELETE another user's item", res, body, http.StatusNotFound)
		itAssertJSONType(t, "DELETE another user's item", res)
		if m := itDecodeObject(t, "404", body); m["error"] == nil || len(m) != 1 {
			t.Errorf("404 body: got %s, want {\"error\":…}", body)
		}

		res, body = do(t, dora, http.MethodDelete, ta.URL+"/api/items/"+doraItem, nil, nil)
		itAssertStatus(t, "DELETE own item", res, body, http.StatusOK)
		itAssertJSONType(t, "DELETE own item", res)
		if body != `{"deleted":true,"userId":"`+doraID+`"}` {
			t.Errorf("DELETE: got %s, want {\"deleted\":true,\"userId\":%q}", body, doraID)
		}
		res, body = do(t, dora, http.MethodDelete, ta.URL+"/api/items/"+doraItem, nil, nil)
		itAssertStatus(t, "DELETE an item twice", res, body, http.StatusNotFound)
	})

	t.Run("items refusals", func(t *testing.T) {
		big := `{"name":"` + strings.Repeat("x", 70<<10) + `"}`
		cases := []struct {
			name, method, path, ct, body string
			status                       int
			allow                        string
		}{
			{"PUT collection", "PUT", "/api/items", "application/json", `{"name":"x"}`, 405, "GET, POST"},
			{"PATCH collection", "PATCH", "/api/items", "application/json", `{"name":"x"}`, 405, "GET, POST"},
			{"PUT item", "PUT", "/api/items/item_abc", "application/json", `{"name":"x"}`, 405, "DELETE"},
			{"GET item", "GET", "/api/items/item_abc", "", "", 405, "DELETE"},
			{"POST /api/me", "POST", "/api/me", "application/json", `{}`, 405, "GET"},
			{"wrong content type", "POST", "/api/items", "text/plain", `{"name":"x"}`, 415, ""},
			{"form content type", "POST", "/api/items", "application/x-www-form-urlencoded", `name=x`, 415, ""},
			{"no content type", "POST", "/api/items", "", `{"name":"x"}`, 415, ""},
			{"bad JSON", "POST", "/api/items", "application/json", `{"name":`, 400, ""},
			{"two JSON values", "POST", "/api/items", "application/json", `{"name":"a"}{"name":"b"}`, 400, ""},
			{"JSON array", "POST", "/api/items", "application/json", `["x"]`, 400, ""},
			{"name not a string", "POST", "/api/items", "application/json", `{"name":42}`, 400, ""},
			{"missing name", "POST", "/api/items", "application/json", `{}`, 400, ""},
			{"empty name", "POST", "/api/items", "application/json", `{"name":""}`, 400, ""},
			{"blank name", "POST", "/api/items", "application/json", `{"name":"   "}`, 400, ""},
			{"201-character name", "POST", "/api/items", "application/json", `{"name":"` + strings.Repeat("a", 201) + `"}`, 400, ""},
			{"oversized body", "POST", "/api/items", "application/json", big, 413, ""},
			{"empty body", "POST", "/api/items", "application/json", ``, 400, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				h := map[string]string{}
				if tc.ct != "" {
					h["Content-Type"] = tc.ct
				}
				res, body := do(t, dora, tc.method, ta.URL+tc.path, strings.NewReader(tc.body), h)
				itAssertStatus(t, tc.method+" "+tc.path, res, body, tc.status)
				itAssertJSONType(t, tc.method+" "+tc.path, res)
				m := itDecodeObject(t, tc.method+" "+tc.path, body)
				if s, _ := m["error"].(string); s == "" || len(m) != 1 {
					t.Errorf("body: got %s, want {\"error\":\"…\"}", body)
				}
				if tc.status == 405 {
					if m["error"] != "Method not allowed" {
						t.Errorf("405 body: got %s, want {\"error\":\"Method not allowed\"}", body)
					}
					if a := res.Header.Get("Allow"); a != tc.allow {
						t.Errorf("Allow: got %q, want %q", a, tc.allow)
					}
				}
			})
		}
		// Nothing was created by the refusals.
		res, body := do(t, dora, http.MethodGet, ta.URL+"/api/items", nil, nil)
		itAssertStatus(t, "GET /api/items", res, body, http.StatusOK)
		var list struct{ Items []any }
		json.Unmarshal([]byte(body), &list)
		if len(list.Items) != 1 {
			t.Errorf("items after the refusals: got %d, want 1 (the 200-character one)", len(list.Items))
		}
	})
}

// ---------------------------------------------------------------------------
// Refresh, expiry and revocation

// TestIntegrationRefresh waits once for short-lived tokens to expire, then
// checks both sides: a live session refreshes inline, a revoked one is
// signed out with its cookies cleared.
func TestIntegrationRefresh(t *testing.T) {
	t.Parallel()
	ta := startApp(t, map[string]string{"SESSION_TOKEN_TTL": "1s"})
	u := ta.createUser(t, itDoraEmail, itDoraPassword, "Dora", "Test")
	live, revoked := ta.browser(t), ta.browser(t)
	ta.signIn(t, live, itDoraEmail, itDoraPassword)
	ta.signIn(t, revoked, itDoraEmail, itDoraPassword)
	oldTok := ta.cookie(t, live, "__session")
	revokedTok := ta.cookie(t, revoked, "__session")
	_, claims := itJwtParts(t, oldTok)
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 1 {
		t.Errorf("token lifetime: got exp-iat %v, want 1 (SESSION_TOKEN_TTL=1s)", exp-iat)
	}
	if _, err := ta.app.client.Sessions.RevokeSession(context.Background(), ta.itSessionID(t, revoked)); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	// The already-issued token of the revoked session is still accepted
	// within its lifetime (that is the contract: it dies within TTL + 5 s).
	if res, body := do(t, itPlainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + revokedTok}); res.StatusCode != http.StatusOK {
		t.Logf("revoked session's fresh token: got %d %s (stricter than required)", res.StatusCode, body)
	}

	// exp = iat + 1; the verifier allows 5 s of skew, so after ~7 s the
	// token is refused for sure.
	time.Sleep(7 * time.Second)

	t.Run("expired token is refused as a Bearer", func(t *testing.T) {
		res, body := do(t, itPlainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + oldTok})
		itAssertStatus(t, "GET /api/me with an expired Bearer", res, body, http.StatusUnauthorized)
		if r := res.Header.Get("X-Clerk-Auth-Reason"); r != "token-expired" {
			t.Errorf("X-Clerk-Auth-Reason: got %q, want token-expired", r)
		}
	})

	t.Run("live session refreshes inline", func(t *testing.T) {
		res, body := do(t, live, http.MethodGet, ta.URL+"/api/me", nil, nil)
		itAssertStatus(t, "GET /api/me with an expired token", res, body, http.StatusOK)
		if !strings.Contains(body, u.ID) {
			t.Errorf("GET /api/me: got %s, want userId %s", body, u.ID)
		}
		itAssertAuthCookieAttrs(t, res, "__session")
		newTok := itSetCookies(res)["__session"].Value
		if newTok == oldTok {
			t.Error("__session after refresh: got the old token, want a new one")
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control on a refresh: got %q, want no-store", cc)
		}
		if res.Header.Get("X-Clerk-Auth-Status") != "" {
			t.Errorf("X-Clerk-Auth-Status on a refreshed request: got %q, want none", res.Header.Get("X-Clerk-Auth-Status"))
		}
		if ta.itVerifyWithJWKS(t, newTok)["sid"] != ta.itSessionID(t, live) {
			t.Error("refreshed token: got another session, want the same sid")
		}
		// The new token is used as is on the next request: no new cookie.
		res, body = do(t, live, http.MethodGet, ta.URL+"/api/me", nil, nil)
		itAssertStatus(t, "GET /api/me after refresh", res, body, http.StatusOK)
		if sc := itRawSetCookie(res, "__session"); sc != "" {
			t.Errorf("second request: got Set-Cookie %q, want none while the token is fresh", sc)
		}
	})

	t.Run("revoked session is signed out once its token expired", func(t *testing.T) {
		res, body := do(t, revoked, http.MethodGet, ta.URL+"/api/me", nil, nil)
		itAssertStatus(t, "GET /api/me for a revoked session", res, body, http.StatusUnauthorized)
		itAssertCleared(t, res)
		if res.Header.Get("X-Clerk-Auth-Status") != "signed-out" {
			t.Errorf("X-Clerk-Auth-Status: got %q, want signed-out", res.Header.Get("X-Clerk-Auth-Status"))
		}
	})
}

func TestIntegrationRevocation(t *testing.T) {
	t.Parallel()
	ta := startApp(t, nil)
	ctx := context.Background()

	// check signs in, ends the session with end, and then presents only
	// the __client cookie: the browser must be signed out and cleared.
	check := func(t *testing.T, email, pw string, end func(userID, sid string)) {
		t.Helper()
		c := ta.browser(t)
		ta.signIn(t, c, email, pw)
		_, uid := ta.itMe(t, c, nil)
		sid := ta.itSessionID(t, c)
		end(uid, sid)
		ta.itDropCookie(c, "__session")
		res, body := do(t, c, http.MethodGet, ta.URL+"/api/me", nil, nil)
		itAssertStatus(t, "GET /api/me with only __client", res, body, http.StatusUnauthorized)
		itAssertCleared(t, res)
		if res.Header.Get("X-Clerk-Auth-Status") != "signed-out" || res.Header.Get("X-Clerk-Auth-Reason") == "" {
			t.Errorf("auth headers: got %q / %q, want signed-out and a reason",
				res.Header.Get("X-Clerk-Auth-Status"), res.Header.Get("X-Clerk-Auth-Reason"))
		}
		if v := ta.cookie(t, c, "__client"); v != "" {
			t.Errorf("jar after clearing: got __client %.20s…, want none", v)
		}
		// A page request is redirected to sign in.
		res, _ = do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, map[string]string{"Accept": "text/html"})
		if res.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("GET /dashboard afterwards: got %d, want 307", res.StatusCode)
		}
	}

	t.Run("control: a live session refreshes from __client alone", func(t *testing.T) {
		ta.createUser(t, "live@example.com", itDoraPassword, "Live", "User")
		c := ta.browser(t)
		ta.signIn(t, c, "live@example.com", itDoraPassword)
		ta.itDropCookie(c, "__session")
		res, body := do(t, c, http.MethodGet, ta.URL+"/api/me", nil, nil)
		itAssertStatus(t, "GET /api/me with only __client", res, body, http.StatusOK)
		itAssertAuthCookieAttrs(t, res, "__session")
		// A __session that fails verification is replaced the same way.
		u, _ := url.Parse(ta.URL)
		c.Jar.SetCookies(u, []*http.Cookie{{Name: "__session", Value: "garbage", Path: "/"}})
		res, body = do(t, c, http.MethodGet, ta.URL+"/api/me", nil, nil)
		itAssertStatus(t, "GET /api/me with a garbage __session and a valid __client", res, body, http.StatusOK)
		if v := itSetCookies(res)["__session"]; v == nil || strings.Count(v.Value, ".") != 2 {
			t.Errorf("__session after refresh: got %v, want a new token", v)
		}
	})

	t.Run("revoked session", func(t *testing.T) {
		ta.createUser(t, "revoked@example.com", itDoraPassword, "Re", "Voked")
		check(t, "revoked@example.com", itDoraPassword, func(_, sid string) {
			if _, err := ta.app.client.Sessions.RevokeSession(ctx, sid); err != nil {
				t.Fatalf("RevokeSession: %v", err)
			}
		})
	})

	t.Run("banned user", func(t *testing.T) {
		ta.createUser(t, "banned@example.com", itDoraPassword, "Ban", "Ned")
		check(t, "banned@example.com", itDoraPassword, func(uid, _ string) {
			if _, err := ta.app.client.Users.BanUser(ctx, uid); err != nil {
				t.Fatalf("BanUser: %v", err)
			}
		})
		// A banned user cannot sign in again.
		res, body := postForm(t, ta.browser(t), ta.URL+"/sign-in", url.Values{"identifier": {"banned@example.com"}, "password": {itDoraPassword}})
		if res.StatusCode == http.StatusSeeOther || res.StatusCode >= 500 {
			t.Errorf("sign-in of a banned user: got %d, want a 4xx refusal; body %.200s", res.StatusCode, body)
		}
		itAssertNoAuthCookie(t, res)
	})

	t.Run("deleted user", func(t *testing.T) {
		ta.createUser(t, "deleted@example.com", itDoraPassword, "Dele", "Ted")
		check(t, "deleted@example.com", itDoraPassword, func(uid, _ string) {
			if _, err := ta.app.client.Users.DeleteUser(ctx, uid); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
		})
	})

	t.Run("sign-out form", func(t *testing.T) {
		ta.createUser(t, "leaver@example.com", itDoraPassword, "Lea", "Ver")
		c := ta.browser(t)
		ta.signIn(t, c, "leaver@example.com", itDoraPassword)
		oldClient := ta.cookie(t, c, "__client")
		oldSession := ta.cookie(t, c, "__session")
		res, body := postForm(t, c, ta.URL+"/sign-out", url.Values{})
		itAssertStatus(t, "POST /sign-out", res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Errorf("Location: got %q, want /", loc)
		}
		itAssertCleared(t, res)
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control: got %q, want no-store", cc)
		}
		if _, uid := ta.itMe(t, c, nil); uid != "" {
			t.Errorf("GET /api/me after sign-out: got %s, want signed out", uid)
		}
		// The old client cookie no longer refreshes.
		old := ta.itBrowserWith(t, map[string]string{"__client": oldClient})
		res, body = do(t, old, http.MethodGet, ta.URL+"/api/me", nil, nil)
		itAssertStatus(t, "GET /api/me with the old __client", res, body, http.StatusUnauthorized)
		itAssertCleared(t, res)
		// Nor does the FAPI mint tokens for it.
		sid := func() string { _, cl := itJwtParts(t, oldSession); return cl["sid"].(string) }()
		res, body = do(t, old, http.MethodPost, ta.URL+"/__clerk/v1/client/sessions/"+sid+"/tokens", nil, nil)
		if res.StatusCode == http.StatusOK || res.StatusCode >= 500 {
			t.Errorf("FAPI token for a signed-out client: got %d %s, want a 4xx", res.StatusCode, body)
		}
		// Signing out again, signed out, is harmless, and a hostile
		// redirect_url falls back to the after-sign-out page.
		res, body = postForm(t, c, ta.URL+"/sign-out", url.Values{"redirect_url": {"//evil.com"}})
		itAssertStatus(t, "POST /sign-out again", res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Errorf("sign-out with a hostile redirect_url: got Location %q, want /", loc)
		}
	})

	t.Run("GET /sign-out is 405", func(t *testing.T) {
		ta.createUser(t, "stayer@example.com", itDoraPassword, "Stay", "Er")
		c := ta.browser(t)
		ta.signIn(t, c, "stayer@example.com", itDoraPassword)
		res, body := do(t, c, http.MethodGet, ta.URL+"/sign-out", nil, nil)
		itAssertStatus(t, "GET /sign-out", res, body, http.StatusMethodNotAllowed)
		if _, uid := ta.itMe(t, c, nil); uid == "" {
			t.Error("GET /api/me after GET /sign-out: got signed out, want still signed in (no state change on GET)")
		}
	})
}

// ---------------------------------------------------------------------------
// Frontend API

func TestIntegrationFrontendAPI(t *testing.T) {
	ta := startApp(t, nil)
	ta.createUser(t, itDoraEmail, itDoraPassword, "Dora", "Test")
	ta.createUser(t, itEvanEmail, itEvanPassword, "Evan", "Other")
	base := ta.URL + "/__clerk/v1"
	signInJSON := `{"identifier":"` + itDoraEmail + `","password":"` + itDoraPassword + `"}`

	checkSignIn := func(t *testing.T, res *http.Response, body string) string {
		t.Helper()
		itAssertStatus(t, "POST /client/sign_ins", res, body, http.StatusOK)
		itAssertJSONType(t, "POST /client/sign_ins", res)
		m := itDecodeObject(t, "sign_in", body)
		if m["object"] != "sign_in" || m["status"] != "complete" {
			t.Errorf("sign_in: got object %v status %v, want sign_in complete", m["object"], m["status"])
		}
		sid, _ := m["created_session_id"].(string)
		if !strings.HasPrefix(sid, "sess_") {
			t.Errorf("created_session_id: got %v, want sess_…", m["created_session_id"])
		}
		itAssertAuthCookieAttrs(t, res, "__client")
		itAssertAuthCookieAttrs(t, res, "__session")
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control: got %q, want no-store", cc)
		}
		return sid
	}

	t.Run("sign_ins JSON and form", func(t *testing.T) {
		c := ta.browser(t)
		res, body := do(t, c, http.MethodPost, base+"/client/sign_ins", strings.NewReader(signInJSON), itJsonHeader)
		sid := checkSignIn(t, res, body)
		if got := ta.itSessionID(t, c); got != sid {
			t.Errorf("__session sid: got %s, want created_session_id %s", got, sid)
		}
		c2 := ta.browser(t)
		res, body = postForm(t, c2, base+"/client/sign_ins", url.Values{"identifier": {itDoraEmail}, "password": {itDoraPassword}})
		checkSignIn(t, res, body)
		if _, uid := ta.itMe(t, c2, nil); uid == "" {
			t.Error("GET /api/me after FAPI form sign-in: got signed out, want signed in")
		}
	})

	t.Run("sign_ins errors", func(t *testing.T) {
		cases := []struct {
			name, ct, body string
			status         int
			code           string
		}{
			{"unknown email", "application/json", `{"identifier":"nobody@example.com","password":"whatever pass"}`, 422, "form_password_incorrect"},
			{"wrong password", "application/json", `{"identifier":"` + itDoraEmail + `","password":"whatever pass"}`, 422, "form_password_incorrect"},
			{"missing password", "application/json", `{"identifier":"` + itDoraEmail + `"}`, 422, "form_param_missing"},
			{"missing identifier", "application/x-www-form-urlencoded", `password=whatever`, 422, "form_param_missing"},
			{"wrong content type", "text/plain", signInJSON, 415, "unsupported_content_type"},
			{"multipart", "multipart/form-data; boundary=x", "--x--", 415, "unsupported_content_type"},
			{"bad JSON", "application/json", `{"identifier":`, 400, "request_body_invalid"},
			{"trailing JSON", "application/json", signInJSON + `{}`, 400, "request_body_invalid"},
			{"bad form encoding", "application/x-www-form-urlencoded", `identifier=%zz&password=x`, 400, "request_body_invalid"},
			{"oversized", "application/json", `{"identifier":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "request_body_invalid"},
		}
		var unknownBody, wrongBody map[string]any
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := ta.browser(t)
				res, body := do(t, c, http.MethodPost, base+"/client/sign_ins", strings.NewReader(tc.body), map[string]string{"Content-Type": tc.ct})
				itFapiError(t, tc.name, res, body, tc.status, tc.code)
				itAssertNoAuthCookie(t, res)
				m := itDecodeObject(t, tc.name, body)
				switch tc.name {
				case "unknown email":
					unknownBody = m
				case "wrong password":
					wrongBody = m
				}
			})
		}
		if unknownBody != nil && wrongBody != nil {
			delete(unknownBody, "clerk_trace_id")
			delete(wrongBody, "clerk_trace_id")
			a, _ := json.Marshal(unknownBody)
			b, _ := json.Marshal(wrongBody)
			if !bytes.Equal(a, b) {
				t.Errorf("FAPI unknown email vs wrong password: got %s vs %s, want identical", a, b)
			}
		}
	})

	t.Run("sign_ups", func(t *testing.T) {
		c := ta.browser(t)
		res, body := do(t, c, http.MethodPost, base+"/client/sign_ups",
			strings.NewReader(`{"email_address":"fresh@example.com","password":"a perfectly fine pass","first_name":"Fresh"}`), itJsonHeader)
		itAssertStatus(t, "POST /client/sign_ups", res, body, http.StatusOK)
		itAssertJSONType(t, "POST /client/sign_ups", res)
		m := itDecodeObject(t, "sign_up", body)
		uid, _ := m["created_user_id"].(string)
		sid, _ := m["created_session_id"].(string)
		if m["object"] != "sign_up" || m["status"] != "complete" || !strings.HasPrefix(uid, "user_") || !strings.HasPrefix(sid, "sess_") {
			t.Errorf("sign_up: got %s, want object sign_up, status complete, created_user_id and created_session_id", body)
		}
		itAssertAuthCookieAttrs(t, res, "__client")
		itAssertAuthCookieAttrs(t, res, "__session")
		if _, me := ta.itMe(t, c, nil); me != uid {
			t.Errorf("GET /api/me after FAPI sign-up: got %q, want %s", me, uid)
		}

		for _, tc := range []struct{ name, body, code string }{
			{"taken", `{"email_address":"` + itDoraEmail + `","password":"a perfectly fine pass"}`, "form_identifier_exists"},
			{"short password", `{"email_address":"x1@example.com","password":"short"}`, "form_password_length_too_short"},
			{"pwned password", `{"email_address":"x2@example.com","password":"password123"}`, "form_password_pwned"},
			{"email as password", `{"email_address":"x3@example.com","password":"x3@example.com"}`, "form_password_pwned"},
			{"missing email", `{"password":"a perfectly fine pass"}`, "form_param_missing"},
			{"bad email", `{"email_address":"nope","password":"a perfectly fine pass"}`, "form_param_format_invalid"},
			{"non-string field", `{"email_address":["x@example.com"],"password":"a perfectly fine pass"}`, "form_param_format_invalid"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, body := do(t, ta.browser(t), http.MethodPost, base+"/client/sign_ups", strings.NewReader(tc.body), itJsonHeader)
				itFapiError(t, tc.name, res, body, http.StatusUnprocessableEntity, tc.code)
				itAssertNoAuthCookie(t, res)
			})
		}
	})

	t.Run("GET /client", func(t *testing.T) {
		anon := ta.browser(t)
		res, body := do(t, anon, http.MethodGet, base+"/client", nil, nil)
		itAssertStatus(t, "GET /client signed out", res, body, http.StatusOK)
		itAssertJSONType(t, "GET /client signed out", res)
		m := itDecodeObject(t, "client", body)
		if m["object"] != "client" {
			t.Errorf("client object: got %v, want client", m["object"])
		}
		if s, ok := m["sessions"].([]any); !ok || len(s) != 0 {
			t.Errorf("signed-out sessions: got %v, want []", m["sessions"])
		}

		c := ta.browser(t)
		ta.signIn(t, c, itDoraEmail, itDoraPassword)
		sid := ta.itSessionID(t, c)
		res, body = do(t, c, http.MethodGet, base+"/client", nil, nil)
		itAssertStatus(t, "GET /client signed in", res, body, http.StatusOK)
		itAssertJSONType(t, "GET /client signed in", res)
		var cl struct {
			Object              string
			ID                  string
			LastActiveSessionID string `json:"last_active_session_id"`
			Sessions            []struct {
				ID     string
				Status string
				User   map[string]any
			}
		}
		if err := json.Unmarshal([]byte(body), &cl); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(cl.ID, "client_") || len(cl.Sessions) != 1 || cl.Sessions[0].ID != sid || cl.LastActiveSessionID != sid {
			t.Errorf("GET /client: got %s, want client_… with one session %s, last active", body, sid)
		} else {
			u := cl.Sessions[0].User
			if u["object"] != "user" || u["organization_memberships"] == nil {
				t.Errorf("session user: got %v, want a user with organization_memberships", u)
			}
			if _, ok := u["private_metadata"]; ok {
				t.Error("session user: got private_metadata, want none on the frontend API")
			}
		}
	})

	t.Run("tokens and end", func(t *testing.T) {
		c, other := ta.browser(t), ta.browser(t)
		ta.signIn(t, c, itDoraEmail, itDoraPassword)
		ta.signIn(t, other, itEvanEmail, itEvanPassword)
		sid, otherSID := ta.itSessionID(t, c), ta.itSessionID(t, other)

		res, body := do(t, c, http.MethodPost, base+"/client/sessions/"+sid+"/tokens", nil, itSameOrigin)
		itAssertStatus(t, "POST tokens", res, body, http.StatusOK)
		itAssertJSONType(t, "POST tokens", res)
		m := itDecodeObject(t, "token", body)
		itAssertKeys(t, "token", m, "object", "jwt")
		jwt, _ := m["jwt"].(string)
		if m["object"] != "token" || ta.itVerifyWithJWKS(t, jwt)["sid"] != sid {
			t.Errorf("token: got %s, want object token with a jwt for %s", body, sid)
		}
		itAssertAuthCookieAttrs(t, res, "__session")
		if itSetCookies(res)["__session"].Value != jwt {
			t.Error("__session: got another value than the jwt, want the jwt")
		}

		res, body = do(t, c, http.MethodPost, base+"/client/sessions/"+otherSID+"/tokens", nil, nil)
		itFapiError(t, "token for another client's session", res, body, http.StatusNotFound, "resource_not_found")
		res, body = do(t, c, http.MethodPost, base+"/client/sessions/sess_doesnotexist/tokens", nil, nil)
		itFapiError(t, "token for an unknown session", res, body, http.StatusNotFound, "resource_not_found")
		res, body = do(t, c, http.MethodPost, base+"/client/sessions/"+otherSID+"/end", nil, nil)
		itFapiError(t, "end another client's session", res, body, http.StatusNotFound, "resource_not_found")
		if _, uid := ta.itMe(t, other, nil); uid == "" {
			t.Error("other client after a foreign end attempt: got signed out, want still signed in")
		}
		res, body = do(t, ta.browser(t), http.MethodPost, base+"/client/sessions/"+sid+"/tokens", nil, nil)
		if res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusNotFound {
			t.Errorf("token without a client cookie: got %d %s, want 401 or 404", res.StatusCode, body)
		}
		itAssertJSONType(t, "token without a client cookie", res)
		res, body = do(t, c, http.MethodGet, base+"/client/sessions/"+sid+"/tokens", nil, nil)
		itFapiError(t, "GET tokens", res, body, http.StatusMethodNotAllowed, "method_not_allowed")

		res, body = do(t, c, http.MethodPost, base+"/client/sessions/"+sid+"/end", nil, nil)
		itAssertStatus(t, "POST end", res, body, http.StatusOK)
		itAssertJSONType(t, "POST end", res)
		m = itDecodeObject(t, "end", body)
		if m["object"] != "session" || m["id"] != sid || m["status"] != "ended" {
			t.Errorf("end: got object %v id %v status %v, want session %s ended", m["object"], m["id"], m["status"], sid)
		}
		itAssertCleared(t, res)
		if _, uid := ta.itMe(t, c, nil); uid != "" {
			t.Errorf("GET /api/me after end: got %s, want signed out", uid)
		}
	})

	t.Run("JWKS", func(t *testing.T) {
		for _, p := range []string{base + "/jwks", ta.URL + "/.well-known/jwks.json"} {
			res, body := do(t, itPlainClient(), http.MethodGet, p, nil, nil)
			itAssertStatus(t, "GET "+p, res, body, http.StatusOK)
			itAssertJSONType(t, "GET "+p, res)
			var doc struct{ Keys []map[string]any }
			if err := json.Unmarshal([]byte(body), &doc); err != nil || len(doc.Keys) == 0 {
				t.Fatalf("GET %s: got %s, want {keys:[…]}", p, body)
			}
			for _, k := range doc.Keys {
				itAssertKeys(t, "JWK", k, "kid", "kty", "alg", "use", "n", "e")
				if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || k["kid"] == "" {
					t.Errorf("JWK: got %v, want kty RSA, alg RS256, use sig, a kid", k)
				}
				n, _ := base64.RawURLEncoding.DecodeString(fmt.Sprint(k["n"]))
				if len(n) < 256 {
					t.Errorf("JWK n: got %d bytes, want a 2048-bit modulus", len(n))
				}
				for _, secret := range []string{"d", "p", "q", "dp", "dq", "qi"} {
					if _, ok := k[secret]; ok {
						t.Errorf("JWK: got private member %q, want public keys only", secret)
					}
				}
			}
		}
	})

	t.Run("unknown route and wrong method", func(t *testing.T) {
		res, body := do(t, ta.browser(t), http.MethodGet, base+"/nope", nil, nil)
		itFapiError(t, "GET /nope", res, body, http.StatusNotFound, "resource_not_found")
		res, body = do(t, ta.browser(t), http.MethodGet, base+"/client/sign_ins", nil, nil)
		itFapiError(t, "GET sign_ins", res, body, http.StatusMethodNotAllowed, "method_not_allowed")
		if res.Header.Get("Allow") != "POST" {
			t.Errorf("Allow: got %q, want POST", res.Header.Get("Allow"))
		}
	})
}

// ---------------------------------------------------------------------------
// CSRF

func TestIntegrationCSRF(t *testing.T) {
	ta := startApp(t, nil)
	ta.createUser(t, itDoraEmail, itDoraPassword, "Dora", "Test")
	hostile := map[string]map[string]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site": "cross-site"},
		"Origin evil.example":       {"Origin": "https://evil.example"},
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	creds := url.Values{"identifier": {itDoraEmail}, "password": {itDoraPassword}}.Encode()

	for name, h := range hostile {
		t.Run(name, func(t *testing.T) {
			t.Run("POST /sign-in", func(t *testing.T) {
				c := ta.browser(t)
				res, body := do(t, c, http.MethodPost, ta.URL+"/sign-in", strings.NewReader(creds), itWithHeaders(form, h))
				itAssertStatus(t, "cross-site POST /sign-in", res, body, http.StatusForbidden)
				itAssertNoAuthCookie(t, res)
				if _, uid := ta.itMe(t, c, nil); uid != "" {
					t.Errorf("after cross-site sign-in: got signed in as %s, want signed out", uid)
				}
			})
			t.Run("POST /__clerk/v1/client/sign_ins", func(t *testing.T) {
				c := ta.browser(t)
				res, body := do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sign_ins", strings.NewReader(creds), itWithHeaders(form, h))
				itAssertStatus(t, "cross-site FAPI sign-in", res, body, http.StatusForbidden)
				itAssertNoAuthCookie(t, res)
				if res.Header.Get("Access-Control-Allow-Origin") != "" {
					t.Errorf("Access-Control-Allow-Origin: got %q, want none", res.Header.Get("Access-Control-Allow-Origin"))
				}
			})
			t.Run("POST /sign-out", func(t *testing.T) {
				c := ta.browser(t)
				ta.signIn(t, c, itDoraEmail, itDoraPassword)
				res, body := do(t, c, http.MethodPost, ta.URL+"/sign-out", strings.NewReader(""), itWithHeaders(form, h))
				itAssertStatus(t, "cross-site POST /sign-out", res, body, http.StatusForbidden)
				if len(res.Header.Values("Set-Cookie")) != 0 {
					t.Errorf("cross-site sign-out: got Set-Cookie %q, want none", res.Header.Values("Set-Cookie"))
				}
				ta.itDropCookie(c, "__session") // prove the session itself survived
				if _, uid := ta.itMe(t, c, nil); uid == "" {
					t.Error("after cross-site sign-out: got signed out, want the session intact")
				}
			})
			t.Run("POST /api/items", func(t *testing.T) {
				c := ta.browser(t)
				ta.signIn(t, c, itDoraEmail, itDoraPassword)
				res, body := do(t, c, http.MethodPost, ta.URL+"/api/items", strings.NewReader(`{"name":"planted"}`), itWithHeaders(itJsonHeader, h))
				itAssertStatus(t, "cross-site POST /api/items", res, body, http.StatusForbidden)
				res, body = do(t, c, http.MethodGet, ta.URL+"/api/items", nil, nil)
				if strings.Contains(body, "planted") {
					t.Errorf("GET /api/items after a cross-site POST: got %s, want no planted item", body)
				}
			})
		})
	}

	t.Run("same-origin works", func(t *testing.T) {
		c := ta.browser(t)
		res, body := do(t, c, http.MethodPost, ta.URL+"/sign-in", strings.NewReader(creds), itWithHeaders(form, itSameOrigin))
		itAssertStatus(t, "same-origin POST /sign-in", res, body, http.StatusSeeOther)
		res, body = do(t, c, http.MethodPost, ta.URL+"/api/items", strings.NewReader(`{"name":"mine"}`), itWithHeaders(itJsonHeader, itSameOrigin))
		itAssertStatus(t, "same-origin POST /api/items", res, body, http.StatusCreated)
		res, body = do(t, c, http.MethodPost, ta.URL+"/api/items", strings.NewReader(`{"name":"mine too"}`),
			itWithHeaders(itJsonHeader, map[string]string{"Origin": ta.URL}))
		itAssertStatus(t, "POST /api/items with the app's Origin", res, body, http.StatusCreated)
		res, body = do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sign_ins", strings.NewReader(creds), itWithHeaders(form, itSameOrigin))
		itAssertStatus(t, "same-origin FAPI sign-in", res, body, http.StatusOK)
		res, body = do(t, c, http.MethodPost, ta.URL+"/sign-out", strings.NewReader(""), itWithHeaders(form, itSameOrigin))
		itAssertStatus(t, "same-origin POST /sign-out", res, body, http.StatusSeeOther)
		itAssertCleared(t, res)
	})

	t.Run("cross-site GET is harmless and allowed", func(t *testing.T) {
		res, body := do(t, ta.browser(t), http.MethodGet, ta.URL+"/", nil, map[string]string{"Sec-Fetch-Site": "cross-site"})
		itAssertStatus(t, "cross-site GET /", res, body, http.StatusOK)
		for _, p := range []string{"/api/me", "/__clerk/v1/client", "/__clerk/v1/jwks"} {
			res, _ := do(t, ta.browser(t), http.MethodGet, ta.URL+p, nil, map[string]string{"Origin": "https://evil.example"})
			if v := res.Header.Get("Access-Control-Allow-Origin"); v != "" {
				t.Errorf("GET %s from a foreign Origin: got Access-Control-Allow-Origin %q, want none", p, v)
			}
		}
	})

	// 03 §3: every frontend API response is application/json exactly;
	// 03 §6: every JSON response is application/json; 06 §2: a refusal is
	// "JSON for JSON endpoints, a page for pages".
	t.Run("refusals are JSON for JSON endpoints and a page for pages", func(t *testing.T) {
		c := ta.browser(t)
		for _, tc := range []struct{ path, ct, body, want string }{
			{"/__clerk/v1/client/sign_ins", "application/json", `{}`, "application/json"},
			{"/api/items", "application/json", `{"name":"x"}`, "application/json"},
			{"/sign-in", "application/x-www-form-urlencoded", creds, "text/html; charset=utf-8"},
		} {
			res, body := do(t, c, http.MethodPost, ta.URL+tc.path, strings.NewReader(tc.body),
				map[string]string{"Content-Type": tc.ct, "Sec-Fetch-Site": "cross-site"})
			if res.StatusCode != http.StatusForbidden {
				t.Errorf("cross-site POST %s: got %d, want 403", tc.path, res.StatusCode)
			}
			if ct := res.Header.Get("Content-Type"); ct != tc.want {
				t.Errorf("cross-site POST %s: got Content-Type %q body %q, want %s", tc.path, ct, strings.TrimSpace(body), tc.want)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Hostile tokens

func itB64(v any) string {
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	default:
		b, _ = json.Marshal(v)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestIntegrationHostileTokens(t *testing.T) {
	ta := startApp(t, nil)
	ta.createUser(t, itDoraEmail, itDoraPassword, "Dora", "Test")
	c := ta.browser(t)
	ta.signIn(t, c, itDoraEmail, itDoraPassword)
	good := ta.cookie(t, c, "__session")
	header, claims := itJwtParts(t, good)
	seg := strings.Split(good, ".")

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(h, cl map[string]any, key *rsa.PrivateKey) string {
		in := itB64(h) + "." + itB64(cl)
		sum := sha256.Sum256([]byte(in))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return in + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	with := func(m map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for a, b := range m {
			out[a] = b
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	jsonJWS, _ := json.Marshal(map[string]any{"payload": seg[1], "protected": seg[0], "signature": seg[2]})
	flattened, _ := json.Marshal(map[string]any{"payload": seg[1], "signatures": []any{map[string]any{"protected": seg[0], "signature": seg[2]}}})

	cases := []struct {
		name, tok, reason string
	}{
		{"alg none", itB64(with(header, "alg", "none")) + "." + seg[1] + ".", ""},
		{"alg none with signature", itB64(with(header, "alg", "none")) + "." + seg[1] + "." + seg[2], "token-invalid-algorithm"},
		{"alg HS256", itB64(with(header, "alg", "HS256")) + "." + seg[1] + "." + seg[2], "token-invalid-algorithm"},
		{"signed by another key with our kid", sign(header, claims, other), "token-invalid-signature"},
		{"signed by another key with its own kid", sign(with(header, "kid", "attacker"), claims, other), "jwk-kid-mismatch"},
		{"payload swapped", seg[0] + "." + itB64(with(claims, "sub", "user_someoneelse")) + "." + seg[2], "token-invalid-signature"},
		{"embedded jwk", sign(with(with(header, "kid", "attacker"), "jwk", map[string]any{"kty": "RSA"}), claims, other), ""},
		{"template category", itB64(with(header, "cat", "cl_B7d4PD222AAA")) + "." + seg[1] + "." + seg[2], "token-invalid"},
		{"JSON-serialised JWS", string(jsonJWS), "token-invalid"},
		{"JSON-serialised JWS (general)", string(flattened), "token-invalid"},
		{"9 KiB token", seg[0] + "." + itB64(with(claims, "pad", strings.Repeat("x", 9<<10))) + "." + seg[2], "token-invalid"},
		{"padded base64", seg[0] + "==." + seg[1] + "." + seg[2], "token-invalid"},
		{"four segments", good + ".x", "token-invalid"},
		{"garbage", "garbage", "token-invalid"},
		{"binary garbage", "\xff\xfe.\xfd.\xfc", ""},
		{"dots only", "..", "token-invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			check := func(how string, res *http.Response, body string) {
				t.Helper()
				if res.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s: got %d %s, want 401", how, res.StatusCode, body)
				}
				if r := res.Header.Get("X-Clerk-Auth-Reason"); tc.reason != "" && r != tc.reason {
					t.Errorf("%s X-Clerk-Auth-Reason: got %q, want %q", how, r, tc.reason)
				}
				if res.Header.Get("X-Clerk-Auth-Status") != "signed-out" {
					t.Errorf("%s X-Clerk-Auth-Status: got %q, want signed-out", how, res.Header.Get("X-Clerk-Auth-Status"))
				}
			}
			// As a Bearer, from a client without cookies.
			if !strings.ContainsAny(tc.tok, "\x00\r\n") {
				res, body := do(t, itPlainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + tc.tok})
				check("Bearer", res, body)
				// And next to a valid cookie: the header still decides.
				res, body = do(t, c, http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + tc.tok})
				check("Bearer with a valid cookie", res, body)
			}
			// As the __session cookie (raw header: the value may hold
			// characters a jar would refuse).
			res, body := do(t, itPlainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Cookie": "__session=" + tc.tok})
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("cookie: got %d %s, want 401", res.StatusCode, body)
			}
			// And on a page: a 200 signed-out render, never a 500.
			res, body = do(t, itPlainClient(), http.MethodGet, ta.URL+"/", nil, map[string]string{"Cookie": "__session=" + tc.tok})
			if res.StatusCode != http.StatusOK {
				t.Errorf("GET / with the cookie: got %d, want 200 signed out", res.StatusCode)
			} else if _, st := itSsrState(t, body); st["isAuthenticated"] != false {
				t.Errorf("GET / with the cookie: got isAuthenticated %v, want false", st["isAuthenticated"])
			}
		})
	}

	t.Run("control: the genuine token works both ways", func(t *testing.T) {
		res, body := do(t, itPlainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + good})
		itAssertStatus(t, "Bearer", res, body, http.StatusOK)
		res, body = do(t, itPlainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Cookie": "__session=" + good})
		itAssertStatus(t, "cookie", res, body, http.StatusOK)
		res, body = do(t, itPlainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "bearer " + good})
		itAssertStatus(t, "lower-case bearer", res, body, http.StatusOK)
	})

	t.Run("machine-token prefixes are not session tokens", func(t *testing.T) {
		for _, p := range []string{"mt_", "ak_", "oat_"} {
			res, body := do(t, itPlainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + p + "abc"})
			itAssertStatus(t, "Bearer "+p, res, body, http.StatusUnauthorized)
		}
	})

	t.Run("forged client cookie is signed out and cleared", func(t *testing.T) {
		for _, v := range []string{"garbage", strings.Repeat("A", 2000), ta.cookie(t, c, "__client") + "x"} {
			res, body := do(t, itPlainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Cookie": "__client=" + v})
			itAssertStatus(t, "forged __client", res, body, http.StatusUnauthorized)
			itAssertCleared(t, res)
		}
	})
}

// ---------------------------------------------------------------------------
// Bad input never 500

func TestIntegrationBadInput(t *testing.T) {
	ta := startApp(t, nil)
	ta.createUser(t, itDoraEmail, itDoraPassword, "Dora", "Test")
	signedIn := ta.browser(t)
	ta.signIn(t, signedIn, itDoraEmail, itDoraPassword)
	form := "application/x-www-form-urlencoded"
	big := strings.Repeat("a", 2<<20)

	cases := []struct {
		name, method, path, ct, body string
		header                       map[string]string
		want                         int // 0: any status below 500
		html                         bool
		anonOnly                     bool // the request brings its own cookies
		outOnly                      bool // want applies to the signed-out request only
	}{
		{name: "bad percent encoding", method: "POST", path: "/sign-in", ct: form, body: "identifier=%zz&password=%", want: 400, html: true},
		{name: "invalid UTF-8 in form", method: "POST", path: "/sign-in", ct: form, body: "identifier=%ff%fe&password=%c3%28"},
		{name: "NUL bytes in form", method: "POST", path: "/sign-up", ct: form, body: "email_address=a%00b%40example.com&password=x%00yyyyyyyyy&first_name=%00"},
		{name: "control characters in names", method: "POST", path: "/sign-up", ct: form, body: "email_address=ctl%40example.com&password=a+perfectly+fine+pass&first_name=%1b%5b31m"},
		{name: "very long email", method: "POST", path: "/sign-up", ct: form, body: "email_address=" + strings.Repeat("a", 5000) + "%40example.com&password=a+perfectly+fine+pass"},
		{name: "very long password", method: "POST", path: "/sign-in", ct: form, body: "identifier=dora%40example.com&password=" + strings.Repeat("p", 60000)},
		{name: "repeated fields", method: "POST", path: "/sign-in", ct: form, body: "identifier=a&identifier=b&password=c&password=d"},
		{name: "multipart to sign-in", method: "POST", path: "/sign-in", ct: "multipart/form-data; boundary=x", body: "--x--", want: 415, html: true},
		{name: "text/plain to sign-up", method: "POST", path: "/sign-up", ct: "text/plain", body: "hello", want: 415, html: true},
		{name: "JSON to sign-in", method: "POST", path: "/sign-in", ct: "application/json", body: `{"identifier":1}`},
		{name: "bad content type syntax", method: "POST", path: "/sign-in", ct: ";;;===", body: "x"},
		{name: "2 MiB body to sign-in", method: "POST", path: "/sign-in", ct: form, body: "identifier=" + big, want: 413, html: true},
		{name: "2 MiB body to sign-up", method: "POST", path: "/sign-up", ct: form, body: "email_address=" + big, want: 413, html: true},
		{name: "2 MiB body to sign-out", method: "POST", path: "/sign-out", ct: form, body: "redirect_url=" + big, want: 413, html: true},
		{name: "unknown route", method: "GET", path: "/no/such/page", want: 404, html: true},
		{name: "unknown API route", method: "GET", path: "/api/nope", want: 404},
		{name: "path traversal", method: "GET", path: "/static/../../../etc/passwd", want: 0},
		{name: "encoded traversal", method: "GET", path: "/static/..%2f..%2fgo.mod", want: 0},
		{name: "PATCH /sign-in", method: "PATCH", path: "/sign-in", want: 405, html: true},
		{name: "DELETE /", method: "DELETE", path: "/", want: 405, html: true},
		{name: "huge header", method: "GET", path: "/", header: map[string]string{"X-Junk": strings.Repeat("j", 48<<10)}, want: 200},
		{name: "huge cookie header", method: "GET", path: "/api/me", header: map[string]string{"Cookie": "a=" + strings.Repeat("c", 30<<10)}, want: 401, anonOnly: true},
		{name: "many cookies", method: "GET", path: "/dashboard", header: map[string]string{"Cookie": strings.Repeat("__session=x; __client=y; ", 500)}, want: 0, anonOnly: true},
		{name: "long redirect_url", method: "GET", path: "/sign-in?redirect_url=" + strings.Repeat("%2F", 3000), want: 200, html: true, outOnly: true},
		{name: "bad query encoding", method: "GET", path: "/sign-in?redirect_url=%zz&x=%", want: 0},
		{name: "CRLF redirect_url", method: "GET", path: "/sign-in?redirect_url=%2Fok%0D%0ALocation:%20http://evil", want: 200, html: true, outOnly: true},
		{name: "odd Accept on a protected page", method: "GET", path: "/dashboard", header: map[string]string{"Accept": "*/*"}, want: 0},
		{name: "Authorization without scheme", method: "GET", path: "/api/me", header: map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}, want: 401, outOnly: true},
		{name: "Authorization empty Bearer", method: "GET", path: "/api/me", header: map[string]string{"Authorization": "Bearer "}, want: 401},
		{name: "FAPI token for garbage sid", method: "POST", path: "/__clerk/v1/client/sessions/%00%ff/tokens", want: 0},
		{name: "FAPI touch with an org", method: "POST", path: "/__clerk/v1/client/sessions/sess_x/touch", ct: "application/json", body: `{"active_organization_id":"org_x"}`, want: 0},
		{name: "items delete with weird id", method: "DELETE", path: "/api/items/%27%20OR%201%3D1--", want: 0},
		{name: "readyz POST", method: "POST", path: "/readyz", want: 0},
	}
	for _, tc := range cases {
		for _, who := range []string{"signed out", "signed in"} {
			if tc.anonOnly && who == "signed in" {
				continue
			}
			t.Run(tc.name+"/"+who, func(t *testing.T) {
				c := itPlainClient()
				if who == "signed in" {
					c = signedIn
				}
				h := map[string]string{}
				if tc.ct != "" {
					h["Content-Type"] = tc.ct
				}
				for k, v := range tc.header {
					h[k] = v
				}
				req, err := http.NewRequest(tc.method, ta.URL+tc.path, strings.NewReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range h {
					req.Header.Set(k, v)
				}
				res, err := c.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", tc.method, tc.path, err)
				}
				b := new(bytes.Buffer)
				b.ReadFrom(res.Body)
				res.Body.Close()
				if res.StatusCode >= 500 {
					t.Fatalf("%s %.60s: got %d, want < 500; body %.200s", tc.method, tc.path, res.StatusCode, b)
				}
				if tc.want != 0 && (who == "signed out" || !tc.outOnly) && res.StatusCode != tc.want {
					t.Errorf("%s %.60s: got %d, want %d", tc.method, tc.path, res.StatusCode, tc.want)
				}
				if tc.html && !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
					t.Errorf("%s %.60s: got Content-Type %q, want a page", tc.method, tc.path, res.Header.Get("Content-Type"))
				}
				if loc := res.Header.Get("Location"); loc != "" && !strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, ta.URL) {
					t.Errorf("Location: got %q, want one on this site", loc)
				}
				if loc := res.Header.Get("Location"); strings.HasPrefix(loc, "//") {
					t.Errorf("Location: got scheme-relative %q", loc)
				}
				if who == "signed out" {
					itAssertNoAuthCookie(t, res)
				}
			})
		}
	}
	// The signed-in browser survived all of it.
	if _, uid := ta.itMe(t, signedIn, nil); uid == "" {
		t.Error("signed-in browser after the bad input: got signed out, want still signed in")
	}
}

// ---------------------------------------------------------------------------
// Headers and health

func TestIntegrationSecurityHeaders(t *testing.T) {
	ta := startApp(t, nil)
	ta.createUser(t, itDoraEmail, itDoraPassword, "Dora", "Test")
	c := ta.browser(t)
	seen := map[string]bool{}
	check := func(name string) {
		t.Run(name, func(t *testing.T) {
			res, body := do(t, c, http.MethodGet, ta.URL+"/", nil, nil)
			itAssertStatus(t, "GET /", res, body, http.StatusOK)
			csp := res.Header.Get("Content-Security-Policy")
			nonce := itCspNonce(t, res)
			if len(nonce) < 16 {
				t.Errorf("CSP nonce: got %q, want at least 16 characters", nonce)
			}
			if seen[nonce] {
				t.Errorf("CSP nonce %q: got it twice, want a fresh nonce per request", nonce)
			}
			seen[nonce] = true
			if strings.Contains(csp, "'unsafe-inline'") && !strings.Contains(csp, "'strict-dynamic'") {
				t.Errorf("CSP: got %q, want no unsafe-inline scripts", csp)
			}
			if !strings.Contains(csp, "script-src") {
				t.Errorf("CSP: got %q, want a script-src", csp)
			}
			for h, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "strict-origin-when-cross-origin",
				"X-Frame-Options":        "DENY",
			} {
				if got := res.Header.Get(h); got != want {
					t.Errorf("%s: got %q, want %q", h, got, want)
				}
			}
			if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type: got %q, want text/html; charset=utf-8", ct)
			}
			if res.Header.Get("Strict-Transport-Security") != "" {
				t.Errorf("HSTS in development on http: got %q, want none", res.Header.Get("Strict-Transport-Security"))
			}
			// Every inline script carries the nonce.
			for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
				if !strings.Contains(m, `nonce="`+nonce+`"`) {
					t.Errorf("script tag %q: got no matching nonce, want nonce %q", m, nonce)
				}
			}
		})
	}
	check("signed out")
	check("signed out again")
	ta.signIn(t, c, itDoraEmail, itDoraPassword)
	check("signed in")

	t.Run("API responses carry the headers too", func(t *testing.T) {
		res, _ := do(t, c, http.MethodGet, ta.URL+"/api/me", nil, nil)
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("X-Content-Type-Options on /api/me: got %q, want nosniff", res.Header.Get("X-Content-Type-Options"))
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control on /api/me: got %q, want no-store", cc)
		}
	})
}

func TestIntegrationHealth(t *testing.T) {
	t.Run("up", func(t *testing.T) {
		ta := startApp(t, nil)
		for _, p := range []string{"/healthz", "/readyz"} {
			res, body := do(t, itPlainClient(), http.MethodGet, ta.URL+p, nil, nil)
			itAssertStatus(t, "GET "+p, res, body, http.StatusOK)
		}
	})
	t.Run("store closed", func(t *testing.T) {
		ta := startApp(t, nil)
		if err := ta.app.store.Close(); err != nil {
			t.Fatalf("store.Close: %v", err)
		}
		res, body := do(t, itPlainClient(), http.MethodGet, ta.URL+"/readyz", nil, nil)
		itAssertStatus(t, "GET /readyz with the store closed", res, body, http.StatusServiceUnavailable)
		res, body = do(t, itPlainClient(), http.MethodGet, ta.URL+"/healthz", nil, nil)
		itAssertStatus(t, "GET /healthz with the store closed", res, body, http.StatusOK)
		// A sign-in against a closed store fails cleanly, without a panic.
		res, _ = postForm(t, itPlainClient(), ta.URL+"/sign-in", url.Values{"identifier": {itDoraEmail}, "password": {itDoraPassword}})
		if res.StatusCode == http.StatusSeeOther {
			t.Errorf("sign-in with the store closed: got 303, want a failure")
		}
	})
}
