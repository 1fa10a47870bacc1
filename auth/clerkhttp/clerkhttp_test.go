package clerkhttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/clerkhttp"
)

const testSecret = "sk_test_unit_secret_never_printed"

// seen is one request the fake Backend API received.
type seen struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
	HasBody                bool
}

// fakeAPI is an httptest server that records every request and answers
// with reply.
type fakeAPI struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []seen
	reply func(w http.ResponseWriter, r *http.Request)
}

func newFakeAPI(t *testing.T, reply func(w http.ResponseWriter, r *http.Request)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{reply: reply}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: string(b), HasBody: r.ContentLength != 0})
		f.mu.Unlock()
		f.reply(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// last returns the last request, failing the test when there is none.
func (f *fakeAPI) last(t *testing.T) seen {
	t.Helper()
	reqs := f.requests()
	if len(reqs) == 0 {
		t.Fatal("got no request, want one")
	}
	return reqs[len(reqs)-1]
}

// answer replies with status and body as JSON.
func answer(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// TestErrorMapping: a non-2xx answer is a bare *clerkclient.APIError with
// the status and the decoded items, so IsNotFound, ErrorCode and
// errors.As work as in-process; an answer that is not Clerk's envelope
// keeps its status without items.
func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int
		body        string
		wantCode    string
		wantParam   string
		wantItems   int
		wantMissing bool
	}{
		{"not found", 404, `{"errors":[{"code":"resource_not_found","message":"user not found","long_message":"user not found","meta":{}}],"clerk_trace_id":"t1"}`, "resource_not_found", "", 1, true},
		{"conflict with param", 422, `{"errors":[{"code":"form_identifier_exists","message":"taken","long_message":"That email address is taken.","meta":{"param_name":"email_address"}}]}`, "form_identifier_exists", "email_address", 1, false},
		{"last admin", 409, `{"errors":[{"code":"organization_minimum_permissions_needed","message":"m","long_message":"l","meta":{}}]}`, "organization_minimum_permissions_needed", "", 1, false},
		{"bad key", 401, `{"errors":[{"code":"clerk_key_invalid","message":"m","long_message":"l","meta":{}}]}`, "clerk_key_invalid", "", 1, false},
		{"proxy page", 502, `<html>bad gateway</html>`, "", "", 0, false},
		{"empty 503", 503, ``, "", "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, answer(tc.status, tc.body))
			_, err := clerkhttp.New(f.URL, testSecret).Users.GetUser(context.Background(), "user_1")
			e, ok := err.(*clerkclient.APIError)
			if !ok {
				t.Fatalf("got error %T %v, want a bare *clerkclient.APIError", err, err)
			}
			if e.Status != tc.status {
				t.Errorf("got status %d, want %d", e.Status, tc.status)
			}
			if len(e.Errors) != tc.wantItems {
				t.Fatalf("got %d error items, want %d", len(e.Errors), tc.wantItems)
			}
			if got := clerkclient.ErrorCode(err); got != tc.wantCode {
				t.Errorf("got ErrorCode %q, want %q", got, tc.wantCode)
			}
			if got := clerkclient.IsNotFound(err); got != tc.wantMissing {
				t.Errorf("got IsNotFound %v, want %v", got, tc.wantMissing)
			}
			if tc.wantParam != "" {
				if got := e.Errors[0].Meta["param_name"]; got != tc.wantParam {
					t.Errorf("got meta.param_name %v, want %q", got, tc.wantParam)
				}
			}
			var as *clerkclient.APIError
			if !errors.As(fmt.Errorf("wrapped: %w", err), &as) || as != e {
				t.Errorf("errors.As through a wrap: got %v, want the same *APIError", as)
			}
		})
	}
}

