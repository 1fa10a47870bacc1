package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
)

// Verification statuses, as Clerk names them.
const (
	VerificationUnverified = "unverified"
	VerificationVerified   = "verified"
	VerificationFailed     = "failed"
	VerificationExpired    = "expired"
)

// Code is the one-time code of a subject (a sign-up attempt, a sign-in
// attempt or an email address). Only a keyed hash of the code is stored.
type Code struct {
	Subject  string
	Strategy string // email_code, reset_password_email_code
	Email    string
	Hash     []byte
	Attempts int
	Status   string
	SentAt   int64
	ExpireAt int64
}

// ErrTooSoon means a code was sent to the subject too recently to send
// another; the returned wait says for how long.
var ErrTooSoon = errors.New("store: a code was sent moments ago")

// PutCode stores c as the subject's code, replacing the previous one (a
// resend: the old code stops working), unless the previous one was sent
// less than cooldown ago: then it changes nothing and returns ErrTooSoon
// with the time left.
func (db *DB) PutCode(ctx context.Context, c Code, cooldown time.Duration) (time.Duration, error) {
	var wait time.Duration
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var sentAt int64
		err := tx.QueryRowContext(ctx, `SELECT sent_at FROM verification_codes WHERE subject = $1`+db.forUpdate, c.Subject).Scan(&sentAt)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("store: read code: %w", err)
		case c.SentAt-sentAt < cooldown.Milliseconds():
			wait = time.Duration(sentAt+cooldown.Milliseconds()-c.SentAt) * time.Millisecond
			return ErrTooSoon
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM verification_codes WHERE subject = $1`, c.Subject)
		if err != nil {
			return fmt.Errorf("store: replace code: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO verification_codes (subject, strategy, email, code_hash, attempts, status,
			sent_at, expire_at) VALUES ($1, $2, $3, $4, 0, $5, $6, $7)`,
			c.Subject, c.Strategy, c.Email, c.Hash, VerificationUnverified, c.SentAt, c.ExpireAt)
		if err != nil {
			return fmt.Errorf("store: insert code: %w", err)
		}
		return nil
	})
	return wait, err
}

// GetCode returns the subject's code, or ErrNotFound.
func (db *DB) GetCode(ctx context.Context, subject string) (*Code, error) {
	return getCode(ctx, db.read, subject, "")
}

func getCode(ctx context.Context, q queryer, subject, lock string) (*Code, error) {
	var c Code
	err := q.QueryRowContext(ctx, `SELECT subject, strategy, email, code_hash, attempts, status, sent_at, expire_at
		FROM verification_codes WHERE subject = $1`+lock, subject).
		Scan(&c.Subject, &c.Strategy, &c.Email, &c.Hash, &c.Attempts, &c.Status, &c.SentAt, &c.ExpireAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: code for %q: %w", subject, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get code: %w", err)
	}
	return &c, nil
}

// CodeOutcome is what an attempt at a code found.
type CodeOutcome int

// The outcomes of [DB.AttemptCode].
const (
	CodeCorrect   CodeOutcome = iota // the code was right; it is now used
	CodeWrong                        // wrong; attempts left
	CodeExhausted                    // wrong, the last attempt allowed: now failed
	CodeFailed                       // failed by earlier attempts; not compared
	CodeExpired                      // past its lifetime
	CodeUsed                         // already used
	CodeNotSent                      // no code for this subject
)

