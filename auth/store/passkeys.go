package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
)

// MaxPasskeys is how many passkeys a user may have.
const MaxPasskeys = 10

// ErrTooMany means a per-user limit (MaxPasskeys) refused the write.
var ErrTooMany = errors.New("store: limit reached")

// Passkey is a WebAuthn credential of a user: what verifying its
// assertions needs, and what the profile lists.
type Passkey struct {
	ID, UserID                         string
	CredentialID, PublicKey            []byte `json:"-"`
	AttestationType, AttestationFormat string
	Transports                         []string
	AAGUID                             []byte
	SignCount                          uint32
	UserVerified                       bool
	BackupEligible, BackupState        bool
	Name                               string
	CreatedAt, UpdatedAt, LastUsedAt   int64
}

// WebAuthnChallenge is a ceremony under way: Session is the library's
// session data (JSON), kept until the ceremony ends or ExpireAt.
type WebAuthnChallenge struct {
	ID, UserID, Purpose string
	Session             []byte
	ExpireAt            int64
}

// PasskeyStore holds what passkeys need.
type PasskeyStore interface {
	PutWebAuthnChallenge(ctx context.Context, c WebAuthnChallenge) error
	// TakeWebAuthnChallenge removes and returns userID's challenge id of
	// purpose ("" for a sign-in's): a challenge is used once, whatever
	// the outcome, and only by its user.
	TakeWebAuthnChallenge(ctx context.Context, id, purpose, userID string) (*WebAuthnChallenge, error)
	// AddPasskey stores p for its user unless they have MaxPasskeys
	// (ErrTooMany); a credential id already stored is ErrConflict.
	AddPasskey(ctx context.Context, p Passkey) (*Passkey, error)
	ListPasskeys(ctx context.Context, userID string) ([]Passkey, error)
	GetPasskeyByCredential(ctx context.Context, credentialID []byte) (*Passkey, error)
	// UsePasskey records a verified assertion: the new sign count and
	// backup state, now as last used.
	UsePasskey(ctx context.Context, id string, signCount uint32, backupState bool) error
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// DeletePasskey removes the user's passkey id unless it is the
	// user's last way to sign in (ErrLastSignInMethod).
	DeletePasskey(ctx context.Context, userID, id string) (*Passkey, error)
}

const passkeyColumns = `id, user_id, credential_id, public_key, attestation_type, attestation_format, transports,
	aaguid, sign_count, user_verified, backup_eligible, backup_state, name, created_at, updated_at, last_used_at`

func scanPasskey(row rowScanner) (*Passkey, error) {
	var p Passkey
	var transports string
	var count int64
	var uv, be, bs int
	if err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &p.AttestationType, &p.AttestationFormat,
		&transports, &p.AAGUID, &count, &uv, &be, &bs, &p.Name, &p.CreatedAt, &p.UpdatedAt, &p.LastUsedAt); err != nil {
		return nil, err
	}
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	p.SignCount, p.UserVerified, p.BackupEligible, p.BackupState = uint32(count), uv != 0, be != 0, bs != 0
	return &p, nil
}

// PutWebAuthnChallenge implements [PasskeyStore]; it also forgets
// challenges that have expired.
func (db *DB) PutWebAuthnChallenge(ctx context.Context, c WebAuthnChallenge) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webauthn_challenges WHERE expire_at < $1`, Now()); err != nil {
			return fmt.Errorf("store: prune webauthn challenges: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webauthn_challenges (id, user_id, purpose, session, expire_at)
			VALUES ($1, $2, $3, $4, $5)`, c.ID, c.UserID, c.Purpose, string(c.Session), c.ExpireAt); err != nil {
			return fmt.Errorf("store: insert webauthn challenge: %w", err)
		}
		return nil
	})
}

// TakeWebAuthnChallenge implements [PasskeyStore].
func (db *DB) TakeWebAuthnChallenge(ctx context.Context, id, purpose, userID string) (*WebAuthnChallenge, error) {
	c := WebAuthnChallenge{ID: id, Purpose: purpose}
	var session string
	err := db.write.QueryRowContext(ctx, `DELETE FROM webauthn_challenges WHERE id = $1 AND purpose = $2 AND user_id = $3
		RETURNING user_id, session, expire_at`, id, purpose, userID).Scan(&c.UserID, &session, &c.ExpireAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: webauthn challenge: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: take webauthn challenge: %w", err)
	}
	c.Session = []byte(session)
	return &c, nil
}

