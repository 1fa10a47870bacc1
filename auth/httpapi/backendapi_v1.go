package httpapi

// The Backend API routes Clerk's server SDKs call with the instance
// secret key: users, sessions, organizations with their memberships and
// invitations, JWT templates and the JWKS. Each route translates the
// wire (snake_case JSON, query strings with repeated keys, Clerk's list
// shapes) to the backend client, which holds every rule; none is
// implemented here a second time.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// SessionTokens mints session tokens for the Backend API's
// POST /sessions/{id}/tokens; the identity service is one.
type SessionTokens interface {
	MintSessionToken(ctx context.Context, sid, azp string) (string, error)
	MintTemplateTokenForSession(ctx context.Context, sid, name string) (string, error)
	CreateSessionFor(ctx context.Context, userID string) (*store.Session, error)
	JWKS() []byte
}

type bapiRoute struct {
	method, path string
	h            http.HandlerFunc
}

// v1Routes are the instance-key routes, each authenticated before its
// body is read.
func (b *BackendAPI) v1Routes() []bapiRoute {
	rs := []bapiRoute{
		{"GET", "/users", b.listUsers},
		{"GET", "/users/count", b.countUsers},
		{"POST", "/users", b.createUser},
		{"GET", "/users/{id}", b.getUser},
		{"PATCH", "/users/{id}", b.updateUser},
		{"DELETE", "/users/{id}", b.deleteUser},
		{"PATCH", "/users/{id}/metadata", b.mergeUserMetadata},
		{"PUT", "/users/{id}/metadata", b.replaceUserMetadata},
		{"POST", "/users/{id}/ban", b.userAction((*clerkclient.UsersAPI).BanUser)},
		{"POST", "/users/{id}/unban", b.userAction((*clerkclient.UsersAPI).UnbanUser)},
		{"POST", "/users/{id}/lock", b.userAction((*clerkclient.UsersAPI).LockUser)},
		{"POST", "/users/{id}/unlock", b.userAction((*clerkclient.UsersAPI).UnlockUser)},
		{"POST", "/users/{id}/verify_password", b.verifyPassword},
		{"GET", "/users/{id}/organization_memberships", b.userMemberships},
		{"GET", "/users/{id}/organization_invitations", b.userInvitations},
		{"GET", "/sessions", b.listSessions},
		{"POST", "/sessions", b.createSession},
		{"GET", "/sessions/{id}", b.getSession},
		{"POST", "/sessions/{id}/revoke", b.revokeSession},
		{"POST", "/sessions/{id}/tokens", b.sessionToken},
		{"POST", "/sessions/{id}/tokens/{template}", b.sessionToken},
		{"GET", "/organizations", b.listOrganizations},
		{"POST", "/organizations", b.createOrganization},
		{"GET", "/organizations/{id}", b.getOrganization},
		{"PATCH", "/organizations/{id}", b.updateOrganization},
		{"DELETE", "/organizations/{id}", b.deleteOrganization},
		{"PATCH", "/organizations/{id}/metadata", b.mergeOrganizationMetadata},
		{"PUT", "/organizations/{id}/metadata", b.replaceOrganizationMetadata},
		{"GET", "/organizations/{id}/memberships", b.listMemberships},
		{"POST", "/organizations/{id}/memberships", b.createMembership},
		{"PATCH", "/organizations/{id}/memberships/{user_id}", b.updateMembership},
		{"DELETE", "/organizations/{id}/memberships/{user_id}", b.deleteMembership},
		{"GET", "/organizations/{id}/invitations", b.listInvitations},
		{"POST", "/organizations/{id}/invitations", b.createInvitation},
		{"GET", "/organizations/{id}/invitations/{inv}", b.getInvitation},
		{"POST", "/organizations/{id}/invitations/{inv}/revoke", b.revokeInvitation},
		{"GET", "/jwt_templates", b.listTemplates},
		{"POST", "/jwt_templates", b.createTemplate},
		{"GET", "/jwt_templates/{id}", b.getTemplate},
		{"PATCH", "/jwt_templates/{id}", b.updateTemplate},
		{"DELETE", "/jwt_templates/{id}", b.deleteTemplate},
		{"GET", "/jwks", b.jwks},
	}
	rs = append(rs, b.machineRoutes()...)
	for i := range rs {
		rs[i].h = b.instanceOnly(rs[i].h)
	}
	return rs
}

