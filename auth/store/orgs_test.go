package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

var adminRoles = []string{"org:admin"}

// as is the guard of a user whose role must be one of roles.
func as(userID string, roles ...string) store.Guard {
	return store.Guard{ActorID: userID, ActorRoles: roles, AdminRoles: adminRoles}
}

var instance = store.Guard{Instance: true, AdminRoles: adminRoles}

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func newOrg(t *testing.T, db *store.DB, name, slug, creator string) *store.Organization {
	t.Helper()
	o, err := db.CreateOrganization(context.Background(), store.NewOrganization{Name: name, Slug: slug, CreatedBy: creator, CreatorRole: "org:admin"})
	if err != nil {
		t.Fatalf("CreateOrganization(%q): %v", slug, err)
	}
	return o
}

func addMember(t *testing.T, db *store.DB, orgID, userID, role string) {
	t.Helper()
	if _, err := db.CreateMembership(context.Background(), orgID, userID, role, instance); err != nil {
		t.Fatalf("CreateMembership(%s, %s): %v", userID, role, err)
	}
}

func TestOrganizations(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			alice := createUser(t, db, "alice@example.com")
			bob := createUser(t, db, "bob@example.com")
			carol := createUser(t, db, "carol@example.com")

			o := newOrg(t, db, "Acme Inc", "acme", alice.ID)
			if !strings.HasPrefix(o.ID, "org_") || o.CreatedBy != alice.ID || o.MembersCount != 1 || string(o.PublicMetadata) != "{}" {
				t.Errorf("created organization: got %+v, want org_… created by alice with 1 member and {} metadata", o)
			}
			if _, err := db.CreateOrganization(ctx, store.NewOrganization{Name: "Other", Slug: "acme"}); !errors.Is(err, store.ErrConflict) {
				t.Errorf("duplicate slug: got %v, want ErrConflict", err)
			}
			if _, err := db.CreateOrganization(ctx, store.NewOrganization{Name: "Ghost", Slug: "ghost", CreatedBy: "user_nope", CreatorRole: "org:admin"}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("unknown creator: got %v, want ErrNotFound", err)
			}
			if _, err := db.GetOrganization(ctx, "ghost"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("organization of a refused create: got %v, want ErrNotFound (rolled back)", err)
			}
			for _, key := range []string{o.ID, "acme"} {
				if got, err := db.GetOrganization(ctx, key); err != nil || got.ID != o.ID {
					t.Errorf("GetOrganization(%q): got %v, %v; want %s", key, got, err, o.ID)
				}
			}
			m, err := db.GetMembership(ctx, o.ID, alice.ID)
			if err != nil || m.Role != "org:admin" || m.Organization.Slug != "acme" || m.User.Email != "alice@example.com" || !strings.HasPrefix(m.ID, "orgmem_") {
				t.Fatalf("creator membership: got %+v, %v; want orgmem_… org:admin of acme with alice's email", m, err)
			}

			// Authorisation at write time.
			addMember(t, db, o.ID, bob.ID, "org:member")
			if _, err := db.CreateMembership(ctx, o.ID, bob.ID, "org:member", instance); !errors.Is(err, store.ErrAlreadyMember) {
				t.Errorf("second membership: got %v, want ErrAlreadyMember", err)
			}
			name := "Acme Corp"
			if _, err := db.UpdateOrganization(ctx, o.ID, store.OrganizationUpdate{Name: &name}, as(bob.ID, "org:admin")); !errors.Is(err, store.ErrForbidden) {
				t.Errorf("rename by a member: got %v, want ErrForbidden", err)
			}
			if _, err := db.UpdateOrganization(ctx, o.ID, store.OrganizationUpdate{Name: &name}, as(carol.ID, "org:admin")); !errors.Is(err, store.ErrNotMember) {
				t.Errorf("rename by a non-member: got %v, want ErrNotMember", err)
			}
			if _, err := db.UpdateOrganization(ctx, o.ID, store.OrganizationUpdate{Name: &name}, store.Guard{}); !errors.Is(err, store.ErrForbidden) {
				t.Errorf("rename with a zero Guard: got %v, want ErrForbidden", err)
			}
			up, err := db.UpdateOrganization(ctx, o.ID, store.OrganizationUpdate{Name: &name}, as(alice.ID, "org:admin"))
			if err != nil || up.Name != "Acme Corp" || up.MembersCount != 2 {
				t.Errorf("rename by the admin: got %+v, %v; want name Acme Corp, 2 members", up, err)
			}
			up, err = db.MergeOrganizationMetadata(ctx, o.ID, store.MetadataPatch{Public: json.RawMessage(`{"plan":"pro","a":{"b":1}}`)}, instance)
			if err != nil || string(up.PublicMetadata) != `{"a":{"b":1},"plan":"pro"}` {
				t.Errorf("merge metadata: got %s, %v", up.PublicMetadata, err)
			}

			// Listing.
			newOrg(t, db, "Beta", "beta", bob.ID)
			list, total, err := db.ListOrganizations(ctx, store.OrganizationFilter{UserID: alice.ID})
			if err != nil || total != 1 || len(list) != 1 || list[0].ID != o.ID {
				t.Errorf("ListOrganizations(alice): got %d/%d, %v; want acme only", len(list), total, err)
			}
			if _, total, _ := db.ListOrganizations(ctx, store.OrganizationFilter{Query: "bet"}); total != 1 {
				t.Errorf("ListOrganizations(query bet): got %d, want 1", total)
			}
			ms, total, err := db.ListMemberships(ctx, store.MembershipFilter{UserID: bob.ID})
			if err != nil || total != 2 || len(ms) != 2 {
				t.Errorf("ListMemberships(bob): got %d/%d, %v; want 2", len(ms), total, err)
			}

			// Removal clears the active organization of the member's sessions.
			s := createSession(t, db, randid.New("client"), bob.ID)
			if _, err := db.SetSessionOrganization(ctx, s.ID, o.ID, store.SessionActive); err != nil {
				t.Fatalf("SetSessionOrganization: %v", err)
			}
			if _, err := db.SetSessionOrganization(ctx, s.ID, "org_unknown", store.SessionActive); !errors.Is(err, store.ErrNotMember) {
				t.Errorf("activate an organization bob does not belong to: got %v, want ErrNotMember", err)
			}
			if _, err := db.DeleteMembership(ctx, o.ID, bob.ID, as(bob.ID, "org:admin")); !errors.Is(err, store.ErrForbidden) {
				t.Errorf("member removing himself without AnyMember: got %v, want ErrForbidden", err)
			}
			if _, err := db.DeleteMembership(ctx, o.ID, bob.ID, store.Guard{ActorID: bob.ID, AnyMember: true, AdminRoles: adminRoles}); err != nil {
				t.Fatalf("leave: %v", err)
			}
			if got, _ := db.GetSession(ctx, s.ID); got.LastActiveOrganizationID != "" {
				t.Errorf("session after leaving: got active organization %q, want none", got.LastActiveOrganizationID)
			}
			if _, err := db.DeleteMembership(ctx, o.ID, bob.ID, instance); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("remove a non-member: got %v, want ErrNotFound", err)
			}

			// The last admin stays.
			if _, err := db.UpdateMembershipRole(ctx, o.ID, alice.ID, "org:member", instance); !errors.Is(err, store.ErrLastAdmin) {
				t.Errorf("demote the last admin: got %v, want ErrLastAdmin", err)
			}
			if _, err := db.DeleteMembership(ctx, o.ID, alice.ID, instance); !errors.Is(err, store.ErrLastAdmin) {
				t.Errorf("remove the last admin: got %v, want ErrLastAdmin", err)
			}
			if m, err := db.UpdateMembershipRole(ctx, o.ID, alice.ID, "org:admin", instance); err != nil || m.Role != "org:admin" {
				t.Errorf("re-set the last admin's admin role: got %v, %v; want allowed", m, err)
			}

			// The membership limit.
			limit := 1
			if _, err := db.UpdateOrganization(ctx, o.ID, store.OrganizationUpdate{MaxAllowedMemberships: &limit}, instance); err != nil {
				t.Fatal(err)
			}
			if _, err := db.CreateMembership(ctx, o.ID, carol.ID, "org:member", instance); !errors.Is(err, store.ErrLimitReached) {
				t.Errorf("join a full organization: got %v, want ErrLimitReached", err)
			}

			// Deleting cascades and clears sessions.
			sa := createSession(t, db, randid.New("client"), alice.ID)
			if _, err := db.SetSessionOrganization(ctx, sa.ID, o.ID, store.SessionActive); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteOrganization(ctx, o.ID, as(alice.ID, "org:member")); !errors.Is(err, store.ErrForbidden) {
				t.Errorf("delete without the role: got %v, want ErrForbidden", err)
			}
			if err := db.DeleteOrganization(ctx, o.ID, as(alice.ID, "org:admin")); err != nil {
				t.Fatalf("DeleteOrganization: %v", err)
			}
			if _, err := db.GetMembership(ctx, o.ID, alice.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("membership after delete: got %v, want ErrNotFound", err)
			}
			if got, _ := db.GetSession(ctx, sa.ID); got.LastActiveOrganizationID != "" {
				t.Errorf("session after delete: got active organization %q, want none", got.LastActiveOrganizationID)
			}
			if err := db.DeleteOrganization(ctx, o.ID, instance); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("delete twice: got %v, want ErrNotFound", err)
			}
			if err := db.CheckIntegrity(ctx); err != nil {
				t.Errorf("CheckIntegrity: %v", err)
			}
		})
	}
}

