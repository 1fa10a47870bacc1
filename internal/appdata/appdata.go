// Package appdata is the example app's own data: its tables, their
// migrations and the queries its pages and API routes run. Add your tables
// here, not to auth/store: this package has its own migration set (its
// own version table) in the same database, so the store's migrations and
// yours never interleave, and your tables may reference the store's users.
package appdata

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"

	"github.com/gatehouse-dev/gatehouse/auth/store"
)

//go:embed migrations
var migrations embed.FS

// versionTable is goose's bookkeeping table for this package's migrations.
const versionTable = "appdata_db_version"

// ErrNotFound is returned for a row that does not exist or is not the
// caller's.
var ErrNotFound = errors.New("appdata: not found")

// DB runs the app's queries on the store's database.
type DB struct {
	write *sql.DB
	read  store.Reader
}

// Open migrates the app's tables in st's database (after the store's own
// migrations, which Open of the store applied) and returns the queries.
func Open(ctx context.Context, st *store.DB) (*DB, error) {
	write, read := st.SQL()
	dialect, sub := goose.DialectSQLite3, "migrations/sqlite"
	if st.Postgres() {
		dialect, sub = goose.DialectPostgres, "migrations/postgres"
	}
	dir, err := fs.Sub(migrations, sub)
	if err != nil {
		return nil, fmt.Errorf("appdata: migrations: %w", err)
	}
	p, err := goose.NewProvider(dialect, write, dir, goose.WithTableName(versionTable))
	if err != nil {
		return nil, fmt.Errorf("appdata: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return nil, fmt.Errorf("appdata: migrate: %w", err)
	}
	return &DB{write: write, read: read}, nil
}