// instanceOnly refuses a request without the instance secret key before
// anything of it is read.
func (b *BackendAPI) instanceOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, instance, err := b.caller(r)
		if err == nil && !instance {
			err = &identity.Error{Status: http.StatusUnauthorized, Code: "clerk_key_invalid",
				Message: "The secret key is not valid.", LongMessage: "The provided secret key is invalid. Send the instance secret key (CLERK_SECRET_KEY)."}
		}
		if err != nil {
			b.fail(w, r, err)
			return
		}
		h(w, r)
	}
}

// answer writes v, or err as Clerk's error envelope.
func (b *BackendAPI) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		b.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, v)
}

// withBody reads the route's JSON body into a T and answers what fn
// returns for it.
func withBody[T any](b *BackendAPI, w http.ResponseWriter, r *http.Request, fn func(*T) (any, error)) {
	var body T
	if err := readJSON(w, r, &body); err != nil {
		b.fail(w, r, err)
		return
	}
	v, err := fn(&body)
	b.answer(w, r, v, err)
}

// withPage reads limit and offset and answers what fn returns for them.
func withPage(b *BackendAPI, w http.ResponseWriter, r *http.Request, fn func(limit, offset int) (any, error)) {
	limit, offset, err := listQuery(r.URL.Query())
	if err != nil {
		b.fail(w, r, err)
		return
	}
	v, err := fn(limit, offset)
	b.answer(w, r, v, err)
}

// readJSON reads an optional JSON body into dst; unknown keys are
// ignored, as SDKs send what their caller passes.
func readJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	return decodeJSON(w, r, dst, false)
}

// listQuery reads limit (default 10, as Clerk's) and offset.
func listQuery(q url.Values) (limit, offset int, err error) {
	limit = 10
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			return 0, 0, paramInvalid("limit", "limit must be a whole number from 1 to 500")
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, paramInvalid("offset", "offset must be a whole number of at least 0")
		}
	}
	return limit, offset, nil
}

func (b *BackendAPI) userListParams(q url.Values) (clerkclient.UserListParams, error) {
	// Gatehouse keeps neither usernames nor phone numbers: a filter on
	// them is refused rather than ignored, so no caller reads every user
	// as a match.
	for _, name := range []string{"username", "phone_number"} {
		if q.Has(name) {
			return clerkclient.UserListParams{}, notSupported(name)
		}
	}
	p := clerkclient.UserListParams{EmailAddress: q["email_address"], UserID: q["user_id"], ExternalID: q["external_id"],
		OrganizationID: q["organization_id"], Query: q.Get("query"), OrderBy: q.Get("order_by")}
	var err error
	p.Limit, p.Offset, err = listQuery(q)
	return p, err
}

// listUsers answers a bare array, as Clerk's (the SDKs ask /users/count
// for the total).
func (b *BackendAPI) listUsers(w http.ResponseWriter, r *http.Request) {
	p, err := b.userListParams(r.URL.Query())
	if err != nil {
		b.fail(w, r, err)
		return
	}
	list, err := b.client.Users.GetUserList(r.Context(), p)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, list.Data)
}

func (b *BackendAPI) countUsers(w http.ResponseWriter, r *http.Request) {
	p, err := b.userListParams(r.URL.Query())
	if err != nil {
		b.fail(w, r, err)
		return
	}
	p.Limit, p.Offset = 1, 0
	list, err := b.client.Users.GetUserList(r.Context(), p)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"object": "total_count", "total_count": list.TotalCount})
}

type userBody struct {
	EmailAddress       stringList      `json:"email_address"`
	Password           *string         `json:"password"`
	PasswordDigest     *string         `json:"password_digest"`
	PasswordHasher     *string         `json:"password_hasher"`
	ExternalID         *string         `json:"external_id"`
	FirstName          *string         `json:"first_name"`
	LastName           *string         `json:"last_name"`
	SkipPasswordChecks bool            `json:"skip_password_checks"`
	PublicMetadata     json.RawMessage `json:"public_metadata"`
	PrivateMetadata    json.RawMessage `json:"private_metadata"`
	UnsafeMetadata     json.RawMessage `json:"unsafe_metadata"`
}

