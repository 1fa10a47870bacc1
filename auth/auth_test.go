package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/identity/password"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

const (
	appURL        = "http://localhost:3000"
	otherParty    = "https://app.example.com"
	testSecretKey = "sk_test_0123456789abcdefghijklmnopqrstuvwxyzABCD"
	testPassword  = "correct horse battery staple"
)

var parties = []string{appURL, otherParty}

// fastParams keep argon2id cheap: these tests are about the auth library,
// not about the cost of hashing (the password package tests that).
var fastParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var (
	pemOnce sync.Once
	pemKey  string
)

// signingKeyPEM returns one RSA-2048 key for the whole package, so each
// test's stack does not pay for generating its own.
func signingKeyPEM(t testing.TB) string {
	t.Helper()
	pemOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		pemKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	})
	return pemKey
}

// countingStore counts every call into the store.
type countingStore struct {
	store.Store
	n atomic.Int64
}

func (c *countingStore) calls() int64 { return c.n.Load() }

func (c *countingStore) Ping(ctx context.Context) error { c.n.Add(1); return c.Store.Ping(ctx) }
func (c *countingStore) CreateUser(ctx context.Context, u store.NewUser) (*store.User, error) {
	c.n.Add(1)
	return c.Store.CreateUser(ctx, u)
}
func (c *countingStore) GetUser(ctx context.Context, id string) (*store.User, error) {
	c.n.Add(1)
	return c.Store.GetUser(ctx, id)
}
func (c *countingStore) GetUserByEmail(ctx context.Context, email string) (*store.User, error) {
	c.n.Add(1)
	return c.Store.GetUserByEmail(ctx, email)
}
func (c *countingStore) ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, int, error) {
	c.n.Add(1)
	return c.Store.ListUsers(ctx, f)
}
func (c *countingStore) UpdateUser(ctx context.Context, id string, up store.UserUpdate) (*store.User, error) {
	c.n.Add(1)
	return c.Store.UpdateUser(ctx, id, up)
}
func (c *countingStore) MergeUserMetadata(ctx context.Context, id string, p store.MetadataPatch) (*store.User, error) {
	c.n.Add(1)
	return c.Store.MergeUserMetadata(ctx, id, p)
}
func (c *countingStore) DeleteUser(ctx context.Context, id string) error {
	c.n.Add(1)
	return c.Store.DeleteUser(ctx, id)
}
func (c *countingStore) SetUserBanned(ctx context.Context, id string, banned bool) (*store.User, error) {
	c.n.Add(1)
	return c.Store.SetUserBanned(ctx, id, banned)
}
func (c *countingStore) RecordSignInFailure(ctx context.Context, userID string, maxFailures int, lockFor time.Duration) (store.SignInFailure, error) {
	c.n.Add(1)
	return c.Store.RecordSignInFailure(ctx, userID, maxFailures, lockFor)
}
func (c *countingStore) RecordSignIn(ctx context.Context, userID string) (int64, error) {
	c.n.Add(1)
	return c.Store.RecordSignIn(ctx, userID)
}
func (c *countingStore) CreateSession(ctx context.Context, cl store.Client, s store.Session) error {
	c.n.Add(1)
	return c.Store.CreateSession(ctx, cl, s)
}
func (c *countingStore) GetClient(ctx context.Context, id string) (*store.Client, error) {
	c.n.Add(1)
	return c.Store.GetClient(ctx, id)
}
func (c *countingStore) GetSession(ctx context.Context, id string) (*store.Session, error) {
	c.n.Add(1)
	return c.Store.GetSession(ctx, id)
}
func (c *countingStore) ListSessions(ctx context.Context, f store.SessionFilter) ([]*store.Session, int, error) {
	c.n.Add(1)
	return c.Store.ListSessions(ctx, f)
}
func (c *countingStore) EndSession(ctx context.Context, id, status string) (*store.Session, error) {
	c.n.Add(1)
	return c.Store.EndSession(ctx, id, status)
}
func (c *countingStore) TouchSession(ctx context.Context, id string, at int64) error {
	c.n.Add(1)
	return c.Store.TouchSession(ctx, id, at)
}
func (c *countingStore) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	c.n.Add(1)
	return c.Store.SigningKeys(ctx)
}
func (c *countingStore) InsertSigningKey(ctx context.Context, k store.SigningKey) error {
	c.n.Add(1)
	return c.Store.InsertSigningKey(ctx, k)
}

// stack is the real auth stack over a temporary SQLite database, wired as
// main.go's newApp wires it.
type stack struct {
	db        *store.DB
	st        *countingStore
	keys      *token.Keyring
	ids       *identity.Service
	verifier  *token.Verifier
	client    *clerkclient.Client
	redirects *auth.Redirects
	opts      auth.Options
}

func newStack(t testing.TB) *stack {
	t.Helper()
	return newStackWith(t, nil)
}

// newStackWith is newStack with the identity configuration changed by mod.
func newStackWith(t testing.TB, mod func(*identity.Config)) *stack {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/db")
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	encKey := bytes.Repeat([]byte{7}, 32)
	keys, err := token.LoadKeyring(ctx, db, encKey, signingKeyPEM(t))
	if err != nil {
		t.Fatalf("LoadKeyring: %v", err)
	}
	cs := &countingStore{Store: db}
	cookies, err := identity.NewCookies(encKey, false, time.Hour)
	if err != nil {
		t.Fatalf("NewCookies: %v", err)
	}
	hasher := password.NewHasher(fastParams, 0)
	idcfg := identity.Config{
		Issuer: appURL, AppOrigin: appURL, AuthorizedParties: parties,
		TokenTTL: time.Minute, SessionMaxAge: time.Hour,
	}
	if mod != nil {
		mod(&idcfg)
	}
	ids := identity.New(idcfg, cs, keys, cookies, hasher, slog.New(slog.DiscardHandler))
	verifier := token.NewVerifier(token.VerifierConfig{
		Keys: keys, Issuer: appURL, AuthorizedParties: parties, TokenTTL: time.Minute,
	})
	client := clerkclient.NewClient(cs, hasher)
	redirects, err := auth.NewRedirects(appURL, parties, "/sign-in")
	if err != nil {
		t.Fatalf("NewRedirects: %v", err)
	}
	s := &stack{db: db, st: cs, keys: keys, ids: ids, verifier: verifier, client: client, redirects: redirects}
	s.opts = auth.Options{
		SecretKey: testSecretKey, Verifier: verifier, Identity: ids, Client: client, Redirects: redirects,
	}
	return s
}

// session is a signed-in browser.
type session struct {
	userID, sessionID, email string
	token, clientCookie      string
}

// signIn creates a user and signs them in, returning the browser's cookies.
func (s *stack) signIn(t testing.TB, email string) session {
	t.Helper()
	ctx := context.Background()
	pw := testPassword
	u, err := s.client.Users.CreateUser(ctx, clerkclient.CreateUserParams{EmailAddress: []string{email}, Password: &pw})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	res, err := s.ids.SignIn(ctx, email, pw, "", "")
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	rec := httptest.NewRecorder()
	s.ids.Cookies().SetSignedIn(rec, res)
	out := session{userID: u.ID, sessionID: res.Session.ID, email: email}
	for _, c := range rec.Result().Cookies() {
		switch c.Name {
		case identity.SessionCookie:
			out.token = c.Value
		case identity.ClientCookie:
			out.clientCookie = c.Value
		}
	}
	if out.token == "" || out.clientCookie == "" {
		t.Fatalf("sign-in set cookies %v, want both %s and %s", rec.Result().Cookies(), identity.SessionCookie, identity.ClientCookie)
	}
	return out
}

