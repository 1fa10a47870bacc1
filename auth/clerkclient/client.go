// Package clerkclient is the backend client, the counterpart of Clerk's
// @clerk/backend: typed access to users, sessions, organizations, actor
// tokens, JWT templates, machines, M2M tokens and API keys, over the store
// and the identity services, with errors carrying Clerk's statuses and
// codes ([APIError]). A request handler gets the app's client with
// auth.ClerkClient(ctx); commands and tests build one with [NewClient].
package clerkclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/identity/password"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// User is the backend User resource (Clerk's Backend API shape).
type User = resource.User

// Session is the backend Session resource.
type Session = resource.Session

// EmailAddress is the backend EmailAddress resource.
type EmailAddress = resource.EmailAddress

// Client is the backend client (Clerk's clerkClient): typed access to
// users and sessions, with errors carrying Clerk's codes. Get the one the
// middleware was given with auth.ClerkClient, or build one with [NewClient].
type Client struct {
	Users         *UsersAPI
	Sessions      *SessionsAPI
	Organizations *OrganizationsAPI
	ActorTokens   *ActorTokensAPI
	JwtTemplates  *JwtTemplatesAPI
	// Machines, M2MTokens and APIKeys manage machine authentication
	// (machines.go).
	Machines  *MachinesAPI
	M2MTokens *M2MTokensAPI
	APIKeys   *APIKeysAPI
	// EmailAddresses and AuditEvents are in accounts.go.
	EmailAddresses *EmailAddressesAPI
	AuditEvents    *AuditEventsAPI
	// Webhooks manages webhook endpoints (webhooks.go).
	Webhooks *WebhooksAPI

	machineTokens machineTokens // verifies machine tokens for the middleware
}

// NewClient returns a backend client over the store. hasher checks and
// hashes passwords for CreateUser and UpdateUser; opts hand it the
// services main.go built ([WithOrgs], [WithActorTokens]) and the
// encryption key of template signing keys ([WithEncryptionKey]).
func NewClient(st store.Store, hasher *password.Hasher, opts ...ClientOption) *Client {
	var o clientOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.orgs == nil {
		o.orgs = identity.NewOrgs(st, identity.OrgsConfig{})
	}
	if o.actors == nil {
		o.actors = identity.NewActorTokens(st, identity.ActorTokensConfig{})
	}
	orgs := &OrganizationsAPI{orgs: o.orgs}
	c := &Client{
		Users:          &UsersAPI{store: st, hasher: hasher, orgs: orgs, secondFactors: o.secondFactors, totpSealer: o.totpSealer},
		Sessions:       &SessionsAPI{store: st},
		Organizations:  orgs,
		ActorTokens:    &ActorTokensAPI{actors: o.actors},
		JwtTemplates:   &JwtTemplatesAPI{store: st, sealer: o.templateSealer},
		EmailAddresses: &EmailAddressesAPI{store: st},
		AuditEvents:    &AuditEventsAPI{store: st},
		Webhooks:       &WebhooksAPI{store: st, sealer: o.webhookSealer, allowPrivate: o.webhooksAllowPrivate},
	}
	c.addMachineAPIs(st, o.orgs, o.instanceID)
	return c
}

// APIError is a backend-client error with Clerk's status and codes, so an
// HTTP layer can map it one to one.
type APIError struct {
	Status int
	Errors []APIErrorItem
}

// APIErrorItem is one entry of an [APIError].
type APIErrorItem struct {
	Code        string         `json:"code"`
	Message     string         `json:"message"`
	LongMessage string         `json:"long_message"`
	Meta        map[string]any `json:"meta"`
}

func (e *APIError) Error() string {
	if len(e.Errors) == 0 {
		return fmt.Sprintf("clerkclient: backend API error (status %d)", e.Status)
	}
	return fmt.Sprintf("clerkclient: %s: %s", e.Errors[0].Code, e.Errors[0].LongMessage)
}

