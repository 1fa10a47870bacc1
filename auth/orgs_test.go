package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/roles"
)

func ptr[T any](v T) *T { return &v }

// TestOrganizationsClient: the Organizations, Users and ActorTokens
// groups, their Clerk-shaped resources and typed errors.
func TestOrganizationsClient(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	orgs := s.client.Organizations
	alice := s.signIn(t, "alice@example.com")
	bob := s.signIn(t, "bob@example.com")

	org, err := orgs.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Acme Inc", Slug: ptr("acme"), CreatedBy: &alice.userID,
		PrivateMetadata: json.RawMessage(`{"secret":1}`)})
	if err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	m := decodeObject(t, org)
	wantKeys := []string{"object", "id", "name", "slug", "image_url", "has_image", "members_count", "max_allowed_memberships",
		"admin_delete_enabled", "public_metadata", "private_metadata", "created_by", "created_at", "updated_at"}
	if got := sortedKeys(m); !slices.Equal(got, sortedKeys(keysOf(wantKeys))) {
		t.Errorf("Organization keys: got %v, want %v", got, wantKeys)
	}
	if m["object"] != "organization" || m["slug"] != "acme" || m["members_count"] != float64(1) || m["created_by"] != alice.userID {
		t.Errorf("Organization: got %v", m)
	}
	if got, err := orgs.GetOrganization(ctx, "acme"); err != nil || got.ID != org.ID {
		t.Errorf("GetOrganization(slug): got %v, %v", got, err)
	}
	if _, err := orgs.GetOrganization(ctx, "org_nope"); !auth.IsNotFound(err) {
		t.Errorf("GetOrganization(unknown): got %v, want resource_not_found", err)
	}
	_, err = orgs.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "X", Slug: ptr("acme")})
	if status, code := apiCode(t, err); status != http.StatusUnprocessableEntity || code != "form_identifier_exists" {
		t.Errorf("duplicate slug: got %d %s, want 422 form_identifier_exists", status, code)
	}
	_, err = orgs.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "X", Slug: ptr("Not A Slug")})
	if e, _ := err.(*auth.APIError); e == nil || e.Code() != "form_param_format_invalid" || e.Errors[0].Meta["param_name"] != "slug" {
		t.Errorf("bad slug: got %v, want form_param_format_invalid on slug", err)
	}

	mem, err := orgs.CreateOrganizationMembership(ctx, clerkclient.CreateOrganizationMembershipParams{OrganizationID: org.ID, UserID: bob.userID})
	if err != nil || mem.Role != roles.Member {
		t.Fatalf("CreateOrganizationMembership: got %v, %v; want the default role", mem, err)
	}
	mm := decodeObject(t, mem)
	for _, k := range []string{"object", "id", "role", "role_name", "permissions", "public_metadata", "organization", "public_user_data", "created_at", "updated_at"} {
		if _, ok := mm[k]; !ok {
			t.Errorf("OrganizationMembership: missing %q in %v", k, mm)
		}
	}
	pud, _ := mm["public_user_data"].(map[string]any)
	if mm["object"] != "organization_membership" || mm["role_name"] != "Member" || pud["user_id"] != bob.userID || pud["identifier"] != "bob@example.com" {
		t.Errorf("OrganizationMembership: got %v", mm)
	}
	if perms := mem.Permissions; !slices.Equal(perms, roles.Default().Permissions(roles.Member)) {
		t.Errorf("membership permissions: got %v", perms)
	}
	list, err := orgs.GetOrganizationMembershipList(ctx, clerkclient.OrganizationMembershipListParams{OrganizationID: org.ID})
	if err != nil || list.TotalCount != 2 || len(list.Data) != 2 || list.Data[0].PublicUserData.UserID != alice.userID {
		t.Errorf("GetOrganizationMembershipList: got %+v, %v", list, err)
	}
	ulist, err := s.client.Users.GetOrganizationMembershipList(ctx, clerkclient.UserOrganizationMembershipListParams{UserID: bob.userID})
	if err != nil || ulist.TotalCount != 1 || ulist.Data[0].Organization.ID != org.ID {
		t.Errorf("Users.GetOrganizationMembershipList: got %+v, %v", ulist, err)
	}
	if _, err := s.client.Users.GetOrganizationMembershipList(ctx, clerkclient.UserOrganizationMembershipListParams{UserID: "user_nope"}); !auth.IsNotFound(err) {
		t.Errorf("memberships of an unknown user: got %v, want resource_not_found", err)
	}

	_, err = orgs.UpdateOrganizationMembership(ctx, clerkclient.UpdateOrganizationMembershipParams{OrganizationID: org.ID, UserID: alice.userID, Role: "member"})
	if status, code := apiCode(t, err); status != http.StatusConflict || code != identity.CodeLastAdmin || auth.ErrorCode(err) != code {
		t.Errorf("demote the last admin: got %d %s, want 409 %s", status, code, identity.CodeLastAdmin)
	}
	_, err = orgs.DeleteOrganizationMembership(ctx, clerkclient.DeleteOrganizationMembershipParams{OrganizationID: org.ID, UserID: alice.userID})
	if status, code := apiCode(t, err); status != http.StatusConflict || code != identity.CodeLastAdmin {
		t.Errorf("remove the last admin: got %d %s", status, code)
	}

	inv, err := orgs.CreateOrganizationInvitation(ctx, clerkclient.CreateOrganizationInvitationParams{OrganizationID: org.ID, EmailAddress: "cy@example.com", InviterUserID: alice.userID})
	if err != nil || inv.URL == nil || !strings.Contains(*inv.URL, identity.InvitationPath+"?token=") || inv.Status != "pending" || inv.Object != "organization_invitation" {
		t.Fatalf("CreateOrganizationInvitation: got %+v, %v", inv, err)
	}
	ilist, err := orgs.GetOrganizationInvitationList(ctx, clerkclient.OrganizationInvitationListParams{OrganizationID: org.ID, Status: "pending"})
	if err != nil || ilist.TotalCount != 1 || ilist.Data[0].URL != nil {
		t.Errorf("GetOrganizationInvitationList: got %+v, %v; want one, without its link", ilist, err)
	}
	if r, err := orgs.RevokeOrganizationInvitation(ctx, clerkclient.RevokeOrganizationInvitationParams{OrganizationID: org.ID, InvitationID: inv.ID}); err != nil || r.Status != "revoked" {
		t.Errorf("RevokeOrganizationInvitation: got %v, %v", r, err)
	}

	up, err := orgs.UpdateOrganizationMetadata(ctx, org.ID, clerkclient.UpdateOrganizationMetadataParams{PublicMetadata: json.RawMessage(`{"plan":"pro"}`)})
	if err != nil || string(up.PublicMetadata) != `{"plan":"pro"}` || string(up.PrivateMetadata) != `{"secret":1}` {
		t.Errorf("UpdateOrganizationMetadata: got %s %s, %v", up.PublicMetadata, up.PrivateMetadata, err)
	}
	up, err = orgs.UpdateOrganization(ctx, org.ID, clerkclient.UpdateOrganizationParams{Name: ptr("Acme Corp")})
	if err != nil || up.Name != "Acme Corp" || up.Slug != "acme" {
		t.Errorf("UpdateOrganization: got %v, %v", up, err)
	}
	olist, err := orgs.GetOrganizationList(ctx, clerkclient.OrganizationListParams{UserID: bob.userID})
	if err != nil || olist.TotalCount != 1 {
		t.Errorf("GetOrganizationList(bob): got %+v, %v", olist, err)
	}

	// Actor tokens.
	tok, err := s.client.ActorTokens.Create(ctx, clerkclient.CreateActorTokenParams{UserID: bob.userID, Actor: json.RawMessage(`{"sub":"` + alice.userID + `"}`)})
	if err != nil || tok.Status != "pending" || tok.Token == "" || !strings.Contains(tok.URL, identity.TicketPath+"?token=") || tok.Object != "actor_token" {
		t.Fatalf("ActorTokens.Create: got %+v, %v", tok, err)
	}
	if u, _ := url.Parse(tok.URL); u.Query().Get("token") != tok.Token {
		t.Errorf("ticket link %q does not carry the token", tok.URL)
	}
	for _, p := range []clerkclient.CreateActorTokenParams{
		{UserID: bob.userID, Actor: json.RawMessage(`{}`)},
		{UserID: bob.userID, Actor: json.RawMessage(`{"sub":"` + bob.userID + `"}`)},
		{UserID: bob.userID, Actor: json.RawMessage(`{"sub":"` + alice.userID + `"}`), ExpiresInSeconds: ptr(int64(3600))},
	} {
		if _, err := s.client.ActorTokens.Create(ctx, p); auth.ErrorCode(err) != "form_param_format_invalid" {
			t.Errorf("ActorTokens.Create(%s, %s): got %v, want form_param_format_invalid", p.UserID, p.Actor, err)
		}
	}
	if r, err := s.client.ActorTokens.Revoke(ctx, tok.ID); err != nil || r.Status != "revoked" || r.Token != "" {
		t.Errorf("ActorTokens.Revoke: got %+v, %v", r, err)
	}
	if _, err := s.client.ActorTokens.Revoke(ctx, tok.ID); auth.ErrorCode(err) != identity.CodeActorTokenNotPending {
		t.Errorf("revoke twice: got %v", err)
	}

	if d, err := orgs.DeleteOrganization(ctx, org.ID); err != nil || !d.Deleted || d.Object != "organization" {
		t.Errorf("DeleteOrganization: got %v, %v", d, err)
	}
}

