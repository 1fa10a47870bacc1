package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// The machine-token methods of countingStore, so tests can tell whether a
// request reached the store.
func (c *countingStore) GetMachineTokenBySecretHash(ctx context.Context, typ string, hash []byte) (*store.MachineToken, error) {
	c.n.Add(1)
	return c.Store.GetMachineTokenBySecretHash(ctx, typ, hash)
}

func (c *countingStore) TouchMachineToken(ctx context.Context, id string, at, interval int64) error {
	c.n.Add(1)
	return c.Store.TouchMachineToken(ctx, id, at, interval)
}

// machines are two machines of a stack: worker may address billing.
type machines struct {
	billing, worker *clerkclient.Machine
}

func (s *stack) machines(t testing.TB) machines {
	t.Helper()
	ctx := context.Background()
	billing, err := s.client.Machines.Create(ctx, clerkclient.CreateMachineParams{Name: "billing"})
	if err != nil {
		t.Fatalf("create billing: %v", err)
	}
	worker, err := s.client.Machines.Create(ctx, clerkclient.CreateMachineParams{Name: "worker", ScopedMachines: []string{billing.ID}})
	if err != nil {
		t.Fatalf("create worker: %v", err)
	}
	return machines{billing: billing, worker: worker}
}

// m2mToken mints an M2M token for the worker.
func (s *stack) m2mToken(t testing.TB, m machines, claims string) *clerkclient.M2MTokenObject {
	t.Helper()
	tok, err := s.client.M2MTokens.Create(context.Background(), clerkclient.CreateM2MTokenParams{
		MachineSecretKey: m.worker.SecretKey, Claims: json.RawMessage(claims),
	})
	if err != nil {
		t.Fatalf("create M2M token: %v", err)
	}
	return tok
}

// apiKey creates an API key for subject.
func (s *stack) apiKey(t testing.TB, subject string) *auth.APIKeyObject {
	t.Helper()
	k, err := s.client.APIKeys.Create(context.Background(), auth.CreateAPIKeyParams{
		Name: "CI", Subject: subject, Scopes: []string{"items:read"}, Claims: json.RawMessage(`{"env":"ci"}`),
	})
	if err != nil {
		t.Fatalf("create API key: %v", err)
	}
	return k
}

func bearer(tok string) reqOpt { return withHeader("Authorization", "Bearer "+tok) }

var machineJSONKeys = map[auth.TokenType][]string{
	auth.SessionToken: authJSONKeys,
	auth.M2MToken:     {"tokenType", "isAuthenticated", "id", "subject", "scopes", "claims", "machineId"},
	auth.APIKey:       {"tokenType", "isAuthenticated", "id", "name", "subject", "scopes", "claims", "userId", "orgId"},
	auth.OAuthToken:   {"tokenType", "isAuthenticated", "id", "subject", "scopes", "userId", "clientId"},
	"":                {"tokenType", "isAuthenticated"},
}

