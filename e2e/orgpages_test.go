package e2e

// End-to-end tests of the organization pages, the invitation flow through
// the development mailbox and SMTP, the pending-session task page and the
// impersonation pages: plain HTML forms over HTTP, as a browser without
// JavaScript uses them.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/internal/app"
)

// pgSeeded starts the app with env, seeds the demo data and signs the
// three demo accounts in, each in its own browser.
func pgSeeded(t *testing.T, env map[string]string) (ta *testApp, alice, bob, carol *http.Client) {
	t.Helper()
	ta = startApp(t, env)
	if ok, err := app.Seed(context.Background(), ta.App.Client, io.Discard); err != nil || !ok {
		t.Fatalf("seed: got %v, %v; want seeded", ok, err)
	}
	alice, bob, carol = ta.Browser(t), ta.Browser(t), ta.Browser(t)
	ta.SignIn(t, alice, "alice@example.com", "gatehouse-demo-alice")
	ta.SignIn(t, bob, "bob@example.com", "gatehouse-demo-bob")
	ta.SignIn(t, carol, "carol@example.com", "gatehouse-demo-carol")
	return ta, alice, bob, carol
}

// pgPost posts a form and checks the status (and, for 303, the Location).
func pgPost(t *testing.T, ta *testApp, c *http.Client, path string, form url.Values, status int, location string) (*http.Response, string) {
	t.Helper()
	res, body := harness.PostForm(t, c, ta.URL+path, form)
	if res.StatusCode != status {
		t.Fatalf("POST %s %v: got %d, want %d; body: %.400s", path, form, res.StatusCode, status, pgText(body))
	}
	if location != "" && res.Header.Get("Location") != location {
		t.Errorf("POST %s: got Location %q, want %q", path, res.Header.Get("Location"), location)
	}
	return res, body
}

// pgGet gets a page and checks its status.
func pgGet(t *testing.T, ta *testApp, c *http.Client, path string, status int) string {
	t.Helper()
	res, body := harness.Do(t, c, http.MethodGet, ta.URL+path, nil, nil)
	if res.StatusCode != status {
		t.Fatalf("GET %s: got %d, want %d; Location %q; body: %.400s", path, res.StatusCode, status, res.Header.Get("Location"), pgText(body))
	}
	return body
}

var pgTags = regexp.MustCompile(`(?s)<script.*?</script>|<[^>]+>`)

// pgText is a page's visible text with whitespace collapsed, for
// assertions on what a person reads.
func pgText(html string) string {
	return strings.Join(strings.Fields(pgTags.ReplaceAllString(html, " ")), " ")
}

func pgWantText(t *testing.T, what, body string, want ...string) {
	t.Helper()
	text := pgText(body)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s: page text does not contain %q; got: %.600s", what, w, text)
		}
	}
}

func pgWantNoText(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	text := pgText(body)
	for _, w := range unwanted {
		if strings.Contains(text, w) {
			t.Errorf("%s: page text contains %q, want it absent", what, w)
		}
	}
}

var pgLinkRE = regexp.MustCompile(`https?://[^\s"<]+/org/invitations/accept\?token=[A-Za-z0-9%]+`)

