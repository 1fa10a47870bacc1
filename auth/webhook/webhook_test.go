package webhook

// Unit tests of signing and verification (against Svix's own library),
// of the endpoint URL policy and the delivery client's dialer check, and
// of the Dispatcher over a real SQLite store: real changes make real
// audit events, which Tick fans out into messages and delivers, retried
// on the configured schedule.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// Svix's published test vector (svix-webhooks go/webhook_test.go).
const (
	durableVectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	durableVectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	durableVectorTimestamp = 1614265330
	durableVectorPayload   = `{"test": 2432232314}`
	durableVectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// durableHeaders are the svix-* headers of a signed message.
func durableHeaders(id string, ts time.Time, sig string) http.Header {
	h := http.Header{}
	h.Set("svix-id", id)
	h.Set("svix-timestamp", itoa(ts.Unix()))
	h.Set("svix-signature", sig)
	return h
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func durableSign(t *testing.T, secret, id string, ts time.Time, body []byte) string {
	t.Helper()
	sig, err := Sign(secret, id, ts, body)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return sig
}

// TestSignMatchesSvixVector: Sign gives Svix's published signature for
// its published secret, id, timestamp and payload, and Verify accepts it.
func TestSignMatchesSvixVector(t *testing.T) {
	ts := time.Unix(durableVectorTimestamp, 0)
	sig := durableSign(t, durableVectorSecret, durableVectorID, ts, []byte(durableVectorPayload))
	if sig != durableVectorSignature {
		t.Errorf("Sign(vector): got %q, want %q", sig, durableVectorSignature)
	}
	h := durableHeaders(durableVectorID, ts, durableVectorSignature)
	if err := Verify(h, []byte(durableVectorPayload), durableVectorSecret, ts.Add(time.Minute)); err != nil {
		t.Errorf("Verify(vector): got %v, want nil", err)
	}
}

// TestSignVerifyRoundTrip: what Sign makes, Verify accepts, for fresh
// secrets and bodies of every shape (empty, binary, large).
func TestSignVerifyRoundTrip(t *testing.T) {
	bodies := [][]byte{nil, []byte(`{}`), []byte("\x00\xff binary \n"), []byte(strings.Repeat(`{"a":"b"}`, 10000))}
	now := time.Now()
	for i, body := range bodies {
		secret := NewSecret()
		id := randid.New("msg")
		sig := durableSign(t, secret, id, now, body)
		if !strings.HasPrefix(sig, "v1,") {
			t.Errorf("body %d: signature %q does not start with v1,", i, sig)
		}
		if err := Verify(durableHeaders(id, now, sig), body, secret, now); err != nil {
			t.Errorf("body %d: Verify of Sign: got %v, want nil", i, err)
		}
	}
}

// TestNewSecret: whsec_ and 24 random bytes in standard base64, never
// twice the same.
func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := NewSecret()
		if !strings.HasPrefix(s, SecretPrefix) {
			t.Fatalf("NewSecret: %q does not start with %s", s, SecretPrefix)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
		if err != nil || len(key) != 24 {
			t.Fatalf("NewSecret %q: got %d bytes (%v), want 24", s, len(key), err)
		}
		if seen[s] {
			t.Fatalf("NewSecret: %q twice", s)
		}
		seen[s] = true
	}
}

// TestVerifyRefuses: a wrong secret, a changed body or id, a timestamp
// outside ±5 minutes, a missing header, a signature of another version
// or a malformed one are all refused, with the matching error.
func TestVerifyRefuses(t *testing.T) {
	secret := NewSecret()
	now := time.Now()
	body := []byte(`{"type":"user.created","data":{"id":"user_1"}}`)
	id := "msg_refused"
	good := durableSign(t, secret, id, now, body)
	mac := strings.TrimPrefix(good, "v1,")
	old, ahead := now.Add(-6*time.Minute), now.Add(6*time.Minute)

	cases := []struct {
		name   string
		h      http.Header
		body   []byte
		secret string
		want   error
	}{
		{"wrong secret", durableHeaders(id, now, good), body, NewSecret(), ErrSignature},
		{"tampered body", durableHeaders(id, now, good), []byte(`{"type":"user.created","data":{"id":"user_2"}}`), secret, ErrSignature},
		{"body with a trailing newline", durableHeaders(id, now, good), append(append([]byte{}, body...), '\n'), secret, ErrSignature},
		{"another id", durableHeaders("msg_other", now, good), body, secret, ErrSignature},
		{"6 minutes old, signed then", durableHeaders(id, old, durableSign(t, secret, id, old, body)), body, secret, ErrTimestamp},
		{"6 minutes ahead, signed then", durableHeaders(id, ahead, durableSign(t, secret, id, ahead, body)), body, secret, ErrTimestamp},
		{"timestamp changed after signing", durableHeaders(id, now.Add(time.Second), good), body, secret, ErrSignature},
		{"timestamp not a number", func() http.Header {
			h := durableHeaders(id, now, good)
			h.Set("svix-timestamp", "yesterday")
			return h
		}(), body, secret, ErrTimestamp},
		{"timestamp in milliseconds", func() http.Header {
			h := durableHeaders(id, now, good)
			h.Set("svix-timestamp", itoa(now.UnixMilli()))
			return h
		}(), body, secret, ErrTimestamp},
		{"no headers", http.Header{}, body, secret, ErrMissingHeaders},
		{"no id", func() http.Header { h := durableHeaders(id, now, good); h.Del("svix-id"); return h }(), body, secret, ErrMissingHeaders},
		{"no timestamp", func() http.Header { h := durableHeaders(id, now, good); h.Del("svix-timestamp"); return h }(), body, secret, ErrMissingHeaders},
		{"no signature", func() http.Header { h := durableHeaders(id, now, good); h.Del("svix-signature"); return h }(), body, secret, ErrMissingHeaders},
		{"v2 signature with the right MAC", durableHeaders(id, now, "v2,"+mac), body, secret, ErrSignature},
		{"v1a signature with the right MAC", durableHeaders(id, now, "v1a,"+mac), body, secret, ErrSignature},
		{"bare MAC without version", durableHeaders(id, now, mac), body, secret, ErrSignature},
		{"empty v1 signature", durableHeaders(id, now, "v1,"), body, secret, ErrSignature},
		{"MAC with its letters lowercased", durableHeaders(id, now, "v1,"+strings.ToLower(mac)), body, secret, ErrSignature},
		{"several wrong signatures", durableHeaders(id, now, "v1,AAAA v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))+" v2,"+mac), body, secret, ErrSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Verify(c.h, c.body, c.secret, now); !errors.Is(err, c.want) {
				t.Errorf("Verify: got %v, want %v", err, c.want)
			}
		})
	}

	t.Run("secret not base64", func(t *testing.T) {
		if err := Verify(durableHeaders(id, now, good), body, "whsec_not base64!", now); err == nil {
			t.Error("Verify with a malformed secret: got nil, want an error")
		}
		if _, err := Sign("whsec_", id, now, body); err == nil {
			t.Error("Sign with an empty secret: got nil, want an error")
		}
	})
}

