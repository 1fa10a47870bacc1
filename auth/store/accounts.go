package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
)

// Errors of the account writes.
var (
	// ErrTooManyUnverified means the user already has the most unverified
	// addresses allowed.
	ErrTooManyUnverified = errors.New("store: too many unverified email addresses")
	// ErrLastIdentification means the write would leave the user without
	// a verified address to sign in with.
	ErrLastIdentification = errors.New("store: the last verified email address cannot be removed")
	// ErrUnverified means the address must be verified first.
	ErrUnverified = errors.New("store: the email address is not verified")
)

// Attempt statuses, as Clerk names them.
const (
	AttemptMissingRequirements = "missing_requirements"
	AttemptNeedsFirstFactor    = "needs_first_factor"
	AttemptNeedsNewPassword    = "needs_new_password"
	AttemptComplete            = "complete"
	AttemptAbandoned           = "abandoned"
)

// SignUpAttempt is a sign-up waiting for its email code. No user exists
// until it completes; its address is not reserved.
type SignUpAttempt struct {
	ID                   string
	Email                string
	FirstName, LastName  string
	PasswordHash         string
	Status               string
	CreatedUserID        string
	AbandonAt            int64
	CreatedAt, UpdatedAt int64
}

// CreateSignUpAttempt stores a new attempt.
func (db *DB) CreateSignUpAttempt(ctx context.Context, a SignUpAttempt) error {
	now := Now()
	return db.tx(ctx, func(tx *sql.Tx) error {
		// Abandoned attempts go on the way (they hold a password hash).
		if _, err := tx.ExecContext(ctx, `DELETE FROM sign_up_attempts WHERE abandon_at < $1`, now); err != nil {
			return fmt.Errorf("store: prune sign-up attempts: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sign_up_attempts (id, email, first_name, last_name, password_hash,
			status, abandon_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			a.ID, a.Email, a.FirstName, a.LastName, a.PasswordHash, AttemptMissingRequirements, a.AbandonAt, now)
		if err != nil {
			return fmt.Errorf("store: insert sign-up attempt: %w", err)
		}
		return nil
	})
}

// GetSignUpAttempt returns the attempt, or ErrNotFound; one past its
// abandon time reads as abandoned.
func (db *DB) GetSignUpAttempt(ctx context.Context, id string) (*SignUpAttempt, error) {
	var a SignUpAttempt
	var created sql.NullString
	err := db.read.QueryRowContext(ctx, `SELECT id, email, first_name, last_name, password_hash, status, created_user_id,
		abandon_at, created_at, updated_at FROM sign_up_attempts WHERE id = $1`, id).Scan(&a.ID, &a.Email, &a.FirstName,
		&a.LastName, &a.PasswordHash, &a.Status, &created, &a.AbandonAt, &a.CreatedAt, &a.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: sign-up attempt %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get sign-up attempt: %w", err)
	}
	a.CreatedUserID = created.String
	if a.Status == AttemptMissingRequirements && a.AbandonAt <= Now() {
		a.Status = AttemptAbandoned
	}
	return &a, nil
}

// CompleteSignUp creates the attempt's user, with the address verified by
// strategy, and marks the attempt complete, in one transaction. The
// attempt must still be missing its verification (else ErrNotPending); an
// address taken meanwhile is ErrConflict.
func (db *DB) CompleteSignUp(ctx context.Context, attemptID, strategy string) (*User, error) {
	var id string
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var a SignUpAttempt
		err := tx.QueryRowContext(ctx, `SELECT email, first_name, last_name, password_hash FROM sign_up_attempts
			WHERE id = $1 AND status = $2 AND abandon_at > $3`+db.forUpdate, attemptID, AttemptMissingRequirements, Now()).
			Scan(&a.Email, &a.FirstName, &a.LastName, &a.PasswordHash)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: sign-up attempt %q: %w", attemptID, ErrNotPending)
		}
		if err != nil {
			return fmt.Errorf("store: read sign-up attempt: %w", err)
		}
		id, err = insertUser(ctx, tx, NewUser{Email: a.Email, FirstName: a.FirstName, LastName: a.LastName,
			PasswordHash: a.PasswordHash, EmailVerifiedBy: strategy})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sign_up_attempts SET status = $1, created_user_id = $2, password_hash = '',
			updated_at = $3 WHERE id = $4`, AttemptComplete, id, Now(), attemptID)
		if err != nil {
			return fmt.Errorf("store: complete sign-up attempt: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return db.GetUser(ctx, id)
}

// SignInAttempt is a sign-in under way (a password reset, for now).
// UserID is "" when the address belongs to nobody.
type SignInAttempt struct {
	ID                   string
	Email                string
	UserID               string
	Status               string
	ExpireAt             int64
	CreatedAt, UpdatedAt int64
}

// CreateSignInAttempt stores a new attempt.
func (db *DB) CreateSignInAttempt(ctx context.Context, a SignInAttempt) error {
	now := Now()
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sign_in_attempts WHERE expire_at < $1`, now); err != nil {
			return fmt.Errorf("store: prune sign-in attempts: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sign_in_attempts (id, email, user_id, status, expire_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6)`, a.ID, a.Email, nullString(a.UserID), a.Status, a.ExpireAt, now)
		if err != nil {
			return fmt.Errorf("store: insert sign-in attempt: %w", err)
		}
		return nil
	})
}

