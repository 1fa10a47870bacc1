package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
)

// Imports bring users, organizations and memberships from another
// system with their own ids. Each is one transaction that first looks
// for the id: a row already there is left exactly as it is (Imported
// false), so running an import twice changes nothing.

// ImportedUser is a user as another system exported it.
type ImportedUser struct {
	ID                  string
	ExternalID          string
	FirstName, LastName string
	// PasswordHash is stored as given: an argon2id hash, or a digest
	// the password package verifies and replaces at the next sign-in.
	PasswordHash                                    string
	PublicMetadata, PrivateMetadata, UnsafeMetadata json.RawMessage
	// Emails are normalised and distinct; exactly one is primary.
	Emails []ImportedEmail
	// TOTPSecret is the user's authenticator secret, already sealed;
	// nil: none. An imported authenticator is confirmed (it was in use).
	TOTPSecret []byte
	CreatedAt  int64 // ms; 0 means now
}

// ImportedEmail is one address of an imported user.
type ImportedEmail struct {
	Email             string
	Verified, Primary bool
}

// AddressTakenError means an imported address belongs to another user;
// it is an ErrConflict.
type AddressTakenError struct{ Email string }

func (e *AddressTakenError) Error() string {
	return "store: email address " + e.Email + " belongs to another user"
}

// Unwrap makes the error an ErrConflict.
func (e *AddressTakenError) Unwrap() error { return ErrConflict }

// ImportUser inserts iu unless a user with its id exists (false, nil).
// An address that another user has is *AddressTakenError, an external id
// another user has ErrExternalIDTaken; nothing is written then.
func (db *DB) ImportUser(ctx context.Context, iu ImportedUser) (bool, error) {
	inserted := false
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if exists, err := rowExists(ctx, tx, `SELECT 1 FROM users WHERE id = $1`, iu.ID); err != nil || exists {
			return err
		}
		for _, e := range iu.Emails {
			if taken, err := rowExists(ctx, tx, `SELECT 1 FROM email_addresses WHERE email = $1`, e.Email); err != nil {
				return err
			} else if taken {
				return &AddressTakenError{Email: e.Email}
			}
		}
		now := Now()
		created := iu.CreatedAt
		if created <= 0 {
			created = now
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, first_name, last_name, password_hash,
			public_metadata, private_metadata, unsafe_metadata, created_at, updated_at, external_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			iu.ID, iu.FirstName, iu.LastName, iu.PasswordHash, orEmptyObject(iu.PublicMetadata),
			orEmptyObject(iu.PrivateMetadata), orEmptyObject(iu.UnsafeMetadata), created, now, nullString(iu.ExternalID))
		if isUniqueViolation(err) {
			return fmt.Errorf("store: import user: %w", ErrExternalIDTaken)
		}
		if err != nil {
			return fmt.Errorf("store: import user: %w", err)
		}
		for i, e := range iu.Emails {
			strategy := ""
			if e.Verified {
				strategy = "admin"
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO email_addresses (id, user_id, email, is_primary, verified,
				verification_strategy, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
				// A millisecond apart, so the addresses keep the export's order.
				randid.New("idn"), iu.ID, e.Email, boolInt(e.Primary), boolInt(e.Verified), strategy, created+int64(i))
			if isUniqueViolation(err) {
				return &AddressTakenError{Email: e.Email}
			}
			if err != nil {
				return fmt.Errorf("store: import email address: %w", err)
			}
		}
		if iu.TOTPSecret != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO totps (id, user_id, secret, verified, last_step, created_at, updated_at)
				VALUES ($1, $2, $3, 1, 0, $4, $4)`, randid.New("totp"), iu.ID, iu.TOTPSecret, now); err != nil {
				return fmt.Errorf("store: import totp: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_enabled = 1, mfa_enabled_at = $1 WHERE id = $2`, now, iu.ID); err != nil {
				return fmt.Errorf("store: import totp: %w", err)
			}
		}
		inserted = true
		return audit(ctx, tx, AuditEvent{Name: "user.created", UserID: iu.ID, ResourceID: iu.ID, Object: ObjectUser})
	})
	return inserted, err
}

