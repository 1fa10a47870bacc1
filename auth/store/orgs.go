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

// Errors of the organization writes. Wrapped errors keep them reachable
// with errors.Is.
var (
	// ErrNotMember means the acting user of a [Guard] is not a member of
	// the organization (any more).
	ErrNotMember = errors.New("store: the acting user is not a member of the organization")
	// ErrForbidden means the acting user is a member whose role does not
	// allow the write.
	ErrForbidden = errors.New("store: the acting user's role does not allow this")
	// ErrLastAdmin means the write would leave the organization without a
	// member holding an admin role.
	ErrLastAdmin = errors.New("store: an organization must keep at least one admin")
	// ErrLimitReached means the organization has max_allowed_memberships
	// members already.
	ErrLimitReached = errors.New("store: the organization has reached its membership limit")
	// ErrAlreadyMember means the user (or the owner of the invited
	// address) is a member already.
	ErrAlreadyMember = errors.New("store: already a member of the organization")
	// ErrNotPending means an invitation or actor token was already used,
	// revoked or has expired; the returned value carries its status.
	ErrNotPending = errors.New("store: not pending")
	// ErrEmailMismatch means the accepting user does not own the invited
	// email address.
	ErrEmailMismatch = errors.New("store: the invitation is for another email address")
)

// Invitation and actor token statuses, as Clerk names them.
const (
	StatusPending  = "pending"
	StatusAccepted = "accepted"
	StatusRevoked  = "revoked"
	StatusExpired  = "expired"
)

// Organization is a group of users with roles.
type Organization struct {
	ID                    string
	Name                  string
	Slug                  string
	PublicMetadata        json.RawMessage
	PrivateMetadata       json.RawMessage
	MaxAllowedMemberships int    // 0: no limit
	CreatedBy             string // "" when unknown or deleted
	MembersCount          int    // filled on reads
	CreatedAt, UpdatedAt  int64
}

// NewOrganization holds what [Store.CreateOrganization] needs.
type NewOrganization struct {
	Name, Slug string // already validated by the caller
	// CreatedBy, when set, joins the organization with CreatorRole in
	// the same transaction.
	CreatedBy, CreatorRole          string
	MaxAllowedMemberships           int
	PublicMetadata, PrivateMetadata json.RawMessage // {} when nil
}

// OrganizationUpdate changes the non-nil fields of an organization.
// Metadata given here replace the old values.
type OrganizationUpdate struct {
	Name, Slug                      *string
	MaxAllowedMemberships           *int
	PublicMetadata, PrivateMetadata json.RawMessage
}

// OrganizationFilter selects organizations for [Store.ListOrganizations].
type OrganizationFilter struct {
	Query  string // substring of name or slug
	UserID string // only organizations this user belongs to
	Limit  int    // 1..500; 0 means 10
	Offset int
}

// Membership is a user's membership of an organization.
type Membership struct {
	ID             string
	OrganizationID string
	UserID         string
	Role           string
	CreatedAt      int64
	UpdatedAt      int64
	// Organization and User are filled on reads.
	Organization *Organization
	User         MemberUser
}

// MemberUser is the public part of a member's user record.
type MemberUser struct {
	FirstName, LastName string
	Email               string // the primary address
	Banned              bool
}

// MembershipFilter selects memberships; one of OrganizationID or UserID is
// needed.
type MembershipFilter struct {
	OrganizationID, UserID string
	Limit, Offset          int // Limit 1..500; 0 means 100
}

// Guard says who asks for an organization write, checked inside the
// write's transaction against the memberships as they are at that moment,
// so a member removed a second ago can no longer act.
//
// A zero Guard allows nothing: set Instance for the instance itself (the
// backend client), or ActorID with the roles that allow the write.
type Guard struct {
	// Instance allows the write without a membership check.
	Instance bool
	// ActorID is the user asking.
	ActorID string
	// ActorRoles are the roles that allow the write.
	ActorRoles []string
	// AnyMember allows the write to every member (leaving, for example).
	AnyMember bool
	// AdminRoles are the roles that count for the last-admin rule: a
	// membership write that would leave no member with one of them is
	// refused with ErrLastAdmin.
	AdminRoles []string
}

const orgColumns = `o.id, o.name, o.slug, o.public_metadata, o.private_metadata, o.max_allowed_memberships,
	o.created_by, o.created_at, o.updated_at,
	(SELECT count(*) FROM organization_memberships c WHERE c.organization_id = o.id)`

