package clerkclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// JwtTemplate is the backend JwtTemplate resource.
type JwtTemplate = resource.JWTTemplate

// WithEncryptionKey gives the client CLERK_ENCRYPTION_KEY, with which the
// custom signing keys of JWT templates are encrypted at rest. Without it,
// templates signed by the instance key still work.
func WithEncryptionKey(key []byte) ClientOption {
	return func(c *clientOptions) {
		if s, err := token.NewTemplateSealer(key); err == nil {
			c.templateSealer = s
		}
		if s, err := token.NewSealer(key, WebhookSecretsPurpose); err == nil {
			c.webhookSealer = s
		}
		if s, err := token.NewSealer(key, identity.TOTPSecretsPurpose); err == nil {
			c.totpSealer = s
		}
	}
}

// Defaults and limits of JWT templates (Clerk's).
const (
	DefaultTemplateLifetime  = 60
	DefaultTemplateClockSkew = 5
	minTemplateLifetime      = 30
	maxTemplateLifetime      = 315_360_000 // ten years
	maxTemplateClockSkew     = 300
)

// templateNameRE keeps names safe in a URL path (…/tokens/{name}).
var templateNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// JwtTemplatesAPI is the JwtTemplates group of the backend client.
type JwtTemplatesAPI struct {
	store  store.Store
	sealer *token.Sealer
}

// CreateJwtTemplateParams create a JWT template.
type CreateJwtTemplateParams struct {
	// Name is unique: letters, digits, "_" and "-", up to 64.
	Name string
	// Claims is a JSON object; string values may hold shortcodes such as
	// {{user.id}}. The reserved claims (iss, sub, sid, iat, nbf, exp, azp,
	// jti) are set by the server and refused here.
	Claims json.RawMessage
	// Lifetime in seconds, 30 to 315360000; nil means 60.
	Lifetime *int64
	// AllowedClockSkew in seconds, 0 to 300 (nbf = iat − skew); nil means 5.
	AllowedClockSkew *int64
	// CustomSigningKey signs with SigningKey instead of the instance key:
	// SigningAlgorithm HS256 with a secret of at least 32 bytes, or RS256
	// with an RSA private key in PEM.
	CustomSigningKey bool
	SigningAlgorithm string
	SigningKey       string
}

// UpdateJwtTemplateParams change the non-nil fields of a template.
type UpdateJwtTemplateParams struct {
	Name             *string
	Claims           json.RawMessage
	Lifetime         *int64
	AllowedClockSkew *int64
	// CustomSigningKey, when set, changes the key: false returns to the
	// instance key; true needs SigningAlgorithm and SigningKey.
	CustomSigningKey *bool
	SigningAlgorithm string
	SigningKey       string
}

// JwtTemplateList is one page of templates.
type JwtTemplateList struct {
	Data       []*JwtTemplate `json:"data"`
	TotalCount int            `json:"total_count"`
}

func invalidParam(param, msg string) *APIError {
	return apiError(http.StatusUnprocessableEntity, "form_param_format_invalid", msg, param)
}

func templateError(op string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound("JWT template")
	case errors.Is(err, store.ErrConflict):
		return apiError(http.StatusUnprocessableEntity, "form_identifier_exists", "A JWT template with this name already exists.", "name")
	}
	return fmt.Errorf("clerkclient: %s JWT template: %w", op, err)
}

// Create creates a JWT template.
func (j *JwtTemplatesAPI) Create(ctx context.Context, p CreateJwtTemplateParams) (*JwtTemplate, error) {
	if p.Name == "" {
		return nil, apiError(http.StatusUnprocessableEntity, "form_param_missing", "name is required", "name")
	}
	if len(p.Claims) == 0 {
		return nil, apiError(http.StatusUnprocessableEntity, "form_param_missing", "claims is required", "claims")
	}
	t := store.JWTTemplate{ID: randid.New("jtmp"), Name: p.Name, Claims: p.Claims,
		Lifetime: DefaultTemplateLifetime, AllowedClockSkew: DefaultTemplateClockSkew, SigningAlgorithm: token.AlgRS256}
	if p.Lifetime != nil {
		t.Lifetime = *p.Lifetime
	}
	if p.AllowedClockSkew != nil {
		t.AllowedClockSkew = *p.AllowedClockSkew
	}
	if err := j.setKey(&t, p.CustomSigningKey, p.SigningAlgorithm, p.SigningKey); err != nil {
		return nil, err
	}
	if err := checkTemplate(&t); err != nil {
		return nil, err
	}
	created, err := j.store.CreateJWTTemplate(ctx, t)
	if err != nil {
		return nil, templateError("create", err)
	}
	return resource.NewJWTTemplate(created), nil
}

