// Package clerkhttp is the backend client over HTTP: the same groups and
// methods as [clerkclient.Client], with the same parameter and result
// types, served by a Gatehouse instance's Backend API (/v1) instead of
// its database. A service on another machine builds one with [New] and
// the instance secret key (CLERK_SECRET_KEY), and uses it exactly as the
// in-process client:
//
//	c := clerkhttp.New("https://auth.example.com", os.Getenv("CLERK_SECRET_KEY"))
//	u, err := c.Users.GetUser(ctx, id)
//	if clerkclient.IsNotFound(err) { … }
//
// A refusal of the server (any non-2xx answer) is a *clerkclient.APIError
// with the answer's status and Clerk error items, returned unwrapped as
// the in-process client returns it, so [clerkclient.IsNotFound],
// [clerkclient.ErrorCode] and errors.As work the same. Any other failure
// (the network, a cancelled context, an answer that is not JSON) is an
// error wrapped with "clerkhttp: …" that is not an APIError. Two
// refusals are made here, as 404 resource_not_found APIErrors, because no
// request could ask them: an id that cannot be one path segment (empty,
// "." or "..", or with a slash), and APIKeys.Revoke with a Subject that
// does not own the key (Clerk's route has no owner check).
//
// The groups and their methods are those of the in-process client that
// have a Backend API route:
//
//   - Users: GetUser, GetUserList, CreateUser, UpdateUser,
//     UpdateUserMetadata, DeleteUser, BanUser, UnbanUser, LockUser,
//     UnlockUser, VerifyPassword, GetOrganizationMembershipList.
//   - Sessions: GetSession, GetSessionList, RevokeSession.
//   - Organizations: CreateOrganization, GetOrganization,
//     GetOrganizationList, UpdateOrganization, UpdateOrganizationMetadata,
//     DeleteOrganization, GetOrganizationMembershipList,
//     CreateOrganizationMembership, UpdateOrganizationMembership,
//     DeleteOrganizationMembership, CreateOrganizationInvitation,
//     GetOrganizationInvitationList, RevokeOrganizationInvitation.
//   - JwtTemplates: Create, Get, List, Update, Delete.
//   - Machines: Create, Get, List, Delete, CreateScope, DeleteScope.
//   - M2MTokens: Create, Verify, List, Revoke.
//   - APIKeys: Create, Get, List, Revoke, Verify.
//
// The in-process methods without a route are not here, rather than
// present and failing:
//
//   - Users: ImportUser and ExportUsers (the import and export commands),
//     RemovePassword, and the second-factor helpers VerifyTOTP, DisableMFA,
//     DeleteTOTP and DeleteBackupCodes.
//   - Organizations: As (acting for a signed-in caller), Roles, Invitation
//     (an invitation by its secret), ImportOrganization and
//     ImportOrganizationMembership.
//   - APIKeys: CreateForUser (the profile page's quota), and
//     CreateForOrganization, ListForOrganization and RevokeForOrganization
//     (acting for a signed-in organization admin).
//   - The groups ActorTokens, EmailAddresses, AuditEvents and Webhooks, and
//     the middleware's Client.LookupMachineToken and
//     Client.RecordMachineTokenUse.
//
// On the wire the client follows the Backend API's rules: snake_case JSON
// bodies and query strings, arrays as repeated keys, zero values left
// out of query strings (so a zero Limit is the server's default, 10),
// GET /users as a bare array with GET /users/count for the total, and
// paginated=true for the sessions and JWT templates lists.
package clerkhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
)

// MaxResponseBody bounds the answer the client reads (10 MiB): a larger
// one is an error, so a misbehaving server cannot exhaust the caller's
// memory.
const MaxResponseBody = 10 << 20

// DefaultTimeout bounds each request of a client built without
// [WithHTTPClient].
const DefaultTimeout = 30 * time.Second

// DefaultUserAgent is the User-Agent the client sends unless
// [WithUserAgent] sets another.
const DefaultUserAgent = "gatehouse-clerkhttp/1"

// Client is the backend client over HTTP. Its groups have the method set
// of the in-process client's groups of the same name (see the package
// documentation for the methods left out). It is safe for concurrent use.
type Client struct {
	Users         *UsersAPI
	Sessions      *SessionsAPI
	Organizations *OrganizationsAPI
	JwtTemplates  *JwtTemplatesAPI
	Machines      *MachinesAPI
	M2MTokens     *M2MTokensAPI
	APIKeys       *APIKeysAPI
}

// Option configures [New].
type Option func(*options)

type options struct {
	httpClient *http.Client
	userAgent  string
}

// WithHTTPClient sends the requests through c (for its transport, proxy,
// TLS settings or timeout) instead of a client with [DefaultTimeout].
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) {
		if c != nil {
			o.httpClient = c
		}
	}
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(o *options) {
		if ua != "" {
			o.userAgent = ua
		}
	}
}