// TestAcceptsTokenMatrix applies every rule of acceptsToken to every kind
// of credential: each row is what a request presented, each column an
// AcceptsToken setting, and each cell the object GetAuth returns: its
// token type ("invalid" for the invalid-token object, whose type is null)
// and whether it is authenticated (+) or not (-).
func TestAcceptsTokenMatrix(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "matrix@example.com")
	m := s.machines(t)
	m2m := s.m2mToken(t, m, "")
	key := s.apiKey(t, sess.userID)
	revoked := s.m2mToken(t, m, "")
	if _, err := s.client.M2MTokens.Revoke(context.Background(), clerkclient.RevokeM2MTokenParams{ID: revoked.ID}); err != nil {
		t.Fatal(err)
	}

	presented := []struct {
		name string
		opts []reqOpt
	}{
		{"session", []reqOpt{withCookie(identity.SessionCookie, sess.token)}},
		{"session bearer", []reqOpt{bearer(sess.token)}},
		{"m2m", []reqOpt{bearer(m2m.Token)}},
		{"api key", []reqOpt{bearer(key.Secret)}},
		{"oauth", []reqOpt{bearer("oat_" + strings.Repeat("a", 43))}},
		{"none", nil},
		{"invalid m2m (revoked)", []reqOpt{bearer(revoked.Token)}},
		{"invalid api key (malformed)", []reqOpt{bearer("ak_short")}},
		{"invalid session", []reqOpt{bearer("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")}},
	}
	columns := []struct {
		name    string
		accepts []auth.TokenType // nil: the default
	}{
		{"default", nil},
		{"session_token", []auth.TokenType{auth.SessionToken}},
		{"m2m_token", []auth.TokenType{auth.M2MToken}},
		{"api_key", []auth.TokenType{auth.APIKey}},
		{"oauth_token", []auth.TokenType{auth.OAuthToken}},
		{"[m2m_token api_key]", []auth.TokenType{auth.M2MToken, auth.APIKey}},
		{"[session_token api_key]", []auth.TokenType{auth.SessionToken, auth.APIKey}},
		{"any", []auth.TokenType{auth.AnyToken}},
	}
	const (
		S, s_ = "session_token+", "session_token-"
		M, m_ = "m2m_token+", "m2m_token-"
		A, a_ = "api_key+", "api_key-"
		o_    = "oauth_token-"
		inv   = "invalid-"
	)
	want := map[string][]string{
		//                           default sess m2m api  oauth [m,a] [s,a] any
		"session":                     {S, S, m_, a_, o_, inv, S, S},
		"session bearer":              {S, S, m_, a_, o_, inv, S, S},
		"m2m":                         {s_, s_, M, a_, o_, M, inv, M},
		"api key":                     {s_, s_, m_, A, o_, A, A, A},
		"oauth":                       {s_, s_, m_, a_, o_, inv, inv, o_},
		"none":                        {s_, s_, m_, a_, o_, inv, s_, s_},
		"invalid m2m (revoked)":       {s_, s_, m_, a_, o_, m_, inv, m_},
		"invalid api key (malformed)": {s_, s_, m_, a_, o_, a_, a_, a_},
		"invalid session":             {s_, s_, m_, a_, o_, inv, s_, s_},
	}

	for _, p := range presented {
		for i, col := range columns {
			t.Run(p.name+"/"+col.name, func(t *testing.T) {
				var opts []auth.Option
				if col.accepts != nil {
					opts = append(opts, auth.AcceptsToken(col.accepts...))
				}
				a, _ := s.getAuth(t, newReq("/", p.opts...), opts...)
				typ := string(a.TokenType)
				if typ == "" {
					typ = "invalid"
				}
				got := typ + map[bool]string{true: "+", false: "-"}[a.IsAuthenticated]
				if got != want[p.name][i] {
					t.Fatalf("got %s, want %s", got, want[p.name][i])
				}
				m := decodeObject(t, a)
				wantKeys := slices.Clone(machineJSONKeys[a.TokenType])
				slices.Sort(wantKeys)
				if keys := sortedKeys(m); !slices.Equal(keys, wantKeys) {
					t.Errorf("JSON keys: got %v, want %v", keys, wantKeys)
				}
				if a.TokenType == "" && m["tokenType"] != nil {
					t.Errorf("JSON tokenType: got %#v, want null", m["tokenType"])
				}
				if !a.IsAuthenticated {
					for _, k := range []string{"id", "subject", "scopes", "claims", "userId", "orgId", "machineId", "name", "sessionId"} {
						if v, ok := m[k]; ok && v != nil {
							t.Errorf("JSON %s: got %#v on an unauthenticated object, want null", k, v)
						}
					}
					if tok, err := a.GetToken(context.Background(), auth.GetTokenOptions{}); tok != "" || err != nil {
						t.Errorf("GetToken: got (%.10q, %v), want (\"\", nil)", tok, err)
					}
				}
				if a.TokenType != auth.SessionToken && a.Has(auth.HasParams{Role: "admin"}) {
					t.Error("Has: got true on a machine object, want false")
				}
			})
		}
	}
}

