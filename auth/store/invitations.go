package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
)

// Invitation invites an email address into an organization with a role.
// The link's secret is not stored, only its SHA-256.
type Invitation struct {
	ID              string
	OrganizationID  string
	Email           string
	Role            string
	Status          string // pending, accepted, revoked or expired (a pending one past ExpiresAt reads as expired)
	TokenHash       []byte `json:"-"`
	InviterID       string
	PublicMetadata  json.RawMessage
	PrivateMetadata json.RawMessage
	ExpiresAt       int64
	CreatedAt       int64
	UpdatedAt       int64
	// OrganizationName is filled on reads, for the acceptance page.
	OrganizationName string
}

// NewInvitation holds what [Store.CreateInvitation] needs.
type NewInvitation struct {
	OrganizationID  string
	Email           string // normalised by the caller
	Role            string
	InviterID       string
	TokenHash       []byte
	ExpiresAt       int64
	PublicMetadata  json.RawMessage
	PrivateMetadata json.RawMessage
	// Limits bound the mail invitations send; zero fields are unlimited.
	Limits InvitationLimits
}

// InvitationLimits bound invitations, counted inside the write so they
// hold across instances: per inviter and per organization in the last
// hour, and pending ones per organization.
type InvitationLimits struct {
	PerInviterPerHour, PerOrganizationPerHour, PendingPerOrganization int
}

// ErrInvitationLimit means a new invitation is over one of its limits.
var ErrInvitationLimit = errors.New("store: over the invitation limits")

// InvitationFilter selects invitations of one organization.
type InvitationFilter struct {
	// OrganizationID keeps one organization's invitations, UserID those
	// to any address of the user; at least one is required.
	OrganizationID string
	UserID         string
	Status         string // "" for all; pending and expired follow ExpiresAt
	Limit, Offset  int    // Limit 1..500; 0 means 100
}

const invitationColumns = `i.id, i.organization_id, i.email, i.role, i.status, i.token_hash, i.inviter_id,
	i.public_metadata, i.private_metadata, i.expires_at, i.created_at, i.updated_at, o.name`

const invitationFrom = ` FROM organization_invitations i JOIN organizations o ON o.id = i.organization_id`

func scanInvitation(row rowScanner, now int64) (*Invitation, error) {
	var inv Invitation
	var inviter sql.NullString
	var pub, priv string
	if err := row.Scan(&inv.ID, &inv.OrganizationID, &inv.Email, &inv.Role, &inv.Status, &inv.TokenHash, &inviter,
		&pub, &priv, &inv.ExpiresAt, &inv.CreatedAt, &inv.UpdatedAt, &inv.OrganizationName); err != nil {
		return nil, err
	}
	inv.InviterID = inviter.String
	inv.PublicMetadata, inv.PrivateMetadata = []byte(pub), []byte(priv)
	if inv.Status == StatusPending && inv.ExpiresAt <= now {
		inv.Status = StatusExpired
	}
	return &inv, nil
}

