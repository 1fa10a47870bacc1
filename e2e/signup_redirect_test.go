package e2e

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// TestSignUpCodeKeepsRedirectURL: a sign-up that asks for a code still
// lands where the visitor was going, and only on this site.
func TestSignUpCodeKeepsRedirectURL(t *testing.T) {
	ta := startApp(t, map[string]string{"SIGN_UP_VERIFICATION": "email_code"})
	for _, tc := range []struct{ redirect, want string }{
		{"/profile", "/profile"},
		{"https://evil.example/steal", "/dashboard"},
	} {
		c := ta.Browser(t)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		res, body := signUpForm(t, c, ta.URL, url.Values{"email_address": {"redir+clerk_test@example.com"},
			"password": {"a long passphrase 7"}, "redirect_url": {tc.redirect}})
		assertStatus(t, "POST /sign-up", res, body, http.StatusSeeOther)
		verify := res.Header.Get("Location")
		res, body = harness.Do(t, c, http.MethodGet, ta.URL+verify, nil, nil)
		assertStatus(t, "GET "+verify, res, body, http.StatusOK)
		res, body = harness.PostForm(t, c, ta.URL+"/sign-up/verify", url.Values{"code": {"424242"}, "redirect_url": {tc.redirect}})
		assertStatus(t, "POST /sign-up/verify", res, body, http.StatusSeeOther)
		if got := res.Header.Get("Location"); got != tc.want {
			t.Errorf("redirect_url %s: got Location %q, want %q", tc.redirect, got, tc.want)
		}
		// The second round signs up the same address again: free it.
		if u, err := ta.App.Store.GetUserByEmail(t.Context(), "redir+clerk_test@example.com"); err == nil {
			ta.App.Store.DeleteUser(t.Context(), u.ID)
		}
	}
}
