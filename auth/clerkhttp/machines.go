package clerkhttp

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
)

// MachinesAPI is the Machines group over HTTP (/v1/machines, Clerk's
// routes).
type MachinesAPI struct {
	t *transport
}

func machinePath(id, suffix string) (string, error) { return idPath("machines", "machine", id, suffix) }

// Create creates a machine (POST /machines). The answer carries its
// secret key in SecretKey, shown this once.
func (m *MachinesAPI) Create(ctx context.Context, p clerkclient.CreateMachineParams) (*clerkclient.Machine, error) {
	body := struct {
		Name            string   `json:"name"`
		ScopedMachines  []string `json:"scoped_machines,omitempty"`
		DefaultTokenTTL int64    `json:"default_token_ttl,omitempty"`
	}{p.Name, p.ScopedMachines, p.DefaultTokenTTL}
	return call[clerkclient.Machine](ctx, m.t, "create machine", request{method: http.MethodPost, path: "/machines", body: body})
}

// Get returns the machine with id (GET /machines/{id}).
func (m *MachinesAPI) Get(ctx context.Context, id string) (*clerkclient.Machine, error) {
	path, err := machinePath(id, "")
	if err != nil {
		return nil, err
	}
	return call[clerkclient.Machine](ctx, m.t, "get machine", request{method: http.MethodGet, path: path})
}

// List returns machines, newest first (GET /machines).
func (m *MachinesAPI) List(ctx context.Context, p clerkclient.MachineListParams) (*clerkclient.MachineList, error) {
	list, err := call[clerkclient.MachineList](ctx, m.t, "list machines",
		request{method: http.MethodGet, path: "/machines", query: query{}.page(p.Limit, p.Offset)})
	if err != nil {
		return nil, err
	}
	if list.Data == nil {
		list.Data = []*clerkclient.Machine{}
	}
	return list, nil
}

// Delete deletes a machine (DELETE /machines/{id}).
func (m *MachinesAPI) Delete(ctx context.Context, id string) (*clerkclient.DeletedObject, error) {
	path, err := machinePath(id, "")
	if err != nil {
		return nil, err
	}
	return call[clerkclient.DeletedObject](ctx, m.t, "delete machine", request{method: http.MethodDelete, path: path})
}

// CreateScope lets machine id request tokens for machine to
// (POST /machines/{id}/scopes), and returns the machine. Clerk's route
// answers the machine_scope it made, not the machine: then the machine
// is read after it (GET /machines/{id}).
func (m *MachinesAPI) CreateScope(ctx context.Context, id, to string) (*clerkclient.Machine, error) {
	path, err := machinePath(id, "/scopes")
	if err != nil {
		return nil, err
	}
	if _, err := seg("machine", to); err != nil {
		return nil, err
	}
	body := struct {
		ToMachineID string `json:"to_machine_id"`
	}{to}
	var raw json.RawMessage
	if err := m.t.do(ctx, "create machine scope", request{method: http.MethodPost, path: path, body: body}, &raw); err != nil {
		return nil, err
	}
	return m.machineOrGet(ctx, id, raw)
}

// DeleteScope removes machine to from the scopes of machine id
// (DELETE /machines/{id}/scopes/{to}), and returns the machine, read
// after it unless the answer is the machine.
func (m *MachinesAPI) DeleteScope(ctx context.Context, id, to string) (*clerkclient.Machine, error) {
	path, err := machinePath(id, "/scopes/")
	if err != nil {
		return nil, err
	}
	other, err := seg("machine scope", to)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := m.t.do(ctx, "delete machine scope", request{method: http.MethodDelete, path: path + other}, &raw); err != nil {
		return nil, err
	}
	return m.machineOrGet(ctx, id, raw)
}

