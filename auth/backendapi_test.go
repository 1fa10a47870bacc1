package auth_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/auth/httpapi"
)

// bapiCall sends one request to the backend API and returns the status
// and the decoded JSON body.
func bapiCall(t testing.TB, h http.Handler, method, target, key, contentType, body string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res := rec.Result()
	raw, _ := io.ReadAll(res.Body)
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: got Content-Type %q, want application/json", method, target, ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s %s: got Cache-Control %q, want no-store", method, target, cc)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %s", method, target, raw)
	}
	return res.StatusCode, m
}

func errCode(m map[string]any) string {
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestBackendAPI(t *testing.T) {
	s := newStack(t)
	m := s.machines(t)
	h := http.StripPrefix("/v1", httpapi.NewBackendAPI(s.client, nil, testSecretKey, slog.New(slog.DiscardHandler)))
	const js = "application/json"
	worker, billing := m.worker.SecretKey, m.billing.SecretKey

	status, tok := bapiCall(t, h, "POST", "/v1/m2m_tokens", worker, js, `{"claims":{"k":"v"},"seconds_until_expiration":120}`)
	if status != http.StatusCreated {
		t.Fatalf("create: got %d %v, want 201", status, tok)
	}
	wantKeys := []string{"object", "id", "token", "subject", "claims", "scopes", "revoked", "revocation_reason",
		"expired", "expiration", "last_used_at", "created_at", "updated_at"}
	slices.Sort(wantKeys)
	if got := sortedKeys(tok); !slices.Equal(got, wantKeys) {
		t.Errorf("create: got keys %v, want Clerk's %v", got, wantKeys)
	}
	if tok["object"] != "machine_to_machine_token" || tok["subject"] != m.worker.ID || tok["expired"] != false ||
		tok["expiration"].(float64)-tok["created_at"].(float64) != 120000 {
		t.Errorf("create: got %v, want the worker's token living 120 s", tok)
	}
	secret := tok["token"].(string)
	id := tok["id"].(string)

	if status, _ := bapiCall(t, h, "POST", "/v1/m2m_tokens", worker, "", ""); status != http.StatusCreated {
		t.Errorf("create with an empty body: got %d, want 201 (every field is optional)", status)
	}

	status, v := bapiCall(t, h, "POST", "/v1/m2m_tokens/verify", billing, js, `{"token":"`+secret+`"}`)
	if status != http.StatusOK || v["id"] != id || v["token"] != nil {
		t.Errorf("verify as billing: got %d %v, want 200 without the secret", status, v)
	}
	status, list := bapiCall(t, h, "GET", "/v1/m2m_tokens?subject="+m.worker.ID+"&limit=1", testSecretKey, "", "")
	if status != http.StatusOK || list["total_count"] != float64(2) || len(list["m2m_tokens"].([]any)) != 1 {
		t.Errorf("list with the instance key: got %d %v, want 1 of 2", status, list)
	}
	status, rev := bapiCall(t, h, "POST", "/v1/m2m_tokens/"+id+"/revoke", worker, js, `{"revocation_reason":"done"}`)
	if status != http.StatusOK || rev["revoked"] != true || rev["revocation_reason"] != "done" {
		t.Errorf("revoke: got %d %v, want revoked", status, rev)
	}
	if status, _ := bapiCall(t, h, "POST", "/v1/m2m_tokens/verify", testSecretKey, js, `{"token":"`+secret+`"}`); status != http.StatusNotFound {
		t.Errorf("verify after revoke: got %d, want 404", status)
	}

	huge := `{"claims":{"a":"` + strings.Repeat("x", 20<<10) + `"}}`
	for _, tc := range []struct {
		name, method, target, key, ct, body string
		status                              int
		code                                string
	}{
		{"no key", "POST", "/v1/m2m_tokens", "", js, `{}`, 401, "authentication_invalid"},
		{"unknown key", "POST", "/v1/m2m_tokens", "ak_" + strings.Repeat("B", 43), js, `{}`, 401, "authentication_invalid"},
		{"instance key cannot create", "POST", "/v1/m2m_tokens", testSecretKey, js, `{}`, 403, "authorization_invalid"},
		{"wrong content type", "POST", "/v1/m2m_tokens", worker, "text/plain", `{}`, 415, "unsupported_content_type"},
		{"bad JSON", "POST", "/v1/m2m_tokens", worker, js, `{"claims":`, 400, "request_body_invalid"},
		{"two values", "POST", "/v1/m2m_tokens", worker, js, `{} {}`, 400, "request_body_invalid"},
		{"unknown field", "POST", "/v1/m2m_tokens", worker, js, `{"subject":"mch_x"}`, 400, "request_body_invalid"},
		{"too large", "POST", "/v1/m2m_tokens", worker, js, huge, 413, "request_body_invalid"},
		{"jwt format", "POST", "/v1/m2m_tokens", worker, js, `{"token_format":"jwt"}`, 422, "form_param_format_invalid"},
		{"fractional lifetime", "POST", "/v1/m2m_tokens", worker, js, `{"seconds_until_expiration":1.5}`, 422, "form_param_format_invalid"},
		{"zero lifetime", "POST", "/v1/m2m_tokens", worker, js, `{"seconds_until_expiration":0}`, 422, "form_param_format_invalid"},
		{"scope not allowed", "POST", "/v1/m2m_tokens", worker, js, `{"scopes":["` + m.worker.ID + `"]}`, 422, "form_param_format_invalid"},
		{"claims an array", "POST", "/v1/m2m_tokens", worker, js, `{"claims":[1]}`, 422, "form_param_format_invalid"},
		{"scopes a string", "POST", "/v1/m2m_tokens", worker, js, `{"scopes":"all"}`, 400, "request_body_invalid"},
		{"verify without token", "POST", "/v1/m2m_tokens/verify", testSecretKey, js, `{}`, 422, "form_param_missing"},
		{"verify garbage", "POST", "/v1/m2m_tokens/verify", testSecretKey, js, `{"token":"garbage"}`, 404, "resource_not_found"},
		{"verify out of scope", "POST", "/v1/m2m_tokens/verify", worker, js, `{"token":"` + secret + `"}`, 404, "resource_not_found"},
		{"list another machine's", "GET", "/v1/m2m_tokens?subject=" + m.worker.ID, billing, "", "", 403, "authorization_invalid"},
		{"list without subject", "GET", "/v1/m2m_tokens", testSecretKey, "", "", 422, "form_param_format_invalid"},
		{"list bad limit", "GET", "/v1/m2m_tokens?subject=" + m.worker.ID + "&limit=x", testSecretKey, "", "", 422, "form_param_format_invalid"},
		{"list bad flag", "GET", "/v1/m2m_tokens?subject=" + m.worker.ID + "&revoked=maybe", testSecretKey, "", "", 422, "form_param_format_invalid"},
		{"revoke unknown", "POST", "/v1/m2m_tokens/mt_" + strings.Repeat("a", 32) + "/revoke", testSecretKey, js, `{}`, 404, "resource_not_found"},
		{"revoke another machine's", "POST", "/v1/m2m_tokens/" + id + "/revoke", billing, js, `{}`, 404, "resource_not_found"},
		{"method", "DELETE", "/v1/m2m_tokens", testSecretKey, "", "", 405, "method_not_allowed"},
		{"unknown route", "GET", "/v1/no_such_resource", testSecretKey, "", "", 404, "resource_not_found"},
		{"unclean path", "GET", "/v1/m2m_tokens/../m2m_tokens", testSecretKey, "", "", 404, "resource_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := bapiCall(t, h, tc.method, tc.target, tc.key, tc.ct, tc.body)
			if status != tc.status || errCode(body) != tc.code {
				t.Errorf("got %d %q, want %d %q; body %v", status, errCode(body), tc.status, tc.code, body)
			}
			if raw, _ := json.Marshal(body); strings.Contains(string(raw), worker) || strings.Contains(string(raw), testSecretKey) {
				t.Errorf("the answer echoes a secret key: %s", raw)
			}
		})
	}
	// The refusals created nothing.
	got, err := s.client.M2MTokens.List(t.Context(), clerkclient.M2MTokenListParams{Subject: m.worker.ID, Revoked: true})
	if err != nil || got.TotalCount != 2 {
		t.Errorf("tokens after the refusals: got %d, %v; want the 2 created", got.TotalCount, err)
	}
}