// TestQueryEncoding: snake_case keys, arrays as repeated keys, zero
// values left out, paginated=true for sessions and templates.
func TestQueryEncoding(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		call      func(c *clerkhttp.Client) error
		wantPath  string
		wantQuery url.Values
	}{
		{"users filters", func(c *clerkhttp.Client) error {
			_, err := c.Users.GetUserList(ctx, clerkclient.UserListParams{EmailAddress: []string{"a@x.test", "b@x.test"},
				UserID: []string{"user_1"}, OrganizationID: []string{"org_1", "org_2"}, Query: "dor", OrderBy: "+created_at", Limit: 5, Offset: 10})
			return err
		}, "/v1/users", url.Values{"email_address": {"a@x.test", "b@x.test"}, "user_id": {"user_1"},
			"organization_id": {"org_1", "org_2"}, "query": {"dor"}, "order_by": {"+created_at"}, "limit": {"5"}, "offset": {"10"}}},
		{"users zero values", func(c *clerkhttp.Client) error {
			_, err := c.Users.GetUserList(ctx, clerkclient.UserListParams{})
			return err
		}, "/v1/users", url.Values{}},
		{"an empty filter value stays a filter", func(c *clerkhttp.Client) error {
			_, err := c.Users.GetUserList(ctx, clerkclient.UserListParams{ExternalID: []string{""}})
			return err
		}, "/v1/users", url.Values{"external_id": {""}}},
		{"negative limit reaches the server", func(c *clerkhttp.Client) error {
			_, err := c.Users.GetUserList(ctx, clerkclient.UserListParams{Limit: -1})
			return err
		}, "/v1/users", url.Values{"limit": {"-1"}}},
		{"sessions", func(c *clerkhttp.Client) error {
			_, err := c.Sessions.GetSessionList(ctx, clerkclient.SessionListParams{UserID: "user_1", Status: "active"})
			return err
		}, "/v1/sessions", url.Values{"user_id": {"user_1"}, "status": {"active"}, "paginated": {"true"}}},
		{"jwt templates", func(c *clerkhttp.Client) error {
			_, err := c.JwtTemplates.List(ctx, clerkclient.JwtTemplateListParams{Offset: 3})
			return err
		}, "/v1/jwt_templates", url.Values{"offset": {"3"}, "paginated": {"true"}}},
		{"organization by slug", func(c *clerkhttp.Client) error {
			_, err := c.Organizations.GetOrganization(ctx, "acme")
			return err
		}, "/v1/organizations/acme", url.Values{"include_members_count": {"true"}}},
		{"organizations", func(c *clerkhttp.Client) error {
			_, err := c.Organizations.GetOrganizationList(ctx, clerkclient.OrganizationListParams{Query: "ac", UserID: "user_1", Limit: 20})
			return err
		}, "/v1/organizations", url.Values{"query": {"ac"}, "user_id": {"user_1"}, "limit": {"20"}}},
		{"invitation status", func(c *clerkhttp.Client) error {
			_, err := c.Organizations.GetOrganizationInvitationList(ctx, clerkclient.OrganizationInvitationListParams{OrganizationID: "org_1", Status: "pending"})
			return err
		}, "/v1/organizations/org_1/invitations", url.Values{"status": {"pending"}}},
		{"user memberships", func(c *clerkhttp.Client) error {
			_, err := c.Users.GetOrganizationMembershipList(ctx, clerkclient.UserOrganizationMembershipListParams{UserID: "user_1", Limit: 2})
			return err
		}, "/v1/users/user_1/organization_memberships", url.Values{"limit": {"2"}}},
		{"m2m false flags left out", func(c *clerkhttp.Client) error {
			_, err := c.M2MTokens.List(ctx, clerkclient.M2MTokenListParams{Subject: "mch_1"})
			return err
		}, "/v1/m2m_tokens", url.Values{"subject": {"mch_1"}}},
		{"m2m true flags", func(c *clerkhttp.Client) error {
			_, err := c.M2MTokens.List(ctx, clerkclient.M2MTokenListParams{Subject: "mch_1", Revoked: true, Expired: true})
			return err
		}, "/v1/m2m_tokens", url.Values{"subject": {"mch_1"}, "revoked": {"true"}, "expired": {"true"}}},
		{"api keys", func(c *clerkhttp.Client) error {
			_, err := c.APIKeys.List(ctx, clerkclient.APIKeyListParams{Subject: "user_1", IncludeInvalid: true})
			return err
		}, "/v1/api_keys", url.Values{"subject": {"user_1"}, "include_invalid": {"true"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/v1/users":
					answer(200, `[]`)(w, r)
				case r.URL.Path == "/v1/users/count":
					answer(200, `{"object":"total_count","total_count":0}`)(w, r)
				case r.URL.Path == "/v1/m2m_tokens":
					answer(200, `{"m2m_tokens":[],"total_count":0}`)(w, r)
				case strings.HasPrefix(r.URL.Path, "/v1/organizations/") && !strings.Contains(r.URL.Path[len("/v1/organizations/"):], "/"):
					answer(200, `{"object":"organization","id":"org_1"}`)(w, r)
				default:
					answer(200, `{"data":[],"total_count":0}`)(w, r)
				}
			})
			if err := tc.call(clerkhttp.New(f.URL, testSecret)); err != nil {
				t.Fatalf("call: got %v, want success", err)
			}
			r := f.requests()[0]
			if r.Method != http.MethodGet || r.Path != tc.wantPath {
				t.Errorf("got %s %s, want GET %s", r.Method, r.Path, tc.wantPath)
			}
			got, err := url.ParseQuery(r.RawQuery)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.wantQuery) {
				t.Errorf("got query %v (%q), want %v", got, r.RawQuery, tc.wantQuery)
			}
		})
	}
}

