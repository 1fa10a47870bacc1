package pages

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/components"
)

// WebhooksProps are the props of the administrators' webhooks page.
type WebhooksProps struct {
	Endpoints  []*auth.WebhookEndpoint
	EventTypes []string
	// Created is the endpoint the form just added, with its secret, which
	// is shown this once.
	Created *auth.WebhookEndpoint
	// Form keeps what the add form sent when it was refused.
	Form WebhookForm
	// Notice confirms the form that worked (?done=…).
	Notice string
	// The deliveries, filtered by Status and EndpointID, at Page.
	Status, EndpointID string
	Page               int
	Messages           []WebhookDelivery
	Total              int
}

// WebhookForm is the add-an-endpoint form as sent, and why it was refused.
type WebhookForm struct {
	URL, Description string
	Events           []string
	Error            string
	Fields           components.FieldErrors
}

// WebhookDelivery is one message of the deliveries card, with its
// endpoint's URL and its attempts, oldest first.
type WebhookDelivery struct {
	auth.WebhookMessage
	EndpointURL string
	Attempts    []auth.WebhookAttempt
}

const webhookPageSize = 25

// webhookStatuses are the delivery filters the page offers.
var webhookStatuses = []string{"pending", "succeeded", "failed"}

// webhookNotices are the confirmations a 303 back to /admin/webhooks can
// show, by key, so no text from the request is ever echoed.
var webhookNotices = map[string]string{
	"tested":   "Test event queued. It is delivered in a moment.",
	"disabled": "Endpoint disabled. It gets no new events, and the messages already queued for it fail until it is enabled again.",
	"enabled":  "Endpoint enabled.",
	"deleted":  "Endpoint deleted, with its messages.",
	"retried":  "Message queued for another attempt.",
}

// WebhooksPage serves GET /admin/webhooks: the webhook endpoints, a form
// to add one, and the latest deliveries, filtered by status (?status=)
// and endpoint (?endpoint=), for instance administrators only (as
// /admin/audit).
func (p *Impersonation) WebhooksPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.admin(w, r) == nil {
			return
		}
		q := r.URL.Query()
		p.renderWebhooks(w, r, http.StatusOK, WebhooksProps{Notice: webhookNotices[q.Get("done")],
			Status: webhookStatus(q.Get("status")), EndpointID: strings.TrimSpace(q.Get("endpoint")),
			Page: max(atoiDefault(q.Get("page"), 1), 1)})
	})
}

// webhookStatus is the status filter s, or "" when it is not one.
func webhookStatus(s string) string {
	if slices.Contains(webhookStatuses, s) {
		return s
	}
	return ""
}

func (p *Impersonation) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, props WebhooksProps) {
	ctx := r.Context()
	hooks := auth.ClerkClient(ctx).Webhooks
	endpoints, err := hooks.ListEndpoints(ctx)
	if err != nil {
		p.site.serverError(w, r, "webhooks", err)
		return
	}
	props.Endpoints, props.EventTypes = endpoints, auth.WebhookEventTypes()
	props.Page = max(props.Page, 1)
	msgs, total, err := hooks.ListMessages(ctx, auth.WebhookMessageListParams{EndpointID: props.EndpointID, Status: props.Status,
		Limit: webhookPageSize, Offset: (props.Page - 1) * webhookPageSize})
	if err != nil {
		p.site.serverError(w, r, "webhooks", err)
		return
	}
	urls := make(map[string]string, len(endpoints))
	for _, e := range endpoints {
		urls[e.ID] = e.URL
	}
	props.Total = total
	props.Messages = make([]WebhookDelivery, 0, len(msgs))
	for _, m := range msgs {
		d := WebhookDelivery{WebhookMessage: m, EndpointURL: urls[m.EndpointID]}
		if m.Attempts > 0 { // one query per message of the page, at most webhookPageSize
			if d.Attempts, err = hooks.ListAttempts(ctx, m.ID); err != nil {
				p.site.serverError(w, r, "webhooks", err)
				return
			}
		}
		props.Messages = append(props.Messages, d)
	}
	p.site.Render(w, r, status, "Webhooks", webhooksView(props))
}

// CreateWebhook serves POST /admin/webhooks (url, events…, description):
// it adds an endpoint and answers 201 with the page showing its signing
// secret once (not a redirect: the secret is never stored to be shown
// later). A refused form comes back with its message and values.
func (p *Impersonation) CreateWebhook() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, events, err := readWebhookForm(w, r)
		if err != nil {
			formError(p.site, w, r, err)
			return
		}
		if p.admin(w, r) == nil {
			return
		}
		f := WebhookForm{URL: strings.TrimSpace(form["url"]), Description: strings.TrimSpace(form["description"]), Events: events}
		if f.URL == "" {
			f.Error, f.Fields = "Enter the URL of the endpoint.", components.FieldErrors{"url": "Enter the URL of the endpoint."}
			p.renderWebhooks(w, r, http.StatusUnprocessableEntity, WebhooksProps{Form: f})
			return
		}
		created, err := auth.ClerkClient(r.Context()).Webhooks.CreateEndpoint(r.Context(),
			auth.CreateWebhookEndpointParams{URL: f.URL, Events: f.Events, Description: f.Description})
		if err != nil {
			e, ok := auth.AsError(err)
			if !ok || (e.Status >= 500 && e.Code != "webhooks_unavailable") {
				p.site.serverError(w, r, "webhooks", err)
				return
			}
			f.Error = sentence(e.Message)
			if e.Param != "" {
				f.Fields = components.FieldErrors{e.Param: f.Error}
			}
			p.renderWebhooks(w, r, e.Status, WebhooksProps{Form: f})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		p.renderWebhooks(w, r, http.StatusCreated, WebhooksProps{Created: created})
	})
}

