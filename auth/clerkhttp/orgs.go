package clerkhttp

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
)

// OrganizationsAPI is the Organizations group over HTTP
// (/v1/organizations). It acts for the instance, as the in-process group
// does; the server holds every rule (a last admin stays, slugs are
// unique).
type OrganizationsAPI struct {
	t *transport
}

// orgPath is /organizations/{id} followed by suffix.
func orgPath(id, suffix string) (string, error) {
	return idPath("organizations", "organization", id, suffix)
}

// organizationBody is the body of POST /organizations and
// PATCH /organizations/{id}.
type organizationBody struct {
	Name                  *string         `json:"name,omitempty"`
	Slug                  *string         `json:"slug,omitempty"`
	CreatedBy             *string         `json:"created_by,omitempty"`
	MaxAllowedMemberships *int            `json:"max_allowed_memberships,omitempty"`
	PublicMetadata        json.RawMessage `json:"public_metadata,omitempty"`
	PrivateMetadata       json.RawMessage `json:"private_metadata,omitempty"`
}

// CreateOrganization creates an organization (POST /organizations).
func (o *OrganizationsAPI) CreateOrganization(ctx context.Context, p clerkclient.CreateOrganizationParams) (*clerkclient.Organization, error) {
	body := organizationBody{Slug: p.Slug, CreatedBy: p.CreatedBy, MaxAllowedMemberships: p.MaxAllowedMemberships,
		PublicMetadata: p.PublicMetadata, PrivateMetadata: p.PrivateMetadata}
	if p.Name != "" {
		body.Name = &p.Name
	}
	return call[clerkclient.Organization](ctx, o.t, "create organization", request{method: http.MethodPost, path: "/organizations", body: body})
}

// GetOrganization returns the organization with the id (org_…) or slug
// (GET /organizations/{id-or-slug}), with its members_count as the
// in-process client gives it.
func (o *OrganizationsAPI) GetOrganization(ctx context.Context, idOrSlug string) (*clerkclient.Organization, error) {
	p, err := orgPath(idOrSlug, "")
	if err != nil {
		return nil, err
	}
	q := query{}
	q.flag("include_members_count", true)
	return call[clerkclient.Organization](ctx, o.t, "get organization", request{method: http.MethodGet, path: p, query: q})
}

// GetOrganizationList returns organizations, newest first
// (GET /organizations).
func (o *OrganizationsAPI) GetOrganizationList(ctx context.Context, p clerkclient.OrganizationListParams) (*clerkclient.OrganizationList, error) {
	q := query{}.page(p.Limit, p.Offset)
	q.str("query", p.Query)
	q.str("user_id", p.UserID)
	list, err := call[clerkclient.OrganizationList](ctx, o.t, "list organizations", request{method: http.MethodGet, path: "/organizations", query: q})
	if err != nil {
		return nil, err
	}
	if list.Data == nil {
		list.Data = []*clerkclient.Organization{}
	}
	return list, nil
}

// UpdateOrganization changes the non-nil fields of an organization
// (PATCH /organizations/{id}); metadata given here replace the old
// values.
func (o *OrganizationsAPI) UpdateOrganization(ctx context.Context, id string, p clerkclient.UpdateOrganizationParams) (*clerkclient.Organization, error) {
	path, err := orgPath(id, "")
	if err != nil {
		return nil, err
	}
	body := organizationBody{Name: p.Name, Slug: p.Slug, MaxAllowedMemberships: p.MaxAllowedMemberships,
		PublicMetadata: p.PublicMetadata, PrivateMetadata: p.PrivateMetadata}
	return call[clerkclient.Organization](ctx, o.t, "update organization", request{method: http.MethodPatch, path: path, body: body})
}

