package identity

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/social"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// CodeReverificationRequired is the refusal of a sensitive action whose
// session has not verified a factor recently enough.
const CodeReverificationRequired = "session_reverification_required"

func errReverificationRequired() *Error {
	return &Error{Status: http.StatusForbidden, Code: CodeReverificationRequired,
		Message:     "Confirm it's you to continue.",
		LongMessage: "You need to provide additional verification to perform this operation."}
}

// FactorAges returns how long ago sess verified its first and second
// factors (negative: the second never was), as of now.
func FactorAges(sess *store.Session, now time.Time) (first, second time.Duration) {
	first = now.Sub(time.UnixMilli(sess.FactorVerifiedAt))
	second = -1
	if sess.SecondFactorVerifiedAt > 0 {
		second = now.Sub(time.UnixMilli(sess.SecondFactorVerifiedAt))
	}
	return first, second
}

// fva is the session token's fva claim for sess: whole minutes since each
// factor, -1 for a second factor never verified.
func fva(sess *store.Session, now time.Time) []int {
	first, second := FactorAges(sess, now)
	out := []int{int(first / time.Minute), -1}
	if second >= 0 {
		out[1] = int(second / time.Minute)
	}
	return out
}

// sensitive refuses a sensitive action (07 §5): in an impersonation
// session always, otherwise unless the session verified a factor within
// ReverificationMaxAge, by Clerk's strict rule (the second factor, or the
// first for a user without one), to the second.
func (a *Account) sensitive() error {
	if err := a.noActor(); err != nil {
		return err
	}
	if !a.Reverified() {
		return errReverificationRequired()
	}
	return nil
}

// Reverified reports whether the session is recent enough for the
// sensitive actions.
func (a *Account) Reverified() bool {
	first, second := FactorAges(a.session, a.svc.now())
	return token.FactorsFresh(first, second, token.SecondFactor, a.svc.cfg.ReverificationMaxAge)
}

// ReverifyStrategies are the strategies that reverify this account's
// session: the password as first factor (when the user has one), and for
// a user with a second factor its codes, which is what Clerk's strict
// asks.
func (a *Account) ReverifyStrategies() []string {
	var out []string
	if HasSecondFactor(a.user) {
		out = append(out, StrategyTOTP)
		if a.user.BackupCodesLeft > 0 {
			out = append(out, StrategyBackupCode)
		}
	}
	if a.user.PasswordHash != "" {
		out = append(out, "password")
	}
	for _, ea := range a.user.ExternalAccounts {
		if _, ok := a.svc.Provider(ea.Provider); ok {
			out = append(out, social.Strategy(ea.Provider))
		}
	}
	return out
}

// Reverify verifies a factor again in this session: strategy password (the
// first factor) or totp / backup_code (the second), and records it in the
// session. A wrong password or code counts toward the lockout.
func (a *Account) Reverify(ctx context.Context, strategy, secret string) error {
	s := a.svc
	now := s.now().UnixMilli()
	var first, second int64
	switch strategy {
	case "password":
		if a.user.PasswordHash == "" {
			return errStrategy()
		}
		if secret == "" {
			return paramMissing("password")
		}
		if err := a.checkPassword(ctx, secret); err != nil {
			if e, ok := AsError(err); ok && e.Param == "current_password" {
				e.Param = "password"
			}
			return err
		}
		first = now
	case StrategyTOTP, StrategyBackupCode:
		if !HasSecondFactor(a.user) {
			return errStrategy()
		}
		if n := s.now(); a.user.LockedUntil > n.UnixMilli() {
			return errLockedUntil(a.user.LockedUntil, n)
		}
		if err := s.VerifySecondFactor(ctx, a.user.ID, strategy, secret); err != nil {
			if e, ok := AsError(err); ok && e.Code == "form_code_incorrect" {
				if _, ferr := s.store.RecordSignInFailure(ctx, a.user.ID, s.cfg.MaxFailedSignIns, s.cfg.LockoutDuration); ferr != nil {
					return fmt.Errorf("identity: reverify: %w", ferr)
				}
			}
			return err
		}
		second = now
	default:
		return errStrategy()
	}
	sess, err := s.store.SetSessionFactors(ctx, a.session.ID, first, second)
	if err != nil {
		return fmt.Errorf("identity: reverify: %w", err)
	}
	a.session = sess
	s.log.InfoContext(ctx, "session reverified", "user_id", a.user.ID, "session_id", sess.ID, "strategy", strategy)
	return nil
}

func errStrategy() *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "strategy_for_user_invalid", Param: "strategy",
		Message: "That way of confirming is not available for your account.", LongMessage: "The verification strategy is not valid for this account."}
}
