package browser

// Browser tests (spec 06 §4): the real app on an httptest.Server, driven by
// Debian's Chromium through chromedp. Without Chromium they skip, unless
// GATEHOUSE_REQUIRE_BROWSER=1 (CI), which turns the absence into a failure.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromiumPath finds the local Chromium (or Chrome) binary.
func chromiumPath() (string, error) {
	names := []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("none of %s is on PATH (install Debian's chromium package)", strings.Join(names, ", "))
}

// newBrowser starts a headless Chromium for one test and returns the
// context of its first tab. timeout bounds the whole test: when it ends,
// the browser stops and every pending action fails. The browser is closed
// (and waited for) when the test ends.
func newBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	path, err := chromiumPath()
	if err != nil {
		if os.Getenv("GATEHOUSE_REQUIRE_BROWSER") == "1" {
			t.Fatalf("Chromium not found: %v", err)
		}
		t.Skipf("skipping browser test: Chromium not found: %v (set GATEHOUSE_REQUIRE_BROWSER=1 to make this a failure)", err)
	}
	// Created before the cleanups below, so it is removed after the
	// browser has exited (cleanups run last-in first-out).
	profile := t.TempDir()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
	)
	deadline, cancelDeadline := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(deadline, opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelDeadline()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser and opens the tab
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	watchConsole(t, ctx, "tab")
	return ctx
}

// newTab opens another tab in the same browser (and the same cookie jar).
func newTab(t *testing.T, parent context.Context, name string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab %s: %v", name, err)
	}
	watchConsole(t, ctx, name)
	return ctx
}

// watchConsole keeps the page's console messages and uncaught exceptions,
// and logs them when the test fails.
func watchConsole(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var (
		mu   sync.Mutex
		msgs []string
	)
	events := chromedp.Console(ctx)
	go func() {
		for m, err := range events {
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, fmt.Sprintf("[%s] %s: %s (%s:%d)", name, m.Type, m.Text, m.URL, m.Line+1))
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			t.Logf("browser console %s", m)
		}
	})
}

// eval evaluates a JavaScript expression in the page and decodes its value.
// A promise is awaited.
func eval[T any](t *testing.T, ctx context.Context, what, expr string) T {
	t.Helper()
	v, err := tryEval[T](ctx, expr)
	if err != nil {
		t.Fatalf("%s: evaluate %s: %v", what, expr, err)
	}
	return v
}

