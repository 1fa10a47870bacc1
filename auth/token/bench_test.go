package token_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// BenchmarkVerifyCold: every call verifies in full (cache disabled).
func BenchmarkVerifyCold(b *testing.B) {
	f := fixture(b)
	tok := validToken(b)
	v := newVerifier(f.ring, newClock(testNow), -1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCached: every call after the first is a cache hit.
func BenchmarkVerifyCached(b *testing.B) {
	f := fixture(b)
	tok := validToken(b)
	v := newVerifier(f.ring, newClock(testNow), 0)
	if _, err := v.Verify(tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignSession: minting a session token (RS256) through the keyring.
func BenchmarkSignSession(b *testing.B) {
	f := fixture(b)
	now := testNow.Unix()
	fea, per, fpm := token.EncodePermissions([]string{"org:team:manage", "org:team:read", "org:billing:read"})
	c := &token.Claims{
		Issuer: testIssuer, Subject: "user_2abc", SessionID: "sess_2abc",
		IssuedAt: now, NotBefore: now - 5, Expiry: now + 60, ID: "jti_1", Version: 2,
		AuthorizedParty: testIssuer, Status: "active", FVA: []int{0, -1},
		Org:      &token.OrgClaim{ID: "org_1", Slug: "acme", Role: "admin", Permissions: per, FeatureMask: fpm},
		Features: fea,
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.ring.SignSession(c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
}

// BenchmarkRawRS256Sign: the floor, PKCS#1 v1.5 over a SHA-256 digest of
// a token-sized signing input.
func BenchmarkRawRS256Sign(b *testing.B) {
	f := fixture(b)
	tok := validToken(b)
	in := []byte(tok[:len(tok)-len(segments(tok)[2])-1])
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256(in)
		if _, err := rsa.SignPKCS1v15(rand.Reader, f.priv, crypto.SHA256, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
}