// UpdateOrganizationMetadata deep-merges the given objects into the
// organization's metadata, a null value deleting its key
// (PATCH /organizations/{id}/metadata).
func (o *OrganizationsAPI) UpdateOrganizationMetadata(ctx context.Context, id string, p clerkclient.UpdateOrganizationMetadataParams) (*clerkclient.Organization, error) {
	path, err := orgPath(id, "/metadata")
	if err != nil {
		return nil, err
	}
	body := metadataBody{PublicMetadata: p.PublicMetadata, PrivateMetadata: p.PrivateMetadata}
	return call[clerkclient.Organization](ctx, o.t, "update organization metadata", request{method: http.MethodPatch, path: path, body: body})
}

// DeleteOrganization deletes an organization with its memberships and
// invitations (DELETE /organizations/{id}).
func (o *OrganizationsAPI) DeleteOrganization(ctx context.Context, id string) (*clerkclient.DeletedObject, error) {
	path, err := orgPath(id, "")
	if err != nil {
		return nil, err
	}
	return call[clerkclient.DeletedObject](ctx, o.t, "delete organization", request{method: http.MethodDelete, path: path})
}

// GetOrganizationMembershipList returns an organization's memberships
// (GET /organizations/{id}/memberships).
func (o *OrganizationsAPI) GetOrganizationMembershipList(ctx context.Context, p clerkclient.OrganizationMembershipListParams) (*clerkclient.OrganizationMembershipList, error) {
	path, err := orgPath(p.OrganizationID, "/memberships")
	if err != nil {
		return nil, err
	}
	list, err := call[clerkclient.OrganizationMembershipList](ctx, o.t, "list memberships",
		request{method: http.MethodGet, path: path, query: query{}.page(p.Limit, p.Offset)})
	if err != nil {
		return nil, err
	}
	if list.Data == nil {
		list.Data = []*clerkclient.OrganizationMembership{}
	}
	return list, nil
}

// membershipBody is the body of the membership routes.
type membershipBody struct {
	UserID string `json:"user_id,omitempty"`
	Role   string `json:"role,omitempty"`
}

// membershipPath is /organizations/{id}/memberships/{user_id}.
func membershipPath(orgID, userID string) (string, error) {
	path, err := orgPath(orgID, "/memberships/")
	if err != nil {
		return "", err
	}
	u, err := seg("membership", userID)
	if err != nil {
		return "", err
	}
	return path + u, nil
}

// CreateOrganizationMembership adds a user to an organization
// (POST /organizations/{id}/memberships).
func (o *OrganizationsAPI) CreateOrganizationMembership(ctx context.Context, p clerkclient.CreateOrganizationMembershipParams) (*clerkclient.OrganizationMembership, error) {
	path, err := orgPath(p.OrganizationID, "/memberships")
	if err != nil {
		return nil, err
	}
	return call[clerkclient.OrganizationMembership](ctx, o.t, "create membership",
		request{method: http.MethodPost, path: path, body: membershipBody{UserID: p.UserID, Role: p.Role}})
}

// UpdateOrganizationMembership changes a member's role
// (PATCH /organizations/{id}/memberships/{user_id}); demoting the last
// admin is refused (409, identity.CodeLastAdmin).
func (o *OrganizationsAPI) UpdateOrganizationMembership(ctx context.Context, p clerkclient.UpdateOrganizationMembershipParams) (*clerkclient.OrganizationMembership, error) {
	path, err := membershipPath(p.OrganizationID, p.UserID)
	if err != nil {
		return nil, err
	}
	return call[clerkclient.OrganizationMembership](ctx, o.t, "update membership",
		request{method: http.MethodPatch, path: path, body: membershipBody{Role: p.Role}})
}

// DeleteOrganizationMembership removes a member and returns the
// membership as it was (DELETE /organizations/{id}/memberships/{user_id});
// removing the last admin is refused (409, identity.CodeLastAdmin).
func (o *OrganizationsAPI) DeleteOrganizationMembership(ctx context.Context, p clerkclient.DeleteOrganizationMembershipParams) (*clerkclient.OrganizationMembership, error) {
	path, err := membershipPath(p.OrganizationID, p.UserID)
	if err != nil {
		return nil, err
	}
	return call[clerkclient.OrganizationMembership](ctx, o.t, "delete membership", request{method: http.MethodDelete, path: path})
}