func TestMachineAuthObjects(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "objects@example.com")
	m := s.machines(t)
	ctx := context.Background()

	t.Run("m2m token", func(t *testing.T) {
		tok := s.m2mToken(t, m, `{"job":"nightly","n":2}`)
		a, rec := s.getAuth(t, newReq("/", bearer(tok.Token)), auth.AcceptsToken(auth.M2MToken))
		if !a.IsAuthenticated || a.ID != tok.ID || a.Subject != m.worker.ID || a.MachineID != m.worker.ID ||
			!slices.Equal(a.Scopes, []string{m.billing.ID}) || a.UserID != "" || a.SessionID != "" {
			t.Fatalf("got %+v, want the worker's token with scope %s", a, m.billing.ID)
		}
		if !reflect.DeepEqual(a.Claims, map[string]any{"job": "nightly", "n": float64(2)}) {
			t.Errorf("Claims: got %#v, want job and n", a.Claims)
		}
		want := map[string]any{
			"tokenType": "m2m_token", "isAuthenticated": true, "id": tok.ID, "subject": m.worker.ID,
			"machineId": m.worker.ID, "scopes": []any{m.billing.ID}, "claims": map[string]any{"job": "nightly", "n": float64(2)},
		}
		if got := decodeObject(t, a); !reflect.DeepEqual(got, want) {
			t.Errorf("JSON: got %v, want %v", got, want)
		}
		if got, err := a.GetToken(ctx, auth.GetTokenOptions{}); got != tok.Token || err != nil {
			t.Errorf("GetToken: got (%.10s…, %v), want the raw token", got, err)
		}
		if a.Has(auth.HasParams{Permission: "org:team:read"}) {
			t.Error("Has: got true, want false for an M2M token")
		}
		if d := a.Debug(); d["sessionToken"] != tok.Token[:7] || d["tokenType"] != "m2m_token" {
			t.Errorf("Debug: got token %v type %v, want %q and m2m_token", d["sessionToken"], d["tokenType"], tok.Token[:7])
		}
		if st := rec.Header().Get("X-Clerk-Auth-Status"); st != "" {
			t.Errorf("X-Clerk-Auth-Status: got %q for a valid machine token, want none", st)
		}
	})

	t.Run("user API key", func(t *testing.T) {
		key := s.apiKey(t, sess.userID)
		a, _ := s.getAuth(t, newReq("/", bearer(key.Secret)), auth.AcceptsToken(auth.APIKey))
		want := map[string]any{
			"tokenType": "api_key", "isAuthenticated": true, "id": key.ID, "name": "CI", "subject": sess.userID,
			"userId": sess.userID, "orgId": nil, "scopes": []any{"items:read"}, "claims": map[string]any{"env": "ci"},
		}
		if got := decodeObject(t, a); !reflect.DeepEqual(got, want) {
			t.Errorf("JSON: got %v, want %v", got, want)
		}
		if got, _ := a.GetToken(ctx, auth.GetTokenOptions{SkipCache: true}); got != key.Secret {
			t.Error("GetToken(SkipCache): got another value, want the raw key")
		}
	})

	t.Run("organization API key", func(t *testing.T) {
		o, err := s.client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Keyholders", CreatedBy: &sess.userID})
		if err != nil {
			t.Fatal(err)
		}
		key := s.apiKey(t, o.ID)
		a, _ := s.getAuth(t, newReq("/", bearer(key.Secret)), auth.AcceptsToken(auth.AnyToken))
		if a.TokenType != auth.APIKey || a.OrgID != o.ID || a.UserID != "" || a.Subject != o.ID {
			t.Errorf("got type %q orgId %q userId %q subject %q, want api_key with the organization only", a.TokenType, a.OrgID, a.UserID, a.Subject)
		}
		want := map[string]any{
			"tokenType": "api_key", "isAuthenticated": true, "id": key.ID, "name": "CI", "subject": o.ID,
			"userId": nil, "orgId": o.ID, "scopes": []any{"items:read"}, "claims": map[string]any{"env": "ci"},
		}
		if got := decodeObject(t, a); !reflect.DeepEqual(got, want) {
			t.Errorf("JSON: got %v, want %v", got, want)
		}
		if a.Has(auth.HasParams{Role: "admin"}) || a.OrgRole != "" || a.SessionID != "" {
			t.Errorf("got Has(admin) %v, orgRole %q, sessionId %q; want false and none: a key has no role", a.Has(auth.HasParams{Role: "admin"}), a.OrgRole, a.SessionID)
		}
		// An organization's key goes with it.
		if _, err := s.client.Organizations.DeleteOrganization(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.getAuth(t, newReq("/", bearer(key.Secret)), auth.AcceptsToken(auth.AnyToken)); a.IsAuthenticated {
			t.Error("key of a deleted organization: got authenticated, want not")
		}
	})

	t.Run("separate copies per call", func(t *testing.T) {
		tok := s.m2mToken(t, m, `{"k":"v"}`)
		serve(s.opts, newReq("/", bearer(tok.Token)), func(w http.ResponseWriter, r *http.Request) {
			a1, _ := auth.GetAuth(r, auth.AcceptsToken(auth.M2MToken))
			a1.Scopes[0], a1.Claims["k"] = "changed", "changed"
			a2, _ := auth.GetAuth(r, auth.AcceptsToken(auth.AnyToken))
			if a2.Scopes[0] != m.billing.ID || a2.Claims["k"] != "v" {
				t.Errorf("got scopes %v claims %v after changing another object, want the originals", a2.Scopes, a2.Claims)
			}
			if a3, _ := auth.GetAuth(r, auth.AcceptsToken(auth.M2MToken)); a3 != a1 {
				t.Error("same options twice: got two objects, want the same one")
			}
		})
	})
}

