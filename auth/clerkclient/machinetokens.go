package clerkclient

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	M2MTokenPrefix   = "mt_"
	APIKeyPrefix     = "ak_"
	OAuthTokenPrefix = "oat_"
	// Machine secret keys are ak_-style secrets too, as in Clerk; they
	// live in their own table and never pass as an API key.
	machineSecretPrefix = "ak_"
	machineSecretLen    = 43
)

// reasonMachineUnexpected is the reason given, in X-Clerk-Auth-Reason,
// when the store could not be asked.
const reasonMachineUnexpected = "unexpected-error"

// ParseMachineToken reports the type of an opaque machine token by its
// prefix (store.TokenTypeM2M for mt_, store.TokenTypeAPIKey for ak_,
// "oauth_token" for oat_) and whether the rest has the shape of a secret
// this instance issues: exactly 43 base62 characters. OAuth access tokens
// are never issued here, so an oat_ token is never well-formed. A string
// without a machine prefix returns ("", false).
func ParseMachineToken(s string) (string, bool) {
	var typ, rest string
	switch {
	case strings.HasPrefix(s, M2MTokenPrefix):
		typ, rest = store.TokenTypeM2M, s[len(M2MTokenPrefix):]
	case strings.HasPrefix(s, APIKeyPrefix):
		typ, rest = store.TokenTypeAPIKey, s[len(APIKeyPrefix):]
	case strings.HasPrefix(s, OAuthTokenPrefix):
		return "oauth_token", false
	default:
		return "", false
	}
	return typ, isBase62(rest, machineSecretLen)
}

// lastUsedInterval bounds how often a token's last_used_at is written: at
// most once a minute per token, whatever the traffic.
const lastUsedInterval = time.Minute

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
func (m machineTokens) lookup(ctx context.Context, typ, tok string) (*store.MachineToken, string, error) {
	got, ok := ParseMachineToken(tok)
	if !ok || got != typ {
		return nil, token.ReasonInvalid, nil
	}
	t, err := m.store.GetMachineTokenBySecretHash(ctx, typ, hashSecret(tok))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, token.ReasonInvalid, nil
	case err != nil:
		return nil, reasonMachineUnexpected, err
	case t.Revoked:
		return nil, token.ReasonInvalid, nil
	case t.Expired(store.Now()):
		return nil, token.ReasonExpired, nil
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

// LookupMachineToken returns the live M2M token or API key (typ is
// store.TokenTypeM2M or store.TokenTypeAPIKey) whose secret is tok, or the
// reason it is refused. err is set only when the store failed. The
// middleware calls it for every request that presents a machine token, so
// a revocation holds from the next request.
func (c *Client) LookupMachineToken(ctx context.Context, typ, tok string) (*store.MachineToken, string, error) {
	if c == nil || c.machineTokens.store == nil {
		return nil, token.ReasonInvalid, nil
	}
	return c.machineTokens.lookup(ctx, typ, tok)
}

// RecordMachineTokenUse stamps the token's last use, at most once per
// minute per token.
func (c *Client) RecordMachineTokenUse(ctx context.Context, t *store.MachineToken) error {
	return c.machineTokens.recordUse(ctx, t)
}
