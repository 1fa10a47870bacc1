package token_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/token"
)

var knownReasons = []string{
	token.ReasonInvalid,
	token.ReasonInvalidAlgorithm,
	token.ReasonKidMismatch,
	token.ReasonInvalidSignature,
	token.ReasonVerificationFailed,
	token.ReasonInvalidIssuer,
	token.ReasonExpired,
	token.ReasonNotActiveYet,
	token.ReasonIATInTheFuture,
	token.ReasonInvalidAuthorizedPty,
}

// FuzzVerify: Verify never panics; every refusal carries one of Clerk's
// reasons; the cache never changes an outcome; and any accepted token has
// a non-empty sub and sid, our issuer, and an exp that is still valid at
// the fake clock (exp > now − skew) within the TTL of its iat.
func FuzzVerify(f *testing.F) {
	keys := fixture(f)
	valid := validToken(f)
	segs := segments(valid)
	seeds := []string{
		valid,
		craft(f, nil, del("azp")),
		craft(f, nil, del("o", "fea")),
		craft(f, nil, set("exp", testNow.Unix()-4, "iat", testNow.Unix()-60)),
		craft(f, set("alg", "none"), nil),
		craft(f, set("kid", "../../dev/null"), nil),
		craft(f, set("crit", []string{"b64"}), nil),
		craft(f, nil, set("sub", "")),
		signRaw(f, keys.other, mustJSON(f, sessionHeader(keys.key.KID)), mustJSON(f, sessionClaims(testNow))),
		"",
		".",
		"..",
		"a.b.c",
		strings.Repeat(".", 100),
		valid[:len(valid)/2],
		valid[:len(valid)-1],
		valid + ".",
		valid + "=",
		segs[0] + "." + segs[1],
		segs[0] + ".." + segs[2],
		strings.ToUpper(valid),
		strings.Replace(valid, "-", "+", 1),
		`{"protected":"` + segs[0] + `","payload":"` + segs[1] + `","signature":"` + segs[2] + `"}`,
	}
	for i := 0; i < len(valid); i += 97 {
		seeds = append(seeds, valid[:i]+"A"+valid[i+1:])
	}
	for _, s := range seeds {
		f.Add(s)
	}

	cached := newVerifier(keys.ring, newClock(testNow), 4096)
	cold := newVerifier(keys.ring, newClock(testNow), -1)
	now := testNow.Unix()
	maxLife := int64((testTTL + token.Skew) / time.Second)

	f.Fuzz(func(t *testing.T, tok string) {
		c1, err1 := cached.Verify(tok)
		c2, err2 := cached.Verify(tok) // may be answered by the cache
		_, err3 := cold.Verify(tok)
		r1, r2, r3 := outcome(err1), outcome(err2), outcome(err3)
		if r1 != r3 || r2 != r3 {
			t.Fatalf("outcomes differ: cached %s then %s, uncached %s", r1, r2, r3)
		}
		for _, err := range []error{err1, err2} {
			if err != nil && !slices.Contains(knownReasons, token.Reason(err)) {
				t.Fatalf("got reason %q (%v), want one of %q", token.Reason(err), err, knownReasons)
			}
		}
		for _, c := range []*token.Claims{c1, c2} {
			if c == nil {
				continue
			}
			switch {
			case c.Subject == "":
				t.Fatalf("accepted with an empty Subject")
			case c.SessionID == "":
				t.Fatalf("accepted with an empty SessionID")
			case c.Issuer != testIssuer:
				t.Fatalf("accepted with Issuer %q, want %q", c.Issuer, testIssuer)
			case c.Expiry <= now-int64(token.Skew/time.Second):
				t.Fatalf("accepted with Expiry %d, want > %d (now − skew)", c.Expiry, now-int64(token.Skew/time.Second))
			case c.Expiry-c.IssuedAt > maxLife:
				t.Fatalf("accepted with lifetime %d s, want ≤ %d s", c.Expiry-c.IssuedAt, maxLife)
			case c.AuthorizedParty != "" && !slices.Contains(testParties, c.AuthorizedParty):
				t.Fatalf("accepted with azp %q", c.AuthorizedParty)
			}
		}
	})
}

// FuzzDecodePermissions: DecodePermissions never panics and only yields
// org:<feature>:<action> keys built from its inputs; for valid permission
// lists (built from the fuzz bytes), decode(encode(x)) == x as a set.
func FuzzDecodePermissions(f *testing.F) {
	f.Add("o:team,o:billing", "manage,read", "3,2", []byte{0x00, 0x01, 0x11})
	f.Add("o:dashboard,o:teams", "manage,read", "3,2", []byte("abc"))
	f.Add("u:x,o:a,ou:b", "r,w", "18446744073709551615,1", []byte{})
	f.Add("", "", "", []byte(nil))
	f.Add(",,,:,o:", ",,", "1,,x,-1", []byte{0xff, 0xfe})
	f.Add("o:a", "read", "99999999999999999999999", []byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0})

	f.Fuzz(func(t *testing.T, fea, per, fpm string, raw []byte) {
		got := token.DecodePermissions(fea, per, fpm)
		if got == nil {
			t.Fatalf("DecodePermissions returned nil, want a non-nil list")
		}
		actions := strings.Split(per, ",")
		for _, p := range got {
			rest, ok := strings.CutPrefix(p, "org:")
			if !ok {
				t.Fatalf("decoded %q: missing org: prefix", p)
			}
			built := slices.ContainsFunc(actions, func(a string) bool {
				feature, ok := strings.CutSuffix(rest, ":"+a)
				return ok && feature != "" && strings.Contains(fea, ":"+feature)
			})
			if !built {
				t.Fatalf("decoded %q: not built from fea %q and per %q", p, fea, per)
			}
		}

		// A valid list: each byte names feature f<hi nibble> and action
		// a<lo nibble> (at most 16 distinct actions, far below the cap).
		var perms []string
		for _, b := range raw {
			perms = append(perms, "org:f"+string(rune('a'+b>>4))+":a"+string(rune('a'+b&15)))
		}
		e1, e2, e3 := token.EncodePermissions(perms)
		back := token.DecodePermissions(e1, e2, e3)
		want := slices.Clone(perms)
		slices.Sort(want)
		want = slices.Compact(want)
		have := slices.Clone(back)
		slices.Sort(have)
		if !slices.Equal(have, want) {
			t.Fatalf("decode(encode(%q)) = %q, want the same set", perms, back)
		}
		if len(back) != len(want) {
			t.Fatalf("decode(encode(x)) has duplicates: %q", back)
		}
	})
}
