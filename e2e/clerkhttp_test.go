package e2e

// The backend client over HTTP (auth/clerkhttp) against the in-process
// one. One scenario, written against the small interfaces below (each
// declared by this test, its user), runs once with the app's own
// clerkclient.Client and once with a clerkhttp.Client pointed at the same
// running app, so both act on one database. Each run records every
// step's outcome (the result as JSON, or the error's status, code, meta
// and messages) with ids, timestamps and one-time secrets made
// comparable, and the two transcripts must be the same step for step: a
// service on another machine sees what a handler in the app sees.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/clerkhttp"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// The groups of the backend client as the scenario uses them.
type (
	bcUsers interface {
		CreateUser(ctx context.Context, p clerkclient.CreateUserParams) (*clerkclient.User, error)
		GetUser(ctx context.Context, id string) (*clerkclient.User, error)
		GetUserList(ctx context.Context, p clerkclient.UserListParams) (*clerkclient.UserList, error)
		UpdateUser(ctx context.Context, id string, p clerkclient.UpdateUserParams) (*clerkclient.User, error)
		UpdateUserMetadata(ctx context.Context, id string, p clerkclient.UpdateUserMetadataParams) (*clerkclient.User, error)
		DeleteUser(ctx context.Context, id string) (*clerkclient.DeletedObject, error)
		BanUser(ctx context.Context, id string) (*clerkclient.User, error)
		UnbanUser(ctx context.Context, id string) (*clerkclient.User, error)
		LockUser(ctx context.Context, id string) (*clerkclient.User, error)
		UnlockUser(ctx context.Context, id string) (*clerkclient.User, error)
		VerifyPassword(ctx context.Context, id, pw string) (*clerkclient.PasswordVerification, error)
		GetOrganizationMembershipList(ctx context.Context, p clerkclient.UserOrganizationMembershipListParams) (*clerkclient.OrganizationMembershipList, error)
		GetOrganizationInvitationList(ctx context.Context, p clerkclient.UserOrganizationInvitationListParams) (*clerkclient.OrganizationInvitationList, error)
	}
	bcSessions interface {
		GetSession(ctx context.Context, id string) (*clerkclient.Session, error)
		GetSessionList(ctx context.Context, p clerkclient.SessionListParams) (*clerkclient.SessionList, error)
		RevokeSession(ctx context.Context, id string) (*clerkclient.Session, error)
	}
	bcOrganizations interface {
		CreateOrganization(ctx context.Context, p clerkclient.CreateOrganizationParams) (*clerkclient.Organization, error)
		GetOrganization(ctx context.Context, idOrSlug string) (*clerkclient.Organization, error)
		GetOrganizationList(ctx context.Context, p clerkclient.OrganizationListParams) (*clerkclient.OrganizationList, error)
		UpdateOrganization(ctx context.Context, id string, p clerkclient.UpdateOrganizationParams) (*clerkclient.Organization, error)
		UpdateOrganizationMetadata(ctx context.Context, id string, p clerkclient.UpdateOrganizationMetadataParams) (*clerkclient.Organization, error)
		DeleteOrganization(ctx context.Context, id string) (*clerkclient.DeletedObject, error)
		GetOrganizationMembershipList(ctx context.Context, p clerkclient.OrganizationMembershipListParams) (*clerkclient.OrganizationMembershipList, error)
		CreateOrganizationMembership(ctx context.Context, p clerkclient.CreateOrganizationMembershipParams) (*clerkclient.OrganizationMembership, error)
		UpdateOrganizationMembership(ctx context.Context, p clerkclient.UpdateOrganizationMembershipParams) (*clerkclient.OrganizationMembership, error)
		DeleteOrganizationMembership(ctx context.Context, p clerkclient.DeleteOrganizationMembershipParams) (*clerkclient.OrganizationMembership, error)
		CreateOrganizationInvitation(ctx context.Context, p clerkclient.CreateOrganizationInvitationParams) (*clerkclient.OrganizationInvitation, error)
		GetOrganizationInvitationList(ctx context.Context, p clerkclient.OrganizationInvitationListParams) (*clerkclient.OrganizationInvitationList, error)
		GetOrganizationInvitation(ctx context.Context, p clerkclient.GetOrganizationInvitationParams) (*clerkclient.OrganizationInvitation, error)
		RevokeOrganizationInvitation(ctx context.Context, p clerkclient.RevokeOrganizationInvitationParams) (*clerkclient.OrganizationInvitation, error)
	}
	bcTemplates interface {
		Create(ctx context.Context, p clerkclient.CreateJwtTemplateParams) (*clerkclient.JwtTemplate, error)
		Get(ctx context.Context, id string) (*clerkclient.JwtTemplate, error)
		List(ctx context.Context, p clerkclient.JwtTemplateListParams) (*clerkclient.JwtTemplateList, error)
		Update(ctx context.Context, id string, p clerkclient.UpdateJwtTemplateParams) (*clerkclient.JwtTemplate, error)
		Delete(ctx context.Context, id string) (*clerkclient.DeletedObject, error)
	}
	bcMachines interface {
		Create(ctx context.Context, p clerkclient.CreateMachineParams) (*clerkclient.Machine, error)
		Get(ctx context.Context, id string) (*clerkclient.Machine, error)
		List(ctx context.Context, p clerkclient.MachineListParams) (*clerkclient.MachineList, error)
		Delete(ctx context.Context, id string) (*clerkclient.DeletedObject, error)
		CreateScope(ctx context.Context, id, to string) (*clerkclient.Machine, error)
		DeleteScope(ctx context.Context, id, to string) (*clerkclient.Machine, error)
	}
	bcM2MTokens interface {
		Create(ctx context.Context, p clerkclient.CreateM2MTokenParams) (*clerkclient.M2MTokenObject, error)
		Verify(ctx context.Context, p clerkclient.VerifyM2MTokenParams) (*clerkclient.M2MTokenObject, error)
		List(ctx context.Context, p clerkclient.M2MTokenListParams) (*clerkclient.M2MTokenList, error)
		Revoke(ctx context.Context, p clerkclient.RevokeM2MTokenParams) (*clerkclient.M2MTokenObject, error)
	}
	bcAPIKeys interface {
		Create(ctx context.Context, p clerkclient.CreateAPIKeyParams) (*clerkclient.APIKeyObject, error)
		Get(ctx context.Context, id string) (*clerkclient.APIKeyObject, error)
		List(ctx context.Context, p clerkclient.APIKeyListParams) (*clerkclient.APIKeyList, error)
		Revoke(ctx context.Context, p clerkclient.RevokeAPIKeyParams) (*clerkclient.APIKeyObject, error)
		Verify(ctx context.Context, secret string) (*clerkclient.APIKeyObject, error)
	}
)

