package token_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

var rotationEncKey = []byte("0123456789abcdef0123456789abcdef")

// countingKeyStore counts the reads of the signing keys.
type countingKeyStore struct {
	*store.DB
	loads atomic.Int64
}

func (c *countingKeyStore) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	c.loads.Add(1)
	return c.DB.SigningKeys(ctx)
}

func openKeyDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "keys.db"))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openRing(t *testing.T, ks token.KeyStore, clock *fakeClock) *token.Keyring {
	t.Helper()
	kr, err := token.OpenKeyring(context.Background(), token.KeyringConfig{Store: ks, EncryptionKey: rotationEncKey, Now: clock.Now})
	if err != nil {
		t.Fatalf("OpenKeyring: %v", err)
	}
	return kr
}

func jwksKIDs(t *testing.T, kr *token.Keyring) []string {
	t.Helper()
	var doc struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(kr.JWKS(), &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range doc.Keys {
		out = append(out, k.KID)
	}
	return out
}

// mintAt signs session claims issued at now with the keyring's active key.
func mintAt(t *testing.T, kr *token.Keyring, now time.Time) string {
	t.Helper()
	c := &token.Claims{Issuer: testIssuer, Subject: "user_1", SessionID: "sess_1", IssuedAt: now.Unix(),
		NotBefore: now.Unix() - 5, Expiry: now.Unix() + 60, Version: 2, AuthorizedParty: testParties[0], Status: "active"}
	tok, err := kr.SignSession(c)
	if err != nil {
		t.Fatalf("SignSession: %v", err)
	}
	return tok
}

func TestRotateKeepsThePreviousKeyUntilItsTokensExpire(t *testing.T) {
	ctx := context.Background()
	db := openKeyDB(t)
	clock := newClock(testNow)
	kr := openRing(t, db, clock)
	v := newVerifier(kr, clock, 0)
	old := kr.Active()
	oldTok := mintAt(t, kr, clock.Now())

	grace := 2 * testTTL
	nk, err := kr.Rotate(ctx, grace)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if got := kr.Active().KID; got != nk.KID || got == old.KID {
		t.Fatalf("active key after rotation: got %s, want the new key %s (old %s)", got, nk.KID, old.KID)
	}
	if got, want := jwksKIDs(t, kr), []string{nk.KID, old.KID}; !slices.Equal(got, want) {
		t.Errorf("JWKS after rotation: got %v, want %v", got, want)
	}
	if _, err := v.Verify(oldTok); err != nil {
		t.Errorf("token of the previous key right after rotation: got %v, want it to verify", err)
	}
	newTok := mintAt(t, kr, clock.Now())
	if h, _ := jwtParts(t, newTok); h["kid"] != nk.KID {
		t.Errorf("kid of a token minted after rotation: got %v, want %s", h["kid"], nk.KID)
	}

	// Just before the grace ends the old key is still trusted.
	clock.Advance(grace - time.Second)
	if err := kr.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := kr.Lookup(old.KID); !ok {
		t.Errorf("old key %s before its retirement time: got untrusted, want trusted", old.KID)
	}
	// Then it is retired: gone from the JWKS, untrusted, retired_at set.
	clock.Advance(time.Second)
	if err := kr.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := jwksKIDs(t, kr), []string{nk.KID}; !slices.Equal(got, want) {
		t.Errorf("JWKS after the grace: got %v, want %v", got, want)
	}
	if _, ok := kr.Lookup(old.KID); ok {
		t.Errorf("old key after its retirement time: got trusted, want untrusted")
	}
	all, err := db.AllSigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range all {
		if k.KID == old.KID && k.RetiredAt != clock.Now().UnixMilli() {
			t.Errorf("retired_at of the old key: got %d, want %d", k.RetiredAt, clock.Now().UnixMilli())
		}
	}
	// A token of the retired key, still inside its own lifetime by a fresh
	// verifier's clock, is refused for its kid.
	v2 := newVerifier(kr, newClock(testNow), 0)
	if _, err := v2.Verify(oldTok); token.Reason(err) != token.ReasonKidMismatch {
		t.Errorf("token of the retired key: got %v, want %s", err, token.ReasonKidMismatch)
	}
}

func TestSecondProcessPicksUpARotation(t *testing.T) {
	ctx := context.Background()
	db := openKeyDB(t)
	clock := newClock(testNow)
	a := openRing(t, db, clock)
	cs := &countingKeyStore{DB: db}
	b := openRing(t, cs, clock)
	if a.Active().KID != b.Active().KID {
		t.Fatalf("two processes on one store: got active keys %s and %s, want the same", a.Active().KID, b.Active().KID)
	}
	vb := newVerifier(b, clock, 0)
	nk, err := a.Rotate(ctx, 2*testTTL)
	if err != nil {
		t.Fatal(err)
	}
	// A token of A's new key verifies on B: the unknown kid reloads B.
	if _, err := vb.Verify(mintAt(t, a, clock.Now())); err != nil {
		t.Fatalf("token of the rotated key on the second process: got %v, want it to verify", err)
	}
	if got := b.Active().KID; got != nk.KID {
		t.Errorf("second process's active key after the reload: got %s, want %s", got, nk.KID)
	}

	// A third process learns of a rotation by its periodic reload alone.
	c := openRing(t, db, clock)
	watchCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { c.Watch(watchCtx, 5*time.Millisecond, func(err error) { t.Errorf("Watch: %v", err) }) })
	defer func() { stop(); wg.Wait() }()
	nk2, err := a.Rotate(ctx, 2*testTTL)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.Active().KID != nk2.KID && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := c.Active().KID; got != nk2.KID {
		t.Errorf("active key of a watching process: got %s, want %s", got, nk2.KID)
	}
}

