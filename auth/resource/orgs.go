package resource

import (
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// Organization is Clerk's Organization resource.
type Organization struct {
	Object                string          `json:"object"`
	ID                    string          `json:"id"`
	Name                  string          `json:"name"`
	Slug                  string          `json:"slug"`
	ImageURL              string          `json:"image_url"`
	HasImage              bool            `json:"has_image"`
	MembersCount          int             `json:"members_count"`
	MaxAllowedMemberships int             `json:"max_allowed_memberships"`
	AdminDeleteEnabled    bool            `json:"admin_delete_enabled"`
	PublicMetadata        json.RawMessage `json:"public_metadata"`
	PrivateMetadata       json.RawMessage `json:"private_metadata,omitempty"`
	CreatedBy             string          `json:"created_by"`
	CreatedAt             int64           `json:"created_at"`
	UpdatedAt             int64           `json:"updated_at"`
}

// NewOrganization converts a stored organization. With private false,
// private_metadata is left out, as on every surface a browser can read.
func NewOrganization(o *store.Organization, private bool) *Organization {
	out := &Organization{
		Object: "organization", ID: o.ID, Name: o.Name, Slug: o.Slug, MembersCount: o.MembersCount,
		MaxAllowedMemberships: o.MaxAllowedMemberships, AdminDeleteEnabled: true,
		PublicMetadata: orEmpty(o.PublicMetadata), CreatedBy: o.CreatedBy, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
	}
	if private {
		out.PrivateMetadata = orEmpty(o.PrivateMetadata)
	}
	return out
}

// OrganizationMembership is Clerk's OrganizationMembership resource.
type OrganizationMembership struct {
	Object          string          `json:"object"`
	ID              string          `json:"id"`
	Role            string          `json:"role"`
	RoleName        string          `json:"role_name"`
	Permissions     []string        `json:"permissions"`
	PublicMetadata  json.RawMessage `json:"public_metadata"`
	PrivateMetadata json.RawMessage `json:"private_metadata,omitempty"`
	Organization    *Organization   `json:"organization"`
	PublicUserData  *PublicUserData `json:"public_user_data"`
	CreatedAt       int64           `json:"created_at"`
	UpdatedAt       int64           `json:"updated_at"`
}

// PublicUserData is what a membership shows of its user.
type PublicUserData struct {
	UserID          string  `json:"user_id"`
	FirstName       *string `json:"first_name"`
	LastName        *string `json:"last_name"`
	ProfileImageURL string  `json:"profile_image_url"`
	ImageURL        string  `json:"image_url"`
	HasImage        bool    `json:"has_image"`
	Identifier      string  `json:"identifier"`
	Banned          bool    `json:"banned"`
}

// NewOrganizationMembership converts a stored membership (read with its
// organization and user); rs gives the role's name and permissions.
func NewOrganizationMembership(m *store.Membership, rs *roles.Set, private bool) *OrganizationMembership {
	out := &OrganizationMembership{
		Object: "organization_membership", ID: m.ID, Role: m.Role, RoleName: rs.Name(m.Role),
		Permissions:    rs.Permissions(m.Role),
		PublicMetadata: json.RawMessage("{}"),
		PublicUserData: &PublicUserData{
			UserID: m.UserID, FirstName: optional(m.User.FirstName), LastName: optional(m.User.LastName),
			Identifier: m.User.Email, Banned: m.User.Banned,
		},
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
	}
	if out.Permissions == nil {
		out.Permissions = []string{}
	}
	if private {
		out.PrivateMetadata = json.RawMessage("{}")
	}
	if m.Organization != nil {
		out.Organization = NewOrganization(m.Organization, private)
	}
	return out
}

// OrganizationInvitation is Clerk's OrganizationInvitation resource.
type OrganizationInvitation struct {
	Object            string          `json:"object"`
	ID                string          `json:"id"`
	EmailAddress      string          `json:"email_address"`
	Role              string          `json:"role"`
	RoleName          string          `json:"role_name"`
	OrganizationID    string          `json:"organization_id"`
	InviterID         *string         `json:"inviter_id"`
	PublicInviterData any             `json:"public_inviter_data"`
	Status            string          `json:"status"`
	PublicMetadata    json.RawMessage `json:"public_metadata"`
	PrivateMetadata   json.RawMessage `json:"private_metadata,omitempty"`
	URL               *string         `json:"url"`
	ExpiresAt         int64           `json:"expires_at"`
	CreatedAt         int64           `json:"created_at"`
	UpdatedAt         int64           `json:"updated_at"`
}

// NewOrganizationInvitation converts a stored invitation. url is the
// acceptance link, known only when the invitation was just created.
func NewOrganizationInvitation(inv *store.Invitation, rs *roles.Set, url string, private bool) *OrganizationInvitation {
	out := &OrganizationInvitation{
		Object: "organization_invitation", ID: inv.ID, EmailAddress: inv.Email, Role: inv.Role, RoleName: rs.Name(inv.Role),
		OrganizationID: inv.OrganizationID, InviterID: optional(inv.InviterID), Status: inv.Status,
		PublicMetadata: orEmpty(inv.PublicMetadata), URL: optional(url),
		ExpiresAt: inv.ExpiresAt, CreatedAt: inv.CreatedAt, UpdatedAt: inv.UpdatedAt,
	}
	if private {
		out.PrivateMetadata = orEmpty(inv.PrivateMetadata)
	}
	return out
}

// ActorToken is Clerk's ActorToken resource. Token and URL are present
// only in the answer that created it.
type ActorToken struct {
	Object    string          `json:"object"`
	ID        string          `json:"id"`
	Status    string          `json:"status"`
	UserID    string          `json:"user_id"`
	Actor     json.RawMessage `json:"actor"`
	Token     string          `json:"token,omitempty"`
	URL       string          `json:"url,omitempty"`
	CreatedAt int64           `json:"created_at"`
	UpdatedAt int64           `json:"updated_at"`
}

// NewActorToken converts a stored actor token; secret and url are given
// only at creation.
func NewActorToken(t *store.ActorToken, secret, url string) *ActorToken {
	return &ActorToken{Object: "actor_token", ID: t.ID, Status: t.Status, UserID: t.UserID, Actor: orEmpty(t.Actor),
		Token: secret, URL: url, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}
