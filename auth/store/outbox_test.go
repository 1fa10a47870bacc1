package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// lastEvent returns the newest audit event named name, failing without one.
func lastEvent(t *testing.T, db *store.DB, name string) store.AuditEvent {
	t.Helper()
	ev, _, err := db.ListAuditEvents(context.Background(), store.AuditFilter{Name: name, Limit: 1})
	if err != nil {
		t.Fatalf("ListAuditEvents(%s): %v", name, err)
	}
	if len(ev) == 0 {
		t.Fatalf("no %s event", name)
	}
	return ev[0]
}

// TestAuditEventsCarryTheResource: an event names the kind of resource it
// changed and holds its state at that moment, read in the change's
// transaction, without secrets; a deletion holds the state before it.
func TestAuditEventsCarryTheResource(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			u := createUser(t, db, "dana@example.com")
			hash := "$argon2id$v=19$m=65536,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
			first := "Dana"
			if _, err := db.UpdateUser(ctx, u.ID, store.UserUpdate{FirstName: &first, PasswordHash: &hash}); err != nil {
				t.Fatal(err)
			}
			ev := lastEvent(t, db, "user.updated")
			if ev.Object != store.ObjectUser {
				t.Errorf("user.updated object: got %q, want %q", ev.Object, store.ObjectUser)
			}
			var got store.User
			if err := json.Unmarshal(ev.Data, &got); err != nil {
				t.Fatalf("user.updated data %s: %v", ev.Data, err)
			}
			if got.ID != u.ID || got.FirstName != "Dana" {
				t.Errorf("user.updated data: got id %q first name %q, want %q Dana", got.ID, got.FirstName, u.ID)
			}
			if len(got.EmailAddresses) != 1 || got.EmailAddresses[0].Email != "dana@example.com" {
				t.Errorf("user.updated data addresses: got %+v, want dana@example.com", got.EmailAddresses)
			}
			if strings.Contains(string(ev.Data), "argon2id") || strings.Contains(string(ev.Data), "PasswordHash") {
				t.Errorf("user.updated data holds the password hash: %s", ev.Data)
			}

			// A session's events hold the session.
			now := store.Now()
			sess := store.Session{ID: randid.New("sess"), UserID: u.ID, Status: store.SessionActive,
				FactorVerifiedAt: now, ExpireAt: now + time.Hour.Milliseconds(), LastActiveAt: now}
			if err := db.CreateSession(ctx, store.Client{ID: randid.New("client"), SecretHash: []byte("client-secret-hash")}, sess); err != nil {
				t.Fatal(err)
			}
			ev = lastEvent(t, db, "session.created")
			var gotSess store.Session
			if err := json.Unmarshal(ev.Data, &gotSess); err != nil || ev.Object != store.ObjectSession || gotSess.ID != sess.ID {
				t.Errorf("session.created: got object %q data %s (%v), want session %s", ev.Object, ev.Data, err, sess.ID)
			}
			if _, err := db.EndSession(ctx, sess.ID, store.SessionEnded); err != nil {
				t.Fatal(err)
			}
			ev = lastEvent(t, db, "session.ended")
			if err := json.Unmarshal(ev.Data, &gotSess); err != nil || gotSess.Status != store.SessionEnded {
				t.Errorf("session.ended data: got %s (%v), want status ended", ev.Data, err)
			}

			// Organizations: an update holds the new name, a deletion the last state.
			o := newOrg(t, db, "Acme", "acme", u.ID)
			renamed := "Acme Rockets"
			asDana := store.Guard{ActorID: u.ID, ActorRoles: []string{"org:admin"}, AdminRoles: adminRoles}
			if _, err := db.UpdateOrganization(ctx, o.ID, store.OrganizationUpdate{Name: &renamed}, asDana); err != nil {
				t.Fatal(err)
			}
			var gotOrg store.Organization
			ev = lastEvent(t, db, "organization.updated")
			if err := json.Unmarshal(ev.Data, &gotOrg); err != nil || gotOrg.Name != renamed || ev.UserID != u.ID {
				t.Errorf("organization.updated: got data %s (%v) by %q, want name %q by %q", ev.Data, err, ev.UserID, renamed, u.ID)
			}
			if err := db.DeleteOrganization(ctx, o.ID, asDana); err != nil {
				t.Fatal(err)
			}
			ev = lastEvent(t, db, "organization.deleted")
			if err := json.Unmarshal(ev.Data, &gotOrg); err != nil || gotOrg.ID != o.ID || gotOrg.Name != renamed {
				t.Errorf("organization.deleted data: got %s (%v), want the organization as it was", ev.Data, err)
			}

			// The user's deletion holds the account as it was.
			if err := db.DeleteUser(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			ev = lastEvent(t, db, "user.deleted")
			got = store.User{}
			if err := json.Unmarshal(ev.Data, &got); err != nil || got.ID != u.ID || got.FirstName != "Dana" {
				t.Errorf("user.deleted data: got %s (%v), want the account before deletion", ev.Data, err)
			}
		})
	}
}