// TestUserListBareArray: GET /users is a bare array and the total comes
// from GET /users/count with the same filters (no paging keys), giving
// the in-process UserList.
func TestUserListBareArray(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/users":
			answer(200, `[{"object":"user","id":"user_2","first_name":"Evan"},{"object":"user","id":"user_1","first_name":"Dora"}]`)(w, r)
		case "/v1/users/count":
			answer(200, `{"object":"total_count","total_count":12}`)(w, r)
		default:
			answer(404, `{"errors":[{"code":"resource_not_found","message":"m","long_message":"l","meta":{}}]}`)(w, r)
		}
	})
	list, err := clerkhttp.New(f.URL, testSecret).Users.GetUserList(context.Background(),
		clerkclient.UserListParams{EmailAddress: []string{"dora@x.test"}, Limit: 2, Offset: 4, OrderBy: "-created_at"})
	if err != nil {
		t.Fatal(err)
	}
	if list.TotalCount != 12 {
		t.Errorf("got TotalCount %d, want 12", list.TotalCount)
	}
	var ids []string
	for _, u := range list.Data {
		ids = append(ids, u.ID)
	}
	if want := []string{"user_2", "user_1"}; !slices.Equal(ids, want) {
		t.Errorf("got ids %v, want %v", ids, want)
	}
	if got := *list.Data[1].FirstName; got != "Dora" {
		t.Errorf("got first name %q, want Dora", got)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[1].Path != "/v1/users/count" {
		t.Fatalf("got requests %v, want /v1/users then /v1/users/count", reqs)
	}
	if got, want := reqs[1].RawQuery, "email_address=dora%40x.test"; got != want {
		t.Errorf("count query: got %q, want %q (the filters, no paging)", got, want)
	}

	empty := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/users/count" {
			answer(200, `{"object":"total_count","total_count":0}`)(w, r)
			return
		}
		answer(200, `[]`)(w, r)
	})
	list, err = clerkhttp.New(empty.URL, testSecret).Users.GetUserList(context.Background(), clerkclient.UserListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if list.Data == nil || len(list.Data) != 0 {
		t.Errorf("empty page: got Data %#v, want an empty, non-nil slice (as in-process)", list.Data)
	}
}

