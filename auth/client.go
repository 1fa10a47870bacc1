package auth

import (
	"context"
	"slices"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/auth/webhook"
)

// ClerkClient returns the backend client the middleware was given (see
// auth/clerkclient), or nil when ctx is not a request's that passed
// through the middleware. It is Clerk's clerkClient().
func ClerkClient(ctx context.Context) *clerkclient.Client {
	if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
		return st.opts.Client
	}
	return nil
}

// The backend resources and parameters a page or an API route names, so
// that it needs no import but this package. The rest of the backend
// client's types are in auth/clerkclient.
type (
	// User is the backend User resource (Clerk's Backend API shape).
	User = clerkclient.User
	// Session is the backend Session resource.
	Session = clerkclient.Session
	// EmailAddress is the backend EmailAddress resource.
	EmailAddress = clerkclient.EmailAddress
	// Organization is the backend Organization resource.
	Organization = clerkclient.Organization
	// APIKeyObject is the backend api_key resource.
	APIKeyObject = clerkclient.APIKeyObject
	// APIError is a refusal of the backend client, with Clerk's status
	// and codes.
	APIError = clerkclient.APIError

	// UserListParams filter ClerkClient(ctx).Users.GetUserList.
	UserListParams = clerkclient.UserListParams
	// UpdateUserMetadataParams are merged into a user's metadata.
	UpdateUserMetadataParams = clerkclient.UpdateUserMetadataParams
	// SessionListParams filter ClerkClient(ctx).Sessions.GetSessionList.
	SessionListParams = clerkclient.SessionListParams
	// CreateAPIKeyParams create an API key.
	CreateAPIKeyParams = clerkclient.CreateAPIKeyParams
	// APIKeyListParams filter a subject's API keys.
	APIKeyListParams = clerkclient.APIKeyListParams
	// AuditEvent is one security-relevant change; AuditEventListParams
	// select them for ClerkClient(ctx).AuditEvents.List.
	AuditEvent           = clerkclient.AuditEvent
	AuditEventListParams = clerkclient.AuditEventListParams
	// RevokeAPIKeyParams revoke an API key.
	RevokeAPIKeyParams = clerkclient.RevokeAPIKeyParams
	// WebhookEndpoint, WebhookMessage and WebhookAttempt are what
	// ClerkClient(ctx).Webhooks manages and shows;
	// CreateWebhookEndpointParams and WebhookMessageListParams are its
	// parameters.
	WebhookEndpoint             = clerkclient.WebhookEndpoint
	WebhookMessage              = clerkclient.WebhookMessage
	WebhookAttempt              = clerkclient.WebhookAttempt
	CreateWebhookEndpointParams = clerkclient.CreateWebhookEndpointParams
	WebhookMessageListParams    = clerkclient.WebhookMessageListParams
)

// WebhookEventTypes are the webhook event types Gatehouse sends.
func WebhookEventTypes() []string { return slices.Clone(webhook.EventTypes) }

// IsNotFound reports whether err is the backend client's
// resource_not_found refusal.
func IsNotFound(err error) bool { return clerkclient.IsNotFound(err) }

// ErrorCode returns the Clerk error code of a refusal of the backend
// client or of the identity server, or "".
func ErrorCode(err error) string { return clerkclient.ErrorCode(err) }

// MaxLiveAPIKeys is how many unrevoked API keys one subject may hold.
const MaxLiveAPIKeys = clerkclient.MaxLiveAPIKeys

// DeviceOf describes the device of a user agent ("Chrome on Linux"), as
// the security activity shows it; "" when there is none (a change made by
// the backend client, not a browser).
func DeviceOf(userAgent string) string {
	if userAgent == "" {
		return ""
	}
	a := resource.ParseUserAgent(userAgent)
	return a.Device()
}
