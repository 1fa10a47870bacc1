package identity

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/identity/password"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

const appURL = "http://localhost:3000"

// fastParams keep argon2id cheap: these tests are about the sign-in rules,
// not the cost of a hash (the password package tests that).
var fastParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var testEncKey = bytes.Repeat([]byte{9}, 32)

var (
	pemOnce sync.Once
	pemKey  string
)

func signingKeyPEM() string {
	pemOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		pemKey = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	})
	return pemKey
}

// newService returns a service whose sign-ups take one step (most tests
// are about what follows); newServiceWith changes the configuration.
func newService(t *testing.T) (*Service, *store.DB) {
	t.Helper()
	return newServiceWith(t, fastParams, func(*Config) {})
}

func newServiceWith(t testing.TB, params password.Params, change func(*Config)) (*Service, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/db")
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	keys, err := token.LoadKeyring(ctx, db, testEncKey, signingKeyPEM())
	if err != nil {
		t.Fatalf("LoadKeyring: %v", err)
	}
	cookies, err := NewCookies(testEncKey, false, time.Hour)
	if err != nil {
		t.Fatalf("NewCookies: %v", err)
	}
	cfg := Config{
		Issuer: appURL, AppOrigin: appURL, AuthorizedParties: []string{appURL},
		TokenTTL: time.Minute, SessionMaxAge: time.Hour, SignUpVerification: SignUpNoCode,
		CodeKey: testEncKey, Mail: NewMailGate(db, DefaultMailLimits()),
	}
	change(&cfg)
	svc := New(cfg, db, keys, cookies, password.NewHasher(params, 0), slog.New(slog.DiscardHandler))
	return svc, db
}

func testCookies(t testing.TB) *Cookies {
	t.Helper()
	c, err := NewCookies(testEncKey, false, time.Hour)
	if err != nil {
		t.Fatalf("NewCookies: %v", err)
	}
	return c
}

// clientCookieOf returns the __client cookie a sign-in would set.
func clientCookieOf(t *testing.T, svc *Service, res *SignedIn) string {
	t.Helper()
	rec := httptest.NewRecorder()
	svc.Cookies().SetSignedIn(rec, res)
	for _, c := range rec.Result().Cookies() {
		if c.Name == ClientCookie {
			return c.Value
		}
	}
	t.Fatalf("SetSignedIn set no %s cookie", ClientCookie)
	return ""
}

func asError(t *testing.T, err error) *Error {
	t.Helper()
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("got error %v (%T), want an *identity.Error", err, err)
	}
	return e
}

func TestDecodeClientRoundTrip(t *testing.T) {
	c := testCookies(t)
	v, err := c.encodeClient(clientValue{ID: "client_abc", Secret: "s3cret"})
	if err != nil {
		t.Fatalf("encodeClient: %v", err)
	}
	id, secret, err := c.DecodeClient(v)
	if err != nil || id != "client_abc" || secret != "s3cret" {
		t.Fatalf("got (%q, %q, %v), want (client_abc, s3cret, nil)", id, secret, err)
	}
	other, err := NewCookies(bytes.Repeat([]byte{1}, 32), false, time.Hour)
	if err != nil {
		t.Fatalf("NewCookies: %v", err)
	}
	otherValue, _ := other.encodeClient(clientValue{ID: "client_abc", Secret: "s3cret"})
	sessionNamed, _ := c.codec.Encode(SessionCookie, clientValue{ID: "client_abc", Secret: "s3cret"})
	empty, _ := c.encodeClient(clientValue{})
	for _, tc := range []struct{ name, value string }{
		{"empty", ""},
		{"garbage", "not a cookie"},
		{"another key", otherValue},
		{"another cookie name", sessionNamed},
		{"empty fields", empty},
		{"truncated", v[:len(v)-4]},
		{"flipped", flip(v, len(v)/2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if id, secret, err := c.DecodeClient(tc.value); err == nil {
				t.Errorf("got (%q, %q, nil), want an error", id, secret)
			}
		})
	}
}

