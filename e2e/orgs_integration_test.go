package e2e

// End-to-end tests of organizations, roles and permissions, the active
// organization, invitations, pending sessions and impersonation, through
// the whole app over HTTP with a fresh SQLite database each.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/cli"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// orgTouch posts the frontend API's touch with a raw body.
func (ta *testApp) orgTouch(t testing.TB, c *http.Client, sid, contentType, body string) (*http.Response, string) {
	t.Helper()
	return harness.Do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sessions/"+sid+"/touch", strings.NewReader(body),
		withHeaders(sameOrigin, map[string]string{"Content-Type": contentType}))
}

// orgActivate makes orgID ("" for none) c's active organization through
// touch and fails the test unless it answers 200 with a new token.
func (ta *testApp) orgActivate(t testing.TB, c *http.Client, orgID string) {
	t.Helper()
	body := `{"active_organization_id":null}`
	if orgID != "" {
		body = `{"active_organization_id":"` + orgID + `"}`
	}
	res, resBody := ta.orgTouch(t, c, ta.sessionID(t, c), "application/json", body)
	if res.StatusCode != http.StatusOK || setCookies(res)["__session"] == nil {
		t.Fatalf("touch %s: got %d (Set-Cookie %q), want 200 with a new __session: %.300s", orgID, res.StatusCode, res.Header.Values("Set-Cookie"), resBody)
	}
}

// orgGetJSON sends GET path and decodes the JSON object answered.
func (ta *testApp) orgGetJSON(t testing.TB, c *http.Client, path string) (int, map[string]any) {
	t.Helper()
	res, body := harness.Do(t, c, http.MethodGet, ta.URL+path, nil, nil)
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: got Content-Type %q, want application/json (status %d: %.200s)", path, ct, res.StatusCode, body)
	}
	return res.StatusCode, decodeObject(t, "GET "+path, body)
}

// orgClaims returns the claims of c's current session token, verified
// against the app's JWKS.
func (ta *testApp) orgClaims(t testing.TB, c *http.Client) map[string]any {
	t.Helper()
	return ta.verifyWithJWKS(t, ta.Cookie(t, c, "__session"))
}

// orgWantCode fails unless err is an identity error with the code.
func orgWantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if e, ok := identity.AsError(err); !ok || e.Code != code {
		t.Errorf("%s: got %v, want %s", what, err, code)
	}
}

