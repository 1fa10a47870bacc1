package clerkclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// Machine is the backend Machine resource.
type Machine = resource.Machine

// M2MTokenObject is the backend machine_to_machine_token resource
// (M2MToken names the token type).
type M2MTokenObject = resource.M2MToken

// APIKeyObject is the backend api_key resource (APIKey names the token
// type).
type APIKeyObject = resource.APIKey

// Limits of the machine-token APIs.
const (
	// DefaultMachineTokenTTL is a machine's default M2M token lifetime (s).
	DefaultMachineTokenTTL = 3600
	// MaxTokenLifetime bounds every lifetime in seconds (ten years, as
	// Clerk's default_token_ttl).
	MaxTokenLifetime = 315360000
	maxMachineScopes = 150
	maxAPIKeyScopes  = 50
	maxClaimsBytes   = 4096
	// MaxLiveAPIKeys bounds the live API keys of one user (checked by the
	// profile page) or organization (checked by the store, see
	// [APIKeysAPI.CreateForOrganization]), so a script cannot fill the
	// database through a form.
	MaxLiveAPIKeys = 50
)

func (c *Client) addMachineAPIs(st store.Store, orgs *identity.Orgs, instanceID string) {
	c.machineTokens = machineTokens{store: st}
	c.Machines = &MachinesAPI{store: st, instanceID: instanceID}
	c.M2MTokens = &M2MTokensAPI{store: st, tokens: c.machineTokens}
	c.APIKeys = &APIKeysAPI{store: st, tokens: c.machineTokens, orgs: orgs}
}

// MachinesAPI is the Machines group of the backend client.
type MachinesAPI struct {
	store      store.Store
	instanceID string
}

// CreateMachineParams create a machine.
type CreateMachineParams struct {
	Name string
	// ScopedMachines are the ids of the machines the new one may request
	// tokens for (at most 150).
	ScopedMachines []string
	// DefaultTokenTTL is the lifetime of its M2M tokens in seconds; 0
	// means DefaultMachineTokenTTL.
	DefaultTokenTTL int64
}

// Create creates a machine with a new secret key. The answer carries the
// key in SecretKey; it is shown this once (the store keeps only its hash).
func (m *MachinesAPI) Create(ctx context.Context, p CreateMachineParams) (*Machine, error) {
	name, err := checkLabel("name", p.Name, 255, true)
	if err != nil {
		return nil, err
	}
	ttl := p.DefaultTokenTTL
	if ttl == 0 {
		ttl = DefaultMachineTokenTTL
	}
	if ttl < 1 || ttl > MaxTokenLifetime {
		return nil, paramInvalid("default_token_ttl", fmt.Sprintf("default_token_ttl must be 1 to %d seconds", MaxTokenLifetime))
	}
	scopes, err := checkIDs("scoped_machines", "mch_", p.ScopedMachines, maxMachineScopes)
	if err != nil {
		return nil, err
	}
	secret := newSecret(machineSecretPrefix)
	sm := store.Machine{ID: randid.New("mch"), Name: name, SecretHash: hashSecret(secret), DefaultTokenTTL: ttl, CreatedAt: store.Now()}
	err = m.store.CreateMachine(ctx, sm, scopes)
	if errors.Is(err, store.ErrNotFound) {
		return nil, paramInvalid("scoped_machines", "scoped_machines names a machine that does not exist")
	}
	if err != nil {
		return nil, fmt.Errorf("clerkclient: create machine: %w", err)
	}
	out, err := m.Get(ctx, sm.ID)
	if err != nil {
		return nil, err
	}
	out.SecretKey = secret
	return out, nil
}

// Get returns the machine with id.
func (m *MachinesAPI) Get(ctx context.Context, id string) (*Machine, error) {
	if !validID("mch_", id) {
		return nil, notFound("machine")
	}
	sm, err := m.store.GetMachine(ctx, id)
	if err != nil {
		return nil, tokenStoreError("get machine", "machine", err)
	}
	return resource.NewMachine(sm, m.instanceID), nil
}

// MachineListParams page through [MachinesAPI.List].
type MachineListParams struct {
	Limit, Offset int // Limit 1 to 500; 0 means 10
}

// MachineList is one page of machines.
type MachineList struct {
	Data       []*Machine `json:"data"`
	TotalCount int        `json:"total_count"`
}

