package e2e

// Webhook durability: the real binary is killed with SIGKILL while it
// signs users up and delivers their webhooks, and restarted on the same
// database; in the end the receiver must have had a user.created for
// every user, signed as Svix signs, with at most duplicates of the same
// message (at-least-once), never two messages for one event.

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// durableDelivery is one request the receiver got.
type durableDelivery struct {
	svixID, eventType, dataID string
	verifyErr                 error
	at                        time.Time
}

// durableReceiver records every webhook request, verifying it with Svix's
// library, and answers 200, every other user.created after 200 ms (so
// that deliveries are in flight when the server is killed).
type durableReceiver struct {
	srv      *httptest.Server
	wh       atomic.Pointer[svix.Webhook]
	seq      atomic.Int64 // user.created requests so far
	sleeping atomic.Int64 // requests in their 200 ms wait now
	mu       sync.Mutex
	got      []durableDelivery
}

func durableStartReceiver(t *testing.T) *durableReceiver {
	t.Helper()
	r := &durableReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *durableReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	d := durableDelivery{svixID: req.Header.Get("svix-id"), at: time.Now()}
	var env struct {
		Type string `json:"type"`
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err == nil {
		err = json.Unmarshal(body, &env)
	}
	d.eventType, d.dataID = env.Type, env.Data.ID
	if wh := r.wh.Load(); wh == nil {
		d.verifyErr = fmt.Errorf("a request before the endpoint's secret was known")
	} else if err != nil {
		d.verifyErr = err
	} else {
		d.verifyErr = wh.Verify(body, req.Header)
	}
	r.mu.Lock()
	r.got = append(r.got, d)
	r.mu.Unlock()
	// Every other user.created waits, so the kills below catch a
	// user.created delivery in flight.
	if d.eventType == "user.created" && r.seq.Add(1)%2 == 0 {
		r.sleeping.Add(1)
		select {
		case <-time.After(200 * time.Millisecond):
		case <-req.Context().Done():
		}
		r.sleeping.Add(-1)
	}
	w.WriteHeader(http.StatusOK)
}

func (r *durableReceiver) deliveries() []durableDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]durableDelivery(nil), r.got...)
}

// durableUserCreated groups the user.created deliveries by user id.
func (r *durableReceiver) durableUserCreated() map[string][]durableDelivery {
	out := map[string][]durableDelivery{}
	for _, d := range r.deliveries() {
		if d.eventType == "user.created" {
			out[d.dataID] = append(out[d.dataID], d)
		}
	}
	return out
}

// durableSignUp signs a new user up through the sign-up form, as a
// browser does, on a connection of its own (the server may have been
// killed since the last one), and returns the user id from the session
// token the response sets.
func durableSignUp(t *testing.T, base, email, password string) string {
	t.Helper()
	c := &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	form := url.Values{"email_address": {email}, "password": {password}}
	req, err := http.NewRequest(http.MethodPost, base+"/sign-up", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST /sign-up %s: %v", email, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1000))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /sign-up %s: got %d, want 303; body %.300s", email, res.StatusCode, body)
	}
	for _, ck := range res.Cookies() {
		if ck.Name != "__session" {
			continue
		}
		parts := strings.Split(ck.Value, ".")
		if len(parts) != 3 {
			t.Fatalf("sign-up %s: __session is not a JWS", email)
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			Sub string `json:"sub"`
		}
		if err := json.Unmarshal(payload, &claims); err != nil || !strings.HasPrefix(claims.Sub, "user_") {
			t.Fatalf("sign-up %s: session token sub %q (%v), want a user id", email, claims.Sub, err)
		}
		return claims.Sub
	}
	t.Fatalf("sign-up %s: no __session cookie", email)
	return ""
}