// Both clients' groups satisfy each interface.
var (
	_ bcUsers         = (*clerkclient.UsersAPI)(nil)
	_ bcUsers         = (*clerkhttp.UsersAPI)(nil)
	_ bcSessions      = (*clerkclient.SessionsAPI)(nil)
	_ bcSessions      = (*clerkhttp.SessionsAPI)(nil)
	_ bcOrganizations = (*clerkclient.OrganizationsAPI)(nil)
	_ bcOrganizations = (*clerkhttp.OrganizationsAPI)(nil)
	_ bcTemplates     = (*clerkclient.JwtTemplatesAPI)(nil)
	_ bcTemplates     = (*clerkhttp.JwtTemplatesAPI)(nil)
	_ bcMachines      = (*clerkclient.MachinesAPI)(nil)
	_ bcMachines      = (*clerkhttp.MachinesAPI)(nil)
	_ bcM2MTokens     = (*clerkclient.M2MTokensAPI)(nil)
	_ bcM2MTokens     = (*clerkhttp.M2MTokensAPI)(nil)
	_ bcAPIKeys       = (*clerkclient.APIKeysAPI)(nil)
	_ bcAPIKeys       = (*clerkhttp.APIKeysAPI)(nil)
)

// bcBackend is one client's groups.
type bcBackend struct {
	users     bcUsers
	sessions  bcSessions
	orgs      bcOrganizations
	templates bcTemplates
	machines  bcMachines
	m2m       bcM2MTokens
	apiKeys   bcAPIKeys
}

