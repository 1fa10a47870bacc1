package token_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// ---------------------------------------------------------------------------
// Fixtures shared by every test in this binary.

const (
	testIssuer = "https://app.example.com"
	testTTL    = 60 * time.Second
	sessionCat = token.CategorySession
)

var (
	testParties = []string{"https://app.example.com", "http://localhost:3000"}
	// testNow is the fixed "now" of every verifier built by these tests.
	testNow = time.Unix(1_800_000_000, 0)
)

// testKeys holds the one RSA-2048 key the keyring trusts and one foreign key
// it does not. Both are generated once per test binary.
type testKeys struct {
	priv     *rsa.PrivateKey
	key      *token.Key // KID is the RFC 7638 thumbprint
	ring     *token.Keyring
	other    *rsa.PrivateKey // never in ring
	otherKey *token.Key
}

var (
	keysOnce sync.Once
	keysVal  testKeys
	keysErr  error
)

func fixture(tb testing.TB) *testKeys {
	tb.Helper()
	keysOnce.Do(func() {
		load := func() (*rsa.PrivateKey, *token.Key, error) {
			priv, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				return nil, nil, err
			}
			der, err := x509.MarshalPKCS8PrivateKey(priv)
			if err != nil {
				return nil, nil, err
			}
			k, err := token.ParsePrivateKeyPEM(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
			return priv, k, err
		}
		var f testKeys
		if f.priv, f.key, keysErr = load(); keysErr != nil {
			return
		}
		if f.other, f.otherKey, keysErr = load(); keysErr != nil {
			return
		}
		f.ring = token.NewKeyring(f.key)
		keysVal = f
	})
	if keysErr != nil {
		tb.Fatalf("generate test keys: %v", keysErr)
	}
	return &keysVal
}

// fakeClock is a race-safe settable clock for VerifierConfig.Now.
type fakeClock struct{ unix atomic.Int64 }

func newClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.unix.Store(t.Unix())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(c.unix.Load(), 0) }
func (c *fakeClock) Advance(d time.Duration) { c.unix.Add(int64(d / time.Second)) }

func newVerifier(kr *token.Keyring, clock *fakeClock, cacheSize int) *token.Verifier {
	return token.NewVerifier(token.VerifierConfig{
		Keys:              kr,
		Issuer:            testIssuer,
		AuthorizedParties: testParties,
		TokenTTL:          testTTL,
		Now:               clock.Now,
		CacheSize:         cacheSize,
	})
}

// outcome is "accepted" for a nil error, else the reason string.
func outcome(err error) string {
	if err == nil {
		return "accepted"
	}
	return token.Reason(err)
}

// ---------------------------------------------------------------------------
// Raw JWS crafting, so every header and claim is under the test's control.

var b64 = base64.RawURLEncoding

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	return string(b)
}

func signingInput(headerJSON, payloadJSON string) string {
	return b64.EncodeToString([]byte(headerJSON)) + "." + b64.EncodeToString([]byte(payloadJSON))
}

// signRaw returns the compact RS256 JWS of the exact header and payload
// bytes given, signed with key.
func signRaw(tb testing.TB, key *rsa.PrivateKey, headerJSON, payloadJSON string) string {
	tb.Helper()
	in := signingInput(headerJSON, payloadJSON)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return in + "." + b64.EncodeToString(sig)
}

// withSig replaces the signature segment of tok.
func withSig(tok string, sig []byte) string {
	return tok[:strings.LastIndexByte(tok, '.')+1] + b64.EncodeToString(sig)
}

func segments(tok string) []string { return strings.Split(tok, ".") }

// sessionHeader is the header our signer writes.
func sessionHeader(kid string) map[string]any {
	return map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT", "cat": sessionCat}
}

// sessionClaims are valid v2 session claims issued at now.
func sessionClaims(now time.Time) map[string]any {
	n := now.Unix()
	return map[string]any{
		"iss": testIssuer,
		"sub": "user_2abc",
		"sid": "sess_2abc",
		"iat": n,
		"nbf": n - 5,
		"exp": n + 60,
		"jti": "jti_0123456789",
		"v":   2,
		"azp": "https://app.example.com",
		"sts": "active",
		"fva": []int{3, -1},
		"o": map[string]any{
			"id": "org_2abc", "slg": "acme", "rol": "admin",
			"per": "manage,read", "fpm": "3,2",
		},
		"fea": "o:team,o:billing",
	}
}

// craft signs sessionHeader/sessionClaims with our key after letting the
// caller edit them (either function may be nil).
func craft(tb testing.TB, editHeader, editClaims func(map[string]any)) string {
	tb.Helper()
	f := fixture(tb)
	h := sessionHeader(f.key.KID)
	c := sessionClaims(testNow)
	if editHeader != nil {
		editHeader(h)
	}
	if editClaims != nil {
		editClaims(c)
	}
	return signRaw(tb, f.priv, mustJSON(tb, h), mustJSON(tb, c))
}

func validToken(tb testing.TB) string { return craft(tb, nil, nil) }

// set and del build the edit functions used by the table.
func set(kv ...any) func(map[string]any) {
	return func(m map[string]any) {
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
	}
}

func del(keys ...string) func(map[string]any) {
	return func(m map[string]any) {
		for _, k := range keys {
			delete(m, k)
		}
	}
}

func both(a, b func(map[string]any)) func(map[string]any) {
	return func(m map[string]any) { a(m); b(m) }
}

// reencode decodes every segment of tok and re-encodes it with enc.
func reencode(tb testing.TB, tok string, enc *base64.Encoding) string {
	tb.Helper()
	segs := segments(tok)
	for i, s := range segs {
		raw, err := b64.DecodeString(s)
		if err != nil {
			tb.Fatalf("decode segment %d: %v", i, err)
		}
		segs[i] = enc.EncodeToString(raw)
	}
	out := strings.Join(segs, ".")
	if out == tok {
		tb.Fatalf("re-encoding did not change the token")
	}
	return out
}

