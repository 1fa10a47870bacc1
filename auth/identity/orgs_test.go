package identity

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

func newOrgs(t *testing.T) (*Orgs, *store.DB, *[]InvitationMessage) {
	t.Helper()
	_, db := newService(t)
	var mu sync.Mutex
	sent := &[]InvitationMessage{}
	o := NewOrgs(db, OrgsConfig{BaseURL: appURL + "/", SendInvitation: func(_ context.Context, m InvitationMessage) error {
		mu.Lock()
		defer mu.Unlock()
		*sent = append(*sent, m)
		return nil
	}})
	return o, db, sent
}

func mkUser(t *testing.T, db *store.DB, email, first string) *store.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), store.NewUser{Email: email, FirstName: first})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// wantCode fails unless err is an *Error with code (and status).
func wantCode(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	e, ok := AsError(err)
	if !ok || e.Code != code || e.Status != status {
		t.Errorf("%s: got %v, want %d %s", what, err, status, code)
	}
}

func TestSlugify(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Acme Inc", "acme-inc"},
		{"  Café Ünïon, Inc.  ", "cafe-union-inc"},
		{"ACME---2024!!", "acme-2024"},
		{"株式会社", "org"},
		{"", "org"},
		{"a" + strings.Repeat("b", 100), "a" + strings.Repeat("b", 63)},
		{strings.Repeat("ab ", 40), strings.TrimRight(strings.Repeat("ab-", 22)[:64], "-")},
	}
	for _, tc := range cases {
		got := Slugify(tc.in)
		if got != tc.want {
			t.Errorf("Slugify(%q): got %q, want %q", tc.in, got, tc.want)
		}
		if len(got) > 64 || !slugRE.MatchString(got) {
			t.Errorf("Slugify(%q) = %q is not a valid slug", tc.in, got)
		}
	}
}

func TestOrgsCreate(t *testing.T) {
	o, db, _ := newOrgs(t)
	ctx := context.Background()
	ann := mkUser(t, db, "ann@example.com", "Ann")

	org, err := o.Create(ctx, AsUser(ann.ID), CreateOrganizationInput{Name: "  Acme Inc "})
	if err != nil || org.Name != "Acme Inc" || org.Slug != "acme-inc" || org.CreatedBy != ann.ID {
		t.Fatalf("Create: got %+v, %v; want Acme Inc / acme-inc by ann", org, err)
	}
	if m, err := o.Membership(ctx, org.ID, ann.ID); err != nil || m.Role != roles.Admin {
		t.Errorf("creator membership: got %v, %v; want org:admin", m, err)
	}
	// A derived slug that is taken gets a suffix; a given one is refused.
	again, err := o.Create(ctx, AsUser(ann.ID), CreateOrganizationInput{Name: "Acme Inc"})
	if err != nil || !strings.HasPrefix(again.Slug, "acme-inc-") || !slugRE.MatchString(again.Slug) {
		t.Errorf("derived slug taken: got %+v, %v; want acme-inc-<suffix>", again, err)
	}
	_, err = o.Create(ctx, AsUser(ann.ID), CreateOrganizationInput{Name: "Other", Slug: "Acme-Inc"})
	wantCode(t, "given slug taken", err, 422, CodeSlugTaken)

	for _, tc := range []struct {
		name string
		c    Caller
		in   CreateOrganizationInput
		st   int
		code string
	}{
		{"no name", AsUser(ann.ID), CreateOrganizationInput{Name: "  "}, 422, CodeParamMissing},
		{"long name", AsUser(ann.ID), CreateOrganizationInput{Name: strings.Repeat("x", 257)}, 422, CodeParamInvalid},
		{"control character", AsUser(ann.ID), CreateOrganizationInput{Name: "a\x00b"}, 422, CodeParamInvalid},
		{"bad slug", AsUser(ann.ID), CreateOrganizationInput{Name: "X", Slug: "no_underscores"}, 422, CodeParamInvalid},
		{"slug with edge hyphen", AsUser(ann.ID), CreateOrganizationInput{Name: "X", Slug: "-x"}, 422, CodeParamInvalid},
		{"user sets metadata", AsUser(ann.ID), CreateOrganizationInput{Name: "X", PublicMetadata: []byte(`{}`)}, 403, CodeNotAllowed},
		{"user names another creator", AsUser(ann.ID), CreateOrganizationInput{Name: "X", CreatedBy: "user_other"}, 403, CodeNotAllowed},
		{"zero caller", Caller{}, CreateOrganizationInput{Name: "X"}, 403, CodeNotAllowed},
		{"metadata not an object", AsInstance(), CreateOrganizationInput{Name: "X", PrivateMetadata: []byte(`[1]`)}, 422, CodeParamInvalid},
		{"unknown creator", AsInstance(), CreateOrganizationInput{Name: "X", CreatedBy: "user_nope"}, 404, CodeNotFound},
	} {
		_, err := o.Create(ctx, tc.c, tc.in)
		wantCode(t, tc.name, err, tc.st, tc.code)
	}
	if _, total, _ := db.ListOrganizations(ctx, store.OrganizationFilter{}); total != 2 {
		t.Errorf("organizations after refusals: got %d, want 2 (refusals change nothing)", total)
	}
}

