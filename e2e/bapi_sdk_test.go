package e2e

// Clerk's own server SDKs against the HTTP Backend API. TestBackendAPIWithClerkNodeSDK
// runs @clerk/backend (auth/token/testdata/clerk-interop/bapi.mjs) through
// a stateful scenario; TestBackendAPIWithClerkGoSDK (bapi_gosdk_test.go)
// does the same with clerk-sdk-go. Both SDKs reach the app through a
// recording reverse proxy, and every answer it saw is then checked
// against the wire rules of ../shared/reference/clerk-bapi-wire.md and the
// required properties of Clerk's OpenAPI schemas (bapiSchemas), because
// "the SDK parsed it" proves little: @clerk/backend maps JSON without any
// validation.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"golang.org/x/crypto/bcrypt"
)

// bapiExchange is one Backend API answer seen by the recording proxy.
type bapiExchange struct {
	Method, Path, Query string
	Status              int
	ContentType         string
	Body                []byte
}

func (e bapiExchange) String() string {
	s := e.Method + " " + e.Path
	if e.Query != "" {
		s += "?" + e.Query
	}
	return fmt.Sprintf("%s → %d", s, e.Status)
}

// bapiRecorder is a reverse proxy in front of the app that keeps every
// answer, as the SDK received it.
type bapiRecorder struct {
	*httptest.Server
	mu        sync.Mutex
	exchanges []bapiExchange
}

func newBAPIRecorder(t *testing.T, target string) *bapiRecorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &bapiRecorder{}
	proxy := &httputil.ReverseProxy{
		// SetURL also sends the app's own Host, as a direct client would.
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		ModifyResponse: func(res *http.Response) error {
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				return err
			}
			res.Body = io.NopCloser(bytes.NewReader(b))
			rec.mu.Lock()
			rec.exchanges = append(rec.exchanges, bapiExchange{Method: res.Request.Method, Path: res.Request.URL.Path,
				Query: res.Request.URL.RawQuery, Status: res.StatusCode, ContentType: res.Header.Get("Content-Type"), Body: b})
			rec.mu.Unlock()
			return nil
		},
	}
	rec.Server = httptest.NewServer(proxy)
	t.Cleanup(rec.Close)
	return rec
}

func (r *bapiRecorder) Exchanges() []bapiExchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.exchanges)
}

// Saw reports whether a request with the method reached path.
func (r *bapiRecorder) Saw(method, path string) bool {
	for _, e := range r.Exchanges() {
		if e.Method == method && e.Path == path {
			return true
		}
	}
	return false
}

// A bapiField is a property of a schema: its JSON kind and whether null
// is allowed. Required properties must be present (null only when
// nullable); optional ones, when present, must have the kind.
type bapiField struct {
	name     string
	kind     string // string, bool, int, array, object, any
	nullable bool
}

type bapiSchema struct {
	required, optional []bapiField
	// closed schemas have additionalProperties: false in the spec.
	closed bool
	// object schemas are resources keyed by their object discriminator;
	// the others are nested shapes without one.
	object bool
	// nested names the schema of object (or array of object) properties.
	nested map[string]string
}

// f builds bapiFields from "name:kind" and "name:kind?" (nullable).
func f(specs ...string) []bapiField {
	var out []bapiField
	for _, s := range specs {
		name, kind, _ := strings.Cut(s, ":")
		out = append(out, bapiField{name: name, kind: strings.TrimSuffix(kind, "?"), nullable: strings.HasSuffix(kind, "?")})
	}
	return out
}

