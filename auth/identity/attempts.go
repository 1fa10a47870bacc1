package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/identity/password"
	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// The values of SIGN_UP_VERIFICATION.
const (
	SignUpEmailCode = "email_code"
	SignUpNoCode    = "off"
)

const (
	signUpAbandonAfter = 24 * time.Hour
	resetAttemptTTL    = 30 * time.Minute
)

// VerifiesSignUps reports whether a sign-up waits for an email code.
func (s *Service) VerifiesSignUps() bool { return s.cfg.SignUpVerification != SignUpNoCode }

// SignUpAttempt is a sign-up waiting for its code, as its page shows it.
type SignUpAttempt struct {
	ID     string
	Status string // missing_requirements, complete, abandoned
	Code   CodeState
	// AbandonAt is when the attempt lapses (24 h after it began).
	AbandonAt time.Time
}

// checkSignUp validates a sign-up form and returns its normalised
// address and names, and the password's hash.
func (s *Service) checkSignUp(ctx context.Context, in SignUpInput) (email, first, last, hash string, err error) {
	if strings.TrimSpace(in.EmailAddress) == "" {
		return "", "", "", "", paramMissing("email_address")
	}
	email = NormalizeEmail(in.EmailAddress)
	if email == "" {
		return "", "", "", "", paramFormat("email_address", "Enter a valid email address.")
	}
	if in.Password == "" {
		return "", "", "", "", paramMissing("password")
	}
	if first, err = checkName("first_name", in.FirstName); err != nil {
		return "", "", "", "", err
	}
	if last, err = checkName("last_name", in.LastName); err != nil {
		return "", "", "", "", err
	}
	if err := s.hasher.Check(in.Password, email, first, last, first+last); err != nil {
		return "", "", "", "", passwordError(err)
	}
	if slices.Contains(s.cfg.ReservedEmails, email) {
		return "", "", "", "", identifierExists() // as if taken: the list is nobody's business
	}
	if _, err := s.store.GetUserByEmail(ctx, email); err == nil {
		return "", "", "", "", identifierExists()
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", "", "", "", err
	}
	hash, err = s.hasher.Hash(ctx, in.Password)
	if errors.Is(err, password.ErrBusy) {
		return "", "", "", "", errBusy()
	}
	if err != nil {
		return "", "", "", "", fmt.Errorf("identity: sign-up: %w", err)
	}
	return email, first, last, hash, nil
}

// StartSignUp begins a sign-up that needs its address verified: it
// stores an attempt and mails a six-digit code. No user exists until
// [Service.AttemptSignUp] gets the code right.
func (s *Service) StartSignUp(ctx context.Context, in SignUpInput) (*SignUpAttempt, error) {
	email, first, last, hash, err := s.checkSignUp(ctx, in)
	if err != nil {
		return nil, err
	}
	now := s.now()
	a := store.SignUpAttempt{ID: randid.New("sua"), Email: email, FirstName: first, LastName: last, PasswordHash: hash,
		AbandonAt: now.Add(signUpAbandonAfter).UnixMilli()}
	if err := s.store.CreateSignUpAttempt(ctx, a); err != nil {
		return nil, fmt.Errorf("identity: sign-up attempt: %w", err)
	}
	if err := s.sendCode(ctx, a.ID, "email_code", PurposeSignUp, email, ""); err != nil {
		return nil, err
	}
	return s.SignUpAttempt(ctx, a.ID)
}

// SignUpAttempt returns the attempt with id (ErrSignedOut when there is
// none: the browser's attempt cookie named something that does not exist).
func (s *Service) SignUpAttempt(ctx context.Context, id string) (*SignUpAttempt, error) {
	if id == "" {
		return nil, errNoAttempt()
	}
	a, err := s.store.GetSignUpAttempt(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoAttempt()
	}
	if err != nil {
		return nil, fmt.Errorf("identity: sign-up attempt: %w", err)
	}
	return &SignUpAttempt{ID: a.ID, Status: a.Status, Code: s.codeState(ctx, a.ID, a.Email), AbandonAt: time.UnixMilli(a.AbandonAt)}, nil
}

