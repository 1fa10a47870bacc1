package e2e

// Passkeys (spec 08 §2) end to end, with a virtual authenticator
// (github.com/descope/virtualwebauthn) in the place of the browser's:
// registration and sign-in through the frontend API as clerk-js calls it,
// and the attacks on both ceremonies a relying party must refuse.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// pkApp is the app served at http://localhost:PORT. Passkeys are off on
// an IP address (browsers refuse one as a relying-party id), and the
// harness listens on 127.0.0.1 on a port it picks itself, so the test
// takes a port first, names it in APP_URL, and serves the app's handler
// there too; ta.URL is then that origin, for every helper of the package.
type pkApp struct {
	*testApp
	origin string
}

func startPasskeyApp(t *testing.T, env map[string]string) *pkApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	vars := map[string]string{}
	for k, v := range env {
		vars[k] = v
	}
	vars["APP_URL"] = origin
	ta := startApp(t, vars)
	srv := &http.Server{Handler: ta.Config.Handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() }) // runs before the harness closes the app
	ta.URL = origin
	if on, why := ta.App.Identity.PasskeysEnabled(); !on {
		t.Fatalf("passkeys at %s: got off (%s), want on", origin, why)
	}
	return &pkApp{testApp: ta, origin: origin}
}

// rp is the relying party as the browser sees it at the app's origin.
func (p *pkApp) rp() virtualwebauthn.RelyingParty {
	return virtualwebauthn.RelyingParty{Name: "Gatehouse", ID: "localhost", Origin: p.origin}
}

// call sends a frontend API request from the app's origin (a form body
// when form is not nil) and fails the test on a 5xx.
func (p *pkApp) call(t *testing.T, c *http.Client, method, path string, form url.Values) (*http.Response, string, map[string]any) {
	t.Helper()
	var body io.Reader
	h := map[string]string{"Origin": p.origin}
	if form != nil {
		body = strings.NewReader(form.Encode())
		h["Content-Type"] = "application/x-www-form-urlencoded"
	}
	return p.raw(t, c, method, path, body, h)
}

// raw sends body as it is with the headers h.
func (p *pkApp) raw(t *testing.T, c *http.Client, method, path string, body io.Reader, h map[string]string) (*http.Response, string, map[string]any) {
	t.Helper()
	res, out := harness.Do(t, c, method, p.URL+"/__clerk/v1"+path, body, h)
	if res.StatusCode >= 500 {
		t.Fatalf("%s %s: got %d, want < 500: %.400s", method, path, res.StatusCode, out)
	}
	var m map[string]any
	json.Unmarshal([]byte(out), &m)
	return res, out, m
}

// refused fails unless res is a 4xx: hostile input is refused, never
// accepted and never a server error.
func refused(t *testing.T, what string, res *http.Response, body string) {
	t.Helper()
	if res.StatusCode < 400 || res.StatusCode >= 500 {
		t.Errorf("%s: got status %d, want a 4xx refusal; body: %.300s", what, res.StatusCode, body)
	}
}

// me is path on the /me routes of session sid.
func me(path, sid string) string { return path + "?_clerk_session_id=" + url.QueryEscape(sid) }

// pkUser is a user signed in with a password in browser c (session sid).
type pkUser struct {
	c       *http.Client
	sid, id string
}

func (p *pkApp) user(t *testing.T, email, password, first string) *pkUser {
	t.Helper()
	u := p.CreateUser(t, email, password, first, "Test")
	c := p.Browser(t)
	p.SignIn(t, c, email, password)
	return &pkUser{c: c, sid: p.sessionID(t, c), id: u.ID}
}

// pkKey is an authenticator with one credential (a phone, a security
// key); id is the passkey's pk_… id once registered.
type pkKey struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
	id   string
}

// newKey is a new authenticator whose credential names userHandle, as a
// discoverable credential names its user.
func newKey(userHandle string) *pkKey {
	return &pkKey{
		auth: virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(userHandle)}),
		cred: newCredential(),
	}
}

// newCredential is virtualwebauthn.NewCredential(KeyTypeEC2) with a key
// whose coordinates both take their full 32 bytes: the library encodes
// X and Y without their leading zero bytes, a COSE key a relying party
// rightly refuses (about one key in 128), which would make the tests
// flaky. Real authenticators always encode 32 bytes.
func newCredential() virtualwebauthn.Credential {
	for {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		pub, err := key.PublicKey.Bytes() // 0x04 || X || Y
		if err != nil {
			panic(err)
		}
		if pub[1] == 0 || pub[33] == 0 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			panic(err)
		}
		return virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der)
	}
}