// TestClerkHTTPSameAsInProcess runs bcScenario with the in-process client
// and with clerkhttp against the same app, and compares the transcripts.
func TestClerkHTTPSameAsInProcess(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	local := ta.App.Client
	remote := clerkhttp.New(ta.URL, ta.Cfg.SecretKey)

	inProcess := bcBackend{users: local.Users, sessions: local.Sessions, orgs: local.Organizations, templates: local.JwtTemplates,
		machines: local.Machines, m2m: local.M2MTokens, apiKeys: local.APIKeys}
	overHTTP := bcBackend{users: remote.Users, sessions: remote.Sessions, orgs: remote.Organizations, templates: remote.JwtTemplates,
		machines: remote.Machines, m2m: remote.M2MTokens, apiKeys: remote.APIKeys}

	var want, got *bcTranscript
	var doraIn, doraHTTP string
	okIn := t.Run("in-process", func(t *testing.T) { want, doraIn = bcScenario(t, ta, inProcess, "inproc") })
	okHTTP := t.Run("over HTTP", func(t *testing.T) { got, doraHTTP = bcScenario(t, ta, overHTTP, "remote") })
	if !okIn || !okHTTP {
		t.Fatal("a run failed; the transcripts are not compared")
	}
	t.Run("same transcript", func(t *testing.T) {
		if len(got.steps) != len(want.steps) {
			t.Errorf("got %d steps over HTTP, want %d (in-process)", len(got.steps), len(want.steps))
		}
		diffs := 0
		for i := range min(len(got.steps), len(want.steps)) {
			g, w := got.steps[i], want.steps[i]
			if g != w && diffs < 15 {
				diffs++
				t.Errorf("step %d %s:\n\tgot (over HTTP)   %s\n\twant (in-process) %s", i, w.name, g.outcome, w.outcome)
			}
		}
	})
	// The same stored user and organization read both ways decode to the
	// same values, byte for byte once encoded (no normalization).
	t.Run("same objects", func(t *testing.T) {
		for _, id := range []string{doraIn, doraHTTP} {
			a, errA := local.Users.GetUser(ctx, id)
			b, errB := remote.Users.GetUser(ctx, id)
			if errA != nil || errB != nil {
				t.Fatalf("get %s: got errors %v and %v, want none", id, errA, errB)
			}
			if ja, jb := bcJSON(t, a), bcJSON(t, b); ja != jb {
				t.Errorf("user %s:\n\tgot (over HTTP)   %s\n\twant (in-process) %s", id, jb, ja)
			}
			la, errA := local.Users.GetOrganizationMembershipList(ctx, clerkclient.UserOrganizationMembershipListParams{UserID: id})
			lb, errB := remote.Users.GetOrganizationMembershipList(ctx, clerkclient.UserOrganizationMembershipListParams{UserID: id})
			if errA != nil || errB != nil {
				t.Fatalf("memberships of %s: got errors %v and %v, want none", id, errA, errB)
			}
			if ja, jb := bcJSON(t, la), bcJSON(t, lb); ja != jb {
				t.Errorf("memberships of %s:\n\tgot (over HTTP)   %s\n\twant (in-process) %s", id, jb, ja)
			}
		}
	})
}

func bcJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// bcScenario drives one client through users, organizations, sessions,
// JWT templates, machines, M2M tokens and API keys, checking what each
// step must give, and returns the transcript and the id of the user it
// keeps. tag makes its names and addresses its own (both runs share the
// database) and is replaced by TAG in the transcript.
func bcScenario(t *testing.T, ta *testApp, b bcBackend, tag string) (*bcTranscript, string) {
	ctx := context.Background()
	tr := &bcTranscript{t: t, tag: tag, ids: map[string]string{}, seq: map[string]int{}}
	str := func(s string) *string { return &s }
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	// Rows created in the same millisecond are ordered by their random
	// ids; a pause keeps each list's order the same in both runs.
	tick := func() { time.Sleep(3 * time.Millisecond) }
	doraEmail, evanEmail := "dora-"+tag+"@example.com", "evan-"+tag+"@example.com"
	const doraPW = "clerkhttp parity passphrase 7"

	// Users.
	dora, err := b.users.CreateUser(ctx, clerkclient.CreateUserParams{EmailAddress: []string{doraEmail}, Password: str(doraPW),
		FirstName: str("Dora"), LastName: str("Test"), PublicMetadata: raw(`{"plan":"free"}`), PrivateMetadata: raw(`{"tier":1}`)})
	tr.ok("create dora", dora, err)
	tick()
	evan, err := b.users.CreateUser(ctx, clerkclient.CreateUserParams{EmailAddress: []string{evanEmail}, FirstName: str("Evan")})
	tr.ok("create evan", evan, err)
	tick()
	_, err = b.users.CreateUser(ctx, clerkclient.CreateUserParams{EmailAddress: []string{strings.ToUpper(doraEmail)}})
	tr.refused("create a duplicate address", err, 422, "form_identifier_exists")
	_, err = b.users.CreateUser(ctx, clerkclient.CreateUserParams{})
	tr.refused("create without an address", err, 422, "form_param_missing")
	u, err := b.users.GetUser(ctx, dora.ID)
	tr.ok("get dora", u, err)
	_, err = b.users.GetUser(ctx, "user_doesnotexist000000000000")
	tr.refused("get an unknown user", err, 404, "resource_not_found")
	both := []string{doraEmail, evanEmail}
	list, err := b.users.GetUserList(ctx, clerkclient.UserListParams{EmailAddress: both})
	tr.ok("list by address", list, err)
	if len(list.Data) != 2 || list.TotalCount != 2 || list.Data[0].ID != evan.ID {
		t.Errorf("list by address: got %d users of %d, want evan then dora of 2", len(list.Data), list.TotalCount)
	}
	list, err = b.users.GetUserList(ctx, clerkclient.UserListParams{EmailAddress: both, OrderBy: "+created_at", Limit: 1, Offset: 1})
	tr.ok("list oldest first, second page", list, err)
	if len(list.Data) != 1 || list.TotalCount != 2 || list.Data[0].ID != evan.ID {
		t.Errorf("second page: got %d users of %d, want evan of 2", len(list.Data), list.TotalCount)
	}
	_, err = b.users.GetUserList(ctx, clerkclient.UserListParams{OrderBy: "name"})
	tr.refused("list by an unknown order", err, 422, "form_param_value_invalid")
	u, err = b.users.UpdateUser(ctx, dora.ID, clerkclient.UpdateUserParams{FirstName: str("Dorothea"), UnsafeMetadata: raw(`{"theme":"dark"}`)})
	tr.ok("update dora", u, err)
	u, err = b.users.UpdateUserMetadata(ctx, dora.ID, clerkclient.UpdateUserMetadataParams{PublicMetadata: raw(`{"plan":"pro","seats":{"n":3}}`)})
	tr.ok("merge metadata", u, err)
	u, err = b.users.UpdateUserMetadata(ctx, dora.ID, clerkclient.UpdateUserMetadataParams{PublicMetadata: raw(`{"plan":null,"seats":{"m":1}}`)})
	tr.ok("merge metadata, deleting a key", u, err)
	if !sameJSON(t, u.PublicMetadata, `{"seats":{"n":3,"m":1}}`) {
		t.Errorf("merged metadata: got %s, want {\"seats\":{\"n\":3,\"m\":1}}", u.PublicMetadata)
	}
	_, err = b.users.UpdateUser(ctx, dora.ID, clerkclient.UpdateUserParams{PublicMetadata: raw(`[1]`)})
	tr.refused("update with metadata that is not an object", err, 422, "form_param_format_invalid")
	pv, err := b.users.VerifyPassword(ctx, dora.ID, doraPW)
	tr.ok("verify the right password", pv, err)
	_, err = b.users.VerifyPassword(ctx, dora.ID, "not her password at all")
	tr.refused("verify a wrong password", err, 422, "incorrect_password")
	_, err = b.users.VerifyPassword(ctx, evan.ID, "anything")
	tr.refused("verify without a password", err, 400, "no_password_set")
	u, err = b.users.BanUser(ctx, evan.ID)
	tr.ok("ban evan", u, err)
	if !u.Banned {
		t.Error("ban: got banned false, want true")
	}
	u, err = b.users.UnbanUser(ctx, evan.ID)
	tr.ok("unban evan", u, err)
	u, err = b.users.LockUser(ctx, evan.ID)
	tr.ok("lock evan", u, err)
	if !u.Locked {
		t.Error("lock: got locked false, want true")
	}
	u, err = b.users.UnlockUser(ctx, evan.ID)
	tr.ok("unlock evan", u, err)
	_, err = b.users.BanUser(ctx, "user_doesnotexist000000000000")
	tr.refused("ban an unknown user", err, 404, "resource_not_found")

	// Organizations, with dora their first admin.
	slug := "acme-" + tag
	org, err := b.orgs.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Acme " + tag, Slug: str(slug), CreatedBy: str(dora.ID),
		PublicMetadata: raw(`{"region":"eu"}`)})
	tr.ok("create an organization", org, err)
	tick()
	_, err = b.orgs.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Other " + tag, Slug: str(slug)})
	tr.refused("create with a taken slug", err, 422, identity.CodeSlugTaken)
	o, err := b.orgs.GetOrganization(ctx, slug)
	tr.ok("get by slug", o, err)
	o, err = b.orgs.GetOrganization(ctx, org.ID)
	tr.ok("get by id", o, err)
	if o.MembersCount != 1 {
		t.Errorf("members_count: got %d, want 1", o.MembersCount)
	}
	_, err = b.orgs.GetOrganization(ctx, "no-such-org-"+tag)
	tr.refused("get an unknown slug", err, 404, "resource_not_found")
	orgs, err := b.orgs.GetOrganizationList(ctx, clerkclient.OrganizationListParams{Query: tag})
	tr.ok("list by query", orgs, err)
	m, err := b.orgs.CreateOrganizationMembership(ctx, clerkclient.CreateOrganizationMembershipParams{OrganizationID: org.ID, UserID: evan.ID, Role: "org:member"})
	tr.ok("add evan", m, err)
	tick()
	_, err = b.orgs.CreateOrganizationMembership(ctx, clerkclient.CreateOrganizationMembershipParams{OrganizationID: org.ID, UserID: evan.ID})
	tr.refused("add evan twice", err, 409, identity.CodeAlreadyMember)
	members, err := b.orgs.GetOrganizationMembershipList(ctx, clerkclient.OrganizationMembershipListParams{OrganizationID: org.ID})
	tr.ok("list members", members, err)
	ums, err := b.users.GetOrganizationMembershipList(ctx, clerkclient.UserOrganizationMembershipListParams{UserID: evan.ID})
	tr.ok("list evan's memberships", ums, err)
	_, err = b.orgs.UpdateOrganizationMembership(ctx, clerkclient.UpdateOrganizationMembershipParams{OrganizationID: org.ID, UserID: dora.ID, Role: "org:member"})
	tr.refused("demote the last admin", err, 409, identity.CodeLastAdmin)
	_, err = b.orgs.DeleteOrganizationMembership(ctx, clerkclient.DeleteOrganizationMembershipParams{OrganizationID: org.ID, UserID: dora.ID})
	tr.refused("remove the last admin", err, 409, identity.CodeLastAdmin)
	m, err = b.orgs.UpdateOrganizationMembership(ctx, clerkclient.UpdateOrganizationMembershipParams{OrganizationID: org.ID, UserID: evan.ID, Role: "org:admin"})
	tr.ok("promote evan", m, err)
	m, err = b.orgs.UpdateOrganizationMembership(ctx, clerkclient.UpdateOrganizationMembershipParams{OrganizationID: org.ID, UserID: dora.ID, Role: "org:member"})
	tr.ok("demote dora, no longer the last admin", m, err)
	_, err = b.orgs.UpdateOrganizationMembership(ctx, clerkclient.UpdateOrganizationMembershipParams{OrganizationID: org.ID, UserID: "user_doesnotexist000000000000", Role: "org:member"})
	tr.refused("change the role of a non-member", err, 404, "resource_not_found")
	inv, err := b.orgs.CreateOrganizationInvitation(ctx, clerkclient.CreateOrganizationInvitationParams{OrganizationID: org.ID,
		EmailAddress: "guest-" + tag + "@example.com", Role: "org:member", InviterUserID: evan.ID, PublicMetadata: raw(`{"via":"test"}`)})
	tr.ok("invite a guest", inv, err)
	if inv.URL == nil || *inv.URL == "" {
		t.Error("invitation: got no url, want the link shown once")
	}
	tick()
	_, err = b.orgs.CreateOrganizationInvitation(ctx, clerkclient.CreateOrganizationInvitationParams{OrganizationID: org.ID,
		EmailAddress: "guest-" + tag + "@example.com"})
	tr.refused("invite the guest twice", err, 409, identity.CodeDuplicateInvitation)
	invs, err := b.orgs.GetOrganizationInvitationList(ctx, clerkclient.OrganizationInvitationListParams{OrganizationID: org.ID, Status: "pending"})
	tr.ok("list pending invitations", invs, err)
	gi, err := b.orgs.GetOrganizationInvitation(ctx, clerkclient.GetOrganizationInvitationParams{OrganizationID: org.ID, InvitationID: inv.ID})
	tr.ok("get the invitation", gi, err)
	_, err = b.orgs.GetOrganizationInvitation(ctx, clerkclient.GetOrganizationInvitationParams{OrganizationID: org.ID, InvitationID: "orginv_doesnotexist0000000000"})
	tr.refused("get an unknown invitation", err, 404, "resource_not_found")
	guest, err := b.users.CreateUser(ctx, clerkclient.CreateUserParams{EmailAddress: []string{"guest-" + tag + "@example.com"}})
	tr.ok("the guest signs up", guest, err)
	invs, err = b.users.GetOrganizationInvitationList(ctx, clerkclient.UserOrganizationInvitationListParams{UserID: guest.ID, Status: "pending"})
	tr.ok("list the guest's invitations", invs, err)
	if len(invs.Data) != 1 || invs.Data[0].ID != inv.ID {
		t.Errorf("the guest's invitations: got %d, want %s", len(invs.Data), inv.ID)
	}
	invs, err = b.users.GetOrganizationInvitationList(ctx, clerkclient.UserOrganizationInvitationListParams{UserID: dora.ID})
	tr.ok("list dora's invitations (none)", invs, err)
	_, err = b.users.GetOrganizationInvitationList(ctx, clerkclient.UserOrganizationInvitationListParams{UserID: "user_doesnotexist000000000000"})
	tr.refused("list an unknown user's invitations", err, 404, "resource_not_found")
	dg, err := b.users.DeleteUser(ctx, guest.ID)
	tr.ok("delete the guest", dg, err)
	inv, err = b.orgs.RevokeOrganizationInvitation(ctx, clerkclient.RevokeOrganizationInvitationParams{OrganizationID: org.ID, InvitationID: inv.ID})
	tr.ok("revoke the invitation", inv, err)
	_, err = b.orgs.RevokeOrganizationInvitation(ctx, clerkclient.RevokeOrganizationInvitationParams{OrganizationID: org.ID, InvitationID: inv.ID})
	tr.refused("revoke it again", err, 0, "")
	invs, err = b.orgs.GetOrganizationInvitationList(ctx, clerkclient.OrganizationInvitationListParams{OrganizationID: org.ID, Status: "revoked"})
	tr.ok("list revoked invitations", invs, err)
	_, err = b.orgs.GetOrganizationInvitationList(ctx, clerkclient.OrganizationInvitationListParams{OrganizationID: org.ID, Status: "pending,revoked"})
	tr.refused("list by two statuses", err, 422, "form_param_format_invalid")
	o, err = b.orgs.UpdateOrganization(ctx, org.ID, clerkclient.UpdateOrganizationParams{Name: str("Acme Corp " + tag)})
	tr.ok("rename the organization", o, err)
	o, err = b.orgs.UpdateOrganizationMetadata(ctx, org.ID, clerkclient.UpdateOrganizationMetadataParams{PublicMetadata: raw(`{"region":null,"tier":"gold"}`)})
	tr.ok("merge organization metadata", o, err)
	m, err = b.orgs.DeleteOrganizationMembership(ctx, clerkclient.DeleteOrganizationMembershipParams{OrganizationID: org.ID, UserID: dora.ID})
	tr.ok("remove dora", m, err)

	// Sessions: one signed in through the form.
	ta.SignIn(t, ta.Browser(t), doraEmail, doraPW)
	sl, err := b.sessions.GetSessionList(ctx, clerkclient.SessionListParams{UserID: dora.ID})
	tr.ok("list dora's sessions", sl, err)
	if len(sl.Data) != 1 || sl.TotalCount != 1 {
		t.Fatalf("sessions: got %d of %d, want 1 of 1", len(sl.Data), sl.TotalCount)
	}
	sid := sl.Data[0].ID
	s, err := b.sessions.GetSession(ctx, sid)
	tr.ok("get the session", s, err)
	_, err = b.sessions.GetSession(ctx, "sess_doesnotexist000000000000")
	tr.refused("get an unknown session", err, 404, "resource_not_found")
	_, err = b.sessions.GetSessionList(ctx, clerkclient.SessionListParams{})
	tr.refused("list without a user or client", err, 422, "form_param_missing")
	s, err = b.sessions.RevokeSession(ctx, sid)
	tr.ok("revoke the session", s, err)
	if s.Status != "revoked" {
		t.Errorf("revoke: got status %q, want revoked", s.Status)
	}
	sl, err = b.sessions.GetSessionList(ctx, clerkclient.SessionListParams{UserID: dora.ID, Status: "active"})
	tr.ok("list dora's active sessions", sl, err)

	// JWT templates; each run deletes its own, so the lists see one.
	name := "claims-" + tag
	tpl, err := b.templates.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: name, Claims: raw(`{"email":"{{user.primary_email_address}}"}`),
		Lifetime: ptr(int64(120))})
	tr.ok("create a template", tpl, err)
	_, err = b.templates.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: name, Claims: raw(`{}`)})
	tr.refused("create a taken name", err, 422, "form_identifier_exists")
	got, err := b.templates.Get(ctx, tpl.ID)
	tr.ok("get the template", got, err)
	got, err = b.templates.Update(ctx, tpl.ID, clerkclient.UpdateJwtTemplateParams{Lifetime: ptr(int64(300)), Claims: raw(`{"role":"authenticated"}`)})
	tr.ok("update the template", got, err)
	tl, err := b.templates.List(ctx, clerkclient.JwtTemplateListParams{})
	tr.ok("list templates", tl, err)
	del, err := b.templates.Delete(ctx, tpl.ID)
	tr.ok("delete the template", del, err)
	_, err = b.templates.Get(ctx, tpl.ID)
	tr.refused("get the deleted template", err, 404, "resource_not_found")

	// Machines and M2M tokens; each run deletes its machines, so the
	// lists see its own.
	billing, err := b.machines.Create(ctx, clerkclient.CreateMachineParams{Name: "billing-" + tag})
	tr.ok("create a machine", billing, err)
	tick()
	worker, err := b.machines.Create(ctx, clerkclient.CreateMachineParams{Name: "worker-" + tag, ScopedMachines: []string{billing.ID}, DefaultTokenTTL: 600})
	tr.ok("create a machine scoped to it", worker, err)
	if worker.SecretKey == "" {
		t.Fatal("create machine: got no secret key, want one shown once")
	}
	mc, err := b.machines.Get(ctx, worker.ID)
	tr.ok("get the machine", mc, err)
	ml, err := b.machines.List(ctx, clerkclient.MachineListParams{Limit: 2})
	tr.ok("list machines", ml, err)
	mc, err = b.machines.CreateScope(ctx, billing.ID, worker.ID)
	tr.ok("scope billing to worker", mc, err)
	mc, err = b.machines.DeleteScope(ctx, billing.ID, worker.ID)
	tr.ok("unscope it", mc, err)
	tok, err := b.m2m.Create(ctx, clerkclient.CreateM2MTokenParams{MachineSecretKey: worker.SecretKey, Claims: raw(`{"job":"sync"}`)})
	tr.ok("create an M2M token", tok, err)
	if tok.Token == "" {
		t.Fatal("create M2M token: got no token, want one shown once")
	}
	_, err = b.m2m.Create(ctx, clerkclient.CreateM2MTokenParams{MachineSecretKey: "ak_notamachinekey"})
	tr.refused("create with a bad machine key", err, 401, "authentication_invalid")
	vt, err := b.m2m.Verify(ctx, clerkclient.VerifyM2MTokenParams{Token: tok.Token})
	tr.ok("verify as the instance", vt, err)
	vt, err = b.m2m.Verify(ctx, clerkclient.VerifyM2MTokenParams{Token: tok.Token, MachineSecretKey: billing.SecretKey})
	tr.ok("verify as its audience", vt, err)
	_, err = b.m2m.Verify(ctx, clerkclient.VerifyM2MTokenParams{Token: tok.Token, MachineSecretKey: worker.SecretKey})
	tr.refused("verify as a machine out of its scopes", err, 404, "resource_not_found")
	tl2, err := b.m2m.List(ctx, clerkclient.M2MTokenListParams{Subject: worker.ID, MachineSecretKey: worker.SecretKey})
	tr.ok("list the worker's tokens as the worker", tl2, err)
	_, err = b.m2m.List(ctx, clerkclient.M2MTokenListParams{Subject: worker.ID, MachineSecretKey: billing.SecretKey})
	tr.refused("list another machine's tokens", err, 403, "authorization_invalid")
	rt, err := b.m2m.Revoke(ctx, clerkclient.RevokeM2MTokenParams{ID: tok.ID, RevocationReason: "rotated"})
	tr.ok("revoke the token", rt, err)
	_, err = b.m2m.Verify(ctx, clerkclient.VerifyM2MTokenParams{Token: tok.Token})
	tr.refused("verify the revoked token", err, 404, "resource_not_found")
	tl2, err = b.m2m.List(ctx, clerkclient.M2MTokenListParams{Subject: worker.ID, Revoked: true})
	tr.ok("list with revoked tokens", tl2, err)

	// API keys of dora.
	key, err := b.apiKeys.Create(ctx, clerkclient.CreateAPIKeyParams{Name: "ci", Description: "deploys", Subject: dora.ID,
		Scopes: []string{"read", "write"}, CreatedBy: dora.ID, SecondsUntilExpiration: ptr(int64(3600))})
	tr.ok("create an API key", key, err)
	k, err := b.apiKeys.Get(ctx, key.ID)
	tr.ok("get the key", k, err)
	kl, err := b.apiKeys.List(ctx, clerkclient.APIKeyListParams{Subject: dora.ID})
	tr.ok("list dora's keys", kl, err)
	k, err = b.apiKeys.Verify(ctx, key.Secret)
	tr.ok("verify the key", k, err)
	_, err = b.apiKeys.Revoke(ctx, clerkclient.RevokeAPIKeyParams{ID: key.ID, Subject: evan.ID})
	tr.refused("revoke as another subject", err, 404, "resource_not_found")
	k, err = b.apiKeys.Revoke(ctx, clerkclient.RevokeAPIKeyParams{ID: key.ID, Subject: dora.ID, RevocationReason: "leaked"})
	tr.ok("revoke the key", k, err)
	_, err = b.apiKeys.Verify(ctx, key.Secret)
	tr.refused("verify the revoked key", err, 404, "resource_not_found")
	kl, err = b.apiKeys.List(ctx, clerkclient.APIKeyListParams{Subject: dora.ID, IncludeInvalid: true})
	tr.ok("list with invalid keys", kl, err)

	// Deletions; dora stays, for the caller's cross-check.
	for _, id := range []string{worker.ID, billing.ID} {
		d, err := b.machines.Delete(ctx, id)
		tr.ok("delete a machine", d, err)
	}
	_, err = b.machines.Get(ctx, worker.ID)
	tr.refused("get a deleted machine", err, 404, "resource_not_found")
	d, err := b.orgs.DeleteOrganization(ctx, org.ID)
	tr.ok("delete the organization", d, err)
	_, err = b.orgs.GetOrganization(ctx, org.ID)
	tr.refused("get the deleted organization", err, 404, "resource_not_found")
	d, err = b.users.DeleteUser(ctx, evan.ID)
	tr.ok("delete evan", d, err)
	_, err = b.users.GetUser(ctx, evan.ID)
	tr.refused("get deleted evan", err, 404, "resource_not_found")
	_, err = b.users.DeleteUser(ctx, evan.ID)
	tr.refused("delete evan again", err, 404, "resource_not_found")
	return tr, dora.ID
}