// TestMachineTokenLifecycle follows tokens through revocation, expiry,
// banning and deletion: each change holds from the very next request.
func TestMachineTokenLifecycle(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	m := s.machines(t)
	accepts := auth.AcceptsToken(auth.AnyToken)
	check := func(t *testing.T, tok string, wantAuth bool, wantReason string) {
		t.Helper()
		a, rec := s.getAuth(t, newReq("/", bearer(tok)), accepts)
		if a.IsAuthenticated != wantAuth {
			t.Fatalf("got IsAuthenticated %v, want %v", a.IsAuthenticated, wantAuth)
		}
		if got := rec.Header().Get("X-Clerk-Auth-Reason"); got != wantReason {
			t.Errorf("X-Clerk-Auth-Reason: got %q, want %q", got, wantReason)
		}
	}

	t.Run("m2m revoked", func(t *testing.T) {
		tok := s.m2mToken(t, m, "")
		check(t, tok.Token, true, "")
		if _, err := s.client.M2MTokens.Revoke(ctx, clerkclient.RevokeM2MTokenParams{ID: tok.ID, RevocationReason: "rotated"}); err != nil {
			t.Fatal(err)
		}
		check(t, tok.Token, false, "token-invalid")
	})
	t.Run("m2m expired", func(t *testing.T) {
		// A token stored as the client stores them (SHA-256 of the
		// secret), with an expiration a second ago: no sleeping.
		secret := "mt_" + strings.Repeat("e", 43)
		hash := sha256.Sum256([]byte(secret))
		now := store.Now()
		if err := s.db.InsertMachineToken(ctx, store.MachineToken{ID: "mt_" + strings.Repeat("0", 32), Type: store.TokenTypeM2M,
			SecretHash: hash[:], Subject: m.worker.ID, Expiration: now - 1000, CreatedAt: now - 5000}); err != nil {
			t.Fatal(err)
		}
		check(t, secret, false, "token-expired")
		_, err := s.client.M2MTokens.Verify(ctx, clerkclient.VerifyM2MTokenParams{Token: secret})
		assertAPIError(t, "Verify an expired token", err, 404, "resource_not_found")
	})
	t.Run("machine deleted", func(t *testing.T) {
		extra, err := s.client.Machines.Create(ctx, clerkclient.CreateMachineParams{Name: "temp"})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.client.M2MTokens.Create(ctx, clerkclient.CreateM2MTokenParams{MachineSecretKey: extra.SecretKey})
		if err != nil {
			t.Fatal(err)
		}
		check(t, tok.Token, true, "")
		if _, err := s.client.Machines.Delete(ctx, extra.ID); err != nil {
			t.Fatal(err)
		}
		check(t, tok.Token, false, "token-invalid")
	})
	t.Run("api key revoked, banned, deleted", func(t *testing.T) {
		sess := s.signIn(t, "lifecycle@example.com")
		key := s.apiKey(t, sess.userID)
		check(t, key.Secret, true, "")
		if _, err := s.client.Users.BanUser(ctx, sess.userID); err != nil {
			t.Fatal(err)
		}
		check(t, key.Secret, false, "token-invalid")
		if _, err := s.client.Users.UnbanUser(ctx, sess.userID); err != nil {
			t.Fatal(err)
		}
		check(t, key.Secret, true, "")
		other := s.apiKey(t, sess.userID)
		if _, err := s.client.APIKeys.Revoke(ctx, auth.RevokeAPIKeyParams{ID: key.ID, Subject: sess.userID}); err != nil {
			t.Fatal(err)
		}
		check(t, key.Secret, false, "token-invalid")
		check(t, other.Secret, true, "")
		if _, err := s.client.Users.DeleteUser(ctx, sess.userID); err != nil {
			t.Fatal(err)
		}
		check(t, other.Secret, false, "token-invalid")
	})
	t.Run("a token of one type is not another", func(t *testing.T) {
		tok := s.m2mToken(t, m, "")
		check(t, "ak_"+strings.TrimPrefix(tok.Token, "mt_"), false, "token-invalid")
		check(t, m.worker.SecretKey, false, "token-invalid") // a machine secret is no API key
		check(t, tok.ID, false, "token-invalid")             // nor is an id a token
	})
}

func TestMachineTokenStoreAccess(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "access@example.com")
	m := s.machines(t)
	tok := s.m2mToken(t, m, "")
	count := func(r *http.Request) int64 {
		before := s.st.calls()
		s.getAuth(t, r, auth.AcceptsToken(auth.AnyToken))
		return s.st.calls() - before
	}
	for _, tc := range []struct {
		name string
		req  *http.Request
		want int64
	}{
		{"session cookie", newReq("/", withCookie(identity.SessionCookie, sess.token)), 0},
		{"malformed m2m token", newReq("/", bearer("mt_abc")), 0},
		{"oauth token", newReq("/", bearer("oat_"+strings.Repeat("a", 43))), 0},
		{"first use: lookup and last_used_at", newReq("/", bearer(tok.Token)), 2},
		{"second use within a minute: lookup only", newReq("/", bearer(tok.Token)), 1},
	} {
		if got := count(tc.req); got != tc.want {
			t.Errorf("%s: got %d store calls, want %d", tc.name, got, tc.want)
		}
	}
	got, err := s.client.M2MTokens.List(context.Background(), clerkclient.M2MTokenListParams{Subject: m.worker.ID})
	if err != nil || len(got.M2MTokens) != 1 || got.M2MTokens[0].LastUsedAt == nil {
		t.Fatalf("List: got %+v, %v; want the token with last_used_at set", got, err)
	}
	if since := time.Since(time.UnixMilli(*got.M2MTokens[0].LastUsedAt)); since < 0 || since > time.Minute {
		t.Errorf("last_used_at: got %v ago, want just now", since)
	}
}

