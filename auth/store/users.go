package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
)

const userColumns = `id, first_name, last_name, password_hash, public_metadata, private_metadata,
	unsafe_metadata, banned, failed_sign_ins, locked_until, last_sign_in_at, created_at, updated_at,
	totp_enabled, backup_codes_left, mfa_enabled_at, mfa_disabled_at, external_accounts, passkeys, external_id`

type rowScanner interface{ Scan(...any) error }

// userRow is a user row being scanned.
type userRow struct {
	u                 User
	pub, priv, unsafe string
	banned, totp      int
	externalID        sql.NullString
}

// dests are the scan destinations of userColumns.
func (r *userRow) dests() []any {
	u := &r.u
	return []any{&u.ID, &u.FirstName, &u.LastName, &u.PasswordHash, &r.pub, &r.priv, &r.unsafe,
		&r.banned, &u.FailedSignIns, &u.LockedUntil, &u.LastSignInAt, &u.CreatedAt, &u.UpdatedAt,
		&r.totp, &u.BackupCodesLeft, &u.MFAEnabledAt, &u.MFADisabledAt, &u.ExternalAccountCount, &u.PasskeyCount, &r.externalID}
}

func (r *userRow) user() *User {
	u := r.u
	u.PublicMetadata, u.PrivateMetadata, u.UnsafeMetadata = []byte(r.pub), []byte(r.priv), []byte(r.unsafe)
	u.Banned = r.banned != 0
	u.TOTPEnabled = r.totp != 0
	u.ExternalID = r.externalID.String
	return &u
}

func scanUser(row rowScanner) (*User, error) {
	var r userRow
	if err := row.Scan(r.dests()...); err != nil {
		return nil, err
	}
	return r.user(), nil
}

const emailColumns = `id, email, is_primary, verified, verification_strategy, created_at, updated_at`

// emailRow is an email_addresses row being scanned; the columns are
// nullable for the outer join of userWithEmails.
type emailRow struct {
	id, email, strategy                 sql.NullString
	primary, verified, created, updated sql.NullInt64
}

func (r *emailRow) dests() []any {
	return []any{&r.id, &r.email, &r.primary, &r.verified, &r.strategy, &r.created, &r.updated}
}

// addTo appends the address to u's (nothing for the NULL row of a user
// without addresses).
func (r *emailRow) addTo(u *User) {
	if !r.id.Valid {
		return
	}
	u.EmailAddresses = append(u.EmailAddresses, EmailAddress{ID: r.id.String, UserID: u.ID, Email: r.email.String,
		Verified: r.verified.Int64 != 0, Strategy: r.strategy.String, CreatedAt: r.created.Int64, UpdatedAt: r.updated.Int64})
	if r.primary.Int64 != 0 {
		u.PrimaryEmailAddressID = r.id.String
	}
}

// loadEmails fills u's email addresses from q (a pool or a transaction).
func loadEmails(ctx context.Context, q queryer, u *User) error {
	rows, err := q.QueryContext(ctx, `SELECT `+emailColumns+`
		FROM email_addresses WHERE user_id = $1 ORDER BY created_at, id`, u.ID)
	if err != nil {
		return fmt.Errorf("store: load email addresses: %w", err)
	}
	defer rows.Close()
	u.EmailAddresses = u.EmailAddresses[:0]
	for rows.Next() {
		var e emailRow
		if err := rows.Scan(e.dests()...); err != nil {
			return fmt.Errorf("store: scan email address: %w", err)
		}
		e.addTo(u)
	}
	return rows.Err()
}

// userWithEmails reads a user and its addresses in one statement: reads
// of a user are on the hot paths (page loaders, token refresh, sign-in).
var userWithEmails = `SELECT u.` + strings.ReplaceAll(userColumns, ", ", ", u.") + `,
	e.id, e.email, e.is_primary, e.verified, e.verification_strategy, e.created_at, e.updated_at
	FROM users u LEFT JOIN email_addresses e ON e.user_id = u.id
	WHERE u.id = $1 ORDER BY e.created_at, e.id`

