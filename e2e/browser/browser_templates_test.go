package browser

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/internal/app"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// TestBrowserTemplateToken checks Clerk.getToken({template}) in a real
// page: the token comes from the frontend API, carries the template's
// claims, and is served from the script's cache on the next call.
func TestBrowserTemplateToken(t *testing.T) {
	ctx := newBrowser(t, 60*time.Second)
	ta := startApp(t, nil)
	u := ta.CreateUser(t, "tmpl@example.com", "correct horse battery", "Tess", "Template")
	if _, err := ta.App.Client.JwtTemplates.Create(context.Background(), clerkclient.CreateJwtTemplateParams{Name: "supabase",
		Claims: json.RawMessage(app.SupabaseClaims), CustomSigningKey: true, SigningAlgorithm: "HS256", SigningKey: harness.HS256Secret}); err != nil {
		t.Fatal(err)
	}
	netlog := recordNetwork(t, ctx)
	info := signInWithForm(t, ctx, ta, "tmpl@example.com", "correct horse battery")
	sid := *info.SSR.SessionID

	jwt := eval[string](t, ctx, "Clerk.getToken({template})", `Clerk.getToken({template: 'supabase'})`)
	claims := jwtClaims(t, jwt)
	if claims["sub"] != u.ID || claims["sid"] != sid || claims["role"] != "authenticated" || claims["email"] != "tmpl@example.com" {
		t.Errorf("template token claims: got %v, want sub %s, sid %s, role authenticated, Tess's email", claims, u.ID, sid)
	}
	again := eval[string](t, ctx, "Clerk.getToken({template}) again", `Clerk.getToken({template: 'supabase'})`)
	if again != jwt {
		t.Errorf("second Clerk.getToken({template}): got a new token, want the cached one")
	}
	path := "/__clerk/v1/client/sessions/" + url.PathEscape(sid) + "/tokens/supabase"
	if n := len(netlog.matching("POST", path)); n != 1 {
		t.Errorf("POST %s from the page: got %d requests, want 1", path, n)
	}
	failed := eval[string](t, ctx, "Clerk.getToken({template: 'nope'})",
		`Clerk.getToken({template: 'nope'}).then(() => 'resolved', (e) => e.status + ' ' + (e.errors?.[0]?.code ?? e.message))`)
	if failed != "404 resource_not_found" {
		t.Errorf("Clerk.getToken({template: 'nope'}): got %q, want a rejection with 404 resource_not_found", failed)
	}
}