func flip(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func FuzzDecodeClient(f *testing.F) {
	c := testCookies(f)
	known := map[[2]string]bool{}
	var valid []string
	for _, v := range []clientValue{{ID: "client_1", Secret: "secret-1"}, {ID: "client_2", Secret: strings.Repeat("x", 43)}} {
		s, err := c.encodeClient(v)
		if err != nil {
			f.Fatalf("encodeClient: %v", err)
		}
		known[[2]string{v.ID, v.Secret}] = true
		valid = append(valid, s)
		f.Add(s)
		f.Add(s[:len(s)/2])
		f.Add(flip(s, 10))
		f.Add(s + "A")
	}
	for _, s := range []string{"", "|", "||", "a|b|c", "MTIz|YWJj|ZGVm", strings.Repeat("A", 2000), "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		id, secret, err := c.DecodeClient(value)
		for _, v := range valid {
			if value == v && err != nil {
				t.Fatalf("DecodeClient of a value the codec produced: got error %v", err)
			}
		}
		if err != nil {
			if id != "" || secret != "" {
				t.Fatalf("got (%q, %q) with error %v, want empty values", id, secret, err)
			}
			return
		}
		if !known[[2]string{id, secret}] {
			t.Fatalf("DecodeClient(%q) = (%q, %q), a value the codec never produced", value, id, secret)
		}
	})
}

func TestSignInDoesNotRevealAccounts(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	if _, err := svc.SignUp(ctx, SignUpInput{EmailAddress: "known@example.com", Password: "a fine passphrase"}, "", ""); err != nil {
		t.Fatalf("SignUp: %v", err)
	}
	_, errUnknown := svc.SignIn(ctx, "unknown@example.com", "a fine passphrase", "", "")
	_, errWrong := svc.SignIn(ctx, "known@example.com", "the wrong passphrase", "", "")
	_, errMalformed := svc.SignIn(ctx, "not-an-email", "a fine passphrase", "", "")
	want := asError(t, errWrong)
	if want.Status != http.StatusUnprocessableEntity || want.Code != "form_password_incorrect" {
		t.Errorf("wrong password: got %d %q, want 422 form_password_incorrect", want.Status, want.Code)
	}
	for name, err := range map[string]error{"unknown email": errUnknown, "malformed identifier": errMalformed} {
		got := asError(t, err)
		if got.Status != want.Status || got.Code != want.Code || got.Message != want.Message ||
			got.LongMessage != want.LongMessage || got.Param != want.Param {
			t.Errorf("%s: got %+v, want the same as a wrong password %+v", name, got, want)
		}
	}
}

func TestLockout(t *testing.T) {
	svc, db := newService(t)
	ctx := context.Background()
	const email, pw = "lock@example.com", "the right passphrase"
	if _, err := svc.SignUp(ctx, SignUpInput{EmailAddress: email, Password: pw}, "", ""); err != nil {
		t.Fatalf("SignUp: %v", err)
	}
	for i := 1; i <= 10; i++ {
		_, err := svc.SignIn(ctx, email, "a wrong passphrase", "", "")
		e := asError(t, err)
		if i < 10 && e.Code != "form_password_incorrect" {
			t.Fatalf("failure %d: got %q, want form_password_incorrect", i, e.Code)
		}
	}
	_, err := svc.SignIn(ctx, email, pw, "", "")
	if err == nil {
		t.Fatalf("right password after 10 failures: got nil error, want user_locked")
	}
	e := asError(t, err)
	if e.Status != http.StatusForbidden || e.Code != "user_locked" {
		t.Errorf("got %d %q, want 403 user_locked", e.Status, e.Code)
	}
	if e.RetryAfter <= 0 || e.RetryAfter > time.Hour {
		t.Errorf("RetryAfter: got %v, want in (0, 1h]", e.RetryAfter)
	}
	if secs, _ := e.Meta()["lockout_expires_in_seconds"].(int); secs <= 0 {
		t.Errorf("meta lockout_expires_in_seconds: got %v, want > 0", e.Meta()["lockout_expires_in_seconds"])
	}
	rec := httptest.NewRecorder()
	e.SetRetryAfter(rec)
	if rec.Header().Get("Retry-After") == "" {
		t.Errorf("got no Retry-After header, want one")
	}
	u, err := db.GetUserByEmail(ctx, email)
	if err != nil {
		t.Fatalf("GetUserByEmail: %v", err)
	}
	if u.LockedUntil <= time.Now().UnixMilli() {
		t.Errorf("LockedUntil: got %d, want in the future", u.LockedUntil)
	}
}