func TestIntegrationOrgPages(t *testing.T) {
	t.Parallel()
	ta, alice, bob, carol := pgSeeded(t, nil)
	acme := ta.OrgID(t, "acme")
	bobID := ta.UserID(t, "bob@example.com")
	aliceID := ta.UserID(t, "alice@example.com")

	// No active organization yet: /org offers the user's organizations.
	body := pgGet(t, ta, alice, "/org", http.StatusOK)
	pgWantText(t, "/org, personal account", body, "You are using your personal account", "Switch to Acme Inc")

	// The switcher's form (no JavaScript): a new token at once.
	res, _ := pgPost(t, ta, alice, "/org/switch", url.Values{"organization_id": {acme}, "redirect_url": {"/dashboard"}}, http.StatusSeeOther, "/dashboard")
	if setCookies(res)["__session"] == nil {
		t.Fatal("switch: got no new __session cookie")
	}
	if o, _ := ta.orgClaims(t, alice)["o"].(map[string]any); o["id"] != acme || o["rol"] != "admin" {
		t.Fatalf("token after switch: got o=%v, want acme as admin", o)
	}
	// The header's OrganizationSwitcher now names the organization.
	body = pgGet(t, ta, alice, "/dashboard", http.StatusOK)
	if !strings.Contains(body, `action="/org/switch"`) {
		t.Error("dashboard: no OrganizationSwitcher form in the header")
	}
	pgWantText(t, "dashboard header", body, "Acme Inc", "Manage organization")
	if _, state := ssrState(t, body); state["orgId"] != acme || state["orgRole"] != "org:admin" || state["orgSlug"] != "acme" {
		t.Errorf("SSR state after switch: got orgId=%v orgRole=%v orgSlug=%v", state["orgId"], state["orgRole"], state["orgSlug"])
	}

	// An admin sees members, invitations and settings.
	body = pgGet(t, ta, alice, "/org", http.StatusOK)
	pgWantText(t, "/org as admin", body, "Acme Inc", "Members", "bob@example.com", "Invitations", "Send invitation", "Settings", "Delete organization")

	// A member sees the members, not the admin actions; the store refuses
	// them anyway when forged.
	pgPost(t, ta, bob, "/org/switch", url.Values{"organization_id": {acme}}, http.StatusSeeOther, "/org")
	body = pgGet(t, ta, bob, "/org", http.StatusOK)
	pgWantText(t, "/org as member", body, "Members", "alice@example.com")
	pgWantNoText(t, "/org as member", body, "Send invitation", "Delete organization", "Change role")
	_, body = pgPost(t, ta, bob, "/org/members/remove", url.Values{"organization_id": {acme}, "user_id": {aliceID}}, http.StatusForbidden, "")
	pgWantText(t, "member removing the admin", body, "Your role does not allow this.")
	pgPost(t, ta, bob, "/org/invitations", url.Values{"organization_id": {acme}, "email_address": {"x@example.com"}}, http.StatusForbidden, "")
	pgPost(t, ta, bob, "/org/delete", url.Values{"organization_id": {acme}}, http.StatusForbidden, "")
	if m, err := ta.App.Client.Organizations.GetOrganizationMembershipList(context.Background(), clerkclient.OrganizationMembershipListParams{OrganizationID: acme}); err != nil || len(m.Data) != 2 {
		t.Fatalf("after refused writes: got %v, %v; want the 2 members unchanged", m, err)
	}

	// A non-member cannot act on the organization at all.
	pgPost(t, ta, carol, "/org/members/remove", url.Values{"organization_id": {acme}, "user_id": {bobID}}, http.StatusNotFound, "")
	pgPost(t, ta, carol, "/org/switch", url.Values{"organization_id": {acme}}, http.StatusNotFound, "")

	// The last admin cannot demote themselves.
	_, body = pgPost(t, ta, alice, "/org/members/role", url.Values{"organization_id": {acme}, "user_id": {aliceID}, "role": {"org:member"}}, http.StatusConflict, "")
	pgWantText(t, "last admin demotion", body, "admin")

	// Role change and settings.
	pgPost(t, ta, alice, "/org/members/role", url.Values{"organization_id": {acme}, "user_id": {bobID}, "role": {"org:admin"}}, http.StatusSeeOther, "/org?notice=role-changed")
	pgPost(t, ta, alice, "/org/members/role", url.Values{"organization_id": {acme}, "user_id": {bobID}, "role": {"org:member"}}, http.StatusSeeOther, "/org?notice=role-changed")
	pgPost(t, ta, alice, "/org/members/role", url.Values{"organization_id": {acme}, "user_id": {bobID}, "role": {"org:wizard"}}, http.StatusUnprocessableEntity, "")
	pgPost(t, ta, alice, "/org/settings", url.Values{"organization_id": {acme}, "name": {"Acme Corp"}, "slug": {"acme"}}, http.StatusSeeOther, "/org?notice=renamed")
	pgPost(t, ta, alice, "/org/settings", url.Values{"organization_id": {acme}, "name": {"Acme Corp"}, "slug": {"Not A Slug!"}}, http.StatusUnprocessableEntity, "")
	body = pgGet(t, ta, alice, "/org?notice=renamed", http.StatusOK)
	pgWantText(t, "/org after rename", body, "Acme Corp", "Organization settings saved.")
	// Unknown notices show nothing: no text of the request is echoed.
	body = pgGet(t, ta, alice, "/org?notice=%3Cb%3Ehi", http.StatusOK)
	pgWantNoText(t, "/org with a forged notice", body, "<b>hi")

	// Invitations: sent to the development mailbox, accepted once.
	pgPost(t, ta, alice, "/org/invitations", url.Values{"organization_id": {acme}, "email_address": {"Dora@Example.com"}, "role": {"org:member"}}, http.StatusSeeOther, "/org?notice=invited")
	pgPost(t, ta, alice, "/org/invitations", url.Values{"organization_id": {acme}, "email_address": {"dora@example.com"}}, http.StatusConflict, "")
	pgPost(t, ta, alice, "/org/invitations", url.Values{"organization_id": {acme}, "email_address": {"not-an-address"}}, http.StatusUnprocessableEntity, "")
	body = pgGet(t, ta, alice, "/org", http.StatusOK)
	pgWantText(t, "/org invitations", body, "dora@example.com", "Revoke")
	box := pgGet(t, ta, plainClient(), "/dev/mailbox", http.StatusOK)
	pgWantText(t, "mailbox", box, "You are invited to an organization on Gatehouse", "To dora@example.com", `&#34;Alice Admin&#34; invited you`, `the organization &#34;Acme Corp&#34;`)
	link := pgLinkRE.FindString(box)
	if link == "" {
		t.Fatalf("mailbox: no invitation link in %.500s", pgText(box))
	}
	link = strings.ReplaceAll(link, "&amp;", "&")
	lu, _ := url.Parse(link)
	path := lu.RequestURI()

	// A visitor sees the invitation and is sent to sign in and back.
	visitor := ta.Browser(t)
	body = pgGet(t, ta, visitor, path, http.StatusOK)
	pgWantText(t, "invitation, signed out", body, "Join Acme Corp", "dora@example.com", "Sign in", "Sign up")
	if !strings.Contains(body, "redirect_url=") {
		t.Error("invitation page: sign-in link does not bring the visitor back")
	}
	// Signed in with another address: refused, nothing changes.
	_, body = pgPost(t, ta, carol, "/org/invitations/accept", url.Values{"token": {lu.Query().Get("token")}}, http.StatusForbidden, "")
	pgWantText(t, "invitation, wrong user", body, "Join Acme Corp")
	ta.CreateUser(t, "dora@example.com", "dora's long password", "Dora", "Invited")
	dora := ta.Browser(t)
	ta.SignIn(t, dora, "dora@example.com", "dora's long password")
	pgGet(t, ta, dora, path, http.StatusOK)
	res, _ = pgPost(t, ta, dora, "/org/invitations/accept", url.Values{"token": {lu.Query().Get("token")}}, http.StatusSeeOther, "/org?notice=joined")
	if setCookies(res)["__session"] == nil {
		t.Error("accept: no new session token")
	}
	if o, _ := ta.orgClaims(t, dora)["o"].(map[string]any); o["id"] != acme || o["rol"] != "member" {
		t.Errorf("token after accepting: got o=%v, want acme as member", o)
	}
	pgPost(t, ta, dora, "/org/invitations/accept", url.Values{"token": {lu.Query().Get("token")}}, http.StatusConflict, "")
	body = pgGet(t, ta, visitor, path, http.StatusConflict)
	pgWantText(t, "used invitation", body, "already accepted")
	pgGet(t, ta, visitor, "/org/invitations/accept?token=forged", http.StatusNotFound)

	// A revoked invitation's link is refused with a clear page.
	pgPost(t, ta, alice, "/org/invitations", url.Values{"organization_id": {acme}, "email_address": {"erin@example.com"}}, http.StatusSeeOther, "")
	box = pgGet(t, ta, plainClient(), "/dev/mailbox", http.StatusOK)
	erin := pgLinkRE.FindString(box) // newest first
	inv, err := ta.App.Client.Organizations.GetOrganizationInvitationList(context.Background(), clerkclient.OrganizationInvitationListParams{OrganizationID: acme, Status: "pending"})
	if err != nil || len(inv.Data) != 1 {
		t.Fatalf("pending invitations: got %v, %v; want 1", inv, err)
	}
	pgPost(t, ta, alice, "/org/invitations/revoke", url.Values{"organization_id": {acme}, "invitation_id": {inv.Data[0].ID}}, http.StatusSeeOther, "/org?notice=revoked")
	eu, _ := url.Parse(strings.ReplaceAll(erin, "&amp;", "&"))
	body = pgGet(t, ta, visitor, eu.RequestURI(), http.StatusGone)
	pgWantText(t, "revoked invitation", body, "This invitation was revoked.")

	// Leaving falls back to the personal account with a new token at once.
	res, _ = pgPost(t, ta, dora, "/org/leave", url.Values{"organization_id": {acme}}, http.StatusSeeOther, "/org?notice=left")
	if setCookies(res)["__session"] == nil {
		t.Error("leave: no new session token")
	}
	if o := ta.orgClaims(t, dora)["o"]; o != nil {
		t.Errorf("token after leaving: got o=%v, want none", o)
	}

	// Creating an organization makes it active, with the creator as admin.
	pgGet(t, ta, carol, "/org/new", http.StatusOK)
	_, body = pgPost(t, ta, carol, "/org/new", url.Values{"name": {"   "}}, http.StatusUnprocessableEntity, "")
	pgWantText(t, "create without a name", body, "Create organization")
	pgPost(t, ta, carol, "/org/new", url.Values{"name": {"Carol Co"}, "slug": {"acme"}}, http.StatusUnprocessableEntity, "")
	pgPost(t, ta, carol, "/org/new", url.Values{"name": {"Carol Co"}}, http.StatusSeeOther, "/org?notice=created")
	if o, _ := ta.orgClaims(t, carol)["o"].(map[string]any); o["slg"] != "carol-co" || o["rol"] != "admin" {
		t.Errorf("token after creating: got o=%v, want carol-co as admin", o)
	}
	// Deleting it also falls back to the personal account.
	carolOrg := ta.orgClaims(t, carol)["o"].(map[string]any)["id"].(string)
	pgPost(t, ta, carol, "/org/delete", url.Values{"organization_id": {carolOrg}}, http.StatusSeeOther, "/org?notice=deleted")
	if o := ta.orgClaims(t, carol)["o"]; o != nil {
		t.Errorf("token after deleting: got o=%v, want none", o)
	}

	// Bad bodies get 4xx pages, never 500.
	res, _ = harness.Do(t, alice, http.MethodPost, ta.URL+"/org/switch", strings.NewReader("organization_id="), map[string]string{"Content-Type": "text/plain"})
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("switch with a text body: got %d, want 415", res.StatusCode)
	}
	res, _ = harness.Do(t, alice, http.MethodPost, ta.URL+"/org/settings", strings.NewReader("name="+strings.Repeat("x", 200<<10)), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized form: got %d, want 413", res.StatusCode)
	}
	// Signed out, the pages send to sign-in and the forms change nothing.
	anon := ta.Browser(t)
	res, _ = harness.Do(t, anon, http.MethodGet, ta.URL+"/org", nil, nil)
	if res.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(res.Header.Get("Location"), "/sign-in?redirect_url=") {
		t.Errorf("GET /org signed out: got %d %q, want 307 to sign-in", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = harness.PostForm(t, anon, ta.URL+"/org/members/remove", url.Values{"organization_id": {acme}, "user_id": {bobID}})
	if res.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("remove signed out: got %d, want 307 to sign-in", res.StatusCode)
	}
}