// publicKeyOptions decodes a nonce ({"publicKey": …}) to its options.
func publicKeyOptions(t *testing.T, nonce string) map[string]any {
	t.Helper()
	var w struct {
		PublicKey map[string]any `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(nonce), &w); err != nil || w.PublicKey == nil {
		t.Fatalf("nonce: got %.300q (%v), want JSON {\"publicKey\":{…}}", nonce, err)
	}
	return w.PublicKey
}

// beginRegistration asks for creation options in u's session.
func (p *pkApp) beginRegistration(t *testing.T, u *pkUser) (string, *virtualwebauthn.AttestationOptions, map[string]any) {
	t.Helper()
	res, body, m := p.call(t, u.c, http.MethodPost, me("/me/passkeys", u.sid), url.Values{})
	assertStatus(t, "POST /me/passkeys", res, body, http.StatusOK)
	id, _ := m["id"].(string)
	v, _ := m["verification"].(map[string]any)
	nonce, _ := v["nonce"].(string)
	if m["object"] != "passkey" || !strings.HasPrefix(id, "pkc_") || v["strategy"] != "passkey" || nonce == "" {
		t.Fatalf("POST /me/passkeys: got %.400s, want object passkey, id pkc_…, verification strategy passkey with a nonce", body)
	}
	pk := publicKeyOptions(t, nonce)
	opts, err := virtualwebauthn.ParseAttestationOptions(nonce)
	if err != nil {
		t.Fatalf("creation options: %v; nonce %.300s", err, nonce)
	}
	return id, opts, pk
}

func (p *pkApp) attest(k *pkKey, opts *virtualwebauthn.AttestationOptions, rp virtualwebauthn.RelyingParty) string {
	return virtualwebauthn.CreateAttestationResponse(rp, k.auth, k.cred, *opts)
}

func (p *pkApp) finishRegistration(t *testing.T, u *pkUser, id, credential, name string) (*http.Response, string, map[string]any) {
	t.Helper()
	form := url.Values{"strategy": {"passkey"}, "public_key_credential": {credential}}
	if name != "" {
		form.Set("name", name)
	}
	return p.call(t, u.c, http.MethodPost, me("/me/passkeys/"+url.PathEscape(id)+"/attempt_verification", u.sid), form)
}

// register adds a new passkey to u and checks the Passkey resource.
func (p *pkApp) register(t *testing.T, u *pkUser, name string) *pkKey {
	t.Helper()
	id, opts, _ := p.beginRegistration(t, u)
	k := newKey(opts.UserID)
	p.registerKey(t, u, k, id, opts, name)
	return k
}

func (p *pkApp) registerKey(t *testing.T, u *pkUser, k *pkKey, id string, opts *virtualwebauthn.AttestationOptions, name string) {
	t.Helper()
	res, body, m := p.finishRegistration(t, u, id, p.attest(k, opts, p.rp()), name)
	assertStatus(t, "attempt_verification", res, body, http.StatusOK)
	k.id, _ = m["id"].(string)
	v, _ := m["verification"].(map[string]any)
	if m["object"] != "passkey" || !strings.HasPrefix(k.id, "pk_") || v["status"] != "verified" || v["strategy"] != "passkey" {
		t.Fatalf("attempt_verification: got %.400s, want a passkey pk_… with verification verified", body)
	}
	if name != "" && m["name"] != name {
		t.Errorf("passkey name: got %v, want %q", m["name"], name)
	}
}

// passkeys are the user's passkeys as the backend client shows them.
func (p *pkApp) passkeys(t *testing.T, userID string) []resource.Passkey {
	t.Helper()
	u, err := p.App.Client.Users.GetUser(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return u.Passkeys
}

// passkeyCount is how many passkeys the user has.
func (p *pkApp) passkeyCount(t *testing.T, userID string) int {
	t.Helper()
	return len(p.passkeys(t, userID))
}

// lastUsedAt is the last_used_at of the user's passkey id (nil: never).
func (p *pkApp) lastUsedAt(t *testing.T, userID, id string) *int64 {
	t.Helper()
	for _, pk := range p.passkeys(t, userID) {
		if pk.ID == id {
			return pk.LastUsedAt
		}
	}
	t.Fatalf("user %s: no passkey %s", userID, id)
	return nil
}

// beginSignIn starts a passkey sign-in in browser c.
func (p *pkApp) beginSignIn(t *testing.T, c *http.Client) (string, *virtualwebauthn.AssertionOptions, map[string]any) {
	t.Helper()
	res, body, m := p.call(t, c, http.MethodPost, "/client/sign_ins", url.Values{"strategy": {"passkey"}})
	assertStatus(t, "POST /client/sign_ins strategy passkey", res, body, http.StatusOK)
	id, _ := m["id"].(string)
	v, _ := m["first_factor_verification"].(map[string]any)
	nonce, _ := v["nonce"].(string)
	if m["object"] != "sign_in" || !strings.HasPrefix(id, "pkc_") || m["status"] != "needs_first_factor" || nonce == "" {
		t.Fatalf("passkey sign-in: got %.400s, want sign_in pkc_… needs_first_factor with a nonce", body)
	}
	assertNoAuthCookie(t, res)
	pk := publicKeyOptions(t, nonce)
	opts, err := virtualwebauthn.ParseAssertionOptions(nonce)
	if err != nil {
		t.Fatalf("request options: %v; nonce %.300s", err, nonce)
	}
	return id, opts, pk
}

func (p *pkApp) assertion(k *pkKey, opts *virtualwebauthn.AssertionOptions, rp virtualwebauthn.RelyingParty) string {
	return virtualwebauthn.CreateAssertionResponse(rp, k.auth, k.cred, *opts)
}

func (p *pkApp) finishSignIn(t *testing.T, c *http.Client, id, credential string) (*http.Response, string, map[string]any) {
	t.Helper()
	return p.call(t, c, http.MethodPost, "/client/sign_ins/"+url.PathEscape(id)+"/attempt_first_factor",
		url.Values{"strategy": {"passkey"}, "public_key_credential": {credential}})
}

// signInWith signs a fresh browser in with k (no address typed) and
// returns it, failing the test unless the sign-in completes.
func (p *pkApp) signInWith(t *testing.T, k *pkKey) *http.Client {
	t.Helper()
	c := p.Browser(t)
	id, opts, _ := p.beginSignIn(t, c)
	res, body, m := p.finishSignIn(t, c, id, p.assertion(k, opts, p.rp()))
	assertStatus(t, "attempt_first_factor passkey", res, body, http.StatusOK)
	sid, _ := m["created_session_id"].(string)
	if m["status"] != "complete" || !strings.HasPrefix(sid, "sess_") {
		t.Fatalf("attempt_first_factor passkey: got %.300s, want complete with created_session_id", body)
	}
	if got := p.sessionID(t, c); got != sid {
		t.Errorf("__session sid after the passkey: got %s, want created_session_id %s", got, sid)
	}
	return c
}

// refusedSignIn fails unless the sign-in answer res refuses and signs
// browser c in to nothing.
func (p *pkApp) refusedSignIn(t *testing.T, what string, c *http.Client, res *http.Response, body string) {
	t.Helper()
	refused(t, what, res, body)
	assertNoAuthCookie(t, res)
	if _, uid := p.me(t, c, nil); uid != "" {
		t.Errorf("%s: got signed in as %s, want signed out", what, uid)
	}
}

// fva is the fva claim of c's session token.
func (p *pkApp) fva(t *testing.T, c *http.Client) string {
	t.Helper()
	return fmt.Sprint(p.orgClaims(t, c)["fva"])
}

// auditCount is how many events name has for the user and resource.
func (p *pkApp) auditCount(t *testing.T, userID, name, resourceID string) int {
	t.Helper()
	list, err := p.App.Client.AuditEvents.List(context.Background(), clerkclient.AuditEventListParams{UserID: userID, Name: name, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range list.Data {
		if ev.ResourceID == resourceID {
			n++
		}
	}
	return n
}

// editCredential decodes a credential's JSON, lets edit change it and
// encodes it again.
func editCredential(t *testing.T, credential string, edit func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(credential), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withClientDataType rewrites the credential's clientDataJSON type.
func withClientDataType(t *testing.T, credential, typ string) string {
	t.Helper()
	return editCredential(t, credential, func(m map[string]any) {
		resp, _ := m["response"].(map[string]any)
		raw, err := base64.RawURLEncoding.DecodeString(fmt.Sprint(resp["clientDataJSON"]))
		if err != nil {
			t.Fatal(err)
		}
		var cd map[string]any
		if err := json.Unmarshal(raw, &cd); err != nil {
			t.Fatal(err)
		}
		cd["type"] = typ
		b, _ := json.Marshal(cd)
		resp["clientDataJSON"] = base64.RawURLEncoding.EncodeToString(b)
	})
}

// TestPasskeyRegisterThenSignIn: a signed-in user adds a passkey through
// the frontend API (creation options for a discoverable credential of
// this relying party and user), and a fresh browser then signs in with it
// without typing an address; the sign-in is recorded on the passkey
// (last_used_at, a passkey.used event). With user verification it is
// both factors (fva [0,0]); without, the first only (fva [0,-1]).
func TestPasskeyRegisterThenSignIn(t *testing.T) {
	p := startPasskeyApp(t, nil)
	dora := p.user(t, doraEmail, doraPassword, "Dora")

	id, opts, pk := p.beginRegistration(t, dora)
	if opts.RelyingPartyID != "localhost" || opts.UserID != dora.id || len(opts.Challenge) < 16 {
		t.Errorf("creation options: got rp %q user %q challenge of %d bytes, want rp localhost, user %s, a challenge of 16 bytes or more",
			opts.RelyingPartyID, opts.UserID, len(opts.Challenge), dora.id)
	}
	if sel, _ := pk["authenticatorSelection"].(map[string]any); sel["residentKey"] != "required" || sel["userVerification"] != "preferred" {
		t.Errorf("authenticatorSelection: got %v, want residentKey required and userVerification preferred", pk["authenticatorSelection"])
	}
	if u, _ := pk["user"].(map[string]any); u["name"] != doraEmail {
		t.Errorf("creation options user: got %v, want name %s", pk["user"], doraEmail)
	}
	k := newKey(opts.UserID)
	p.registerKey(t, dora, k, id, opts, "Laptop")

	res, body, m := p.call(t, dora.c, http.MethodGet, me("/me", dora.sid), nil)
	assertStatus(t, "GET /me", res, body, http.StatusOK)
	list, _ := m["passkeys"].([]any)
	if len(list) != 1 {
		t.Fatalf("GET /me passkeys: got %v, want the one passkey", m["passkeys"])
	}
	if got, _ := list[0].(map[string]any); got["id"] != k.id || got["name"] != "Laptop" || got["last_used_at"] != nil {
		t.Errorf("GET /me passkey: got %v, want id %s name Laptop last_used_at null", got, k.id)
	}
	if n := p.auditCount(t, dora.id, "passkey.created", k.id); n != 1 {
		t.Errorf("passkey.created events: got %d, want 1", n)
	}
	if got := p.lastUsedAt(t, dora.id, k.id); got != nil {
		t.Errorf("last_used_at before any sign-in: got %d, want null", *got)
	}

	before := time.Now().UnixMilli()
	c := p.Browser(t)
	sid, sopts, spk := p.beginSignIn(t, c)
	if spk["rpId"] != "localhost" || spk["userVerification"] != "preferred" || len(sopts.AllowCredentials) != 0 {
		t.Errorf("request options: got rpId %v userVerification %v allowCredentials %v, want localhost, preferred, none (discoverable)",
			spk["rpId"], spk["userVerification"], sopts.AllowCredentials)
	}
	res, body, m = p.finishSignIn(t, c, sid, p.assertion(k, sopts, p.rp()))
	assertStatus(t, "attempt_first_factor passkey", res, body, http.StatusOK)
	if m["status"] != "complete" || m["identifier"] != doraEmail {
		t.Fatalf("passkey sign-in: got %.300s, want complete as %s", body, doraEmail)
	}
	assertAuthCookieAttrs(t, res, "__client")
	assertAuthCookieAttrs(t, res, "__session")
	if _, uid := p.me(t, c, nil); uid != dora.id {
		t.Errorf("GET /api/me after the passkey: got %q, want %s", uid, dora.id)
	}
	if got := p.fva(t, c); got != "[0 0]" {
		t.Errorf("fva with user verification: got %s, want [0 0]", got)
	}
	if got := p.lastUsedAt(t, dora.id, k.id); got == nil || *got < before {
		t.Errorf("last_used_at after the sign-in: got %v, want a time from %d", got, before)
	}
	if n := p.auditCount(t, dora.id, "passkey.used", k.id); n != 1 {
		t.Errorf("passkey.used events after one sign-in: got %d, want 1", n)
	}

	k.auth.Options.UserNotVerified = true
	c2 := p.signInWith(t, k)
	if got := p.fva(t, c2); got != "[0 -1]" {
		t.Errorf("fva without user verification: got %s, want [0 -1]", got)
	}
	if n := p.auditCount(t, dora.id, "passkey.used", k.id); n != 2 {
		t.Errorf("passkey.used events after two sign-ins: got %d, want 2", n)
	}
	// The passkey session is an ordinary session: it manages the account.
	p2 := &pkUser{c: c2, sid: p.sessionID(t, c2), id: dora.id}
	res, body, _ = p.call(t, p2.c, http.MethodPatch, me("/me/passkeys/"+k.id, p2.sid), url.Values{"name": {"Old laptop"}})
	assertStatus(t, "rename from the passkey's session", res, body, http.StatusOK)
}

// TestPasskeySecondFactor: a passkey without user verification is one
// factor, so a user with an authenticator app still needs its code
// (needs_second_factor, no session before it); with user verification it
// is both.
func TestPasskeySecondFactor(t *testing.T) {
	p := startPasskeyApp(t, nil)
	evan := p.user(t, evanEmail, evanPassword, "Evan")
	secret, _ := enrolTOTP(t, p.testApp, evan.c)
	k := p.register(t, evan, "")

	k.auth.Options.UserNotVerified = true
	c := p.Browser(t)
	id, opts, _ := p.beginSignIn(t, c)
	res, body, m := p.finishSignIn(t, c, id, p.assertion(k, opts, p.rp()))
	assertStatus(t, "passkey without user verification, TOTP enrolled", res, body, http.StatusOK)
	if m["status"] != "needs_second_factor" || m["created_session_id"] != nil {
		t.Fatalf("passkey without user verification: got %.300s, want needs_second_factor and no session", body)
	}
	assertNoAuthCookie(t, res)
	aid, _ := m["id"].(string)
	code, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	res, body, m = p.call(t, c, http.MethodPost, "/client/sign_ins/"+aid+"/attempt_second_factor", url.Values{"strategy": {"totp"}, "code": {code}})
	assertStatus(t, "attempt_second_factor after the passkey", res, body, http.StatusOK)
	if m["status"] != "complete" {
		t.Fatalf("attempt_second_factor: got %.300s, want complete", body)
	}
	if got := p.fva(t, c); got != "[0 0]" {
		t.Errorf("fva after passkey and code: got %s, want [0 0]", got)
	}

	k.auth.Options.UserNotVerified = false
	c2 := p.signInWith(t, k)
	if got := p.fva(t, c2); got != "[0 0]" {
		t.Errorf("fva with a user-verified passkey: got %s, want [0 0]", got)
	}
}

// TestPasskeyHostileRegistration attacks the registration ceremony: a
// credential made for another origin or relying party, a challenge used
// twice or belonging to another user or ceremony, malformed credentials,
// a credential another user holds, more than ten passkeys, an
// impersonation session, a stale session. Each is refused with a 4xx and
// stores nothing.
func TestPasskeyHostileRegistration(t *testing.T) {
	p := startPasskeyApp(t, map[string]string{"ADMIN_EMAILS": "root@example.com"})
	dora := p.user(t, doraEmail, doraPassword, "Dora")
	evan := p.user(t, evanEmail, evanPassword, "Evan")

	t.Run("wrong origin", func(t *testing.T) {
		port := strings.TrimPrefix(p.origin, "http://localhost:")
		for _, origin := range []string{"http://evil.example:" + port, "https://localhost:" + port, "http://localhost:1", "http://sub.localhost:" + port, "null", ""} {
			id, opts, _ := p.beginRegistration(t, dora)
			rp := p.rp()
			rp.Origin = origin
			res, body, _ := p.finishRegistration(t, dora, id, p.attest(newKey(opts.UserID), opts, rp), "")
			fapiError(t, "registration from origin "+origin, res, body, http.StatusUnprocessableEntity, "passkey_invalid")
		}
		if n := p.passkeyCount(t, dora.id); n != 0 {
			t.Errorf("passkeys after credentials from other origins: got %d, want 0", n)
		}
	})

	t.Run("wrong relying party", func(t *testing.T) {
		for _, rpID := range []string{"evil.example", "", "localhost.", "LOCALHOST"} {
			id, opts, _ := p.beginRegistration(t, dora)
			rp := p.rp()
			rp.ID = rpID
			res, body, _ := p.finishRegistration(t, dora, id, p.attest(newKey(opts.UserID), opts, rp), "")
			fapiError(t, "registration for rp id "+rpID, res, body, http.StatusUnprocessableEntity, "passkey_invalid")
		}
		if n := p.passkeyCount(t, dora.id); n != 0 {
			t.Errorf("passkeys after credentials for other relying parties: got %d, want 0", n)
		}
	})

	t.Run("user not present", func(t *testing.T) {
		id, opts, _ := p.beginRegistration(t, dora)
		k := newKey(opts.UserID)
		k.auth.Options.UserNotPresent = true
		res, body, _ := p.finishRegistration(t, dora, id, p.attest(k, opts, p.rp()), "")
		fapiError(t, "a credential made without user presence", res, body, http.StatusUnprocessableEntity, "passkey_invalid")
	})

	t.Run("replayed challenge", func(t *testing.T) {
		u := p.user(t, "replay@example.com", "replay passphrase 9", "Rey")
		id, opts, _ := p.beginRegistration(t, u)
		k := newKey(opts.UserID)
		cred := p.attest(k, opts, p.rp())
		res, body, _ := p.finishRegistration(t, u, id, cred, "")
		assertStatus(t, "first use of the challenge", res, body, http.StatusOK)
		res, body, _ = p.finishRegistration(t, u, id, cred, "")
		fapiError(t, "the same attestation posted twice", res, body, http.StatusUnprocessableEntity, "passkey_challenge_invalid")
		// Another credential signed over the used challenge, to its id.
		res, body, _ = p.finishRegistration(t, u, id, p.attest(newKey(opts.UserID), opts, p.rp()), "")
		fapiError(t, "a new credential for a used challenge id", res, body, http.StatusUnprocessableEntity, "passkey_challenge_invalid")
		// The old attestation to a new ceremony: its challenge is not this one.
		id2, _, _ := p.beginRegistration(t, u)
		res, body, _ = p.finishRegistration(t, u, id2, p.attest(newKey(opts.UserID), opts, p.rp()), "")
		fapiError(t, "an attestation of an old challenge to a new one", res, body, http.StatusUnprocessableEntity, "passkey_invalid")
		if n := p.passkeyCount(t, u.id); n != 1 {
			t.Errorf("passkeys after the replays: got %d, want 1", n)
		}
	})

	t.Run("another user's challenge", func(t *testing.T) {
		id, opts, _ := p.beginRegistration(t, dora)
		_, eopts, _ := p.beginRegistration(t, evan)
		// Evan answers Dora's challenge with his own credential, and with
		// one naming Dora.
		res, body, _ := p.finishRegistration(t, evan, id, p.attest(newKey(eopts.UserID), opts, p.rp()), "")
		fapiError(t, "Evan posting to Dora's challenge", res, body, http.StatusUnprocessableEntity, "passkey_challenge_invalid")
		id, opts, _ = p.beginRegistration(t, dora)
		res, body, _ = p.finishRegistration(t, evan, id, p.attest(newKey(opts.UserID), opts, p.rp()), "")
		fapiError(t, "Evan posting Dora's attestation", res, body, http.StatusUnprocessableEntity, "passkey_challenge_invalid")
		if a, b := p.passkeyCount(t, dora.id), p.passkeyCount(t, evan.id); a != 0 || b != 0 {
			t.Errorf("passkeys after Evan's attempts: got Dora %d Evan %d, want 0 and 0", a, b)
		}
	})

	t.Run("unknown challenge", func(t *testing.T) {
		_, opts, _ := p.beginRegistration(t, dora)
		cred := p.attest(newKey(opts.UserID), opts, p.rp())
		sc := p.Browser(t)
		signInID, _, _ := p.beginSignIn(t, sc)
		for _, id := range []string{"pkc_doesnotexist", strings.Repeat("x", 100), signInID, "..%2F..%2Fme"} {
			res, body, _ := p.finishRegistration(t, dora, id, cred, "")
			refused(t, "challenge id "+id, res, body)
		}
		res, body, _ := p.finishRegistration(t, dora, "pkc_doesnotexist", cred, "")
		fapiError(t, "a challenge id that does not exist", res, body, http.StatusUnprocessableEntity, "passkey_challenge_invalid")
		res, body, _ = p.finishRegistration(t, dora, signInID, cred, "")
		fapiError(t, "a sign-in challenge as a registration", res, body, http.StatusUnprocessableEntity, "passkey_challenge_invalid")
		if n := p.passkeyCount(t, dora.id); n != 0 {
			t.Errorf("passkeys after unknown challenges: got %d, want 0", n)
		}
	})

	t.Run("malformed attestation", func(t *testing.T) {
		good := func() (string, string) {
			id, opts, _ := p.beginRegistration(t, dora)
			return id, p.attest(newKey(opts.UserID), opts, p.rp())
		}
		cases := map[string]func(cred string) string{
			"garbage":     func(string) string { return "garbage" },
			"empty":       func(string) string { return "" },
			"truncated":   func(c string) string { return c[:len(c)/2] },
			"JSON null":   func(string) string { return "null" },
			"JSON array":  func(c string) string { return "[" + c + "]" },
			"wrong type":  func(c string) string { return editCredential(t, c, func(m map[string]any) { m["type"] = "password" }) },
			"no response": func(c string) string { return editCredential(t, c, func(m map[string]any) { delete(m, "response") }) },
			"id not rawId": func(c string) string {
				return editCredential(t, c, func(m map[string]any) { m["id"] = base64.RawURLEncoding.EncodeToString([]byte("another id")) })
			},
			"clientData get": func(c string) string { return withClientDataType(t, c, "webauthn.get") },
			"clientData garbage": func(c string) string {
				return editCredential(t, c, func(m map[string]any) { m["response"].(map[string]any)["clientDataJSON"] = "!!" })
			},
			"attestationObject garbage": func(c string) string {
				return editCredential(t, c, func(m map[string]any) { m["response"].(map[string]any)["attestationObject"] = "AAAA" })
			},
			"huge": func(c string) string { return c + strings.Repeat(" ", 70<<10) },
		}
		for name, mangle := range cases {
			id, cred := good()
			res, body, _ := p.finishRegistration(t, dora, id, mangle(cred), "")
			refused(t, "attestation "+name, res, body)
		}
		// Not a string, the wrong strategy, a body past the limit.
		id, cred := good()
		obj := `{"strategy":"passkey","public_key_credential":` + cred + `}`
		res, body, _ := p.raw(t, dora.c, http.MethodPost, me("/me/passkeys/"+id+"/attempt_verification", dora.sid), strings.NewReader(obj),
			map[string]string{"Content-Type": "application/json", "Origin": p.origin})
		fapiError(t, "public_key_credential as an object", res, body, http.StatusUnprocessableEntity, "form_param_format_invalid")
		id, cred = good()
		res, body, _ = p.call(t, dora.c, http.MethodPost, me("/me/passkeys/"+id+"/attempt_verification", dora.sid),
			url.Values{"strategy": {"totp"}, "public_key_credential": {cred}})
		fapiError(t, "strategy totp", res, body, http.StatusBadRequest, "verification_strategy_invalid")
		id, cred = good()
		res, body, _ = p.finishRegistration(t, dora, id, cred+strings.Repeat(" ", 70<<10), "")
		fapiError(t, "a 70 KB body", res, body, http.StatusRequestEntityTooLarge, "request_body_invalid")
		for _, name := range []string{strings.Repeat("n", 65), "tab\there", "nul\x00"} {
			id, cred = good()
			res, body, _ = p.finishRegistration(t, dora, id, cred, name)
			fapiError(t, fmt.Sprintf("name %.20q", name), res, body, http.StatusUnprocessableEntity, "form_param_format_invalid")
		}
		if n := p.passkeyCount(t, dora.id); n != 0 {
			t.Errorf("passkeys after malformed attestations: got %d, want 0", n)
		}
	})

	t.Run("credential registered already", func(t *testing.T) {
		u := p.user(t, "holder@example.com", "holder passphrase 4", "Hol")
		k := p.register(t, u, "")
		// The same credential again: listed in excludeCredentials, and
		// refused if the authenticator ignores that.
		id, opts, _ := p.beginRegistration(t, u)
		if len(opts.ExcludeCredentials) != 1 || opts.ExcludeCredentials[0] != base64.RawURLEncoding.EncodeToString(k.cred.ID) {
			t.Errorf("excludeCredentials: got %v, want the registered credential", opts.ExcludeCredentials)
		}
		res, body, _ := p.finishRegistration(t, u, id, p.attest(k, opts, p.rp()), "")
		fapiError(t, "the same credential twice", res, body, http.StatusUnprocessableEntity, "passkey_exists")
		// Evan registers the holder's credential id with his own key: the
		// id would then name two users.
		id, opts, _ = p.beginRegistration(t, evan)
		stolen := &pkKey{auth: newKey(opts.UserID).auth, cred: newCredential()}
		stolen.cred.ID = k.cred.ID
		res, body, _ = p.finishRegistration(t, evan, id, p.attest(stolen, opts, p.rp()), "")
		fapiError(t, "another user's credential id", res, body, http.StatusUnprocessableEntity, "passkey_exists")
		if a, b := p.passkeyCount(t, u.id), p.passkeyCount(t, evan.id); a != 1 || b != 0 {
			t.Errorf("passkeys: got holder %d Evan %d, want 1 and 0", a, b)
		}
		k.auth.Options.UserHandle = []byte(u.id)
		if _, uid := p.me(t, p.signInWith(t, k), nil); uid != u.id {
			t.Errorf("sign-in with the holder's passkey: got %q, want %s", uid, u.id)
		}
	})

	t.Run("eleventh passkey", func(t *testing.T) {
		u := p.user(t, "many@example.com", "many passphrase 10", "Manny")
		for range 9 {
			p.register(t, u, "")
		}
		// Two ceremonies begun at nine: the second to finish is the eleventh.
		id1, opts1, _ := p.beginRegistration(t, u)
		id2, opts2, _ := p.beginRegistration(t, u)
		p.registerKey(t, u, newKey(opts1.UserID), id1, opts1, "Tenth")
		res, body, _ := p.finishRegistration(t, u, id2, p.attest(newKey(opts2.UserID), opts2, p.rp()), "")
		fapiError(t, "the eleventh passkey, begun at nine", res, body, http.StatusUnprocessableEntity, "passkey_limit_reached")
		res, body, _ = p.call(t, u.c, http.MethodPost, me("/me/passkeys", u.sid), url.Values{})
		fapiError(t, "beginning an eleventh passkey", res, body, http.StatusUnprocessableEntity, "passkey_limit_reached")
		if n := p.passkeyCount(t, u.id); n != 10 {
			t.Errorf("passkeys: got %d, want 10", n)
		}
	})

	t.Run("impersonation", func(t *testing.T) {
		root := p.CreateUser(t, "root@example.com", "the root passphrase 1", "Root", "Admin")
		u := p.user(t, "imp@example.com", "impersonated passphrase 3", "Ima")
		k := p.register(t, u, "Hers")
		id, opts, _ := p.beginRegistration(t, u)
		c, sid := impersonate(t, p.testApp, root.ID, u.id)
		res, body, _ := p.call(t, c, http.MethodPost, me("/me/passkeys", sid), url.Values{})
		fapiError(t, "an impersonation session beginning a passkey", res, body, http.StatusForbidden, "impersonation_not_allowed")
		// Her ceremony finished by the administrator's session.
		res, body, _ = p.call(t, c, http.MethodPost, me("/me/passkeys/"+id+"/attempt_verification", sid),
			url.Values{"strategy": {"passkey"}, "public_key_credential": {p.attest(newKey(opts.UserID), opts, p.rp())}})
		fapiError(t, "an impersonation session finishing a passkey", res, body, http.StatusForbidden, "impersonation_not_allowed")
		res, body, _ = p.call(t, c, http.MethodPatch, me("/me/passkeys/"+k.id, sid), url.Values{"name": {"Admin's"}})
		fapiError(t, "an impersonation session renaming a passkey", res, body, http.StatusForbidden, "impersonation_not_allowed")
		res, body, _ = p.call(t, c, http.MethodDelete, me("/me/passkeys/"+k.id, sid), nil)
		fapiError(t, "an impersonation session deleting a passkey", res, body, http.StatusForbidden, "impersonation_not_allowed")
		if pk := p.passkeys(t, u.id); len(pk) != 1 || pk[0].Name != "Hers" {
			t.Errorf("her passkeys after the impersonation: got %+v, want the one named Hers", pk)
		}
	})
}

// TestPasskeyStaleSession: adding or deleting a passkey is a sensitive
// action, refused to a session whose factors are older than
// REVERIFICATION_MAX_AGE (a stolen session cannot plant a passkey).
func TestPasskeyStaleSession(t *testing.T) {
	// 2s, not the least 1s: the passkey is added while the session is
	// fresh, however slow the machine.
	p := startPasskeyApp(t, map[string]string{"REVERIFICATION_MAX_AGE": "2s"})
	dora := p.user(t, doraEmail, doraPassword, "Dora")
	k := p.register(t, dora, "")
	time.Sleep(2500 * time.Millisecond)
	res, body, _ := p.call(t, dora.c, http.MethodPost, me("/me/passkeys", dora.sid), url.Values{})
	fapiError(t, "a stale session adding a passkey", res, body, http.StatusForbidden, "session_reverification_required")
	res, body, _ = p.call(t, dora.c, http.MethodDelete, me("/me/passkeys/"+k.id, dora.sid), nil)
	fapiError(t, "a stale session deleting a passkey", res, body, http.StatusForbidden, "session_reverification_required")
	if n := p.passkeyCount(t, dora.id); n != 1 {
		t.Errorf("passkeys after the stale session's attempts: got %d, want 1", n)
	}
}

// TestPasskeyHostileSignIn attacks the sign-in ceremony: assertions made
// for another origin or relying party, replayed, signed by an unknown
// credential or naming another user, a sign count that goes backwards, a
// challenge of another browser, malformed assertions, an expired
// challenge, a banned or locked user. Each is refused and signs nobody
// in.
func TestPasskeyHostileSignIn(t *testing.T) {
	p := startPasskeyApp(t, nil)
	dora := p.user(t, doraEmail, doraPassword, "Dora")
	evan := p.user(t, evanEmail, evanPassword, "Evan")
	kd := p.register(t, dora, "")
	ke := p.register(t, evan, "")

	// try signs in a fresh browser with the assertion made by mk from
	// the request options.
	try := func(t *testing.T, what string, mk func(opts *virtualwebauthn.AssertionOptions) string) (*http.Response, string) {
		t.Helper()
		c := p.Browser(t)
		id, opts, _ := p.beginSignIn(t, c)
		res, body, _ := p.finishSignIn(t, c, id, mk(opts))
		p.refusedSignIn(t, what, c, res, body)
		return res, body
	}

	t.Run("wrong origin", func(t *testing.T) {
		port := strings.TrimPrefix(p.origin, "http://localhost:")
		for _, origin := range []string{"http://evil.example:" + port, "https://localhost:" + port, "http://localhost:1", "null", ""} {
			rp := p.rp()
			rp.Origin = origin
			res, body := try(t, "assertion from "+origin, func(o *virtualwebauthn.AssertionOptions) string { return p.assertion(kd, o, rp) })
			fapiError(t, "assertion from "+origin, res, body, http.StatusUnprocessableEntity, "passkey_invalid")
		}
	})

	t.Run("wrong relying party", func(t *testing.T) {
		for _, rpID := range []string{"evil.example", "", "localhost."} {
			rp := p.rp()
			rp.ID = rpID
			res, body := try(t, "assertion for rp id "+rpID, func(o *virtualwebauthn.AssertionOptions) string { return p.assertion(kd, o, rp) })
			fapiError(t, "assertion for rp id "+rpID, res, body, http.StatusUnprocessableEntity, "passkey_invalid")
		}
	})

	t.Run("replayed assertion", func(t *testing.T) {
		c := p.Browser(t)
		id, opts, _ := p.beginSignIn(t, c)
		// An attacker copies the browser's cookies and the assertion.
		u, _ := url.Parse(p.URL)
		copied := map[string]string{}
		for _, ck := range c.Jar.Cookies(u) {
			copied[ck.Name] = ck.Value
		}
		thief := p.browserWith(t, copied)
		cred := p.assertion(kd, opts, p.rp())
		res, body, _ := p.finishSignIn(t, c, id, cred)
		assertStatus(t, "the assertion's first use", res, body, http.StatusOK)
		res, body, _ = p.finishSignIn(t, thief, id, cred)
		fapiError(t, "the assertion replayed with the attempt's cookie", res, body, http.StatusUnprocessableEntity, "passkey_challenge_invalid")
		p.refusedSignIn(t, "the assertion replayed with the attempt's cookie", thief, res, body)
		res, body, _ = p.finishSignIn(t, c, id, cred)
		refused(t, "the assertion replayed in the signed-in browser", res, body)
		assertNoAuthCookie(t, res)
		res, body = try(t, "the assertion replayed to a new sign-in", func(*virtualwebauthn.AssertionOptions) string { return cred })
		fapiError(t, "the assertion replayed to a new sign-in", res, body, http.StatusUnprocessableEntity, "passkey_invalid")
	})

	t.Run("unregistered credential", func(t *testing.T) {
		res, body := try(t, "a credential that is not registered", func(o *virtualwebauthn.AssertionOptions) string {
			return p.assertion(newKey(dora.id), o, p.rp())
		})
		fapiError(t, "a credential that is not registered", res, body, http.StatusUnprocessableEntity, "passkey_invalid")
		// Dora's credential id, signed by another key.
		forged := newKey(dora.id)
		forged.cred.ID = kd.cred.ID
		res, body = try(t, "Dora's credential id signed by another key", func(o *virtualwebauthn.AssertionOptions) string {
			return p.assertion(forged, o, p.rp())
		})
		fapiError(t, "Dora's credential id signed by another key", res, body, http.StatusUnprocessableEntity, "passkey_invalid")
	})

	t.Run("user handle of another user", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			k      *pkKey
			handle string
		}{
			{"Dora's key naming Evan", kd, evan.id},
			{"Evan's key naming Dora", ke, dora.id},
			{"Dora's key naming nobody", kd, ""},
			{"Dora's key naming a user that does not exist", kd, "user_doesnotexist"},
		} {
			k := &pkKey{auth: kd.auth, cred: tc.k.cred}
			k.auth.Options.UserHandle = []byte(tc.handle)
			res, body := try(t, tc.name, func(o *virtualwebauthn.AssertionOptions) string { return p.assertion(k, o, p.rp()) })
			fapiError(t, tc.name, res, body, http.StatusUnprocessableEntity, "passkey_invalid")
		}
		if _, uid := p.me(t, p.signInWith(t, ke), nil); uid != evan.id {
			t.Errorf("Evan's own passkey after the attempts: got %q, want %s", uid, evan.id)
		}
	})

	t.Run("sign count", func(t *testing.T) {
		u := p.user(t, "counter@example.com", "counter passphrase 5", "Count")
		k := p.register(t, u, "")
		k.cred.Counter = 5
		p.signInWith(t, k)
		for _, n := range []uint32{3, 5, 0} {
			k.cred.Counter = n
			res, body := try(t, fmt.Sprintf("sign count %d after 5", n), func(o *virtualwebauthn.AssertionOptions) string { return p.assertion(k, o, p.rp()) })
			fapiError(t, fmt.Sprintf("sign count %d after 5", n), res, body, http.StatusUnprocessableEntity, "passkey_invalid")
		}
		// The refusals did not move the count: 6 is still ahead of it.
		k.cred.Counter = 6
		if _, uid := p.me(t, p.signInWith(t, k), nil); uid != u.id {
			t.Errorf("sign count 6 after 5: got %q, want %s", uid, u.id)
		}
		if n := p.auditCount(t, u.id, "passkey.used", k.id); n != 2 {
			t.Errorf("passkey.used events: got %d, want 2 (the refused counts are no use)", n)
		}
		// An authenticator that keeps no count (always 0) is allowed.
		z := p.register(t, u, "")
		p.signInWith(t, z)
		p.signInWith(t, z)
	})

	t.Run("challenge of another browser", func(t *testing.T) {
		victim := p.Browser(t)
		id, opts, _ := p.beginSignIn(t, victim)
		cred := p.assertion(kd, opts, p.rp())
		attacker := p.Browser(t)
		p.beginSignIn(t, attacker) // an attempt of its own, not this one
		res, body, _ := p.finishSignIn(t, attacker, id, cred)
		fapiError(t, "another browser's attempt", res, body, http.StatusNotFound, "resource_not_found")
		p.refusedSignIn(t, "another browser's attempt", attacker, res, body)
		res, body, _ = p.finishSignIn(t, p.Browser(t), id, cred)
		fapiError(t, "a browser without an attempt", res, body, http.StatusNotFound, "resource_not_found")
		// The refusals did not use the victim's challenge up.
		res, body, m := p.finishSignIn(t, victim, id, cred)
		assertStatus(t, "the victim's own attempt after the attacker's", res, body, http.StatusOK)
		if m["status"] != "complete" {
			t.Errorf("the victim's sign-in: got %.300s, want complete", body)
		}
	})

	t.Run("malformed assertion", func(t *testing.T) {
		cases := map[string]func(o *virtualwebauthn.AssertionOptions) string{
			"garbage":   func(*virtualwebauthn.AssertionOptions) string { return "garbage" },
			"empty":     func(*virtualwebauthn.AssertionOptions) string { return "" },
			"JSON null": func(*virtualwebauthn.AssertionOptions) string { return "null" },
			"truncated": func(o *virtualwebauthn.AssertionOptions) string { c := p.assertion(kd, o, p.rp()); return c[:len(c)/2] },
			"wrong type": func(o *virtualwebauthn.AssertionOptions) string {
				return editCredential(t, p.assertion(kd, o, p.rp()), func(m map[string]any) { m["type"] = "password" })
			},
			"clientData create": func(o *virtualwebauthn.AssertionOptions) string {
				return withClientDataType(t, p.assertion(kd, o, p.rp()), "webauthn.create")
			},
			"bad signature": func(o *virtualwebauthn.AssertionOptions) string {
				return editCredential(t, p.assertion(kd, o, p.rp()), func(m map[string]any) {
					m["response"].(map[string]any)["signature"] = base64.RawURLEncoding.EncodeToString(make([]byte, 70))
				})
			},
			"short authenticatorData": func(o *virtualwebauthn.AssertionOptions) string {
				return editCredential(t, p.assertion(kd, o, p.rp()), func(m map[string]any) { m["response"].(map[string]any)["authenticatorData"] = "AAAA" })
			},
			"an attestation": func(o *virtualwebauthn.AssertionOptions) string {
				return p.attest(newKey(dora.id), &virtualwebauthn.AttestationOptions{Challenge: o.Challenge, RelyingPartyID: "localhost", UserID: dora.id}, p.rp())
			},
			"user not present": func(o *virtualwebauthn.AssertionOptions) string {
				k := &pkKey{auth: kd.auth, cred: kd.cred}
				k.auth.Options.UserNotPresent = true
				return p.assertion(k, o, p.rp())
			},
			"backup eligibility changed": func(o *virtualwebauthn.AssertionOptions) string {
				k := &pkKey{auth: kd.auth, cred: kd.cred}
				k.auth.Options.BackupEligible = true
				return p.assertion(k, o, p.rp())
			},
		}
		for name, mk := range cases {
			try(t, "assertion "+name, mk)
		}
		c := p.Browser(t)
		id, opts, _ := p.beginSignIn(t, c)
		res, body, _ := p.finishSignIn(t, c, id, p.assertion(kd, opts, p.rp())+strings.Repeat(" ", 70<<10))
		fapiError(t, "a 70 KB assertion", res, body, http.StatusRequestEntityTooLarge, "request_body_invalid")
		c = p.Browser(t)
		id, opts, _ = p.beginSignIn(t, c)
		res, body, _ = p.call(t, c, http.MethodPost, "/client/sign_ins/"+id+"/attempt_first_factor",
			url.Values{"strategy": {"password"}, "password": {doraPassword}})
		p.refusedSignIn(t, "a password to a passkey attempt", c, res, body)
		res, body, _ = p.raw(t, c, http.MethodPost, "/client/sign_ins/"+id+"/attempt_first_factor",
			strings.NewReader(`{"strategy":"passkey","public_key_credential":`+p.assertion(kd, opts, p.rp())+`}`),
			map[string]string{"Content-Type": "application/json", "Origin": p.origin})
		fapiError(t, "public_key_credential as an object", res, body, http.StatusUnprocessableEntity, "form_param_format_invalid")
	})

	t.Run("expired challenge", func(t *testing.T) {
		// Waiting five minutes is too long for a test: the challenge's
		// expiry is moved into the past in the database instead.
		c := p.Browser(t)
		id, opts, _ := p.beginSignIn(t, c)
		p.expireChallenge(t, id)
		res, body, _ := p.finishSignIn(t, c, id, p.assertion(kd, opts, p.rp()))
		fapiError(t, "an expired challenge", res, body, http.StatusUnprocessableEntity, "passkey_challenge_invalid")
		p.refusedSignIn(t, "an expired challenge", c, res, body)
		rid, ropts, _ := p.beginRegistration(t, dora)
		p.expireChallenge(t, rid)
		res, body, _ = p.finishRegistration(t, dora, rid, p.attest(newKey(ropts.UserID), ropts, p.rp()), "")
		fapiError(t, "an expired registration challenge", res, body, http.StatusUnprocessableEntity, "passkey_challenge_invalid")
	})

	ctx := context.Background()
	for _, tc := range []struct {
		name, code string
		status     int
		act        func(id string) error
	}{
		{"banned", "user_banned", http.StatusForbidden, func(id string) error { _, err := p.App.Client.Users.BanUser(ctx, id); return err }},
		{"locked", "user_locked", http.StatusForbidden, func(id string) error { _, err := p.App.Client.Users.LockUser(ctx, id); return err }},
	} {
		t.Run(tc.name+" user", func(t *testing.T) {
			u := p.user(t, tc.name+"@example.com", tc.name+" passphrase 77", "Bo")
			k := p.register(t, u, "")
			if err := tc.act(u.id); err != nil {
				t.Fatal(err)
			}
			res, body := try(t, "a "+tc.name+" user's passkey", func(o *virtualwebauthn.AssertionOptions) string { return p.assertion(k, o, p.rp()) })
			fapiError(t, "a "+tc.name+" user's passkey", res, body, tc.status, tc.code)
			// A refused sign-in is no use of the passkey: neither the
			// passkey nor the audit log may say it was used.
			t.Run("no use recorded", func(t *testing.T) {
				if got := p.lastUsedAt(t, u.id, k.id); got != nil {
					t.Errorf("%s user: last_used_at after the refused sign-in: got %d, want null", tc.name, *got)
				}
				if n := p.auditCount(t, u.id, "passkey.used", k.id); n != 0 {
					t.Errorf("%s user: passkey.used events after the refused sign-in: got %d, want 0", tc.name, n)
				}
			})
		})
	}
}

// expireChallenge moves the WebAuthn challenge id's expiry into the past.
func (p *pkApp) expireChallenge(t *testing.T, id string) {
	t.Helper()
	path, ok := strings.CutPrefix(p.Cfg.DatabaseURL, "sqlite:")
	if !ok {
		t.Skip("moving a challenge's expiry needs the SQLite database")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE webauthn_challenges SET expire_at = $1 WHERE id = $2`, time.Now().Add(-time.Second).UnixMilli(), id)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("expire challenge %s: updated %d rows, want 1", id, n)
	}
}

