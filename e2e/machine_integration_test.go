package e2e

// End-to-end tests of machine authentication: machines and M2M tokens over
// the backend API and the CLI, API keys on the profile page, and the
// routes that accept them.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/internal/cli"

	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// mtRawDB opens the app's database with a separate connection, to look at
// what is really stored.
func (ta *testApp) mtRawDB(t *testing.T) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if path, ok := strings.CutPrefix(ta.Cfg.DatabaseURL, "sqlite:"); ok {
		db, err = sql.Open("sqlite", "file:"+path+"?mode=ro")
	} else {
		db, err = sql.Open("pgx", ta.Cfg.DatabaseURL)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// mtAssertHashedAtRest checks that the secret appears nowhere in the row
// of table with id (only its SHA-256, in secret_hash) and, on SQLite,
// nowhere in the database files.
func (ta *testApp) mtAssertHashedAtRest(t *testing.T, table, id, secret string) {
	t.Helper()
	rows, err := ta.mtRawDB(t).Query(`SELECT * FROM `+table+` WHERE id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		t.Fatalf("%s row %s: not found", table, id)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte(secret))
	for i, c := range cols {
		var b []byte
		switch v := vals[i].(type) {
		case []byte:
			b = v
		case string:
			b = []byte(v)
		default:
			b = fmt.Append(nil, v)
		}
		if bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte(secret[3:])) {
			t.Errorf("%s.%s holds the secret, want only its hash", table, c)
		}
		if c == "secret_hash" && !bytes.Equal(b, want[:]) {
			t.Errorf("%s.secret_hash: got %x, want SHA-256 of the secret", table, b)
		}
	}
	if path, ok := strings.CutPrefix(ta.Cfg.DatabaseURL, "sqlite:"); ok {
		for _, f := range []string{path, path + "-wal"} {
			raw, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte(secret[3:])) {
				t.Errorf("%s contains the secret, want only its hash", filepath.Base(f))
			}
		}
	}
}

func mtBearer(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

// mtCreateM2M exchanges a machine secret key for a token over HTTP.
func (ta *testApp) mtCreateM2M(t *testing.T, machineSecret, body string) map[string]any {
	t.Helper()
	res, out := harness.Do(t, plainClient(), http.MethodPost, ta.URL+"/v1/m2m_tokens", strings.NewReader(body),
		withHeaders(jsonHeader, mtBearer(machineSecret)))
	assertStatus(t, "POST /v1/m2m_tokens", res, out, http.StatusCreated)
	assertJSONType(t, "POST /v1/m2m_tokens", res)
	return decodeObject(t, "POST /v1/m2m_tokens", out)
}

func TestIntegrationMachineTokens(t *testing.T) {
	mtMachineFlow(t, startApp(t, nil))
}

func TestPostgresMachineTokens(t *testing.T) {
	mtMachineFlow(t, startApp(t, map[string]string{"DATABASE_URL": postgresURL(t)}))
}

// mtMachineFlow is the M2M story end to end: a machine gets a token over
// the backend API, calls the example routes with it, and loses access on
// the next request once the token is revoked or expired.
func mtMachineFlow(t *testing.T, ta *testApp) {
	ctx := context.Background()
	billing, err := ta.App.Client.Machines.Create(ctx, clerkclient.CreateMachineParams{Name: "billing"})
	if err != nil {
		t.Fatal(err)
	}
	worker, err := ta.App.Client.Machines.Create(ctx, clerkclient.CreateMachineParams{Name: "worker", ScopedMachines: []string{billing.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ta.mtAssertHashedAtRest(t, "machines", worker.ID, worker.SecretKey)

	tok := ta.mtCreateM2M(t, worker.SecretKey, `{"claims":{"job":"sync"}}`)
	secret, _ := tok["token"].(string)
	id, _ := tok["id"].(string)
	if !strings.HasPrefix(secret, "mt_") || !strings.HasPrefix(id, "mt_") || tok["subject"] != worker.ID {
		t.Fatalf("created token: got %v, want an mt_ token of %s", tok, worker.ID)
	}
	ta.mtAssertHashedAtRest(t, "machine_tokens", id, secret)

	c := plainClient()
	t.Run("GET /api/machine", func(t *testing.T) {
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/api/machine", nil, mtBearer(secret))
		assertStatus(t, "GET /api/machine", res, body, http.StatusOK)
		m := decodeObject(t, "GET /api/machine", body)
		assertKeys(t, "GET /api/machine", m, "machineId", "scopes")
		if m["machineId"] != worker.ID || fmt.Sprint(m["scopes"]) != "["+billing.ID+"]" {
			t.Errorf("got %v, want machineId %s and scopes [%s]", m, worker.ID, billing.ID)
		}
	})
	t.Run("GET /api/whoami", func(t *testing.T) {
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/api/whoami", nil, mtBearer(secret))
		assertStatus(t, "GET /api/whoami", res, body, http.StatusOK)
		m := decodeObject(t, "GET /api/whoami", body)
		assertKeys(t, "GET /api/whoami", m, "tokenType", "subject")
		if m["tokenType"] != "m2m_token" || m["subject"] != worker.ID {
			t.Errorf("got %v, want m2m_token of %s", m, worker.ID)
		}
	})
	t.Run("an M2M token is not a session", func(t *testing.T) {
		for _, p := range []string{"/api/me", "/api/items", "/api/token"} {
			res, body := harness.Do(t, c, http.MethodGet, ta.URL+p, nil, mtBearer(secret))
			assertStatus(t, "GET "+p+" with an M2M token", res, body, http.StatusUnauthorized)
		}
	})
	t.Run("no or bad token", func(t *testing.T) {
		for name, h := range map[string]map[string]string{
			"none": nil, "garbage": mtBearer("mt_garbage"), "machine secret": mtBearer(worker.SecretKey),
			"oauth": mtBearer("oat_" + strings.Repeat("a", 43)),
		} {
			res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/api/machine", nil, h)
			assertStatus(t, "GET /api/machine, "+name, res, body, http.StatusUnauthorized)
			if res.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("%s: got WWW-Authenticate %q, want Bearer", name, res.Header.Get("WWW-Authenticate"))
			}
			res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/api/whoami", nil, h)
			assertStatus(t, "GET /api/whoami, "+name, res, body, http.StatusUnauthorized)
		}
	})
	t.Run("bad input to the backend API", func(t *testing.T) {
		for _, tc := range []struct {
			name, ct, key, body string
			want                int
		}{
			{"no key", "application/json", "", `{}`, 401},
			{"bad JSON", "application/json", worker.SecretKey, `{`, 400},
			{"form body", "application/x-www-form-urlencoded", worker.SecretKey, `a=b`, 415},
			{"scope not allowed", "application/json", worker.SecretKey, `{"scopes":["` + worker.ID + `"]}`, 422},
			{"negative lifetime", "application/json", worker.SecretKey, `{"seconds_until_expiration":-1}`, 422},
		} {
			h := map[string]string{"Content-Type": tc.ct}
			if tc.key != "" {
				h["Authorization"] = "Bearer " + tc.key
			}
			res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/v1/m2m_tokens", strings.NewReader(tc.body), h)
			assertStatus(t, tc.name, res, body, tc.want)
			assertJSONType(t, tc.name, res)
		}
		list, err := ta.App.Client.M2MTokens.List(ctx, clerkclient.M2MTokenListParams{Subject: worker.ID})
		if err != nil || list.TotalCount != 1 {
			t.Errorf("tokens after refused requests: got %d, %v; want 1", list.TotalCount, err)
		}
	})
	t.Run("revocation holds from the next request", func(t *testing.T) {
		res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/v1/m2m_tokens/"+id+"/revoke", strings.NewReader(`{"revocation_reason":"rotated"}`),
			withHeaders(jsonHeader, mtBearer(worker.SecretKey)))
		assertStatus(t, "revoke", res, body, http.StatusOK)
		res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/api/machine", nil, mtBearer(secret))
		assertStatus(t, "GET /api/machine after revoke", res, body, http.StatusUnauthorized)
		if r := res.Header.Get("X-Clerk-Auth-Reason"); r != "token-invalid" {
			t.Errorf("X-Clerk-Auth-Reason: got %q, want token-invalid", r)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		short := ta.mtCreateM2M(t, worker.SecretKey, `{"seconds_until_expiration":1}`)
		s := short["token"].(string)
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/api/machine", nil, mtBearer(s))
		assertStatus(t, "GET /api/machine, fresh 1 s token", res, body, http.StatusOK)
		time.Sleep(time.Until(time.UnixMilli(int64(short["expiration"].(float64)))) + 50*time.Millisecond)
		res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/api/machine", nil, mtBearer(s))
		assertStatus(t, "GET /api/machine, expired token", res, body, http.StatusUnauthorized)
		if r := res.Header.Get("X-Clerk-Auth-Reason"); r != "token-expired" {
			t.Errorf("X-Clerk-Auth-Reason: got %q, want token-expired", r)
		}
	})
	t.Run("deleting the machine ends its tokens", func(t *testing.T) {
		live := ta.mtCreateM2M(t, worker.SecretKey, `{}`)["token"].(string)
		if _, err := ta.App.Client.Machines.Delete(ctx, worker.ID); err != nil {
			t.Fatal(err)
		}
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/api/whoami", nil, mtBearer(live))
		assertStatus(t, "GET /api/whoami, deleted machine", res, body, http.StatusUnauthorized)
	})
}

// mtSecretRE finds the secret shown once on the profile page.
var mtSecretRE = regexp.MustCompile(`value="(ak_[0-9A-Za-z]+)" data-testid="api-key-secret"`)

func TestIntegrationAPIKeys(t *testing.T) {
	// Evan is an administrator: the impersonation session below is his,
	// and an actor session lasts only while its actor is one.
	ta := startApp(t, map[string]string{"ADMIN_EMAILS": evanEmail})
	ctx := context.Background()
	dora := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	evan := ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Test")
	c := ta.Browser(t)
	ta.SignIn(t, c, doraEmail, doraPassword)
	form := func(v url.Values) *strings.Reader { return strings.NewReader(v.Encode()) }
	formHeader := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

	res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/profile", nil, nil)
	assertStatus(t, "GET /profile", res, body, http.StatusOK)
	if !strings.Contains(body, `action="/profile/api-keys"`) || !strings.Contains(body, "No API keys yet.") {
		t.Fatalf("GET /profile: want the API key form and no keys; body %.500s", body)
	}

	// Create: the secret is on the answer, once.
	res, body = harness.Do(t, c, http.MethodPost, ta.URL+"/profile/api-keys", form(url.Values{"name": {"Deploy script"}, "expires_in": {"30"}}),
		withHeaders(formHeader, sameOrigin))
	assertStatus(t, "create an API key", res, body, http.StatusOK)
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control of the page with the secret: got %q, want no-store", cc)
	}
	match := mtSecretRE.FindStringSubmatch(body)
	if match == nil {
		t.Fatalf("the answer shows no secret; body %.2000s", body)
	}
	secret := match[1]
	if typ, ok := auth.ParseMachineToken(secret); typ != auth.APIKey || !ok {
		t.Fatalf("shown secret %.6s…: got (%q, %v), want a well-formed API key", secret, typ, ok)
	}
	keys, err := ta.App.Client.APIKeys.List(ctx, auth.APIKeyListParams{Subject: dora.ID})
	if err != nil || keys.TotalCount != 1 {
		t.Fatalf("keys after create: got %+v, %v; want 1", keys, err)
	}
	key := keys.Data[0]
	if key.Name != "Deploy script" || key.Expiration == nil ||
		time.Duration(*key.Expiration-key.CreatedAt)*time.Millisecond != 30*24*time.Hour || key.CreatedBy == nil || *key.CreatedBy != dora.ID {
		t.Errorf("stored key: got %+v, want the name, 30 days and created_by", key)
	}
	ta.mtAssertHashedAtRest(t, "machine_tokens", key.ID, secret)

	res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/profile", nil, nil)
	if !strings.Contains(body, "Deploy script") || !strings.Contains(body, key.ID) || strings.Contains(body, secret[3:]) {
		t.Errorf("GET /profile after create: want the key listed by name and id, without its secret")
	}

	plain := plainClient()
	t.Run("the key calls the API", func(t *testing.T) {
		res, body := harness.Do(t, plain, http.MethodGet, ta.URL+"/api/whoami", nil, mtBearer(secret))
		assertStatus(t, "GET /api/whoami with the key", res, body, http.StatusOK)
		if m := decodeObject(t, "whoami", body); m["tokenType"] != "api_key" || m["subject"] != dora.ID {
			t.Errorf("got %v, want api_key of %s", m, dora.ID)
		}
		for _, p := range []string{"/api/me", "/api/machine"} {
			res, body = harness.Do(t, plain, http.MethodGet, ta.URL+p, nil, mtBearer(secret))
			assertStatus(t, "GET "+p+" with an API key", res, body, http.StatusUnauthorized)
		}
		got, err := ta.App.Client.APIKeys.Get(ctx, key.ID)
		if err != nil || got.LastUsedAt == nil {
			t.Errorf("last_used_at after a call: got %+v, %v; want set", got, err)
		}
		res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/api/whoami", nil, nil)
		assertStatus(t, "GET /api/whoami with the session cookie", res, body, http.StatusOK)
		if m := decodeObject(t, "whoami", body); m["tokenType"] != "session_token" || m["subject"] != dora.ID {
			t.Errorf("whoami with a cookie: got %v, want session_token of %s", m, dora.ID)
		}
	})

	t.Run("bad input changes nothing", func(t *testing.T) {
		evanKey, err := ta.App.Client.APIKeys.Create(ctx, auth.CreateAPIKeyParams{Name: "evan's", Subject: evan.ID})
		if err != nil {
			t.Fatal(err)
		}
		ta.mtPostCases(t, c, []mtFormCase{
			{"empty name", "/profile/api-keys", "", url.Values{"name": {"  "}}.Encode(), nil, 422, "Enter a name for the key."},
			{"long name", "/profile/api-keys", "", url.Values{"name": {strings.Repeat("n", 101)}}.Encode(), nil, 422, "at most 100 characters"},
			{"control character", "/profile/api-keys", "", url.Values{"name": {"a\x07b"}}.Encode(), nil, 422, "without control characters"},
			{"unknown expiration", "/profile/api-keys", "", url.Values{"name": {"x"}, "expires_in": {"-3"}}.Encode(), nil, 422, "Choose an expiration"},
			{"wrong content type", "/profile/api-keys", "text/plain", "name=x", nil, 415, ""},
			{"oversized body", "/profile/api-keys", "", "name=" + strings.Repeat("x", 70<<10), nil, 413, ""},
			{"cross-site", "/profile/api-keys", "", url.Values{"name": {"planted"}}.Encode(), map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, ""},
			{"revoke unknown", "/profile/api-keys/ak_" + strings.Repeat("0", 32) + "/revoke", "", "", nil, 404, ""},
			{"revoke malformed", "/profile/api-keys/nope/revoke", "", "", nil, 404, ""},
			{"revoke another user's key", "/profile/api-keys/" + evanKey.ID + "/revoke", "", "", nil, 404, ""},
			{"revoke cross-site", "/profile/api-keys/" + key.ID + "/revoke", "", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, ""},
		})
		if keys, _ := ta.App.Client.APIKeys.List(ctx, auth.APIKeyListParams{Subject: dora.ID}); keys.TotalCount != 1 {
			t.Errorf("Dora's keys after refused forms: got %d, want 1", keys.TotalCount)
		}
		if _, err := ta.App.Client.APIKeys.Get(ctx, evanKey.ID); err != nil {
			t.Errorf("Evan's key after Dora tried to revoke it: %v", err)
		}
		res, body := harness.Do(t, plain, http.MethodGet, ta.URL+"/api/whoami", nil, mtBearer(secret))
		assertStatus(t, "the key after refused forms", res, body, http.StatusOK)
	})

	t.Run("signed out", func(t *testing.T) {
		res, body := harness.Do(t, ta.Browser(t), http.MethodPost, ta.URL+"/profile/api-keys", form(url.Values{"name": {"x"}}), formHeader)
		assertStatus(t, "create signed out", res, body, http.StatusUnauthorized)
		res, _ = harness.Do(t, ta.Browser(t), http.MethodPost, ta.URL+"/profile/api-keys", form(url.Values{"name": {"x"}}),
			withHeaders(formHeader, map[string]string{"Accept": "text/html"}))
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/sign-in") {
			t.Errorf("create signed out from a page: got %d to %q, want 303 to sign-in", res.StatusCode, res.Header.Get("Location"))
		}
		// An API key is no session: it cannot mint more keys.
		res, body = harness.Do(t, plain, http.MethodPost, ta.URL+"/profile/api-keys", form(url.Values{"name": {"x"}}), withHeaders(formHeader, mtBearer(secret)))
		assertStatus(t, "create with an API key", res, body, http.StatusUnauthorized)
	})

	t.Run("limit per user", func(t *testing.T) {
		for range 49 {
			if _, err := ta.App.Client.APIKeys.Create(ctx, auth.CreateAPIKeyParams{Name: "bulk", Subject: dora.ID}); err != nil {
				t.Fatal(err)
			}
		}
		res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/profile/api-keys", form(url.Values{"name": {"one too many"}}), formHeader)
		assertStatus(t, "the 51st key", res, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, "Revoke one before creating another") {
			t.Errorf("the 51st key: want the limit message")
		}
	})

	t.Run("revoke holds from the next request", func(t *testing.T) {
		res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/profile/api-keys/"+key.ID+"/revoke", nil, formHeader)
		assertStatus(t, "revoke", res, body, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/profile#api-keys" {
			t.Errorf("revoke: got Location %q, want /profile#api-keys", loc)
		}
		res, body = harness.Do(t, plain, http.MethodGet, ta.URL+"/api/whoami", nil, mtBearer(secret))
		assertStatus(t, "GET /api/whoami with the revoked key", res, body, http.StatusUnauthorized)
		res, body = harness.Do(t, c, http.MethodGet, ta.URL+"/profile", nil, nil)
		if strings.Contains(body, key.ID) {
			t.Error("GET /profile after revoke: the revoked key is still listed")
		}
	})

	t.Run("a session revoked in the store cannot create keys", func(t *testing.T) {
		c := ta.Browser(t)
		ta.SignIn(t, c, evanEmail, evanPassword)
		sid := ta.sessionID(t, c)
		if _, err := ta.App.Client.Sessions.RevokeSession(ctx, sid); err != nil {
			t.Fatal(err)
		}
		// The session token in the jar is still valid for its minute.
		res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/profile/api-keys", form(url.Values{"name": {"late"}}), formHeader)
		assertStatus(t, "create after the session was revoked", res, body, http.StatusUnauthorized)
		if keys, _ := ta.App.Client.APIKeys.List(ctx, auth.APIKeyListParams{Subject: evan.ID}); keys.TotalCount != 1 {
			t.Errorf("Evan's keys: got %d, want 1 (only the one the backend client made)", keys.TotalCount)
		}
	})

	t.Run("an impersonation session cannot manage keys", func(t *testing.T) {
		tok := ta.mtActorToken(t, dora.ID, evan.ID)
		actor := ta.browserWith(t, map[string]string{"__session": tok})
		res, body := harness.Do(t, actor, http.MethodGet, ta.URL+"/profile", nil, nil)
		assertStatus(t, "GET /profile as an actor", res, body, http.StatusOK)
		if strings.Contains(body, `action="/profile/api-keys"`) || !strings.Contains(body, "impersonation session") {
			t.Error("GET /profile as an actor: want no key form and the reason")
		}
		res, body = harness.Do(t, actor, http.MethodPost, ta.URL+"/profile/api-keys", form(url.Values{"name": {"sneaky"}}), formHeader)
		assertStatus(t, "create as an actor", res, body, http.StatusForbidden)
		live, _ := ta.App.Client.APIKeys.List(ctx, auth.APIKeyListParams{Subject: dora.ID})
		for _, k := range live.Data {
			if k.Name == "sneaky" {
				t.Error("an actor created a key")
			}
		}
	})
}

// mtFormCase is a form post expected to be refused: with ct ("" for a
// urlencoded form) and header, it answers want and shows text.
type mtFormCase struct {
	name, path, ct, body string
	header               map[string]string
	want                 int
	text                 string
}

// mtPostCases posts each case as c and checks the answer.
func (ta *testApp) mtPostCases(t *testing.T, c *http.Client, cases []mtFormCase) {
	t.Helper()
	for _, tc := range cases {
		ct := tc.ct
		if ct == "" {
			ct = "application/x-www-form-urlencoded"
		}
		res, body := harness.Do(t, c, http.MethodPost, ta.URL+tc.path, strings.NewReader(tc.body),
			withHeaders(map[string]string{"Content-Type": ct}, tc.header))
		assertStatus(t, tc.name, res, body, tc.want)
		if tc.text != "" && !strings.Contains(body, tc.text) {
			t.Errorf("%s: want the message %q in the page", tc.name, tc.text)
		}
	}
}

// mtActorToken starts an impersonation session of user by actor in the
// store and signs its session token with the app's key.
func (ta *testApp) mtActorToken(t *testing.T, user, actor string) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	sess := store.Session{ID: "sess_" + rand.Text(), UserID: user, Status: store.SessionActive,
		Actor: json.RawMessage(`{"sub":"` + actor + `"}`), FactorVerifiedAt: now.UnixMilli(),
		ExpireAt: now.Add(time.Hour).UnixMilli(), LastActiveAt: now.UnixMilli()}
	if err := ta.App.Store.CreateSession(ctx, store.Client{ID: "client_" + rand.Text(), SecretHash: []byte("x")}, sess); err != nil {
		t.Fatal(err)
	}
	keys, err := token.LoadKeyring(ctx, ta.App.Store, ta.Cfg.EncryptionKey, ta.Cfg.SigningKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := keys.SignSession(&token.Claims{
		Issuer: ta.Cfg.AppURL, Subject: user, SessionID: sess.ID, IssuedAt: now.Unix(), NotBefore: now.Unix() - 5,
		Expiry: now.Unix() + 60, ID: rand.Text(), Version: 2, AuthorizedParty: ta.Cfg.AppOrigin,
		Status: "active", FVA: []int{0, -1}, Actor: &token.Actor{Subject: actor},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestCommandMachines drives "gatehouse machines" and uses the secret it
// prints against the running app.
func TestCommandMachines(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "cli.db")
	env := map[string]string{"DATABASE_URL": dbURL}
	ta := startApp(t, env)
	for k, v := range map[string]string{"DATABASE_URL": dbURL, "CLERK_SECRET_KEY": ta.Cfg.SecretKey,
		"CLERK_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(ta.Cfg.EncryptionKey), "APP_ENV": "development"} {
		t.Setenv(k, v)
	}
	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := cli.Run(context.Background(), args, &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, errs := cli("machines", "create", "--name", "billing")
	mchRE := regexp.MustCompile(`created machine (mch_[0-9A-Za-z]+) \(billing\)`)
	m := mchRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("machines create: got %d %q %q, want 0 and the id", code, out, errs)
	}
	billing := m[1]
	code, out, errs = cli("machines", "create", "--name", "worker", "--scope", billing, "--ttl", "120")
	secretRE := regexp.MustCompile(`secret key \(shown once; store it now\): (ak_[0-9A-Za-z]{43})\n`)
	sm := secretRE.FindStringSubmatch(out)
	if code != 0 || sm == nil || !strings.Contains(out, "scopes: "+billing) {
		t.Fatalf("machines create --scope: got %d %q %q, want the secret and the scope", code, out, errs)
	}

	tok := ta.mtCreateM2M(t, sm[1], `{}`)
	if exp := tok["expiration"].(float64) - tok["created_at"].(float64); exp != 120000 {
		t.Errorf("token lifetime: got %v ms, want the machine's 120 s", exp)
	}
	res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/api/machine", nil, mtBearer(tok["token"].(string)))
	assertStatus(t, "GET /api/machine with a token of a CLI machine", res, body, http.StatusOK)

	code, out, _ = cli("machines", "list")
	if code != 0 || !strings.Contains(out, billing) || !strings.Contains(out, "worker") || strings.Contains(out, sm[1]) {
		t.Errorf("machines list: got %d %q, want both machines and no secret", code, out)
	}
	if code, out, _ = cli("machines", "delete", billing); code != 0 || !strings.Contains(out, "deleted machine "+billing) {
		t.Errorf("machines delete: got %d %q, want 0", code, out)
	}
	for _, tc := range []struct {
		args []string
		want int
		text string
	}{
		{[]string{"machines", "delete", billing}, 1, "machine not found"},
		{[]string{"machines", "create"}, 1, "--name is required"},
		{[]string{"machines", "create", "--name", "x", "--scope", "mch_missing"}, 1, "does not exist"},
		{[]string{"machines", "create", "--name", "x", "--ttl", "0"}, 0, ""}, // 0 means the default
		{[]string{"machines"}, 1, "a subcommand is required"},
		{[]string{"machines", "fly"}, 1, "unknown subcommand"},
		{[]string{"machines", "delete"}, 1, "exactly one machine id"},
		{[]string{"machines", "--help"}, 0, ""},
		{[]string{"machines", "create", "--help"}, 0, ""},
	} {
		code, out, errs := cli(tc.args...)
		if code != tc.want || !strings.Contains(out+errs, tc.text) {
			t.Errorf("%v: got %d %q %q, want %d with %q", tc.args, code, out, errs, tc.want, tc.text)
		}
	}
}