// TestBodies: JSON bodies carry the snake_case keys of the given fields
// only; actions without parameters send no body; the M2M scopes tell
// "all" (nil, left out) from "none" (empty, sent as []).
func TestBodies(t *testing.T) {
	ctx := context.Background()
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name       string
		call       func(c *clerkhttp.Client) error
		wantMethod string
		wantPath   string
		wantBody   string // "" means no body at all
	}{
		{"create user", func(c *clerkhttp.Client) error {
			_, err := c.Users.CreateUser(ctx, clerkclient.CreateUserParams{EmailAddress: []string{"dora@x.test"}, Password: str("pw"),
				FirstName: str("Dora"), ExternalID: str("ext-1"), SkipPasswordChecks: true, PublicMetadata: json.RawMessage(`{"a":1}`)})
			return err
		}, "POST", "/v1/users", `{"email_address":["dora@x.test"],"password":"pw","first_name":"Dora","external_id":"ext-1","skip_password_checks":true,"public_metadata":{"a":1}}`},
		{"update user: only what is set, an empty string kept", func(c *clerkhttp.Client) error {
			_, err := c.Users.UpdateUser(ctx, "user_1", clerkclient.UpdateUserParams{LastName: str(""), PrivateMetadata: json.RawMessage(`{}`)})
			return err
		}, "PATCH", "/v1/users/user_1", `{"last_name":"","private_metadata":{}}`},
		{"merge user metadata", func(c *clerkhttp.Client) error {
			_, err := c.Users.UpdateUserMetadata(ctx, "user_1", clerkclient.UpdateUserMetadataParams{UnsafeMetadata: json.RawMessage(`{"k":null}`)})
			return err
		}, "PATCH", "/v1/users/user_1/metadata", `{"unsafe_metadata":{"k":null}}`},
		{"ban: no body", func(c *clerkhttp.Client) error {
			_, err := c.Users.BanUser(ctx, "user_1")
			return err
		}, "POST", "/v1/users/user_1/ban", ""},
		{"revoke session: no body", func(c *clerkhttp.Client) error {
			_, err := c.Sessions.RevokeSession(ctx, "sess_1")
			return err
		}, "POST", "/v1/sessions/sess_1/revoke", ""},
		{"verify password", func(c *clerkhttp.Client) error {
			_, err := c.Users.VerifyPassword(ctx, "user_1", "")
			return err
		}, "POST", "/v1/users/user_1/verify_password", `{"password":""}`},
		{"create organization", func(c *clerkhttp.Client) error {
			n := 5
			_, err := c.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Acme", CreatedBy: str("user_1"), MaxAllowedMemberships: &n})
			return err
		}, "POST", "/v1/organizations", `{"name":"Acme","created_by":"user_1","max_allowed_memberships":5}`},
		{"change a role", func(c *clerkhttp.Client) error {
			_, err := c.Organizations.UpdateOrganizationMembership(ctx, clerkclient.UpdateOrganizationMembershipParams{OrganizationID: "org_1", UserID: "user_1", Role: "org:member"})
			return err
		}, "PATCH", "/v1/organizations/org_1/memberships/user_1", `{"role":"org:member"}`},
		{"invite", func(c *clerkhttp.Client) error {
			_, err := c.Organizations.CreateOrganizationInvitation(ctx, clerkclient.CreateOrganizationInvitationParams{OrganizationID: "org_1", EmailAddress: "e@x.test", InviterUserID: "user_1"})
			return err
		}, "POST", "/v1/organizations/org_1/invitations", `{"email_address":"e@x.test","inviter_user_id":"user_1"}`},
		{"revoke invitation: no body", func(c *clerkhttp.Client) error {
			_, err := c.Organizations.RevokeOrganizationInvitation(ctx, clerkclient.RevokeOrganizationInvitationParams{OrganizationID: "org_1", InvitationID: "orginv_1"})
			return err
		}, "POST", "/v1/organizations/org_1/invitations/orginv_1/revoke", ""},
		{"create template", func(c *clerkhttp.Client) error {
			life := int64(120)
			_, err := c.JwtTemplates.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: "supabase", Claims: json.RawMessage(`{"role":"authenticated"}`), Lifetime: &life})
			return err
		}, "POST", "/v1/jwt_templates", `{"name":"supabase","claims":{"role":"authenticated"},"lifetime":120}`},
		{"update template back to the instance key", func(c *clerkhttp.Client) error {
			off := false
			_, err := c.JwtTemplates.Update(ctx, "jtmp_1", clerkclient.UpdateJwtTemplateParams{CustomSigningKey: &off})
			return err
		}, "PATCH", "/v1/jwt_templates/jtmp_1", `{"custom_signing_key":false}`},
		{"m2m scopes nil: all", func(c *clerkhttp.Client) error {
			_, err := c.M2MTokens.Create(ctx, clerkclient.CreateM2MTokenParams{MachineSecretKey: "ak_machine"})
			return err
		}, "POST", "/v1/m2m_tokens", `{}`},
		{"m2m scopes empty: none", func(c *clerkhttp.Client) error {
			secs := int64(60)
			_, err := c.M2MTokens.Create(ctx, clerkclient.CreateM2MTokenParams{MachineSecretKey: "ak_machine", Scopes: []string{}, SecondsUntilExpiration: &secs})
			return err
		}, "POST", "/v1/m2m_tokens", `{"seconds_until_expiration":60,"scopes":[]}`},
		{"m2m verify sends an empty token", func(c *clerkhttp.Client) error {
			_, err := c.M2MTokens.Verify(ctx, clerkclient.VerifyM2MTokenParams{})
			return err
		}, "POST", "/v1/m2m_tokens/verify", `{"token":""}`},
		{"create machine", func(c *clerkhttp.Client) error {
			_, err := c.Machines.Create(ctx, clerkclient.CreateMachineParams{Name: "worker", ScopedMachines: []string{"mch_2"}})
			return err
		}, "POST", "/v1/machines", `{"name":"worker","scoped_machines":["mch_2"]}`},
		{"create API key", func(c *clerkhttp.Client) error {
			_, err := c.APIKeys.Create(ctx, clerkclient.CreateAPIKeyParams{Name: "ci", Subject: "user_1", Scopes: []string{"read"}})
			return err
		}, "POST", "/v1/api_keys", `{"name":"ci","subject":"user_1","scopes":["read"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, answer(200, `{"object":"x","id":"x_1"}`))
			if err := tc.call(clerkhttp.New(f.URL, testSecret)); err != nil {
				t.Fatalf("call: got %v, want success", err)
			}
			r := f.last(t)
			if r.Method != tc.wantMethod || r.Path != tc.wantPath {
				t.Errorf("got %s %s, want %s %s", r.Method, r.Path, tc.wantMethod, tc.wantPath)
			}
			if tc.wantBody == "" {
				if r.HasBody || r.Body != "" || r.Header.Get("Content-Type") != "" {
					t.Errorf("got body %q with Content-Type %q, want no body", r.Body, r.Header.Get("Content-Type"))
				}
				return
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("got Content-Type %q, want application/json", ct)
			}
			if !sameJSON(r.Body, tc.wantBody) {
				t.Errorf("got body %s, want %s", r.Body, tc.wantBody)
			}
		})
	}
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestAuthorizationAndOptions: the instance key on every call, a
// machine's key where the M2M params give one, the User-Agent option and
// the caller's *http.Client.
func TestAuthorizationAndOptions(t *testing.T) {
	ctx := context.Background()
	f := newFakeAPI(t, answer(200, `{"object":"x"}`))
	var used int
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used++
		return http.DefaultTransport.RoundTrip(r)
	})}
	c := clerkhttp.New(f.URL, testSecret, clerkhttp.WithHTTPClient(hc), clerkhttp.WithUserAgent("billing-worker/2"))
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"instance key", func() error { _, err := c.Users.GetUser(ctx, "user_1"); return err }, "Bearer " + testSecret},
		{"m2m create: the machine's key", func() error {
			_, err := c.M2MTokens.Create(ctx, clerkclient.CreateM2MTokenParams{MachineSecretKey: "ak_issuer"})
			return err
		}, "Bearer ak_issuer"},
		{"m2m create without a key: none, never the instance key", func() error {
			_, err := c.M2MTokens.Create(ctx, clerkclient.CreateM2MTokenParams{})
			return err
		}, ""},
		{"m2m verify as a machine", func() error {
			_, err := c.M2MTokens.Verify(ctx, clerkclient.VerifyM2MTokenParams{Token: "mt_x", MachineSecretKey: "ak_audience"})
			return err
		}, "Bearer ak_audience"},
		{"m2m verify as the instance", func() error {
			_, err := c.M2MTokens.Verify(ctx, clerkclient.VerifyM2MTokenParams{Token: "mt_x"})
			return err
		}, "Bearer " + testSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			r := f.last(t)
			if got := r.Header.Get("Authorization"); got != tc.want {
				t.Errorf("got Authorization %q, want %q", got, tc.want)
			}
			if got := r.Header.Get("User-Agent"); got != "billing-worker/2" {
				t.Errorf("got User-Agent %q, want billing-worker/2", got)
			}
		})
	}
	if used != len(f.requests()) {
		t.Errorf("got %d requests through the given *http.Client, want all %d", used, len(f.requests()))
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestBaseURL: /v1 is added unless the URL's path ends with it, a path
// prefix is kept, and an unusable URL fails every call without a request.
func TestBaseURL(t *testing.T) {
	f := newFakeAPI(t, answer(200, `{"object":"user","id":"user_1"}`))
	for _, tc := range []struct {
		base, wantPath string
	}{
		{f.URL, "/v1/users/user_1"},
		{f.URL + "/", "/v1/users/user_1"},
		{f.URL + "/auth", "/auth/v1/users/user_1"},
		{f.URL + "/auth/v1/", "/auth/v1/users/user_1"},
		{f.URL + "/v1", "/v1/users/user_1"},
	} {
		t.Run(tc.base, func(t *testing.T) {
			if _, err := clerkhttp.New(tc.base, testSecret).Users.GetUser(context.Background(), "user_1"); err != nil {
				t.Fatal(err)
			}
			if got := f.last(t).Path; got != tc.wantPath {
				t.Errorf("got path %q, want %q", got, tc.wantPath)
			}
		})
	}
	before := len(f.requests())
	for _, bad := range []string{"", "auth.example.com", "ftp://h/", "http://user:pw@" + strings.TrimPrefix(f.URL, "http://"), f.URL + "?x=1", "http://%zz"} {
		_, err := clerkhttp.New(bad, testSecret).Users.GetUser(context.Background(), "user_1")
		if err == nil || !strings.HasPrefix(err.Error(), "clerkhttp: base URL") {
			t.Errorf("base %q: got %v, want a clerkhttp: base URL error", bad, err)
		}
		if _, ok := errors.AsType[*clerkclient.APIError](err); ok {
			t.Errorf("base %q: got an *APIError, want a transport error", bad)
		}
	}
	if got := len(f.requests()); got != before {
		t.Errorf("got %d requests with unusable base URLs, want none", got-before)
	}
}

// TestIDsInPaths: ids are escaped as one segment; an id that names
// nothing (empty, a dot segment, a slash) is not found without a request,
// as in-process.
func TestIDsInPaths(t *testing.T) {
	f := newFakeAPI(t, answer(200, `{"object":"user","id":"x"}`))
	c := clerkhttp.New(f.URL, testSecret)
	if _, err := c.Users.GetUser(context.Background(), "user 1?x"); err != nil {
		t.Fatal(err)
	}
	if got, want := f.last(t).Path, "/v1/users/user%201%3Fx"; got != want {
		t.Errorf("got path %q, want %q", got, want)
	}
	before := len(f.requests())
	for _, id := range []string{"", ".", "..", "user_1/ban", "../jwks"} {
		_, err := c.Users.GetUser(context.Background(), id)
		if !clerkclient.IsNotFound(err) {
			t.Errorf("GetUser(%q): got %v, want resource_not_found", id, err)
		}
		_, err = c.Organizations.DeleteOrganizationMembership(context.Background(), clerkclient.DeleteOrganizationMembershipParams{OrganizationID: "org_1", UserID: id})
		if !clerkclient.IsNotFound(err) {
			t.Errorf("DeleteOrganizationMembership(user %q): got %v, want resource_not_found", id, err)
		}
	}
	if got := len(f.requests()); got != before {
		t.Errorf("got %d requests for ids that name nothing, want none", got-before)
	}
}

// TestContextCancellation: a cancelled context ends a request in flight,
// and the error says so to errors.Is.
func TestContextCancellation(t *testing.T) {
	release := make(chan struct{})
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := clerkhttp.New(f.URL, testSecret).Sessions.GetSession(ctx, "sess_1")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want an error that is context.Canceled", err)
	}
	if !strings.HasPrefix(err.Error(), "clerkhttp: get session: ") {
		t.Errorf("got %q, want it wrapped as clerkhttp: get session: …", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the call took %v after the cancellation, want it to end at once", d)
	}
}

// TestResponseBodyLimit: an answer larger than MaxResponseBody is an
// error, not decoded.
func TestResponseBodyLimit(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"user","first_name":"`)
		chunk := strings.Repeat("a", 1<<16)
		for n := 0; n <= clerkhttp.MaxResponseBody; n += len(chunk) {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
		io.WriteString(w, `"}`)
	})
	_, err := clerkhttp.New(f.URL, testSecret).Users.GetUser(context.Background(), "user_1")
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("got %v, want an error about the answer's size", err)
	}
}