// FuzzBackendAPIBody sends arbitrary bodies to the routes that read one:
// every answer is a success or a 4xx, never a 500 or a panic.
func FuzzBackendAPIBody(f *testing.F) {
	s := newStack(f)
	m := s.machines(f)
	h := http.StripPrefix("/v1", httpapi.NewBackendAPI(s.client, nil, testSecretKey, slog.New(slog.DiscardHandler)))
	for _, seed := range []string{`{}`, `{"claims":{"a":1},"scopes":[],"seconds_until_expiration":5}`, `{"claims":null}`,
		`{"scopes":null}`, `{"seconds_until_expiration":1e309}`, `{"token":"mt_x"}`, `[]`, `null`, "\x00", `{"claims":"\ud800"}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, route := range []struct{ target, key string }{
			{"/v1/m2m_tokens", m.worker.SecretKey},
			{"/v1/m2m_tokens/verify", testSecretKey},
			{"/v1/m2m_tokens/mt_" + strings.Repeat("0", 32) + "/revoke", testSecretKey},
		} {
			r := httptest.NewRequest(http.MethodPost, route.target, strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+route.key)
			r.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code >= 500 || rec.Code < 200 {
				t.Fatalf("POST %s %q: got %d %s, want a success or a 4xx", route.target, body, rec.Code, rec.Body)
			}
		}
	})
}