func getUserWithEmails(ctx context.Context, q queryer, id string) (*User, error) {
	rows, err := q.QueryContext(ctx, userWithEmails, id)
	if err != nil {
		return nil, fmt.Errorf("store: get user: %w", err)
	}
	defer rows.Close()
	var u *User
	for rows.Next() {
		var ur userRow
		var e emailRow
		if err := rows.Scan(append(ur.dests(), e.dests()...)...); err != nil {
			return nil, fmt.Errorf("store: get user: %w", err)
		}
		if u == nil {
			u = ur.user()
		}
		e.addTo(u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: get user: %w", err)
	}
	if u == nil {
		return nil, fmt.Errorf("store: user %q: %w", id, ErrNotFound)
	}
	return u, loadExtras(ctx, q, u)
}

// loadExtras reads what the users row only counts: the external accounts
// and passkeys (none for most users, so most reads stay one statement).
func loadExtras(ctx context.Context, q queryer, u *User) error {
	if u.ExternalAccountCount > 0 {
		if err := loadExternalAccounts(ctx, q, u); err != nil {
			return err
		}
	}
	if u.PasskeyCount > 0 {
		var err error
		if u.Passkeys, err = listPasskeys(ctx, q, u.ID); err != nil {
			return err
		}
	}
	return nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// CreateUser inserts a user with one primary email address, verified
// when nu.EmailVerifiedBy names how.
func (db *DB) CreateUser(ctx context.Context, nu NewUser) (*User, error) {
	var id string
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = insertUser(ctx, tx, nu)
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.GetUser(ctx, id)
}

// insertUser inserts nu and its address inside tx and returns its id; a
// taken address is ErrConflict.
func insertUser(ctx context.Context, tx *sql.Tx, nu NewUser) (string, error) {
	now := Now()
	id := randid.New("user")
	_, err := tx.ExecContext(ctx, `INSERT INTO users (id, first_name, last_name, password_hash,
		public_metadata, private_metadata, unsafe_metadata, created_at, updated_at, external_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)`,
		id, nu.FirstName, nu.LastName, nu.PasswordHash, orEmptyObject(nu.PublicMetadata),
		orEmptyObject(nu.PrivateMetadata), orEmptyObject(nu.UnsafeMetadata), now, nullString(nu.ExternalID))
	if isUniqueViolation(err) {
		return "", fmt.Errorf("store: insert user: %w", ErrExternalIDTaken)
	}
	if err != nil {
		return "", fmt.Errorf("store: insert user: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO email_addresses (id, user_id, email, is_primary, verified, verification_strategy, created_at, updated_at)
		VALUES ($1, $2, $3, 1, $4, $5, $6, $6)`, randid.New("idn"), id, nu.Email, boolInt(nu.EmailVerifiedBy != ""), nu.EmailVerifiedBy, now)
	if isUniqueViolation(err) {
		return "", fmt.Errorf("store: email address taken: %w", ErrConflict)
	}
	if err != nil {
		return "", fmt.Errorf("store: insert email address: %w", err)
	}
	return id, audit(ctx, tx, AuditEvent{Name: "user.created", UserID: id, ResourceID: id, Object: ObjectUser})
}

// GetUser returns the user with id, or ErrNotFound.
func (db *DB) GetUser(ctx context.Context, id string) (*User, error) {
	return getUser(ctx, db.read, id)
}

func getUser(ctx context.Context, q queryer, id string) (*User, error) {
	return getUserLocked(ctx, q, id, "")
}

// getUserLocked reads a user; lock is appended to the query (" FOR UPDATE"
// inside a PostgreSQL transaction that is about to change the row, where
// the outer join of getUserWithEmails may not be locked).
func getUserLocked(ctx context.Context, q queryer, id, lock string) (*User, error) {
	if lock == "" {
		return getUserWithEmails(ctx, q, id)
	}
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: user %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get user: %w", err)
	}
	if err := loadEmails(ctx, q, u); err != nil {
		return nil, err
	}
	return u, loadExtras(ctx, q, u)
}

// GetUserByEmail returns the user owning the (normalised) address, or ErrNotFound.
func (db *DB) GetUserByEmail(ctx context.Context, email string) (*User, error) {
	var id string
	err := db.read.QueryRowContext(ctx, `SELECT user_id FROM email_addresses WHERE email = $1`, email).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: user by email: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: user by email: %w", err)
	}
	return db.GetUser(ctx, id)
}

// ListUsers returns one page of users, newest first, and the total count.
func (db *DB) ListUsers(ctx context.Context, f UserFilter) ([]*User, int, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 10
	}
	limit = min(limit, 500)
	var where []string
	var args []any
	in := func(vals []string) string {
		ph := make([]string, len(vals))
		for i, v := range vals {
			args = append(args, v)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		return "(" + strings.Join(ph, ",") + ")"
	}
	if len(f.Emails) > 0 {
		where = append(where, `id IN (SELECT user_id FROM email_addresses WHERE email IN `+in(f.Emails)+`)`)
	}
	if len(f.IDs) > 0 {
		where = append(where, `id IN `+in(f.IDs))
	}
	if len(f.ExternalIDs) > 0 {
		where = append(where, `external_id IN `+in(f.ExternalIDs))
	}
	if len(f.OrganizationIDs) > 0 {
		where = append(where, `id IN (SELECT user_id FROM organization_memberships WHERE organization_id IN `+in(f.OrganizationIDs)+`)`)
	}
	if f.Query != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(f.Query))+"%")
		n := len(args)
		where = append(where, fmt.Sprintf(`(lower(first_name) LIKE $%d ESCAPE '\' OR lower(last_name) LIKE $%d ESCAPE '\'
			OR id IN (SELECT user_id FROM email_addresses WHERE email LIKE $%d ESCAPE '\'))`, n, n, n))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM users`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count users: %w", err)
	}
	args = append(args, limit, max(f.Offset, 0))
	rows, err := db.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users`+cond+
		fmt.Sprintf(` ORDER BY `+userOrder(f.OldestFirst)+` LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list users: %w", err)
	}
	var users []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("store: scan user: %w", err)
		}
		users = append(users, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: list users: %w", err)
	}
	for _, u := range users {
		if err := loadEmails(ctx, db.read, u); err != nil {
			return nil, 0, err
		}
		if err := loadExtras(ctx, db.read, u); err != nil {
			return nil, 0, err
		}
	}
	return users, total, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UpdateUser sets the non-nil fields of up.
func (db *DB) UpdateUser(ctx context.Context, id string, up UserUpdate) (*User, error) {
	var sets []string
	var args []any
	add := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if up.FirstName != nil {
		add("first_name", *up.FirstName)
	}
	if up.LastName != nil {
		add("last_name", *up.LastName)
	}
	if up.PasswordHash != nil {
		add("password_hash", *up.PasswordHash)
	}
	if up.ExternalID != nil {
		add("external_id", nullString(*up.ExternalID))
	}
	if up.PublicMetadata != nil {
		add("public_metadata", string(up.PublicMetadata))
	}
	if up.PrivateMetadata != nil {
		add("private_metadata", string(up.PrivateMetadata))
	}
	if up.UnsafeMetadata != nil {
		add("unsafe_metadata", string(up.UnsafeMetadata))
	}
	add("updated_at", Now())
	args = append(args, id)
	var u *User
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET `+strings.Join(sets, ", ")+fmt.Sprintf(` WHERE id = $%d`, len(args)), args...)
		if isUniqueViolation(err) {
			return fmt.Errorf("store: update user: %w", ErrExternalIDTaken)
		}
		if err != nil {
			return fmt.Errorf("store: update user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: user %q: %w", id, ErrNotFound)
		}
		if up.RevokeSessions {
			if err := revokeUserSessions(ctx, tx, id, ""); err != nil {
				return err
			}
		}
		if err := audit(ctx, tx, AuditEvent{Name: "user.updated", UserID: id, ResourceID: id, Object: ObjectUser}); err != nil {
			return err
		}
		u, err = getUser(ctx, tx, id)
		return err
	})
	return u, err
}

// revokeUserSessions revokes every live session of the user but keep.
func revokeUserSessions(ctx context.Context, tx *sql.Tx, userID, keep string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET status = $1, updated_at = $2
		WHERE user_id = $3 AND status IN ('active', 'pending') AND id <> $4`, SessionRevoked, Now(), userID, keep); err != nil {
		return fmt.Errorf("store: revoke sessions: %w", err)
	}
	return nil
}

// DeleteUser deletes the user; their sessions, addresses and items go with it.
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		before, err := snapshot(ctx, tx, AuditEvent{Object: ObjectUser, UserID: id})
		if err != nil {
			return fmt.Errorf("store: delete user: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("store: delete user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: user %q: %w", id, ErrNotFound)
		}
		return audit(ctx, tx, AuditEvent{Name: "user.deleted", UserID: id, ResourceID: id, Object: ObjectUser, Data: before})
	})
}

// SetUserBanned bans or unbans a user; banning revokes their live sessions.
func (db *DB) SetUserBanned(ctx context.Context, id string, banned bool) (*User, error) {
	var u *User
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		res, err := tx.ExecContext(ctx, `UPDATE users SET banned = $1, updated_at = $2 WHERE id = $3`, boolInt(banned), now, id)
		if err != nil {
			return fmt.Errorf("store: ban user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: user %q: %w", id, ErrNotFound)
		}
		if banned {
			if err := revokeUserSessions(ctx, tx, id, ""); err != nil {
				return err
			}
		}
		name := "user.unbanned"
		if banned {
			name = "user.banned"
		}
		if err := audit(ctx, tx, AuditEvent{Name: name, UserID: id, ResourceID: id, Object: ObjectUser}); err != nil {
			return err
		}
		u, err = getUser(ctx, tx, id)
		return err
	})
	return u, err
}

