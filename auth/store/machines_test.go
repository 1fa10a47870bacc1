package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

func newMachine(t *testing.T, db *store.DB, name string, scopes ...string) *store.Machine {
	t.Helper()
	m := store.Machine{ID: randid.New("mch"), Name: name, SecretHash: []byte("hash-of-" + name), DefaultTokenTTL: 3600, CreatedAt: store.Now()}
	if err := db.CreateMachine(context.Background(), m, scopes); err != nil {
		t.Fatalf("CreateMachine(%s): %v", name, err)
	}
	got, err := db.GetMachine(context.Background(), m.ID)
	if err != nil {
		t.Fatalf("GetMachine(%s): %v", name, err)
	}
	return got
}

func newToken(t *testing.T, db *store.DB, typ, subject string, mutate func(*store.MachineToken)) store.MachineToken {
	t.Helper()
	now := store.Now()
	tok := store.MachineToken{
		ID: randid.New("tok"), Type: typ, SecretHash: []byte(randid.Base62(32)), Subject: subject,
		Name: "a key", Scopes: []string{"read"}, Claims: json.RawMessage(`{"a":1}`), CreatedAt: now, UpdatedAt: now,
	}
	if mutate != nil {
		mutate(&tok)
	}
	if err := db.InsertMachineToken(context.Background(), tok); err != nil {
		t.Fatalf("InsertMachineToken: %v", err)
	}
	return tok
}

// TestMachines runs on SQLite and, when configured, PostgreSQL.
func TestMachines(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			billing := newMachine(t, db, "billing")
			reports := newMachine(t, db, "reports")
			api := newMachine(t, db, "api", billing.ID, reports.ID, billing.ID)
			want := []string{billing.ID, reports.ID}
			slices.Sort(want)
			if got := api.ScopeIDs(); !slices.Equal(got, want) {
				t.Errorf("scopes: got %v, want %v (duplicates dropped, by id)", got, want)
			}
			for _, s := range api.ScopedMachines {
				if (s.Name != "billing" && s.Name != "reports") || s.SecretHash != nil {
					t.Errorf("scoped machine: got name %q secret hash %x, want billing or reports and no hash", s.Name, s.SecretHash)
				}
			}
			got, err := db.GetMachineBySecretHash(ctx, []byte("hash-of-api"))
			if err != nil || got.ID != api.ID || len(got.ScopedMachines) != 2 {
				t.Errorf("GetMachineBySecretHash: got %+v, %v; want %s with 2 scopes", got, err, api.ID)
			}
			if _, err := db.GetMachineBySecretHash(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetMachineBySecretHash unknown: got %v, want ErrNotFound", err)
			}

			// An unknown scope refuses the whole machine.
			bad := store.Machine{ID: randid.New("mch"), Name: "bad", SecretHash: []byte("hash-of-bad"), DefaultTokenTTL: 60, CreatedAt: store.Now()}
			if err := db.CreateMachine(ctx, bad, []string{"mch_missing"}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("CreateMachine with an unknown scope: got %v, want ErrNotFound", err)
			}
			if _, err := db.GetMachine(ctx, bad.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("machine after a refused create: got %v, want ErrNotFound (rolled back)", err)
			}

			list, total, err := db.ListMachines(ctx, 2, 0)
			if err != nil || total != 3 || len(list) != 2 || list[0].CreatedAt < list[1].CreatedAt {
				t.Fatalf("ListMachines(2, 0): got %d of %d (%v), %v; want 2 of 3, newest first", len(list), total, list, err)
			}
			rest, _, err := db.ListMachines(ctx, 2, 2)
			if err != nil || len(rest) != 1 {
				t.Fatalf("ListMachines(2, 2): got %v, %v; want the third machine", rest, err)
			}
			for _, m := range append(list, rest...) {
				if m.ID == api.ID && len(m.ScopedMachines) != 2 {
					t.Errorf("listed machine scopes: got %d, want 2", len(m.ScopedMachines))
				}
			}

			if err := db.RemoveMachineScope(ctx, api.ID, reports.ID); err != nil {
				t.Fatalf("RemoveMachineScope: %v", err)
			}
			if err := db.RemoveMachineScope(ctx, api.ID, reports.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("RemoveMachineScope twice: got %v, want ErrNotFound", err)
			}
			if err := db.AddMachineScope(ctx, api.ID, "mch_missing"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("AddMachineScope unknown: got %v, want ErrNotFound", err)
			}
			if err := db.AddMachineScope(ctx, reports.ID, billing.ID); err != nil {
				t.Fatalf("AddMachineScope: %v", err)
			}
			if err := db.AddMachineScope(ctx, reports.ID, billing.ID); err != nil {
				t.Errorf("AddMachineScope again: got %v, want nil (no change)", err)
			}

			// Deleting a machine takes its tokens and the scopes naming it.
			tok := newToken(t, db, store.TokenTypeM2M, billing.ID, nil)
			if err := db.DeleteMachine(ctx, billing.ID); err != nil {
				t.Fatalf("DeleteMachine: %v", err)
			}
			if _, err := db.GetMachineToken(ctx, store.TokenTypeM2M, tok.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("token of a deleted machine: got %v, want ErrNotFound", err)
			}
			if m, _ := db.GetMachine(ctx, api.ID); m == nil || len(m.ScopedMachines) != 0 {
				t.Errorf("scopes after deleting the scoped machine: got %+v, want none", m)
			}
			if err := db.DeleteMachine(ctx, billing.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("DeleteMachine twice: got %v, want ErrNotFound", err)
			}
			if err := db.CheckIntegrity(ctx); err != nil {
				t.Errorf("CheckIntegrity: %v", err)
			}
		})
	}
}

