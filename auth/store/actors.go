package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// ActorToken is a single-use sign-in ticket that lets ActorUserID act as
// UserID (impersonation). Only the SHA-256 of its secret is stored.
type ActorToken struct {
	ID          string
	UserID      string          // the user to act as
	ActorUserID string          // who acts
	Actor       json.RawMessage // the actor claim, {"sub": ActorUserID, …}
	TokenHash   []byte          `json:"-"`
	Status      string          // pending, accepted, revoked; a pending one past ExpiresAt reads as expired
	SessionID   string          // the session it started, once accepted
	ExpiresAt   int64
	CreatedAt   int64
	UpdatedAt   int64
}

const actorTokenColumns = `id, user_id, actor_user_id, actor, token_hash, status, session_id, expires_at, created_at, updated_at`

func scanActorToken(row rowScanner, now int64) (*ActorToken, error) {
	var t ActorToken
	var actor string
	var sid sql.NullString
	if err := row.Scan(&t.ID, &t.UserID, &t.ActorUserID, &actor, &t.TokenHash, &t.Status, &sid,
		&t.ExpiresAt, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.Actor, t.SessionID = []byte(actor), sid.String
	if t.Status == StatusPending && t.ExpiresAt <= now {
		t.Status = StatusExpired
	}
	return &t, nil
}

// CreateActorToken stores t (status pending). ErrNotFound when either
// user does not exist.
func (db *DB) CreateActorToken(ctx context.Context, t ActorToken) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		_, err := tx.ExecContext(ctx, `INSERT INTO actor_tokens (`+actorTokenColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $8)`,
			t.ID, t.UserID, t.ActorUserID, string(t.Actor), t.TokenHash, StatusPending, t.ExpiresAt, now)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("store: actor token users: %w", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: insert actor token: %w", err)
		}
		return nil
	})
}

// GetActorToken returns the actor token with id.
func (db *DB) GetActorToken(ctx context.Context, id string) (*ActorToken, error) {
	t, err := scanActorToken(db.read.QueryRowContext(ctx, `SELECT `+actorTokenColumns+` FROM actor_tokens WHERE id = $1`, id), Now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: actor token %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get actor token: %w", err)
	}
	return t, nil
}

// RevokeActorToken revokes a pending actor token. ErrNotPending (with the
// token) when it was used, revoked or has expired.
func (db *DB) RevokeActorToken(ctx context.Context, id string) (*ActorToken, error) {
	var t *ActorToken
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		var err error
		t, err = scanActorToken(tx.QueryRowContext(ctx, `SELECT `+actorTokenColumns+` FROM actor_tokens WHERE id = $1`+db.forUpdate, id), now)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: actor token %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: get actor token: %w", err)
		}
		if t.Status != StatusPending {
			return fmt.Errorf("store: actor token is %s: %w", t.Status, ErrNotPending)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE actor_tokens SET status = $1, updated_at = $2 WHERE id = $3`, StatusRevoked, now, id); err != nil {
			return fmt.Errorf("store: revoke actor token: %w", err)
		}
		t.Status, t.UpdatedAt = StatusRevoked, now
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotPending) {
		return nil, err
	}
	return t, err
}

// RedeemActorToken uses the pending, unexpired actor token whose secret
// hashes to tokenHash, exactly once: in one transaction it marks the
// token accepted and creates session s for the token's user with the
// token's actor on client c (as [Store.CreateSession] does; s.UserID and
// s.Actor are set from the token). Any token that is unknown, used,
// revoked or expired, or whose user is banned, is ErrNotFound.
func (db *DB) RedeemActorToken(ctx context.Context, tokenHash []byte, c Client, s Session) (*ActorToken, *Session, error) {
	var t *ActorToken
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		var err error
		t, err = scanActorToken(tx.QueryRowContext(ctx, `UPDATE actor_tokens SET status = $1, session_id = $2, updated_at = $3
			WHERE token_hash = $4 AND status = $5 AND expires_at > $3 RETURNING `+actorTokenColumns,
			StatusAccepted, s.ID, now, tokenHash, StatusPending), now)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: actor token: %w", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: redeem actor token: %w", err)
		}
		var banned int
		err = tx.QueryRowContext(ctx, `SELECT banned FROM users WHERE id = $1`, t.UserID).Scan(&banned)
		if errors.Is(err, sql.ErrNoRows) || banned != 0 {
			return fmt.Errorf("store: actor token user: %w", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: actor token user: %w", err)
		}
		s.UserID, s.Actor = t.UserID, t.Actor
		return createSession(ctx, tx, c, s)
	})
	if err != nil {
		return nil, nil, err
	}
	return t, &s, nil
}
