package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AddressFailures is the run of failed sign-ins for one address, whether
// or not an account has it.
type AddressFailures struct {
	Failures int
	LastAt   int64 // ms
}

// GetAddressFailures returns the address's run of failures (zero when
// there is none, or the last is older than window).
func (db *DB) GetAddressFailures(ctx context.Context, address string, window time.Duration) (AddressFailures, error) {
	var f AddressFailures
	err := db.read.QueryRowContext(ctx, `SELECT failures, last_at FROM sign_in_failures WHERE address = $1`, address).
		Scan(&f.Failures, &f.LastAt)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && Now()-f.LastAt > window.Milliseconds()) {
		return AddressFailures{}, nil
	}
	if err != nil {
		return f, fmt.Errorf("store: sign-in failures: %w", err)
	}
	return f, nil
}

// RecordAddressFailure adds one failure to the address's run (a run
// older than window starts again) and returns it.
func (db *DB) RecordAddressFailure(ctx context.Context, address string, window time.Duration) (AddressFailures, error) {
	var f AddressFailures
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		err := tx.QueryRowContext(ctx, `INSERT INTO sign_in_failures (address, failures, last_at) VALUES ($1, 1, $2)
			ON CONFLICT (address) DO UPDATE SET
				failures = CASE WHEN sign_in_failures.last_at < $3 THEN 1 ELSE sign_in_failures.failures + 1 END,
				last_at = $2
			RETURNING failures, last_at`, address, now, now-window.Milliseconds()).Scan(&f.Failures, &f.LastAt)
		if err != nil {
			return fmt.Errorf("store: record sign-in failure: %w", err)
		}
		return nil
	})
	return f, err
}

// ClearAddressFailures ends the addresses' runs (a sign-in or a reset
// that worked).
func (db *DB) ClearAddressFailures(ctx context.Context, addresses ...string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		for _, a := range addresses {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sign_in_failures WHERE address = $1`, a); err != nil {
				return fmt.Errorf("store: clear sign-in failures: %w", err)
			}
		}
		return nil
	})
}
