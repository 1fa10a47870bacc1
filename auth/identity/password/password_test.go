package password

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

// cheap keeps the tests that are not about argon2id's cost fast.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(DefaultParams, 0)
	nfc := norm.NFC.String("café-passwort")
	nfd := norm.NFD.String("café-passwort")
	if nfc == nfd {
		t.Fatalf("test setup: NFC and NFD forms are equal")
	}
	hash, err := h.Hash(ctx, nfc)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	t.Run("PHC string", func(t *testing.T) {
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("got %q, want prefix $argon2id$v=19$m=19456,t=2,p=1$", hash)
		}
		if parts := strings.Split(hash, "$"); len(parts) != 6 {
			t.Errorf("got %d $-separated parts, want 6", len(parts))
		}
	})
	// Each Verify against a DefaultParams hash costs a full argon2id run;
	// the finer cases use a cheap hash of the same password.
	cheapHash, err := NewHasher(cheap, 0).Hash(ctx, nfd)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	for _, tc := range []struct {
		name string
		hash string
		pw   string
		want bool
	}{
		{"same password", hash, nfc, true},
		{"NFD form", hash, nfd, true},
		{"wrong password", hash, "cafe-passwort", false},
		{"cheap: NFC form of an NFD-set password", cheapHash, nfc, true},
		{"cheap: case differs", cheapHash, "Café-passwort", false},
		{"cheap: prefix", cheapHash, "café-passwor", false},
		{"cheap: longer", cheapHash, "café-passwort!", false},
		{"cheap: trailing space", cheapHash, "café-passwort ", false},
		{"cheap: empty", cheapHash, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Verify(ctx, tc.pw, tc.hash)
			if err != nil || got != tc.want {
				t.Errorf("Verify(%q): got (%v, %v), want (%v, nil)", tc.pw, got, err, tc.want)
			}
		})
	}
	t.Run("two hashes differ (salt)", func(t *testing.T) {
		h2 := NewHasher(cheap, 0)
		a, _ := h2.Hash(ctx, "same password")
		b, _ := h2.Hash(ctx, "same password")
		if a == b {
			t.Errorf("got equal hashes %q, want different salts", a)
		}
	})
}

func TestVerifyParamsFromHash(t *testing.T) {
	ctx := context.Background()
	old := NewHasher(cheap, 0)
	hash, err := old.Hash(ctx, "stored with other params")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	h := NewHasher(Params{Memory: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	if ok, err := h.Verify(ctx, "stored with other params", hash); err != nil || !ok {
		t.Errorf("got (%v, %v), want (true, nil): parameters must come from the stored hash", ok, err)
	}
	for _, bad := range []string{"plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5"} {
		if ok, err := h.Verify(ctx, "x", bad); ok || err == nil {
			t.Errorf("Verify against %q: got (%v, %v), want (false, error)", bad, ok, err)
		}
	}
}

func TestVerifyEmptyHashDoesWork(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(cheap, 1)
	ok, err := h.Verify(ctx, "anything at all", "")
	if ok || err != nil {
		t.Fatalf("got (%v, %v), want (false, nil)", ok, err)
	}
	// The dummy verification must go through a hashing slot like a real
	// one: with every slot taken it waits and gives up.
	h.maxWait = 20 * time.Millisecond
	h.slots <- struct{}{}
	defer h.release()
	if _, err := h.Verify(ctx, "anything at all", ""); !errors.Is(err, ErrBusy) {
		t.Errorf("with every slot taken: got %v, want ErrBusy (no hash was attempted)", err)
	}
}

func TestBusy(t *testing.T) {
	h := NewHasher(cheap, 1)
	h.maxWait = 20 * time.Millisecond
	h.slots <- struct{}{} // every slot taken
	t.Run("Hash", func(t *testing.T) {
		if _, err := h.Hash(context.Background(), "a fine passphrase"); !errors.Is(err, ErrBusy) {
			t.Errorf("got %v, want ErrBusy", err)
		}
	})
	t.Run("Verify", func(t *testing.T) {
		hash := encode(cheap, make([]byte, 16), make([]byte, 32))
		if _, err := h.Verify(context.Background(), "a fine passphrase", hash); !errors.Is(err, ErrBusy) {
			t.Errorf("got %v, want ErrBusy", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		h.maxWait = 10 * time.Second
		if _, err := h.Hash(ctx, "a fine passphrase"); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	})
	h.release()
	if _, err := h.Hash(context.Background(), "a fine passphrase"); err != nil {
		t.Errorf("after the slot is freed: got %v, want nil", err)
	}
}

func TestConcurrencyBound(t *testing.T) {
	if got, want := cap(NewHasher(cheap, 0).slots), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("NewHasher(p, 0): got %d slots, want GOMAXPROCS = %d", got, want)
	}
	h := NewHasher(Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		maxSeen  int
		done     = make(chan struct{})
		sampling sync.WaitGroup
	)
	sampling.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if n := len(h.slots); n > 0 {
				mu.Lock()
				maxSeen = max(maxSeen, n)
				mu.Unlock()
			}
			runtime.Gosched()
		}
	})
	errs := make([]error, 16)
	for i := range 16 {
		wg.Go(func() { _, errs[i] = h.Hash(context.Background(), "a fine passphrase") })
	}
	wg.Wait()
	close(done)
	sampling.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("hash %d: got %v, want nil (waiters must wait, not fail)", i, err)
		}
	}
	if maxSeen > 2 {
		t.Errorf("got %d hashes in flight, want at most 2", maxSeen)
	}
	if len(h.slots) != 0 {
		t.Errorf("got %d slots still held after every hash returned, want 0", len(h.slots))
	}
}