// sizedToken returns a token signed by our key whose length is the largest
// possible ≤ limit (over=false) or the smallest possible > limit (over=true).
func sizedToken(tb testing.TB, limit int, over bool) string {
	tb.Helper()
	f := fixture(tb)
	h := mustJSON(tb, sessionHeader(f.key.KID))
	sigLen := b64.EncodedLen(f.priv.Size())
	length := func(pad int) int {
		c := sessionClaims(testNow)
		c["pad"] = strings.Repeat("x", pad)
		return len(signingInput(h, mustJSON(tb, c))) + 1 + sigLen
	}
	best := -1
	for pad := 0; pad < 2*limit; pad++ {
		n := length(pad)
		if !over && n <= limit {
			best = pad
		}
		if over && n > limit {
			best = pad
			break
		}
		if n > limit {
			break
		}
	}
	if best < 0 {
		tb.Fatalf("no padding gives the wanted size")
	}
	c := sessionClaims(testNow)
	c["pad"] = strings.Repeat("x", best)
	tok := signRaw(tb, f.priv, h, mustJSON(tb, c))
	if (len(tok) > limit) != over {
		tb.Fatalf("sized token has %d bytes (limit %d, over %v)", len(tok), limit, over)
	}
	return tok
}

// hs256 signs header.payload with HMAC-SHA256 under secret.
func hs256(tb testing.TB, headerJSON, payloadJSON string, secret []byte) string {
	in := signingInput(headerJSON, payloadJSON)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + b64.EncodeToString(m.Sum(nil))
}

func publicKeyForms(tb testing.TB) map[string][]byte {
	tb.Helper()
	f := fixture(tb)
	pkix, err := x509.MarshalPKIXPublicKey(&f.priv.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	pkixPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	pkcs1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&f.priv.PublicKey)})
	return map[string][]byte{
		"PKIX PEM":                  pkixPEM,
		"PKIX PEM without newline":  []byte(strings.TrimRight(string(pkixPEM), "\n")),
		"PKCS1 PEM":                 pkcs1PEM,
		"PKIX DER":                  pkix,
		"JWKS document (our JWKS)":  f.ring.JWKS(),
		"modulus bytes (n)":         f.priv.N.Bytes(),
		"base64url modulus (n)":     []byte(b64.EncodeToString(f.priv.N.Bytes())),
		"PKCS1 DER":                 x509.MarshalPKCS1PublicKey(&f.priv.PublicKey),
		"empty secret":              {},
		"kid as secret":             []byte(f.key.KID),
		"PKIX PEM with CRLF ending": []byte(strings.ReplaceAll(string(pkixPEM), "\n", "\r\n")),
	}
}

// ---------------------------------------------------------------------------
// The verification table: one group per step of 02 §4, in the spec's order.

type verifyCase struct {
	name string
	tok  func(t *testing.T) string
	want string // a reason, or "accepted"
}

func lit(s string) func(*testing.T) string { return func(*testing.T) string { return s } }