// TestOrgsPermissions: each operation is allowed exactly to the roles
// whose permissions cover it, checked against the store.
func TestOrgsPermissions(t *testing.T) {
	o, db, _ := newOrgs(t)
	ctx := context.Background()
	admin := mkUser(t, db, "admin@example.com", "Ada")
	member := mkUser(t, db, "member@example.com", "Mo")
	outsider := mkUser(t, db, "out@example.com", "Oz")
	org, err := o.Create(ctx, AsUser(admin.ID), CreateOrganizationInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.AddMember(ctx, AsInstance(), org.ID, member.ID, "member"); err != nil {
		t.Fatal(err)
	}
	name := "Renamed"
	ops := []struct {
		name string
		run  func(c Caller) error
	}{
		{"rename", func(c Caller) error {
			_, err := o.Update(ctx, c, org.ID, UpdateOrganizationInput{Name: &name})
			return err
		}},
		{"invite", func(c Caller) error {
			_, err := o.Invite(ctx, c, InviteInput{OrganizationID: org.ID, EmailAddress: "new-" + c.userID + "@example.com"})
			return err
		}},
		{"list invitations", func(c Caller) error { _, _, err := o.Invitations(ctx, c, org.ID, "", ListInput{}); return err }},
		{"change role", func(c Caller) error { _, err := o.ChangeRole(ctx, c, org.ID, member.ID, "org:member"); return err }},
	}
	for _, op := range ops {
		if err := op.run(AsUser(admin.ID)); err != nil {
			t.Errorf("%s by the admin: %v", op.name, err)
		}
		wantCode(t, op.name+" by a member", op.run(AsUser(member.ID)), 403, CodeNotAllowed)
		wantCode(t, op.name+" by an outsider", op.run(AsUser(outsider.ID)), 404, CodeNotFound)
	}
	// Reads need membership; members may see members.
	if _, total, err := o.Members(ctx, AsUser(member.ID), org.ID, ListInput{}); err != nil || total != 2 {
		t.Errorf("members seen by a member: got %d, %v; want 2", total, err)
	}
	_, _, err = o.Members(ctx, AsUser(outsider.ID), org.ID, ListInput{})
	wantCode(t, "members seen by an outsider", err, 404, CodeNotFound)
	_, err = o.Get(ctx, AsUser(outsider.ID), org.Slug)
	wantCode(t, "get by an outsider", err, 404, CodeNotFound)
	if got, err := o.Get(ctx, AsUser(member.ID), org.Slug); err != nil || got.ID != org.ID {
		t.Errorf("get by slug as a member: got %v, %v", got, err)
	}
	_, err = o.ChangeRole(ctx, AsUser(admin.ID), org.ID, member.ID, "org:owner")
	wantCode(t, "unknown role", err, 422, CodeParamInvalid)

	// A member demoted a moment ago cannot act, whatever their token says.
	if _, err := o.ChangeRole(ctx, AsUser(admin.ID), org.ID, member.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := o.ChangeRole(ctx, AsUser(member.ID), org.ID, admin.ID, "member"); err != nil {
		t.Fatalf("the new admin demotes the first: %v", err)
	}
	_, err = o.Invite(ctx, AsUser(admin.ID), InviteInput{OrganizationID: org.ID, EmailAddress: "late@example.com"})
	wantCode(t, "invite by a demoted admin", err, 403, CodeNotAllowed)
	_, err = o.ChangeRole(ctx, AsUser(member.ID), org.ID, member.ID, "member")
	wantCode(t, "demote the last admin", err, 409, CodeLastAdmin)
	wantCode(t, "last admin leaves", o.Leave(ctx, member.ID, org.ID), 409, CodeLastAdmin)
	if err := o.Leave(ctx, admin.ID, org.ID); err != nil {
		t.Errorf("a member leaves: %v", err)
	}
	wantCode(t, "delete by an outsider", o.Delete(ctx, AsUser(admin.ID), org.ID), 404, CodeNotFound)
	if err := o.Delete(ctx, AsUser(member.ID), org.ID); err != nil {
		t.Errorf("delete by the admin: %v", err)
	}
}

func TestOrgsInvitations(t *testing.T) {
	o, db, sent := newOrgs(t)
	ctx := context.Background()
	admin := mkUser(t, db, "admin@example.com", "Ada")
	bea := mkUser(t, db, "bea@example.com", "Bea")
	org, err := o.Create(ctx, AsUser(admin.ID), CreateOrganizationInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := o.Invite(ctx, AsUser(admin.ID), InviteInput{OrganizationID: org.ID, EmailAddress: " Bea@Example.com ", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	inv := res.Invitation
	if inv.Email != "bea@example.com" || inv.Role != roles.Admin || inv.InviterID != admin.ID || inv.Status != store.StatusPending {
		t.Errorf("invitation: got %+v", inv)
	}
	if d := time.Duration(inv.ExpiresAt-inv.CreatedAt) * time.Millisecond; d < 30*24*time.Hour-time.Minute || d > 30*24*time.Hour {
		t.Errorf("invitation lifetime: got %v, want 30 days", d)
	}
	u, err := url.Parse(res.URL)
	if err != nil || u.Scheme+"://"+u.Host != appURL || u.Path != InvitationPath || u.Query().Get("token") == "" {
		t.Fatalf("link: got %q, want %s%s?token=…", res.URL, appURL, InvitationPath)
	}
	secret := u.Query().Get("token")
	if len(*sent) != 1 || (*sent)[0].URL != res.URL || (*sent)[0].To != "bea@example.com" || (*sent)[0].InviterName != "Ada" ||
		(*sent)[0].OrganizationName != "Acme" || (*sent)[0].RoleName != "Admin" {
		t.Errorf("sent: got %+v", *sent)
	}
	if strings.Contains(string(inv.TokenHash), secret) {
		t.Error("the store holds the secret, want only its hash")
	}
	_, err = o.Invite(ctx, AsUser(admin.ID), InviteInput{OrganizationID: org.ID, EmailAddress: "bea@example.com"})
	wantCode(t, "second invitation", err, 409, CodeDuplicateInvitation)
	_, err = o.Invite(ctx, AsUser(admin.ID), InviteInput{OrganizationID: org.ID, EmailAddress: "admin@example.com"})
	wantCode(t, "invite a member", err, 409, CodeAlreadyMember)
	_, err = o.Invite(ctx, AsUser(admin.ID), InviteInput{OrganizationID: org.ID, EmailAddress: "not an address"})
	wantCode(t, "bad address", err, 422, CodeParamInvalid)

	if got, err := o.Invitation(ctx, secret); err != nil || got.ID != inv.ID || got.OrganizationName != "Acme" {
		t.Errorf("Invitation(secret): got %v, %v", got, err)
	}
	_, err = o.Invitation(ctx, "forged")
	wantCode(t, "forged link", err, 404, CodeNotFound)
	_, err = o.AcceptInvitation(ctx, AsUser(admin.ID), secret)
	wantCode(t, "accept with another address", err, 403, CodeInvitationWrongEmail)
	m, err := o.AcceptInvitation(ctx, AsUser(bea.ID), secret)
	if err != nil || m.Role != roles.Admin || m.UserID != bea.ID {
		t.Fatalf("accept: got %+v, %v", m, err)
	}
	_, err = o.AcceptInvitation(ctx, AsUser(bea.ID), secret)
	wantCode(t, "accept twice", err, 409, CodeInvitationAccepted)

	res, err = o.Invite(ctx, AsUser(admin.ID), InviteInput{OrganizationID: org.ID, EmailAddress: "cy@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.RevokeInvitation(ctx, AsUser(admin.ID), org.ID, res.Invitation.ID); err != nil {
		t.Fatal(err)
	}
	cy := mkUser(t, db, "cy@example.com", "Cy")
	secret = strings.TrimPrefix(res.URL, appURL+InvitationPath+"?token=")
	_, err = o.AcceptInvitation(ctx, AsUser(cy.ID), secret)
	wantCode(t, "accept a revoked invitation", err, 410, CodeInvitationRevoked)
	_, err = o.RevokeInvitation(ctx, AsUser(admin.ID), org.ID, res.Invitation.ID)
	wantCode(t, "revoke twice", err, 410, CodeInvitationRevoked)

	// Expiry.
	o.cfg.InvitationTTL = -1
	res, err = o.Invite(ctx, AsUser(admin.ID), InviteInput{OrganizationID: org.ID, EmailAddress: "cy@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	secret = strings.TrimPrefix(res.URL, appURL+InvitationPath+"?token=")
	_, err = o.AcceptInvitation(ctx, AsUser(cy.ID), secret)
	wantCode(t, "accept an expired invitation", err, 410, CodeInvitationExpired)

	list, total, err := o.Invitations(ctx, AsUser(admin.ID), org.ID, "", ListInput{})
	if err != nil || total != 3 || len(list) != 3 {
		t.Errorf("invitations: got %d, %v; want 3", total, err)
	}
	_, _, err = o.Invitations(ctx, AsUser(admin.ID), org.ID, "bogus", ListInput{})
	wantCode(t, "bad status filter", err, 422, CodeParamInvalid)
}

func TestOrgsSendFailureKeepsInvitation(t *testing.T) {
	_, db := newService(t)
	o := NewOrgs(db, OrgsConfig{SendInvitation: func(context.Context, InvitationMessage) error { return errors.New("smtp down") }})
	ctx := context.Background()
	admin := mkUser(t, db, "admin@example.com", "Ada")
	org, err := o.Create(ctx, AsUser(admin.ID), CreateOrganizationInput{Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := o.Invite(ctx, AsUser(admin.ID), InviteInput{OrganizationID: org.ID, EmailAddress: "x@example.com"})
	if err != nil || res.SendError == nil || res.URL == "" {
		t.Errorf("invite with a failing sender: got %+v, %v; want the invitation with SendError set", res, err)
	}
}

func TestSessionCaller(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	res, err := svc.SignUp(ctx, SignUpInput{EmailAddress: "ann@example.com", Password: "a long enough password"}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.SessionCaller(ctx, res.Session.ID)
	if err != nil || c.UserID() != res.User.ID {
		t.Fatalf("SessionCaller(live): got %+v, %v; want ann", c, err)
	}
	if _, err := svc.EndClientSession(ctx, clientCookieOf(t, svc, res), res.Session.ID); err != nil {
		t.Fatal(err)
	}
	for _, sid := range []string{res.Session.ID, "", "sess_unknown"} {
		if c, err := svc.SessionCaller(ctx, sid); !errors.Is(err, ErrSignedOut) || c != (Caller{}) {
			t.Errorf("SessionCaller(%q): got %+v, %v; want ErrSignedOut and the zero Caller", sid, c, err)
		}
	}
}