// bcTranscript is the outcomes of one run's steps, comparable with the
// other run's.
type bcTranscript struct {
	t     *testing.T
	tag   string
	ids   map[string]string // id → its alias, user#1, org#2, …
	seq   map[string]int    // prefix → aliases handed out
	steps []bcStep
}

type bcStep struct{ name, outcome string }

// ok records a step that must succeed.
func (tr *bcTranscript) ok(name string, v any, err error) {
	tr.t.Helper()
	if err != nil {
		tr.steps = append(tr.steps, bcStep{name, tr.errorOutcome(err)})
		tr.t.Fatalf("%s: got %v, want success", name, err)
	}
	tr.steps = append(tr.steps, bcStep{name, tr.resultOutcome(v)})
}

// refused records a step that must fail with an *clerkclient.APIError
// of the status (any 4xx when 0) and code (any when "").
func (tr *bcTranscript) refused(name string, err error, status int, code string) {
	tr.t.Helper()
	if err == nil {
		tr.steps = append(tr.steps, bcStep{name, "success"})
		tr.t.Errorf("%s: got success, want a refusal %d %s", name, status, code)
		return
	}
	tr.steps = append(tr.steps, bcStep{name, tr.errorOutcome(err)})
	e, ok := errors.AsType[*clerkclient.APIError](err)
	if !ok {
		tr.t.Errorf("%s: got %T %v, want a *clerkclient.APIError", name, err, err)
		return
	}
	if status == 0 && (e.Status < 400 || e.Status > 499) || status != 0 && e.Status != status {
		tr.t.Errorf("%s: got status %d (%v), want %s", name, e.Status, err, cmpStatus(status))
	}
	if code != "" && e.Code() != code {
		tr.t.Errorf("%s: got code %q, want %q", name, e.Code(), code)
	}
	if got, want := clerkclient.IsNotFound(err), code == "resource_not_found"; got != want {
		tr.t.Errorf("%s: got IsNotFound %v, want %v", name, got, want)
	}
}

