package browser

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// startLocalhostApp starts the app with APP_URL http://localhost:PORT:
// browsers refuse an IP address as a WebAuthn relying-party id, so at the
// harness's http://127.0.0.1:PORT passkeys are off. The port is a
// listener of this test (on 127.0.0.1, and on ::1 when it can have the
// same port) that forwards each connection, bytes unchanged, to the
// app's own listener; the browser then sends Host: localhost:PORT and
// Origin http://localhost:PORT, as at a deployment behind a TCP proxy.
// The returned app's URL is http://localhost:PORT, so the helpers of
// this package that build their URLs from ta.URL go through it; the app
// logs into the returned buffer.
func startLocalhostApp(t *testing.T, env map[string]string) (*testApp, *logBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.1: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	listeners := []net.Listener{ln}
	// Chromium may try ::1 first for localhost; without it it falls back.
	if ln6, err := net.Listen("tcp6", fmt.Sprintf("[::1]:%d", port)); err == nil {
		listeners = append(listeners, ln6)
	}
	base := fmt.Sprintf("http://localhost:%d", port)
	vars := map[string]string{"APP_URL": base}
	for k, v := range env {
		vars[k] = v
	}
	logs := &logBuffer{}
	ta := &testApp{harness.StartLogging(t, vars, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})))}
	if ta.Cfg.PasskeyRPID != "localhost" {
		t.Fatalf("the relying party id is %q, want localhost", ta.Cfg.PasskeyRPID)
	}
	f := &forwarder{to: ta.Listener.Addr().String(), conns: map[net.Conn]struct{}{}}
	for _, l := range listeners {
		f.wg.Add(1)
		go f.serve(l)
	}
	// Registered after the app's cleanup, so it runs first: the
	// forwarded connections end before the app waits for its own.
	t.Cleanup(func() {
		for _, l := range listeners {
			l.Close()
		}
		f.close()
	})
	ta.URL = base
	return ta, logs
}

// logBuffer keeps the app's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// since returns the lines written after the first n bytes, and the
// length now.
func (l *logBuffer) since(n int) (string, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()[n:], l.b.Len()
}

// forwarder copies TCP connections to the address to.
type forwarder struct {
	to    string
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

func (f *forwarder) serve(l net.Listener) {
	defer f.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", f.to)
		if err != nil {
			c.Close()
			continue
		}
		if !f.track(c, up) {
			return
		}
		f.wg.Add(2)
		go f.pipe(up, c)
		go f.pipe(c, up)
	}
}

// track keeps the connections to close them at the end; false when the
// forwarder has ended already (it closed them).
func (f *forwarder) track(cs ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		f.conns[c] = struct{}{}
	}
	return true
}

// pipe copies from src to dst, then closes both (ending the other
// direction too).
func (f *forwarder) pipe(dst, src net.Conn) {
	defer f.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

func (f *forwarder) close() {
	f.mu.Lock()
	f.done = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// addAuthenticator enables the WebAuthn domain on the tab and adds a
// virtual platform authenticator (CTAP2, internal transport) with
// discoverable credentials and user verification that succeeds, and
// whose presence checks pass by themselves. synced makes its credentials
// backup eligible and backed up, as a passkey provider that copies them
// to the person's other devices.
func addAuthenticator(t *testing.T, ctx context.Context, synced bool) webauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("enable the WebAuthn domain: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
			DefaultBackupEligibility: synced, DefaultBackupState: synced,
		},
	})
	if err != nil {
		t.Fatalf("add a virtual authenticator: %v", err)
	}
	return res.AuthenticatorID
}