// signClaims signs a session token for sess's session, changed by mutate.
func (s *stack) signClaims(t *testing.T, sess session, mutate func(*token.Claims)) string {
	t.Helper()
	now := time.Now().Unix()
	c := &token.Claims{
		Issuer: appURL, Subject: sess.userID, SessionID: sess.sessionID,
		IssuedAt: now, NotBefore: now - 5, Expiry: now + 60, ID: "jti_" + sess.sessionID,
		Version: 2, AuthorizedParty: appURL, Status: "active", FVA: []int{0, -1},
	}
	if mutate != nil {
		mutate(c)
	}
	tok, err := s.keys.SignSession(c)
	if err != nil {
		t.Fatalf("SignSession: %v", err)
	}
	return tok
}

type reqOpt func(*http.Request)

func withCookie(name, value string) reqOpt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: name, Value: value}) }
}

func withHeader(name, value string) reqOpt {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

func newReq(target string, opts ...reqOpt) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, o := range opts {
		o(r)
	}
	return r
}

// serve sends r through the middleware (configured by opts) to h.
func serve(opts auth.Options, r *http.Request, h http.HandlerFunc) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	auth.Middleware(opts)(h).ServeHTTP(rec, r)
	return rec
}

// getAuth returns what GetAuth says about r behind the middleware.
func (s *stack) getAuth(t *testing.T, r *http.Request, opts ...auth.Option) (*auth.Auth, *httptest.ResponseRecorder) {
	t.Helper()
	var a *auth.Auth
	var err error
	rec := serve(s.opts, r, func(w http.ResponseWriter, r *http.Request) {
		a, err = auth.GetAuth(r, opts...)
	})
	if err != nil {
		t.Fatalf("GetAuth: got error %v, want nil", err)
	}
	if a == nil {
		t.Fatal("GetAuth: got nil Auth, want non-nil")
	}
	return a, rec
}

func TestGetAuthErrors(t *testing.T) {
	s := newStack(t)
	noKey := s.opts
	noKey.SecretKey = ""

	t.Run("nil request", func(t *testing.T) {
		a, err := auth.GetAuth(nil)
		if !errors.Is(err, auth.ErrInvalidRequest) || a != nil {
			t.Errorf("got (%v, %v), want (nil, ErrInvalidRequest)", a, err)
		}
	})
	t.Run("no middleware", func(t *testing.T) {
		a, err := auth.GetAuth(newReq("/"))
		if !errors.Is(err, auth.ErrNoMiddleware) || a != nil {
			t.Errorf("got (%v, %v), want (nil, ErrNoMiddleware)", a, err)
		}
		if err != nil && !strings.Contains(err.Error(), "Middleware") {
			t.Errorf("got message %q, want it to say to install the middleware", err)
		}
	})
	for _, tc := range []struct {
		name    string
		opts    []auth.Option
		wantErr error
	}{
		{"no secret key", nil, auth.ErrMissingSecretKey},
		{"no secret key with other options", []auth.Option{auth.TreatPendingAsSignedOut(true)}, auth.ErrMissingSecretKey},
		{"SecretKey option", []auth.Option{auth.SecretKey(testSecretKey)}, nil},
		{"empty SecretKey option", []auth.Option{auth.SecretKey("")}, auth.ErrMissingSecretKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a *auth.Auth
			var err error
			serve(noKey, newReq("/"), func(w http.ResponseWriter, r *http.Request) { a, err = auth.GetAuth(r, tc.opts...) })
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && (a == nil || a.IsAuthenticated) {
				t.Errorf("got %+v, want a signed-out Auth", a)
			}
		})
	}
	t.Run("signed out is not an error", func(t *testing.T) {
		a, rec := s.getAuth(t, newReq("/"))
		if a.IsAuthenticated {
			t.Errorf("got IsAuthenticated true, want false")
		}
		if got := rec.Header().Get("X-Clerk-Auth-Status"); got != "signed-out" {
			t.Errorf("got X-Clerk-Auth-Status %q, want signed-out", got)
		}
		if got := rec.Header().Get("X-Clerk-Auth-Reason"); got == "" {
			t.Errorf("got empty X-Clerk-Auth-Reason, want a reason")
		}
	})
}

func TestNoStoreAccessOnValidToken(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "count@example.com")

	for _, tc := range []struct {
		name string
		req  *http.Request
	}{
		{"session cookie", newReq("/", withCookie(identity.SessionCookie, sess.token))},
		{"bearer header", newReq("/", withHeader("Authorization", "Bearer "+sess.token))},
		{"session and client cookies", newReq("/", withCookie(identity.SessionCookie, sess.token), withCookie(identity.ClientCookie, sess.clientCookie))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.st.calls()
			a, rec := s.getAuth(t, tc.req)
			if !a.IsAuthenticated || a.UserID != sess.userID {
				t.Fatalf("got IsAuthenticated %v UserID %q, want true %q", a.IsAuthenticated, a.UserID, sess.userID)
			}
			if got := s.st.calls() - before; got != 0 {
				t.Errorf("got %d store calls for a valid token, want 0", got)
			}
			if got := rec.Header().Get("X-Clerk-Auth-Status"); got != "" {
				t.Errorf("got X-Clerk-Auth-Status %q on a signed-in response, want none", got)
			}
		})
	}

	t.Run("refresh from the client cookie uses the store", func(t *testing.T) {
		before := s.st.calls()
		a, rec := s.getAuth(t, newReq("/", withCookie(identity.ClientCookie, sess.clientCookie)))
		if !a.IsAuthenticated || a.SessionID != sess.sessionID {
			t.Fatalf("got IsAuthenticated %v SessionID %q, want true %q", a.IsAuthenticated, a.SessionID, sess.sessionID)
		}
		if got := s.st.calls() - before; got == 0 {
			t.Errorf("got 0 store calls on the refresh path, want > 0")
		}
		var minted string
		for _, c := range rec.Result().Cookies() {
			if c.Name == identity.SessionCookie {
				minted = c.Value
			}
		}
		if minted == "" {
			t.Fatalf("refresh set no %s cookie", identity.SessionCookie)
		}
		if got, err := a.GetToken(context.Background(), auth.GetTokenOptions{}); err != nil || got != minted {
			t.Errorf("GetToken after refresh: got (%.10s…, %v), want the minted cookie %.10s…", got, err, minted)
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("got Cache-Control %q on a response setting a cookie, want no-store", got)
		}
	})
}

// TestSessionCookieHeaders: the session cookie is read as net/http's
// r.Cookie reads it (the first cookie of the name whose value has only
// valid bytes, quotes removed), however the Cookie header is written.
func TestSessionCookieHeaders(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "cookies@example.com")
	v := sess.token
	expired := s.signClaims(t, sess, func(c *token.Claims) { c.IssuedAt -= 600; c.NotBefore -= 600; c.Expiry -= 600 })
	many := strings.Repeat("pad=1; ", 70)
	for _, tc := range []struct {
		name       string
		lines      []string
		wantIn     bool
		wantReason string
	}{
		{"plain", []string{"__session=" + v}, true, ""},
		{"quoted", []string{`__session="` + v + `"`}, true, ""},
		{"among other cookies", []string{"a=1; __session=" + v + "; b=2"}, true, ""},
		{"spaces around the pair", []string{"a=1;   __session=" + v + "  "}, true, ""},
		{"on the second header line", []string{"a=1", "__session=" + v}, true, ""},
		{"after more cookies than the quick path reads", []string{many + "__session=" + v}, true, ""},
		{"after one with a byte cookies may not hold", []string{`__session=x"y; __session=` + v}, true, ""},
		{"after a valid cookie that is no token", []string{"__session=not-a-token; __session=" + v}, false, token.ReasonInvalid},
		{"after an empty one", []string{"__session=; __session=" + v}, false, "session-token-missing"},
		{"with a space before the value", []string{"__session= " + v}, false, token.ReasonInvalid},
		{"expired", []string{"__session=" + expired}, false, token.ReasonExpired},
		{"none", []string{"a=1"}, false, "session-token-missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReq("/")
			for _, l := range tc.lines {
				r.Header.Add("Cookie", l)
			}
			a, _ := s.getAuth(t, r)
			if a.IsAuthenticated != tc.wantIn {
				t.Fatalf("got IsAuthenticated %v, want %v", a.IsAuthenticated, tc.wantIn)
			}
			if got := a.Debug()["reason"]; !tc.wantIn && got != tc.wantReason {
				t.Errorf("got reason %v, want %s", got, tc.wantReason)
			}
		})
	}
}

