package token

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// Key is one RSA signing key. Private is nil for keys this process may
// only verify with.
type Key struct {
	KID     string
	Private *rsa.PrivateKey
	Public  *rsa.PublicKey
}

// keySet is an immutable snapshot of the keys in use.
type keySet struct {
	active  *Key
	byKID   map[string]*Key
	ordered []*Key
	gen     uint64 // changes whenever the set changes
}

// Keyring holds the signing keys. The active key signs; every key in the
// ring verifies. It is safe for concurrent use; a rotation swaps the whole
// set atomically.
type Keyring struct {
	set atomic.Pointer[keySet]
	gen atomic.Uint64
	src *keySource // nil for a keyring of fixed keys
}

// NewKeyring returns a keyring whose first key is active.
func NewKeyring(keys ...*Key) *Keyring {
	kr := &Keyring{}
	kr.replace(keys)
	return kr
}

func (kr *Keyring) replace(keys []*Key) {
	ks := &keySet{byKID: make(map[string]*Key, len(keys)), gen: kr.gen.Add(1)}
	for _, k := range keys {
		if ks.active == nil && k.Private != nil {
			ks.active = k
		}
		ks.byKID[k.KID] = k
		ks.ordered = append(ks.ordered, k)
	}
	kr.set.Store(ks)
}

// Active returns the key that signs new tokens, or nil in verify-only mode.
func (kr *Keyring) Active() *Key { return kr.set.Load().active }

// Lookup returns the trusted key named kid.
func (kr *Keyring) Lookup(kid string) (*Key, bool) {
	k, ok := kr.set.Load().byKID[kid]
	return k, ok
}

// generation identifies the current key set; it changes on every rotation.
func (kr *Keyring) generation() uint64 { return kr.set.Load().gen }

// JWKS returns the public keys as a JSON Web Key Set document.
func (kr *Keyring) JWKS() []byte {
	type jwk struct {
		KID string `json:"kid"`
		Kty string `json:"kty"`
		Alg string `json:"alg"`
		Use string `json:"use"`
		N   string `json:"n"`
		E   string `json:"e"`
	}
	doc := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range kr.set.Load().ordered {
		doc.Keys = append(doc.Keys, jwk{
			KID: k.KID, Kty: "RSA", Alg: "RS256", Use: "sig",
			N: base64.RawURLEncoding.EncodeToString(k.Public.N.Bytes()),
			E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.Public.E)).Bytes()),
		})
	}
	b, _ := json.Marshal(doc) // cannot fail: plain strings
	return b
}

// KeyStore is the part of the store the keyring persists keys in.
type KeyStore interface {
	SigningKeys(ctx context.Context) ([]store.SigningKey, error)
	InsertSigningKey(ctx context.Context, k store.SigningKey) error
}

// LoadKeyring builds the keyring of a process that owns the store: the keys
// kept in the store (decrypted with encryptionKey), generating and saving
// the first one when there is none. When signingKeyPEM is set it is the
// active key and the stored keys stay trusted for verification.
//
// The keyring can reload itself from the store ([Keyring.Reload]), so a
// rotation made by another process is picked up without a restart.
func LoadKeyring(ctx context.Context, ks KeyStore, encryptionKey []byte, signingKeyPEM string) (*Keyring, error) {
	return OpenKeyring(ctx, KeyringConfig{Store: ks, EncryptionKey: encryptionKey, SigningKeyPEM: signingKeyPEM})
}

// KeyringConfig configures [OpenKeyring].
type KeyringConfig struct {
	Store         KeyStore
	EncryptionKey []byte // CLERK_ENCRYPTION_KEY: decrypts the stored keys
	SigningKeyPEM string // CLERK_SIGNING_KEY: when set, the active key
	// MissReloadInterval is the least time between two reloads caused by
	// tokens whose kid names no known key; 0 means 5 seconds.
	MissReloadInterval time.Duration
	Now                func() time.Time
}

// OpenKeyring is [LoadKeyring] with every setting.
func OpenKeyring(ctx context.Context, c KeyringConfig) (*Keyring, error) {
	sealer, err := NewSealer(c.EncryptionKey, sealSigningKeys)
	if err != nil {
		return nil, err
	}
	src := &keySource{store: c.Store, sealer: sealer, now: c.Now, missInterval: c.MissReloadInterval}
	if src.now == nil {
		src.now = time.Now
	}
	if src.missInterval <= 0 {
		src.missInterval = 5 * time.Second
	}
	if c.SigningKeyPEM != "" {
		k, err := ParsePrivateKeyPEM(c.SigningKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("token: CLERK_SIGNING_KEY: %w", err)
		}
		src.env = k
	}
	kr := &Keyring{src: src}
	keys, err := src.load(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		if _, err := src.generate(ctx, func(k store.SigningKey) error { return c.Store.InsertSigningKey(ctx, k) }); err != nil {
			return nil, err
		}
		// Another process may have saved its own first key at the same
		// moment; reading back makes every process agree on the newest.
		if keys, err = src.load(ctx); err != nil {
			return nil, err
		}
	}
	kr.replace(keys)
	return kr, nil
}