// stringList takes a JSON string or array of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

func (b *BackendAPI) createUser(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *userBody) (any, error) {
		return b.client.Users.CreateUser(r.Context(), clerkclient.CreateUserParams{EmailAddress: body.EmailAddress,
			Password: body.Password, PasswordDigest: body.PasswordDigest, PasswordHasher: body.PasswordHasher,
			ExternalID: body.ExternalID, FirstName: body.FirstName, LastName: body.LastName,
			SkipPasswordChecks: body.SkipPasswordChecks, PublicMetadata: body.PublicMetadata,
			PrivateMetadata: body.PrivateMetadata, UnsafeMetadata: body.UnsafeMetadata})
	})
}

func (b *BackendAPI) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := b.client.Users.GetUser(r.Context(), r.PathValue("id"))
	b.answer(w, r, u, err)
}

func (b *BackendAPI) updateUser(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *userBody) (any, error) {
		return b.client.Users.UpdateUser(r.Context(), r.PathValue("id"), clerkclient.UpdateUserParams{FirstName: body.FirstName,
			LastName: body.LastName, Password: body.Password, PasswordDigest: body.PasswordDigest,
			PasswordHasher: body.PasswordHasher, ExternalID: body.ExternalID, PublicMetadata: body.PublicMetadata,
			PrivateMetadata: body.PrivateMetadata, UnsafeMetadata: body.UnsafeMetadata})
	})
}

func (b *BackendAPI) deleteUser(w http.ResponseWriter, r *http.Request) {
	d, err := b.client.Users.DeleteUser(r.Context(), r.PathValue("id"))
	b.answer(w, r, d, err)
}

type metadataBody struct {
	PublicMetadata  json.RawMessage `json:"public_metadata"`
	PrivateMetadata json.RawMessage `json:"private_metadata"`
	UnsafeMetadata  json.RawMessage `json:"unsafe_metadata"`
}

func (b *BackendAPI) mergeUserMetadata(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *metadataBody) (any, error) {
		return b.client.Users.UpdateUserMetadata(r.Context(), r.PathValue("id"), clerkclient.UpdateUserMetadataParams{
			PublicMetadata: body.PublicMetadata, PrivateMetadata: body.PrivateMetadata, UnsafeMetadata: body.UnsafeMetadata})
	})
}

// replaceUserMetadata replaces the metadata the body names (PUT: the
// deprecated path of the SDKs' updateUser).
func (b *BackendAPI) replaceUserMetadata(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *metadataBody) (any, error) {
		return b.client.Users.UpdateUser(r.Context(), r.PathValue("id"), clerkclient.UpdateUserParams{
			PublicMetadata: body.PublicMetadata, PrivateMetadata: body.PrivateMetadata, UnsafeMetadata: body.UnsafeMetadata})
	})
}

func (b *BackendAPI) userAction(fn func(*clerkclient.UsersAPI, context.Context, string) (*clerkclient.User, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := fn(b.client.Users, r.Context(), r.PathValue("id"))
		b.answer(w, r, u, err)
	}
}

func (b *BackendAPI) verifyPassword(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *struct {
		Password string `json:"password"`
	}) (any, error) {
		return b.client.Users.VerifyPassword(r.Context(), r.PathValue("id"), body.Password)
	})
}

func (b *BackendAPI) userMemberships(w http.ResponseWriter, r *http.Request) {
	withPage(b, w, r, func(limit, offset int) (any, error) {
		return b.client.Users.GetOrganizationMembershipList(r.Context(), clerkclient.UserOrganizationMembershipListParams{
			UserID: r.PathValue("id"), Limit: limit, Offset: offset})
	})
}

// listSessions answers the envelope when paginated=true (as both SDKs
// ask), else a bare array.
func (b *BackendAPI) listSessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset, err := listQuery(q)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	list, err := b.client.Sessions.GetSessionList(r.Context(), clerkclient.SessionListParams{UserID: q.Get("user_id"),
		ClientID: q.Get("client_id"), Status: q.Get("status"), Limit: limit, Offset: offset})
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if q.Get("paginated") == "true" {
		WriteJSON(w, http.StatusOK, list)
		return
	}
	WriteJSON(w, http.StatusOK, list.Data)
}

