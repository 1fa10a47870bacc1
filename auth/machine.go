package auth

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// ParseMachineToken reports the type of an opaque machine token by its
// prefix (mt_ for M2M tokens, ak_ for API keys, oat_ for OAuth access
// tokens) and whether the rest has the shape of a secret this instance
// issues; see clerkclient.ParseMachineToken.
func ParseMachineToken(s string) (TokenType, bool) {
	typ, ok := clerkclient.ParseMachineToken(s)
	return TokenType(typ), ok
}

// authFromMachineToken builds the signed-in object of a verified machine
// token. Every call gets its own copies of scopes and claims.
func authFromMachineToken(t *store.MachineToken, tok string) *Auth {
	a := &Auth{
		TokenType:       TokenType(t.Type),
		IsAuthenticated: true,
		ID:              t.ID,
		Subject:         t.Subject,
		Scopes:          slices.Clone(t.Scopes),
		tok:             tok,
	}
	if a.Scopes == nil {
		a.Scopes = []string{}
	}
	if t.Claims != nil {
		// Stored claims were checked to be a JSON object at creation.
		json.Unmarshal(t.Claims, &a.Claims)
	}
	switch a.TokenType {
	case M2MToken:
		a.MachineID = t.Subject
	case APIKey:
		a.Name = t.Name
		switch {
		case strings.HasPrefix(t.Subject, "user_"):
			a.UserID = t.Subject
		case strings.HasPrefix(t.Subject, "org_"):
			a.OrgID = t.Subject
		}
	}
	return a
}

// machineJSONMap is the JSON of the objects that are not session objects,
// with Clerk's keys for each type: the invalid-token object (tokenType
// null) has only tokenType and isAuthenticated; an m2m_token object adds
// id, subject, scopes, claims and machineId; an api_key object id, name,
// subject, scopes, claims, userId and orgId; an oauth_token object id,
// subject, scopes, userId and clientId. Empty values are null.
func (a *Auth) machineJSONMap() map[string]any {
	m := map[string]any{
		"tokenType":       nullable(string(a.TokenType)),
		"isAuthenticated": a.IsAuthenticated,
	}
	if a.TokenType == "" {
		return m
	}
	m["id"], m["subject"], m["scopes"] = nullable(a.ID), nullable(a.Subject), nil
	if a.IsAuthenticated {
		m["scopes"] = a.Scopes
	}
	switch a.TokenType {
	case M2MToken:
		m["machineId"], m["claims"] = nullable(a.MachineID), nullableMap(a.Claims)
	case APIKey:
		m["name"], m["claims"] = nullable(a.Name), nullableMap(a.Claims)
		m["userId"], m["orgId"] = nullable(a.UserID), nullable(a.OrgID)
	case OAuthToken:
		m["userId"], m["clientId"] = nullable(a.UserID), nil
	}
	return m
}

func nullableMap(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

// verifyMachine resolves a machine token presented in the Authorization
// header. Only this path, never the session-token one, touches the store.
func (st *requestState) verifyMachine(ctx context.Context, tok string) {
	c := st.opts.Client
	t, reason, err := c.LookupMachineToken(ctx, string(st.presented), tok)
	if err != nil {
		st.opts.Logger.ErrorContext(ctx, "machine token lookup failed", "token_type", st.presented, "err", err)
	}
	if t == nil {
		st.reason = reason
		return
	}
	if err := c.RecordMachineTokenUse(ctx, t); err != nil {
		// The token is valid; only the bookkeeping failed.
		st.opts.Logger.WarnContext(ctx, "recording a machine token's use failed", "token_id", t.ID, "err", err)
	}
	st.machine, st.tok, st.reason = t, tok, ""
}
