package browser

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/internal/app"

	"github.com/chromedp/chromedp"
)

// orgInfo is the organization part of the page's SSR state and of
// Clerk.useAuth().
type orgInfo struct {
	SSROrgID   *string `json:"ssrOrgId"`
	OrgID      *string `json:"orgId"`
	OrgRole    *string `json:"orgRole"`
	OrgSlug    *string `json:"orgSlug"`
	CanManage  bool    `json:"canManage"`
	ActorSub   *string `json:"actorSub"`
	BannerText string  `json:"bannerText"`
}

const orgStateJS = `(() => {
	const ssr = JSON.parse(document.getElementById('__clerk_ssr_state').textContent).__clerk_ssr_state;
	const a = window.Clerk.useAuth();
	const banner = document.querySelector('[data-clerk-actor-banner]');
	return {
		ssrOrgId: ssr.orgId, orgId: a.orgId, orgRole: a.orgRole, orgSlug: a.orgSlug,
		canManage: a.has({permission: 'org:team:manage'}),
		actorSub: a.actor ? a.actor.sub : null,
		bannerText: banner ? banner.innerText.replace(/\s+/g, ' ').trim() : '',
	};
})()`

func str(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// signedInLoaded reports whether the tab shows a loaded, signed-in page.
func signedInLoaded(p pageInfo) bool {
	return p.Ready == "complete" && p.Clerk && p.SSR != nil && p.SSR.IsAuthenticated
}

func orgState(t *testing.T, ctx context.Context, what string) orgInfo {
	t.Helper()
	return eval[orgInfo](t, ctx, what, orgStateJS)
}

// waitOrg polls the tab until its SSR state's orgId is orgID ("" for
// none), and returns the organization state.
func waitOrg(t *testing.T, ctx context.Context, what, orgID string) orgInfo {
	t.Helper()
	want := orgID
	if want == "" {
		want = "<null>"
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		waitPage(t, ctx, what, 15*time.Second, signedInLoaded)
		s, err := tryEval[orgInfo](ctx, orgStateJS)
		if err == nil && str(s.SSROrgID) == want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: SSR orgId is %s, want %q (err %v)", what, str(s.SSROrgID), orgID, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserSwitchOrganization: the OrganizationSwitcher in the header
// switches the active organization through the frontend API; the page
// reloads with the new state, the other tab follows, and
// Clerk.setActive({organization: null}) goes back to the personal account.
func TestBrowserSwitchOrganization(t *testing.T) {
	tabA := newBrowser(t, 90*time.Second)
	ta := startApp(t, nil)
	if ok, err := app.Seed(context.Background(), ta.App.Client, io.Discard); err != nil || !ok {
		t.Fatalf("seed: %v %v", ok, err)
	}
	acme := ta.OrgID(t, "acme")

	signInWithForm(t, tabA, ta, "alice@example.com", "gatehouse-demo-alice")
	if s := orgState(t, tabA, "state after sign-in"); s.OrgID != nil || s.CanManage {
		t.Fatalf("after sign-in: got orgId %s, has(org:team:manage) %v; want no organization", str(s.OrgID), s.CanManage)
	}
	tabB := newTab(t, tabA, "tab B")
	act(t, tabB, "open /dashboard in tab B", chromedp.Navigate(ta.URL+"/dashboard"))
	waitPage(t, tabB, "tab B on /dashboard", 10*time.Second, loadedAt("/dashboard"))
	markDocument(t, tabB)
	markDocument(t, tabA)

	net := recordNetwork(t, tabA)
	sel := `details.org-switcher button[value="` + acme + `"]`
	act(t, tabA, "open the organization switcher and pick Acme Inc",
		chromedp.Click(chromedp.CSS(`details.org-switcher > summary`)),
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Click(chromedp.CSS(sel)),
	)
	a := waitOrg(t, tabA, "tab A reloads with Acme Inc active", acme)
	if str(a.OrgID) != acme || str(a.OrgRole) != "org:admin" || str(a.OrgSlug) != "acme" || !a.CanManage {
		t.Errorf("tab A after switching: got %+v, want orgId %s, org:admin, acme, has(org:team:manage)", a, acme)
	}
	if touches := net.matching("POST", "/touch"); len(touches) != 1 {
		t.Errorf("switching: got %d touch requests, want 1 (the client script's setActive); requests: %v", len(touches), net.all())
	}
	if eval[bool](t, tabA, "is tab A a new document", `window.__gatehouseTestMark === true`) {
		t.Error("tab A shows the new organization without having reloaded")
	}
	if got := eval[string](t, tabA, "switcher label", `document.querySelector('details.org-switcher .org-name').textContent.trim()`); got != "Acme Inc" {
		t.Errorf("switcher label: got %q, want Acme Inc", got)
	}

	b := waitOrg(t, tabB, "tab B follows to Acme Inc", acme)
	if str(b.OrgID) != acme {
		t.Errorf("tab B: got orgId %s, want %s", str(b.OrgID), acme)
	}

	// The server sees the new organization on the very next request.
	got := eval[map[string]any](t, tabA, "fetch /api/org", `fetch('/api/org').then(r => r.json())`)
	if org, _ := got["organization"].(map[string]any); org["id"] != acme || org["role"] != "org:admin" {
		t.Errorf("/api/org from the page: got %v, want acme as org:admin", got)
	}

	// On /org the loader gives the organization resource to the page.
	act(t, tabA, "open /org", chromedp.Navigate(ta.URL+"/org"))
	waitPage(t, tabA, "/org loads", 10*time.Second, loadedAt("/org"))
	uo := eval[map[string]any](t, tabA, "Clerk.useOrganization()", `(() => { const o = Clerk.useOrganization(); return {name: o.organization && o.organization.name, role: o.membership && o.membership.role, priv: o.organization && ('private_metadata' in o.organization)}; })()`)
	if uo["name"] != "Acme Inc" || uo["role"] != "org:admin" || uo["priv"] != false {
		t.Errorf("Clerk.useOrganization() on /org: got %v, want Acme Inc, org:admin, no private_metadata", uo)
	}

	eval[any](t, tabA, "Clerk.setActive({organization: null})", `Clerk.setActive({organization: null}).then(() => true)`)
	a = waitOrg(t, tabA, "tab A back on the personal account", "")
	if a.OrgID != nil || a.CanManage {
		t.Errorf("after setActive(null): got %+v, want no organization", a)
	}
	waitOrg(t, tabB, "tab B follows to the personal account", "")
}

// TestBrowserImpersonationBanner: an actor token's link signs in as the
// user on behalf of the administrator; every page shows the banner, the
// client script exposes the actor, and "Stop impersonating" ends it.
func TestBrowserImpersonationBanner(t *testing.T) {
	ctx := newBrowser(t, 90*time.Second)
	// Alice is an instance administrator: an actor session lasts only
	// while its actor is one.
	ta := startApp(t, map[string]string{"ADMIN_EMAILS": "alice@example.com"})
	if ok, err := app.Seed(context.Background(), ta.App.Client, io.Discard); err != nil || !ok {
		t.Fatalf("seed: %v %v", ok, err)
	}
	aliceID, bobID := ta.UserID(t, "alice@example.com"), ta.UserID(t, "bob@example.com")
	actor, _ := json.Marshal(map[string]string{"sub": aliceID})
	tok, err := ta.App.Client.ActorTokens.Create(context.Background(), clerkclient.CreateActorTokenParams{UserID: bobID, Actor: actor})
	if err != nil {
		t.Fatal(err)
	}
	act(t, ctx, "open the ticket link", chromedp.Navigate(tok.URL), chromedp.WaitVisible(chromedp.CSS(`form[action="/sign-in/ticket"] button`)))
	act(t, ctx, "continue", chromedp.Click(chromedp.CSS(`form[action="/sign-in/ticket"] button`)))
	waitPage(t, ctx, "land on /dashboard as bob", 15*time.Second, loadedAt("/dashboard"))
	s := orgState(t, ctx, "state while impersonating")
	if str(s.ActorSub) != aliceID {
		t.Errorf("Clerk.useAuth().actor.sub: got %s, want %s", str(s.ActorSub), aliceID)
	}
	const want = "You are signed in as Bob Member on behalf of Alice Admin. Stop impersonating"
	if s.BannerText != want {
		t.Errorf("banner: got %q, want %q", s.BannerText, want)
	}
	act(t, ctx, "open /profile", chromedp.Navigate(ta.URL+"/profile"))
	waitPage(t, ctx, "profile loads", 10*time.Second, loadedAt("/profile"))
	if s := orgState(t, ctx, "profile state"); s.BannerText != want {
		t.Errorf("banner on /profile: got %q, want %q", s.BannerText, want)
	}

	act(t, ctx, "click Stop impersonating", chromedp.Click(chromedp.CSS(`[data-clerk-actor-banner] button`)))
	p := waitPage(t, ctx, "signed out after stopping", 15*time.Second, func(p pageInfo) bool {
		return p.Path == "/" && p.Ready == "complete" && p.SSR != nil && !p.SSR.IsAuthenticated
	})
	if p.SSR.IsAuthenticated {
		t.Fatalf("after stopping: still signed in: %s", p)
	}
	if n := eval[int](t, ctx, "banners after stopping", `document.querySelectorAll('[data-clerk-actor-banner]').length`); n != 0 {
		t.Errorf("after stopping: %d banners, want 0", n)
	}
	if strings.Contains(eval[string](t, ctx, "page text", `document.body.innerText`), "on behalf of") {
		t.Error("after stopping: the page still says 'on behalf of'")
	}
}