func scanOrganization(row rowScanner) (*Organization, error) {
	var o Organization
	var pub, priv string
	var createdBy sql.NullString
	if err := row.Scan(&o.ID, &o.Name, &o.Slug, &pub, &priv, &o.MaxAllowedMemberships,
		&createdBy, &o.CreatedAt, &o.UpdatedAt, &o.MembersCount); err != nil {
		return nil, err
	}
	o.PublicMetadata, o.PrivateMetadata = []byte(pub), []byte(priv)
	o.CreatedBy = createdBy.String
	return &o, nil
}

// IsOrganizationID reports whether s has the form of an organization id
// (slugs never contain "_").
func IsOrganizationID(s string) bool { return strings.HasPrefix(s, "org_") }

// CreateOrganization inserts an organization and, with CreatedBy, the
// creator's membership. A taken slug is ErrConflict; an unknown creator
// ErrNotFound.
func (db *DB) CreateOrganization(ctx context.Context, no NewOrganization) (*Organization, error) {
	id := randid.New("org")
	var o *Organization
	err := db.tx(ctx, func(tx *sql.Tx) error {
		now := Now()
		_, err := tx.ExecContext(ctx, `INSERT INTO organizations (id, name, slug, public_metadata, private_metadata,
			max_allowed_memberships, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			id, no.Name, no.Slug, orEmptyObject(no.PublicMetadata), orEmptyObject(no.PrivateMetadata),
			no.MaxAllowedMemberships, nullString(no.CreatedBy), now)
		switch {
		case isUniqueViolation(err):
			return fmt.Errorf("store: slug %q taken: %w", no.Slug, ErrConflict)
		case isForeignKeyViolation(err):
			return fmt.Errorf("store: creator %q: %w", no.CreatedBy, ErrNotFound)
		case err != nil:
			return fmt.Errorf("store: insert organization: %w", err)
		}
		if no.CreatedBy != "" {
			if err := insertMembership(ctx, tx, id, no.CreatedBy, no.CreatorRole, now); err != nil {
				return err
			}
		}
		if err := audit(ctx, tx, AuditEvent{Name: "organization.created", UserID: no.CreatedBy, ResourceID: id, Object: ObjectOrganization}); err != nil {
			return err
		}
		if no.CreatedBy != "" {
			// The creator's membership is a membership like any other:
			// webhooks that mirror memberships must hear of it.
			m, err := getMembership(ctx, tx, id, no.CreatedBy)
			if err != nil {
				return err
			}
			if err := membershipAudit(ctx, tx, "organizationMembership.created", Guard{ActorID: no.CreatedBy}, m); err != nil {
				return err
			}
		}
		o, err = getOrganization(ctx, tx, id, "")
		return err
	})
	return o, err
}

// GetOrganization returns the organization with the id or slug.
func (db *DB) GetOrganization(ctx context.Context, idOrSlug string) (*Organization, error) {
	return getOrganization(ctx, db.read, idOrSlug, "")
}

func getOrganization(ctx context.Context, q queryer, idOrSlug, lock string) (*Organization, error) {
	col := "slug"
	if IsOrganizationID(idOrSlug) {
		col = "id"
	}
	o, err := scanOrganization(q.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organizations o WHERE o.`+col+` = $1`+lock, idOrSlug))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: organization %q: %w", idOrSlug, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get organization: %w", err)
	}
	return o, nil
}

// ListOrganizations returns one page of organizations, newest first, and
// how many match in all.
func (db *DB) ListOrganizations(ctx context.Context, f OrganizationFilter) ([]*Organization, int, error) {
	var where []string
	var args []any
	if f.Query != "" {
		args = append(args, "%"+escapeLike(strings.ToLower(f.Query))+"%")
		n := len(args)
		where = append(where, fmt.Sprintf(`(lower(o.name) LIKE $%d ESCAPE '\' OR o.slug LIKE $%d ESCAPE '\')`, n, n))
	}
	if f.UserID != "" {
		args = append(args, f.UserID)
		where = append(where, fmt.Sprintf(`o.id IN (SELECT organization_id FROM organization_memberships WHERE user_id = $%d)`, len(args)))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM organizations o`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count organizations: %w", err)
	}
	args = append(args, pageLimit(f.Limit, 10), max(f.Offset, 0))
	rows, err := db.read.QueryContext(ctx, `SELECT `+orgColumns+` FROM organizations o`+cond+
		fmt.Sprintf(` ORDER BY o.created_at DESC, o.id LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list organizations: %w", err)
	}
	defer rows.Close()
	var out []*Organization
	for rows.Next() {
		o, err := scanOrganization(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: scan organization: %w", err)
		}
		out = append(out, o)
	}
	return out, total, rows.Err()
}