// withoutAutofill makes the tab's pages see a browser without
// conditional mediation (PublicKeyCredential.isConditionalMediationAvailable
// resolves false), until the returned func undoes it. Chromium's virtual
// authenticator answers a conditional request at once, as if the person
// had picked the passkey in the address field's autofill the moment
// /sign-in loaded; the tests of the button turn that off.
func withoutAutofill(t *testing.T, ctx context.Context) (restore func()) {
	t.Helper()
	res, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);`,
	})
	if err != nil {
		t.Fatalf("turn conditional mediation off: %v", err)
	}
	return func() {
		t.Helper()
		if _, err := chromedp.Call(ctx, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: res.Identifier}); err != nil {
			t.Fatalf("turn conditional mediation back on: %v", err)
		}
	}
}

// authenticatorCredentials are the credentials the authenticator holds.
func authenticatorCredentials(t *testing.T, ctx context.Context, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		t.Fatalf("get the authenticator's credentials: %v", err)
	}
	return res.Credentials
}

// onlyCredential is the authenticator's one credential.
func onlyCredential(t *testing.T, ctx context.Context, id webauthn.AuthenticatorID) *webauthn.Credential {
	t.Helper()
	creds := authenticatorCredentials(t, ctx, id)
	if len(creds) != 1 {
		t.Fatalf("the authenticator holds %d credentials, want 1", len(creds))
	}
	return creds[0]
}

// addCredentialParams are WebAuthn.addCredential's parameters with the
// credential's fields this test uses. cdproto's webauthn.Credential
// always sends generateCmtgKeyOnNextOperation (false), which Chromium
// answers with "CMTG is not supported by this authenticator" unless the
// authenticator has the cmtgKey extension.
type addCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      storedCredential         `json:"credential"`
}

type storedCredential struct {
	CredentialID         []byte  `json:"credentialId"`
	IsResidentCredential bool    `json:"isResidentCredential"`
	RpID                 string  `json:"rpId"`
	PrivateKey           []byte  `json:"privateKey"`
	UserHandle           []byte  `json:"userHandle,omitempty"`
	SignCount            float64 `json:"signCount"`
	BackupEligibility    bool    `json:"backupEligibility"`
	BackupState          bool    `json:"backupState"`
	UserName             string  `json:"userName,omitempty"`
	UserDisplayName      string  `json:"userDisplayName,omitempty"`
}

var addCredential = cdp.Command[addCredentialParams, cdp.Empty]{Method: webauthn.CommandAddCredential}

// putCredential adds c (as GetCredentials returned it: with its private
// key and sign count) to the authenticator.
func putCredential(t *testing.T, ctx context.Context, id webauthn.AuthenticatorID, c *webauthn.Credential, what string) {
	t.Helper()
	_, err := chromedp.Call(ctx, addCredential, addCredentialParams{AuthenticatorID: id, Credential: storedCredential{
		CredentialID: c.CredentialID, IsResidentCredential: c.IsResidentCredential, RpID: c.RpID, PrivateKey: c.PrivateKey,
		UserHandle: c.UserHandle, SignCount: c.SignCount, BackupEligibility: c.BackupEligibility, BackupState: c.BackupState,
		UserName: c.UserName, UserDisplayName: c.UserDisplayName,
	}})
	if err != nil {
		t.Fatalf("%s: add the credential to the authenticator: %v", what, err)
	}
}

// storedPasskeys are the user's passkeys as the store has them.
func storedPasskeys(t *testing.T, ta *testApp, userID string) []store.Passkey {
	t.Helper()
	list, err := ta.App.Store.ListPasskeys(context.Background(), userID)
	if err != nil {
		t.Fatalf("list the passkeys of %s: %v", userID, err)
	}
	return list
}

// sessionCount is how many sessions (of any status) the user has had.
func sessionCount(t *testing.T, ta *testApp, userID string) int {
	t.Helper()
	_, n, err := ta.App.Store.ListSessions(context.Background(), store.SessionFilter{UserID: userID, Limit: 100})
	if err != nil {
		t.Fatalf("list the sessions of %s: %v", userID, err)
	}
	return n
}

// passkeyCard is what the profile's passkeys card shows.
type passkeyCard struct {
	Off     string `json:"off"`
	Notice  string `json:"notice"`
	Error   string `json:"error"`
	Empty   bool   `json:"empty"`
	AddOpen bool   `json:"addOpen"` // the add form is shown
	Items   []struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Kind   string `json:"kind"`
		Meta   string `json:"meta"`
		Rename string `json:"rename"`
		Delete string `json:"delete"`
	} `json:"items"`
}

const passkeyCardJS = `(() => {
	const s = document.querySelector('section#passkeys');
	if (!s) return null;
	const text = (el) => el ? el.textContent.replace(/\s+/g, ' ').trim() : '';
	const add = s.querySelector('form[data-passkey-add]');
	const err = s.querySelector('p[data-passkey-error]');
	return {
		off: text(s.querySelector('[data-testid="passkeys-off"]')),
		notice: text(s.querySelector('.alert-success')),
		error: (err && !err.hidden ? text(err) : '') || text(s.querySelector('.alert-error')),
		empty: !!s.querySelector('p.empty'),
		addOpen: !!add && !add.hidden && add.offsetParent !== null,
		items: [...s.querySelectorAll('ul[data-testid="passkeys"] li[data-passkey-id]')].map((li) => ({
			id: li.dataset.passkeyId,
			name: text(li.querySelector('[data-testid="passkey-name"]')),
			kind: text(li.querySelector('[data-testid="passkey-kind"]')),
			meta: text(li.querySelector('.small')),
			rename: (li.querySelector('form[action$="/rename"]') || {getAttribute: () => ''}).getAttribute('action'),
			delete: (li.querySelector('form[action$="/delete"]') || {getAttribute: () => ''}).getAttribute('action'),
		})),
	};
})()`

func readPasskeyCard(t *testing.T, ctx context.Context, when string) passkeyCard {
	t.Helper()
	return eval[passkeyCard](t, ctx, "read the passkeys card "+when, passkeyCardJS)
}

// openProfilePasskeys opens /profile and waits for its passkeys card with
// the client script running.
func openProfilePasskeys(t *testing.T, ctx context.Context, ta *testApp) passkeyCard {
	t.Helper()
	act(t, ctx, "open /profile", chromedp.Navigate(ta.URL+"/profile"), chromedp.WaitReady(chromedp.CSS(`section#passkeys`)))
	waitPage(t, ctx, "/profile loads", 10*time.Second, loadedAt("/profile"))
	return readPasskeyCard(t, ctx, "on /profile")
}

