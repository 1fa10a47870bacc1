package clerkclient

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// Caller is who an organization call is made for: a signed-in user,
// re-read from the store for writes (auth.SessionCaller), or a user id
// for reads ([AsUser]).
type Caller = identity.Caller

// AsUser is the caller of reads made for the user with id.
func AsUser(id string) Caller { return identity.AsUser(id) }

// As returns the organization calls made on behalf of c, the way into
// organizations of the pages a signed-in user works in. Unlike the
// instance-wide calls of OrganizationsAPI, each is authorised by the store
// against c's membership as it is at that moment, inside the write's own
// transaction. Refusals are the identity server's errors (see
// auth.AsError), with Clerk's status and code.
func (o *OrganizationsAPI) As(c Caller) *CallerOrganizations {
	return &CallerOrganizations{orgs: o.orgs, caller: c}
}

// Roles returns the instance's organization roles and their permissions.
func (o *OrganizationsAPI) Roles() *roles.Set { return o.orgs.Roles() }

// Invitation returns the invitation whose link carries secret, whatever
// its status, with the organization's name.
func (o *OrganizationsAPI) Invitation(ctx context.Context, secret string) (*store.Invitation, error) {
	return o.orgs.Invitation(ctx, secret)
}

// CallerOrganizations are the organization calls of one caller.
type CallerOrganizations struct {
	orgs   *identity.Orgs
	caller Caller
}

// List returns the caller's organizations with their role in each.
func (c *CallerOrganizations) List(ctx context.Context) ([]store.UserOrganization, error) {
	return c.orgs.UserOrganizations(ctx, c.caller, c.caller.UserID())
}

// Get returns an organization the caller belongs to, by id or slug.
func (c *CallerOrganizations) Get(ctx context.Context, idOrSlug string) (*Organization, error) {
	org, err := c.orgs.Get(ctx, c.caller, idOrSlug)
	if err != nil {
		return nil, err
	}
	return resource.NewOrganization(org, false), nil
}

// Create creates an organization with the caller as its admin.
func (c *CallerOrganizations) Create(ctx context.Context, name, slug string) (*Organization, error) {
	org, err := c.orgs.Create(ctx, c.caller, identity.CreateOrganizationInput{Name: name, Slug: slug})
	if err != nil {
		return nil, err
	}
	return resource.NewOrganization(org, false), nil
}

// Update renames the organization or changes its slug (nil: unchanged).
func (c *CallerOrganizations) Update(ctx context.Context, orgID string, name, slug *string) error {
	_, err := c.orgs.Update(ctx, c.caller, orgID, identity.UpdateOrganizationInput{Name: name, Slug: slug})
	return err
}

// Delete deletes the organization.
func (c *CallerOrganizations) Delete(ctx context.Context, orgID string) error {
	return c.orgs.Delete(ctx, c.caller, orgID)
}

// Leave ends the caller's own membership.
func (c *CallerOrganizations) Leave(ctx context.Context, orgID string) error {
	return c.orgs.Leave(ctx, c.caller.UserID(), orgID)
}

// Members returns up to limit members of the organization, with their users.
func (c *CallerOrganizations) Members(ctx context.Context, orgID string, limit int) ([]*store.Membership, error) {
	list, _, err := c.orgs.Members(ctx, c.caller, orgID, identity.ListInput{Limit: limit})
	return list, err
}

// ChangeRole gives a member another role.
func (c *CallerOrganizations) ChangeRole(ctx context.Context, orgID, userID, role string) error {
	_, err := c.orgs.ChangeRole(ctx, c.caller, orgID, userID, role)
	return err
}

// RemoveMember removes a member.
func (c *CallerOrganizations) RemoveMember(ctx context.Context, orgID, userID string) error {
	_, err := c.orgs.RemoveMember(ctx, c.caller, orgID, userID)
	return err
}

// Invite invites an address with a role; the link goes out by mail.
func (c *CallerOrganizations) Invite(ctx context.Context, orgID, email, role string) error {
	_, err := c.orgs.Invite(ctx, c.caller, identity.InviteInput{OrganizationID: orgID, EmailAddress: email, Role: role})
	return err
}

// Invitations returns up to limit invitations of the organization with
// the status (pending, accepted, revoked, expired; "" for all).
func (c *CallerOrganizations) Invitations(ctx context.Context, orgID, status string, limit int) ([]*store.Invitation, error) {
	list, _, err := c.orgs.Invitations(ctx, c.caller, orgID, status, identity.ListInput{Limit: limit})
	return list, err
}

// RevokeInvitation revokes a pending invitation.
func (c *CallerOrganizations) RevokeInvitation(ctx context.Context, orgID, invitationID string) error {
	_, err := c.orgs.RevokeInvitation(ctx, c.caller, orgID, invitationID)
	return err
}

// AcceptInvitation makes the caller a member through the invitation whose
// link carries secret, exactly once. Take the caller from
// auth.SessionCaller, so a session that ended a moment ago writes nothing.
func (c *CallerOrganizations) AcceptInvitation(ctx context.Context, secret string) (*store.Membership, error) {
	return c.orgs.AcceptInvitation(ctx, c.caller, secret)
}
