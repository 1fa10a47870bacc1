package resource

import (
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// Machine is Clerk's Machine resource. SecretKey is set only in the answer
// to its creation: the store keeps only its hash.
type Machine struct {
	Object          string          `json:"object"`
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	InstanceID      string          `json:"instance_id"`
	DefaultTokenTTL int64           `json:"default_token_ttl"`
	ScopedMachines  []ScopedMachine `json:"scoped_machines"`
	SecretKey       string          `json:"secret_key,omitempty"`
	CreatedAt       int64           `json:"created_at"`
	UpdatedAt       int64           `json:"updated_at"`
}

// ScopedMachine is a machine another one may request tokens for (Clerk's
// MachineWithoutScopedMachines).
type ScopedMachine struct {
	Object          string `json:"object"`
	ID              string `json:"id"`
	Name            string `json:"name"`
	InstanceID      string `json:"instance_id"`
	DefaultTokenTTL int64  `json:"default_token_ttl"`
	CreatedAt       int64  `json:"created_at"`
	UpdatedAt       int64  `json:"updated_at"`
}

// NewMachine converts a stored machine of the instance instanceID.
func NewMachine(m *store.Machine, instanceID string) *Machine {
	out := &Machine{
		Object: "machine", ID: m.ID, Name: m.Name, InstanceID: instanceID, DefaultTokenTTL: m.DefaultTokenTTL,
		ScopedMachines: make([]ScopedMachine, len(m.ScopedMachines)),
		CreatedAt:      m.CreatedAt, UpdatedAt: m.UpdatedAt,
	}
	for i, s := range m.ScopedMachines {
		out.ScopedMachines[i] = ScopedMachine{Object: "machine", ID: s.ID, Name: s.Name, InstanceID: instanceID,
			DefaultTokenTTL: s.DefaultTokenTTL, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	}
	return out
}

// tokenState holds the fields M2M tokens and API keys share.
type tokenState struct {
	Subject          string          `json:"subject"`
	Claims           json.RawMessage `json:"claims"`
	Scopes           []string        `json:"scopes"`
	Revoked          bool            `json:"revoked"`
	RevocationReason *string         `json:"revocation_reason"`
	Expired          bool            `json:"expired"`
	Expiration       *int64          `json:"expiration"`
	LastUsedAt       *int64          `json:"last_used_at"`
	CreatedAt        int64           `json:"created_at"`
	UpdatedAt        int64           `json:"updated_at"`
}

func newTokenState(t *store.MachineToken, now int64) tokenState {
	s := tokenState{
		Subject: t.Subject, Claims: t.Claims, Scopes: t.Scopes, Revoked: t.Revoked,
		RevocationReason: optional(t.RevocationReason), Expired: t.Expired(now),
		Expiration: optionalTime(t.Expiration), LastUsedAt: optionalTime(t.LastUsedAt),
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
	if s.Claims == nil {
		s.Claims = json.RawMessage("null")
	}
	if s.Scopes == nil {
		s.Scopes = []string{}
	}
	return s
}

// M2MToken is Clerk's machine_to_machine_token resource. Token is set only
// in the answer to its creation.
type M2MToken struct {
	Object string `json:"object"`
	ID     string `json:"id"`
	Token  string `json:"token,omitempty"`
	tokenState
}

// NewM2MToken converts a stored M2M token; now (ms) decides "expired".
func NewM2MToken(t *store.MachineToken, now int64) *M2MToken {
	return &M2MToken{Object: "machine_to_machine_token", ID: t.ID, tokenState: newTokenState(t, now)}
}

// APIKey is Clerk's api_key resource. Secret is set only in the answer to
// its creation.
type APIKey struct {
	Object      string  `json:"object"`
	ID          string  `json:"id"`
	Type        string  `json:"type"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Secret      string  `json:"secret,omitempty"`
	CreatedBy   *string `json:"created_by"`
	tokenState
}

// NewAPIKey converts a stored API key; now (ms) decides "expired".
func NewAPIKey(t *store.MachineToken, now int64) *APIKey {
	return &APIKey{Object: "api_key", ID: t.ID, Type: "api_key", Name: t.Name,
		Description: optional(t.Description), CreatedBy: optional(t.CreatedBy), tokenState: newTokenState(t, now)}
}

func optionalTime(ms int64) *int64 {
	if ms == 0 {
		return nil
	}
	return &ms
}
