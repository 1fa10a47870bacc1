package clerkclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// Organization is the backend Organization resource.
type Organization = resource.Organization

// OrganizationMembership is the backend OrganizationMembership resource.
type OrganizationMembership = resource.OrganizationMembership

// OrganizationInvitation is the backend OrganizationInvitation resource.
type OrganizationInvitation = resource.OrganizationInvitation

// ActorToken is the backend ActorToken resource.
type ActorToken = resource.ActorToken

// ClientOption configures [NewClient].
type ClientOption func(*clientOptions)

type clientOptions struct {
	orgs           *identity.Orgs
	actors         *identity.ActorTokens
	templateSealer *token.Sealer
	webhookSealer  *token.Sealer
	totpSealer     *token.Sealer
	secondFactors  secondFactors
	// webhooksAllowPrivate lets endpoint URLs name private addresses.
	webhooksAllowPrivate bool
	instanceID           string
}

// WithInstanceID names the instance (ins_…) in the resources that carry
// it, as Clerk's machines do.
func WithInstanceID(id string) ClientOption { return func(c *clientOptions) { c.instanceID = id } }

// WithOrgs gives the client the organizations service main.go built (with
// the instance's roles, APP_URL for invitation links and the mail
// sender). Without it the client builds one with the default roles,
// relative links and no mail.
func WithOrgs(o *identity.Orgs) ClientOption { return func(c *clientOptions) { c.orgs = o } }

// WithActorTokens gives the client the actor token service main.go built
// (with APP_URL for ticket links).
func WithActorTokens(a *identity.ActorTokens) ClientOption {
	return func(c *clientOptions) { c.actors = a }
}

// fromIdentity turns the identity service's refusals into APIErrors with
// the same status and Clerk code; anything else is wrapped.
func fromIdentity(op string, err error) error {
	if e, ok := identity.AsError(err); ok {
		return &APIError{Status: e.Status, Errors: []APIErrorItem{{Code: e.Code, Message: e.Message, LongMessage: e.LongMessage, Meta: e.Meta()}}}
	}
	return fmt.Errorf("clerkclient: %s: %w", op, err)
}

// ErrorCode returns the Clerk code of a refusal of the backend client or
// of the identity server ("" for other errors), e.g.
// identity.CodeLastAdmin.
func ErrorCode(err error) string {
	if e, ok := AsIdentityError(err); ok {
		return e.Code
	}
	return ""
}

// AsIdentityError returns a refusal of the backend client (an *APIError)
// or of the identity server as the identity server's *identity.Error, the
// one type each HTTP surface turns into its answer.
func AsIdentityError(err error) (*identity.Error, bool) {
	if e, ok := identity.AsError(err); ok {
		return e, true
	}
	if e, ok := errors.AsType[*APIError](err); ok && len(e.Errors) > 0 {
		it := e.Errors[0]
		param, _ := it.Meta["param_name"].(string)
		return &identity.Error{Status: e.Status, Code: it.Code, Message: it.Message, LongMessage: it.LongMessage, Param: param}, true
	}
	return nil, false
}

// OrganizationsAPI is the Organizations group of the backend client. It
// acts for the instance: no membership is required, but every rule of the
// organizations still holds (a last admin stays, slugs are unique,
// invitations are accepted once).
type OrganizationsAPI struct {
	orgs *identity.Orgs
}

var instance = identity.AsInstance()

func (o *OrganizationsAPI) organization(org *store.Organization) *Organization {
	return resource.NewOrganization(org, true)
}

func (o *OrganizationsAPI) membership(m *store.Membership) *OrganizationMembership {
	return resource.NewOrganizationMembership(m, o.orgs.Roles(), true)
}

// CreateOrganizationParams create an organization.
type CreateOrganizationParams struct {
	Name string
	// Slug is derived from Name when nil or empty.
	Slug *string
	// CreatedBy, when set, becomes the organization's first admin.
	CreatedBy             *string
	MaxAllowedMemberships *int
	PublicMetadata        json.RawMessage
	PrivateMetadata       json.RawMessage
}

