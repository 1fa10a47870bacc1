package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
)

// AuditEvent is one security-relevant change, recorded in the
// transaction that made it (the audit_events table).
type AuditEvent struct {
	ID         string
	Name       string // Clerk-style: session.created, user.updated, email.verified, …
	UserID     string // whose account the change concerns
	ActorID    string // the impersonating administrator, if any
	SessionID  string // the session that made the change, if any
	ResourceID string // the changed resource (a session, an address, …)
	IP         string
	UserAgent  string
	Payload    json.RawMessage // no secrets; {} when nil
	CreatedAt  int64
}

// RequestInfo is where a change comes from: the request's client IP and
// user agent and, for a signed-in caller, the session (and impersonating
// actor). The store reads it from the context to stamp audit events and
// new sessions; see [WithRequestInfo].
type RequestInfo struct {
	IP, UserAgent      string
	SessionID, ActorID string
}

type requestInfoKey struct{}

// WithRequestInfo returns ctx carrying ri for the store's audit events.
func WithRequestInfo(ctx context.Context, ri RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// RequestInfoFrom returns the RequestInfo of ctx (zero without one).
func RequestInfoFrom(ctx context.Context) RequestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(RequestInfo)
	return ri
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// audit writes ev inside tx, stamped with the context's RequestInfo for
// the fields ev leaves empty.
func audit(ctx context.Context, tx execer, ev AuditEvent) error {
	ri := RequestInfoFrom(ctx)
	if ev.IP == "" {
		ev.IP = ri.IP
	}
	if ev.UserAgent == "" {
		ev.UserAgent = ri.UserAgent
	}
	if ev.SessionID == "" {
		ev.SessionID = ri.SessionID
	}
	if ev.ActorID == "" {
		ev.ActorID = ri.ActorID
	}
	payload := "{}"
	if len(ev.Payload) > 0 {
		payload = string(ev.Payload)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_events (id, name, user_id, actor_id, session_id, resource_id,
		ip, user_agent, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		randid.New("aev"), ev.Name, ev.UserID, ev.ActorID, ev.SessionID, ev.ResourceID,
		truncate(ev.IP, 64), truncate(ev.UserAgent, 512), payload, Now())
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", ev.Name, err)
	}
	return nil
}

// Audit records ev on its own, for changes that are not a store write
// (a refused sign-in, for example).
func (db *DB) Audit(ctx context.Context, ev AuditEvent) error {
	return db.tx(ctx, func(tx *sql.Tx) error { return audit(ctx, tx, ev) })
}

// AuditFilter selects audit events. Empty fields match all.
type AuditFilter struct {
	UserID, Name  string
	Limit, Offset int
}

// ListAuditEvents returns one page of events, newest first, and how many
// match in all.
func (db *DB) ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, int, error) {
	cond, args := whereEqual(column{"user_id", f.UserID}, column{"name", f.Name})
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM audit_events`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count audit events: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	args = append(args, min(limit, 500), max(f.Offset, 0))
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, user_id, actor_id, session_id, resource_id, ip, user_agent,
		payload, created_at FROM audit_events`+cond+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list audit events: %w", err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var payload string
		if err := rows.Scan(&e.ID, &e.Name, &e.UserID, &e.ActorID, &e.SessionID, &e.ResourceID, &e.IP, &e.UserAgent,
			&payload, &e.CreatedAt); err != nil {
			return nil, 0, fmt.Errorf("store: scan audit event: %w", err)
		}
		e.Payload = json.RawMessage(payload)
		out = append(out, e)
	}
	return out, total, rows.Err()
}

// truncate cuts s to at most n bytes at a rune boundary: user agents and
// forwarded addresses are the client's to choose.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
