package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
)

// Webhook message statuses.
const (
	WebhookPending   = "pending"
	WebhookSucceeded = "succeeded"
	WebhookFailed    = "failed"
)

// WebhookEndpoint is where webhook events go. Secret is sealed by the
// caller; Events filters by event type (empty: every event).
type WebhookEndpoint struct {
	ID, URL              string
	Secret               []byte `json:"-"`
	Events               []string
	Description          string
	Disabled             bool
	CreatedAt, UpdatedAt int64
}

// Wants reports whether the endpoint takes events of type t. A disabled
// endpoint still does: its messages wait until it is enabled again.
func (e *WebhookEndpoint) Wants(t string) bool {
	return len(e.Events) == 0 || slices.Contains(e.Events, t)
}

// WebhookMessage is one event for one endpoint; its ID is the svix-id of
// every attempt.
type WebhookMessage struct {
	ID, EndpointID, EventID, EventType string
	Payload                            []byte
	Status                             string
	Attempts                           int
	NextAttemptAt                      int64
	LastStatus                         int
	LastError                          string
	CreatedAt, UpdatedAt               int64
}

// WebhookAttempt is one try at delivering a message.
type WebhookAttempt struct {
	ID, MessageID string
	StatusCode    int
	Error         string
	DurationMS    int64
	CreatedAt     int64
}

// WebhookMessageFilter selects messages; empty fields match all.
type WebhookMessageFilter struct {
	EndpointID, Status string
	Limit, Offset      int
}

// WebhookStore holds webhook endpoints and the delivery of their
// messages.
type WebhookStore interface {
	CreateWebhookEndpoint(ctx context.Context, e WebhookEndpoint) (*WebhookEndpoint, error)
	ListWebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error)
	GetWebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error)
	SetWebhookEndpointDisabled(ctx context.Context, id string, disabled bool) error
	DeleteWebhookEndpoint(ctx context.Context, id string) error
	// FanOutEvents takes up to limit events not yet dispatched, oldest
	// first, and in one transaction makes a message for each endpoint
	// that wants it (build gives the event's type and payload; ok false
	// means no webhook) and marks the events dispatched.
	FanOutEvents(ctx context.Context, limit int, build func(AuditEvent) (eventType string, payload []byte, ok bool)) (int, error)
	// EnqueueWebhookMessage adds one message (a test event).
	EnqueueWebhookMessage(ctx context.Context, m WebhookMessage) (*WebhookMessage, error)
	// ClaimWebhookMessages leases up to limit pending messages due at now
	// until leaseUntil: no other worker takes them meanwhile.
	ClaimWebhookMessages(ctx context.Context, now, leaseUntil int64, limit int) ([]WebhookMessage, error)
	// RecordWebhookAttempt stores an attempt and the message's new state:
	// status, and when pending, the next attempt's time.
	RecordWebhookAttempt(ctx context.Context, a WebhookAttempt, status string, next int64) error
	ListWebhookMessages(ctx context.Context, f WebhookMessageFilter) ([]WebhookMessage, int, error)
	ListWebhookAttempts(ctx context.Context, messageID string) ([]WebhookAttempt, error)
	// RetryWebhookMessage makes a message pending again, due now.
	RetryWebhookMessage(ctx context.Context, id string) error
	// PostponeWebhookMessage moves a pending message's next attempt to
	// next without counting an attempt (its endpoint is paused).
	PostponeWebhookMessage(ctx context.Context, id string, next int64) error
}

const endpointColumns = `id, url, secret, events, description, disabled, created_at, updated_at`

func scanEndpoint(row rowScanner) (*WebhookEndpoint, error) {
	var e WebhookEndpoint
	var events string
	var disabled int
	if err := row.Scan(&e.ID, &e.URL, &e.Secret, &events, &e.Description, &disabled, &e.CreatedAt, &e.UpdatedAt); err != nil {
		return nil, err
	}
	if events != "" {
		e.Events = strings.Split(events, ",")
	}
	e.Disabled = disabled != 0
	return &e, nil
}

// CreateWebhookEndpoint implements [WebhookStore].
func (db *DB) CreateWebhookEndpoint(ctx context.Context, e WebhookEndpoint) (*WebhookEndpoint, error) {
	now := Now()
	e.ID, e.CreatedAt, e.UpdatedAt = randid.New("ep"), now, now
	_, err := db.write.ExecContext(ctx, `INSERT INTO webhook_endpoints (`+endpointColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, e.ID, e.URL, e.Secret, strings.Join(e.Events, ","), e.Description,
		boolInt(e.Disabled), now)
	if err != nil {
		return nil, fmt.Errorf("store: insert webhook endpoint: %w", err)
	}
	return &e, nil
}

// ListWebhookEndpoints implements [WebhookStore], oldest first.
func (db *DB) ListWebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error) {
	return listEndpoints(ctx, db.read)
}

