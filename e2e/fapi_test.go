package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

func TestIntegrationFrontendAPI(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Other")
	base := ta.URL + "/__clerk/v1"
	signInJSON := `{"identifier":"` + doraEmail + `","password":"` + doraPassword + `"}`

	checkSignIn := func(t *testing.T, res *http.Response, body string) string {
		t.Helper()
		assertStatus(t, "POST /client/sign_ins", res, body, http.StatusOK)
		assertJSONType(t, "POST /client/sign_ins", res)
		m := decodeObject(t, "sign_in", body)
		if m["object"] != "sign_in" || m["status"] != "complete" {
			t.Errorf("sign_in: got object %v status %v, want sign_in complete", m["object"], m["status"])
		}
		sid, _ := m["created_session_id"].(string)
		if !strings.HasPrefix(sid, "sess_") {
			t.Errorf("created_session_id: got %v, want sess_…", m["created_session_id"])
		}
		assertAuthCookieAttrs(t, res, "__client")
		assertAuthCookieAttrs(t, res, "__session")
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control: got %q, want no-store", cc)
		}
		return sid
	}

	t.Run("sign_ins JSON and form", func(t *testing.T) {
		c := ta.Browser(t)
		res, body := harness.Do(t, c, http.MethodPost, base+"/client/sign_ins", strings.NewReader(signInJSON), jsonHeader)
		sid := checkSignIn(t, res, body)
		if got := ta.sessionID(t, c); got != sid {
			t.Errorf("__session sid: got %s, want created_session_id %s", got, sid)
		}
		c2 := ta.Browser(t)
		res, body = harness.PostForm(t, c2, base+"/client/sign_ins", url.Values{"identifier": {doraEmail}, "password": {doraPassword}})
		checkSignIn(t, res, body)
		if _, uid := ta.me(t, c2, nil); uid == "" {
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
			{"wrong password", "application/json", `{"identifier":"` + doraEmail + `","password":"whatever pass"}`, 422, "form_password_incorrect"},
			// The identifier alone starts an attempt (needs_first_factor);
			// the password strategy without a password is refused.
			{"missing password", "application/json", `{"identifier":"` + doraEmail + `","strategy":"password"}`, 422, "form_param_missing"},
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
				c := ta.Browser(t)
				res, body := harness.Do(t, c, http.MethodPost, base+"/client/sign_ins", strings.NewReader(tc.body), map[string]string{"Content-Type": tc.ct})
				fapiError(t, tc.name, res, body, tc.status, tc.code)
				assertNoAuthCookie(t, res)
				m := decodeObject(t, tc.name, body)
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
		c := ta.Browser(t)
		res, body := harness.Do(t, c, http.MethodPost, base+"/client/sign_ups",
			strings.NewReader(`{"email_address":"fresh@example.com","password":"a perfectly fine pass","first_name":"Fresh"}`), jsonHeader)
		assertStatus(t, "POST /client/sign_ups", res, body, http.StatusOK)
		assertJSONType(t, "POST /client/sign_ups", res)
		m := decodeObject(t, "sign_up", body)
		uid, _ := m["created_user_id"].(string)
		sid, _ := m["created_session_id"].(string)
		if m["object"] != "sign_up" || m["status"] != "complete" || !strings.HasPrefix(uid, "user_") || !strings.HasPrefix(sid, "sess_") {
			t.Errorf("sign_up: got %s, want object sign_up, status complete, created_user_id and created_session_id", body)
		}
		assertAuthCookieAttrs(t, res, "__client")
		assertAuthCookieAttrs(t, res, "__session")
		if _, me := ta.me(t, c, nil); me != uid {
			t.Errorf("GET /api/me after FAPI sign-up: got %q, want %s", me, uid)
		}

		for _, tc := range []struct{ name, body, code string }{
			{"taken", `{"email_address":"` + doraEmail + `","password":"a perfectly fine pass"}`, "form_identifier_exists"},
			{"short password", `{"email_address":"x1@example.com","password":"short"}`, "form_password_length_too_short"},
			{"pwned password", `{"email_address":"x2@example.com","password":"password123"}`, "form_password_pwned"},
			{"email as password", `{"email_address":"x3@example.com","password":"x3@example.com"}`, "form_password_pwned"},
			{"missing email", `{"password":"a perfectly fine pass"}`, "form_param_missing"},
			{"bad email", `{"email_address":"nope","password":"a perfectly fine pass"}`, "form_param_format_invalid"},
			{"non-string field", `{"email_address":["x@example.com"],"password":"a perfectly fine pass"}`, "form_param_format_invalid"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, body := harness.Do(t, ta.Browser(t), http.MethodPost, base+"/client/sign_ups", strings.NewReader(tc.body), jsonHeader)
				fapiError(t, tc.name, res, body, http.StatusUnprocessableEntity, tc.code)
				assertNoAuthCookie(t, res)
			})
		}
	})

	t.Run("GET /client", func(t *testing.T) {
		anon := ta.Browser(t)
		res, body := harness.Do(t, anon, http.MethodGet, base+"/client", nil, nil)
		assertStatus(t, "GET /client signed out", res, body, http.StatusOK)
		assertJSONType(t, "GET /client signed out", res)
		m := decodeObject(t, "client", body)
		if m["object"] != "client" {
			t.Errorf("client object: got %v, want client", m["object"])
		}
		if s, ok := m["sessions"].([]any); !ok || len(s) != 0 {
			t.Errorf("signed-out sessions: got %v, want []", m["sessions"])
		}

		c := ta.Browser(t)
		ta.SignIn(t, c, doraEmail, doraPassword)
		sid := ta.sessionID(t, c)
		res, body = harness.Do(t, c, http.MethodGet, base+"/client", nil, nil)
		assertStatus(t, "GET /client signed in", res, body, http.StatusOK)
		assertJSONType(t, "GET /client signed in", res)
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
		c, other := ta.Browser(t), ta.Browser(t)
		ta.SignIn(t, c, doraEmail, doraPassword)
		ta.SignIn(t, other, evanEmail, evanPassword)
		sid, otherSID := ta.sessionID(t, c), ta.sessionID(t, other)

		res, body := harness.Do(t, c, http.MethodPost, base+"/client/sessions/"+sid+"/tokens", nil, sameOrigin)
		assertStatus(t, "POST tokens", res, body, http.StatusOK)
		assertJSONType(t, "POST tokens", res)
		m := decodeObject(t, "token", body)
		assertKeys(t, "token", m, "object", "jwt")
		jwt, _ := m["jwt"].(string)
		if m["object"] != "token" || ta.verifyWithJWKS(t, jwt)["sid"] != sid {
			t.Errorf("token: got %s, want object token with a jwt for %s", body, sid)
		}
		assertAuthCookieAttrs(t, res, "__session")
		if setCookies(res)["__session"].Value != jwt {
			t.Error("__session: got another value than the jwt, want the jwt")
		}

		res, body = harness.Do(t, c, http.MethodPost, base+"/client/sessions/"+otherSID+"/tokens", nil, nil)
		fapiError(t, "token for another client's session", res, body, http.StatusNotFound, "resource_not_found")
		res, body = harness.Do(t, c, http.MethodPost, base+"/client/sessions/sess_doesnotexist/tokens", nil, nil)
		fapiError(t, "token for an unknown session", res, body, http.StatusNotFound, "resource_not_found")
		res, body = harness.Do(t, c, http.MethodPost, base+"/client/sessions/"+otherSID+"/end", nil, nil)
		fapiError(t, "end another client's session", res, body, http.StatusNotFound, "resource_not_found")
		if _, uid := ta.me(t, other, nil); uid == "" {
			t.Error("other client after a foreign end attempt: got signed out, want still signed in")
		}
		res, body = harness.Do(t, ta.Browser(t), http.MethodPost, base+"/client/sessions/"+sid+"/tokens", nil, nil)
		if res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusNotFound {
			t.Errorf("token without a client cookie: got %d %s, want 401 or 404", res.StatusCode, body)
		}
		assertJSONType(t, "token without a client cookie", res)
		res, body = harness.Do(t, c, http.MethodGet, base+"/client/sessions/"+sid+"/tokens", nil, nil)
		fapiError(t, "GET tokens", res, body, http.StatusMethodNotAllowed, "method_not_allowed")

		res, body = harness.Do(t, c, http.MethodPost, base+"/client/sessions/"+sid+"/end", nil, nil)
		assertStatus(t, "POST end", res, body, http.StatusOK)
		assertJSONType(t, "POST end", res)
		m = decodeObject(t, "end", body)
		if m["object"] != "session" || m["id"] != sid || m["status"] != "ended" {
			t.Errorf("end: got object %v id %v status %v, want session %s ended", m["object"], m["id"], m["status"], sid)
		}
		assertCleared(t, res)
		if _, uid := ta.me(t, c, nil); uid != "" {
			t.Errorf("GET /api/me after end: got %s, want signed out", uid)
		}
	})

	t.Run("JWKS", func(t *testing.T) {
		for _, p := range []string{base + "/jwks", ta.URL + "/.well-known/jwks.json"} {
			res, body := harness.Do(t, plainClient(), http.MethodGet, p, nil, nil)
			assertStatus(t, "GET "+p, res, body, http.StatusOK)
			assertJSONType(t, "GET "+p, res)
			var doc struct{ Keys []map[string]any }
			if err := json.Unmarshal([]byte(body), &doc); err != nil || len(doc.Keys) == 0 {
				t.Fatalf("GET %s: got %s, want {keys:[…]}", p, body)
			}
			for _, k := range doc.Keys {
				assertKeys(t, "JWK", k, "kid", "kty", "alg", "use", "n", "e")
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
		res, body := harness.Do(t, ta.Browser(t), http.MethodGet, base+"/nope", nil, nil)
		fapiError(t, "GET /nope", res, body, http.StatusNotFound, "resource_not_found")
		res, body = harness.Do(t, ta.Browser(t), http.MethodGet, base+"/client/sign_ins", nil, nil)
		fapiError(t, "GET sign_ins", res, body, http.StatusMethodNotAllowed, "method_not_allowed")
		if res.Header.Get("Allow") != "POST" {
			t.Errorf("Allow: got %q, want POST", res.Header.Get("Allow"))
		}
	})
}
