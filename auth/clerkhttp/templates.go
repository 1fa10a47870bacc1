package clerkhttp

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
)

// JwtTemplatesAPI is the JwtTemplates group over HTTP
// (/v1/jwt_templates).
type JwtTemplatesAPI struct {
	t *transport
}

// templateBody is the body of POST /jwt_templates and
// PATCH /jwt_templates/{id}. The signing key goes to the server in the
// body (it is never part of an answer).
type templateBody struct {
	Name             *string         `json:"name,omitempty"`
	Claims           json.RawMessage `json:"claims,omitempty"`
	Lifetime         *int64          `json:"lifetime,omitempty"`
	AllowedClockSkew *int64          `json:"allowed_clock_skew,omitempty"`
	CustomSigningKey *bool           `json:"custom_signing_key,omitempty"`
	SigningAlgorithm string          `json:"signing_algorithm,omitempty"`
	SigningKey       string          `json:"signing_key,omitempty"`
}

func templatePath(id string) (string, error) { return idPath("jwt_templates", "JWT template", id, "") }

// Create creates a JWT template (POST /jwt_templates).
func (j *JwtTemplatesAPI) Create(ctx context.Context, p clerkclient.CreateJwtTemplateParams) (*clerkclient.JwtTemplate, error) {
	body := templateBody{Claims: p.Claims, Lifetime: p.Lifetime, AllowedClockSkew: p.AllowedClockSkew,
		SigningAlgorithm: p.SigningAlgorithm, SigningKey: p.SigningKey}
	if p.Name != "" {
		body.Name = &p.Name
	}
	if p.CustomSigningKey {
		body.CustomSigningKey = &p.CustomSigningKey
	}
	return call[clerkclient.JwtTemplate](ctx, j.t, "create JWT template", request{method: http.MethodPost, path: "/jwt_templates", body: body})
}

// Get returns the template with id (GET /jwt_templates/{id}).
func (j *JwtTemplatesAPI) Get(ctx context.Context, id string) (*clerkclient.JwtTemplate, error) {
	path, err := templatePath(id)
	if err != nil {
		return nil, err
	}
	return call[clerkclient.JwtTemplate](ctx, j.t, "get JWT template", request{method: http.MethodGet, path: path})
}

// List returns the templates ordered by name
// (GET /jwt_templates?paginated=true, whose envelope carries the total).
func (j *JwtTemplatesAPI) List(ctx context.Context, p clerkclient.JwtTemplateListParams) (*clerkclient.JwtTemplateList, error) {
	q := query{}.page(p.Limit, p.Offset)
	q.flag("paginated", true)
	list, err := call[clerkclient.JwtTemplateList](ctx, j.t, "list JWT templates", request{method: http.MethodGet, path: "/jwt_templates", query: q})
	if err != nil {
		return nil, err
	}
	if list.Data == nil {
		list.Data = []*clerkclient.JwtTemplate{}
	}
	return list, nil
}

// Update changes the non-nil fields of a template
// (PATCH /jwt_templates/{id}).
func (j *JwtTemplatesAPI) Update(ctx context.Context, id string, p clerkclient.UpdateJwtTemplateParams) (*clerkclient.JwtTemplate, error) {
	path, err := templatePath(id)
	if err != nil {
		return nil, err
	}
	body := templateBody{Name: p.Name, Claims: p.Claims, Lifetime: p.Lifetime, AllowedClockSkew: p.AllowedClockSkew,
		CustomSigningKey: p.CustomSigningKey, SigningAlgorithm: p.SigningAlgorithm, SigningKey: p.SigningKey}
	return call[clerkclient.JwtTemplate](ctx, j.t, "update JWT template", request{method: http.MethodPatch, path: path, body: body})
}

// Delete deletes a template (DELETE /jwt_templates/{id}).
func (j *JwtTemplatesAPI) Delete(ctx context.Context, id string) (*clerkclient.DeletedObject, error) {
	path, err := templatePath(id)
	if err != nil {
		return nil, err
	}
	return call[clerkclient.DeletedObject](ctx, j.t, "delete JWT template", request{method: http.MethodDelete, path: path})
}
