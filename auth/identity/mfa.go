package identity

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

const (
	totpPeriod = 30 // seconds
	// secondFactorTTL is how long a sign-in waits for its second factor.
	secondFactorTTL = 10 * time.Minute
	// backupCodeCount codes of backupCodeLen symbols from backupAlphabet:
	// 31 symbols with no look-alikes (0/o, 1/l/i), about 49.5 bits each.
	backupCodeCount = 10
	backupCodeLen   = 10
	backupAlphabet  = "23456789abcdefghjkmnpqrstuvwxyz"
)

// The second-factor strategies, as Clerk names them.
const (
	StrategyTOTP       = "totp"
	StrategyBackupCode = "backup_code"
)

// TOTPEnrolment is an authenticator app waiting for its first code: the
// secret for manual entry, the otpauth URI, and the URI as a QR code (a
// PNG data URL, rendered here so no script or third party sees the secret).
type TOTPEnrolment struct {
	ID     string
	Secret string
	URI    string
	QRCode string
}

// SecondFactorRequired is the answer to a first factor of a user who has a
// second one: no session exists yet, and the sign-in attempt AttemptID
// waits, for this browser only, for a code (see
// [Service.AttemptSecondFactor]).
type SecondFactorRequired struct {
	AttemptID  string
	Strategies []string
}

func (e *SecondFactorRequired) Error() string { return "identity: a second factor is required" }

// TOTPSecretsPurpose derives the key that seals authenticator secrets.
const TOTPSecretsPurpose = "gatehouse totp secrets at rest"

// HasSecondFactor reports whether u signs in with a second factor.
func HasSecondFactor(u *store.User) bool { return u.TOTPEnabled }

func totpOpts() totp.ValidateOpts {
	return totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
}

// matchTOTP returns the time step whose code code is, among the steps just
// before, at and just after now (clocks drift), or false.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
	if len(code) != 6 {
		return 0, false
	}
	for _, d := range []int64{-1, 0, 1} {
		t := now.Add(time.Duration(d*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts())
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / totpPeriod, true
		}
	}
	return 0, false
}

// backupCodeHash is the stored form of a backup code: keyed with the
// instance's code key, so a copy of the database alone cannot test
// guesses against it.
func (s *Service) backupCodeHash(userID, code string) []byte {
	return s.codeHash("backup_code:"+userID, normalizeBackupCode(code))
}

func normalizeBackupCode(code string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code))
}

// newBackupCodes returns a fresh set of codes, as shown ("xxxxx-xxxxx"),
// and their hashes for the store.
func (s *Service) newBackupCodes(userID string) ([]string, [][]byte) {
	codes := make([]string, backupCodeCount)
	hashes := make([][]byte, backupCodeCount)
	buf := make([]byte, backupCodeLen)
	for i := range codes {
		for j := range buf {
			buf[j] = backupAlphabet[randIntn(len(backupAlphabet))]
		}
		codes[i] = string(buf[:5]) + "-" + string(buf[5:])
		hashes[i] = s.backupCodeHash(userID, codes[i])
	}
	return codes, hashes
}

// randIntn is a uniform random number in [0, n) from crypto/rand.
// It rejects bytes at and above the largest multiple of n, so every value
// is equally likely (n at most 256).
func randIntn(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// StartTOTP creates an authenticator secret for the account, waiting for
// its first code ([Account.ConfirmTOTP]); a secret already waiting is
// replaced, and one confirmed must be removed first.
func (a *Account) StartTOTP(ctx context.Context) (*TOTPEnrolment, error) {
	if err := a.sensitive(); err != nil {
		return nil, err
	}
	s := a.svc
	if s.cfg.TOTPKeys == nil {
		return nil, errors.New("identity: no key to seal authenticator secrets")
	}
	if a.user.TOTPEnabled {
		return nil, errTOTPEnabled()
	}
	raw := make([]byte, 20) // 160 bits, RFC 4226's recommendation
	rand.Read(raw)
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
	t := store.TOTP{ID: randid.New("totp"), UserID: a.user.ID, Secret: s.cfg.TOTPKeys.Seal([]byte(secret))}
	if err := s.store.PutTOTP(ctx, t); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errTOTPEnabled()
		}
		return nil, fmt.Errorf("identity: store totp: %w", err)
	}
	return a.enrolment(t.ID, secret)
}

// PendingTOTP returns the enrolment waiting for its first code, for a
// page shown again (after a wrong code, say).
func (a *Account) PendingTOTP(ctx context.Context) (*TOTPEnrolment, error) {
	t, secret, err := a.svc.totpSecret(ctx, a.user.ID)
	if err != nil || t.Verified {
		return nil, errNoTOTP()
	}
	return a.enrolment(t.ID, secret)
}