// Code returns the first error code.
func (e *APIError) Code() string {
	if len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

// IsNotFound reports whether err is a resource_not_found APIError.
func IsNotFound(err error) bool {
	e, ok := errors.AsType[*APIError](err)
	return ok && e.Code() == "resource_not_found"
}

func apiError(status int, code, msg, param string) *APIError {
	meta := map[string]any{}
	if param != "" {
		meta["param_name"] = param
	}
	return &APIError{Status: status, Errors: []APIErrorItem{{Code: code, Message: msg, LongMessage: msg, Meta: meta}}}
}

// listLimit is a page's size: a zero limit means 10, as in Clerk's
// Backend API, so a list reads the same in-process and over HTTP.
func listLimit(limit int) int {
	if limit == 0 {
		return 10
	}
	return limit
}

func notFound(what string) *APIError {
	return apiError(http.StatusNotFound, "resource_not_found", what+" not found", "")
}

// mapStoreError turns store sentinels into API errors; others are wrapped.
func mapStoreError(op, what string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound(what)
	case errors.Is(err, store.ErrExternalIDTaken):
		return apiError(http.StatusUnprocessableEntity, "form_identifier_exists", "That external_id belongs to another user.", "external_id")
	case errors.Is(err, store.ErrConflict):
		return apiError(http.StatusUnprocessableEntity, "form_identifier_exists", "That email address is taken.", "email_address")
	}
	return fmt.Errorf("clerkclient: %s: %w", op, err)
}

