// Package randid makes the random identifiers and secrets Gatehouse hands out:
// a type prefix followed by at least 128 random bits in base62, as Clerk's
// identifiers are (user_…, sess_…, client_…).
package randid

import (
	"crypto/rand"
	"math/big"
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// New returns prefix + "_" + 22 base62 characters (131 random bits).
func New(prefix string) string {
	return prefix + "_" + Base62(22)
}

// Base62 returns n random base62 characters, each chosen uniformly.
func Base62(n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			// crypto/rand never fails on supported platforms; if it does,
			// continuing would hand out predictable identifiers.
			panic("randid: crypto/rand failed: " + err.Error())
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}
