package store

import (
	"context"
	"database/sql"
	"fmt"
)

// KeyRotation is the part of the store that rotates and retires signing
// keys.
type KeyRotation interface {
	// AllSigningKeys lists every key, retired ones included, newest first.
	AllSigningKeys(ctx context.Context) ([]SigningKey, error)
	// RotateSigningKey stores k as the new active key and schedules every
	// key in use that has no retirement time yet to retire at retireAt
	// (ms), in one transaction.
	RotateSigningKey(ctx context.Context, k SigningKey, retireAt int64) error
	// RetireSigningKeys marks retired the keys whose retirement time is at
	// or before now (ms) and reports how many it retired.
	RetireSigningKeys(ctx context.Context, now int64) (int, error)
}

const signingKeyColumns = `kid, encrypted_private_key, created_at, retired_at, retire_at`

// SigningKeys lists the keys not yet retired: the one a rotation made
// active (no retirement time) first, then newest first. Ordering by the
// retirement time first keeps the choice right when hosts' clocks differ.
func (db *DB) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	return db.signingKeys(ctx, `SELECT `+signingKeyColumns+`
		FROM signing_keys WHERE retired_at = 0
		ORDER BY CASE WHEN retire_at = 0 THEN 0 ELSE 1 END, created_at DESC, kid`)
}

// AllSigningKeys lists every key, retired ones included, newest first.
func (db *DB) AllSigningKeys(ctx context.Context) ([]SigningKey, error) {
	return db.signingKeys(ctx, `SELECT `+signingKeyColumns+`
		FROM signing_keys ORDER BY created_at DESC, kid`)
}

func (db *DB) signingKeys(ctx context.Context, query string) ([]SigningKey, error) {
	rows, err := db.read.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("store: list signing keys: %w", err)
	}
	defer rows.Close()
	var keys []SigningKey
	for rows.Next() {
		var k SigningKey
		if err := rows.Scan(&k.KID, &k.EncryptedPrivateKey, &k.CreatedAt, &k.RetiredAt, &k.RetireAt); err != nil {
			return nil, fmt.Errorf("store: scan signing key: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// InsertSigningKey stores k unless a key with its kid exists.
func (db *DB) InsertSigningKey(ctx context.Context, k SigningKey) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		return insertSigningKey(ctx, tx, k)
	})
}

func insertSigningKey(ctx context.Context, tx *sql.Tx, k SigningKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (kid, encrypted_private_key, created_at, retired_at, retire_at)
		VALUES ($1, $2, $3, 0, 0) ON CONFLICT (kid) DO NOTHING`, k.KID, k.EncryptedPrivateKey, k.CreatedAt)
	if err != nil {
		return fmt.Errorf("store: insert signing key: %w", err)
	}
	return nil
}

// RotateSigningKey stores k as the new active key and schedules the keys
// in use to retire at retireAt.
func (db *DB) RotateSigningKey(ctx context.Context, k SigningKey, retireAt int64) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retire_at = $1
			WHERE retired_at = 0 AND retire_at = 0`, retireAt); err != nil {
			return fmt.Errorf("store: schedule key retirement: %w", err)
		}
		return insertSigningKey(ctx, tx, k)
	})
}

// RetireSigningKeys marks retired the keys whose time has come.
func (db *DB) RetireSigningKeys(ctx context.Context, now int64) (int, error) {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = $1
			WHERE retired_at = 0 AND retire_at > 0 AND retire_at <= $1`, now)
		if err != nil {
			return fmt.Errorf("store: retire signing keys: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