// TestWebhooksSurviveKill9Durability: users sign up through the running server
// while it delivers their webhooks to a receiver that is sometimes slow;
// the server is killed with SIGKILL three times, with deliveries in
// flight, and restarted on the same database and port. Every user's
// user.created reaches the receiver, signed, as one message (the same
// svix-id on every attempt); redeliveries of a message are allowed and
// counted.
func TestWebhooksSurviveKill9Durability(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary, and waits out a delivery lease (~30 s); skipped with -short")
	}
	t.Parallel()
	started := time.Now()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go build is unavailable (no go command on PATH: %v); this test runs the built binary", err)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "gatehouse")
	build := exec.Command(goBin, "build", "-o", bin, "..") // the module root holds package main
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the binary in %s", time.Since(started).Round(time.Millisecond))

	recv := durableStartReceiver(t)
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	dbURL := "sqlite:" + filepath.Join(tmp, "data", "gatehouse.db")
	runDir := filepath.Join(tmp, "run") // no .env here
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + tmp,
		"APP_ENV=development",
		fmt.Sprintf("PORT=%d", port),
		fmt.Sprintf("LISTEN_ADDR=127.0.0.1:%d", port),
		"APP_URL=" + base,
		"CLERK_SECRET_KEY=" + config.NewSecretKey(false),
		"CLERK_ENCRYPTION_KEY=" + config.NewEncryptionKey(),
		"DATABASE_URL=" + dbURL,
		"SIGN_UP_VERIFICATION=off",
		"SIGN_IN_RATE_LIMIT=100000",
		"SIGN_IN_DELAY=0s",
		"WEBHOOK_ALLOW_PRIVATE=true",
	}

	// The endpoint, by the command line, before the server starts: every
	// event type.
	add := exec.Command(bin, "webhooks", "add", recv.srv.URL+"/clerk-webhooks", "--description", "durability")
	add.Dir, add.Env = runDir, env
	out, err := add.CombinedOutput()
	if err != nil {
		t.Fatalf("gatehouse webhooks add: %v\n%s", err, out)
	}
	secret := regexp.MustCompile(`whsec_[A-Za-z0-9+/=]+`).FindString(string(out))
	if secret == "" {
		t.Fatalf("gatehouse webhooks add printed no whsec_ secret:\n%s", out)
	}
	wh, err := svix.NewWebhook(secret)
	if err != nil {
		t.Fatalf("svix.NewWebhook(the printed secret): %v", err)
	}
	recv.wh.Store(wh)

	const users = 50
	killAfter := map[int]bool{10: true, 25: true, 40: true}
	srv := startServer(t, bin, runDir, env, base)
	ids := make([]string, 0, users)
	signedUpAt := map[string]time.Time{}
	var killedAt []time.Time
	password := "durable-" + rand.Text()
	kills := 0
	for i := 1; i <= users; i++ {
		id := durableSignUp(t, base, fmt.Sprintf("durable-%02d-%s@example.com", i, strings.ToLower(rand.Text()[:6])), password)
		ids = append(ids, id)
		signedUpAt[id] = time.Now()
		if !killAfter[i] {
			continue
		}
		// Kill while a delivery is in flight (the receiver holding it in
		// its 200 ms wait), if one comes within 3 s.
		inFlight := false
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if recv.sleeping.Load() > 0 {
				inFlight = true
				break
			}
		}
		before := len(recv.deliveries())
		srv.kill9(t)
		killedAt = append(killedAt, time.Now())
		kills++
		t.Logf("kill -9 #%d after %d sign-ups (a delivery in flight: %t; %d requests received so far)", kills, i, inFlight, before)
		restart := time.Now()
		srv = startServer(t, bin, runDir, env, base)
		t.Logf("restarted in %s", time.Since(restart).Round(time.Millisecond))
	}
	signedUp := time.Now()
	t.Logf("%d users signed up, %d kills, in %s since the start", users, kills, signedUp.Sub(started).Round(time.Millisecond))

	// Wait for every user.created: an attempt cut by a kill is made again
	// once its lease (30 s) runs out.
	missing := func() []string {
		got := recv.durableUserCreated()
		var out []string
		for _, id := range ids {
			if len(got[id]) == 0 {
				out = append(out, id)
			}
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("every user.created arrived %s after the last sign-up (%s since the start)",
		time.Since(signedUp).Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
	if m := missing(); len(m) > 0 {
		t.Errorf("user.created never received for %d of %d users after 60 s: %v\nserver output:\n%s", len(m), users, m, srv.out)
	}
	// …and until the server has recorded each as succeeded: a delivery
	// the receiver got but whose answer a kill cut is made again after
	// its lease, with the same svix-id.
	db, err := store.Open(t.Context(), dbURL) // WAL: beside the running server
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	defer db.Close()
	unfinished := func() []string {
		perUser := durableStoredUserCreated(t, db)
		var out []string
		for _, id := range ids {
			for _, m := range perUser[id] {
				if m.Status != store.WebhookSucceeded {
					out = append(out, fmt.Sprintf("%s (%s, %s, %d attempts)", m.ID, id, m.Status, m.Attempts))
				}
			}
		}
		return out
	}
	for len(unfinished()) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("every user.created message succeeded %s after the last sign-up", time.Since(signedUp).Round(time.Millisecond))
	if u := unfinished(); len(u) > 0 {
		t.Errorf("user.created messages not succeeded after 60 s: %v\nserver output:\n%s", u, srv.out)
	}

	// The late ones: an attempt cut by a kill waits out its lease.
	for i, id := range ids {
		ds := recv.durableUserCreated()[id]
		if len(ds) == 0 {
			continue
		}
		if late := ds[len(ds)-1].at.Sub(signedUpAt[id]); late > 5*time.Second {
			var since []string
			for k, at := range killedAt {
				since = append(since, fmt.Sprintf("kill #%d %s before", k+1, ds[len(ds)-1].at.Sub(at).Round(time.Millisecond)))
			}
			t.Logf("user #%d %s: last user.created %s after its sign-up, %d deliveries (%s)", i+1, id, late.Round(time.Millisecond), len(ds), strings.Join(since, ", "))
		}
	}

	// Every request verifies; one svix-id per event; duplicates counted.
	for _, d := range recv.deliveries() {
		if d.verifyErr != nil {
			t.Errorf("delivery %s (%s of %s): svix Verify: %v", d.svixID, d.eventType, d.dataID, d.verifyErr)
		}
	}
	got := recv.durableUserCreated()
	duplicates := 0
	for _, id := range ids {
		byMsg := map[string]int{}
		for _, d := range got[id] {
			byMsg[d.svixID]++
		}
		if len(byMsg) > 1 {
			var msgIDs []string
			for m := range byMsg {
				msgIDs = append(msgIDs, m)
			}
			sort.Strings(msgIDs)
			t.Errorf("user.created of %s came as %d different messages %v, want one message per event and endpoint", id, len(byMsg), msgIDs)
		}
		for m, n := range byMsg {
			if n > 1 {
				duplicates += n - 1
				ds := got[id]
				t.Logf("user.created of %s: message %s delivered %d times (at-least-once), the last %s after the first",
					id, m, n, ds[len(ds)-1].at.Sub(ds[0].at).Round(time.Millisecond))
			}
		}
	}
	t.Logf("%d requests in all, %d user.created redeliveries of the same message", len(recv.deliveries()), duplicates)

	// The store agrees: one user.created message per user, the one
	// received.
	perUser := durableStoredUserCreated(t, db)
	for _, id := range ids {
		ms := perUser[id]
		if len(ms) != 1 {
			t.Errorf("user.created messages in the store for %s: got %d, want 1", id, len(ms))
			continue
		}
		if ds := got[id]; len(ds) > 0 && ds[0].svixID != ms[0].ID {
			t.Errorf("user.created of %s: received svix-id %s, the store's message is %s", id, ds[0].svixID, ms[0].ID)
		}
	}
	t.Logf("TestWebhooksSurviveKill9Durability took %s", time.Since(started).Round(time.Millisecond))
}

// durableStoredUserCreated reads the store's user.created messages, by
// the id of the user in their payload.
func durableStoredUserCreated(t *testing.T, db *store.DB) map[string][]store.WebhookMessage {
	t.Helper()
	perUser := map[string][]store.WebhookMessage{}
	for offset := 0; ; offset += 500 {
		page, total, err := db.ListWebhookMessages(t.Context(), store.WebhookMessageFilter{Limit: 500, Offset: offset})
		if err != nil {
			t.Fatalf("ListWebhookMessages: %v", err)
		}
		for _, m := range page {
			if m.EventType != "user.created" {
				continue
			}
			var env struct {
				Data struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			json.Unmarshal(m.Payload, &env)
			perUser[env.Data.ID] = append(perUser[env.Data.ID], m)
		}
		if offset+500 >= total {
			return perUser
		}
	}
}
