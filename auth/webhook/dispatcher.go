package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// Schedule is the wait before each attempt, as Svix's: at once, 5 s,
// 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; after the last, the message fails.
var Schedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// Timeout bounds one attempt; lease is how long a taken message is left
// to its worker before another may try it (a worker killed mid-send).
const (
	Timeout = 15 * time.Second
	lease   = 2 * Timeout
)

// Config configures a [Dispatcher].
type Config struct {
	// InstanceID goes into every envelope.
	InstanceID string
	// Roles name the roles of membership and invitation events.
	Roles *roles.Set
	// Secrets unseals endpoint secrets.
	Secrets *token.Sealer
	// AllowPrivate lets endpoints resolve to loopback and private
	// addresses (development, or WEBHOOK_ALLOW_PRIVATE=true).
	AllowPrivate bool
	// Interval is how often the outbox is read (default 1 s).
	Interval time.Duration
	// Schedule overrides [Schedule] (tests).
	Schedule []time.Duration
	Logger   *slog.Logger
}

// Dispatcher turns outbox events into messages and delivers them. Run it
// in every instance: the store hands each message to one worker at a
// time.
type Dispatcher struct {
	cfg    Config
	store  store.WebhookStore
	client *http.Client
	log    *slog.Logger
	wake   chan struct{}
}

// NewDispatcher returns a dispatcher over st.
func NewDispatcher(st store.WebhookStore, cfg Config) *Dispatcher {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if len(cfg.Schedule) == 0 {
		cfg.Schedule = Schedule
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{cfg: cfg, store: st, client: newClient(cfg.AllowPrivate), log: cfg.Logger, wake: make(chan struct{}, 1)}
}

// newClient is the HTTP client of deliveries: no redirects followed, 15 s
// per attempt, and unless allowPrivate, no connection to a loopback,
// private or link-local address — checked on the address actually
// dialled, so a name that resolves differently later cannot get in.
func newClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if !allowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !publicIP(ip) {
				return fmt.Errorf("webhook: %s is not a public address", host)
			}
			return nil
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = dialer.DialContext
	tr.Proxy = nil // a proxy would dial for us, past the check
	return &http.Client{Timeout: Timeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func publicIP(ip net.IP) bool {
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.Equal(net.IPv4bcast) || (ip.To4() != nil && ip.To4()[0] == 100 && ip.To4()[1]&0xc0 == 64)) // 100.64/10
}

// CheckURL refuses an endpoint URL that cannot be one: not http(s), with
// credentials, or (unless allowPrivate) not https or naming a loopback or
// private address.
func CheckURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("the URL must be an http or https URL")
	}
	if u.User != nil {
		return errors.New("the URL must not hold credentials")
	}
	if len(raw) > 2048 {
		return errors.New("the URL is too long")
	}
	if allowPrivate {
		return nil
	}
	if u.Scheme != "https" {
		return errors.New("the URL must use https")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if ip := net.ParseIP(host); ip != nil && !publicIP(ip) {
		return errors.New("the URL must not name a private or loopback address (WEBHOOK_ALLOW_PRIVATE=true allows it)")
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return errors.New("the URL must not name localhost (WEBHOOK_ALLOW_PRIVATE=true allows it)")
	}
	return nil
}

// Wake asks the dispatcher to look at the outbox now.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run fans out and delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		d.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// Tick fans out the waiting events and makes the attempts that are due;
// it returns how many attempts it made.
func (d *Dispatcher) Tick(ctx context.Context) int {
	for {
		n, err := d.store.FanOutEvents(ctx, 100, d.build)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("webhook outbox", "error", err)
			}
			break
		}
		if n < 100 {
			break
		}
	}
	made := 0
	for ctx.Err() == nil {
		now := time.Now()
		msgs, err := d.store.ClaimWebhookMessages(ctx, now.UnixMilli(), now.Add(lease).UnixMilli(), 20)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("webhook claim", "error", err)
			}
			return made
		}
		if len(msgs) == 0 {
			return made
		}
		done := make(chan struct{}, len(msgs))
		for _, m := range msgs {
			go func() {
				d.attempt(ctx, m)
				done <- struct{}{}
			}()
		}
		for range msgs {
			<-done
		}
		made += len(msgs)
	}
	return made
}

