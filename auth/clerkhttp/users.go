package clerkhttp

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
)

// UsersAPI is the Users group over HTTP (/v1/users).
type UsersAPI struct {
	t *transport
}

// userPath is /users/{id} followed by suffix.
func userPath(id, suffix string) (string, error) { return idPath("users", "user", id, suffix) }

// userAction calls a route of one user that answers the user.
func (u *UsersAPI) userAction(ctx context.Context, op, method, id, suffix string, body any) (*clerkclient.User, error) {
	p, err := userPath(id, suffix)
	if err != nil {
		return nil, err
	}
	return call[clerkclient.User](ctx, u.t, op, request{method: method, path: p, body: body})
}

// GetUser returns the user with id (GET /users/{id}).
func (u *UsersAPI) GetUser(ctx context.Context, id string) (*clerkclient.User, error) {
	return u.userAction(ctx, "get user", http.MethodGet, id, "", nil)
}

// userFilter is the query of GET /users and GET /users/count.
func userFilter(p clerkclient.UserListParams) query {
	q := query{}
	q.list("email_address", p.EmailAddress)
	q.list("user_id", p.UserID)
	q.list("external_id", p.ExternalID)
	q.list("organization_id", p.OrganizationID)
	q.str("query", p.Query)
	return q
}

// GetUserList returns one page of users, newest first unless p.OrderBy
// says otherwise. As Clerk's SDKs do, it makes two requests: GET /users
// (a bare array) and GET /users/count with the same filters for
// TotalCount; a user created between the two is counted but not listed.
func (u *UsersAPI) GetUserList(ctx context.Context, p clerkclient.UserListParams) (*clerkclient.UserList, error) {
	q := userFilter(p).page(p.Limit, p.Offset)
	q.str("order_by", p.OrderBy)
	users, err := call[[]*clerkclient.User](ctx, u.t, "list users", request{method: http.MethodGet, path: "/users", query: q})
	if err != nil {
		return nil, err
	}
	count, err := call[struct {
		TotalCount int `json:"total_count"`
	}](ctx, u.t, "count users", request{method: http.MethodGet, path: "/users/count", query: userFilter(p)})
	if err != nil {
		return nil, err
	}
	out := &clerkclient.UserList{Data: *users, TotalCount: count.TotalCount}
	if out.Data == nil {
		out.Data = []*clerkclient.User{} // as in-process: an empty page is [], not null
	}
	return out, nil
}

// userBody is the body of POST /users and PATCH /users/{id}: nil fields
// are left out, so an update changes only what it names.
type userBody struct {
	EmailAddress       []string        `json:"email_address,omitempty"`
	Password           *string         `json:"password,omitempty"`
	PasswordDigest     *string         `json:"password_digest,omitempty"`
	PasswordHasher     *string         `json:"password_hasher,omitempty"`
	FirstName          *string         `json:"first_name,omitempty"`
	LastName           *string         `json:"last_name,omitempty"`
	ExternalID         *string         `json:"external_id,omitempty"`
	SkipPasswordChecks bool            `json:"skip_password_checks,omitempty"`
	PublicMetadata     json.RawMessage `json:"public_metadata,omitempty"`
	PrivateMetadata    json.RawMessage `json:"private_metadata,omitempty"`
	UnsafeMetadata     json.RawMessage `json:"unsafe_metadata,omitempty"`
}

// CreateUser creates a user with a primary email address (POST /users).
func (u *UsersAPI) CreateUser(ctx context.Context, p clerkclient.CreateUserParams) (*clerkclient.User, error) {
	body := userBody{EmailAddress: p.EmailAddress, Password: p.Password, PasswordDigest: p.PasswordDigest,
		PasswordHasher: p.PasswordHasher, FirstName: p.FirstName, LastName: p.LastName, ExternalID: p.ExternalID,
		SkipPasswordChecks: p.SkipPasswordChecks, PublicMetadata: p.PublicMetadata, PrivateMetadata: p.PrivateMetadata,
		UnsafeMetadata: p.UnsafeMetadata}
	return call[clerkclient.User](ctx, u.t, "create user", request{method: http.MethodPost, path: "/users", body: body})
}

// UpdateUser changes the non-nil fields of a user (PATCH /users/{id});
// metadata given here replace the old values.
func (u *UsersAPI) UpdateUser(ctx context.Context, id string, p clerkclient.UpdateUserParams) (*clerkclient.User, error) {
	body := userBody{Password: p.Password, PasswordDigest: p.PasswordDigest, PasswordHasher: p.PasswordHasher,
		FirstName: p.FirstName, LastName: p.LastName, ExternalID: p.ExternalID,
		PublicMetadata: p.PublicMetadata, PrivateMetadata: p.PrivateMetadata, UnsafeMetadata: p.UnsafeMetadata}
	return u.userAction(ctx, "update user", http.MethodPatch, id, "", body)
}

