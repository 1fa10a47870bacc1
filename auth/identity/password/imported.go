package password

// Digests imported from another system (Clerk's export, or the Backend
// API's password_digest): bcrypt and argon2i/argon2id in PHC form. They
// are stored as given, verified at sign-in, and replaced by an argon2id
// hash on the first sign-in that succeeds (see NeedsRehash).

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// maxBcryptCost bounds an imported bcrypt digest's cost: each step
// doubles the work of every sign-in against it, so a digest of cost 31
// would make one sign-in take days.
const maxBcryptCost = 14

// maxImportedArgon2Memory bounds an imported argon2 digest's memory (KiB).
const maxImportedArgon2Memory = 256 * 1024

// Hashers are the password_hasher names an imported digest may have.
var Hashers = []string{"bcrypt", "argon2id", "argon2i"}

// ErrUnsupportedHasher means an imported digest names a hasher this
// package cannot verify.
var ErrUnsupportedHasher = errors.New("unsupported password_hasher")

// CheckDigest reports whether digest is a well-formed digest of the
// named hasher, with a cost sign-in can afford. Its errors are safe to
// show: they never include the digest.
func CheckDigest(hasher, digest string) error {
	switch hasher {
	case "bcrypt":
		if !isBcrypt(digest) {
			return errors.New("password_digest is not a bcrypt digest ($2a$, $2b$ or $2y$)")
		}
		cost, err := bcrypt.Cost([]byte(digest))
		if err != nil || len(digest) != 60 {
			return errors.New("password_digest is not a well-formed bcrypt digest")
		}
		if cost > maxBcryptCost {
			return fmt.Errorf("password_digest has bcrypt cost %d; at most %d is accepted", cost, maxBcryptCost)
		}
		return nil
	case "argon2id", "argon2i":
		variant, p, _, _, err := decode(digest)
		if err != nil {
			return errors.New("password_digest is not a well-formed " + hasher + " digest in PHC form")
		}
		if variant != hasher {
			return fmt.Errorf("password_digest is an %s digest, not %s", variant, hasher)
		}
		if p.Memory > maxImportedArgon2Memory {
			return fmt.Errorf("password_digest uses %d KiB of memory; at most %d is accepted", p.Memory, maxImportedArgon2Memory)
		}
		return nil
	case "":
		return errors.New("password_hasher is required with password_digest")
	}
	return fmt.Errorf("%w %q (supported: %s)", ErrUnsupportedHasher, hasher, strings.Join(Hashers, ", "))
}

// HasherOf names the hasher of a stored digest, as Clerk's export names
// it ("" when there is none).
func HasherOf(encoded string) string {
	switch {
	case encoded == "":
		return ""
	case isBcrypt(encoded):
		return "bcrypt"
	case strings.HasPrefix(encoded, "$argon2i$"):
		return "argon2i"
	}
	return "argon2id"
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// verifyBcrypt checks pw against an imported bcrypt digest, under a
// hashing slot as argon2id is. The other system hashed the password as
// typed, so that form is tried first; the NFC form only when it differs.
// bcrypt reads at most 72 bytes of a password, as the other system did.
func (h *Hasher) verifyBcrypt(ctx context.Context, pw, digest string) (bool, error) {
	if cost, err := bcrypt.Cost([]byte(digest)); err != nil || cost > maxBcryptCost {
		return false, errors.New("password: bcrypt digest malformed or too costly")
	}
	if len(pw) > maxInputBytes {
		pw = pw[:maxInputBytes]
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	if bcrypt.CompareHashAndPassword([]byte(digest), []byte(pw)) == nil {
		return true, nil
	}
	if n := Normalize(pw); n != pw {
		return bcrypt.CompareHashAndPassword([]byte(digest), []byte(n)) == nil, nil
	}
	return false, nil
}