func TestRefreshOfEndedSessionClearsCookies(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "ended@example.com")
	if _, err := s.client.Sessions.RevokeSession(context.Background(), sess.sessionID); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	a, rec := s.getAuth(t, newReq("/", withCookie(identity.ClientCookie, sess.clientCookie)))
	if a.IsAuthenticated {
		t.Fatalf("got IsAuthenticated true after revocation, want false")
	}
	cleared := map[string]bool{}
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			cleared[c.Name] = true
		}
	}
	if !cleared[identity.ClientCookie] || !cleared[identity.SessionCookie] {
		t.Errorf("got cleared cookies %v, want both %s and %s cleared", cleared, identity.ClientCookie, identity.SessionCookie)
	}
	if got := rec.Header().Get("X-Clerk-Auth-Status"); got != "signed-out" {
		t.Errorf("got X-Clerk-Auth-Status %q, want signed-out", got)
	}
}

func TestAuthorizationHeader(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "header@example.com")
	other := s.signIn(t, "other@example.com")

	for _, tc := range []struct {
		name     string
		req      *http.Request
		wantUser string // "" means signed out
	}{
		{"valid cookie, invalid bearer", newReq("/", withCookie(identity.SessionCookie, sess.token), withHeader("Authorization", "Bearer not-a-token")), ""},
		{"valid cookie, bearer of another user", newReq("/", withCookie(identity.SessionCookie, sess.token), withHeader("Authorization", "Bearer "+other.token)), other.userID},
		{"valid cookie, empty bearer", newReq("/", withCookie(identity.SessionCookie, sess.token), withHeader("Authorization", "Bearer ")), ""},
		{"basic auth is ignored", newReq("/", withCookie(identity.SessionCookie, sess.token), withHeader("Authorization", "Basic dXNlcjpwYXNz")), sess.userID},
		{"bare token", newReq("/", withHeader("Authorization", sess.token)), sess.userID},
		{"bearer", newReq("/", withHeader("Authorization", "Bearer "+sess.token)), sess.userID},
		{"bearer, lower-case scheme", newReq("/", withHeader("Authorization", "bearer "+sess.token)), sess.userID},
		{"bearer with a valid client cookie does not refresh", newReq("/", withCookie(identity.ClientCookie, sess.clientCookie), withHeader("Authorization", "Bearer x.y.z")), ""},
		{"invalid cookie, no client cookie", newReq("/", withCookie(identity.SessionCookie, "x.y.z")), ""},
		{"invalid cookie, valid client cookie refreshes", newReq("/", withCookie(identity.SessionCookie, "x.y.z"), withCookie(identity.ClientCookie, sess.clientCookie)), sess.userID},
		{"tampered client cookie", newReq("/", withCookie(identity.ClientCookie, sess.clientCookie[:len(sess.clientCookie)-3]+"AAA")), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, rec := s.getAuth(t, tc.req)
			if a.UserID != tc.wantUser || a.IsAuthenticated != (tc.wantUser != "") {
				t.Errorf("got IsAuthenticated %v UserID %q, want %v %q", a.IsAuthenticated, a.UserID, tc.wantUser != "", tc.wantUser)
			}
			if tc.wantUser == "" {
				if got := rec.Header().Get("X-Clerk-Auth-Reason"); got == "" {
					t.Errorf("got no X-Clerk-Auth-Reason on a signed-out response, want one")
				}
				for _, c := range rec.Result().Cookies() {
					if c.Name == identity.SessionCookie && c.MaxAge >= 0 {
						t.Errorf("got a new %s cookie on the header path, want no refresh", c.Name)
					}
				}
			}
		})
	}
}

var authJSONKeys = []string{
	"tokenType", "isAuthenticated", "userId", "sessionId", "sessionStatus", "sessionClaims", "actor",
	"orgId", "orgRole", "orgSlug", "orgPermissions", "factorVerificationAge",
}

func decodeObject(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("json.Unmarshal(%s): %v", b, err)
	}
	return m
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestAuthJSON(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "json@example.com")
	want := slices.Clone(authJSONKeys)
	sort.Strings(want)

	signedIn, _ := s.getAuth(t, newReq("/", withCookie(identity.SessionCookie, sess.token)))
	signedOut, _ := s.getAuth(t, newReq("/"))
	pending, _ := s.getAuth(t, newReq("/", withCookie(identity.SessionCookie, s.signClaims(t, sess, func(c *token.Claims) { c.Status = "pending" }))),
		auth.TreatPendingAsSignedOut(true))

	for _, tc := range []struct {
		name string
		a    *auth.Auth
		// wantValues lists the non-null values; every other key is null.
		wantValues map[string]any
	}{
		{"signed out", signedOut, map[string]any{"isAuthenticated": false, "tokenType": "session_token"}},
		{"pending treated as signed out", pending, map[string]any{"isAuthenticated": false, "tokenType": "session_token", "sessionStatus": "pending"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := decodeObject(t, tc.a)
			if got := sortedKeys(m); !reflect.DeepEqual(got, want) {
				t.Fatalf("got keys %v, want %v", got, want)
			}
			for k, v := range m {
				if wv, ok := tc.wantValues[k]; ok {
					if v != wv {
						t.Errorf("%s: got %#v, want %#v", k, v, wv)
					}
				} else if v != nil {
					t.Errorf("%s: got %#v, want null", k, v)
				}
			}
		})
	}

	t.Run("signed in", func(t *testing.T) {
		m := decodeObject(t, signedIn)
		if got := sortedKeys(m); !reflect.DeepEqual(got, want) {
			t.Fatalf("got keys %v, want %v", got, want)
		}
		for k, wv := range map[string]any{
			"tokenType": "session_token", "isAuthenticated": true, "userId": sess.userID,
			"sessionId": sess.sessionID, "sessionStatus": "active",
			"orgId": nil, "orgRole": nil, "orgSlug": nil, "orgPermissions": nil, "actor": nil,
		} {
			if m[k] != wv {
				t.Errorf("%s: got %#v, want %#v", k, m[k], wv)
			}
		}
		claims, ok := m["sessionClaims"].(map[string]any)
		if !ok || claims["sub"] != sess.userID || claims["sid"] != sess.sessionID {
			t.Errorf("sessionClaims: got %#v, want the token's claims", m["sessionClaims"])
		}
		if fva, ok := m["factorVerificationAge"].([]any); !ok || len(fva) != 2 {
			t.Errorf("factorVerificationAge: got %#v, want a two-number array", m["factorVerificationAge"])
		}
		for k, v := range m {
			if v == "" {
				t.Errorf("%s: got \"\", want a value or null", k)
			}
		}
	})

	t.Run("signed in with an organization", func(t *testing.T) {
		tok := s.signClaims(t, sess, func(c *token.Claims) {
			c.Org = &token.OrgClaim{ID: "org_1", Slug: "acme", Role: "admin", Permissions: "manage,read", FeatureMask: "3"}
			c.Features = "o:team"
		})
		a, _ := s.getAuth(t, newReq("/", withCookie(identity.SessionCookie, tok)))
		m := decodeObject(t, a)
		for k, wv := range map[string]any{"orgId": "org_1", "orgSlug": "acme", "orgRole": "org:admin"} {
			if m[k] != wv {
				t.Errorf("%s: got %#v, want %#v", k, m[k], wv)
			}
		}
		perms, _ := m["orgPermissions"].([]any)
		if got := len(perms); got != 2 {
			t.Errorf("orgPermissions: got %#v, want [org:team:manage org:team:read]", m["orgPermissions"])
		}
	})
}