func listEndpoints(ctx context.Context, q queryer) ([]WebhookEndpoint, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list webhook endpoints: %w", err)
	}
	defer rows.Close()
	var out []WebhookEndpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan webhook endpoint: %w", err)
		}
		out = append(out, *e)
	}
	return out, rows.Err()
}

// GetWebhookEndpoint implements [WebhookStore].
func (db *DB) GetWebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error) {
	e, err := scanEndpoint(db.read.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: webhook endpoint %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get webhook endpoint: %w", err)
	}
	return e, nil
}

// SetWebhookEndpointDisabled implements [WebhookStore]. Resuming makes
// the endpoint's waiting messages due at once.
func (db *DB) SetWebhookEndpointDisabled(ctx context.Context, id string, disabled bool) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET disabled = $1, updated_at = $2 WHERE id = $3`,
			boolInt(disabled), now, id)
		if err := affectedOne(res, err, "webhook endpoint", id); err != nil || disabled {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_messages SET next_attempt_at = $1, updated_at = $1
			WHERE endpoint_id = $2 AND status = 'pending'`, now, id); err != nil {
			return fmt.Errorf("store: resume webhook messages: %w", err)
		}
		return nil
	})
}

// DeleteWebhookEndpoint implements [WebhookStore]; its messages go with it.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	res, err := db.write.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id)
	return affectedOne(res, err, "webhook endpoint", id)
}

func affectedOne(res sql.Result, err error, what, id string) error {
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: %s %q: %w", what, id, ErrNotFound)
	}
	return nil
}

// FanOutEvents implements [WebhookStore]. On PostgreSQL the events are
// locked with SKIP LOCKED, so instances fanning out at once take
// different events; SQLite's single writer serialises them.
func (db *DB) FanOutEvents(ctx context.Context, limit int, build func(AuditEvent) (string, []byte, bool)) (int, error) {
	// Most ticks find nothing: ask the read pool (the partial index)
	// before taking the single writer.
	if ok, err := db.exists(ctx, `SELECT 1 FROM audit_events WHERE dispatched_at IS NULL LIMIT 1`); err != nil || !ok {
		return 0, err
	}
	n := 0
	err := db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, name, user_id, actor_id, session_id, machine_id, resource_id,
			ip, user_agent, payload, object, data, created_at FROM audit_events
			WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT $1`+db.skipLocked, limit)
		if err != nil {
			return fmt.Errorf("store: outbox: %w", err)
		}
		var events []AuditEvent
		for rows.Next() {
			var e AuditEvent
			var payload string
			var data sql.NullString
			if err := rows.Scan(&e.ID, &e.Name, &e.UserID, &e.ActorID, &e.SessionID, &e.MachineID, &e.ResourceID,
				&e.IP, &e.UserAgent, &payload, &e.Object, &data, &e.CreatedAt); err != nil {
				rows.Close()
				return fmt.Errorf("store: scan outbox: %w", err)
			}
			e.Payload = json.RawMessage(payload)
			if data.Valid {
				e.Data = json.RawMessage(data.String)
			}
			events = append(events, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: outbox: %w", err)
		}
		if len(events) == 0 {
			return nil
		}
		endpoints, err := listEndpoints(ctx, tx)
		if err != nil {
			return err
		}
		now := Now()
		for _, ev := range events {
			if t, payload, ok := build(ev); ok {
				for _, ep := range endpoints {
					if !ep.Wants(t) {
						continue
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_messages (id, endpoint_id, event_id, event_type, payload,
						status, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6, $6)
						ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
						randid.New("msg"), ep.ID, ev.ID, t, string(payload), now); err != nil {
						return fmt.Errorf("store: insert webhook message: %w", err)
					}
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE audit_events SET dispatched_at = $1 WHERE id = $2`, now, ev.ID); err != nil {
				return fmt.Errorf("store: mark dispatched: %w", err)
			}
			n++
		}
		return nil
	})
	return n, err
}

const messageColumns = `id, endpoint_id, event_id, event_type, payload, status, attempts, next_attempt_at,
	last_status, last_error, created_at, updated_at`

func scanMessage(row rowScanner) (*WebhookMessage, error) {
	var m WebhookMessage
	var payload string
	if err := row.Scan(&m.ID, &m.EndpointID, &m.EventID, &m.EventType, &payload, &m.Status, &m.Attempts,
		&m.NextAttemptAt, &m.LastStatus, &m.LastError, &m.CreatedAt, &m.UpdatedAt); err != nil {
		return nil, err
	}
	m.Payload = []byte(payload)
	return &m, nil
}

