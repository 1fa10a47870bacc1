package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		want                    int // 0: success
	}{
		{"object", "application/json", `{"name":"x"}`, 0},
		{"charset parameter", "application/json; charset=utf-8", `{"name":"x"}`, 0},
		{"wrong content type", "text/plain", `{"name":"x"}`, http.StatusUnsupportedMediaType},
		{"no content type", "", `{"name":"x"}`, http.StatusUnsupportedMediaType},
		{"bad JSON", "application/json", `{"name":`, http.StatusBadRequest},
		{"two values", "application/json", `{"name":"x"} {}`, http.StatusBadRequest},
		{"empty", "application/json", ``, http.StatusBadRequest},
		{"wrong type", "application/json", `{"name":3}`, http.StatusBadRequest},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			var dst struct {
				Name *string `json:"name"`
			}
			err := DecodeJSON(httptest.NewRecorder(), r, &dst)
			got := 0
			if e, ok := err.(*Error); ok {
				got = e.Status
			} else if err != nil {
				t.Fatalf("got a non-*Error %v", err)
			}
			if got != tt.want {
				t.Errorf("got status %d, want %d (err %v)", got, tt.want, err)
			}
		})
	}
}

// FuzzDecodeJSON checks that no body makes the decoder panic or answer
// anything but success or a 4xx.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"x"}`, `{`, `[]`, `null`, `{"name":null}`, "\x00", `{"name":"\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var dst struct {
			Name *string `json:"name"`
		}
		err := DecodeJSON(httptest.NewRecorder(), r, &dst)
		if err == nil {
			return
		}
		e, ok := err.(*Error)
		if !ok || e.Status < 400 || e.Status > 499 {
			t.Fatalf("got %v, want nil or a 4xx *Error", err)
		}
	})
}

func TestHandlerHidesInternalErrors(t *testing.T) {
	h := Handler{Log: discardLogger(), Fn: func(w http.ResponseWriter, r *http.Request) error {
		return errSecret
	}}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "sk_test") {
		t.Fatalf("got %d %q, want 500 without the internal detail", rec.Code, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("got Content-Type %q, want application/json", ct)
	}
}