// TestIntegrationInvitationBySMTP: with SMTP_URL set the invitation goes
// out over SMTP and the development mailbox is not mounted.
func TestIntegrationInvitationBySMTP(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	received := make(chan string, 1)
	go pgFakeSMTP(ln, received)
	ta, alice, _, _ := pgSeeded(t, map[string]string{"SMTP_URL": "smtp://" + ln.Addr().String(), "MAIL_FROM": "Acme <team@example.com>"})
	acme := ta.OrgID(t, "acme")
	pgPost(t, ta, alice, "/org/switch", url.Values{"organization_id": {acme}}, http.StatusSeeOther, "")
	pgPost(t, ta, alice, "/org/invitations", url.Values{"organization_id": {acme}, "email_address": {"dora@example.com"}}, http.StatusSeeOther, "/org?notice=invited")
	select {
	case msg := <-received:
		for _, want := range []string{"MAIL FROM:<team@example.com>", "RCPT TO:<dora@example.com>", "Subject: You are invited to an organization on Gatehouse", "/org/invitations/accept?token="} {
			if !strings.Contains(msg, want) {
				t.Errorf("SMTP session lacks %q:\n%s", want, msg)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message reached the SMTP server")
	}
	pgGet(t, ta, plainClient(), "/dev/mailbox", http.StatusNotFound)
}

// pgFakeSMTP answers one SMTP session and sends what the client said.
func pgFakeSMTP(ln net.Listener, out chan<- string) {
	conn, err := ln.Accept()
	if err != nil {
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	r := bufio.NewReader(conn)
	say := func(s string) { fmt.Fprint(conn, s+"\r\n") }
	say("220 fake ESMTP")
	data := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			out <- b.String()
			return
		}
		line = strings.TrimRight(line, "\r\n")
		b.WriteString(line + "\n")
		switch {
		case data && line == ".":
			data = false
			say("250 queued")
		case data:
		case strings.HasPrefix(line, "EHLO"), strings.HasPrefix(line, "HELO"):
			say("250 fake")
		case line == "DATA":
			data = true
			say("354 go on")
		case line == "QUIT":
			say("221 bye")
			out <- b.String()
			return
		default:
			say("250 ok")
		}
	}
}

// TestIntegrationChooseOrganizationTask: with organizations required, a
// session without one is sent to the task page by Protect and becomes
// active once it picks or creates one.
func TestIntegrationChooseOrganizationTask(t *testing.T) {
	t.Parallel()
	ta, _, bob, carol := pgSeeded(t, map[string]string{"CLERK_ORGANIZATIONS_REQUIRED": "true"})
	acme := ta.OrgID(t, "acme")
	page := map[string]string{"Accept": "text/html"}
	for name, c := range map[string]*http.Client{"bob": bob, "carol": carol} {
		if sts := ta.orgClaims(t, c)["sts"]; sts != "pending" {
			t.Fatalf("%s: got sts %v, want pending", name, sts)
		}
		// Protected pages send a pending session to /sign-in/tasks, which
		// forwards to its task.
		res, _ := harness.Do(t, c, http.MethodGet, ta.URL+"/profile", nil, page)
		if res.StatusCode != http.StatusTemporaryRedirect || res.Header.Get("Location") != auth.PendingTaskURL {
			t.Errorf("%s: GET /profile: got %d %q, want 307 to %s", name, res.StatusCode, res.Header.Get("Location"), auth.PendingTaskURL)
		}
		res, _ = harness.Do(t, c, http.MethodGet, ta.URL+"/org", nil, page)
		if res.StatusCode != http.StatusTemporaryRedirect || res.Header.Get("Location") != auth.PendingTaskURL {
			t.Errorf("%s: GET /org: got %d %q, want 307 to %s", name, res.StatusCode, res.Header.Get("Location"), auth.PendingTaskURL)
		}
		res, _ = harness.Do(t, c, http.MethodGet, ta.URL+auth.PendingTaskURL, nil, page)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/sign-in/tasks/choose-organization" {
			t.Errorf("%s: GET %s: got %d %q, want 303 to the choose-organization task", name, auth.PendingTaskURL, res.StatusCode, res.Header.Get("Location"))
		}
	}
	body := pgGet(t, ta, bob, "/sign-in/tasks/choose-organization", http.StatusOK)
	pgWantText(t, "task page, member", body, "Choose an organization", "Switch to Acme Inc", "Create organization")
	pgPost(t, ta, bob, "/org/switch", url.Values{"organization_id": {acme}, "redirect_url": {"/dashboard"}}, http.StatusSeeOther, "/dashboard")
	if sts := ta.orgClaims(t, bob)["sts"]; sts != "active" {
		t.Errorf("bob after choosing: got sts %v, want active", sts)
	}
	pgGet(t, ta, bob, "/profile", http.StatusOK)

	body = pgGet(t, ta, carol, "/sign-in/tasks/choose-organization", http.StatusOK)
	pgWantText(t, "task page, no organization", body, "You do not belong to any organization yet.")
	pgGet(t, ta, carol, "/org/new", http.StatusOK)
	pgPost(t, ta, carol, "/org/new", url.Values{"name": {"Solo Works"}}, http.StatusSeeOther, "/org?notice=created")
	if sts := ta.orgClaims(t, carol)["sts"]; sts != "active" {
		t.Errorf("carol after creating: got sts %v, want active", sts)
	}
	pgGet(t, ta, carol, "/profile", http.StatusOK)
}

