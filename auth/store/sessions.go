package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

const sessionColumns = `id, client_id, user_id, status, last_active_organization_id, actor,
	factor_verified_at, expire_at, last_active_at, created_at, updated_at, user_agent, ip_address,
	second_factor_verified_at`

func scanSession(row rowScanner) (*Session, error) {
	var s Session
	var org, actor sql.NullString
	err := row.Scan(&s.ID, &s.ClientID, &s.UserID, &s.Status, &org, &actor,
		&s.FactorVerifiedAt, &s.ExpireAt, &s.LastActiveAt, &s.CreatedAt, &s.UpdatedAt, &s.UserAgent, &s.IPAddress,
		&s.SecondFactorVerifiedAt)
	if err != nil {
		return nil, err
	}
	s.LastActiveOrganizationID = org.String
	if actor.Valid {
		s.Actor = []byte(actor.String)
	}
	return &s, nil
}

// CreateSession stores (or re-keys) the client and inserts the session.
func (db *DB) CreateSession(ctx context.Context, c Client, s Session) error {
	return db.tx(ctx, func(tx *sql.Tx) error { return createSession(ctx, tx, c, s) })
}

func createSession(ctx context.Context, tx *sql.Tx, c Client, s Session) error {
	now := Now()
	res, err := tx.ExecContext(ctx, `UPDATE clients SET secret_hash = $1, last_active_session_id = $2, updated_at = $3
		WHERE id = $4`, c.SecretHash, s.ID, now, c.ID)
	if err != nil {
		return fmt.Errorf("store: rotate client secret: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO clients (id, secret_hash, last_active_session_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $4)`, c.ID, c.SecretHash, s.ID, now); err != nil {
			return fmt.Errorf("store: insert client: %w", err)
		}
	} else {
		// One signed-in session per browser: a new sign-in replaces the old one.
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET status = $1, updated_at = $2
			WHERE client_id = $3 AND status IN ('active', 'pending')`, SessionRemoved, now, c.ID); err != nil {
			return fmt.Errorf("store: end previous sessions: %w", err)
		}
	}
	var actor any
	if len(s.Actor) > 0 {
		actor = string(s.Actor)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13)`,
		s.ID, c.ID, s.UserID, s.Status, nullString(s.LastActiveOrganizationID), actor,
		s.FactorVerifiedAt, s.ExpireAt, s.LastActiveAt, now, truncate(s.UserAgent, 512), truncate(s.IPAddress, 64),
		s.SecondFactorVerifiedAt)
	if err != nil {
		return fmt.Errorf("store: insert session: %w", err)
	}
	ev := AuditEvent{Name: "session.created", UserID: s.UserID, SessionID: s.ID, ResourceID: s.ID, Object: ObjectSession}
	if len(s.Actor) == 0 {
		if s.Strategy != "" {
			ev.Payload, _ = json.Marshal(map[string]string{"strategy": s.Strategy}) // a string cannot fail
		}
		return audit(ctx, tx, ev)
	}
	var act struct {
		Sub string `json:"sub"`
	}
	_ = json.Unmarshal(s.Actor, &act)
	ev.ActorID = act.Sub
	ev.Payload = []byte(`{"actor":` + string(s.Actor) + `}`)
	if err := audit(ctx, tx, ev); err != nil {
		return err
	}
	ev.Name = "impersonation.started"
	return audit(ctx, tx, ev)
}

// GetClient returns the client with id, or ErrNotFound.
func (db *DB) GetClient(ctx context.Context, id string) (*Client, error) {
	var c Client
	var last sql.NullString
	err := db.read.QueryRowContext(ctx, `SELECT id, secret_hash, last_active_session_id, created_at, updated_at
		FROM clients WHERE id = $1`, id).Scan(&c.ID, &c.SecretHash, &last, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: client: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get client: %w", err)
	}
	c.LastActiveSessionID = last.String
	return &c, nil
}

// GetSession returns the session with id, or ErrNotFound.
func (db *DB) GetSession(ctx context.Context, id string) (*Session, error) {
	return getSession(ctx, db.read, id)
}

func getSession(ctx context.Context, q queryer, id string) (*Session, error) {
	s, err := scanSession(q.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get session: %w", err)
	}
	return s, nil
}

// ListSessions returns one page of the sessions matching f, newest first,
// and how many match in all.
func (db *DB) ListSessions(ctx context.Context, f SessionFilter) ([]*Session, int, error) {
	cond, args := whereEqual(column{"user_id", f.UserID}, column{"client_id", f.ClientID}, column{"status", f.Status})
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM sessions`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count sessions: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, min(limit, 500), max(f.Offset, 0))
	rows, err := db.read.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions`+cond+
		fmt.Sprintf(` ORDER BY created_at DESC, id LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list sessions: %w", err)
	}
	defer rows.Close()
	var out []*Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: scan session: %w", err)
		}
		out = append(out, s)
	}
	return out, total, rows.Err()
}

// EndSession moves a live session to status.
func (db *DB) EndSession(ctx context.Context, id, status string) (*Session, error) {
	var s *Session
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		s, err = scanSession(tx.QueryRowContext(ctx, `UPDATE sessions SET status = $1, updated_at = $2
			WHERE id = $3 AND status IN ('active', 'pending') RETURNING `+sessionColumns, status, Now(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: live session %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: end session: %w", err)
		}
		return audit(ctx, tx, AuditEvent{Name: "session." + status, UserID: s.UserID, ResourceID: s.ID, Object: ObjectSession})
	})
	return s, err
}

// TouchSession records activity on a live session.
func (db *DB) TouchSession(ctx context.Context, id string, at int64) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_active_at = $1 WHERE id = $2 AND status IN ('active', 'pending')`, at, id)
		if err != nil {
			return fmt.Errorf("store: touch session: %w", err)
		}
		return nil
	})
}

// SetSessionOrganization makes orgID the live session's active
// organization ("" for the personal account) and sets its status, in one
// transaction that checks the session's user is a member of orgID.
// ErrNotFound when the session is unknown or over; ErrNotMember when the
// user does not belong to the organization.
func (db *DB) SetSessionOrganization(ctx context.Context, id, orgID, status string) (*Session, error) {
	var s *Session
	err := db.tx(ctx, func(tx *sql.Tx) error {
		cur, err := scanSession(tx.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions
			WHERE id = $1 AND status IN ('active', 'pending')`+db.forUpdate, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: live session %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: get session: %w", err)
		}
		if orgID != "" {
			// Locked against a concurrent removal of the membership.
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM organization_memberships
				WHERE organization_id = $1 AND user_id = $2`+db.forUpdate, orgID, cur.UserID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: user %q in organization %q: %w", cur.UserID, orgID, ErrNotMember)
			}
			if err != nil {
				return fmt.Errorf("store: check membership: %w", err)
			}
		}
		s, err = scanSession(tx.QueryRowContext(ctx, `UPDATE sessions SET last_active_organization_id = $1, status = $2,
			updated_at = $3 WHERE id = $4 RETURNING `+sessionColumns, nullString(orgID), status, Now(), id))
		if err != nil {
			return fmt.Errorf("store: set active organization: %w", err)
		}
		return nil
	})
	return s, err
}

// SetSessionStatus moves a live session between active and pending.
// ErrNotFound when the session is unknown or over.
func (db *DB) SetSessionStatus(ctx context.Context, id, status string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET status = $1, updated_at = $2
			WHERE id = $3 AND status IN ('active', 'pending')`, status, Now(), id)
		if err != nil {
			return fmt.Errorf("store: set session status: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: live session %q: %w", id, ErrNotFound)
		}
		return nil
	})
}
