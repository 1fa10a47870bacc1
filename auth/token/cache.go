package token

import (
	"hash/maphash"
	"strings"
	"sync"
)

// cache holds verified tokens, keyed by the exact token string, until they
// expire. It is sharded so concurrent requests rarely meet on a lock, and
// bounded: a shard drops its expired entries at most every sweepEvery
// seconds when it adds one, so it holds about the tokens alive now, and a
// full shard first drops its expired entries, then half of the rest (map
// order is random, so the victims are too).
type cache struct {
	seed     maphash.Seed
	shards   [32]cacheShard
	perShard int
}

type cacheShard struct {
	mu        sync.RWMutex
	m         map[string]cacheEntry
	nextSweep int64 // Unix seconds
}

type cacheEntry struct {
	claims *Claims
	gen    uint64
}

// sweepEvery is the longest a shard keeps expired entries (while tokens
// keep arriving): tokens are refreshed every minute or so, and a map that
// filled up with dead ones would hold their memory for good.
const sweepEvery = 10

func newCache(size int) *cache {
	c := &cache{seed: maphash.MakeSeed(), perShard: max(size/32, 1)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cacheEntry)
	}
	return c
}

func (c *cache) shard(tok string) *cacheShard {
	return &c.shards[maphash.String(c.seed, tok)%uint64(len(c.shards))]
}

// get returns the claims of tok when it is cached under key-set generation
// gen and its exp is after minExp.
func (c *cache) get(tok string, gen uint64, minExp int64) (*Claims, bool) {
	s := c.shard(tok)
	s.mu.RLock()
	e, ok := s.m[tok]
	s.mu.RUnlock()
	if !ok || e.gen != gen || e.claims.Expiry <= minExp {
		return nil, false
	}
	return e.claims, true
}

func (c *cache) put(tok string, claims *Claims, gen uint64, now int64) {
	// The token is often a slice of the request's Cookie header; a copy
	// keeps the cache from holding on to the whole header.
	tok = strings.Clone(tok)
	s := c.shard(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	if now >= s.nextSweep || len(s.m) >= c.perShard {
		s.nextSweep = now + sweepEvery
		for k, e := range s.m {
			if e.claims.Expiry+int64(Skew.Seconds()) <= now || e.gen != gen {
				delete(s.m, k)
			}
		}
	}
	if len(s.m) >= c.perShard {
		for k := range s.m {
			if len(s.m) < c.perShard/2 {
				break
			}
			delete(s.m, k)
		}
	}
	s.m[tok] = cacheEntry{claims: claims, gen: gen}
}

// len counts the cached tokens.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