// bapiSchemas are the required properties of the resources the SDKs map,
// by their object discriminator, copied from clerk-bapi-openapi.yaml
// (components/schemas; no YAML library is in go.mod) and §3 of
// clerk-bapi-wire.md. "?" marks a nullable property. Schemas without an
// object (nested ones) are keyed by a name of their own.
var bapiSchemas = map[string]bapiSchema{
	"user": {object: true, closed: true, nested: map[string]string{"email_addresses": "email_address"},
		required: f("id:string", "object:string", "username:string?", "first_name:string?", "last_name:string?", "has_image:bool",
			"primary_email_address_id:string?", "primary_phone_number_id:string?", "primary_web3_wallet_id:string?",
			"password_enabled:bool", "two_factor_enabled:bool", "totp_enabled:bool", "backup_code_enabled:bool",
			"email_addresses:array", "phone_numbers:array", "web3_wallets:array", "passkeys:array", "external_accounts:array",
			"saml_accounts:array", "enterprise_accounts:array", "public_metadata:object", "external_id:string?",
			"last_sign_in_at:int?", "banned:bool", "locked:bool", "lockout_expires_in_seconds:int?",
			"verification_attempts_remaining:int?", "created_at:int", "updated_at:int", "delete_self_enabled:bool",
			"create_organization_enabled:bool", "last_active_at:int?", "mfa_enabled_at:int?", "mfa_disabled_at:int?",
			"legal_accepted_at:int?"),
		optional: f("locale:string?", "profile_image_url:string", "image_url:string", "private_metadata:object?", "unsafe_metadata:object",
			"password_last_updated_at:int?", "organization_memberships:array", "deprovisioned:bool", "create_organizations_limit:int?",
			"bypass_client_trust:bool", "scim:object?")},
	// id is optional in the spec, but the SDKs find the primary address by it.
	"email_address": {object: true, closed: true, nested: map[string]string{"verification": "verification", "linked_to": "identification_link"},
		required: f("id:string", "object:string", "email_address:string", "verification:object?", "linked_to:array", "reserved:bool",
			"created_at:int", "updated_at:int"),
		optional: f("matches_sso_connection:bool")},
	// The fields every verification variant shares (verification_admin
	// has no others).
	"verification": {
		required: f("status:string", "strategy:string", "attempts:int?", "expire_at:int?"),
		optional: f("object:string", "verified_at_client:string?")},
	"identification_link": {closed: true, required: f("type:string", "id:string")},
	"session": {object: true, closed: true, nested: map[string]string{"latest_activity": "session_activity"},
		required: f("object:string", "id:string", "user_id:string", "client_id:string", "status:string", "last_active_at:int",
			"expire_at:int", "abandon_at:int", "updated_at:int", "created_at:int"),
		optional: f("actor:object?", "last_active_organization_id:string?", "latest_activity:object?", "tasks:array?")},
	// SessionActivityResponse.
	"session_activity": {
		required: f("id:string", "object:string", "is_mobile:bool"),
		optional: f("device_type:string?", "browser_name:string?", "browser_version:string?", "ip_address:string?", "city:string?", "country:string?")},
	"organization": {object: true,
		required: f("object:string", "id:string", "name:string", "slug:string", "has_image:bool", "max_allowed_memberships:int",
			"admin_delete_enabled:bool", "public_metadata:object", "created_at:int", "updated_at:int"),
		optional: f("image_url:string", "members_count:int", "missing_member_with_elevated_permissions:bool",
			"pending_invitations_count:int", "private_metadata:object", "created_by:string", "last_active_at:int", "role_set_key:string?")},
	// public_user_data is optional in the spec, but @clerk/backend
	// dereferences it (and organization) and crashes without it.
	"organization_membership": {object: true, nested: map[string]string{"organization": "organization", "public_user_data": "public_user_data"},
		required: f("object:string", "id:string", "role:string", "permissions:array", "public_metadata:object", "created_at:int",
			"updated_at:int", "organization:object", "public_user_data:object"),
		optional: f("role_name:string", "private_metadata:object")},
	"public_user_data": {closed: true,
		required: f("user_id:string", "first_name:string?", "last_name:string?", "profile_image_url:string?", "image_url:string", "has_image:bool"),
		optional: f("identifier:string?", "username:string?", "banned:bool", "deprovisioned:bool")},
	"organization_invitation": {object: true, closed: true, nested: map[string]string{"public_inviter_data": "public_inviter_data"},
		required: f("object:string", "id:string", "email_address:string", "role:string", "role_name:string", "public_metadata:object",
			"url:string?", "expires_at:int?", "created_at:int", "updated_at:int", "inviter_id:string?", "public_inviter_data:object?"),
		optional: f("organization_id:string", "status:string", "private_metadata:object")},
	"public_inviter_data": {closed: true,
		required: f("user_id:string", "first_name:string?", "last_name:string?", "image_url:string", "has_image:bool", "identifier:string")},
	"jwt_template": {object: true, closed: true,
		required: f("object:string", "id:string", "name:string", "claims:object", "lifetime:int", "allowed_clock_skew:int",
			"custom_signing_key:bool", "signing_algorithm:string", "created_at:int", "updated_at:int")},
	// token is required in the create answer only, and forbidden elsewhere
	// (checked by checkM2MToken).
	"machine_to_machine_token": {object: true, closed: true,
		required: f("object:string", "id:string", "subject:string", "revoked:bool", "revocation_reason:string?", "expired:bool",
			"expiration:int?", "last_used_at:int?", "created_at:int", "updated_at:int"),
		optional: f("claims:any?", "scopes:array", "token:string")},
	// secret_key is required in the create answer only, and forbidden
	// elsewhere (checked in resource).
	"machine": {object: true, closed: true, nested: map[string]string{"scoped_machines": "machine_without_scoped_machines"},
		required: f("object:string", "id:string", "name:string", "instance_id:string", "created_at:int", "updated_at:int",
			"scoped_machines:array"),
		optional: f("default_token_ttl:int", "secret_key:string")},
	"machine_without_scoped_machines": {closed: true,
		required: f("object:string", "id:string", "name:string", "instance_id:string", "created_at:int", "updated_at:int"),
		optional: f("default_token_ttl:int")},
	"machine_scope": {object: true, closed: true,
		required: f("object:string", "from_machine_id:string", "to_machine_id:string", "created_at:int")},
	// The createApiKey/getApiKey answers (additionalProperties: false);
	// secret in the create answer only.
	"api_key": {object: true, closed: true,
		required: f("object:string", "id:string", "type:string", "subject:string", "name:string", "claims:any?", "scopes:array",
			"revoked:bool", "revocation_reason:string?", "expired:bool", "expiration:int?", "created_by:string?",
			"last_used_at:int?", "created_at:int", "updated_at:int"),
		optional: f("description:string?", "secret:string")},
	"token":       {object: true, closed: true, required: f("object:string", "jwt:string")},
	"total_count": {object: true, closed: true, required: f("object:string", "total_count:int")},
}