// assertAPIError checks that err is an *auth.APIError with status and code.
func assertAPIError(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	e, ok := errors.AsType[*auth.APIError](err)
	if !ok || e.Status != status || e.Code() != code {
		t.Errorf("%s: got %v, want status %d code %q", what, err, status, code)
	}
}

func int64p(v int64) *int64 { return &v }

func TestMachinesClient(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	m := s.machines(t)
	if !strings.HasPrefix(m.worker.ID, "mch_") || !strings.HasPrefix(m.worker.SecretKey, "ak_") || len(m.worker.SecretKey) != 46 {
		t.Errorf("got id %q and a secret of %d characters, want mch_… and ak_ + 43", m.worker.ID, len(m.worker.SecretKey))
	}
	if m.worker.DefaultTokenTTL != clerkclient.DefaultMachineTokenTTL || len(m.worker.ScopedMachines) != 1 || m.worker.ScopedMachines[0].ID != m.billing.ID {
		t.Errorf("got %+v, want the default TTL and billing as scope", m.worker)
	}
	got, err := s.client.Machines.Get(ctx, m.worker.ID)
	if err != nil || got.SecretKey != "" || got.Name != "worker" {
		t.Errorf("Get: got %+v, %v; want the machine without its secret", got, err)
	}
	list, err := s.client.Machines.List(ctx, clerkclient.MachineListParams{})
	if err != nil || list.TotalCount != 2 || list.Data[0].SecretKey != "" {
		t.Errorf("List: got %+v, %v; want 2 machines without secrets", list, err)
	}
	many := make([]string, 151)
	for i := range many {
		many[i] = "mch_" + strings.Repeat("x", 10) + string(rune('A'+i%26)) + string(rune('a'+i/26))
	}
	for _, tc := range []struct {
		name   string
		p      clerkclient.CreateMachineParams
		status int
		code   string
	}{
		{"no name", clerkclient.CreateMachineParams{Name: "  "}, 422, "form_param_missing"},
		{"long name", clerkclient.CreateMachineParams{Name: strings.Repeat("n", 256)}, 422, "form_param_format_invalid"},
		{"control character", clerkclient.CreateMachineParams{Name: "a\x00b"}, 422, "form_param_format_invalid"},
		{"negative ttl", clerkclient.CreateMachineParams{Name: "x", DefaultTokenTTL: -1}, 422, "form_param_format_invalid"},
		{"huge ttl", clerkclient.CreateMachineParams{Name: "x", DefaultTokenTTL: clerkclient.MaxTokenLifetime + 1}, 422, "form_param_format_invalid"},
		{"malformed scope", clerkclient.CreateMachineParams{Name: "x", ScopedMachines: []string{"user_1"}}, 422, "form_param_format_invalid"},
		{"unknown scope", clerkclient.CreateMachineParams{Name: "x", ScopedMachines: []string{"mch_missing"}}, 422, "form_param_format_invalid"},
		{"too many scopes", clerkclient.CreateMachineParams{Name: "x", ScopedMachines: many}, 422, "form_param_format_invalid"},
	} {
		_, err := s.client.Machines.Create(ctx, tc.p)
		assertAPIError(t, tc.name, err, tc.status, tc.code)
	}
	if list, _ := s.client.Machines.List(ctx, clerkclient.MachineListParams{}); list.TotalCount != 2 {
		t.Errorf("after refused creates: got %d machines, want 2", list.TotalCount)
	}
	for _, id := range []string{"mch_missing", "nope", ""} {
		_, err := s.client.Machines.Get(ctx, id)
		assertAPIError(t, "Get "+id, err, 404, "resource_not_found")
		_, err = s.client.Machines.Delete(ctx, id)
		assertAPIError(t, "Delete "+id, err, 404, "resource_not_found")
	}
	_, err = s.client.Machines.CreateScope(ctx, m.worker.ID, m.worker.ID)
	assertAPIError(t, "self scope", err, 422, "form_param_format_invalid")
	if got, err := s.client.Machines.CreateScope(ctx, m.billing.ID, m.worker.ID); err != nil || len(got.ScopedMachines) != 1 {
		t.Errorf("CreateScope: got %+v, %v; want one scope", got, err)
	}
	if got, err := s.client.Machines.DeleteScope(ctx, m.billing.ID, m.worker.ID); err != nil || len(got.ScopedMachines) != 0 {
		t.Errorf("DeleteScope: got %+v, %v; want none", got, err)
	}
	_, err = s.client.Machines.DeleteScope(ctx, m.billing.ID, m.worker.ID)
	assertAPIError(t, "DeleteScope twice", err, 404, "resource_not_found")
}

