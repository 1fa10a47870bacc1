package e2e

// clerk-sdk-go v2.4.2 against the HTTP Backend API: a Go service that
// uses Clerk's own Go SDK with BackendConfig.URL pointed at the app.

import (
	"cmp"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/clerk/clerk-sdk-go/v2"
	"github.com/clerk/clerk-sdk-go/v2/jwks"
	"github.com/clerk/clerk-sdk-go/v2/jwt"
	"github.com/clerk/clerk-sdk-go/v2/jwttemplate"
	"github.com/clerk/clerk-sdk-go/v2/m2m_token"
	"github.com/clerk/clerk-sdk-go/v2/machine"
	"github.com/clerk/clerk-sdk-go/v2/machinescope"
	"github.com/clerk/clerk-sdk-go/v2/organization"
	"github.com/clerk/clerk-sdk-go/v2/organizationinvitation"
	"github.com/clerk/clerk-sdk-go/v2/organizationmembership"
	"github.com/clerk/clerk-sdk-go/v2/session"
	"github.com/clerk/clerk-sdk-go/v2/user"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
)

// goSDKOK fails the test on an error where the SDK call must succeed,
// with the Backend API's error envelope when there is one.
func goSDKOK(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if e, ok := errors.AsType[*clerk.APIErrorResponse](err); ok {
		t.Fatalf("%s: got *clerk.APIErrorResponse %d %s (trace %q), want success", what, e.HTTPStatusCode, goSDKErrors(e), e.TraceID)
	}
	t.Fatalf("%s: got %v, want success", what, err)
}

// goSDKRefused checks that err is a *clerk.APIErrorResponse with the
// status (any 4xx when status is 0) and code (any when "") and a trace id.
func goSDKRefused(t *testing.T, what string, err error, status int, code string) *clerk.APIErrorResponse {
	t.Helper()
	e, ok := errors.AsType[*clerk.APIErrorResponse](err)
	if !ok {
		t.Fatalf("%s: got %v, want a *clerk.APIErrorResponse", what, err)
	}
	if status == 0 && (e.HTTPStatusCode < 400 || e.HTTPStatusCode >= 500) || status != 0 && e.HTTPStatusCode != status {
		t.Errorf("%s: got status %d %s, want %s", what, e.HTTPStatusCode, goSDKErrors(e), cmpStatus(status))
	}
	if len(e.Errors) == 0 || e.Errors[0].Code == "" || code != "" && e.Errors[0].Code != code {
		t.Errorf("%s: got errors %s, want code %s", what, goSDKErrors(e), cmp.Or(code, "a code"))
	}
	if e.TraceID == "" {
		t.Errorf("%s: got no trace id, want clerk_trace_id", what)
	}
	return e
}

func cmpStatus(s int) string {
	if s == 0 {
		return "a 4xx"
	}
	return fmt.Sprint(s)
}