func verifyCases() []verifyCase {
	const (
		invalid   = token.ReasonInvalid
		algorithm = token.ReasonInvalidAlgorithm
		kid       = token.ReasonKidMismatch
		signature = token.ReasonInvalidSignature
		failed    = token.ReasonVerificationFailed
		issuer    = token.ReasonInvalidIssuer
		expired   = token.ReasonExpired
		notYet    = token.ReasonNotActiveYet
		iatFuture = token.ReasonIATInTheFuture
		azp       = token.ReasonInvalidAuthorizedPty
		ok        = "accepted"
	)
	now := testNow.Unix()
	hdr := func(edit func(map[string]any)) func(*testing.T) string {
		return func(t *testing.T) string { return craft(t, edit, nil) }
	}
	cl := func(edit func(map[string]any)) func(*testing.T) string {
		return func(t *testing.T) string { return craft(t, nil, edit) }
	}
	// rawPayload signs a verbatim payload under the normal header.
	rawPayload := func(payload string) func(*testing.T) string {
		return func(t *testing.T) string {
			f := fixture(t)
			return signRaw(t, f.priv, mustJSON(t, sessionHeader(f.key.KID)), payload)
		}
	}
	// rawHeader signs the normal claims under a verbatim header.
	rawHeader := func(header func(kid string) string) func(*testing.T) string {
		return func(t *testing.T) string {
			f := fixture(t)
			return signRaw(t, f.priv, header(f.key.KID), mustJSON(t, sessionClaims(testNow)))
		}
	}
	// withAlg signs the normal claims with header alg set to alg and the
	// signature produced by sign.
	withAlg := func(alg string, sign func(t *testing.T, in []byte) []byte) func(*testing.T) string {
		return func(t *testing.T) string {
			f := fixture(t)
			h := sessionHeader(f.key.KID)
			h["alg"] = alg
			in := signingInput(mustJSON(t, h), mustJSON(t, sessionClaims(testNow)))
			return in + "." + b64.EncodeToString(sign(t, []byte(in)))
		}
	}
	rsSig := func(t *testing.T, in []byte) []byte {
		sum := sha256.Sum256(in)
		sig, err := rsa.SignPKCS1v15(rand.Reader, fixture(t).priv, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	// mutate edits the valid token's text.
	mutate := func(edit func(t *testing.T, tok string) string) func(*testing.T) string {
		return func(t *testing.T) string { return edit(t, validToken(t)) }
	}

	cases := []verifyCase{
		// 0. The baseline.
		{"valid/session token", func(t *testing.T) string { return validToken(t) }, ok},
		{"valid/typ absent", hdr(del("typ")), ok},

		// 1. Shape: exactly three unpadded base64url segments, ≤ 8 KiB.
		{"shape/empty string", lit(""), invalid},
		{"shape/two segments", mutate(func(t *testing.T, tok string) string {
			return strings.Join(segments(tok)[:2], ".")
		}), invalid},
		{"shape/two segments with trailing dot (alg none style)", mutate(func(t *testing.T, tok string) string {
			return strings.Join(segments(tok)[:2], ".") + "."
		}), invalid},
		{"shape/four segments", mutate(func(t *testing.T, tok string) string { return tok + ".AAAA" }), invalid},
		{"shape/five segments (JWE compact)", func(t *testing.T) string {
			h := mustJSON(t, map[string]any{"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": fixture(t).key.KID, "typ": "JWT", "cat": sessionCat})
			return b64.EncodeToString([]byte(h)) + ".AAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA"
		}, invalid},
		{"shape/five segments (JWE PBES2 huge p2c, zip DEF)", func(t *testing.T) string {
			h := mustJSON(t, map[string]any{"alg": "PBES2-HS512+A256KW", "enc": "A256GCM", "p2c": 2_000_000_000, "p2s": "c2FsdHNhbHQ", "zip": "DEF", "kid": fixture(t).key.KID, "cat": sessionCat})
			return b64.EncodeToString([]byte(h)) + ".AAAA.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA"
		}, invalid},
		{"shape/padding =", mutate(func(t *testing.T, tok string) string { return reencode(t, tok, base64.URLEncoding) }), invalid},
		{"shape/padding = on signature only", mutate(func(t *testing.T, tok string) string { return tok + "==" }), invalid},
		{"shape/standard alphabet + and /", mutate(func(t *testing.T, tok string) string {
			return reencode(t, tok, base64.StdEncoding.WithPadding(base64.NoPadding))
		}), invalid},
		{"shape/leading space", mutate(func(t *testing.T, tok string) string { return " " + tok }), invalid},
		{"shape/trailing newline", mutate(func(t *testing.T, tok string) string { return tok + "\n" }), invalid},
		{"shape/trailing CRLF", mutate(func(t *testing.T, tok string) string { return tok + "\r\n" }), invalid},
		{"shape/space inside payload", mutate(func(t *testing.T, tok string) string {
			s := segments(tok)
			s[1] = s[1][:10] + " " + s[1][10:]
			return strings.Join(s, ".")
		}), invalid},
		{"shape/tab after dot", mutate(func(t *testing.T, tok string) string { return strings.Replace(tok, ".", ".\t", 1) }), invalid},
		{"shape/Bearer prefix kept", mutate(func(t *testing.T, tok string) string { return "Bearer " + tok }), invalid},
		{"shape/empty header segment", mutate(func(t *testing.T, tok string) string { s := segments(tok); s[0] = ""; return strings.Join(s, ".") }), invalid},
		{"shape/empty payload segment", mutate(func(t *testing.T, tok string) string { s := segments(tok); s[1] = ""; return strings.Join(s, ".") }), invalid},
		{"shape/empty signature segment", mutate(func(t *testing.T, tok string) string { s := segments(tok); s[2] = ""; return strings.Join(s, ".") }), invalid},
		{"shape/NUL byte", mutate(func(t *testing.T, tok string) string { return tok[:20] + "\x00" + tok[20:] }), invalid},
		{"shape/non-ASCII", mutate(func(t *testing.T, tok string) string { return tok[:20] + "é" + tok[21:] }), invalid},
		{"shape/largest size ≤ 8 KiB passes", func(t *testing.T) string { return sizedToken(t, token.MaxTokenSize, false) }, ok},
		{"shape/just over 8 KiB (validly signed)", func(t *testing.T) string { return sizedToken(t, token.MaxTokenSize, true) }, invalid},
		{"shape/1 MiB", lit(strings.Repeat("A", 1<<20) + ".AAAA.AAAA"), invalid},
		{"shape/JSON serialisation, flattened", mutate(func(t *testing.T, tok string) string {
			s := segments(tok)
			return mustJSON(t, map[string]any{"protected": s[0], "payload": s[1], "signature": s[2],
				"sub": "user_admin", "exp": testNow.Unix() + 3600})
		}), invalid},
		{"shape/JSON serialisation, general", mutate(func(t *testing.T, tok string) string {
			s := segments(tok)
			return mustJSON(t, map[string]any{"payload": s[1], "signatures": []any{map[string]any{"protected": s[0], "signature": s[2]}}})
		}), invalid},
		{"shape/many dots (64 KiB)", lit(strings.Repeat(".", 64<<10)), invalid},
		{"shape/many dots (under 8 KiB)", lit(strings.Repeat("a.", 4000)), invalid},
		{"shape/only dots", lit(".."), invalid},
		{"shape/header is not JSON", mutate(func(t *testing.T, tok string) string {
			s := segments(tok)
			s[0] = b64.EncodeToString([]byte("not json"))
			return strings.Join(s, ".")
		}), invalid},
		{"shape/header is a JSON array", rawHeader(func(string) string { return `["RS256"]` }), invalid},
		{"shape/header is JSON null", rawHeader(func(string) string { return `null` }), invalid},
		// 2. Header: typ, cat, alg, kid, crit; jku/x5u/jwk/x5c are never used.
		{"typ/at+jwt", hdr(set("typ", "at+jwt")), invalid},
		{"typ/JWS", hdr(set("typ", "JWS")), invalid},
		{"typ/empty", hdr(set("typ", "")), invalid},
		{"typ/number", hdr(set("typ", 1)), invalid},
		{"cat/missing", hdr(del("cat")), invalid},
		{"cat/empty", hdr(set("cat", "")), invalid},
		{"cat/template category", hdr(set("cat", token.CategoryTemplate)), invalid},
		{"cat/machine category", hdr(set("cat", token.CategoryMachine)), invalid},
		{"cat/case variant", hdr(set("cat", strings.ToLower(sessionCat))), invalid},
		{"cat/template token from our own keyring", func(t *testing.T) string {
			tok, err := fixture(t).ring.Sign(sessionClaims(testNow), token.CategoryTemplate)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}, invalid},
		{"cat/machine token from our own keyring", func(t *testing.T) string {
			tok, err := fixture(t).ring.Sign(sessionClaims(testNow), token.CategoryMachine)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}, invalid},
		{"crit/unknown extension", hdr(set("crit", []string{"x-unknown"}, "x-unknown", true)), invalid},
		{"crit/b64 false", hdr(set("crit", []string{"b64"}, "b64", false)), invalid},
		{"crit/empty list", hdr(set("crit", []string{})), invalid},
		{"crit/spec-defined name", hdr(set("crit", []string{"exp"})), invalid},
		{"alg/none with a signature", hdr(set("alg", "none")), algorithm},
		{"alg/None", hdr(set("alg", "None")), algorithm},
		{"alg/NONE", hdr(set("alg", "NONE")), algorithm},
		{"alg/nOnE", hdr(set("alg", "nOnE")), algorithm},
		{"alg/none with empty signature (shape decides first)", func(t *testing.T) string {
			f := fixture(t)
			h := sessionHeader(f.key.KID)
			h["alg"] = "none"
			return signingInput(mustJSON(t, h), mustJSON(t, sessionClaims(testNow))) + "."
		}, invalid},
		{"alg/HS256 with our public key (PEM) as HMAC secret", func(t *testing.T) string {
			h := sessionHeader(fixture(t).key.KID)
			h["alg"] = "HS256"
			return hs256(t, mustJSON(t, h), mustJSON(t, sessionClaims(testNow)), publicKeyForms(t)["PKIX PEM"])
		}, algorithm},
		{"alg/missing", hdr(del("alg")), algorithm},
		{"alg/empty", hdr(set("alg", "")), algorithm},
		{"alg/lowercase rs256", hdr(set("alg", "rs256")), algorithm},
		{"alg/RS384 (really RS384-signed)", withAlg("RS384", func(t *testing.T, in []byte) []byte {
			sum := sha512.Sum384(in)
			sig, err := rsa.SignPKCS1v15(rand.Reader, fixture(t).priv, crypto.SHA384, sum[:])
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}), algorithm},
		{"alg/PS256 (really PSS-signed)", withAlg("PS256", func(t *testing.T, in []byte) []byte {
			sum := sha256.Sum256(in)
			sig, err := rsa.SignPSS(rand.Reader, fixture(t).priv, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}), algorithm},
		{"alg/PS256 over an RS256 signature", withAlg("PS256", rsSig), algorithm},
		{"alg/ES256", withAlg("ES256", func(*testing.T, []byte) []byte { return make([]byte, 64) }), algorithm},
		{"alg/EdDSA", withAlg("EdDSA", func(*testing.T, []byte) []byte { return make([]byte, 64) }), algorithm},
		{"alg/duplicate, RS256 then none (last wins)", rawHeader(func(kid string) string {
			return `{"alg":"RS256","kid":"` + kid + `","typ":"JWT","cat":"` + sessionCat + `","alg":"none"}`
		}), algorithm},
		{"kid/unknown", hdr(set("kid", "ins_unknown")), kid},
		{"kid/missing", hdr(del("kid")), kid},
		{"kid/empty", hdr(set("kid", "")), kid},
		{"kid/../../dev/null", hdr(set("kid", "../../dev/null")), kid},
		{"kid/../../../../../../dev/null", hdr(set("kid", "../../../../../../dev/null")), kid},
		{"kid/SQL injection", hdr(set("kid", "' OR '1'='1' --")), kid},
		{"kid/URL", hdr(set("kid", "https://attacker.example/jwks.json")), kid},
		{"kid/very long", hdr(set("kid", strings.Repeat("k", 4000))), kid},
		{"kid/unicode", hdr(set("kid", "ins_ǅ\u202e\u0000")), kid},
		{"kid/ours with trailing space", func(t *testing.T) string {
			return craft(t, set("kid", fixture(t).key.KID+" "), nil)
		}, kid},
		{"kid/ours upper-cased", func(t *testing.T) string {
			return craft(t, set("kid", strings.ToUpper(fixture(t).key.KID)), nil)
		}, kid},
		{"kid/another instance's key (its own kid)", func(t *testing.T) string {
			f := fixture(t)
			return signRaw(t, f.other, mustJSON(t, sessionHeader(f.otherKey.KID)), mustJSON(t, sessionClaims(testNow)))
		}, kid},

		// 3. Signature.
		{"sig/tampered payload (sub changed)", mutate(func(t *testing.T, tok string) string {
			s := segments(tok)
			c := sessionClaims(testNow)
			c["sub"] = "user_admin"
			s[1] = b64.EncodeToString([]byte(mustJSON(t, c)))
			return strings.Join(s, ".")
		}), signature},
		{"sig/tampered header (extra member)", mutate(func(t *testing.T, tok string) string {
			s := segments(tok)
			h := sessionHeader(fixture(t).key.KID)
			h["x"] = 1
			s[0] = b64.EncodeToString([]byte(mustJSON(t, h)))
			return strings.Join(s, ".")
		}), signature},
		{"sig/payload swapped between two valid tokens", func(t *testing.T) string {
			a := segments(validToken(t))
			b := segments(craft(t, nil, set("sub", "user_other")))
			return a[0] + "." + b[1] + "." + a[2]
		}, signature},
		{"sig/another key, our kid", func(t *testing.T) string {
			f := fixture(t)
			return signRaw(t, f.other, mustJSON(t, sessionHeader(f.key.KID)), mustJSON(t, sessionClaims(testNow)))
		}, signature},
		{"sig/truncated by 4 characters", mutate(func(t *testing.T, tok string) string { return tok[:len(tok)-4] }), signature},
		{"sig/truncated to half", mutate(func(t *testing.T, tok string) string {
			s := segments(tok)
			s[2] = s[2][:len(s[2])/2]
			return strings.Join(s, ".")
		}), signature},
		{"sig/all zero (256 bytes)", mutate(func(t *testing.T, tok string) string { return withSig(tok, make([]byte, 256)) }), signature},
		{"sig/one zero byte", mutate(func(t *testing.T, tok string) string { return withSig(tok, []byte{0}) }), signature},
		{"sig/AA", mutate(func(t *testing.T, tok string) string { s := segments(tok); s[2] = "AA"; return strings.Join(s, ".") }), signature},
		{"sig/257 bytes", mutate(func(t *testing.T, tok string) string {
			raw, _ := b64.DecodeString(segments(tok)[2])
			return withSig(tok, append(raw, 0))
		}), signature},
		{"sig/one bit flipped", mutate(func(t *testing.T, tok string) string {
			raw, _ := b64.DecodeString(segments(tok)[2])
			raw[100] ^= 1
			return withSig(tok, raw)
		}), signature},
		{"sig/signature equals n (modulus)", mutate(func(t *testing.T, tok string) string {
			return withSig(tok, fixture(t).priv.N.Bytes())
		}), signature},
		{"sig/expired and bad signature (signature decides)", func(t *testing.T) string {
			f := fixture(t)
			c := sessionClaims(testNow.Add(-time.Hour))
			return signRaw(t, f.other, mustJSON(t, sessionHeader(f.key.KID)), mustJSON(t, c))
		}, signature},
		{"sig/payload is not JSON (validly signed)", rawPayload("not json"), invalid},

		// 4. Claims.
		{"sub/missing", cl(del("sub")), failed},
		{"sub/number", cl(set("sub", 42)), failed},
		{"sub/empty", cl(set("sub", "")), failed},
		{"sub/null", cl(set("sub", nil)), failed},
		{"sub/object", cl(set("sub", map[string]any{"id": "user_2abc"})), failed},
		{"sid/missing", cl(del("sid")), failed},
		{"sid/empty", cl(set("sid", "")), failed},
		{"sid/number", cl(set("sid", 7)), failed},
		{"iss/other", cl(set("iss", "https://evil.example.com")), issuer},
		{"iss/missing", cl(del("iss")), issuer},
		{"iss/trailing slash", cl(set("iss", testIssuer+"/")), issuer},
		{"iss/case variant", cl(set("iss", strings.ToUpper(testIssuer))), issuer},
		{"iss/confusable (Cyrillic а)", cl(set("iss", "https://\u0430pp.example.com")), issuer},
		{"iss/array", cl(set("iss", []string{testIssuer})), issuer},
		{"exp/missing", cl(del("exp")), expired},
		{"exp/string", cl(set("exp", "1800000060")), expired},
		{"exp/null", cl(set("exp", nil)), expired},
		{"exp/bool", cl(set("exp", true)), expired},
		{"exp/0", cl(set("exp", 0)), expired},
		{"exp/negative", cl(set("exp", -1)), expired},
		{"exp/now-1h", cl(set("exp", now-3600)), expired},
		{"exp/now-5s (outside skew)", cl(set("exp", now-5, "iat", now-60, "nbf", now-65)), expired},
		{"exp/now-4s (inside skew) passes", cl(set("exp", now-4, "iat", now-60, "nbf", now-65)), ok},
		{"exp/1e300 (lifetime check decides)", rawPayload(`{"iss":"` + testIssuer + `","sub":"user_2abc","sid":"sess_2abc","iat":1800000000,"exp":1e300}`), failed},
		{"exp/twice, last expired (last wins)", rawPayload(`{"iss":"` + testIssuer + `","sub":"user_2abc","sid":"sess_2abc","iat":1800000000,"exp":1800000060,"exp":1799990000}`), expired},
		{"nbf/now+6s", cl(set("nbf", now+6)), notYet},
		{"nbf/now+1h", cl(set("nbf", now+3600)), notYet},
		{"nbf/now+5s passes", cl(set("nbf", now+5)), ok},
		{"nbf/absent passes", cl(del("nbf")), ok},
		{"nbf/string", cl(set("nbf", "0")), notYet},
		{"iat/now+6s", cl(set("iat", now+6, "exp", now+66)), iatFuture},
		{"iat/now+1h", cl(set("iat", now+3600, "exp", now+3660, "nbf", now-5)), iatFuture},
		{"iat/now+5s passes", cl(set("iat", now+5, "exp", now+65)), ok},
		{"iat/string", cl(set("iat", "1800000000")), iatFuture},
		{"iat/missing (lifetime unknown)", cl(del("iat")), failed},
		{"lifetime/exp-iat = TTL+6s", cl(set("iat", now-6, "exp", now+60)), failed},
		{"lifetime/exp-iat = TTL+5s passes", cl(set("iat", now-5, "exp", now+60)), ok},
		{"lifetime/exp-iat = 1 day", cl(set("exp", now+86400)), failed},
		{"azp/not an authorized party", cl(set("azp", "https://evil.example.com")), azp},
		{"azp/empty", cl(set("azp", "")), azp},
		{"azp/case variant", cl(set("azp", "HTTPS://APP.EXAMPLE.COM")), azp},
		{"azp/with path", cl(set("azp", "https://app.example.com/")), azp},
		{"azp/number", cl(set("azp", 1)), azp},
		{"azp/array holding a party", cl(set("azp", []string{"https://app.example.com"})), azp},
		{"azp/second authorized party passes", cl(set("azp", "http://localhost:3000")), ok},
		{"azp/absent passes", cl(del("azp")), ok},
		{"azp/null passes (treated as absent)", cl(set("azp", nil)), ok},
		{"claims/minimal set passes", rawPayload(`{"iss":"` + testIssuer + `","sub":"u","sid":"s","iat":1800000000,"exp":1800000060}`), ok},
		{"claims/v is a string (decode fails)", cl(set("v", "2")), failed},
	}
	return cases
}

func TestVerifyReasons(t *testing.T) {
	f := fixture(t)
	for _, tc := range verifyCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := tc.tok(t)
			// Each token goes through an uncached verifier and a cached one,
			// twice each: the second call may be answered by the cache,
			// which must not change any outcome (02 §4, last paragraph).
			for _, size := range []int{-1, 0} {
				v := newVerifier(f.ring, newClock(testNow), size)
				for call := 1; call <= 2; call++ {
					c, err := v.Verify(tok)
					if got := outcome(err); got != tc.want {
						t.Fatalf("cache size %d, call %d: got %s, want %s (error: %v)", size, call, got, tc.want, err)
					}
					if err == nil && c == nil {
						t.Fatalf("cache size %d, call %d: got nil claims and nil error", size, call)
					}
					if err != nil && c != nil {
						t.Fatalf("cache size %d, call %d: got claims %+v with error %v", size, call, c, err)
					}
				}
			}
		})
	}
}