// invitationBody is the body of POST /organizations/{id}/invitations.
type invitationBody struct {
	EmailAddress    string          `json:"email_address,omitempty"`
	Role            string          `json:"role,omitempty"`
	InviterUserID   string          `json:"inviter_user_id,omitempty"`
	PublicMetadata  json.RawMessage `json:"public_metadata,omitempty"`
	PrivateMetadata json.RawMessage `json:"private_metadata,omitempty"`
}

// CreateOrganizationInvitation invites an email address into an
// organization (POST /organizations/{id}/invitations); the answer's url
// is the link, shown this once.
func (o *OrganizationsAPI) CreateOrganizationInvitation(ctx context.Context, p clerkclient.CreateOrganizationInvitationParams) (*clerkclient.OrganizationInvitation, error) {
	path, err := orgPath(p.OrganizationID, "/invitations")
	if err != nil {
		return nil, err
	}
	body := invitationBody{EmailAddress: p.EmailAddress, Role: p.Role, InviterUserID: p.InviterUserID,
		PublicMetadata: p.PublicMetadata, PrivateMetadata: p.PrivateMetadata}
	return call[clerkclient.OrganizationInvitation](ctx, o.t, "create invitation", request{method: http.MethodPost, path: path, body: body})
}

// GetOrganizationInvitationList returns an organization's invitations,
// newest first (GET /organizations/{id}/invitations), of one Status or
// all.
func (o *OrganizationsAPI) GetOrganizationInvitationList(ctx context.Context, p clerkclient.OrganizationInvitationListParams) (*clerkclient.OrganizationInvitationList, error) {
	path, err := orgPath(p.OrganizationID, "/invitations")
	if err != nil {
		return nil, err
	}
	return invitationList(ctx, o.t, "list invitations", path, p.Status, p.Limit, p.Offset)
}

// invitationList reads a page of invitations from path.
func invitationList(ctx context.Context, t *transport, op, path, status string, limit, offset int) (*clerkclient.OrganizationInvitationList, error) {
	q := query{}.page(limit, offset)
	q.str("status", status)
	list, err := call[clerkclient.OrganizationInvitationList](ctx, t, op, request{method: http.MethodGet, path: path, query: q})
	if err != nil {
		return nil, err
	}
	if list.Data == nil {
		list.Data = []*clerkclient.OrganizationInvitation{}
	}
	return list, nil
}

// invitationPath is /organizations/{org}/invitations/{inv}, then suffix.
func invitationPath(orgID, invID, suffix string) (string, error) {
	path, err := orgPath(orgID, "/invitations/")
	if err != nil {
		return "", err
	}
	inv, err := seg("invitation", invID)
	if err != nil {
		return "", err
	}
	return path + inv + suffix, nil
}

// GetOrganizationInvitation returns an invitation of the organization
// (GET /organizations/{id}/invitations/{invitation_id}).
func (o *OrganizationsAPI) GetOrganizationInvitation(ctx context.Context, p clerkclient.GetOrganizationInvitationParams) (*clerkclient.OrganizationInvitation, error) {
	path, err := invitationPath(p.OrganizationID, p.InvitationID, "")
	if err != nil {
		return nil, err
	}
	return call[clerkclient.OrganizationInvitation](ctx, o.t, "get invitation", request{method: http.MethodGet, path: path})
}

// RevokeOrganizationInvitation revokes a pending invitation
// (POST /organizations/{id}/invitations/{invitation_id}/revoke).
func (o *OrganizationsAPI) RevokeOrganizationInvitation(ctx context.Context, p clerkclient.RevokeOrganizationInvitationParams) (*clerkclient.OrganizationInvitation, error) {
	path, err := invitationPath(p.OrganizationID, p.InvitationID, "/revoke")
	if err != nil {
		return nil, err
	}
	return call[clerkclient.OrganizationInvitation](ctx, o.t, "revoke invitation", request{method: http.MethodPost, path: path})
}
