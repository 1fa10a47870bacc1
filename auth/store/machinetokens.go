package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Types of [MachineToken], as Clerk names them.
const (
	TokenTypeM2M    = "m2m_token"
	TokenTypeAPIKey = "api_key"
)

// MachineToken is an opaque token: an M2M token of a machine, or an API
// key of a user or an organization. The store keeps only the SHA-256 of
// its secret.
type MachineToken struct {
	ID         string
	Type       string // TokenTypeM2M or TokenTypeAPIKey
	SecretHash []byte `json:"-"`
	// Subject is who the token stands for: mch_… for an M2M token,
	// user_… or org_… for an API key.
	Subject     string
	Name        string // API keys only
	Description string
	Claims      json.RawMessage // a JSON object, or nil
	Scopes      []string
	CreatedBy   string // the user who created an API key, if known
	Expiration  int64  // ms; 0 when it never expires
	Revoked     bool
	// RevocationReason is empty when none was given.
	RevocationReason     string
	LastUsedAt           int64 // ms; 0 when never used
	CreatedAt, UpdatedAt int64
}

// Expired reports whether the token's expiration has passed at now (ms).
func (t *MachineToken) Expired(now int64) bool { return t.Expiration != 0 && t.Expiration <= now }

// MachineTokenFilter selects tokens for [MachineTokenStore.ListMachineTokens].
type MachineTokenFilter struct {
	Type    string // required
	Subject string // required
	// IncludeRevoked and IncludeExpired (at Now, ms) add tokens that no
	// longer verify; by default only live tokens are listed.
	IncludeRevoked, IncludeExpired bool
	Now                            int64
	Limit, Offset                  int
}

// MachineTokenStore keeps M2M tokens and API keys.
type MachineTokenStore interface {
	// InsertMachineToken stores t; ErrNotFound when its machine, user or
	// organization does not exist.
	InsertMachineToken(ctx context.Context, t MachineToken) error
	// InsertOrganizationAPIKey stores t, an API key of the organization
	// t.Subject, authorised by g inside the write's transaction (see
	// [Guard]). With maxLive > 0 it refuses the key with ErrKeyLimit when
	// the organization already has maxLive live keys (neither revoked nor
	// expired at t.CreatedAt). ErrNotFound when the organization does not
	// exist.
	InsertOrganizationAPIKey(ctx context.Context, t MachineToken, maxLive int, g Guard) error
	// InsertUserAPIKey stores t, an API key of the user t.Subject,
	// refusing it with ErrKeyLimit when the user already has maxLive live
	// keys; the count and the insert are one transaction. ErrNotFound
	// when the user does not exist.
	InsertUserAPIKey(ctx context.Context, t MachineToken, maxLive int) error
	// RevokeOrganizationAPIKey revokes the API key id of organization
	// orgID, authorised by g inside the write's transaction; a key of
	// another subject is ErrNotFound. A key already revoked is returned
	// unchanged.
	RevokeOrganizationAPIKey(ctx context.Context, orgID, id, reason string, g Guard) (*MachineToken, error)
	// GetMachineTokenBySecretHash returns the token of type typ whose
	// secret hashes to hash, revoked or expired ones included (the caller
	// judges them), or ErrNotFound. An API key of a banned user is not
	// found.
	GetMachineTokenBySecretHash(ctx context.Context, typ string, hash []byte) (*MachineToken, error)
	GetMachineToken(ctx context.Context, typ, id string) (*MachineToken, error)
	// ListMachineTokens returns one page of a subject's tokens, newest
	// first, and how many match in all.
	ListMachineTokens(ctx context.Context, f MachineTokenFilter) ([]*MachineToken, int, error)
	// RevokeMachineToken revokes the token of type typ with id. When
	// subject is not empty the token must be that subject's, else
	// ErrNotFound. A token already revoked is returned unchanged.
	RevokeMachineToken(ctx context.Context, typ, id, subject, reason string) (*MachineToken, error)
	// TouchMachineToken sets last_used_at to at, unless it is already
	// later than at - interval (ms): one write per token per interval,
	// however many instances and requests use it.
	TouchMachineToken(ctx context.Context, id string, at, interval int64) error
}

