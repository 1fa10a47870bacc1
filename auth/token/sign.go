package token

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// ErrNoSigningKey is returned when the process has no private key (verify-only mode).
var ErrNoSigningKey = errors.New("token: no signing key (verify-only mode)")

// Sign signs claims with the keyring's active key as a compact RS256 JWS
// whose header carries the kid, typ "JWT" and the given category.
func (kr *Keyring) Sign(claims any, category string) (string, error) {
	k := kr.Active()
	if k == nil {
		return "", ErrNoSigningKey
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("token: encode claims: %w", err)
	}
	h := jws.NewHeaders()
	for name, v := range map[string]string{"kid": k.KID, "typ": "JWT", "cat": category} {
		if err := h.Set(name, v); err != nil {
			return "", fmt.Errorf("token: header %s: %w", name, err)
		}
	}
	out, err := jws.Sign(payload, jws.WithKey(jwa.RS256(), k.Private, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return string(out), nil
}

// SignSession signs session claims with the session category and keeps
// the signed payload in c, so c marshals exactly as a verifier would see it.
func (kr *Keyring) SignSession(c *Claims) (string, error) {
	c.raw = nil
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("token: encode claims: %w", err)
	}
	tok, err := kr.Sign(json.RawMessage(payload), CategorySession)
	if err != nil {
		return "", err
	}
	c.raw = payload
	return tok, nil
}
