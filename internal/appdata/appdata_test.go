package appdata_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/internal/appdata"
)

// openDialects opens the store and the app's data in a fresh database of
// each available dialect (PostgreSQL from GATEHOUSE_TEST_POSTGRES_URL,
// required when GATEHOUSE_REQUIRE_POSTGRES=1).
func openDialects(t *testing.T) map[string]*store.DB {
	t.Helper()
	out := map[string]*store.DB{"sqlite": openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "t.db"))}
	admin := os.Getenv("GATEHOUSE_TEST_POSTGRES_URL")
	if admin == "" {
		if os.Getenv("GATEHOUSE_REQUIRE_POSTGRES") == "1" {
			t.Fatal("GATEHOUSE_TEST_POSTGRES_URL is not set; PostgreSQL tests are required")
		}
		t.Log("skipping PostgreSQL: GATEHOUSE_TEST_POSTGRES_URL is not set")
		return out
	}
	ctx := context.Background()
	adminDB, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("open postgres admin: %v", err)
	}
	name := "gatehouse_appdata_" + strings.ToLower(strings.TrimPrefix(store.NewID("t"), "t_"))
	if _, err := adminDB.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		adminDB.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		adminDB.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	out["postgres"] = openStore(t, u.String())
	return out
}

func openStore(t *testing.T, dbURL string) *store.DB {
	t.Helper()
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openData(t *testing.T, st *store.DB) *appdata.DB {
	t.Helper()
	db, err := appdata.Open(context.Background(), st)
	if err != nil {
		t.Fatalf("appdata.Open: %v", err)
	}
	return db
}

func createUser(t *testing.T, st *store.DB, email string) *store.User {
	t.Helper()
	u, err := st.CreateUser(context.Background(), store.NewUser{Email: email, FirstName: "Test", PasswordHash: "$argon2id$x"})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}

func TestItems(t *testing.T) {
	for name, st := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := openData(t, st)
			a := createUser(t, st, "a@example.com")
			b := createUser(t, st, "b@example.com")
			it, err := db.CreateItem(ctx, a.ID, "first")
			if err != nil {
				t.Fatalf("CreateItem: %v", err)
			}
			if !strings.HasPrefix(it.ID, "item_") {
				t.Errorf("item id: got %q, want the item_ prefix", it.ID)
			}
			if err := db.DeleteItem(ctx, b.ID, it.ID); !errors.Is(err, appdata.ErrNotFound) {
				t.Errorf("deleting another user's item: got %v, want ErrNotFound", err)
			}
			if items, err := db.ListItems(ctx, a.ID); err != nil || len(items) != 1 || items[0].Name != "first" {
				t.Errorf("ListItems: got %v (%v), want the one item", items, err)
			}
			if err := db.DeleteItem(ctx, a.ID, it.ID); err != nil {
				t.Errorf("DeleteItem: got %v, want nil", err)
			}
			if _, err := db.CreateItem(ctx, "user_nobody", "x"); !errors.Is(err, appdata.ErrNotFound) {
				t.Errorf("item of an unknown user: got %v, want ErrNotFound", err)
			}

			// The items table references the store's users: deleting a
			// user deletes their items.
			if _, err := db.CreateItem(ctx, a.ID, "thing"); err != nil {
				t.Fatalf("CreateItem: %v", err)
			}
			if err := st.DeleteUser(ctx, a.ID); err != nil {
				t.Fatalf("DeleteUser: %v", err)
			}
			if items, err := db.ListItems(ctx, a.ID); err != nil || len(items) != 0 {
				t.Errorf("items of the deleted user: got %d (%v), want 0", len(items), err)
			}
			if err := st.CheckIntegrity(ctx); err != nil {
				t.Errorf("CheckIntegrity: %v", err)
			}
		})
	}
}

// The app's writes share SQLite's single writer connection with the
// store's, so neither sees "database is locked".
func TestConcurrentWriters(t *testing.T) {
	st := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "t.db"))
	db := openData(t, st)
	u := createUser(t, st, "writer@example.com")
	const n = 50
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = db.CreateItem(context.Background(), u.ID, fmt.Sprintf("item %d", i))
		})
		wg.Go(func() {
			_, errs[n+i] = st.CreateUser(context.Background(), store.NewUser{Email: fmt.Sprintf("u%d@example.com", i), PasswordHash: "$argon2id$x"})
		})
	}
	for range 10 {
		wg.Go(func() {
			if _, err := db.ListItems(context.Background(), u.ID); err != nil {
				t.Errorf("ListItems beside writers: %v", err)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: got %v, want nil", i, err)
		}
	}
	items, err := db.ListItems(context.Background(), u.ID)
	if err != nil || len(items) != n {
		t.Errorf("got %d items (%v), want %d", len(items), err, n)
	}
}

// A database from before the app had its own migration set already holds
// the items table, made by the store's first migration: opening the app's
// data keeps its rows.
func TestExistingItemsTableKept(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "t.db"))
	u := createUser(t, st, "old@example.com")
	write, _ := st.SQL()
	for _, q := range []string{
		`CREATE TABLE items (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE, name TEXT NOT NULL, created_at INTEGER NOT NULL) STRICT`,
		`CREATE INDEX items_user ON items (user_id, created_at)`,
	} {
		if _, err := write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := write.ExecContext(ctx, `INSERT INTO items VALUES ('item_old', $1, 'kept', 1)`, u.ID); err != nil {
		t.Fatal(err)
	}
	db := openData(t, st)
	items, err := db.ListItems(ctx, u.ID)
	if err != nil || len(items) != 1 || items[0].ID != "item_old" {
		t.Errorf("after migrating: got %v (%v), want the old item", items, err)
	}
	// Opening again applies nothing twice.
	openData(t, st)
}
