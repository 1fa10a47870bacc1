package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

func TestIntegrationAPI(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Other")
	dora, evan, anon := ta.Browser(t), ta.Browser(t), ta.Browser(t)
	ta.SignIn(t, dora, doraEmail, doraPassword)
	ta.SignIn(t, evan, evanEmail, evanPassword)
	_, doraID := ta.me(t, dora, nil)

	t.Run("signed out is 401 JSON everywhere", func(t *testing.T) {
		for _, rq := range []struct{ method, path, body string }{
			{"GET", "/api/me", ""}, {"GET", "/api/token", ""}, {"GET", "/api/user", ""},
			{"GET", "/api/items", ""}, {"POST", "/api/items", `{"name":"x"}`}, {"DELETE", "/api/items/item_x", ""},
		} {
			res, body := harness.Do(t, anon, rq.method, ta.URL+rq.path, strings.NewReader(rq.body), jsonHeader)
			assertStatus(t, rq.method+" "+rq.path, res, body, http.StatusUnauthorized)
			assertJSONType(t, rq.method+" "+rq.path, res)
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
		res, body := harness.Do(t, dora, http.MethodGet, ta.URL+"/api/me", nil, nil)
		assertStatus(t, "GET /api/me", res, body, http.StatusOK)
		assertJSONType(t, "GET /api/me", res)
		m := decodeObject(t, "GET /api/me", body)
		assertKeys(t, "GET /api/me", m, "userId")
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
		res, body := harness.Do(t, dora, http.MethodGet, ta.URL+"/api/token", nil, nil)
		assertStatus(t, "GET /api/token", res, body, http.StatusOK)
		assertJSONType(t, "GET /api/token", res)
		m := decodeObject(t, "GET /api/token", body)
		assertKeys(t, "GET /api/token", m, "userId", "token")
		tok, _ := m["token"].(string)
		claims := ta.verifyWithJWKS(t, tok)
		if sid := ta.sessionID(t, dora); claims["sid"] != sid {
			t.Errorf("token sid: got %v, want the session %s", claims["sid"], sid)
		}
		if claims["sub"] != doraID || m["userId"] != doraID {
			t.Errorf("token sub / userId: got %v / %v, want %s", claims["sub"], m["userId"], doraID)
		}
		if claims["v"] != float64(2) || claims["sts"] != "active" || claims["azp"] != ta.URL {
			t.Errorf("token claims: got v %v sts %v azp %v, want 2 active %s", claims["v"], claims["sts"], claims["azp"], ta.URL)
		}

		// The token works as a Bearer from a client without cookies.
		res, body = harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer " + tok})
		assertStatus(t, "GET /api/me with Bearer", res, body, http.StatusOK)
		if !strings.Contains(body, doraID) {
			t.Errorf("GET /api/me with Bearer: got %s, want userId %s", body, doraID)
		}
		if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("Bearer request: got Set-Cookie %q, want none", sc)
		}
	})

	t.Run("invalid Bearer beats a valid cookie", func(t *testing.T) {
		res, body := harness.Do(t, dora, http.MethodGet, ta.URL+"/api/me", nil, map[string]string{"Authorization": "Bearer not.a.token"})
		assertStatus(t, "GET /api/me with a bad Bearer and a good cookie", res, body, http.StatusUnauthorized)
		if res.Header.Get("X-Clerk-Auth-Status") != "signed-out" {
			t.Errorf("X-Clerk-Auth-Status: got %q, want signed-out", res.Header.Get("X-Clerk-Auth-Status"))
		}
		if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("Bearer path: got Set-Cookie %q, want none (no refresh)", sc)
		}
	})

	t.Run("GET /api/user", func(t *testing.T) {
		before := time.Now().Add(-2 * time.Second)
		res, body := harness.Do(t, dora, http.MethodGet, ta.URL+"/api/user", nil, nil)
		assertStatus(t, "GET /api/user", res, body, http.StatusOK)
		assertJSONType(t, "GET /api/user", res)
		m := decodeObject(t, "GET /api/user", body)
		assertKeys(t, "GET /api/user", m, "id", "email", "metadata")
		if m["id"] != doraID || m["email"] != doraEmail {
			t.Errorf("GET /api/user: got id %v email %v, want %s %s", m["id"], m["email"], doraID, doraEmail)
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
		u, err := ta.App.Client.Users.GetUser(context.Background(), doraID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(u.PublicMetadata), s) {
			t.Errorf("stored public_metadata: got %s, want lastApiAccess %s", u.PublicMetadata, s)
		}
	})

	var doraItem string
	t.Run("items CRUD", func(t *testing.T) {
		res, body := harness.Do(t, dora, http.MethodGet, ta.URL+"/api/items", nil, nil)
		assertStatus(t, "GET /api/items", res, body, http.StatusOK)
		assertJSONType(t, "GET /api/items", res)
		if body != `{"items":[],"userId":"`+doraID+`"}` {
			t.Errorf("GET /api/items (empty): got %s, want {\"items\":[],\"userId\":…}", body)
		}
		res, body = harness.Do(t, dora, http.MethodPost, ta.URL+"/api/items", strings.NewReader(`{"name":"  First item  "}`), jsonHeader)
		assertStatus(t, "POST /api/items", res, body, http.StatusCreated)
		assertJSONType(t, "POST /api/items", res)
		m := decodeObject(t, "POST /api/items", body)
		assertKeys(t, "POST /api/items", m, "userId", "created", "item")
		item, _ := m["item"].(map[string]any)
		assertKeys(t, "POST /api/items item", item, "id", "name", "created_at")
		if m["userId"] != doraID || m["created"] != true || item["name"] != "First item" {
			t.Errorf("POST /api/items: got %s, want userId %s, created true, name \"First item\"", body, doraID)
		}
		if ms, _ := item["created_at"].(float64); ms < float64(time.Now().Add(-time.Minute).UnixMilli()) {
			t.Errorf("created_at: got %v, want Unix milliseconds of now", item["created_at"])
		}
		doraItem, _ = item["id"].(string)

		res, body = harness.Do(t, dora, http.MethodPost, ta.URL+"/api/items", strings.NewReader(`{"name":"`+strings.Repeat("é", 200)+`"}`), jsonHeader)
		assertStatus(t, "POST /api/items with 200 characters", res, body, http.StatusCreated)

		res, body = harness.Do(t, dora, http.MethodGet, ta.URL+"/api/items", nil, nil)
		assertStatus(t, "GET /api/items", res, body, http.StatusOK)
		var list struct {
			UserID string
			Items  []struct{ ID, Name string }
		}
		json.Unmarshal([]byte(body), &list)
		if len(list.Items) != 2 || list.Items[0].ID != doraItem || list.UserID != doraID {
			t.Errorf("GET /api/items: got %s, want 2 items, the first %s", body, doraItem)
		}

		// Evan sees none of them and cannot delete them.
		res, body = harness.Do(t, evan, http.MethodGet, ta.URL+"/api/items", nil, nil)
		if res.StatusCode != http.StatusOK || strings.Contains(body, doraItem) {
			t.Errorf("GET /api/items as another user: got %d %s, want 200 without %s", res.StatusCode, body, doraItem)
		}
		res, body = harness.Do(t, evan, http.MethodDelete, ta.URL+"/api/items/"+doraItem, nil, nil)
		assertStatus(t, "DELETE another user's item", res, body, http.StatusNotFound)
		assertJSONType(t, "DELETE another user's item", res)
		if m := decodeObject(t, "404", body); m["error"] == nil || len(m) != 1 {
			t.Errorf("404 body: got %s, want {\"error\":…}", body)
		}

		res, body = harness.Do(t, dora, http.MethodDelete, ta.URL+"/api/items/"+doraItem, nil, nil)
		assertStatus(t, "DELETE own item", res, body, http.StatusOK)
		assertJSONType(t, "DELETE own item", res)
		if body != `{"deleted":true,"userId":"`+doraID+`"}` {
			t.Errorf("DELETE: got %s, want {\"deleted\":true,\"userId\":%q}", body, doraID)
		}
		res, body = harness.Do(t, dora, http.MethodDelete, ta.URL+"/api/items/"+doraItem, nil, nil)
		assertStatus(t, "DELETE an item twice", res, body, http.StatusNotFound)
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
				res, body := harness.Do(t, dora, tc.method, ta.URL+tc.path, strings.NewReader(tc.body), h)
				assertStatus(t, tc.method+" "+tc.path, res, body, tc.status)
				assertJSONType(t, tc.method+" "+tc.path, res)
				m := decodeObject(t, tc.method+" "+tc.path, body)
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
		res, body := harness.Do(t, dora, http.MethodGet, ta.URL+"/api/items", nil, nil)
		assertStatus(t, "GET /api/items", res, body, http.StatusOK)
		var list struct{ Items []any }
		json.Unmarshal([]byte(body), &list)
		if len(list.Items) != 1 {
			t.Errorf("items after the refusals: got %d, want 1 (the 200-character one)", len(list.Items))
		}
	})
}