// setKey sets t's signing algorithm and (encrypted) custom key.
func (j *JwtTemplatesAPI) setKey(t *store.JWTTemplate, custom bool, alg, material string) error {
	if !custom {
		if alg != "" && alg != token.AlgRS256 {
			return invalidParam("signing_algorithm", "without a custom signing key, templates are signed with the instance key (RS256)")
		}
		t.SigningAlgorithm, t.EncryptedSigningKey = token.AlgRS256, nil
		return nil
	}
	if alg == "" {
		return apiError(http.StatusUnprocessableEntity, "form_param_missing", "signing_algorithm is required with a custom signing key", "signing_algorithm")
	}
	if material == "" {
		return apiError(http.StatusUnprocessableEntity, "form_param_missing", "signing_key is required with a custom signing key", "signing_key")
	}
	_, raw, err := token.ParseTemplateKey(alg, material)
	if err != nil {
		param := "signing_key"
		if alg != token.AlgHS256 && alg != token.AlgRS256 {
			param = "signing_algorithm"
		}
		return invalidParam(param, err.Error())
	}
	if j.sealer == nil {
		return errors.New("auth: custom template keys need the encryption key (auth.WithEncryptionKey)")
	}
	t.SigningAlgorithm, t.EncryptedSigningKey = alg, j.sealer.Seal(raw)
	return nil
}

func checkTemplate(t *store.JWTTemplate) error {
	if !templateNameRE.MatchString(t.Name) {
		return invalidParam("name", "name must be 1 to 64 letters, digits, '_' or '-'")
	}
	if err := token.ValidateTemplateClaims(t.Claims); err != nil {
		return invalidParam("claims", err.Error())
	}
	if t.Lifetime < minTemplateLifetime || t.Lifetime > maxTemplateLifetime {
		return invalidParam("lifetime", fmt.Sprintf("lifetime must be %d to %d seconds", minTemplateLifetime, maxTemplateLifetime))
	}
	if t.AllowedClockSkew < 0 || t.AllowedClockSkew > maxTemplateClockSkew {
		return invalidParam("allowed_clock_skew", fmt.Sprintf("allowed_clock_skew must be 0 to %d seconds", maxTemplateClockSkew))
	}
	return nil
}

// Get returns the template with id.
func (j *JwtTemplatesAPI) Get(ctx context.Context, id string) (*JwtTemplate, error) {
	t, err := j.store.GetJWTTemplate(ctx, id)
	if err != nil {
		return nil, templateError("get", err)
	}
	return resource.NewJWTTemplate(t), nil
}

// JwtTemplateListParams page through [JwtTemplatesAPI.List].
type JwtTemplateListParams struct {
	Limit, Offset int // Limit 1..500; 0 means 10
}

// List returns the templates ordered by name.
func (j *JwtTemplatesAPI) List(ctx context.Context, p JwtTemplateListParams) (*JwtTemplateList, error) {
	if p.Limit < 0 || p.Limit > 500 || p.Offset < 0 {
		return nil, invalidParam("limit", "limit must be 1 to 500 and offset at least 0")
	}
	list, total, err := j.store.ListJWTTemplates(ctx, listLimit(p.Limit), p.Offset)
	if err != nil {
		return nil, templateError("list", err)
	}
	out := &JwtTemplateList{Data: make([]*JwtTemplate, 0, len(list)), TotalCount: total}
	for _, t := range list {
		out.Data = append(out.Data, resource.NewJWTTemplate(t))
	}
	return out, nil
}

// Update changes a template; tokens minted from now on use the new values.
func (j *JwtTemplatesAPI) Update(ctx context.Context, id string, p UpdateJwtTemplateParams) (*JwtTemplate, error) {
	t, err := j.store.GetJWTTemplate(ctx, id)
	if err != nil {
		return nil, templateError("update", err)
	}
	if p.Name != nil {
		t.Name = *p.Name
	}
	if p.Claims != nil {
		t.Claims = p.Claims
	}
	if p.Lifetime != nil {
		t.Lifetime = *p.Lifetime
	}
	if p.AllowedClockSkew != nil {
		t.AllowedClockSkew = *p.AllowedClockSkew
	}
	if p.CustomSigningKey != nil {
		if err := j.setKey(t, *p.CustomSigningKey, p.SigningAlgorithm, p.SigningKey); err != nil {
			return nil, err
		}
	}
	if err := checkTemplate(t); err != nil {
		return nil, err
	}
	updated, err := j.store.UpdateJWTTemplate(ctx, *t)
	if err != nil {
		return nil, templateError("update", err)
	}
	return resource.NewJWTTemplate(updated), nil
}

// Delete deletes a template; minting from it fails from then on.
func (j *JwtTemplatesAPI) Delete(ctx context.Context, id string) (*DeletedObject, error) {
	if err := j.store.DeleteJWTTemplate(ctx, id); err != nil {
		return nil, templateError("delete", err)
	}
	return &DeletedObject{Object: "jwt_template", ID: id, Deleted: true}, nil
}