func pageLimit(limit, def int) int {
	if limit <= 0 {
		return def
	}
	return min(limit, 500)
}

// UpdateOrganization changes an organization, authorised by g. A taken
// slug is ErrConflict.
func (db *DB) UpdateOrganization(ctx context.Context, id string, up OrganizationUpdate, g Guard) (*Organization, error) {
	var o *Organization
	err := db.orgTx(ctx, id, g, func(tx *sql.Tx) error {
		var sets []string
		var args []any
		add := func(col string, v any) {
			args = append(args, v)
			sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
		}
		if up.Name != nil {
			add("name", *up.Name)
		}
		if up.Slug != nil {
			add("slug", *up.Slug)
		}
		if up.MaxAllowedMemberships != nil {
			add("max_allowed_memberships", *up.MaxAllowedMemberships)
		}
		if up.PublicMetadata != nil {
			add("public_metadata", string(up.PublicMetadata))
		}
		if up.PrivateMetadata != nil {
			add("private_metadata", string(up.PrivateMetadata))
		}
		add("updated_at", Now())
		args = append(args, id)
		_, err := tx.ExecContext(ctx, `UPDATE organizations SET `+strings.Join(sets, ", ")+fmt.Sprintf(` WHERE id = $%d`, len(args)), args...)
		if isUniqueViolation(err) {
			return fmt.Errorf("store: slug taken: %w", ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: update organization: %w", err)
		}
		if o, err = getOrganization(ctx, tx, id, ""); err != nil {
			return err
		}
		return orgUpdated(ctx, tx, g, o)
	})
	return o, err
}

// orgUpdated records the organization.updated event of a change to o by
// g's acting user, with o as the change left it.
func orgUpdated(ctx context.Context, tx *sql.Tx, g Guard, o *Organization) error {
	data, err := marshalData(o)
	if err != nil {
		return err
	}
	return audit(ctx, tx, AuditEvent{Name: "organization.updated", UserID: g.ActorID, ResourceID: o.ID,
		Object: ObjectOrganization, Data: data})
}

// MergeOrganizationMetadata deep-merges the patches (Public and Private;
// Unsafe is ignored) into the organization's metadata, authorised by g.
func (db *DB) MergeOrganizationMetadata(ctx context.Context, id string, p MetadataPatch, g Guard) (*Organization, error) {
	var o *Organization
	err := db.orgTx(ctx, id, g, func(tx *sql.Tx) error {
		cur, err := getOrganization(ctx, tx, id, "")
		if err != nil {
			return err
		}
		var pub, priv json.RawMessage
		if p.Public != nil {
			if pub, err = MergeJSON(cur.PublicMetadata, p.Public); err != nil {
				return fmt.Errorf("store: merge metadata: %w", err)
			}
		}
		if p.Private != nil {
			if priv, err = MergeJSON(cur.PrivateMetadata, p.Private); err != nil {
				return fmt.Errorf("store: merge metadata: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE organizations SET public_metadata = COALESCE($1, public_metadata),
			private_metadata = COALESCE($2, private_metadata), updated_at = $3 WHERE id = $4`,
			nullJSON(pub), nullJSON(priv), Now(), id); err != nil {
			return fmt.Errorf("store: update organization metadata: %w", err)
		}
		if o, err = getOrganization(ctx, tx, id, ""); err != nil {
			return err
		}
		return orgUpdated(ctx, tx, g, o)
	})
	return o, err
}

// DeleteOrganization deletes an organization, authorised by g. Its
// memberships, invitations and API keys go with it (foreign keys with ON
// DELETE CASCADE), and sessions that had it active fall back to the
// personal account.
func (db *DB) DeleteOrganization(ctx context.Context, id string, g Guard) error {
	return db.orgTx(ctx, id, g, func(tx *sql.Tx) error {
		before, err := snapshot(ctx, tx, AuditEvent{Object: ObjectOrganization, ResourceID: id})
		if err != nil {
			return fmt.Errorf("store: delete organization: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM organizations WHERE id = $1`, id); err != nil {
			return fmt.Errorf("store: delete organization: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET last_active_organization_id = NULL, updated_at = $1
			WHERE last_active_organization_id = $2`, Now(), id); err != nil {
			return fmt.Errorf("store: clear active organization: %w", err)
		}
		return audit(ctx, tx, AuditEvent{Name: "organization.deleted", UserID: g.ActorID, ResourceID: id,
			Object: ObjectOrganization, Data: before})
	})
}

// orgTx runs fn in a write transaction that first locks the organization
// row (on PostgreSQL; SQLite's IMMEDIATE transactions serialise every
// writer) and checks g. Every organization-scoped write takes this lock
// first, so such writes to one organization run one after another and
// always lock in the same order.
func (db *DB) orgTx(ctx context.Context, orgID string, g Guard, fn func(*sql.Tx) error) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.lockOrganization(ctx, tx, orgID); err != nil {
			return err
		}
		if _, err := db.authorize(ctx, tx, orgID, g); err != nil {
			return err
		}
		return fn(tx)
	})
}

func (db *DB) lockOrganization(ctx context.Context, tx *sql.Tx, orgID string) error {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT id FROM organizations WHERE id = $1`+db.forUpdate, orgID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: organization %q: %w", orgID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: lock organization: %w", err)
	}
	return nil
}

// authorize checks g against the acting user's membership as it is now,
// inside tx, and returns the actor's role ("" for the instance).
func (db *DB) authorize(ctx context.Context, tx *sql.Tx, orgID string, g Guard) (string, error) {
	if g.Instance {
		return "", nil
	}
	if g.ActorID == "" {
		return "", fmt.Errorf("store: no acting user: %w", ErrForbidden)
	}
	var role string
	err := tx.QueryRowContext(ctx, `SELECT role FROM organization_memberships WHERE organization_id = $1 AND user_id = $2`+db.forUpdate,
		orgID, g.ActorID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: user %q in organization %q: %w", g.ActorID, orgID, ErrNotMember)
	}
	if err != nil {
		return "", fmt.Errorf("store: load acting membership: %w", err)
	}
	if !g.AnyMember && !slices.Contains(g.ActorRoles, role) {
		return "", fmt.Errorf("store: role %q: %w", role, ErrForbidden)
	}
	return role, nil
}

const membershipColumns = `m.id, m.organization_id, m.user_id, m.role, m.created_at, m.updated_at,
	u.first_name, u.last_name, u.banned, COALESCE(e.email, ''), ` + orgColumns

const membershipFrom = ` FROM organization_memberships m
	JOIN users u ON u.id = m.user_id
	LEFT JOIN email_addresses e ON e.user_id = m.user_id AND e.is_primary = 1
	JOIN organizations o ON o.id = m.organization_id`

func scanMembership(row rowScanner) (*Membership, error) {
	var m Membership
	var o Organization
	var pub, priv string
	var createdBy sql.NullString
	var banned int
	err := row.Scan(&m.ID, &m.OrganizationID, &m.UserID, &m.Role, &m.CreatedAt, &m.UpdatedAt,
		&m.User.FirstName, &m.User.LastName, &banned, &m.User.Email,
		&o.ID, &o.Name, &o.Slug, &pub, &priv, &o.MaxAllowedMemberships, &createdBy, &o.CreatedAt, &o.UpdatedAt, &o.MembersCount)
	if err != nil {
		return nil, err
	}
	m.User.Banned = banned != 0
	o.PublicMetadata, o.PrivateMetadata, o.CreatedBy = []byte(pub), []byte(priv), createdBy.String
	m.Organization = &o
	return &m, nil
}

// GetMembership returns the user's membership of the organization (with
// the organization), or ErrNotFound.
func (db *DB) GetMembership(ctx context.Context, orgID, userID string) (*Membership, error) {
	return getMembership(ctx, db.read, orgID, userID)
}

func getMembership(ctx context.Context, q queryer, orgID, userID string) (*Membership, error) {
	m, err := scanMembership(q.QueryRowContext(ctx, `SELECT `+membershipColumns+membershipFrom+
		` WHERE m.organization_id = $1 AND m.user_id = $2`, orgID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: membership of %q in %q: %w", userID, orgID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get membership: %w", err)
	}
	return m, nil
}

// UserOrganization is one organization of a user, with the user's role.
type UserOrganization struct {
	ID, Name, Slug, Role string
}

// UserOrganizations lists userID's organizations and roles, oldest
// membership first. Unlike ListMemberships it counts nothing and joins no
// user, since it runs on every signed-in page.
func (db *DB) UserOrganizations(ctx context.Context, userID string, limit int) ([]UserOrganization, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT o.id, o.name, o.slug, m.role FROM organization_memberships m
		JOIN organizations o ON o.id = m.organization_id WHERE m.user_id = $1 ORDER BY m.created_at, m.id LIMIT $2`,
		userID, pageLimit(limit, 100))
	if err != nil {
		return nil, fmt.Errorf("store: user organizations: %w", err)
	}
	defer rows.Close()
	var out []UserOrganization
	for rows.Next() {
		var o UserOrganization
		if err := rows.Scan(&o.ID, &o.Name, &o.Slug, &o.Role); err != nil {
			return nil, fmt.Errorf("store: scan user organization: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// ListMemberships returns one page of memberships, oldest first, and how
// many match in all.
func (db *DB) ListMemberships(ctx context.Context, f MembershipFilter) ([]*Membership, int, error) {
	var where []string
	var args []any
	if f.OrganizationID != "" {
		args = append(args, f.OrganizationID)
		where = append(where, fmt.Sprintf("m.organization_id = $%d", len(args)))
	}
	if f.UserID != "" {
		args = append(args, f.UserID)
		where = append(where, fmt.Sprintf("m.user_id = $%d", len(args)))
	}
	if len(where) == 0 {
		return nil, 0, errors.New("store: list memberships: an organization or a user is needed")
	}
	cond := " WHERE " + strings.Join(where, " AND ")
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM organization_memberships m`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count memberships: %w", err)
	}
	args = append(args, pageLimit(f.Limit, 100), max(f.Offset, 0))
	rows, err := db.read.QueryContext(ctx, `SELECT `+membershipColumns+membershipFrom+cond+
		fmt.Sprintf(` ORDER BY m.created_at, m.id LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list memberships: %w", err)
	}
	defer rows.Close()
	var out []*Membership
	for rows.Next() {
		m, err := scanMembership(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: scan membership: %w", err)
		}
		out = append(out, m)
	}
	return out, total, rows.Err()
}

func insertMembership(ctx context.Context, tx *sql.Tx, orgID, userID, role string, now int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO organization_memberships (id, organization_id, user_id, role, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)`, randid.New("orgmem"), orgID, userID, role, now)
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("store: user %q: %w", userID, ErrAlreadyMember)
	case isForeignKeyViolation(err):
		return fmt.Errorf("store: user %q: %w", userID, ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: insert membership: %w", err)
	}
	return nil
}

// checkLimit refuses a new member when the organization is full.
func checkLimit(ctx context.Context, tx *sql.Tx, orgID string) error {
	var limit, count int
	if err := tx.QueryRowContext(ctx, `SELECT max_allowed_memberships,
		(SELECT count(*) FROM organization_memberships WHERE organization_id = $1)
		FROM organizations WHERE id = $1`, orgID).Scan(&limit, &count); err != nil {
		return fmt.Errorf("store: count members: %w", err)
	}
	if limit > 0 && count >= limit {
		return fmt.Errorf("store: %d of %d members: %w", count, limit, ErrLimitReached)
	}
	return nil
}

// CreateMembership adds a user to an organization with role, authorised
// by g. ErrAlreadyMember when the user is a member; ErrNotFound when the
// user or organization does not exist.
func (db *DB) CreateMembership(ctx context.Context, orgID, userID, role string, g Guard) (*Membership, error) {
	var m *Membership
	err := db.orgTx(ctx, orgID, g, func(tx *sql.Tx) error {
		if err := checkLimit(ctx, tx, orgID); err != nil {
			return err
		}
		if err := insertMembership(ctx, tx, orgID, userID, role, Now()); err != nil {
			return err
		}
		var err error
		if m, err = getMembership(ctx, tx, orgID, userID); err != nil {
			return err
		}
		return membershipAudit(ctx, tx, "organizationMembership.created", g, m)
	})
	return m, err
}

// UpdateMembershipRole changes a member's role, authorised by g; demoting
// the last admin is ErrLastAdmin.
func (db *DB) UpdateMembershipRole(ctx context.Context, orgID, userID, role string, g Guard) (*Membership, error) {
	var m *Membership
	err := db.memberWrite(ctx, orgID, userID, g, func(tx *sql.Tx, target string, admins int) error {
		isAdmin := slices.Contains(g.AdminRoles, target)
		if isAdmin && admins <= 1 && !slices.Contains(g.AdminRoles, role) {
			return fmt.Errorf("store: demote %q: %w", userID, ErrLastAdmin)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE organization_memberships SET role = $1, updated_at = $2
			WHERE organization_id = $3 AND user_id = $4`, role, Now(), orgID, userID); err != nil {
			return fmt.Errorf("store: update membership: %w", err)
		}
		var err error
		if m, err = getMembership(ctx, tx, orgID, userID); err != nil {
			return err
		}
		return membershipAudit(ctx, tx, "organizationMembership.updated", g, m)
	})
	return m, err
}

// DeleteMembership removes a user from an organization, authorised by g;
// removing the last admin is ErrLastAdmin. The user's sessions that had
// the organization active fall back to the personal account. It returns
// the membership as it was.
func (db *DB) DeleteMembership(ctx context.Context, orgID, userID string, g Guard) (*Membership, error) {
	var m *Membership
	err := db.memberWrite(ctx, orgID, userID, g, func(tx *sql.Tx, target string, admins int) error {
		if slices.Contains(g.AdminRoles, target) && admins <= 1 {
			return fmt.Errorf("store: remove %q: %w", userID, ErrLastAdmin)
		}
		var err error
		if m, err = getMembership(ctx, tx, orgID, userID); err != nil {
			return err
		}
		now := Now()
		if _, err := tx.ExecContext(ctx, `DELETE FROM organization_memberships WHERE organization_id = $1 AND user_id = $2`, orgID, userID); err != nil {
			return fmt.Errorf("store: delete membership: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET last_active_organization_id = NULL, updated_at = $1
			WHERE user_id = $2 AND last_active_organization_id = $3`, now, userID, orgID); err != nil {
			return fmt.Errorf("store: clear active organization: %w", err)
		}
		m.Organization.MembersCount--
		return membershipAudit(ctx, tx, "organizationMembership.deleted", g, m)
	})
	return m, err
}

// membershipAudit records a membership change, made by g's acting user,
// with the member and the role in the payload and the membership as the
// change left it (as it was, for a deletion) in the data.
func membershipAudit(ctx context.Context, tx *sql.Tx, name string, g Guard, m *Membership) error {
	payload, _ := json.Marshal(map[string]string{"organization_id": m.OrganizationID, "user_id": m.UserID, "role": m.Role})
	data, err := marshalData(m)
	if err != nil {
		return err
	}
	return audit(ctx, tx, AuditEvent{Name: name, UserID: g.ActorID, ResourceID: m.ID, Payload: payload,
		Object: ObjectMembership, Data: data})
}

// memberWrite runs fn for a change to userID's membership: inside one
// transaction it locks the organization and the memberships that matter
// (the actor's, the target's and every admin's), checks g, and passes fn
// the target's current role and the number of admins. ErrNotFound when
// the target is not a member.
func (db *DB) memberWrite(ctx context.Context, orgID, userID string, g Guard, fn func(tx *sql.Tx, targetRole string, admins int) error) error {
	if len(g.AdminRoles) == 0 {
		return errors.New("store: membership write without admin roles")
	}
	return db.orgTx(ctx, orgID, g, func(tx *sql.Tx) error {
		args := []any{orgID, userID}
		ph := make([]string, len(g.AdminRoles))
		for i, r := range g.AdminRoles {
			args = append(args, r)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		rows, err := tx.QueryContext(ctx, `SELECT user_id, role FROM organization_memberships
			WHERE organization_id = $1 AND (user_id = $2 OR role IN (`+strings.Join(ph, ", ")+`))
			ORDER BY id`+db.forUpdate, args...)
		if err != nil {
			return fmt.Errorf("store: lock memberships: %w", err)
		}
		target, admins := "", 0
		for rows.Next() {
			var uid, role string
			if err := rows.Scan(&uid, &role); err != nil {
				rows.Close()
				return fmt.Errorf("store: scan membership: %w", err)
			}
			if uid == userID {
				target = role
			}
			if slices.Contains(g.AdminRoles, role) {
				admins++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: lock memberships: %w", err)
		}
		if target == "" {
			return fmt.Errorf("store: membership of %q in %q: %w", userID, orgID, ErrNotFound)
		}
		return fn(tx, target, admins)
	})
}