// machineOrGet returns raw as a machine when it is one, else machine id
// as it is now.
func (m *MachinesAPI) machineOrGet(ctx context.Context, id string, raw json.RawMessage) (*clerkclient.Machine, error) {
	var probe struct {
		Object  string `json:"object"`
		Deleted *bool  `json:"deleted"`
	}
	if json.Unmarshal(raw, &probe) == nil && probe.Object == "machine" && probe.Deleted == nil {
		var out clerkclient.Machine
		if err := json.Unmarshal(raw, &out); err == nil {
			return &out, nil
		}
	}
	return m.Get(ctx, id)
}

// M2MTokensAPI is the M2M tokens group over HTTP (/v1/m2m_tokens).
// A call with a MachineSecretKey authenticates with it, as the machine;
// without one, with the instance secret key.
type M2MTokensAPI struct {
	t *transport
}

// machineKey is the request's authentication: key when given, else the
// instance secret key.
func machineKey(r request, key string) request {
	if key != "" {
		r.key, r.keySet = key, true
	}
	return r
}

// Create exchanges a machine secret key for an opaque M2M token
// (POST /m2m_tokens, authenticated with p.MachineSecretKey). The answer
// carries the token in Token, shown this once.
func (m *M2MTokensAPI) Create(ctx context.Context, p clerkclient.CreateM2MTokenParams) (*clerkclient.M2MTokenObject, error) {
	body := struct {
		SecondsUntilExpiration *int64          `json:"seconds_until_expiration,omitempty"`
		Claims                 json.RawMessage `json:"claims,omitempty"`
		// Scopes keeps nil (all the machine's scopes: left out) apart
		// from empty (none: sent as []).
		Scopes *[]string `json:"scopes,omitempty"`
	}{SecondsUntilExpiration: p.SecondsUntilExpiration, Claims: p.Claims}
	if p.Scopes != nil {
		body.Scopes = &p.Scopes
	}
	// Always the machine's key, even an empty one: the instance key must
	// not create tokens on a machine's behalf.
	r := request{method: http.MethodPost, path: "/m2m_tokens", body: body, key: p.MachineSecretKey, keySet: true}
	return call[clerkclient.M2MTokenObject](ctx, m.t, "create M2M token", r)
}

// Verify returns the live M2M token with the secret p.Token
// (POST /m2m_tokens/verify); an unknown, revoked or expired one is a 404.
func (m *M2MTokensAPI) Verify(ctx context.Context, p clerkclient.VerifyM2MTokenParams) (*clerkclient.M2MTokenObject, error) {
	body := struct {
		Token string `json:"token"`
	}{p.Token}
	r := machineKey(request{method: http.MethodPost, path: "/m2m_tokens/verify", body: body}, p.MachineSecretKey)
	return call[clerkclient.M2MTokenObject](ctx, m.t, "verify M2M token", r)
}

// List returns a machine's M2M tokens, newest first, without their
// secrets (GET /m2m_tokens).
func (m *M2MTokensAPI) List(ctx context.Context, p clerkclient.M2MTokenListParams) (*clerkclient.M2MTokenList, error) {
	q := query{}.page(p.Limit, p.Offset)
	q.str("subject", p.Subject)
	q.flag("revoked", p.Revoked)
	q.flag("expired", p.Expired)
	r := machineKey(request{method: http.MethodGet, path: "/m2m_tokens", query: q}, p.MachineSecretKey)
	list, err := call[clerkclient.M2MTokenList](ctx, m.t, "list M2M tokens", r)
	if err != nil {
		return nil, err
	}
	if list.M2MTokens == nil {
		list.M2MTokens = []*clerkclient.M2MTokenObject{}
	}
	return list, nil
}

// Revoke revokes an M2M token (POST /m2m_tokens/{id}/revoke).
func (m *M2MTokensAPI) Revoke(ctx context.Context, p clerkclient.RevokeM2MTokenParams) (*clerkclient.M2MTokenObject, error) {
	id, err := seg("M2M token", p.ID)
	if err != nil {
		return nil, err
	}
	body := struct {
		RevocationReason string `json:"revocation_reason,omitempty"`
	}{p.RevocationReason}
	r := machineKey(request{method: http.MethodPost, path: "/m2m_tokens/" + id + "/revoke", body: body}, p.MachineSecretKey)
	return call[clerkclient.M2MTokenObject](ctx, m.t, "revoke M2M token", r)
}

