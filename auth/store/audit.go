package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
)

// AuditEvent is one security-relevant change, recorded in the
// transaction that made it (the audit_events table).
type AuditEvent struct {
	ID         string
	Name       string // Clerk-style: session.created, user.updated, emailAddress.verified, …
	UserID     string // whose account the change concerns
	ActorID    string // the impersonating administrator, if any
	SessionID  string // the session that made the change, if any
	MachineID  string // the machine that made the change, if any
	ResourceID string // the changed resource (a session, an address, …)
	IP         string
	UserAgent  string
	Payload    json.RawMessage // details of the change, no secrets; {} when nil
	// Object names the kind of resource Data holds (one of the Object…
	// constants), and Data is its state at that moment as the store's
	// type (User, Session, Organization, …) in JSON, secrets excluded.
	// The store reads it inside the change's transaction when an event
	// names an Object but carries no Data; a deletion passes the state
	// before it. Webhooks deliver the resource built from it.
	Object    string
	Data      json.RawMessage
	CreatedAt int64
}

// The kinds of resource an audit event's Data can hold.
const (
	ObjectUser         = "user"         // a User with its addresses; read by the event's UserID
	ObjectSession      = "session"      // a Session
	ObjectOrganization = "organization" // an Organization
	ObjectMembership   = "organization_membership"
	ObjectInvitation   = "organization_invitation"
	ObjectMachineToken = "machine_token" // a MachineToken (M2M token or API key)
	ObjectEmail        = "email"         // an Email: a message sent, without its body
)

// RequestInfo is where a change comes from: the request's client IP and
// user agent and, for a signed-in caller, the session (and impersonating
// actor). The store reads it from the context to stamp audit events and
// new sessions; see [WithRequestInfo].
type RequestInfo struct {
	IP, UserAgent      string
	SessionID, ActorID string
	MachineID          string
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

// audit writes ev inside tx, stamped with the context's RequestInfo for
// the fields ev leaves empty. A change made in an impersonation session
// names the actor even when the caller only knew the session, and an
// event that names an Object gets its Data read here, in the change's
// transaction, so it is the state the change left.
func audit(ctx context.Context, tx *sql.Tx, ev AuditEvent) error {
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
	if ev.MachineID == "" {
		ev.MachineID = ri.MachineID
	}
	if ev.ActorID == "" && ev.SessionID != "" {
		actor, err := sessionActor(ctx, tx, ev.SessionID)
		if err != nil {
			return fmt.Errorf("store: audit %s: %w", ev.Name, err)
		}
		ev.ActorID = actor
	}
	payload := "{}"
	if len(ev.Payload) > 0 {
		payload = string(ev.Payload)
	}
	if ev.Object != "" && ev.Data == nil {
		data, err := snapshot(ctx, tx, ev)
		if err != nil {
			return fmt.Errorf("store: audit %s: %w", ev.Name, err)
		}
		ev.Data = data
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_events (id, name, user_id, actor_id, session_id, machine_id,
		resource_id, ip, user_agent, payload, object, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		randid.New("aev"), ev.Name, ev.UserID, ev.ActorID, ev.SessionID, ev.MachineID, ev.ResourceID,
		truncate(ev.IP, 64), truncate(ev.UserAgent, 512), payload, ev.Object, nullString(string(ev.Data)), Now())
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", ev.Name, err)
	}
	return nil
}

// sessionActor returns the user id of the administrator impersonating in
// session sid, or "" for an ordinary session.
func sessionActor(ctx context.Context, q queryer, sid string) (string, error) {
	var actor sql.NullString
	err := q.QueryRowContext(ctx, `SELECT actor FROM sessions WHERE id = $1`, sid).Scan(&actor)
	if errors.Is(err, sql.ErrNoRows) || !actor.Valid || actor.String == "" {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read session actor: %w", err)
	}
	var act struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal([]byte(actor.String), &act); err != nil {
		return "", fmt.Errorf("decode session actor: %w", err)
	}
	return act.Sub, nil
}

// snapshot reads the resource ev names as it is inside tx, as JSON; nil
// when it no longer exists.
func snapshot(ctx context.Context, q queryer, ev AuditEvent) (json.RawMessage, error) {
	var v any
	var err error
	switch ev.Object {
	case ObjectUser:
		v, err = getUserWithEmails(ctx, q, ev.UserID)
	case ObjectSession:
		v, err = getSession(ctx, q, ev.ResourceID)
	case ObjectOrganization:
		v, err = getOrganization(ctx, q, ev.ResourceID, "")
	case ObjectInvitation:
		v, err = getInvitation(ctx, q, "i.id", ev.ResourceID, "")
	case ObjectMachineToken:
		v, err = getMachineTokenByID(ctx, q, ev.ResourceID)
	default:
		return nil, fmt.Errorf("no snapshot of %q", ev.Object)
	}
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", ev.Object, err)
	}
	return marshalData(v)
}

// marshalData is the Data of an audit event for v.
func marshalData(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode audit data: %w", err)
	}
	return b, nil
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
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, user_id, actor_id, session_id, machine_id, resource_id,
		ip, user_agent, payload, object, data, created_at FROM audit_events`+cond+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list audit events: %w", err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var payload string
		var data sql.NullString
		if err := rows.Scan(&e.ID, &e.Name, &e.UserID, &e.ActorID, &e.SessionID, &e.MachineID, &e.ResourceID,
			&e.IP, &e.UserAgent, &payload, &e.Object, &data, &e.CreatedAt); err != nil {
			return nil, 0, fmt.Errorf("store: scan audit event: %w", err)
		}
		e.Payload = json.RawMessage(payload)
		if data.Valid {
			e.Data = json.RawMessage(data.String)
		}
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