// TestVerifyAccepts: several space-separated signatures where one
// matches (as during a secret rotation), the webhook-* aliases alone,
// and timestamps up to the tolerance either side.
func TestVerifyAccepts(t *testing.T) {
	secret := NewSecret()
	now := time.Now()
	body := []byte(`{"type":"session.created"}`)
	id := "msg_accepted"
	good := durableSign(t, secret, id, now, body)
	other := durableSign(t, NewSecret(), id, now, body)

	cases := []struct {
		name string
		h    http.Header
	}{
		{"the one signature", durableHeaders(id, now, good)},
		{"matching one last", durableHeaders(id, now, other+" v2,"+strings.TrimPrefix(good, "v1,")+" "+good)},
		{"matching one first", durableHeaders(id, now, good+" "+other)},
		{"matching one among garbage", durableHeaders(id, now, "garbage v1,!!! "+other+" "+good+" v1,")},
		{"webhook-* aliases", func() http.Header {
			h := http.Header{}
			h.Set("webhook-id", id)
			h.Set("webhook-timestamp", itoa(now.Unix()))
			h.Set("webhook-signature", good)
			return h
		}()},
		{"4 minutes old", func() http.Header {
			ts := now.Add(-4 * time.Minute)
			return durableHeaders(id, ts, durableSign(t, secret, id, ts, body))
		}()},
		{"4 minutes ahead", func() http.Header {
			ts := now.Add(4 * time.Minute)
			return durableHeaders(id, ts, durableSign(t, secret, id, ts, body))
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Verify(c.h, body, secret, now); err != nil {
				t.Errorf("Verify: got %v, want nil", err)
			}
		})
	}
}

// TestSvixInterop: a signature made by Svix's own library verifies with
// Verify, and what Sign makes verifies with Svix's library (which checks
// the timestamp against the clock), for the svix-* and webhook-* headers.
func TestSvixInterop(t *testing.T) {
	for range 5 {
		secret := NewSecret()
		wh, err := svix.NewWebhook(secret)
		if err != nil {
			t.Fatalf("svix.NewWebhook(%s): %v", secret, err)
		}
		now := time.Now()
		id := randid.New("msg")
		body := []byte(`{"type":"user.created","object":"event","data":{"id":"` + randid.New("user") + `"}}`)

		theirs, err := wh.Sign(id, now, body)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(durableHeaders(id, now, theirs), body, secret, time.Now()); err != nil {
			t.Errorf("Verify of svix's signature: got %v, want nil", err)
		}
		ours := durableSign(t, secret, id, now, body)
		if ours != theirs {
			t.Errorf("Sign: got %q, svix signs %q", ours, theirs)
		}
		if err := wh.Verify(body, durableHeaders(id, now, ours)); err != nil {
			t.Errorf("svix Verify of Sign's signature: got %v, want nil", err)
		}
		aliases := http.Header{}
		aliases.Set("webhook-id", id)
		aliases.Set("webhook-timestamp", itoa(now.Unix()))
		aliases.Set("webhook-signature", ours)
		if err := wh.Verify(body, aliases); err != nil {
			t.Errorf("svix Verify of Sign's signature in webhook-* headers: got %v, want nil", err)
		}
		if err := wh.Verify(append(body, ' '), durableHeaders(id, now, ours)); err == nil {
			t.Error("svix Verify of a changed body: got nil, want an error")
		}
	}
}

