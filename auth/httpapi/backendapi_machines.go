package httpapi

// The Backend API routes for machines and API keys, with the instance
// secret key only (a machine's own key authenticates the M2M routes in
// backendapi.go, never these). As in backendapi_v1.go, each route only
// translates the wire; the backend client holds every rule.
//
// Not served, because Gatehouse keeps only a hash of every secret:
// GET /machines/{id}/secret_key and GET /api_keys/{id}/secret. Not
// served yet: PATCH /machines/{id}, POST /machines/{id}/secret_key/rotate,
// PATCH and DELETE /api_keys/{id}.

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

func (b *BackendAPI) machineRoutes() []bapiRoute {
	return []bapiRoute{
		{"GET", "/machines", b.listMachines},
		{"POST", "/machines", b.createMachine},
		{"GET", "/machines/{id}", b.getMachine},
		{"DELETE", "/machines/{id}", b.deleteMachine},
		{"POST", "/machines/{id}/scopes", b.createMachineScope},
		{"DELETE", "/machines/{id}/scopes/{other}", b.deleteMachineScope},
		{"GET", "/api_keys", b.listAPIKeys},
		{"POST", "/api_keys", b.createAPIKey},
		{"POST", "/api_keys/verify", b.verifyAPIKey},
		{"GET", "/api_keys/{id}", b.getAPIKey},
		{"POST", "/api_keys/{id}/revoke", b.revokeAPIKey},
	}
}

// notSupported refuses a query parameter Gatehouse does not implement,
// rather than answering as if it had applied it.
func notSupported(name string) error {
	return &identity.Error{Status: http.StatusUnprocessableEntity, Code: "form_param_unknown", Param: name,
		Message: name + " is not supported.", LongMessage: name + " is not supported by this instance."}
}

func (b *BackendAPI) listMachines(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("query") != "" {
		b.fail(w, r, notSupported("query"))
		return
	}
	if o := q.Get("order_by"); o != "" && o != "-created_at" {
		b.fail(w, r, paramInvalid("order_by", "machines are listed newest first only (order_by=-created_at)"))
		return
	}
	withPage(b, w, r, func(limit, offset int) (any, error) {
		return b.client.Machines.List(r.Context(), clerkclient.MachineListParams{Limit: limit, Offset: offset})
	})
}

func (b *BackendAPI) createMachine(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *struct {
		Name            string   `json:"name"`
		ScopedMachines  []string `json:"scoped_machines"`
		DefaultTokenTTL *int64   `json:"default_token_ttl"`
	}) (any, error) {
		p := clerkclient.CreateMachineParams{Name: body.Name, ScopedMachines: body.ScopedMachines}
		if body.DefaultTokenTTL != nil {
			if *body.DefaultTokenTTL < 1 {
				return nil, paramInvalid("default_token_ttl", "default_token_ttl must be at least 1 second")
			}
			p.DefaultTokenTTL = *body.DefaultTokenTTL
		}
		return b.client.Machines.Create(r.Context(), p)
	})
}

func (b *BackendAPI) getMachine(w http.ResponseWriter, r *http.Request) {
	m, err := b.client.Machines.Get(r.Context(), r.PathValue("id"))
	b.answer(w, r, m, err)
}

func (b *BackendAPI) deleteMachine(w http.ResponseWriter, r *http.Request) {
	d, err := b.client.Machines.Delete(r.Context(), r.PathValue("id"))
	b.answer(w, r, d, err)
}

// machineScope is Clerk's machine_scope resource.
type machineScope struct {
	Object        string `json:"object"`
	FromMachineID string `json:"from_machine_id"`
	ToMachineID   string `json:"to_machine_id"`
	CreatedAt     int64  `json:"created_at,omitempty"`
	Deleted       bool   `json:"deleted,omitempty"`
}