// ImportedOrganization is an organization as another system exported it.
type ImportedOrganization struct {
	ID, Name, Slug                  string
	PublicMetadata, PrivateMetadata json.RawMessage
	MaxAllowedMemberships           int
	CreatedBy                       string // "" or a user id that exists
	CreatedAt                       int64  // ms; 0 means now
}

// ImportOrganization inserts io unless an organization with its id
// exists (false, nil). A slug another organization has is ErrConflict.
func (db *DB) ImportOrganization(ctx context.Context, io ImportedOrganization) (bool, error) {
	inserted := false
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if exists, err := rowExists(ctx, tx, `SELECT 1 FROM organizations WHERE id = $1`, io.ID); err != nil || exists {
			return err
		}
		now := Now()
		created := io.CreatedAt
		if created <= 0 {
			created = now
		}
		if io.CreatedBy != "" {
			// A creator who was not imported is forgotten, not an error:
			// the organization matters more than who made it.
			if ok, err := rowExists(ctx, tx, `SELECT 1 FROM users WHERE id = $1`, io.CreatedBy); err != nil {
				return err
			} else if !ok {
				io.CreatedBy = ""
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO organizations (id, name, slug, public_metadata, private_metadata,
			max_allowed_memberships, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			io.ID, io.Name, io.Slug, orEmptyObject(io.PublicMetadata), orEmptyObject(io.PrivateMetadata),
			io.MaxAllowedMemberships, nullString(io.CreatedBy), created, now)
		if isUniqueViolation(err) {
			return fmt.Errorf("store: slug %q taken: %w", io.Slug, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: import organization: %w", err)
		}
		inserted = true
		return audit(ctx, tx, AuditEvent{Name: "organization.created", ResourceID: io.ID, Object: ObjectOrganization})
	})
	return inserted, err
}

// ImportedMembership is a membership as another system exported it.
type ImportedMembership struct {
	ID, OrganizationID, UserID, Role string
	CreatedAt                        int64 // ms; 0 means now
}

// ImportMembership inserts im unless the user is already a member of the
// organization (false, nil), whatever the role. An unknown organization
// or user is ErrNotFound; a full organization ErrLimitReached.
func (db *DB) ImportMembership(ctx context.Context, im ImportedMembership) (bool, error) {
	inserted := false
	err := db.tx(ctx, func(tx *sql.Tx) error {
		exists, err := rowExists(ctx, tx, `SELECT 1 FROM organization_memberships
			WHERE (organization_id = $1 AND user_id = $2) OR id = $3`, im.OrganizationID, im.UserID, im.ID)
		if err != nil || exists {
			return err
		}
		if ok, err := rowExists(ctx, tx, `SELECT 1 FROM organizations WHERE id = $1`, im.OrganizationID); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("store: organization %q: %w", im.OrganizationID, ErrNotFound)
		}
		if err := checkLimit(ctx, tx, im.OrganizationID); err != nil {
			return err
		}
		now := Now()
		created := im.CreatedAt
		if created <= 0 {
			created = now
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO organization_memberships (id, organization_id, user_id, role, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, im.ID, im.OrganizationID, im.UserID, im.Role, created, now)
		switch {
		case isForeignKeyViolation(err):
			return fmt.Errorf("store: user %q: %w", im.UserID, ErrNotFound)
		case err != nil:
			return fmt.Errorf("store: import membership: %w", err)
		}
		m, err := getMembership(ctx, tx, im.OrganizationID, im.UserID)
		if err != nil {
			return err
		}
		inserted = true
		return membershipAudit(ctx, tx, "organizationMembership.created", Guard{Instance: true}, m)
	})
	return inserted, err
}

// ReplacePasswordHash sets the user's password hash to next if it is
// still old: a password changed meanwhile (on another instance, say) is
// never overwritten by a rehash of the previous one.
func (db *DB) ReplacePasswordHash(ctx context.Context, userID, old, next string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3`,
			next, userID, old)
		if err != nil {
			return fmt.Errorf("store: replace password hash: %w", err)
		}
		return nil
	})
}

func rowExists(ctx context.Context, tx *sql.Tx, query string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store: look up: %w", err)
	}
	return true, nil
}