// TestIntegrationImpersonationPages: an instance administrator starts an
// impersonation from the admin page; the ticket works once; every page
// shows the banner; stopping ends the actor session.
func TestIntegrationImpersonationPages(t *testing.T) {
	t.Parallel()
	ta, alice, bob, _ := pgSeeded(t, map[string]string{"ADMIN_EMAILS": "alice@example.com"})
	bobID := ta.UserID(t, "bob@example.com")

	pgGet(t, ta, bob, "/admin/impersonate", http.StatusForbidden)
	pgPost(t, ta, bob, "/admin/impersonate", url.Values{"user_id": {ta.UserID(t, "alice@example.com")}}, http.StatusForbidden, "")
	body := pgGet(t, ta, alice, "/admin/impersonate", http.StatusOK)
	pgWantText(t, "admin page", body, "Impersonate a user", "bob@example.com", "carol@example.com")
	pgPost(t, ta, alice, "/admin/impersonate", url.Values{"user_id": {"user_unknown"}}, http.StatusNotFound, "")
	_, body = pgPost(t, ta, alice, "/admin/impersonate", url.Values{"user_id": {bobID}}, http.StatusOK, "")
	m := regexp.MustCompile(`name="token" value="([A-Za-z0-9]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("admin page: no ticket form after creating the token: %.500s", pgText(body))
	}
	pgWantText(t, "admin page", body, "Link for bob@example.com", "/sign-in/ticket?token=")

	support := ta.Browser(t)
	body = pgGet(t, ta, support, "/sign-in/ticket?token="+m[1], http.StatusOK)
	pgWantText(t, "ticket page", body, "Continue")
	if _, err := ta.App.Store.GetUserByEmail(context.Background(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	pgPost(t, ta, support, "/sign-in/ticket", url.Values{"token": {m[1]}}, http.StatusSeeOther, "/dashboard")
	claims := ta.orgClaims(t, support)
	if act, _ := claims["act"].(map[string]any); claims["sub"] != bobID || act["sub"] != ta.UserID(t, "alice@example.com") {
		t.Fatalf("impersonation token: got sub=%v act=%v, want bob on behalf of alice", claims["sub"], claims["act"])
	}
	for _, path := range []string{"/dashboard", "/", "/profile"} {
		body = pgGet(t, ta, support, path, http.StatusOK)
		pgWantText(t, path+" while impersonating", body, "You are signed in as Bob Member on behalf of Alice Admin", "Stop impersonating")
	}
	body = pgGet(t, ta, bob, "/dashboard", http.StatusOK)
	pgWantNoText(t, "bob's own session", body, "on behalf of")
	// The actor session cannot impersonate in turn.
	pgGet(t, ta, support, "/admin/impersonate", http.StatusForbidden)

	// The ticket works once.
	other := ta.Browser(t)
	_, body = pgPost(t, ta, other, "/sign-in/ticket", url.Values{"token": {m[1]}}, http.StatusUnprocessableEntity, "")
	pgWantText(t, "reused ticket", body, "This sign-in link is invalid or has expired.")
	assertNoAuthCookie(t, func() *http.Response {
		res, _ := harness.PostForm(t, other, ta.URL+"/sign-in/ticket", url.Values{"token": {"forged"}})
		return res
	}())

	// Stopping the impersonation ends the actor session.
	sid := ta.sessionID(t, support)
	pgPost(t, ta, support, "/sign-out", url.Values{}, http.StatusSeeOther, "/")
	if s, err := ta.App.Client.Sessions.GetSession(context.Background(), sid); err != nil || s.Status != "ended" {
		t.Errorf("actor session after stopping: got %+v, %v; want ended", s, err)
	}
	pgGet(t, ta, bob, "/profile", http.StatusOK) // bob's own session is untouched
}

// TestIntegrationAdminEmailCannotBeClaimed: an ADMIN_EMAILS address with
// no account yet cannot be claimed by signing up (sign-up does not prove
// the address is the caller's, and the address grants impersonation);
// the operator creates that account with the command line or the backend
// client.
func TestIntegrationAdminEmailCannotBeClaimed(t *testing.T) {
	t.Parallel()
	ta := startApp(t, map[string]string{"ADMIN_EMAILS": "Ops@Example.com"})
	victim := ta.CreateUser(t, "victim@example.com", "victim's long password", "Vic", "Tim")
	attacker := ta.Browser(t)
	for _, addr := range []string{"ops@example.com", "OPS@example.com"} {
		res, body := harness.PostForm(t, attacker, ta.URL+"/sign-up", url.Values{"email_address": {addr}, "password": {"attacker's long password"}})
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("sign-up as %s: got %d, want 422; body: %.300s", addr, res.StatusCode, pgText(body))
		}
		pgWantText(t, "sign-up with an admin address", body, "taken")
		assertNoAuthCookie(t, res)
	}
	res, body := harness.Do(t, plainClient(), http.MethodPost, ta.URL+"/__clerk/v1/client/sign_ups",
		strings.NewReader(`{"email_address":"ops@example.com","password":"attacker's long password"}`), map[string]string{"Content-Type": "application/json"})
	fapiError(t, "frontend API sign-up with an admin address", res, body, http.StatusUnprocessableEntity, "form_identifier_exists")
	if _, err := ta.App.Store.GetUserByEmail(context.Background(), "ops@example.com"); err == nil {
		t.Fatal("an account for the admin address was created by sign-up")
	}
	// Created by the operator, the account is an administrator.
	ta.CreateUser(t, "ops@example.com", "operator's long password", "Op", "Erator")
	ops := ta.Browser(t)
	ta.SignIn(t, ops, "ops@example.com", "operator's long password")
	pgPost(t, ta, ops, "/admin/impersonate", url.Values{"user_id": {victim.ID}}, http.StatusOK, "")
}