func tryEval[T any](ctx context.Context, expr string) (T, error) {
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ectx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

func act(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(actx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sSRState is the part of the page's SSR state the tests look at.
type sSRState struct {
	IsAuthenticated bool    `json:"isAuthenticated"`
	UserID          *string `json:"userId"`
	SessionID       *string `json:"sessionId"`
	// FactorVerificationAge is the session token's fva, as hydrated.
	FactorVerificationAge []int `json:"factorVerificationAge"`
}

// pageInfo is what the tests poll while a page loads.
type pageInfo struct {
	Path  string    `json:"path"`
	Ready string    `json:"ready"`
	Clerk bool      `json:"clerk"` // window.Clerk is there and loaded
	SSR   *sSRState `json:"ssr"`   // nil when the page has no (valid) SSR state
	Mark  bool      `json:"mark"`  // the marker set by markDocument is still there
}

const pageInfoJS = `(() => {
	let ssr = null;
	try { ssr = JSON.parse(document.getElementById('__clerk_ssr_state').textContent).__clerk_ssr_state; } catch (e) {}
	return {
		path: location.pathname, ready: document.readyState,
		clerk: typeof window.Clerk === 'object' && window.Clerk !== null && window.Clerk.isLoaded === true,
		ssr, mark: window.__gatehouseTestMark === true,
	};
})()`

// markDocument tags the current document, so a test can tell when the tab
// has loaded a new one.
func markDocument(t *testing.T, ctx context.Context) {
	t.Helper()
	eval[bool](t, ctx, "mark the document", `(window.__gatehouseTestMark = true)`)
}

func (p pageInfo) String() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// waitPage polls the tab (every 100 ms, up to timeout) until ok accepts it.
// Evaluation errors while a navigation is under way are retried.
func waitPage(t *testing.T, ctx context.Context, what string, timeout time.Duration, ok func(pageInfo) bool) pageInfo {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var (
		last    pageInfo
		lastErr error
		seen    bool
	)
	for {
		info, err := tryEval[pageInfo](ctx, pageInfoJS)
		if err == nil {
			last, seen, lastErr = info, true, nil
			if ok(info) {
				return info
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if !seen {
				t.Fatalf("%s: not within %v; the page could not be read: %v", what, timeout, lastErr)
			}
			t.Fatalf("%s: not within %v; last state %s (last error: %v)", what, timeout, last, lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// loadedAt reports whether the tab shows a fully loaded page at path, with
// the client script running.
func loadedAt(path string) func(pageInfo) bool {
	return func(p pageInfo) bool { return p.Path == path && p.Ready == "complete" && p.Clerk }
}

// netLog records the tab's network requests from the DevTools protocol.
type netLog struct {
	mu     sync.Mutex
	reqs   []netRequest
	status map[network.RequestID]int64
}

type netRequest struct {
	id     network.RequestID
	method string
	url    string
	at     time.Time
}

func recordNetwork(t *testing.T, ctx context.Context) *netLog {
	t.Helper()
	l := &netLog{status: map[network.RequestID]int64{}}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if e.Request == nil {
				return
			}
			l.mu.Lock()
			l.reqs = append(l.reqs, netRequest{id: e.RequestID, method: e.Request.Method, url: e.Request.URL, at: time.Now()})
			l.mu.Unlock()
		case *network.EventResponseReceived:
			if e.Response == nil {
				return
			}
			l.mu.Lock()
			l.status[e.RequestID] = e.Response.Status
			l.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("listen to network events: %v", err)
	}
	return l
}

// matching returns the requests whose URL contains sub (and, when method is
// not empty, use method).
func (l *netLog) matching(method, sub string) []netRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []netRequest
	for _, r := range l.reqs {
		if strings.Contains(r.url, sub) && (method == "" || r.method == method) {
			out = append(out, r)
		}
	}
	return out
}

func (l *netLog) statusOf(id network.RequestID) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.status[id]
	return s, ok
}

func (l *netLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.reqs))
	for _, r := range l.reqs {
		out = append(out, r.method+" "+r.url)
	}
	return out
}

// signInWithForm signs the tab in by filling and submitting the real
// sign-in form, and waits for the dashboard.
func signInWithForm(t *testing.T, ctx context.Context, ta *testApp, email, password string) pageInfo {
	t.Helper()
	act(t, ctx, "open /sign-in",
		chromedp.Navigate(ta.URL+"/sign-in"),
		chromedp.WaitVisible(chromedp.CSS(`#identifier`)),
	)
	act(t, ctx, "fill and submit the sign-in form",
		chromedp.SendKeys(chromedp.CSS(`#identifier`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`form[action="/sign-in"] button[type="submit"]`)),
	)
	info := waitPage(t, ctx, "land on /dashboard after signing in", 15*time.Second, loadedAt("/dashboard"))
	if info.SSR == nil || !info.SSR.IsAuthenticated {
		t.Fatalf("after signing in, /dashboard's SSR state is not signed in: %s", info)
	}
	return info
}

// jwtClaims decodes (without verifying) the payload of a compact JWT.
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		t.Fatalf("Clerk.getToken() = %q, want a compact JWT with 3 non-empty segments", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload is not base64url: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatalf("JWT payload is not JSON: %v", err)
	}
	return claims
}

func TestBrowserHydration(t *testing.T) {
	ctx := newBrowser(t, 60*time.Second)
	ta := startApp(t, nil)
	u := ta.CreateUser(t, "hydra@example.com", "correct horse battery", "Hydra", "Tion")

	signInWithForm(t, ctx, ta, "hydra@example.com", "correct horse battery")

	type hydration struct {
		SSR      sSRState `json:"ssr"`
		IsLoaded bool     `json:"isLoaded"`
		Auth     struct {
			IsLoaded   bool    `json:"isLoaded"`
			IsSignedIn bool    `json:"isSignedIn"`
			UserID     *string `json:"userId"`
			SessionID  *string `json:"sessionId"`
		} `json:"auth"`
	}
	const hydrationJS = `(() => {
		const ssr = JSON.parse(document.getElementById('__clerk_ssr_state').textContent).__clerk_ssr_state;
		const a = Clerk.useAuth();
		return {ssr, isLoaded: Clerk.isLoaded,
			auth: {isLoaded: a.isLoaded, isSignedIn: a.isSignedIn, userId: a.userId, sessionId: a.sessionId}};
	})()`
	check := func(when string) hydration {
		t.Helper()
		h := eval[hydration](t, ctx, "read the hydrated state "+when, hydrationJS)
		if !h.IsLoaded || !h.Auth.IsLoaded {
			t.Errorf("%s: Clerk.isLoaded = %v, useAuth().isLoaded = %v; want both true", when, h.IsLoaded, h.Auth.IsLoaded)
		}
		if !h.SSR.IsAuthenticated || h.SSR.UserID == nil || *h.SSR.UserID != u.ID || h.SSR.SessionID == nil || *h.SSR.SessionID == "" {
			t.Fatalf("%s: SSR state %+v, want signed in as %s with a session", when, h.SSR, u.ID)
		}
		if h.Auth.UserID == nil || *h.Auth.UserID != *h.SSR.UserID {
			t.Errorf("%s: useAuth().userId = %v, want the SSR userId %q", when, deref(h.Auth.UserID), *h.SSR.UserID)
		}
		if h.Auth.SessionID == nil || *h.Auth.SessionID != *h.SSR.SessionID {
			t.Errorf("%s: useAuth().sessionId = %v, want the SSR sessionId %q", when, deref(h.Auth.SessionID), *h.SSR.SessionID)
		}
		if !h.Auth.IsSignedIn {
			t.Errorf("%s: useAuth().isSignedIn = false, want true", when)
		}
		return h
	}
	first := check("after sign-in")

	// No frontend-API request at page load: reload the dashboard while
	// recording the network, and give the script time to misbehave.
	netlog := recordNetwork(t, ctx)
	act(t, ctx, "reload /dashboard", chromedp.Reload())
	waitPage(t, ctx, "/dashboard reloaded", 10*time.Second, loadedAt("/dashboard"))
	time.Sleep(2 * time.Second) // an observation window: any load-time request would happen in it

	second := check("after reload")
	if *second.SSR.SessionID != *first.SSR.SessionID {
		t.Errorf("the reload changed the session: %s, then %s", *first.SSR.SessionID, *second.SSR.SessionID)
	}
	// The recorder must have seen the load itself, or its silence proves nothing.
	if len(netlog.matching("GET", "/dashboard")) == 0 || len(netlog.matching("GET", "/static/clerk.js")) == 0 {
		t.Fatalf("the network recorder missed the reload (saw %q); cannot check for frontend-API requests", netlog.all())
	}
	if fapi := netlog.matching("", "/__clerk/v1/"); len(fapi) > 0 {
		var list []string
		for _, r := range fapi {
			list = append(list, r.method+" "+r.url)
		}
		t.Errorf("page load made frontend-API requests (want none while the embedded token is fresh): %q", list)
	}
	// The page's own view (Resource Timing) must agree.
	resources := eval[[]string](t, ctx, "list the loaded resources",
		`performance.getEntriesByType('resource').map(e => e.name)`)
	sawScript := false
	for _, r := range resources {
		if strings.Contains(r, "/__clerk/v1/") {
			t.Errorf("Resource Timing lists a frontend-API request at load: %s", r)
		}
		if strings.Contains(r, "/static/clerk.js") {
			sawScript = true
		}
	}
	if !sawScript {
		t.Errorf("Resource Timing does not list /static/clerk.js (entries: %q)", resources)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return fmt.Sprintf("%q", *s)
}

func TestBrowserTokenRefresh(t *testing.T) {
	const ttl = 3 * time.Second
	const skew = 5 * time.Second // the verifier's clock-skew allowance
	ctx := newBrowser(t, 60*time.Second)
	ta := startApp(t, map[string]string{"SESSION_TOKEN_TTL": "3s"})
	u := ta.CreateUser(t, "fresh@example.com", "correct horse battery", "Fresh", "Token")

	netlog := recordNetwork(t, ctx)
	info := signInWithForm(t, ctx, ta, "fresh@example.com", "correct horse battery")
	landed := time.Now()
	sid := *info.SSR.SessionID
	markDocument(t, ctx)

	if v := eval[string](t, ctx, "read the visibility", `document.visibilityState`); v != "visible" {
		t.Fatalf("document.visibilityState = %q, want visible (the script refreshes only visible tabs)", v)
	}

	// Stay on the dashboard past the token's lifetime plus the skew, and
	// until the script has refreshed after the first token was dead.
	tokensPath := "/__clerk/v1/client/sessions/" + url.PathEscape(sid) + "/tokens"
	expired := landed.Add(ttl + skew)
	deadline := landed.Add(ttl + skew + 12*time.Second)
	var lateRefresh *netRequest
	for {
		if time.Now().After(expired.Add(2 * time.Second)) {
			for _, r := range netlog.matching("POST", tokensPath) {
				if r.at.After(expired) {
					if s, ok := netlog.statusOf(r.id); ok && s == 200 {
						lateRefresh = &r
						break
					}
				}
			}
			if lateRefresh != nil {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	reqs := netlog.matching("POST", "/tokens")
	var seen []string
	for _, r := range reqs {
		s, _ := netlog.statusOf(r.id)
		seen = append(seen, fmt.Sprintf("%s at +%.1fs → %d", r.url, r.at.Sub(landed).Seconds(), s))
	}
	t.Logf("token requests from the page: %q", seen)
	if lateRefresh == nil {
		t.Errorf("clerk.js made no successful POST %s after the first token expired (+%v); token requests seen: %q",
			tokensPath, ttl+skew, seen)
	}

	// Still the same document on the dashboard: the refresh did not reload.
	now := waitPage(t, ctx, "still on /dashboard", 5*time.Second, loadedAt("/dashboard"))
	if !now.Mark {
		t.Errorf("the dashboard was reloaded during the wait; the script should refresh in place")
	}
	if elapsed := time.Since(landed); elapsed < ttl+skew {
		t.Fatalf("only %v since sign-in, want more than %v", elapsed, ttl+skew)
	}

	if status := eval[int](t, ctx, "fetch /api/me", `fetch('/api/me').then(r => r.status)`); status != 200 {
		t.Errorf("fetch('/api/me') from the page after %v: status %d, want 200", time.Since(landed).Round(time.Second), status)
	}
	jwt := eval[string](t, ctx, "Clerk.getToken()", `Clerk.getToken()`)
	claims := jwtClaims(t, jwt)
	if claims["sub"] != u.ID || claims["sid"] != sid {
		t.Errorf("Clerk.getToken() claims sub=%v sid=%v, want %s and %s", claims["sub"], claims["sid"], u.ID, sid)
	}
	if exp, ok := claims["exp"].(float64); !ok || time.Unix(int64(exp), 0).Before(time.Now().Add(-skew)) {
		t.Errorf("Clerk.getToken() returned a dead token: exp=%v, now=%d", claims["exp"], time.Now().Unix())
	}
}

func TestBrowserSignOutOtherTab(t *testing.T) {
	tabA := newBrowser(t, 60*time.Second)
	ta := startApp(t, nil)
	ta.CreateUser(t, "twotabs@example.com", "correct horse battery", "Two", "Tabs")

	signInWithForm(t, tabA, ta, "twotabs@example.com", "correct horse battery")

	tabB := newTab(t, tabA, "tab B")
	act(t, tabB, "open /dashboard in tab B", chromedp.Navigate(ta.URL+"/dashboard"))
	b := waitPage(t, tabB, "tab B on /dashboard", 10*time.Second, loadedAt("/dashboard"))
	if b.SSR == nil || !b.SSR.IsAuthenticated {
		t.Fatalf("tab B is not signed in (the tabs share the cookie jar): %s", b)
	}
	markDocument(t, tabB)

	// Tab A: open the user menu and sign out.
	act(t, tabA, "open the user menu in tab A",
		chromedp.Click(chromedp.CSS(`details.user-button > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`details.user-button form[data-clerk-sign-out] button`)),
	)
	act(t, tabA, "click Sign out in tab A", chromedp.Click(chromedp.CSS(`details.user-button form[data-clerk-sign-out] button`)))
	a := waitPage(t, tabA, "tab A on / after signing out", 10*time.Second, func(p pageInfo) bool {
		return p.Path == "/" && p.Ready == "complete" && p.SSR != nil
	})
	if a.SSR.IsAuthenticated {
		t.Fatalf("tab A landed on / still signed in: %s", a)
	}
	if n := eval[int](t, tabA, "count user menus in tab A", `document.querySelectorAll('details.user-button').length`); n != 0 {
		t.Errorf("tab A shows %d user menus after signing out, want 0", n)
	}

	// Tab B reloads by itself and renders signed out.
	b = waitPage(t, tabB, "tab B reloads signed out", 10*time.Second, func(p pageInfo) bool {
		return p.Ready == "complete" && p.SSR != nil && !p.SSR.IsAuthenticated
	})
	if b.Mark {
		t.Errorf("tab B's SSR state says signed out but the document was not reloaded: %s", b)
	}
	t.Logf("tab B now at %s", b.Path)
}

func TestBrowserKeyboardSignIn(t *testing.T) {
	ctx := newBrowser(t, 60*time.Second)
	ta := startApp(t, nil)
	ta.CreateUser(t, "keys@example.com", "correct horse battery", "Kira", "Keys")

	act(t, ctx, "open /sign-in",
		chromedp.Navigate(ta.URL+"/sign-in"),
		chromedp.WaitVisible(chromedp.CSS(`#identifier`)),
	)
	active := func() string {
		return eval[string](t, ctx, "read the focused element", `document.activeElement ? (document.activeElement.id || document.activeElement.tagName) : ''`)
	}
	// autofocus puts the caret in the email field; if the browser did not
	// apply it, reach the field with Tab as a keyboard user would.
	focused := false
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if active() == "identifier" {
			focused = true
			break
		}
	}
	if focused {
		t.Logf("the email field has focus on load (autofocus)")
	} else {
		for i := 0; i < 20 && !focused; i++ {
			act(t, ctx, "press Tab", chromedp.KeyEvent(kb.Tab))
			focused = active() == "identifier"
		}
		if !focused {
			t.Fatalf("the email field cannot be reached with Tab (focus is on %q)", active())
		}
		t.Logf("the email field did not have focus on load; reached it with Tab")
	}

	act(t, ctx, "type the email", chromedp.KeyEvent("keys@example.com"))
	act(t, ctx, "press Tab", chromedp.KeyEvent(kb.Tab))
	if a := active(); a != "password" {
		t.Fatalf("Tab from the email field focused %q, want the password field", a)
	}
	act(t, ctx, "type the password", chromedp.KeyEvent("correct horse battery"))
	if v := eval[string](t, ctx, "read the email field", `document.getElementById('identifier').value`); v != "keys@example.com" {
		t.Fatalf("the email field holds %q after typing, want keys@example.com", v)
	}
	act(t, ctx, "press Enter", chromedp.KeyEvent(kb.Enter))

	info := waitPage(t, ctx, "land on /dashboard after Enter", 15*time.Second, loadedAt("/dashboard"))
	if info.SSR == nil || !info.SSR.IsAuthenticated {
		t.Fatalf("/dashboard after keyboard sign-in is not signed in: %s", info)
	}
	lead := eval[string](t, ctx, "read the greeting", `document.querySelector('main .lead').textContent`)
	if !strings.Contains(lead, "Kira Keys") {
		t.Errorf("the dashboard greeting %q does not show the user's name Kira Keys", lead)
	}
	name := eval[string](t, ctx, "read the user menu", `document.querySelector('details.user-button .user-name').textContent`)
	if strings.TrimSpace(name) != "Kira Keys" {
		t.Errorf("the user menu shows %q, want Kira Keys", name)
	}
}