// enrolment is what the person enrolling sees of secret: the secret, its
// otpauth URI with the app's name as issuer, and the URI as a QR code.
func (a *Account) enrolment(id, secret string) (*TOTPEnrolment, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return nil, fmt.Errorf("identity: totp secret: %w", err)
	}
	name := a.user.PrimaryEmail()
	if name == "" {
		name = a.user.ID
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: a.svc.cfg.AppName, AccountName: name, Period: totpPeriod,
		Secret: raw, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, fmt.Errorf("identity: totp key: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return nil, fmt.Errorf("identity: totp qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("identity: totp qr code: %w", err)
	}
	return &TOTPEnrolment{ID: id, Secret: secret, URI: key.URL(),
		QRCode: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

func errTOTPEnabled() *Error {
	return &Error{Status: http.StatusConflict, Code: "totp_already_enabled",
		Message: "An authenticator app is already set up.", LongMessage: "TOTP is already enabled for this user."}
}

// ConfirmTOTP checks the first code of the authenticator waiting and, when
// it is right, turns it on and returns the backup codes, shown once. The
// session counts as verified with its second factor from now.
func (a *Account) ConfirmTOTP(ctx context.Context, code string) ([]string, error) {
	if err := a.sensitive(); err != nil {
		return nil, err
	}
	s := a.svc
	t, secret, err := s.totpSecret(ctx, a.user.ID)
	if err != nil || t.Verified {
		return nil, errNoTOTP()
	}
	if strings.TrimSpace(code) == "" {
		return nil, paramMissing("code")
	}
	step, ok := matchTOTP(secret, code, s.now())
	if !ok {
		return nil, errCodeIncorrect()
	}
	codes, hashes := s.newBackupCodes(a.user.ID)
	if err := s.store.ConfirmTOTP(ctx, a.user.ID, step, hashes); err != nil {
		if errors.Is(err, store.ErrNotPending) {
			return nil, errNoTOTP()
		}
		return nil, fmt.Errorf("identity: confirm totp: %w", err)
	}
	if sess, err := s.store.SetSessionFactors(ctx, a.session.ID, 0, s.now().UnixMilli()); err == nil {
		a.session = sess
	}
	s.log.InfoContext(ctx, "authenticator app enabled", "user_id", a.user.ID)
	return codes, a.reload(ctx)
}

// RegenerateBackupCodes replaces the account's backup codes and returns
// the new ones, shown once.
func (a *Account) RegenerateBackupCodes(ctx context.Context) ([]string, error) {
	if err := a.sensitive(); err != nil {
		return nil, err
	}
	if !a.user.TOTPEnabled {
		return nil, errNoTOTP()
	}
	codes, hashes := a.svc.newBackupCodes(a.user.ID)
	if err := a.svc.store.ReplaceBackupCodes(ctx, a.user.ID, hashes); err != nil {
		return nil, fmt.Errorf("identity: backup codes: %w", err)
	}
	return codes, a.reload(ctx)
}

// DisableTOTP removes the authenticator app and the backup codes.
func (a *Account) DisableTOTP(ctx context.Context) error {
	if err := a.sensitive(); err != nil {
		return err
	}
	if _, err := a.svc.store.DeleteSecondFactors(ctx, a.user.ID, true, true); err != nil {
		return fmt.Errorf("identity: disable totp: %w", err)
	}
	a.svc.log.InfoContext(ctx, "authenticator app disabled", "user_id", a.user.ID)
	return a.reload(ctx)
}

func errNoTOTP() *Error {
	return &Error{Status: http.StatusBadRequest, Code: "totp_not_found",
		Message: "No authenticator app is being set up. Start again.", LongMessage: "No TOTP enrolment is under way for this user."}
}

// totpSecret returns the user's authenticator and its secret unsealed.
func (s *Service) totpSecret(ctx context.Context, userID string) (*store.TOTP, string, error) {
	if s.cfg.TOTPKeys == nil {
		return nil, "", errors.New("identity: no key to unseal authenticator secrets")
	}
	t, err := s.store.GetTOTP(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	plain, err := s.cfg.TOTPKeys.Open(t.Secret)
	if err != nil {
		return nil, "", fmt.Errorf("identity: unseal totp secret: %w", err)
	}
	return t, string(plain), nil
}

// VerifySecondFactor checks a code of userID's second factor: an
// authenticator code (strategy totp; each step once) or a backup code
// (backup_code; each once). It does not count failures; callers that face
// guesses do.
func (s *Service) VerifySecondFactor(ctx context.Context, userID, strategy, code string) error {
	if strings.TrimSpace(code) == "" {
		return paramMissing("code")
	}
	if len(code) > 64 {
		return errCodeIncorrect()
	}
	switch strategy {
	case StrategyTOTP:
		t, secret, err := s.totpSecret(ctx, userID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !t.Verified) {
			return errCodeIncorrect()
		}
		if err != nil {
			return err
		}
		step, ok := matchTOTP(secret, code, s.now())
		if !ok {
			return errCodeIncorrect()
		}
		if err := s.store.UseTOTPStep(ctx, userID, step); err != nil {
			if errors.Is(err, store.ErrReplayed) {
				return errCodeIncorrect()
			}
			return fmt.Errorf("identity: totp: %w", err)
		}
		return nil
	case StrategyBackupCode:
		if err := s.store.UseBackupCode(ctx, userID, s.backupCodeHash(userID, code)); err != nil {
			if errors.Is(err, store.ErrReplayed) {
				return errCodeIncorrect()
			}
			return fmt.Errorf("identity: backup code: %w", err)
		}
		return nil
	default:
		return &Error{Status: http.StatusUnprocessableEntity, Code: "strategy_for_user_invalid", Param: "strategy",
			Message: "Choose an authenticator code or a backup code.", LongMessage: "The verification strategy is not valid for this account."}
	}
}

// needSecondFactor is what startSession does for a user with a second
// factor: instead of a session, a sign-in attempt waiting for the code.
func (s *Service) needSecondFactor(ctx context.Context, u *store.User) error {
	now := s.now()
	a := store.SignInAttempt{ID: randid.New("sia"), Email: u.PrimaryEmail(), UserID: u.ID, Status: store.AttemptNeedsSecondFactor,
		ExpireAt: now.Add(secondFactorTTL).UnixMilli()}
	if err := s.store.CreateSignInAttempt(ctx, a); err != nil {
		return fmt.Errorf("identity: second-factor attempt: %w", err)
	}
	strategies := []string{StrategyTOTP}
	if u.BackupCodesLeft > 0 {
		strategies = append(strategies, StrategyBackupCode)
	}
	return &SecondFactorRequired{AttemptID: a.ID, Strategies: strategies}
}

// SecondFactorAttempt returns the sign-in attempt id when it waits for
// its second factor.
func (s *Service) SecondFactorAttempt(ctx context.Context, id string) (*store.SignInAttempt, error) {
	a, err := s.resetAttempt(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status != store.AttemptNeedsSecondFactor || a.UserID == "" || a.ExpireAt <= s.now().UnixMilli() {
		return nil, errNoAttempt()
	}
	return a, nil
}

// AttemptSecondFactor completes sign-in attempt id with a code of the
// user's second factor and signs this browser in. A wrong code counts
// toward the account's lockout, as a wrong password does; the attempt is
// used once.
func (s *Service) AttemptSecondFactor(ctx context.Context, id, strategy, code, clientCookie, origin string) (*SignedIn, error) {
	a, err := s.SecondFactorAttempt(ctx, id)
	if err != nil {
		return nil, err
	}
	u, err := s.store.GetUser(ctx, a.UserID)
	if err != nil {
		return nil, errNoAttempt()
	}
	now := s.now()
	if u.LockedUntil > now.UnixMilli() {
		return nil, errLockedUntil(u.LockedUntil, now)
	}
	if u.Banned {
		return nil, errInvalidCredentials
	}
	if err := s.VerifySecondFactor(ctx, u.ID, strategy, code); err != nil {
		if e, ok := AsError(err); ok && e.Code == "form_code_incorrect" {
			f, ferr := s.store.RecordSignInFailure(ctx, u.ID, s.cfg.MaxFailedSignIns, s.cfg.LockoutDuration)
			if ferr != nil {
				return nil, fmt.Errorf("identity: second factor: %w", ferr)
			}
			if f.LockedUntil > now.UnixMilli() {
				s.log.WarnContext(ctx, "account locked after failed second factors", "user_id", u.ID, "failures", f.Failures)
				return nil, errLockedUntil(f.LockedUntil, now)
			}
		}
		return nil, err
	}
	if err := s.store.AdvanceSignInAttempt(ctx, id, store.AttemptNeedsSecondFactor, store.AttemptComplete); err != nil {
		return nil, errNoAttempt()
	}
	if _, err := s.store.RecordSignIn(ctx, u.ID); err != nil {
		return nil, fmt.Errorf("identity: second factor: %w", err)
	}
	s.log.InfoContext(ctx, "user signed in", "user_id", u.ID, "second_factor", strategy)
	c, secret := s.newClient(ctx, clientCookie)
	sess := s.newSession(ctx, c.ID, u.ID)
	sess.FactorVerifiedAt = a.CreatedAt
	sess.SecondFactorVerifiedAt = now.UnixMilli()
	if err := s.store.CreateSession(ctx, *c, *sess); err != nil {
		return nil, fmt.Errorf("identity: create session: %w", err)
	}
	return s.signedIn(ctx, u, sess, secret, origin)
}

// SecondFactorStrategies returns the strategies sign-in attempt id can
// complete with: totp, and backup_code while the user has codes left.
func (s *Service) SecondFactorStrategies(ctx context.Context, id string) ([]string, error) {
	a, err := s.SecondFactorAttempt(ctx, id)
	if err != nil {
		return nil, err
	}
	u, err := s.store.GetUser(ctx, a.UserID)
	if err != nil {
		return nil, errNoAttempt()
	}
	out := []string{StrategyTOTP}
	if u.BackupCodesLeft > 0 {
		out = append(out, StrategyBackupCode)
	}
	return out, nil
}