// List returns machines, newest first.
func (m *MachinesAPI) List(ctx context.Context, p MachineListParams) (*MachineList, error) {
	if err := checkPage(p.Limit, p.Offset, 500); err != nil {
		return nil, err
	}
	list, total, err := m.store.ListMachines(ctx, p.Limit, p.Offset)
	if err != nil {
		return nil, fmt.Errorf("clerkclient: list machines: %w", err)
	}
	out := &MachineList{Data: make([]*Machine, 0, len(list)), TotalCount: total}
	for _, sm := range list {
		out.Data = append(out.Data, resource.NewMachine(sm, m.instanceID))
	}
	return out, nil
}

// Delete deletes a machine. Its M2M tokens stop working at once, and
// other machines lose it from their scopes.
func (m *MachinesAPI) Delete(ctx context.Context, id string) (*DeletedObject, error) {
	if !validID("mch_", id) {
		return nil, notFound("machine")
	}
	if err := m.store.DeleteMachine(ctx, id); err != nil {
		return nil, tokenStoreError("delete machine", "machine", err)
	}
	return &DeletedObject{Object: "machine", ID: id, Deleted: true}, nil
}

// CreateScope lets machine id request tokens for machine to, and returns
// the machine. Tokens already issued keep their scopes.
func (m *MachinesAPI) CreateScope(ctx context.Context, id, to string) (*Machine, error) {
	if !validID("mch_", id) || !validID("mch_", to) {
		return nil, notFound("machine")
	}
	if id == to {
		return nil, paramInvalid("to_machine_id", "a machine cannot be scoped to itself")
	}
	if err := m.store.AddMachineScope(ctx, id, to); err != nil {
		return nil, tokenStoreError("create machine scope", "machine", err)
	}
	return m.Get(ctx, id)
}

// DeleteScope removes machine to from the scopes of machine id, and
// returns the machine. Tokens already issued keep their scopes.
func (m *MachinesAPI) DeleteScope(ctx context.Context, id, to string) (*Machine, error) {
	if !validID("mch_", id) || !validID("mch_", to) {
		return nil, notFound("machine scope")
	}
	if err := m.store.RemoveMachineScope(ctx, id, to); err != nil {
		return nil, tokenStoreError("delete machine scope", "machine scope", err)
	}
	return m.Get(ctx, id)
}