// GetSignInAttempt returns a sign-in attempt that has not expired, or
// ErrNotFound.
func (db *DB) GetSignInAttempt(ctx context.Context, id string) (*SignInAttempt, error) {
	var a SignInAttempt
	var user sql.NullString
	err := db.read.QueryRowContext(ctx, `SELECT id, email, user_id, status, expire_at, created_at, updated_at
		FROM sign_in_attempts WHERE id = $1 AND expire_at > $2`, id, Now()).
		Scan(&a.ID, &a.Email, &user, &a.Status, &a.ExpireAt, &a.CreatedAt, &a.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: sign-in attempt %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get sign-in attempt: %w", err)
	}
	a.UserID = user.String
	return &a, nil
}

// AdvanceSignInAttempt moves a live attempt from status from to status
// to; ErrNotPending when it is not (or no longer) in from.
func (db *DB) AdvanceSignInAttempt(ctx context.Context, id, from, to string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sign_in_attempts SET status = $1, updated_at = $2
			WHERE id = $3 AND status = $4 AND expire_at > $2`, to, Now(), id, from)
		if err != nil {
			return fmt.Errorf("store: advance sign-in attempt: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: sign-in attempt %q: %w", id, ErrNotPending)
		}
		return nil
	})
}

// ResetPassword completes a password reset in one transaction: the
// attempt (which must be waiting for its new password, else
// ErrNotPending) completes, the user gets hash as password, the failure
// count and lockout are cleared, and with revokeSessions every live
// session of the user is revoked.
func (db *DB) ResetPassword(ctx context.Context, attemptID, userID, hash string, revokeSessions bool) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		res, err := tx.ExecContext(ctx, `UPDATE sign_in_attempts SET status = $1, updated_at = $2
			WHERE id = $3 AND user_id = $4 AND status = $5 AND expire_at > $2`, AttemptComplete, now, attemptID, userID, AttemptNeedsNewPassword)
		if err != nil {
			return fmt.Errorf("store: complete reset: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: sign-in attempt %q: %w", attemptID, ErrNotPending)
		}
		res, err = tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, failed_sign_ins = 0, locked_until = 0,
			updated_at = $2 WHERE id = $3`, hash, now, userID)
		if err != nil {
			return fmt.Errorf("store: reset password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: user %q: %w", userID, ErrNotFound)
		}
		if revokeSessions {
			if err := revokeUserSessions(ctx, tx, userID, ""); err != nil {
				return err
			}
		}
		return audit(ctx, tx, AuditEvent{Name: "user.password_reset", UserID: userID, ResourceID: userID, Object: ObjectUser})
	})
}