// keySource is where a keyring that owns the store reloads its keys from.
type keySource struct {
	store        KeyStore
	sealer       *Sealer
	env          *Key // CLERK_SIGNING_KEY, nil when unset
	now          func() time.Time
	missInterval time.Duration

	mu       sync.Mutex // serialises reloads caused by unknown kids
	lastMiss time.Time
}

// retirer is implemented by stores that can mark keys retired.
type retirer interface {
	RetireSigningKeys(ctx context.Context, now int64) (int, error)
}

// load returns the keys to trust: the CLERK_SIGNING_KEY first when set,
// then the stored keys newest first, without those whose retirement time
// has passed. It marks such keys retired in the store.
func (s *keySource) load(ctx context.Context) ([]*Key, error) {
	stored, err := s.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: load signing keys: %w", err)
	}
	now := s.now().UnixMilli()
	var keys []*Key
	if s.env != nil {
		keys = append(keys, s.env)
	}
	due := false
	for _, sk := range stored {
		if sk.RetireAt > 0 && sk.RetireAt <= now {
			due = true
			continue
		}
		if s.env != nil && sk.KID == s.env.KID {
			continue
		}
		der, err := s.sealer.Open(sk.EncryptedPrivateKey)
		if err != nil {
			return nil, fmt.Errorf("token: decrypt signing key %s (is CLERK_ENCRYPTION_KEY the one it was stored with?): %w", sk.KID, err)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("token: parse signing key %s: %w", sk.KID, err)
		}
		priv, ok := parsed.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("token: signing key %s is not RSA", sk.KID)
		}
		keys = append(keys, &Key{KID: sk.KID, Private: priv, Public: &priv.PublicKey})
	}
	if r, ok := s.store.(retirer); ok && due {
		if _, err := r.RetireSigningKeys(ctx, now); err != nil {
			return nil, fmt.Errorf("token: retire signing keys: %w", err)
		}
	}
	return keys, nil
}

// generate makes a new RSA-2048 key and saves it, encrypted, with save.
func (s *keySource) generate(ctx context.Context, save func(store.SigningKey) error) (*Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("token: generate signing key: %w", err)
	}
	k := newKey(priv)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("token: encode signing key: %w", err)
	}
	if err := save(store.SigningKey{KID: k.KID, EncryptedPrivateKey: s.sealer.Seal(der), CreatedAt: s.now().UnixMilli()}); err != nil {
		return nil, fmt.Errorf("token: save signing key: %w", err)
	}
	return k, nil
}

// Reload reads the keys from the store again: a key made active by a
// rotation in any process starts signing here, and a key whose retirement
// time has passed stops being trusted. It is a no-op for a keyring built
// from fixed keys (verify-only mode, tests).
func (kr *Keyring) Reload(ctx context.Context) error {
	if kr.src == nil {
		return nil
	}
	keys, err := kr.src.load(ctx)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return errors.New("token: the store has no signing key in use")
	}
	cur := kr.set.Load().ordered
	if slices.EqualFunc(cur, keys, func(a, b *Key) bool { return a.KID == b.KID }) {
		return nil // unchanged: keep the generation, and with it the verified-token cache
	}
	kr.replace(keys)
	return nil
}

// Watch reloads the keys every interval until ctx ends, reporting errors
// to onErr (which may be nil).
func (kr *Keyring) Watch(ctx context.Context, interval time.Duration, onErr func(error)) {
	if kr.src == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := kr.Reload(ctx); err != nil && onErr != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}

// lookupOrReload returns the trusted key named kid. When none is known and
// the keyring has a store, it reloads once (another process may have
// rotated) — at most once per missInterval, however many unknown kids
// arrive, so forged kids cannot make the store busy.
func (kr *Keyring) lookupOrReload(kid string) (*Key, bool) {
	if k, ok := kr.Lookup(kid); ok || kr.src == nil {
		return k, ok
	}
	s := kr.src
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := kr.Lookup(kid); ok { // reloaded while this call waited
		return k, true
	}
	now := s.now()
	if !s.lastMiss.IsZero() && now.Sub(s.lastMiss) < s.missInterval {
		return nil, false
	}
	s.lastMiss = now
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := kr.Reload(ctx); err != nil {
		return nil, false
	}
	return kr.Lookup(kid)
}

// ErrSigningKeyFromEnv refuses a rotation while CLERK_SIGNING_KEY decides
// the active key.
var ErrSigningKeyFromEnv = errors.New("token: the active key comes from CLERK_SIGNING_KEY; to rotate, replace that variable (the stored keys stay trusted)")

// RotationStore is the store a rotation writes to.
type RotationStore interface {
	RotateSigningKey(ctx context.Context, k store.SigningKey, retireAt int64) error
}