// readWebhookForm reads the add form as [auth.ReadForm] does, and every
// value of its repeated events field (one per checked box), which the
// flat map keeps only the first of.
func readWebhookForm(w http.ResponseWriter, r *http.Request) (map[string]string, []string, error) {
	// One byte over the bound is enough for ReadForm to refuse the body
	// as too large (413).
	body, err := io.ReadAll(io.LimitReader(r.Body, webhookFormMaxBytes+1))
	if err != nil {
		return nil, nil, &auth.Error{Status: http.StatusBadRequest, Code: "request_body_invalid",
			Message: "The request body could not be read.", LongMessage: "The request body could not be read."}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, err := auth.ReadForm(w, r)
	if err != nil {
		return nil, nil, err
	}
	var events []string
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
		vals, _ := url.ParseQuery(string(body)) // ReadForm parsed it already
		events = vals["events"]
	} else if form["events"] != "" {
		events = strings.Split(form["events"], ",") // JSON: "user.created,user.deleted"
	}
	out := make([]string, 0, len(events))
	for _, e := range events {
		if e = strings.TrimSpace(e); e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return form, out, nil
}

// webhookFormMaxBytes is the body limit of auth.ReadForm.
const webhookFormMaxBytes = 64 << 10

// TestWebhook serves POST /admin/webhooks/{id}/test: it queues a test
// event for the endpoint.
func (p *Impersonation) TestWebhook() http.Handler {
	return p.webhookAction("tested", func(ctx context.Context, id string) error {
		_, err := auth.ClerkClient(ctx).Webhooks.SendTest(ctx, id)
		return err
	})
}

// DisableWebhook serves POST /admin/webhooks/{id}/disable.
func (p *Impersonation) DisableWebhook() http.Handler {
	return p.webhookAction("disabled", func(ctx context.Context, id string) error {
		return auth.ClerkClient(ctx).Webhooks.SetEndpointDisabled(ctx, id, true)
	})
}

// EnableWebhook serves POST /admin/webhooks/{id}/enable.
func (p *Impersonation) EnableWebhook() http.Handler {
	return p.webhookAction("enabled", func(ctx context.Context, id string) error {
		return auth.ClerkClient(ctx).Webhooks.SetEndpointDisabled(ctx, id, false)
	})
}

// DeleteWebhook serves POST /admin/webhooks/{id}/delete: the endpoint
// and its messages go.
func (p *Impersonation) DeleteWebhook() http.Handler {
	return p.webhookAction("deleted", func(ctx context.Context, id string) error {
		return auth.ClerkClient(ctx).Webhooks.DeleteEndpoint(ctx, id)
	})
}

// RetryWebhookMessage serves POST /admin/webhooks/messages/{id}/retry:
// the message is pending again, due now.
func (p *Impersonation) RetryWebhookMessage() http.Handler {
	return p.webhookAction("retried", func(ctx context.Context, id string) error {
		return auth.ClerkClient(ctx).Webhooks.RetryMessage(ctx, id)
	})
}

// webhookAction is one POST form of the webhooks page on the endpoint or
// message {id}: an administrator's fn runs, and the browser goes back to
// the page with the notice of done (404 for an unknown id).
func (p *Impersonation) webhookAction(done string, fn func(ctx context.Context, id string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.ReadForm(w, r); err != nil {
			formError(p.site, w, r, err)
			return
		}
		if p.admin(w, r) == nil {
			return
		}
		err := fn(r.Context(), r.PathValue("id"))
		if auth.IsNotFound(err) {
			p.site.ErrorPage(w, r, http.StatusNotFound)
			return
		}
		if err != nil {
			p.site.serverError(w, r, "webhooks", err)
			return
		}
		http.Redirect(w, r, "/admin/webhooks?done="+done, http.StatusSeeOther)
	})
}

// webhooksPageURL is the webhooks page with the same filters at page n.
func webhooksPageURL(p WebhooksProps, n int) string {
	v := url.Values{}
	if p.Status != "" {
		v.Set("status", p.Status)
	}
	if p.EndpointID != "" {
		v.Set("endpoint", p.EndpointID)
	}
	v.Set("page", strconv.Itoa(n))
	return "/admin/webhooks?" + v.Encode()
}

// knownEndpoint reports whether id is one of the listed endpoints.
func knownEndpoint(endpoints []*auth.WebhookEndpoint, id string) bool {
	return slices.ContainsFunc(endpoints, func(e *auth.WebhookEndpoint) bool { return e.ID == id })
}

// sentence capitalizes a refusal's message ("the URL must use https")
// and ends it with a period.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// webhookStatusBadge is the badge class of a delivery status.
func webhookStatusBadge(status string) string {
	switch status {
	case "succeeded":
		return "badge badge-success"
	case "failed":
		return "badge badge-warning"
	}
	return "badge badge-muted"
}
