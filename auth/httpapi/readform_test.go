package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

func TestReadForm(t *testing.T) {
	big := `{"a":"` + strings.Repeat("x", 70<<10) + `"}`
	for _, tc := range []struct {
		name, contentType, body string
		wantStatus              int // 0: success
		want                    map[string]string
	}{
		{"text/plain", "text/plain", "identifier=a", http.StatusUnsupportedMediaType, nil},
		{"no content type with a body", "", "identifier=a", http.StatusUnsupportedMediaType, nil},
		{"multipart", "multipart/form-data; boundary=x", "--x--", http.StatusUnsupportedMediaType, nil},
		{"70 KiB JSON", "application/json", big, http.StatusRequestEntityTooLarge, nil},
		{"70 KiB form", "application/x-www-form-urlencoded", "a=" + strings.Repeat("x", 70<<10), http.StatusRequestEntityTooLarge, nil},
		{"bad JSON", "application/json", `{"identifier":`, http.StatusBadRequest, nil},
		{"not JSON", "application/json", `identifier=a`, http.StatusBadRequest, nil},
		{"two JSON objects", "application/json", `{"a":"1"} {"b":"2"}`, http.StatusBadRequest, nil},
		{"JSON array", "application/json", `["a"]`, http.StatusBadRequest, nil},
		{"JSON non-string value", "application/json", `{"identifier":5}`, http.StatusUnprocessableEntity, nil},
		{"bad form encoding", "application/x-www-form-urlencoded", "a=%zz", http.StatusBadRequest, nil},
		{"JSON", "application/json; charset=utf-8", `{"identifier":"a@b.co","password":"pw","x":null}`, 0, map[string]string{"identifier": "a@b.co", "password": "pw"}},
		{"form", "application/x-www-form-urlencoded", "identifier=a%40b.co&password=pw", 0, map[string]string{"identifier": "a@b.co", "password": "pw"}},
		{"empty body", "", "", 0, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			got, err := ReadForm(httptest.NewRecorder(), r)
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
				if len(got) != len(tc.want) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
				for k, v := range tc.want {
					if got[k] != v {
						t.Errorf("%s: got %q, want %q", k, got[k], v)
					}
				}
				return
			}
			e, ok := identity.AsError(err)
			if !ok {
				t.Fatalf("got error %v (%T), want an *identity.Error", err, err)
			}
			if e.Status != tc.wantStatus {
				t.Errorf("got status %d (%s), want %d", e.Status, e.Code, tc.wantStatus)
			}
		})
	}
}