func keysOf(ks []string) map[string]any {
	m := map[string]any{}
	for _, k := range ks {
		m[k] = nil
	}
	return m
}

// TestHasWithOrganizationTokens: Has decides from real session tokens
// minted with an active organization, as 02 §7 says.
func TestHasWithOrganizationTokens(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	alice := s.signIn(t, "alice@example.com")
	bob := s.signIn(t, "bob@example.com")
	org, err := s.client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Acme", CreatedBy: &alice.userID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.Organizations.CreateOrganizationMembership(ctx, clerkclient.CreateOrganizationMembershipParams{OrganizationID: org.ID, UserID: bob.userID, Role: "org:member"}); err != nil {
		t.Fatal(err)
	}
	authFor := func(sess session, orgID string) *auth.Auth {
		res, err := s.ids.SetActiveOrganization(ctx, sess.clientCookie, sess.sessionID, orgID, "")
		if err != nil {
			t.Fatalf("SetActiveOrganization(%q): %v", orgID, err)
		}
		a, _ := s.getAuth(t, newReq("/", withCookie(identity.SessionCookie, res.Token)))
		return a
	}
	a := authFor(alice, org.ID)
	if a.OrgID != org.ID || a.OrgRole != "org:admin" || a.OrgSlug != "acme" || !sameStrings(a.OrgPermissions, roles.Default().Permissions(roles.Admin)) {
		t.Fatalf("alice's auth: got org %q role %q slug %q perms %v", a.OrgID, a.OrgRole, a.OrgSlug, a.OrgPermissions)
	}
	b := authFor(bob, "acme") // by slug
	personal := authFor(alice, "")
	if personal.OrgID != "" || personal.OrgPermissions != nil {
		t.Fatalf("personal account: got org %q perms %v", personal.OrgID, personal.OrgPermissions)
	}
	cases := []struct {
		name  string
		a     *auth.Auth
		p     auth.HasParams
		allow bool
	}{
		{"admin role", a, auth.HasParams{Role: "org:admin"}, true},
		{"admin role without prefix", a, auth.HasParams{Role: "admin"}, true},
		{"admin is not member", a, auth.HasParams{Role: "member"}, false},
		{"admin manages the team", a, auth.HasParams{Permission: "org:team:manage"}, true},
		{"system permission", a, auth.HasParams{Permission: "org:sys_profile:delete"}, true},
		{"permission without prefix", a, auth.HasParams{Permission: "team:manage"}, true},
		{"unknown permission", a, auth.HasParams{Permission: "org:billing:read"}, false},
		{"a missing permission with a matching role", a, auth.HasParams{Role: "admin", Permission: "org:billing:read"}, false},
		{"a held permission with a wrong role (both must hold)", b, auth.HasParams{Role: "admin", Permission: "org:team:read"}, false},
		{"empty params", a, auth.HasParams{}, false},
		{"member role", b, auth.HasParams{Role: "org:member"}, true},
		{"member cannot manage the team", b, auth.HasParams{Permission: "org:team:manage"}, false},
		{"member reads the team", b, auth.HasParams{Permission: "org:team:read"}, true},
		{"member cannot manage members", b, auth.HasParams{Permission: "org:sys_memberships:manage"}, false},
		{"no active organization: role", personal, auth.HasParams{Role: "admin"}, false},
		{"no active organization: permission", personal, auth.HasParams{Permission: "org:team:read"}, false},
	}
	for _, tc := range cases {
		if got := tc.a.Has(tc.p); got != tc.allow {
			t.Errorf("%s: Has(%+v) got %v, want %v", tc.name, tc.p, got, tc.allow)
		}
	}

	// Only organizations the user belongs to.
	carol := s.signIn(t, "carol@example.com")
	_, err = s.ids.SetActiveOrganization(ctx, carol.clientCookie, carol.sessionID, org.ID, "")
	if e, ok := identity.AsError(err); !ok || e.Status != http.StatusNotFound || e.Code != "resource_not_found" {
		t.Errorf("carol activates acme: got %v, want 404 resource_not_found", err)
	}
	_, err = s.ids.SetActiveOrganization(ctx, carol.clientCookie, alice.sessionID, "", "")
	if e, ok := identity.AsError(err); !ok || e.Status != http.StatusNotFound {
		t.Errorf("carol's browser touches alice's session: got %v, want 404", err)
	}
}

