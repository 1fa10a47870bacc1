package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

func TestIntegrationSignUpForm(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")

	t.Run("success redirects to the fallback with cookies", func(t *testing.T) {
		c := ta.Browser(t)
		res, body := signUpForm(t, c, ta.URL, url.Values{
			"email_address": {"new@example.com"}, "password": {"a perfectly fine pass"},
			"first_name": {"New"}, "last_name": {"Person"},
		})
		assertStatus(t, "POST /sign-up", res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/dashboard" {
			t.Errorf("Location: got %q, want /dashboard", loc)
		}
		assertAuthCookieAttrs(t, res, "__client")
		assertAuthCookieAttrs(t, res, "__session")
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control: got %q, want no-store", cc)
		}
		_, uid := ta.me(t, c, nil)
		if !strings.HasPrefix(uid, "user_") {
			t.Errorf("GET /api/me after sign-up: got userId %q, want user_…", uid)
		}
	})

	t.Run("success honours a safe redirect_url", func(t *testing.T) {
		c := ta.Browser(t)
		res, body := signUpForm(t, c, ta.URL, url.Values{
			"email_address": {"other@example.com"}, "password": {"a perfectly fine pass"},
			"redirect_url": {"/profile?tab=1"},
		})
		assertStatus(t, "POST /sign-up", res, body, http.StatusSeeOther)
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
		{"taken email", doraEmail, "a perfectly fine pass", "email_address", "taken"},
		{"taken email in another case", "DORA@Example.com", "a perfectly fine pass", "email_address", "taken"},
	}
	for _, tc := range failures {
		t.Run("422 "+tc.name, func(t *testing.T) {
			c := ta.Browser(t)
			res, body := signUpForm(t, c, ta.URL, url.Values{"email_address": {tc.email}, "password": {tc.password}})
			assertStatus(t, "POST /sign-up", res, body, http.StatusUnprocessableEntity)
			assertNoAuthCookie(t, res)
			if !strings.Contains(body, `id="`+tc.field+`-error"`) {
				t.Errorf("body: got no field message for %s, want one", tc.field)
			}
			if !strings.Contains(body, tc.message) {
				t.Errorf("body: got no %q, want the field message", tc.message)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type: got %q, want text/html", ct)
			}
			if _, uid := ta.me(t, c, nil); uid != "" {
				t.Errorf("GET /api/me after failed sign-up: got signed in as %s, want signed out", uid)
			}
		})
	}
}