// machineBySecret returns the machine a secret key belongs to, or a 401.
func machineBySecret(ctx context.Context, st store.Store, secret string) (*store.Machine, error) {
	invalid := apiError(http.StatusUnauthorized, "authentication_invalid", "The machine secret key is invalid.", "")
	if !strings.HasPrefix(secret, machineSecretPrefix) || !isBase62(secret[len(machineSecretPrefix):], machineSecretLen) {
		return nil, invalid
	}
	mach, err := st.GetMachineBySecretHash(ctx, hashSecret(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("clerkclient: find machine: %w", err)
	}
	return mach, nil
}

// M2MTokensAPI is the M2M tokens group of the backend client (Clerk's
// m2m).
type M2MTokensAPI struct {
	store  store.Store
	tokens machineTokens
}

// CreateM2MTokenParams create an M2M token.
type CreateM2MTokenParams struct {
	// MachineSecretKey authenticates the machine the token is for.
	MachineSecretKey string
	// SecondsUntilExpiration is the token's lifetime; nil means the
	// machine's default_token_ttl.
	SecondsUntilExpiration *int64
	// Claims are custom claims: a JSON object (at most 4 KiB) or nil.
	Claims json.RawMessage
	// Scopes are the machines the token may address; nil means all the
	// machine's scopes, otherwise a subset of them.
	Scopes []string
}

// Create exchanges a machine secret key for an opaque M2M token. The
// answer carries the token in Token; it is shown this once.
func (m *M2MTokensAPI) Create(ctx context.Context, p CreateM2MTokenParams) (*M2MTokenObject, error) {
	mach, err := machineBySecret(ctx, m.store, p.MachineSecretKey)
	if err != nil {
		return nil, err
	}
	allowed := mach.ScopeIDs()
	scopes := allowed
	if p.Scopes != nil {
		if scopes, err = checkIDs("scopes", "mch_", p.Scopes, maxMachineScopes); err != nil {
			return nil, err
		}
		for _, s := range scopes {
			if !slices.Contains(allowed, s) {
				return nil, paramInvalid("scopes", "scopes must be machines this machine is scoped to")
			}
		}
	}
	claims, err := checkClaims(p.Claims)
	if err != nil {
		return nil, err
	}
	lifetime := mach.DefaultTokenTTL
	if p.SecondsUntilExpiration != nil {
		lifetime = *p.SecondsUntilExpiration
		if lifetime < 1 || lifetime > MaxTokenLifetime {
			return nil, paramInvalid("seconds_until_expiration", fmt.Sprintf("seconds_until_expiration must be 1 to %d", MaxTokenLifetime))
		}
	}
	secret := newSecret(M2MTokenPrefix)
	now := store.Now()
	t := store.MachineToken{
		ID: newTokenID(M2MTokenPrefix), Type: store.TokenTypeM2M, SecretHash: hashSecret(secret),
		Subject: mach.ID, Claims: claims, Scopes: scopes, Expiration: now + lifetime*1000,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := m.store.InsertMachineToken(ctx, t); err != nil {
		return nil, tokenStoreError("create M2M token", "machine", err)
	}
	out := resource.NewM2MToken(&t, now)
	out.Token = secret
	return out, nil
}

// VerifyM2MTokenParams verify an M2M token.
type VerifyM2MTokenParams struct {
	Token string
	// MachineSecretKey, when set, verifies on behalf of that machine: the
	// token must include it in its scopes.
	MachineSecretKey string
}

// Verify returns the live M2M token with the secret p.Token, and records
// its use. An unknown, malformed, revoked or expired token is a 404, as
// in Clerk's Backend API.
func (m *M2MTokensAPI) Verify(ctx context.Context, p VerifyM2MTokenParams) (*M2MTokenObject, error) {
	var audience *store.Machine
	if p.MachineSecretKey != "" {
		var err error
		if audience, err = machineBySecret(ctx, m.store, p.MachineSecretKey); err != nil {
			return nil, err
		}
	}
	t, err := m.tokens.verify(ctx, store.TokenTypeM2M, p.Token)
	if err != nil {
		return nil, err
	}
	if audience != nil && !slices.Contains(t.Scopes, audience.ID) {
		return nil, notFound("M2M token")
	}
	return resource.NewM2MToken(t, store.Now()), nil
}

// M2MTokenListParams select tokens for [M2MTokensAPI.List].
type M2MTokenListParams struct {
	// Subject is the machine whose tokens to list (required).
	Subject string
	// MachineSecretKey, when set, must be the subject's own key.
	MachineSecretKey string
	// Revoked and Expired include revoked and expired tokens.
	Revoked, Expired bool
	Limit, Offset    int // Limit 1 to 100; 0 means 10
}

// M2MTokenList is one page of M2M tokens (Clerk's shape).
type M2MTokenList struct {
	M2MTokens  []*M2MTokenObject `json:"m2m_tokens"`
	TotalCount int               `json:"total_count"`
}

// List returns a machine's M2M tokens, newest first, without their
// secrets.
func (m *M2MTokensAPI) List(ctx context.Context, p M2MTokenListParams) (*M2MTokenList, error) {
	if !validID("mch_", p.Subject) {
		return nil, paramInvalid("subject", "subject must be a machine id")
	}
	if p.MachineSecretKey != "" {
		mach, err := machineBySecret(ctx, m.store, p.MachineSecretKey)
		if err != nil {
			return nil, err
		}
		if mach.ID != p.Subject {
			return nil, apiError(http.StatusForbidden, "authorization_invalid", "A machine may list only its own tokens.", "subject")
		}
	}
	list, total, err := m.tokens.list(ctx, store.MachineTokenFilter{Type: store.TokenTypeM2M, Subject: p.Subject,
		IncludeRevoked: p.Revoked, IncludeExpired: p.Expired, Limit: p.Limit, Offset: p.Offset})
	if err != nil {
		return nil, err
	}
	return &M2MTokenList{M2MTokens: toResources(list, resource.NewM2MToken), TotalCount: total}, nil
}

// RevokeM2MTokenParams revoke an M2M token.
type RevokeM2MTokenParams struct {
	ID               string
	RevocationReason string
	// MachineSecretKey, when set, limits the revocation to that machine's
	// own tokens.
	MachineSecretKey string
}

// Revoke revokes an M2M token: it stops verifying from the next request.
// Revoking a revoked token changes nothing.
func (m *M2MTokensAPI) Revoke(ctx context.Context, p RevokeM2MTokenParams) (*M2MTokenObject, error) {
	subject := ""
	if p.MachineSecretKey != "" {
		mach, err := machineBySecret(ctx, m.store, p.MachineSecretKey)
		if err != nil {
			return nil, err
		}
		subject = mach.ID
	}
	t, err := m.tokens.revoke(ctx, store.TokenTypeM2M, p.ID, subject, p.RevocationReason)
	if err != nil {
		return nil, err
	}
	return resource.NewM2MToken(t, store.Now()), nil
}

// APIKeysAPI is the API keys group of the backend client. Its plain
// methods act for the instance; the ...ForOrganization ones act for a
// signed-in organization admin, checked by the store at the moment of the
// write.
type APIKeysAPI struct {
	store  store.Store
	tokens machineTokens
	orgs   *identity.Orgs
}

// CreateAPIKeyParams create an API key.
type CreateAPIKeyParams struct {
	// Name labels the key for its owner (1 to 100 characters).
	Name        string
	Description string
	// Subject owns the key: a user (user_…) or an organization (org_…).
	Subject string
	// Claims are custom claims: a JSON object (at most 4 KiB) or nil.
	Claims json.RawMessage
	// Scopes are free-form permissions the application checks (at most
	// 50, each without spaces).
	Scopes []string
	// CreatedBy is the user who created the key, if any.
	CreatedBy string
	// SecondsUntilExpiration is the key's lifetime; nil means it never
	// expires.
	SecondsUntilExpiration *int64
}

// Create creates an API key. The answer carries the secret in Secret; it
// is shown this once (the store keeps only its hash). A subject that does
// not exist is a 404.
func (a *APIKeysAPI) Create(ctx context.Context, p CreateAPIKeyParams) (*APIKeyObject, error) {
	t, secret, err := newAPIKey(p)
	if err != nil {
		return nil, err
	}
	if err := a.store.InsertMachineToken(ctx, t); err != nil {
		what := "user"
		if strings.HasPrefix(t.Subject, "org_") {
			what = "organization"
		}
		return nil, tokenStoreError("create API key", what, err)
	}
	return withSecret(&t, secret), nil
}

// CreateForUser creates an API key of the user p.Subject, as the profile
// page does: the store counts the user's live keys and inserts the new
// one in a single transaction, refusing a key over MaxLiveAPIKeys with 409
// api_key_quota_exceeded, however many requests race.
func (a *APIKeysAPI) CreateForUser(ctx context.Context, p CreateAPIKeyParams) (*APIKeyObject, error) {
	if !validID("user_", p.Subject) {
		return nil, paramInvalid("subject", "subject must be a user id")
	}
	t, secret, err := newAPIKey(p)
	if err != nil {
		return nil, err
	}
	err = a.store.InsertUserAPIKey(ctx, t, MaxLiveAPIKeys)
	if errors.Is(err, store.ErrKeyLimit) {
		return nil, apiError(http.StatusConflict, identity.CodeAPIKeyQuota,
			"You have "+strconv.Itoa(MaxLiveAPIKeys)+" API keys. Revoke one before creating another.", "")
	}
	if err != nil {
		return nil, tokenStoreError("create API key", "user", err)
	}
	return withSecret(&t, secret), nil
}

// CreateForOrganization creates an API key of the organization p.Subject
// for c, a signed-in user (from identity.Service.SessionCaller): the store
// checks, inside the write, that c is still a member whose role grants
// roles.APIKeysManage (the admin permission) and that the organization
// has fewer than MaxLiveAPIKeys live keys. An impersonation session is
// refused. CreatedBy is c's user. Refusals carry identity's codes: 404
// resource_not_found (not a member, or no such organization), 403
// not_allowed_access, impersonation_not_allowed, 409
// api_key_quota_exceeded.
func (a *APIKeysAPI) CreateForOrganization(ctx context.Context, c identity.Caller, p CreateAPIKeyParams) (*APIKeyObject, error) {
	if !validID("org_", p.Subject) {
		return nil, paramInvalid("subject", "subject must be an organization id")
	}
	if c.UserID() != "" {
		p.CreatedBy = c.UserID()
	}
	t, secret, err := newAPIKey(p)
	if err != nil {
		return nil, err
	}
	if err := a.orgs.AddAPIKey(ctx, c, t, MaxLiveAPIKeys); err != nil {
		return nil, fromIdentity("create API key", err)
	}
	return withSecret(&t, secret), nil
}

// newAPIKey checks p and returns the key to store and its secret.
func newAPIKey(p CreateAPIKeyParams) (store.MachineToken, string, error) {
	name, err := checkLabel("name", p.Name, 100, true)
	if err != nil {
		return store.MachineToken{}, "", err
	}
	desc, err := checkLabel("description", p.Description, 255, false)
	if err != nil {
		return store.MachineToken{}, "", err
	}
	if !validID("user_", p.Subject) && !validID("org_", p.Subject) {
		return store.MachineToken{}, "", paramInvalid("subject", "subject must be a user or organization id")
	}
	if p.CreatedBy != "" && !validID("user_", p.CreatedBy) {
		return store.MachineToken{}, "", paramInvalid("created_by", "created_by must be a user id")
	}
	scopes, err := checkScopes(p.Scopes)
	if err != nil {
		return store.MachineToken{}, "", err
	}
	claims, err := checkClaims(p.Claims)
	if err != nil {
		return store.MachineToken{}, "", err
	}
	now := store.Now()
	var expiration int64
	if p.SecondsUntilExpiration != nil {
		secs := *p.SecondsUntilExpiration
		if secs < 1 || secs > MaxTokenLifetime {
			return store.MachineToken{}, "", paramInvalid("seconds_until_expiration", fmt.Sprintf("seconds_until_expiration must be 1 to %d", MaxTokenLifetime))
		}
		expiration = now + secs*1000
	}
	secret := newSecret(APIKeyPrefix)
	return store.MachineToken{
		ID: newTokenID(APIKeyPrefix), Type: store.TokenTypeAPIKey, SecretHash: hashSecret(secret),
		Subject: p.Subject, Name: name, Description: desc, Claims: claims, Scopes: scopes,
		CreatedBy: p.CreatedBy, Expiration: expiration, CreatedAt: now, UpdatedAt: now,
	}, secret, nil
}

// withSecret is the resource of a key just stored, with its secret.
func withSecret(t *store.MachineToken, secret string) *APIKeyObject {
	out := resource.NewAPIKey(t, t.CreatedAt)
	out.Secret = secret
	return out
}

// Get returns the API key with id, without its secret.
func (a *APIKeysAPI) Get(ctx context.Context, id string) (*APIKeyObject, error) {
	if !isTokenID(APIKeyPrefix, id) {
		return nil, notFound("API key")
	}
	t, err := a.store.GetMachineToken(ctx, store.TokenTypeAPIKey, id)
	if err != nil {
		return nil, tokenStoreError("get API key", "API key", err)
	}
	return resource.NewAPIKey(t, store.Now()), nil
}

// APIKeyListParams select keys for [APIKeysAPI.List].
type APIKeyListParams struct {
	Subject string // required: user_… or org_…
	// IncludeInvalid includes revoked and expired keys.
	IncludeInvalid bool
	Limit, Offset  int // Limit 1 to 100; 0 means 10
}

// APIKeyList is one page of API keys.
type APIKeyList struct {
	Data       []*APIKeyObject `json:"data"`
	TotalCount int             `json:"total_count"`
}

// List returns a subject's API keys, newest first, never with their
// secrets.
func (a *APIKeysAPI) List(ctx context.Context, p APIKeyListParams) (*APIKeyList, error) {
	if !validID("user_", p.Subject) && !validID("org_", p.Subject) {
		return nil, paramInvalid("subject", "subject must be a user or organization id")
	}
	return a.list(ctx, p)
}

// ListForOrganization returns the API keys of the organization p.Subject
// for c, who must be a member whose role grants roles.APIKeysManage (read
// from the store now, not from a token), as List does.
func (a *APIKeysAPI) ListForOrganization(ctx context.Context, c identity.Caller, p APIKeyListParams) (*APIKeyList, error) {
	if !validID("org_", p.Subject) {
		return nil, paramInvalid("subject", "subject must be an organization id")
	}
	if err := a.orgs.CheckAPIKeyAccess(ctx, c, p.Subject); err != nil {
		return nil, fromIdentity("list API keys", err)
	}
	return a.list(ctx, p)
}

func (a *APIKeysAPI) list(ctx context.Context, p APIKeyListParams) (*APIKeyList, error) {
	list, total, err := a.tokens.list(ctx, store.MachineTokenFilter{Type: store.TokenTypeAPIKey, Subject: p.Subject,
		IncludeRevoked: p.IncludeInvalid, IncludeExpired: p.IncludeInvalid, Limit: p.Limit, Offset: p.Offset})
	if err != nil {
		return nil, err
	}
	return &APIKeyList{Data: toResources(list, resource.NewAPIKey), TotalCount: total}, nil
}

// RevokeAPIKeyParams revoke an API key.
type RevokeAPIKeyParams struct {
	ID               string
	RevocationReason string
	// Subject, when set, must own the key (else 404): pass the signed-in
	// user's id when a user revokes their own key.
	Subject string
}

// Revoke revokes an API key: it stops verifying from the next request.
// Revoking a revoked key changes nothing.
func (a *APIKeysAPI) Revoke(ctx context.Context, p RevokeAPIKeyParams) (*APIKeyObject, error) {
	t, err := a.tokens.revoke(ctx, store.TokenTypeAPIKey, p.ID, p.Subject, p.RevocationReason)
	if err != nil {
		return nil, err
	}
	return resource.NewAPIKey(t, store.Now()), nil
}

// RevokeForOrganization revokes the API key p.ID of the organization
// p.Subject (required) for c, checked as CreateForOrganization is: a key
// of another organization or of a user is a 404 through this one.
func (a *APIKeysAPI) RevokeForOrganization(ctx context.Context, c identity.Caller, p RevokeAPIKeyParams) (*APIKeyObject, error) {
	if !validID("org_", p.Subject) {
		return nil, paramInvalid("subject", "subject must be an organization id")
	}
	reason, err := checkRevocation(store.TokenTypeAPIKey, p.ID, p.RevocationReason)
	if err != nil {
		return nil, err
	}
	t, err := a.orgs.RevokeAPIKey(ctx, c, p.Subject, p.ID, reason)
	if err != nil {
		return nil, fromIdentity("revoke API key", err)
	}
	return resource.NewAPIKey(t, store.Now()), nil
}

// Verify returns the live API key with the secret, and records its use.
// An unknown, malformed, revoked or expired key, or the key of a banned
// user, is a 404.
func (a *APIKeysAPI) Verify(ctx context.Context, secret string) (*APIKeyObject, error) {
	t, err := a.tokens.verify(ctx, store.TokenTypeAPIKey, secret)
	if err != nil {
		return nil, err
	}
	return resource.NewAPIKey(t, store.Now()), nil
}

// verify is the backend-client form of lookup: refusals become a 404.
func (m machineTokens) verify(ctx context.Context, typ string, secret string) (*store.MachineToken, error) {
	t, reason, err := m.lookup(ctx, typ, secret)
	if err != nil {
		return nil, fmt.Errorf("clerkclient: verify %s: %w", typ, err)
	}
	if t == nil {
		what := tokenWhat(typ)
		msg := what + " not found"
		if reason == token.ReasonExpired {
			msg = what + " has expired"
		}
		return nil, apiError(http.StatusNotFound, "resource_not_found", msg, "")
	}
	_ = m.recordUse(ctx, t) // best effort: a failed stamp does not unmake a valid token
	return t, nil
}

func (m machineTokens) list(ctx context.Context, f store.MachineTokenFilter) ([]*store.MachineToken, int, error) {
	if err := checkPage(f.Limit, f.Offset, 100); err != nil {
		return nil, 0, err
	}
	f.Now = store.Now()
	list, total, err := m.store.ListMachineTokens(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("clerkclient: list %s: %w", f.Type, err)
	}
	return list, total, nil
}

func (m machineTokens) revoke(ctx context.Context, typ string, id, subject, reason string) (*store.MachineToken, error) {
	reason, err := checkRevocation(typ, id, reason)
	if err != nil {
		return nil, err
	}
	what := tokenWhat(typ)
	t, err := m.store.RevokeMachineToken(ctx, string(typ), id, subject, reason)
	if err != nil {
		return nil, tokenStoreError("revoke "+what, what, err)
	}
	return t, nil
}

// checkRevocation checks the id of a token of type typ to revoke (a
// malformed one is not found) and returns the trimmed reason.
func checkRevocation(typ string, id, reason string) (string, error) {
	prefix := APIKeyPrefix
	if typ == store.TokenTypeM2M {
		prefix = M2MTokenPrefix
	}
	if !isTokenID(prefix, id) {
		return "", notFound(tokenWhat(typ))
	}
	return checkLabel("revocation_reason", reason, 255, false)
}

// tokenWhat names a machine token type in messages.
func tokenWhat(typ string) string {
	if typ == store.TokenTypeM2M {
		return "M2M token"
	}
	return "API key"
}

// toResources converts stored tokens with conv, all at one "now".
func toResources[T any](list []*store.MachineToken, conv func(*store.MachineToken, int64) T) []T {
	now := store.Now()
	out := make([]T, 0, len(list))
	for _, t := range list {
		out = append(out, conv(t, now))
	}
	return out
}

// tokenStoreError maps store sentinels of the machine APIs to API errors.
func tokenStoreError(op, what string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound(what)
	}
	return fmt.Errorf("clerkclient: %s: %w", op, err)
}

func paramInvalid(param, msg string) *APIError {
	return apiError(http.StatusUnprocessableEntity, "form_param_format_invalid", msg, param)
}

// checkLabel trims a name or description and checks its length and that
// it holds no control characters.
func checkLabel(param, v string, max int, required bool) (string, error) {
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	if required && n == 0 {
		return "", apiError(http.StatusUnprocessableEntity, "form_param_missing", param+" is required", param)
	}
	if n > max || !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", paramInvalid(param, fmt.Sprintf("%s must be at most %d characters, without control characters", param, max))
	}
	return v, nil
}