// metadataBody is the body of the metadata routes of users and
// organizations.
type metadataBody struct {
	PublicMetadata  json.RawMessage `json:"public_metadata,omitempty"`
	PrivateMetadata json.RawMessage `json:"private_metadata,omitempty"`
	UnsafeMetadata  json.RawMessage `json:"unsafe_metadata,omitempty"`
}

// UpdateUserMetadata deep-merges the given objects into the user's
// metadata, a null value deleting its key (PATCH /users/{id}/metadata).
func (u *UsersAPI) UpdateUserMetadata(ctx context.Context, id string, p clerkclient.UpdateUserMetadataParams) (*clerkclient.User, error) {
	body := metadataBody{PublicMetadata: p.PublicMetadata, PrivateMetadata: p.PrivateMetadata, UnsafeMetadata: p.UnsafeMetadata}
	return u.userAction(ctx, "update user metadata", http.MethodPatch, id, "/metadata", body)
}

// DeleteUser deletes a user (DELETE /users/{id}).
func (u *UsersAPI) DeleteUser(ctx context.Context, id string) (*clerkclient.DeletedObject, error) {
	p, err := userPath(id, "")
	if err != nil {
		return nil, err
	}
	return call[clerkclient.DeletedObject](ctx, u.t, "delete user", request{method: http.MethodDelete, path: p})
}

// BanUser bans a user and revokes all their sessions
// (POST /users/{id}/ban).
func (u *UsersAPI) BanUser(ctx context.Context, id string) (*clerkclient.User, error) {
	return u.userAction(ctx, "ban user", http.MethodPost, id, "/ban", nil)
}

// UnbanUser lifts a ban (POST /users/{id}/unban).
func (u *UsersAPI) UnbanUser(ctx context.Context, id string) (*clerkclient.User, error) {
	return u.userAction(ctx, "unban user", http.MethodPost, id, "/unban", nil)
}

// LockUser locks the user until unlocked (POST /users/{id}/lock).
func (u *UsersAPI) LockUser(ctx context.Context, id string) (*clerkclient.User, error) {
	return u.userAction(ctx, "lock user", http.MethodPost, id, "/lock", nil)
}

// UnlockUser lifts a lock and clears the failure count
// (POST /users/{id}/unlock).
func (u *UsersAPI) UnlockUser(ctx context.Context, id string) (*clerkclient.User, error) {
	return u.userAction(ctx, "unlock user", http.MethodPost, id, "/unlock", nil)
}

// VerifyPassword checks a user's password
// (POST /users/{id}/verify_password): 422 incorrect_password when it is
// wrong, 400 no_password_set when the user has none.
func (u *UsersAPI) VerifyPassword(ctx context.Context, id, pw string) (*clerkclient.PasswordVerification, error) {
	p, err := userPath(id, "/verify_password")
	if err != nil {
		return nil, err
	}
	body := struct {
		Password string `json:"password"`
	}{pw}
	return call[clerkclient.PasswordVerification](ctx, u.t, "verify password", request{method: http.MethodPost, path: p, body: body})
}

// GetOrganizationInvitationList returns the invitations to any address of
// the user (GET /users/{id}/organization_invitations).
func (u *UsersAPI) GetOrganizationInvitationList(ctx context.Context, p clerkclient.UserOrganizationInvitationListParams) (*clerkclient.OrganizationInvitationList, error) {
	path, err := userPath(p.UserID, "/organization_invitations")
	if err != nil {
		return nil, err
	}
	return invitationList(ctx, u.t, "list user invitations", path, p.Status, p.Limit, p.Offset)
}

// GetOrganizationMembershipList returns the organizations a user belongs
// to, as memberships (GET /users/{id}/organization_memberships).
func (u *UsersAPI) GetOrganizationMembershipList(ctx context.Context, p clerkclient.UserOrganizationMembershipListParams) (*clerkclient.OrganizationMembershipList, error) {
	path, err := userPath(p.UserID, "/organization_memberships")
	if err != nil {
		return nil, err
	}
	list, err := call[clerkclient.OrganizationMembershipList](ctx, u.t, "list user memberships",
		request{method: http.MethodGet, path: path, query: query{}.page(p.Limit, p.Offset)})
	if err != nil {
		return nil, err
	}
	if list.Data == nil {
		list.Data = []*clerkclient.OrganizationMembership{}
	}
	return list, nil
}