// TestVerifyHeaderNonCanonical: a header segment whose last character has
// non-zero unused bits is not the canonical encoding (RFC 4648 §3.5); the
// verifier decodes headers strictly, so such a token is token-invalid.
func TestVerifyHeaderNonCanonical(t *testing.T) {
	f := fixture(t)
	h := sessionHeader(f.key.KID)
	// Pad the header until its JSON length is 1 mod 3, so the last
	// base64url character carries 4 unused bits.
	for pad := ""; ; pad += "x" {
		h["x"] = pad
		if len(mustJSON(t, h))%3 == 1 {
			break
		}
	}
	tok := signRaw(t, f.priv, mustJSON(t, h), mustJSON(t, sessionClaims(testNow)))
	v := newVerifier(f.ring, newClock(testNow), -1)
	if _, err := v.Verify(tok); err != nil {
		t.Fatalf("canonical token: got %s, want accepted (%v)", outcome(err), err)
	}
	s := segments(tok)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, s[0][len(s[0])-1])
	s[0] = s[0][:len(s[0])-1] + string(alphabet[last|1]) // set an unused bit
	if _, err := v.Verify(strings.Join(s, ".")); token.Reason(err) != token.ReasonInvalid {
		t.Fatalf("non-canonical header: got %s, want %s", outcome(err), token.ReasonInvalid)
	}
}

