package token

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Reasons a token is refused, with Clerk's reason strings.
const (
	ReasonInvalid              = "token-invalid"
	ReasonInvalidAlgorithm     = "token-invalid-algorithm"
	ReasonKidMismatch          = "jwk-kid-mismatch"
	ReasonInvalidSignature     = "token-invalid-signature"
	ReasonVerificationFailed   = "token-verification-failed"
	ReasonInvalidIssuer        = "token-invalid-issuer"
	ReasonExpired              = "token-expired"
	ReasonNotActiveYet         = "token-not-active-yet"
	ReasonIATInTheFuture       = "token-iat-in-the-future"
	ReasonInvalidAuthorizedPty = "token-invalid-authorized-parties"
)

// MaxTokenSize bounds the tokens the verifier will look at.
const MaxTokenSize = 8 << 10

// Skew is the clock skew allowed on exp, nbf and iat.
const Skew = 5 * time.Second

// Error is a verification failure; Reason is one of the Reason constants.
type Error struct {
	Reason  string
	Message string
}

func (e *Error) Error() string { return "token: " + e.Reason + ": " + e.Message }

func fail(reason, msg string) *Error { return &Error{Reason: reason, Message: msg} }

// Reason returns the Clerk reason string of a verification error, or
// "unexpected-error" for any other error.
func Reason(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Reason
	}
	return "unexpected-error"
}

// Verifier verifies session tokens. It is safe for concurrent use.
type Verifier struct {
	keys              *Keyring
	issuer            string
	authorizedParties []string
	maxLifetime       int64 // seconds: the token TTL plus the skew
	now               func() time.Time
	cache             *cache
}

// VerifierConfig configures [NewVerifier].
type VerifierConfig struct {
	Keys              *Keyring
	Issuer            string        // required value of iss (APP_URL)
	AuthorizedParties []string      // accepted values of azp
	TokenTTL          time.Duration // SESSION_TOKEN_TTL
	Now               func() time.Time
	// CacheSize bounds the verified-token cache; 0 means 50,000 entries,
	// a negative value disables the cache.
	CacheSize int
}

// NewVerifier returns a verifier for session tokens.
func NewVerifier(c VerifierConfig) *Verifier {
	v := &Verifier{
		keys:              c.Keys,
		issuer:            c.Issuer,
		authorizedParties: slices.Clone(c.AuthorizedParties),
		maxLifetime:       int64((c.TokenTTL + Skew) / time.Second),
		now:               c.Now,
	}
	if v.now == nil {
		v.now = time.Now
	}
	size := c.CacheSize
	if size == 0 {
		size = 50_000
	}
	if size > 0 {
		v.cache = newCache(size)
	}
	return v
}

// Verify checks a session token and returns its claims, which callers
// must treat as read-only: cache hits share them. The checks run in
// a fixed order and the first failure is the reason (see [Error]).
//
// A token that verified before is answered from a cache keyed by the exact
// token string, after re-checking its expiry and that the key set has not
// changed; every other check has an outcome that time cannot change.
func (v *Verifier) Verify(tok string) (*Claims, error) {
	now := v.now()
	// Read the key-set generation before verifying, so a rotation racing
	// with this call can only make the entry stale, never wrongly fresh.
	gen := v.keys.generation()
	if v.cache != nil {
		if c, ok := v.cache.get(tok, gen, now.Unix()-int64(Skew/time.Second)); ok {
			return c, nil
		}
	}
	c, err := v.verify(tok, now)
	if err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(tok, c, gen, now.Unix())
	}
	return c, nil
}