// RecordSignInFailure counts a failed attempt and locks the account at maxFailures.
func (db *DB) RecordSignInFailure(ctx context.Context, userID string, maxFailures int, lockFor time.Duration) (SignInFailure, error) {
	var out SignInFailure
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		// A lock that has run out starts a fresh count.
		err := tx.QueryRowContext(ctx, `UPDATE users SET
			failed_sign_ins = CASE WHEN locked_until > 0 AND locked_until <= $1 THEN 1 ELSE failed_sign_ins + 1 END,
			locked_until = CASE WHEN locked_until > 0 AND locked_until <= $1 THEN 0 ELSE locked_until END,
			updated_at = $1
			WHERE id = $2 RETURNING failed_sign_ins, locked_until`, now, userID).Scan(&out.Failures, &out.LockedUntil)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: user %q: %w", userID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: record sign-in failure: %w", err)
		}
		if out.Failures >= maxFailures && out.LockedUntil <= now {
			out.LockedUntil = now + lockFor.Milliseconds()
			if _, err := tx.ExecContext(ctx, `UPDATE users SET locked_until = $1 WHERE id = $2`, out.LockedUntil, userID); err != nil {
				return fmt.Errorf("store: lock user: %w", err)
			}
		}
		return nil
	})
	return out, err
}

// RecordSignIn resets the failure count and stamps the sign-in time,
// unless the account is locked.
func (db *DB) RecordSignIn(ctx context.Context, userID string) (int64, error) {
	var lockedUntil int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		err := tx.QueryRowContext(ctx, `SELECT locked_until FROM users WHERE id = $1`+db.forUpdate, userID).Scan(&lockedUntil)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: user %q: %w", userID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: record sign-in: %w", err)
		}
		if lockedUntil > now {
			return nil
		}
		lockedUntil = 0
		if _, err := tx.ExecContext(ctx, `UPDATE users SET failed_sign_ins = 0, locked_until = 0,
			last_sign_in_at = $1, updated_at = $1 WHERE id = $2`, now, userID); err != nil {
			return fmt.Errorf("store: record sign-in: %w", err)
		}
		return nil
	})
	return lockedUntil, err
}

func userOrder(oldestFirst bool) string {
	if oldestFirst {
		return "created_at, id"
	}
	return "created_at DESC, id"
}