// DeletedObject is the answer to a delete.
type DeletedObject struct {
	Object  string `json:"object"`
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

// UsersAPI is the Users group of the backend client.
type UsersAPI struct {
	store  store.Store
	hasher *password.Hasher
	orgs   *OrganizationsAPI
	// secondFactors checks codes for VerifyTOTP (nil: it cannot).
	secondFactors secondFactors
	// totpSealer seals imported authenticator secrets and opens them for
	// an export (nil: neither).
	totpSealer *token.Sealer
}

// GetUser returns the user with id.
func (u *UsersAPI) GetUser(ctx context.Context, id string) (*User, error) {
	su, err := u.store.GetUser(ctx, id)
	if err != nil {
		return nil, mapStoreError("get user", "user", err)
	}
	return resource.NewUser(su, true, store.Now()), nil
}

// UserListParams filter [UsersAPI.GetUserList].
type UserListParams struct {
	Limit, Offset  int
	EmailAddress   []string
	UserID         []string
	ExternalID     []string
	OrganizationID []string
	Query          string
	// OrderBy is created_at or +created_at (oldest first), or
	// -created_at (newest first, the default).
	OrderBy string
}

// UserList is one page of users.
type UserList struct {
	Data       []*User `json:"data"`
	TotalCount int     `json:"total_count"`
}

// GetUserList returns users, newest first.
func (u *UsersAPI) GetUserList(ctx context.Context, p UserListParams) (*UserList, error) {
	if p.Limit < 0 || p.Limit > 500 || p.Offset < 0 {
		return nil, apiError(http.StatusUnprocessableEntity, "form_param_format_invalid", "limit must be 1 to 500 and offset at least 0", "limit")
	}
	emails := make([]string, 0, len(p.EmailAddress))
	for _, e := range p.EmailAddress {
		emails = append(emails, strings.ToLower(strings.TrimSpace(e)))
	}
	f := store.UserFilter{Emails: emails, IDs: p.UserID, ExternalIDs: p.ExternalID, OrganizationIDs: p.OrganizationID, Query: p.Query, Limit: listLimit(p.Limit), Offset: p.Offset}
	switch p.OrderBy {
	case "", "-created_at":
	case "+created_at", "created_at":
		f.OldestFirst = true
	default:
		return nil, apiError(http.StatusUnprocessableEntity, "form_param_value_invalid", "order_by must be created_at, +created_at or -created_at", "order_by")
	}
	users, total, err := u.store.ListUsers(ctx, f)
	if err != nil {
		return nil, mapStoreError("list users", "user", err)
	}
	out := &UserList{Data: make([]*User, 0, len(users)), TotalCount: total}
	now := store.Now()
	for _, su := range users {
		out.Data = append(out.Data, resource.NewUser(su, true, now))
	}
	return out, nil
}

// CreateUserParams create a user.
type CreateUserParams struct {
	EmailAddress []string
	Password     *string
	FirstName    *string
	LastName     *string
	// ExternalID is the user's id in the operator's systems; unique.
	ExternalID *string
	// PasswordDigest and PasswordHasher set a password hashed elsewhere
	// instead of Password: a bcrypt, argon2id or argon2i digest, checked
	// at sign-in and replaced by an argon2id hash at the first success.
	PasswordDigest *string
	PasswordHasher *string
	// SkipPasswordChecks skips the common-password rule (for imports and
	// seeds); the length rule always applies.
	SkipPasswordChecks bool
	PublicMetadata     json.RawMessage
	PrivateMetadata    json.RawMessage
	UnsafeMetadata     json.RawMessage
}

// CreateUser creates a user with a primary email address.
func (u *UsersAPI) CreateUser(ctx context.Context, p CreateUserParams) (*User, error) {
	if len(p.EmailAddress) == 0 {
		return nil, apiError(http.StatusUnprocessableEntity, "form_param_missing", "email_address is required", "email_address")
	}
	email := identity.NormalizeEmail(p.EmailAddress[0])
	if email == "" {
		return nil, apiError(http.StatusUnprocessableEntity, "form_param_format_invalid", "email_address is not a valid email address", "email_address")
	}
	// As Clerk's Backend API, an operator's address needs no code.
	nu := store.NewUser{Email: email, FirstName: deref(p.FirstName), LastName: deref(p.LastName), EmailVerifiedBy: "admin"}
	if err := checkMetadata(p.PublicMetadata, p.PrivateMetadata, p.UnsafeMetadata); err != nil {
		return nil, err
	}
	nu.PublicMetadata, nu.PrivateMetadata, nu.UnsafeMetadata = p.PublicMetadata, p.PrivateMetadata, p.UnsafeMetadata
	var err error
	if nu.ExternalID, err = checkExternalID(p.ExternalID); err != nil {
		return nil, err
	}
	switch {
	case p.PasswordDigest != nil:
		if nu.PasswordHash, err = checkDigest(p.Password, p.PasswordDigest, p.PasswordHasher); err != nil {
			return nil, err
		}
	case p.Password != nil:
		hash, err := u.hashPassword(ctx, *p.Password, p.SkipPasswordChecks, email, nu.FirstName, nu.LastName)
		if err != nil {
			return nil, err
		}
		nu.PasswordHash = hash
	}
	su, err := u.store.CreateUser(ctx, nu)
	if err != nil {
		return nil, mapStoreError("create user", "user", err)
	}
	return resource.NewUser(su, true, store.Now()), nil
}

func (u *UsersAPI) hashPassword(ctx context.Context, pw string, skipChecks bool, personal ...string) (string, error) {
	if err := u.hasher.Check(pw, personal...); err != nil && !(skipChecks && errors.Is(err, password.ErrPwned)) {
		code := "form_param_format_invalid"
		switch {
		case errors.Is(err, password.ErrTooShort):
			code = "form_password_length_too_short"
		case errors.Is(err, password.ErrPwned):
			code = "form_password_pwned"
		}
		return "", apiError(http.StatusUnprocessableEntity, code, err.Error(), "password")
	}
	hash, err := u.hasher.Hash(ctx, pw)
	if err != nil {
		return "", fmt.Errorf("clerkclient: hash password: %w", err)
	}
	return hash, nil
}

// UpdateUserParams change the non-nil fields of a user.
type UpdateUserParams struct {
	FirstName *string
	LastName  *string
	// Password sets a new password and ends every session of the user;
	// so do PasswordDigest and PasswordHasher (see [CreateUserParams]).
	Password       *string
	PasswordDigest *string
	PasswordHasher *string
	// ExternalID sets the user's external id; "" removes it.
	ExternalID      *string
	PublicMetadata  json.RawMessage
	PrivateMetadata json.RawMessage
	UnsafeMetadata  json.RawMessage
}

// UpdateUser changes a user. Metadata given here replace the old values.
func (u *UsersAPI) UpdateUser(ctx context.Context, id string, p UpdateUserParams) (*User, error) {
	current, err := u.store.GetUser(ctx, id)
	if err != nil {
		return nil, mapStoreError("update user", "user", err)
	}
	if err := checkMetadata(p.PublicMetadata, p.PrivateMetadata, p.UnsafeMetadata); err != nil {
		return nil, err
	}
	up := store.UserUpdate{FirstName: p.FirstName, LastName: p.LastName,
		PublicMetadata: p.PublicMetadata, PrivateMetadata: p.PrivateMetadata, UnsafeMetadata: p.UnsafeMetadata}
	if p.ExternalID != nil {
		ext, err := checkExternalID(p.ExternalID)
		if err != nil && *p.ExternalID != "" {
			return nil, err
		}
		up.ExternalID = &ext
	}
	if p.PasswordDigest != nil {
		hash, err := checkDigest(p.Password, p.PasswordDigest, p.PasswordHasher)
		if err != nil {
			return nil, err
		}
		up.PasswordHash = &hash
		up.RevokeSessions = true
	} else if p.Password != nil {
		hash, err := u.hashPassword(ctx, *p.Password, false, current.PrimaryEmail(), current.FirstName, current.LastName)
		if err != nil {
			return nil, err
		}
		up.PasswordHash = &hash
		up.RevokeSessions = true // in the same transaction as the new hash
	}
	su, err := u.store.UpdateUser(ctx, id, up)
	if err != nil {
		return nil, mapStoreError("update user", "user", err)
	}
	return resource.NewUser(su, true, store.Now()), nil
}

// UpdateUserMetadataParams are merged into the user's metadata.
type UpdateUserMetadataParams struct {
	PublicMetadata  json.RawMessage
	PrivateMetadata json.RawMessage
	UnsafeMetadata  json.RawMessage
}

// UpdateUserMetadata deep-merges the given objects into the user's
// metadata; a null value deletes its key.
func (u *UsersAPI) UpdateUserMetadata(ctx context.Context, id string, p UpdateUserMetadataParams) (*User, error) {
	if err := checkMetadata(p.PublicMetadata, p.PrivateMetadata, p.UnsafeMetadata); err != nil {
		return nil, err
	}
	su, err := u.store.MergeUserMetadata(ctx, id, store.MetadataPatch{
		Public: p.PublicMetadata, Private: p.PrivateMetadata, Unsafe: p.UnsafeMetadata,
	})
	if err != nil {
		return nil, mapStoreError("update user metadata", "user", err)
	}
	return resource.NewUser(su, true, store.Now()), nil
}

// DeleteUser deletes a user; their sessions end with them.
func (u *UsersAPI) DeleteUser(ctx context.Context, id string) (*DeletedObject, error) {
	if err := u.store.DeleteUser(ctx, id); err != nil {
		return nil, mapStoreError("delete user", "user", err)
	}
	return &DeletedObject{Object: "user", ID: id, Deleted: true}, nil
}

// BanUser bans a user and revokes all their sessions.
func (u *UsersAPI) BanUser(ctx context.Context, id string) (*User, error) {
	su, err := u.store.SetUserBanned(ctx, id, true)
	if err != nil {
		return nil, mapStoreError("ban user", "user", err)
	}
	return resource.NewUser(su, true, store.Now()), nil
}

// UnbanUser lifts a ban.
func (u *UsersAPI) UnbanUser(ctx context.Context, id string) (*User, error) {
	su, err := u.store.SetUserBanned(ctx, id, false)
	if err != nil {
		return nil, mapStoreError("unban user", "user", err)
	}
	return resource.NewUser(su, true, store.Now()), nil
}

// SessionsAPI is the Sessions group of the backend client.
type SessionsAPI struct {
	store store.Store
}

// GetSession returns the session with id.
func (s *SessionsAPI) GetSession(ctx context.Context, id string) (*Session, error) {
	ss, err := s.store.GetSession(ctx, id)
	if err != nil {
		return nil, mapStoreError("get session", "session", err)
	}
	return resource.NewSession(ss), nil
}

// SessionListParams filter [SessionsAPI.GetSessionList]; at least UserID
// or ClientID is required, as in Clerk's Backend API.
type SessionListParams struct {
	UserID, ClientID, Status string
	Limit, Offset            int
}

// SessionList is one page of sessions.
type SessionList struct {
	Data       []*Session `json:"data"`
	TotalCount int        `json:"total_count"`
}

var sessionStatuses = []string{"", store.SessionActive, store.SessionPending, store.SessionEnded, store.SessionRevoked,
	store.SessionExpired, store.SessionRemoved, store.SessionAbandoned}

// GetSessionList returns sessions, newest first.
func (s *SessionsAPI) GetSessionList(ctx context.Context, p SessionListParams) (*SessionList, error) {
	if p.UserID == "" && p.ClientID == "" {
		return nil, apiError(http.StatusUnprocessableEntity, "form_param_missing", "user_id or client_id is required", "user_id")
	}
	valid := false
	for _, st := range sessionStatuses {
		valid = valid || st == p.Status
	}
	if !valid || p.Limit < 0 || p.Limit > 500 || p.Offset < 0 {
		return nil, apiError(http.StatusUnprocessableEntity, "form_param_format_invalid", "status, limit or offset is invalid", "status")
	}
	list, total, err := s.store.ListSessions(ctx, store.SessionFilter{UserID: p.UserID, ClientID: p.ClientID, Status: p.Status, Limit: listLimit(p.Limit), Offset: p.Offset})
	if err != nil {
		return nil, mapStoreError("list sessions", "session", err)
	}
	out := &SessionList{Data: make([]*Session, 0, len(list)), TotalCount: total}
	for _, ss := range list {
		out.Data = append(out.Data, resource.NewSession(ss))
	}
	return out, nil
}

// RevokeSession ends a session at once: its refresh fails from now on,
// and tokens already issued die within their lifetime.
func (s *SessionsAPI) RevokeSession(ctx context.Context, id string) (*Session, error) {
	ss, err := s.store.EndSession(ctx, id, store.SessionRevoked)
	if errors.Is(err, store.ErrNotFound) {
		existing, gerr := s.store.GetSession(ctx, id)
		if gerr != nil {
			return nil, mapStoreError("revoke session", "session", gerr)
		}
		return resource.NewSession(existing), nil // already over
	}
	if err != nil {
		return nil, mapStoreError("revoke session", "session", err)
	}
	return resource.NewSession(ss), nil
}

// checkMetadata refuses metadata that is given but not a JSON object, in
// the order public, private, unsafe.
func checkMetadata(public, private, unsafe json.RawMessage) error {
	for _, m := range []struct {
		name string
		v    json.RawMessage
	}{{"public_metadata", public}, {"private_metadata", private}, {"unsafe_metadata", unsafe}} {
		if m.v != nil && !isJSONObject(m.v) {
			return apiError(http.StatusUnprocessableEntity, "form_param_format_invalid", m.name+" must be a JSON object", m.name)
		}
	}
	return nil
}

func isJSONObject(b json.RawMessage) bool {
	var m map[string]any
	return json.Unmarshal(b, &m) == nil && m != nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