func (b *BackendAPI) createSession(w http.ResponseWriter, r *http.Request) {
	var body struct {
		UserID string `json:"user_id"`
	}
	if err := readJSON(w, r, &body); err != nil {
		b.fail(w, r, err)
		return
	}
	if b.tokens == nil {
		b.notFound(w, r)
		return
	}
	if body.UserID == "" {
		b.fail(w, r, paramMissing("user_id"))
		return
	}
	s, err := b.tokens.CreateSessionFor(r.Context(), body.UserID)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, resource.NewSession(s))
}

func (b *BackendAPI) getSession(w http.ResponseWriter, r *http.Request) {
	s, err := b.client.Sessions.GetSession(r.Context(), r.PathValue("id"))
	b.answer(w, r, s, err)
}

func (b *BackendAPI) revokeSession(w http.ResponseWriter, r *http.Request) {
	s, err := b.client.Sessions.RevokeSession(r.Context(), r.PathValue("id"))
	b.answer(w, r, s, err)
}

func (b *BackendAPI) sessionToken(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ExpiresInSeconds *int64 `json:"expires_in_seconds"`
	}
	if err := readJSON(w, r, &body); err != nil {
		b.fail(w, r, err)
		return
	}
	if b.tokens == nil {
		b.notFound(w, r)
		return
	}
	if body.ExpiresInSeconds != nil {
		b.fail(w, r, paramInvalid("expires_in_seconds", "session tokens live SESSION_TOKEN_TTL; expires_in_seconds is not supported"))
		return
	}
	var tok string
	var err error
	if name := r.PathValue("template"); name != "" {
		tok, err = b.tokens.MintTemplateTokenForSession(r.Context(), r.PathValue("id"), name)
	} else {
		tok, err = b.tokens.MintSessionToken(r.Context(), r.PathValue("id"), "")
	}
	if err != nil {
		e, ok := identity.AsError(err)
		switch {
		case errors.Is(err, identity.ErrSignedOut) || (ok && e.Status == http.StatusUnauthorized):
			err = &identity.Error{Status: http.StatusNotFound, Code: "resource_not_found", Message: "Session not found.",
				LongMessage: "No live session was found with this id."}
		case errors.Is(err, identity.ErrTemplateNotFound):
			err = &identity.Error{Status: http.StatusNotFound, Code: "resource_not_found", Message: "JWT template not found.",
				LongMessage: "No JWT template has this name."}
		}
		b.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"object": "token", "jwt": tok})
}

func (b *BackendAPI) listOrganizations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset, err := listQuery(q)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	list, err := b.client.Organizations.GetOrganizationList(r.Context(), clerkclient.OrganizationListParams{
		Limit: limit, Offset: offset, Query: q.Get("query"), UserID: q.Get("user_id")})
	b.answer(w, r, list, err)
}

type organizationBody struct {
	Name                  *string         `json:"name"`
	Slug                  *string         `json:"slug"`
	CreatedBy             *string         `json:"created_by"`
	MaxAllowedMemberships *int            `json:"max_allowed_memberships"`
	PublicMetadata        json.RawMessage `json:"public_metadata"`
	PrivateMetadata       json.RawMessage `json:"private_metadata"`
}

func (b *BackendAPI) createOrganization(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *organizationBody) (any, error) {
		p := clerkclient.CreateOrganizationParams{Slug: body.Slug, CreatedBy: body.CreatedBy,
			MaxAllowedMemberships: body.MaxAllowedMemberships, PublicMetadata: body.PublicMetadata, PrivateMetadata: body.PrivateMetadata}
		if body.Name != nil {
			p.Name = *body.Name
		}
		return b.client.Organizations.CreateOrganization(r.Context(), p)
	})
}

