package token

import (
	"hash/maphash"
	"sync"
)

// cache holds verified tokens, keyed by the exact token string, until they
// expire. It is sharded so concurrent requests rarely meet on a lock, and
// bounded: a full shard first drops its expired entries, then half of the
// rest (map order is random, so the victims are too).
type cache struct {
	seed     maphash.Seed
	shards   [32]cacheShard
	perShard int
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	claims *Claims
	gen    uint64
}

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
	s := c.shard(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.perShard {
		for k, e := range s.m {
			if e.claims.Expiry+int64(Skew.Seconds()) <= now || e.gen != gen {
				delete(s.m, k)
			}
		}
		for k := range s.m {
			if len(s.m) < c.perShard/2 {
				break
			}
			delete(s.m, k)
		}
	}
	s.m[tok] = cacheEntry{claims: claims, gen: gen}
}