// ChangePassword sets a user's password hash and, with revokeOthers,
// revokes every live session of the user but keep.
func (db *DB) ChangePassword(ctx context.Context, userID, hash, keep string, revokeOthers bool) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, Now(), userID)
		if err != nil {
			return fmt.Errorf("store: change password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: user %q: %w", userID, ErrNotFound)
		}
		if revokeOthers {
			if err := revokeUserSessions(ctx, tx, userID, keep); err != nil {
				return err
			}
		}
		name := "user.password_changed"
		if hash == "" {
			name = "user.password_removed"
		}
		return audit(ctx, tx, AuditEvent{Name: name, UserID: userID, ResourceID: userID, Object: ObjectUser})
	})
}

// RevokeUserSessions revokes every live session of the user but keep ("":
// all of them), recording one audit event.
func (db *DB) RevokeUserSessions(ctx context.Context, userID, keep string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := revokeUserSessions(ctx, tx, userID, keep); err != nil {
			return err
		}
		return audit(ctx, tx, AuditEvent{Name: "session.revoked_others", UserID: userID, ResourceID: keep})
	})
}

// RevokeSession revokes a live session of userID; ErrNotFound when the
// user has no such live session.
func (db *DB) RevokeSession(ctx context.Context, userID, sessionID string) (*Session, error) {
	var s *Session
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		s, err = scanSession(tx.QueryRowContext(ctx, `UPDATE sessions SET status = $1, updated_at = $2
			WHERE id = $3 AND user_id = $4 AND status IN ('active', 'pending') RETURNING `+sessionColumns,
			SessionRevoked, Now(), sessionID, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: live session %q: %w", sessionID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: revoke session: %w", err)
		}
		return audit(ctx, tx, AuditEvent{Name: "session.revoked", UserID: userID, ResourceID: sessionID, Object: ObjectSession})
	})
	return s, err
}

// AddEmailAddress adds an unverified address to a user, refused with
// ErrTooManyUnverified when the user has maxUnverified already and with
// ErrConflict when the address is anyone's.
func (db *DB) AddEmailAddress(ctx context.Context, userID, email string, maxUnverified int) (*EmailAddress, error) {
	var out *EmailAddress
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`+db.forUpdate, userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: user %q: %w", userID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: lock user: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM email_addresses WHERE user_id = $1 AND verified = 0`,
			userID).Scan(&n); err != nil {
			return fmt.Errorf("store: count unverified addresses: %w", err)
		}
		if n >= maxUnverified {
			return fmt.Errorf("store: %d unverified addresses: %w", n, ErrTooManyUnverified)
		}
		now := Now()
		e := EmailAddress{ID: randid.New("idn"), UserID: userID, Email: email, CreatedAt: now, UpdatedAt: now}
		_, err = tx.ExecContext(ctx, `INSERT INTO email_addresses (id, user_id, email, is_primary, verified, created_at, updated_at)
			VALUES ($1, $2, $3, 0, 0, $4, $4)`, e.ID, userID, email, now)
		if isUniqueViolation(err) {
			return fmt.Errorf("store: email address taken: %w", ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: insert email address: %w", err)
		}
		out = &e
		return audit(ctx, tx, AuditEvent{Name: "emailAddress.created", UserID: userID, ResourceID: e.ID, Object: ObjectUser})
	})
	return out, err
}

