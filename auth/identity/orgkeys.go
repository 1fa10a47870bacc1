package identity

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// CodeAPIKeyQuota refuses a new API key when its organization has as many
// live keys as it may (409).
const CodeAPIKeyQuota = "api_key_quota_exceeded"

// An organization's API keys are authorised like every organization
// write: the store checks, inside the write's transaction, that a user
// caller is a member whose role grants [roles.APIKeysManage] at that
// moment. The key itself (its secret, name and expiry) is made and
// checked by the backend client, which calls these.

// AddAPIKey stores t, a new API key of the organization t.Subject, for c.
// With maxLive > 0 the organization may hold at most that many live keys
// (CodeAPIKeyQuota), also under concurrent requests. An impersonation
// session is refused (CodeImpersonationRefused).
func (o *Orgs) AddAPIKey(ctx context.Context, c Caller, t store.MachineToken, maxLive int) error {
	ctx = c.writeContext(ctx)
	if c.impersonated {
		return errActorRestricted()
	}
	err := o.st.InsertOrganizationAPIKey(ctx, t, maxLive, o.guard(c, roles.APIKeysManage))
	if errors.Is(err, store.ErrKeyLimit) {
		return &Error{Status: http.StatusConflict, Code: CodeAPIKeyQuota, Message: "This organization has as many API keys as it may. Revoke one before creating another.",
			LongMessage: "An organization may hold a limited number of live API keys."}
	}
	if err != nil {
		return orgError(err, "Organization")
	}
	o.cfg.Log.InfoContext(ctx, "organization API key created", "organization_id", t.Subject, "api_key_id", t.ID, "by", c.userID)
	return nil
}

// CheckAPIKeyAccess reports, for a read, whether c may see orgID's API
// keys: a member whose role grants [roles.APIKeysManage], or the
// instance. Writes are checked again by the store.
func (o *Orgs) CheckAPIKeyAccess(ctx context.Context, c Caller, orgID string) error {
	return o.readable(ctx, c, orgID, roles.APIKeysManage)
}

// RevokeAPIKey revokes the API key id of the organization orgID for c; it
// stops working from the next request. A key of another organization or
// of a user is not found through orgID. An impersonation session is
// refused.
func (o *Orgs) RevokeAPIKey(ctx context.Context, c Caller, orgID, id, reason string) (*store.MachineToken, error) {
	ctx = c.writeContext(ctx)
	if c.impersonated {
		return nil, errActorRestricted()
	}
	t, err := o.st.RevokeOrganizationAPIKey(ctx, orgID, id, reason, o.guard(c, roles.APIKeysManage))
	if err != nil {
		return nil, orgError(err, "API key")
	}
	o.cfg.Log.InfoContext(ctx, "organization API key revoked", "organization_id", orgID, "api_key_id", id, "by", c.userID)
	return t, nil
}