func TestM2MTokensClient(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	m := s.machines(t)
	tok := s.m2mToken(t, m, "")
	if typ, ok := auth.ParseMachineToken(tok.Token); typ != auth.M2MToken || !ok {
		t.Errorf("ParseMachineToken(new token): got (%q, %v), want (m2m_token, true)", typ, ok)
	}
	if !strings.HasPrefix(tok.ID, "mt_") || len(tok.ID) != 35 || tok.Expiration == nil ||
		*tok.Expiration-tok.CreatedAt != clerkclient.DefaultMachineTokenTTL*1000 || !slices.Equal(tok.Scopes, []string{m.billing.ID}) {
		t.Errorf("got %+v, want an mt_ id, the machine's TTL and all its scopes", tok)
	}
	scoped, err := s.client.M2MTokens.Create(ctx, clerkclient.CreateM2MTokenParams{MachineSecretKey: m.worker.SecretKey,
		Scopes: []string{}, SecondsUntilExpiration: int64p(5)})
	if err != nil || len(scoped.Scopes) != 0 || *scoped.Expiration-scoped.CreatedAt != 5000 {
		t.Errorf("explicit empty scopes and 5 s: got %+v, %v", scoped, err)
	}

	for _, tc := range []struct {
		name   string
		p      clerkclient.CreateM2MTokenParams
		status int
		code   string
	}{
		{"no secret", clerkclient.CreateM2MTokenParams{}, 401, "authentication_invalid"},
		{"wrong secret", clerkclient.CreateM2MTokenParams{MachineSecretKey: "ak_" + strings.Repeat("A", 43)}, 401, "authentication_invalid"},
		{"an M2M token as secret", clerkclient.CreateM2MTokenParams{MachineSecretKey: tok.Token}, 401, "authentication_invalid"},
		{"scope not allowed", clerkclient.CreateM2MTokenParams{MachineSecretKey: m.worker.SecretKey, Scopes: []string{m.worker.ID}}, 422, "form_param_format_invalid"},
		{"claims not an object", clerkclient.CreateM2MTokenParams{MachineSecretKey: m.worker.SecretKey, Claims: json.RawMessage(`[1]`)}, 422, "form_param_format_invalid"},
		{"claims too large", clerkclient.CreateM2MTokenParams{MachineSecretKey: m.worker.SecretKey, Claims: json.RawMessage(`{"a":"` + strings.Repeat("x", 5000) + `"}`)}, 422, "form_param_format_invalid"},
		{"zero lifetime", clerkclient.CreateM2MTokenParams{MachineSecretKey: m.worker.SecretKey, SecondsUntilExpiration: int64p(0)}, 422, "form_param_format_invalid"},
		{"lifetime too long", clerkclient.CreateM2MTokenParams{MachineSecretKey: m.worker.SecretKey, SecondsUntilExpiration: int64p(clerkclient.MaxTokenLifetime + 1)}, 422, "form_param_format_invalid"},
	} {
		_, err := s.client.M2MTokens.Create(ctx, tc.p)
		assertAPIError(t, tc.name, err, tc.status, tc.code)
	}

	// Verify: any token with no audience; with the billing machine's key,
	// only tokens scoped to billing.
	if got, err := s.client.M2MTokens.Verify(ctx, clerkclient.VerifyM2MTokenParams{Token: tok.Token}); err != nil || got.ID != tok.ID || got.Token != "" {
		t.Errorf("Verify: got %+v, %v; want the token without its secret", got, err)
	}
	if _, err := s.client.M2MTokens.Verify(ctx, clerkclient.VerifyM2MTokenParams{Token: tok.Token, MachineSecretKey: m.billing.SecretKey}); err != nil {
		t.Errorf("Verify as billing (in scope): %v", err)
	}
	_, err = s.client.M2MTokens.Verify(ctx, clerkclient.VerifyM2MTokenParams{Token: scoped.Token, MachineSecretKey: m.billing.SecretKey})
	assertAPIError(t, "Verify as billing (out of scope)", err, 404, "resource_not_found")
	for _, bad := range []string{"", "mt_x", tok.ID, "ak_" + strings.TrimPrefix(tok.Token, "mt_")} {
		_, err := s.client.M2MTokens.Verify(ctx, clerkclient.VerifyM2MTokenParams{Token: bad})
		assertAPIError(t, "Verify "+bad, err, 404, "resource_not_found")
	}

	// List: a machine sees only its own tokens.
	list, err := s.client.M2MTokens.List(ctx, clerkclient.M2MTokenListParams{Subject: m.worker.ID, MachineSecretKey: m.worker.SecretKey})
	if err != nil || list.TotalCount != 2 || list.M2MTokens[0].Token != "" {
		t.Errorf("List own: got %+v, %v; want 2 tokens without secrets", list, err)
	}
	_, err = s.client.M2MTokens.List(ctx, clerkclient.M2MTokenListParams{Subject: m.worker.ID, MachineSecretKey: m.billing.SecretKey})
	assertAPIError(t, "List another machine's", err, 403, "authorization_invalid")
	_, err = s.client.M2MTokens.List(ctx, clerkclient.M2MTokenListParams{Subject: "user_1"})
	assertAPIError(t, "List a user", err, 422, "form_param_format_invalid")
	_, err = s.client.M2MTokens.List(ctx, clerkclient.M2MTokenListParams{Subject: m.worker.ID, Limit: 101})
	assertAPIError(t, "List limit 101", err, 422, "form_param_format_invalid")

	// Revoke: a machine revokes only its own tokens.
	_, err = s.client.M2MTokens.Revoke(ctx, clerkclient.RevokeM2MTokenParams{ID: tok.ID, MachineSecretKey: m.billing.SecretKey})
	assertAPIError(t, "Revoke by another machine", err, 404, "resource_not_found")
	_, err = s.client.M2MTokens.Revoke(ctx, clerkclient.RevokeM2MTokenParams{ID: "mt_nope"})
	assertAPIError(t, "Revoke a malformed id", err, 404, "resource_not_found")
	_, err = s.client.M2MTokens.Revoke(ctx, clerkclient.RevokeM2MTokenParams{ID: tok.ID, RevocationReason: strings.Repeat("r", 256)})
	assertAPIError(t, "Revoke with a long reason", err, 422, "form_param_format_invalid")
	rev, err := s.client.M2MTokens.Revoke(ctx, clerkclient.RevokeM2MTokenParams{ID: tok.ID, MachineSecretKey: m.worker.SecretKey, RevocationReason: "done"})
	if err != nil || !rev.Revoked || rev.RevocationReason == nil || *rev.RevocationReason != "done" {
		t.Fatalf("Revoke own: got %+v, %v; want revoked with reason", rev, err)
	}
	_, err = s.client.M2MTokens.Verify(ctx, clerkclient.VerifyM2MTokenParams{Token: tok.Token})
	assertAPIError(t, "Verify after revoke", err, 404, "resource_not_found")
}