// validID reports whether id is prefix followed by 1 to 64 base62
// characters, the shape of Gatehouse's ids.
func validID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	return ok && len(rest) > 0 && len(rest) <= 64 && isBase62(rest, len(rest))
}

// isTokenID reports whether id has the shape of an M2M token or API key
// id: the prefix and 32 lower-case hex digits.
func isTokenID(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || len(rest) != 32 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// checkIDs checks a list of ids of one kind, dropping duplicates.
func checkIDs(param, prefix string, ids []string, max int) ([]string, error) {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !validID(prefix, id) {
			return nil, paramInvalid(param, param+" must hold "+strings.TrimSuffix(prefix, "_")+"_… ids")
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > max {
		return nil, paramInvalid(param, fmt.Sprintf("%s may hold at most %d ids", param, max))
	}
	return out, nil
}

// checkScopes checks free-form API key scopes, dropping duplicates.
func checkScopes(scopes []string) ([]string, error) {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if s == "" || len(s) > 100 || !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsControl(r)
		}) >= 0 {
			return nil, paramInvalid("scopes", "each scope must be 1 to 100 characters without spaces")
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > maxAPIKeyScopes {
		return nil, paramInvalid("scopes", fmt.Sprintf("an API key may have at most %d scopes", maxAPIKeyScopes))
	}
	return out, nil
}

// checkClaims accepts a JSON object of at most maxClaimsBytes, or nothing
// (nil or null), and returns it compacted.
func checkClaims(raw json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, nil
	}
	var obj map[string]any
	if len(trimmed) > maxClaimsBytes || json.Unmarshal(trimmed, &obj) != nil || obj == nil {
		return nil, paramInvalid("claims", fmt.Sprintf("claims must be a JSON object of at most %d bytes", maxClaimsBytes))
	}
	var out bytes.Buffer
	if err := json.Compact(&out, trimmed); err != nil {
		return nil, paramInvalid("claims", "claims must be a JSON object")
	}
	return out.Bytes(), nil
}

func checkPage(limit, offset, max int) error {
	if limit < 0 || limit > max || offset < 0 {
		return paramInvalid("limit", fmt.Sprintf("limit must be 1 to %d and offset at least 0", max))
	}
	return nil
}
