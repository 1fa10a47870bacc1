package token

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
)

// Signing algorithms of JWT templates.
const (
	AlgRS256 = "RS256"
	AlgHS256 = "HS256"
)

// Limits on template claims, so a template cannot make tokens no consumer
// accepts nor make minting expensive.
const (
	MaxTemplateClaimsBytes = 16 << 10
	maxTemplateDepth       = 32
	// MinHS256SecretBytes is the least HS256 secret (RFC 7518 §3.2: a key
	// at least as long as the hash output).
	MinHS256SecretBytes = 32
)

// ReservedTemplateClaims are set by the server on every template token; a
// template cannot set or override them.
var ReservedTemplateClaims = []string{"iss", "sub", "sid", "iat", "nbf", "exp", "azp", "jti", "act"}

// shortcodeRE matches one shortcode, {{path}}, spaces allowed inside.
var shortcodeRE = regexp.MustCompile(`\{\{\s*([^{}\s]+)\s*\}\}`)

// knownShortcodes are the shortcodes a template may use, besides
// user.public_metadata.<key path>.
var knownShortcodes = []string{
	"user.id", "user.first_name", "user.last_name", "user.primary_email_address", "user.email_verified", "user.public_metadata",
	"org.id", "org.slug", "org.role", "session.id",
}

// ShortcodeData holds the values shortcodes expand to, for one session.
type ShortcodeData struct {
	UserID, FirstName, LastName, PrimaryEmailAddress string
	// EmailVerified is whether the primary address is verified: a claim
	// of the address alone says nothing about who owns it.
	EmailVerified  bool
	PublicMetadata json.RawMessage
	SessionID      string
	// Org is the session token's "o" claim; nil without an active
	// organization.
	Org *OrgClaim
}

// ValidateTemplateClaims checks template claims before they are stored: a
// JSON object of bounded size and depth, no reserved claim at the top,
// and only known shortcodes. The error says what is wrong in words a
// developer can act on.
func ValidateTemplateClaims(claims json.RawMessage) error {
	if len(claims) > MaxTemplateClaimsBytes {
		return fmt.Errorf("claims must be at most %d bytes of JSON", MaxTemplateClaimsBytes)
	}
	v, err := decodeClaims(claims)
	if err != nil {
		return err
	}
	for _, name := range ReservedTemplateClaims {
		if _, ok := v[name]; ok {
			return fmt.Errorf("claims must not set %q: %s are set by the server", name, strings.Join(ReservedTemplateClaims, ", "))
		}
	}
	var bad string
	walkStrings(v, func(s string) {
		for _, m := range shortcodeRE.FindAllStringSubmatch(s, -1) {
			if bad == "" && !knownShortcode(m[1]) {
				bad = m[0]
			}
		}
	})
	if bad != "" {
		return fmt.Errorf("unknown shortcode %s; use one of {{%s}} or {{user.public_metadata.KEY}}", bad, strings.Join(knownShortcodes, "}}, {{"))
	}
	return nil
}

func knownShortcode(path string) bool {
	if rest, ok := strings.CutPrefix(path, "user.public_metadata."); ok {
		return rest != "" && !strings.HasPrefix(rest, ".") && !strings.HasSuffix(rest, ".") && !strings.Contains(rest, "..")
	}
	return slices.Contains(knownShortcodes, path)
}

// decodeClaims parses a JSON object, keeping numbers exact, within the
// depth limit.
func decodeClaims(claims json.RawMessage) (map[string]any, error) {
	if err := checkDepth(claims); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(claims))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil || v == nil {
		return nil, errors.New("claims must be a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("claims must be a single JSON object")
	}
	return v, nil
}