// clickPasskeySignIn opens /sign-in (signed out), checks the passkey
// button and clicks it.
func clickPasskeySignIn(t *testing.T, ctx context.Context, ta *testApp) {
	t.Helper()
	act(t, ctx, "open /sign-in", chromedp.Navigate(ta.URL+"/sign-in"))
	p := waitPage(t, ctx, "/sign-in loads", 10*time.Second, loadedAt("/sign-in"))
	if p.SSR == nil || p.SSR.IsAuthenticated {
		t.Fatalf("/sign-in before the passkey sign-in: SSR state %s, want signed out", p)
	}
	act(t, ctx, "see the passkey button", chromedp.WaitVisible(chromedp.CSS(`button[data-passkey-sign-in]`)))
	markDocument(t, ctx)
	act(t, ctx, "click Sign in with a passkey", chromedp.Click(chromedp.CSS(`button[data-passkey-sign-in]`)))
}

// signedInWithPasskey waits for the fallback page after a passkey
// sign-in and returns its state and the session token's fva.
func signedInWithPasskey(t *testing.T, ctx context.Context, userID, when string) (pageInfo, []int) {
	t.Helper()
	p := waitPage(t, ctx, when+": land on /dashboard", 15*time.Second, func(p pageInfo) bool {
		if p.Path == "/sign-in" {
			if msg, _ := tryEval[string](ctx, `(() => { const e = document.querySelector('p[data-passkey-error]'); return e && !e.hidden ? e.textContent : ''; })()`); msg != "" {
				t.Fatalf("%s: the sign-in page shows the passkey error %q", when, msg)
			}
		}
		return loadedAt("/dashboard")(p)
	})
	if p.SSR == nil || !p.SSR.IsAuthenticated || p.SSR.UserID == nil || *p.SSR.UserID != userID ||
		p.SSR.SessionID == nil || *p.SSR.SessionID == "" {
		t.Fatalf("%s: /dashboard's SSR state %s, want signed in as %s with a session", when, p, userID)
	}
	claims := jwtClaims(t, eval[string](t, ctx, when+": Clerk.getToken()", `Clerk.getToken()`))
	if claims["sub"] != userID || claims["sid"] != *p.SSR.SessionID {
		t.Errorf("%s: the token's sub=%v sid=%v, want %s and %s", when, claims["sub"], claims["sid"], userID, *p.SSR.SessionID)
	}
	var fva []int
	if list, ok := claims["fva"].([]any); ok {
		for _, v := range list {
			if n, ok := v.(float64); ok {
				fva = append(fva, int(n))
			}
		}
	}
	if fmt.Sprint(fva) != fmt.Sprint(p.SSR.FactorVerificationAge) {
		t.Errorf("%s: the token's fva %v (claim %v) differs from the SSR state's %v", when, fva, claims["fva"], p.SSR.FactorVerificationAge)
	}
	return p, fva
}