// CreateOrganization creates an organization.
func (o *OrganizationsAPI) CreateOrganization(ctx context.Context, p CreateOrganizationParams) (*Organization, error) {
	in := identity.CreateOrganizationInput{Name: p.Name, Slug: deref(p.Slug), CreatedBy: deref(p.CreatedBy),
		PublicMetadata: p.PublicMetadata, PrivateMetadata: p.PrivateMetadata}
	if p.MaxAllowedMemberships != nil {
		in.MaxAllowedMemberships = *p.MaxAllowedMemberships
	}
	org, err := o.orgs.Create(ctx, instance, in)
	if err != nil {
		return nil, fromIdentity("create organization", err)
	}
	return o.organization(org), nil
}

// GetOrganization returns the organization with the id (org_…) or slug.
func (o *OrganizationsAPI) GetOrganization(ctx context.Context, idOrSlug string) (*Organization, error) {
	org, err := o.orgs.Get(ctx, instance, idOrSlug)
	if err != nil {
		return nil, fromIdentity("get organization", err)
	}
	return o.organization(org), nil
}

// OrganizationListParams filter [OrganizationsAPI.GetOrganizationList].
type OrganizationListParams struct {
	Limit, Offset int
	// Query matches names and slugs.
	Query string
	// UserID keeps the organizations the user belongs to.
	UserID string
}

// OrganizationList is one page of organizations.
type OrganizationList struct {
	Data       []*Organization `json:"data"`
	TotalCount int             `json:"total_count"`
}

// GetOrganizationList returns organizations, newest first.
func (o *OrganizationsAPI) GetOrganizationList(ctx context.Context, p OrganizationListParams) (*OrganizationList, error) {
	list, total, err := o.orgs.List(ctx, instance, p.Query, p.UserID, identity.ListInput{Limit: listLimit(p.Limit), Offset: p.Offset})
	if err != nil {
		return nil, fromIdentity("list organizations", err)
	}
	out := &OrganizationList{Data: make([]*Organization, 0, len(list)), TotalCount: total}
	for _, org := range list {
		out.Data = append(out.Data, o.organization(org))
	}
	return out, nil
}

// UpdateOrganizationParams change the non-nil fields of an organization;
// metadata given here replace the old values.
type UpdateOrganizationParams struct {
	Name, Slug            *string
	MaxAllowedMemberships *int
	PublicMetadata        json.RawMessage
	PrivateMetadata       json.RawMessage
}

// UpdateOrganization changes an organization.
func (o *OrganizationsAPI) UpdateOrganization(ctx context.Context, id string, p UpdateOrganizationParams) (*Organization, error) {
	org, err := o.orgs.Update(ctx, instance, id, identity.UpdateOrganizationInput{Name: p.Name, Slug: p.Slug,
		MaxAllowedMemberships: p.MaxAllowedMemberships, PublicMetadata: p.PublicMetadata, PrivateMetadata: p.PrivateMetadata})
	if err != nil {
		return nil, fromIdentity("update organization", err)
	}
	return o.organization(org), nil
}

// UpdateOrganizationMetadataParams are merged into an organization's
// metadata.
type UpdateOrganizationMetadataParams struct {
	PublicMetadata  json.RawMessage
	PrivateMetadata json.RawMessage
}

// UpdateOrganizationMetadata deep-merges the given objects into the
// organization's metadata; a null value deletes its key.
func (o *OrganizationsAPI) UpdateOrganizationMetadata(ctx context.Context, id string, p UpdateOrganizationMetadataParams) (*Organization, error) {
	org, err := o.orgs.MergeMetadata(ctx, instance, id, p.PublicMetadata, p.PrivateMetadata)
	if err != nil {
		return nil, fromIdentity("update organization metadata", err)
	}
	return o.organization(org), nil
}