func goSDKErrors(e *clerk.APIErrorResponse) string {
	var parts []string
	for _, x := range e.Errors {
		parts = append(parts, x.Code+": "+x.LongMessage)
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// sameJSON compares two JSON documents by value.
func sameJSON(t *testing.T, got json.RawMessage, want string) bool {
	t.Helper()
	var a, b any
	if err := json.Unmarshal(got, &a); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(want), &b); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(a, b)
}

func derefStr(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestBackendAPIWithClerkGoSDK: clerk-sdk-go v2.4.2, with its backend URL
// set to the app's /v1 and the instance secret key, decodes every answer
// into its typed resources — users (create, get, update, the metadata
// merge, list with /users/count, ban, lock, delete), organizations by id
// and slug with members_count, memberships and invitations, sessions
// (list, get, tokens, revoke), JWT templates and M2M tokens with machine
// keys — and jwt.Verify accepts a session token with a key from the
// app's JWKS. Every answer it received keeps the wire rules.
func TestBackendAPIWithClerkGoSDK(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	rec := newBAPIRecorder(t, ta.URL)
	config := func(key string) *clerk.ClientConfig {
		return &clerk.ClientConfig{BackendConfig: clerk.BackendConfig{URL: ptr(rec.URL + "/v1"), Key: ptr(key)}}
	}
	secret := ta.Cfg.SecretKey
	users := user.NewClient(config(secret))
	orgs := organization.NewClient(config(secret))
	memberships := organizationmembership.NewClient(config(secret))
	invitations := organizationinvitation.NewClient(config(secret))
	sessions := session.NewClient(config(secret))
	templates := jwttemplate.NewClient(config(secret))
	keys := jwks.NewClient(config(secret))

	// The oldest user, with a session signed in through the form; then ten
	// more, so that the oldest is beyond the first page (limit 10).
	dora := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.Browser(t)
	ta.SignIn(t, c, doraEmail, doraPassword)
	sid := ta.sessionID(t, c)
	member := ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Test")
	for i := range 9 {
		if _, err := ta.App.Client.Users.CreateUser(ctx, clerkclient.CreateUserParams{EmailAddress: []string{fmt.Sprintf("filler%d@example.com", i)}}); err != nil {
			t.Fatal(err)
		}
	}

	const email, password = "gail@example.com", "go sdk passphrase 42"
	var u *clerk.User
	t.Run("user.Create", func(t *testing.T) {
		var err error
		u, err = users.Create(ctx, &user.CreateParams{EmailAddresses: &[]string{email}, Password: ptr(password),
			FirstName: ptr("Gail"), LastName: ptr("Go"), PublicMetadata: clerk.JSONRawMessage(json.RawMessage(`{"plan":"pro","n":{"x":1}}`)),
			PrivateMetadata: clerk.JSONRawMessage(json.RawMessage(`{"crm":7}`))})
		goSDKOK(t, "user.Create", err)
		if u.Object != "user" || !strings.HasPrefix(u.ID, "user_") || derefStr(u.FirstName) != "Gail" || derefStr(u.LastName) != "Go" {
			t.Errorf("user: got object %q id %q names %s %s, want a user_… Gail Go", u.Object, u.ID, derefStr(u.FirstName), derefStr(u.LastName))
		}
		if len(u.EmailAddresses) != 1 || u.EmailAddresses[0].EmailAddress != email || derefStr(u.PrimaryEmailAddressID) != u.EmailAddresses[0].ID {
			t.Errorf("email addresses: got %+v primary %s, want %s as the primary", u.EmailAddresses, derefStr(u.PrimaryEmailAddressID), email)
		} else if v := u.EmailAddresses[0].Verification; v == nil || v.Status != "verified" {
			t.Errorf("email verification: got %+v, want verified", v)
		}
		if !sameJSON(t, u.PublicMetadata, `{"plan":"pro","n":{"x":1}}`) || !sameJSON(t, u.PrivateMetadata, `{"crm":7}`) {
			t.Errorf("metadata: got public %s private %s", u.PublicMetadata, u.PrivateMetadata)
		}
		if !u.PasswordEnabled || u.Banned || u.Locked || u.CreatedAt < 1e12 || u.CreatedAt >= 1e13 {
			t.Errorf("user: got password_enabled %v banned %v locked %v created_at %d, want a password, not banned or locked, ms", u.PasswordEnabled, u.Banned, u.Locked, u.CreatedAt)
		}
	})
	if u == nil || u.ID == "" {
		t.Fatal("no user from user.Create; the rest depends on it")
	}

	t.Run("user.Get", func(t *testing.T) {
		got, err := users.Get(ctx, u.ID)
		goSDKOK(t, "user.Get", err)
		if got.ID != u.ID || derefStr(got.FirstName) != "Gail" || len(got.EmailAddresses) != 1 {
			t.Errorf("user.Get: got %s %s %d addresses, want %s Gail 1", got.ID, derefStr(got.FirstName), len(got.EmailAddresses), u.ID)
		}
	})

	t.Run("user.Update", func(t *testing.T) {
		got, err := users.Update(ctx, u.ID, &user.UpdateParams{FirstName: ptr("Gale")})
		goSDKOK(t, "user.Update", err)
		if derefStr(got.FirstName) != "Gale" || derefStr(got.LastName) != "Go" {
			t.Errorf("user.Update: got %s %s, want Gale Go", derefStr(got.FirstName), derefStr(got.LastName))
		}
	})

	t.Run("user.UpdateMetadata merges, null deletes", func(t *testing.T) {
		for _, step := range []struct{ patch, want string }{
			{`{"a":1}`, `{"plan":"pro","n":{"x":1},"a":1}`},
			{`{"plan":null,"n":{"y":2}}`, `{"n":{"x":1,"y":2},"a":1}`},
		} {
			got, err := users.UpdateMetadata(ctx, u.ID, &user.UpdateMetadataParams{PublicMetadata: clerk.JSONRawMessage(json.RawMessage(step.patch))})
			goSDKOK(t, "user.UpdateMetadata "+step.patch, err)
			if !sameJSON(t, got.PublicMetadata, step.want) {
				t.Errorf("after %s: got public_metadata %s, want %s", step.patch, got.PublicMetadata, step.want)
			}
		}
	})

	t.Run("user.List by email_address calls /users and /users/count", func(t *testing.T) {
		list, err := users.List(ctx, &user.ListParams{EmailAddresses: []string{email, "nobody@example.com"}})
		goSDKOK(t, "user.List", err)
		if len(list.Users) != 1 || list.Users[0].ID != u.ID || list.TotalCount != 1 {
			t.Errorf("user.List: got %d users, total %d, want %s and 1", len(list.Users), list.TotalCount, u.ID)
		}
		if !rec.Saw("GET", "/v1/users") || !rec.Saw("GET", "/v1/users/count") {
			t.Errorf("the proxy saw no GET /v1/users and /v1/users/count")
		}
	})

	t.Run("user.List with a limit is newest first, total over all pages", func(t *testing.T) {
		list, err := users.List(ctx, &user.ListParams{ListParams: clerk.ListParams{Limit: clerk.Int64(2)}})
		goSDKOK(t, "user.List", err)
		if len(list.Users) != 2 || list.Users[0].ID != u.ID || list.TotalCount != 12 {
			t.Errorf("user.List limit 2: got %d users (first %v), total %d, want 2 (first %s) and 12", len(list.Users), firstID(list.Users), list.TotalCount, u.ID)
		}
	})

	t.Run("user.List by user_id finds a user beyond the first page", func(t *testing.T) {
		list, err := users.List(ctx, &user.ListParams{UserIDs: []string{dora.ID}})
		goSDKOK(t, "user.List", err)
		if len(list.Users) != 1 || list.Users[0].ID != dora.ID {
			t.Errorf("user.List user_id=%s (the oldest of 12): got %d users %v, want that user", dora.ID, len(list.Users), firstID(list.Users))
		}
		if list.TotalCount != 1 {
			t.Errorf("user.List user_id: got total_count %d (GET /users/count), want 1", list.TotalCount)
		}
	})

	t.Run("user.Count", func(t *testing.T) {
		n, err := users.Count(ctx, &user.ListParams{EmailAddresses: []string{email}})
		goSDKOK(t, "user.Count", err)
		if n.TotalCount != 1 || n.Object != "total_count" {
			t.Errorf("user.Count: got %+v, want total_count 1", n)
		}
	})

	t.Run("user.Create with a taken address", func(t *testing.T) {
		_, err := users.Create(ctx, &user.CreateParams{EmailAddresses: &[]string{email}, Password: ptr("another go passphrase")})
		goSDKRefused(t, "user.Create duplicate", err, 422, "form_identifier_exists")
	})

	t.Run("user.Create with external_id and a bcrypt password_digest", func(t *testing.T) {
		const imported = "a go passphrase hashed elsewhere"
		ext := "go-ext-1"
		nu, err := users.Create(ctx, &user.CreateParams{EmailAddresses: &[]string{"digest.go@example.com"}, ExternalID: &ext,
			PasswordDigest: ptr(bcryptDigest(t, imported)), PasswordHasher: ptr("bcrypt")})
		goSDKOK(t, "user.Create with password_digest", err)
		if nu.ExternalID == nil || *nu.ExternalID != ext || !nu.PasswordEnabled {
			t.Errorf("user.Create: got external_id %v, password_enabled %v; want %s and true", nu.ExternalID, nu.PasswordEnabled, ext)
		}
		list, err := users.List(ctx, &user.ListParams{ExternalIDs: []string{ext}})
		goSDKOK(t, "user.List by external_id", err)
		if len(list.Users) != 1 || list.Users[0].ID != nu.ID || list.TotalCount != 1 {
			t.Errorf("user.List external_id=%s: got %v (total %d), want %s", ext, firstID(list.Users), list.TotalCount, nu.ID)
		}
		v, err := users.VerifyPassword(ctx, &user.VerifyPasswordParams{UserID: nu.ID, Password: imported})
		goSDKOK(t, "user.VerifyPassword of a digest", err)
		if v == nil || !v.Verified {
			t.Errorf("user.VerifyPassword of the digest's password: got %+v, want verified", v)
		}
		_, err = users.Create(ctx, &user.CreateParams{EmailAddresses: &[]string{"digest2.go@example.com"}, ExternalID: &ext, Password: ptr(imported)})
		goSDKRefused(t, "user.Create with a taken external_id", err, 422, "form_identifier_exists")
		if _, err := users.Delete(ctx, nu.ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("user.VerifyPassword", func(t *testing.T) {
		v, err := users.VerifyPassword(ctx, &user.VerifyPasswordParams{UserID: u.ID, Password: password})
		goSDKOK(t, "user.VerifyPassword", err)
		if !v.Verified {
			t.Errorf("user.VerifyPassword: got verified false, want true")
		}
	})

	t.Run("user.Ban, Unban, Lock, Unlock", func(t *testing.T) {
		for _, step := range []struct {
			name   string
			fn     func(context.Context, string) (*clerk.User, error)
			banned bool
			locked bool
		}{{"Ban", users.Ban, true, false}, {"Unban", users.Unban, false, false}, {"Lock", users.Lock, false, true}, {"Unlock", users.Unlock, false, false}} {
			got, err := step.fn(ctx, u.ID)
			goSDKOK(t, "user."+step.name, err)
			if got.ID != u.ID || got.Banned != step.banned || got.Locked != step.locked {
				t.Errorf("user.%s: got %s banned %v locked %v, want banned %v locked %v", step.name, got.ID, got.Banned, got.Locked, step.banned, step.locked)
			}
		}
	})

	// Organizations: Gail creates one, Evan joins it.
	slug := "go-sdk-org"
	var org *clerk.Organization
	t.Run("organization.Create", func(t *testing.T) {
		var err error
		org, err = orgs.Create(ctx, &organization.CreateParams{Name: ptr("Go SDK Org"), Slug: ptr(slug), CreatedBy: ptr(u.ID),
			PublicMetadata: clerk.JSONRawMessage(json.RawMessage(`{"tier":"free"}`))})
		goSDKOK(t, "organization.Create", err)
		if org.Object != "organization" || !strings.HasPrefix(org.ID, "org_") || org.Name != "Go SDK Org" || org.Slug != slug || org.CreatedBy != u.ID {
			t.Errorf("organization: got %+v, want org_… Go SDK Org %s created by %s", org, slug, u.ID)
		}
		if !sameJSON(t, org.PublicMetadata, `{"tier":"free"}`) {
			t.Errorf("public_metadata: got %s", org.PublicMetadata)
		}
	})
	if org == nil || org.ID == "" {
		t.Fatal("no organization from organization.Create; the rest depends on it")
	}

	t.Run("organization.GetWithParams by slug with members_count", func(t *testing.T) {
		got, err := orgs.GetWithParams(ctx, slug, &organization.GetParams{IncludeMembersCount: clerk.Bool(true)})
		goSDKOK(t, "organization.GetWithParams", err)
		if got.ID != org.ID || got.MembersCount == nil || *got.MembersCount != 1 {
			t.Errorf("organization %s: got id %s members_count %v, want %s and 1", slug, got.ID, got.MembersCount, org.ID)
		}
	})

	t.Run("organization.Get by id", func(t *testing.T) {
		got, err := orgs.Get(ctx, org.ID)
		goSDKOK(t, "organization.Get", err)
		if got.Slug != slug || got.Name != "Go SDK Org" {
			t.Errorf("organization.Get: got %s %s, want %s", got.Slug, got.Name, slug)
		}
	})

	t.Run("organization.List", func(t *testing.T) {
		list, err := orgs.List(ctx, &organization.ListParams{Query: ptr(slug)})
		goSDKOK(t, "organization.List", err)
		if list.TotalCount != 1 || len(list.Organizations) != 1 || list.Organizations[0].ID != org.ID {
			t.Errorf("organization.List: got %d (total %d), want %s", len(list.Organizations), list.TotalCount, org.ID)
		}
	})

	t.Run("organization.Update and UpdateMetadata", func(t *testing.T) {
		got, err := orgs.Update(ctx, org.ID, &organization.UpdateParams{Name: ptr("Go SDK Org Renamed")})
		goSDKOK(t, "organization.Update", err)
		if got.Name != "Go SDK Org Renamed" {
			t.Errorf("organization.Update: got name %q", got.Name)
		}
		got, err = orgs.UpdateMetadata(ctx, org.ID, &organization.UpdateMetadataParams{PublicMetadata: clerk.JSONRawMessage(json.RawMessage(`{"seats":3}`))})
		goSDKOK(t, "organization.UpdateMetadata", err)
		if !sameJSON(t, got.PublicMetadata, `{"tier":"free","seats":3}`) {
			t.Errorf("organization.UpdateMetadata: got %s, want the merge", got.PublicMetadata)
		}
	})

	t.Run("organizationmembership.Create", func(t *testing.T) {
		m, err := memberships.Create(ctx, &organizationmembership.CreateParams{OrganizationID: org.ID, UserID: ptr(member.ID), Role: ptr("org:member")})
		goSDKOK(t, "organizationmembership.Create", err)
		if m.Object != "organization_membership" || !strings.HasPrefix(m.ID, "orgmem_") || m.Role != "org:member" || len(m.Permissions) == 0 {
			t.Errorf("membership: got %+v, want an orgmem_… org:member with permissions", m)
		}
		if m.Organization == nil || m.Organization.ID != org.ID || m.PublicUserData == nil || m.PublicUserData.UserID != member.ID ||
			m.PublicUserData.Identifier != evanEmail || derefStr(m.PublicUserData.FirstName) != "Evan" {
			t.Errorf("membership: got organization %+v public_user_data %+v, want %s and %s (%s)", m.Organization, m.PublicUserData, org.ID, member.ID, evanEmail)
		}
	})

	t.Run("organizationmembership.List", func(t *testing.T) {
		list, err := memberships.List(ctx, &organizationmembership.ListParams{OrganizationID: org.ID})
		goSDKOK(t, "organizationmembership.List", err)
		roles := map[string]string{}
		for _, m := range list.OrganizationMemberships {
			if m.PublicUserData != nil {
				roles[m.PublicUserData.UserID] = m.Role
			}
		}
		if list.TotalCount != 2 || roles[u.ID] != "org:admin" || roles[member.ID] != "org:member" {
			t.Errorf("memberships: got total %d roles %v, want 2 with %s admin and %s member", list.TotalCount, roles, u.ID, member.ID)
		}
	})

	t.Run("user.ListOrganizationMemberships", func(t *testing.T) {
		list, err := users.ListOrganizationMemberships(ctx, member.ID, &user.ListOrganizationMembershipsParams{})
		goSDKOK(t, "user.ListOrganizationMemberships", err)
		if list.TotalCount != 1 || len(list.OrganizationMemberships) != 1 || list.OrganizationMemberships[0].Organization == nil ||
			list.OrganizationMemberships[0].Organization.ID != org.ID {
			t.Errorf("user.ListOrganizationMemberships: got total %d, want 1 in %s", list.TotalCount, org.ID)
		}
	})

	t.Run("organizationmembership.Update and Delete, not the last admin", func(t *testing.T) {
		m, err := memberships.Update(ctx, &organizationmembership.UpdateParams{OrganizationID: org.ID, UserID: member.ID, Role: ptr("org:admin")})
		goSDKOK(t, "organizationmembership.Update", err)
		if m.Role != "org:admin" {
			t.Errorf("organizationmembership.Update: got role %s, want org:admin", m.Role)
		}
		m, err = memberships.Delete(ctx, &organizationmembership.DeleteParams{OrganizationID: org.ID, UserID: member.ID})
		goSDKOK(t, "organizationmembership.Delete", err)
		if m.PublicUserData == nil || m.PublicUserData.UserID != member.ID {
			t.Errorf("organizationmembership.Delete: got %+v, want the deleted membership of %s", m, member.ID)
		}
		_, err = memberships.Delete(ctx, &organizationmembership.DeleteParams{OrganizationID: org.ID, UserID: u.ID})
		goSDKRefused(t, "organizationmembership.Delete of the last admin", err, 0, "")
		got, err := orgs.GetWithParams(ctx, org.ID, &organization.GetParams{IncludeMembersCount: clerk.Bool(true)})
		goSDKOK(t, "organization.GetWithParams", err)
		if got.MembersCount == nil || *got.MembersCount != 1 {
			t.Errorf("members_count after the changes: got %v, want 1", got.MembersCount)
		}
	})

	t.Run("organizationinvitation.Create, List, Revoke", func(t *testing.T) {
		inv, err := invitations.Create(ctx, &organizationinvitation.CreateParams{OrganizationID: org.ID, EmailAddress: ptr("ivy@example.com"),
			Role: ptr("org:member"), InviterUserID: ptr(u.ID)})
		goSDKOK(t, "organizationinvitation.Create", err)
		if !strings.HasPrefix(inv.ID, "orginv_") || inv.Status != "pending" || inv.EmailAddress != "ivy@example.com" || inv.OrganizationID != org.ID {
			t.Errorf("invitation: got %+v, want a pending orginv_… for ivy@example.com in %s", inv, org.ID)
		}
		list, err := invitations.List(ctx, &organizationinvitation.ListParams{OrganizationID: org.ID, Statuses: &[]string{"pending"}})
		goSDKOK(t, "organizationinvitation.List", err)
		if list.TotalCount != 1 || len(list.OrganizationInvitations) != 1 || list.OrganizationInvitations[0].ID != inv.ID {
			t.Errorf("invitations: got total %d, want %s", list.TotalCount, inv.ID)
		}
		got, err := invitations.Revoke(ctx, &organizationinvitation.RevokeParams{OrganizationID: org.ID, ID: inv.ID, RequestingUserID: ptr(u.ID)})
		goSDKOK(t, "organizationinvitation.Revoke", err)
		if got.Status != "revoked" {
			t.Errorf("organizationinvitation.Revoke: got status %s, want revoked", got.Status)
		}
	})

	t.Run("organization.Delete", func(t *testing.T) {
		d, err := orgs.Delete(ctx, org.ID)
		goSDKOK(t, "organization.Delete", err)
		if !d.Deleted || d.ID != org.ID || d.Object != "organization" {
			t.Errorf("organization.Delete: got %+v, want deleted organization %s", d, org.ID)
		}
	})

	// Sessions: Dora's, signed in through the form.
	t.Run("session.List and Get", func(t *testing.T) {
		list, err := sessions.List(ctx, &session.ListParams{UserID: ptr(dora.ID)})
		goSDKOK(t, "session.List", err)
		found := false
		for _, s := range list.Sessions {
			found = found || s.ID == sid
			if s.UserID != dora.ID {
				t.Errorf("session.List user_id=%s: got a session of %s", dora.ID, s.UserID)
			}
		}
		if !found || list.TotalCount != int64(len(list.Sessions)) {
			t.Errorf("session.List: got %d sessions (total %d) without or with %s, want it", len(list.Sessions), list.TotalCount, sid)
		}
		s, err := sessions.Get(ctx, sid)
		goSDKOK(t, "session.Get", err)
		if s.ID != sid || s.UserID != dora.ID || s.Status != "active" || !strings.HasPrefix(s.ClientID, "client_") || s.ExpireAt < 1e12 {
			t.Errorf("session.Get: got %+v, want %s of %s, active", s, sid, dora.ID)
		}
	})

	var jwtTok string
	t.Run("session.CreateToken, verified by jwt.Verify with the app's JWKS", func(t *testing.T) {
		tok, err := sessions.CreateToken(ctx, &session.CreateTokenParams{ID: sid})
		goSDKOK(t, "session.CreateToken", err)
		if tok.Object != "token" || strings.Count(tok.JWT, ".") != 2 {
			t.Fatalf("session.CreateToken: got %+v, want a token with a JWT", tok)
		}
		jwtTok = tok.JWT
		set, err := keys.Get(ctx, &jwks.GetParams{})
		goSDKOK(t, "jwks.Get", err)
		header, _ := jwtParts(t, jwtTok)
		var key *clerk.JSONWebKey
		for _, k := range set.Keys {
			if k.KeyID == header["kid"] {
				key = k
			}
		}
		if key == nil {
			t.Fatalf("jwks.Get: got no key with the token's kid %v in %d keys", header["kid"], len(set.Keys))
		}
		if _, ok := key.Key.(*rsa.PublicKey); !ok || key.Algorithm != "RS256" || key.Use != "sig" {
			t.Errorf("JWK: got %T alg %s use %s, want an RSA public key, RS256, sig", key.Key, key.Algorithm, key.Use)
		}
		// The Go SDK refuses an issuer that is not Clerk's unless ProxyURL
		// names it.
		claims, err := jwt.Verify(ctx, &jwt.VerifyParams{Token: jwtTok, JWK: key, ProxyURL: ptr(ta.URL)})
		if err != nil {
			t.Fatalf("jwt.Verify with the JWKS key: %v", err)
		}
		if claims.Subject != dora.ID || claims.SessionID != sid || claims.Version != 2 && claims.Version != 1 {
			t.Errorf("claims: got sub %s sid %s v %d, want %s %s", claims.Subject, claims.SessionID, claims.Version, dora.ID, sid)
		}
		claims, err = jwt.Verify(ctx, &jwt.VerifyParams{Token: jwtTok, JWKSClient: keys, ProxyURL: ptr(ta.URL)})
		if err != nil || claims.Subject != dora.ID {
			t.Errorf("jwt.Verify fetching /v1/jwks: got %v (%v), want %s", claims, err, dora.ID)
		}
	})

	t.Run("session.CreateToken with a template", func(t *testing.T) {
		if _, err := ta.App.Client.JwtTemplates.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: "go-interop",
			Claims: json.RawMessage(`{"uid":"{{user.id}}"}`)}); err != nil {
			t.Fatal(err)
		}
		tok, err := sessions.CreateToken(ctx, &session.CreateTokenParams{ID: sid, TemplateName: "go-interop"})
		goSDKOK(t, "session.CreateToken (POST /v1/sessions/{id}/tokens/{template})", err)
		if _, claims := jwtParts(t, tok.JWT); claims["uid"] != dora.ID {
			t.Errorf("template token: got claims %v, want uid %s", claims, dora.ID)
		}
	})

	t.Run("session.Create", func(t *testing.T) {
		s, err := sessions.Create(ctx, &session.CreateParams{UserID: member.ID})
		goSDKOK(t, "session.Create (POST /v1/sessions)", err)
		if s.UserID != member.ID || s.Status != "active" {
			t.Errorf("session.Create: got %+v, want an active session of %s", s, member.ID)
		}
	})

	t.Run("session.Revoke, then no token", func(t *testing.T) {
		s, err := sessions.Revoke(ctx, &session.RevokeParams{ID: sid})
		goSDKOK(t, "session.Revoke", err)
		if s.ID != sid || s.Status != "revoked" {
			t.Errorf("session.Revoke: got %s %s, want %s revoked", s.ID, s.Status, sid)
		}
		_, err = sessions.CreateToken(ctx, &session.CreateTokenParams{ID: sid})
		goSDKRefused(t, "session.CreateToken of a revoked session", err, 404, "resource_not_found")
	})

	t.Run("jwttemplate.Create, List, Get, Update, Delete", func(t *testing.T) {
		tpl, err := templates.Create(ctx, &jwttemplate.CreateParams{Name: ptr("go-sdk"), Claims: json.RawMessage(`{"uid":"{{user.id}}","aud":"go"}`),
			Lifetime: clerk.Int64(90), AllowedClockSkew: clerk.Int64(3)})
		goSDKOK(t, "jwttemplate.Create", err)
		if tpl.Object != "jwt_template" || !strings.HasPrefix(tpl.ID, "jtmp_") || tpl.Name != "go-sdk" || tpl.Lifetime != 90 ||
			tpl.AllowedClockSkew != 3 || tpl.CustomSigningKey || tpl.SigningAlgorithm != "RS256" || !sameJSON(t, tpl.Claims, `{"uid":"{{user.id}}","aud":"go"}`) {
			t.Errorf("jwttemplate.Create: got %+v (claims %s)", tpl, tpl.Claims)
		}
		list, err := templates.List(ctx, &jwttemplate.ListParams{})
		goSDKOK(t, "jwttemplate.List", err)
		found := false
		for _, x := range list.JWTTemplates {
			found = found || x.ID == tpl.ID
		}
		if !found || list.TotalCount != int64(len(list.JWTTemplates)) {
			t.Errorf("jwttemplate.List: got %d (total %d), want %s among them", len(list.JWTTemplates), list.TotalCount, tpl.ID)
		}
		got, err := templates.Get(ctx, tpl.ID)
		goSDKOK(t, "jwttemplate.Get", err)
		if got.ID != tpl.ID || got.Name != "go-sdk" {
			t.Errorf("jwttemplate.Get: got %s %s", got.ID, got.Name)
		}
		got, err = templates.Update(ctx, tpl.ID, &jwttemplate.UpdateParams{Name: ptr("go-sdk-v2"), Claims: json.RawMessage(`{"uid":"{{user.id}}"}`), Lifetime: clerk.Int64(120)})
		goSDKOK(t, "jwttemplate.Update", err)
		if got.Name != "go-sdk-v2" || got.Lifetime != 120 || !sameJSON(t, got.Claims, `{"uid":"{{user.id}}"}`) {
			t.Errorf("jwttemplate.Update: got %+v (claims %s)", got, got.Claims)
		}
		d, err := templates.Delete(ctx, tpl.ID)
		goSDKOK(t, "jwttemplate.Delete", err)
		if !d.Deleted || d.ID != tpl.ID || d.Object != "jwt_template" {
			t.Errorf("jwttemplate.Delete: got %+v", d)
		}
		_, err = templates.Get(ctx, tpl.ID)
		goSDKRefused(t, "jwttemplate.Get deleted", err, 404, "resource_not_found")
	})

	t.Run("m2m_token with machine secret keys at /v1/m2m_tokens", func(t *testing.T) {
		audience, err := ta.App.Client.Machines.Create(ctx, clerkclient.CreateMachineParams{Name: "go-audience"})
		if err != nil {
			t.Fatal(err)
		}
		issuer, err := ta.App.Client.Machines.Create(ctx, clerkclient.CreateMachineParams{Name: "go-issuer", ScopedMachines: []string{audience.ID}})
		if err != nil {
			t.Fatal(err)
		}
		asIssuer := m2m_token.NewClient(config(issuer.SecretKey))
		asAudience := m2m_token.NewClient(config(audience.SecretKey))
		tok, err := asIssuer.Create(ctx, &m2m_token.CreateParams{SecondsUntilExpiration: clerk.Int64(600), Claims: clerk.JSONRawMessage(json.RawMessage(`{"job":"go"}`))})
		goSDKOK(t, "m2m_token.Create", err)
		if !strings.HasPrefix(tok.Token, "mt_") || !strings.HasPrefix(tok.ID, "mt_") || tok.Subject != issuer.ID || tok.Object != "machine_to_machine_token" ||
			!reflect.DeepEqual(tok.Scopes, []string{audience.ID}) || tok.Revoked || tok.Expiration == nil || *tok.Expiration-tok.CreatedAt != 600_000 ||
			!sameJSON(t, tok.Claims, `{"job":"go"}`) {
			t.Errorf("m2m_token.Create: got %+v, want an mt_… token of %s scoped to %s, 600 s", tok.M2MToken, issuer.ID, audience.ID)
		}
		v, err := asAudience.Verify(ctx, &m2m_token.VerifyParams{Token: tok.Token})
		goSDKOK(t, "m2m_token.Verify", err)
		if v.ID != tok.ID || v.Subject != issuer.ID {
			t.Errorf("m2m_token.Verify: got %s of %s, want %s of %s", v.ID, v.Subject, tok.ID, issuer.ID)
		}
		list, err := asIssuer.List(ctx, &m2m_token.ListParams{Subject: ptr(issuer.ID)})
		goSDKOK(t, "m2m_token.List", err)
		if list.TotalCount != 1 || len(list.M2MTokens) != 1 || list.M2MTokens[0].ID != tok.ID {
			t.Errorf("m2m_token.List: got %d (total %d), want %s", len(list.M2MTokens), list.TotalCount, tok.ID)
		}
		r, err := asIssuer.Revoke(ctx, tok.ID, &m2m_token.RevokeParams{RevocationReason: ptr("rotated")})
		goSDKOK(t, "m2m_token.Revoke", err)
		if !r.Revoked || derefStr(r.RevocationReason) != "rotated" {
			t.Errorf("m2m_token.Revoke: got revoked %v reason %s", r.Revoked, derefStr(r.RevocationReason))
		}
		_, err = asAudience.Verify(ctx, &m2m_token.VerifyParams{Token: tok.Token})
		goSDKRefused(t, "m2m_token.Verify of a revoked token", err, 404, "")
		if !rec.Saw("POST", "/v1/m2m_tokens") || !rec.Saw("POST", "/v1/m2m_tokens/verify") {
			t.Errorf("the proxy saw no POST /v1/m2m_tokens and /v1/m2m_tokens/verify from the Go SDK")
		}
	})

	t.Run("machine and machinescope at /v1/machines", func(t *testing.T) {
		machines := machine.NewClient(config(secret))
		scopes := machinescope.NewClient(config(secret))
		target, err := machines.Create(ctx, &machine.CreateParams{Name: "go-target"})
		goSDKOK(t, "machine.Create", err)
		made, err := machines.Create(ctx, &machine.CreateParams{Name: "go-made", DefaultTokenTTL: clerk.Int64(120)})
		goSDKOK(t, "machine.Create", err)
		if !strings.HasPrefix(made.ID, "mch_") || !strings.HasPrefix(made.SecretKey, "ak_") || !strings.HasPrefix(made.InstanceID, "ins_") ||
			made.DefaultTokenTTL != 120 || len(made.ScopedMachines) != 0 {
			t.Errorf("machine.Create: got %+v, want a mch_… machine with an ak_… secret, ins_… instance, ttl 120, no scopes", made)
		}
		sc, err := scopes.CreateScope(ctx, made.ID, &machinescope.CreateScopeParams{ToMachineID: target.ID})
		goSDKOK(t, "machinescope.CreateScope", err)
		if sc.Object != "machine_scope" || sc.FromMachineID != made.ID || sc.ToMachineID != target.ID || sc.CreatedAt == 0 {
			t.Errorf("machinescope.CreateScope: got %+v", sc)
		}
		got, err := machines.Get(ctx, made.ID)
		goSDKOK(t, "machine.Get", err)
		if len(got.ScopedMachines) != 1 || got.ScopedMachines[0].ID != target.ID || got.ScopedMachines[0].InstanceID != made.InstanceID {
			t.Errorf("machine.Get: got scoped machines %+v, want %s of %s", got.ScopedMachines, target.ID, made.InstanceID)
		}
		// The new machine's key works as a machine's: a token for its scope.
		tok, err := m2m_token.NewClient(config(made.SecretKey)).Create(ctx, &m2m_token.CreateParams{})
		goSDKOK(t, "m2m_token.Create with a machine made over HTTP", err)
		if tok.Subject != made.ID || !reflect.DeepEqual(tok.Scopes, []string{target.ID}) || *tok.Expiration-tok.CreatedAt != 120_000 {
			t.Errorf("m2m_token.Create: got subject %s scopes %v, want %s scoped to %s, 120 s", tok.Subject, tok.Scopes, made.ID, target.ID)
		}
		list, err := machines.List(ctx, &machine.ListParams{})
		goSDKOK(t, "machine.List", err)
		if list.TotalCount < 2 || len(list.Machines) == 0 || list.Machines[0].ID != made.ID {
			t.Errorf("machine.List: got %d of %d (first %v), want %s first", len(list.Machines), list.TotalCount, list.Machines, made.ID)
		}
		ds, err := scopes.DeleteScope(ctx, made.ID, target.ID)
		goSDKOK(t, "machinescope.DeleteScope", err)
		if !ds.Deleted || ds.FromMachineID != made.ID || ds.ToMachineID != target.ID {
			t.Errorf("machinescope.DeleteScope: got %+v", ds)
		}
		_, err = scopes.DeleteScope(ctx, made.ID, target.ID)
		goSDKRefused(t, "machinescope.DeleteScope again", err, 404, "resource_not_found")
		for _, id := range []string{made.ID, target.ID} {
			d, err := machines.Delete(ctx, id)
			goSDKOK(t, "machine.Delete", err)
			if !d.Deleted || d.ID != id || d.Object != "machine" {
				t.Errorf("machine.Delete: got %+v", d)
			}
		}
		_, err = machines.Get(ctx, made.ID)
		goSDKRefused(t, "machine.Get deleted", err, 404, "resource_not_found")
		_, err = machine.NewClient(config(made.SecretKey)).List(ctx, &machine.ListParams{})
		goSDKRefused(t, "machine.List with a machine's key", err, 401, "")
	})

	t.Run("errors", func(t *testing.T) {
		_, err := user.NewClient(config(badSecretKey())).Get(ctx, u.ID)
		goSDKRefused(t, "user.Get with a bad secret key", err, 401, "clerk_key_invalid")
		_, err = users.Get(ctx, "user_"+strings.Repeat("0", 22))
		goSDKRefused(t, "user.Get unknown", err, 404, "resource_not_found")
		_, err = orgs.Get(ctx, "no-such-slug")
		goSDKRefused(t, "organization.Get unknown slug", err, 404, "resource_not_found")
	})

	t.Run("user.Delete", func(t *testing.T) {
		d, err := users.Delete(ctx, u.ID)
		goSDKOK(t, "user.Delete", err)
		if !d.Deleted || d.ID != u.ID || d.Object != "user" {
			t.Errorf("user.Delete: got %+v, want deleted user %s", d, u.ID)
		}
		_, err = users.Get(ctx, u.ID)
		goSDKRefused(t, "user.Get deleted", err, 404, "resource_not_found")
	})

	t.Run("every answer keeps the wire rules and the schemas", func(t *testing.T) {
		checkBAPIWire(t, rec.Exchanges())
	})
}

func firstID(us []*clerk.User) []string {
	var ids []string
	for _, u := range us {
		ids = append(ids, u.ID)
	}
	return ids
}
