package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// PostgresAdminURL names the environment variable with a PostgreSQL URL
// allowed to create databases, e.g.
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable. Without it
// the PostgreSQL half of these tests is skipped, unless
// GATEHOUSE_REQUIRE_POSTGRES=1 makes that a failure (as in CI).
const PostgresAdminURL = "GATEHOUSE_TEST_POSTGRES_URL"

// openDialects opens a fresh database of each available dialect.
func openDialects(t *testing.T) map[string]*store.DB {
	t.Helper()
	ctx := context.Background()
	out := map[string]*store.DB{}
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	out["sqlite"] = db

	admin := os.Getenv(PostgresAdminURL)
	if admin == "" {
		if os.Getenv("GATEHOUSE_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("%s is not set; PostgreSQL tests are required", PostgresAdminURL)
		}
		t.Logf("skipping PostgreSQL: %s is not set", PostgresAdminURL)
		return out
	}
	out["postgres"] = freshPostgres(t, admin)
	return out
}

// freshPostgres creates a new database for the test and drops it after.
func freshPostgres(t *testing.T, admin string) *store.DB {
	t.Helper()
	ctx := context.Background()
	adminDB, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open postgres admin: %v", err)
	}
	name := "gatehouse_test_" + strings.ToLower(randid.Base62(12))
	if _, err := adminDB.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := store.Open(ctx, u.String())
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		adminDB.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		adminDB.Close()
	})
	return db
}

// TestDialects runs the same store behaviour against SQLite and PostgreSQL.
func TestDialects(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			u, err := db.CreateUser(ctx, store.NewUser{Email: "ann@example.com", FirstName: "Ann", PasswordHash: "x"})
			if err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			got, err := db.GetUserByEmail(ctx, "ann@example.com")
			if err != nil || got.ID != u.ID || got.PrimaryEmail() != "ann@example.com" {
				t.Fatalf("GetUserByEmail: got %+v, %v; want user %s", got, err, u.ID)
			}

			// Concurrent duplicates: exactly one row, the rest ErrConflict.
			var wg sync.WaitGroup
			var mu sync.Mutex
			created, conflicts := 0, 0
			for range 8 {
				wg.Go(func() {
					_, err := db.CreateUser(ctx, store.NewUser{Email: "dup@example.com"})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						created++
					case errors.Is(err, store.ErrConflict):
						conflicts++
					default:
						t.Errorf("CreateUser duplicate: unexpected error %v", err)
					}
				})
			}
			wg.Wait()
			if created != 1 || conflicts != 7 {
				t.Errorf("concurrent duplicates: got %d created and %d conflicts, want 1 and 7", created, conflicts)
			}

			// Concurrent metadata merges must not lose each other's keys.
			for i := range 10 {
				wg.Go(func() {
					patch := fmt.Sprintf(`{"k%d":%d}`, i, i)
					if _, err := db.MergeUserMetadata(ctx, u.ID, store.MetadataPatch{Public: json.RawMessage(patch)}); err != nil {
						t.Errorf("MergeUserMetadata: %v", err)
					}
				})
			}
			wg.Wait()
			got, _ = db.GetUser(ctx, u.ID)
			var meta map[string]int
			if err := json.Unmarshal(got.PublicMetadata, &meta); err != nil || len(meta) != 10 {
				t.Errorf("after 10 concurrent merges: got %s, want 10 keys", got.PublicMetadata)
			}

			// Sessions: create, end once, revoke on ban.
			now := store.Now()
			sess := store.Session{ID: randid.New("sess"), UserID: u.ID, Status: store.SessionActive,
				FactorVerifiedAt: now, ExpireAt: now + time.Hour.Milliseconds(), LastActiveAt: now}
			if err := db.CreateSession(ctx, store.Client{ID: randid.New("client"), SecretHash: []byte("h")}, sess); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			if _, err := db.SetUserBanned(ctx, u.ID, true); err != nil {
				t.Fatalf("SetUserBanned: %v", err)
			}
			s, err := db.GetSession(ctx, sess.ID)
			if err != nil || s.Status != store.SessionRevoked {
				t.Errorf("session after ban: got %v, %v; want status revoked", s, err)
			}
			if _, err := db.EndSession(ctx, sess.ID, store.SessionEnded); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("EndSession on a revoked session: got %v, want ErrNotFound", err)
			}

			// Lockout counter.
			var f store.SignInFailure
			for range 3 {
				if f, err = db.RecordSignInFailure(ctx, u.ID, 3, time.Hour); err != nil {
					t.Fatalf("RecordSignInFailure: %v", err)
				}
			}
			if f.Failures != 3 || f.LockedUntil <= store.Now() {
				t.Errorf("after 3 failures with max 3: got %+v, want locked", f)
			}

			if err := db.DeleteUser(ctx, u.ID); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
			if _, err := db.GetSession(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("session after user deletion: got %v, want ErrNotFound", err)
			}
			if err := db.CheckIntegrity(ctx); err != nil {
				t.Errorf("CheckIntegrity: %v", err)
			}
		})
	}
}