func TestFailuresResetOnSuccess(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	const email, pw = "reset@example.com", "the right passphrase"
	if _, err := svc.SignUp(ctx, SignUpInput{EmailAddress: email, Password: pw}, "", ""); err != nil {
		t.Fatalf("SignUp: %v", err)
	}
	for range 9 {
		svc.SignIn(ctx, email, "a wrong passphrase", "", "")
	}
	if _, err := svc.SignIn(ctx, email, pw, "", ""); err != nil {
		t.Fatalf("sign-in after 9 failures: got %v, want success", err)
	}
	for range 9 {
		svc.SignIn(ctx, email, "a wrong passphrase", "", "")
	}
	if _, err := svc.SignIn(ctx, email, pw, "", ""); err != nil {
		t.Errorf("the count is not consecutive: got %v after 9+9 failures with a success between, want success", err)
	}
}

func TestSignInRotatesClientSecret(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	const email, pw = "rotate@example.com", "the right passphrase"
	first, err := svc.SignUp(ctx, SignUpInput{EmailAddress: email, Password: pw}, "", "")
	if err != nil {
		t.Fatalf("SignUp: %v", err)
	}
	oldCookie := clientCookieOf(t, svc, first)
	if _, err := svc.Refresh(ctx, oldCookie, ""); err != nil {
		t.Fatalf("refresh with the sign-up cookie: got %v, want nil", err)
	}
	second, err := svc.SignIn(ctx, email, pw, oldCookie, "")
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	newCookie := clientCookieOf(t, svc, second)
	oldID, oldSecret, _ := svc.Cookies().DecodeClient(oldCookie)
	newID, newSecret, _ := svc.Cookies().DecodeClient(newCookie)
	if oldID != newID {
		t.Errorf("client id: got %q after sign-in, want the same client %q", newID, oldID)
	}
	if oldSecret == newSecret {
		t.Errorf("client secret: got the same secret after sign-in, want a new one")
	}
	if second.Session.ID == first.Session.ID {
		t.Errorf("session id: got the same %q, want a new session", second.Session.ID)
	}
	if _, err := svc.Refresh(ctx, oldCookie, ""); !errors.Is(err, ErrSignedOut) {
		t.Errorf("refresh with the old cookie: got %v, want ErrSignedOut", err)
	}
	r, err := svc.Refresh(ctx, newCookie, "")
	if err != nil || r.Session.ID != second.Session.ID {
		t.Errorf("refresh with the new cookie: got (%v, %v), want the new session", r, err)
	}
}

func TestSignUpPasswordRules(t *testing.T) {
	svc, db := newService(t)
	ctx := context.Background()
	list, err := os.ReadFile("password/common-passwords.txt")
	if err != nil {
		t.Fatalf("test setup: %v", err)
	}
	if !slices.Contains(strings.Split(string(list), "\n"), "password123") {
		t.Fatalf("test setup: password123 is not in the common-password list")
	}
	for _, tc := range []struct {
		name     string
		in       SignUpInput
		wantCode string
	}{
		{"7 characters", SignUpInput{EmailAddress: "short@example.com", Password: "abcdefg"}, "form_password_length_too_short"},
		{"7 multi-byte characters", SignUpInput{EmailAddress: "short2@example.com", Password: "ééééééé"}, "form_password_length_too_short"},
		{"common password", SignUpInput{EmailAddress: "common@example.com", Password: "password123"}, "form_password_pwned"},
		{"the email itself", SignUpInput{EmailAddress: "someone.else@example.com", Password: "someone.else@example.com"}, "form_password_pwned"},
		{"the email, other case", SignUpInput{EmailAddress: "someone.else@example.com", Password: "Someone.Else@Example.com"}, "form_password_pwned"},
		{"the first name", SignUpInput{EmailAddress: "bart@example.com", Password: "bartholomew", FirstName: "Bartholomew"}, "form_password_pwned"},
		{"257 characters", SignUpInput{EmailAddress: "long@example.com", Password: strings.Repeat("x", 257)}, "form_param_format_invalid"},
		{"no password", SignUpInput{EmailAddress: "nopw@example.com"}, "form_param_missing"},
		{"no email", SignUpInput{Password: "a fine passphrase"}, "form_param_missing"},
		{"bad email", SignUpInput{EmailAddress: "not an email", Password: "a fine passphrase"}, "form_param_format_invalid"},
		{"name with control characters", SignUpInput{EmailAddress: "ctl@example.com", Password: "a fine passphrase", FirstName: "a\x00b"}, "form_param_format_invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.SignUp(ctx, tc.in, "", "")
			e := asError(t, err)
			if e.Code != tc.wantCode || e.Status != http.StatusUnprocessableEntity {
				t.Errorf("got %d %q, want 422 %q", e.Status, e.Code, tc.wantCode)
			}
			if tc.in.EmailAddress != "" {
				if _, err := db.GetUserByEmail(ctx, NormalizeEmail(tc.in.EmailAddress)); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("a refused sign-up created a user (GetUserByEmail: %v)", err)
				}
			}
		})
	}
	t.Run("256 characters", func(t *testing.T) {
		res, err := svc.SignUp(ctx, SignUpInput{EmailAddress: "maxlen@example.com", Password: strings.Repeat("y", 256)}, "", "")
		if err != nil || res.User == nil {
			t.Errorf("got (%v, %v), want a user", res, err)
		}
	})
}

