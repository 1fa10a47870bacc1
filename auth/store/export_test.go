package store

import (
	"context"
	"database/sql"
)

// MigrateTo moves db's schema down or up to version, so a test can store
// rows as an older release did and watch a migration handle them.
func MigrateTo(ctx context.Context, db *DB, version int64) error {
	p, err := db.migrations()
	if err != nil {
		return err
	}
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return err
	}
	if version < cur {
		_, err = p.DownTo(ctx, version)
	} else {
		_, err = p.UpTo(ctx, version)
	}
	return err
}

// Latest is a version past every migration: MigrateTo(ctx, db, Latest)
// applies them all.
const Latest = 1 << 40

// Raw returns db's write pool, for statements no store method makes.
func Raw(db *DB) *sql.DB { return db.write }