func (tr *bcTranscript) errorOutcome(err error) string {
	e, ok := errors.AsType[*clerkclient.APIError](err)
	if !ok {
		return "error " + tr.text(err.Error())
	}
	items := make([]any, 0, len(e.Errors))
	for _, it := range e.Errors {
		items = append(items, map[string]any{"code": it.Code, "message": it.Message, "long_message": it.LongMessage, "meta": it.Meta})
	}
	return fmt.Sprintf("refused %d not_found=%v %s", e.Status, clerkclient.IsNotFound(err), tr.normalize(items))
}

func (tr *bcTranscript) resultOutcome(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		tr.t.Fatal(err)
	}
	var x any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		tr.t.Fatal(err)
	}
	return tr.normalize(x)
}

// bcIDRE matches the ids Gatehouse makes, inside any string.
var bcIDRE = regexp.MustCompile(`\b(?:sess_activity|user|org|orgmem|orginv|sess|client|idn|jtmp|mch|mt|ak|act|sia|sua|ins)_[A-Za-z0-9]{8,}\b`)

// bcVolatile reports whether a key's non-null value differs between runs
// by nature: a time, or a secret shown once.
func bcVolatile(key string) bool {
	switch key {
	case "expiration", "lockout_expires_in_seconds", "secret", "secret_key", "token", "url", "jwt":
		return true
	}
	return strings.HasSuffix(key, "_at")
}

// normalize encodes v with its ids aliased in order of appearance, the
// run's tag as TAG, and volatile values as "<set>" (null stays null).
func (tr *bcTranscript) normalize(v any) string {
	var walk func(key string, v any) any
	walk = func(key string, v any) any {
		if v != nil && bcVolatile(key) {
			return "<set>"
		}
		switch x := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(x))
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys) // aliases are handed out in a stable order
			for _, k := range keys {
				out[k] = walk(k, x[k])
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = walk("", e)
			}
			return out
		case string:
			return tr.text(x)
		}
		return v
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "<set>" readable in a failure
	if err := enc.Encode(walk("", v)); err != nil {
		tr.t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func (tr *bcTranscript) text(s string) string {
	s = bcIDRE.ReplaceAllStringFunc(s, func(id string) string {
		if a, ok := tr.ids[id]; ok {
			return a
		}
		prefix := id[:strings.LastIndexByte(id, '_')]
		tr.seq[prefix]++
		a := fmt.Sprintf("%s#%d", prefix, tr.seq[prefix])
		tr.ids[id] = a
		return a
	})
	return strings.ReplaceAll(s, tr.tag, "TAG")
}
