package password

import (
	"context"
	"testing"
)

// BenchmarkHash is one argon2id hash with the default parameters, the
// floor under every sign-in and sign-up.
func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams, 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "benchmark-password"); err != nil {
			b.Fatal(err)
		}
	}
}
