package browser

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAPIKeys creates an API key on the profile page as a person
// would, uses the secret shown once from the page, and revokes the key
// with its button.
func TestBrowserAPIKeys(t *testing.T) {
	ctx := newBrowser(t, 90*time.Second)
	ta := startApp(t, nil)
	ta.CreateUser(t, "kim@example.com", "correct horse battery", "Kim", "Keys")
	signInWithForm(t, ctx, ta, "kim@example.com", "correct horse battery")
	aPIKeyFlow(t, ctx, ta, "/profile", "/profile/api-keys", `"subject":"user_`)
}

// TestBrowserOrgAPIKeys does the same on /org, for an organization the
// person creates and so administers.
func TestBrowserOrgAPIKeys(t *testing.T) {
	ctx := newBrowser(t, 90*time.Second)
	ta := startApp(t, nil)
	ta.CreateUser(t, "kim@example.com", "correct horse battery", "Kim", "Keys")
	signInWithForm(t, ctx, ta, "kim@example.com", "correct horse battery")
	act(t, ctx, "create an organization",
		chromedp.Navigate(ta.URL+"/org/new"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Kim Co"),
		chromedp.Click(chromedp.CSS(`form[action="/org/new"] button[type="submit"]`)),
	)
	waitPage(t, ctx, "/org of the new organization", 15*time.Second, loadedAt("/org"))
	aPIKeyFlow(t, ctx, ta, "/org", "/org/api-keys", `"subject":"org_`)
}

// aPIKeyFlow opens page, creates a key with the form posting to action,
// calls /api/whoami with the secret the answer shows (its subject must
// start as subject says), and revokes the key with its button.
func aPIKeyFlow(t *testing.T, ctx context.Context, ta *testApp, page, action, subject string) {
	t.Helper()
	act(t, ctx, "open "+page,
		chromedp.Navigate(ta.URL+page),
		chromedp.WaitVisible(chromedp.CSS(`#api-key-name`)),
	)
	markDocument(t, ctx)
	act(t, ctx, "fill and submit the API key form",
		chromedp.SendKeys(chromedp.CSS(`#api-key-name`), "Laptop script"),
		chromedp.SetValue(chromedp.CSS(`#api-key-expires`), "90"),
		chromedp.Click(chromedp.CSS(`form[action="`+action+`"] button[type="submit"]`)),
	)
	waitPage(t, ctx, "the answer to the form", 15*time.Second, func(p pageInfo) bool {
		return !p.Mark && p.Ready == "complete" && p.Clerk
	})
	secret := eval[string](t, ctx, "read the secret", `document.querySelector('[data-testid="api-key-secret"]').value`)
	if !strings.HasPrefix(secret, "ak_") || len(secret) != 46 {
		t.Fatalf("the page shows %q as the new key, want ak_ and 43 characters", secret)
	}
	listed := eval[string](t, ctx, "read the key list", `document.querySelector('table[data-testid="api-keys"]').textContent`)
	if !strings.Contains(listed, "Laptop script") || strings.Contains(listed, secret) {
		t.Errorf("the key list reads %q, want the new key by name and without its secret", listed)
	}

	whoami := `fetch('/api/whoami', {headers: {Authorization: 'Bearer ` + secret + `'}, credentials: 'omit'})
		.then(async r => r.status + ' ' + (await r.text()))`
	if got := eval[string](t, ctx, "call /api/whoami with the key", whoami); !strings.HasPrefix(got, `200 {`+subject) ||
		!strings.Contains(got, `"tokenType":"api_key"`) {
		t.Fatalf("GET /api/whoami with the key: got %s, want 200 and an api_key with %s", got, subject)
	}

	markDocument(t, ctx)
	act(t, ctx, "press Revoke", chromedp.Click(chromedp.CSS(`button[aria-label="Revoke Laptop script"]`)))
	info := waitPage(t, ctx, "back on "+page+" after revoking", 15*time.Second, func(p pageInfo) bool {
		return !p.Mark && loadedAt(page)(p)
	})
	if info.SSR == nil || !info.SSR.IsAuthenticated {
		t.Fatalf("%s after revoking is not signed in: %s", page, info)
	}
	if n := eval[int](t, ctx, "count the keys", `document.querySelectorAll('table[data-testid="api-keys"] tbody tr').length`); n != 0 {
		t.Errorf("after revoking: %d keys listed, want none", n)
	}
	if got := eval[string](t, ctx, "call /api/whoami with the revoked key", whoami); !strings.HasPrefix(got, "401 ") {
		t.Errorf("GET /api/whoami with the revoked key: got %s, want 401", got)
	}
}
