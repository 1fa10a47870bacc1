package identity

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

const testTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// totpAt is the code of secret at t, as an authenticator app shows it.
func totpAt(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totpOpts())
	if err != nil {
		t.Fatalf("GenerateCodeCustom: %v", err)
	}
	return c
}

func TestMatchTOTP(t *testing.T) {
	// 5 seconds into a step.
	now := time.Unix(1_700_000_015, 0)
	step := now.Unix() / totpPeriod
	codeAt := func(d int64) string {
		return totpAt(t, testTOTPSecret, now.Add(time.Duration(d*totpPeriod)*time.Second))
	}
	window := map[string]bool{codeAt(-1): true, codeAt(0): true, codeAt(1): true}
	if len(window) != 3 {
		t.Fatalf("fixture: the codes of steps -1, 0, +1 collide: %v", window)
	}

	for _, d := range []int64{-1, 0, 1} {
		code := codeAt(d)
		got, ok := matchTOTP(testTOTPSecret, code, now)
		if !ok {
			t.Errorf("step %+d code %s: got refused, want accepted", d, code)
			continue
		}
		if got != step+d {
			t.Errorf("step %+d code %s: got step %d, want %d", d, code, got, step+d)
		}
	}
	for _, d := range []int64{-2, 2, -3, 3} {
		code := codeAt(d)
		if window[code] {
			continue // same digits as a code in the window: accepted rightly
		}
		if got, ok := matchTOTP(testTOTPSecret, code, now); ok {
			t.Errorf("step %+d code %s: got accepted (step %d), want refused", d, code, got)
		}
	}

	c := codeAt(0)
	for _, tc := range []struct {
		name, code string
		ok         bool
	}{
		{"plain", c, true},
		{"spaces", c[:3] + " " + c[3:], true},
		{"dash", c[:3] + "-" + c[3:], true},
		{"surrounding spaces", "  " + c + " ", true},
		{"spaces and dashes everywhere", " " + c[:1] + "-" + c[1:2] + " " + c[2:4] + "--" + c[4:] + " ", true},
		{"tab is not stripped", c + "\t", false},
		{"five digits", c[:5], false},
		{"seven digits", c + "0", false},
		{"eight digits", c + "00", false},
		{"empty", "", false},
		{"only separators", " - - ", false},
		{"letters", "abcdef", false},
		{"fullwidth digits", strings.Map(func(r rune) rune { return r - '0' + '０' }, c), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ok := matchTOTP(testTOTPSecret, tc.code, now)
			if ok != tc.ok {
				t.Errorf("matchTOTP(%q): got %v, want %v", tc.code, ok, tc.ok)
			}
		})
	}

	t.Run("another secret", func(t *testing.T) {
		other := "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
		code := totpAt(t, other, now)
		if window[code] {
			t.Fatalf("fixture: the other secret's code %s is in the window", code)
		}
		if _, ok := matchTOTP(testTOTPSecret, code, now); ok {
			t.Errorf("code of another secret: got accepted, want refused")
		}
	})

	t.Run("invalid secret", func(t *testing.T) {
		if _, ok := matchTOTP("not base32!", "123456", now); ok {
			t.Errorf("invalid secret: got accepted, want refused")
		}
	})
}

// FuzzMatchTOTP: no input panics, and whatever matches is, without its
// spaces and dashes, six ASCII digits, the code of the step returned,
// which is one of the three around now.
func FuzzMatchTOTP(f *testing.F) {
	now := time.Unix(1_700_000_015, 0)
	step := now.Unix() / totpPeriod
	good := totpAt(f, testTOTPSecret, now)
	for _, s := range []string{
		good, good[:3] + " " + good[3:], good[:3] + "-" + good[3:], totpAt(f, testTOTPSecret, now.Add(-30*time.Second)),
		"000000", "123456", "12345", "1234567", "", " ", "------", "abcdef", "12345\x00",
		"１２３４５６", "\xff\xfe\xfd\xfc\xfb\xfa", "1 2 3 4 5 6", "99999999999999999999",
	} {
		f.Add(s)
	}
	digits := regexp.MustCompile(`^[0-9]{6}$`)
	f.Fuzz(func(t *testing.T, code string) {
		got, ok := matchTOTP(testTOTPSecret, code, now)
		if !ok {
			return
		}
		stripped := strings.NewReplacer(" ", "", "-", "").Replace(code)
		if !digits.MatchString(stripped) {
			t.Fatalf("matchTOTP(%q): got accepted, want only six digits to match", code)
		}
		if got < step-1 || got > step+1 {
			t.Fatalf("matchTOTP(%q): got step %d, want within 1 of %d", code, got, step)
		}
		if want := totpAt(t, testTOTPSecret, time.Unix(got*totpPeriod, 0)); want != stripped {
			t.Fatalf("matchTOTP(%q): got step %d whose code is %s, want the code given", code, got, want)
		}
	})
}