// CreateInvitation stores an invitation, authorised by g. It is
// ErrAlreadyMember when the address belongs to a member, and ErrConflict
// when the address has a pending invitation to the organization already.
func (db *DB) CreateInvitation(ctx context.Context, ni NewInvitation, g Guard) (*Invitation, error) {
	id := randid.New("orginv")
	var inv *Invitation
	err := db.orgTx(ctx, ni.OrganizationID, g, func(tx *sql.Tx) error {
		now := Now()
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM organization_memberships m JOIN email_addresses e ON e.user_id = m.user_id
			WHERE m.organization_id = $1 AND e.email = $2`, ni.OrganizationID, ni.Email).Scan(&one)
		if err == nil {
			return fmt.Errorf("store: invite %q: %w", ni.Email, ErrAlreadyMember)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: check membership: %w", err)
		}
		if err := checkInvitationLimits(ctx, tx, db.forUpdate, ni, now); err != nil {
			return err
		}
		// A pending invitation past its expiry no longer blocks a new one.
		if _, err := tx.ExecContext(ctx, `UPDATE organization_invitations SET status = $1, updated_at = $2
			WHERE organization_id = $3 AND email = $4 AND status = $5 AND expires_at <= $2`,
			StatusExpired, now, ni.OrganizationID, ni.Email, StatusPending); err != nil {
			return fmt.Errorf("store: expire invitations: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO organization_invitations (id, organization_id, email, role, status, token_hash,
			inviter_id, public_metadata, private_metadata, expires_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
			id, ni.OrganizationID, ni.Email, ni.Role, StatusPending, ni.TokenHash, nullString(ni.InviterID),
			orEmptyObject(ni.PublicMetadata), orEmptyObject(ni.PrivateMetadata), ni.ExpiresAt, now)
		switch {
		case isUniqueViolation(err):
			return fmt.Errorf("store: invite %q: a pending invitation exists: %w", ni.Email, ErrConflict)
		case isForeignKeyViolation(err):
			return fmt.Errorf("store: inviter %q: %w", ni.InviterID, ErrNotFound)
		case err != nil:
			return fmt.Errorf("store: insert invitation: %w", err)
		}
		if err := audit(ctx, tx, AuditEvent{Name: "organizationInvitation.created", UserID: g.ActorID, ResourceID: id, Object: ObjectInvitation}); err != nil {
			return err
		}
		inv, err = getInvitation(ctx, tx, "i.id", id, "")
		return err
	})
	return inv, err
}

func getInvitation(ctx context.Context, q queryer, col string, v any, lock string) (*Invitation, error) {
	lockOf := ""
	if lock != "" {
		lockOf = lock + " OF i"
	}
	inv, err := scanInvitation(q.QueryRowContext(ctx, `SELECT `+invitationColumns+invitationFrom+` WHERE `+col+` = $1`+lockOf, v), Now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: invitation: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get invitation: %w", err)
	}
	return inv, nil
}

// GetInvitation returns the invitation with id.
func (db *DB) GetInvitation(ctx context.Context, id string) (*Invitation, error) {
	return getInvitation(ctx, db.read, "i.id", id, "")
}

// GetInvitationByToken returns the invitation whose link secret hashes to
// tokenHash.
func (db *DB) GetInvitationByToken(ctx context.Context, tokenHash []byte) (*Invitation, error) {
	return getInvitation(ctx, db.read, "i.token_hash", tokenHash, "")
}

// ListInvitations returns one page of an organization's invitations,
// newest first, and how many match in all.
func (db *DB) ListInvitations(ctx context.Context, f InvitationFilter) ([]*Invitation, int, error) {
	now := Now()
	if f.OrganizationID == "" && f.UserID == "" {
		return nil, 0, errors.New("store: list invitations: no organization or user given")
	}
	var where []string
	var args []any
	if f.OrganizationID != "" {
		args = append(args, f.OrganizationID)
		where = append(where, fmt.Sprintf("i.organization_id = $%d", len(args)))
	}
	if f.UserID != "" {
		args = append(args, f.UserID)
		where = append(where, fmt.Sprintf("i.email IN (SELECT e.email FROM email_addresses e WHERE e.user_id = $%d)", len(args)))
	}
	switch f.Status {
	case "":
	case StatusPending:
		args = append(args, StatusPending, now)
		where = append(where, fmt.Sprintf("i.status = $%d AND i.expires_at > $%d", len(args)-1, len(args)))
	case StatusExpired:
		args = append(args, StatusExpired, StatusPending, now)
		where = append(where, fmt.Sprintf("(i.status = $%d OR (i.status = $%d AND i.expires_at <= $%d))", len(args)-2, len(args)-1, len(args)))
	default:
		args = append(args, f.Status)
		where = append(where, fmt.Sprintf("i.status = $%d", len(args)))
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM organization_invitations i`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count invitations: %w", err)
	}
	args = append(args, pageLimit(f.Limit, 100), max(f.Offset, 0))
	rows, err := db.read.QueryContext(ctx, `SELECT `+invitationColumns+invitationFrom+cond+
		fmt.Sprintf(` ORDER BY i.created_at DESC, i.id LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list invitations: %w", err)
	}
	defer rows.Close()
	var out []*Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows, now)
		if err != nil {
			return nil, 0, fmt.Errorf("store: scan invitation: %w", err)
		}
		out = append(out, inv)
	}
	return out, total, rows.Err()
}

// RevokeInvitation revokes a pending invitation of the organization,
// authorised by g. ErrNotPending (with the invitation) when it was
// accepted, revoked or has expired.
func (db *DB) RevokeInvitation(ctx context.Context, orgID, id string, g Guard) (*Invitation, error) {
	var inv *Invitation
	err := db.orgTx(ctx, orgID, g, func(tx *sql.Tx) error {
		var err error
		inv, err = getInvitation(ctx, tx, "i.id", id, db.forUpdate)
		if err != nil {
			return err
		}
		if inv.OrganizationID != orgID {
			return fmt.Errorf("store: invitation %q: %w", id, ErrNotFound)
		}
		if inv.Status != StatusPending {
			return fmt.Errorf("store: invitation is %s: %w", inv.Status, ErrNotPending)
		}
		now := Now()
		if _, err := tx.ExecContext(ctx, `UPDATE organization_invitations SET status = $1, updated_at = $2 WHERE id = $3`,
			StatusRevoked, now, id); err != nil {
			return fmt.Errorf("store: revoke invitation: %w", err)
		}
		inv.Status, inv.UpdatedAt = StatusRevoked, now
		return audit(ctx, tx, AuditEvent{Name: "organizationInvitation.revoked", UserID: g.ActorID, ResourceID: id, Object: ObjectInvitation})
	})
	if err != nil && !errors.Is(err, ErrNotPending) {
		return nil, err
	}
	return inv, err
}

// AcceptInvitation accepts the invitation whose link secret hashes to
// tokenHash on behalf of userID, who must own the invited address, and
// adds the membership, all in one transaction. An invitation is accepted
// at most once: a second attempt, concurrent or not, is ErrNotPending
// (with the invitation). A user who is a member already keeps their
// membership and role, and the invitation is used up.
func (db *DB) AcceptInvitation(ctx context.Context, tokenHash []byte, userID string) (*Membership, *Invitation, error) {
	found, err := db.GetInvitationByToken(ctx, tokenHash)
	if err != nil {
		return nil, nil, err
	}
	var m *Membership
	var inv *Invitation
	err = db.tx(ctx, func(tx *sql.Tx) error {
		// The organization first, as every organization write does.
		if err := db.lockOrganization(ctx, tx, found.OrganizationID); err != nil {
			return err
		}
		var err error
		if inv, err = getInvitation(ctx, tx, "i.id", found.ID, db.forUpdate); err != nil {
			return err
		}
		if inv.Status != StatusPending {
			return fmt.Errorf("store: invitation is %s: %w", inv.Status, ErrNotPending)
		}
		var addressID string
		var verified int
		err = tx.QueryRowContext(ctx, `SELECT id, verified FROM email_addresses WHERE user_id = $1 AND email = $2`,
			userID, inv.Email).Scan(&addressID, &verified)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: accept invitation: %w", ErrEmailMismatch)
		}
		if err != nil {
			return fmt.Errorf("store: check email: %w", err)
		}
		// The link went to that address: following it proves the mailbox
		// is the user's (Clerk's ticket strategy).
		if verified == 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE email_addresses SET verified = 1, verification_strategy = 'ticket',
				updated_at = $1 WHERE id = $2`, Now(), addressID); err != nil {
				return fmt.Errorf("store: verify invited address: %w", err)
			}
			if err := audit(ctx, tx, AuditEvent{Name: "emailAddress.verified", UserID: userID, ResourceID: addressID, Object: ObjectUser}); err != nil {
				return err
			}
		}
		m, err = getMembership(ctx, tx, inv.OrganizationID, userID)
		if errors.Is(err, ErrNotFound) {
			if err := checkLimit(ctx, tx, inv.OrganizationID); err != nil {
				return err
			}
			if err := insertMembership(ctx, tx, inv.OrganizationID, userID, inv.Role, Now()); err != nil {
				return err
			}
			m, err = getMembership(ctx, tx, inv.OrganizationID, userID)
		}
		if err != nil {
			return err
		}
		now := Now()
		res, err := tx.ExecContext(ctx, `UPDATE organization_invitations SET status = $1, updated_at = $2
			WHERE id = $3 AND status = $4`, StatusAccepted, now, inv.ID, StatusPending)
		if err != nil {
			return fmt.Errorf("store: accept invitation: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("store: invitation accepted meanwhile: %w", ErrNotPending)
		}
		if err := audit(ctx, tx, AuditEvent{Name: "organizationInvitation.accepted", UserID: userID, ResourceID: inv.ID, Object: ObjectInvitation}); err != nil {
			return err
		}
		inv.Status, inv.UpdatedAt = StatusAccepted, now
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotPending) || errors.Is(err, ErrEmailMismatch) {
			return nil, inv, err
		}
		return nil, nil, err
	}
	return m, inv, nil
}

