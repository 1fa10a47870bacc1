package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// postgresURL creates a fresh PostgreSQL database for the test (dropped
// afterwards) and returns its URL. It skips without
// GATEHOUSE_TEST_POSTGRES_URL, unless GATEHOUSE_REQUIRE_POSTGRES=1.
func postgresURL(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("GATEHOUSE_TEST_POSTGRES_URL")
	if admin == "" {
		if os.Getenv("GATEHOUSE_REQUIRE_POSTGRES") == "1" {
			t.Fatal("GATEHOUSE_TEST_POSTGRES_URL is not set; PostgreSQL tests are required")
		}
		t.Skip("GATEHOUSE_TEST_POSTGRES_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)")
	}
	ctx := context.Background()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	name := "gatehouse_app_" + strings.ToLower(rand.Text())
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestPostgresEndToEnd runs the main flows with DATABASE_URL on PostgreSQL.
func TestPostgresEndToEnd(t *testing.T) {
	ta := startApp(t, map[string]string{"DATABASE_URL": postgresURL(t)})
	c := ta.Browser(t)
	res, body := harness.PostForm(t, c, ta.URL+"/sign-up", url.Values{
		"email_address": {"pat@example.com"}, "password": {"a long enough pass"}, "first_name": {"Pat"},
	})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-up: got %d, want 303; body %.200s", res.StatusCode, body)
	}
	res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/api/me", nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/me: got %d %s, want 200", res.StatusCode, body)
	}
	res, body = harness.Do(t, c, http.MethodPost, ta.URL+"/api/items", strings.NewReader(`{"name":"on postgres"}`),
		map[string]string{"Content-Type": "application/json"})
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/items: got %d %s, want 201", res.StatusCode, body)
	}
	res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, map[string]string{"Accept": "text/html"})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "on postgres") {
		t.Fatalf("GET /dashboard: got %d, want 200 listing the item", res.StatusCode)
	}
	// Sign out, then sign in again with the form: the session ended in
	// PostgreSQL no longer refreshes.
	oldClient := ta.Cookie(t, c, "__client")
	res, _ = harness.PostForm(t, c, ta.URL+"/sign-out", url.Values{})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: got %d, want 303", res.StatusCode)
	}
	stale := ta.Browser(t)
	u, _ := url.Parse(ta.URL)
	stale.Jar.SetCookies(u, []*http.Cookie{{Name: "__client", Value: oldClient, Path: "/"}})
	if res, _ = harness.Do(t, stale, http.MethodGet, ta.URL+"/api/me", nil, nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /api/me with the signed-out client cookie: got %d, want 401", res.StatusCode)
	}
	ta.SignIn(t, c, "pat@example.com", "a long enough pass")
	if res, _ = harness.Do(t, c, http.MethodGet, ta.URL+"/readyz", nil, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("GET /readyz: got %d, want 200", res.StatusCode)
	}
}
