package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// AttemptNeedsSecondFactor is a sign-in whose first factor passed and
// that waits for the authenticator or a backup code; no session exists yet.
const AttemptNeedsSecondFactor = "needs_second_factor"

// ErrReplayed means a one-time code (a TOTP step, a backup code) was used
// already.
var ErrReplayed = errors.New("store: code already used")

// TOTP is a user's authenticator app. Secret is sealed by the caller; the
// store never sees it in the clear.
type TOTP struct {
	ID       string
	UserID   string
	Secret   []byte `json:"-"`
	Verified bool
	// LastStep is the last 30-second step whose code was accepted.
	LastStep             int64
	CreatedAt, UpdatedAt int64
}

// MFAStore holds what second factors need.
type MFAStore interface {
	PutTOTP(ctx context.Context, t TOTP) error
	GetTOTP(ctx context.Context, userID string) (*TOTP, error)
	ConfirmTOTP(ctx context.Context, userID string, step int64, backupHashes [][]byte) error
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	UseBackupCode(ctx context.Context, userID string, hash []byte) error
	ReplaceBackupCodes(ctx context.Context, userID string, hashes [][]byte) error
	DeleteSecondFactors(ctx context.Context, userID string, totp, backupCodes bool) (*User, error)
	SetSessionFactors(ctx context.Context, sid string, first, second int64) (*Session, error)
}

// PutTOTP stores t as the user's authenticator in waiting, replacing one
// that was never confirmed; a confirmed one is ErrConflict.
func (db *DB) PutTOTP(ctx context.Context, t TOTP) error {
	now := Now()
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM totps WHERE user_id = $1 AND verified = 0`, t.UserID); err != nil {
			return fmt.Errorf("store: replace totp: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO totps (id, user_id, secret, verified, last_step, created_at, updated_at)
			VALUES ($1, $2, $3, 0, 0, $4, $4)`, t.ID, t.UserID, t.Secret, now)
		switch {
		case isUniqueViolation(err):
			return fmt.Errorf("store: totp of %q: %w", t.UserID, ErrConflict)
		case isForeignKeyViolation(err):
			return fmt.Errorf("store: user %q: %w", t.UserID, ErrNotFound)
		case err != nil:
			return fmt.Errorf("store: insert totp: %w", err)
		}
		return nil
	})
}

// GetTOTP returns the user's authenticator, confirmed or not.
func (db *DB) GetTOTP(ctx context.Context, userID string) (*TOTP, error) {
	var t TOTP
	var verified int
	err := db.read.QueryRowContext(ctx, `SELECT id, user_id, secret, verified, last_step, created_at, updated_at
		FROM totps WHERE user_id = $1`, userID).Scan(&t.ID, &t.UserID, &t.Secret, &verified, &t.LastStep, &t.CreatedAt, &t.UpdatedAt)
	if err := notFoundOr("get totp", err); err != nil {
		return nil, err
	}
	t.Verified = verified != 0
	return &t, nil
}

// ConfirmTOTP enables the user's authenticator in waiting with the step of
// its first code, and replaces the backup codes with backupHashes, in one
// transaction. ErrNotPending when there is none waiting.
func (db *DB) ConfirmTOTP(ctx context.Context, userID string, step int64, backupHashes [][]byte) error {
	now := Now()
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE totps SET verified = 1, last_step = $1, updated_at = $2
			WHERE user_id = $3 AND verified = 0`, step, now, userID)
		if err != nil {
			return fmt.Errorf("store: confirm totp: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: totp of %q: %w", userID, ErrNotPending)
		}
		if err := replaceBackupCodes(ctx, tx, userID, backupHashes); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_enabled = 1, mfa_enabled_at = $1, updated_at = $1
			WHERE id = $2`, now, userID); err != nil {
			return fmt.Errorf("store: enable totp: %w", err)
		}
		return audit(ctx, tx, AuditEvent{Name: "user.totp_enabled", UserID: userID, ResourceID: userID, Object: ObjectUser})
	})
}