// TestIntegrationOrgExampleRoutes: the seed's organization and the
// /api/admin, /api/org and /api/team statuses and JSON of 03 §6.
func TestIntegrationOrgExampleRoutes(t *testing.T) {
	t.Parallel()
	ta := startApp(t, nil)
	ctx := context.Background()
	seeded, err := app.Seed(ctx, ta.App.Client, io.Discard)
	if err != nil || !seeded {
		t.Fatalf("seed: got %v, %v; want seeded", seeded, err)
	}
	if again, err := app.Seed(ctx, ta.App.Client, io.Discard); err != nil || again {
		t.Errorf("second seed: got %v, %v; want nothing seeded", again, err)
	}
	org, err := ta.App.Client.Organizations.GetOrganization(ctx, "acme")
	if err != nil || org.Name != "Acme Inc" || org.MembersCount != 2 {
		t.Fatalf("demo organization: got %+v, %v; want Acme Inc with 2 members", org, err)
	}
	for _, a := range app.DemoAccounts() {
		list, err := ta.App.Client.Users.GetOrganizationMembershipList(ctx, clerkclient.UserOrganizationMembershipListParams{UserID: ta.UserID(t, a.Email)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range list.Data {
			got = append(got, m.Organization.Slug+"="+m.Role)
		}
		want := []string{}
		if a.Role != "" {
			want = []string{"acme=" + a.Role}
		}
		if !slices.Equal(append([]string{}, got...), want) {
			t.Errorf("%s memberships: got %v, want %v", a.Email, got, want)
		}
	}

	anon := ta.Browser(t)
	browsers := map[string]*http.Client{}
	for _, a := range app.DemoAccounts() {
		browsers[a.Email] = ta.Browser(t)
		ta.SignIn(t, browsers[a.Email], a.Email, a.Password)
	}
	alice, bob, carol := browsers["alice@example.com"], browsers["bob@example.com"], browsers["carol@example.com"]

	type want struct {
		status int
		body   map[string]any // exact keys and values, when given
	}
	check := func(who string, c *http.Client, path string, w want) {
		t.Helper()
		status, body := ta.orgGetJSON(t, c, path)
		if status != w.status {
			t.Errorf("%s GET %s: got %d %v, want %d", who, path, status, body, w.status)
			return
		}
		if w.body != nil {
			gotJSON, _ := json.Marshal(body)
			wantJSON, _ := json.Marshal(w.body)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("%s GET %s: got %s, want %s", who, path, gotJSON, wantJSON)
			}
		}
	}
	unauthorized := want{401, map[string]any{"error": "Unauthorized"}}
	forbidden := want{403, map[string]any{"error": "Forbidden"}}
	noOrg := want{400, map[string]any{"error": "Organization required"}}
	for _, path := range []string{"/api/admin", "/api/org", "/api/team"} {
		check("signed out", anon, path, unauthorized)
	}
	// Signed in, personal account.
	check("alice", alice, "/api/admin", forbidden)
	check("alice", alice, "/api/org", noOrg)
	check("alice", alice, "/api/team", forbidden)

	ta.orgActivate(t, alice, org.ID)
	aliceID, bobID := ta.UserID(t, "alice@example.com"), ta.UserID(t, "bob@example.com")
	permsOf := func(role string) []any {
		var out []any
		for _, p := range roles.Default().Permissions(role) {
			out = append(out, p)
		}
		return out
	}
	check("alice", alice, "/api/admin", want{200, map[string]any{"message": "Admin action completed"}})
	status, body := ta.orgGetJSON(t, alice, "/api/org")
	orgJSON, _ := body["organization"].(map[string]any)
	if status != 200 || body["userId"] != aliceID || len(body) != 2 || len(orgJSON) != 4 || orgJSON["id"] != org.ID ||
		orgJSON["role"] != "org:admin" || orgJSON["slug"] != "acme" || !sameSet(orgJSON["permissions"], permsOf(roles.Admin)) {
		t.Errorf("alice GET /api/org: got %d %v", status, body)
	}
	check("alice", alice, "/api/team", want{200, map[string]any{"message": "Team management access granted", "orgId": org.ID, "userId": aliceID}})

	ta.orgActivate(t, bob, "acme") // by slug
	check("bob", bob, "/api/admin", forbidden)
	check("bob", bob, "/api/team", forbidden)
	status, body = ta.orgGetJSON(t, bob, "/api/org")
	orgJSON, _ = body["organization"].(map[string]any)
	if status != 200 || body["userId"] != bobID || orgJSON["role"] != "org:member" || !sameSet(orgJSON["permissions"], permsOf(roles.Member)) {
		t.Errorf("bob GET /api/org: got %d %v", status, body)
	}

	// Carol belongs to no organization: switching is refused and changes nothing.
	before := ta.Cookie(t, carol, "__session")
	res, resBody := ta.orgTouch(t, carol, ta.sessionID(t, carol), "application/json", `{"active_organization_id":"`+org.ID+`"}`)
	fapiError(t, "carol switches to acme", res, resBody, http.StatusNotFound, "resource_not_found")
	assertNoAuthCookie(t, res)
	if ta.Cookie(t, carol, "__session") != before {
		t.Error("a refused switch changed carol's token")
	}
	check("carol", carol, "/api/org", noOrg)
}

// sameSet compares a decoded JSON array with want, ignoring order.
func sameSet(got any, want []any) bool {
	list, ok := got.([]any)
	if !ok || len(list) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.Contains(list, w) {
			return false
		}
	}
	return true
}