const machineTokenColumns = `t.id, t.token_type, t.secret_hash, t.subject, t.name, t.description, t.claims, t.scopes,
	t.created_by, t.expiration, t.revoked, t.revocation_reason, t.last_used_at, t.created_at, t.updated_at`

func scanMachineToken(row rowScanner) (*MachineToken, error) {
	var t MachineToken
	var claims, createdBy, reason sql.NullString
	var scopes string
	var revoked int
	err := row.Scan(&t.ID, &t.Type, &t.SecretHash, &t.Subject, &t.Name, &t.Description, &claims, &scopes,
		&createdBy, &t.Expiration, &revoked, &reason, &t.LastUsedAt, &t.CreatedAt, &t.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if claims.Valid {
		t.Claims = json.RawMessage(claims.String)
	}
	if err := json.Unmarshal([]byte(scopes), &t.Scopes); err != nil {
		return nil, fmt.Errorf("scopes of %s: %w", t.ID, err)
	}
	t.CreatedBy, t.RevocationReason, t.Revoked = createdBy.String, reason.String, revoked != 0
	return &t, nil
}

// ErrKeyLimit means the subject (an organization or a user) has as many
// live API keys as it may.
var ErrKeyLimit = errors.New("store: the organization has reached its API key limit")

// InsertMachineToken stores t.
func (db *DB) InsertMachineToken(ctx context.Context, t MachineToken) error {
	return db.tx(ctx, func(tx *sql.Tx) error { return insertMachineToken(ctx, tx, t) })
}

// InsertOrganizationAPIKey stores an organization's API key, authorised by
// g. The organization row is locked first (orgTx), so concurrent creations
// for one organization count one after another and never exceed maxLive.
func (db *DB) InsertOrganizationAPIKey(ctx context.Context, t MachineToken, maxLive int, g Guard) error {
	if t.Type != TokenTypeAPIKey || !IsOrganizationID(t.Subject) {
		return fmt.Errorf("store: %s for %q is no organization API key", t.Type, t.Subject)
	}
	return db.orgTx(ctx, t.Subject, g, func(tx *sql.Tx) error { return insertLimitedAPIKey(ctx, tx, t, maxLive) })
}

// InsertUserAPIKey stores a user's API key. The user row is locked first
// (SQLite's write transactions are serialised anyway; PostgreSQL takes
// the row FOR UPDATE), so concurrent creations for one user count one
// after another and never exceed maxLive.
func (db *DB) InsertUserAPIKey(ctx context.Context, t MachineToken, maxLive int) error {
	if t.Type != TokenTypeAPIKey || !strings.HasPrefix(t.Subject, "user_") {
		return fmt.Errorf("store: %s for %q is no user API key", t.Type, t.Subject)
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE id = $1`+db.forUpdate, t.Subject).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: user %q: %w", t.Subject, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: lock user: %w", err)
		}
		return insertLimitedAPIKey(ctx, tx, t, maxLive)
	})
}

// insertLimitedAPIKey inserts t inside tx unless its subject already has
// maxLive live keys (neither revoked nor expired at t.CreatedAt); the
// caller has locked the subject's row.
func insertLimitedAPIKey(ctx context.Context, tx *sql.Tx, t MachineToken, maxLive int) error {
	if maxLive > 0 {
		var live int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM machine_tokens
			WHERE token_type = $1 AND subject = $2 AND revoked = 0 AND (expiration = 0 OR expiration > $3)`,
			TokenTypeAPIKey, t.Subject, t.CreatedAt).Scan(&live); err != nil {
			return fmt.Errorf("store: count API keys: %w", err)
		}
		if live >= maxLive {
			return fmt.Errorf("store: %d live keys of %q: %w", live, t.Subject, ErrKeyLimit)
		}
	}
	return insertMachineToken(ctx, tx, t)
}