// UseTOTPStep records that the code of step was accepted. A step at or
// before the last accepted one is ErrReplayed, decided by one conditional
// update, so two requests with the same code cannot both pass.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE totps SET last_step = $1, updated_at = $2
			WHERE user_id = $3 AND verified = 1 AND last_step < $1`, step, Now(), userID)
		if err != nil {
			return fmt.Errorf("store: use totp step: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: totp step of %q: %w", userID, ErrReplayed)
		}
		return nil
	})
}

// UseBackupCode consumes the backup code whose hash is hash; one unknown
// or used already is ErrReplayed.
func (db *DB) UseBackupCode(ctx context.Context, userID string, hash []byte) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM backup_codes WHERE user_id = $1 AND code_hash = $2`, userID, hash)
		if err != nil {
			return fmt.Errorf("store: use backup code: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: backup code of %q: %w", userID, ErrReplayed)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET backup_codes_left = backup_codes_left - 1, updated_at = $1
			WHERE id = $2`, Now(), userID); err != nil {
			return fmt.Errorf("store: count backup codes: %w", err)
		}
		return audit(ctx, tx, AuditEvent{Name: "user.backup_code_used", UserID: userID, ResourceID: userID, Object: ObjectUser})
	})
}

// ReplaceBackupCodes replaces the user's whole set of backup codes.
func (db *DB) ReplaceBackupCodes(ctx context.Context, userID string, hashes [][]byte) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := replaceBackupCodes(ctx, tx, userID, hashes); err != nil {
			return err
		}
		return audit(ctx, tx, AuditEvent{Name: "user.backup_codes_regenerated", UserID: userID, ResourceID: userID, Object: ObjectUser})
	})
}

func replaceBackupCodes(ctx context.Context, tx *sql.Tx, userID string, hashes [][]byte) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM backup_codes WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("store: replace backup codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO backup_codes (user_id, code_hash) VALUES ($1, $2)`, userID, h); err != nil {
			if isForeignKeyViolation(err) {
				return fmt.Errorf("store: user %q: %w", userID, ErrNotFound)
			}
			return fmt.Errorf("store: insert backup code: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, `UPDATE users SET backup_codes_left = $1, updated_at = $2 WHERE id = $3`, len(hashes), Now(), userID)
	if err != nil {
		return fmt.Errorf("store: count backup codes: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: user %q: %w", userID, ErrNotFound)
	}
	return nil
}

// DeleteSecondFactors removes the user's authenticator (totp) and backup
// codes (backupCodes). Backup codes back up the authenticator, so removing
// it removes them too; the user's second factor is off when neither is
// left (mfa_disabled_at set).
func (db *DB) DeleteSecondFactors(ctx context.Context, userID string, totp, backupCodes bool) (*User, error) {
	var u *User
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		if totp {
			if _, err := tx.ExecContext(ctx, `DELETE FROM totps WHERE user_id = $1`, userID); err != nil {
				return fmt.Errorf("store: delete totp: %w", err)
			}
			backupCodes = true
		}
		if backupCodes {
			if _, err := tx.ExecContext(ctx, `DELETE FROM backup_codes WHERE user_id = $1`, userID); err != nil {
				return fmt.Errorf("store: delete backup codes: %w", err)
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET
			totp_enabled = CASE WHEN $1 = 1 THEN 0 ELSE totp_enabled END,
			backup_codes_left = 0,
			mfa_disabled_at = CASE WHEN totp_enabled = 1 AND $1 = 1 THEN $2 ELSE mfa_disabled_at END,
			updated_at = $2 WHERE id = $3`, boolInt(totp), now, userID)
		if err != nil {
			return fmt.Errorf("store: disable second factors: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: user %q: %w", userID, ErrNotFound)
		}
		name := "user.backup_codes_deleted"
		if totp {
			name = "user.totp_disabled"
		}
		if err := audit(ctx, tx, AuditEvent{Name: name, UserID: userID, ResourceID: userID, Object: ObjectUser}); err != nil {
			return err
		}
		u, err = getUser(ctx, tx, userID)
		return err
	})
	return u, err
}

// SetSessionFactors records that the live session sid verified its first
// factor at first and its second at second (ms; 0 leaves one as it is).
func (db *DB) SetSessionFactors(ctx context.Context, sid string, first, second int64) (*Session, error) {
	var s *Session
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		s, err = scanSession(tx.QueryRowContext(ctx, `UPDATE sessions SET
			factor_verified_at = CASE WHEN CAST($1 AS BIGINT) > 0 THEN CAST($1 AS BIGINT) ELSE factor_verified_at END,
			second_factor_verified_at = CASE WHEN CAST($2 AS BIGINT) > 0 THEN CAST($2 AS BIGINT) ELSE second_factor_verified_at END,
			updated_at = $3 WHERE id = $4 AND status IN ('active', 'pending') RETURNING `+sessionColumns,
			first, second, Now(), sid))
		if err := notFoundOr("set session factors", err); err != nil {
			return err
		}
		return audit(ctx, tx, AuditEvent{Name: "session.reverified", UserID: s.UserID, SessionID: sid, ResourceID: sid, Object: ObjectSession})
	})
	return s, err
}
