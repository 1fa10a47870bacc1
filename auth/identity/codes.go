package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// The rules of one-time codes (spec 07 §1).
const (
	codeTTL         = 10 * time.Minute
	codeCooldown    = 30 * time.Second
	codeMaxAttempts = 5
	// testCode is accepted, in development only, for addresses whose
	// local part contains "+clerk_test" (Clerk's convention); no mail is
	// sent to them.
	testCode = "424242"
)

// Code purposes: what a code mail is for.
const (
	PurposeSignUp        = "sign_up"
	PurposeResetPassword = "reset_password"
	PurposeVerifyEmail   = "verify_email"
)

// CodeMail is a one-time code to mail.
type CodeMail struct {
	To        string
	Purpose   string // PurposeSignUp, PurposeResetPassword, PurposeVerifyEmail
	Code      string
	ExpiresIn time.Duration
}

// DefaultMailLimits are the limits of every message the server sends
// (codes, resets, invitations), per hour: 10 per address, 30 per client
// IP, 30 per user.
func DefaultMailLimits() store.MailLimits {
	return store.MailLimits{PerAddress: 10, PerIP: 30, PerUser: 30, Window: time.Hour}
}

// MailGate is the one limiter every message passes before it is sent.
type MailGate struct {
	store  store.AccountStore
	limits store.MailLimits
}

// NewMailGate returns the gate counting messages in st against limits.
func NewMailGate(st store.AccountStore, limits store.MailLimits) *MailGate {
	return &MailGate{store: st, limits: limits}
}

// Allow records one message of kind to address for userID (may be "")
// from the context's client IP, or refuses it (429) when it is over a
// limit. A nil gate allows everything.
func (g *MailGate) Allow(ctx context.Context, kind, address, userID string) error {
	return g.allow(ctx, store.MailSend{Kind: kind, Address: address, UserID: userID, Recipient: userID})
}

// AllowFrom is Allow for a message sent on behalf of userID (an
// invitation): the sender's count, no recipient account.
func (g *MailGate) AllowFrom(ctx context.Context, kind, address, userID string) error {
	return g.allow(ctx, store.MailSend{Kind: kind, Address: address, UserID: userID})
}

func (g *MailGate) allow(ctx context.Context, m store.MailSend) error {
	if g == nil {
		return nil
	}
	m.IP = store.RequestInfoFrom(ctx).IP
	err := g.store.RecordMail(ctx, m, g.limits)
	if errors.Is(err, store.ErrMailLimit) {
		return &Error{Status: http.StatusTooManyRequests, Code: "too_many_requests", RetryAfter: g.limits.Window,
			Message:     "Too many emails were sent for this request. Try again later.",
			LongMessage: "Too many emails were sent to this address, from this network or for this account. Try again later."}
	}
	if err != nil {
		return fmt.Errorf("identity: mail limit: %w", err)
	}
	return nil
}

// isTestAddress reports whether email follows Clerk's test convention,
// honoured in development only.
func (s *Service) isTestAddress(email string) bool {
	local, _, _ := strings.Cut(email, "@")
	return s.cfg.Development && strings.Contains(local, "+clerk_test")
}