func TestNormalizeBackupCode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"abcde-fghjk", "abcdefghjk"},
		{"ABCDE-FGHJK", "abcdefghjk"},
		{" abcde fghjk ", "abcdefghjk"},
		{"ab-cd--e f", "abcdef"},
		{"", ""},
		{"- -", ""},
		{"ab\tcd", "ab\tcd"},
	} {
		if got := normalizeBackupCode(tc.in); got != tc.want {
			t.Errorf("normalizeBackupCode(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzNormalizeBackupCode: the result has no spaces or dashes, is stable
// when normalized again, ignores where separators were, and matches a
// plain ASCII lowering for ASCII input.
func FuzzNormalizeBackupCode(f *testing.F) {
	for _, s := range []string{"abcde-fghjk", "ABCDE-FGHJK", " ab cd-ef ", "", "-", "\xff-\xfe", "ÉCOLE-İSTANBUL", "ab\tcd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := normalizeBackupCode(in)
		if strings.ContainsAny(got, " -") {
			t.Fatalf("normalizeBackupCode(%q): got %q, want no spaces or dashes", in, got)
		}
		if again := normalizeBackupCode(got); again != got {
			t.Fatalf("normalizeBackupCode twice on %q: got %q, want %q", in, again, got)
		}
		if moved := normalizeBackupCode(strings.ReplaceAll(in, "-", " ")); moved != got {
			t.Fatalf("normalizeBackupCode(%q) with dashes as spaces: got %q, want %q", in, moved, got)
		}
		ascii := true
		for i := 0; i < len(in); i++ {
			if in[i] >= 0x80 {
				ascii = false
				break
			}
		}
		if ascii {
			var b strings.Builder
			for i := 0; i < len(in); i++ {
				c := in[i]
				switch {
				case c == ' ' || c == '-':
					continue
				case 'A' <= c && c <= 'Z':
					c += 'a' - 'A'
				}
				b.WriteByte(c)
			}
			if got != b.String() {
				t.Fatalf("normalizeBackupCode(%q): got %q, want %q", in, got, b.String())
			}
		}
	})
}

func TestNewBackupCodes(t *testing.T) {
	svc, _ := newService(t)
	format := regexp.MustCompile(`^[` + backupAlphabet + `]{5}-[` + backupAlphabet + `]{5}$`)
	seen := map[rune]int{}
	for range 30 {
		codes, hashes := svc.newBackupCodes("user_a")
		if len(codes) != 10 || len(hashes) != 10 {
			t.Fatalf("newBackupCodes: got %d codes and %d hashes, want 10 and 10", len(codes), len(hashes))
		}
		if distinct := slices.Compact(slices.Sorted(slices.Values(codes))); len(distinct) != 10 {
			t.Errorf("newBackupCodes: got %d distinct codes among %v, want 10", len(distinct), codes)
		}
		for i, c := range codes {
			if !format.MatchString(c) {
				t.Errorf("code %q: want xxxxx-xxxxx from %q", c, backupAlphabet)
			}
			for _, r := range strings.ReplaceAll(c, "-", "") {
				seen[r]++
			}
			if !bytes.Equal(hashes[i], svc.backupCodeHash("user_a", c)) {
				t.Errorf("hash %d: got %x, want backupCodeHash(user_a, %q)", i, hashes[i], c)
			}
			if len(hashes[i]) != 32 || bytes.Contains(hashes[i], []byte(strings.ReplaceAll(c, "-", ""))) {
				t.Errorf("hash %d of %q: got %x, want a 32-byte keyed hash", i, c, hashes[i])
			}
			if up := strings.ToUpper(c[:5]) + " " + c[6:]; !bytes.Equal(svc.backupCodeHash("user_a", up), hashes[i]) {
				t.Errorf("backupCodeHash(user_a, %q): got a different hash from %q, want the same", up, c)
			}
			if bytes.Equal(svc.backupCodeHash("user_b", c), hashes[i]) {
				t.Errorf("backupCodeHash of %q: got the same hash for user_a and user_b, want different", c)
			}
		}
	}
	// 3000 symbols: every one of the 31 shows up (a symbol never drawn
	// would mean a biased or truncated alphabet).
	for _, r := range backupAlphabet {
		if seen[r] == 0 {
			t.Errorf("symbol %q: got 0 occurrences in 3000, want some", r)
		}
	}
	for r := range seen {
		if !strings.ContainsRune(backupAlphabet, r) {
			t.Errorf("symbol %q: outside the alphabet", r)
		}
	}
}

func TestBackupCodeHashKeyed(t *testing.T) {
	a, _ := newService(t)
	b, _ := newServiceWith(t, fastParams, func(c *Config) { c.CodeKey = bytes.Repeat([]byte{3}, 32) })
	if bytes.Equal(a.backupCodeHash("user_a", "abcde-fghjk"), b.backupCodeHash("user_a", "abcde-fghjk")) {
		t.Errorf("backupCodeHash under two code keys: got equal hashes, want different")
	}
}

func TestFVA(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	ms := func(d time.Duration) int64 { return now.Add(-d).UnixMilli() }
	for _, tc := range []struct {
		name          string
		first, second int64
		want          []int
	}{
		{"just now, no second factor", ms(0), 0, []int{0, -1}},
		{"59 seconds", ms(59 * time.Second), 0, []int{0, -1}},
		{"90 seconds", ms(90 * time.Second), 0, []int{1, -1}},
		{"10 minutes less a millisecond", ms(10*time.Minute - time.Millisecond), 0, []int{9, -1}},
		{"10 minutes", ms(10 * time.Minute), 0, []int{10, -1}},
		{"both", ms(2 * time.Hour), ms(10*time.Minute + 59*time.Second), []int{120, 10}},
		{"second just now", ms(25 * time.Hour), ms(0), []int{1500, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess := &store.Session{FactorVerifiedAt: tc.first, SecondFactorVerifiedAt: tc.second}
			if got := fva(sess, now); !slices.Equal(got, tc.want) {
				t.Errorf("fva: got %v, want %v", got, tc.want)
			}
		})
	}
}

// mfaClock is a settable clock for the service, 15 seconds into a TOTP
// step so that moving by whole steps stays clear of their edges.
type mfaClock struct{ at time.Time }

func (c *mfaClock) now() time.Time          { return c.at }
func (c *mfaClock) advance(d time.Duration) { c.at = c.at.Add(d) }

func mfaService(t *testing.T) (*Service, *mfaClock) {
	t.Helper()
	sealer, err := token.NewSealer(bytes.Repeat([]byte{5}, 32), "test")
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	svc, _ := newServiceWith(t, fastParams, func(c *Config) { c.TOTPKeys = sealer })
	base := time.Now().Truncate(totpPeriod * time.Second).Add(15 * time.Second)
	clk := &mfaClock{at: base}
	svc.now = clk.now
	return svc, clk
}

const mfaPassword = "a long passphrase 9"

// mfaAccount signs up email and opens the account of its session.
func mfaAccount(t *testing.T, svc *Service, email string) *Account {
	t.Helper()
	ctx := context.Background()
	res, err := svc.SignUp(ctx, SignUpInput{EmailAddress: email, Password: mfaPassword}, "", "")
	if err != nil {
		t.Fatalf("SignUp(%s): %v", email, err)
	}
	a, err := svc.Account(ctx, res.Session.ID)
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	return a
}

func wantErrCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := errCode(err); got != code {
		t.Errorf("%s: got error %q, want %q", what, got, code)
	}
}

func TestTOTPLifecycle(t *testing.T) {
	ctx := context.Background()
	svc, clk := mfaService(t)
	acct := mfaAccount(t, svc, "totp@example.com")
	other := mfaAccount(t, svc, "other@example.com")
	uid := acct.User().ID

	if got := acct.ReverifyStrategies(); !slices.Equal(got, []string{"password"}) {
		t.Errorf("ReverifyStrategies without TOTP: got %v, want [password]", got)
	}
	wantErrCode(t, "VerifySecondFactor without TOTP", svc.VerifySecondFactor(ctx, uid, StrategyTOTP, "123456"), "form_code_incorrect")

	enr, err := acct.StartTOTP(ctx)
	if err != nil {
		t.Fatalf("StartTOTP: %v", err)
	}
	if enr.Secret == "" || !strings.HasPrefix(enr.URI, "otpauth://totp/") || !strings.HasPrefix(enr.QRCode, "data:image/png;base64,") {
		t.Fatalf("StartTOTP: got %+v, want a secret, an otpauth URI and a PNG data URL", enr)
	}
	if strings.Contains(enr.URI, "secret=") && !strings.Contains(enr.URI, "secret="+enr.Secret) {
		t.Errorf("URI %q: want the secret %q", enr.URI, enr.Secret)
	}
	// Sealed at rest.
	if stored, err := svc.store.GetTOTP(ctx, uid); err != nil {
		t.Fatalf("GetTOTP: %v", err)
	} else if bytes.Contains([]byte(stored.Secret), []byte(enr.Secret)) {
		t.Errorf("stored secret: got the plain secret, want it sealed")
	}
	otherEnr, err := other.StartTOTP(ctx)
	if err != nil {
		t.Fatalf("StartTOTP (other): %v", err)
	}

	// Not confirmed yet: no code passes.
	wantErrCode(t, "VerifySecondFactor before confirmation",
		svc.VerifySecondFactor(ctx, uid, StrategyTOTP, totpAt(t, enr.Secret, clk.at)), "form_code_incorrect")

	_, err = acct.ConfirmTOTP(ctx, "")
	wantErrCode(t, "ConfirmTOTP empty", err, "form_param_missing")
	wrong := totpAt(t, otherEnr.Secret, clk.at)
	if wrong != totpAt(t, enr.Secret, clk.at) && wrong != totpAt(t, enr.Secret, clk.at.Add(-30*time.Second)) && wrong != totpAt(t, enr.Secret, clk.at.Add(30*time.Second)) {
		_, err = acct.ConfirmTOTP(ctx, wrong)
		wantErrCode(t, "ConfirmTOTP with another user's code", err, "form_code_incorrect")
	}

	code0 := totpAt(t, enr.Secret, clk.at)
	codes, err := acct.ConfirmTOTP(ctx, code0)
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	if len(codes) != 10 {
		t.Fatalf("ConfirmTOTP: got %d backup codes, want 10", len(codes))
	}
	if u := acct.User(); !u.TOTPEnabled || u.BackupCodesLeft != 10 {
		t.Fatalf("after ConfirmTOTP: got TOTPEnabled %v, BackupCodesLeft %d, want true, 10", u.TOTPEnabled, u.BackupCodesLeft)
	}
	if acct.session.SecondFactorVerifiedAt != clk.at.UnixMilli() {
		t.Errorf("after ConfirmTOTP: got SecondFactorVerifiedAt %d, want %d (now)", acct.session.SecondFactorVerifiedAt, clk.at.UnixMilli())
	}
	if got := acct.ReverifyStrategies(); !slices.Equal(got, []string{StrategyTOTP, StrategyBackupCode, "password"}) {
		t.Errorf("ReverifyStrategies with TOTP: got %v, want [totp backup_code password]", got)
	}
	if _, err := acct.StartTOTP(ctx); errCode(err) != "totp_already_enabled" {
		t.Errorf("StartTOTP when enabled: got %q, want totp_already_enabled", errCode(err))
	}

	// The step of the confirmation code is used: replay refused.
	wantErrCode(t, "replay of the confirmation code", svc.VerifySecondFactor(ctx, uid, StrategyTOTP, code0), "form_code_incorrect")
	// The previous step is older than the one used: refused too.
	wantErrCode(t, "code of the previous step", svc.VerifySecondFactor(ctx, uid, StrategyTOTP, totpAt(t, enr.Secret, clk.at.Add(-30*time.Second))), "form_code_incorrect")

	clk.advance(30 * time.Second)
	code1 := totpAt(t, enr.Secret, clk.at)
	if err := svc.VerifySecondFactor(ctx, uid, StrategyTOTP, code1); err != nil {
		t.Errorf("code of the next step: got %v, want accepted", err)
	}
	wantErrCode(t, "replay of the next step's code", svc.VerifySecondFactor(ctx, uid, StrategyTOTP, code1), "form_code_incorrect")

	clk.advance(30 * time.Second)
	fromOther := totpAt(t, otherEnr.Secret, clk.at)
	mine := []string{totpAt(t, enr.Secret, clk.at.Add(-30*time.Second)), totpAt(t, enr.Secret, clk.at), totpAt(t, enr.Secret, clk.at.Add(30*time.Second))}
	if !slices.Contains(mine, fromOther) {
		wantErrCode(t, "code of another user's secret", svc.VerifySecondFactor(ctx, uid, StrategyTOTP, fromOther), "form_code_incorrect")
	}
	wantErrCode(t, "too long a code", svc.VerifySecondFactor(ctx, uid, StrategyTOTP, strings.Repeat(" ", 65)+"123456"), "form_code_incorrect")
	wantErrCode(t, "empty code", svc.VerifySecondFactor(ctx, uid, StrategyTOTP, "  "), "form_param_missing")
	wantErrCode(t, "unknown strategy", svc.VerifySecondFactor(ctx, uid, "sms", "123456"), "strategy_for_user_invalid")

	// Backup codes: once each, in any case and spacing, this user's only.
	if err := svc.VerifySecondFactor(ctx, uid, StrategyBackupCode, codes[0]); err != nil {
		t.Errorf("backup code: got %v, want accepted", err)
	}
	wantErrCode(t, "backup code again", svc.VerifySecondFactor(ctx, uid, StrategyBackupCode, codes[0]), "form_code_incorrect")
	spaced := " " + strings.ToUpper(strings.ReplaceAll(codes[1], "-", " ")) + " "
	if err := svc.VerifySecondFactor(ctx, uid, StrategyBackupCode, spaced); err != nil {
		t.Errorf("backup code %q: got %v, want accepted", spaced, err)
	}
	wantErrCode(t, "another user's backup code", svc.VerifySecondFactor(ctx, other.User().ID, StrategyBackupCode, codes[2]), "form_code_incorrect")
	wantErrCode(t, "made-up backup code", svc.VerifySecondFactor(ctx, uid, StrategyBackupCode, "22222-22222"), "form_code_incorrect")
	if u, err := svc.store.GetUser(ctx, uid); err != nil {
		t.Fatalf("GetUser: %v", err)
	} else if u.BackupCodesLeft != 8 {
		t.Errorf("after two backup codes: got BackupCodesLeft %d, want 8", u.BackupCodesLeft)
	}

	// Regenerated codes replace the old ones.
	fresh, err := acct.RegenerateBackupCodes(ctx)
	if err != nil {
		t.Fatalf("RegenerateBackupCodes: %v", err)
	}
	if acct.User().BackupCodesLeft != 10 {
		t.Errorf("after RegenerateBackupCodes: got BackupCodesLeft %d, want 10", acct.User().BackupCodesLeft)
	}
	if !slices.Contains(fresh, codes[3]) {
		wantErrCode(t, "old backup code after regeneration", svc.VerifySecondFactor(ctx, uid, StrategyBackupCode, codes[3]), "form_code_incorrect")
	}
	if err := svc.VerifySecondFactor(ctx, uid, StrategyBackupCode, fresh[0]); err != nil {
		t.Errorf("regenerated backup code: got %v, want accepted", err)
	}

	if err := acct.DisableTOTP(ctx); err != nil {
		t.Fatalf("DisableTOTP: %v", err)
	}
	if u := acct.User(); u.TOTPEnabled || u.BackupCodesLeft != 0 {
		t.Errorf("after DisableTOTP: got TOTPEnabled %v, BackupCodesLeft %d, want false, 0", u.TOTPEnabled, u.BackupCodesLeft)
	}
	clk.advance(30 * time.Second)
	wantErrCode(t, "TOTP after DisableTOTP", svc.VerifySecondFactor(ctx, uid, StrategyTOTP, totpAt(t, enr.Secret, clk.at)), "form_code_incorrect")
	wantErrCode(t, "backup code after DisableTOTP", svc.VerifySecondFactor(ctx, uid, StrategyBackupCode, fresh[1]), "form_code_incorrect")
}

func TestSensitiveNeedsRecentVerification(t *testing.T) {
	ctx := context.Background()

	t.Run("first factor, no second", func(t *testing.T) {
		svc, clk := mfaService(t)
		acct := mfaAccount(t, svc, "stale@example.com")
		clk.advance(9*time.Minute + 59*time.Second)
		if !acct.Reverified() {
			t.Errorf("Reverified 9m59s after sign-in: got false, want true")
		}
		clk.advance(61 * time.Second) // 11 minutes
		if acct.Reverified() {
			t.Errorf("Reverified 11m after sign-in: got true, want false")
		}
		_, err := acct.StartTOTP(ctx)
		wantErrCode(t, "StartTOTP 11 minutes after sign-in", err, CodeReverificationRequired)
		if e, ok := AsError(err); ok && e.Status != 403 {
			t.Errorf("StartTOTP refusal: got status %d, want 403", e.Status)
		}

		wantErrCode(t, "Reverify with a wrong password", acct.Reverify(ctx, "password", "not the password"), "form_password_incorrect")
		if e, ok := AsError(acct.Reverify(ctx, "password", "not the password either")); !ok || e.Param != "password" {
			t.Errorf("Reverify wrong password: got %v, want an error on param password", e)
		}
		wantErrCode(t, "Reverify with totp and no second factor", acct.Reverify(ctx, StrategyTOTP, "123456"), "strategy_for_user_invalid")
		wantErrCode(t, "Reverify with an unknown strategy", acct.Reverify(ctx, "email_code", "123456"), "strategy_for_user_invalid")
		wantErrCode(t, "Reverify with an empty password", acct.Reverify(ctx, "password", ""), "form_param_missing")
		if _, err := acct.StartTOTP(ctx); errCode(err) != CodeReverificationRequired {
			t.Errorf("StartTOTP after failed reverifications: got %q, want %s", errCode(err), CodeReverificationRequired)
		}

		if err := acct.Reverify(ctx, "password", mfaPassword); err != nil {
			t.Fatalf("Reverify(password): %v", err)
		}
		if acct.session.FactorVerifiedAt != clk.at.UnixMilli() {
			t.Errorf("after Reverify: got FactorVerifiedAt %d, want %d (now)", acct.session.FactorVerifiedAt, clk.at.UnixMilli())
		}
		if _, err := acct.StartTOTP(ctx); err != nil {
			t.Errorf("StartTOTP after Reverify: got %v, want nil", err)
		}
		// A new Account from the store sees the reverification too.
		again, err := svc.Account(ctx, acct.SessionID())
		if err != nil {
			t.Fatalf("Account: %v", err)
		}
		if !again.Reverified() {
			t.Errorf("Reverified of a reloaded account: got false, want true")
		}
		if got := fva(again.session, clk.at); !slices.Equal(got, []int{0, -1}) {
			t.Errorf("fva after Reverify: got %v, want [0 -1]", got)
		}
	})

	t.Run("second factor decides once enabled", func(t *testing.T) {
		svc, clk := mfaService(t)
		acct := mfaAccount(t, svc, "twofa@example.com")
		enr, err := acct.StartTOTP(ctx)
		if err != nil {
			t.Fatalf("StartTOTP: %v", err)
		}
		codes, err := acct.ConfirmTOTP(ctx, totpAt(t, enr.Secret, clk.at))
		if err != nil {
			t.Fatalf("ConfirmTOTP: %v", err)
		}
		clk.advance(11 * time.Minute)
		wantErrCode(t, "DisableTOTP 11 minutes after", acct.DisableTOTP(ctx), CodeReverificationRequired)

		// The password alone does not satisfy strict for a user with a
		// second factor.
		if err := acct.Reverify(ctx, "password", mfaPassword); err != nil {
			t.Fatalf("Reverify(password): %v", err)
		}
		wantErrCode(t, "DisableTOTP after a password reverification", acct.DisableTOTP(ctx), CodeReverificationRequired)

		wantErrCode(t, "Reverify with a wrong code", acct.Reverify(ctx, StrategyBackupCode, "22222-22222"), "form_code_incorrect")
		if err := acct.Reverify(ctx, StrategyTOTP, totpAt(t, enr.Secret, clk.at)); err != nil {
			t.Fatalf("Reverify(totp): %v", err)
		}
		if got := fva(acct.session, clk.at); !slices.Equal(got, []int{0, 0}) {
			t.Errorf("fva after both reverifications: got %v, want [0 0]", got)
		}
		if _, err := acct.RegenerateBackupCodes(ctx); err != nil {
			t.Errorf("RegenerateBackupCodes after Reverify(totp): got %v, want nil", err)
		}

		clk.advance(11 * time.Minute)
		wantErrCode(t, "DisableTOTP 11 minutes after the totp reverification", acct.DisableTOTP(ctx), CodeReverificationRequired)
		// codes were replaced by RegenerateBackupCodes: the old one fails.
		wantErrCode(t, "Reverify with a replaced backup code", acct.Reverify(ctx, StrategyBackupCode, codes[0]), "form_code_incorrect")
	})
}