// TestVerifyValidTokenClaims signs through the normal path
// (Keyring.SignSession) and checks that the claims decode.
func TestVerifyValidTokenClaims(t *testing.T) {
	f := fixture(t)
	now := testNow.Unix()
	fea, per, fpm := token.EncodePermissions([]string{"org:team:manage", "org:team:read", "org:billing:read", "org:sys_profile:manage"})
	in := &token.Claims{
		Issuer: testIssuer, Subject: "user_2abc", SessionID: "sess_2abc",
		IssuedAt: now, NotBefore: now - 5, Expiry: now + 60, ID: "jti_1", Version: 2,
		AuthorizedParty: "http://localhost:3000", Status: "active", FVA: []int{0, -1},
		Actor:    &token.Actor{Subject: "user_admin", SessionID: "sess_admin"},
		Org:      &token.OrgClaim{ID: "org_1", Slug: "acme", Role: "admin", Permissions: per, FeatureMask: fpm},
		Features: fea,
	}
	tok, err := f.ring.SignSession(in)
	if err != nil {
		t.Fatalf("SignSession: %v", err)
	}
	if got := len(segments(tok)); got != 3 {
		t.Fatalf("segments: got %d, want 3", got)
	}
	var hdr map[string]any
	raw, _ := b64.DecodeString(segments(tok)[0])
	if err := json.Unmarshal(raw, &hdr); err != nil {
		t.Fatalf("header: %v", err)
	}
	wantHdr := map[string]any{"alg": "RS256", "kid": f.key.KID, "typ": "JWT", "cat": sessionCat}
	if !reflect.DeepEqual(hdr, wantHdr) {
		t.Fatalf("header: got %v, want %v", hdr, wantHdr)
	}

	for _, size := range []int{-1, 0} {
		v := newVerifier(f.ring, newClock(testNow), size)
		for call := 1; call <= 2; call++ {
			c, err := v.Verify(tok)
			if err != nil {
				t.Fatalf("cache %d call %d: got %s, want accepted (%v)", size, call, outcome(err), err)
			}
			checks := []struct {
				name      string
				got, want any
			}{
				{"Subject", c.Subject, "user_2abc"},
				{"SessionID", c.SessionID, "sess_2abc"},
				{"Issuer", c.Issuer, testIssuer},
				{"IssuedAt", c.IssuedAt, now},
				{"NotBefore", c.NotBefore, now - 5},
				{"Expiry", c.Expiry, now + 60},
				{"ID", c.ID, "jti_1"},
				{"Version", c.Version, 2},
				{"AuthorizedParty", c.AuthorizedParty, "http://localhost:3000"},
				{"Status", c.Status, "active"},
				{"FVA", c.FVA, []int{0, -1}},
				{"Actor", *c.Actor, token.Actor{Subject: "user_admin", SessionID: "sess_admin"}},
				{"Org.ID", c.Org.ID, "org_1"},
				{"Org.Slug", c.Org.Slug, "acme"},
				{"OrgRole", c.OrgRole(), "org:admin"},
				{"OrgPermissions", c.OrgPermissions(), []string{"org:team:manage", "org:team:read", "org:billing:read", "org:sys_profile:manage"}},
				{"Raw", string(c.Raw()), string(in.Raw())},
			}
			for _, ck := range checks {
				if !reflect.DeepEqual(ck.got, ck.want) {
					t.Errorf("cache %d call %d: %s: got %v, want %v", size, call, ck.name, ck.got, ck.want)
				}
			}
			out, err := json.Marshal(c)
			if err != nil || string(out) != string(in.Raw()) {
				t.Errorf("cache %d call %d: MarshalJSON: got %s (%v), want the signed payload %s", size, call, out, err, in.Raw())
			}
		}
	}
}