// TestSecretNeverShown: neither printing the client nor an error of a
// failed call shows the secret key.
func TestSecretNeverShown(t *testing.T) {
	f := newFakeAPI(t, answer(401, `{"errors":[{"code":"clerk_key_invalid","message":"m","long_message":"l","meta":{}}]}`))
	c := clerkhttp.New(f.URL, testSecret)
	_, apiErr := c.Users.GetUser(context.Background(), "user_1")
	_, netErr := clerkhttp.New("http://127.0.0.1:1", testSecret).Users.GetUser(context.Background(), "user_1")
	for _, s := range []string{
		fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", *c.Users), fmt.Sprintf("%#v", *c.M2MTokens),
		fmt.Sprint(apiErr), fmt.Sprint(netErr),
	} {
		if strings.Contains(s, testSecret) {
			t.Errorf("got %q, want no secret key in it", s)
		}
	}
}

// TestMachineScopeAnswers: Clerk's scope routes answer a machine_scope;
// the client then returns the machine read after it, as in-process.
func TestMachineScopeAnswers(t *testing.T) {
	machine := `{"object":"machine","id":"mch_1","name":"a","default_token_ttl":3600,"scoped_machines":[{"object":"machine","id":"mch_2"}],"created_at":1,"updated_at":2}`
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			answer(200, `{"object":"machine_scope","from_machine_id":"mch_1","to_machine_id":"mch_2","created_at":1}`)(w, r)
		case r.Method == http.MethodDelete:
			answer(200, `{"object":"machine_scope","from_machine_id":"mch_1","to_machine_id":"mch_2","deleted":true}`)(w, r)
		default:
			answer(200, machine)(w, r)
		}
	})
	c := clerkhttp.New(f.URL, testSecret)
	for _, tc := range []struct {
		name string
		call func() (*clerkclient.Machine, error)
		want []string
	}{
		{"create", func() (*clerkclient.Machine, error) {
			return c.Machines.CreateScope(context.Background(), "mch_1", "mch_2")
		},
			[]string{"POST /v1/machines/mch_1/scopes", "GET /v1/machines/mch_1"}},
		{"delete", func() (*clerkclient.Machine, error) {
			return c.Machines.DeleteScope(context.Background(), "mch_1", "mch_2")
		},
			[]string{"DELETE /v1/machines/mch_1/scopes/mch_2", "GET /v1/machines/mch_1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.requests())
			m, err := tc.call()
			if err != nil {
				t.Fatal(err)
			}
			if m.ID != "mch_1" || len(m.ScopedMachines) != 1 || m.ScopedMachines[0].ID != "mch_2" {
				t.Errorf("got machine %+v, want mch_1 scoped to mch_2", m)
			}
			var got []string
			for _, r := range f.requests()[before:] {
				got = append(got, r.Method+" "+r.Path)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got requests %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRevokeAPIKeyOfAnotherSubject: with a Subject that does not own the
// key, Revoke is a 404 and revokes nothing, as in-process.
func TestRevokeAPIKeyOfAnotherSubject(t *testing.T) {
	f := newFakeAPI(t, answer(200, `{"object":"api_key","id":"ak_0123456789abcdef0123456789abcdef","subject":"user_owner"}`))
	c := clerkhttp.New(f.URL, testSecret)
	_, err := c.APIKeys.Revoke(context.Background(), clerkclient.RevokeAPIKeyParams{ID: "ak_0123456789abcdef0123456789abcdef", Subject: "user_other"})
	if !clerkclient.IsNotFound(err) {
		t.Fatalf("got %v, want resource_not_found", err)
	}
	for _, r := range f.requests() {
		if r.Method != http.MethodGet {
			t.Errorf("got %s %s, want only the GET of the key", r.Method, r.Path)
		}
	}
	if _, err := c.APIKeys.Revoke(context.Background(), clerkclient.RevokeAPIKeyParams{ID: "ak_0123456789abcdef0123456789abcdef", Subject: "user_owner"}); err != nil {
		t.Fatalf("owner's revoke: got %v, want success", err)
	}
	if r := f.last(t); r.Method != http.MethodPost || r.Path != "/v1/api_keys/ak_0123456789abcdef0123456789abcdef/revoke" {
		t.Errorf("got %s %s, want POST …/revoke", r.Method, r.Path)
	}
}

// absent lists the in-process methods the HTTP client leaves out, each
// for want of a Backend API route (see the package documentation).
var absent = map[string][]string{
	"UsersAPI":         {"ImportUser", "ExportUsers", "RemovePassword", "VerifyTOTP", "DisableMFA", "DeleteTOTP", "DeleteBackupCodes"},
	"OrganizationsAPI": {"As", "Roles", "Invitation", "ImportOrganization", "ImportOrganizationMembership"},
	"APIKeysAPI":       {"CreateForUser", "CreateForOrganization", "ListForOrganization", "RevokeForOrganization"},
}

// TestSameMethodsAsInProcess: every method of an HTTP group has the
// signature of the in-process method of the same name, and every
// in-process method is either here or listed in absent, so a method added
// to the in-process client shows up here until it gets a route or a
// reason.
func TestSameMethodsAsInProcess(t *testing.T) {
	pairs := []struct{ inProcess, overHTTP any }{
		{&clerkclient.UsersAPI{}, &clerkhttp.UsersAPI{}},
		{&clerkclient.SessionsAPI{}, &clerkhttp.SessionsAPI{}},
		{&clerkclient.OrganizationsAPI{}, &clerkhttp.OrganizationsAPI{}},
		{&clerkclient.JwtTemplatesAPI{}, &clerkhttp.JwtTemplatesAPI{}},
		{&clerkclient.MachinesAPI{}, &clerkhttp.MachinesAPI{}},
		{&clerkclient.M2MTokensAPI{}, &clerkhttp.M2MTokensAPI{}},
		{&clerkclient.APIKeysAPI{}, &clerkhttp.APIKeysAPI{}},
	}
	for _, p := range pairs {
		in, out := reflect.TypeOf(p.inProcess), reflect.TypeOf(p.overHTTP)
		name := out.Elem().Name()
		t.Run(name, func(t *testing.T) {
			for i := range out.NumMethod() {
				m := out.Method(i)
				im, ok := in.MethodByName(m.Name)
				if !ok {
					t.Errorf("%s.%s: the in-process group has no such method", name, m.Name)
					continue
				}
				// Drop the receivers, which differ by construction.
				if got, want := funcSig(m.Type), funcSig(im.Type); got != want {
					t.Errorf("%s.%s: got signature %s, want %s (in-process)", name, m.Name, got, want)
				}
			}
			for i := range in.NumMethod() {
				m := in.Method(i)
				if _, ok := out.MethodByName(m.Name); !ok && !slices.Contains(absent[name], m.Name) {
					t.Errorf("%s.%s: in-process only; give it a route and a method here, or list it in absent and in the package documentation", name, m.Name)
				}
			}
		})
	}
	// The groups of the two clients have the same field names.
	cin, cout := reflect.TypeOf(clerkclient.Client{}), reflect.TypeOf(clerkhttp.Client{})
	for i := range cout.NumField() {
		if _, ok := cin.FieldByName(cout.Field(i).Name); !ok {
			t.Errorf("clerkhttp.Client.%s: got a group the in-process client does not have", cout.Field(i).Name)
		}
	}
}

// funcSig prints a method type without its receiver.
func funcSig(ft reflect.Type) string {
	var in, out []string
	for i := 1; i < ft.NumIn(); i++ {
		in = append(in, ft.In(i).String())
	}
	for i := range ft.NumOut() {
		out = append(out, ft.Out(i).String())
	}
	return "func(" + strings.Join(in, ", ") + ") (" + strings.Join(out, ", ") + ")"
}
