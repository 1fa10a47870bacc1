package config

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

func TestVerifyOnlyMode(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	oneLine := strings.ReplaceAll(pub, "\n", `\n`)

	// No encryption key is needed to only verify; the PEM may come on one
	// line with \n escapes.
	c, err := Load(env(map[string]string{"CLERK_ENCRYPTION_KEY": "", "CLERK_JWT_KEY": oneLine}))
	if err != nil {
		t.Fatalf("Load with CLERK_JWT_KEY and no encryption key: %v", err)
	}
	if !c.VerifyOnly() || c.JWTKeyPEM != pub || c.EncryptionKey != nil {
		t.Errorf("verify-only config: got VerifyOnly %v, JWTKeyPEM %q, EncryptionKey %v; want true, the PEM, nil", c.VerifyOnly(), c.JWTKeyPEM, c.EncryptionKey)
	}
	if c, _ := Load(env(nil)); c.VerifyOnly() {
		t.Errorf("VerifyOnly without CLERK_JWT_KEY: got true, want false")
	}

	for name, over := range map[string]map[string]string{
		"not PEM":          {"CLERK_JWT_KEY": "-----BEGIN PUBLIC KEY-----"},
		"a private key":    {"CLERK_JWT_KEY": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
		"with signing key": {"CLERK_JWT_KEY": pub, "CLERK_SIGNING_KEY": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
	} {
		if _, err := Load(env(over)); err == nil || !strings.Contains(err.Error(), "CLERK_JWT_KEY") {
			t.Errorf("%s: got %v, want an error naming CLERK_JWT_KEY", name, err)
		}
	}
	if _, err := Load(env(map[string]string{"CLERK_ENCRYPTION_KEY": ""})); err == nil || !strings.Contains(err.Error(), "CLERK_ENCRYPTION_KEY") {
		t.Errorf("no encryption key outside verify-only mode: got %v, want an error naming it", err)
	}
}
