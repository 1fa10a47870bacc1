package store

import (
	"context"
	"database/sql"
	"fmt"
)

// SigningKeys lists the keys not yet retired, newest first.
func (db *DB) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT kid, encrypted_private_key, created_at, retired_at
		FROM signing_keys WHERE retired_at = 0 ORDER BY created_at DESC, kid`)
	if err != nil {
		return nil, fmt.Errorf("store: list signing keys: %w", err)
	}
	defer rows.Close()
	var keys []SigningKey
	for rows.Next() {
		var k SigningKey
		if err := rows.Scan(&k.KID, &k.EncryptedPrivateKey, &k.CreatedAt, &k.RetiredAt); err != nil {
			return nil, fmt.Errorf("store: scan signing key: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// InsertSigningKey stores k unless a key with its kid exists.
func (db *DB) InsertSigningKey(ctx context.Context, k SigningKey) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (kid, encrypted_private_key, created_at, retired_at)
			VALUES ($1, $2, $3, 0) ON CONFLICT (kid) DO NOTHING`, k.KID, k.EncryptedPrivateKey, k.CreatedAt)
		if err != nil {
			return fmt.Errorf("store: insert signing key: %w", err)
		}
		return nil
	})
}