// AddPasskey implements [PasskeyStore]: the count and the insert are one
// transaction on the locked user, so concurrent additions cannot pass
// the limit.
func (db *DB) AddPasskey(ctx context.Context, p Passkey) (*Passkey, error) {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		u, err := getUserLocked(ctx, tx, p.UserID, db.forUpdate)
		if err != nil {
			return err
		}
		if u.PasskeyCount >= MaxPasskeys {
			return fmt.Errorf("store: passkeys of %q: %w", p.UserID, ErrTooMany)
		}
		now := Now()
		p.ID, p.CreatedAt, p.UpdatedAt = randid.New("pk"), now, now
		_, err = tx.ExecContext(ctx, `INSERT INTO passkeys (`+passkeyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, 0)`,
			p.ID, p.UserID, p.CredentialID, p.PublicKey, p.AttestationType, p.AttestationFormat,
			strings.Join(p.Transports, ","), p.AAGUID, int64(p.SignCount), boolInt(p.UserVerified),
			boolInt(p.BackupEligible), boolInt(p.BackupState), p.Name, now)
		if isUniqueViolation(err) {
			return fmt.Errorf("store: passkey credential: %w", ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: insert passkey: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET passkeys = passkeys + 1, updated_at = $1 WHERE id = $2`, now, p.UserID); err != nil {
			return fmt.Errorf("store: count passkey: %w", err)
		}
		return audit(ctx, tx, AuditEvent{Name: "passkey.created", UserID: p.UserID, ResourceID: p.ID, Object: ObjectUser})
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// ListPasskeys implements [PasskeyStore], oldest first.
func (db *DB) ListPasskeys(ctx context.Context, userID string) ([]Passkey, error) {
	return listPasskeys(ctx, db.read, userID)
}

func listPasskeys(ctx context.Context, q queryer, userID string) ([]Passkey, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list passkeys: %w", err)
	}
	defer rows.Close()
	var out []Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan passkey: %w", err)
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// GetPasskeyByCredential implements [PasskeyStore].
func (db *DB) GetPasskeyByCredential(ctx context.Context, credentialID []byte) (*Passkey, error) {
	p, err := scanPasskey(db.read.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = $1`, credentialID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: passkey: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get passkey: %w", err)
	}
	return p, nil
}

// UsePasskey implements [PasskeyStore]. The sign count only moves
// forward in the update itself, so two assertions racing with the same
// count cannot both be recorded.
func (db *DB) UsePasskey(ctx context.Context, id string, signCount uint32, backupState bool) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		res, err := tx.ExecContext(ctx, `UPDATE passkeys SET sign_count = $1, backup_state = $2, last_used_at = $3, updated_at = $3
			WHERE id = $4 AND (sign_count < $1 OR (sign_count = 0 AND $1 = 0))`, int64(signCount), boolInt(backupState), now, id)
		if err != nil {
			return fmt.Errorf("store: use passkey: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: passkey %q sign count: %w", id, ErrReplayed)
		}
		var userID string
		if err := tx.QueryRowContext(ctx, `SELECT user_id FROM passkeys WHERE id = $1`, id).Scan(&userID); err != nil {
			return fmt.Errorf("store: use passkey: %w", err)
		}
		return audit(ctx, tx, AuditEvent{Name: "passkey.used", UserID: userID, ResourceID: id})
	})
}

// RenamePasskey implements [PasskeyStore].
func (db *DB) RenamePasskey(ctx context.Context, userID, id, name string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE passkeys SET name = $1, updated_at = $2 WHERE id = $3 AND user_id = $4`, name, Now(), id, userID)
		if err != nil {
			return fmt.Errorf("store: rename passkey: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: passkey %q: %w", id, ErrNotFound)
		}
		return audit(ctx, tx, AuditEvent{Name: "passkey.updated", UserID: userID, ResourceID: id, Object: ObjectUser})
	})
}

// DeletePasskey implements [PasskeyStore], checking on the locked user
// that another way to sign in remains.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string) (*Passkey, error) {
	var p *Passkey
	err := db.tx(ctx, func(tx *sql.Tx) error {
		u, err := getUserLocked(ctx, tx, userID, db.forUpdate)
		if err != nil {
			return err
		}
		p, err = scanPasskey(tx.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = $1 AND user_id = $2`, id, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: passkey %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: get passkey: %w", err)
		}
		if u.PasswordHash == "" && u.ExternalAccountCount == 0 && u.PasskeyCount <= 1 {
			return fmt.Errorf("store: delete passkey: %w", ErrLastSignInMethod)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE id = $1`, id); err != nil {
			return fmt.Errorf("store: delete passkey: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET passkeys = passkeys - 1, updated_at = $1 WHERE id = $2`, Now(), userID); err != nil {
			return fmt.Errorf("store: count passkey: %w", err)
		}
		return audit(ctx, tx, AuditEvent{Name: "passkey.deleted", UserID: userID, ResourceID: id, Object: ObjectUser})
	})
	return p, err
}