func TestHas(t *testing.T) {
	admin := &auth.Auth{
		TokenType: auth.SessionToken, IsAuthenticated: true, UserID: "user_1", SessionID: "sess_1",
		SessionStatus: "active", OrgID: "org_1", OrgRole: "org:admin", OrgSlug: "acme",
		OrgPermissions: []string{"org:team:manage", "org:team:read", "org:sys_memberships:manage"},
	}
	noOrg := &auth.Auth{TokenType: auth.SessionToken, IsAuthenticated: true, UserID: "user_1", SessionID: "sess_1", SessionStatus: "active"}
	signedOut := &auth.Auth{TokenType: auth.SessionToken}
	var nilAuth *auth.Auth

	for _, tc := range []struct {
		name string
		a    *auth.Auth
		p    auth.HasParams
		want bool
	}{
		{"nil", nilAuth, auth.HasParams{Role: "admin"}, false},
		{"signed out role", signedOut, auth.HasParams{Role: "admin"}, false},
		{"signed out permission", signedOut, auth.HasParams{Permission: "org:team:read"}, false},
		{"no org role", noOrg, auth.HasParams{Role: "admin"}, false},
		{"no org permission", noOrg, auth.HasParams{Permission: "org:team:read"}, false},
		{"empty params", admin, auth.HasParams{}, false},
		{"empty params no org", noOrg, auth.HasParams{}, false},
		{"role without prefix", admin, auth.HasParams{Role: "admin"}, true},
		{"role with prefix", admin, auth.HasParams{Role: "org:admin"}, true},
		{"role with double prefix", admin, auth.HasParams{Role: "org:org:admin"}, true},
		{"other role", admin, auth.HasParams{Role: "member"}, false},
		{"other role with prefix", admin, auth.HasParams{Role: "org:member"}, false},
		{"role is case sensitive", admin, auth.HasParams{Role: "Admin"}, false},
		{"permission exact", admin, auth.HasParams{Permission: "org:team:manage"}, true},
		{"system permission", admin, auth.HasParams{Permission: "org:sys_memberships:manage"}, true},
		{"permission without prefix (Clerk normalises it)", admin, auth.HasParams{Permission: "team:manage"}, true},
		{"permission with double prefix", admin, auth.HasParams{Permission: "org:org:team:manage"}, true},
		{"permission prefix of another", admin, auth.HasParams{Permission: "org:team"}, false},
		{"permission missing", admin, auth.HasParams{Permission: "org:billing:read"}, false},
		{"both asked: false permission, true role", admin, auth.HasParams{Permission: "org:billing:read", Role: "admin"}, false},
		{"both asked: true permission, false role (Clerk's SDK needs both)", admin, auth.HasParams{Permission: "org:team:read", Role: "member"}, false},
		{"both asked and both held", admin, auth.HasParams{Permission: "org:team:read", Role: "admin"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.Has(tc.p); got != tc.want {
				t.Errorf("Has(%+v): got %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestAcceptsToken(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "accepts@example.com")
	cookie := withCookie(identity.SessionCookie, sess.token)

	for _, tc := range []struct {
		name     string
		req      *http.Request
		opts     []auth.Option
		wantType auth.TokenType
		wantAuth bool
	}{
		{"default, session token", newReq("/", cookie), nil, auth.SessionToken, true},
		{"empty list means the default", newReq("/", cookie), []auth.Option{auth.AcceptsToken()}, auth.SessionToken, true},
		{"session_token explicitly", newReq("/", cookie), []auth.Option{auth.AcceptsToken(auth.SessionToken)}, auth.SessionToken, true},
		{"m2m only, session token", newReq("/", cookie), []auth.Option{auth.AcceptsToken(auth.M2MToken)}, auth.M2MToken, false},
		{"api key only, session token", newReq("/", cookie), []auth.Option{auth.AcceptsToken(auth.APIKey)}, auth.APIKey, false},
		{"list without the presented type", newReq("/", cookie), []auth.Option{auth.AcceptsToken(auth.M2MToken, auth.APIKey)}, "", false},
		{"list with the presented type", newReq("/", cookie), []auth.Option{auth.AcceptsToken(auth.M2MToken, auth.SessionToken)}, auth.SessionToken, true},
		{"any, session token", newReq("/", cookie), []auth.Option{auth.AcceptsToken(auth.AnyToken)}, auth.SessionToken, true},
		{"default, m2m bearer", newReq("/", withHeader("Authorization", "Bearer mt_abc")), nil, auth.SessionToken, false},
		{"default, m2m bearer beside a valid cookie", newReq("/", cookie, withHeader("Authorization", "Bearer mt_abc")), nil, auth.SessionToken, false},
		{"m2m only, m2m bearer", newReq("/", withHeader("Authorization", "Bearer mt_abc")), []auth.Option{auth.AcceptsToken(auth.M2MToken)}, auth.M2MToken, false},
		{"any, m2m bearer", newReq("/", withHeader("Authorization", "Bearer mt_abc")), []auth.Option{auth.AcceptsToken(auth.AnyToken)}, auth.M2MToken, false},
		{"any, api key bearer", newReq("/", withHeader("Authorization", "Bearer ak_abc")), []auth.Option{auth.AcceptsToken(auth.AnyToken)}, auth.APIKey, false},
		{"oauth only, oauth bearer", newReq("/", withHeader("Authorization", "Bearer oat_abc")), []auth.Option{auth.AcceptsToken(auth.OAuthToken)}, auth.OAuthToken, false},
		{"m2m only, nothing presented", newReq("/"), []auth.Option{auth.AcceptsToken(auth.M2MToken)}, auth.M2MToken, false},
		{"any, nothing presented", newReq("/"), []auth.Option{auth.AcceptsToken(auth.AnyToken)}, auth.SessionToken, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := s.getAuth(t, tc.req, tc.opts...)
			if a.TokenType != tc.wantType || a.IsAuthenticated != tc.wantAuth {
				t.Fatalf("got TokenType %q IsAuthenticated %v, want %q %v", a.TokenType, a.IsAuthenticated, tc.wantType, tc.wantAuth)
			}
			m := decodeObject(t, a)
			if tc.wantType == "" && m["tokenType"] != nil {
				t.Errorf("JSON tokenType: got %#v, want null", m["tokenType"])
			}
			if !tc.wantAuth {
				if a.UserID != "" || m["userId"] != nil || m["sessionId"] != nil {
					t.Errorf("got userId %#v sessionId %#v on an unauthenticated object, want null", m["userId"], m["sessionId"])
				}
				if a.Has(auth.HasParams{Role: "admin"}) {
					t.Errorf("Has: got true on an unauthenticated object, want false")
				}
			}
		})
	}
}

func TestTreatPendingAsSignedOut(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "pending@example.com")
	tok := s.signClaims(t, sess, func(c *token.Claims) { c.Status = "pending" })

	for _, tc := range []struct {
		name     string
		opts     []auth.Option
		wantAuth bool
	}{
		{"default", nil, true},
		{"false", []auth.Option{auth.TreatPendingAsSignedOut(false)}, true},
		{"true", []auth.Option{auth.TreatPendingAsSignedOut(true)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := s.getAuth(t, newReq("/", withCookie(identity.SessionCookie, tok)), tc.opts...)
			if a.IsAuthenticated != tc.wantAuth {
				t.Errorf("got IsAuthenticated %v, want %v", a.IsAuthenticated, tc.wantAuth)
			}
			if a.SessionStatus != "pending" {
				t.Errorf("got SessionStatus %q, want pending", a.SessionStatus)
			}
			if !tc.wantAuth && (a.UserID != "" || a.SessionID != "" || a.TokenType != auth.SessionToken) {
				t.Errorf("got UserID %q SessionID %q TokenType %q, want \"\" \"\" session_token", a.UserID, a.SessionID, a.TokenType)
			}
		})
	}
	t.Run("active session with true", func(t *testing.T) {
		a, _ := s.getAuth(t, newReq("/", withCookie(identity.SessionCookie, sess.token)), auth.TreatPendingAsSignedOut(true))
		if !a.IsAuthenticated {
			t.Errorf("got IsAuthenticated false for an active session, want true")
		}
	})
}

func TestGetAuthRepeatedCalls(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "repeat@example.com")
	for _, tc := range []struct {
		name string
		req  *http.Request
	}{
		{"signed in", newReq("/", withCookie(identity.SessionCookie, sess.token))},
		{"signed out", newReq("/")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serve(s.opts, tc.req, func(w http.ResponseWriter, r *http.Request) {
				a1, err1 := auth.GetAuth(r)
				a2, err2 := auth.GetAuth(r)
				if err1 != nil || err2 != nil {
					t.Fatalf("got errors %v, %v, want nil", err1, err2)
				}
				if a1 != a2 {
					t.Errorf("got different pointers %p and %p, want the same", a1, a2)
				}
				p, err := auth.BuildClerkProps(r)
				if err != nil {
					t.Fatalf("BuildClerkProps: %v", err)
				}
				if p.Auth() != a1 {
					t.Errorf("BuildClerkProps Auth: got %p, want GetAuth's %p", p.Auth(), a1)
				}
				o1, _ := auth.GetAuth(r, auth.AcceptsToken(auth.AnyToken))
				o2, _ := auth.GetAuth(r, auth.AcceptsToken(auth.AnyToken))
				j1, _ := json.Marshal(o1)
				j2, _ := json.Marshal(o2)
				if !bytes.Equal(j1, j2) {
					t.Errorf("with the same options: got %s and %s, want the same value", j1, j2)
				}
			})
		})
	}
}

func TestGetToken(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "gettoken@example.com")
	ctx := context.Background()

	t.Run("signed out", func(t *testing.T) {
		a, _ := s.getAuth(t, newReq("/"))
		for _, o := range []auth.GetTokenOptions{{}, {SkipCache: true}, {Template: "supabase"}} {
			if tok, err := a.GetToken(ctx, o); tok != "" || err != nil {
				t.Errorf("GetToken(%+v): got (%q, %v), want (\"\", nil)", o, tok, err)
			}
		}
	})

	a, _ := s.getAuth(t, newReq("/", withCookie(identity.SessionCookie, sess.token)))
	t.Run("request token", func(t *testing.T) {
		tok, err := a.GetToken(ctx, auth.GetTokenOptions{})
		if err != nil || tok != sess.token {
			t.Errorf("got (%.12s…, %v), want the request's token", tok, err)
		}
	})
	t.Run("skip cache mints a new token", func(t *testing.T) {
		tok, err := a.GetToken(ctx, auth.GetTokenOptions{SkipCache: true})
		if err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
		if tok == sess.token {
			t.Fatalf("got the request's token, want a fresh one")
		}
		c, err := s.verifier.Verify(tok)
		if err != nil {
			t.Fatalf("minted token does not verify: %v", err)
		}
		if c.SessionID != sess.sessionID || c.Subject != sess.userID {
			t.Errorf("got sid %q sub %q, want %q %q", c.SessionID, c.Subject, sess.sessionID, sess.userID)
		}
	})
	t.Run("unknown template", func(t *testing.T) {
		tok, err := a.GetToken(ctx, auth.GetTokenOptions{Template: "nope"})
		if !errors.Is(err, auth.ErrTemplateNotFound) || tok != "" {
			t.Errorf("got (%q, %v), want (\"\", ErrTemplateNotFound)", tok, err)
		}
	})
	t.Run("revoked session", func(t *testing.T) {
		if _, err := s.client.Sessions.RevokeSession(ctx, sess.sessionID); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
		tok, err := a.GetToken(ctx, auth.GetTokenOptions{SkipCache: true})
		if err == nil || tok != "" {
			t.Errorf("got (%.12q, %v), want an error", tok, err)
		}
	})
}