// getOrganization takes an id or a slug, as Clerk's route does;
// include_members_count adds members_count.
func (b *BackendAPI) getOrganization(w http.ResponseWriter, r *http.Request) {
	o, err := b.client.Organizations.GetOrganization(r.Context(), r.PathValue("id"))
	if err != nil || r.URL.Query().Get("include_members_count") != "true" {
		b.answer(w, r, o, err)
		return
	}
	list, err := b.client.Organizations.GetOrganizationMembershipList(r.Context(), clerkclient.OrganizationMembershipListParams{
		OrganizationID: o.ID, Limit: 1})
	if err != nil {
		b.fail(w, r, err)
		return
	}
	o.MembersCount = list.TotalCount
	WriteJSON(w, http.StatusOK, o)
}

func (b *BackendAPI) updateOrganization(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *organizationBody) (any, error) {
		return b.client.Organizations.UpdateOrganization(r.Context(), r.PathValue("id"), clerkclient.UpdateOrganizationParams{
			Name: body.Name, Slug: body.Slug, MaxAllowedMemberships: body.MaxAllowedMemberships,
			PublicMetadata: body.PublicMetadata, PrivateMetadata: body.PrivateMetadata})
	})
}

func (b *BackendAPI) deleteOrganization(w http.ResponseWriter, r *http.Request) {
	d, err := b.client.Organizations.DeleteOrganization(r.Context(), r.PathValue("id"))
	b.answer(w, r, d, err)
}

func (b *BackendAPI) mergeOrganizationMetadata(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *metadataBody) (any, error) {
		return b.client.Organizations.UpdateOrganizationMetadata(r.Context(), r.PathValue("id"), clerkclient.UpdateOrganizationMetadataParams{
			PublicMetadata: body.PublicMetadata, PrivateMetadata: body.PrivateMetadata})
	})
}

func (b *BackendAPI) replaceOrganizationMetadata(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *metadataBody) (any, error) {
		return b.client.Organizations.UpdateOrganization(r.Context(), r.PathValue("id"), clerkclient.UpdateOrganizationParams{
			PublicMetadata: body.PublicMetadata, PrivateMetadata: body.PrivateMetadata})
	})
}

func (b *BackendAPI) listMemberships(w http.ResponseWriter, r *http.Request) {
	withPage(b, w, r, func(limit, offset int) (any, error) {
		return b.client.Organizations.GetOrganizationMembershipList(r.Context(), clerkclient.OrganizationMembershipListParams{
			OrganizationID: r.PathValue("id"), Limit: limit, Offset: offset})
	})
}

type membershipBody struct {
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

func (b *BackendAPI) createMembership(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *membershipBody) (any, error) {
		return b.client.Organizations.CreateOrganizationMembership(r.Context(), clerkclient.CreateOrganizationMembershipParams{
			OrganizationID: r.PathValue("id"), UserID: body.UserID, Role: body.Role})
	})
}

func (b *BackendAPI) updateMembership(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *membershipBody) (any, error) {
		return b.client.Organizations.UpdateOrganizationMembership(r.Context(), clerkclient.UpdateOrganizationMembershipParams{
			OrganizationID: r.PathValue("id"), UserID: r.PathValue("user_id"), Role: body.Role})
	})
}

func (b *BackendAPI) deleteMembership(w http.ResponseWriter, r *http.Request) {
	m, err := b.client.Organizations.DeleteOrganizationMembership(r.Context(), clerkclient.DeleteOrganizationMembershipParams{
		OrganizationID: r.PathValue("id"), UserID: r.PathValue("user_id")})
	b.answer(w, r, m, err)
}

func (b *BackendAPI) listInvitations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset, err := listQuery(q)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	list, err := b.client.Organizations.GetOrganizationInvitationList(r.Context(), clerkclient.OrganizationInvitationListParams{
		OrganizationID: r.PathValue("id"), Status: strings.Join(q["status"], ","), Limit: limit, Offset: offset})
	b.answer(w, r, list, err)
}

func (b *BackendAPI) createInvitation(w http.ResponseWriter, r *http.Request) {
	var body struct {
		EmailAddress    string          `json:"email_address"`
		Role            string          `json:"role"`
		InviterUserID   string          `json:"inviter_user_id"`
		PublicMetadata  json.RawMessage `json:"public_metadata"`
		PrivateMetadata json.RawMessage `json:"private_metadata"`
	}
	if err := readJSON(w, r, &body); err != nil {
		b.fail(w, r, err)
		return
	}
	inv, err := b.client.Organizations.CreateOrganizationInvitation(r.Context(), clerkclient.CreateOrganizationInvitationParams{
		OrganizationID: r.PathValue("id"), EmailAddress: body.EmailAddress, Role: body.Role, InviterUserID: body.InviterUserID,
		PublicMetadata: body.PublicMetadata, PrivateMetadata: body.PrivateMetadata})
	b.answer(w, r, inv, err)
}

