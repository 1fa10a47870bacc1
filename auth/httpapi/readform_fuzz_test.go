package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// FuzzReadForm checks that no body, in either accepted content type,
// makes the frontend API's body decoder panic or answer other than
// success or a 4xx.
func FuzzReadForm(f *testing.F) {
	for _, s := range []string{`{"identifier":"a@b.c","password":"x"}`, `identifier=a%40b.c&password=x`, `{`, `%zz`, `{"a":1}`, `[]`, ``} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, body string, asJSON bool) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		if asJSON {
			r.Header.Set("Content-Type", "application/json")
		} else {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		_, err := ReadForm(httptest.NewRecorder(), r)
		if err == nil {
			return
		}
		e, ok := identity.AsError(err)
		if !ok || e.Status < 400 || e.Status > 499 {
			t.Fatalf("got %v, want nil or a 4xx *Error", err)
		}
	})
}
