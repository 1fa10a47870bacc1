package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// TestIntegrationRefresh waits once for short-lived tokens to expire, then
// checks both sides: a live session refreshes inline, a revoked one is
// signed out with its cookies cleared.
func TestIntegrationRefresh(t *testing.T) {
	t.Parallel()
	ta := startApp(t, map[string]string{"SESSION_TOKEN_TTL": "1s"})
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	live, revoked := ta.Browser(t), ta.Browser(t)
	ta.SignIn(t, live, doraEmail, doraPassword)
	ta.SignIn(t, revoked, doraEmail, doraPassword)
	oldTok := ta.Cookie(t, live, "__session")
	revokedTok := ta.Cookie(t, revoked, "__session")
	_, claims := jwtParts(t, oldTok)
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 1 {
		t.Errorf("token lifetime: got exp-iat %v, want 1 (SESSION_TOKEN_TTL=1s)", exp-iat)
	}
	if _, err := ta.App.Client.Sessions.RevokeSession(context.Background(), ta.sessionID(t, revoked)); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	// The already-issued token of the revoked session is still accepted
	// within its lifetime (that is the contract: it dies within TTL + 5 s).
	if res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + revokedTok}); res.StatusCode != http.StatusOK {
		t.Logf("revoked session's fresh token: got %d %s (stricter than required)", res.StatusCode, body)
	}

	// exp = iat + 1; the verifier allows 5 s of skew, so after ~7 s the
	// token is refused for sure.
	time.Sleep(7 * time.Second)

	t.Run("expired token is refused as a Bearer", func(t *testing.T) {
		res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + oldTok})
		assertStatus(t, "GET /api/me with an expired Bearer", res, body, http.StatusUnauthorized)
		if r := res.Header.Get("X-Clerk-Auth-Reason"); r != "token-expired" {
			t.Errorf("X-Clerk-Auth-Reason: got %q, want token-expired", r)
		}
	})

	t.Run("live session refreshes inline", func(t *testing.T) {
		res, body := harness.Do(t, live, http.MethodGet, ta.URL+"/api/me", nil, nil)
		assertStatus(t, "GET /api/me with an expired token", res, body, http.StatusOK)
		if !strings.Contains(body, u.ID) {
			t.Errorf("GET /api/me: got %s, want userId %s", body, u.ID)
		}
		assertAuthCookieAttrs(t, res, "__session")
		newTok := setCookies(res)["__session"].Value
		if newTok == oldTok {
			t.Error("__session after refresh: got the old token, want a new one")
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control on a refresh: got %q, want no-store", cc)
		}
		if res.Header.Get("X-Clerk-Auth-Status") != "" {
			t.Errorf("X-Clerk-Auth-Status on a refreshed request: got %q, want none", res.Header.Get("X-Clerk-Auth-Status"))
		}
		if ta.verifyWithJWKS(t, newTok)["sid"] != ta.sessionID(t, live) {
			t.Error("refreshed token: got another session, want the same sid")
		}
		// The new token is used as is on the next request: no new cookie.
		res, body = harness.Do(t, live, http.MethodGet, ta.URL+"/api/me", nil, nil)
		assertStatus(t, "GET /api/me after refresh", res, body, http.StatusOK)
		if sc := rawSetCookie(res, "__session"); sc != "" {
			t.Errorf("second request: got Set-Cookie %q, want none while the token is fresh", sc)
		}
	})

	t.Run("revoked session is signed out once its token expired", func(t *testing.T) {
		res, body := harness.Do(t, revoked, http.MethodGet, ta.URL+"/api/me", nil, nil)
		assertStatus(t, "GET /api/me for a revoked session", res, body, http.StatusUnauthorized)
		assertCleared(t, res)
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
		c := ta.Browser(t)
		ta.SignIn(t, c, email, pw)
		_, uid := ta.me(t, c, nil)
		sid := ta.sessionID(t, c)
		end(uid, sid)
		ta.dropCookie(c, "__session")
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/api/me", nil, nil)
		assertStatus(t, "GET /api/me with only __client", res, body, http.StatusUnauthorized)
		assertCleared(t, res)
		if res.Header.Get("X-Clerk-Auth-Status") != "signed-out" || res.Header.Get("X-Clerk-Auth-Reason") == "" {
			t.Errorf("auth headers: got %q / %q, want signed-out and a reason",
				res.Header.Get("X-Clerk-Auth-Status"), res.Header.Get("X-Clerk-Auth-Reason"))
		}
		if v := ta.Cookie(t, c, "__client"); v != "" {
			t.Errorf("jar after clearing: got __client %.20s…, want none", v)
		}
		// A page request is redirected to sign in.
		res, _ = harness.Do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, map[string]string{"Accept": "text/html"})
		if res.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("GET /dashboard afterwards: got %d, want 307", res.StatusCode)
		}
	}

	t.Run("control: a live session refreshes from __client alone", func(t *testing.T) {
		ta.CreateUser(t, "live@example.com", doraPassword, "Live", "User")
		c := ta.Browser(t)
		ta.SignIn(t, c, "live@example.com", doraPassword)
		ta.dropCookie(c, "__session")
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/api/me", nil, nil)
		assertStatus(t, "GET /api/me with only __client", res, body, http.StatusOK)
		assertAuthCookieAttrs(t, res, "__session")
		// A __session that fails verification is replaced the same way.
		u, _ := url.Parse(ta.URL)
		c.Jar.SetCookies(u, []*http.Cookie{{Name: "__session", Value: "garbage", Path: "/"}})
		res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/api/me", nil, nil)
		assertStatus(t, "GET /api/me with a garbage __session and a valid __client", res, body, http.StatusOK)
		if v := setCookies(res)["__session"]; v == nil || strings.Count(v.Value, ".") != 2 {
			t.Errorf("__session after refresh: got %v, want a new token", v)
		}
	})

	t.Run("revoked session", func(t *testing.T) {
		ta.CreateUser(t, "revoked@example.com", doraPassword, "Re", "Voked")
		check(t, "revoked@example.com", doraPassword, func(_, sid string) {
			if _, err := ta.App.Client.Sessions.RevokeSession(ctx, sid); err != nil {
				t.Fatalf("RevokeSession: %v", err)
			}
		})
	})

	t.Run("banned user", func(t *testing.T) {
		ta.CreateUser(t, "banned@example.com", doraPassword, "Ban", "Ned")
		check(t, "banned@example.com", doraPassword, func(uid, _ string) {
			if _, err := ta.App.Client.Users.BanUser(ctx, uid); err != nil {
				t.Fatalf("BanUser: %v", err)
			}
		})
		// A banned user cannot sign in again.
		res, body := harness.PostForm(t, ta.Browser(t), ta.URL+"/sign-in", url.Values{"identifier": {"banned@example.com"}, "password": {doraPassword}})
		if res.StatusCode == http.StatusSeeOther || res.StatusCode >= 500 {
			t.Errorf("sign-in of a banned user: got %d, want a 4xx refusal; body %.200s", res.StatusCode, body)
		}
		assertNoAuthCookie(t, res)
	})

	t.Run("deleted user", func(t *testing.T) {
		ta.CreateUser(t, "deleted@example.com", doraPassword, "Dele", "Ted")
		check(t, "deleted@example.com", doraPassword, func(uid, _ string) {
			if _, err := ta.App.Client.Users.DeleteUser(ctx, uid); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
		})
	})

	t.Run("sign-out form", func(t *testing.T) {
		ta.CreateUser(t, "leaver@example.com", doraPassword, "Lea", "Ver")
		c := ta.Browser(t)
		ta.SignIn(t, c, "leaver@example.com", doraPassword)
		oldClient := ta.Cookie(t, c, "__client")
		oldSession := ta.Cookie(t, c, "__session")
		res, body := harness.PostForm(t, c, ta.URL+"/sign-out", url.Values{})
		assertStatus(t, "POST /sign-out", res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Errorf("Location: got %q, want /", loc)
		}
		assertCleared(t, res)
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control: got %q, want no-store", cc)
		}
		if _, uid := ta.me(t, c, nil); uid != "" {
			t.Errorf("GET /api/me after sign-out: got %s, want signed out", uid)
		}
		// The old client cookie no longer refreshes.
		old := ta.browserWith(t, map[string]string{"__client": oldClient})
		res, body = harness.Do(t, old, http.MethodGet, ta.URL+"/api/me", nil, nil)
		assertStatus(t, "GET /api/me with the old __client", res, body, http.StatusUnauthorized)
		assertCleared(t, res)
		// Nor does the FAPI mint tokens for it.
		sid := func() string { _, cl := jwtParts(t, oldSession); return cl["sid"].(string) }()
		res, body = harness.Do(t, old, http.MethodPost, ta.URL+"/__clerk/v1/client/sessions/"+sid+"/tokens", nil, nil)
		if res.StatusCode == http.StatusOK || res.StatusCode >= 500 {
			t.Errorf("FAPI token for a signed-out client: got %d %s, want a 4xx", res.StatusCode, body)
		}
		// Signing out again, signed out, is harmless, and a hostile
		// redirect_url falls back to the after-sign-out page.
		res, body = harness.PostForm(t, c, ta.URL+"/sign-out", url.Values{"redirect_url": {"//evil.com"}})
		assertStatus(t, "POST /sign-out again", res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Errorf("sign-out with a hostile redirect_url: got Location %q, want /", loc)
		}
	})

	t.Run("GET /sign-out is 405", func(t *testing.T) {
		ta.CreateUser(t, "stayer@example.com", doraPassword, "Stay", "Er")
		c := ta.Browser(t)
		ta.SignIn(t, c, "stayer@example.com", doraPassword)
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/sign-out", nil, nil)
		assertStatus(t, "GET /sign-out", res, body, http.StatusMethodNotAllowed)
		if _, uid := ta.me(t, c, nil); uid == "" {
			t.Error("GET /api/me after GET /sign-out: got signed out, want still signed in (no state change on GET)")
		}
	})
}