// refusedPasskeySignIn waits for the error next to the passkey button
// after a click, checks that the tab stayed signed out on /sign-in and
// that no session was made for userID, and returns the error.
func refusedPasskeySignIn(t *testing.T, ctx context.Context, ta *testApp, userID string, sessionsBefore int, when string) string {
	t.Helper()
	act(t, ctx, when+": see the passkey error", chromedp.WaitVisible(chromedp.CSS(`p[data-passkey-error]`)))
	msg := strings.TrimSpace(eval[string](t, ctx, when+": read the passkey error", `document.querySelector('p[data-passkey-error]').textContent`))
	if msg == "" {
		t.Errorf("%s: the passkey error paragraph is shown but empty", when)
	}
	p := waitPage(t, ctx, when+": still on /sign-in", 5*time.Second, loadedAt("/sign-in"))
	if !p.Mark {
		t.Errorf("%s: the sign-in page was reloaded or left (%s), want the error in place", when, p)
	}
	if p.SSR == nil || p.SSR.IsAuthenticated || eval[bool](t, ctx, when+": Clerk.isSignedIn", `Clerk.isSignedIn`) {
		t.Errorf("%s: the sign-in page is signed in (%s), want no session", when, p)
	}
	if n := sessionCount(t, ta, userID); n != sessionsBefore {
		t.Errorf("%s: the user has %d sessions, want still %d (none made by the refused passkey)", when, n, sessionsBefore)
	}
	// The button can be used again.
	if dis := eval[bool](t, ctx, when+": the button's state", `document.querySelector('button[data-passkey-sign-in]').disabled`); dis {
		t.Errorf("%s: the passkey button stays disabled after the failure", when)
	}
	// And the server agrees: /dashboard is signed out.
	act(t, ctx, when+": open /dashboard", chromedp.Navigate(ta.URL+"/dashboard"))
	d := waitPage(t, ctx, when+": /dashboard (or where it sends) loads", 10*time.Second, func(p pageInfo) bool {
		return p.Ready == "complete" && p.SSR != nil
	})
	if d.SSR.IsAuthenticated {
		t.Errorf("%s: after the refused passkey /dashboard is signed in: %s", when, d)
	}
	return msg
}

