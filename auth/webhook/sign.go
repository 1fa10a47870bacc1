// Package webhook delivers Gatehouse's events to webhook endpoints as
// Clerk does, through Svix: Clerk's event names and envelope, signed with
// the endpoint's whsec_ secret, retried on Svix's schedule from a durable
// outbox (the audit events), and verifies such requests for apps that
// receive them.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every endpoint secret.
const SecretPrefix = "whsec_"

// Tolerance is how far a signed request's timestamp may be from now.
const Tolerance = 5 * time.Minute

// NewSecret returns a fresh endpoint secret: whsec_ and 24 random bytes
// in base64, as Svix makes them.
func NewSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, errors.New("webhook: the secret is not whsec_ and base64")
	}
	return key, nil
}

// Sign returns the svix-signature value of a message: "v1," and the
// base64 HMAC-SHA256 of "id.timestamp.body" keyed by the decoded secret.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, ts.Unix(), body)), nil
}

func mac(key []byte, id string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	fmt.Fprintf(h, "%s.%d.", id, ts)
	h.Write(body)
	return h.Sum(nil)
}

// Errors of [Verify].
var (
	ErrMissingHeaders = errors.New("webhook: svix-id, svix-timestamp or svix-signature is missing")
	ErrTimestamp      = errors.New("webhook: the timestamp is too old or too new")
	ErrSignature      = errors.New("webhook: no signature matches")
)

// Verify checks a signed webhook request's headers (svix-* or the
// webhook-* aliases) for body: the timestamp within [Tolerance] of now
// and one of the space-separated v1 signatures made with secret.
func Verify(h http.Header, body []byte, secret string, now time.Time) error {
	get := func(name string) string {
		if v := h.Get("svix-" + name); v != "" {
			return v
		}
		return h.Get("webhook-" + name)
	}
	id, tsRaw, sigs := get("id"), get("timestamp"), get("signature")
	if id == "" || tsRaw == "" || sigs == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return ErrTimestamp
	}
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	want := mac(key, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}