// TestVerifyOnlyKeyring: a keyring holding only the public key (verify-only
// mode) verifies our tokens under the same kid, and cannot sign.
func TestVerifyOnlyKeyring(t *testing.T) {
	f := fixture(t)
	der, err := x509.MarshalPKIXPublicKey(&f.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := token.ParsePublicKeyPEM(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	if err != nil {
		t.Fatalf("ParsePublicKeyPEM: %v", err)
	}
	if pub.KID != f.key.KID {
		t.Fatalf("kid: got %q, want %q (the same key must have the same kid)", pub.KID, f.key.KID)
	}
	ring := token.NewKeyring(pub)
	v := newVerifier(ring, newClock(testNow), 0)
	if _, err := v.Verify(validToken(t)); err != nil {
		t.Fatalf("verify-only ring: got %s, want accepted (%v)", outcome(err), err)
	}
	if _, err := ring.SignSession(&token.Claims{Subject: "u"}); err != token.ErrNoSigningKey {
		t.Fatalf("SignSession on a verify-only ring: got %v, want %v", err, token.ErrNoSigningKey)
	}
}

// TestVerifyHS256KeyConfusion: RS256→HS256 confusion with every usual form
// of our public key as the HMAC secret is refused on alg.
func TestVerifyHS256KeyConfusion(t *testing.T) {
	f := fixture(t)
	v := newVerifier(f.ring, newClock(testNow), 0)
	for name, secret := range publicKeyForms(t) {
		for _, alg := range []string{"HS256", "hs256"} {
			t.Run(alg+"/"+name, func(t *testing.T) {
				h := sessionHeader(f.key.KID)
				h["alg"] = alg
				tok := hs256(t, mustJSON(t, h), mustJSON(t, sessionClaims(testNow)), secret)
				_, err := v.Verify(tok)
				if got := outcome(err); got != token.ReasonInvalidAlgorithm {
					t.Fatalf("got %s, want %s", got, token.ReasonInvalidAlgorithm)
				}
			})
		}
	}
}

// TestVerifyNeverFetchesKeyURLs: jku, x5u, jwk and x5c are never used or
// fetched (02 §4.2). A server offering the attacker's key counts requests.
func TestVerifyNeverFetchesKeyURLs(t *testing.T) {
	f := fixture(t)
	attackerRing := token.NewKeyring(f.otherKey)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if strings.HasSuffix(r.URL.Path, ".pem") {
			w.Write(selfSignedPEM(t, f.other))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(attackerRing.JWKS())
	}))
	defer srv.Close()

	attackerJWK := func() map[string]any {
		var set struct{ Keys []map[string]any }
		if err := json.Unmarshal(attackerRing.JWKS(), &set); err != nil {
			t.Fatal(err)
		}
		return set.Keys[0]
	}()
	certDER := selfSignedDER(t, f.other)

	cases := []struct {
		name   string
		signer *rsa.PrivateKey
		kid    string
		extra  map[string]any
		want   string
	}{
		{"jku to test server, our key", f.priv, f.key.KID, map[string]any{"jku": srv.URL + "/jwks.json"}, "accepted"},
		{"x5u to test server, our key", f.priv, f.key.KID, map[string]any{"x5u": srv.URL + "/cert.pem"}, "accepted"},
		{"jwk (attacker's) embedded, our key", f.priv, f.key.KID, map[string]any{"jwk": attackerJWK}, "accepted"},
		{"x5c (attacker's) embedded, our key", f.priv, f.key.KID, map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(certDER)}}, "accepted"},
		{"jku to test server, attacker key, our kid", f.other, f.key.KID, map[string]any{"jku": srv.URL + "/jwks.json"}, token.ReasonInvalidSignature},
		{"jku to test server, attacker key and kid", f.other, f.otherKey.KID, map[string]any{"jku": srv.URL + "/jwks.json"}, token.ReasonKidMismatch},
		{"x5u to test server, attacker key, our kid", f.other, f.key.KID, map[string]any{"x5u": srv.URL + "/cert.pem"}, token.ReasonInvalidSignature},
		{"jwk embedded, attacker key, our kid", f.other, f.key.KID, map[string]any{"jwk": attackerJWK}, token.ReasonInvalidSignature},
		{"jwk embedded, attacker key and kid", f.other, f.otherKey.KID, map[string]any{"jwk": attackerJWK}, token.ReasonKidMismatch},
		{"x5c embedded, attacker key, our kid", f.other, f.key.KID, map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(certDER)}}, token.ReasonInvalidSignature},
		{"all four, attacker key, our kid", f.other, f.key.KID, map[string]any{
			"jku": srv.URL + "/jwks.json", "x5u": srv.URL + "/cert.pem", "jwk": attackerJWK,
			"x5c": []string{base64.StdEncoding.EncodeToString(certDER)},
		}, token.ReasonInvalidSignature},
		{"jku as kid, attacker key", f.other, srv.URL + "/jwks.json", map[string]any{"jku": srv.URL + "/jwks.json"}, token.ReasonKidMismatch},
		{"jku to metadata address", f.other, f.key.KID, map[string]any{"jku": "http://169.254.169.254/latest/meta-data/"}, token.ReasonInvalidSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := sessionHeader(tc.kid)
			for k, val := range tc.extra {
				h[k] = val
			}
			tok := signRaw(t, tc.signer, mustJSON(t, h), mustJSON(t, sessionClaims(testNow)))
			for _, size := range []int{-1, 0} {
				v := newVerifier(f.ring, newClock(testNow), size)
				for call := 1; call <= 2; call++ {
					_, err := v.Verify(tok)
					if got := outcome(err); got != tc.want {
						t.Fatalf("cache %d call %d: got %s, want %s (%v)", size, call, got, tc.want, err)
					}
				}
			}
		})
	}
	// Give any stray asynchronous fetch a moment to arrive before counting.
	time.Sleep(50 * time.Millisecond)
	if got := hits.Load(); got != 0 {
		t.Fatalf("requests to the key server: got %d, want 0", got)
	}
}

