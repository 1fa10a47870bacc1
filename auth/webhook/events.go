package webhook

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// EventTypes are the webhook event types Gatehouse sends, as Clerk names
// them.
var EventTypes = []string{
	"user.created", "user.updated", "user.deleted", "email.created",
	"session.created", "session.ended", "session.removed", "session.revoked",
	"organization.created", "organization.updated", "organization.deleted",
	"organizationMembership.created", "organizationMembership.updated", "organizationMembership.deleted",
	"organizationInvitation.created", "organizationInvitation.accepted", "organizationInvitation.revoked",
}

// EventType is the webhook type of an audit event, or false when the
// event has none. Every change to a user's account (addresses, password,
// second factors, connected accounts, passkeys, bans) is Clerk's
// user.updated.
func EventType(ev store.AuditEvent) (string, bool) {
	switch ev.Name {
	case "user.created", "user.deleted", "email.created",
		"session.created", "session.ended", "session.removed", "session.revoked",
		"organization.created", "organization.updated", "organization.deleted",
		"organizationMembership.created", "organizationMembership.updated", "organizationMembership.deleted",
		"organizationInvitation.created", "organizationInvitation.accepted", "organizationInvitation.revoked":
		return ev.Name, len(ev.Data) > 0 || strings.HasSuffix(ev.Name, ".deleted")
	case "passkey.used", "user.backup_code_used":
		return "", false // use, not change
	}
	if ev.Object == store.ObjectUser && len(ev.Data) > 0 {
		return "user.updated", true
	}
	return "", false
}

// Envelope is Clerk's webhook body.
type Envelope struct {
	Type            string          `json:"type"`
	Object          string          `json:"object"`
	Data            json.RawMessage `json:"data"`
	Timestamp       int64           `json:"timestamp"`
	InstanceID      string          `json:"instance_id"`
	EventAttributes eventAttributes `json:"event_attributes"`
}

type eventAttributes struct {
	HTTPRequest httpRequest `json:"http_request"`
}

type httpRequest struct {
	ClientIP  string `json:"client_ip"`
	UserAgent string `json:"user_agent"`
}

// Build is the body of the webhook for ev of type t: data is the
// resource as the Backend API shows it at that moment, private metadata
// included; a deleted user or organization is Clerk's deleted object.
func Build(ev store.AuditEvent, t, instanceID string, rs *roles.Set) ([]byte, error) {
	data, err := resourceData(ev, t, rs)
	if err != nil {
		return nil, err
	}
	return json.Marshal(Envelope{Type: t, Object: "event", Data: data, Timestamp: ev.CreatedAt, InstanceID: instanceID,
		EventAttributes: eventAttributes{HTTPRequest: httpRequest{ClientIP: ev.IP, UserAgent: ev.UserAgent}}})
}

func resourceData(ev store.AuditEvent, t string, rs *roles.Set) (json.RawMessage, error) {
	switch t {
	case "user.deleted":
		return json.Marshal(map[string]any{"object": "user", "id": ev.UserID, "deleted": true})
	case "organization.deleted":
		return json.Marshal(map[string]any{"object": "organization", "id": ev.ResourceID, "deleted": true})
	}
	var v any
	switch ev.Object {
	case store.ObjectUser:
		var u store.User
		if err := json.Unmarshal(ev.Data, &u); err != nil {
			return nil, fmt.Errorf("webhook: user of %s: %w", ev.ID, err)
		}
		v = resource.NewUser(&u, true, ev.CreatedAt)
	case store.ObjectSession:
		var s store.Session
		if err := json.Unmarshal(ev.Data, &s); err != nil {
			return nil, fmt.Errorf("webhook: session of %s: %w", ev.ID, err)
		}
		v = resource.NewSession(&s)
	case store.ObjectOrganization:
		var o store.Organization
		if err := json.Unmarshal(ev.Data, &o); err != nil {
			return nil, fmt.Errorf("webhook: organization of %s: %w", ev.ID, err)
		}
		v = resource.NewOrganization(&o, true)
	case store.ObjectMembership:
		var m store.Membership
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			return nil, fmt.Errorf("webhook: membership of %s: %w", ev.ID, err)
		}
		v = resource.NewOrganizationMembership(&m, rs, true)
	case store.ObjectEmail:
		var e store.Email
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			return nil, fmt.Errorf("webhook: email of %s: %w", ev.ID, err)
		}
		v = resource.NewEmail(&e)
	case store.ObjectInvitation:
		var inv store.Invitation
		if err := json.Unmarshal(ev.Data, &inv); err != nil {
			return nil, fmt.Errorf("webhook: invitation of %s: %w", ev.ID, err)
		}
		v = resource.NewOrganizationInvitation(&inv, rs, "", true)
	default:
		return nil, fmt.Errorf("webhook: %s has no resource", ev.Name)
	}
	return json.Marshal(v)
}