// Paths whose GET answers are {data, total_count}; /sessions and
// /jwt_templates only with paginated=true (a bare array otherwise), /users
// always a bare array.
var (
	bapiEnvelopeRE  = regexp.MustCompile(`^(/v1/(organizations|organizations/[^/]+/(memberships|invitations)|users/[^/]+/organization_(memberships|invitations)|machines)|(/v1)?/api_keys)$`)
	bapiPaginatedRE = regexp.MustCompile(`^/v1/(sessions|jwt_templates)$`)
	bapiM2MRE       = regexp.MustCompile(`^(/v1)?/m2m_tokens(/.*)?$`)
)

// checkBAPIWire checks every recorded answer against the wire rules and
// the schemas, and reports each distinct problem once, with how many
// answers had it and the first of them.
func checkBAPIWire(t *testing.T, exchanges []bapiExchange) {
	t.Helper()
	if len(exchanges) == 0 {
		t.Fatal("the recording proxy saw no Backend API answer")
	}
	for _, p := range bapiWireProblems(exchanges) {
		t.Errorf("%s\n\tin %d answer(s), first %s; body: %.600s", p.msg, p.count, p.first, p.first.Body)
	}
}

// bapiWireProblems returns the distinct problems of the answers, in the
// order first seen.
func bapiWireProblems(exchanges []bapiExchange) []*bapiProblem {
	seen := map[string]*bapiProblem{}
	var order []*bapiProblem
	for _, e := range exchanges {
		w := &bapiWire{ex: e, problems: seen, order: &order}
		w.check()
	}
	return order
}

type bapiProblem struct {
	msg   string
	count int
	first bapiExchange
}

type bapiWire struct {
	ex       bapiExchange
	problems map[string]*bapiProblem
	order    *[]*bapiProblem
}

func (w *bapiWire) errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p, ok := w.problems[msg]
	if !ok {
		p = &bapiProblem{msg: msg, first: w.ex}
		w.problems[msg] = p
		*w.order = append(*w.order, p)
	}
	p.count++
}

