package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
)

// bapiDo sends one Backend API request with key as the Bearer secret.
func bapiDo(t *testing.T, ta *testApp, method, path, key, body string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ta.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json") // the SDKs send it on every call
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestBackendAPIWireRules: the rules every SDK depends on, over plain
// HTTP — authentication before the body is read, Clerk's error envelope,
// the exact Content-Type, the bare /users array with /users/count,
// envelopes elsewhere, and an empty POST body accepted.
func TestBackendAPIWireRules(t *testing.T) {
	ta := startApp(t, map[string]string{"BACKEND_API_PREFIX": "/clerk"})
	key := ta.Cfg.SecretKey
	ta.CreateUser(t, "wire@example.com", "correct horse battery", "Wire", "Rules")

	t.Run("authentication comes before the body", func(t *testing.T) {
		huge := `{"first_name":"` + strings.Repeat("x", 200<<10) + `"}`
		for _, tc := range []struct{ name, key, code string }{
			{"no key", "", "authentication_invalid"},
			{"a wrong key", "sk_test_" + strings.Repeat("A", 40), "clerk_key_invalid"},
		} {
			res, body := bapiDo(t, ta, http.MethodPost, "/v1/users", tc.key, huge)
			if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"code":"`+tc.code+`"`) {
				t.Errorf("%s with a 200 KB body: got %d %s, want 401 %s (not 413: the body is never read)", tc.name, res.StatusCode, trimBody(body), tc.code)
			}
		}
	})

	t.Run("machines and API keys take the instance key only, checked before the body", func(t *testing.T) {
		m, err := ta.App.Client.Machines.Create(context.Background(), clerkclient.CreateMachineParams{Name: "wire-machine"})
		if err != nil {
			t.Fatal(err)
		}
		huge := `{"name":"` + strings.Repeat("x", 200<<10) + `"}`
		for _, path := range []string{"/v1/machines", "/v1/api_keys", "/api_keys", "/v1/api_keys/verify", "/clerk/v1/machines"} {
			for _, k := range []struct{ name, key string }{{"no key", ""}, {"a machine secret key", m.SecretKey}} {
				res, body := bapiDo(t, ta, http.MethodPost, path, k.key, huge)
				if res.StatusCode != http.StatusUnauthorized {
					t.Errorf("POST %s with %s and a 200 KB body: got %d %s, want 401", path, k.name, res.StatusCode, trimBody(body))
				}
			}
		}
		n, err := ta.App.Client.Machines.List(context.Background(), clerkclient.MachineListParams{})
		if err != nil || n.TotalCount != 1 {
			t.Errorf("machines after the refused creates: got %v (%v), want the one made here", n, err)
		}
	})

	t.Run("machines and API keys refuse bad input with 4xx", func(t *testing.T) {
		for _, tc := range []struct{ method, path, body, code string }{
			{"POST", "/v1/machines", `{"name":"m","default_token_ttl":0}`, "form_param_format_invalid"},
			{"POST", "/v1/machines", `{"name":""}`, ""},
			{"POST", "/v1/machines", `{"name":"m","scoped_machines":["mch_nope"]}`, ""},
			{"GET", "/v1/machines?query=x", "", "form_param_unknown"},
			{"GET", "/v1/machines?order_by=name", "", "form_param_format_invalid"},
			{"POST", "/v1/machines/mch_nope/scopes", `{}`, "form_param_missing"},
			{"POST", "/v1/api_keys", `{"name":"k","subject":"user_x","seconds_until_expiration":1.5}`, "form_param_format_invalid"},
			{"POST", "/v1/api_keys", `{"name":"k","subject":"mch_x"}`, "form_param_format_invalid"},
			{"POST", "/v1/api_keys", `{"type":"oauth","name":"k","subject":"user_x"}`, "form_param_format_invalid"},
			{"GET", "/v1/api_keys", "", "form_param_format_invalid"},
			{"GET", "/v1/api_keys?subject=user_x&include_invalid=maybe", "", "form_param_format_invalid"},
			{"GET", "/v1/api_keys?subject=user_x&limit=101", "", "form_param_format_invalid"},
			{"POST", "/v1/api_keys/verify", `{}`, "form_param_missing"},
			{"POST", "/v1/api_keys/verify", `{"secret":"ak_nope"}`, "resource_not_found"},
			{"POST", "/v1/api_keys/ak_nope/revoke", `{"revocation_reason":null}`, "resource_not_found"},
			{"GET", "/v1/machines/mch_nope", "", "resource_not_found"},
		} {
			res, body := bapiDo(t, ta, tc.method, tc.path, key, tc.body)
			if res.StatusCode < 400 || res.StatusCode > 499 || !strings.Contains(body, `"code":"`+tc.code) {
				t.Errorf("%s %s %s: got %d %s, want a 4xx %s", tc.method, tc.path, tc.body, res.StatusCode, trimBody(body), cmp.Or(tc.code, "refusal"))
			}
		}
	})

	t.Run("users list is a bare array, count a total_count", func(t *testing.T) {
		res, body := bapiDo(t, ta, http.MethodGet, "/v1/users?email_address=wire@example.com&email_address=nobody@example.com", key, "")
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type: got %q, want exactly application/json", ct)
		}
		var users []map[string]any
		if err := json.Unmarshal([]byte(body), &users); err != nil || len(users) != 1 || users[0]["object"] != "user" {
			t.Fatalf("GET /v1/users: got %s (%v), want a bare array of one user", trimBody(body), err)
		}
		if _, has := users[0]["deleted"]; has {
			t.Errorf("a user carries a deleted key: the Node SDK would make it a DeletedObject")
		}
		_, body = bapiDo(t, ta, http.MethodGet, "/v1/users/count?email_address=wire@example.com", key, "")
		if body != `{"object":"total_count","total_count":1}` {
			t.Errorf("GET /v1/users/count: got %s, want total_count 1", body)
		}
	})

	t.Run("envelopes, paginated or not", func(t *testing.T) {
		_, body := bapiDo(t, ta, http.MethodGet, "/v1/jwt_templates?paginated=true", key, "")
		if !strings.HasPrefix(body, `{"data":[`) || !strings.Contains(body, `"total_count":`) {
			t.Errorf("GET /v1/jwt_templates?paginated=true: got %s, want {data, total_count}", trimBody(body))
		}
		_, body = bapiDo(t, ta, http.MethodGet, "/v1/jwt_templates", key, "")
		if !strings.HasPrefix(body, `[`) {
			t.Errorf("GET /v1/jwt_templates: got %s, want a bare array", trimBody(body))
		}
		_, body = bapiDo(t, ta, http.MethodGet, "/v1/organizations", key, "")
		if !strings.HasPrefix(body, `{"data":[`) {
			t.Errorf("GET /v1/organizations: got %s, want {data, total_count}", trimBody(body))
		}
	})

	t.Run("an empty POST body is accepted", func(t *testing.T) {
		id := ta.UserID(t, "wire@example.com")
		res, body := bapiDo(t, ta, http.MethodPost, "/v1/users/"+id+"/ban", key, "")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"banned":true`) {
			t.Errorf("POST /v1/users/{id}/ban without a body: got %d %s, want 200 banned", res.StatusCode, trimBody(body))
		}
	})

	t.Run("errors have Clerk's envelope", func(t *testing.T) {
		res, body := bapiDo(t, ta, http.MethodGet, "/v1/users/user_nobody", key, "")
		var env struct {
			Errors []struct {
				Code        string `json:"code"`
				LongMessage string `json:"long_message"`
			} `json:"errors"`
			TraceID string `json:"clerk_trace_id"`
		}
		if err := json.Unmarshal([]byte(body), &env); err != nil || res.StatusCode != http.StatusNotFound ||
			len(env.Errors) != 1 || !strings.Contains(body, `"code":"resource_not_found"`) || env.TraceID == "" {
			t.Errorf("GET an unknown user: got %d %s, want 404 resource_not_found with a trace id", res.StatusCode, trimBody(body))
		}
		res, _ = bapiDo(t, ta, http.MethodPut, "/v1/users", key, "")
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, POST" {
			t.Errorf("PUT /v1/users: got %d Allow %q, want 405 GET, POST", res.StatusCode, res.Header.Get("Allow"))
		}
	})

	t.Run("a token for a session that is not live is a 404, never a 500", func(t *testing.T) {
		res, body := bapiDo(t, ta, http.MethodPost, "/v1/sessions/sess_nobody/tokens", key, "")
		if res.StatusCode != http.StatusNotFound || !strings.Contains(body, `"code":"resource_not_found"`) {
			t.Errorf("POST /v1/sessions/sess_nobody/tokens: got %d %s, want 404 resource_not_found", res.StatusCode, trimBody(body))
		}
	})

	t.Run("the prefix and M2M without /v1", func(t *testing.T) {
		res, body := bapiDo(t, ta, http.MethodGet, "/clerk/v1/users/count", key, "")
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `"total_count"`) {
			t.Errorf("GET /clerk/v1/users/count: got %d %s, want 200", res.StatusCode, trimBody(body))
		}
		res, body = bapiDo(t, ta, http.MethodPost, "/m2m_tokens/verify", key, `{"token":"mt_nope"}`)
		// The M2M route itself answers: an unknown token, not an unknown path.
		if res.StatusCode != http.StatusNotFound || !strings.Contains(body, "M2M token") {
			t.Errorf("POST /m2m_tokens/verify (no /v1): got %d %s, want the M2M route's 404 for an unknown token", res.StatusCode, trimBody(body))
		}
	})
}

// TestBackendAPIRateLimit: beyond BACKEND_API_RATE_LIMIT a minute, 429
// with Retry-After, counted before the key is checked.
func TestBackendAPIRateLimit(t *testing.T) {
	ta := startApp(t, map[string]string{"BACKEND_API_RATE_LIMIT": "3"})
	for i := range 3 {
		if res, _ := bapiDo(t, ta, http.MethodGet, "/v1/users/count", ta.Cfg.SecretKey, ""); res.StatusCode != http.StatusOK {
			t.Fatalf("request %d: got %d, want 200", i+1, res.StatusCode)
		}
	}
	res, body := bapiDo(t, ta, http.MethodGet, "/v1/users/count", "", "")
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(body, "too_many_requests") {
		t.Errorf("the fourth request: got %d Retry-After %q %s, want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"), trimBody(body))
	}
}

func trimBody(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