func TestDebug(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "debug@example.com")
	for _, tc := range []struct {
		name       string
		req        *http.Request
		opts       []auth.Option
		wantStatus string
	}{
		{"signed in", newReq("/", withCookie(identity.SessionCookie, sess.token)), nil, "signed-in"},
		{"signed in, SecretKey option", newReq("/", withCookie(identity.SessionCookie, sess.token)), []auth.Option{auth.SecretKey("sk_live_ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210")}, "signed-in"},
		{"signed out, bad token", newReq("/", withCookie(identity.SessionCookie, "a.b.c")), nil, "signed-out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := s.getAuth(t, tc.req, tc.opts...)
			d := a.Debug()
			if d["status"] != tc.wantStatus {
				t.Errorf("status: got %#v, want %q", d["status"], tc.wantStatus)
			}
			for _, k := range []string{"secretKey", "sessionToken"} {
				if v, ok := d[k].(string); ok && len(v) > 7 {
					t.Errorf("%s: got %d characters (%q), want at most 7", k, len(v), v)
				}
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatalf("json.Marshal(Debug()): %v", err)
			}
			for _, secret := range []string{sess.token, testSecretKey, "sk_live_ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210", sess.clientCookie} {
				if bytes.Contains(b, []byte(secret[:12])) {
					t.Errorf("Debug JSON %s contains a secret prefix longer than 7 characters", b)
				}
			}
		})
	}
}

