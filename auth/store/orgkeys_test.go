package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// orgKey is a new API key of the organization orgID, not yet stored.
func orgKey(orgID, name string) store.MachineToken {
	now := store.Now()
	return store.MachineToken{ID: randid.New("ak"), Type: store.TokenTypeAPIKey, SecretHash: []byte(randid.Base62(32)),
		Subject: orgID, Name: name, Scopes: []string{}, CreatedAt: now, UpdatedAt: now}
}

// liveKeys counts the organization's live API keys.
func liveKeys(t *testing.T, db *store.DB, orgID string) int {
	t.Helper()
	_, total, err := db.ListMachineTokens(context.Background(), store.MachineTokenFilter{
		Type: store.TokenTypeAPIKey, Subject: orgID, Now: store.Now(), Limit: 1})
	if err != nil {
		t.Fatalf("ListMachineTokens(%s): %v", orgID, err)
	}
	return total
}

// TestOrganizationAPIKeys runs on SQLite and, when configured, PostgreSQL:
// an organization's keys are written only by a member whose role allows
// it at the moment of the write, up to a limit, revoked only through their
// organization, and deleted with it.
func TestOrganizationAPIKeys(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			alice := createUser(t, db, "alice@example.com")
			bob := createUser(t, db, "bob@example.com")
			carol := createUser(t, db, "carol@example.com")
			dave := createUser(t, db, "dave@example.com")
			o := newOrg(t, db, "Acme", "acme", alice.ID)
			other := newOrg(t, db, "Other", "other", alice.ID)
			addMember(t, db, o.ID, bob.ID, "org:member")
			addMember(t, db, o.ID, dave.ID, "org:admin")
			admin := func(id string) store.Guard { return as(id, "org:admin") }

			k := orgKey(o.ID, "deploy")
			if err := db.InsertOrganizationAPIKey(ctx, k, 50, admin(alice.ID)); err != nil {
				t.Fatalf("InsertOrganizationAPIKey by the admin: %v", err)
			}
			got, err := db.GetMachineTokenBySecretHash(ctx, store.TokenTypeAPIKey, k.SecretHash)
			if err != nil || got.ID != k.ID || got.Subject != o.ID || got.Name != "deploy" {
				t.Errorf("stored key: got %+v, %v; want %s of %s", got, err, k.ID, o.ID)
			}

			// Refusals change nothing.
			for _, tc := range []struct {
				name string
				key  store.MachineToken
				g    store.Guard
				want error
			}{
				{"by a member", orgKey(o.ID, "member's"), admin(bob.ID), store.ErrForbidden},
				{"by a non-member", orgKey(o.ID, "outsider's"), admin(carol.ID), store.ErrNotMember},
				{"with a zero guard", orgKey(o.ID, "nobody's"), store.Guard{}, store.ErrForbidden},
				{"for an unknown organization", orgKey("org_"+randid.Base62(22), "ghost"), instance, store.ErrNotFound},
			} {
				if err := db.InsertOrganizationAPIKey(ctx, tc.key, 50, tc.g); !errors.Is(err, tc.want) {
					t.Errorf("create %s: got %v, want %v", tc.name, err, tc.want)
				}
				if _, err := db.GetMachineToken(ctx, store.TokenTypeAPIKey, tc.key.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("create %s: the key was stored (%v)", tc.name, err)
				}
			}
			userKey := orgKey(alice.ID, "not an organization's")
			if err := db.InsertOrganizationAPIKey(ctx, userKey, 50, instance); err == nil {
				t.Error("InsertOrganizationAPIKey with a user subject: got nil, want an error")
			}
			m2m := orgKey(o.ID, "")
			m2m.Type = store.TokenTypeM2M
			if err := db.InsertOrganizationAPIKey(ctx, m2m, 50, instance); err == nil {
				t.Error("InsertOrganizationAPIKey of an M2M token: got nil, want an error")
			}

			// Revocation goes through the key's own organization only.
			ak := newToken(t, db, store.TokenTypeAPIKey, alice.ID, nil)
			for _, tc := range []struct {
				name, org, id string
				g             store.Guard
				want          error
			}{
				{"by a member", o.ID, k.ID, admin(bob.ID), store.ErrForbidden},
				{"by a non-member", o.ID, k.ID, admin(carol.ID), store.ErrNotMember},
				{"through another organization", other.ID, k.ID, admin(alice.ID), store.ErrNotFound},
				{"of a user's key", o.ID, ak.ID, admin(alice.ID), store.ErrNotFound},
				{"of an unknown key", o.ID, "ak_" + randid.Base62(20), admin(alice.ID), store.ErrNotFound},
				{"with a slug for the organization", "acme", k.ID, instance, store.ErrNotFound},
			} {
				if _, err := db.RevokeOrganizationAPIKey(ctx, tc.org, tc.id, "x", tc.g); !errors.Is(err, tc.want) {
					t.Errorf("revoke %s: got %v, want %v", tc.name, err, tc.want)
				}
			}
			if got, _ := db.GetMachineToken(ctx, store.TokenTypeAPIKey, k.ID); got == nil || got.Revoked {
				t.Fatalf("key after refused revocations: got %+v, want live", got)
			}
			if got, _ := db.GetMachineToken(ctx, store.TokenTypeAPIKey, ak.ID); got == nil || got.Revoked {
				t.Errorf("user's key after revocation through an organization: got %+v, want live", got)
			}

			// An admin removed a moment ago can neither create nor revoke.
			dk := orgKey(o.ID, "dave's")
			if err := db.InsertOrganizationAPIKey(ctx, dk, 50, admin(dave.ID)); err != nil {
				t.Fatalf("create by the second admin: %v", err)
			}
			if _, err := db.DeleteMembership(ctx, o.ID, dave.ID, instance); err != nil {
				t.Fatal(err)
			}
			if err := db.InsertOrganizationAPIKey(ctx, orgKey(o.ID, "late"), 50, admin(dave.ID)); !errors.Is(err, store.ErrNotMember) {
				t.Errorf("create by a removed admin: got %v, want ErrNotMember", err)
			}
			if _, err := db.RevokeOrganizationAPIKey(ctx, o.ID, k.ID, "x", admin(dave.ID)); !errors.Is(err, store.ErrNotMember) {
				t.Errorf("revoke by a removed admin: got %v, want ErrNotMember", err)
			}
			// The key belongs to the organization: it outlives its creator's
			// membership.
			if got, err := db.GetMachineTokenBySecretHash(ctx, store.TokenTypeAPIKey, dk.SecretHash); err != nil || got.Revoked {
				t.Errorf("key of a removed admin: got %+v, %v; want live", got, err)
			}

			rev, err := db.RevokeOrganizationAPIKey(ctx, o.ID, k.ID, "leaked", admin(alice.ID))
			if err != nil || !rev.Revoked || rev.RevocationReason != "leaked" {
				t.Fatalf("revoke by the admin: got %+v, %v; want revoked, reason leaked", rev, err)
			}
			again, err := db.RevokeOrganizationAPIKey(ctx, o.ID, k.ID, "again", admin(alice.ID))
			if err != nil || again.RevocationReason != "leaked" {
				t.Errorf("revoke twice: got %+v, %v; want unchanged", again, err)
			}

			// The limit counts live keys only (k is revoked; add an expired one).
			expired := orgKey(o.ID, "expired")
			expired.Expiration = expired.CreatedAt - 1
			if err := db.InsertOrganizationAPIKey(ctx, expired, 0, instance); err != nil {
				t.Fatal(err)
			}
			if n := liveKeys(t, db, o.ID); n != 1 {
				t.Fatalf("live keys: got %d, want 1 (dave's)", n)
			}
			if err := db.InsertOrganizationAPIKey(ctx, orgKey(o.ID, "second"), 2, admin(alice.ID)); err != nil {
				t.Errorf("the second live key under a limit of 2: %v", err)
			}
			if err := db.InsertOrganizationAPIKey(ctx, orgKey(o.ID, "third"), 2, admin(alice.ID)); !errors.Is(err, store.ErrKeyLimit) {
				t.Errorf("the third live key under a limit of 2: got %v, want ErrKeyLimit", err)
			}

			// Concurrent creations never pass the limit.
			const n, limit = 8, 5
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { errs[i] = db.InsertOrganizationAPIKey(ctx, orgKey(other.ID, "race"), limit, admin(alice.ID)) })
			}
			wg.Wait()
			created, refused := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					created++
				case errors.Is(err, store.ErrKeyLimit):
					refused++
				default:
					t.Errorf("concurrent create: unexpected error %v", err)
				}
			}
			if created != limit || refused != n-limit || liveKeys(t, db, other.ID) != limit {
				t.Errorf("concurrent creates: got %d created, %d refused, %d live; want %d, %d, %d",
					created, refused, liveKeys(t, db, other.ID), limit, n-limit, limit)
			}

			// Deleting the organization deletes its keys.
			if err := db.DeleteOrganization(ctx, o.ID, admin(alice.ID)); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{k.ID, dk.ID, expired.ID} {
				if _, err := db.GetMachineToken(ctx, store.TokenTypeAPIKey, id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("key %s of a deleted organization: got %v, want ErrNotFound", id, err)
				}
			}
			if _, err := db.GetMachineTokenBySecretHash(ctx, store.TokenTypeAPIKey, dk.SecretHash); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("lookup of a deleted organization's key: got %v, want ErrNotFound", err)
			}
			if liveKeys(t, db, other.ID) != limit {
				t.Errorf("the other organization's keys after the delete: got %d, want %d", liveKeys(t, db, other.ID), limit)
			}
			if err := db.CheckIntegrity(ctx); err != nil {
				t.Errorf("CheckIntegrity: %v", err)
			}
		})
	}
}

