package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// ----- A webhook receiver -----

// whRequest is one request a receiver got.
type whRequest struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	At           time.Time
}

func (r whRequest) id() string { return r.Header.Get("svix-id") }

// whAnswer is how a receiver answers one request.
type whAnswer struct {
	status   int
	location string        // a Location header (with a 3xx status)
	delay    time.Duration // wait before answering
	hang     bool          // never answer (until the client gives up)
}

// whReceiver is an httptest server that records every request and answers
// as its answer function says (200 when it has none); nth counts the
// requests with that svix-id so far, this one included.
type whReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []whRequest
	answer func(r whRequest, nth int) whAnswer
	done   chan struct{}
}

func newWHReceiver(t testing.TB) *whReceiver {
	t.Helper()
	rc := &whReceiver{done: make(chan struct{})}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := whRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, At: time.Now()}
		rc.mu.Lock()
		nth := 1
		for _, p := range rc.reqs {
			if p.id() == req.id() {
				nth++
			}
		}
		rc.reqs = append(rc.reqs, req)
		answer := rc.answer
		rc.mu.Unlock()
		a := whAnswer{status: http.StatusOK}
		if answer != nil {
			a = answer(req, nth)
		}
		if a.delay > 0 {
			select {
			case <-time.After(a.delay):
			case <-r.Context().Done():
			case <-rc.done:
			}
		}
		if a.hang {
			select {
			case <-r.Context().Done():
			case <-rc.done:
			}
			return
		}
		if a.location != "" {
			w.Header().Set("Location", a.location)
		}
		w.WriteHeader(a.status)
	}))
	t.Cleanup(func() {
		close(rc.done)
		rc.Close()
	})
	return rc
}

func (rc *whReceiver) setAnswer(f func(r whRequest, nth int) whAnswer) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.answer = f
}

// requests returns a copy of what the receiver got so far.
func (rc *whReceiver) requests() []whRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

// failFirst answers 500 to each message's first attempt and 200 after.
func failFirst(_ whRequest, nth int) whAnswer {
	if nth == 1 {
		return whAnswer{status: http.StatusInternalServerError}
	}
	return whAnswer{status: http.StatusOK}
}

func always(status int) func(whRequest, int) whAnswer {
	return func(whRequest, int) whAnswer { return whAnswer{status: status} }
}

// whWait polls cond every 50 ms until it holds, failing the test after
// timeout with cond's last description of the state.
func whWait(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last state: %s", what, timeout, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ----- The envelope -----

// whEnvelope is a webhook body as Clerk sends it.
type whEnvelope struct {
	Type            string                    `json:"type"`
	Object          string                    `json:"object"`
	Data            map[string]any            `json:"data"`
	Timestamp       int64                     `json:"timestamp"`
	InstanceID      string                    `json:"instance_id"`
	EventAttributes map[string]map[string]any `json:"event_attributes"`
}

func whDecode(t testing.TB, body []byte) whEnvelope {
	t.Helper()
	var env whEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("webhook body %s: %v", body, err)
	}
	return env
}

// whTypes returns the types of the received bodies, sorted.
func whTypes(t testing.TB, reqs []whRequest) []string {
	t.Helper()
	var out []string
	for _, r := range reqs {
		out = append(out, whDecode(t, r.Body).Type)
	}
	slices.Sort(out)
	return out
}

// whFind returns the received bodies of type typ whose data matches (nil:
// any).
func whFind(t testing.TB, reqs []whRequest, typ string, match func(data map[string]any) bool) []whRequest {
	t.Helper()
	var out []whRequest
	for _, r := range reqs {
		env := whDecode(t, r.Body)
		if env.Type == typ && (match == nil || match(env.Data)) {
			out = append(out, r)
		}
	}
	return out
}

func dataID(id string) func(map[string]any) bool {
	return func(d map[string]any) bool { return d["id"] == id }
}

// whVerify checks one delivery's headers and signature: svix-id (msg_…),
// svix-timestamp (seconds, near the time it arrived) and svix-signature
// (v1,…), the webhook-* aliases equal to them, Content-Type
// application/json, a POST; the signature accepted by Svix's own library
// and by auth.VerifyWebhook on a request rebuilt from it, and refused by
// both for a changed body or another secret.
func whVerify(t testing.TB, r whRequest, secret string) {
	t.Helper()
	h := r.Header
	if r.Method != http.MethodPost {
		t.Errorf("webhook method: got %s, want POST", r.Method)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	id, ts, sig := h.Get("svix-id"), h.Get("svix-timestamp"), h.Get("svix-signature")
	if !regexp.MustCompile(`^msg_[0-9A-Za-z]+$`).MatchString(id) {
		t.Errorf("svix-id: got %q, want msg_…", id)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		t.Errorf("svix-timestamp: got %q, want an integer", ts)
	} else if d := r.At.Unix() - sec; d < -5 || d > 5 {
		t.Errorf("svix-timestamp: got %d, want seconds within 5 s of the arrival (%d)", sec, r.At.Unix())
	}
	if !strings.HasPrefix(sig, "v1,") {
		t.Errorf("svix-signature: got %q, want v1,…", sig)
	} else if raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sig, "v1,")); err != nil || len(raw) != 32 {
		t.Errorf("svix-signature: got %q, want v1, and a base64 HMAC-SHA256 (32 bytes)", sig)
	}
	for _, name := range []string{"id", "timestamp", "signature"} {
		if got, want := h.Get("webhook-"+name), h.Get("svix-"+name); got != want {
			t.Errorf("webhook-%s: got %q, want %q (svix-%s)", name, got, want, name)
		}
	}

	wh, err := svix.NewWebhook(secret)
	if err != nil {
		t.Fatalf("svix.NewWebhook(%q): %v", secret, err)
	}
	if err := wh.Verify(r.Body, h); err != nil {
		t.Errorf("svix Verify of %s (%s): got %v, want nil", id, whTypeOf(r.Body), err)
	}
	if err := wh.Verify(append(slices.Clone(r.Body), ' '), h); err == nil {
		t.Errorf("svix Verify of %s with a changed body: got nil, want an error", id)
	}
	// Only the webhook-* aliases, as the Standard Webhooks libraries send
	// and read them.
	aliases := http.Header{}
	for _, name := range []string{"id", "timestamp", "signature"} {
		aliases.Set("webhook-"+name, h.Get("webhook-"+name))
	}
	if err := wh.Verify(r.Body, aliases); err != nil {
		t.Errorf("svix Verify of %s with only the webhook-* headers: got %v, want nil", id, err)
	}

	rebuilt := func(body []byte) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/clerk", bytes.NewReader(body))
		req.Header = h.Clone()
		return req
	}
	req := rebuilt(r.Body)
	got, err := auth.VerifyWebhook(req, secret)
	if err != nil {
		t.Errorf("auth.VerifyWebhook of %s (%s): got %v, want nil", id, whTypeOf(r.Body), err)
	} else if !bytes.Equal(got, r.Body) {
		t.Errorf("auth.VerifyWebhook body: got %s, want %s", got, r.Body)
	}
	if left, _ := io.ReadAll(req.Body); !bytes.Equal(left, r.Body) {
		t.Errorf("auth.VerifyWebhook: the request body left readable is %q, want the body", left)
	}
	if _, err := auth.VerifyWebhook(rebuilt(append(slices.Clone(r.Body), ' ')), secret); err == nil {
		t.Errorf("auth.VerifyWebhook of %s with a changed body: got nil, want an error", id)
	}
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another endpoint's secret"))
	if _, err := auth.VerifyWebhook(rebuilt(r.Body), other); err == nil {
		t.Errorf("auth.VerifyWebhook of %s with another secret: got nil, want an error", id)
	}
}