func selfSignedDER(tb testing.TB, key *rsa.PrivateKey) []byte {
	tb.Helper()
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "attacker"},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatalf("certificate: %v", err)
	}
	return der
}

func selfSignedPEM(tb testing.TB, key *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: selfSignedDER(tb, key)})
}

// TestVerifyClaimNamesAreCaseSensitive: JWT claim and header names compare
// as exact code points (RFC 7515 §10.13, RFC 7519 §4; security-standards
// §3.3 "duplicate and case-variant claims (sub/SUB …)"), and tokens must
// decode identically with Clerk's @clerk/backend (02 §3), whose JSON.parse
// is case-sensitive. A token whose only expiry is "EXP" has no exp.
func TestVerifyClaimNamesAreCaseSensitive(t *testing.T) {
	f := fixture(t)
	cases := []struct {
		name        string
		header      func(kid string) string
		payload     string
		want        string
		wantSubject string // checked when accepted
	}{
		{
			name:    "exp only as EXP",
			payload: `{"iss":"` + testIssuer + `","sub":"user_2abc","sid":"sess_2abc","iat":1800000000,"EXP":1800000060}`,
			want:    token.ReasonExpired,
		},
		{
			name:    "sub only as SUB",
			payload: `{"iss":"` + testIssuer + `","SUB":"user_2abc","sid":"sess_2abc","iat":1800000000,"exp":1800000060}`,
			want:    token.ReasonVerificationFailed,
		},
		{
			name:    "iss only as Iss",
			payload: `{"Iss":"` + testIssuer + `","sub":"user_2abc","sid":"sess_2abc","iat":1800000000,"exp":1800000060}`,
			want:    token.ReasonInvalidIssuer,
		},
		{
			name:        "sub, then SUB: sub is the subject",
			payload:     `{"iss":"` + testIssuer + `","sub":"user_2abc","sid":"sess_2abc","iat":1800000000,"exp":1800000060,"SUB":"user_admin"}`,
			want:        "accepted",
			wantSubject: "user_2abc",
		},
		{
			name: "header alg only as ALG",
			header: func(kid string) string {
				return `{"ALG":"RS256","kid":"` + kid + `","typ":"JWT","cat":"` + sessionCat + `"}`
			},
			want: token.ReasonInvalidAlgorithm,
		},
		{
			name: "header cat only as CAT",
			header: func(kid string) string {
				return `{"alg":"RS256","kid":"` + kid + `","typ":"JWT","CAT":"` + sessionCat + `"}`
			},
			want: token.ReasonInvalid,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := mustJSON(t, sessionHeader(f.key.KID))
			if tc.header != nil {
				h = tc.header(f.key.KID)
			}
			p := tc.payload
			if p == "" {
				p = mustJSON(t, sessionClaims(testNow))
			}
			tok := signRaw(t, f.priv, h, p)
			c, err := newVerifier(f.ring, newClock(testNow), -1).Verify(tok)
			if got := outcome(err); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			if err == nil && tc.wantSubject != "" && c.Subject != tc.wantSubject {
				t.Fatalf("Subject: got %q, want %q", c.Subject, tc.wantSubject)
			}
		})
	}
}