func TestAPIKeysClient(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	sess := s.signIn(t, "apikeys@example.com")
	key, err := s.client.APIKeys.Create(ctx, auth.CreateAPIKeyParams{Name: " Deploy ", Subject: sess.userID,
		CreatedBy: sess.userID, SecondsUntilExpiration: int64p(60)})
	if err != nil {
		t.Fatal(err)
	}
	if key.Name != "Deploy" || key.Object != "api_key" || key.Type != "api_key" || !strings.HasPrefix(key.ID, "ak_") ||
		*key.Expiration-key.CreatedAt != 60000 || key.CreatedBy == nil || *key.CreatedBy != sess.userID || string(key.Claims) != "null" {
		t.Errorf("got %+v, want the trimmed name, a minute of life and created_by", key)
	}
	if typ, ok := auth.ParseMachineToken(key.Secret); typ != auth.APIKey || !ok {
		t.Errorf("ParseMachineToken(secret): got (%q, %v), want (api_key, true)", typ, ok)
	}
	never := s.apiKey(t, sess.userID)
	if never.Expiration != nil {
		t.Errorf("key without lifetime: got expiration %v, want null", *never.Expiration)
	}
	for _, tc := range []struct {
		name   string
		p      auth.CreateAPIKeyParams
		status int
		code   string
	}{
		{"no name", auth.CreateAPIKeyParams{Subject: sess.userID}, 422, "form_param_missing"},
		{"long name", auth.CreateAPIKeyParams{Name: strings.Repeat("n", 101), Subject: sess.userID}, 422, "form_param_format_invalid"},
		{"bad subject", auth.CreateAPIKeyParams{Name: "x", Subject: "mch_1"}, 422, "form_param_format_invalid"},
		{"unknown user", auth.CreateAPIKeyParams{Name: "x", Subject: "user_missing"}, 404, "resource_not_found"},
		{"unknown organization", auth.CreateAPIKeyParams{Name: "x", Subject: "org_missing"}, 404, "resource_not_found"},
		{"bad created_by", auth.CreateAPIKeyParams{Name: "x", Subject: sess.userID, CreatedBy: "org_1"}, 422, "form_param_format_invalid"},
		{"scope with a space", auth.CreateAPIKeyParams{Name: "x", Subject: sess.userID, Scopes: []string{"a b"}}, 422, "form_param_format_invalid"},
		{"claims a string", auth.CreateAPIKeyParams{Name: "x", Subject: sess.userID, Claims: json.RawMessage(`"x"`)}, 422, "form_param_format_invalid"},
		{"negative lifetime", auth.CreateAPIKeyParams{Name: "x", Subject: sess.userID, SecondsUntilExpiration: int64p(-5)}, 422, "form_param_format_invalid"},
	} {
		_, err := s.client.APIKeys.Create(ctx, tc.p)
		assertAPIError(t, tc.name, err, tc.status, tc.code)
	}

	list, err := s.client.APIKeys.List(ctx, auth.APIKeyListParams{Subject: sess.userID})
	if err != nil || list.TotalCount != 2 {
		t.Fatalf("List: got %+v, %v; want 2 keys", list, err)
	}
	for _, k := range list.Data {
		if k.Secret != "" {
			t.Errorf("List: key %s carries its secret, want none", k.ID)
		}
	}
	if got, err := s.client.APIKeys.Get(ctx, key.ID); err != nil || got.Secret != "" || got.Name != "Deploy" {
		t.Errorf("Get: got %+v, %v; want the key without its secret", got, err)
	}
	if got, err := s.client.APIKeys.Verify(ctx, key.Secret); err != nil || got.ID != key.ID || got.LastUsedAt == nil {
		t.Errorf("Verify: got %+v, %v; want the key, with last_used_at", got, err)
	}
	_, err = s.client.APIKeys.Revoke(ctx, auth.RevokeAPIKeyParams{ID: key.ID, Subject: "user_someoneelse"})
	assertAPIError(t, "Revoke another user's key", err, 404, "resource_not_found")
	if _, err := s.client.APIKeys.Revoke(ctx, auth.RevokeAPIKeyParams{ID: key.ID, Subject: sess.userID}); err != nil {
		t.Fatal(err)
	}
	_, err = s.client.APIKeys.Verify(ctx, key.Secret)
	assertAPIError(t, "Verify a revoked key", err, 404, "resource_not_found")
	live, _ := s.client.APIKeys.List(ctx, auth.APIKeyListParams{Subject: sess.userID})
	all, _ := s.client.APIKeys.List(ctx, auth.APIKeyListParams{Subject: sess.userID, IncludeInvalid: true})
	if live.TotalCount != 1 || all.TotalCount != 2 {
		t.Errorf("after revoking one: got %d live and %d in all, want 1 and 2", live.TotalCount, all.TotalCount)
	}
	_, err = s.client.APIKeys.List(ctx, auth.APIKeyListParams{Subject: "nobody"})
	assertAPIError(t, "List a bad subject", err, 422, "form_param_format_invalid")
}