// TestBrowserPasskeys: in Chromium with a virtual platform authenticator
// (CTAP2, internal, discoverable credentials, user verification), at
// http://localhost:PORT (passkeys need a domain, see startLocalhostApp).
//   - A user signed in with the password adds a passkey named Laptop on
//     the profile; the card lists it (This device only, never used) and
//     the authenticator holds a discoverable credential for localhost
//     naming the user.
//   - Signed out, "Sign in with a passkey" on /sign-in signs in to that
//     user without the address, on the fallback page (/dashboard), with
//     both factors: fva [0, 0] in the SSR state and the token. The
//     address field's autofill (conditional mediation) does the same with
//     no click.
//   - The passkey is renamed with the card's form.
//   - User verification failing on the authenticator: Chromium ends the
//     ceremony, the page says so, no session. An assertion without the
//     user-verified flag signs in as the first factor only: fva [0, -1]
//     for a user without an authenticator app.
//   - A credential the authenticator no longer has: the error next to the
//     button, no session (with the autofill on too); put back, it works.
//   - An authenticator cloned from an older copy of the credential (its
//     sign count behind the server's): refused, logged as a possible
//     clone, no session, the server's count unchanged.
//   - A deleted passkey leaves the card, and its credential, still on the
//     authenticator, no longer signs in.
//   - A synced (backup-eligible) passkey added without a name is listed as
//     "Synced passkey", Synced.
//
// With GATEHOUSE_SCREENSHOTS=1 the pages are saved at desktop and phone
// width (screenshotDir).
func TestBrowserPasskeys(t *testing.T) {
	ctx := newBrowser(t, 240*time.Second)
	ta, logs := startLocalhostApp(t, nil)
	const email, password = "passkey@example.com", "correct horse battery"
	u := ta.CreateUser(t, email, password, "Pat", "Keys")
	auth := addAuthenticator(t, ctx, false)
	autofillBack := withoutAutofill(t, ctx)

	// Add a passkey on the profile.
	signInWithForm(t, ctx, ta, email, password)
	card := openProfilePasskeys(t, ctx, ta)
	if card.Off != "" {
		t.Fatalf("the passkeys card says passkeys are off at %s: %q", ta.URL, card.Off)
	}
	if !card.Empty || len(card.Items) != 0 {
		t.Errorf("the passkeys card before adding: got %+v, want No passkeys yet", card)
	}
	act(t, ctx, "see the add form", chromedp.WaitVisible(chromedp.CSS(`section#passkeys form[data-passkey-add] button`)))
	act(t, ctx, "add a passkey named Laptop",
		chromedp.SendKeys(chromedp.CSS(`section#passkeys form[data-passkey-add] input[name="name"]`), "Laptop"),
		chromedp.Click(chromedp.CSS(`section#passkeys form[data-passkey-add] button[type="submit"]`)))
	waitPage(t, ctx, "back on /profile after adding", 15*time.Second, func(p pageInfo) bool {
		if p.Path == "/profile" && p.Ready == "complete" && !p.Mark {
			if s, _ := tryEval[string](ctx, `location.search + location.hash`); s == "?done=passkey_added#passkeys" {
				return true
			}
		}
		if msg, _ := tryEval[string](ctx, `(document.querySelector('section#passkeys p[data-passkey-error]') || {}).textContent || ''`); msg != "" {
			t.Fatalf("adding the passkey failed on the page: %q", msg)
		}
		return false
	})
	card = readPasskeyCard(t, ctx, "after adding")
	if len(card.Items) != 1 || card.Items[0].Name != "Laptop" || card.Items[0].Kind != "This device only" {
		t.Fatalf("the passkeys card after adding: got %+v, want one passkey Laptop, This device only (the virtual authenticator is not backup eligible)", card)
	}
	pk := card.Items[0]
	if card.Notice != "The passkey was added." || !strings.Contains(pk.Meta, "Never used") {
		t.Errorf("the passkeys card after adding: notice %q, meta %q; want %q and Never used", card.Notice, pk.Meta, "The passkey was added.")
	}
	if pk.Rename != "/profile/passkeys/"+pk.ID+"/rename" || pk.Delete != "/profile/passkeys/"+pk.ID+"/delete" {
		t.Errorf("the passkey's forms: rename %q, delete %q; want /profile/passkeys/%s/rename and /delete", pk.Rename, pk.Delete, pk.ID)
	}
	// The page is scrolled to #passkeys; a full-page screenshot would
	// paint the sticky header over the card.
	eval[bool](t, ctx, "scroll to the top", `(window.scrollTo(0, 0), true)`)
	screenshot(t, ctx, "profile-passkeys")
	cred := onlyCredential(t, ctx, auth)
	if !cred.IsResidentCredential || cred.RpID != "localhost" || string(cred.UserHandle) != u.ID {
		t.Fatalf("the authenticator's credential: resident %v, rp %q, user handle %q; want a discoverable credential for localhost naming %s",
			cred.IsResidentCredential, cred.RpID, cred.UserHandle, u.ID)
	}
	if stored := storedPasskeys(t, ta, u.ID); len(stored) != 1 || stored[0].ID != pk.ID || !bytes.Equal(stored[0].CredentialID, cred.CredentialID) ||
		!stored[0].UserVerified || stored[0].Name != "Laptop" {
		t.Fatalf("the stored passkeys: got %+v, want %s with the authenticator's credential id, user verified, named Laptop", stored, pk.ID)
	}

	// Signed out, the passkey signs in without the address.
	signOutInBrowser(t, ctx, ta)
	act(t, ctx, "open /sign-in", chromedp.Navigate(ta.URL+"/sign-in"))
	waitPage(t, ctx, "/sign-in loads", 10*time.Second, loadedAt("/sign-in"))
	act(t, ctx, "see the passkey button", chromedp.WaitVisible(chromedp.CSS(`button[data-passkey-sign-in]`)))
	type signInPage struct {
		Button       string `json:"button"`
		Divider      bool   `json:"divider"`
		Autocomplete string `json:"autocomplete"`
		ErrorHidden  bool   `json:"errorHidden"`
	}
	sp := eval[signInPage](t, ctx, "read the sign-in page", `({
		button: document.querySelector('button[data-passkey-sign-in]').textContent.trim(),
		divider: !document.querySelector('[data-passkey-divider]').hidden,
		autocomplete: document.getElementById('identifier').getAttribute('autocomplete'),
		errorHidden: document.querySelector('p[data-passkey-error]').hidden,
	})`)
	if sp.Button != "Sign in with a passkey" || !sp.Divider || sp.Autocomplete != "username webauthn" || !sp.ErrorHidden {
		t.Errorf("the sign-in page: got %+v, want the button %q, the divider shown, autocomplete %q, no error",
			sp, "Sign in with a passkey", "username webauthn")
	}
	screenshot(t, ctx, "sign-in-passkey")
	clickPasskeySignIn(t, ctx, ta)
	p, fva := signedInWithPasskey(t, ctx, u.ID, "passkey sign-in")
	if len(fva) != 2 || fva[0] != 0 || fva[1] != 0 {
		t.Errorf("fva after a passkey with user verification: got %v, want [0 0] (both factors)", fva)
	}
	stored := storedPasskeys(t, ta, u.ID)
	if len(stored) != 1 || stored[0].LastUsedAt == 0 || stored[0].SignCount == 0 {
		t.Errorf("the stored passkey after the sign-in: got %+v, want last used and a sign count", stored)
	}
	t.Logf("signed in with the passkey: session %s, fva %v, sign count %d", *p.SSR.SessionID, fva, stored[0].SignCount)

	// The address field's autofill (conditional mediation): with it on,
	// /sign-in signs in as soon as the authenticator answers, no click.
	signOutInBrowser(t, ctx, ta)
	autofillBack()
	act(t, ctx, "open /sign-in with autofill", chromedp.Navigate(ta.URL+"/sign-in"))
	_, fva = signedInWithPasskey(t, ctx, u.ID, "passkey sign-in from the autofill")
	if len(fva) != 2 || fva[0] != 0 || fva[1] != 0 {
		t.Errorf("fva after the autofill passkey: got %v, want [0 0]", fva)
	}
	autofillBack = withoutAutofill(t, ctx)

	// Rename it on the profile.
	card = openProfilePasskeys(t, ctx, ta)
	if len(card.Items) != 1 || !strings.Contains(card.Items[0].Meta, "Last used") {
		t.Errorf("the passkeys card after the sign-in: got %+v, want the passkey, Last used", card)
	}
	markDocument(t, ctx)
	rename := `section#passkeys form[action="/profile/passkeys/` + pk.ID + `/rename"]`
	act(t, ctx, "rename the passkey to Work laptop",
		chromedp.Clear(chromedp.CSS(rename+` input[name="name"]`)),
		chromedp.SendKeys(chromedp.CSS(rename+` input[name="name"]`), "Work laptop"),
		chromedp.Click(chromedp.CSS(rename+` button[type="submit"]`)))
	waitPage(t, ctx, "back on /profile after renaming", 10*time.Second, func(p pageInfo) bool {
		return p.Path == "/profile" && p.Ready == "complete" && !p.Mark
	})
	card = readPasskeyCard(t, ctx, "after renaming")
	if len(card.Items) != 1 || card.Items[0].Name != "Work laptop" || card.Notice != "The passkey was renamed." {
		t.Errorf("the passkeys card after renaming: got %+v, want Work laptop and %q", card, "The passkey was renamed.")
	}
	if stored := storedPasskeys(t, ta, u.ID); len(stored) != 1 || stored[0].Name != "Work laptop" {
		t.Errorf("the stored passkey after renaming: got %+v, want Work laptop", stored)
	}

	// User verification failing on the authenticator (the fingerprint not
	// recognised): Chromium ends the ceremony itself (NotAllowedError)
	// before the server sees an assertion; no session.
	signOutInBrowser(t, ctx, ta)
	setUV := func(ok bool) {
		t.Helper()
		if _, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: auth, IsUserVerified: ok}); err != nil {
			t.Fatalf("set the authenticator's user verification to %v: %v", ok, err)
		}
	}
	setUV(false)
	before := sessionCount(t, ta, u.ID)
	clickPasskeySignIn(t, ctx, ta)
	msg := refusedPasskeySignIn(t, ctx, ta, u.ID, before, "user verification failing")
	if msg != "The passkey was not used. Try again." {
		t.Errorf("user verification failing: the page says %q, want the cancelled-ceremony message", msg)
	}
	setUV(true)

	// An assertion without the user-verified flag (an authenticator that
	// cannot verify its user, as the server only prefers it): the first
	// factor only; this user has no second factor, so fva [0, -1].
	badUV := func(on bool) {
		t.Helper()
		if _, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: auth, IsBadUV: &on}); err != nil {
			t.Fatalf("set the authenticator's UV override to %v: %v", on, err)
		}
	}
	badUV(true)
	clickPasskeySignIn(t, ctx, ta)
	_, fva = signedInWithPasskey(t, ctx, u.ID, "passkey sign-in without user verification")
	if len(fva) != 2 || fva[0] != 0 || fva[1] != -1 {
		t.Errorf("fva after a passkey without user verification: got %v, want [0 -1] (the first factor only)", fva)
	}
	badUV(false)

	// The authenticator no longer has the credential: an error next to the
	// button, no session.
	signOutInBrowser(t, ctx, ta)
	saved := onlyCredential(t, ctx, auth)
	if _, err := chromedp.Call(ctx, webauthn.RemoveCredential, webauthn.RemoveCredentialParams{AuthenticatorID: auth, CredentialID: saved.CredentialID}); err != nil {
		t.Fatalf("remove the credential from the authenticator: %v", err)
	}
	before = sessionCount(t, ta, u.ID)
	clickPasskeySignIn(t, ctx, ta)
	act(t, ctx, "see the passkey error", chromedp.WaitVisible(chromedp.CSS(`p[data-passkey-error]`)))
	screenshot(t, ctx, "sign-in-passkey-error")
	msg = refusedPasskeySignIn(t, ctx, ta, u.ID, before, "no credential on the authenticator")
	t.Logf("without the credential the page says %q", msg)

	// The same with the autofill on, as in a browser with conditional
	// mediation: the button aborts the autofill's request (which has
	// nothing to offer) and runs its own ceremony, which fails the same way.
	autofillBack()
	clickPasskeySignIn(t, ctx, ta)
	msg = refusedPasskeySignIn(t, ctx, ta, u.ID, before, "no credential on the authenticator, autofill on")
	t.Logf("without the credential, with the autofill, the page says %q", msg)
	autofillBack = withoutAutofill(t, ctx)

	// Back on the authenticator, it signs in again.
	putCredential(t, ctx, auth, saved, "put the credential back")
	clickPasskeySignIn(t, ctx, ta)
	signedInWithPasskey(t, ctx, u.ID, "passkey sign-in with the credential put back")

	// A cloned authenticator: a copy of the credential taken now, while
	// the original signs in twice more, presents a sign count behind the
	// server's.
	signOutInBrowser(t, ctx, ta)
	old := onlyCredential(t, ctx, auth)
	for i := range 2 {
		clickPasskeySignIn(t, ctx, ta)
		signedInWithPasskey(t, ctx, u.ID, fmt.Sprintf("passkey sign-in %d after the copy", i+1))
		signOutInBrowser(t, ctx, ta)
	}
	current := onlyCredential(t, ctx, auth)
	serverCount := storedPasskeys(t, ta, u.ID)[0].SignCount
	if current.SignCount <= old.SignCount || float64(serverCount) != current.SignCount {
		t.Fatalf("sign counts: the copy %v, the authenticator now %v, the server %d; want the copy behind, the server at the authenticator's",
			old.SignCount, current.SignCount, serverCount)
	}
	// Chromium allows one internal authenticator at a time: the original
	// goes, the clone comes.
	if _, err := chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: auth}); err != nil {
		t.Fatalf("remove the first authenticator: %v", err)
	}
	clone := addAuthenticator(t, ctx, false)
	putCredential(t, ctx, clone, old, "the clone")
	before = sessionCount(t, ta, u.ID)
	_, mark := logs.since(0)
	clickPasskeySignIn(t, ctx, ta)
	msg = refusedPasskeySignIn(t, ctx, ta, u.ID, before, "cloned authenticator")
	t.Logf("with the cloned authenticator the page says %q", msg)
	if logged, _ := logs.since(mark); !strings.Contains(logged, "possibly a cloned authenticator") {
		t.Errorf("the clone's refusal was not logged as a sign count going backwards; the app logged:\n%s", logged)
	}
	if got := storedPasskeys(t, ta, u.ID)[0].SignCount; got != serverCount {
		t.Errorf("the server's sign count after the clone's attempt: got %d, want still %d", got, serverCount)
	}

	// The original credential, as it is now, on a fresh authenticator in
	// place of the clone: it signs in, so the refusal below is the
	// deletion's.
	if _, err := chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: clone}); err != nil {
		t.Fatalf("remove the cloned authenticator: %v", err)
	}
	auth = addAuthenticator(t, ctx, false)
	putCredential(t, ctx, auth, current, "the restored authenticator")
	clickPasskeySignIn(t, ctx, ta)
	signedInWithPasskey(t, ctx, u.ID, "passkey sign-in on the restored authenticator")

	// Delete it on the profile (the fresh passkey session may).
	openProfilePasskeys(t, ctx, ta)
	markDocument(t, ctx)
	eval[bool](t, ctx, "accept the confirmation", `(window.confirm = () => true, true)`)
	del := `section#passkeys form[action="/profile/passkeys/` + pk.ID + `/delete"] button[type="submit"]`
	act(t, ctx, "delete the passkey", chromedp.Click(chromedp.CSS(del)))
	waitPage(t, ctx, "back on /profile after deleting", 10*time.Second, func(p pageInfo) bool {
		return p.Path == "/profile" && p.Ready == "complete" && !p.Mark
	})
	card = readPasskeyCard(t, ctx, "after deleting")
	if len(card.Items) != 0 || !card.Empty || card.Notice != "The passkey was deleted." {
		t.Errorf("the passkeys card after deleting: got %+v, want No passkeys yet and %q", card, "The passkey was deleted.")
	}
	if stored := storedPasskeys(t, ta, u.ID); len(stored) != 0 {
		t.Errorf("the stored passkeys after deleting: got %+v, want none", stored)
	}
	signOutInBrowser(t, ctx, ta)
	if n := len(authenticatorCredentials(t, ctx, auth)); n != 1 {
		t.Fatalf("the authenticator holds %d credentials, want still the deleted passkey's", n)
	}
	before = sessionCount(t, ta, u.ID)
	clickPasskeySignIn(t, ctx, ta)
	_, mark = logs.since(0)
	msg = refusedPasskeySignIn(t, ctx, ta, u.ID, before, "deleted passkey")
	t.Logf("with the deleted passkey the page says %q", msg)
	if logged, _ := logs.since(mark); !strings.Contains(logged, "passkey sign-in refused") || !strings.Contains(logged, "not found") || strings.Contains(logged, "cloned") {
		t.Errorf("the deleted passkey's refusal: want it logged as refused (unknown credential), not as a clone; the app logged:\n%s", logged)
	}

	// A synced passkey (backup eligible), added without a name: the card
	// calls it Synced passkey, Synced.
	if _, err := chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: auth}); err != nil {
		t.Fatalf("remove the authenticator: %v", err)
	}
	addAuthenticator(t, ctx, true)
	signInWithForm(t, ctx, ta, email, password)
	openProfilePasskeys(t, ctx, ta)
	markDocument(t, ctx)
	act(t, ctx, "add a passkey without a name",
		chromedp.WaitVisible(chromedp.CSS(`section#passkeys form[data-passkey-add] button`)),
		chromedp.Click(chromedp.CSS(`section#passkeys form[data-passkey-add] button[type="submit"]`)))
	waitPage(t, ctx, "back on /profile after adding the synced passkey", 15*time.Second, func(p pageInfo) bool {
		return p.Path == "/profile" && p.Ready == "complete" && !p.Mark
	})
	card = readPasskeyCard(t, ctx, "after adding the synced passkey")
	if len(card.Items) != 1 || card.Items[0].Name != "Synced passkey" || card.Items[0].Kind != "Synced" || card.Notice != "The passkey was added." {
		t.Errorf("the passkeys card after adding a synced passkey without a name: got %+v, want one passkey %q, Synced", card, "Synced passkey")
	}
	if stored := storedPasskeys(t, ta, u.ID); len(stored) != 1 || !stored[0].BackupEligible || !stored[0].BackupState {
		t.Errorf("the stored synced passkey: got %+v, want backup eligible and backed up", stored)
	}
}