// DeleteOrganization deletes an organization with its memberships and
// invitations.
func (o *OrganizationsAPI) DeleteOrganization(ctx context.Context, id string) (*DeletedObject, error) {
	if err := o.orgs.Delete(ctx, instance, id); err != nil {
		return nil, fromIdentity("delete organization", err)
	}
	return &DeletedObject{Object: "organization", ID: id, Deleted: true}, nil
}

// OrganizationMembershipListParams select one page of an organization's
// memberships.
type OrganizationMembershipListParams struct {
	OrganizationID string
	Limit, Offset  int
}

// OrganizationMembershipList is one page of memberships.
type OrganizationMembershipList struct {
	Data       []*OrganizationMembership `json:"data"`
	TotalCount int                       `json:"total_count"`
}

func (o *OrganizationsAPI) membershipList(list []*store.Membership, total int) *OrganizationMembershipList {
	out := &OrganizationMembershipList{Data: make([]*OrganizationMembership, 0, len(list)), TotalCount: total}
	for _, m := range list {
		out.Data = append(out.Data, o.membership(m))
	}
	return out
}

// GetOrganizationMembershipList returns an organization's memberships,
// oldest first, each with its organization and public user data.
func (o *OrganizationsAPI) GetOrganizationMembershipList(ctx context.Context, p OrganizationMembershipListParams) (*OrganizationMembershipList, error) {
	list, total, err := o.orgs.Members(ctx, instance, p.OrganizationID, identity.ListInput{Limit: listLimit(p.Limit), Offset: p.Offset})
	if err != nil {
		return nil, fromIdentity("list memberships", err)
	}
	return o.membershipList(list, total), nil
}

// CreateOrganizationMembershipParams add a user to an organization.
type CreateOrganizationMembershipParams struct {
	OrganizationID, UserID string
	// Role is a role key ("org:member" or "member"); the default role when empty.
	Role string
}

// CreateOrganizationMembership adds a user to an organization.
func (o *OrganizationsAPI) CreateOrganizationMembership(ctx context.Context, p CreateOrganizationMembershipParams) (*OrganizationMembership, error) {
	m, err := o.orgs.AddMember(ctx, instance, p.OrganizationID, p.UserID, p.Role)
	if err != nil {
		return nil, fromIdentity("create membership", err)
	}
	return o.membership(m), nil
}

// UpdateOrganizationMembershipParams change a member's role.
type UpdateOrganizationMembershipParams struct {
	OrganizationID, UserID, Role string
}

// UpdateOrganizationMembership changes a member's role; demoting the last
// admin is refused (409, identity.CodeLastAdmin).
func (o *OrganizationsAPI) UpdateOrganizationMembership(ctx context.Context, p UpdateOrganizationMembershipParams) (*OrganizationMembership, error) {
	m, err := o.orgs.ChangeRole(ctx, instance, p.OrganizationID, p.UserID, p.Role)
	if err != nil {
		return nil, fromIdentity("update membership", err)
	}
	return o.membership(m), nil
}

// DeleteOrganizationMembershipParams remove a user from an organization.
type DeleteOrganizationMembershipParams struct {
	OrganizationID, UserID string
}

// DeleteOrganizationMembership removes a member and returns the membership
// as it was; removing the last admin is refused (409,
// identity.CodeLastAdmin).
func (o *OrganizationsAPI) DeleteOrganizationMembership(ctx context.Context, p DeleteOrganizationMembershipParams) (*OrganizationMembership, error) {
	m, err := o.orgs.RemoveMember(ctx, instance, p.OrganizationID, p.UserID)
	if err != nil {
		return nil, fromIdentity("delete membership", err)
	}
	return o.membership(m), nil
}

// CreateOrganizationInvitationParams invite an email address.
type CreateOrganizationInvitationParams struct {
	OrganizationID string
	EmailAddress   string
	// Role is a role key; the default role when empty.
	Role string
	// InviterUserID is shown as the inviter.
	InviterUserID   string
	PublicMetadata  json.RawMessage
	PrivateMetadata json.RawMessage
}

