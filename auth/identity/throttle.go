package identity

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Growing delays between failed sign-ins (spec 06 §1, issue "progressive
// lockout"): the first failures of an address cost nothing; from the
// delayAfter-th on, the next attempt must wait SignInDelay, doubling with
// each further failure up to maxSignInDelay. They are kept per address,
// known or not, so they reveal nothing about which accounts exist; the
// per-account lock (MaxFailedSignIns) stays as the bound, and a password
// reset lifts both.
const (
	delayAfter     = 3
	maxSignInDelay = time.Minute
	failureWindow  = time.Hour
)

// signInDelay is how long email must still wait before its next
// attempt, and how many failures its run holds (0: nothing to clear
// after a success, so a sign-in without failures writes nothing here).
func (s *Service) signInDelay(ctx context.Context, email string) (time.Duration, int, error) {
	if s.cfg.SignInDelay <= 0 {
		return 0, 0, nil
	}
	f, err := s.store.GetAddressFailures(ctx, email, failureWindow)
	if err != nil {
		return 0, 0, fmt.Errorf("identity: sign-in delay: %w", err)
	}
	if f.Failures < delayAfter {
		return 0, f.Failures, nil
	}
	d := min(s.cfg.SignInDelay<<min(f.Failures-delayAfter, 16), maxSignInDelay)
	wait := time.Duration(f.LastAt)*time.Millisecond + d - time.Duration(s.now().UnixMilli())*time.Millisecond
	return wait, f.Failures, nil
}

// recordFailure counts a failed attempt for email (while the waits are on).
func (s *Service) recordFailure(ctx context.Context, email string) error {
	if s.cfg.SignInDelay <= 0 {
		return nil
	}
	if _, err := s.store.RecordAddressFailure(ctx, email, failureWindow); err != nil {
		return fmt.Errorf("identity: record failure: %w", err)
	}
	return nil
}

func errSlowDown(wait time.Duration) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "too_many_requests", RetryAfter: wait,
		Message:     "Too many failed attempts for this address. Wait " + humanWait(wait) + " and try again, or reset your password.",
		LongMessage: "Too many failed attempts for this address. Try again after the wait, or reset the password."}
}