// GetEmailAddress returns the address with id, or ErrNotFound.
func (db *DB) GetEmailAddress(ctx context.Context, id string) (*EmailAddress, error) {
	var e emailRow
	var userID string
	err := db.read.QueryRowContext(ctx, `SELECT user_id, `+emailColumns+` FROM email_addresses WHERE id = $1`, id).
		Scan(append([]any{&userID}, e.dests()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: email address %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get email address: %w", err)
	}
	u := &User{ID: userID}
	e.addTo(u)
	return &u.EmailAddresses[0], nil
}

// VerifyEmailAddress marks the user's address verified by strategy;
// ErrNotFound when the user has no such address.
func (db *DB) VerifyEmailAddress(ctx context.Context, userID, id, strategy string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE email_addresses SET verified = 1, verification_strategy = $1, updated_at = $2
			WHERE id = $3 AND user_id = $4`, strategy, Now(), id, userID)
		if err != nil {
			return fmt.Errorf("store: verify email address: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: email address %q: %w", id, ErrNotFound)
		}
		return audit(ctx, tx, AuditEvent{Name: "emailAddress.verified", UserID: userID, ResourceID: id, Object: ObjectUser})
	})
}

// SetEmailAddressVerified sets an address's verification on an
// operator's word (the backend client): verified by strategy "admin", or
// unverified. ErrNotFound when there is no such address.
func (db *DB) SetEmailAddressVerified(ctx context.Context, id string, verified bool) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		strategy := ""
		if verified {
			strategy = "admin"
		}
		var userID string
		err := tx.QueryRowContext(ctx, `UPDATE email_addresses SET verified = $1, verification_strategy = $2, updated_at = $3
			WHERE id = $4 RETURNING user_id`, boolInt(verified), strategy, Now(), id).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: email address %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: set email verification: %w", err)
		}
		return audit(ctx, tx, AuditEvent{Name: "emailAddress.updated", UserID: userID, ResourceID: id, Object: ObjectUser})
	})
}

// SetPrimaryEmailAddress makes the user's verified address id primary:
// ErrNotFound when the user has no such address, ErrUnverified when it is
// not verified.
func (db *DB) SetPrimaryEmailAddress(ctx context.Context, userID, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		var verified int
		err := tx.QueryRowContext(ctx, `SELECT verified FROM email_addresses WHERE id = $1 AND user_id = $2`+db.forUpdate,
			id, userID).Scan(&verified)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: email address %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: read email address: %w", err)
		}
		if verified == 0 {
			return fmt.Errorf("store: email address %q: %w", id, ErrUnverified)
		}
		now := Now()
		if _, err := tx.ExecContext(ctx, `UPDATE email_addresses SET is_primary = CASE WHEN id = $1 THEN 1 ELSE 0 END,
			updated_at = $2 WHERE user_id = $3`, id, now, userID); err != nil {
			return fmt.Errorf("store: set primary email address: %w", err)
		}
		return audit(ctx, tx, AuditEvent{Name: "user.primary_email_changed", UserID: userID, ResourceID: id, Object: ObjectUser})
	})
}

// DeleteEmailAddress removes the user's address id, refused with
// ErrLastIdentification when it is the user's last verified address.
// Removing the primary address makes the oldest other verified one
// primary.
func (db *DB) DeleteEmailAddress(ctx context.Context, userID, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`+db.forUpdate, userID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: user %q: %w", userID, ErrNotFound)
			}
			return fmt.Errorf("store: lock user: %w", err)
		}
		var primary, verified int
		err := tx.QueryRowContext(ctx, `SELECT is_primary, verified FROM email_addresses WHERE id = $1 AND user_id = $2`,
			id, userID).Scan(&primary, &verified)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: email address %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: read email address: %w", err)
		}
		var others int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM email_addresses WHERE user_id = $1 AND id <> $2 AND verified = 1`,
			userID, id).Scan(&others); err != nil {
			return fmt.Errorf("store: count addresses: %w", err)
		}
		if others == 0 && (verified == 1 || primary == 1) {
			return fmt.Errorf("store: email address %q: %w", id, ErrLastIdentification)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM email_addresses WHERE id = $1`, id); err != nil {
			return fmt.Errorf("store: delete email address: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM verification_codes WHERE subject = $1`, id); err != nil {
			return fmt.Errorf("store: delete address code: %w", err)
		}
		if primary == 1 {
			if _, err := tx.ExecContext(ctx, `UPDATE email_addresses SET is_primary = 1 WHERE id = (SELECT id FROM email_addresses
				WHERE user_id = $1 AND verified = 1 ORDER BY created_at, id LIMIT 1)`, userID); err != nil {
				return fmt.Errorf("store: choose primary address: %w", err)
			}
		}
		return audit(ctx, tx, AuditEvent{Name: "emailAddress.deleted", UserID: userID, ResourceID: id, Object: ObjectUser})
	})
}