// TestCheckURL: the endpoint URL policy. http, loopback, private,
// link-local, shared (100.64/10) addresses and localhost names are
// refused unless allowPrivate; credentials and other schemes always.
func TestCheckURL(t *testing.T) {
	cases := []struct {
		url                  string
		public, allowPrivate bool // accepted without, with allowPrivate
	}{
		{"https://hooks.example.com/clerk", true, true},
		{"https://hooks.example.com:8443/clerk?x=1", true, true},
		{"https://93.184.216.34/hook", true, true},
		{"https://[2606:2800:220:1:248:1893:25c8:1946]/hook", true, true},
		{"http://hooks.example.com/clerk", false, true},
		{"https://127.0.0.1/hook", false, true},
		{"https://127.8.9.10/hook", false, true},
		{"https://[::1]/hook", false, true},
		{"https://[::ffff:127.0.0.1]/hook", false, true},
		{"https://0.0.0.0/hook", false, true},
		{"https://[::]/hook", false, true},
		{"https://10.0.0.1/hook", false, true},
		{"https://10.255.255.255/hook", false, true},
		{"https://172.16.0.1/hook", false, true},
		{"https://172.31.255.254/hook", false, true},
		{"https://172.32.0.1/hook", true, true}, // just past 172.16/12
		{"https://192.168.1.1/hook", false, true},
		{"https://169.254.169.254/latest/meta-data", false, true},
		{"https://100.64.0.1/hook", false, true},
		{"https://100.127.255.254/hook", false, true},
		{"https://100.128.0.1/hook", true, true}, // just past 100.64/10
		{"https://[fd00::1]/hook", false, true},
		{"https://[fe80::1]/hook", false, true},
		{"https://224.0.0.1/hook", false, true},
		{"https://255.255.255.255/hook", false, true},
		{"https://localhost/hook", false, true},
		{"https://localhost:3000/hook", false, true},
		{"https://api.localhost/hook", false, true},
		{"https://a.b.localhost/hook", false, true},
		{"https://notlocalhost/hook", true, true},
		{"https://user:pass@hooks.example.com/clerk", false, false},
		{"https://user@hooks.example.com/clerk", false, false},
		{"http://user:pass@127.0.0.1/hook", false, false},
		{"ftp://hooks.example.com/clerk", false, false},
		{"file:///etc/passwd", false, false},
		{"javascript:alert(1)", false, false},
		{"hooks.example.com/clerk", false, false},
		{"https://", false, false},
		{"", false, false},
		{"https://hooks.example.com/" + strings.Repeat("a", 2048), false, false},
	}
	for _, c := range cases {
		name := c.url
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			if err := CheckURL(c.url, false); (err == nil) != c.public {
				t.Errorf("CheckURL(%q, false): got %v, want accepted %t", c.url, err, c.public)
			}
			if err := CheckURL(c.url, true); (err == nil) != c.allowPrivate {
				t.Errorf("CheckURL(%q, true): got %v, want accepted %t", c.url, err, c.allowPrivate)
			}
		})
	}
}

// TestCheckURLRefusesLocalhostSpellings: host names are case-insensitive
// and may end in a dot, so LOCALHOST, Api.LocalHost and localhost. name
// localhost as much as localhost does. (The delivery dialer still refuses
// their addresses; this is the check an operator sees when adding the
// endpoint.)
func TestCheckURLRefusesLocalhostSpellings(t *testing.T) {
	for _, u := range []string{"https://LOCALHOST/hook", "https://LocalHost:8443/hook", "https://Api.LocalHost/hook", "https://localhost./hook", "https://api.localhost./hook"} {
		if err := CheckURL(u, false); err == nil {
			t.Errorf("CheckURL(%q, false): got nil, want it refused as localhost", u)
		}
	}
}

// TestDeliveryClientRefusesPrivateAddresses: the delivery client without
// allowPrivate refuses to connect to a loopback address, whatever the URL
// checks said, and with allowPrivate connects; it never follows a
// redirect.
func TestDeliveryClientRefusesPrivateAddresses(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	_, err := newClient(false).Post(srv.URL+"/hook", "application/json", strings.NewReader("{}"))
	if err == nil || !strings.Contains(err.Error(), "not a public address") {
		t.Errorf("POST to %s without allowPrivate: got %v, want a not a public address error", srv.URL, err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("requests that reached the loopback server: got %d, want 0", n)
	}

	res, err := newClient(true).Post(srv.URL+"/hook", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("POST with allowPrivate: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Errorf("POST with allowPrivate: got %d, want 204", res.StatusCode)
	}
	res, err = newClient(true).Post(srv.URL+"/redirect", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("POST /redirect: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || hits.Load() != 2 {
		t.Errorf("POST /redirect: got %d after %d requests, want 302 after 2 (the redirect not followed)", res.StatusCode, hits.Load())
	}
}

// durableRequest is one request a receiver got.
type durableRequest struct {
	header http.Header
	body   []byte
	at     time.Time
}

// durableReceiver is an endpoint that records what it gets and answers
// status.
type durableReceiver struct {
	*httptest.Server
	status atomic.Int64
	mu     sync.Mutex
	got    []durableRequest
}

func newDurableReceiver(t *testing.T, status int) *durableReceiver {
	t.Helper()
	r := &durableReceiver{}
	r.status.Store(int64(status))
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *durableReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, durableRequest{header: req.Header.Clone(), body: body, at: time.Now()})
	r.mu.Unlock()
	w.WriteHeader(int(r.status.Load()))
}

func (r *durableReceiver) requests() []durableRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]durableRequest(nil), r.got...)
}

// durableFixture is a Dispatcher over a fresh SQLite store.
type durableFixture struct {
	db      *store.DB
	sealer  *token.Sealer
	cfg     Config
	d       *Dispatcher
	context context.Context
}

// durableResolvesToLoopback reports whether host resolves, and only to
// loopback addresses.
func durableResolvesToLoopback(host string) bool {
	addrs, err := net.LookupHost(host)
	if err != nil || len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}

func newDurableFixture(t *testing.T, cfg Config) *durableFixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	sealer, err := token.NewSealer([]byte("0123456789abcdef0123456789abcdef"), "webhook tests")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Secrets = sealer
	if cfg.InstanceID == "" {
		cfg.InstanceID = "ins_test"
	}
	if cfg.Roles == nil {
		cfg.Roles = roles.Default()
	}
	return &durableFixture{db: db, sealer: sealer, cfg: cfg, d: NewDispatcher(db, cfg), context: ctx}
}

// endpoint inserts an endpoint directly with the store (no URL check)
// and returns it with its secret.
func (f *durableFixture) endpoint(t *testing.T, rawURL string, events ...string) (*store.WebhookEndpoint, string) {
	t.Helper()
	secret := NewSecret()
	ep, err := f.db.CreateWebhookEndpoint(f.context, store.WebhookEndpoint{URL: rawURL, Secret: f.sealer.Seal([]byte(secret)), Events: events})
	if err != nil {
		t.Fatalf("CreateWebhookEndpoint: %v", err)
	}
	return ep, secret
}

