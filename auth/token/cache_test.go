package token_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// The cache of verified tokens must not change any outcome of 02 §4.

// TestCacheRechecksExpiry: a cached token is re-checked for expiry on
// every hit. exp = now+60 is accepted while exp > now−5 s, i.e. up to
// now+64, and is token-expired from now+65 on, cached or not.
func TestCacheRechecksExpiry(t *testing.T) {
	f := fixture(t)
	tok := validToken(t) // iat = testNow, exp = testNow+60
	cases := []struct {
		advance time.Duration // from testNow
		want    string
	}{
		{0, "accepted"},
		{30 * time.Second, "accepted"},
		{60 * time.Second, "accepted"},
		{64 * time.Second, "accepted"},
		{65 * time.Second, token.ReasonExpired},
		{66 * time.Second, token.ReasonExpired},
		{time.Hour, token.ReasonExpired},
	}
	for _, size := range []int{-1, 0, 1} {
		t.Run(fmt.Sprintf("cache size %d", size), func(t *testing.T) {
			clock := newClock(testNow)
			v := newVerifier(f.ring, clock, size)
			for _, tc := range cases {
				clock.unix.Store(testNow.Add(tc.advance).Unix())
				// Twice: the second call is the one a cache would answer.
				for call := 1; call <= 2; call++ {
					_, err := v.Verify(tok)
					if got := outcome(err); got != tc.want {
						t.Fatalf("now+%v call %d: got %s, want %s", tc.advance, call, got, tc.want)
					}
				}
			}
		})
	}
}

// TestCacheHitIsCheap shows the second Verify of a token is answered by
// the cache (far fewer allocations than a full verification), so the other
// cache tests do exercise the cache.
func TestCacheHitIsCheap(t *testing.T) {
	f := fixture(t)
	tok := validToken(t)
	cold := newVerifier(f.ring, newClock(testNow), -1)
	warm := newVerifier(f.ring, newClock(testNow), 0)
	if _, err := warm.Verify(tok); err != nil {
		t.Fatalf("first verify: got %s, want accepted", outcome(err))
	}
	coldAllocs := testing.AllocsPerRun(20, func() { cold.Verify(tok) })
	warmAllocs := testing.AllocsPerRun(20, func() { warm.Verify(tok) })
	if warmAllocs >= coldAllocs/4 {
		t.Fatalf("allocations of a cache hit: got %.0f, want far fewer than a cold verify (%.0f)", warmAllocs, coldAllocs)
	}
}

// TestCacheKeyringChange: a verified, cached token of one ring is judged
// afresh by another ring (NewKeyring makes a different ring; the cache is
// per verifier), and a token signed by a key that is not in the ring fails
// even when its header and payload are byte-identical to a cached token.
func TestCacheKeyringChange(t *testing.T) {
	f := fixture(t)
	clock := newClock(testNow)
	ours := newVerifier(f.ring, clock, 0)
	tok := validToken(t)
	if _, err := ours.Verify(tok); err != nil {
		t.Fatalf("our token: got %s, want accepted", outcome(err))
	}

	h := mustJSON(t, sessionHeader(f.key.KID))
	p := mustJSON(t, sessionClaims(testNow))
	forgedSameKid := signRaw(t, f.other, h, p)
	if segments(forgedSameKid)[0] != segments(tok)[0] || segments(forgedSameKid)[1] != segments(tok)[1] {
		t.Fatalf("test setup: the forged token should differ from the cached one only in its signature")
	}
	forgedOwnKid := signRaw(t, f.other, mustJSON(t, sessionHeader(f.otherKey.KID)), p)

	otherRing := token.NewKeyring(f.otherKey)
	theirs := newVerifier(otherRing, clock, 0)
	bothRing := token.NewKeyring(f.otherKey, f.key) // other key active, ours still trusted
	both := newVerifier(bothRing, clock, 0)

	cases := []struct {
		name string
		v    *token.Verifier
		tok  string
		want string
	}{
		{"our ring, cached token", ours, tok, "accepted"},
		{"our ring, other key with our kid", ours, forgedSameKid, token.ReasonInvalidSignature},
		{"our ring, other key with its kid", ours, forgedOwnKid, token.ReasonKidMismatch},
		{"our ring, cached token again", ours, tok, "accepted"},
		{"other ring, our token", theirs, tok, token.ReasonKidMismatch},
		{"other ring, its own token", theirs, forgedOwnKid, "accepted"},
		{"other ring, other key with our kid", theirs, forgedSameKid, token.ReasonKidMismatch},
		{"ring of both, our token", both, tok, "accepted"},
		{"ring of both, other key's token", both, forgedOwnKid, "accepted"},
		{"ring of both, other key with our kid", both, forgedSameKid, token.ReasonInvalidSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for call := 1; call <= 2; call++ {
				_, err := tc.v.Verify(tc.tok)
				if got := outcome(err); got != tc.want {
					t.Fatalf("call %d: got %s, want %s", call, got, tc.want)
				}
			}
		})
	}
	// The ring that now signs is the other key: new tokens carry its kid.
	if got := bothRing.Active().KID; got != f.otherKey.KID {
		t.Fatalf("active kid: got %s, want %s", got, f.otherKey.KID)
	}
}

