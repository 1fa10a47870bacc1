package password

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

func argon2iDigest(pw string, p Params) string {
	salt := []byte("0123456789abcdef")
	key := argon2.Key([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2i$v=19$m=%d,t=%d,p=%d$%s$%s", p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func TestVerifyImportedDigests(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheap, 0)
	nfd := norm.NFD.String("café-passwort")
	bcryptNFD, err := bcrypt.GenerateFromPassword([]byte(nfd), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bcryptLong, err := bcrypt.GenerateFromPassword([]byte(strings.Repeat("a", 72)), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	costly, err := bcrypt.GenerateFromPassword([]byte("correct horse"), 15)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, digest, pw string
		want             bool
		wantErr          bool
	}{
		// A vector from OpenBSD's bcrypt tests, as another system wrote it.
		{"bcrypt vector", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U", true, false},
		{"bcrypt vector, wrong password", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*V", false, false},
		{"bcrypt, typed form", string(bcryptNFD), nfd, true, false},
		{"bcrypt, NFC form of an NFD-typed password", string(bcryptNFD), norm.NFC.String(nfd), false, false},
		{"bcrypt reads 72 bytes, as the other system did", string(bcryptLong), strings.Repeat("a", 72) + "b", true, false},
		{"bcrypt beyond the cost bound", string(costly), "correct horse", false, true},
		{"argon2i", argon2iDigest("correct horse", cheap), "correct horse", true, false},
		{"argon2i, wrong password", argon2iDigest("correct horse", cheap), "correct horsf", false, false},
		{"argon2i, typed NFD", argon2iDigest(nfd, cheap), nfd, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Verify(ctx, tc.pw, tc.digest)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Verify error = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("Verify(%q) = %v, want %v", tc.pw, got, tc.want)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheap, 0)
	current, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	older, err := NewHasher(Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0).Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, digest string
		want         bool
	}{
		{"current argon2id", current, false},
		{"argon2id with other parameters", older, true},
		{"argon2i", argon2iDigest("correct horse", cheap), true},
		{"bcrypt", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", true},
		{"no password", "", false},
	} {
		if got := h.NeedsRehash(tc.digest); got != tc.want {
			t.Errorf("%s: NeedsRehash = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCheckDigest(t *testing.T) {
	costly := "$2a$15$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
	vector := "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
	for _, tc := range []struct {
		hasher, digest string
		ok             bool
	}{
		{"bcrypt", vector, true},
		{"bcrypt", "$2b$" + vector[4:], true},
		{"bcrypt", costly, false},
		{"bcrypt", vector[:59], false},
		{"bcrypt", "plaintext", false},
		{"argon2id", vector, false},
		{"argon2i", argon2iDigest("x", cheap), true},
		{"argon2id", argon2iDigest("x", cheap), false},
		{"argon2i", strings.Replace(argon2iDigest("x", cheap), "m=64,", "m=524288,", 1), false},
		{"pbkdf2_sha256", "pbkdf2_sha256$1$salt$hash", false},
		{"", vector, false},
	} {
		err := CheckDigest(tc.hasher, tc.digest)
		if (err == nil) != tc.ok {
			t.Errorf("CheckDigest(%q, %.20q…) = %v, want ok %v", tc.hasher, tc.digest, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), tc.digest) && tc.digest != "" {
			t.Errorf("CheckDigest's error shows the digest: %v", err)
		}
	}
}