func TestBuildClerkProps(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	sess := s.signIn(t, "props@example.com")

	t.Run("nil request", func(t *testing.T) {
		if _, err := auth.BuildClerkProps(nil); err == nil {
			t.Errorf("got nil error, want one")
		}
	})

	build := func(t *testing.T, r *http.Request, init ...auth.InitState) []byte {
		t.Helper()
		var out []byte
		serve(s.opts, r, func(w http.ResponseWriter, r *http.Request) {
			p, err := auth.BuildClerkProps(r, init...)
			if err != nil {
				t.Fatalf("BuildClerkProps: %v", err)
			}
			if out, err = json.Marshal(p); err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
		})
		return out
	}

	t.Run("signed out", func(t *testing.T) {
		b := build(t, newReq("/"))
		var wrapper map[string]map[string]any
		if err := json.Unmarshal(b, &wrapper); err != nil || len(wrapper) != 1 {
			t.Fatalf("got %s (%v), want {\"__clerk_ssr_state\":{…}}", b, err)
		}
		st, ok := wrapper["__clerk_ssr_state"]
		if !ok {
			t.Fatalf("got %s, want the __clerk_ssr_state key", b)
		}
		if st["isAuthenticated"] != false || st["userId"] != nil {
			t.Errorf("got isAuthenticated %#v userId %#v, want false null", st["isAuthenticated"], st["userId"])
		}
	})

	t.Run("private metadata removed at every depth", func(t *testing.T) {
		_, err := s.client.Users.UpdateUserMetadata(ctx, sess.userID, auth.UpdateUserMetadataParams{
			PublicMetadata:  json.RawMessage(`{"plan":"pro-PUBLIC"}`),
			PrivateMetadata: json.RawMessage(`{"ssn":"SECRET-USER"}`),
		})
		if err != nil {
			t.Fatalf("UpdateUserMetadata: %v", err)
		}
		user, err := s.client.Users.GetUser(ctx, sess.userID)
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		if !strings.Contains(string(user.PrivateMetadata), "SECRET-USER") {
			t.Fatalf("the backend user has private_metadata %s, want the secret (test setup)", user.PrivateMetadata)
		}
		session, err := s.client.Sessions.GetSession(ctx, sess.sessionID)
		if err != nil {
			t.Fatalf("GetSession: %v", err)
		}
		type member struct {
			Role            string         `json:"role"`
			PrivateMetadata map[string]any `json:"private_metadata"`
			PublicUserData  map[string]any `json:"public_user_data"`
		}
		org := map[string]any{
			"object":           "organization",
			"id":               "org_1",
			"public_metadata":  map[string]any{"tier": "gold-PUBLIC"},
			"private_metadata": map[string]any{"k": "SECRET-ORG-1"},
			"privateMetadata":  "SECRET-ORG-2",
			"memberships": []any{
				member{Role: "org:admin", PrivateMetadata: map[string]any{"k": "SECRET-ORG-3"},
					PublicUserData: map[string]any{"deep": []any{map[string]any{"private_metadata": "SECRET-ORG-4"}}}},
				map[string]any{"nested": map[string]any{"list": []any{[]any{map[string]any{"privateMetadata": map[string]any{"k": "SECRET-ORG-5"}}}}}},
			},
		}
		b := build(t, newReq("/", withCookie(identity.SessionCookie, sess.token)), auth.InitState{User: user, Session: session, Organization: org})
		for _, bad := range []string{"SECRET-", "private_metadata", "privateMetadata"} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("SSR state contains %q: %s", bad, b)
			}
		}
		for _, good := range []string{"pro-PUBLIC", "gold-PUBLIC", "org:admin", sess.sessionID} {
			if !bytes.Contains(b, []byte(good)) {
				t.Errorf("SSR state lacks %q: %s", good, b)
			}
		}
		var wrapper map[string]map[string]any
		if err := json.Unmarshal(b, &wrapper); err != nil {
			t.Fatalf("json.Unmarshal: %v", err)
		}
		st := wrapper["__clerk_ssr_state"]
		want := append(slices.Clone(authJSONKeys), "user", "session", "organization")
		sort.Strings(want)
		if got := sortedKeys(st); !reflect.DeepEqual(got, want) {
			t.Errorf("state keys: got %v, want %v", got, want)
		}
		if st["isAuthenticated"] != true || st["userId"] != sess.userID {
			t.Errorf("got isAuthenticated %#v userId %#v, want true %q", st["isAuthenticated"], st["userId"], sess.userID)
		}
		if u, _ := st["user"].(map[string]any); u == nil || u["id"] != sess.userID {
			t.Errorf("user: got %#v, want the user resource", st["user"])
		}
	})

	t.Run("private metadata removed however it is spelt", func(t *testing.T) {
		_, err := s.client.Users.UpdateUserMetadata(ctx, sess.userID, auth.UpdateUserMetadataParams{
			PublicMetadata: json.RawMessage(`{"nested":{"private_metadata":"SECRET-IN-PUBLIC"},"plan":"pro-PUBLIC"}`),
		})
		if err != nil {
			t.Fatalf("UpdateUserMetadata: %v", err)
		}
		user, err := s.client.Users.GetUser(ctx, sess.userID)
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		// A key written with an escape is the same key once decoded.
		org := json.RawMessage(`{"id":"org_1","private\u005fmetadata":"SECRET-ESCAPED","name":"Acme \u003cInc\u003e"}`)
		b := build(t, newReq("/", withCookie(identity.SessionCookie, sess.token)), auth.InitState{User: user, Organization: org})
		if bytes.Contains(b, []byte("SECRET-")) {
			t.Errorf("SSR state contains a secret: %s", b)
		}
		for _, good := range []string{"pro-PUBLIC", "org_1", sess.userID} {
			if !bytes.Contains(b, []byte(good)) {
				t.Errorf("SSR state lacks %q: %s", good, b)
			}
		}
	})
}