func (d *Dispatcher) build(ev store.AuditEvent) (string, []byte, bool) {
	t, ok := EventType(ev)
	if !ok {
		return "", nil, false
	}
	body, err := Build(ev, t, d.cfg.InstanceID, d.cfg.Roles)
	if err != nil {
		d.log.Error("webhook payload", "event_id", ev.ID, "error", err)
		return "", nil, false
	}
	return t, body, true
}

// errPaused is send's answer for a disabled endpoint: its messages wait,
// without using up attempts, until it is enabled again.
var errPaused = errors.New("the endpoint is disabled")

// pausedRecheck is how often a paused endpoint's messages look again.
const pausedRecheck = time.Minute

// attempt makes one attempt of m and records it.
func (d *Dispatcher) attempt(ctx context.Context, m store.WebhookMessage) {
	start := time.Now()
	a := store.WebhookAttempt{MessageID: m.ID}
	status, err := d.send(ctx, m)
	if errors.Is(err, errPaused) {
		if err := d.store.PostponeWebhookMessage(context.WithoutCancel(ctx), m.ID, time.Now().Add(pausedRecheck).UnixMilli()); err != nil {
			d.log.Error("webhook postpone", "message_id", m.ID, "error", err)
		}
		return
	}
	a.StatusCode, a.DurationMS = status, time.Since(start).Milliseconds()
	if ctx.Err() != nil {
		return // shutting down: the lease runs out and the attempt is made again
	}
	next, st := int64(0), store.WebhookSucceeded
	if err != nil {
		a.Error = err.Error()
		st = store.WebhookFailed
		if n := m.Attempts + 1; n < len(d.cfg.Schedule) {
			st, next = store.WebhookPending, time.Now().Add(jitter(d.cfg.Schedule[n])).UnixMilli()
		}
		d.log.Warn("webhook attempt failed", "message_id", m.ID, "endpoint_id", m.EndpointID, "type", m.EventType,
			"attempt", m.Attempts+1, "status", status, "error", err, "final", st == store.WebhookFailed)
	}
	if err := d.store.RecordWebhookAttempt(context.WithoutCancel(ctx), a, st, next); err != nil {
		d.log.Error("webhook record attempt", "message_id", m.ID, "error", err)
	}
}

// jitter spreads a wait by ±20%, so endpoints that failed together are
// not retried together.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}

// send posts m to its endpoint, signed; a 2xx answer is success.
func (d *Dispatcher) send(ctx context.Context, m store.WebhookMessage) (int, error) {
	ep, err := d.store.GetWebhookEndpoint(ctx, m.EndpointID)
	if err != nil {
		return 0, fmt.Errorf("endpoint: %w", err)
	}
	if ep.Disabled {
		return 0, errPaused
	}
	secret, err := d.cfg.Secrets.Open(ep.Secret)
	if err != nil {
		return 0, fmt.Errorf("endpoint secret: %w", err)
	}
	if err := CheckURL(ep.URL, d.cfg.AllowPrivate); err != nil {
		return 0, err
	}
	ts := time.Now()
	sig, err := Sign(string(secret), m.ID, ts, m.Payload)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(m.Payload))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "Gatehouse-Webhooks/1")
	for _, p := range []string{"svix-", "webhook-"} {
		h.Set(p+"id", m.ID)
		h.Set(p+"timestamp", fmt.Sprint(ts.Unix()))
		h.Set(p+"signature", sig)
	}
	res, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("the endpoint answered %d", res.StatusCode)
	}
	return res.StatusCode, nil
}