func sameStrings(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestPendingSessionsWithRealTokens: with organizations required, a
// session without an active organization mints sts "pending" tokens;
// GetAuth signs it in by default and out with TreatPendingAsSignedOut(true)
// (keeping the status); Protect sends pages to the task page and APIs get
// 401; choosing an organization makes the session active.
func TestPendingSessionsWithRealTokens(t *testing.T) {
	s := newStackWith(t, func(c *identity.Config) { c.OrganizationsRequired = true })
	ctx := context.Background()
	sess := s.signIn(t, "pending@example.com")
	if _, claims := decodeToken(t, sess.token); claims["sts"] != "pending" {
		t.Fatalf("first token: got sts %v, want pending", claims["sts"])
	}
	check := func(tok, wantStatus string) {
		t.Helper()
		r := func() *http.Request { return newReq("/", withCookie(identity.SessionCookie, tok)) }
		a, _ := s.getAuth(t, r())
		if !a.IsAuthenticated || a.SessionStatus != wantStatus {
			t.Errorf("default GetAuth: got signed in %v, status %q; want signed in, %s", a.IsAuthenticated, a.SessionStatus, wantStatus)
		}
		a, _ = s.getAuth(t, r(), auth.TreatPendingAsSignedOut(true))
		if a.IsAuthenticated != (wantStatus == "active") || a.SessionStatus != wantStatus {
			t.Errorf("TreatPendingAsSignedOut(true): got signed in %v, status %q; want %v, %s", a.IsAuthenticated, a.SessionStatus, wantStatus == "active", wantStatus)
		}
		page := r()
		page.Header.Set("Accept", "text/html")
		rec := serve(s.opts, page, auth.Protect()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP)
		api := serve(s.opts, r(), auth.Protect()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP)
		if wantStatus == "pending" {
			if rec.Code != http.StatusTemporaryRedirect || rec.Header().Get("Location") != auth.PendingTaskURL {
				t.Errorf("Protect, page: got %d to %q, want 307 to %s", rec.Code, rec.Header().Get("Location"), auth.PendingTaskURL)
			}
			if api.Code != http.StatusUnauthorized {
				t.Errorf("Protect, API: got %d, want 401", api.Code)
			}
		} else if rec.Code != http.StatusOK || api.Code != http.StatusOK {
			t.Errorf("Protect for an active session: got page %d, API %d; want 200, 200", rec.Code, api.Code)
		}
	}
	check(sess.token, "pending")

	org, err := s.client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Acme", CreatedBy: &sess.userID})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.ids.SetActiveOrganization(ctx, sess.clientCookie, sess.sessionID, org.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Claims.Status != "active" || res.Session.Status != "active" {
		t.Errorf("after choosing: got sts %q, session %q; want active", res.Claims.Status, res.Session.Status)
	}
	check(res.Token, "active")
	res, err = s.ids.SetActiveOrganization(ctx, sess.clientCookie, sess.sessionID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	check(res.Token, "pending")
}

func decodeToken(t *testing.T, tok string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	var h, c map[string]any
	for i, dst := range []*map[string]any{&h, &c} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, dst) != nil {
			t.Fatalf("token part %d is not base64url JSON", i)
		}
	}
	return h, c
}