func TestIntegrationSignInForm(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")

	t.Run("success 303 with cookies", func(t *testing.T) {
		c := ta.Browser(t)
		res, body := harness.PostForm(t, c, ta.URL+"/sign-in", url.Values{"identifier": {doraEmail}, "password": {doraPassword}})
		assertStatus(t, "POST /sign-in", res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/dashboard" {
			t.Errorf("Location: got %q, want /dashboard", loc)
		}
		assertAuthCookieAttrs(t, res, "__client")
		assertAuthCookieAttrs(t, res, "__session")
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control: got %q, want no-store", cc)
		}
		if ck := setCookies(res)["__client"]; ck == nil || ck.MaxAge != int(ta.Cfg.SessionMaxAge/time.Second) {
			t.Errorf("__client Max-Age: got %v, want the session max age %d s", ck, int(ta.Cfg.SessionMaxAge/time.Second))
		}
		first := ta.Cookie(t, c, "__client")
		firstSID := ta.sessionID(t, c)

		// Signing in again rotates the client secret and the session.
		ta.SignIn(t, c, doraEmail, doraPassword)
		if ta.Cookie(t, c, "__client") == first {
			t.Error("__client after a second sign-in: got the same value, want a new secret")
		}
		if sid := ta.sessionID(t, c); sid == firstSID {
			t.Errorf("session after a second sign-in: got the same id %s, want a new one", sid)
		}
		// The first client cookie is worthless now.
		old := ta.browserWith(t, map[string]string{"__client": first})
		if res, uid := ta.me(t, old, nil); uid != "" {
			t.Errorf("GET /api/me with the pre-rotation __client: got %d signed in, want signed out", res.StatusCode)
		}
	})

	t.Run("unknown email and wrong password are indistinguishable", func(t *testing.T) {
		c1, c2 := ta.Browser(t), ta.Browser(t)
		r1, b1 := harness.PostForm(t, c1, ta.URL+"/sign-in", url.Values{"identifier": {"nobody@example.com"}, "password": {"whatever password"}})
		r2, b2 := harness.PostForm(t, c2, ta.URL+"/sign-in", url.Values{"identifier": {doraEmail}, "password": {"whatever password"}})
		if r1.StatusCode != http.StatusUnprocessableEntity || r2.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status: got %d (unknown) and %d (wrong password), want 422 for both", r1.StatusCode, r2.StatusCode)
		}
		for i, r := range []*http.Response{r1, r2} {
			if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("response %d: got Set-Cookie %q, want none", i+1, sc)
			}
		}
		norm := func(b, email string) string {
			return strings.ReplaceAll(nonceAttrRE.ReplaceAllString(b, ""), email, "EMAIL")
		}
		n1, n2 := norm(b1, "nobody@example.com"), norm(b2, doraEmail)
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
		ta.CreateUser(t, "exact@example.com", long, "Ex", "Act")
		ta.CreateUser(t, "unicode@example.com", "caf\u00e9 au lait!", "Uni", "Code") // NFC é
		for _, tc := range []struct {
			email, pw string
			want      int
		}{
			{"exact@example.com", long[:72], http.StatusUnprocessableEntity},
			{"exact@example.com", long + "x", http.StatusUnprocessableEntity},
			{"exact@example.com", long, http.StatusSeeOther},
			{doraEmail, strings.ToUpper(doraPassword), http.StatusUnprocessableEntity},
			{doraEmail, doraPassword + " ", http.StatusUnprocessableEntity},
			{"unicode@example.com", "cafe\u0301 au lait!", http.StatusSeeOther}, // NFD é: same password
			{"UNICODE@Example.COM", "caf\u00e9 au lait!", http.StatusSeeOther},  // email case does not matter
		} {
			res, body := harness.PostForm(t, ta.Browser(t), ta.URL+"/sign-in", url.Values{"identifier": {tc.email}, "password": {tc.pw}})
			if res.StatusCode != tc.want {
				t.Errorf("sign-in %s with %q: got %d, want %d; body %.200s", tc.email, tc.pw, res.StatusCode, tc.want, body)
			}
		}
	})

	t.Run("missing fields are 422 without cookies", func(t *testing.T) {
		c := ta.Browser(t)
		res, body := harness.PostForm(t, c, ta.URL+"/sign-in", url.Values{"identifier": {doraEmail}})
		assertStatus(t, "POST /sign-in without password", res, body, http.StatusUnprocessableEntity)
		assertNoAuthCookie(t, res)
	})
}

func TestIntegrationSignInLockout(t *testing.T) {
	t.Parallel()
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.Browser(t)
	wrong := url.Values{"identifier": {doraEmail}, "password": {"not the password"}}
	for i := 1; i <= 9; i++ {
		res, body := harness.PostForm(t, c, ta.URL+"/sign-in", wrong)
		assertStatus(t, fmt.Sprintf("wrong password #%d", i), res, body, http.StatusUnprocessableEntity)
	}
	res, body := harness.PostForm(t, c, ta.URL+"/sign-in", wrong)
	if res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("wrong password #10: got %d, want 403 (locked) or 422; body %.200s", res.StatusCode, body)
	}
	res, body = harness.PostForm(t, c, ta.URL+"/sign-in", url.Values{"identifier": {doraEmail}, "password": {doraPassword}})
	assertStatus(t, "right password after 10 failures", res, body, http.StatusForbidden)
	assertNoAuthCookie(t, res)
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
	if _, uid := ta.me(t, c, nil); uid != "" {
		t.Errorf("GET /api/me: got signed in as %s, want signed out", uid)
	}
	// The lock lives in the store: the frontend API refuses as well.
	res, body = harness.Do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sign_ins",
		strings.NewReader(`{"identifier":"`+doraEmail+`","password":"`+doraPassword+`"}`), jsonHeader)
	fapiError(t, "FAPI sign-in while locked", res, body, http.StatusForbidden, "user_locked")
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
		ta.CreateUser(t, "eve@example.com", doraPassword, "Eve", "Test")
		c := ta.Browser(t)
		wrong := url.Values{"identifier": {"eve@example.com"}, "password": {"not the password"}}
		for i := 1; i <= 9; i++ {
			res, body := harness.PostForm(t, c, ta.URL+"/sign-in", wrong)
			assertStatus(t, fmt.Sprintf("wrong password #%d", i), res, body, http.StatusUnprocessableEntity)
		}
		ta.SignIn(t, c, "eve@example.com", doraPassword)
		res, body := harness.PostForm(t, c, ta.URL+"/sign-in", wrong)
		assertStatus(t, "wrong password after a success", res, body, http.StatusUnprocessableEntity)
		ta.SignIn(t, c, "eve@example.com", doraPassword)
	})
}