// TestLastAdminConcurrency removes or demotes every admin at once.
// Written by the instance, every write but one must succeed and exactly one
// admin stay; written by the admins on each other (authorised by their own
// roles at write time), at least one must stay, whatever the interleaving.
func TestLastAdminConcurrency(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			const n = 6
			seq := 0
			for _, op := range []string{"remove", "demote", "mixed"} {
				for _, byAdmins := range []bool{false, true} {
					t.Run(fmt.Sprintf("%s/byAdmins=%v", op, byAdmins), func(t *testing.T) {
						var admins []*store.User
						for range n {
							seq++
							admins = append(admins, createUser(t, db, fmt.Sprintf("admin%d@example.com", seq)))
						}
						o := newOrg(t, db, "Race", fmt.Sprintf("race-%d", seq), admins[0].ID)
						for _, a := range admins[1:] {
							addMember(t, db, o.ID, a.ID, "org:admin")
						}
						errs := make([]error, n)
						var wg sync.WaitGroup
						for i, a := range admins {
							target := admins[(i+1)%n]
							g := instance
							if byAdmins {
								g = as(a.ID, "org:admin")
							}
							wg.Go(func() {
								if op == "remove" || (op == "mixed" && i%2 == 0) {
									_, errs[i] = db.DeleteMembership(ctx, o.ID, target.ID, g)
								} else {
									_, errs[i] = db.UpdateMembershipRole(ctx, o.ID, target.ID, "org:member", g)
								}
							})
						}
						wg.Wait()
						refusedLastAdmin := 0
						for i, err := range errs {
							switch {
							case err == nil:
							case errors.Is(err, store.ErrLastAdmin):
								refusedLastAdmin++
							case byAdmins && (errors.Is(err, store.ErrNotMember) || errors.Is(err, store.ErrForbidden)):
								// The actor lost its admin role a moment before.
							default:
								t.Errorf("writer %d: got %v, want success or a clean refusal", i, err)
							}
						}
						ms, _, err := db.ListMemberships(ctx, store.MembershipFilter{OrganizationID: o.ID})
						if err != nil {
							t.Fatal(err)
						}
						left := 0
						for _, m := range ms {
							if m.Role == "org:admin" {
								left++
							}
						}
						if left < 1 {
							t.Fatalf("admins left: got %d, want at least 1 (errors %v)", left, errs)
						}
						if !byAdmins && (left != 1 || refusedLastAdmin != 1) {
							t.Errorf("instance writes: got %d admins left and %d last-admin refusals, want 1 and 1 (errors %v)", left, refusedLastAdmin, errs)
						}
					})
				}
			}
		})
	}
}

