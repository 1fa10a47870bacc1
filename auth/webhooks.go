package auth

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/webhook"
)

// maxWebhookBody bounds the body VerifyWebhook reads.
const maxWebhookBody = 1 << 20

// VerifyWebhook verifies a webhook request signed as Clerk (through Svix)
// and Gatehouse sign them — svix-id, svix-timestamp and svix-signature
// (or the webhook-* aliases), the timestamp within five minutes, one of
// its signatures made with secret (whsec_…) — and returns its body. The
// body is also left readable on r.
func VerifyWebhook(r *http.Request, secret string) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
	if err != nil {
		return nil, fmt.Errorf("auth: read webhook: %w", err)
	}
	if len(body) > maxWebhookBody {
		return nil, fmt.Errorf("auth: webhook body over %d bytes", maxWebhookBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := webhook.Verify(r.Header, body, secret, time.Now()); err != nil {
		return nil, err
	}
	return body, nil
}
