package resource

import (
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// JWTTemplate is Clerk's JwtTemplate resource. The signing key itself is
// never part of it.
type JWTTemplate struct {
	Object           string          `json:"object"`
	ID               string          `json:"id"`
	Name             string          `json:"name"`
	Claims           json.RawMessage `json:"claims"`
	Lifetime         int64           `json:"lifetime"`
	AllowedClockSkew int64           `json:"allowed_clock_skew"`
	CustomSigningKey bool            `json:"custom_signing_key"`
	SigningAlgorithm string          `json:"signing_algorithm"`
	CreatedAt        int64           `json:"created_at"`
	UpdatedAt        int64           `json:"updated_at"`
}

// NewJWTTemplate returns the resource of a stored template.
func NewJWTTemplate(t *store.JWTTemplate) *JWTTemplate {
	return &JWTTemplate{
		Object: "jwt_template", ID: t.ID, Name: t.Name, Claims: t.Claims,
		Lifetime: t.Lifetime, AllowedClockSkew: t.AllowedClockSkew,
		CustomSigningKey: t.EncryptedSigningKey != nil, SigningAlgorithm: t.SigningAlgorithm,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
}