// createMachineScope answers the scope, as Clerk's route does. Its
// created_at is the machine's updated_at, which the same transaction set.
func (b *BackendAPI) createMachineScope(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *struct {
		ToMachineID string `json:"to_machine_id"`
	}) (any, error) {
		if body.ToMachineID == "" {
			return nil, paramMissing("to_machine_id")
		}
		m, err := b.client.Machines.CreateScope(r.Context(), r.PathValue("id"), body.ToMachineID)
		if err != nil {
			return nil, err
		}
		return machineScope{Object: "machine_scope", FromMachineID: m.ID, ToMachineID: body.ToMachineID, CreatedAt: m.UpdatedAt}, nil
	})
}

func (b *BackendAPI) deleteMachineScope(w http.ResponseWriter, r *http.Request) {
	m, err := b.client.Machines.DeleteScope(r.Context(), r.PathValue("id"), r.PathValue("other"))
	if err != nil {
		b.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, machineScope{Object: "machine_scope", FromMachineID: m.ID, ToMachineID: r.PathValue("other"), Deleted: true})
}

// apiKeyType checks Clerk's key type, of which Gatehouse has one.
func apiKeyType(t *string) error {
	if t != nil && *t != "" && *t != "api_key" {
		return paramInvalid("type", "type must be api_key")
	}
	return nil
}

func (b *BackendAPI) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if t := q.Get("type"); t != "" {
		if err := apiKeyType(&t); err != nil {
			b.fail(w, r, err)
			return
		}
	}
	if q.Get("query") != "" {
		b.fail(w, r, notSupported("query"))
		return
	}
	p := clerkclient.APIKeyListParams{Subject: q.Get("subject")}
	if v := q.Get("include_invalid"); v != "" {
		var err error
		if p.IncludeInvalid, err = strconv.ParseBool(v); err != nil {
			b.fail(w, r, paramInvalid("include_invalid", "include_invalid must be true or false"))
			return
		}
	}
	withPage(b, w, r, func(limit, offset int) (any, error) {
		if limit > 100 {
			return nil, paramInvalid("limit", "limit must be a whole number from 1 to 100")
		}
		p.Limit, p.Offset = limit, offset
		return b.client.APIKeys.List(r.Context(), p)
	})
}

func (b *BackendAPI) createAPIKey(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *struct {
		Type                   *string         `json:"type"`
		Name                   string          `json:"name"`
		Description            *string         `json:"description"`
		Subject                string          `json:"subject"`
		Claims                 json.RawMessage `json:"claims"`
		Scopes                 []string        `json:"scopes"`
		CreatedBy              *string         `json:"created_by"`
		SecondsUntilExpiration *float64        `json:"seconds_until_expiration"`
	}) (any, error) {
		if err := apiKeyType(body.Type); err != nil {
			return nil, err
		}
		p := clerkclient.CreateAPIKeyParams{Name: body.Name, Subject: body.Subject, Claims: body.Claims, Scopes: body.Scopes}
		if body.Description != nil {
			p.Description = *body.Description
		}
		if body.CreatedBy != nil {
			p.CreatedBy = *body.CreatedBy
		}
		secs, err := tokenLifetime(body.SecondsUntilExpiration)
		if err != nil {
			return nil, err
		}
		p.SecondsUntilExpiration = secs
		return b.client.APIKeys.Create(r.Context(), p)
	})
}

func (b *BackendAPI) getAPIKey(w http.ResponseWriter, r *http.Request) {
	k, err := b.client.APIKeys.Get(r.Context(), r.PathValue("id"))
	b.answer(w, r, k, err)
}

func (b *BackendAPI) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *struct {
		RevocationReason *string `json:"revocation_reason"`
	}) (any, error) {
		p := clerkclient.RevokeAPIKeyParams{ID: r.PathValue("id")}
		if body.RevocationReason != nil {
			p.RevocationReason = *body.RevocationReason
		}
		return b.client.APIKeys.Revoke(r.Context(), p)
	})
}

func (b *BackendAPI) verifyAPIKey(w http.ResponseWriter, r *http.Request) {
	withBody(b, w, r, func(body *struct {
		Secret *string `json:"secret"`
	}) (any, error) {
		if body.Secret == nil {
			return nil, paramMissing("secret")
		}
		return b.client.APIKeys.Verify(r.Context(), *body.Secret)
	})
}
