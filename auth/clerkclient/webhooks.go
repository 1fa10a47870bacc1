package clerkclient

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
	"github.com/gatehouse-dev/gatehouse/auth/webhook"
)

// WebhookSecretsPurpose derives the key that seals endpoint secrets.
const WebhookSecretsPurpose = "gatehouse webhook secrets at rest"

// WithWebhookPolicy says whether endpoint URLs may name loopback and
// private addresses (development, or WEBHOOK_ALLOW_PRIVATE=true).
func WithWebhookPolicy(allowPrivate bool) ClientOption {
	return func(c *clientOptions) { c.webhooksAllowPrivate = allowPrivate }
}

// WebhooksAPI manages webhook endpoints and shows their deliveries.
type WebhooksAPI struct {
	store        store.Store
	sealer       *token.Sealer
	allowPrivate bool
}

// WebhookEndpoint is an endpoint as the client shows it; its secret only
// once, when created.
type WebhookEndpoint struct {
	Object      string   `json:"object"`
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
	Disabled    bool     `json:"disabled"`
	Secret      string   `json:"secret,omitempty"`
	CreatedAt   int64    `json:"created_at"`
	UpdatedAt   int64    `json:"updated_at"`
}

func newWebhookEndpoint(e *store.WebhookEndpoint) *WebhookEndpoint {
	events := e.Events
	if events == nil {
		events = []string{}
	}
	return &WebhookEndpoint{Object: "webhook_endpoint", ID: e.ID, URL: e.URL, Events: events, Description: e.Description,
		Disabled: e.Disabled, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

// CreateWebhookEndpointParams describe a new endpoint. Events filters by
// type (see webhook.EventTypes); empty means every event.
type CreateWebhookEndpointParams struct {
	URL         string
	Events      []string
	Description string
}

func (w *WebhooksAPI) ready() error {
	if w.sealer == nil {
		return apiError(http.StatusServiceUnavailable, "webhooks_unavailable", "Webhooks need the encryption key.", "")
	}
	return nil
}

// CreateEndpoint adds an endpoint with a fresh whsec_ secret, returned
// in Secret this once.
func (w *WebhooksAPI) CreateEndpoint(ctx context.Context, p CreateWebhookEndpointParams) (*WebhookEndpoint, error) {
	if err := w.ready(); err != nil {
		return nil, err
	}
	if err := webhook.CheckURL(strings.TrimSpace(p.URL), w.allowPrivate); err != nil {
		return nil, apiError(http.StatusUnprocessableEntity, "form_param_format_invalid", err.Error(), "url")
	}
	for _, t := range p.Events {
		if !slices.Contains(webhook.EventTypes, t) {
			return nil, apiError(http.StatusUnprocessableEntity, "form_param_value_invalid",
				"Unknown event type "+t+".", "events")
		}
	}
	if len(p.Description) > 256 {
		return nil, apiError(http.StatusUnprocessableEntity, "form_param_exceeds_allowed_size", "The description is at most 256 characters.", "description")
	}
	secret := webhook.NewSecret()
	e, err := w.store.CreateWebhookEndpoint(ctx, store.WebhookEndpoint{URL: strings.TrimSpace(p.URL), Secret: w.sealer.Seal([]byte(secret)),
		Events: p.Events, Description: p.Description})
	if err != nil {
		return nil, mapStoreError("create webhook endpoint", "webhook endpoint", err)
	}
	out := newWebhookEndpoint(e)
	out.Secret = secret
	return out, nil
}

// ListEndpoints returns every endpoint, oldest first.
func (w *WebhooksAPI) ListEndpoints(ctx context.Context) ([]*WebhookEndpoint, error) {
	list, err := w.store.ListWebhookEndpoints(ctx)
	if err != nil {
		return nil, mapStoreError("list webhook endpoints", "webhook endpoint", err)
	}
	out := make([]*WebhookEndpoint, 0, len(list))
	for i := range list {
		out = append(out, newWebhookEndpoint(&list[i]))
	}
	return out, nil
}

// DeleteEndpoint removes an endpoint and its messages.
func (w *WebhooksAPI) DeleteEndpoint(ctx context.Context, id string) error {
	if err := w.store.DeleteWebhookEndpoint(ctx, id); err != nil {
		return mapStoreError("delete webhook endpoint", "webhook endpoint", err)
	}
	return nil
}

// SetEndpointDisabled pauses (true) or resumes an endpoint. A paused
// endpoint's messages are still made and wait, without using up their
// attempts, until it resumes (within a minute of it).
func (w *WebhooksAPI) SetEndpointDisabled(ctx context.Context, id string, disabled bool) error {
	if err := w.store.SetWebhookEndpointDisabled(ctx, id, disabled); err != nil {
		return mapStoreError("update webhook endpoint", "webhook endpoint", err)
	}
	return nil
}

// WebhookMessage is one event for one endpoint and its delivery state.
type WebhookMessage = store.WebhookMessage

// WebhookAttempt is one try at delivering a message.
type WebhookAttempt = store.WebhookAttempt

// WebhookMessageListParams select messages (Status: pending, succeeded,
// failed); empty fields match all.
type WebhookMessageListParams struct {
	EndpointID, Status string
	Limit, Offset      int
}

// ListMessages returns one page of messages, newest first, and how many
// match.
func (w *WebhooksAPI) ListMessages(ctx context.Context, p WebhookMessageListParams) ([]WebhookMessage, int, error) {
	list, total, err := w.store.ListWebhookMessages(ctx, store.WebhookMessageFilter{EndpointID: p.EndpointID, Status: p.Status,
		Limit: p.Limit, Offset: p.Offset})
	if err != nil {
		return nil, 0, mapStoreError("list webhook messages", "webhook message", err)
	}
	return list, total, nil
}

// ListAttempts returns a message's attempts, oldest first.
func (w *WebhooksAPI) ListAttempts(ctx context.Context, messageID string) ([]WebhookAttempt, error) {
	list, err := w.store.ListWebhookAttempts(ctx, messageID)
	if err != nil {
		return nil, mapStoreError("list webhook attempts", "webhook attempt", err)
	}
	return list, nil
}

// RetryMessage makes a message pending again, due now (a manual retry of
// a failed one).
func (w *WebhooksAPI) RetryMessage(ctx context.Context, id string) error {
	if err := w.store.RetryWebhookMessage(ctx, id); err != nil {
		return mapStoreError("retry webhook message", "webhook message", err)
	}
	return nil
}

// SendTest queues a test event for an endpoint, whatever its filter.
func (w *WebhooksAPI) SendTest(ctx context.Context, endpointID string) (*WebhookMessage, error) {
	body, _ := json.Marshal(map[string]any{"type": "test", "object": "event", "timestamp": time.Now().UnixMilli(),
		"data": map[string]any{"message": "A test event from Gatehouse."}})
	m, err := w.store.EnqueueWebhookMessage(ctx, store.WebhookMessage{EndpointID: endpointID, EventType: "test", Payload: body})
	if err != nil {
		return nil, mapStoreError("send test webhook", "webhook endpoint", err)
	}
	return m, nil
}