// New returns a client of the Backend API at baseURL, authenticated with
// the instance secret key. baseURL is the instance's URL, with its
// BACKEND_API_PREFIX path if it has one (https://auth.example.com or
// https://example.com/prefix); /v1 is added unless the path already ends
// with it, so the URL given to Clerk's Go SDK works too. A baseURL that
// is not an absolute http or https URL makes every call fail.
func New(baseURL, secretKey string, opts ...Option) *Client {
	o := options{userAgent: DefaultUserAgent}
	for _, opt := range opts {
		opt(&o)
	}
	if o.httpClient == nil {
		o.httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	t := &transport{http: o.httpClient, userAgent: o.userAgent,
		// The key lives in a closure so that printing the client or its
		// transport with fmt never shows it.
		secret: func() string { return secretKey }}
	t.base, t.baseErr = apiBase(baseURL)
	return &Client{
		Users:         &UsersAPI{t: t},
		Sessions:      &SessionsAPI{t: t},
		Organizations: &OrganizationsAPI{t: t},
		JwtTemplates:  &JwtTemplatesAPI{t: t},
		Machines:      &MachinesAPI{t: t},
		M2MTokens:     &M2MTokensAPI{t: t},
		APIKeys:       &APIKeysAPI{t: t},
	}
}

// apiBase returns the URL the routes are joined to: scheme, host and the
// escaped path ending in /v1, without a trailing slash.
func apiBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("clerkhttp: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("clerkhttp: base URL: want an absolute http or https URL")
	}
	// Credentials in the URL would go out as Basic auth beside the
	// Bearer key; a query or fragment would be lost on every route.
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("clerkhttp: base URL: want no user info, query or fragment")
	}
	p := strings.TrimRight(u.EscapedPath(), "/")
	if !strings.HasSuffix(p, "/v1") {
		p += "/v1"
	}
	return u.Scheme + "://" + u.Host + p, nil
}

// transport sends the requests of every group of one client.
type transport struct {
	base      string
	baseErr   error
	http      *http.Client
	userAgent string
	secret    func() string
}

// request is one Backend API call. path is escaped (built with [seg]).
type request struct {
	method, path string
	query        query
	// body is sent as JSON when non-nil; nil sends no body at all, as
	// Clerk's SDKs do for ban, revoke and the like.
	body any
	// key, when keySet, authenticates the call instead of the instance
	// secret key (a machine secret key for the M2M routes).
	key    string
	keySet bool
}

// do sends r and decodes a 2xx answer into out (unless out is nil). A
// non-2xx answer is returned as a bare *clerkclient.APIError.
func (t *transport) do(ctx context.Context, op string, r request, out any) error {
	if t.baseErr != nil {
		return t.baseErr
	}
	target := t.base + r.path
	if len(r.query) > 0 {
		target += "?" + url.Values(r.query).Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return fmt.Errorf("clerkhttp: %s: encode the request body: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return fmt.Errorf("clerkhttp: %s: %w", op, err)
	}
	key := t.secret()
	if r.keySet {
		key = r.key
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", t.userAgent)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := t.http.Do(req)
	if err != nil {
		// The *url.Error names the URL, never the key; a cancelled ctx
		// stays visible to errors.Is.
		return fmt.Errorf("clerkhttp: %s: %w", op, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxResponseBody+1))
	if err != nil {
		return fmt.Errorf("clerkhttp: %s: read the answer: %w", op, err)
	}
	if len(b) > MaxResponseBody {
		return fmt.Errorf("clerkhttp: %s: the answer exceeds %d bytes", op, MaxResponseBody)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return apiError(res.StatusCode, b)
	}
	if out == nil || res.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("clerkhttp: %s: decode the answer (status %d): %w", op, res.StatusCode, err)
	}
	return nil
}

// apiError is the *clerkclient.APIError of a non-2xx answer: its status
// and the items of Clerk's error envelope, if the body is one (a proxy's
// own error page gives an APIError without items).
func apiError(status int, body []byte) *clerkclient.APIError {
	var env struct {
		Errors []clerkclient.APIErrorItem `json:"errors"`
	}
	_ = json.Unmarshal(body, &env) // not an envelope: no items, the status says enough
	return &clerkclient.APIError{Status: status, Errors: env.Errors}
}

// notFound is the refusal the in-process client gives for what no id can
// name, made here without a request.
func notFound(what string) *clerkclient.APIError {
	msg := what + " not found"
	return &clerkclient.APIError{Status: http.StatusNotFound, Errors: []clerkclient.APIErrorItem{{
		Code: "resource_not_found", Message: msg, LongMessage: msg, Meta: map[string]any{}}}}
}

// seg escapes id as one path segment. An empty id, "." or "..", or one
// with a slash names no resource, and would reach another route (or be
// cleaned away), so it is refused as not found before any request.
func seg(what, id string) (string, error) {
	if id == "" || id == "." || id == ".." || strings.Contains(id, "/") {
		return "", notFound(what)
	}
	return url.PathEscape(id), nil
}

// idPath is /collection/{id} followed by suffix; what names the resource
// in the 404 of an id that cannot be one path segment.
func idPath(collection, what, id, suffix string) (string, error) {
	s, err := seg(what, id)
	if err != nil {
		return "", err
	}
	return "/" + collection + "/" + s + suffix, nil
}

// call sends r and returns the decoded answer.
func call[T any](ctx context.Context, t *transport, op string, r request) (*T, error) {
	out := new(T)
	if err := t.do(ctx, op, r, out); err != nil {
		return nil, err
	}
	return out, nil
}

// query builds a query string by the Backend API's rules: zero values
// are left out (Clerk's SDKs never send them, so the server's defaults
// apply), arrays repeat their key.
type query url.Values

func (q query) str(k, v string) {
	if v != "" {
		url.Values(q).Set(k, v)
	}
}

func (q query) num(k string, v int) {
	if v != 0 {
		url.Values(q).Set(k, strconv.Itoa(v))
	}
}

func (q query) flag(k string, v bool) {
	if v {
		url.Values(q).Set(k, "true")
	}
}

// list adds every value of vs, empty ones included: a filter on "" must
// stay a filter (matching nothing), not become no filter at all.
func (q query) list(k string, vs []string) {
	for _, v := range vs {
		url.Values(q).Add(k, v)
	}
}

// page adds limit and offset.
func (q query) page(limit, offset int) query {
	q.num("limit", limit)
	q.num("offset", offset)
	return q
}