// CreateOrganizationInvitation invites an email address into an
// organization; the link is delivered through the mail sender and is in
// the answer's url (the only time it is shown).
func (o *OrganizationsAPI) CreateOrganizationInvitation(ctx context.Context, p CreateOrganizationInvitationParams) (*OrganizationInvitation, error) {
	res, err := o.orgs.Invite(ctx, instance, identity.InviteInput{OrganizationID: p.OrganizationID, EmailAddress: p.EmailAddress,
		Role: p.Role, InviterUserID: p.InviterUserID, PublicMetadata: p.PublicMetadata, PrivateMetadata: p.PrivateMetadata})
	if err != nil {
		return nil, fromIdentity("create invitation", err)
	}
	return resource.NewOrganizationInvitation(res.Invitation, o.orgs.Roles(), res.URL, true), nil
}

// OrganizationInvitationListParams select one page of an organization's
// invitations.
type OrganizationInvitationListParams struct {
	OrganizationID string
	// Status is pending, accepted, revoked, expired, or "" for all.
	Status        string
	Limit, Offset int
}

// OrganizationInvitationList is one page of invitations.
type OrganizationInvitationList struct {
	Data       []*OrganizationInvitation `json:"data"`
	TotalCount int                       `json:"total_count"`
}

// GetOrganizationInvitationList returns an organization's invitations,
// newest first.
func (o *OrganizationsAPI) GetOrganizationInvitationList(ctx context.Context, p OrganizationInvitationListParams) (*OrganizationInvitationList, error) {
	list, total, err := o.orgs.Invitations(ctx, instance, p.OrganizationID, p.Status, identity.ListInput{Limit: listLimit(p.Limit), Offset: p.Offset})
	if err != nil {
		return nil, fromIdentity("list invitations", err)
	}
	return o.invitationList(list, total), nil
}

// GetOrganizationInvitationParams name one invitation of an organization.
type GetOrganizationInvitationParams struct {
	OrganizationID, InvitationID string
}

// GetOrganizationInvitation returns an invitation of the organization,
// without its link.
func (o *OrganizationsAPI) GetOrganizationInvitation(ctx context.Context, p GetOrganizationInvitationParams) (*OrganizationInvitation, error) {
	inv, err := o.orgs.GetInvitation(ctx, instance, p.OrganizationID, p.InvitationID)
	if err != nil {
		return nil, fromIdentity("get invitation", err)
	}
	return resource.NewOrganizationInvitation(inv, o.orgs.Roles(), "", true), nil
}

func (o *OrganizationsAPI) invitationList(list []*store.Invitation, total int) *OrganizationInvitationList {
	out := &OrganizationInvitationList{Data: make([]*OrganizationInvitation, 0, len(list)), TotalCount: total}
	for _, inv := range list {
		out.Data = append(out.Data, resource.NewOrganizationInvitation(inv, o.orgs.Roles(), "", true))
	}
	return out
}

// RevokeOrganizationInvitationParams name the invitation to revoke.
type RevokeOrganizationInvitationParams struct {
	OrganizationID, InvitationID string
}

// RevokeOrganizationInvitation revokes a pending invitation; one that was
// accepted, revoked or has expired is refused (409 or 410 with its code).
func (o *OrganizationsAPI) RevokeOrganizationInvitation(ctx context.Context, p RevokeOrganizationInvitationParams) (*OrganizationInvitation, error) {
	inv, err := o.orgs.RevokeInvitation(ctx, instance, p.OrganizationID, p.InvitationID)
	if err != nil {
		return nil, fromIdentity("revoke invitation", err)
	}
	return resource.NewOrganizationInvitation(inv, o.orgs.Roles(), "", true), nil
}

// UserOrganizationInvitationListParams select one page of the
// invitations to a user's addresses.
type UserOrganizationInvitationListParams struct {
	UserID string
	// Status is pending, accepted, revoked, expired, or "" for all.
	Status        string
	Limit, Offset int
}