// TestCacheOneCharacterChanged: after a token is verified and cached, the
// same token with any one character changed is judged afresh, never
// answered from the cache. The replacement flips the most significant bit
// of the character's 6-bit value, which always changes the decoded bytes.
func TestCacheOneCharacterChanged(t *testing.T) {
	f := fixture(t)
	tok := validToken(t)
	cached := newVerifier(f.ring, newClock(testNow), 0)
	cold := newVerifier(f.ring, newClock(testNow), -1)
	if _, err := cached.Verify(tok); err != nil {
		t.Fatalf("original: got %s, want accepted", outcome(err))
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	step := 1
	if testing.Short() {
		step = 7
	}
	for i := 0; i < len(tok); i += step {
		var changed string
		if tok[i] == '.' {
			changed = tok[:i] + "A" + tok[i+1:] // joins two segments
		} else {
			j := strings.IndexByte(alphabet, tok[i])
			changed = tok[:i] + string(alphabet[j^32]) + tok[i+1:]
		}
		_, errCached := cached.Verify(changed)
		_, errCold := cold.Verify(changed)
		if errCached == nil {
			t.Errorf("position %d (%q→%q): got accepted, want rejected", i, tok[i], changed[i])
			continue
		}
		if a, b := outcome(errCached), outcome(errCold); a != b {
			t.Errorf("position %d: got %s with the cache, want %s (as without it)", i, a, b)
		}
	}
	// The original is still a hit.
	if _, err := cached.Verify(tok); err != nil {
		t.Fatalf("original after mutations: got %s, want accepted", outcome(err))
	}
}

// TestCacheEvictionKeepsOutcomes: a tiny cache under churn still gives the
// same outcome for every token.
func TestCacheEvictionKeepsOutcomes(t *testing.T) {
	f := fixture(t)
	var toks []string
	for i := range 40 {
		toks = append(toks, craft(t, nil, set("sub", fmt.Sprintf("user_%d", i))))
	}
	for _, size := range []int{1, 2, 33, 64} {
		t.Run(fmt.Sprintf("cache size %d", size), func(t *testing.T) {
			v := newVerifier(f.ring, newClock(testNow), size)
			for round := range 3 {
				for i, tok := range toks {
					c, err := v.Verify(tok)
					if err != nil {
						t.Fatalf("round %d token %d: got %s, want accepted", round, i, outcome(err))
					}
					if want := fmt.Sprintf("user_%d", i); c.Subject != want {
						t.Fatalf("round %d token %d: Subject: got %q, want %q", round, i, c.Subject, want)
					}
				}
			}
		})
	}
}

// TestCacheConcurrentVerify: 8 goroutines verify a mix of good and bad
// tokens through one verifier (run with -race). Every call gets the outcome
// a sequential, uncached verifier gives.
func TestCacheConcurrentVerify(t *testing.T) {
	f := fixture(t)
	type item struct {
		tok, want, subject string
	}
	var items []item
	for i := range 6 {
		sub := fmt.Sprintf("user_%d", i)
		items = append(items, item{craft(t, nil, set("sub", sub)), "accepted", sub})
	}
	good := items[0].tok
	items = append(items,
		item{tok: good[:len(good)-4], want: token.ReasonInvalidSignature},
		item{tok: craft(t, set("kid", "ins_nope"), nil), want: token.ReasonKidMismatch},
		item{tok: craft(t, nil, set("exp", testNow.Unix()-10, "iat", testNow.Unix()-60)), want: token.ReasonExpired},
		item{tok: craft(t, nil, set("azp", "https://evil.example")), want: token.ReasonInvalidAuthorizedPty},
		item{tok: "not.a.token!", want: token.ReasonInvalid},
	)
	for _, size := range []int{0, 2, 64} {
		t.Run(fmt.Sprintf("cache size %d", size), func(t *testing.T) {
			v := newVerifier(f.ring, newClock(testNow), size)
			const workers, rounds = 8, 50
			var wg sync.WaitGroup
			errs := make(chan string, workers*rounds*len(items))
			for w := range workers {
				wg.Go(func() {
					for r := range rounds {
						for k := range items {
							it := items[(k+w+r)%len(items)]
							c, err := v.Verify(it.tok)
							if got := outcome(err); got != it.want {
								errs <- fmt.Sprintf("worker %d: got %s, want %s", w, got, it.want)
								continue
							}
							if err == nil {
								if c.Subject != it.subject {
									errs <- fmt.Sprintf("worker %d: Subject: got %q, want %q", w, c.Subject, it.subject)
								}
								// Read-only use of shared cached claims.
								_ = c.OrgPermissions()
								_ = c.OrgRole()
							}
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			n := 0
			for e := range errs {
				if n < 10 {
					t.Error(e)
				}
				n++
			}
			if n > 0 {
				t.Fatalf("%d wrong outcomes", n)
			}
		})
	}
}