func TestParseMachineToken(t *testing.T) {
	b62 := strings.Repeat("aZ09", 11)[:43]
	for _, tc := range []struct {
		in     string
		want   auth.TokenType
		wantOK bool
	}{
		{"mt_" + b62, auth.M2MToken, true},
		{"ak_" + b62, auth.APIKey, true},
		{"oat_" + b62, auth.OAuthToken, false},
		{"mt_" + b62[:42], auth.M2MToken, false},
		{"mt_" + b62 + "a", auth.M2MToken, false},
		{"mt_" + b62[:42] + "-", auth.M2MToken, false},
		{"mt_" + b62[:41] + "é", auth.M2MToken, false},
		{"ak_", auth.APIKey, false},
		{"mt_0123456789abcdef0123456789abcdef", auth.M2MToken, false}, // an id
		{"MT_" + b62, "", false},
		{"eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "", false},
		{"", "", false},
	} {
		typ, ok := auth.ParseMachineToken(tc.in)
		if typ != tc.want || ok != tc.wantOK {
			t.Errorf("ParseMachineToken(%q): got (%q, %v), want (%q, %v)", tc.in, typ, ok, tc.want, tc.wantOK)
		}
	}
}

// FuzzParseMachineToken checks the parser never panics, agrees with the
// middleware's prefix rule, and accepts only the exact shape it issues.
func FuzzParseMachineToken(f *testing.F) {
	for _, s := range []string{"mt_" + strings.Repeat("a", 43), "ak_" + strings.Repeat("Z", 43), "oat_x", "mt_", "ak_\x00", "", "m", "mt_\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		typ, ok := auth.ParseMachineToken(s)
		var want auth.TokenType
		switch {
		case strings.HasPrefix(s, "mt_"):
			want = auth.M2MToken
		case strings.HasPrefix(s, "ak_"):
			want = auth.APIKey
		case strings.HasPrefix(s, "oat_"):
			want = auth.OAuthToken
		}
		if typ != want {
			t.Fatalf("ParseMachineToken(%q): got type %q, want %q", s, typ, want)
		}
		if ok {
			rest := s[3:]
			if typ == auth.OAuthToken || len(rest) != 43 || strings.IndexFunc(rest, func(r rune) bool {
				return !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
			}) >= 0 {
				t.Fatalf("ParseMachineToken(%q): got ok for a string that is not prefix + 43 base62", s)
			}
		}
	})
}
