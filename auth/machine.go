package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// Machine tokens are opaque: a type prefix and 43 random base62
// characters (256 bits). The store keeps only their SHA-256, which is
// enough for secrets of that entropy (no salt or slow hash is needed:
// nothing can be guessed).
const (
	m2mTokenPrefix = "mt_"
	apiKeyPrefix   = "ak_"
	oauthPrefix    = "oat_"
	// Machine secret keys are ak_-style secrets too, as in Clerk; they
	// live in their own table and never pass as an API key.
	machineSecretPrefix = "ak_"
	machineSecretLen    = 43
)

// Reasons a machine token is refused, in X-Clerk-Auth-Reason.
const (
	reasonMachineUnexpected = "unexpected-error"
	reasonMachineExpired    = token.ReasonExpired
)

// lastUsedInterval bounds how often a token's last_used_at is written: at
// most once a minute per token, whatever the traffic.
const lastUsedInterval = time.Minute

// ParseMachineToken reports the type of an opaque machine token by its
// prefix (mt_ for M2M tokens, ak_ for API keys, oat_ for OAuth access
// tokens) and whether the rest has the shape of a secret this instance
// issues: exactly 43 base62 characters. OAuth access tokens are never
// issued here, so an oat_ token is never well-formed. A string without a
// machine prefix returns ("", false).
func ParseMachineToken(s string) (TokenType, bool) {
	var typ TokenType
	var rest string
	switch {
	case strings.HasPrefix(s, m2mTokenPrefix):
		typ, rest = M2MToken, s[len(m2mTokenPrefix):]
	case strings.HasPrefix(s, apiKeyPrefix):
		typ, rest = APIKey, s[len(apiKeyPrefix):]
	case strings.HasPrefix(s, oauthPrefix):
		return OAuthToken, false
	default:
		return "", false
	}
	return typ, isBase62(rest, machineSecretLen)
}

func isBase62(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// newSecret returns a fresh secret with the prefix.
func newSecret(prefix string) string { return prefix + randid.Base62(machineSecretLen) }

// hashSecret is what the store keeps of a secret.
func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// newTokenID returns a token id in Clerk's shape: the prefix and 32 hex
// digits (128 random bits). Ids are not secrets; they are shorter than a
// secret, so one can never pass [ParseMachineToken].
func newTokenID(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return prefix + hex.EncodeToString(b)
}

// machineTokens verifies M2M tokens and API keys against the store. It is
// shared by the backend client and the middleware.
type machineTokens struct {
	store store.Store
}

// lookup returns the live token of type typ with the secret tok, or the
// reason it is refused ("" with a nil token never happens). err is set
// only when the store failed.
func (m machineTokens) lookup(ctx context.Context, typ TokenType, tok string) (*store.MachineToken, string, error) {
	got, ok := ParseMachineToken(tok)
	if !ok || got != typ {
		return nil, token.ReasonInvalid, nil
	}
	t, err := m.store.GetMachineTokenBySecretHash(ctx, string(typ), hashSecret(tok))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, token.ReasonInvalid, nil
	case err != nil:
		return nil, reasonMachineUnexpected, err
	case t.Revoked:
		return nil, token.ReasonInvalid, nil
	case t.Expired(store.Now()):
		return nil, reasonMachineExpired, nil
	}
	return t, "", nil
}

// recordUse stamps last_used_at, at most once per lastUsedInterval: the
// row just read says when it was last written, so most requests write
// nothing.
func (m machineTokens) recordUse(ctx context.Context, t *store.MachineToken) error {
	now := store.Now()
	interval := lastUsedInterval.Milliseconds()
	if now-t.LastUsedAt < interval {
		return nil
	}
	if err := m.store.TouchMachineToken(ctx, t.ID, now, interval); err != nil {
		return err
	}
	t.LastUsedAt = now
	return nil
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
	if c == nil || c.machineTokens.store == nil {
		st.reason = token.ReasonInvalid
		return
	}
	t, reason, err := c.machineTokens.lookup(ctx, st.presented, tok)
	if err != nil {
		st.opts.Logger.ErrorContext(ctx, "machine token lookup failed", "token_type", st.presented, "err", err)
	}
	if t == nil {
		st.reason = reason
		return
	}
	if err := c.machineTokens.recordUse(ctx, t); err != nil {
		// The token is valid; only the bookkeeping failed.
		st.opts.Logger.WarnContext(ctx, "recording a machine token's use failed", "token_id", t.ID, "err", err)
	}
	st.machine, st.tok, st.reason = t, tok, ""
}