func (w *bapiWire) check() {
	e := w.ex
	if e.ContentType != "application/json" {
		w.errorf("Content-Type %q, want exactly application/json (@clerk/backend parses nothing else)", e.ContentType)
	}
	dec := json.NewDecoder(bytes.NewReader(e.Body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		w.errorf("the body is not JSON: %v", err)
		return
	}
	if e.Status >= 400 {
		w.errorEnvelope(v)
		return
	}
	q, _ := url.ParseQuery(e.Query)
	switch {
	case e.Method == http.MethodGet && e.Path == "/v1/users":
		w.array(v, "user")
	case e.Method == http.MethodGet && bapiPaginatedRE.MatchString(e.Path):
		obj := map[string]string{"/v1/sessions": "session", "/v1/jwt_templates": "jwt_template"}[e.Path]
		if q.Get("paginated") == "true" {
			w.envelope(v, "data", obj)
		} else {
			w.array(v, obj)
		}
	case e.Method == http.MethodGet && bapiEnvelopeRE.MatchString(e.Path):
		obj := "organization"
		switch {
		case strings.HasSuffix(e.Path, "/memberships"), strings.HasSuffix(e.Path, "/organization_memberships"):
			obj = "organization_membership"
		case strings.HasSuffix(e.Path, "/invitations"), strings.HasSuffix(e.Path, "/organization_invitations"):
			obj = "organization_invitation"
		case strings.HasSuffix(e.Path, "/machines"):
			obj = "machine"
		case strings.HasSuffix(e.Path, "/api_keys"):
			obj = "api_key"
		}
		w.envelope(v, "data", obj)
	case e.Method == http.MethodGet && bapiM2MRE.MatchString(e.Path):
		w.envelope(v, "m2m_tokens", "machine_to_machine_token")
	case e.Path == "/v1/jwks":
		w.jwks(v)
	case strings.HasSuffix(e.Path, "/verify_password"):
		if m, ok := v.(map[string]any); !ok || !isBool(m["verified"]) {
			w.errorf("want {verified: bool}")
		}
	default:
		w.resource(v, "", "", true)
	}
}

func (w *bapiWire) errorEnvelope(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		w.errorf("an error answer that is not a JSON object")
		return
	}
	errs, ok := m["errors"].([]any)
	if !ok || len(errs) == 0 {
		w.errorf("errors: got %v, want a non-empty array (Clerk's envelope)", m["errors"])
	}
	if s, ok := m["clerk_trace_id"].(string); !ok || s == "" {
		w.errorf("clerk_trace_id: got %v, want a non-empty string", m["clerk_trace_id"])
	}
	for i, x := range errs {
		em, ok := x.(map[string]any)
		if !ok {
			w.errorf("errors[%d] is not an object", i)
			continue
		}
		for _, k := range []string{"code", "message", "long_message"} {
			if s, ok := em[k].(string); !ok || s == "" {
				w.errorf("errors[%d].%s: got %v, want a non-empty string (ClerkError requires it)", i, k, em[k])
			}
		}
		if meta, has := em["meta"]; has {
			if _, ok := meta.(map[string]any); !ok {
				w.errorf("errors[%d].meta: got %v, want an object", i, meta)
			}
		}
	}
}

func (w *bapiWire) array(v any, object string) {
	items, ok := v.([]any)
	if !ok {
		w.errorf("want a bare JSON array of %s", object)
		return
	}
	for _, it := range items {
		w.resource(it, "", object, false)
	}
}

// envelope checks {<key>: [...], total_count: n} with exactly those keys.
func (w *bapiWire) envelope(v any, key, object string) {
	m, ok := v.(map[string]any)
	if !ok {
		w.errorf("want {%s, total_count}", key)
		return
	}
	if ks := keysOf(m); !slices.Equal(ks, sortedStrings(key, "total_count")) {
		w.errorf("envelope keys: got %v, want [%s total_count]", ks, key)
	}
	if !isInt(m["total_count"]) {
		w.errorf("total_count: got %v, want an integer", m["total_count"])
	}
	items, ok := m[key].([]any)
	if !ok {
		w.errorf("%s: got %v, want an array", key, m[key])
		return
	}
	if n, _ := m["total_count"].(json.Number).Int64(); int(n) < len(items) {
		w.errorf("total_count %d is less than the %d items of the page", n, len(items))
	}
	for _, it := range items {
		w.resource(it, "", object, false)
	}
}

func (w *bapiWire) jwks(v any) {
	m, ok := v.(map[string]any)
	keys, _ := m["keys"].([]any)
	if !ok || len(keys) == 0 || len(m) != 1 {
		w.errorf("want {keys: [...]} with at least one key")
		return
	}
	for i, k := range keys {
		km, _ := k.(map[string]any)
		for _, p := range []string{"kid", "alg", "use", "kty", "n", "e"} {
			if s, ok := km[p].(string); !ok || s == "" {
				w.errorf("keys[%d].%s: got %v, want a string", i, p, km[p])
			}
		}
		if km["kty"] != "RSA" || km["alg"] != "RS256" || km["use"] != "sig" || km["e"] != "AQAB" {
			w.errorf("keys[%d]: got %v, want an RS256 RSA signing key with e AQAB", i, km)
		}
		for _, p := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, has := km[p]; has {
				w.errorf("keys[%d] carries the private parameter %s", i, p)
			}
		}
	}
}

