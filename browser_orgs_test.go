package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/auth"
)

// brOrgInfo is the organization part of the page's SSR state and of
// Clerk.useAuth().
type brOrgInfo struct {
	SSROrgID   *string `json:"ssrOrgId"`
	OrgID      *string `json:"orgId"`
	OrgRole    *string `json:"orgRole"`
	OrgSlug    *string `json:"orgSlug"`
	CanManage  bool    `json:"canManage"`
	ActorSub   *string `json:"actorSub"`
	BannerText string  `json:"bannerText"`
}

const brOrgStateJS = `(() => {
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

func brStr(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// brSignedInLoaded reports whether the tab shows a loaded, signed-in page.
func brSignedInLoaded(p brPageInfo) bool {
	return p.Ready == "complete" && p.Clerk && p.SSR != nil && p.SSR.IsAuthenticated
}

func brOrgState(t *testing.T, ctx context.Context, what string) brOrgInfo {
	t.Helper()
	return brEval[brOrgInfo](t, ctx, what, brOrgStateJS)
}

// brWaitOrg polls the tab until its SSR state's orgId is orgID ("" for
// none), and returns the organization state.
func brWaitOrg(t *testing.T, ctx context.Context, what, orgID string) brOrgInfo {
	t.Helper()
	want := orgID
	if want == "" {
		want = "<null>"
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		brWaitPage(t, ctx, what, 15*time.Second, brSignedInLoaded)
		s, err := brTryEval[brOrgInfo](ctx, brOrgStateJS)
		if err == nil && brStr(s.SSROrgID) == want {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: SSR orgId is %s, want %q (err %v)", what, brStr(s.SSROrgID), orgID, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserSwitchOrganization: the OrganizationSwitcher in the header
// switches the active organization through the frontend API; the page
// reloads with the new state, the other tab follows, and
// Clerk.setActive({organization: null}) goes back to the personal account.
func TestBrowserSwitchOrganization(t *testing.T) {
	tabA := brNewBrowser(t, 90*time.Second)
	ta := startApp(t, nil)
	if ok, err := seed(context.Background(), ta.app.client, io.Discard); err != nil || !ok {
		t.Fatalf("seed: %v %v", ok, err)
	}
	acme := pgAcme(t, ta)

	brSignInWithForm(t, tabA, ta, "alice@example.com", "gatehouse-demo-alice")
	if s := brOrgState(t, tabA, "state after sign-in"); s.OrgID != nil || s.CanManage {
		t.Fatalf("after sign-in: got orgId %s, has(org:team:manage) %v; want no organization", brStr(s.OrgID), s.CanManage)
	}
	tabB := brNewTab(t, tabA, "tab B")
	brAct(t, tabB, "open /dashboard in tab B", chromedp.Navigate(ta.URL+"/dashboard"))
	brWaitPage(t, tabB, "tab B on /dashboard", 10*time.Second, brLoadedAt("/dashboard"))
	brMarkDocument(t, tabB)
	brMarkDocument(t, tabA)

	net := brRecordNetwork(t, tabA)
	sel := `details.org-switcher button[value="` + acme + `"]`
	brAct(t, tabA, "open the organization switcher and pick Acme Inc",
		chromedp.Click(chromedp.CSS(`details.org-switcher > summary`)),
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Click(chromedp.CSS(sel)),
	)
	a := brWaitOrg(t, tabA, "tab A reloads with Acme Inc active", acme)
	if brStr(a.OrgID) != acme || brStr(a.OrgRole) != "org:admin" || brStr(a.OrgSlug) != "acme" || !a.CanManage {
		t.Errorf("tab A after switching: got %+v, want orgId %s, org:admin, acme, has(org:team:manage)", a, acme)
	}
	if touches := net.matching("POST", "/touch"); len(touches) != 1 {
		t.Errorf("switching: got %d touch requests, want 1 (the client script's setActive); requests: %v", len(touches), net.all())
	}
	if brEval[bool](t, tabA, "is tab A a new document", `window.__gatehouseTestMark === true`) {
		t.Error("tab A shows the new organization without having reloaded")
	}
	if got := brEval[string](t, tabA, "switcher label", `document.querySelector('details.org-switcher .org-name').textContent.trim()`); got != "Acme Inc" {
		t.Errorf("switcher label: got %q, want Acme Inc", got)
	}

	b := brWaitOrg(t, tabB, "tab B follows to Acme Inc", acme)
	if brStr(b.OrgID) != acme {
		t.Errorf("tab B: got orgId %s, want %s", brStr(b.OrgID), acme)
	}

	// The server sees the new organization on the very next request.
	got := brEval[map[string]any](t, tabA, "fetch /api/org", `fetch('/api/org').then(r => r.json())`)
	if org, _ := got["organization"].(map[string]any); org["id"] != acme || org["role"] != "org:admin" {
		t.Errorf("/api/org from the page: got %v, want acme as org:admin", got)
	}

	// On /org the loader gives the organization resource to the page.
	brAct(t, tabA, "open /org", chromedp.Navigate(ta.URL+"/org"))
	brWaitPage(t, tabA, "/org loads", 10*time.Second, brLoadedAt("/org"))
	uo := brEval[map[string]any](t, tabA, "Clerk.useOrganization()", `(() => { const o = Clerk.useOrganization(); return {name: o.organization && o.organization.name, role: o.membership && o.membership.role, priv: o.organization && ('private_metadata' in o.organization)}; })()`)
	if uo["name"] != "Acme Inc" || uo["role"] != "org:admin" || uo["priv"] != false {
		t.Errorf("Clerk.useOrganization() on /org: got %v, want Acme Inc, org:admin, no private_metadata", uo)
	}

	brEval[any](t, tabA, "Clerk.setActive({organization: null})", `Clerk.setActive({organization: null}).then(() => true)`)
	a = brWaitOrg(t, tabA, "tab A back on the personal account", "")
	if a.OrgID != nil || a.CanManage {
		t.Errorf("after setActive(null): got %+v, want no organization", a)
	}
	brWaitOrg(t, tabB, "tab B follows to the personal account", "")
}

// TestBrowserImpersonationBanner: an actor token's link signs in as the
// user on behalf of the administrator; every page shows the banner, the
// client script exposes the actor, and "Stop impersonating" ends it.
func TestBrowserImpersonationBanner(t *testing.T) {
	ctx := brNewBrowser(t, 90*time.Second)
	ta := startApp(t, nil)
	if ok, err := seed(context.Background(), ta.app.client, io.Discard); err != nil || !ok {
		t.Fatalf("seed: %v %v", ok, err)
	}
	aliceID, bobID := ta.orgUserID(t, "alice@example.com"), ta.orgUserID(t, "bob@example.com")
	actor, _ := json.Marshal(map[string]string{"sub": aliceID})
	tok, err := ta.app.client.ActorTokens.Create(context.Background(), auth.CreateActorTokenParams{UserID: bobID, Actor: actor})
	if err != nil {
		t.Fatal(err)
	}
	brAct(t, ctx, "open the ticket link", chromedp.Navigate(tok.URL), chromedp.WaitVisible(chromedp.CSS(`form[action="/sign-in/ticket"] button`)))
	brAct(t, ctx, "continue", chromedp.Click(chromedp.CSS(`form[action="/sign-in/ticket"] button`)))
	brWaitPage(t, ctx, "land on /dashboard as bob", 15*time.Second, brLoadedAt("/dashboard"))
	s := brOrgState(t, ctx, "state while impersonating")
	if brStr(s.ActorSub) != aliceID {
		t.Errorf("Clerk.useAuth().actor.sub: got %s, want %s", brStr(s.ActorSub), aliceID)
	}
	const want = "You are signed in as Bob Member on behalf of Alice Admin. Stop impersonating"
	if s.BannerText != want {
		t.Errorf("banner: got %q, want %q", s.BannerText, want)
	}
	brAct(t, ctx, "open /profile", chromedp.Navigate(ta.URL+"/profile"))
	brWaitPage(t, ctx, "profile loads", 10*time.Second, brLoadedAt("/profile"))
	if s := brOrgState(t, ctx, "profile state"); s.BannerText != want {
		t.Errorf("banner on /profile: got %q, want %q", s.BannerText, want)
	}

	brAct(t, ctx, "click Stop impersonating", chromedp.Click(chromedp.CSS(`[data-clerk-actor-banner] button`)))
	p := brWaitPage(t, ctx, "signed out after stopping", 15*time.Second, func(p brPageInfo) bool {
		return p.Path == "/" && p.Ready == "complete" && p.SSR != nil && !p.SSR.IsAuthenticated
	})
	if p.SSR.IsAuthenticated {
		t.Fatalf("after stopping: still signed in: %s", p)
	}
	if n := brEval[int](t, ctx, "banners after stopping", `document.querySelectorAll('[data-clerk-actor-banner]').length`); n != 0 {
		t.Errorf("after stopping: %d banners, want 0", n)
	}
	if strings.Contains(brEval[string](t, ctx, "page text", `document.body.innerText`), "on behalf of") {
		t.Error("after stopping: the page still says 'on behalf of'")
	}
}