// AttemptCode compares hash with the subject's code in one transaction:
// right, the code is marked used (it works once); wrong, its attempts
// grow and the maxAttempts-th wrong one fails it for good. A failed,
// expired or used code is never compared.
func (db *DB) AttemptCode(ctx context.Context, subject string, hash []byte, maxAttempts int) (CodeOutcome, *Code, error) {
	var out CodeOutcome
	var code *Code
	err := db.tx(ctx, func(tx *sql.Tx) error {
		c, err := getCode(ctx, tx, subject, db.forUpdate)
		if errors.Is(err, ErrNotFound) {
			out = CodeNotSent
			return nil
		}
		if err != nil {
			return err
		}
		code = c
		now := Now()
		switch {
		case c.Status == VerificationVerified:
			out = CodeUsed
			return nil
		case c.Status == VerificationFailed:
			out = CodeFailed
			return nil
		case c.Status == VerificationExpired || c.ExpireAt <= now:
			out = CodeExpired
			c.Status = VerificationExpired
		case subtle.ConstantTimeCompare(hash, c.Hash) == 1:
			out = CodeCorrect
			c.Status = VerificationVerified
		default:
			c.Attempts++
			out = CodeWrong
			if c.Attempts >= maxAttempts {
				out, c.Status = CodeExhausted, VerificationFailed
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE verification_codes SET attempts = $1, status = $2 WHERE subject = $3`,
			c.Attempts, c.Status, subject)
		if err != nil {
			return fmt.Errorf("store: record code attempt: %w", err)
		}
		return nil
	})
	return out, code, err
}

// MailLimits bound the messages sent in Window: per address, per client
// IP and per user (zero: no limit of that kind).
type MailLimits struct {
	PerAddress, PerIP, PerUser int
	Window                     time.Duration
}

// MailSend is one message about to go out (or, for an address that
// belongs to nobody, to be pretended).
type MailSend struct {
	Kind, Address, IP, UserID string
	// Recipient is the user the message goes to, when there is one
	// (UserID, counted against the limits, may be the sender).
	Recipient string
}

// Email is the record of one message sent, the Data of its
// email.created event: who it went to and what kind it is, never its
// body (which holds the code or link).
type Email struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	To        string `json:"to"`
	UserID    string `json:"user_id,omitempty"`
	CreatedAt int64  `json:"created_at"`
}

// ErrMailLimit means a message would exceed the mail limits.
var ErrMailLimit = errors.New("store: over the mail limits")

// RecordMail counts m against l and records it, in one transaction; over
// a limit it records nothing and returns ErrMailLimit. Rows past a day old
// are pruned on the way.
func (db *DB) RecordMail(ctx context.Context, m MailSend, l MailLimits) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		if db.Postgres() {
			// Serialise the count-then-insert per address across instances.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, m.Address); err != nil {
				return fmt.Errorf("store: lock mail address: %w", err)
			}
		}
		since := now - l.Window.Milliseconds()
		for _, c := range []struct {
			col, v string
			max    int
		}{{"address", m.Address, l.PerAddress}, {"ip", m.IP, l.PerIP}, {"user_id", m.UserID, l.PerUser}} {
			if c.max <= 0 || c.v == "" {
				continue
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM mail_log WHERE `+c.col+` = $1 AND sent_at > $2`,
				c.v, since).Scan(&n); err != nil {
				return fmt.Errorf("store: count mail: %w", err)
			}
			if n >= c.max {
				return fmt.Errorf("store: %d messages by %s this window: %w", n, c.col, ErrMailLimit)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mail_log WHERE sent_at < $1`, now-24*time.Hour.Milliseconds()); err != nil {
			return fmt.Errorf("store: prune mail log: %w", err)
		}
		id := randid.New("ema")
		if _, err := tx.ExecContext(ctx, `INSERT INTO mail_log (id, kind, address, ip, user_id, sent_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, m.Kind, m.Address, truncate(m.IP, 64), m.UserID, now); err != nil {
			return fmt.Errorf("store: record mail: %w", err)
		}
		// The message's event is written with its count, so a webhook
		// (email.created) follows every message the limits let through.
		// The recipient is in its data only: a mail sent is not a change
		// to the account, so it stays out of the user's activity.
		data, err := marshalData(Email{ID: id, Kind: m.Kind, To: m.Address, UserID: m.Recipient, CreatedAt: now})
		if err != nil {
			return err
		}
		return audit(ctx, tx, AuditEvent{Name: "email.created", ResourceID: id, Object: ObjectEmail, Data: data})
	})
}