// checkInvitationLimits refuses ni with ErrInvitationLimit when it is over
// ni.Limits. The organization row is locked by the caller; the inviter's
// row is locked here, so one inviter's invitations to several
// organizations count one after another too.
func checkInvitationLimits(ctx context.Context, tx *sql.Tx, forUpdate string, ni NewInvitation, now int64) error {
	l := ni.Limits
	hourAgo := now - time.Hour.Milliseconds()
	count := func(what, query string, args ...any) (int, error) {
		var n int
		if err := tx.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("store: count %s: %w", what, err)
		}
		return n, nil
	}
	if l.PerInviterPerHour > 0 && ni.InviterID != "" {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE id = $1`+forUpdate, ni.InviterID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: inviter %q: %w", ni.InviterID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: lock inviter: %w", err)
		}
		n, err := count("the inviter's invitations", `SELECT count(*) FROM organization_invitations WHERE inviter_id = $1 AND created_at > $2`, ni.InviterID, hourAgo)
		if err != nil {
			return err
		}
		if n >= l.PerInviterPerHour {
			return fmt.Errorf("store: %d invitations by %q this hour: %w", n, ni.InviterID, ErrInvitationLimit)
		}
	}
	if l.PerOrganizationPerHour > 0 {
		n, err := count("the organization's invitations", `SELECT count(*) FROM organization_invitations WHERE organization_id = $1 AND created_at > $2`, ni.OrganizationID, hourAgo)
		if err != nil {
			return err
		}
		if n >= l.PerOrganizationPerHour {
			return fmt.Errorf("store: %d invitations of %q this hour: %w", n, ni.OrganizationID, ErrInvitationLimit)
		}
	}
	if l.PendingPerOrganization > 0 {
		n, err := count("pending invitations", `SELECT count(*) FROM organization_invitations WHERE organization_id = $1 AND status = $2 AND expires_at > $3`, ni.OrganizationID, StatusPending, now)
		if err != nil {
			return err
		}
		if n >= l.PendingPerOrganization {
			return fmt.Errorf("store: %d pending invitations of %q: %w", n, ni.OrganizationID, ErrInvitationLimit)
		}
	}
	return nil
}
