package e2e

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

func TestIntegrationCSRF(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	hostile := map[string]map[string]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site": "cross-site"},
		"Origin evil.example":       {"Origin": "https://evil.example"},
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	creds := url.Values{"identifier": {doraEmail}, "password": {doraPassword}}.Encode()

	for name, h := range hostile {
		t.Run(name, func(t *testing.T) {
			t.Run("POST /sign-in", func(t *testing.T) {
				c := ta.Browser(t)
				res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/sign-in", strings.NewReader(creds), withHeaders(form, h))
				assertStatus(t, "cross-site POST /sign-in", res, body, http.StatusForbidden)
				assertNoAuthCookie(t, res)
				if _, uid := ta.me(t, c, nil); uid != "" {
					t.Errorf("after cross-site sign-in: got signed in as %s, want signed out", uid)
				}
			})
			t.Run("POST /__clerk/v1/client/sign_ins", func(t *testing.T) {
				c := ta.Browser(t)
				res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sign_ins", strings.NewReader(creds), withHeaders(form, h))
				assertStatus(t, "cross-site FAPI sign-in", res, body, http.StatusForbidden)
				assertNoAuthCookie(t, res)
				if res.Header.Get("Access-Control-Allow-Origin") != "" {
					t.Errorf("Access-Control-Allow-Origin: got %q, want none", res.Header.Get("Access-Control-Allow-Origin"))
				}
			})
			t.Run("POST /sign-out", func(t *testing.T) {
				c := ta.Browser(t)
				ta.SignIn(t, c, doraEmail, doraPassword)
				res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/sign-out", strings.NewReader(""), withHeaders(form, h))
				assertStatus(t, "cross-site POST /sign-out", res, body, http.StatusForbidden)
				if len(res.Header.Values("Set-Cookie")) != 0 {
					t.Errorf("cross-site sign-out: got Set-Cookie %q, want none", res.Header.Values("Set-Cookie"))
				}
				ta.dropCookie(c, "__session") // prove the session itself survived
				if _, uid := ta.me(t, c, nil); uid == "" {
					t.Error("after cross-site sign-out: got signed out, want the session intact")
				}
			})
			t.Run("POST /api/items", func(t *testing.T) {
				c := ta.Browser(t)
				ta.SignIn(t, c, doraEmail, doraPassword)
				res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/api/items", strings.NewReader(`{"name":"planted"}`), withHeaders(jsonHeader, h))
				assertStatus(t, "cross-site POST /api/items", res, body, http.StatusForbidden)
				res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/api/items", nil, nil)
				if strings.Contains(body, "planted") {
					t.Errorf("GET /api/items after a cross-site POST: got %s, want no planted item", body)
				}
			})
		})
	}

	t.Run("same-origin works", func(t *testing.T) {
		c := ta.Browser(t)
		res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/sign-in", strings.NewReader(creds), withHeaders(form, sameOrigin))
		assertStatus(t, "same-origin POST /sign-in", res, body, http.StatusSeeOther)
		res, body = harness.Do(t, c, http.MethodPost, ta.URL+"/api/items", strings.NewReader(`{"name":"mine"}`), withHeaders(jsonHeader, sameOrigin))
		assertStatus(t, "same-origin POST /api/items", res, body, http.StatusCreated)
		res, body = harness.Do(t, c, http.MethodPost, ta.URL+"/api/items", strings.NewReader(`{"name":"mine too"}`),
			withHeaders(jsonHeader, map[string]string{"Origin": ta.URL}))
		assertStatus(t, "POST /api/items with the app's Origin", res, body, http.StatusCreated)
		res, body = harness.Do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sign_ins", strings.NewReader(creds), withHeaders(form, sameOrigin))
		assertStatus(t, "same-origin FAPI sign-in", res, body, http.StatusOK)
		res, body = harness.Do(t, c, http.MethodPost, ta.URL+"/sign-out", strings.NewReader(""), withHeaders(form, sameOrigin))
		assertStatus(t, "same-origin POST /sign-out", res, body, http.StatusSeeOther)
		assertCleared(t, res)
	})

	t.Run("cross-site GET is harmless and allowed", func(t *testing.T) {
		res, body := harness.Do(t, ta.Browser(t), http.MethodGet, ta.URL+"/", nil, map[string]string{"Sec-Fetch-Site": "cross-site"})
		assertStatus(t, "cross-site GET /", res, body, http.StatusOK)
		for _, p := range []string{"/api/me", "/__clerk/v1/client", "/__clerk/v1/jwks"} {
			res, _ := harness.Do(t, ta.Browser(t), http.MethodGet, ta.URL+p, nil, map[string]string{"Origin": "https://evil.example"})
			if v := res.Header.Get("Access-Control-Allow-Origin"); v != "" {
				t.Errorf("GET %s from a foreign Origin: got Access-Control-Allow-Origin %q, want none", p, v)
			}
		}
	})

	// 03 §3: every frontend API response is application/json exactly;
	// 03 §6: every JSON response is application/json; 06 §2: a refusal is
	// "JSON for JSON endpoints, a page for pages".
	t.Run("refusals are JSON for JSON endpoints and a page for pages", func(t *testing.T) {
		c := ta.Browser(t)
		for _, tc := range []struct{ path, ct, body, want string }{
			{"/__clerk/v1/client/sign_ins", "application/json", `{}`, "application/json"},
			{"/api/items", "application/json", `{"name":"x"}`, "application/json"},
			{"/sign-in", "application/x-www-form-urlencoded", creds, "text/html; charset=utf-8"},
		} {
			res, body := harness.Do(t, c, http.MethodPost, ta.URL+tc.path, strings.NewReader(tc.body),
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

func b64(v any) string {
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
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.Browser(t)
	ta.SignIn(t, c, doraEmail, doraPassword)
	good := ta.Cookie(t, c, "__session")
	header, claims := jwtParts(t, good)
	seg := strings.Split(good, ".")

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(h, cl map[string]any, key *rsa.PrivateKey) string {
		in := b64(h) + "." + b64(cl)
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
		{"alg none", b64(with(header, "alg", "none")) + "." + seg[1] + ".", ""},
		{"alg none with signature", b64(with(header, "alg", "none")) + "." + seg[1] + "." + seg[2], "token-invalid-algorithm"},
		{"alg HS256", b64(with(header, "alg", "HS256")) + "." + seg[1] + "." + seg[2], "token-invalid-algorithm"},
		{"signed by another key with our kid", sign(header, claims, other), "token-invalid-signature"},
		{"signed by another key with its own kid", sign(with(header, "kid", "attacker"), claims, other), "jwk-kid-mismatch"},
		{"payload swapped", seg[0] + "." + b64(with(claims, "sub", "user_someoneelse")) + "." + seg[2], "token-invalid-signature"},
		{"embedded jwk", sign(with(with(header, "kid", "attacker"), "jwk", map[string]any{"kty": "RSA"}), claims, other), ""},
		{"template category", b64(with(header, "cat", "cl_B7d4PD222AAA")) + "." + seg[1] + "." + seg[2], "token-invalid"},
		{"JSON-serialised JWS", string(jsonJWS), "token-invalid"},
		{"JSON-serialised JWS (general)", string(flattened), "token-invalid"},
		{"9 KiB token", seg[0] + "." + b64(with(claims, "pad", strings.Repeat("x", 9<<10))) + "." + seg[2], "token-invalid"},
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
				res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + tc.tok})
				check("Bearer", res, body)
				// And next to a valid cookie: the header still decides.
				res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + tc.tok})
				check("Bearer with a valid cookie", res, body)
			}
			// As the __session cookie (raw header: the value may hold
			// characters a jar would refuse).
			res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Cookie": "__session=" + tc.tok})
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("cookie: got %d %s, want 401", res.StatusCode, body)
			}
			// And on a page: a 200 signed-out render, never a 500.
			res, body = harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/", nil, map[string]string{"Cookie": "__session=" + tc.tok})
			if res.StatusCode != http.StatusOK {
				t.Errorf("GET / with the cookie: got %d, want 200 signed out", res.StatusCode)
			} else if _, st := ssrState(t, body); st["isAuthenticated"] != false {
				t.Errorf("GET / with the cookie: got isAuthenticated %v, want false", st["isAuthenticated"])
			}
		})
	}

	t.Run("control: the genuine token works both ways", func(t *testing.T) {
		res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + good})
		assertStatus(t, "Bearer", res, body, http.StatusOK)
		res, body = harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Cookie": "__session=" + good})
		assertStatus(t, "cookie", res, body, http.StatusOK)
		res, body = harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "bearer " + good})
		assertStatus(t, "lower-case bearer", res, body, http.StatusOK)
	})

	t.Run("machine-token prefixes are not session tokens", func(t *testing.T) {
		for _, p := range []string{"mt_", "ak_", "oat_"} {
			res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + p + "abc"})
			assertStatus(t, "Bearer "+p, res, body, http.StatusUnauthorized)
		}
	})

	t.Run("forged client cookie is signed out and cleared", func(t *testing.T) {
		for _, v := range []string{"garbage", strings.Repeat("A", 2000), ta.Cookie(t, c, "__client") + "x"} {
			res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Cookie": "__client=" + v})
			assertStatus(t, "forged __client", res, body, http.StatusUnauthorized)
			assertCleared(t, res)
		}
	})
}