func TestInvitations(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			alice := createUser(t, db, "alice@example.com")
			bob := createUser(t, db, "bob@example.com")
			dave := createUser(t, db, "dave@example.com")
			o := newOrg(t, db, "Acme", "acme", alice.ID)
			week := store.Now() + 7*24*time.Hour.Milliseconds()
			invite := func(email, secret string, g store.Guard, expires int64) (*store.Invitation, error) {
				return db.CreateInvitation(ctx, store.NewInvitation{OrganizationID: o.ID, Email: email, Role: "org:member",
					InviterID: alice.ID, TokenHash: hash(secret), ExpiresAt: expires}, g)
			}
			if _, err := invite("bob@example.com", "s0", as(bob.ID, "org:admin"), week); !errors.Is(err, store.ErrNotMember) {
				t.Errorf("invite by a non-member: got %v, want ErrNotMember", err)
			}
			inv, err := invite("bob@example.com", "s1", as(alice.ID, "org:admin"), week)
			if err != nil || inv.Status != store.StatusPending || !strings.HasPrefix(inv.ID, "orginv_") || inv.OrganizationName != "Acme" {
				t.Fatalf("invite: got %+v, %v", inv, err)
			}
			if _, err := invite("bob@example.com", "s2", instance, week); !errors.Is(err, store.ErrConflict) {
				t.Errorf("second pending invitation: got %v, want ErrConflict", err)
			}
			if _, err := invite("alice@example.com", "s3", instance, week); !errors.Is(err, store.ErrAlreadyMember) {
				t.Errorf("invite a member: got %v, want ErrAlreadyMember", err)
			}
			if _, _, err := db.AcceptInvitation(ctx, hash("s1"), dave.ID); !errors.Is(err, store.ErrEmailMismatch) {
				t.Errorf("accept by another address: got %v, want ErrEmailMismatch", err)
			}
			if _, _, err := db.AcceptInvitation(ctx, hash("forged"), bob.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("accept a forged link: got %v, want ErrNotFound", err)
			}

			// Concurrent acceptance: one membership, the rest ErrNotPending.
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { _, _, errs[i] = db.AcceptInvitation(ctx, hash("s1"), bob.ID) })
			}
			wg.Wait()
			ok := 0
			for i, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, store.ErrNotPending):
				default:
					t.Errorf("acceptance %d: got %v, want nil or ErrNotPending", i, err)
				}
			}
			if ok != 1 {
				t.Errorf("concurrent acceptances: got %d successes, want 1", ok)
			}
			if m, err := db.GetMembership(ctx, o.ID, bob.ID); err != nil || m.Role != "org:member" {
				t.Errorf("bob's membership: got %v, %v; want org:member", m, err)
			}
			_, got, err := db.AcceptInvitation(ctx, hash("s1"), bob.ID)
			if !errors.Is(err, store.ErrNotPending) || got == nil || got.Status != store.StatusAccepted {
				t.Errorf("accept again: got %v, %v; want ErrNotPending with status accepted", got, err)
			}

			// Revoked and expired links are refused.
			inv, err = invite("dave@example.com", "s4", instance, week)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.RevokeInvitation(ctx, o.ID, inv.ID, as(bob.ID, "org:admin")); !errors.Is(err, store.ErrForbidden) {
				t.Errorf("revoke by a member: got %v, want ErrForbidden", err)
			}
			if r, err := db.RevokeInvitation(ctx, o.ID, inv.ID, as(alice.ID, "org:admin")); err != nil || r.Status != store.StatusRevoked {
				t.Errorf("revoke: got %v, %v", r, err)
			}
			if _, got, err := db.AcceptInvitation(ctx, hash("s4"), dave.ID); !errors.Is(err, store.ErrNotPending) || got.Status != store.StatusRevoked {
				t.Errorf("accept a revoked invitation: got %v; want ErrNotPending, revoked", err)
			}
			if _, err := db.RevokeInvitation(ctx, o.ID, inv.ID, instance); !errors.Is(err, store.ErrNotPending) {
				t.Errorf("revoke twice: got %v, want ErrNotPending", err)
			}
			if _, err := invite("dave@example.com", "s5", instance, store.Now()-1); err != nil {
				t.Fatal(err)
			}
			if _, got, err := db.AcceptInvitation(ctx, hash("s5"), dave.ID); !errors.Is(err, store.ErrNotPending) || got.Status != store.StatusExpired {
				t.Errorf("accept an expired invitation: got %v; want ErrNotPending, expired", err)
			}
			// An expired invitation does not block a new one.
			if _, err := invite("dave@example.com", "s6", instance, week); err != nil {
				t.Errorf("re-invite after expiry: %v", err)
			}
			list, total, err := db.ListInvitations(ctx, store.InvitationFilter{OrganizationID: o.ID, Status: store.StatusPending})
			if err != nil || total != 1 || len(list) != 1 || list[0].Email != "dave@example.com" {
				t.Errorf("pending invitations: got %d/%d, %v; want dave's new one", len(list), total, err)
			}
			if _, total, _ := db.ListInvitations(ctx, store.InvitationFilter{OrganizationID: o.ID}); total != 4 {
				t.Errorf("all invitations: got %d, want 4", total)
			}
		})
	}
}