// TestPasskeyDeleteAndRename: a passkey is renamed (at most 64
// characters) and deleted by its user only; deleting the last way to
// sign in is refused, and a deleted passkey signs nobody in.
func TestPasskeyDeleteAndRename(t *testing.T) {
	p := startPasskeyApp(t, nil)
	ctx := context.Background()
	dora := p.user(t, doraEmail, doraPassword, "Dora")
	evan := p.user(t, evanEmail, evanPassword, "Evan")
	kd := p.register(t, dora, "First")
	ke := p.register(t, evan, "")

	t.Run("rename", func(t *testing.T) {
		res, body, m := p.call(t, dora.c, http.MethodPatch, me("/me/passkeys/"+kd.id, dora.sid), url.Values{"name": {"  Work laptop  "}})
		assertStatus(t, "rename", res, body, http.StatusOK)
		if m["object"] != "passkey" || m["id"] != kd.id || m["name"] != "Work laptop" {
			t.Errorf("rename: got %.300s, want passkey %s named Work laptop", body, kd.id)
		}
		long := strings.Repeat("é", 64)
		res, body, m = p.call(t, dora.c, http.MethodPatch, me("/me/passkeys/"+kd.id, dora.sid), url.Values{"name": {long}})
		assertStatus(t, "a 64-character name", res, body, http.StatusOK)
		for _, tc := range []struct{ name, value, code string }{
			{"a 65-character name", strings.Repeat("a", 65), "form_param_format_invalid"},
			{"a control character", "new\nline", "form_param_format_invalid"},
			{"invalid UTF-8", "\xff\xfe", "form_param_format_invalid"},
			{"an empty name", "   ", "form_param_missing"},
		} {
			res, body, _ = p.call(t, dora.c, http.MethodPatch, me("/me/passkeys/"+kd.id, dora.sid), url.Values{"name": {tc.value}})
			fapiError(t, "rename to "+tc.name, res, body, http.StatusUnprocessableEntity, tc.code)
		}
		if pk := p.passkeys(t, dora.id); len(pk) != 1 || pk[0].Name != long {
			t.Errorf("passkey after the refused renames: got %+v, want named %s", pk, long)
		}
		res, body, _ = p.call(t, dora.c, http.MethodPatch, me("/me/passkeys/"+ke.id, dora.sid), url.Values{"name": {"Mine now"}})
		fapiError(t, "renaming another user's passkey", res, body, http.StatusNotFound, "resource_not_found")
		res, body, _ = p.call(t, dora.c, http.MethodPatch, me("/me/passkeys/pk_doesnotexist", dora.sid), url.Values{"name": {"x"}})
		fapiError(t, "renaming a passkey that does not exist", res, body, http.StatusNotFound, "resource_not_found")
		if pk := p.passkeys(t, evan.id); len(pk) != 1 || pk[0].Name == "Mine now" {
			t.Errorf("Evan's passkey after Dora's rename: got %+v, want it unchanged", pk)
		}
	})

	t.Run("another user's passkey", func(t *testing.T) {
		res, body, _ := p.call(t, dora.c, http.MethodDelete, me("/me/passkeys/"+ke.id, dora.sid), nil)
		fapiError(t, "deleting another user's passkey", res, body, http.StatusNotFound, "resource_not_found")
		res, body, _ = p.call(t, dora.c, http.MethodDelete, me("/me/passkeys/pk_doesnotexist", dora.sid), nil)
		fapiError(t, "deleting a passkey that does not exist", res, body, http.StatusNotFound, "resource_not_found")
		if n := p.passkeyCount(t, evan.id); n != 1 {
			t.Errorf("Evan's passkeys after Dora's delete: got %d, want 1", n)
		}
	})

	t.Run("delete with a password left", func(t *testing.T) {
		res, body, m := p.call(t, dora.c, http.MethodDelete, me("/me/passkeys/"+kd.id, dora.sid), nil)
		assertStatus(t, "delete", res, body, http.StatusOK)
		if m["deleted"] != true || m["id"] != kd.id {
			t.Errorf("delete: got %.300s, want deleted true for %s", body, kd.id)
		}
		if n := p.passkeyCount(t, dora.id); n != 0 {
			t.Errorf("passkeys after the delete: got %d, want 0", n)
		}
		if n := p.auditCount(t, dora.id, "passkey.deleted", kd.id); n != 1 {
			t.Errorf("passkey.deleted events: got %d, want 1", n)
		}
		kd.auth.Options.UserHandle = []byte(dora.id)
		c := p.Browser(t)
		id, opts, _ := p.beginSignIn(t, c)
		res, body, _ = p.finishSignIn(t, c, id, p.assertion(kd, opts, p.rp()))
		fapiError(t, "a deleted passkey", res, body, http.StatusUnprocessableEntity, "passkey_invalid")
		p.refusedSignIn(t, "a deleted passkey", c, res, body)
		res, body, _ = p.call(t, dora.c, http.MethodDelete, me("/me/passkeys/"+kd.id, dora.sid), nil)
		fapiError(t, "deleting it again", res, body, http.StatusNotFound, "resource_not_found")
	})

	t.Run("last way to sign in", func(t *testing.T) {
		fay := p.user(t, "fay@example.com", "fay's long passphrase", "Fay")
		k1 := p.register(t, fay, "")
		if _, err := p.App.Client.Users.RemovePassword(ctx, fay.id, false); err != nil {
			t.Fatal(err)
		}
		// Her session is kept, and still fresh.
		res, body, _ := p.call(t, fay.c, http.MethodDelete, me("/me/passkeys/"+k1.id, fay.sid), nil)
		fapiError(t, "deleting the only way to sign in", res, body, http.StatusUnprocessableEntity, "passkey_last_method")
		k2 := p.register(t, fay, "")
		res, body, _ = p.call(t, fay.c, http.MethodDelete, me("/me/passkeys/"+k1.id, fay.sid), nil)
		assertStatus(t, "deleting one of two passkeys without a password", res, body, http.StatusOK)
		res, body, _ = p.call(t, fay.c, http.MethodDelete, me("/me/passkeys/"+k2.id, fay.sid), nil)
		fapiError(t, "deleting the last passkey without a password", res, body, http.StatusUnprocessableEntity, "passkey_last_method")
		if n := p.passkeyCount(t, fay.id); n != 1 {
			t.Errorf("Fay's passkeys: got %d, want 1", n)
		}
		k2.auth.Options.UserHandle = []byte(fay.id)
		if _, uid := p.me(t, p.signInWith(t, k2), nil); uid != fay.id {
			t.Errorf("sign-in with Fay's last passkey: got %q, want %s", uid, fay.id)
		}
	})
}