// APIKeysAPI is the API keys group over HTTP (/v1/api_keys, Clerk's
// routes). Its methods act for the instance, as the in-process plain
// methods do.
type APIKeysAPI struct {
	t *transport
}

func apiKeyPath(id, suffix string) (string, error) { return idPath("api_keys", "API key", id, suffix) }

// Create creates an API key (POST /api_keys). The answer carries the
// secret in Secret, shown this once.
func (a *APIKeysAPI) Create(ctx context.Context, p clerkclient.CreateAPIKeyParams) (*clerkclient.APIKeyObject, error) {
	body := struct {
		Name                   string          `json:"name"`
		Description            string          `json:"description,omitempty"`
		Subject                string          `json:"subject"`
		Claims                 json.RawMessage `json:"claims,omitempty"`
		Scopes                 []string        `json:"scopes,omitempty"`
		CreatedBy              string          `json:"created_by,omitempty"`
		SecondsUntilExpiration *int64          `json:"seconds_until_expiration,omitempty"`
	}{p.Name, p.Description, p.Subject, p.Claims, p.Scopes, p.CreatedBy, p.SecondsUntilExpiration}
	return call[clerkclient.APIKeyObject](ctx, a.t, "create API key", request{method: http.MethodPost, path: "/api_keys", body: body})
}

// Get returns the API key with id, without its secret
// (GET /api_keys/{id}).
func (a *APIKeysAPI) Get(ctx context.Context, id string) (*clerkclient.APIKeyObject, error) {
	path, err := apiKeyPath(id, "")
	if err != nil {
		return nil, err
	}
	return call[clerkclient.APIKeyObject](ctx, a.t, "get API key", request{method: http.MethodGet, path: path})
}

// List returns a subject's API keys, newest first, never with their
// secrets (GET /api_keys).
func (a *APIKeysAPI) List(ctx context.Context, p clerkclient.APIKeyListParams) (*clerkclient.APIKeyList, error) {
	q := query{}.page(p.Limit, p.Offset)
	q.str("subject", p.Subject)
	q.flag("include_invalid", p.IncludeInvalid)
	list, err := call[clerkclient.APIKeyList](ctx, a.t, "list API keys", request{method: http.MethodGet, path: "/api_keys", query: q})
	if err != nil {
		return nil, err
	}
	if list.Data == nil {
		list.Data = []*clerkclient.APIKeyObject{}
	}
	return list, nil
}

// Revoke revokes an API key (POST /api_keys/{id}/revoke). Clerk's route
// has no owner check, so a p.Subject is checked here first: a key of
// another subject is a 404, as in-process. A key's subject never changes,
// so reading it before the revocation leaves no race.
func (a *APIKeysAPI) Revoke(ctx context.Context, p clerkclient.RevokeAPIKeyParams) (*clerkclient.APIKeyObject, error) {
	path, err := apiKeyPath(p.ID, "/revoke")
	if err != nil {
		return nil, err
	}
	if p.Subject != "" {
		k, err := a.Get(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		if k.Subject != p.Subject {
			return nil, notFound("API key")
		}
	}
	body := struct {
		RevocationReason string `json:"revocation_reason,omitempty"`
	}{p.RevocationReason}
	return call[clerkclient.APIKeyObject](ctx, a.t, "revoke API key", request{method: http.MethodPost, path: path, body: body})
}

// Verify returns the live API key with the secret
// (POST /api_keys/verify); an unknown, revoked or expired one is a 404.
func (a *APIKeysAPI) Verify(ctx context.Context, secret string) (*clerkclient.APIKeyObject, error) {
	body := struct {
		Secret string `json:"secret"`
	}{secret}
	return call[clerkclient.APIKeyObject](ctx, a.t, "verify API key", request{method: http.MethodPost, path: "/api_keys/verify", body: body})
}