// EnqueueWebhookMessage implements [WebhookStore].
func (db *DB) EnqueueWebhookMessage(ctx context.Context, m WebhookMessage) (*WebhookMessage, error) {
	now := Now()
	m.ID, m.Status, m.NextAttemptAt, m.CreatedAt, m.UpdatedAt = randid.New("msg"), WebhookPending, now, now, now
	if m.EventID == "" {
		m.EventID = m.ID
	}
	_, err := db.write.ExecContext(ctx, `INSERT INTO webhook_messages (id, endpoint_id, event_id, event_type, payload,
		status, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6, $6)`,
		m.ID, m.EndpointID, m.EventID, m.EventType, string(m.Payload), now)
	if isForeignKeyViolation(err) {
		return nil, fmt.Errorf("store: webhook endpoint %q: %w", m.EndpointID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: insert webhook message: %w", err)
	}
	return &m, nil
}

// ClaimWebhookMessages implements [WebhookStore]: the lease is taken in
// one statement, with SKIP LOCKED on PostgreSQL, so two workers never
// take the same message for the same attempt.
func (db *DB) ClaimWebhookMessages(ctx context.Context, now, leaseUntil int64, limit int) ([]WebhookMessage, error) {
	if ok, err := db.exists(ctx, `SELECT 1 FROM webhook_messages WHERE status = 'pending' AND next_attempt_at <= $1 LIMIT 1`, now); err != nil || !ok {
		return nil, err
	}
	var out []WebhookMessage
	err := db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE webhook_messages SET next_attempt_at = $1, updated_at = $2
			WHERE id IN (SELECT id FROM webhook_messages WHERE status = 'pending' AND next_attempt_at <= $2
				ORDER BY next_attempt_at, id LIMIT $3`+db.skipLocked+`)
			RETURNING `+messageColumns, leaseUntil, now, limit)
		if err != nil {
			return fmt.Errorf("store: claim webhook messages: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMessage(rows)
			if err != nil {
				return fmt.Errorf("store: scan webhook message: %w", err)
			}
			out = append(out, *m)
		}
		return rows.Err()
	})
	return out, err
}

// RecordWebhookAttempt implements [WebhookStore].
func (db *DB) RecordWebhookAttempt(ctx context.Context, a WebhookAttempt, status string, next int64) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (id, message_id, status_code, error, duration_ms, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, randid.New("watt"), a.MessageID, a.StatusCode, truncate(a.Error, 512), a.DurationMS, now); err != nil {
			return fmt.Errorf("store: insert webhook attempt: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE webhook_messages SET status = $1, attempts = attempts + 1, next_attempt_at = $2,
			last_status = $3, last_error = $4, updated_at = $5 WHERE id = $6`,
			status, next, a.StatusCode, truncate(a.Error, 512), now, a.MessageID)
		return affectedOne(res, err, "webhook message", a.MessageID)
	})
}

// ListWebhookMessages implements [WebhookStore], newest first.
func (db *DB) ListWebhookMessages(ctx context.Context, f WebhookMessageFilter) ([]WebhookMessage, int, error) {
	cond, args := whereEqual(column{"endpoint_id", f.EndpointID}, column{"status", f.Status})
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM webhook_messages`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count webhook messages: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	args = append(args, min(limit, 500), max(f.Offset, 0))
	rows, err := db.read.QueryContext(ctx, `SELECT `+messageColumns+` FROM webhook_messages`+cond+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list webhook messages: %w", err)
	}
	defer rows.Close()
	var out []WebhookMessage
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: scan webhook message: %w", err)
		}
		out = append(out, *m)
	}
	return out, total, rows.Err()
}

// ListWebhookAttempts implements [WebhookStore], oldest first.
func (db *DB) ListWebhookAttempts(ctx context.Context, messageID string) ([]WebhookAttempt, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, message_id, status_code, error, duration_ms, created_at
		FROM webhook_attempts WHERE message_id = $1 ORDER BY created_at, id`, messageID)
	if err != nil {
		return nil, fmt.Errorf("store: list webhook attempts: %w", err)
	}
	defer rows.Close()
	var out []WebhookAttempt
	for rows.Next() {
		var a WebhookAttempt
		if err := rows.Scan(&a.ID, &a.MessageID, &a.StatusCode, &a.Error, &a.DurationMS, &a.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: scan webhook attempt: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// RetryWebhookMessage implements [WebhookStore].
func (db *DB) RetryWebhookMessage(ctx context.Context, id string) error {
	now := Now()
	res, err := db.write.ExecContext(ctx, `UPDATE webhook_messages SET status = 'pending', next_attempt_at = $1, updated_at = $1
		WHERE id = $2`, now, id)
	return affectedOne(res, err, "webhook message", id)
}

// PostponeWebhookMessage implements [WebhookStore].
func (db *DB) PostponeWebhookMessage(ctx context.Context, id string, next int64) error {
	res, err := db.write.ExecContext(ctx, `UPDATE webhook_messages SET next_attempt_at = $1, updated_at = $2
		WHERE id = $3 AND status = 'pending'`, next, Now(), id)
	return affectedOne(res, err, "webhook message", id)
}

// exists reports whether query, on the read pool, returns a row.
func (db *DB) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := db.read.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	return true, nil
}