func TestUnknownKIDsReloadAtMostOncePerInterval(t *testing.T) {
	f := fixture(t)
	db := openKeyDB(t)
	clock := newClock(testNow)
	cs := &countingKeyStore{DB: db}
	kr, err := token.OpenKeyring(context.Background(), token.KeyringConfig{
		Store: cs, EncryptionKey: rotationEncKey, Now: clock.Now, MissReloadInterval: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(kr, clock, 0)
	flood := func(n int) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				h := sessionHeader(fmt.Sprintf("ins_forged_%d", i))
				tok := signRaw(t, f.other, mustJSON(t, h), mustJSON(t, sessionClaims(testNow)))
				if _, err := v.Verify(tok); token.Reason(err) != token.ReasonKidMismatch {
					t.Errorf("forged kid: got %v, want %s", err, token.ReasonKidMismatch)
				}
			})
		}
		wg.Wait()
	}
	before := cs.loads.Load()
	flood(500)
	if got := cs.loads.Load() - before; got != 1 {
		t.Errorf("store reloads for 500 unknown kids at one instant: got %d, want 1", got)
	}
	clock.Advance(4 * time.Second)
	flood(200)
	if got := cs.loads.Load() - before; got != 1 {
		t.Errorf("store reloads 4 s later: got %d in all, want still 1", got)
	}
	clock.Advance(time.Second)
	flood(200)
	if got := cs.loads.Load() - before; got != 2 {
		t.Errorf("store reloads 5 s later: got %d in all, want 2", got)
	}
	// A known kid never touches the store.
	before = cs.loads.Load()
	if _, err := v.Verify(mintAt(t, kr, testNow)); err != nil {
		t.Fatal(err)
	}
	if got := cs.loads.Load() - before; got != 0 {
		t.Errorf("store reads for a token of a known key: got %d, want 0", got)
	}
}

func TestRotateRefusedWithSigningKeyFromEnv(t *testing.T) {
	f := fixture(t)
	db := openKeyDB(t)
	kr, err := token.OpenKeyring(context.Background(), token.KeyringConfig{
		Store: db, EncryptionKey: rotationEncKey, SigningKeyPEM: f.key.PublicKeyPEM(),
	})
	if err == nil {
		t.Fatalf("OpenKeyring with a public key as CLERK_SIGNING_KEY: got %v, want an error", kr)
	}
	kr, err = token.OpenKeyring(context.Background(), token.KeyringConfig{
		Store: db, EncryptionKey: rotationEncKey, SigningKeyPEM: privatePEM(t, f),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Rotate(context.Background(), time.Minute); err != token.ErrSigningKeyFromEnv {
		t.Errorf("Rotate with CLERK_SIGNING_KEY: got %v, want ErrSigningKeyFromEnv", err)
	}
	if got := kr.Active().KID; got != f.key.KID {
		t.Errorf("active key: got %s, want the CLERK_SIGNING_KEY %s", got, f.key.KID)
	}
}

func TestParsePublicKeysPEM(t *testing.T) {
	f := fixture(t)
	keys, err := token.ParsePublicKeysPEM(f.key.PublicKeyPEM() + "\n" + f.otherKey.PublicKeyPEM())
	if err != nil || len(keys) != 2 || keys[0].KID != f.key.KID || keys[1].KID != f.otherKey.KID || keys[0].Private != nil {
		t.Fatalf("ParsePublicKeysPEM of two blocks: got %v, %v; want both public keys with their thumbprint kids", keys, err)
	}
	for _, bad := range []string{"", "not pem", f.key.PublicKeyPEM() + "trailing junk"} {
		if _, err := token.ParsePublicKeysPEM(bad); err == nil {
			t.Errorf("ParsePublicKeysPEM(%.30q): got nil error, want one", bad)
		}
	}
}

// jwtParts decodes the header and claims of a compact JWS without
// verifying it.
func jwtParts(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	seg := segments(tok)
	if len(seg) != 3 {
		t.Fatalf("token: got %d segments, want 3", len(seg))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := b64.DecodeString(seg[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

// privatePEM returns the fixture's private key in PKCS#8 PEM form.
func privatePEM(t *testing.T, f *testKeys) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(f.priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