func (f *durableFixture) user(t *testing.T, email string) *store.User {
	t.Helper()
	u, err := f.db.CreateUser(f.context, store.NewUser{Email: email, FirstName: "Test", PasswordHash: "$argon2id$x"})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

// messages returns every message of the endpoint, by event id.
func (f *durableFixture) messages(t *testing.T, endpointID string) map[string]store.WebhookMessage {
	t.Helper()
	list, _, err := f.db.ListWebhookMessages(f.context, store.WebhookMessageFilter{EndpointID: endpointID, Limit: 500})
	if err != nil {
		t.Fatalf("ListWebhookMessages: %v", err)
	}
	out := map[string]store.WebhookMessage{}
	for _, m := range list {
		if _, dup := out[m.EventID]; dup {
			t.Errorf("two messages for event %s on endpoint %s", m.EventID, endpointID)
		}
		out[m.EventID] = m
	}
	return out
}

// tickUntil ticks until done says so, failing after limit.
func (f *durableFixture) tickUntil(t *testing.T, limit time.Duration, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		f.d.Tick(f.context)
		if done() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s of ticks: %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDispatcherRefusesPrivateAddresses: without AllowPrivate, a message
// for an endpoint on loopback (put in the store directly, past the URL
// check of the client) is never delivered: send's own URL check refuses
// a literal loopback address, and the dialer refuses a name that passes
// the URL check but resolves to loopback (not a public address).
func TestDispatcherRefusesPrivateAddresses(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	su, _ := url.Parse(srv.URL)
	port := su.Port()

	f := newDurableFixture(t, Config{Schedule: []time.Duration{0}})
	cases := []struct{ name, url string }{
		{"literal loopback over http", "http://" + su.Host + "/hook"},
		{"literal loopback over https", srv.URL + "/hook"},
		{"localhost in capitals over https", "https://LOCALHOST:" + port + "/hook"},
	}
	// A name the URL check cannot know is loopback: this machine's, when
	// it resolves (by /etc/hosts) to a loopback address. Only the dialer
	// stands in its way, as it would for a public name pointed at a
	// private address.
	if h, err := os.Hostname(); err == nil && durableResolvesToLoopback(h) && CheckURL("https://"+h+"/", false) == nil {
		cases = append(cases, struct{ name, url string }{"this machine's name, resolving to loopback", "https://" + h + ":" + port + "/hook"})
	} else {
		t.Logf("this machine's name (%q) does not resolve to loopback only: the dialer is tried through LOCALHOST only", h)
	}
	if !durableResolvesToLoopback("LOCALHOST") {
		t.Logf("LOCALHOST does not resolve here: it is not tried")
		cases = slices.DeleteFunc(cases, func(c struct{ name, url string }) bool { return strings.Contains(c.url, "LOCALHOST") })
	}
	var eps []*store.WebhookEndpoint
	for _, c := range cases {
		ep, _ := f.endpoint(t, c.url)
		eps = append(eps, ep)
	}
	u := f.user(t, "private@example.com")
	f.tickUntil(t, 10*time.Second, "the messages were not failed", func() bool {
		for _, ep := range eps {
			for _, m := range f.messages(t, ep.ID) {
				if m.Status != store.WebhookFailed {
					return false
				}
			}
		}
		return true
	})
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msgs := f.messages(t, eps[i].ID)
			if len(msgs) != 1 {
				t.Fatalf("messages: got %d, want 1 (user.created of %s)", len(msgs), u.ID)
			}
			for _, m := range msgs {
				attempts, err := f.db.ListWebhookAttempts(f.context, m.ID)
				if err != nil || len(attempts) != 1 {
					t.Fatalf("attempts: got %d (%v), want 1", len(attempts), err)
				}
				a := attempts[0]
				want := "not a public address" // the dialer
				if err := CheckURL(c.url, false); err != nil {
					want = err.Error() // send's URL check refuses first
				}
				t.Logf("%s: attempt error %q (CheckURL: %v)", c.url, a.Error, CheckURL(c.url, false))
				if !strings.Contains(a.Error, want) || a.StatusCode != 0 {
					t.Errorf("attempt: got status %d error %q, want status 0 and an error with %q", a.StatusCode, a.Error, want)
				}
				if m.Status != store.WebhookFailed || m.Attempts != 1 {
					t.Errorf("message: got status %s after %d attempts, want failed after 1", m.Status, m.Attempts)
				}
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("requests that reached the loopback server: got %d, want 0", n)
	}
}

// TestDispatcherRetriesOnScheduleThenFails: an endpoint answering 500 is
// tried once per entry of the schedule, with the same svix-id and a valid
// signature each time, the waits of the schedule apart; then the message
// is failed with every attempt recorded. A manual retry makes it due at
// once, and an answer of 200 then succeeds it.
func TestDispatcherRetriesOnScheduleThenFails(t *testing.T) {
	recv := newDurableReceiver(t, http.StatusInternalServerError)
	schedule := []time.Duration{0, 50 * time.Millisecond, 50 * time.Millisecond}
	f := newDurableFixture(t, Config{Schedule: schedule, AllowPrivate: true})
	ep, secret := f.endpoint(t, recv.URL+"/hook")
	u := f.user(t, "retry@example.com")

	var msg store.WebhookMessage
	f.tickUntil(t, 10*time.Second, "the message was not failed", func() bool {
		for _, m := range f.messages(t, ep.ID) {
			msg = m
		}
		return msg.Status == store.WebhookFailed
	})
	if msg.Attempts != len(schedule) || msg.LastStatus != 500 || !strings.Contains(msg.LastError, "500") {
		t.Errorf("failed message: got %d attempts, last %d %q; want %d attempts, last 500", msg.Attempts, msg.LastStatus, msg.LastError, len(schedule))
	}
	if msg.EventType != "user.created" {
		t.Errorf("message type: got %q, want user.created", msg.EventType)
	}
	attempts, err := f.db.ListWebhookAttempts(f.context, msg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != len(schedule) {
		t.Fatalf("attempts recorded: got %d, want %d", len(attempts), len(schedule))
	}
	for i, a := range attempts {
		if a.StatusCode != 500 || !strings.Contains(a.Error, "answered 500") || a.MessageID != msg.ID {
			t.Errorf("attempt %d: got %+v, want status 500 and error 'the endpoint answered 500'", i, a)
		}
	}

	got := recv.requests()
	if len(got) != len(schedule) {
		t.Fatalf("requests received: got %d, want %d", len(got), len(schedule))
	}
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if id := r.header.Get("svix-id"); id != msg.ID || r.header.Get("webhook-id") != msg.ID {
			t.Errorf("request %d: svix-id %q webhook-id %q, want the message id %s on every attempt", i, id, r.header.Get("webhook-id"), msg.ID)
		}
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Errorf("request %d: svix Verify: %v", i, err)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("request %d: Content-Type %q, want application/json", i, ct)
		}
		if string(r.body) != string(msg.Payload) {
			t.Errorf("request %d: body differs from the message's payload", i)
		}
		if i > 0 {
			// The wait before attempt i is schedule[i] ±20%.
			if gap, min := r.at.Sub(got[i-1].at), schedule[i]*8/10; gap < min {
				t.Errorf("gap before attempt %d: got %s, want at least %s", i+1, gap, min)
			}
		}
	}
	var env Envelope
	if err := json.Unmarshal(got[0].body, &env); err != nil {
		t.Fatalf("body %s: %v", got[0].body, err)
	}
	var data struct{ ID, Object string }
	json.Unmarshal(env.Data, &data)
	if env.Type != "user.created" || env.Object != "event" || data.ID != u.ID || data.Object != "user" {
		t.Errorf("envelope: got type %q object %q data %s, want user.created of %s", env.Type, env.Object, env.Data, u.ID)
	}

	// No more attempts once failed.
	time.Sleep(100 * time.Millisecond)
	if n := f.d.Tick(f.context); n != 0 {
		t.Errorf("Tick after the message failed: made %d attempts, want 0", n)
	}

	// A manual retry: due at once, one more attempt.
	recv.status.Store(http.StatusOK)
	if err := f.db.RetryWebhookMessage(f.context, msg.ID); err != nil {
		t.Fatal(err)
	}
	if n := f.d.Tick(f.context); n != 1 {
		t.Errorf("Tick after a manual retry: made %d attempts, want 1", n)
	}
	m := f.messages(t, ep.ID)[msg.EventID]
	if m.Status != store.WebhookSucceeded || m.Attempts != len(schedule)+1 || m.LastStatus != 200 {
		t.Errorf("after the retry: got status %s, %d attempts, last %d; want succeeded, %d, 200", m.Status, m.Attempts, m.LastStatus, len(schedule)+1)
	}
	if got := recv.requests(); len(got) != len(schedule)+1 || got[len(got)-1].header.Get("svix-id") != msg.ID {
		t.Errorf("after the retry: got %d requests, want %d with the same svix-id", len(got), len(schedule)+1)
	}
}

// TestJitter: a wait is spread within ±20%, not always the same, and
// zero stays zero.
func TestJitter(t *testing.T) {
	if got := jitter(0); got != 0 {
		t.Errorf("jitter(0): got %s, want 0", got)
	}
	for _, d := range Schedule[1:] {
		lo, hi := d-d/5, d+d/5
		seen := map[time.Duration]bool{}
		var below, above int
		for range 10000 {
			j := jitter(d)
			if j < lo || j > hi {
				t.Fatalf("jitter(%s): got %s, want within [%s, %s]", d, j, lo, hi)
			}
			seen[j] = true
			if j < d {
				below++
			} else if j > d {
				above++
			}
		}
		if len(seen) < 100 || below < 3000 || above < 3000 {
			t.Errorf("jitter(%s): %d distinct values, %d below and %d above, want spread both ways", d, len(seen), below, above)
		}
	}
}

// TestSchedule is Svix's: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
func TestSchedule(t *testing.T) {
	want := []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	if len(Schedule) != len(want) {
		t.Fatalf("Schedule: got %v, want %v", Schedule, want)
	}
	for i := range want {
		if Schedule[i] != want[i] {
			t.Errorf("Schedule[%d]: got %s, want %s", i, Schedule[i], want[i])
		}
	}
	if Timeout != 15*time.Second {
		t.Errorf("Timeout: got %s, want 15s", Timeout)
	}
}

// TestEventType: which audit events are which webhook, by name, object
// and data: account changes are user.updated, uses are none, Clerk's own
// names pass through, events without a resource are none.
func TestEventType(t *testing.T) {
	data := json.RawMessage(`{"ID":"x"}`)
	cases := []struct {
		ev   store.AuditEvent
		want string // "" for none
	}{
		{store.AuditEvent{Name: "user.created", Object: store.ObjectUser, Data: data}, "user.created"},
		{store.AuditEvent{Name: "user.updated", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "user.deleted", Object: store.ObjectUser, Data: data}, "user.deleted"},
		{store.AuditEvent{Name: "user.deleted", Object: store.ObjectUser}, "user.deleted"}, // gone already: Clerk's deleted object
		{store.AuditEvent{Name: "user.created", Object: store.ObjectUser}, ""},             // nothing to show
		{store.AuditEvent{Name: "user.banned", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "user.unbanned", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "user.password_reset", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "user.totp_enabled", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "user.backup_codes_regenerated", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "user.primary_email_changed", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "emailAddress.created", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "emailAddress.verified", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "emailAddress.deleted", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "externalAccount.created", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "passkey.created", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "passkey.updated", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "passkey.deleted", Object: store.ObjectUser, Data: data}, "user.updated"},
		{store.AuditEvent{Name: "passkey.used"}, ""},
		{store.AuditEvent{Name: "passkey.used", Object: store.ObjectUser, Data: data}, ""},
		{store.AuditEvent{Name: "user.backup_code_used", Object: store.ObjectUser, Data: data}, ""},
		{store.AuditEvent{Name: "session.created", Object: store.ObjectSession, Data: data}, "session.created"},
		{store.AuditEvent{Name: "session.ended", Object: store.ObjectSession, Data: data}, "session.ended"},
		{store.AuditEvent{Name: "session.removed", Object: store.ObjectSession, Data: data}, "session.removed"},
		{store.AuditEvent{Name: "session.revoked", Object: store.ObjectSession, Data: data}, "session.revoked"},
		{store.AuditEvent{Name: "session.reverified", Object: store.ObjectSession, Data: data}, ""},
		{store.AuditEvent{Name: "session.revoked_others"}, ""},
		{store.AuditEvent{Name: "organization.created", Object: store.ObjectOrganization, Data: data}, "organization.created"},
		{store.AuditEvent{Name: "organization.deleted", Object: store.ObjectOrganization}, "organization.deleted"},
		{store.AuditEvent{Name: "organizationMembership.updated", Object: store.ObjectMembership, Data: data}, "organizationMembership.updated"},
		{store.AuditEvent{Name: "organizationInvitation.accepted", Object: store.ObjectInvitation, Data: data}, "organizationInvitation.accepted"},
		{store.AuditEvent{Name: "apiKey.created", Object: store.ObjectMachineToken, Data: data}, ""},
		{store.AuditEvent{Name: "user.sign_in_failed"}, ""},
		{store.AuditEvent{Name: "something.new"}, ""},
		{store.AuditEvent{Name: "something.new", Object: store.ObjectSession, Data: data}, ""},
	}
	for _, c := range cases {
		got, ok := EventType(c.ev)
		if c.want == "" && ok {
			t.Errorf("EventType(%s, object %q, data %t): got %q, want none", c.ev.Name, c.ev.Object, c.ev.Data != nil, got)
		}
		if c.want != "" && (!ok || got != c.want) {
			t.Errorf("EventType(%s, object %q, data %t): got %q %t, want %q", c.ev.Name, c.ev.Object, c.ev.Data != nil, got, ok, c.want)
		}
	}
	// Every type EventType gives is one endpoints can subscribe to.
	for _, c := range cases {
		if got, ok := EventType(c.ev); ok && !slices.Contains(EventTypes, got) {
			t.Errorf("EventType(%s) = %q, not in EventTypes", c.ev.Name, got)
		}
	}
}

// TestDispatcherDeliversRealChanges: real changes through the store make
// real audit events; Tick turns each into the message of its type (or
// none), once per endpoint that wants it, and delivers them signed, with
// Clerk's envelope and the resource as it was. A second Tick makes no new
// message.
func TestDispatcherDeliversRealChanges(t *testing.T) {
	all := newDurableReceiver(t, http.StatusOK)
	sessionsOnly := newDurableReceiver(t, http.StatusNoContent)
	disabled := newDurableReceiver(t, http.StatusOK)
	f := newDurableFixture(t, Config{AllowPrivate: true, InstanceID: "ins_realchanges"})
	epAll, secretAll := f.endpoint(t, all.URL+"/all")
	epSessions, secretSessions := f.endpoint(t, sessionsOnly.URL+"/sessions", "session.created")
	epOff, _ := f.endpoint(t, disabled.URL+"/off")
	if err := f.db.SetWebhookEndpointDisabled(f.context, epOff.ID, true); err != nil {
		t.Fatal(err)
	}

	ctx := store.WithRequestInfo(f.context, store.RequestInfo{IP: "203.0.113.7", UserAgent: "webhook-test/1"})
	u, err := f.db.CreateUser(ctx, store.NewUser{Email: "real@example.com", FirstName: "Real", PasswordHash: "$argon2id$x",
		PrivateMetadata: json.RawMessage(`{"plan":"gold"}`)})
	if err != nil {
		t.Fatal(err)
	}
	first := "Renamed"
	if _, err := f.db.UpdateUser(ctx, u.ID, store.UserUpdate{FirstName: &first}); err != nil {
		t.Fatal(err)
	}
	pk, err := f.db.AddPasskey(ctx, store.Passkey{UserID: u.ID, CredentialID: []byte("cred-1"), PublicKey: []byte("pk"), Name: "Key"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.UsePasskey(ctx, pk.ID, 1, false); err != nil {
		t.Fatal(err)
	}
	now := store.Now()
	sess := store.Session{ID: randid.New("sess"), ClientID: randid.New("client"), UserID: u.ID, Status: store.SessionActive,
		FactorVerifiedAt: now, ExpireAt: now + time.Hour.Milliseconds(), LastActiveAt: now}
	if err := f.db.CreateSession(ctx, store.Client{ID: sess.ClientID, SecretHash: []byte("client-secret-hash")}, sess); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Audit(ctx, store.AuditEvent{Name: "user.sign_in_failed", UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	doomed, err := f.db.CreateUser(ctx, store.NewUser{Email: "doomed@example.com", PasswordHash: "$argon2id$x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.DeleteUser(ctx, doomed.ID); err != nil {
		t.Fatal(err)
	}

	// What each audit event should become.
	want := map[string]string{
		"user.created": "user.created", "user.updated": "user.updated", "passkey.created": "user.updated",
		"passkey.used": "", "session.created": "session.created", "user.sign_in_failed": "", "user.deleted": "user.deleted",
	}
	events, _, err := f.db.ListAuditEvents(f.context, store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	seenNames := map[string]bool{}
	for _, ev := range events {
		seenNames[ev.Name] = true
	}
	for name := range want {
		if !seenNames[name] {
			t.Errorf("no %s audit event from the changes", name)
		}
	}

	if n := f.d.Tick(f.context); n == 0 {
		t.Fatal("Tick: made no attempt")
	}

	msgsAll, msgsSessions, msgsOff := f.messages(t, epAll.ID), f.messages(t, epSessions.ID), f.messages(t, epOff.ID)
	wantAll := 0
	for _, ev := range events {
		w, known := want[ev.Name]
		if !known {
			t.Logf("audit event %s (not in the table)", ev.Name)
			continue
		}
		m, has := msgsAll[ev.ID]
		switch {
		case w == "" && has:
			t.Errorf("%s: got a %s message, want none", ev.Name, m.EventType)
		case w != "" && !has:
			t.Errorf("%s: no message, want %s", ev.Name, w)
		case w != "" && m.EventType != w:
			t.Errorf("%s: message type %s, want %s", ev.Name, m.EventType, w)
		}
		if w != "" {
			wantAll++
		}
		_, hasSess := msgsSessions[ev.ID]
		if hasSess != (w == "session.created") {
			t.Errorf("%s on the session.created endpoint: message %t, want %t", ev.Name, hasSess, w == "session.created")
		}
	}
	if len(msgsAll) != wantAll {
		t.Errorf("messages of the all-events endpoint: got %d, want %d", len(msgsAll), wantAll)
	}
	// A disabled endpoint's messages are made and wait, unattempted.
	if len(msgsOff) != wantAll {
		t.Errorf("messages of the disabled endpoint: got %d, want %d (they wait until it is enabled)", len(msgsOff), wantAll)
	}
	for _, m := range msgsOff {
		if m.Status != store.WebhookPending || m.Attempts != 0 {
			t.Errorf("message %s (%s) of the disabled endpoint: got status %s after %d attempts, want pending after 0", m.ID, m.EventType, m.Status, m.Attempts)
		}
	}
	for _, m := range msgsAll {
		if m.Status != store.WebhookSucceeded || m.Attempts != 1 || m.LastStatus != 200 {
			t.Errorf("message %s (%s): got status %s, %d attempts, last %d; want succeeded at the first", m.ID, m.EventType, m.Status, m.Attempts, m.LastStatus)
		}
	}

	// The requests: signed, one per message, the envelope Clerk sends.
	whAll, _ := svix.NewWebhook(secretAll)
	byID := map[string]durableRequest{}
	for _, r := range all.requests() {
		if err := whAll.Verify(r.body, r.header); err != nil {
			t.Errorf("svix Verify: %v", err)
		}
		if err := Verify(r.header, r.body, secretAll, time.Now()); err != nil {
			t.Errorf("Verify: %v", err)
		}
		id := r.header.Get("svix-id")
		if _, dup := byID[id]; dup {
			t.Errorf("svix-id %s delivered twice", id)
		}
		byID[id] = r
	}
	if len(byID) != wantAll {
		t.Errorf("requests to the all-events endpoint: got %d, want %d", len(byID), wantAll)
	}
	for _, m := range msgsAll {
		r, ok := byID[m.ID]
		if !ok {
			t.Errorf("message %s (%s) not received", m.ID, m.EventType)
			continue
		}
		var env struct {
			Envelope
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(r.body, &env); err != nil {
			t.Fatalf("body %s: %v", r.body, err)
		}
		if env.Type != m.EventType || env.Object != "event" || env.InstanceID != "ins_realchanges" || env.Timestamp == 0 {
			t.Errorf("%s envelope: got type %q object %q instance %q timestamp %d", m.EventType, env.Type, env.Object, env.InstanceID, env.Timestamp)
		}
		if ip, ua := env.EventAttributes.HTTPRequest.ClientIP, env.EventAttributes.HTTPRequest.UserAgent; ip != "203.0.113.7" || ua != "webhook-test/1" {
			t.Errorf("%s event_attributes: got %q %q, want 203.0.113.7 webhook-test/1", m.EventType, ip, ua)
		}
		switch m.EventType {
		case "user.created":
			if env.Data["id"] == doomed.ID {
				continue
			}
			if env.Data["id"] != u.ID || env.Data["object"] != "user" {
				t.Errorf("user.created data: got %v, want user %s", env.Data, u.ID)
			}
			if pm, _ := env.Data["private_metadata"].(map[string]any); pm["plan"] != "gold" {
				t.Errorf("user.created private_metadata: got %v, want plan gold", env.Data["private_metadata"])
			}
			addrs, _ := env.Data["email_addresses"].([]any)
			if len(addrs) != 1 || addrs[0].(map[string]any)["email_address"] != "real@example.com" {
				t.Errorf("user.created email_addresses: got %v, want real@example.com", env.Data["email_addresses"])
			}
		case "user.updated":
			if env.Data["id"] != u.ID || env.Data["first_name"] != "Renamed" {
				t.Errorf("user.updated data: got id %v first_name %v, want %s Renamed", env.Data["id"], env.Data["first_name"], u.ID)
			}
		case "session.created":
			if env.Data["id"] != sess.ID || env.Data["object"] != "session" || env.Data["user_id"] != u.ID {
				t.Errorf("session.created data: got %v, want session %s of %s", env.Data, sess.ID, u.ID)
			}
		case "user.deleted":
			if env.Data["id"] != doomed.ID || env.Data["deleted"] != true || env.Data["object"] != "user" {
				t.Errorf("user.deleted data: got %v, want the deleted object of %s", env.Data, doomed.ID)
			}
		}
	}
	whSess, _ := svix.NewWebhook(secretSessions)
	for _, r := range sessionsOnly.requests() {
		if err := whSess.Verify(r.body, r.header); err != nil {
			t.Errorf("session endpoint: svix Verify: %v", err)
		}
	}
	if n := len(sessionsOnly.requests()); n != 1 {
		t.Errorf("requests to the session.created endpoint: got %d, want 1", n)
	}
	if n := len(disabled.requests()); n != 0 {
		t.Errorf("requests to the disabled endpoint: got %d, want 0", n)
	}

	// Nothing new: the events are dispatched, the messages delivered.
	if n := f.d.Tick(f.context); n != 0 {
		t.Errorf("second Tick: made %d attempts, want 0", n)
	}
	if got := len(f.messages(t, epAll.ID)); got != wantAll {
		t.Errorf("messages after a second Tick: got %d, want %d", got, wantAll)
	}
}

// TestDispatcherLeaseSurvivesAKilledWorker: a message taken by a worker
// that never reports back (killed mid-send) is not lost: once the lease
// runs out it is attempted again, with the same id, and delivered once
// recorded.
func TestDispatcherLeaseSurvivesAKilledWorker(t *testing.T) {
	recv := newDurableReceiver(t, http.StatusOK)
	f := newDurableFixture(t, Config{AllowPrivate: true})
	ep, _ := f.endpoint(t, recv.URL+"/hook")
	f.user(t, "lease@example.com")
	n, err := f.db.FanOutEvents(f.context, 100, f.d.build)
	if err != nil || n == 0 {
		t.Fatalf("FanOutEvents: got %d, %v", n, err)
	}
	// A worker takes the message with a short lease, then dies.
	now := time.Now()
	taken, err := f.db.ClaimWebhookMessages(f.context, now.UnixMilli(), now.Add(200*time.Millisecond).UnixMilli(), 20)
	if err != nil || len(taken) != 1 {
		t.Fatalf("ClaimWebhookMessages: got %d, %v; want 1", len(taken), err)
	}
	// Meanwhile no one else takes it.
	if n := f.d.Tick(f.context); n != 0 {
		t.Errorf("Tick during the lease: made %d attempts, want 0", n)
	}
	time.Sleep(250 * time.Millisecond)
	if n := f.d.Tick(f.context); n != 1 {
		t.Errorf("Tick after the lease: made %d attempts, want 1", n)
	}
	m := f.messages(t, ep.ID)[taken[0].EventID]
	if m.Status != store.WebhookSucceeded || m.Attempts != 1 || m.ID != taken[0].ID {
		t.Errorf("after the lease: got %+v, want succeeded after 1 attempt", m)
	}
	if got := recv.requests(); len(got) != 1 || got[0].header.Get("svix-id") != taken[0].ID {
		t.Errorf("requests: got %d, want 1 with svix-id %s", len(got), taken[0].ID)
	}
}

// TestDispatcherPausedEndpoint: a disabled endpoint gets no request,
// but its messages wait without using up attempts (postponed, not
// failed), including those of events made while it is disabled; once it
// is enabled again they are delivered, with their svix-ids.
func TestDispatcherPausedEndpoint(t *testing.T) {
	recv := newDurableReceiver(t, http.StatusOK)
	f := newDurableFixture(t, Config{AllowPrivate: true, Schedule: []time.Duration{0, 20 * time.Millisecond}})
	ep, secret := f.endpoint(t, recv.URL+"/hook")
	u := f.user(t, "paused@example.com")
	if _, err := f.db.FanOutEvents(f.context, 100, f.d.build); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetWebhookEndpointDisabled(f.context, ep.ID, true); err != nil {
		t.Fatal(err)
	}
	// An event while paused still makes a message for it.
	if _, err := f.db.SetUserBanned(f.context, u.ID, true); err != nil {
		t.Fatal(err)
	}
	for range 5 { // more ticks than the schedule has attempts
		f.d.Tick(f.context)
		time.Sleep(30 * time.Millisecond)
	}
	msgs := f.messages(t, ep.ID)
	if len(msgs) != 2 {
		t.Fatalf("messages of the paused endpoint: got %d, want 2 (user.created, and user.updated made while paused)", len(msgs))
	}
	now := time.Now().UnixMilli()
	for _, m := range msgs {
		if m.Status != store.WebhookPending || m.Attempts != 0 {
			t.Errorf("%s while paused: got status %s after %d attempts, want pending after 0", m.EventType, m.Status, m.Attempts)
		}
		if m.NextAttemptAt <= now {
			t.Errorf("%s while paused: next attempt at %d, want postponed past now (%d)", m.EventType, m.NextAttemptAt, now)
		}
		if attempts, err := f.db.ListWebhookAttempts(f.context, m.ID); err != nil || len(attempts) != 0 {
			t.Errorf("%s while paused: %d attempts recorded (%v), want 0", m.EventType, len(attempts), err)
		}
	}
	if n := len(recv.requests()); n != 0 {
		t.Errorf("requests while paused: got %d, want 0", n)
	}

	// Enabled again (and made due now rather than within the minute):
	// both delivered at their first attempt.
	if err := f.db.SetWebhookEndpointDisabled(f.context, ep.ID, false); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if err := f.db.RetryWebhookMessage(f.context, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.d.Tick(f.context); n != 2 {
		t.Errorf("Tick after resuming: made %d attempts, want 2", n)
	}
	got := map[string]bool{}
	for _, r := range recv.requests() {
		if err := Verify(r.header, r.body, secret, time.Now()); err != nil {
			t.Errorf("Verify: %v", err)
		}
		got[r.header.Get("svix-id")] = true
	}
	for _, m := range f.messages(t, ep.ID) {
		if !got[m.ID] {
			t.Errorf("%s %s: not received after resuming", m.EventType, m.ID)
		}
		if m.Status != store.WebhookSucceeded || m.Attempts != 1 {
			t.Errorf("%s after resuming: got status %s after %d attempts, want succeeded after 1", m.EventType, m.Status, m.Attempts)
		}
	}
}
