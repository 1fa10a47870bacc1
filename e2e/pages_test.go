package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

func TestIntegrationSSRState(t *testing.T) {
	ta := startApp(t, nil)
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	_, err := ta.App.Client.Users.UpdateUserMetadata(context.Background(), u.ID, auth.UpdateUserMetadataParams{
		PrivateMetadata: json.RawMessage(`{"ssn":"SECRET-VALUE-4711","nested":{"deep":"SECRET-VALUE-4712"}}`),
		PublicMetadata:  json.RawMessage(`{"plan":"pro"}`),
	})
	if err != nil {
		t.Fatalf("UpdateUserMetadata: %v", err)
	}

	t.Run("signed-in dashboard", func(t *testing.T) {
		c := ta.Browser(t)
		ta.SignIn(t, c, doraEmail, doraPassword)
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, map[string]string{"Accept": "text/html"})
		assertStatus(t, "GET /dashboard", res, body, http.StatusOK)
		nonce, state := ssrState(t, body)
		if nonce == "" {
			t.Error("SSR script: got no nonce, want one")
		} else if csp := cspNonce(t, res); nonce != csp {
			t.Errorf("SSR script nonce: got %q, want the CSP nonce %q", nonce, csp)
		}
		for _, k := range authStateKeys {
			if _, ok := state[k]; !ok {
				t.Errorf("SSR state: got no key %q, want all 12 auth keys", k)
			}
		}
		for k := range state {
			if !slices.Contains(authStateKeys, k) && k != "user" && k != "session" && k != "organization" {
				t.Errorf("SSR state: got unexpected key %q", k)
			}
		}
		_, uid := ta.me(t, c, nil)
		if state["userId"] != uid || uid == "" {
			t.Errorf("SSR userId: got %v, want /api/me's %q", state["userId"], uid)
		}
		if sid := ta.sessionID(t, c); state["sessionId"] != sid {
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
		c := ta.Browser(t)
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/", nil, nil)
		assertStatus(t, "GET /", res, body, http.StatusOK)
		nonce, state := ssrState(t, body)
		if csp := cspNonce(t, res); nonce != csp {
			t.Errorf("SSR script nonce: got %q, want the CSP nonce %q", nonce, csp)
		}
		assertKeys(t, "signed-out SSR state", state, authStateKeys...)
		if state["isAuthenticated"] != false || state["tokenType"] != "session_token" {
			t.Errorf("SSR state: got isAuthenticated %v tokenType %v, want false session_token", state["isAuthenticated"], state["tokenType"])
		}
		for _, k := range authStateKeys {
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