// Rotate generates a new key, stores it as the active key, and schedules
// the keys in use to retire after grace, by when every token they signed
// must have expired (callers pass at least twice the session token TTL).
// Other processes start signing with the new key at their next reload.
func (kr *Keyring) Rotate(ctx context.Context, grace time.Duration) (*Key, error) {
	if kr.src == nil {
		return nil, ErrNoSigningKey
	}
	if kr.src.env != nil {
		return nil, ErrSigningKeyFromEnv
	}
	rs, ok := kr.src.store.(RotationStore)
	if !ok {
		return nil, errors.New("token: this store cannot rotate keys")
	}
	retireAt := kr.src.now().Add(grace).UnixMilli()
	k, err := kr.src.generate(ctx, func(sk store.SigningKey) error { return rs.RotateSigningKey(ctx, sk, retireAt) })
	if err != nil {
		return nil, err
	}
	if err := kr.Reload(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Keys returns the trusted keys, the active one first.
func (kr *Keyring) Keys() []*Key { return slices.Clone(kr.set.Load().ordered) }

// ParsePrivateKeyPEM parses an RSA-2048 (or larger) private key in PKCS#8
// or PKCS#1 PEM form.
func ParsePrivateKeyPEM(s string) (*Key, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var priv *rsa.PrivateKey
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("the key is not an RSA key")
		}
		priv = rk
	} else if k, err2 := x509.ParsePKCS1PrivateKey(block.Bytes); err2 == nil {
		priv = k
	} else {
		return nil, errors.New("neither a PKCS#8 nor a PKCS#1 RSA private key")
	}
	if priv.N.BitLen() < 2048 {
		return nil, errors.New("the RSA key is shorter than 2048 bits")
	}
	return newKey(priv), nil
}

// ParsePublicKeyPEM parses an RSA public key (PKIX or PKCS#1 PEM) for
// verify-only mode.
func ParsePublicKeyPEM(s string) (*Key, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var pub *rsa.PublicKey
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("the key is not an RSA key")
		}
		pub = rk
	} else if k, err2 := x509.ParsePKCS1PublicKey(block.Bytes); err2 == nil {
		pub = k
	} else {
		return nil, errors.New("not an RSA public key")
	}
	if pub.N.BitLen() < 2048 {
		return nil, errors.New("the RSA key is shorter than 2048 bits")
	}
	return &Key{KID: thumbprint(pub), Public: pub}, nil
}

// ParsePublicKeysPEM parses one or more RSA public keys, PEM blocks one
// after the other (CLERK_JWT_KEY may carry the old and the new key while a
// rotation is under way).
func ParsePublicKeysPEM(s string) ([]*Key, error) {
	var keys []*Key
	rest := []byte(strings.TrimSpace(s))
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM block found")
		}
		k, err := ParsePublicKeyPEM(string(pem.EncodeToMemory(block)))
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		rest = []byte(strings.TrimSpace(string(rest)))
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM block found")
	}
	return keys, nil
}

// PublicKeyPEM returns the key's public half as a PKIX PEM block, the form
// CLERK_JWT_KEY takes.
func (k *Key) PublicKeyPEM() string {
	der, err := x509.MarshalPKIXPublicKey(k.Public)
	if err != nil {
		return "" // cannot happen for an RSA key
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func newKey(priv *rsa.PrivateKey) *Key {
	return &Key{KID: thumbprint(&priv.PublicKey), Private: priv, Public: &priv.PublicKey}
}

// thumbprint is the RFC 7638 JWK thumbprint of an RSA key, used as its kid
// so the same key always has the same id in every process.
func thumbprint(pub *rsa.PublicKey) string {
	e := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	n := base64.RawURLEncoding.EncodeToString(pub.N.Bytes())
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return "ins_" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// HKDF purposes of the keys derived from CLERK_ENCRYPTION_KEY.
const (
	sealSigningKeys  = "gatehouse signing keys at rest"
	sealTemplateKeys = "gatehouse template keys at rest"
)

// Sealer encrypts secrets kept at rest (AES-256-GCM with a key derived from
// CLERK_ENCRYPTION_KEY for one purpose), so the store never holds them in
// the clear.
type Sealer struct{ aead cipher.AEAD }

// NewSealer derives the key for purpose from encryptionKey.
func NewSealer(encryptionKey []byte, purpose string) (*Sealer, error) {
	if len(encryptionKey) < 32 {
		return nil, errors.New("token: the encryption key must be at least 32 bytes")
	}
	k, err := hkdf.Key(sha256.New, encryptionKey, nil, purpose, 32)
	if err != nil {
		return nil, fmt.Errorf("token: derive key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("token: cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("token: cipher: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plain with a random nonce.
func (s *Sealer) Seal(plain []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, nil)
}

// Open decrypts what Seal returned.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("ciphertext too short")
	}
	return s.aead.Open(nil, sealed[:n], sealed[n:], nil)
}