func TestProtect(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "protect@example.com")
	orgTok := s.signClaims(t, sess, func(c *token.Claims) {
		c.Org = &token.OrgClaim{ID: "org_1", Slug: "acme", Role: "admin", Permissions: "manage,read", FeatureMask: "3"}
		c.Features = "o:team"
	})
	pendingTok := s.signClaims(t, sess, func(c *token.Claims) { c.Status = "pending" })
	html := withHeader("Accept", "text/html,application/xhtml+xml")
	doc := withHeader("Sec-Fetch-Dest", "document")
	api := withHeader("Accept", "application/json")
	signedIn := withCookie(identity.SessionCookie, sess.token)
	org := withCookie(identity.SessionCookie, orgTok)
	pending := withCookie(identity.SessionCookie, pendingTok)
	signInLocation := "/sign-in?redirect_url=" + url.QueryEscape(appURL+"/dashboard?tab=1")

	forbiddenPage := func(w http.ResponseWriter, r *http.Request, status int) {
		w.Header().Set("X-Forbidden-Page", "1")
		w.WriteHeader(status)
	}

	for _, tc := range []struct {
		name         string
		req          *http.Request
		opts         []auth.ProtectOption
		forbidden    func(http.ResponseWriter, *http.Request, int)
		wantStatus   int
		wantLocation string
		wantBody     string // exact JSON body when set
		wantHTML     bool
	}{
		{"signed out page (Accept)", newReq("/dashboard?tab=1", html), nil, nil, http.StatusTemporaryRedirect, signInLocation, "", false},
		{"signed out page (Sec-Fetch-Dest)", newReq("/dashboard?tab=1", doc), nil, nil, http.StatusTemporaryRedirect, signInLocation, "", false},
		{"signed out API", newReq("/dashboard?tab=1", api), nil, nil, http.StatusUnauthorized, "", `{"error":"Unauthorized"}`, false},
		{"signed out, no Accept", newReq("/api/me"), nil, nil, http.StatusUnauthorized, "", `{"error":"Unauthorized"}`, false},
		{"signed in", newReq("/dashboard", signedIn, html), nil, nil, http.StatusOK, "", "", false},
		{"signed in API", newReq("/api/me", signedIn, api), nil, nil, http.StatusOK, "", "", false},
		{"no org, role required, API", newReq("/api/me", signedIn, api), []auth.ProtectOption{auth.WithRole("admin")}, nil, http.StatusForbidden, "", `{"error":"Forbidden"}`, false},
		{"no org, role required, page", newReq("/admin", signedIn, html), []auth.ProtectOption{auth.WithRole("admin")}, nil, http.StatusForbidden, "", "", true},
		{"no org, role required, custom page", newReq("/admin", signedIn, doc), []auth.ProtectOption{auth.WithRole("admin")}, forbiddenPage, http.StatusForbidden, "", "", false},
		{"org admin, role admin", newReq("/admin", org, api), []auth.ProtectOption{auth.WithRole("org:admin")}, nil, http.StatusOK, "", "", false},
		{"org admin, role member", newReq("/admin", org, api), []auth.ProtectOption{auth.WithRole("member")}, nil, http.StatusForbidden, "", `{"error":"Forbidden"}`, false},
		{"org admin, permission held", newReq("/admin", org, api), []auth.ProtectOption{auth.WithPermission("org:team:manage")}, nil, http.StatusOK, "", "", false},
		{"org admin, permission missing", newReq("/admin", org, api), []auth.ProtectOption{auth.WithPermission("org:billing:read")}, nil, http.StatusForbidden, "", `{"error":"Forbidden"}`, false},
		{"condition true", newReq("/x", signedIn, api), []auth.ProtectOption{auth.WithCondition(func(a *auth.Auth) bool { return a.UserID == sess.userID })}, nil, http.StatusOK, "", "", false},
		{"condition false", newReq("/x", signedIn, api), []auth.ProtectOption{auth.WithCondition(func(*auth.Auth) bool { return false })}, nil, http.StatusForbidden, "", `{"error":"Forbidden"}`, false},
		{"pending page", newReq("/dashboard", pending, html), nil, nil, http.StatusTemporaryRedirect, auth.PendingTaskURL, "", false},
		{"pending API", newReq("/api/me", pending, api), nil, nil, http.StatusUnauthorized, "", `{"error":"Unauthorized"}`, false},
	} {
		for _, mode := range []string{"Protect", "Require"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				opts := s.opts
				opts.Refusals = auth.Refusals{Page: tc.forbidden}
				called := false
				next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					called = true
					w.WriteHeader(http.StatusOK)
				})
				var h http.Handler
				if mode == "Protect" {
					h = auth.Protect(tc.opts...)(next)
				} else {
					h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if a := auth.Require(w, r, tc.opts...); a != nil {
							if !a.IsAuthenticated {
								t.Errorf("Require returned a signed-out Auth")
							}
							next.ServeHTTP(w, r)
						}
					})
				}
				rec := serve(opts, tc.req, h.ServeHTTP)
				if rec.Code != tc.wantStatus {
					t.Fatalf("got status %d, want %d (body %q)", rec.Code, tc.wantStatus, rec.Body.String())
				}
				if wantNext := tc.wantStatus == http.StatusOK; called != wantNext {
					t.Errorf("next called: got %v, want %v", called, wantNext)
				}
				if got := rec.Header().Get("Location"); got != tc.wantLocation {
					t.Errorf("Location: got %q, want %q", got, tc.wantLocation)
				}
				if tc.wantBody != "" {
					if got := strings.TrimSpace(rec.Body.String()); got != tc.wantBody {
						t.Errorf("body: got %q, want %q", got, tc.wantBody)
					}
					if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
						t.Errorf("Content-Type: got %q, want application/json", got)
					}
				}
				if tc.wantHTML {
					if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
						t.Errorf("Content-Type: got %q, want text/html", got)
					}
				}
				if tc.forbidden != nil && rec.Header().Get("X-Forbidden-Page") != "1" {
					t.Errorf("the configured Forbidden page was not used")
				}
			})
		}
	}

	t.Run("sign-in redirect_url is absolute and on the site", func(t *testing.T) {
		rec := serve(s.opts, newReq("/profile/settings?a=1&b=%2F", html), auth.Protect()(http.NotFoundHandler()).ServeHTTP)
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil {
			t.Fatalf("Location %q does not parse: %v", rec.Header().Get("Location"), err)
		}
		if got, want := loc.Query().Get("redirect_url"), appURL+"/profile/settings?a=1&b=%2F"; got != want {
			t.Errorf("redirect_url: got %q, want %q", got, want)
		}
		if loc.Path != "/sign-in" || loc.Host != "" {
			t.Errorf("Location: got %q, want /sign-in on this site", loc)
		}
	})
}

func TestProtectIf(t *testing.T) {
	s := newStack(t)
	h := auth.ProtectIf(auth.RouteMatcher("/dashboard(.*)", "/admin"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/dashboard", http.StatusUnauthorized},
		{"/dashboard/items", http.StatusUnauthorized},
		{"/admin", http.StatusUnauthorized},
		{"/admin/x", http.StatusTeapot},
		{"/", http.StatusTeapot},
		{"/public", http.StatusTeapot},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := serve(s.opts, newReq(tc.path), h.ServeHTTP)
			if rec.Code != tc.want {
				t.Errorf("got status %d, want %d", rec.Code, tc.want)
			}
		})
	}
}

func TestRouteMatcher(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		path    string
		want    bool
	}{
		{"/dashboard(.*)", "/dashboard", true},
		{"/dashboard(.*)", "/Dashboard/", true},
		{"/dashboard(.*)", "/dashboard/", true},
		{"/dashboard(.*)", "/dashboard/x", true},
		{"/dashboard(.*)", "/dashboard/x/y", true},
		{"/dashboard(.*)", "/dashboardx", true}, // Clerk's documented quirk
		{"/dashboard(.*)", "/dashboard?tab=1", true},
		{"/dashboard(.*)", "/other", false},
		{"/dashboard(.*)", "/", false},
		{"/dashboard(.*)", "/x/dashboard", false},
		{"/dashboard", "/dashboard", true},
		{"/dashboard", "/Dashboard/", true},
		{"/dashboard", "/DASHBOARD", true},
		{"/dashboard", "/dashboard?x=1", true},
		{"/dashboard", "/dashboard/x", false},
		{"/dashboard", "/dashboardx", false},
		{"/dashboard/(.*)", "/dashboardx", false},
		{"/dashboard/(.*)", "/dashboard/x", true},
		{"/a.b", "/aXb", false},
		{"/a.b", "/a.b", true},
	} {
		t.Run(tc.pattern+" "+tc.path, func(t *testing.T) {
			m := auth.RouteMatcher(tc.pattern)
			if got := m(newReq(tc.path)); got != tc.want {
				t.Errorf("RouteMatcher(%q)(%q): got %v, want %v", tc.pattern, tc.path, got, tc.want)
			}
		})
	}
	t.Run("several patterns", func(t *testing.T) {
		m := auth.RouteMatcher("/a", "/b(.*)")
		for path, want := range map[string]bool{"/a": true, "/b/c": true, "/c": false} {
			if got := m(newReq(path)); got != want {
				t.Errorf("%q: got %v, want %v", path, got, want)
			}
		}
	})
}

func apiCode(t *testing.T, err error) (int, string) {
	t.Helper()
	var e *auth.APIError
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want an *auth.APIError", err, err)
	}
	return e.Status, e.Code()
}