// TestVerifyHeaderWrongTypeReason: 02 §4.2 gives each header check its own
// reason; a header member of the wrong JSON type fails that check with
// that reason (as wireClaims already does for claims): alg that is not the
// string "RS256" → token-invalid-algorithm; kid that names no trusted key
// → jwk-kid-mismatch.
func TestVerifyHeaderWrongTypeReason(t *testing.T) {
	cases := []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"alg is a number", set("alg", 256), token.ReasonInvalidAlgorithm},
		{"alg is an array", set("alg", []string{"RS256"}), token.ReasonInvalidAlgorithm},
		{"kid is a number", set("kid", 1), token.ReasonKidMismatch},
		{"kid is an object", set("kid", map[string]any{"$ne": ""}), token.ReasonKidMismatch},
	}
	f := fixture(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newVerifier(f.ring, newClock(testNow), -1).Verify(craft(t, tc.edit, nil))
			if got := outcome(err); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestReasonOfOtherErrors: Reason of a nil or foreign error.
func TestReasonOfOtherErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"foreign error", http.ErrServerClosed, "unexpected-error"},
		{"nil", nil, "unexpected-error"},
		{"token error", &token.Error{Reason: token.ReasonExpired}, token.ReasonExpired},
		{"wrapped token error", fmt.Errorf("middleware: %w", &token.Error{Reason: token.ReasonKidMismatch}), token.ReasonKidMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := token.Reason(tc.err); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