// insertMachineToken inserts t inside tx. The subject is repeated in the
// column of its kind (machine_id, user_id or org_id), whose foreign key
// refuses an unknown subject and deletes the token with it.
func insertMachineToken(ctx context.Context, tx *sql.Tx, t MachineToken) error {
	scopes, err := json.Marshal(orEmpty(t.Scopes))
	if err != nil {
		return fmt.Errorf("store: encode scopes: %w", err)
	}
	var machineID, userID, orgID sql.NullString
	switch {
	case t.Type == TokenTypeM2M:
		machineID = nullString(t.Subject)
	case strings.HasPrefix(t.Subject, "user_"):
		userID = nullString(t.Subject)
	case IsOrganizationID(t.Subject):
		orgID = nullString(t.Subject)
	default:
		return fmt.Errorf("store: subject %q of a new token: %w", t.Subject, ErrNotFound)
	}
	var claims sql.NullString
	if t.Claims != nil {
		claims = sql.NullString{String: string(t.Claims), Valid: true}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO machine_tokens (id, token_type, secret_hash, subject, machine_id, user_id, org_id,
		name, description, claims, scopes, created_by, expiration, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)`,
		t.ID, t.Type, t.SecretHash, t.Subject, machineID, userID, orgID, t.Name, t.Description, claims, string(scopes),
		nullString(t.CreatedBy), t.Expiration, t.CreatedAt)
	switch {
	case isForeignKeyViolation(err):
		return fmt.Errorf("store: subject %q of a new token: %w", t.Subject, ErrNotFound)
	case isUniqueViolation(err):
		return fmt.Errorf("store: token %q: %w", t.ID, ErrConflict)
	case err != nil:
		return fmt.Errorf("store: insert machine token: %w", err)
	}
	return audit(ctx, tx, tokenEvent(".created", t))
}

// tokenEventName is the audit name of a machine token kind.
func tokenEventName(typ string) string {
	if typ == TokenTypeAPIKey {
		return "apiKey"
	}
	return "m2mToken"
}

// tokenEvent is the audit event of a change to t: an API key's concerns
// its owner, an M2M token's its machine.
func tokenEvent(verb string, t MachineToken) AuditEvent {
	ev := AuditEvent{Name: tokenEventName(t.Type) + verb, UserID: tokenOwner(t), ResourceID: t.ID, Object: ObjectMachineToken}
	if t.Type == TokenTypeM2M {
		ev.MachineID = t.Subject
	}
	return ev
}

// tokenOwner is the user an audit event about t concerns: the user a key
// belongs to, else whoever created it.
func tokenOwner(t MachineToken) string {
	if strings.HasPrefix(t.Subject, "user_") {
		return t.Subject
	}
	return t.CreatedBy
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// GetMachineTokenBySecretHash finds a token by the hash of its secret.
func (db *DB) GetMachineTokenBySecretHash(ctx context.Context, typ string, hash []byte) (*MachineToken, error) {
	// The join drops the API keys of banned users in the same indexed
	// lookup; deleted users and machines take their tokens with them.
	t, err := scanMachineToken(db.read.QueryRowContext(ctx, `SELECT `+machineTokenColumns+`
		FROM machine_tokens t LEFT JOIN users u ON u.id = t.user_id
		WHERE t.secret_hash = $1 AND t.token_type = $2 AND (t.user_id IS NULL OR u.banned = 0)`, hash, typ))
	return t, notFoundOr("get machine token", err)
}

// GetMachineToken returns the token of type typ with id.
func (db *DB) GetMachineToken(ctx context.Context, typ, id string) (*MachineToken, error) {
	t, err := scanMachineToken(db.read.QueryRowContext(ctx, `SELECT `+machineTokenColumns+`
		FROM machine_tokens t WHERE t.id = $1 AND t.token_type = $2`, id, typ))
	return t, notFoundOr("get machine token", err)
}

// getMachineTokenByID returns the token with id, of either type.
func getMachineTokenByID(ctx context.Context, q queryer, id string) (*MachineToken, error) {
	t, err := scanMachineToken(q.QueryRowContext(ctx, `SELECT `+machineTokenColumns+`
		FROM machine_tokens t WHERE t.id = $1`, id))
	return t, notFoundOr("get machine token", err)
}

func notFoundOr(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", op, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return nil
}

// ListMachineTokens returns one page of a subject's tokens, newest first.
func (db *DB) ListMachineTokens(ctx context.Context, f MachineTokenFilter) ([]*MachineToken, int, error) {
	cond := ` FROM machine_tokens t WHERE t.token_type = $1 AND t.subject = $2`
	args := []any{f.Type, f.Subject}
	if !f.IncludeRevoked {
		cond += ` AND t.revoked = 0`
	}
	if !f.IncludeExpired {
		args = append(args, f.Now)
		cond += fmt.Sprintf(` AND (t.expiration = 0 OR t.expiration > $%d)`, len(args))
	}
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*)`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count machine tokens: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 10
	}
	args = append(args, min(limit, 500), max(f.Offset, 0))
	rows, err := db.read.QueryContext(ctx, `SELECT `+machineTokenColumns+cond+
		fmt.Sprintf(` ORDER BY t.created_at DESC, t.id LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list machine tokens: %w", err)
	}
	defer rows.Close()
	out := []*MachineToken{}
	for rows.Next() {
		t, err := scanMachineToken(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: scan machine token: %w", err)
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}

// RevokeMachineToken revokes a token, checking its owner when subject is
// given.
func (db *DB) RevokeMachineToken(ctx context.Context, typ, id, subject, reason string) (*MachineToken, error) {
	var t *MachineToken
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = db.revokeMachineToken(ctx, tx, typ, id, subject, reason)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// RevokeOrganizationAPIKey revokes an organization's API key, authorised
// by g.
func (db *DB) RevokeOrganizationAPIKey(ctx context.Context, orgID, id, reason string, g Guard) (*MachineToken, error) {
	if !IsOrganizationID(orgID) {
		return nil, fmt.Errorf("store: organization %q: %w", orgID, ErrNotFound)
	}
	var t *MachineToken
	err := db.orgTx(ctx, orgID, g, func(tx *sql.Tx) error {
		var err error
		t, err = db.revokeMachineToken(ctx, tx, TokenTypeAPIKey, id, orgID, reason)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (db *DB) revokeMachineToken(ctx context.Context, tx *sql.Tx, typ, id, subject, reason string) (*MachineToken, error) {
	t, err := scanMachineToken(tx.QueryRowContext(ctx, `SELECT `+machineTokenColumns+`
		FROM machine_tokens t WHERE t.id = $1 AND t.token_type = $2`+db.forUpdate, id, typ))
	if err := notFoundOr("revoke machine token", err); err != nil {
		return nil, err
	}
	if subject != "" && t.Subject != subject {
		return nil, fmt.Errorf("store: token %q of another subject: %w", id, ErrNotFound)
	}
	if t.Revoked {
		return t, nil
	}
	now := Now()
	if _, err := tx.ExecContext(ctx, `UPDATE machine_tokens SET revoked = 1, revocation_reason = $1, updated_at = $2
		WHERE id = $3`, nullString(reason), now, id); err != nil {
		return nil, fmt.Errorf("store: revoke machine token: %w", err)
	}
	t.Revoked, t.RevocationReason, t.UpdatedAt = true, reason, now
	if err := audit(ctx, tx, tokenEvent(".revoked", *t)); err != nil {
		return nil, err
	}
	return t, nil
}

// TouchMachineToken records a use of the token, at most once per interval.
func (db *DB) TouchMachineToken(ctx context.Context, id string, at, interval int64) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE machine_tokens SET last_used_at = $1 WHERE id = $2 AND last_used_at <= $3`,
			at, id, at-interval)
		if err != nil {
			return fmt.Errorf("store: touch machine token: %w", err)
		}
		return nil
	})
}