// resource checks one resource: object on it, deleted only on a deleted
// object answering a DELETE, and its schema. where names it in messages
// ("" for its object); object is the discriminator expected ("" for
// any); top marks the whole answer.
func (w *bapiWire) resource(v any, where, object string, top bool) {
	m, ok := v.(map[string]any)
	if !ok {
		w.errorf("%s: got %T, want a resource object", where, v)
		return
	}
	obj, ok := m["object"].(string)
	if !ok || obj == "" {
		w.errorf("%s: no object discriminator (the SDK would not map it)", cmp.Or(where, object, "a resource"))
		return
	}
	if where == "" {
		where = obj
	}
	if object != "" && obj != object {
		w.errorf("%s: object %q, want %q", where, obj, object)
	}
	if _, has := m["deleted"]; has {
		if !top || w.ex.Method != http.MethodDelete {
			w.errorf("%s: a deleted key on a %s that is not a deleted object (@clerk/backend makes it a DeletedObject)", where, obj)
			return
		}
		if m["deleted"] != true {
			w.errorf("%s: deleted %v, want true", where, m["deleted"])
		}
		if obj == "machine_scope" { // MachineScope.Deleted names the pair, no id
			w.fields(m, where, bapiSchema{closed: true, required: f("object:string", "deleted:bool", "from_machine_id:string", "to_machine_id:string")})
			return
		}
		w.fields(m, where, bapiSchema{closed: true, required: f("object:string", "deleted:bool", "id:string"),
			optional: f("slug:string", "external_id:string")})
		return
	}
	if top && w.ex.Method == http.MethodDelete && obj != "organization_membership" {
		w.errorf("%s: DELETE answered a %s without deleted: true, want a DeletedObject", where, obj)
	}
	s, ok := bapiSchemas[obj]
	if !ok || !s.object {
		w.errorf("%s: object %q has no schema in bapiSchemas", where, obj)
		return
	}
	if obj == "machine_to_machine_token" {
		create := top && w.ex.Method == http.MethodPost && bapiM2MRE.MatchString(w.ex.Path) && strings.TrimPrefix(w.ex.Path, "/v1") == "/m2m_tokens"
		_, has := m["token"]
		if create && !has {
			w.errorf("%s: the create answer has no token", where)
		}
		if !create && has {
			w.errorf("%s: token (the secret) in an answer other than create", where)
		}
	}
	for obj, secret := range map[string]string{"machine": "secret_key", "api_key": "secret"} {
		if m["object"] != obj || where != obj {
			continue
		}
		create := top && w.ex.Method == http.MethodPost && (w.ex.Path == "/v1/machines" || strings.TrimPrefix(w.ex.Path, "/v1") == "/api_keys")
		if _, has := m[secret]; create != has {
			w.errorf("%s: %s present %v in %s, want it in the create answer only", where, secret, has, w.ex.Method+" "+w.ex.Path)
		}
	}
	w.fields(m, where, s)
}

func (w *bapiWire) fields(m map[string]any, where string, s bapiSchema) {
	known := map[string]bapiField{}
	for _, fl := range s.required {
		known[fl.name] = fl
		if _, has := m[fl.name]; !has {
			w.errorf("%s: required property %s is missing", where, fl.name)
		}
	}
	for _, fl := range s.optional {
		known[fl.name] = fl
	}
	for _, k := range keysOf(m) {
		fl, ok := known[k]
		if !ok {
			if s.closed {
				w.errorf("%s: property %s is not in the schema (additionalProperties: false)", where, k)
			}
			continue
		}
		val := m[k]
		if val == nil {
			if !fl.nullable {
				w.errorf("%s: %s is null, want a %s", where, k, fl.kind)
			}
			continue
		}
		if !kindOK(fl.kind, val) {
			w.errorf("%s: %s is %T %v, want a %s", where, k, val, val, fl.kind)
			continue
		}
		if strings.HasSuffix(k, "_at") || k == "expiration" {
			if n, _ := val.(json.Number).Int64(); n < 1e12 || n >= 1e13 {
				w.errorf("%s: %s is %v, want Unix milliseconds (13 digits)", where, k, val)
			}
		}
		if sub, ok := s.nested[k]; ok {
			w.nested(val, where+"."+k, sub)
		}
	}
}

// nested checks an object or array property against its own schema.
func (w *bapiWire) nested(v any, where, name string) {
	if items, ok := v.([]any); ok {
		for _, it := range items {
			w.nested(it, where+"[]", name)
		}
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		w.errorf("%s: got %T, want an object", where, v)
		return
	}
	if _, has := m["deleted"]; has {
		w.errorf("%s: a deleted key on a nested %s", where, name)
	}
	if s := bapiSchemas[name]; s.object {
		w.resource(m, where, name, false)
	} else {
		w.fields(m, where, s)
	}
}