func (b *BackendAPI) getInvitation(w http.ResponseWriter, r *http.Request) {
	inv, err := b.client.Organizations.GetOrganizationInvitation(r.Context(), clerkclient.GetOrganizationInvitationParams{
		OrganizationID: r.PathValue("id"), InvitationID: r.PathValue("inv")})
	b.answer(w, r, inv, err)
}

func (b *BackendAPI) userInvitations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	withPage(b, w, r, func(limit, offset int) (any, error) {
		return b.client.Users.GetOrganizationInvitationList(r.Context(), clerkclient.UserOrganizationInvitationListParams{
			UserID: r.PathValue("id"), Status: strings.Join(q["status"], ","), Limit: limit, Offset: offset})
	})
}

func (b *BackendAPI) revokeInvitation(w http.ResponseWriter, r *http.Request) {
	inv, err := b.client.Organizations.RevokeOrganizationInvitation(r.Context(), clerkclient.RevokeOrganizationInvitationParams{
		OrganizationID: r.PathValue("id"), InvitationID: r.PathValue("inv")})
	b.answer(w, r, inv, err)
}

// listTemplates answers the envelope when paginated=true, else a bare
// array.
func (b *BackendAPI) listTemplates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset, err := listQuery(q)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	list, err := b.client.JwtTemplates.List(r.Context(), clerkclient.JwtTemplateListParams{Limit: limit, Offset: offset})
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if q.Get("paginated") == "true" {
		WriteJSON(w, http.StatusOK, list)
		return
	}
	WriteJSON(w, http.StatusOK, list.Data)
}

type templateBody struct {
	Name             *string         `json:"name"`
	Claims           json.RawMessage `json:"claims"`
	Lifetime         *int64          `json:"lifetime"`
	AllowedClockSkew *int64          `json:"allowed_clock_skew"`
	CustomSigningKey *bool           `json:"custom_signing_key"`
	SigningAlgorithm string          `json:"signing_algorithm"`
	SigningKey       string          `json:"signing_key"`
}

func (b *BackendAPI) createTemplate(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *templateBody) (any, error) {
		p := clerkclient.CreateJwtTemplateParams{Claims: body.Claims, Lifetime: body.Lifetime, AllowedClockSkew: body.AllowedClockSkew,
			SigningAlgorithm: body.SigningAlgorithm, SigningKey: body.SigningKey}
		if body.Name != nil {
			p.Name = *body.Name
		}
		if body.CustomSigningKey != nil {
			p.CustomSigningKey = *body.CustomSigningKey
		}
		return b.client.JwtTemplates.Create(r.Context(), p)
	})
}

func (b *BackendAPI) getTemplate(w http.ResponseWriter, r *http.Request) {
	t, err := b.client.JwtTemplates.Get(r.Context(), r.PathValue("id"))
	b.answer(w, r, t, err)
}

func (b *BackendAPI) updateTemplate(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *templateBody) (any, error) {
		return b.client.JwtTemplates.Update(r.Context(), r.PathValue("id"), clerkclient.UpdateJwtTemplateParams{Name: body.Name,
			Claims: body.Claims, Lifetime: body.Lifetime, AllowedClockSkew: body.AllowedClockSkew, CustomSigningKey: body.CustomSigningKey,
			SigningAlgorithm: body.SigningAlgorithm, SigningKey: body.SigningKey})
	})
}

func (b *BackendAPI) deleteTemplate(w http.ResponseWriter, r *http.Request) {
	d, err := b.client.JwtTemplates.Delete(r.Context(), r.PathValue("id"))
	b.answer(w, r, d, err)
}

func (b *BackendAPI) jwks(w http.ResponseWriter, r *http.Request) {
	if b.tokens == nil {
		b.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b.tokens.JWKS())
}