func TestActorTokens(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			admin := createUser(t, db, "admin@example.com")
			target := createUser(t, db, "target@example.com")
			mk := func(secret string, expires int64) *store.ActorToken {
				tok := store.ActorToken{ID: randid.New("act"), UserID: target.ID, ActorUserID: admin.ID,
					Actor: json.RawMessage(`{"sub":"` + admin.ID + `"}`), TokenHash: hash(secret), ExpiresAt: expires}
				if err := db.CreateActorToken(ctx, tok); err != nil {
					t.Fatalf("CreateActorToken: %v", err)
				}
				return &tok
			}
			soon := store.Now() + 10*time.Minute.Milliseconds()
			mk("t1", soon)
			session := func() store.Session {
				now := store.Now()
				return store.Session{ID: randid.New("sess"), Status: store.SessionActive, FactorVerifiedAt: now,
					ExpireAt: now + time.Hour.Milliseconds(), LastActiveAt: now}
			}
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, _, errs[i] = db.RedeemActorToken(ctx, hash("t1"), store.Client{ID: randid.New("client"), SecretHash: []byte("h")}, session())
				})
			}
			wg.Wait()
			ok := 0
			for i, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, store.ErrNotFound):
				default:
					t.Errorf("redeem %d: got %v, want nil or ErrNotFound", i, err)
				}
			}
			if ok != 1 {
				t.Errorf("concurrent redemptions: got %d sessions, want 1", ok)
			}
			sessions, _, _ := db.ListSessions(ctx, store.SessionFilter{UserID: target.ID})
			if len(sessions) != 1 || string(sessions[0].Actor) != `{"sub":"`+admin.ID+`"}` {
				t.Errorf("actor sessions: got %d (%v), want 1 with the actor", len(sessions), sessions)
			}

			mk("t2", store.Now()-1)
			if _, _, err := db.RedeemActorToken(ctx, hash("t2"), store.Client{ID: randid.New("client"), SecretHash: []byte("h")}, session()); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("redeem an expired token: got %v, want ErrNotFound", err)
			}
			t3 := mk("t3", soon)
			if got, err := db.RevokeActorToken(ctx, t3.ID); err != nil || got.Status != store.StatusRevoked {
				t.Errorf("revoke: got %v, %v", got, err)
			}
			if _, _, err := db.RedeemActorToken(ctx, hash("t3"), store.Client{ID: randid.New("client"), SecretHash: []byte("h")}, session()); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("redeem a revoked token: got %v, want ErrNotFound", err)
			}
			if _, err := db.RevokeActorToken(ctx, t3.ID); !errors.Is(err, store.ErrNotPending) {
				t.Errorf("revoke twice: got %v, want ErrNotPending", err)
			}
			mk("t4", soon)
			if _, err := db.SetUserBanned(ctx, target.ID, true); err != nil {
				t.Fatal(err)
			}
			if _, _, err := db.RedeemActorToken(ctx, hash("t4"), store.Client{ID: randid.New("client"), SecretHash: []byte("h")}, session()); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("redeem for a banned user: got %v, want ErrNotFound", err)
			}
		})
	}
}

func TestUserOrganizations(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			alice := createUser(t, db, "alice@example.com")
			bob := createUser(t, db, "bob@example.com")
			acme := newOrg(t, db, "Acme Inc", "acme", alice.ID)
			beta := newOrg(t, db, "Beta", "beta", bob.ID)
			addMember(t, db, beta.ID, alice.ID, "org:member")
			got, err := db.UserOrganizations(ctx, alice.ID, 10)
			want := []store.UserOrganization{{acme.ID, "Acme Inc", "acme", "org:admin"}, {beta.ID, "Beta", "beta", "org:member"}}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("UserOrganizations(alice): got %v, %v; want %v", got, err, want)
			}
			if got, err := db.UserOrganizations(ctx, alice.ID, 1); err != nil || len(got) != 1 || got[0].ID != acme.ID {
				t.Errorf("UserOrganizations(alice, limit 1): got %v, %v; want acme only", got, err)
			}
			if got, err := db.UserOrganizations(ctx, "user_nobody", 10); err != nil || len(got) != 0 {
				t.Errorf("UserOrganizations(unknown): got %v, %v; want none", got, err)
			}
		})
	}
}