func kindOK(kind string, v any) bool {
	switch kind {
	case "string":
		_, ok := v.(string)
		return ok
	case "bool":
		return isBool(v)
	case "int":
		return isInt(v)
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return true
}

func isBool(v any) bool { _, ok := v.(bool); return ok }

func isInt(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	if _, err := n.Int64(); err == nil {
		return true
	}
	fv, err := n.Float64()
	return err == nil && fv == math.Trunc(fv) && !strings.ContainsAny(n.String(), ".eE")
}

func sortedStrings(s ...string) []string {
	slices.Sort(s)
	return s
}

// bcryptDigest is a bcrypt hash of password, as Clerk's user export holds.
func bcryptDigest(t *testing.T, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// badSecretKey is a well-formed instance key that is not the app's.
func badSecretKey() string { return config.NewSecretKey(false) }

type bapiNodeInput struct {
	APIURL       string           `json:"apiUrl"`
	SecretKey    string           `json:"secretKey"`
	BadSecretKey string           `json:"badSecretKey"`
	Run          string           `json:"run"`
	TemplateName string           `json:"templateName"`
	UsersBefore  int              `json:"usersBefore"`
	Bcrypt       bapiNodeBcrypt   `json:"bcrypt"`
	Session      bapiNodeSession  `json:"session"`
	Machines     bapiNodeMachines `json:"machines"`
}

type bapiNodeSession struct {
	ID     string `json:"id"`
	UserID string `json:"userId"`
}

type bapiNodeBcrypt struct {
	Password string `json:"password"`
	Digest   string `json:"digest"`
}

type bapiNodeMachines struct {
	IssuerID          string `json:"issuerId"`
	IssuerSecretKey   string `json:"issuerSecretKey"`
	AudienceID        string `json:"audienceId"`
	AudienceSecretKey string `json:"audienceSecretKey"`
}

type bapiNodeStep struct {
	Name  string          `json:"name"`
	OK    bool            `json:"ok"`
	Error *string         `json:"error"`
	Value json.RawMessage `json:"value"`
}

func runBAPINode(t *testing.T, node string, in bapiNodeInput) []bapiNodeStep {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "bapi.mjs")
	cmd.Dir = interopDir
	cmd.Env = append(os.Environ(), "CLERK_TELEMETRY_DISABLED=1")
	cmd.Stdin = bytes.NewReader(b)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node bapi.mjs: %v\n%s", err, stderr.String())
	}
	var out struct {
		Steps []bapiNodeStep `json:"steps"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("node bapi.mjs output: %v: %.500s", err, stdout.String())
	}
	return out.Steps
}

// bapiNodeSteps are steps bapi.mjs must have run (a guard against a
// script that stops early or renames its steps).
var bapiNodeSteps = []string{
	"users.createUser", "users.getUser", "users.updateUser firstName", "users.getUserList by emailAddress",
	"users.createUser with a taken address is 422 form_identifier_exists", "users.banUser", "users.unbanUser", "users.deleteUser",
	"users.createUser with externalId", "users.getUserList by externalId", "users.updateUser externalId",
	"users.createUser with a bcrypt passwordDigest verifies its password",
	"organizations.createOrganization with createdBy", "organizations.getOrganization by slug with includeMembersCount",
	"organizations.createOrganizationMembership", "organizations.getOrganizationMembershipList",
	"organizations.updateOrganizationMembership role", "organizations.deleteOrganizationMembership of the last admin is refused",
	"organizations.createOrganizationInvitation", "organizations.getOrganizationInvitationList",
	"organizations.getOrganizationInvitation", "users.getOrganizationInvitationList of the invited address",
	"sessions.getSessionList by userId", "sessions.getToken and verifyToken through /v1/jwks", "sessions.revokeSession",
	"jwtTemplates.create", "jwtTemplates.list", "jwtTemplates.get", "jwtTemplates.update", "jwtTemplates.delete",
	"m2m.createToken", "m2m.verify with the audience machine key", "m2m.list", "m2m.revokeToken", "a bad secret key is 401",
	"machines.create", "machines.get", "machines.list", "machines.createScope", "machines: the new secret key mints a token for its scope",
	"machines.deleteScope", "machines.delete", "apiKeys.create", "apiKeys.get", "apiKeys.list by subject", "apiKeys.verify", "apiKeys.revoke",
}

// TestBackendAPIWithClerkNodeSDK: @clerk/backend 3.25.0, pointed at the
// app (apiUrl), works as against Clerk — users, organizations with their
// memberships and invitations, sessions and their tokens verified through
// /v1/jwks, JWT templates, M2M tokens with machine secret keys, and
// Clerk's errors — and every answer it received keeps the wire rules and
// the OpenAPI schemas.
func TestBackendAPIWithClerkNodeSDK(t *testing.T) {
	node := requireNode(t)
	ta := startApp(t, nil)
	ctx := context.Background()
	rec := newBAPIRecorder(t, ta.URL)

	// A session signed in through the form, and a second user so that a
	// page of one is not the whole list.
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Test")
	c := ta.Browser(t)
	ta.SignIn(t, c, doraEmail, doraPassword)
	sid := ta.sessionID(t, c)

	audience, err := ta.App.Client.Machines.Create(ctx, clerkclient.CreateMachineParams{Name: "node-audience"})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := ta.App.Client.Machines.Create(ctx, clerkclient.CreateMachineParams{Name: "node-issuer", ScopedMachines: []string{audience.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.App.Client.JwtTemplates.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: "node-interop",
		Claims: json.RawMessage(`{"uid":"{{user.id}}"}`)}); err != nil {
		t.Fatal(err)
	}

	steps := runBAPINode(t, node, bapiNodeInput{
		APIURL: rec.URL, SecretKey: ta.Cfg.SecretKey, BadSecretKey: badSecretKey(), Run: fmt.Sprint(time.Now().UnixNano()),
		TemplateName: "node-interop", UsersBefore: 2, Bcrypt: bapiNodeBcrypt{Password: "imported bcrypt passphrase", Digest: bcryptDigest(t, "imported bcrypt passphrase")},
		Session:  bapiNodeSession{ID: sid, UserID: u.ID},
		Machines: bapiNodeMachines{IssuerID: issuer.ID, IssuerSecretKey: issuer.SecretKey, AudienceID: audience.ID, AudienceSecretKey: audience.SecretKey},
	})

	ran := map[string]bool{}
	for _, s := range steps {
		ran[s.Name] = true
		t.Run(s.Name, func(t *testing.T) {
			if !s.OK {
				t.Errorf("@clerk/backend: %s", deref(s.Error))
			}
		})
	}
	for _, name := range bapiNodeSteps {
		if !ran[name] {
			t.Errorf("bapi.mjs did not run the step %q", name)
		}
	}

	t.Run("the session is revoked for the app too", func(t *testing.T) {
		s, err := ta.App.Client.Sessions.GetSession(ctx, sid)
		if err != nil || s.Status != "revoked" {
			t.Errorf("the backend client's session %s after revokeSession: got %+v (%v), want status revoked", sid, s, err)
		}
	})

	t.Run("M2M calls reach the routes without /v1", func(t *testing.T) {
		for _, r := range [][2]string{{"POST", "/m2m_tokens"}, {"POST", "/m2m_tokens/verify"}, {"GET", "/m2m_tokens"}, {"GET", "/v1/users/count"}, {"GET", "/v1/jwks"}} {
			if !rec.Saw(r[0], r[1]) {
				t.Errorf("the proxy saw no %s %s from @clerk/backend", r[0], r[1])
			}
		}
	})

	t.Run("every answer keeps the wire rules and the schemas", func(t *testing.T) {
		checkBAPIWire(t, rec.Exchanges())
	})
}

// TestBackendAPIWithClerkSDKsWireChecker: the checker of the SDK tests finds what it
// is meant to find — a conforming user passes, and each broken rule is
// reported.
func TestBackendAPIWithClerkSDKsWireChecker(t *testing.T) {
	user := func(edit func(map[string]any)) []byte {
		m := map[string]any{"object": "user", "id": "user_1", "has_image": false, "password_enabled": true,
			"two_factor_enabled": false, "totp_enabled": false, "backup_code_enabled": false, "banned": false, "locked": false,
			"delete_self_enabled": true, "create_organization_enabled": true, "public_metadata": map[string]any{},
			"created_at": 1700000000000, "updated_at": 1700000000000}
		for _, k := range []string{"username", "first_name", "last_name", "primary_email_address_id", "primary_phone_number_id",
			"primary_web3_wallet_id", "external_id", "last_sign_in_at", "lockout_expires_in_seconds", "verification_attempts_remaining",
			"last_active_at", "mfa_enabled_at", "mfa_disabled_at", "legal_accepted_at"} {
			m[k] = nil
		}
		for _, k := range []string{"email_addresses", "phone_numbers", "web3_wallets", "passkeys", "external_accounts", "saml_accounts", "enterprise_accounts"} {
			m[k] = []any{}
		}
		m["email_addresses"] = []any{map[string]any{"object": "email_address", "id": "idn_1", "email_address": "a@example.com", "reserved": false,
			"verification": map[string]any{"object": "verification_admin", "status": "verified", "strategy": "admin", "attempts": nil, "expire_at": nil},
			"linked_to":    []any{}, "created_at": 1700000000000, "updated_at": 1700000000000}}
		if edit != nil {
			edit(m)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ex := func(method, path string, status int, ct string, body []byte) bapiExchange {
		p, q, _ := strings.Cut(path, "?")
		return bapiExchange{Method: method, Path: p, Query: q, Status: status, ContentType: ct, Body: body}
	}
	const js = "application/json"
	for _, tc := range []struct {
		name string
		ex   bapiExchange
		want string // "" for no problem
	}{
		{"a conforming user", ex("POST", "/v1/users", 200, js, user(nil)), ""},
		{"a conforming list", ex("GET", "/v1/users", 200, js, []byte("["+string(user(nil))+"]")), ""},
		{"a conforming deleted object", ex("DELETE", "/v1/users/user_1", 200, js, []byte(`{"object":"user","id":"user_1","deleted":true}`)), ""},
		{"a charset", ex("POST", "/v1/users", 200, js+"; charset=utf-8", user(nil)), "Content-Type"},
		{"deleted on a user", ex("PATCH", "/v1/users/user_1", 200, js, user(func(m map[string]any) { m["deleted"] = false })), "deleted key"},
		{"no object", ex("GET", "/v1/users/user_1", 200, js, user(func(m map[string]any) { delete(m, "object") })), "no object discriminator"},
		{"seconds", ex("GET", "/v1/users/user_1", 200, js, user(func(m map[string]any) { m["created_at"] = 1700000000 })), "Unix milliseconds"},
		{"a missing required property", ex("GET", "/v1/users/user_1", 200, js, user(func(m map[string]any) { delete(m, "first_name") })), "required property first_name is missing"},
		{"null where not nullable", ex("GET", "/v1/users/user_1", 200, js, user(func(m map[string]any) { m["banned"] = nil })), "banned is null"},
		{"an unknown property", ex("GET", "/v1/users/user_1", 200, js, user(func(m map[string]any) { m["shoe_size"] = 9 })), "shoe_size is not in the schema"},
		{"a nested address without linked_to", ex("GET", "/v1/users/user_1", 200, js, user(func(m map[string]any) {
			delete(m["email_addresses"].([]any)[0].(map[string]any), "linked_to")
		})), "user.email_addresses[]: required property linked_to is missing"},
		{"an envelope for /users", ex("GET", "/v1/users", 200, js, []byte(`{"data":[],"total_count":0}`)), "bare JSON array"},
		{"a bare array for /organizations", ex("GET", "/v1/organizations", 200, js, []byte(`[]`)), "want {data, total_count}"},
		{"a bare array for paginated sessions", ex("GET", "/v1/sessions?paginated=true", 200, js, []byte(`[]`)), "want {data, total_count}"},
		{"an error without a trace id", ex("GET", "/v1/users/x", 404, js, []byte(`{"errors":[{"code":"resource_not_found","message":"m","long_message":"l"}]}`)), "clerk_trace_id"},
		{"the M2M secret outside create", ex("POST", "/m2m_tokens/verify", 200, js, []byte(`{"object":"machine_to_machine_token","id":"mt_1","subject":"mch_1","token":"mt_s",`+
			`"revoked":false,"revocation_reason":null,"expired":false,"expiration":null,"last_used_at":null,"created_at":1700000000000,"updated_at":1700000000000}`)), "token (the secret)"},
		{"a machine with its secret outside create", ex("GET", "/v1/machines/mch_1", 200, js, []byte(`{"object":"machine","id":"mch_1","name":"m",`+
			`"instance_id":"ins_1","default_token_ttl":3600,"scoped_machines":[],"secret_key":"ak_s","created_at":1700000000000,"updated_at":1700000000000}`)), "secret_key present true"},
		{"a machine without instance_id", ex("GET", "/v1/machines/mch_1", 200, js, []byte(`{"object":"machine","id":"mch_1","name":"m",`+
			`"default_token_ttl":3600,"scoped_machines":[],"created_at":1700000000000,"updated_at":1700000000000}`)), "required property instance_id is missing"},
		{"a created API key without its secret", ex("POST", "/api_keys", 200, js, []byte(`{"object":"api_key","id":"ak_1","type":"api_key","subject":"user_1",`+
			`"name":"k","description":null,"claims":null,"scopes":[],"revoked":false,"revocation_reason":null,"expired":false,"expiration":null,`+
			`"created_by":null,"last_used_at":null,"created_at":1700000000000,"updated_at":1700000000000}`)), "secret present false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems := bapiWireProblems([]bapiExchange{tc.ex})
			var msgs []string
			for _, p := range problems {
				msgs = append(msgs, p.msg)
			}
			if tc.want == "" {
				if len(msgs) != 0 {
					t.Errorf("got problems %q, want none", msgs)
				}
				return
			}
			if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, tc.want) }) {
				t.Errorf("got problems %q, want one with %q", msgs, tc.want)
			}
		})
	}
}
