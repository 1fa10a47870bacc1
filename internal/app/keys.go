package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// keyReloadInterval is how often a serving process rereads the signing
// keys: at most half a token lifetime, so every instance signs with a new
// key long before the previous one retires (2 × TTL after the rotation).
func keyReloadInterval(ttl time.Duration) time.Duration {
	return min(max(ttl/2, 500*time.Millisecond), 30*time.Second)
}

// longestTemplateLifetime is the longest lifetime (plus its allowed clock
// skew) of the JWT templates signed by the instance key.
func longestTemplateLifetime(ctx context.Context, st *store.DB) (time.Duration, error) {
	var longest time.Duration
	for offset := 0; ; offset += 100 {
		list, total, err := st.ListJWTTemplates(ctx, 100, offset)
		if err != nil {
			return 0, fmt.Errorf("keys rotate: list JWT templates: %w", err)
		}
		for _, t := range list {
			if t.EncryptedSigningKey == nil {
				longest = max(longest, time.Duration(t.Lifetime+t.AllowedClockSkew)*time.Second)
			}
		}
		if offset+len(list) >= total || len(list) == 0 {
			return longest, nil
		}
	}
}

// RotationGrace is the least time a key superseded by a rotation stays
// trusted: 2 × the token lifetime, and never less than the time its last
// token can still pass (signed just before an instance reloaded, accepted
// until the skew past its expiry).
func RotationGrace(ttl time.Duration) time.Duration {
	return max(2*ttl, ttl+token.Skew+keyReloadInterval(ttl))
}

// watchKeys reloads keys in the background until the returned function is
// called.
func watchKeys(keys *token.Keyring, ttl time.Duration, log *slog.Logger) context.CancelFunc {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		keys.Watch(ctx, keyReloadInterval(ttl), func(err error) {
			log.Warn("could not reload the signing keys", "err", err)
		})
	}()
	return func() { stop(); <-done }
}

// MinRotationGrace is the shortest time the previous signing key stays
// published after a rotation: every session token signed by it, and every
// template token signed by the instance key (which may live longer), has
// expired by then on every instance.
func MinRotationGrace(ctx context.Context, st *store.DB, ttl time.Duration) (time.Duration, error) {
	longest, err := longestTemplateLifetime(ctx, st)
	if err != nil {
		return 0, err
	}
	return max(RotationGrace(ttl), longest+token.Skew+keyReloadInterval(ttl)), nil
}