// TestIntegrationActiveOrganization: switching through touch mints a new
// token at once; GetAuth, the SSR state and the frontend API's client
// follow; null and "" select the personal account; an absent field keeps
// the organization; only member organizations are accepted.
func TestIntegrationActiveOrganization(t *testing.T) {
	t.Parallel()
	ta := startApp(t, nil)
	ctx := context.Background()
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Test")
	doraID, evanID := ta.UserID(t, doraEmail), ta.UserID(t, evanEmail)
	org, err := ta.App.Orgs.Create(ctx, identity.AsUser(doraID), identity.CreateOrganizationInput{Name: "Dora & Co"})
	if err != nil {
		t.Fatal(err)
	}
	if org.Slug != "dora-co" {
		t.Errorf("derived slug: got %q, want dora-co", org.Slug)
	}
	if _, err := ta.App.Client.Organizations.UpdateOrganizationMetadata(ctx, org.ID, clerkclient.UpdateOrganizationMetadataParams{PrivateMetadata: json.RawMessage(`{"secret":"s3cr3t"}`)}); err != nil {
		t.Fatal(err)
	}
	evanOrg, err := ta.App.Orgs.Create(ctx, identity.AsUser(evanID), identity.CreateOrganizationInput{Name: "Evan Ltd"})
	if err != nil {
		t.Fatal(err)
	}
	c := ta.Browser(t)
	ta.SignIn(t, c, doraEmail, doraPassword)
	sid := ta.sessionID(t, c)

	// The frontend API's client lists the memberships.
	status, client := ta.orgGetJSON(t, c, "/__clerk/v1/client")
	sessions, _ := client["sessions"].([]any)
	if status != 200 || len(sessions) != 1 {
		t.Fatalf("GET /client: got %d %v", status, client)
	}
	user, _ := sessions[0].(map[string]any)["user"].(map[string]any)
	mems, _ := user["organization_memberships"].([]any)
	if len(mems) != 1 {
		t.Fatalf("organization_memberships: got %v, want one", user["organization_memberships"])
	}
	mem := mems[0].(map[string]any)
	memOrg, _ := mem["organization"].(map[string]any)
	if mem["role"] != "org:admin" || memOrg["id"] != org.ID || memOrg["name"] != "Dora & Co" || memOrg["slug"] != "dora-co" ||
		!sameSet(mem["permissions"], toAny(roles.Default().Permissions(roles.Admin))) {
		t.Errorf("membership: got %v", mem)
	}
	if _, leaked := memOrg["private_metadata"]; leaked {
		t.Errorf("the frontend API shows the organization's private metadata: %v", memOrg)
	}
	_, clientBody := harness.Do(t, c, http.MethodGet, ta.URL+"/__clerk/v1/client", nil, nil)
	if strings.Contains(clientBody, "s3cr3t") {
		t.Error("GET /client leaks private metadata")
	}

	// Switch: the answer carries the session and a new token at once.
	before := ta.Cookie(t, c, "__session")
	res, body := ta.orgTouch(t, c, sid, "application/json", `{"active_organization_id":"`+org.ID+`"}`)
	assertStatus(t, "touch", res, body, http.StatusOK)
	assertJSONType(t, "touch", res)
	assertAuthCookieAttrs(t, res, "__session")
	sess := decodeObject(t, "touch", body)
	if sess["object"] != "session" || sess["id"] != sid || sess["last_active_organization_id"] != org.ID || sess["status"] != "active" {
		t.Errorf("touch answer: got %v", sess)
	}
	if after := ta.Cookie(t, c, "__session"); after == before {
		t.Fatal("touch: the token did not change")
	}
	claims := ta.orgClaims(t, c)
	o, _ := claims["o"].(map[string]any)
	if o["id"] != org.ID || o["slg"] != "dora-co" || o["rol"] != "admin" || o["per"] != "manage,delete,read" || o["fpm"] != "3,5,5" ||
		claims["fea"] != "o:sys_profile,o:sys_memberships,o:team" {
		t.Errorf("new token: got o %v fea %v", claims["o"], claims["fea"])
	}
	// The very next request sees it, in GetAuth and in the SSR state.
	if status, body := ta.orgGetJSON(t, c, "/api/org"); status != 200 || body["organization"].(map[string]any)["id"] != org.ID {
		t.Errorf("GET /api/org right after switching: got %d %v", status, body)
	}
	res, page := harness.Do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, map[string]string{"Accept": "text/html"})
	assertStatus(t, "dashboard", res, page, http.StatusOK)
	_, state := ssrState(t, page)
	if state["orgId"] != org.ID || state["orgRole"] != "org:admin" || state["orgSlug"] != "dora-co" ||
		!sameSet(state["orgPermissions"], toAny(roles.Default().Permissions(roles.Admin))) {
		t.Errorf("SSR state: got orgId %v orgRole %v orgSlug %v orgPermissions %v", state["orgId"], state["orgRole"], state["orgSlug"], state["orgPermissions"])
	}

	// An absent field keeps the organization.
	res, body = ta.orgTouch(t, c, sid, "application/json", `{}`)
	assertStatus(t, "touch without the field", res, body, http.StatusOK)
	if o, _ := ta.orgClaims(t, c)["o"].(map[string]any); o["id"] != org.ID {
		t.Errorf("touch without the field: got o %v, want the organization kept", o)
	}
	// A form with an empty value selects the personal account…
	res, body = ta.orgTouch(t, c, sid, "application/x-www-form-urlencoded", "active_organization_id=")
	assertStatus(t, "touch with an empty form value", res, body, http.StatusOK)
	if _, has := ta.orgClaims(t, c)["o"]; has {
		t.Error("personal account: the token still has o")
	}
	if status, _ := ta.orgGetJSON(t, c, "/api/org"); status != 400 {
		t.Errorf("GET /api/org on the personal account: got %d, want 400", status)
	}
	// …and so does null.
	ta.orgActivate(t, c, org.ID)
	ta.orgActivate(t, c, "")
	if _, has := ta.orgClaims(t, c)["o"]; has {
		t.Error("null: the token still has o")
	}

	// Refused switches change nothing.
	ta.orgActivate(t, c, org.ID)
	before = ta.Cookie(t, c, "__session")
	for _, tc := range []struct {
		name, sid, body string
		status          int
		code            string
	}{
		{"an organization of another user", sid, `{"active_organization_id":"` + evanOrg.ID + `"}`, 404, "resource_not_found"},
		{"an unknown organization", sid, `{"active_organization_id":"org_doesnotexist"}`, 404, "resource_not_found"},
		{"an unknown slug", sid, `{"active_organization_id":"no-such-slug"}`, 404, "resource_not_found"},
		{"another session", "sess_doesnotexist", `{"active_organization_id":"` + org.ID + `"}`, 404, "resource_not_found"},
		{"a number", sid, `{"active_organization_id":42}`, 422, "form_param_format_invalid"},
	} {
		res, body := ta.orgTouch(t, c, tc.sid, "application/json", tc.body)
		fapiError(t, "touch with "+tc.name, res, body, tc.status, tc.code)
		assertNoAuthCookie(t, res)
	}
	res, body = harness.Do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sessions/"+sid+"/touch", strings.NewReader(`{"active_organization_id":null}`),
		map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site touch: got %d %s, want 403", res.StatusCode, body)
	}
	if ta.Cookie(t, c, "__session") != before {
		t.Error("a refused switch changed the token")
	}
	if o, _ := ta.orgClaims(t, c)["o"].(map[string]any); o["id"] != org.ID {
		t.Errorf("after refused switches: got o %v, want the organization still active", o)
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// TestIntegrationMemberRemoved: a member removed while holding a valid
// token can no longer act on the organization at once (every write is
// checked in the store), and the token's organization claims are gone
// at the next refresh, whether the script asks for a token or the
// middleware refreshes an expired one.
func TestIntegrationMemberRemoved(t *testing.T) {
	t.Parallel()
	ta := startApp(t, map[string]string{"SESSION_TOKEN_TTL": "1s"})
	ctx := context.Background()
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Test")
	doraID, evanID := ta.UserID(t, doraEmail), ta.UserID(t, evanEmail)
	org, err := ta.App.Orgs.Create(ctx, identity.AsUser(doraID), identity.CreateOrganizationInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.App.Orgs.AddMember(ctx, identity.AsUser(doraID), org.ID, evanID, "org:admin"); err != nil {
		t.Fatal(err)
	}
	evan := ta.Browser(t)
	ta.SignIn(t, evan, evanEmail, evanPassword)
	ta.orgActivate(t, evan, org.ID)
	held := ta.Cookie(t, evan, "__session")
	if o, _ := ta.orgClaims(t, evan)["o"].(map[string]any); o["rol"] != "admin" {
		t.Fatalf("evan's token: got o %v, want admin", o)
	}

	if _, err := ta.App.Orgs.RemoveMember(ctx, identity.AsUser(doraID), org.ID, evanID); err != nil {
		t.Fatalf("dora removes evan: %v", err)
	}

	// Evan's token still says admin, but the store says otherwise.
	_, err = ta.App.Orgs.Invite(ctx, identity.AsUser(evanID), identity.InviteInput{OrganizationID: org.ID, EmailAddress: "x@example.com"})
	orgWantCode(t, "evan invites", err, identity.CodeNotFound)
	_, err = ta.App.Orgs.ChangeRole(ctx, identity.AsUser(evanID), org.ID, doraID, "org:member")
	orgWantCode(t, "evan demotes dora", err, identity.CodeNotFound)
	name := "Taken over"
	_, err = ta.App.Orgs.Update(ctx, identity.AsUser(evanID), org.ID, identity.UpdateOrganizationInput{Name: &name})
	orgWantCode(t, "evan renames", err, identity.CodeNotFound)
	orgWantCode(t, "evan deletes", ta.App.Orgs.Delete(ctx, identity.AsUser(evanID), org.ID), identity.CodeNotFound)
	res, body := ta.orgTouch(t, evan, ta.sessionID(t, evan), "application/json", `{"active_organization_id":"`+org.ID+`"}`)
	fapiError(t, "evan switches back", res, body, http.StatusNotFound, "resource_not_found")
	if got, _ := ta.App.Store.GetOrganization(ctx, org.ID); got == nil || got.Name != "Acme" || got.MembersCount != 1 {
		t.Errorf("organization after evan's attempts: got %+v, want unchanged with one member", got)
	}

	// The script's next token has no organization.
	res, body = harness.Do(t, evan, http.MethodPost, ta.URL+"/__clerk/v1/client/sessions/"+ta.sessionID(t, evan)+"/tokens", nil, sameOrigin)
	assertStatus(t, "token refresh", res, body, http.StatusOK)
	var tok struct{ JWT string }
	json.Unmarshal([]byte(body), &tok)
	if claims := ta.verifyWithJWKS(t, tok.JWT); claims["o"] != nil || claims["fea"] != nil {
		t.Errorf("refreshed token: got o %v fea %v, want none", claims["o"], claims["fea"])
	}

	// The held token dies within its lifetime (1 s) plus 5 s of leeway;
	// then the middleware refreshes inline, without the organization.
	time.Sleep(7 * time.Second)
	c := ta.browserWith(t, map[string]string{"__session": held, "__client": ta.Cookie(t, evan, "__client")})
	if status, body := ta.orgGetJSON(t, c, "/api/org"); status != 400 {
		t.Errorf("GET /api/org after the held token expired: got %d %v, want 400 Organization required", status, body)
	}
	if status, _ := ta.orgGetJSON(t, c, "/api/admin"); status != 403 {
		t.Errorf("GET /api/admin after refresh: got %d, want 403", status)
	}
	if claims := ta.orgClaims(t, c); claims["o"] != nil {
		t.Errorf("inline-refreshed token: got o %v, want none", claims["o"])
	}
}

// TestIntegrationLastAdminConcurrency: two admins demote or remove each
// other at the same moment, many times: one admin always stays.
func TestIntegrationLastAdminConcurrency(t *testing.T) {
	t.Parallel()
	ta := startApp(t, nil)
	ctx := context.Background()
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Test")
	dora, evan := ta.UserID(t, doraEmail), ta.UserID(t, evanEmail)
	for round := range 10 {
		org, err := ta.App.Orgs.Create(ctx, identity.AsUser(dora), identity.CreateOrganizationInput{Name: fmt.Sprintf("Race %d", round)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ta.App.Orgs.AddMember(ctx, identity.AsUser(dora), org.ID, evan, "admin"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, pair := range [][2]string{{dora, evan}, {evan, dora}} {
			wg.Go(func() {
				if round%2 == 0 {
					_, errs[i] = ta.App.Orgs.ChangeRole(ctx, identity.AsUser(pair[0]), org.ID, pair[1], "member")
				} else {
					_, errs[i] = ta.App.Orgs.RemoveMember(ctx, identity.AsUser(pair[0]), org.ID, pair[1])
				}
			})
		}
		wg.Wait()
		refused := 0
		for _, err := range errs {
			if e, ok := identity.AsError(err); ok && (e.Code == identity.CodeLastAdmin || e.Code == identity.CodeNotAllowed || e.Code == identity.CodeNotFound) {
				refused++
			} else if err != nil {
				t.Errorf("round %d: got %v, want success or a clean refusal", round, err)
			}
		}
		list, _, err := ta.App.Orgs.Members(ctx, identity.AsInstance(), org.ID, identity.ListInput{})
		if err != nil {
			t.Fatal(err)
		}
		admins := 0
		for _, m := range list {
			if m.Role == roles.Admin {
				admins++
			}
		}
		if admins != 1 || refused != 1 {
			t.Errorf("round %d: got %d admins and %d refusals, want 1 and 1 (%v)", round, admins, refused, errs)
		}
	}
}

// TestIntegrationInvitation: an invitation is accepted exactly once, by
// the owner of the address, and the new member can switch to the
// organization; revoked links are refused.
func TestIntegrationInvitation(t *testing.T) {
	t.Parallel()
	ta := startApp(t, nil)
	ctx := context.Background()
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	doraID := ta.UserID(t, doraEmail)
	org, err := ta.App.Orgs.Create(ctx, identity.AsUser(doraID), identity.CreateOrganizationInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ta.App.Orgs.Invite(ctx, identity.AsUser(doraID), identity.InviteInput{OrganizationID: org.ID, EmailAddress: evanEmail})
	if err != nil {
		t.Fatal(err)
	}
	link, _ := url.Parse(res.URL)
	if link.Scheme+"://"+link.Host != ta.URL || link.Path != identity.InvitationPath {
		t.Errorf("invitation link: got %s, want %s%s?token=…", res.URL, ta.URL, identity.InvitationPath)
	}
	secret := link.Query().Get("token")

	// Evan signs up through the form, then accepts, eight times at once.
	evan := ta.Browser(t)
	r, body := signUpForm(t, evan, ta.URL, url.Values{"email_address": {evanEmail}, "password": {evanPassword}})
	assertStatus(t, "sign-up", r, body, http.StatusSeeOther)
	evanID := ta.UserID(t, evanEmail)
	_, err = ta.App.Orgs.AcceptInvitation(ctx, identity.AsUser(doraID), secret)
	orgWantCode(t, "dora accepts evan's invitation", err, identity.CodeInvitationWrongEmail)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = ta.App.Orgs.AcceptInvitation(ctx, identity.AsUser(evanID), secret) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			orgWantCode(t, "a concurrent acceptance", err, identity.CodeInvitationAccepted)
		}
	}
	if ok != 1 {
		t.Errorf("concurrent acceptances: got %d successes, want 1", ok)
	}
	members, total, err := ta.App.Orgs.Members(ctx, identity.AsUser(evanID), org.ID, identity.ListInput{})
	if err != nil || total != 2 || len(members) != 2 {
		t.Fatalf("members: got %d, %v; want 2", total, err)
	}
	ta.orgActivate(t, evan, org.ID)
	if status, body := ta.orgGetJSON(t, evan, "/api/org"); status != 200 || body["organization"].(map[string]any)["role"] != "org:member" {
		t.Errorf("evan GET /api/org: got %d %v", status, body)
	}
	inv, err := ta.App.Orgs.Invitation(ctx, secret)
	if err != nil || inv.Status != store.StatusAccepted {
		t.Errorf("invitation after acceptance: got %v, %v; want accepted", inv, err)
	}

	// A revoked invitation's link is refused.
	res, err = ta.App.Orgs.Invite(ctx, identity.AsUser(doraID), identity.InviteInput{OrganizationID: org.ID, EmailAddress: "fay@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.App.Orgs.RevokeInvitation(ctx, identity.AsUser(evanID), org.ID, res.Invitation.ID); err == nil {
		t.Error("a member revoked an invitation")
	}
	if _, err := ta.App.Orgs.RevokeInvitation(ctx, identity.AsUser(doraID), org.ID, res.Invitation.ID); err != nil {
		t.Fatal(err)
	}
	fay := ta.CreateUser(t, "fay@example.com", doraPassword+"x", "Fay", "Test")
	u, _ := url.Parse(res.URL)
	_, err = ta.App.Orgs.AcceptInvitation(ctx, identity.AsUser(fay.ID), u.Query().Get("token"))
	orgWantCode(t, "accept a revoked invitation", err, identity.CodeInvitationRevoked)
	_, err = ta.App.Orgs.AcceptInvitation(ctx, identity.AsUser(fay.ID), "forged-secret")
	orgWantCode(t, "accept a forged link", err, identity.CodeNotFound)
}

// TestIntegrationPendingSessions: with CLERK_ORGANIZATIONS_REQUIRED=true a
// new session is pending until an organization is chosen; GetAuth counts
// it as signed in, Protect sends pages to the task page and APIs get 401.
func TestIntegrationPendingSessions(t *testing.T) {
	t.Parallel()
	ta := startApp(t, map[string]string{"CLERK_ORGANIZATIONS_REQUIRED": "true"})
	ctx := context.Background()
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.Browser(t)
	ta.SignIn(t, c, doraEmail, doraPassword)
	if sts := ta.orgClaims(t, c)["sts"]; sts != "pending" {
		t.Fatalf("first token: got sts %v, want pending", sts)
	}
	page := map[string]string{"Accept": "text/html"}
	checkPending := func(pending bool) {
		t.Helper()
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/profile", nil, page)
		if pending {
			if res.StatusCode != http.StatusTemporaryRedirect || res.Header.Get("Location") != auth.PendingTaskURL {
				t.Errorf("GET /profile while pending: got %d to %q, want 307 to %s", res.StatusCode, res.Header.Get("Location"), auth.PendingTaskURL)
			}
		} else if res.StatusCode != http.StatusOK {
			t.Errorf("GET /profile while active: got %d, want 200: %.200s", res.StatusCode, body)
		}
		res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/profile", nil, nil)
		if want := map[bool]int{true: 401, false: 200}[pending]; res.StatusCode != want {
			t.Errorf("GET /profile as an API call (pending %v): got %d, want %d: %.100s", pending, res.StatusCode, want, body)
		}
		// GetAuth's default counts a pending session as signed in.
		if status, _ := ta.orgGetJSON(t, c, "/api/me"); status != 200 {
			t.Errorf("GET /api/me (pending %v): got %d, want 200", pending, status)
		}
		res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, page)
		assertStatus(t, "dashboard", res, body, http.StatusOK)
		_, state := ssrState(t, body)
		if want := map[bool]string{true: "pending", false: "active"}[pending]; state["sessionStatus"] != want || state["isAuthenticated"] != true {
			t.Errorf("SSR state (pending %v): got sessionStatus %v isAuthenticated %v", pending, state["sessionStatus"], state["isAuthenticated"])
		}
		_, client := ta.orgGetJSON(t, c, "/__clerk/v1/client")
		s := client["sessions"].([]any)[0].(map[string]any)
		if want := map[bool]string{true: "pending", false: "active"}[pending]; s["status"] != want {
			t.Errorf("GET /client session status (pending %v): got %v", pending, s["status"])
		}
	}
	checkPending(true)

	// Creating an organization alone does not choose it; choosing does.
	org, err := ta.App.Orgs.Create(ctx, identity.AsUser(ta.UserID(t, doraEmail)), identity.CreateOrganizationInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	ta.orgActivate(t, c, org.ID)
	if sts := ta.orgClaims(t, c)["sts"]; sts != "active" {
		t.Errorf("after choosing: got sts %v, want active", sts)
	}
	checkPending(false)
	ta.orgActivate(t, c, "")
	checkPending(true)
	// A removed membership makes the session pending again at the next refresh.
	ta.orgActivate(t, c, org.ID)
	if err := ta.App.Orgs.Delete(ctx, identity.AsUser(ta.UserID(t, doraEmail)), org.ID); err != nil {
		t.Fatal(err)
	}
	ta.dropCookie(c, "__session")
	checkPending(true)
}

// TestIntegrationImpersonation: actor tokens from an administrator start a
// session for the user with act; tickets work once, for ten minutes, and
// forged ones give nothing; actor sessions cannot impersonate further;
// start and end are logged with both ids.
func TestIntegrationImpersonation(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	ta := &testApp{harness.StartLogging(t, map[string]string{"ADMIN_EMAILS": "root@example.com"}, slog.New(slog.NewTextHandler(&logs, nil)))}
	ctx := context.Background()
	ta.CreateUser(t, "root@example.com", doraPassword, "Root", "Admin")
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	rootID, doraID := ta.UserID(t, "root@example.com"), ta.UserID(t, doraEmail)

	// Only administrators, from a session that is not impersonating.
	dora := ta.Browser(t)
	ta.SignIn(t, dora, doraEmail, doraPassword)
	_, err := ta.App.Actors.CreateAsAdmin(ctx, ta.sessionID(t, dora), rootID)
	orgWantCode(t, "dora impersonates", err, identity.CodeImpersonationRefused)
	root := ta.Browser(t)
	ta.SignIn(t, root, "root@example.com", doraPassword)
	created, err := ta.App.Actors.CreateAsAdmin(ctx, ta.sessionID(t, root), doraID)
	if err != nil {
		t.Fatalf("root impersonates dora: %v", err)
	}
	link, _ := url.Parse(created.URL)
	if link.Scheme+"://"+link.Host != ta.URL || link.Path != identity.TicketPath || link.Query().Get("token") != created.Secret {
		t.Errorf("ticket link: got %s", created.URL)
	}
	if ttl := time.Duration(created.Token.ExpiresAt-created.Token.CreatedAt) * time.Millisecond; ttl != 10*time.Minute {
		t.Errorf("actor token lifetime: got %v, want 10m", ttl)
	}

	ticket := func(c *http.Client, secret string) (*http.Response, string) {
		return harness.Do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sign_ins", strings.NewReader(`{"strategy":"ticket","ticket":"`+secret+`"}`),
			withHeaders(sameOrigin, jsonHeader))
	}
	// Used at once by several browsers: one session.
	browsers := make([]*http.Client, 5)
	codes := make([]int, len(browsers))
	var wg sync.WaitGroup
	for i := range browsers {
		browsers[i] = ta.Browser(t)
		wg.Go(func() { res, _ := ticket(browsers[i], created.Secret); codes[i] = res.StatusCode })
	}
	wg.Wait()
	var imp *http.Client
	for i, code := range codes {
		switch code {
		case http.StatusOK:
			if imp != nil {
				t.Fatalf("two browsers signed in with one ticket: %v", codes)
			}
			imp = browsers[i]
		case http.StatusUnprocessableEntity:
		default:
			t.Errorf("ticket use %d: got %d, want 200 or 422", i, code)
		}
	}
	if imp == nil {
		t.Fatalf("no browser signed in with the ticket: %v", codes)
	}
	claims := ta.orgClaims(t, imp)
	act, _ := claims["act"].(map[string]any)
	if claims["sub"] != doraID || act["sub"] != rootID {
		t.Errorf("impersonation token: got sub %v act %v, want dora on behalf of root", claims["sub"], claims["act"])
	}
	res, page := harness.Do(t, imp, http.MethodGet, ta.URL+"/dashboard", nil, map[string]string{"Accept": "text/html"})
	assertStatus(t, "dashboard while impersonating", res, page, http.StatusOK)
	if _, state := ssrState(t, page); state["userId"] != doraID || state["actor"].(map[string]any)["sub"] != rootID {
		t.Errorf("SSR state while impersonating: got userId %v actor %v", state["userId"], state["actor"])
	}

	// Replayed, forged, revoked and expired tickets give nothing.
	expiring, err := ta.App.Client.ActorTokens.Create(ctx, clerkclient.CreateActorTokenParams{UserID: doraID,
		Actor: json.RawMessage(`{"sub":"` + rootID + `"}`), ExpiresInSeconds: ptr(int64(1))})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := ta.App.Client.ActorTokens.Create(ctx, clerkclient.CreateActorTokenParams{UserID: doraID, Actor: json.RawMessage(`{"sub":"` + rootID + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.App.Client.ActorTokens.Revoke(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	for name, secret := range map[string]string{
		"replayed": created.Secret, "forged": "x" + created.Secret[1:], "revoked": revoked.Token,
		"expired": expiring.Token, "empty": "", "huge": strings.Repeat("a", 300),
	} {
		c := ta.Browser(t)
		res, body := ticket(c, secret)
		fapiError(t, name+" ticket", res, body, http.StatusUnprocessableEntity, identity.CodeActorTokenInvalid)
		assertNoAuthCookie(t, res)
	}

	// An actor session may not impersonate further or take the
	// restricted actions.
	impSID := ta.sessionID(t, imp)
	_, err = ta.App.Actors.CreateAsAdmin(ctx, impSID, rootID)
	orgWantCode(t, "impersonation session creates an actor token", err, identity.CodeImpersonationRefused)
	orgWantCode(t, "RequireNoActor on the actor session", ta.App.Identity.RequireNoActor(ctx, impSID), identity.CodeImpersonationRefused)
	if err := ta.App.Identity.RequireNoActor(ctx, ta.sessionID(t, root)); err != nil {
		t.Errorf("RequireNoActor on root's own session: %v", err)
	}

	// Ending the session ends the impersonation; both are logged.
	res, body := harness.PostForm(t, imp, ta.URL+"/sign-out", url.Values{})
	assertStatus(t, "sign-out", res, body, http.StatusSeeOther)
	for _, msg := range []string{"impersonation started", "impersonation ended"} {
		line := logs.line(msg)
		if line == "" || !strings.Contains(line, "actor_user_id="+rootID) || !strings.Contains(line, "user_id="+doraID) {
			t.Errorf("log %q: got %q, want a line with both ids", msg, line)
		}
	}
	if strings.Contains(logs.String(), created.Secret) {
		t.Error("the logs contain an actor token secret")
	}
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// line returns the first log line containing msg, or "".
func (s *syncBuffer) line(msg string) string {
	for _, l := range strings.Split(s.String(), "\n") {
		if strings.Contains(l, msg) {
			return l
		}
	}
	return ""
}

// TestImpersonateCommand: `gatehouse impersonate` prints a link that signs
// the user in on behalf of the administrator, once.
func TestImpersonateCommand(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "cli.db")
	env := map[string]string{
		"DATABASE_URL":     "sqlite:" + dbPath,
		"CLERK_SECRET_KEY": config.NewSecretKey(false), "CLERK_ENCRYPTION_KEY": config.NewEncryptionKey(),
	}
	ta := startApp(t, env)
	// The command reads the same configuration from the environment.
	env["APP_URL"] = ta.URL
	for k, v := range env {
		t.Setenv(k, v)
	}
	srvURL := ta.URL
	ta.CreateUser(t, "root@example.com", doraPassword, "Root", "Admin")
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	var out, errOut bytes.Buffer
	if code := cli.Run(context.Background(), []string{"impersonate", "--admin", "root@example.com", "--user", ta.UserID(t, doraEmail)}, &out, &errOut); code != 0 {
		t.Fatalf("impersonate: exit %d: %s", code, errOut.String())
	}
	i := strings.Index(out.String(), srvURL+identity.TicketPath+"?token=")
	if i < 0 {
		t.Fatalf("impersonate printed %q, want a ticket link", out.String())
	}
	link, _ := url.Parse(strings.TrimSpace(out.String()[i:]))
	c := ta.Browser(t)
	res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sign_ins", strings.NewReader(`{"strategy":"ticket","ticket":"`+link.Query().Get("token")+`"}`),
		withHeaders(sameOrigin, jsonHeader))
	assertStatus(t, "ticket from the CLI", res, body, http.StatusOK)
	if act, _ := ta.orgClaims(t, c)["act"].(map[string]any); act["sub"] != ta.UserID(t, "root@example.com") {
		t.Errorf("CLI ticket session: got act %v", act)
	}
	for _, args := range [][]string{{"impersonate"}, {"impersonate", "--admin", "nobody@example.com", "--user", doraEmail}} {
		out.Reset()
		errOut.Reset()
		if code := cli.Run(context.Background(), args, &out, &errOut); code == 0 {
			t.Errorf("%v: exit 0, want a failure", args)
		}
	}
}