func TestBackendClient(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()

	refreshErr := func(t *testing.T, sess session) error {
		t.Helper()
		_, err := s.ids.Refresh(ctx, sess.clientCookie, "")
		return err
	}

	t.Run("GetUser unknown", func(t *testing.T) {
		_, err := s.client.Users.GetUser(ctx, "user_doesnotexist")
		if !auth.IsNotFound(err) {
			t.Errorf("IsNotFound(%v): got false, want true", err)
		}
		if status, code := apiCode(t, err); status != http.StatusNotFound || code != "resource_not_found" {
			t.Errorf("got %d %q, want 404 resource_not_found", status, code)
		}
	})
	t.Run("CreateUser duplicate email", func(t *testing.T) {
		if _, err := s.client.Users.CreateUser(ctx, clerkclient.CreateUserParams{EmailAddress: []string{"dup@example.com"}}); err != nil {
			t.Fatalf("first CreateUser: %v", err)
		}
		_, err := s.client.Users.CreateUser(ctx, clerkclient.CreateUserParams{EmailAddress: []string{" Dup@Example.COM "}})
		if status, code := apiCode(t, err); status != http.StatusUnprocessableEntity || code != "form_identifier_exists" {
			t.Errorf("got %d %q, want 422 form_identifier_exists", status, code)
		}
	})
	t.Run("UpdateUserMetadata deep merge", func(t *testing.T) {
		u, err := s.client.Users.CreateUser(ctx, clerkclient.CreateUserParams{
			EmailAddress:   []string{"meta@example.com"},
			PublicMetadata: json.RawMessage(`{"a":1,"nested":{"x":1,"y":2},"list":[1,2],"keep":"k"}`),
		})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		u, err = s.client.Users.UpdateUserMetadata(ctx, u.ID, auth.UpdateUserMetadataParams{
			PublicMetadata: json.RawMessage(`{"a":null,"nested":{"y":null,"z":3},"list":[3],"new":{"n":true}}`),
		})
		if err != nil {
			t.Fatalf("UpdateUserMetadata: %v", err)
		}
		var got, want any
		json.Unmarshal(u.PublicMetadata, &got)
		json.Unmarshal([]byte(`{"nested":{"x":1,"z":3},"list":[3],"keep":"k","new":{"n":true}}`), &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %s, want %v", u.PublicMetadata, want)
		}
		if _, err := s.client.Users.UpdateUserMetadata(ctx, u.ID, auth.UpdateUserMetadataParams{PublicMetadata: json.RawMessage(`[1]`)}); err == nil {
			t.Errorf("non-object metadata: got nil error, want form_param_format_invalid")
		} else if _, code := apiCode(t, err); code != "form_param_format_invalid" {
			t.Errorf("non-object metadata: got %q, want form_param_format_invalid", code)
		}
		_, err = s.client.Users.UpdateUserMetadata(ctx, "user_nope", auth.UpdateUserMetadataParams{PublicMetadata: json.RawMessage(`{}`)})
		if !auth.IsNotFound(err) {
			t.Errorf("unknown user: got %v, want resource_not_found", err)
		}
	})
	t.Run("BanUser revokes sessions", func(t *testing.T) {
		sess := s.signIn(t, "ban@example.com")
		if err := refreshErr(t, sess); err != nil {
			t.Fatalf("refresh before the ban: got %v, want nil", err)
		}
		u, err := s.client.Users.BanUser(ctx, sess.userID)
		if err != nil || !u.Banned {
			t.Fatalf("BanUser: got (%v, %v), want a banned user", u, err)
		}
		if err := refreshErr(t, sess); !errors.Is(err, identity.ErrSignedOut) {
			t.Errorf("refresh after the ban: got %v, want ErrSignedOut", err)
		}
		got, err := s.client.Sessions.GetSession(ctx, sess.sessionID)
		if err != nil || got.Status != store.SessionRevoked {
			t.Errorf("session after the ban: got (%v, %v), want status revoked", got, err)
		}
	})
	t.Run("DeleteUser ends sessions", func(t *testing.T) {
		sess := s.signIn(t, "delete@example.com")
		d, err := s.client.Users.DeleteUser(ctx, sess.userID)
		if err != nil || !d.Deleted || d.ID != sess.userID {
			t.Fatalf("DeleteUser: got (%+v, %v), want deleted", d, err)
		}
		if err := refreshErr(t, sess); !errors.Is(err, identity.ErrSignedOut) {
			t.Errorf("refresh after delete: got %v, want ErrSignedOut", err)
		}
		if _, err := s.client.Users.GetUser(ctx, sess.userID); !auth.IsNotFound(err) {
			t.Errorf("GetUser after delete: got %v, want resource_not_found", err)
		}
		if _, err := s.client.Users.DeleteUser(ctx, sess.userID); !auth.IsNotFound(err) {
			t.Errorf("second DeleteUser: got %v, want resource_not_found", err)
		}
	})
	t.Run("UpdateUser with password ends sessions", func(t *testing.T) {
		sess := s.signIn(t, "newpw@example.com")
		pw := "a brand new passphrase"
		if _, err := s.client.Users.UpdateUser(ctx, sess.userID, clerkclient.UpdateUserParams{Password: &pw}); err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		if err := refreshErr(t, sess); !errors.Is(err, identity.ErrSignedOut) {
			t.Errorf("refresh after the password change: got %v, want ErrSignedOut", err)
		}
		if _, err := s.ids.SignIn(ctx, sess.email, pw, "", ""); err != nil {
			t.Errorf("sign-in with the new password: got %v, want nil", err)
		}
		if _, err := s.ids.SignIn(ctx, sess.email, testPassword, "", ""); err == nil {
			t.Errorf("sign-in with the old password: got nil error, want a refusal")
		}
	})
	t.Run("UpdateUser without password keeps sessions", func(t *testing.T) {
		sess := s.signIn(t, "rename@example.com")
		name := "Renamed"
		if _, err := s.client.Users.UpdateUser(ctx, sess.userID, clerkclient.UpdateUserParams{FirstName: &name}); err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		if err := refreshErr(t, sess); err != nil {
			t.Errorf("refresh after a rename: got %v, want nil", err)
		}
	})
	t.Run("UpdateUser with a common password", func(t *testing.T) {
		sess := s.signIn(t, "weakpw@example.com")
		pw := "password123"
		_, err := s.client.Users.UpdateUser(ctx, sess.userID, clerkclient.UpdateUserParams{Password: &pw})
		if _, code := apiCode(t, err); code != "form_password_pwned" {
			t.Errorf("got %q, want form_password_pwned", code)
		}
		if err := refreshErr(t, sess); err != nil {
			t.Errorf("refresh after a refused password change: got %v, want nil", err)
		}
	})
	t.Run("GetSessionList", func(t *testing.T) {
		sess := s.signIn(t, "list@example.com")
		_, err := s.client.Sessions.GetSessionList(ctx, auth.SessionListParams{})
		if status, code := apiCode(t, err); status != http.StatusUnprocessableEntity || code != "form_param_missing" {
			t.Errorf("no user or client id: got %d %q, want 422 form_param_missing", status, code)
		}
		list, err := s.client.Sessions.GetSessionList(ctx, auth.SessionListParams{UserID: sess.userID})
		if err != nil || len(list.Data) != 1 || list.Data[0].ID != sess.sessionID {
			t.Errorf("by user id: got (%+v, %v), want the one session", list, err)
		}
		_, err = s.client.Sessions.GetSessionList(ctx, auth.SessionListParams{UserID: sess.userID, Status: "bogus"})
		if _, code := apiCode(t, err); code != "form_param_format_invalid" {
			t.Errorf("bad status: got %q, want form_param_format_invalid", code)
		}
	})
	t.Run("RevokeSession unknown", func(t *testing.T) {
		_, err := s.client.Sessions.RevokeSession(ctx, "sess_nope")
		if !auth.IsNotFound(err) {
			t.Errorf("got %v, want resource_not_found", err)
		}
	})
	t.Run("ClerkClient from the request", func(t *testing.T) {
		var got *clerkclient.Client
		serve(s.opts, newReq("/"), func(w http.ResponseWriter, r *http.Request) { got = auth.ClerkClient(r.Context()) })
		if got != s.client {
			t.Errorf("got %p, want the configured client %p", got, s.client)
		}
		if c := auth.ClerkClient(context.Background()); c != nil {
			t.Errorf("without the middleware: got %p, want nil", c)
		}
	})
}