func TestIntegrationSignInRateLimit(t *testing.T) {
	ta := startApp(t, map[string]string{"SIGN_IN_RATE_LIMIT": "3"})
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.Browser(t)
	for i := 1; i <= 3; i++ {
		res, body := harness.PostForm(t, c, ta.URL+"/sign-in", url.Values{"identifier": {"nobody@example.com"}, "password": {"guess number " + fmt.Sprint(i)}})
		assertStatus(t, fmt.Sprintf("attempt %d", i), res, body, http.StatusUnprocessableEntity)
	}
	// X-Forwarded-For is not trusted without TRUSTED_PROXIES: a forged
	// address does not get a fresh allowance.
	res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/sign-in",
		strings.NewReader(url.Values{"identifier": {doraEmail}, "password": {doraPassword}}.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"})
	assertStatus(t, "attempt 4 (with a forged X-Forwarded-For)", res, body, http.StatusTooManyRequests)
	if !strings.Contains(body, "Try again in") {
		t.Errorf("429 page: got no wait shown, want 'Try again in …'")
	}
	if ra := res.Header.Get("Retry-After"); ra == "" {
		t.Error("Retry-After: got none, want a wait in seconds")
	}
	assertNoAuthCookie(t, res)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type: got %q, want a page", ct)
	}
	// The frontend API shares the limit.
	res, body = harness.PostForm(t, c, ta.URL+"/sign-up", url.Values{"email_address": {"new@example.com"}, "password": {"a perfectly fine pass"}})
	assertStatus(t, "sign-up over the limit", res, body, http.StatusTooManyRequests)
	assertNoAuthCookie(t, res)
	if res.Header.Get("Retry-After") == "" {
		t.Error("sign-up 429 Retry-After: got none, want one")
	}
	res, body = harness.Do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sign_ins",
		strings.NewReader(`{"identifier":"`+doraEmail+`","password":"`+doraPassword+`"}`), jsonHeader)
	fapiError(t, "FAPI sign-in over the limit", res, body, http.StatusTooManyRequests, "too_many_requests")
	if res.Header.Get("Retry-After") == "" {
		t.Error("FAPI 429 Retry-After: got none, want one")
	}
}

