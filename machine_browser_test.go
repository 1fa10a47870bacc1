package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAPIKeys creates an API key on the profile page as a person
// would, uses the secret shown once from the page, and revokes the key
// with its button.
func TestBrowserAPIKeys(t *testing.T) {
	ctx := brNewBrowser(t, 90*time.Second)
	ta := startApp(t, nil)
	ta.createUser(t, "kim@example.com", "correct horse battery", "Kim", "Keys")
	brSignInWithForm(t, ctx, ta, "kim@example.com", "correct horse battery")

	brAct(t, ctx, "open /profile",
		chromedp.Navigate(ta.URL+"/profile"),
		chromedp.WaitVisible(chromedp.CSS(`#api-key-name`)),
	)
	brMarkDocument(t, ctx)
	brAct(t, ctx, "fill and submit the API key form",
		chromedp.SendKeys(chromedp.CSS(`#api-key-name`), "Laptop script"),
		chromedp.SetValue(chromedp.CSS(`#api-key-expires`), "90"),
		chromedp.Click(chromedp.CSS(`form[action="/profile/api-keys"] button[type="submit"]`)),
	)
	brWaitPage(t, ctx, "the answer to the form", 15*time.Second, func(p brPageInfo) bool {
		return !p.Mark && p.Ready == "complete" && p.Clerk
	})
	secret := brEval[string](t, ctx, "read the secret", `document.querySelector('[data-testid="api-key-secret"]').value`)
	if !strings.HasPrefix(secret, "ak_") || len(secret) != 46 {
		t.Fatalf("the page shows %q as the new key, want ak_ and 43 characters", secret)
	}
	listed := brEval[string](t, ctx, "read the key list", `document.querySelector('table[data-testid="api-keys"]').textContent`)
	if !strings.Contains(listed, "Laptop script") || strings.Contains(listed, secret) {
		t.Errorf("the key list reads %q, want the new key by name and without its secret", listed)
	}

	whoami := `fetch('/api/whoami', {headers: {Authorization: 'Bearer ` + secret + `'}, credentials: 'omit'})
		.then(async r => r.status + ' ' + (await r.text()))`
	if got := brEval[string](t, ctx, "call /api/whoami with the key", whoami); !strings.HasPrefix(got, `200 {"subject":"user_`) ||
		!strings.Contains(got, `"tokenType":"api_key"`) {
		t.Fatalf("GET /api/whoami with the key: got %s, want 200 and the api_key of the user", got)
	}

	brMarkDocument(t, ctx)
	brAct(t, ctx, "press Revoke", chromedp.Click(chromedp.CSS(`button[aria-label="Revoke Laptop script"]`)))
	info := brWaitPage(t, ctx, "back on /profile after revoking", 15*time.Second, func(p brPageInfo) bool {
		return !p.Mark && brLoadedAt("/profile")(p)
	})
	if info.SSR == nil || !info.SSR.IsAuthenticated {
		t.Fatalf("/profile after revoking is not signed in: %s", info)
	}
	if n := brEval[int](t, ctx, "count the keys", `document.querySelectorAll('table[data-testid="api-keys"] tbody tr').length`); n != 0 {
		t.Errorf("after revoking: %d keys listed, want none", n)
	}
	if got := brEval[string](t, ctx, "call /api/whoami with the revoked key", whoami); !strings.HasPrefix(got, "401 ") {
		t.Errorf("GET /api/whoami with the revoked key: got %s, want 401", got)
	}
}
