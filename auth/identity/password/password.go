// Package password hashes and checks passwords: argon2id with the
// parameters stored in each hash, a bound on how many hashes run at once,
// and the length and common-password rules of NIST SP 800-63B.
package password

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Length limits, in characters (Unicode code points after NFC normalisation).
const (
	MinLength = 8
	MaxLength = 256
)

// maxInputBytes bounds the raw input before normalisation, so a huge body
// costs nothing; it leaves room for 256 characters typed decomposed (NFD),
// where one character can take a dozen bytes.
const maxInputBytes = MaxLength * 16

// Policy errors. Their text is safe to show to the user.
var (
	ErrTooShort = fmt.Errorf("Passwords must be %d characters or more.", MinLength)
	ErrTooLong  = fmt.Errorf("Passwords must be %d characters or fewer.", MaxLength)
	ErrPwned    = errors.New("This password is too common or too easy to guess. Please choose another.")
	// ErrBusy means every hashing slot stayed taken for the whole wait;
	// callers answer 503 with Retry-After.
	ErrBusy = errors.New("password: too many password checks in progress")
)

//go:embed common-passwords.txt
var commonList string

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen int
	KeyLen  uint32
}

// DefaultParams are OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Hasher hashes and verifies passwords. Each hash holds Params.Memory of
// RAM, so at most Concurrency run at once; the rest wait up to MaxWait.
type Hasher struct {
	params  Params
	slots   chan struct{}
	maxWait time.Duration
	common  map[string]struct{}
	dummy   string // a real hash, verified when the account does not exist
}

// NewHasher returns a hasher allowing concurrency hashes at once
// (0 means runtime.GOMAXPROCS(0)).
func NewHasher(params Params, concurrency int) *Hasher {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{
		params:  params,
		slots:   make(chan struct{}, concurrency),
		maxWait: 10 * time.Second,
		common:  make(map[string]struct{}, 10_000),
	}
	sc := bufio.NewScanner(strings.NewReader(commonList))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			h.common[w] = struct{}{}
		}
	}
	salt := make([]byte, params.SaltLen)
	rand.Read(salt)
	h.dummy = encode(params, salt, argon2.IDKey([]byte("gatehouse-dummy-password"), salt, params.Time, params.Memory, params.Threads, params.KeyLen))
	return h
}

// Normalize returns the form in which passwords are hashed and compared:
// NFC, so the same typed password matches whatever form the keyboard sent.
func Normalize(pw string) string { return norm.NFC.String(pw) }

// Check applies the password rules before any hashing: length, the list of
// common passwords, and the user's own email address and names (personal).
func (h *Hasher) Check(pw string, personal ...string) error {
	if len(pw) > maxInputBytes {
		return ErrTooLong
	}
	pw = Normalize(pw)
	n := utf8.RuneCountInString(pw)
	if n < MinLength {
		return ErrTooShort
	}
	if n > MaxLength {
		return ErrTooLong
	}
	lower := strings.ToLower(pw)
	if _, ok := h.common[lower]; ok {
		return ErrPwned
	}
	for _, p := range personal {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		local, _, _ := strings.Cut(p, "@")
		if lower == p || (len(local) >= 3 && lower == local) {
			return ErrPwned
		}
	}
	return nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password: %w", ctx.Err())
	case <-t.C:
		return ErrBusy
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC-formatted argon2id hash of the normalised password.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	p := h.params
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(Normalize(pw)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encode(p, salt, key), nil
}

// Verify reports whether pw matches encoded. With encoded == "" (no such
// account, or no password set) it still spends one hash, so the answer
// takes the same time either way, and reports false.
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (bool, error) {
	target := encoded
	if target == "" {
		target = h.dummy
	}
	if isBcrypt(target) {
		return h.verifyBcrypt(ctx, pw, target)
	}
	variant, p, salt, want, err := decode(target)
	if err != nil {
		return false, err
	}
	if len(pw) > maxInputBytes {
		pw = pw[:maxInputBytes] // still hash, so the time class is the same; cannot match a stored hash
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	key := argon2.IDKey
	if variant == "argon2i" {
		key = argon2.Key // only ever imported, never written
	}
	got := key([]byte(Normalize(pw)), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	match := subtle.ConstantTimeCompare(got, want) == 1
	if !match && encoded != "" && Normalize(pw) != pw {
		// An imported digest was made from the password as typed.
		got = key([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
		match = subtle.ConstantTimeCompare(got, want) == 1
	}
	return encoded != "" && match, nil
}

// NeedsRehash reports whether encoded is not an argon2id hash with the
// hasher's parameters: an imported bcrypt or argon2i digest, or one made
// with older parameters. Sign-in replaces such a hash once the password
// has been checked against it.
func (h *Hasher) NeedsRehash(encoded string) bool {
	if encoded == "" {
		return false
	}
	variant, p, _, key, err := decode(encoded)
	return err != nil || variant != "argon2id" || p.Memory != h.params.Memory || p.Time != h.params.Time ||
		p.Threads != h.params.Threads || p.SaltLen != h.params.SaltLen || len(key) != int(h.params.KeyLen)
}

func encode(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses a PHC-formatted argon2id or argon2i hash.
func decode(s string) (variant string, p Params, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || (parts[1] != "argon2id" && parts[1] != "argon2i") {
		return "", p, nil, nil, errors.New("password: not an argon2 hash")
	}
	variant = parts[1]
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return "", p, nil, nil, errors.New("password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return "", p, nil, nil, errors.New("password: bad argon2 parameters")
	}
	if p.Memory > 1<<20 || p.Time == 0 || p.Time > 16 || p.Threads == 0 {
		return "", p, nil, nil, errors.New("password: argon2 parameters out of range")
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return "", p, nil, nil, errors.New("password: bad salt")
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return "", p, nil, nil, errors.New("password: bad hash")
	}
	p.SaltLen = len(salt)
	return variant, p, salt, key, nil
}