func whTypeOf(body []byte) string {
	var env struct{ Type string }
	json.Unmarshal(body, &env)
	return env.Type
}

// ----- Backend client helpers -----

func whEndpoint(t testing.TB, ta *testApp, url string, events ...string) *clerkclient.WebhookEndpoint {
	t.Helper()
	ep, err := ta.App.Client.Webhooks.CreateEndpoint(context.Background(), clerkclient.CreateWebhookEndpointParams{
		URL: url, Events: events, Description: "e2e receiver"})
	if err != nil {
		t.Fatalf("CreateEndpoint %s %v: %v", url, events, err)
	}
	if !strings.HasPrefix(ep.Secret, "whsec_") || !strings.HasPrefix(ep.ID, "ep_") {
		t.Fatalf("CreateEndpoint: got id %q secret %q, want ep_… and whsec_…", ep.ID, ep.Secret)
	}
	return ep
}

func whMessages(t testing.TB, ta *testApp, endpointID string) []clerkclient.WebhookMessage {
	t.Helper()
	list, _, err := ta.App.Client.Webhooks.ListMessages(context.Background(), clerkclient.WebhookMessageListParams{
		EndpointID: endpointID, Limit: 500})
	if err != nil {
		t.Fatalf("ListMessages: %v", err)
	}
	return list
}

func whMessage(t testing.TB, ta *testApp, endpointID, id string) clerkclient.WebhookMessage {
	t.Helper()
	for _, m := range whMessages(t, ta, endpointID) {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %s of endpoint %s: not listed", id, endpointID)
	return clerkclient.WebhookMessage{}
}

func whAttempts(t testing.TB, ta *testApp, messageID string) []clerkclient.WebhookAttempt {
	t.Helper()
	list, err := ta.App.Client.Webhooks.ListAttempts(context.Background(), messageID)
	if err != nil {
		t.Fatalf("ListAttempts %s: %v", messageID, err)
	}
	return list
}

// whWaitAttempts waits until message id has at least n attempts recorded.
func whWaitAttempts(t testing.TB, ta *testApp, id string, n int, timeout time.Duration) []clerkclient.WebhookAttempt {
	t.Helper()
	var list []clerkclient.WebhookAttempt
	whWait(t, timeout, "attempt "+strconv.Itoa(n)+" of "+id+" recorded", func() (bool, string) {
		list = whAttempts(t, ta, id)
		return len(list) >= n, strconv.Itoa(len(list)) + " attempts"
	})
	return list
}

// whWaitStatus waits until message id has the status.
func whWaitStatus(t testing.TB, ta *testApp, endpointID, id, status string, timeout time.Duration) clerkclient.WebhookMessage {
	t.Helper()
	var m clerkclient.WebhookMessage
	whWait(t, timeout, "message "+id+" "+status, func() (bool, string) {
		m = whMessage(t, ta, endpointID, id)
		return m.Status == status, m.Status + " after " + strconv.Itoa(m.Attempts) + " attempts"
	})
	return m
}

// whAPIError checks that err is a 422 APIError naming param.
func whAPIError(t testing.TB, what string, err error, param string) {
	t.Helper()
	var ae *clerkclient.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: got %v, want a 422 APIError naming %s", what, err, param)
		return
	}
	if ae.Status != http.StatusUnprocessableEntity || len(ae.Errors) == 0 || ae.Errors[0].Meta["param_name"] != param {
		t.Errorf("%s: got %d %+v, want 422 naming %s", what, ae.Status, ae.Errors, param)
	}
}

func strp(s string) *string { return &s }

// ----- The tests -----