// TestBrowserPasskeysWithoutJavaScript: with JavaScript off, the sign-in
// page's passkey button and divider and the profile's add form stay
// hidden (the profile says adding needs JavaScript), while the password
// sign-in works and the card still lists and renames passkeys.
func TestBrowserPasskeysWithoutJavaScript(t *testing.T) {
	ctx := newBrowser(t, 90*time.Second)
	ta, _ := startLocalhostApp(t, nil)
	const email, password = "nojs-passkey@example.com", "correct horse battery"
	ta.CreateUser(t, email, password, "Noah", "Script")
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("turn JavaScript off: %v", err)
	}
	type hidden struct {
		Script   bool     `json:"script"` // the page's own scripts ran
		Controls []string `json:"controls"`
		Shown    []string `json:"shown"`
		Noscript string   `json:"noscript"`
	}
	const hiddenJS = `(() => {
		const sel = ['button[data-passkey-sign-in]', '[data-passkey-divider]', 'p[data-passkey-error]', 'form[data-passkey-add]'];
		const found = sel.filter((s) => document.querySelector(s));
		const shown = found.filter((s) => { const el = document.querySelector(s); return !el.hidden || el.offsetParent !== null; });
		return {script: typeof window.Clerk !== 'undefined', controls: found, shown,
			noscript: [...document.querySelectorAll('[data-testid="passkey-add"] p.muted')].map((p) => p.offsetParent !== null ? p.textContent.trim() : '').join('')};
	})()`

	act(t, ctx, "open /sign-in", chromedp.Navigate(ta.URL+"/sign-in"), chromedp.WaitVisible(chromedp.CSS(`#identifier`)))
	h := eval[hidden](t, ctx, "read the sign-in page", hiddenJS)
	if h.Script {
		t.Fatalf("window.Clerk exists: JavaScript is not off")
	}
	if len(h.Controls) != 3 || len(h.Shown) != 0 {
		t.Errorf("the sign-in page without JavaScript: passkey controls %q, shown %q; want the button, divider and error rendered and all hidden", h.Controls, h.Shown)
	}
	act(t, ctx, "sign in with the password",
		chromedp.SendKeys(chromedp.CSS(`#identifier`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`form[action="/sign-in"] button[type="submit"]`)))
	p := waitPage(t, ctx, "land on /dashboard", 15*time.Second, loadedPath("/dashboard"))
	if p.SSR == nil || !p.SSR.IsAuthenticated {
		t.Fatalf("after the password without JavaScript: %s, want signed in", p)
	}
	act(t, ctx, "open /profile", chromedp.Navigate(ta.URL+"/profile"), chromedp.WaitVisible(chromedp.CSS(`section#passkeys`)))
	card := readPasskeyCard(t, ctx, "without JavaScript")
	if card.Off != "" || !card.Empty || card.AddOpen {
		t.Errorf("the passkeys card without JavaScript: got %+v, want on, empty, the add form hidden", card)
	}
	h = eval[hidden](t, ctx, "read the profile", hiddenJS)
	if len(h.Shown) != 0 || h.Noscript != "Adding a passkey needs JavaScript." {
		t.Errorf("the profile without JavaScript: shown %q, note %q; want no passkey control and %q", h.Shown, h.Noscript, "Adding a passkey needs JavaScript.")
	}
	screenshot(t, ctx, "profile-passkeys-nojs")
}