func TestIntegrationRedirectURL(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")

	var signInURL string
	t.Run("signed-out dashboard redirects to sign-in", func(t *testing.T) {
		c := ta.Browser(t)
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, map[string]string{"Accept": "text/html,application/xhtml+xml"})
		assertStatus(t, "GET /dashboard signed out", res, body, http.StatusTemporaryRedirect)
		want := "/sign-in?redirect_url=" + url.QueryEscape(ta.URL+"/dashboard")
		if loc := res.Header.Get("Location"); loc != want {
			t.Errorf("Location: got %q, want %q", loc, want)
		}
		signInURL = res.Header.Get("Location")
	})

	t.Run("sign-in page carries redirect_url and sign-in honours it", func(t *testing.T) {
		c := ta.Browser(t)
		if signInURL == "" {
			signInURL = "/sign-in?redirect_url=" + url.QueryEscape(ta.URL+"/dashboard")
		}
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+signInURL, nil, nil)
		assertStatus(t, "GET "+signInURL, res, body, http.StatusOK)
		u, _ := url.Parse(signInURL)
		back := u.Query().Get("redirect_url")
		if !strings.Contains(body, `name="redirect_url" value="/dashboard"`) && !strings.Contains(body, `name="redirect_url" value="`+back+`"`) {
			t.Errorf("sign-in page: got no hidden redirect_url for the dashboard, want one")
		}
		res, body = harness.PostForm(t, c, ta.URL+"/sign-in", url.Values{"identifier": {doraEmail}, "password": {doraPassword}, "redirect_url": {back}})
		assertStatus(t, "POST /sign-in", res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/dashboard" {
			t.Errorf("Location: got %q, want /dashboard", loc)
		}
		res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, map[string]string{"Accept": "text/html"})
		assertStatus(t, "GET /dashboard signed in", res, body, http.StatusOK)
	})

	hostile := []string{
		"//evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)",
		"/%5Cevil.com", "/%2F/evil.com", "http://evil.com@" + strings.TrimPrefix(ta.URL, "http://"),
		"https://evil.com/" + strings.TrimPrefix(ta.URL, "http://"), "/dashboard\r\nSet-Cookie: x=1", " //evil.com",
	}
	signedIn := ta.Browser(t)
	ta.SignIn(t, signedIn, doraEmail, doraPassword)
	for i, h := range hostile {
		t.Run(fmt.Sprintf("hostile %q falls back", h), func(t *testing.T) {
			if i < 4 { // the classic four go through a real sign-in (each costs a hash)
				c := ta.Browser(t)
				res, body := harness.PostForm(t, c, ta.URL+"/sign-in", url.Values{"identifier": {doraEmail}, "password": {doraPassword}, "redirect_url": {h}})
				assertStatus(t, "POST /sign-in", res, body, http.StatusSeeOther)
				if loc := res.Header.Get("Location"); loc != "/dashboard" {
					t.Errorf("POST /sign-in Location: got %q, want the fallback /dashboard", loc)
				}
			}
			// Signed in: GET /sign-in with the same value also stays on site.
			res, _ := harness.Do(t, signedIn, http.MethodGet, ta.URL+"/sign-in?redirect_url="+url.QueryEscape(h), nil, nil)
			if res.StatusCode/100 != 3 {
				t.Fatalf("GET /sign-in signed in: got %d, want a redirect", res.StatusCode)
			}
			if loc := res.Header.Get("Location"); loc != "/dashboard" {
				t.Errorf("GET /sign-in signed in Location: got %q, want /dashboard", loc)
			}
		})
	}

	t.Run("sign-in page drops a hostile redirect_url", func(t *testing.T) {
		res, body := harness.Do(t, ta.Browser(t), http.MethodGet, ta.URL+"/sign-in?redirect_url="+url.QueryEscape("https://evil.com/x"), nil, nil)
		assertStatus(t, "GET /sign-in", res, body, http.StatusOK)
		if strings.Contains(body, "evil.com") {
			t.Error("sign-in page: got the hostile redirect_url in the page, want it dropped")
		}
	})

	t.Run("protected page by Sec-Fetch-Dest and JSON callers", func(t *testing.T) {
		c := ta.Browser(t)
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/profile", nil, map[string]string{"Sec-Fetch-Dest": "document"})
		assertStatus(t, "GET /profile as a document", res, body, http.StatusTemporaryRedirect)
		if want := "/sign-in?redirect_url=" + url.QueryEscape(ta.URL+"/profile"); res.Header.Get("Location") != want {
			t.Errorf("Location: got %q, want %q", res.Header.Get("Location"), want)
		}
		res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, map[string]string{"Sec-Fetch-Dest": "document"})
		assertStatus(t, "GET /dashboard as a document", res, body, http.StatusTemporaryRedirect)
		res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/profile", nil, map[string]string{"Accept": "application/json"})
		assertStatus(t, "GET /profile from fetch", res, body, http.StatusUnauthorized)
		assertJSONType(t, "GET /profile from fetch", res)
		if body != `{"error":"Unauthorized"}` {
			t.Errorf("GET /profile from fetch: got %s, want {\"error\":\"Unauthorized\"}", body)
		}
	})

	t.Run("sign-in page when signed in redirects away", func(t *testing.T) {
		c := ta.Browser(t)
		ta.SignIn(t, c, doraEmail, doraPassword)
		for _, p := range []string{"/sign-in", "/sign-up"} {
			res, body := harness.Do(t, c, http.MethodGet, ta.URL+p, nil, map[string]string{"Accept": "text/html"})
			if res.StatusCode/100 != 3 {
				t.Errorf("GET %s signed in: got %d, want a redirect; body %.200s", p, res.StatusCode, body)
				continue
			}
			if loc := res.Header.Get("Location"); loc != "/dashboard" {
				t.Errorf("GET %s signed in Location: got %q, want /dashboard", p, loc)
			}
		}
		res, _ := harness.Do(t, c, http.MethodGet, ta.URL+"/sign-in?redirect_url=%2Fprofile", nil, nil)
		if loc := res.Header.Get("Location"); loc != "/profile" {
			t.Errorf("GET /sign-in?redirect_url=/profile signed in: got Location %q, want /profile", loc)
		}
	})
}
