package token

import (
	"fmt"
	"testing"
)

// TestCacheSweepsExpired: tokens that expired leave the cache as new ones
// arrive, long before it is full, so under steady refreshes it holds about
// the live tokens and its memory stays flat.
func TestCacheSweepsExpired(t *testing.T) {
	c := newCache(50_000)
	const n, now = 1000, int64(1_000_000)
	for i := range n {
		c.put(fmt.Sprintf("old-%d", i), &Claims{Expiry: now + 60}, 1, now)
	}
	if got := c.len(); got != n {
		t.Fatalf("after %d puts: got %d entries, want %d", n, got, n)
	}
	// A minute and a half later every old token has expired (exp+skew
	// passed) and each shard is due for a sweep on its next put.
	later := now + 90
	for i := range n {
		c.put(fmt.Sprintf("new-%d", i), &Claims{Expiry: later + 60}, 1, later)
	}
	if got := c.len(); got != n {
		t.Errorf("after the old tokens expired and %d new ones came: got %d entries, want %d", n, got, n)
	}
	for i := range n {
		if _, ok := c.get(fmt.Sprintf("new-%d", i), 1, later); !ok {
			t.Fatalf("new-%d: got a miss, want the live token cached", i)
		}
	}
}

// TestCacheKeepsLiveBetweenSweeps: a sweep drops only expired entries.
func TestCacheKeepsLiveBetweenSweeps(t *testing.T) {
	c := newCache(50_000)
	const now = int64(1_000_000)
	for i := range 500 {
		c.put(fmt.Sprintf("live-%d", i), &Claims{Expiry: now + 3600}, 1, now)
	}
	for i := range 500 {
		c.put(fmt.Sprintf("more-%d", i), &Claims{Expiry: now + 3600}, 1, now+sweepEvery+1)
	}
	if got := c.len(); got != 1000 {
		t.Errorf("got %d entries, want 1000 (nothing had expired)", got)
	}
}