// TestWebhookEveryEventArrivesSigned: one endpoint without a filter gets
// every change as Clerk's event — user created, updated and deleted;
// organization created and deleted; memberships; an invitation created
// and revoked; a session created by a sign-in and ended by a sign-out —
// each in Clerk's envelope (type, object "event", data the resource as the
// Backend API shows it with private metadata, timestamp in ms, instance_id
// ins_…, event_attributes.http_request) and signed so that Svix's library
// and auth.VerifyWebhook accept it.
func TestWebhookEveryEventArrivesSigned(t *testing.T) {
	ta := startApp(t, nil)
	rc := newWHReceiver(t)
	ep := whEndpoint(t, ta, rc.URL+"/clerk")
	ctx := context.Background()
	start := time.Now()

	pw := doraPassword
	dora, err := ta.App.Client.Users.CreateUser(ctx, clerkclient.CreateUserParams{EmailAddress: []string{doraEmail},
		Password: &pw, FirstName: strp("Dora"), PrivateMetadata: json.RawMessage(`{"plan":"gold"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.App.Client.Users.UpdateUser(ctx, dora.ID, clerkclient.UpdateUserParams{FirstName: strp("Dorothy"),
		PrivateMetadata: json.RawMessage(`{"plan":"platinum"}`)}); err != nil {
		t.Fatal(err)
	}
	org, err := ta.App.Client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Hooks Inc", CreatedBy: &dora.ID})
	if err != nil {
		t.Fatal(err)
	}
	evan := ta.CreateUser(t, evanEmail, evanPassword, "Evan", "Test")
	if _, err := ta.App.Client.Organizations.CreateOrganizationMembership(ctx, clerkclient.CreateOrganizationMembershipParams{
		OrganizationID: org.ID, UserID: evan.ID, Role: "org:member"}); err != nil {
		t.Fatal(err)
	}
	inv, err := ta.App.Client.Organizations.CreateOrganizationInvitation(ctx, clerkclient.CreateOrganizationInvitationParams{
		OrganizationID: org.ID, EmailAddress: "invitee@example.com", InviterUserID: dora.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.App.Client.Organizations.RevokeOrganizationInvitation(ctx, clerkclient.RevokeOrganizationInvitationParams{
		OrganizationID: org.ID, InvitationID: inv.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.App.Client.Organizations.DeleteOrganization(ctx, org.ID); err != nil {
		t.Fatal(err)
	}
	// Evan signs in through the sign-in form twice, from browsers that name
	// themselves, and signs out with the form the first time and through
	// the frontend API the second.
	const ua = "webhooks-e2e/1.0"
	formHeaders := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "User-Agent": ua}
	signIn := func() (*http.Client, string) {
		c := ta.Browser(t)
		form := url.Values{"identifier": {evanEmail}, "password": {evanPassword}}
		res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/sign-in", strings.NewReader(form.Encode()), formHeaders)
		assertStatus(t, "POST /sign-in", res, body, http.StatusSeeOther)
		return c, ta.sessionID(t, c)
	}
	c, formSID := signIn()
	res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/sign-out", strings.NewReader(""), formHeaders)
	assertStatus(t, "POST /sign-out", res, body, http.StatusSeeOther)
	c, fapiSID := signIn()
	res, body = harness.Do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sessions/"+fapiSID+"/end", nil,
		map[string]string{"User-Agent": ua})
	assertStatus(t, "POST /__clerk/v1/client/sessions/{sid}/end", res, body, http.StatusOK)
	if _, err := ta.App.Client.Users.DeleteUser(ctx, dora.ID); err != nil {
		t.Fatal(err)
	}

	want := []string{"user.created", "user.updated", "organization.created", "organizationMembership.created",
		"organizationInvitation.created", "organizationInvitation.revoked", "organization.deleted", "user.deleted",
		"session.created", "session.ended"}
	var got []whRequest
	whWait(t, 20*time.Second, "every event type delivered", func() (bool, string) {
		got = rc.requests()
		types := whTypes(t, got)
		for _, w := range want {
			if !slices.Contains(types, w) {
				return false, "received " + strings.Join(types, ",")
			}
		}
		return true, ""
	})
	// Let a second of ticks pass so duplicates would show.
	time.Sleep(1500 * time.Millisecond)
	got = rc.requests()
	end := time.Now()

	// Every delivery is signed, arrives once (all were answered 200), and
	// carries the envelope.
	ids := map[string]int{}
	var instance string
	for _, r := range got {
		whVerify(t, r, ep.Secret)
		ids[r.id()]++
		if r.Path != "/clerk" {
			t.Errorf("delivery path: got %q, want /clerk (the endpoint's URL)", r.Path)
		}
		env := whDecode(t, r.Body)
		var raw map[string]json.RawMessage
		json.Unmarshal(r.Body, &raw)
		for _, k := range []string{"type", "object", "data", "timestamp", "instance_id", "event_attributes"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("%s envelope: no %q key in %s", env.Type, k, r.Body)
			}
		}
		if env.Object != "event" {
			t.Errorf("%s envelope object: got %q, want event", env.Type, env.Object)
		}
		if env.Timestamp < start.Add(-time.Second).UnixMilli() || env.Timestamp > end.UnixMilli() {
			t.Errorf("%s timestamp: got %d, want milliseconds between %d and %d", env.Type, env.Timestamp,
				start.UnixMilli(), end.UnixMilli())
		}
		if !strings.HasPrefix(env.InstanceID, "ins_") {
			t.Errorf("%s instance_id: got %q, want ins_…", env.Type, env.InstanceID)
		}
		if instance == "" {
			instance = env.InstanceID
		} else if env.InstanceID != instance {
			t.Errorf("%s instance_id: got %q, want the same as the other events' %q", env.Type, env.InstanceID, instance)
		}
		hr, ok := env.EventAttributes["http_request"]
		if !ok {
			t.Errorf("%s event_attributes: got %v, want http_request", env.Type, env.EventAttributes)
		}
		for _, k := range []string{"client_ip", "user_agent"} {
			if _, ok := hr[k].(string); !ok {
				t.Errorf("%s event_attributes.http_request.%s: got %v, want a string", env.Type, k, hr[k])
			}
		}
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("svix-id %s: received %d times, want once (every attempt was answered 200)", id, n)
		}
	}

	one := func(typ string, match func(map[string]any) bool, what string) map[string]any {
		t.Helper()
		list := whFind(t, got, typ, match)
		if len(list) != 1 {
			t.Errorf("%s (%s): got %d deliveries, want 1; received types %v", typ, what, len(list), whTypes(t, got))
			return map[string]any{}
		}
		return whDecode(t, list[0].Body).Data
	}
	email := func(d map[string]any) string {
		addrs, _ := d["email_addresses"].([]any)
		if len(addrs) != 1 {
			return ""
		}
		a, _ := addrs[0].(map[string]any)
		s, _ := a["email_address"].(string)
		return s
	}

	// user.created: the user with its addresses and private metadata.
	d := one("user.created", dataID(dora.ID), "Dora")
	if d["object"] != "user" || email(d) != doraEmail || d["first_name"] != "Dora" {
		t.Errorf("user.created data: got object %v email %q first_name %v, want user %s Dora", d["object"], email(d), d["first_name"], doraEmail)
	}
	if pm, _ := d["private_metadata"].(map[string]any); pm["plan"] != "gold" {
		t.Errorf("user.created private_metadata: got %v, want {plan: gold}", d["private_metadata"])
	}
	one("user.created", dataID(evan.ID), "Evan")

	// user.updated: the user as the update left it.
	d = one("user.updated", func(d map[string]any) bool { return d["id"] == dora.ID && d["first_name"] == "Dorothy" }, "Dora renamed")
	if pm, _ := d["private_metadata"].(map[string]any); d["object"] != "user" || pm["plan"] != "platinum" || email(d) != doraEmail {
		t.Errorf("user.updated data: got object %v private_metadata %v email %q, want user {plan: platinum} %s",
			d["object"], d["private_metadata"], email(d), doraEmail)
	}

	d = one("organization.created", dataID(org.ID), "Hooks Inc")
	if d["object"] != "organization" || d["name"] != "Hooks Inc" || d["created_by"] != dora.ID {
		t.Errorf("organization.created data: got %v, want the organization Hooks Inc created by %s", d, dora.ID)
	}
	if _, ok := d["private_metadata"]; !ok {
		t.Errorf("organization.created data: no private_metadata in %v", d)
	}

	memberOf := func(uid string) func(map[string]any) bool {
		return func(d map[string]any) bool {
			o, _ := d["organization"].(map[string]any)
			p, _ := d["public_user_data"].(map[string]any)
			return o["id"] == org.ID && p["user_id"] == uid
		}
	}
	d = one("organizationMembership.created", memberOf(evan.ID), "Evan joins")
	if d["object"] != "organization_membership" || d["role"] != "org:member" {
		t.Errorf("organizationMembership.created data: got object %v role %v, want organization_membership org:member", d["object"], d["role"])
	}
	one("organizationMembership.created", memberOf(dora.ID), "the creator, first admin")

	d = one("organizationInvitation.created", dataID(inv.ID), "invitee")
	if d["object"] != "organization_invitation" || d["status"] != "pending" || d["email_address"] != "invitee@example.com" ||
		d["organization_id"] != org.ID {
		t.Errorf("organizationInvitation.created data: got %v, want the pending invitation of invitee@example.com to %s", d, org.ID)
	}
	d = one("organizationInvitation.revoked", dataID(inv.ID), "invitee")
	if d["status"] != "revoked" {
		t.Errorf("organizationInvitation.revoked data status: got %v, want revoked", d["status"])
	}

	// Deletions are Clerk's deleted objects, and nothing more.
	d = one("organization.deleted", dataID(org.ID), "Hooks Inc")
	if want := map[string]any{"object": "organization", "id": org.ID, "deleted": true}; !reflect.DeepEqual(d, want) {
		t.Errorf("organization.deleted data: got %v, want %v", d, want)
	}
	d = one("user.deleted", dataID(dora.ID), "Dora")
	if want := map[string]any{"object": "user", "id": dora.ID, "deleted": true}; !reflect.DeepEqual(d, want) {
		t.Errorf("user.deleted data: got %v, want %v", d, want)
	}

	// The sessions of the sign-ins, created then ended, each event with
	// where its request came from.
	for _, sess := range []struct{ id, how string }{{formSID, "POST /sign-out"}, {fapiSID, "the frontend API's …/end"}} {
		for _, typ := range []string{"session.created", "session.ended"} {
			list := whFind(t, got, typ, dataID(sess.id))
			if len(list) != 1 {
				t.Errorf("%s of session %s (ended by %s): got %d deliveries, want 1", typ, sess.id, sess.how, len(list))
				continue
			}
			env := whDecode(t, list[0].Body)
			status := map[string]string{"session.created": "active", "session.ended": "ended"}[typ]
			if env.Data["object"] != "session" || env.Data["user_id"] != evan.ID || env.Data["status"] != status {
				t.Errorf("%s data: got object %v user_id %v status %v, want a session of %s, %s", typ,
					env.Data["object"], env.Data["user_id"], env.Data["status"], evan.ID, status)
			}
			if hr := env.EventAttributes["http_request"]; hr["client_ip"] != "127.0.0.1" || hr["user_agent"] != ua {
				t.Errorf("%s of session %s (ended by %s) event_attributes.http_request: got %v, want client_ip 127.0.0.1 and user_agent %s",
					typ, sess.id, sess.how, hr, ua)
			}
		}
	}

	// The messages list agrees: each delivered once, succeeded.
	for _, m := range whMessages(t, ta, ep.ID) {
		if m.Status != "succeeded" || m.Attempts != 1 || ids[m.ID] != 1 {
			t.Errorf("message %s (%s): got status %s attempts %d, received %d times; want succeeded after 1, received once",
				m.ID, m.EventType, m.Status, m.Attempts, ids[m.ID])
		}
	}
}

// TestWebhookEventFilter: an endpoint with Events [user.created] receives
// only user.created, while an endpoint without a filter gets the rest;
// the filtered endpoint has no message of another type.
func TestWebhookEventFilter(t *testing.T) {
	ta := startApp(t, nil)
	all, only := newWHReceiver(t), newWHReceiver(t)
	epAll := whEndpoint(t, ta, all.URL)
	epOnly := whEndpoint(t, ta, only.URL, "user.created")
	if len(epOnly.Events) != 1 || epOnly.Events[0] != "user.created" {
		t.Errorf("the filtered endpoint's events: got %v, want [user.created]", epOnly.Events)
	}
	ctx := context.Background()
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	if _, err := ta.App.Client.Users.UpdateUser(ctx, u.ID, clerkclient.UpdateUserParams{FirstName: strp("Dorothy")}); err != nil {
		t.Fatal(err)
	}
	org, err := ta.App.Client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Filters", CreatedBy: &u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.App.Client.Organizations.DeleteOrganization(ctx, org.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.App.Client.Users.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	whWait(t, 15*time.Second, "the unfiltered endpoint gets user.deleted", func() (bool, string) {
		types := whTypes(t, all.requests())
		return slices.Contains(types, "user.deleted"), strings.Join(types, ",")
	})
	whWait(t, 15*time.Second, "the filtered endpoint gets user.created", func() (bool, string) {
		types := whTypes(t, only.requests())
		return len(types) > 0, strings.Join(types, ",")
	})
	time.Sleep(1500 * time.Millisecond) // a tick or so for anything else to arrive
	if got := whTypes(t, only.requests()); !slices.Equal(got, []string{"user.created"}) {
		t.Errorf("the filtered endpoint received %v, want [user.created]", got)
	}
	for _, r := range only.requests() {
		whVerify(t, r, epOnly.Secret)
		if d := whDecode(t, r.Body).Data; d["id"] != u.ID {
			t.Errorf("the filtered endpoint's user.created: got data id %v, want %s", d["id"], u.ID)
		}
	}
	for _, m := range whMessages(t, ta, epOnly.ID) {
		if m.EventType != "user.created" {
			t.Errorf("the filtered endpoint has a %s message (%s), want only user.created", m.EventType, m.ID)
		}
	}
	allTypes := whTypes(t, all.requests())
	for _, w := range []string{"user.created", "user.updated", "organization.created", "organization.deleted", "user.deleted"} {
		if !slices.Contains(allTypes, w) {
			t.Errorf("the unfiltered endpoint received %v, want %s among them", allTypes, w)
		}
	}
	for _, r := range all.requests() {
		whVerify(t, r, epAll.Secret)
	}
	// The filtered endpoint's secret is its own.
	if len(all.requests()) > 0 {
		wh, _ := svix.NewWebhook(epOnly.Secret)
		if r := all.requests()[0]; wh.Verify(r.Body, r.Header) == nil {
			t.Errorf("a delivery to one endpoint verifies with another endpoint's secret, want distinct secrets")
		}
	}
}

// TestWebhookRetryKeepsTheSvixID: the receiver answers 500 to the first
// attempt and 200 to the next; the second attempt comes on Svix's
// schedule (5 s ±20% later, plus up to a second's tick) with the same
// svix-id and body, freshly signed; the message is then succeeded after
// two attempts, the first recorded with its 500.
func TestWebhookRetryKeepsTheSvixID(t *testing.T) {
	t.Parallel()
	ta := startApp(t, nil)
	rc := newWHReceiver(t)
	rc.setAnswer(failFirst)
	ep := whEndpoint(t, ta, rc.URL, "user.created")
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")

	var got []whRequest
	whWait(t, 15*time.Second, "two attempts received", func() (bool, string) {
		got = rc.requests()
		return len(got) >= 2, strconv.Itoa(len(got)) + " received"
	})
	first, second := got[0], got[1]
	if first.id() != second.id() {
		t.Errorf("svix-id of the retry: got %q, want %q (the first attempt's)", second.id(), first.id())
	}
	if !bytes.Equal(first.Body, second.Body) {
		t.Errorf("body of the retry: got %s, want the first attempt's %s", second.Body, first.Body)
	}
	if d := whDecode(t, second.Body).Data; d["id"] != u.ID {
		t.Errorf("retried user.created: got data id %v, want %s", d["id"], u.ID)
	}
	whVerify(t, first, ep.Secret)
	whVerify(t, second, ep.Secret)
	// 5 s ±20% is 4 s to 6 s; the dispatcher looks every second.
	if gap := second.At.Sub(first.At); gap < 3900*time.Millisecond || gap > 7500*time.Millisecond {
		t.Errorf("the retry came %s after the first attempt, want about 5 s (4 s to 6 s, plus up to a 1 s tick)", gap)
	}

	m := whWaitStatus(t, ta, ep.ID, first.id(), "succeeded", 5*time.Second)
	if m.Attempts != 2 || m.LastStatus != http.StatusOK || m.LastError != "" || m.EventType != "user.created" {
		t.Errorf("message after the retry: got attempts %d last status %d last error %q type %s, want 2, 200, none, user.created",
			m.Attempts, m.LastStatus, m.LastError, m.EventType)
	}
	if !bytes.Equal(m.Payload, first.Body) {
		t.Errorf("message payload: got %s, want the body delivered %s", m.Payload, first.Body)
	}
	atts := whAttempts(t, ta, m.ID)
	if len(atts) != 2 {
		t.Fatalf("attempts: got %d (%+v), want 2", len(atts), atts)
	}
	if atts[0].StatusCode != http.StatusInternalServerError || !strings.Contains(atts[0].Error, "500") {
		t.Errorf("first attempt: got status %d error %q, want 500 and an error naming it", atts[0].StatusCode, atts[0].Error)
	}
	if atts[1].StatusCode != http.StatusOK || atts[1].Error != "" {
		t.Errorf("second attempt: got status %d error %q, want 200 and no error", atts[1].StatusCode, atts[1].Error)
	}
	if gap := time.Duration(atts[1].CreatedAt-atts[0].CreatedAt) * time.Millisecond; gap < 3900*time.Millisecond {
		t.Errorf("the attempts were recorded %s apart, want about 5 s", gap)
	}
	if len(rc.requests()) != 2 {
		t.Errorf("received %d requests, want 2 (no attempt after the success)", len(rc.requests()))
	}
}

// TestWebhookRedirectIsAFailure: a 3xx answer fails the attempt and its
// Location is never followed (a redirect is a way into the operator's
// network); a 2xx other than 200 succeeds, a 404 fails.
func TestWebhookRedirectIsAFailure(t *testing.T) {
	ta := startApp(t, nil)
	rc := newWHReceiver(t)
	rc.setAnswer(func(r whRequest, _ int) whAnswer {
		switch r.Path {
		case "/302":
			return whAnswer{status: http.StatusFound, location: "/followed"}
		case "/307":
			return whAnswer{status: http.StatusTemporaryRedirect, location: "/followed"}
		case "/204":
			return whAnswer{status: http.StatusNoContent}
		case "/404":
			return whAnswer{status: http.StatusNotFound}
		}
		return whAnswer{status: http.StatusOK}
	})
	type tc struct {
		path    string
		status  int
		success bool
		ep      *clerkclient.WebhookEndpoint
	}
	cases := []*tc{{path: "/302", status: 302}, {path: "/307", status: 307}, {path: "/204", status: 204, success: true}, {path: "/404", status: 404}}
	for _, c := range cases {
		c.ep = whEndpoint(t, ta, rc.URL+c.path, "user.created")
	}
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	for _, c := range cases {
		var msgs []clerkclient.WebhookMessage
		whWait(t, 10*time.Second, c.path+": a message with one attempt", func() (bool, string) {
			msgs = whMessages(t, ta, c.ep.ID)
			return len(msgs) == 1 && msgs[0].Attempts >= 1, strconv.Itoa(len(msgs)) + " messages"
		})
		m := msgs[0]
		atts := whAttempts(t, ta, m.ID)
		if len(atts) == 0 || atts[0].StatusCode != c.status {
			t.Errorf("%s: first attempt %+v, want status %d", c.path, atts, c.status)
			continue
		}
		if c.success {
			if m.Status != "succeeded" || atts[0].Error != "" {
				t.Errorf("%s: got message %s, attempt error %q, want succeeded without error", c.path, m.Status, atts[0].Error)
			}
			continue
		}
		if m.Status != "pending" || atts[0].Error == "" || m.LastStatus != c.status {
			t.Errorf("%s: got message %s last status %d attempt error %q, want a failed attempt (%d) and the message pending a retry",
				c.path, m.Status, m.LastStatus, atts[0].Error, c.status)
		}
	}
	for _, r := range rc.requests() {
		if r.Path == "/followed" {
			t.Errorf("the redirect was followed: a request to /followed (svix-id %s), want none", r.id())
		}
	}
}

// TestWebhookTimeoutIsAFailure: a receiver that has not answered after
// 15 s fails the attempt (status 0, the timeout as the error), and the
// message waits for its retry.
func TestWebhookTimeoutIsAFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 15 s webhook timeout")
	}
	t.Parallel()
	ta := startApp(t, nil)
	rc := newWHReceiver(t)
	rc.setAnswer(func(whRequest, int) whAnswer { return whAnswer{hang: true} })
	ep := whEndpoint(t, ta, rc.URL, "user.created")
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	whWait(t, 5*time.Second, "the attempt reaches the receiver", func() (bool, string) {
		return len(rc.requests()) == 1, strconv.Itoa(len(rc.requests())) + " received"
	})
	id := rc.requests()[0].id()
	atts := whWaitAttempts(t, ta, id, 1, 22*time.Second)
	a := atts[0]
	if a.StatusCode != 0 || !(strings.Contains(a.Error, "Timeout") || strings.Contains(a.Error, "deadline")) {
		t.Errorf("attempt to a receiver that never answers: got status %d error %q, want 0 and a timeout", a.StatusCode, a.Error)
	}
	if a.DurationMS < 14_900 || a.DurationMS > 17_000 {
		t.Errorf("attempt duration: got %d ms, want about 15000 (the timeout)", a.DurationMS)
	}
	if m := whMessage(t, ta, ep.ID, id); m.Status != "pending" || m.Attempts != 1 {
		t.Errorf("message after the timeout: got %s after %d attempts, want pending after 1", m.Status, m.Attempts)
	}
}

// TestWebhookManualRetry: RetryMessage makes a message due at once — it
// is delivered again with the same svix-id well before the schedule would
// have — and a disabled endpoint fails its attempts without a request,
// until it is enabled again and the message retried.
func TestWebhookManualRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a failing message retried", func(t *testing.T) {
		t.Parallel()
		ta := startApp(t, nil)
		rc := newWHReceiver(t)
		rc.setAnswer(always(http.StatusInternalServerError))
		ep := whEndpoint(t, ta, rc.URL, "user.created")
		ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
		whWait(t, 5*time.Second, "the first attempt", func() (bool, string) {
			return len(rc.requests()) >= 1, "nothing received"
		})
		first := rc.requests()[0]
		whWaitAttempts(t, ta, first.id(), 1, 5*time.Second)
		rc.setAnswer(always(http.StatusOK))
		if err := ta.App.Client.Webhooks.RetryMessage(ctx, first.id()); err != nil {
			t.Fatalf("RetryMessage: %v", err)
		}
		whWait(t, 5*time.Second, "the retried attempt", func() (bool, string) {
			return len(rc.requests()) >= 2, strconv.Itoa(len(rc.requests())) + " received"
		})
		second := rc.requests()[1]
		if second.id() != first.id() || !bytes.Equal(second.Body, first.Body) {
			t.Errorf("retried delivery: got svix-id %s, want %s with the same body", second.id(), first.id())
		}
		whVerify(t, second, ep.Secret)
		if gap := second.At.Sub(first.At); gap >= 3900*time.Millisecond {
			t.Errorf("the manual retry came %s after the first attempt, want sooner than the schedule's 5 s ±20%%", gap)
		}
		m := whWaitStatus(t, ta, ep.ID, first.id(), "succeeded", 5*time.Second)
		if m.Attempts != 2 {
			t.Errorf("message after the manual retry: got %d attempts, want 2", m.Attempts)
		}
		err := ta.App.Client.Webhooks.RetryMessage(ctx, "msg_doesnotexist")
		if !clerkclient.IsNotFound(err) {
			t.Errorf("RetryMessage of an unknown message: got %v, want resource_not_found", err)
		}
	})

	// A paused endpoint (SetEndpointDisabled true) is sent nothing; its
	// messages, old and new, wait without using up attempts, and go out
	// when it resumes, each with its own svix-id.
	t.Run("a paused endpoint's messages wait", func(t *testing.T) {
		t.Parallel()
		ta := startApp(t, nil)
		rc := newWHReceiver(t)
		rc.setAnswer(failFirst)
		ep := whEndpoint(t, ta, rc.URL, "user.created")
		ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
		whWait(t, 5*time.Second, "the first attempt", func() (bool, string) {
			return len(rc.requests()) >= 1, "nothing received"
		})
		first := rc.requests()[0].id()
		whWaitAttempts(t, ta, first, 1, 5*time.Second)
		if err := ta.App.Client.Webhooks.SetEndpointDisabled(ctx, ep.ID, true); err != nil {
			t.Fatal(err)
		}
		if list, _ := ta.App.Client.Webhooks.ListEndpoints(ctx); len(list) != 1 || !list[0].Disabled {
			t.Errorf("ListEndpoints after SetEndpointDisabled(true): got %+v, want the endpoint disabled", list)
		}
		u := ta.CreateUser(t, "erin@example.com", "correct horse battery", "Erin", "Test")
		// Past the retry of the first message (5 s ±20%): nothing is sent
		// and no attempt is used up.
		time.Sleep(7 * time.Second)
		ta.App.Webhooks.Tick(ctx)
		if n := len(rc.requests()); n != 1 {
			t.Errorf("requests while paused: got %d in all, want only the first attempt's", n)
		}
		msgs := whMessages(t, ta, ep.ID)
		if len(msgs) != 2 {
			t.Fatalf("messages while paused: got %d, want 2 (the event of the pause is kept)", len(msgs))
		}
		for _, m := range msgs {
			if m.Status != "pending" || (m.ID == first && m.Attempts != 1) || (m.ID != first && m.Attempts != 0) {
				t.Errorf("message %s while paused: got %s after %d attempts, want pending with no attempt used", m.ID, m.Status, m.Attempts)
			}
		}
		if err := ta.App.Client.Webhooks.SetEndpointDisabled(ctx, ep.ID, false); err != nil {
			t.Fatal(err)
		}
		whWait(t, 5*time.Second, "both delivered after resuming", func() (bool, string) {
			return len(rc.requests()) >= 3, strconv.Itoa(len(rc.requests())) + " received"
		})
		seen := map[string]bool{}
		for _, r := range rc.requests()[1:] {
			whVerify(t, r, ep.Secret)
			seen[r.id()] = true
			if r.id() != first && whDecode(t, r.Body).Data["id"] != u.ID {
				t.Errorf("the event of the pause: got data id %v, want %s", whDecode(t, r.Body).Data["id"], u.ID)
			}
		}
		if !seen[first] || len(seen) != 2 {
			t.Errorf("deliveries after resuming: got svix-ids %v, want %s and the pause's message", seen, first)
		}
	})
}

// TestWebhookEndpointURLRules: in production (WEBHOOK_ALLOW_PRIVATE false
// by default) an endpoint must be https, without credentials, and must
// not name a loopback, private, link-local or localhost address — each
// refused with a 422 naming url and nothing stored; a public https URL is
// accepted; an unknown event type is a 422 naming events. An endpoint
// stored anyway (by an instance that allows private addresses) is never
// connected to: the production dispatcher checks the URL and the address
// it dials.
func TestWebhookEndpointURLRules(t *testing.T) {
	ctx := context.Background()
	prod := map[string]string{"APP_ENV": "production", "ALLOW_INSECURE_APP_URL": "true", "CLERK_SECRET_KEY": config.NewSecretKey(true)}
	ta := startApp(t, prod)
	if ta.Cfg.WebhookAllowPrivate {
		t.Fatalf("production: WebhookAllowPrivate is true, want false by default")
	}
	for _, raw := range []string{
		"http://127.0.0.1:8080/hook",
		"https://127.0.0.1/hook",
		"https://10.0.0.1/hook",
		"https://172.16.0.1/hook",
		"https://192.168.1.1/hook",
		"https://169.254.169.254/latest/meta-data/",
		"https://100.64.0.1/hook",
		"https://0.0.0.0/hook",
		"https://[::1]/hook",
		"https://[fd00::1]/hook",
		"https://[::ffff:127.0.0.1]/hook",
		"https://localhost/hook",
		"https://api.localhost/hook",
		"https://LOCALHOST/hook",
		"https://LocalHost:8443/hook",
		"http://example.com/hook",
		"https://user:pass@example.com/hook",
		"https://user@example.com/hook",
		"ftp://example.com/hook",
		"example.com/hook",
		"",
	} {
		_, err := ta.App.Client.Webhooks.CreateEndpoint(ctx, clerkclient.CreateWebhookEndpointParams{URL: raw})
		whAPIError(t, "CreateEndpoint "+strconv.Quote(raw), err, "url")
	}
	if list, _ := ta.App.Client.Webhooks.ListEndpoints(ctx); len(list) != 0 {
		var urls []string
		for _, e := range list {
			urls = append(urls, e.URL)
		}
		t.Errorf("endpoints stored after the refusals: got %v, want none", urls)
	}
	_, err := ta.App.Client.Webhooks.CreateEndpoint(ctx, clerkclient.CreateWebhookEndpointParams{URL: "https://hooks.example.com/clerk",
		Events: []string{"user.created", "user.exploded"}})
	whAPIError(t, "CreateEndpoint with an unknown event type", err, "events")
	_, err = ta.App.Client.Webhooks.CreateEndpoint(ctx, clerkclient.CreateWebhookEndpointParams{URL: "https://hooks.example.com/clerk",
		Description: strings.Repeat("x", 257)})
	whAPIError(t, "CreateEndpoint with a 257-character description", err, "description")

	// Accepted (then removed at once: nothing here should be dialled).
	for _, raw := range []string{"https://hooks.example.com/clerk", "https://203.0.113.10:8443/hook", "HTTPS://Hooks.Example.com/x"} {
		ep, err := ta.App.Client.Webhooks.CreateEndpoint(ctx, clerkclient.CreateWebhookEndpointParams{URL: raw, Events: []string{"organization.deleted"}})
		if err != nil {
			t.Errorf("CreateEndpoint %q: got %v, want it accepted", raw, err)
			continue
		}
		if err := ta.App.Client.Webhooks.DeleteEndpoint(ctx, ep.ID); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("stored anyway, never dialled", func(t *testing.T) {
		// A TCP listener that counts connections: a delivery that got as
		// far as dialling would show, TLS or not.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var conns atomic.Int32
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				conns.Add(1)
				c.Close()
			}
		}()
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		lax := *ta.Cfg
		lax.WebhookAllowPrivate = true
		client := app.NewClient(&lax, ta.App.Store, nil)
		byIP, err := client.Webhooks.CreateEndpoint(ctx, clerkclient.CreateWebhookEndpointParams{URL: "https://127.0.0.1:" + port + "/hook", Events: []string{"user.created"}})
		if err != nil {
			t.Fatal(err)
		}
		// LOCALHOST resolves to 127.0.0.1: only the check on the dialled
		// address can stop it (or a URL check that ignores case).
		byName, err := client.Webhooks.CreateEndpoint(ctx, clerkclient.CreateWebhookEndpointParams{URL: "https://LOCALHOST:" + port + "/hook", Events: []string{"user.created"}})
		if err != nil {
			t.Fatal(err)
		}
		ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
		for _, c := range []struct {
			ep   *clerkclient.WebhookEndpoint
			want []string
		}{{byIP, []string{"private or loopback"}}, {byName, []string{"not a public address", "localhost"}}} {
			var msgs []clerkclient.WebhookMessage
			whWait(t, 10*time.Second, c.ep.URL+": an attempt", func() (bool, string) {
				msgs = whMessages(t, ta, c.ep.ID)
				return len(msgs) == 1 && msgs[0].Attempts >= 1, strconv.Itoa(len(msgs)) + " messages"
			})
			atts := whAttempts(t, ta, msgs[0].ID)
			ok := false
			for _, w := range c.want {
				ok = ok || strings.Contains(atts[0].Error, w)
			}
			if !ok || atts[0].StatusCode != 0 {
				t.Errorf("%s in production: attempt status %d error %q, want 0 and an error with one of %q", c.ep.URL, atts[0].StatusCode, atts[0].Error, c.want)
			}
		}
		if n := conns.Load(); n != 0 {
			t.Errorf("connections to the loopback listener: got %d, want none", n)
		}
	})

	t.Run("WEBHOOK_ALLOW_PRIVATE=true", func(t *testing.T) {
		env := map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true"}
		for k, v := range prod {
			env[k] = v
		}
		tb := startApp(t, env)
		rc := newWHReceiver(t)
		ep := whEndpoint(t, tb, rc.URL, "user.created") // http and loopback
		tb.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
		whWait(t, 10*time.Second, "delivered to a loopback receiver in production with WEBHOOK_ALLOW_PRIVATE=true", func() (bool, string) {
			return len(rc.requests()) == 1, strconv.Itoa(len(rc.requests())) + " received"
		})
		whVerify(t, rc.requests()[0], ep.Secret)
	})
}

// TestWebhookCLI: gatehouse webhooks add prints the endpoint and its
// whsec_ secret once, list shows it with its filter, test queues a "test"
// message the running server delivers (signed with that secret), messages
// shows it succeeded, retry sends it again with the same svix-id, rm
// removes the endpoint; mistakes exit non-zero.
func TestWebhookCLI(t *testing.T) {
	ta := startApp(t, nil)
	rc := newWHReceiver(t)
	env := ta.sharedEnv()
	cli := func(args ...string) (string, string) {
		t.Helper()
		code, out, errOut := runCLI(t, env, args...)
		if code != 0 {
			t.Fatalf("gatehouse %s: exit %d: %s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out, errOut
	}

	hook := rc.URL + "/clerk"
	out, _ := cli("webhooks", "add", hook, "--events", "user.created,organization.created", "--description", "from the CLI")
	m := regexp.MustCompile(`created endpoint (ep_[0-9A-Za-z]+) for (\S+)`).FindStringSubmatch(out)
	s := regexp.MustCompile(`(whsec_[A-Za-z0-9+/=]+)`).FindStringSubmatch(out)
	if m == nil || s == nil || m[2] != hook {
		t.Fatalf("webhooks add output: got %q, want the endpoint id for %s and a whsec_ secret", out, hook)
	}
	id, secret := m[1], s[1]
	if _, err := svix.NewWebhook(secret); err != nil {
		t.Errorf("the printed secret %q: %v", secret, err)
	}

	out, _ = cli("webhooks", "list")
	if !strings.Contains(out, id) || !strings.Contains(out, hook) || !strings.Contains(out, "user.created,organization.created") ||
		!strings.Contains(out, "enabled") {
		t.Errorf("webhooks list: got %q, want %s %s with its events, enabled", out, id, hook)
	}
	if strings.Contains(out, secret) {
		t.Errorf("webhooks list shows the secret, want it shown only once, by add")
	}

	out, _ = cli("webhooks", "test", id)
	mm := regexp.MustCompile(`queued test message (msg_[0-9A-Za-z]+)`).FindStringSubmatch(out)
	if mm == nil {
		t.Fatalf("webhooks test output: got %q, want the queued message's id", out)
	}
	msgID := mm[1]
	whWait(t, 10*time.Second, "the test message delivered by the running server", func() (bool, string) {
		return len(rc.requests()) >= 1, "nothing received"
	})
	r := rc.requests()[0]
	if r.id() != msgID {
		t.Errorf("test delivery: got svix-id %q, want %q", r.id(), msgID)
	}
	whVerify(t, r, secret)
	if e := whDecode(t, r.Body); e.Type != "test" || e.Object != "event" {
		t.Errorf("test delivery: got type %q object %q, want test, event", e.Type, e.Object)
	}
	whWaitStatus(t, ta, id, msgID, "succeeded", 5*time.Second)

	out, _ = cli("webhooks", "messages", "--endpoint", id)
	var row []string // ID ENDPOINT TYPE STATUS ATTEMPTS LAST… CREATED
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == msgID {
			row = f
		}
	}
	if len(row) < 6 || row[1] != id || row[2] != "test" || row[3] != "succeeded" || row[4] != "1" || row[5] != "200" {
		t.Errorf("webhooks messages: got row %q in %q, want %s %s test succeeded 1 200", row, out, msgID, id)
	}
	if out, _ = cli("webhooks", "messages", "--status", "failed"); strings.Contains(out, msgID) {
		t.Errorf("webhooks messages --status failed: got %q, want no %s", out, msgID)
	}

	out, _ = cli("webhooks", "retry", msgID)
	if !strings.Contains(out, msgID) {
		t.Errorf("webhooks retry output: got %q, want it to name %s", out, msgID)
	}
	whWait(t, 10*time.Second, "the retried test message", func() (bool, string) {
		return len(rc.requests()) >= 2, strconv.Itoa(len(rc.requests())) + " received"
	})
	if again := rc.requests()[1]; again.id() != msgID || !bytes.Equal(again.Body, r.Body) {
		t.Errorf("retried test delivery: got svix-id %q, want %q with the same body", again.id(), msgID)
	}

	// The filter of the endpoint made by the CLI holds for real events.
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	whWait(t, 10*time.Second, "user.created to the CLI's endpoint", func() (bool, string) {
		types := whTypes(t, rc.requests())
		return slices.Contains(types, "user.created"), strings.Join(types, ",")
	})

	out, _ = cli("webhooks", "rm", id)
	if !strings.Contains(out, id) {
		t.Errorf("webhooks rm output: got %q, want it to name %s", out, id)
	}
	if out, _ = cli("webhooks", "list"); strings.Contains(out, id) {
		t.Errorf("webhooks list after rm: got %q, want no %s", out, id)
	}
	for _, args := range [][]string{
		{"webhooks", "rm", id},                                    // gone
		{"webhooks", "test", id},                                  // gone
		{"webhooks", "add", hook, "--events", "user.exploded"},    // unknown type
		{"webhooks", "add", "not a url"},                          // not a URL
		{"webhooks", "add"},                                       // no URL
		{"webhooks", "frobnicate"},                                // no such subcommand
		{"webhooks", "add", "--events", "user.created", "x", "y"}, // flags before the URL
	} {
		if code, out, errOut := runCLI(t, env, args...); code == 0 {
			t.Errorf("gatehouse %s: exit 0 (%s%s), want an error", strings.Join(args, " "), out, errOut)
		}
	}
}

// TestWebhookInstancesAttemptOnce: three instances on one database, each
// running the dispatcher (and, here, ticking it as fast as it can), one
// endpoint; 30 users created at once through one instance arrive as 30
// user.created, each svix-id exactly once and each message attempted once
// — on PostgreSQL by row locks with SKIP LOCKED, on SQLite by its single
// writer.
func TestWebhookInstancesAttemptOnce(t *testing.T) {
	t.Parallel()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		webhookInstancesAttemptOnce(t, postgresURL(t))
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		webhookInstancesAttemptOnce(t, "sqlite:"+filepath.Join(t.TempDir(), "gatehouse.db"))
	})
}

func webhookInstancesAttemptOnce(t *testing.T, dbURL string) {
	a := startApp(t, map[string]string{"DATABASE_URL": dbURL})
	instances := []*testApp{a, startApp(t, a.sharedEnv()), startApp(t, a.sharedEnv())}
	rc := newWHReceiver(t)
	// A little time in each answer, so the instances' rounds overlap.
	rc.setAnswer(func(whRequest, int) whAnswer { return whAnswer{status: http.StatusOK, delay: 20 * time.Millisecond} })
	ep := whEndpoint(t, a, rc.URL)
	ctx := context.Background()

	// Besides each instance's own ticker, two loops per instance tick it
	// back to back, so fan-outs and claims of the instances race.
	stop := make(chan struct{})
	var ticking sync.WaitGroup
	for _, in := range instances {
		for range 2 {
			ticking.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					in.App.Webhooks.Tick(ctx)
					time.Sleep(time.Millisecond)
				}
			})
		}
	}
	stopTicking := sync.OnceFunc(func() {
		close(stop)
		ticking.Wait()
	})
	defer stopTicking()

	const n = 30
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			u, err := a.App.Client.Users.CreateUser(ctx, clerkclient.CreateUserParams{
				EmailAddress: []string{"many" + strconv.Itoa(i) + "@example.com"}, FirstName: strp("Many")})
			if err != nil {
				errs <- err
				return
			}
			ids[i] = u.ID
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("create user: %v", err)
	}

	whWait(t, 30*time.Second, "30 user.created delivered", func() (bool, string) {
		got := whFind(t, rc.requests(), "user.created", nil)
		return len(got) >= n, strconv.Itoa(len(got)) + " received"
	})
	time.Sleep(1500 * time.Millisecond) // more racing ticks: a duplicate would arrive
	stopTicking()
	time.Sleep(1500 * time.Millisecond) // and the instances' own tickers
	seen := map[string]int{}
	users := map[string]bool{}
	for _, r := range whFind(t, rc.requests(), "user.created", nil) {
		seen[r.id()]++
		uid, _ := whDecode(t, r.Body).Data["id"].(string)
		users[uid] = true
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("svix-id %s received %d times, want once (one attempt, by one instance)", id, k)
		}
	}
	if len(seen) != n {
		t.Errorf("distinct svix-ids of user.created: got %d, want %d", len(seen), n)
	}
	for _, id := range ids {
		if !users[id] {
			t.Errorf("user %s: no user.created received", id)
		}
	}

	total, created := 0, 0
	for _, m := range whMessages(t, a, ep.ID) {
		if m.EventType != "user.created" {
			continue
		}
		created++
		atts := whAttempts(t, a, m.ID)
		total += len(atts)
		if m.Status != "succeeded" || m.Attempts != 1 || len(atts) != 1 {
			t.Errorf("message %s: got %s after %d attempts (%d recorded), want succeeded after 1", m.ID, m.Status, m.Attempts, len(atts))
		}
		if seen[m.ID] != 1 {
			t.Errorf("message %s: received %d times, want once", m.ID, seen[m.ID])
		}
	}
	if created != n || total != n {
		t.Errorf("user.created messages: got %d with %d attempts in all, want %d and %d", created, total, n, n)
	}
}

// TestWebhookEmailCreated: every message the server sends (a sign-up code,
// a reset code, an organization invitation) is an email.created event in
// Clerk's email shape — slug, to_email_address, user_id, status — and no
// webhook carries the message's code, subject or body: Gatehouse delivers
// its own mail, so webhook endpoints never hold a credential.
func TestWebhookEmailCreated(t *testing.T) {
	ta := startApp(t, emailCode)
	rc := newWHReceiver(t)
	ep := whEndpoint(t, ta, rc.URL+"/clerk", "email.created")
	ctx := context.Background()

	const nora = "nora.hooks@example.com"
	ta.acctStartSignUp(t, ta.Browser(t), nora, doraPassword)
	signUpCode := ta.acctNthCode(t, nora, 1)
	dora := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	ta.acctStartReset(t, ta.Browser(t), doraEmail)
	resetCode := ta.acctNthCode(t, doraEmail, 1)
	org, err := ta.App.Client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Mail Inc", CreatedBy: &dora.ID})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := ta.App.Client.Organizations.CreateOrganizationInvitation(ctx, clerkclient.CreateOrganizationInvitationParams{
		OrganizationID: org.ID, EmailAddress: "invitee@example.com", InviterUserID: dora.ID})
	if err != nil {
		t.Fatal(err)
	}

	var got []whRequest
	whWait(t, 20*time.Second, "three email.created events", func() (bool, string) {
		got = rc.requests()
		return len(got) >= 3, fmt.Sprintf("received %d", len(got))
	})
	type email struct {
		Object, ID, Slug, Status string
		ToEmailAddress           string  `json:"to_email_address"`
		UserID                   *string `json:"user_id"`
		Subject, Body, BodyPlain *string
		DeliveredByClerk         bool  `json:"delivered_by_clerk"`
		CreatedAt                int64 `json:"created_at"`
	}
	bySlug := map[string]email{}
	for _, r := range got {
		whVerify(t, r, ep.Secret)
		for _, secret := range []string{signUpCode, resetCode, *inv.URL} {
			if bytes.Contains(r.Body, []byte(secret)) {
				t.Errorf("an email.created webhook carries a code or link of the message: %s", r.Body)
			}
		}
		var env struct {
			Type string
			Data email
		}
		if err := json.Unmarshal(r.Body, &env); err != nil || env.Type != "email.created" {
			t.Fatalf("delivery: got type %q (%v), want email.created", env.Type, err)
		}
		e := env.Data
		if e.Object != "email" || !strings.HasPrefix(e.ID, "ema_") || e.Status != "queued" || !e.DeliveredByClerk || e.CreatedAt < 1e12 ||
			e.Subject != nil || e.Body != nil || e.BodyPlain != nil {
			t.Errorf("email.created data: got %+v, want an ema_… email, queued, delivered by the server, ms created_at, no subject or body", e)
		}
		bySlug[e.Slug+" "+e.ToEmailAddress] = e
	}
	for _, w := range []struct{ key, userID string }{
		{"verification_code " + nora, ""}, {"reset_password_code " + doraEmail, dora.ID}, {"organization_invitation invitee@example.com", ""},
	} {
		e, ok := bySlug[w.key]
		if !ok {
			t.Errorf("no email.created for %s; got %v", w.key, slices.Collect(maps.Keys(bySlug)))
			continue
		}
		if got := cmp.Or(e.UserID, new(string)); *got != w.userID || (w.userID == "") != (e.UserID == nil) {
			t.Errorf("%s: user_id got %q (nil %v), want %q (null when empty)", w.key, *got, e.UserID == nil, w.userID)
		}
	}
}