// checkDepth refuses JSON nested deeper than maxTemplateDepth, before the
// decoder recurses into it.
func checkDepth(b []byte) error {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			if depth++; depth > maxTemplateDepth {
				return fmt.Errorf("claims must be nested at most %d levels deep", maxTemplateDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// walkStrings calls fn for every string value (not object keys) in v.
func walkStrings(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case map[string]any:
		for _, e := range x {
			walkStrings(e, fn)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, fn)
		}
	}
}

// ExpandClaims replaces the shortcodes in template claims with d's values.
// A string that is exactly one shortcode takes the value's JSON type (a
// missing value is null); shortcodes inside a longer string are replaced
// by their text (strings as they are, other values as JSON, missing ones
// by nothing). Object keys are never expanded.
func ExpandClaims(claims json.RawMessage, d *ShortcodeData) (map[string]any, error) {
	v, err := decodeClaims(claims)
	if err != nil {
		return nil, err
	}
	return d.expand(v).(map[string]any), nil
}

func (d *ShortcodeData) expand(v any) any {
	switch x := v.(type) {
	case string:
		return d.expandString(x)
	case map[string]any:
		for k, e := range x {
			x[k] = d.expand(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = d.expand(e)
		}
		return x
	}
	return v
}

func (d *ShortcodeData) expandString(s string) any {
	idx := shortcodeRE.FindAllStringSubmatchIndex(s, -1)
	if len(idx) == 0 {
		return s
	}
	if len(idx) == 1 && idx[0][0] == 0 && idx[0][1] == len(s) {
		v, _ := d.lookup(s[idx[0][2]:idx[0][3]])
		return v
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		b.WriteString(s[last:m[0]])
		switch v, _ := d.lookup(s[m[2]:m[3]]); x := v.(type) {
		case nil:
		case string:
			b.WriteString(x)
		default:
			j, _ := json.Marshal(x)
			b.Write(j)
		}
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// lookup returns the value of a shortcode path; false when it has none.
func (d *ShortcodeData) lookup(path string) (any, bool) {
	str := func(s string) (any, bool) {
		if s == "" {
			return nil, false
		}
		return s, true
	}
	switch path {
	case "user.id":
		return str(d.UserID)
	case "user.first_name":
		return str(d.FirstName)
	case "user.last_name":
		return str(d.LastName)
	case "user.primary_email_address":
		return str(d.PrimaryEmailAddress)
	case "user.email_verified":
		return d.EmailVerified, true
	case "session.id":
		return str(d.SessionID)
	case "org.id", "org.slug", "org.role":
		if d.Org == nil {
			return nil, false
		}
		switch path {
		case "org.id":
			return str(d.Org.ID)
		case "org.slug":
			return str(d.Org.Slug)
		}
		return str((&Claims{Org: d.Org}).OrgRole())
	}
	rest, ok := strings.CutPrefix(path, "user.public_metadata")
	if !ok || (rest != "" && rest[0] != '.') {
		return nil, false
	}
	var cur any
	dec := json.NewDecoder(bytes.NewReader(d.PublicMetadata))
	dec.UseNumber()
	if err := dec.Decode(&cur); err != nil {
		return nil, false
	}
	if rest == "" {
		return cur, true
	}
	for _, key := range strings.Split(rest[1:], ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// TemplateToken is what the server sets on a template token.
type TemplateToken struct {
	Issuer, Subject, SessionID, AuthorizedParty string
	IssuedAt                                    time.Time
	Lifetime, AllowedClockSkew                  int64 // seconds
	// Actor is who acts during impersonation: set, it is the act claim,
	// so a downstream service can tell impersonation from the user.
	Actor *Actor
}

// TemplateClaims expands template claims with d and sets the reserved
// claims: iss, sub, sid, iat, nbf (iat − allowed clock skew), exp (iat +
// lifetime), azp, a fresh jti, and act from an actor session only (a
// template stored before act was reserved cannot claim one).
func TemplateClaims(claims json.RawMessage, d *ShortcodeData, t TemplateToken) (map[string]any, error) {
	out, err := ExpandClaims(claims, d)
	if err != nil {
		return nil, err
	}
	iat := t.IssuedAt.Unix()
	out["iss"] = t.Issuer
	out["sub"] = t.Subject
	out["sid"] = t.SessionID
	out["iat"] = iat
	out["nbf"] = iat - t.AllowedClockSkew
	out["exp"] = iat + t.Lifetime
	out["azp"] = t.AuthorizedParty
	out["jti"] = randid.Base62(20)
	delete(out, "act")
	if t.Actor != nil {
		out["act"] = t.Actor
	}
	return out, nil
}

// TemplateKey is a template's custom signing key. The zero value (and
// nil) means the instance key.
type TemplateKey struct {
	Algorithm string
	Secret    []byte          // HS256
	Private   *rsa.PrivateKey // RS256
}

// ParseTemplateKey checks the custom key material a developer gives for
// alg (an HS256 secret of at least 32 bytes, or an RS256 private key in
// PEM) and returns the key and the bytes to store encrypted.
func ParseTemplateKey(alg, material string) (*TemplateKey, []byte, error) {
	switch alg {
	case AlgHS256:
		if len(material) < MinHS256SecretBytes {
			return nil, nil, fmt.Errorf("an HS256 signing key must be at least %d bytes", MinHS256SecretBytes)
		}
		return &TemplateKey{Algorithm: alg, Secret: []byte(material)}, []byte(material), nil
	case AlgRS256:
		k, err := ParsePrivateKeyPEM(material)
		if err != nil {
			return nil, nil, fmt.Errorf("an RS256 signing key must be an RSA private key in PEM: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k.Private)
		if err != nil {
			return nil, nil, fmt.Errorf("encode signing key: %w", err)
		}
		return &TemplateKey{Algorithm: alg, Private: k.Private}, der, nil
	}
	return nil, nil, fmt.Errorf("signing_algorithm must be %s or %s", AlgRS256, AlgHS256)
}

// LoadTemplateKey rebuilds a custom key from its stored (decrypted) bytes.
func LoadTemplateKey(alg string, stored []byte) (*TemplateKey, error) {
	switch alg {
	case AlgHS256:
		return &TemplateKey{Algorithm: alg, Secret: stored}, nil
	case AlgRS256:
		k, err := x509.ParsePKCS8PrivateKey(stored)
		if err != nil {
			return nil, fmt.Errorf("token: parse template key: %w", err)
		}
		priv, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("token: template key is not RSA")
		}
		return &TemplateKey{Algorithm: alg, Private: priv}, nil
	}
	return nil, fmt.Errorf("token: unknown template algorithm %q", alg)
}

// NewTemplateSealer returns the sealer of template keys at rest.
func NewTemplateSealer(encryptionKey []byte) (*Sealer, error) {
	return NewSealer(encryptionKey, sealTemplateKeys)
}

// SignTemplate signs template claims. With the instance key (key nil or
// zero) the header carries kid and the template category, so the token
// can never pass as a session token; a custom RS256 key's header carries
// its thumbprint as kid, an HS256 token's header only alg and typ.
func (kr *Keyring) SignTemplate(claims map[string]any, key *TemplateKey) (string, error) {
	if key == nil || key.Algorithm == "" {
		return kr.Sign(claims, CategoryTemplate)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("token: encode claims: %w", err)
	}
	h := jws.NewHeaders()
	if err := h.Set("typ", "JWT"); err != nil {
		return "", fmt.Errorf("token: header: %w", err)
	}
	var opt jws.SignOption
	switch {
	case key.Algorithm == AlgHS256 && len(key.Secret) > 0:
		opt = jws.WithKey(jwa.HS256(), key.Secret, jws.WithProtectedHeaders(h))
	case key.Algorithm == AlgRS256 && key.Private != nil:
		if err := h.Set("kid", thumbprint(&key.Private.PublicKey)); err != nil {
			return "", fmt.Errorf("token: header: %w", err)
		}
		opt = jws.WithKey(jwa.RS256(), key.Private, jws.WithProtectedHeaders(h))
	default:
		return "", fmt.Errorf("token: unusable template key (%s)", key.Algorithm)
	}
	out, err := jws.Sign(payload, opt)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return string(out), nil
}
