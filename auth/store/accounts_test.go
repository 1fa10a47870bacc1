package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// TestAccountWrites runs the account writes on each dialect: the code
// outcomes, the address rules, the reset that lifts a lockout, the mail
// limits and the audit rows each write leaves.
func TestAccountWrites(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := store.WithRequestInfo(context.Background(), store.RequestInfo{IP: "192.0.2.7", UserAgent: "test-agent"})
			u, err := db.CreateUser(ctx, store.NewUser{Email: "acc@example.com", PasswordHash: "h"})
			if err != nil {
				t.Fatal(err)
			}
			if u.EmailAddresses[0].Verified {
				t.Error("CreateUser without EmailVerifiedBy: got verified, want unverified")
			}

			// Codes.
			now := store.Now()
			hash := []byte("0123456789abcdef0123456789abcdef")
			c := store.Code{Subject: "sua_x", Strategy: "email_code", Email: "acc@example.com", Hash: hash,
				SentAt: now, ExpireAt: now + time.Minute.Milliseconds()}
			if _, err := db.PutCode(ctx, c, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			if _, err := db.PutCode(ctx, c, 30*time.Second); !errors.Is(err, store.ErrTooSoon) {
				t.Errorf("second PutCode at once: got %v, want ErrTooSoon", err)
			}
			if out, _, _ := db.AttemptCode(ctx, "sua_x", []byte("wrong"), 2); out != store.CodeWrong {
				t.Errorf("wrong code: got %v, want CodeWrong", out)
			}
			if out, _, _ := db.AttemptCode(ctx, "sua_x", hash, 2); out != store.CodeCorrect {
				t.Errorf("right code: got %v, want CodeCorrect", out)
			}
			if out, _, _ := db.AttemptCode(ctx, "sua_x", hash, 2); out != store.CodeUsed {
				t.Errorf("used code: got %v, want CodeUsed", out)
			}
			if out, _, _ := db.AttemptCode(ctx, "nothing", hash, 2); out != store.CodeNotSent {
				t.Errorf("no code: got %v, want CodeNotSent", out)
			}

			// Addresses.
			primary := u.EmailAddresses[0].ID
			if err := db.DeleteEmailAddress(ctx, u.ID, primary); !errors.Is(err, store.ErrLastIdentification) {
				t.Errorf("delete the only address: got %v, want ErrLastIdentification", err)
			}
			e, err := db.AddEmailAddress(ctx, u.ID, "acc2@example.com", 2)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.AddEmailAddress(ctx, u.ID, "acc3@example.com", 2); !errors.Is(err, store.ErrTooManyUnverified) {
				t.Errorf("third unverified address over a limit of 2: got %v, want ErrTooManyUnverified", err)
			}
			if err := db.SetPrimaryEmailAddress(ctx, u.ID, e.ID); !errors.Is(err, store.ErrUnverified) {
				t.Errorf("unverified primary: got %v, want ErrUnverified", err)
			}
			if err := db.VerifyEmailAddress(ctx, u.ID, e.ID, "email_code"); err != nil {
				t.Fatal(err)
			}
			if err := db.SetPrimaryEmailAddress(ctx, u.ID, e.ID); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteEmailAddress(ctx, u.ID, primary); err != nil {
				t.Errorf("delete the old, unverified address: %v", err)
			}
			got, _ := db.GetUser(ctx, u.ID)
			if len(got.EmailAddresses) != 1 || got.PrimaryEmailAddressID != e.ID || got.EmailAddresses[0].Strategy != "email_code" {
				t.Errorf("addresses: got %+v primary %s, want only %s, verified by email_code", got.EmailAddresses, got.PrimaryEmailAddressID, e.ID)
			}

			// A reset lifts the lockout.
			if _, err := db.RecordSignInFailure(ctx, u.ID, 1, time.Hour); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateSignInAttempt(ctx, store.SignInAttempt{ID: "sia_x", Email: e.Email, UserID: u.ID,
				Status: store.AttemptNeedsFirstFactor, ExpireAt: store.Now() + time.Hour.Milliseconds()}); err != nil {
				t.Fatal(err)
			}
			if err := db.ResetPassword(ctx, "sia_x", u.ID, "h2", true); !errors.Is(err, store.ErrNotPending) {
				t.Errorf("reset before the code: got %v, want ErrNotPending", err)
			}
			if err := db.AdvanceSignInAttempt(ctx, "sia_x", store.AttemptNeedsFirstFactor, store.AttemptNeedsNewPassword); err != nil {
				t.Fatal(err)
			}
			if err := db.ResetPassword(ctx, "sia_x", u.ID, "h2", true); err != nil {
				t.Fatal(err)
			}
			got, _ = db.GetUser(ctx, u.ID)
			if got.LockedUntil != 0 || got.FailedSignIns != 0 || got.PasswordHash != "h2" {
				t.Errorf("after reset: got locked %d failures %d hash %q, want 0 0 h2", got.LockedUntil, got.FailedSignIns, got.PasswordHash)
			}

			// Mail limits.
			l := store.MailLimits{PerAddress: 2, Window: time.Hour}
			for i := range 3 {
				err := db.RecordMail(ctx, store.MailSend{Kind: "sign_up", Address: "m@example.com", IP: "192.0.2.7"}, l)
				if want := i == 2; errors.Is(err, store.ErrMailLimit) != want {
					t.Errorf("mail %d: got %v, want limited %v", i+1, err, want)
				}
			}

			// Audit rows, stamped with the request.
			ev, total, err := db.ListAuditEvents(ctx, store.AuditFilter{UserID: u.ID, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			names := map[string]bool{}
			for _, x := range ev {
				names[x.Name] = true
				if x.IP != "192.0.2.7" || x.UserAgent != "test-agent" {
					t.Errorf("event %s: got ip %q agent %q, want the request's", x.Name, x.IP, x.UserAgent)
				}
			}
			for _, n := range []string{"user.created", "emailAddress.created", "emailAddress.verified", "user.primary_email_changed", "emailAddress.deleted", "user.password_reset"} {
				if !names[n] {
					t.Errorf("audit events: no %s among %d: %v", n, total, names)
				}
			}
		})
	}
}