func TestMachineTokens(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			mach := newMachine(t, db, "worker")
			u, err := db.CreateUser(ctx, store.NewUser{Email: "keys@example.com"})
			if err != nil {
				t.Fatal(err)
			}

			m2m := newToken(t, db, store.TokenTypeM2M, mach.ID, func(x *store.MachineToken) { x.Name = "" })
			got, err := db.GetMachineTokenBySecretHash(ctx, store.TokenTypeM2M, m2m.SecretHash)
			if err != nil {
				t.Fatalf("GetMachineTokenBySecretHash: %v", err)
			}
			if got.ID != m2m.ID || got.Subject != mach.ID || !slices.Equal(got.Scopes, []string{"read"}) ||
				string(got.Claims) != `{"a":1}` || got.Revoked || got.LastUsedAt != 0 {
				t.Errorf("got %+v, want the token as inserted", got)
			}
			// The type is part of the lookup: an M2M secret is no API key.
			if _, err := db.GetMachineTokenBySecretHash(ctx, store.TokenTypeAPIKey, m2m.SecretHash); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("M2M hash looked up as an API key: got %v, want ErrNotFound", err)
			}

			key := newToken(t, db, store.TokenTypeAPIKey, u.ID, func(x *store.MachineToken) {
				x.Claims, x.Scopes, x.CreatedBy = nil, nil, u.ID
			})
			got, err = db.GetMachineToken(ctx, store.TokenTypeAPIKey, key.ID)
			if err != nil || got.Claims != nil || got.Scopes == nil || len(got.Scopes) != 0 || got.CreatedBy != u.ID {
				t.Errorf("API key without claims or scopes: got %+v, %v; want nil claims, empty scopes, created_by %s", got, err, u.ID)
			}
			org := newOrg(t, db, "Keys Inc", "keys-inc", u.ID)
			orgKey := newToken(t, db, store.TokenTypeAPIKey, org.ID, nil)
			if _, err := db.GetMachineTokenBySecretHash(ctx, store.TokenTypeAPIKey, orgKey.SecretHash); err != nil {
				t.Errorf("organization key: got %v, want found", err)
			}
			for _, tc := range []struct {
				name    string
				typ     string
				subject string
			}{
				{"unknown user", store.TokenTypeAPIKey, "user_missing"},
				{"unknown organization", store.TokenTypeAPIKey, "org_" + randid.Base62(22)},
				{"unknown kind of subject", store.TokenTypeAPIKey, "mch_missing"},
				{"unknown machine", store.TokenTypeM2M, "mch_missing"},
			} {
				err := db.InsertMachineToken(ctx, store.MachineToken{ID: randid.New("tok"), Type: tc.typ,
					SecretHash: []byte(tc.name), Subject: tc.subject, CreatedAt: store.Now()})
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("InsertMachineToken for an %s: got %v, want ErrNotFound", tc.name, err)
				}
			}

			// Revocation: owner checked, idempotent, kept in the row.
			if _, err := db.RevokeMachineToken(ctx, store.TokenTypeAPIKey, key.ID, "user_other", "x"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("revoke by another subject: got %v, want ErrNotFound", err)
			}
			if _, err := db.RevokeMachineToken(ctx, store.TokenTypeM2M, key.ID, "", "x"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("revoke an API key as an M2M token: got %v, want ErrNotFound", err)
			}
			rev, err := db.RevokeMachineToken(ctx, store.TokenTypeAPIKey, key.ID, u.ID, "leaked")
			if err != nil || !rev.Revoked || rev.RevocationReason != "leaked" {
				t.Fatalf("RevokeMachineToken: got %+v, %v; want revoked with reason leaked", rev, err)
			}
			again, err := db.RevokeMachineToken(ctx, store.TokenTypeAPIKey, key.ID, "", "other reason")
			if err != nil || again.RevocationReason != "leaked" {
				t.Errorf("revoke twice: got %+v, %v; want unchanged reason leaked", again, err)
			}
			got, err = db.GetMachineTokenBySecretHash(ctx, store.TokenTypeAPIKey, key.SecretHash)
			if err != nil || !got.Revoked {
				t.Errorf("lookup of a revoked key: got %+v, %v; want it, marked revoked", got, err)
			}

			// Listing: live by default; revoked and expired on request.
			now := store.Now()
			expired := newToken(t, db, store.TokenTypeM2M, mach.ID, func(x *store.MachineToken) { x.Expiration = now - 1 })
			if !(&expired).Expired(now) || (&m2m).Expired(now) {
				t.Errorf("Expired: got %v for past and %v for none, want true and false", (&expired).Expired(now), (&m2m).Expired(now))
			}
			revoked := newToken(t, db, store.TokenTypeM2M, mach.ID, nil)
			if _, err := db.RevokeMachineToken(ctx, store.TokenTypeM2M, revoked.ID, mach.ID, ""); err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name             string
				revoked, expired bool
				want             []string
			}{
				{"live only", false, false, []string{m2m.ID}},
				{"with revoked", true, false, []string{revoked.ID, m2m.ID}},
				{"with expired", false, true, []string{expired.ID, m2m.ID}},
				{"all", true, true, []string{revoked.ID, expired.ID, m2m.ID}},
			} {
				list, total, err := db.ListMachineTokens(ctx, store.MachineTokenFilter{Type: store.TokenTypeM2M, Subject: mach.ID,
					IncludeRevoked: tc.revoked, IncludeExpired: tc.expired, Now: now, Limit: 10})
				var ids []string
				for _, x := range list {
					ids = append(ids, x.ID)
				}
				slices.Sort(ids)
				want := slices.Sorted(slices.Values(tc.want))
				if err != nil || total != len(tc.want) || !slices.Equal(ids, want) {
					t.Errorf("%s: got %v (total %d), %v; want %v", tc.name, ids, total, err, want)
				}
			}

			// last_used_at: one write per interval.
			at := store.Now()
			if err := db.TouchMachineToken(ctx, m2m.ID, at, time.Minute.Milliseconds()); err != nil {
				t.Fatal(err)
			}
			if err := db.TouchMachineToken(ctx, m2m.ID, at+1000, time.Minute.Milliseconds()); err != nil {
				t.Fatal(err)
			}
			got, _ = db.GetMachineToken(ctx, store.TokenTypeM2M, m2m.ID)
			if got.LastUsedAt != at {
				t.Errorf("last_used_at after two touches a second apart: got %d, want the first (%d)", got.LastUsedAt, at)
			}
			if err := db.TouchMachineToken(ctx, m2m.ID, at+time.Minute.Milliseconds(), time.Minute.Milliseconds()); err != nil {
				t.Fatal(err)
			}
			got, _ = db.GetMachineToken(ctx, store.TokenTypeM2M, m2m.ID)
			if got.LastUsedAt != at+time.Minute.Milliseconds() {
				t.Errorf("last_used_at a minute later: got %d, want %d", got.LastUsedAt, at+time.Minute.Milliseconds())
			}

			// A banned user's keys are not found; a deleted user's are gone.
			live := newToken(t, db, store.TokenTypeAPIKey, u.ID, nil)
			if _, err := db.SetUserBanned(ctx, u.ID, true); err != nil {
				t.Fatal(err)
			}
			if _, err := db.GetMachineTokenBySecretHash(ctx, store.TokenTypeAPIKey, live.SecretHash); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("key of a banned user: got %v, want ErrNotFound", err)
			}
			if _, err := db.SetUserBanned(ctx, u.ID, false); err != nil {
				t.Fatal(err)
			}
			if _, err := db.GetMachineTokenBySecretHash(ctx, store.TokenTypeAPIKey, live.SecretHash); err != nil {
				t.Errorf("key after unban: got %v, want found", err)
			}
			if err := db.DeleteUser(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := db.GetMachineToken(ctx, store.TokenTypeAPIKey, live.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("key of a deleted user: got %v, want ErrNotFound", err)
			}
			if err := db.CheckIntegrity(ctx); err != nil {
				t.Errorf("CheckIntegrity: %v", err)
			}
		})
	}
}
