package e2e

// Tests of key rotation across instances sharing a store, the keys
// command, and the verify-only process of CLERK_JWT_KEY.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/cli"

	"github.com/gatehouse-dev/gatehouse/auth/token"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// jwksKIDs returns the kids an app publishes.
func (ta *testApp) jwksKIDs(t *testing.T) []string {
	t.Helper()
	res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/.well-known/jwks.json", nil, nil)
	assertStatus(t, "GET /.well-known/jwks.json", res, body, http.StatusOK)
	var doc struct{ Keys []struct{ Kid string } }
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range doc.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// sharedEnv is the configuration of another instance of ta: the same
// store, keys and issuer.
func (ta *testApp) sharedEnv() map[string]string {
	return map[string]string{
		"APP_URL":              ta.URL,
		"DATABASE_URL":         ta.Cfg.DatabaseURL,
		"CLERK_SECRET_KEY":     ta.Cfg.SecretKey,
		"CLERK_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(ta.Cfg.EncryptionKey),
		"SESSION_TOKEN_TTL":    ta.Cfg.SessionTokenTTL.String(),
	}
}

// runCLI runs the gatehouse command line with env as the whole
// configuration, in an empty directory (so no .env is read).
func runCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Chdir(t.TempDir())
	for _, k := range []string{"APP_ENV", "APP_URL", "PORT", "DATABASE_URL", "CLERK_SECRET_KEY", "CLERK_ENCRYPTION_KEY",
		"CLERK_SIGNING_KEY", "CLERK_JWT_KEY", "SESSION_TOKEN_TTL", "CLERK_PUBLISHABLE_KEY", "CLERK_AUTHORIZED_PARTIES"} {
		t.Setenv(k, env[k])
		if env[k] == "" {
			os.Unsetenv(k)
		}
	}
	var out, errOut bytes.Buffer
	code = cli.Run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// freshToken mints a new session token for c's session through the
// frontend API.
func (ta *testApp) freshToken(t *testing.T, c *http.Client) string {
	t.Helper()
	res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sessions/"+ta.sessionID(t, c)+"/tokens", nil, sameOrigin)
	assertStatus(t, "POST …/tokens", res, body, http.StatusOK)
	var m struct{ JWT string }
	json.Unmarshal([]byte(body), &m)
	return m.JWT
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func TestKeyRotationAcrossInstances(t *testing.T) {
	a := startApp(t, map[string]string{"SESSION_TOKEN_TTL": "1s"})
	b := startApp(t, a.sharedEnv()) // a second instance on the same database
	a.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := a.Browser(t)
	a.SignIn(t, c, doraEmail, doraPassword)
	oldTok := a.Cookie(t, c, "__session")
	oldHeader, _ := jwtParts(t, oldTok)
	oldKID := oldHeader["kid"].(string)
	if got := b.jwksKIDs(t); !slices.Equal(got, []string{oldKID}) {
		t.Fatalf("JWKS of the second instance before rotation: got %v, want [%s]", got, oldKID)
	}

	code, out, errOut := runCLI(t, a.sharedEnv(), "keys", "rotate")
	if code != 0 {
		t.Fatalf("keys rotate: exit %d: %s%s", code, out, errOut)
	}
	if !strings.Contains(out, "new active key ins_") || !strings.Contains(out, oldKID) {
		t.Errorf("keys rotate output: got %q, want the new kid and the previous one", out)
	}
	rotatedAt := time.Now()

	// Instance A signs with the new key after its periodic reload.
	var newTok, newKID string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		newTok = a.freshToken(t, c)
		h, _ := jwtParts(t, newTok)
		if newKID = h["kid"].(string); newKID != oldKID {
			break
		}
	}
	if newKID == oldKID {
		t.Fatalf("kid of tokens minted after rotation: got the old %s after 5 s, want a new key", oldKID)
	}
	// Instance B verifies it straight away: the unknown kid reloads its keys.
	if res, uid := b.me(t, plainClient(), bearer(newTok)); res.StatusCode != http.StatusOK || uid == "" {
		t.Fatalf("token of the new key on the second instance: got %d, want 200", res.StatusCode)
	}
	for _, inst := range []*testApp{a, b} {
		if got := inst.jwksKIDs(t); !slices.Equal(got, []string{newKID, oldKID}) {
			t.Errorf("JWKS after rotation: got %v, want [%s %s]", got, newKID, oldKID)
		}
	}
	code, out, _ = runCLI(t, a.sharedEnv(), "keys", "list")
	if code != 0 || !strings.Contains(out, newKID) || !strings.Contains(out, "trusted until") {
		t.Errorf("keys list after rotation: exit %d, %q; want the new key and the old one trusted until its retirement", code, out)
	}

	// After the grace both instances retire the old key.
	grace := app.RotationGrace(time.Second)
	time.Sleep(time.Until(rotatedAt.Add(grace + 1500*time.Millisecond)))
	for _, inst := range []*testApp{a, b} {
		if got := inst.jwksKIDs(t); !slices.Equal(got, []string{newKID}) {
			t.Errorf("JWKS after the grace: got %v, want [%s]", got, newKID)
		}
		res, _ := inst.me(t, plainClient(), bearer(oldTok))
		if reason := res.Header.Get("X-Clerk-Auth-Reason"); res.StatusCode != http.StatusUnauthorized || reason != token.ReasonKidMismatch {
			t.Errorf("token of the retired key: got %d (%s), want 401 (%s)", res.StatusCode, reason, token.ReasonKidMismatch)
		}
	}
	code, out, _ = runCLI(t, a.sharedEnv(), "keys", "list")
	if code != 0 || !strings.Contains(out, "retired ") {
		t.Errorf("keys list after the grace: exit %d, %q; want the old key retired", code, out)
	}
	// The browser keeps working: its refresh mints with the new key.
	if res, _ := a.me(t, c, nil); res.StatusCode != http.StatusOK {
		t.Errorf("signed-in browser after the rotation: got %d, want 200", res.StatusCode)
	}
}

func TestKeysCommand(t *testing.T) {
	env := map[string]string{
		"CLERK_SECRET_KEY": config.NewSecretKey(false), "CLERK_ENCRYPTION_KEY": config.NewEncryptionKey(),
		"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "g.db"),
	}
	if code, _, errOut := runCLI(t, env, "keys"); code != 2 || !strings.Contains(errOut, "rotate") {
		t.Errorf("keys without a subcommand: got exit %d %q, want 2 with the usage", code, errOut)
	}
	if code, _, errOut := runCLI(t, env, "keys", "rotate", "--grace", "1m"); code != 1 || !strings.Contains(errOut, "--grace") {
		t.Errorf("keys rotate --grace 1m (< 2 × TTL): got exit %d %q, want 1 naming --grace", code, errOut)
	}
	// An instance-key template living an hour keeps the previous key
	// published for that hour: a shorter --grace is refused.
	if code, _, errOut := runCLI(t, env, "jwt-templates", "create", "--name", "hourly", "--claims", `{"k":"v"}`, "--lifetime", "3600"); code != 0 {
		t.Fatalf("jwt-templates create: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, env, "keys", "rotate", "--grace", "10m"); code != 1 || !strings.Contains(errOut, "JWT templates") {
		t.Errorf("keys rotate --grace 10m with a 1-hour template: got exit %d %q, want 1 naming the templates", code, errOut)
	}
	code, out, errOut := runCLI(t, env, "keys", "list", "--pem")
	if code != 0 {
		t.Fatalf("keys list --pem: exit %d %s", code, errOut)
	}
	keys, err := token.ParsePublicKeysPEM(out)
	if err != nil || len(keys) != 1 || !strings.HasPrefix(out, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("keys list --pem: got %q (%v), want only the public PEM of the one key", out, err)
	}
	code, out, _ = runCLI(t, env, "keys", "list")
	if code != 0 || !strings.Contains(out, keys[0].KID+" ") || !strings.Contains(out, "active") {
		t.Errorf("keys list: got %q, want the key %s active", out, keys[0].KID)
	}
	withJWT := map[string]string{"CLERK_SECRET_KEY": env["CLERK_SECRET_KEY"], "CLERK_JWT_KEY": keys[0].PublicKeyPEM()}
	if code, _, errOut := runCLI(t, withJWT, "keys", "rotate"); code != 1 || !strings.Contains(errOut, "verify-only") {
		t.Errorf("keys rotate in verify-only mode: got exit %d %q, want 1 naming verify-only", code, errOut)
	}
}

func TestVerifyOnlyProcess(t *testing.T) {
	a := startApp(t, nil)
	a.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := a.Browser(t)
	a.SignIn(t, c, doraEmail, doraPassword)
	tok := a.Cookie(t, c, "__session")
	_, claims := jwtParts(t, tok)

	dbPath := filepath.Join(t.TempDir(), "never.db")
	v := startApp(t, map[string]string{
		"APP_URL":              a.URL, // the issuer of A's tokens
		"CLERK_SECRET_KEY":     a.Cfg.SecretKey,
		"CLERK_ENCRYPTION_KEY": "",
		"CLERK_JWT_KEY":        a.App.Keys.Active().PublicKeyPEM(),
		"DATABASE_URL":         "sqlite:" + dbPath,
	})
	if v.App.Store != nil || v.App.Client != nil {
		t.Fatalf("verify-only app: got a store or a backend client, want neither")
	}

	// A Bearer token and a __session cookie verify with the public key alone.
	if res, uid := v.me(t, plainClient(), bearer(tok)); res.StatusCode != http.StatusOK || uid != claims["sub"] {
		t.Errorf("A's token as a Bearer on the verify-only process: got %d %q, want 200 %v", res.StatusCode, uid, claims["sub"])
	}
	cookieOnly := v.browserWith(t, map[string]string{"__session": tok})
	if res, uid := v.me(t, cookieOnly, nil); res.StatusCode != http.StatusOK || uid != claims["sub"] {
		t.Errorf("A's token as a __session cookie: got %d %q, want 200", res.StatusCode, uid)
	}
	res, body := harness.Do(t, plainClient(), http.MethodGet, v.URL+"/api/token", nil, bearer(tok))
	if res.StatusCode != http.StatusOK || !strings.Contains(body, tok) {
		t.Errorf("GET /api/token: got %d %.200s, want 200 with the presented token", res.StatusCode, body)
	}
	res, body = harness.Do(t, plainClient(), http.MethodGet, v.URL+"/api/token?template=supabase", nil, bearer(tok))
	if res.StatusCode != http.StatusNotImplemented {
		t.Errorf("GET /api/token?template=… on a verify-only process: got %d %s, want 501", res.StatusCode, body)
	}

	// No refresh: a client cookie alone stays signed out and keeps its cookies.
	clientOnly := v.browserWith(t, map[string]string{"__client": a.Cookie(t, c, "__client")})
	res, _ = v.me(t, clientOnly, nil)
	if res.StatusCode != http.StatusUnauthorized || len(res.Cookies()) != 0 {
		t.Errorf("client cookie alone: got %d with cookies %v, want 401 and no Set-Cookie", res.StatusCode, res.Cookies())
	}
	// A token of another key is refused.
	other := startApp(t, nil)
	other.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	oc := other.Browser(t)
	other.SignIn(t, oc, doraEmail, doraPassword)
	res, _ = v.me(t, plainClient(), bearer(other.Cookie(t, oc, "__session")))
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("X-Clerk-Auth-Reason") != token.ReasonKidMismatch {
		t.Errorf("token of another instance: got %d (%s), want 401 (%s)", res.StatusCode, res.Header.Get("X-Clerk-Auth-Reason"), token.ReasonKidMismatch)
	}

	// Nothing else is served, and no database was created.
	for _, path := range []string{"/sign-in", "/dashboard", "/__clerk/v1/client", "/api/user"} {
		if res, _ := harness.Do(t, plainClient(), http.MethodGet, v.URL+path, nil, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s on a verify-only process: got %d, want 404", path, res.StatusCode)
		}
	}
	if res, _ := harness.Do(t, plainClient(), http.MethodGet, v.URL+"/readyz", nil, nil); res.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz: got %d, want 200", res.StatusCode)
	}
	if got := v.jwksKIDs(t); !slices.Equal(got, []string{a.App.Keys.Active().KID}) {
		t.Errorf("JWKS of the verify-only process: got %v, want A's key", got)
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("database file of a verify-only process: got %v, want none created", err)
	}
}