// GetOrganizationInvitationList returns the invitations to any address
// of the user, in every organization, newest first.
func (u *UsersAPI) GetOrganizationInvitationList(ctx context.Context, p UserOrganizationInvitationListParams) (*OrganizationInvitationList, error) {
	list, total, err := u.orgs.orgs.UserInvitations(ctx, instance, p.UserID, p.Status, identity.ListInput{Limit: listLimit(p.Limit), Offset: p.Offset})
	if err != nil {
		return nil, fromIdentity("list a user's invitations", err)
	}
	return u.orgs.invitationList(list, total), nil
}

// UserOrganizationMembershipListParams select one page of a user's
// memberships.
type UserOrganizationMembershipListParams struct {
	UserID        string
	Limit, Offset int
}

// GetOrganizationMembershipList returns the organizations a user belongs
// to, as memberships with their organization and role.
func (u *UsersAPI) GetOrganizationMembershipList(ctx context.Context, p UserOrganizationMembershipListParams) (*OrganizationMembershipList, error) {
	list, total, err := u.orgs.orgs.UserMemberships(ctx, instance, p.UserID, identity.ListInput{Limit: listLimit(p.Limit), Offset: p.Offset})
	if err != nil {
		return nil, fromIdentity("list user memberships", err)
	}
	return u.orgs.membershipList(list, total), nil
}

// ActorTokensAPI is the ActorTokens group of the backend client:
// impersonation tickets.
type ActorTokensAPI struct {
	actors *identity.ActorTokens
}

// CreateActorTokenParams describe an actor token.
type CreateActorTokenParams struct {
	// UserID is the user to impersonate.
	UserID string
	// Actor is a JSON object whose "sub" is the impersonating user's id.
	Actor json.RawMessage
	// ExpiresInSeconds is at most and by default 600.
	ExpiresInSeconds *int64
}

// Create issues an actor token: a single-use sign-in link, valid for ten
// minutes, in the answer's url (and its secret in token), shown only now.
func (a *ActorTokensAPI) Create(ctx context.Context, p CreateActorTokenParams) (*ActorToken, error) {
	in := identity.CreateActorTokenInput{UserID: p.UserID, Actor: p.Actor}
	if p.ExpiresInSeconds != nil {
		if *p.ExpiresInSeconds <= 0 || *p.ExpiresInSeconds > int64(identity.ActorTokenTTL/time.Second) {
			return nil, apiError(http.StatusUnprocessableEntity, "form_param_format_invalid", "expires_in_seconds must be 1 to 600", "expires_in_seconds")
		}
		in.ExpiresIn = time.Duration(*p.ExpiresInSeconds) * time.Second
	}
	res, err := a.actors.Create(ctx, in)
	if err != nil {
		return nil, fromIdentity("create actor token", err)
	}
	return resource.NewActorToken(res.Token, res.Secret, res.URL), nil
}

// Revoke revokes a pending actor token, so its link no longer works.
func (a *ActorTokensAPI) Revoke(ctx context.Context, id string) (*ActorToken, error) {
	t, err := a.actors.Revoke(ctx, id)
	if err != nil {
		return nil, fromIdentity("revoke actor token", err)
	}
	return resource.NewActorToken(t, "", ""), nil
}

// IsAdmin reports whether the user is an instance administrator, who may
// impersonate users (ADMIN_USER_IDS, ADMIN_EMAILS).
func (a *ActorTokensAPI) IsAdmin(ctx context.Context, userID string) (bool, error) {
	return a.actors.IsAdmin(ctx, userID)
}

// CreateAsAdmin creates an actor token for the target on behalf of the
// administrator signed in with sessionID, re-checking both in the store.
// The result carries the sign-in link and its secret, shown once.
func (a *ActorTokensAPI) CreateAsAdmin(ctx context.Context, sessionID, targetUserID string) (*identity.CreatedActorToken, error) {
	return a.actors.CreateAsAdmin(ctx, sessionID, targetUserID)
}