func TestIntegrationBadInput(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	signedIn := ta.Browser(t)
	ta.SignIn(t, signedIn, doraEmail, doraPassword)
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
				c := plainClient()
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
					assertNoAuthCookie(t, res)
				}
			})
		}
	}
	// The signed-in browser survived all of it.
	if _, uid := ta.me(t, signedIn, nil); uid == "" {
		t.Error("signed-in browser after the bad input: got signed out, want still signed in")
	}
}

func TestIntegrationSecurityHeaders(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.Browser(t)
	seen := map[string]bool{}
	check := func(name string) {
		t.Run(name, func(t *testing.T) {
			res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/", nil, nil)
			assertStatus(t, "GET /", res, body, http.StatusOK)
			csp := res.Header.Get("Content-Security-Policy")
			nonce := cspNonce(t, res)
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
	ta.SignIn(t, c, doraEmail, doraPassword)
	check("signed in")

	t.Run("API responses carry the headers too", func(t *testing.T) {
		res, _ := harness.Do(t, c, http.MethodGet, ta.URL+"/api/me", nil, nil)
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
			res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+p, nil, nil)
			assertStatus(t, "GET "+p, res, body, http.StatusOK)
		}
	})
	t.Run("store closed", func(t *testing.T) {
		ta := startApp(t, nil)
		if err := ta.App.Store.Close(); err != nil {
			t.Fatalf("store.Close: %v", err)
		}
		res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/readyz", nil, nil)
		assertStatus(t, "GET /readyz with the store closed", res, body, http.StatusServiceUnavailable)
		res, body = harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/healthz", nil, nil)
		assertStatus(t, "GET /healthz with the store closed", res, body, http.StatusOK)
		// A sign-in against a closed store fails cleanly, without a panic.
		res, _ = harness.PostForm(t, plainClient(), ta.URL+"/sign-in", url.Values{"identifier": {doraEmail}, "password": {doraPassword}})
		if res.StatusCode == http.StatusSeeOther {
			t.Errorf("sign-in with the store closed: got 303, want a failure")
		}
	})
}