// TestMigrationOrganizationAPIKeys: keys stored before organization keys
// were tied to their organization get the link, and those of organizations
// that do not exist are dropped; the migration also goes down and up again.
func TestMigrationOrganizationAPIKeys(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			alice := createUser(t, db, "alice@example.com")
			o := newOrg(t, db, "Acme", "acme", alice.ID)
			if err := store.MigrateTo(ctx, db, 4); err != nil {
				t.Fatalf("down to 4: %v", err)
			}
			raw := store.Raw(db)
			insert := func(id, subject string) {
				t.Helper()
				if _, err := raw.ExecContext(ctx, `INSERT INTO machine_tokens (id, token_type, secret_hash, subject, user_id, created_at, updated_at)
					VALUES ($1, 'api_key', $2, $3, $4, 1, 1)`, id, []byte("hash-"+id), subject, userIDOf(subject)); err != nil {
					t.Fatalf("insert %s: %v", id, err)
				}
			}
			insert("ak_org", o.ID)
			insert("ak_ghost", "org_ghost")
			insert("ak_user", alice.ID)
			if err := store.MigrateTo(ctx, db, 5); err != nil {
				t.Fatalf("up to 5: %v", err)
			}
			if _, err := db.GetMachineToken(ctx, store.TokenTypeAPIKey, "ak_ghost"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("key of an organization that does not exist: got %v, want dropped", err)
			}
			for _, id := range []string{"ak_org", "ak_user"} {
				if _, err := db.GetMachineToken(ctx, store.TokenTypeAPIKey, id); err != nil {
					t.Errorf("key %s after the migration: %v", id, err)
				}
			}
			var orgID string
			if err := raw.QueryRowContext(ctx, `SELECT org_id FROM machine_tokens WHERE id = 'ak_org'`).Scan(&orgID); err != nil || orgID != o.ID {
				t.Errorf("org_id of the organization's key: got %q, %v; want %s", orgID, err, o.ID)
			}
			// The later migrations too: the store's writes need them.
			if err := store.MigrateTo(ctx, db, store.Latest); err != nil {
				t.Fatalf("up to the latest: %v", err)
			}
			if err := db.DeleteOrganization(ctx, o.ID, instance); err != nil {
				t.Fatal(err)
			}
			if _, err := db.GetMachineToken(ctx, store.TokenTypeAPIKey, "ak_org"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("migrated key after its organization was deleted: got %v, want ErrNotFound", err)
			}
			if err := db.CheckIntegrity(ctx); err != nil {
				t.Errorf("CheckIntegrity: %v", err)
			}
		})
	}
}