// DeleteAccount deletes a user on their own request, in one transaction:
// refused with ErrLastAdmin while they are the last holder of one of
// adminRoles in an organization that has other members; organizations
// where they are the only member are deleted with them; their sessions,
// addresses and memberships go with the row.
func (db *DB) DeleteAccount(ctx context.Context, userID string, adminRoles []string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`+db.forUpdate, userID).Scan(&one); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: user %q: %w", userID, ErrNotFound)
			}
			return fmt.Errorf("store: lock user: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT m.organization_id, m.role,
			(SELECT count(*) FROM organization_memberships o WHERE o.organization_id = m.organization_id AND o.user_id <> $1)
			FROM organization_memberships m WHERE m.user_id = $1`, userID)
		if err != nil {
			return fmt.Errorf("store: list memberships: %w", err)
		}
		type membership struct {
			org, role string
			others    int
		}
		var ms []membership
		for rows.Next() {
			var m membership
			if err := rows.Scan(&m.org, &m.role, &m.others); err != nil {
				rows.Close()
				return fmt.Errorf("store: scan membership: %w", err)
			}
			ms = append(ms, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: list memberships: %w", err)
		}
		for _, m := range ms {
			if m.others == 0 {
				if _, err := tx.ExecContext(ctx, `DELETE FROM organizations WHERE id = $1`, m.org); err != nil {
					return fmt.Errorf("store: delete sole organization: %w", err)
				}
				continue
			}
			if !slices.Contains(adminRoles, m.role) {
				continue
			}
			admins, err := db.countAdmins(ctx, tx, m.org, adminRoles)
			if err != nil {
				return err
			}
			if admins <= 1 {
				return fmt.Errorf("store: last admin of %q: %w", m.org, ErrLastAdmin)
			}
		}
		// The event carries the account as it was: after the delete there
		// is nothing left to read.
		before, err := snapshot(ctx, tx, AuditEvent{Object: ObjectUser, UserID: userID})
		if err != nil {
			return fmt.Errorf("store: delete user: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, userID); err != nil {
			return fmt.Errorf("store: delete user: %w", err)
		}
		return audit(ctx, tx, AuditEvent{Name: "user.deleted", UserID: userID, ResourceID: userID, Object: ObjectUser, Data: before})
	})
}

// countAdmins counts the holders of adminRoles in orgID, with the
// organization row locked (on PostgreSQL) as every membership write locks
// it, so a concurrent demotion cannot pass the same check.
func (db *DB) countAdmins(ctx context.Context, tx *sql.Tx, orgID string, adminRoles []string) (int, error) {
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM organizations WHERE id = $1`+db.forUpdate, orgID).Scan(&one); err != nil {
		return 0, fmt.Errorf("store: lock organization: %w", err)
	}
	args := []any{orgID}
	ph := make([]string, len(adminRoles))
	for i, r := range adminRoles {
		args = append(args, r)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM organization_memberships WHERE organization_id = $1
		AND role IN (`+strings.Join(ph, ", ")+`)`, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count admins: %w", err)
	}
	return n, nil
}

// LockedForever is the locked_until of an account an operator locked: it
// stays locked until unlocked.
const LockedForever int64 = 1 << 62

// SetUserLock locks the user until lockedUntil (ms; [LockedForever] for
// an operator's lock), or unlocks them with 0, which also clears the
// failure count.
func (db *DB) SetUserLock(ctx context.Context, id string, lockedUntil int64) (*User, error) {
	var u *User
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET locked_until = $1,
			failed_sign_ins = CASE WHEN $1 = 0 THEN 0 ELSE failed_sign_ins END, updated_at = $2 WHERE id = $3`,
			lockedUntil, Now(), id)
		if err != nil {
			return fmt.Errorf("store: lock user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: user %q: %w", id, ErrNotFound)
		}
		name := "user.locked"
		if lockedUntil == 0 {
			name = "user.unlocked"
		}
		if err := audit(ctx, tx, AuditEvent{Name: name, UserID: id, ResourceID: id, Object: ObjectUser}); err != nil {
			return err
		}
		u, err = getUser(ctx, tx, id)
		return err
	})
	return u, err
}