// TestPasskeyConfig: on an IP address passkeys are off (404
// passkeys_disabled on every passkey route), and a PASSKEY_RP_ID that is
// not APP_URL's host or a domain above it stops the configuration.
func TestPasskeyConfig(t *testing.T) {
	t.Run("IP address", func(t *testing.T) {
		ta := startApp(t, nil) // http://127.0.0.1:PORT
		if on, why := ta.App.Identity.PasskeysEnabled(); on || !strings.Contains(why, "IP address") {
			t.Errorf("PasskeysEnabled on an IP: got %v %q, want off, saying why", on, why)
		}
		ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
		c := ta.Browser(t)
		ta.SignIn(t, c, doraEmail, doraPassword)
		sid := ta.sessionID(t, c)
		base := ta.URL + "/__clerk/v1"
		res, body := harness.PostForm(t, c, base+me("/me/passkeys", sid), url.Values{})
		fapiError(t, "POST /me/passkeys on an IP", res, body, http.StatusNotFound, "passkeys_disabled")
		res, body = harness.PostForm(t, c, base+me("/me/passkeys/pkc_x/attempt_verification", sid), url.Values{"public_key_credential": {"{}"}})
		fapiError(t, "attempt_verification on an IP", res, body, http.StatusNotFound, "passkeys_disabled")
		anon := ta.Browser(t)
		res, body = harness.PostForm(t, anon, base+"/client/sign_ins", url.Values{"strategy": {"passkey"}})
		fapiError(t, "a passkey sign-in on an IP", res, body, http.StatusNotFound, "passkeys_disabled")
	})

	load := func(appURL, rpID, origins string) (*config.Config, error) {
		vars := map[string]string{
			"APP_URL": appURL, "PASSKEY_RP_ID": rpID, "PASSKEY_ORIGINS": origins,
			"CLERK_SECRET_KEY": config.NewSecretKey(false), "CLERK_ENCRYPTION_KEY": config.NewEncryptionKey(),
			"DATABASE_URL": "sqlite:" + t.TempDir() + "/x.db",
		}
		return config.Load(func(k string) string { return vars[k] })
	}
	t.Run("PASSKEY_RP_ID", func(t *testing.T) {
		for _, tc := range []struct {
			appURL, rpID string
			ok           bool
		}{
			{"https://app.example.com", "example.com", true},
			{"https://app.example.com", "app.example.com", true},
			{"https://app.example.com", "APP.Example.com", true},
			{"https://app.example.com", "", true},
			{"http://app.localhost:3000", "localhost", true},
			{"https://app.example.com", "other.example", false},
			{"https://app.example.com", "ple.com", false},
			{"https://app.example.com", "sub.app.example.com", false},
			{"https://example.com", "app.example.com", false},
			{"https://app.example.com", "https://example.com", false},
			{"https://app.example.com", "example.com:443", false},
		} {
			cfg, err := load(tc.appURL, tc.rpID, "")
			switch {
			case tc.ok && err != nil:
				t.Errorf("APP_URL %s PASSKEY_RP_ID %q: got error %v, want none", tc.appURL, tc.rpID, err)
			case !tc.ok && (err == nil || !strings.Contains(err.Error(), "PASSKEY_RP_ID")):
				t.Errorf("APP_URL %s PASSKEY_RP_ID %q: got error %v, want one naming PASSKEY_RP_ID", tc.appURL, tc.rpID, err)
			case tc.ok && tc.rpID != "" && cfg.PasskeyRPID != strings.ToLower(tc.rpID):
				t.Errorf("APP_URL %s PASSKEY_RP_ID %q: got rp id %q, want %q", tc.appURL, tc.rpID, cfg.PasskeyRPID, strings.ToLower(tc.rpID))
			}
		}
	})
	t.Run("PASSKEY_ORIGINS", func(t *testing.T) {
		cfg, err := load("https://app.example.com", "", "")
		if err != nil || len(cfg.PasskeyOrigins) != 1 || cfg.PasskeyOrigins[0] != "https://app.example.com" {
			t.Errorf("default PASSKEY_ORIGINS: got %v, %v; want [https://app.example.com]", cfg, err)
		}
		for _, bad := range []string{"app.example.com", "https://app.example.com/path", "ftp://app.example.com"} {
			if _, err := load("https://app.example.com", "", bad); err == nil || !strings.Contains(err.Error(), "PASSKEY_ORIGINS") {
				t.Errorf("PASSKEY_ORIGINS %q: got error %v, want one naming PASSKEY_ORIGINS", bad, err)
			}
		}
	})
}