// userIDOf is what the user_id column held for subject before migration 5.
func userIDOf(subject string) any {
	if len(subject) > 5 && subject[:5] == "user_" {
		return subject
	}
	return nil
}

// TestUserAPIKeyLimitUnderRace attacks a user's key limit with concurrent
// creations: the count and the insert are one transaction, so exactly
// maxLive keys are created and the others refused with ErrKeyLimit.
func TestUserAPIKeyLimitUnderRace(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			u := createUser(t, db, "racer@example.com")
			const maxLive, n = 5, 20
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { errs[i] = db.InsertUserAPIKey(ctx, orgKey(u.ID, "k"), maxLive) })
			}
			wg.Wait()
			ok, limited := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, store.ErrKeyLimit):
					limited++
				default:
					t.Errorf("concurrent InsertUserAPIKey: got %v, want nil or ErrKeyLimit", err)
				}
			}
			if ok != maxLive || limited != n-maxLive || liveKeys(t, db, u.ID) != maxLive {
				t.Errorf("got %d created, %d refused, %d live; want %d, %d, %d", ok, limited, liveKeys(t, db, u.ID), maxLive, n-maxLive, maxLive)
			}
			if err := db.InsertUserAPIKey(ctx, orgKey("user_nobody", "k"), maxLive); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a key of an unknown user: got %v, want ErrNotFound", err)
			}
			if err := db.InsertUserAPIKey(ctx, orgKey("org_x", "k"), maxLive); err == nil {
				t.Error("InsertUserAPIKey with an organization subject: got nil, want an error")
			}
		})
	}
}