// ResendSignUpCode mails a new code for the attempt (the old one stops
// working), at most once per 30 s.
func (s *Service) ResendSignUpCode(ctx context.Context, id string) (*SignUpAttempt, error) {
	a, err := s.liveSignUp(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.sendCode(ctx, a.ID, "email_code", PurposeSignUp, a.Email, ""); err != nil {
		return nil, err
	}
	return s.SignUpAttempt(ctx, a.ID)
}

func (s *Service) liveSignUp(ctx context.Context, id string) (*store.SignUpAttempt, error) {
	if id == "" {
		return nil, errNoAttempt()
	}
	a, err := s.store.GetSignUpAttempt(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoAttempt()
	}
	if err != nil {
		return nil, fmt.Errorf("identity: sign-up attempt: %w", err)
	}
	switch a.Status {
	case store.AttemptMissingRequirements:
		return a, nil
	case store.AttemptComplete:
		return nil, &Error{Status: http.StatusBadRequest, Code: "verification_already_verified",
			Message: "This sign-up is complete. Sign in.", LongMessage: "This sign-up has already been completed."}
	default:
		return nil, &Error{Status: http.StatusBadRequest, Code: "sign_up_abandoned",
			Message: "This sign-up has lapsed. Start again.", LongMessage: "Sign-ups are abandoned after 24 hours."}
	}
}

// AttemptSignUp checks the code of sign-up attempt id; when it is right it
// creates the user with that address verified and signs this browser in.
// An address taken meanwhile is form_identifier_exists.
func (s *Service) AttemptSignUp(ctx context.Context, id, code, clientCookie, origin string) (*SignedIn, error) {
	if _, err := s.liveSignUp(ctx, id); err != nil {
		return nil, err
	}
	if err := s.checkCode(ctx, id, code); err != nil {
		return nil, err
	}
	u, err := s.store.CompleteSignUp(ctx, id, "email_code")
	if errors.Is(err, store.ErrConflict) {
		return nil, identifierExists()
	}
	if errors.Is(err, store.ErrNotPending) {
		return nil, errNoAttempt()
	}
	if err != nil {
		return nil, fmt.Errorf("identity: complete sign-up: %w", err)
	}
	s.log.InfoContext(ctx, "user signed up", "user_id", u.ID, "verified", "email_code")
	return s.startSession(ctx, u, clientCookie, origin)
}

func errNoAttempt() *Error {
	return &Error{Status: http.StatusBadRequest, Code: "verification_missing",
		Message:     "This page has lapsed. Start again.",
		LongMessage: "No attempt under way in this browser matches this request."}
}

// ResetAttempt is a password reset under way, as its pages show it.
type ResetAttempt struct {
	ID     string
	Status string // needs_first_factor (the code), needs_new_password, complete
	Code   CodeState
}

// StartPasswordReset begins a reset for identifier and mails a code when
// the address belongs to an account. The answer is the same either way,
// and so is the work (an attempt and a code are stored; the mail goes
// out after the answer), so it cannot tell anyone which accounts exist.
func (s *Service) StartPasswordReset(ctx context.Context, identifier string) (*ResetAttempt, error) {
	a, err := s.startSignIn(ctx, identifier)
	if err != nil {
		return nil, err
	}
	if err := s.sendResetCode(ctx, a); err != nil {
		return nil, err
	}
	return s.ResetAttempt(ctx, a.ID)
}

// StartSignIn stores a sign-in attempt for identifier that waits for its
// first factor (the frontend API's POST /client/sign_ins without a
// password). Like a reset, it answers the same whether or not the
// address has an account.
func (s *Service) StartSignIn(ctx context.Context, identifier string) (*ResetAttempt, error) {
	a, err := s.startSignIn(ctx, identifier)
	if err != nil {
		return nil, err
	}
	return s.ResetAttempt(ctx, a.ID)
}

func (s *Service) startSignIn(ctx context.Context, identifier string) (*store.SignInAttempt, error) {
	if strings.TrimSpace(identifier) == "" {
		return nil, paramMissing("identifier")
	}
	email := NormalizeEmail(identifier)
	if email == "" {
		return nil, &Error{Status: http.StatusUnprocessableEntity, Code: "form_param_format_invalid", Param: "identifier",
			Message: "Enter a valid email address.", LongMessage: "Enter a valid email address."}
	}
	userID := ""
	if u, err := s.store.GetUserByEmail(ctx, email); err == nil {
		userID = u.ID
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("identity: sign-in attempt: %w", err)
	}
	a := store.SignInAttempt{ID: randid.New("sia"), Email: email, UserID: userID, Status: store.AttemptNeedsFirstFactor,
		ExpireAt: s.now().Add(resetAttemptTTL).UnixMilli()}
	if err := s.store.CreateSignInAttempt(ctx, a); err != nil {
		return nil, fmt.Errorf("identity: sign-in attempt: %w", err)
	}
	return &a, nil
}

// SignInAttemptWithPassword completes the sign-in attempt id with a
// password (the frontend API's attempt_first_factor, strategy password).
func (s *Service) SignInAttemptWithPassword(ctx context.Context, id, pw, clientCookie, origin string) (*SignedIn, error) {
	a, err := s.resetAttempt(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status != store.AttemptNeedsFirstFactor {
		return nil, errNoAttempt()
	}
	res, err := s.SignIn(ctx, a.Email, pw, clientCookie, origin)
	if err != nil {
		return nil, err
	}
	if err := s.store.AdvanceSignInAttempt(ctx, id, store.AttemptNeedsFirstFactor, store.AttemptComplete); err != nil {
		s.log.WarnContext(ctx, "could not close the sign-in attempt", "sign_in_id", id, "err", err)
	}
	return res, nil
}

// sendResetCode stores a reset code for a and mails it, after the
// response, when the address is an account's.
func (s *Service) sendResetCode(ctx context.Context, a *store.SignInAttempt) error {
	c, err := s.prepareCode(ctx, a.ID, "reset_password_email_code", PurposeResetPassword, a.Email, a.UserID)
	if err != nil {
		return err
	}
	if a.UserID == "" || c == "" || s.cfg.SendCode == nil {
		return nil
	}
	// Delivered in the background so that the answer takes as long for an
	// address that is nobody's, which sends nothing.
	go func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := s.cfg.SendCode(ctx, CodeMail{To: a.Email, Purpose: PurposeResetPassword, Code: c, ExpiresIn: codeTTL}); err != nil {
			s.log.ErrorContext(ctx, "could not send a password reset code", "user_id", a.UserID, "err", err)
		}
	}(context.WithoutCancel(ctx))
	return nil
}

// ResetAttempt returns the reset attempt id of this browser.
func (s *Service) ResetAttempt(ctx context.Context, id string) (*ResetAttempt, error) {
	a, err := s.resetAttempt(ctx, id)
	if err != nil {
		return nil, err
	}
	return &ResetAttempt{ID: a.ID, Status: a.Status, Code: s.codeState(ctx, a.ID, a.Email)}, nil
}

func (s *Service) resetAttempt(ctx context.Context, id string) (*store.SignInAttempt, error) {
	if id == "" {
		return nil, errNoAttempt()
	}
	a, err := s.store.GetSignInAttempt(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoAttempt()
	}
	if err != nil {
		return nil, fmt.Errorf("identity: reset attempt: %w", err)
	}
	return a, nil
}

// ResendResetCode sends a new reset code (at most once per 30 s).
func (s *Service) ResendResetCode(ctx context.Context, id string) (*ResetAttempt, error) {
	a, err := s.resetAttempt(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status != store.AttemptNeedsFirstFactor {
		return nil, errNoAttempt()
	}
	if err := s.sendResetCode(ctx, a); err != nil {
		return nil, err
	}
	return s.ResetAttempt(ctx, id)
}

// AttemptResetCode checks the reset code. A wrong code counts toward the
// account's lockout, as a wrong password does; a right one lets the
// browser choose a new password (needs_new_password). For an address that
// is nobody's no code is ever right, and the answers are the same.
func (s *Service) AttemptResetCode(ctx context.Context, id, code string) (*ResetAttempt, error) {
	a, err := s.resetAttempt(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status != store.AttemptNeedsFirstFactor {
		return nil, errNoAttempt()
	}
	if wrong, err := s.checkCodeGuess(ctx, id, code); err != nil {
		if wrong && a.UserID != "" {
			if _, ferr := s.store.RecordSignInFailure(ctx, a.UserID, s.cfg.MaxFailedSignIns, s.cfg.LockoutDuration); ferr != nil {
				return nil, fmt.Errorf("identity: reset: %w", ferr)
			}
		}
		return nil, err
	}
	if a.UserID == "" {
		// Unreachable: no code was mailed, and the stored one is random.
		return nil, errCodeIncorrect()
	}
	if err := s.store.AdvanceSignInAttempt(ctx, id, store.AttemptNeedsFirstFactor, store.AttemptNeedsNewPassword); err != nil {
		return nil, errNoAttempt()
	}
	return s.ResetAttempt(ctx, id)
}

// ResetPassword sets the new password of a reset whose code was right,
// lifts the account's lockout, ends the user's other sessions when
// signOutOthers, and signs this browser in. A second factor, once
// accounts have one, is asked before any session exists: a reset never
// skips it.
func (s *Service) ResetPassword(ctx context.Context, id, newPassword string, signOutOthers bool, clientCookie, origin string) (*SignedIn, error) {
	a, err := s.resetAttempt(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status != store.AttemptNeedsNewPassword || a.UserID == "" {
		return nil, errNoAttempt()
	}
	u, err := s.store.GetUser(ctx, a.UserID)
	if err != nil {
		return nil, errNoAttempt()
	}
	hash, err := s.newPasswordHash(ctx, u, newPassword, "password")
	if err != nil {
		return nil, err
	}
	if err := s.store.ResetPassword(ctx, id, u.ID, hash, signOutOthers); err != nil {
		if errors.Is(err, store.ErrNotPending) {
			return nil, errNoAttempt()
		}
		return nil, fmt.Errorf("identity: reset password: %w", err)
	}
	addresses := make([]string, 0, len(u.EmailAddresses))
	for _, e := range u.EmailAddresses {
		addresses = append(addresses, e.Email)
	}
	if err := s.store.ClearAddressFailures(ctx, addresses...); err != nil {
		return nil, fmt.Errorf("identity: reset password: %w", err)
	}
	s.log.InfoContext(ctx, "password reset", "user_id", u.ID, "signed_out_others", signOutOthers)
	if u.Banned {
		return nil, errInvalidCredentials
	}
	return s.startSession(ctx, u, clientCookie, origin)
}

// newPasswordHash checks a new password for u (the rules of sign-up, and
// not the current one) and hashes it.
func (s *Service) newPasswordHash(ctx context.Context, u *store.User, pw, param string) (string, error) {
	if pw == "" {
		return "", paramMissing(param)
	}
	if err := s.hasher.Check(pw, u.PrimaryEmail(), u.FirstName, u.LastName, u.FirstName+u.LastName); err != nil {
		e := passwordError(err)
		e.Param = param
		return "", e
	}
	if u.PasswordHash != "" {
		same, err := s.hasher.Verify(ctx, pw, u.PasswordHash)
		if errors.Is(err, password.ErrBusy) {
			return "", errBusy()
		}
		if err != nil {
			return "", fmt.Errorf("identity: compare password: %w", err)
		}
		if same {
			return "", &Error{Status: http.StatusUnprocessableEntity, Code: "form_new_password_matches_current", Param: param,
				Message:     "Choose a password different from your current one.",
				LongMessage: "Your new password cannot be the same as your current password."}
		}
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if errors.Is(err, password.ErrBusy) {
		return "", errBusy()
	}
	if err != nil {
		return "", fmt.Errorf("identity: hash password: %w", err)
	}
	return hash, nil
}