// TestAuditEventsOfMachinesAndActors: an M2M token's events name their
// machine, and a change made in an impersonation session names the actor
// even when the caller knew only the session.
func TestAuditEventsOfMachinesAndActors(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			m := newMachine(t, db, "billing")
			tok := newToken(t, db, store.TokenTypeM2M, m.ID, nil)
			ev := lastEvent(t, db, "m2mToken.created")
			if ev.MachineID != m.ID || ev.ResourceID != tok.ID || ev.Object != store.ObjectMachineToken {
				t.Errorf("m2mToken.created: got machine %q resource %q object %q, want %q %q %q",
					ev.MachineID, ev.ResourceID, ev.Object, m.ID, tok.ID, store.ObjectMachineToken)
			}
			if strings.Contains(string(ev.Data), "SecretHash") {
				t.Errorf("m2mToken.created data holds the secret hash: %s", ev.Data)
			}
			if _, err := db.RevokeMachineToken(ctx, store.TokenTypeM2M, tok.ID, m.ID, "rotated"); err != nil {
				t.Fatal(err)
			}
			if ev := lastEvent(t, db, "m2mToken.revoked"); ev.MachineID != m.ID {
				t.Errorf("m2mToken.revoked machine: got %q, want %q", ev.MachineID, m.ID)
			}

			admin := createUser(t, db, "admin@example.com")
			target := createUser(t, db, "target@example.com")
			now := store.Now()
			sess := store.Session{ID: randid.New("sess"), UserID: target.ID, Status: store.SessionActive,
				Actor:            json.RawMessage(`{"sub":"` + admin.ID + `"}`),
				FactorVerifiedAt: now, ExpireAt: now + time.Hour.Milliseconds(), LastActiveAt: now}
			if err := db.CreateSession(ctx, store.Client{ID: randid.New("client"), SecretHash: []byte("h")}, sess); err != nil {
				t.Fatal(err)
			}
			o := newOrg(t, db, "Target Co", "target-co", target.ID)
			asTarget := store.Guard{ActorID: target.ID, ActorRoles: []string{"org:admin"}, AdminRoles: adminRoles}
			inSession := store.WithRequestInfo(ctx, store.RequestInfo{SessionID: sess.ID, IP: "192.0.2.7"})
			renamed := "Renamed while impersonating"
			if _, err := db.UpdateOrganization(inSession, o.ID, store.OrganizationUpdate{Name: &renamed}, asTarget); err != nil {
				t.Fatal(err)
			}
			ev = lastEvent(t, db, "organization.updated")
			if ev.UserID != target.ID || ev.ActorID != admin.ID || ev.SessionID != sess.ID || ev.IP != "192.0.2.7" {
				t.Errorf("organization.updated in an actor session: got user %q actor %q session %q ip %q, want %q %q %q 192.0.2.7",
					ev.UserID, ev.ActorID, ev.SessionID, ev.IP, target.ID, admin.ID, sess.ID)
			}
		})
	}
}

// TestOutboxMigration: migration 7 marks the events recorded before it as
// delivered, so webhooks never replay history, and goes down cleanly.
func TestOutboxMigration(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if err := store.MigrateTo(ctx, db, 6); err != nil {
				t.Fatalf("down to 6: %v", err)
			}
			raw := store.Raw(db)
			if _, err := raw.ExecContext(ctx, `INSERT INTO audit_events (id, name, user_id, actor_id, session_id,
				resource_id, ip, user_agent, payload, created_at)
				VALUES ('aev_old', 'user.created', 'user_x', '', '', 'user_x', '', '', '{}', 1234)`); err != nil {
				t.Fatal(err)
			}
			if err := store.MigrateTo(ctx, db, store.Latest); err != nil {
				t.Fatalf("up from 6: %v", err)
			}
			var dispatched *int64
			if err := raw.QueryRowContext(ctx, `SELECT dispatched_at FROM audit_events WHERE id = 'aev_old'`).Scan(&dispatched); err != nil {
				t.Fatal(err)
			}
			if dispatched == nil || *dispatched != 1234 {
				t.Errorf("an old event's dispatched_at: got %v, want 1234", dispatched)
			}
			u := createUser(t, db, "new@example.com")
			if err := raw.QueryRowContext(ctx, `SELECT dispatched_at FROM audit_events WHERE name = 'user.created' AND user_id = $1`,
				u.ID).Scan(&dispatched); err != nil {
				t.Fatal(err)
			}
			if dispatched != nil {
				t.Errorf("a new event's dispatched_at: got %d, want null (not yet delivered)", *dispatched)
			}
			if err := store.MigrateTo(ctx, db, 6); err != nil {
				t.Fatalf("down to 6 again: %v", err)
			}
			if err := store.MigrateTo(ctx, db, store.Latest); err != nil {
				t.Fatalf("back up: %v", err)
			}
		})
	}
}
