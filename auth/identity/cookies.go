package identity

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
)

// Cookie names, as Clerk names them.
const (
	ClientCookie  = "__client"
	SessionCookie = "__session"
)

// clientValue is what the __client cookie holds. The store keeps only the
// SHA-256 of Secret.
type clientValue struct {
	ID     string `json:"id"`
	Secret string `json:"s"`
}

// Cookies reads and writes Gatehouse's two cookies.
type Cookies struct {
	codec  *securecookie.SecureCookie
	secure bool
	maxAge time.Duration
}

// NewCookies derives the securecookie keys (HMAC-SHA256 and AES-256) from
// the instance encryption key. secure adds the Secure attribute (https);
// maxAge is the client cookie's lifetime, the session's absolute maximum.
func NewCookies(encryptionKey []byte, secure bool, maxAge time.Duration) (*Cookies, error) {
	if len(encryptionKey) < 32 {
		return nil, errors.New("identity: the encryption key must be at least 32 bytes")
	}
	hashKey, err := hkdf.Key(sha256.New, encryptionKey, nil, "gatehouse __client cookie hmac", 32)
	if err != nil {
		return nil, fmt.Errorf("identity: derive cookie keys: %w", err)
	}
	blockKey, err := hkdf.Key(sha256.New, encryptionKey, nil, "gatehouse __client cookie aes", 32)
	if err != nil {
		return nil, fmt.Errorf("identity: derive cookie keys: %w", err)
	}
	codec := securecookie.New(hashKey, blockKey)
	// JSON costs about a third of securecookie's default gob per decode.
	codec.SetSerializer(securecookie.JSONEncoder{})
	codec.MaxAge(int(maxAge / time.Second))
	codec.MaxLength(1024)
	return &Cookies{codec: codec, secure: secure, maxAge: maxAge}, nil
}

func (c *Cookies) encodeClient(v clientValue) (string, error) {
	s, err := c.codec.Encode(ClientCookie, v)
	if err != nil {
		return "", fmt.Errorf("identity: encode client cookie: %w", err)
	}
	return s, nil
}

// DecodeClient decodes a __client cookie value. Tampered, expired or
// malformed values are errors.
func (c *Cookies) DecodeClient(value string) (id, secret string, err error) {
	var v clientValue
	if err := c.codec.Decode(ClientCookie, value, &v); err != nil {
		return "", "", fmt.Errorf("identity: client cookie: %w", err)
	}
	if v.ID == "" || v.Secret == "" {
		return "", "", errors.New("identity: client cookie: empty fields")
	}
	return v.ID, v.Secret, nil
}

func (c *Cookies) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	}
}

// SetSignedIn sets both cookies after a sign-in or sign-up.
func (c *Cookies) SetSignedIn(w http.ResponseWriter, s *SignedIn) {
	http.SetCookie(w, c.cookie(ClientCookie, s.clientCookie, int(c.maxAge/time.Second)))
	c.SetSession(w, s.Token)
}

// SetSession sets the __session cookie to a freshly minted token. The
// cookie lives as long as the browser session; the token inside expires
// on its own and is refreshed from the client cookie.
func (c *Cookies) SetSession(w http.ResponseWriter, tok string) {
	http.SetCookie(w, c.cookie(SessionCookie, tok, 0))
	w.Header().Set("Cache-Control", "no-store")
}

// Clear removes both cookies.
func (c *Cookies) Clear(w http.ResponseWriter) {
	http.SetCookie(w, c.cookie(ClientCookie, "", -1))
	http.SetCookie(w, c.cookie(SessionCookie, "", -1))
	w.Header().Set("Cache-Control", "no-store")
}

// ClientCookieValue returns the request's __client cookie value, or "".
func ClientCookieValue(r *http.Request) string {
	if c, err := r.Cookie(ClientCookie); err == nil {
		return c.Value
	}
	return ""
}

// AttemptCookie holds the sign-up and sign-in attempts under way in this
// browser (their ids, sealed like the client cookie), so a code or a new
// password is accepted only from the browser that started the attempt.
const AttemptCookie = "__attempt"

// Attempts are the attempts an [AttemptCookie] names.
type Attempts struct {
	SignUp string `json:"su,omitempty"`
	SignIn string `json:"si,omitempty"`
	// SecondFactor is a sign-in waiting for its second factor.
	SecondFactor string `json:"sf,omitempty"`
}

// ReadAttempts returns the attempts of r's attempt cookie (none when it
// is missing or not ours).
func (c *Cookies) ReadAttempts(r *http.Request) Attempts {
	var a Attempts
	if ck, err := r.Cookie(AttemptCookie); err == nil {
		if c.codec.Decode(AttemptCookie, ck.Value, &a) != nil {
			return Attempts{}
		}
	}
	return a
}

// SetAttempts sets the attempt cookie to a, or clears it when a is empty.
// It lives a day at most: no attempt outlives that.
func (c *Cookies) SetAttempts(w http.ResponseWriter, a Attempts) {
	if a == (Attempts{}) {
		http.SetCookie(w, c.cookie(AttemptCookie, "", -1))
		return
	}
	v, err := c.codec.Encode(AttemptCookie, a)
	if err != nil {
		return // ids are short: cannot happen
	}
	http.SetCookie(w, c.cookie(AttemptCookie, v, int((24*time.Hour)/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
}

// OAuthFlowCookie holds the sign-in with a provider under way in this
// browser ([OAuthFlow], sealed like the client cookie). It is sent only to
// the callbacks, and SameSite=Lax lets the provider's redirect back, a
// top-level navigation, carry it.
const OAuthFlowCookie = "__oauth_flow"

const oauthFlowPath = "/sign-in/oauth/"

// SetOAuthFlow keeps f in this browser until it expires.
func (c *Cookies) SetOAuthFlow(w http.ResponseWriter, f *OAuthFlow) error {
	v, err := c.codec.Encode(OAuthFlowCookie, f)
	if err != nil {
		return fmt.Errorf("identity: oauth flow cookie: %w", err)
	}
	ck := c.cookie(OAuthFlowCookie, v, int(oauthFlowTTL/time.Second))
	ck.Path = oauthFlowPath
	http.SetCookie(w, ck)
	w.Header().Set("Cache-Control", "no-store")
	return nil
}

// ReadOAuthFlow returns this browser's flow, or nil when there is none
// (or it is not ours).
func (c *Cookies) ReadOAuthFlow(r *http.Request) *OAuthFlow {
	ck, err := r.Cookie(OAuthFlowCookie)
	if err != nil {
		return nil
	}
	var f OAuthFlow
	if c.codec.Decode(OAuthFlowCookie, ck.Value, &f) != nil {
		return nil
	}
	return &f
}

// ClearOAuthFlow forgets this browser's flow: a callback is used once.
func (c *Cookies) ClearOAuthFlow(w http.ResponseWriter) {
	ck := c.cookie(OAuthFlowCookie, "", -1)
	ck.Path = oauthFlowPath
	http.SetCookie(w, ck)
}