func TestCheck(t *testing.T) {
	h := NewHasher(cheap, 1)
	// ệ is one character: U+1EC7 in NFC, three code points (5 bytes) in NFD.
	nfdChar := norm.NFD.String("ệ")
	for _, tc := range []struct {
		name     string
		pw       string
		personal []string
		want     error
	}{
		{"7 ASCII", "abcdefg", nil, ErrTooShort},
		{"8 ASCII", "abcdefgh", nil, nil},
		{"7 two-byte", strings.Repeat("é", 7), nil, ErrTooShort},
		{"8 two-byte", strings.Repeat("é", 8), nil, nil},
		{"7 four-byte", strings.Repeat("😀", 7), nil, ErrTooShort},
		{"8 four-byte", strings.Repeat("😀", 8), nil, nil},
		{"4 NFD characters (8 code points)", strings.Repeat("e\u0301", 4), nil, ErrTooShort},
		{"8 NFD characters (16 code points)", strings.Repeat("e\u0301", 8), nil, nil},
		{"256 ASCII", strings.Repeat("a", 256), nil, nil},
		{"257 ASCII", strings.Repeat("a", 257), nil, ErrTooLong},
		{"256 four-byte", strings.Repeat("😀", 256), nil, nil},
		{"257 four-byte", strings.Repeat("😀", 257), nil, ErrTooLong},
		{"256 three-byte", strings.Repeat("ệ", 256), nil, nil},
		{"257 three-byte", strings.Repeat("ệ", 257), nil, ErrTooLong},
		{"256 characters typed in NFD", strings.Repeat(nfdChar, 256), nil, nil},
		{"huge", strings.Repeat("a", 1<<20), nil, ErrTooLong},
		{"common", "password123", nil, ErrPwned},
		{"common, 8 digits", "12345678", nil, ErrPwned},
		{"spaces count", "pass word", nil, nil},
		{"email", "alice@example.com", []string{"alice@example.com", "Alice", "Smith"}, ErrPwned},
		{"email, upper case", "ALICE@EXAMPLE.COM", []string{"alice@example.com"}, ErrPwned},
		{"email local part", "alice.smith", []string{"alice.smith@example.com"}, ErrPwned},
		{"name", "bartholomew", []string{"bart@example.com", "Bartholomew", ""}, ErrPwned},
		{"contains the name", "bartholomew is great", []string{"Bartholomew"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.Check(tc.pw, tc.personal...); !errors.Is(got, tc.want) {
				t.Errorf("Check(%d code points): got %v, want %v", len([]rune(tc.pw)), got, tc.want)
			}
		})
	}
}

func TestCommonListSize(t *testing.T) {
	h := NewHasher(cheap, 1)
	if got := len(h.common); got < 10_000 {
		t.Errorf("got %d common passwords, want at least 10,000", got)
	}
}
