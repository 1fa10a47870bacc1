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
func LoadKeyring(ctx context.Context, ks KeyStore, encryptionKey []byte, signingKeyPEM string) (*Keyring, error) {
	aead, err := keyCipher(encryptionKey)
	if err != nil {
		return nil, err
	}
	keys, err := loadStored(ctx, ks, aead)
	if err != nil {
		return nil, err
	}
	if signingKeyPEM != "" {
		k, err := ParsePrivateKeyPEM(signingKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("token: CLERK_SIGNING_KEY: %w", err)
		}
		return NewKeyring(append([]*Key{k}, keys...)...), nil
	}
	if len(keys) == 0 {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("token: generate signing key: %w", err)
		}
		k := newKey(priv)
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("token: encode signing key: %w", err)
		}
		if err := ks.InsertSigningKey(ctx, store.SigningKey{
			KID: k.KID, EncryptedPrivateKey: seal(aead, der), CreatedAt: time.Now().UnixMilli(),
		}); err != nil {
			return nil, fmt.Errorf("token: save signing key: %w", err)
		}
		// Another process may have saved its own first key at the same
		// moment; reading back makes every process agree on the newest.
		if keys, err = loadStored(ctx, ks, aead); err != nil {
			return nil, err
		}
	}
	return NewKeyring(keys...), nil
}

func loadStored(ctx context.Context, ks KeyStore, aead cipher.AEAD) ([]*Key, error) {
	stored, err := ks.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: load signing keys: %w", err)
	}
	var keys []*Key
	for _, s := range stored {
		der, err := open(aead, s.EncryptedPrivateKey)
		if err != nil {
			return nil, fmt.Errorf("token: decrypt signing key %s (is CLERK_ENCRYPTION_KEY the one it was stored with?): %w", s.KID, err)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("token: parse signing key %s: %w", s.KID, err)
		}
		priv, ok := parsed.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("token: signing key %s is not RSA", s.KID)
		}
		keys = append(keys, &Key{KID: s.KID, Private: priv, Public: &priv.PublicKey})
	}
	return keys, nil
}

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
	return &Key{KID: thumbprint(pub), Public: pub}, nil
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

func keyCipher(encryptionKey []byte) (cipher.AEAD, error) {
	if len(encryptionKey) < 32 {
		return nil, errors.New("token: the encryption key must be at least 32 bytes")
	}
	k, err := hkdf.Key(sha256.New, encryptionKey, nil, "gatehouse signing keys at rest", 32)
	if err != nil {
		return nil, fmt.Errorf("token: derive key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("token: cipher: %w", err)
	}
	return cipher.NewGCM(block)
}

func seal(aead cipher.AEAD, plain []byte) []byte {
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plain, nil)
}

func open(aead cipher.AEAD, sealed []byte) ([]byte, error) {
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("ciphertext too short")
	}
	return aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
}