func TestSignUpDuplicateEmail(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	if _, err := svc.SignUp(ctx, SignUpInput{EmailAddress: "dup@example.com", Password: "a fine passphrase"}, "", ""); err != nil {
		t.Fatalf("first SignUp: %v", err)
	}
	for _, email := range []string{"dup@example.com", " DUP@Example.com "} {
		t.Run(email, func(t *testing.T) {
			_, err := svc.SignUp(ctx, SignUpInput{EmailAddress: email, Password: "another passphrase"}, "", "")
			if e := asError(t, err); e.Code != "form_identifier_exists" || e.Status != http.StatusUnprocessableEntity {
				t.Errorf("got %d %q, want 422 form_identifier_exists", e.Status, e.Code)
			}
		})
	}
}

func TestConcurrentDuplicateSignUps(t *testing.T) {
	svc, db := newService(t)
	ctx := context.Background()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = svc.SignUp(ctx, SignUpInput{EmailAddress: "race@example.com", Password: "a fine passphrase"}, "", "")
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		if err == nil {
			ok++
			continue
		}
		e, isErr := AsError(err)
		if !isErr || e.Code != "form_identifier_exists" {
			t.Errorf("sign-up %d: got %v, want nil or form_identifier_exists", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("got %d successful sign-ups, want exactly 1", ok)
	}
	users, total, err := db.ListUsers(ctx, store.UserFilter{Emails: []string{"race@example.com"}})
	if err != nil || total != 1 || len(users) != 1 {
		t.Errorf("got %d users (%v), want 1", total, err)
	}
}

// TestNormalizeEmailConfusables attacks the address rules with addresses
// that look like another one.
func TestNormalizeEmailConfusables(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"  Alice@Example.COM ", "alice@example.com"},
		{"alice@example.com\u200b", ""},                     // zero-width space (Cf)
		{"al\u200dice@example.com", ""},                     // zero-width joiner
		{"a\u00a0lice@example.com", ""},                     // no-break space (Zs)
		{"\u0430lice@example.com", ""},                      // Cyrillic а among Latin letters
		{"alice@ex\u0430mple.com", ""},                      // … in the domain
		{"jose\u0301@example.com", "jos\u00e9@example.com"}, // decomposed é composes
		{"jos\u00e9@example.com", "jos\u00e9@example.com"},
		{"q\u0303@example.com", ""}, // a combining mark on an ASCII letter
		{"\u043f\u0440\u0438\u043c\u0435\u0440@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", "\u043f\u0440\u0438\u043c\u0435\u0440@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444"}, // one script each side
		{"alice\x07@example.com", ""},
		{"\xff@example.com", ""},
	} {
		if got := NormalizeEmail(tc.in); got != tc.want {
			t.Errorf("NormalizeEmail(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}
