package resource

import "github.com/gatehouse-dev/gatehouse/auth/store"

// Email is Clerk's email resource, the data of an email.created webhook,
// without what Clerk puts there for apps that deliver mail themselves:
// Gatehouse sends every message, so subject, body and the code or link
// stay out of webhook payloads (null).
type Email struct {
	Object           string  `json:"object"`
	ID               string  `json:"id"`
	Slug             string  `json:"slug"`
	ToEmailAddress   string  `json:"to_email_address"`
	EmailAddressID   *string `json:"email_address_id"`
	UserID           *string `json:"user_id"`
	Subject          *string `json:"subject"`
	Body             *string `json:"body"`
	BodyPlain        *string `json:"body_plain"`
	Status           string  `json:"status"`
	DeliveredByClerk bool    `json:"delivered_by_clerk"`
	Data             any     `json:"data"`
	CreatedAt        int64   `json:"created_at"`
}

// emailSlug is Clerk's template slug for a kind of mail Gatehouse sends.
func emailSlug(kind string) string {
	switch kind {
	case "sign_up", "verify_email":
		return "verification_code"
	case "reset_password":
		return "reset_password_code"
	case "invitation":
		return "organization_invitation"
	}
	return kind
}

// NewEmail converts the record of a message sent.
func NewEmail(e *store.Email) *Email {
	return &Email{Object: "email", ID: e.ID, Slug: emailSlug(e.Kind), ToEmailAddress: e.To, UserID: optional(e.UserID),
		Status: "queued", DeliveredByClerk: true, CreatedAt: e.CreatedAt}
}
