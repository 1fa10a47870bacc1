package identity

import (
	"context"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// TestMintActiveOrganization: the token carries the active organization's
// o and fea claims from the membership as stored at mint time; a removed
// member loses them at the next refresh; with organizations required a
// session without one is pending.
func TestMintActiveOrganization(t *testing.T) {
	for _, required := range []bool{false, true} {
		svc, db := newService(t)
		svc.cfg.OrganizationsRequired = required
		ctx := context.Background()
		res, err := svc.SignUp(ctx, SignUpInput{EmailAddress: "ann@example.com", Password: "a long enough password"}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		cookie := clientCookieOf(t, svc, res)
		wantStatus := map[bool]string{false: "active", true: "pending"}[required]
		if res.Claims.Status != wantStatus || res.Session.Status != wantStatus || res.Claims.Org != nil {
			t.Errorf("required=%v: first token: got sts %q (session %q) and o %v, want %q and no o", required, res.Claims.Status, res.Session.Status, res.Claims.Org, wantStatus)
		}
		o, err := db.CreateOrganization(ctx, store.NewOrganization{Name: "Acme", Slug: "acme", CreatedBy: res.User.ID, CreatorRole: roles.Admin})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetSessionOrganization(ctx, res.Session.ID, o.ID, store.SessionActive); err != nil {
			t.Fatal(err)
		}
		r, err := svc.Refresh(ctx, cookie, "")
		if err != nil {
			t.Fatal(err)
		}
		c := r.Claims
		if c.Org == nil || c.Org.ID != o.ID || c.Org.Slug != "acme" || c.Org.Role != "admin" || c.Status != "active" {
			t.Fatalf("required=%v: token with an active organization: got o %+v sts %q, want acme, role admin, active", required, c.Org, c.Status)
		}
		if c.Features != "o:sys_profile,o:sys_memberships,o:team" || c.Org.Permissions != "manage,delete,read" || c.Org.FeatureMask != "3,5,5" {
			t.Errorf("encoding: got fea %q per %q fpm %q", c.Features, c.Org.Permissions, c.Org.FeatureMask)
		}
		if got, want := c.OrgPermissions(), roles.Default().Permissions(roles.Admin); !sameSet(got, want) {
			t.Errorf("decoded permissions: got %v, want %v", got, want)
		}

		// Another admin removes Ann; her next token has no organization.
		other, err := db.CreateUser(ctx, store.NewUser{Email: "bo@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		g := store.Guard{Instance: true, AdminRoles: []string{roles.Admin}}
		if _, err := db.CreateMembership(ctx, o.ID, other.ID, roles.Admin, g); err != nil {
			t.Fatal(err)
		}
		if _, err := db.DeleteMembership(ctx, o.ID, res.User.ID, g); err != nil {
			t.Fatal(err)
		}
		r, err = svc.Refresh(ctx, cookie, "")
		if err != nil {
			t.Fatal(err)
		}
		if r.Claims.Org != nil || r.Claims.Features != "" || r.Claims.Status != wantStatus {
			t.Errorf("required=%v: after removal: got o %+v fea %q sts %q, want no organization and %q", required, r.Claims.Org, r.Claims.Features, r.Claims.Status, wantStatus)
		}
		if s, _ := db.GetSession(ctx, res.Session.ID); s.Status != wantStatus {
			t.Errorf("required=%v: stored status after removal: got %q, want %q", required, s.Status, wantStatus)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