// TestMigrationKeepsAddressState: addresses stored before verification
// codes keep their state; the verified ones are reported as vouched for
// ("admin"), the unverified ones stay unverified; down and up again works.
func TestMigrationKeepsAddressState(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if err := store.MigrateTo(ctx, db, 5); err != nil {
				t.Fatalf("down to 5: %v", err)
			}
			raw := store.Raw(db)
			for _, q := range []string{
				`INSERT INTO users (id, created_at, updated_at) VALUES ('user_old', 1, 1)`,
				`INSERT INTO email_addresses (id, user_id, email, is_primary, verified, created_at, updated_at)
					VALUES ('idn_v', 'user_old', 'v@example.com', 1, 1, 1, 1)`,
				`INSERT INTO email_addresses (id, user_id, email, is_primary, verified, created_at, updated_at)
					VALUES ('idn_u', 'user_old', 'u@example.com', 0, 0, 1, 1)`,
			} {
				if _, err := raw.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if err := store.MigrateTo(ctx, db, store.Latest); err != nil {
				t.Fatalf("up from 5: %v", err)
			}
			u, err := db.GetUser(ctx, "user_old")
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range u.EmailAddresses {
				want := map[string]store.EmailAddress{"idn_v": {Verified: true, Strategy: "admin"}, "idn_u": {}}[e.ID]
				if e.Verified != want.Verified || e.Strategy != want.Strategy {
					t.Errorf("%s after the migration: got verified %v strategy %q, want %v %q", e.Email, e.Verified, e.Strategy, want.Verified, want.Strategy)
				}
			}
		})
	}
}

// TestAuditEventsOfOtherWrites: organization, membership, invitation and
// API key writes leave their audit rows in the same transaction.
func TestAuditEventsOfOtherWrites(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			alice := createUser(t, db, "alice@example.com")
			bob := createUser(t, db, "bob@example.com")
			o := newOrg(t, db, "Acme", "acme", alice.ID)
			asAlice := store.Guard{ActorID: alice.ID, ActorRoles: []string{"org:admin"}, AdminRoles: adminRoles}
			if _, err := db.CreateMembership(ctx, o.ID, bob.ID, "org:member", instance); err != nil {
				t.Fatal(err)
			}
			if _, err := db.DeleteMembership(ctx, o.ID, bob.ID, asAlice); err != nil {
				t.Fatal(err)
			}
			key := store.MachineToken{ID: "ak_audit", Type: store.TokenTypeAPIKey, SecretHash: []byte("h"), Subject: alice.ID, CreatedAt: store.Now()}
			if err := db.InsertUserAPIKey(ctx, key, 10); err != nil {
				t.Fatal(err)
			}
			if _, err := db.RevokeMachineToken(ctx, store.TokenTypeAPIKey, "ak_audit", alice.ID, "done"); err != nil {
				t.Fatal(err)
			}
			ev, _, err := db.ListAuditEvents(ctx, store.AuditFilter{UserID: alice.ID, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, e := range ev {
				got[e.Name] = true
			}
			for _, n := range []string{"organization.created", "organizationMembership.deleted", "apiKey.created", "apiKey.revoked"} {
				if !got[n] {
					t.Errorf("no %s event for alice; got %v", n, got)
				}
			}
		})
	}
}