// newCode returns six digits from the CSPRNG (the test code for test
// addresses in development).
func (s *Service) newCode(email string) (string, error) {
	if s.isTestAddress(email) {
		return testCode, nil
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("identity: code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// codeHash is the keyed hash the store keeps of a subject's code: a
// database leak alone does not let anyone test the million candidates.
func (s *Service) codeHash(subject, code string) []byte {
	m := hmac.New(sha256.New, s.cfg.CodeKey)
	m.Write([]byte(subject))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// sendCode makes a new code for subject, stores its hash (the old code
// stops working) and mails it, unless a code went out less than 30 s ago
// (429 verification_code_too_many_requests). userID is who the mail is
// for ("" for a sign-up).
func (s *Service) sendCode(ctx context.Context, subject, strategy, purpose, email, userID string) error {
	code, err := s.prepareCode(ctx, subject, strategy, purpose, email, userID)
	if err != nil || code == "" || s.cfg.SendCode == nil {
		return err
	}
	if err := s.cfg.SendCode(ctx, CodeMail{To: email, Purpose: purpose, Code: code, ExpiresIn: codeTTL}); err != nil {
		return fmt.Errorf("identity: send code: %w", err)
	}
	return nil
}

// prepareCode is sendCode without the sending: it counts the message
// against the mail limits, stores the new code's hash and returns the
// code to deliver ("" for a test address, which gets no mail).
func (s *Service) prepareCode(ctx context.Context, subject, strategy, purpose, email, userID string) (string, error) {
	now := s.now()
	// Checked before the mail limits, so refused resends do not count.
	if c, err := s.store.GetCode(ctx, subject); err == nil && now.UnixMilli()-c.SentAt < codeCooldown.Milliseconds() {
		return "", errCodeTooSoon(time.Duration(c.SentAt+codeCooldown.Milliseconds()-now.UnixMilli()) * time.Millisecond)
	}
	test := s.isTestAddress(email)
	if !test {
		if err := s.mail.Allow(ctx, purpose, email, userID); err != nil {
			return "", err
		}
	}
	code, err := s.newCode(email)
	if err != nil {
		return "", err
	}
	wait, err := s.store.PutCode(ctx, store.Code{Subject: subject, Strategy: strategy, Email: email,
		Hash: s.codeHash(subject, code), SentAt: now.UnixMilli(), ExpireAt: now.Add(codeTTL).UnixMilli(),
		Status: store.VerificationUnverified}, codeCooldown)
	if errors.Is(err, store.ErrTooSoon) {
		return "", errCodeTooSoon(wait)
	}
	if err != nil {
		return "", fmt.Errorf("identity: store code: %w", err)
	}
	if test {
		return "", nil
	}
	return code, nil
}

// checkCode attempts code against subject's, answering Clerk's errors
// for every way it can be wrong.
func (s *Service) checkCode(ctx context.Context, subject, code string) error {
	_, err := s.checkCodeGuess(ctx, subject, code)
	return err
}

// checkCodeGuess is checkCode that also says whether a wrong code was
// compared (a guess, which the reset counts toward the lockout).
func (s *Service) checkCodeGuess(ctx context.Context, subject, code string) (wrong bool, err error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return false, paramMissing("code")
	}
	if len(code) > 16 {
		return true, errCodeIncorrect()
	}
	out, _, err := s.store.AttemptCode(ctx, subject, s.codeHash(subject, code), codeMaxAttempts)
	if err != nil {
		return false, fmt.Errorf("identity: check code: %w", err)
	}
	wrong = out == store.CodeWrong || out == store.CodeExhausted
	return wrong, codeError(out)
}

// codeError is the refusal of an attempt's outcome (nil when right).
func codeError(out store.CodeOutcome) error {
	switch out {
	case store.CodeCorrect:
		return nil
	case store.CodeWrong:
		return errCodeIncorrect()
	case store.CodeFailed, store.CodeExhausted:
		return &Error{Status: http.StatusBadRequest, Code: "verification_failed", Param: "code",
			Message:     "Too many failed attempts. Ask for a new code.",
			LongMessage: "Too many failed attempts. You have to try again with the same or another method."}
	case store.CodeExpired:
		return &Error{Status: http.StatusBadRequest, Code: "verification_expired", Param: "code",
			Message:     "This code has expired. Ask for a new one.",
			LongMessage: "This verification has expired. You must create a new one."}
	case store.CodeUsed:
		return &Error{Status: http.StatusBadRequest, Code: "verification_already_verified", Param: "code",
			Message: "This code was already used.", LongMessage: "This verification has already been verified."}
	default:
		return &Error{Status: http.StatusBadRequest, Code: "verification_not_sent", Param: "code",
			Message: "No code was sent. Ask for one.", LongMessage: "Prepare the verification before attempting it."}
	}
}

func errCodeIncorrect() *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "form_code_incorrect", Param: "code",
		Message: "That code is incorrect.", LongMessage: "Incorrect code"}
}

func errCodeTooSoon(wait time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "verification_code_too_many_requests", RetryAfter: wait,
		Message:     "A code was sent moments ago. Wait " + humanWait(wait) + " before asking for another.",
		LongMessage: "Please wait at least 30 seconds before requesting another code."}
}

// CodeState is what a code page shows: where the code went, and when
// another may be asked for.
type CodeState struct {
	Email     string
	Status    string        // the verification's status
	ResendIn  time.Duration // 0 when a resend is allowed now
	ExpiresAt time.Time
	Attempts  int
}

func (s *Service) codeState(ctx context.Context, subject, email string) CodeState {
	st := CodeState{Email: email, Status: store.VerificationUnverified}
	c, err := s.store.GetCode(ctx, subject)
	if err != nil {
		return st
	}
	st.Status, st.Attempts = c.Status, c.Attempts
	if c.Status == store.VerificationUnverified && c.ExpireAt <= s.now().UnixMilli() {
		st.Status = store.VerificationExpired
	}
	st.ExpiresAt = time.UnixMilli(c.ExpireAt)
	if wait := c.SentAt + codeCooldown.Milliseconds() - s.now().UnixMilli(); wait > 0 {
		st.ResendIn = time.Duration(wait) * time.Millisecond
	}
	return st
}
