package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations
var migrations embed.FS

// DB is the SQL implementation of [Store].
//
// SQLite allows one writer at a time. DB keeps two pools over the same file:
// a single-connection writer whose transactions begin IMMEDIATE (so two
// writers queue on busy_timeout instead of failing with "database is
// locked" when one upgrades a read lock), and a reader pool that WAL lets
// run beside it.
//
// On PostgreSQL both are one pool, and rows a transaction reads to change
// are locked with SELECT … FOR UPDATE.
type DB struct {
	write     *sql.DB
	read      *readPool
	dialect   goose.Dialect
	forUpdate string // " FOR UPDATE" on PostgreSQL; SQLite's IMMEDIATE transactions already serialise writers
	// skipLocked is " FOR UPDATE SKIP LOCKED" on PostgreSQL, so workers
	// of several instances take different rows of a queue.
	skipLocked string
}

var _ Store = (*DB)(nil)

// Open opens (creating if needed) the database named by a DATABASE_URL
// value, "sqlite:data/gatehouse.db" or "postgres://user@host/db", and
// applies pending migrations.
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	if strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://") {
		return openPostgres(ctx, databaseURL)
	}
	path, ok := strings.CutPrefix(databaseURL, "sqlite:")
	if !ok {
		return nil, fmt.Errorf("store: DATABASE_URL must start with sqlite: or postgres:// (got a value with another scheme)")
	}
	path = strings.TrimPrefix(path, "//")
	if path == "" {
		return nil, errors.New("store: DATABASE_URL names no file")
	}
	if strings.Contains(path, ":memory:") || strings.HasPrefix(path, "file:") {
		// The writer and reader pools must share one file; an in-memory
		// database would be private to each connection.
		return nil, errors.New("store: DATABASE_URL must name a database file (sqlite:path/to/file.db), not an in-memory or URI database")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create database directory: %w", err)
		}
	}
	// synchronous(FULL): an acknowledged write survives power loss as well
	// as kill -9; sign-in and refresh are bound by RSA and argon2id, not by
	// the fsync.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open writer: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open readers: %w", err)
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	db := &DB{write: write, read: newReadPool(read, true), dialect: goose.DialectSQLite3}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openPostgres(ctx context.Context, databaseURL string) (*DB, error) {
	pool, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: open PostgreSQL: %w", err)
	}
	pool.SetMaxOpenConns(20)
	pool.SetMaxIdleConns(10)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{write: pool, read: newReadPool(pool, false), dialect: goose.DialectPostgres, forUpdate: " FOR UPDATE", skipLocked: " FOR UPDATE SKIP LOCKED"}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) migrate(ctx context.Context) error {
	p, err := db.migrations()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// migrations returns the goose provider of the dialect's migrations.
func (db *DB) migrations() (*goose.Provider, error) {
	sub := "migrations/sqlite"
	if db.dialect == goose.DialectPostgres {
		sub = "migrations/postgres"
	}
	dir, err := fs.Sub(migrations, sub)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	p, err := goose.NewProvider(db.dialect, db.write, dir)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// Close closes the pools.
func (db *DB) Close() error {
	if db.read.DB == db.write {
		return db.write.Close()
	}
	return errors.Join(db.read.Close(), db.write.Close())
}

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// CheckIntegrity runs SQLite's integrity and foreign-key checks and returns
// an error describing the first problem found. PostgreSQL enforces both
// itself; there it only pings.
func (db *DB) CheckIntegrity(ctx context.Context) error {
	if db.dialect == goose.DialectPostgres {
		return db.Ping(ctx)
	}
	var res string
	if err := db.read.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("store: integrity_check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("store: integrity_check: %s", res)
	}
	rows, err := db.read.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return fmt.Errorf("store: foreign_key_check: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		return errors.New("store: foreign_key_check found violations")
	}
	return rows.Err()
}

// tx runs fn in a write transaction and commits it when fn returns nil.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	// Also on a panic in fn: never keep the single writer connection.
	defer tx.Rollback() // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// isUniqueViolation reports whether err is a uniqueness failure
// (SQLite's message, or PostgreSQL's SQLSTATE 23505).
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// isForeignKeyViolation reports whether err is a foreign-key failure
// (SQLite's message, or PostgreSQL's SQLSTATE 23503).
func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "23503"
	}
	return strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

// column is one equality filter of a list query; an empty value matches all.
type column struct{ name, value string }

// whereEqual builds " WHERE a = $1 AND …" for the filters with a value
// (or "" for none) and their arguments.
func whereEqual(cols ...column) (string, []any) {
	var where []string
	var args []any
	for _, c := range cols {
		if c.value != "" {
			args = append(args, c.value)
			where = append(where, fmt.Sprintf("%s = $%d", c.name, len(args)))
		}
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func orEmptyObject(m []byte) string {
	if len(m) == 0 {
		return "{}"
	}
	return string(m)
}

// Reader runs read queries; on SQLite it prepares each query once (see
// readPool).
type Reader interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// SQL returns the database's pools, for an app's own tables beside the
// store's (internal/appdata): writes go through write, which on SQLite is
// the single writer connection every write must share; reads through
// read, which keeps its prepared statements.
func (db *DB) SQL() (write *sql.DB, read Reader) { return db.write, db.read }

// Postgres reports whether the database is PostgreSQL (otherwise SQLite).
func (db *DB) Postgres() bool { return db.dialect == goose.DialectPostgres }

// IsForeignKeyViolation reports whether err is a foreign-key failure, for
// an app's own tables that reference the store's.
func IsForeignKeyViolation(err error) bool { return isForeignKeyViolation(err) }

// NewID returns a fresh identifier in the store's shape: prefix, "_" and
// 22 random base62 characters.
func NewID(prefix string) string { return randid.New(prefix) }