func (v *Verifier) verify(tok string, now time.Time) (*Claims, error) {
	// 1. Shape: three unpadded base64url segments, bounded size. This also
	// rules out JSON serialisations and JWE (five segments).
	if len(tok) == 0 || len(tok) > MaxTokenSize || !compactShape(tok) {
		return nil, fail(ReasonInvalid, "not a compact JWS of three base64url segments")
	}
	hdrSeg, _, _ := strings.Cut(tok, ".")
	sigSeg := tok[strings.LastIndexByte(tok, '.')+1:]
	strict := base64.RawURLEncoding.Strict()
	hdrJSON, err := strict.DecodeString(hdrSeg)
	if err != nil {
		return nil, fail(ReasonInvalid, "header is not base64url")
	}
	// Header and claims are read by their exact names: encoding/json's
	// case-insensitive struct matching would let "ALG" or "SUB" stand in.
	var h map[string]json.RawMessage
	if err := json.Unmarshal(hdrJSON, &h); err != nil || h == nil {
		return nil, fail(ReasonInvalid, "header is not a JSON object")
	}
	// 2. Header.
	if raw, ok := h["typ"]; ok && !isString(raw, "JWT") {
		return nil, fail(ReasonInvalid, "typ is not JWT")
	}
	if !isString(h["cat"], CategorySession) {
		return nil, fail(ReasonInvalid, "not a session token")
	}
	if _, ok := h["crit"]; ok {
		return nil, fail(ReasonInvalid, "crit header is not supported")
	}
	if !isString(h["alg"], "RS256") {
		return nil, fail(ReasonInvalidAlgorithm, "alg must be RS256")
	}
	var kid string
	if json.Unmarshal(h["kid"], &kid) != nil {
		return nil, fail(ReasonKidMismatch, "kid names no trusted key")
	}
	key, ok := v.keys.lookupOrReload(kid)
	if !ok {
		return nil, fail(ReasonKidMismatch, "kid names no trusted key")
	}
	// 3. Signature. jku, x5u, jwk and x5c are never consulted: the key
	// comes from our keyring only. The signature must be canonical
	// base64url (jwx ignores stray low bits), so a token has one spelling.
	if !canonical(strict, sigSeg) {
		return nil, fail(ReasonInvalidSignature, "signature is not canonical base64url")
	}
	payload, err := jws.Verify([]byte(tok), jws.WithKey(jwa.RS256(), key.Public), jws.WithCompact())
	if err != nil {
		return nil, fail(ReasonInvalidSignature, "signature does not verify")
	}
	// 4. Claims.
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil || m == nil {
		return nil, fail(ReasonInvalid, "payload is not a JSON object")
	}
	var w wireClaims
	for name, dst := range map[string]*any{"iss": &w.Iss, "sub": &w.Sub, "sid": &w.Sid, "exp": &w.Exp, "nbf": &w.Nbf, "iat": &w.Iat, "azp": &w.Azp} {
		if raw, ok := m[name]; ok {
			json.Unmarshal(raw, dst) // valid JSON already; the type is checked below
		}
	}
	if s, ok := w.Sub.(string); !ok || s == "" {
		return nil, fail(ReasonVerificationFailed, "sub must be a non-empty string")
	}
	if s, ok := w.Sid.(string); !ok || s == "" {
		return nil, fail(ReasonVerificationFailed, "sid must be a non-empty string")
	}
	if s, ok := w.Iss.(string); !ok || s != v.issuer {
		return nil, fail(ReasonInvalidIssuer, "iss is not this instance")
	}
	nowS := float64(now.Unix())
	skew := Skew.Seconds()
	exp, ok := w.Exp.(float64)
	if !ok || exp <= nowS-skew {
		return nil, fail(ReasonExpired, "token has expired")
	}
	if nbf, ok := w.Nbf.(float64); w.Nbf != nil && (!ok || nbf > nowS+skew) {
		return nil, fail(ReasonNotActiveYet, "token is not valid yet")
	}
	iat, ok := w.Iat.(float64)
	if w.Iat != nil && (!ok || iat > nowS+skew) {
		return nil, fail(ReasonIATInTheFuture, "token was issued in the future")
	}
	if !ok || exp-iat > float64(v.maxLifetime) {
		return nil, fail(ReasonVerificationFailed, "token lifetime exceeds the session token TTL")
	}
	if w.Azp != nil {
		azp, ok := w.Azp.(string)
		if !ok || !slices.Contains(v.authorizedParties, azp) {
			return nil, fail(ReasonInvalidAuthorizedPty, "azp is not an authorized party")
		}
	}
	c, err := claimsFromMap(m)
	if err != nil {
		return nil, fail(ReasonVerificationFailed, "a claim has the wrong type")
	}
	c.raw = payload
	return c, nil
}

// wireClaims holds the claims the verifier checks as untyped values, so
// a claim of the wrong type yields the reason of its check.
type wireClaims struct {
	Iss, Sub, Sid, Exp, Nbf, Iat, Azp any
}

func isString(raw json.RawMessage, want string) bool {
	var s string
	return raw != nil && json.Unmarshal(raw, &s) == nil && s == want
}

// canonical reports whether seg is strict, canonical base64url.
func canonical(enc *base64.Encoding, seg string) bool {
	_, err := enc.DecodeString(seg)
	return err == nil
}

// claimsFromMap fills Claims from exactly named members.
func claimsFromMap(m map[string]json.RawMessage) (*Claims, error) {
	c := &Claims{}
	fields := []struct {
		name string
		dst  any
	}{
		{"iss", &c.Issuer}, {"sub", &c.Subject}, {"sid", &c.SessionID}, {"iat", &c.IssuedAt},
		{"nbf", &c.NotBefore}, {"exp", &c.Expiry}, {"jti", &c.ID}, {"v", &c.Version},
		{"azp", &c.AuthorizedParty}, {"sts", &c.Status}, {"fva", &c.FVA}, {"fea", &c.Features},
	}
	for _, f := range fields {
		if raw, ok := m[f.name]; ok {
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return nil, err
			}
		}
	}
	if raw, ok := m["act"]; ok && string(raw) != "null" {
		var am map[string]json.RawMessage
		if err := json.Unmarshal(raw, &am); err != nil {
			return nil, err
		}
		c.Actor = &Actor{}
		if err := exactStrings(am, map[string]*string{"sub": &c.Actor.Subject, "sid": &c.Actor.SessionID}); err != nil {
			return nil, err
		}
	}
	if raw, ok := m["o"]; ok && string(raw) != "null" {
		var om map[string]json.RawMessage
		if err := json.Unmarshal(raw, &om); err != nil {
			return nil, err
		}
		c.Org = &OrgClaim{}
		if err := exactStrings(om, map[string]*string{"id": &c.Org.ID, "slg": &c.Org.Slug, "rol": &c.Org.Role,
			"per": &c.Org.Permissions, "fpm": &c.Org.FeatureMask}); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func exactStrings(m map[string]json.RawMessage, dst map[string]*string) error {
	for name, p := range dst {
		if raw, ok := m[name]; ok {
			if err := json.Unmarshal(raw, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// compactShape reports whether s is three non-empty base64url segments
// without padding.
func compactShape(s string) bool {
	dots, seg := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if seg == 0 {
				return false
			}
			dots++
			seg = 0
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			seg++
		default:
			return false
		}
	}
	return dots == 2 && seg > 0
}
