package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/identity/password"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// maxUnverifiedAddresses is how many unverified addresses a user may
// hold at a time (Clerk: too_many_unverified_identifications).
const maxUnverifiedAddresses = 3

// Account is the signed-in user's own account, as the settings page and
// the frontend API's /v1/me routes change it. It is built from the
// session as the store has it now ([Service.Account]): a session ended a
// moment ago changes nothing.
type Account struct {
	svc     *Service
	session *store.Session
	user    *store.User
}

// Account returns the account of the live session sid (ErrSignedOut when
// it is not live).
func (s *Service) Account(ctx context.Context, sid string) (*Account, error) {
	if sid == "" {
		return nil, ErrSignedOut
	}
	sess, err := s.liveSession(ctx, sid)
	if err != nil {
		return nil, err
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrSignedOut
	}
	if err != nil {
		return nil, fmt.Errorf("identity: load user: %w", err)
	}
	return &Account{svc: s, session: sess, user: u}, nil
}

// ClientAccount is [Service.Account] for session sid of the browser
// holding clientCookie (the frontend API's /v1/me routes); "" names the
// browser's last active session.
func (s *Service) ClientAccount(ctx context.Context, clientCookie, sid string) (*Account, error) {
	c, err := s.client(ctx, clientCookie)
	if err != nil {
		return nil, err
	}
	if sid == "" {
		sid = c.LastActiveSessionID
	}
	if _, err := s.clientSession(ctx, clientCookie, sid); err != nil {
		return nil, err
	}
	return s.Account(ctx, sid)
}

// User is the account's user as read when the account was loaded.
func (a *Account) User() *store.User { return a.user }

// SessionID is the session the account was opened from.
func (a *Account) SessionID() string { return a.session.ID }

// Impersonated reports whether the account is used by an impersonating
// administrator.
func (a *Account) Impersonated() bool { return len(a.session.Actor) > 0 }

// noActor refuses the actions an impersonation session may not take.
func (a *Account) noActor() error {
	if a.Impersonated() {
		return errActorRestricted()
	}
	return nil
}

func (a *Account) reload(ctx context.Context) error {
	u, err := a.svc.store.GetUser(ctx, a.user.ID)
	if err != nil {
		return fmt.Errorf("identity: reload user: %w", err)
	}
	a.user = u
	return nil
}

// UpdateName sets the user's first and last names.
func (a *Account) UpdateName(ctx context.Context, first, last string) error {
	first, err := checkName("first_name", first)
	if err != nil {
		return err
	}
	if last, err = checkName("last_name", last); err != nil {
		return err
	}
	if _, err := a.svc.store.UpdateUser(ctx, a.user.ID, store.UserUpdate{FirstName: &first, LastName: &last}); err != nil {
		return fmt.Errorf("identity: update name: %w", err)
	}
	return a.reload(ctx)
}

// ChangePassword sets a new password after checking the current one (a
// user without a password sets a first one), and with signOutOthers
// revokes every other session of the user. A wrong current password
// counts toward the lockout.
func (a *Account) ChangePassword(ctx context.Context, current, next string, signOutOthers bool) error {
	if err := a.sensitive(); err != nil {
		return err
	}
	s := a.svc
	if a.user.PasswordHash != "" {
		if current == "" {
			return paramMissing("current_password")
		}
		if err := a.checkPassword(ctx, current); err != nil {
			return err
		}
	}
	hash, err := s.newPasswordHash(ctx, a.user, next, "new_password")
	if err != nil {
		return err
	}
	if err := s.store.ChangePassword(ctx, a.user.ID, hash, a.session.ID, signOutOthers); err != nil {
		return fmt.Errorf("identity: change password: %w", err)
	}
	s.log.InfoContext(ctx, "password changed", "user_id", a.user.ID, "signed_out_others", signOutOthers)
	return a.reload(ctx)
}

// checkPassword verifies pw as the user's password (param
// current_password), counting a wrong one toward the lockout.
func (a *Account) checkPassword(ctx context.Context, pw string) error {
	s := a.svc
	if now := s.now(); a.user.LockedUntil > now.UnixMilli() {
		return errLockedUntil(a.user.LockedUntil, now)
	}
	ok, err := s.hasher.Verify(ctx, pw, a.user.PasswordHash)
	if errors.Is(err, password.ErrBusy) {
		return errBusy()
	}
	if err != nil {
		return fmt.Errorf("identity: verify password: %w", err)
	}
	if ok {
		return nil
	}
	if _, err := s.store.RecordSignInFailure(ctx, a.user.ID, s.cfg.MaxFailedSignIns, s.cfg.LockoutDuration); err != nil {
		return fmt.Errorf("identity: record failure: %w", err)
	}
	return &Error{Status: http.StatusUnprocessableEntity, Code: "form_password_incorrect", Param: "current_password",
		Message: "Your current password is incorrect.", LongMessage: "Password is incorrect. Try again, or use another method."}
}

// address returns the user's address id (404 when it is not theirs).
func (a *Account) address(id string) (*store.EmailAddress, error) {
	i := slices.IndexFunc(a.user.EmailAddresses, func(e store.EmailAddress) bool { return e.ID == id })
	if i < 0 {
		return nil, &Error{Status: http.StatusNotFound, Code: "resource_not_found", Message: "Email address not found.",
			LongMessage: "No email address with this id belongs to you."}
	}
	return &a.user.EmailAddresses[i], nil
}

// AddEmailAddress adds an unverified address and mails it a code. At
// most three unverified addresses at a time.
func (a *Account) AddEmailAddress(ctx context.Context, raw string) (*store.EmailAddress, error) {
	if err := a.sensitive(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(raw) == "" {
		return nil, paramMissing("email_address")
	}
	email := NormalizeEmail(raw)
	if email == "" {
		return nil, paramFormat("email_address", "Enter a valid email address.")
	}
	if slices.Contains(a.svc.cfg.ReservedEmails, email) {
		return nil, identifierExists()
	}
	e, err := a.svc.store.AddEmailAddress(ctx, a.user.ID, email, maxUnverifiedAddresses)
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, identifierExists()
	case errors.Is(err, store.ErrTooManyUnverified):
		return nil, &Error{Status: http.StatusBadRequest, Code: "too_many_unverified_identifications", Param: "email_address",
			Message:     "Verify or remove one of your unverified addresses first.",
			LongMessage: "There are too many unverified identifications for this user."}
	case err != nil:
		return nil, fmt.Errorf("identity: add email address: %w", err)
	}
	if err := a.reload(ctx); err != nil {
		return nil, err
	}
	if err := a.svc.sendCode(ctx, e.ID, "email_code", PurposeVerifyEmail, e.Email, a.user.ID); err != nil {
		return e, err
	}
	return e, nil
}

// PrepareEmailVerification mails a new code to the user's unverified
// address id (at most once per 30 s).
func (a *Account) PrepareEmailVerification(ctx context.Context, id string) error {
	e, err := a.address(id)
	if err != nil {
		return err
	}
	if e.Verified {
		return errAlreadyVerified()
	}
	return a.svc.sendCode(ctx, e.ID, "email_code", PurposeVerifyEmail, e.Email, a.user.ID)
}

// AttemptEmailVerification checks the code of the user's address id and
// marks it verified.
func (a *Account) AttemptEmailVerification(ctx context.Context, id, code string) error {
	e, err := a.address(id)
	if err != nil {
		return err
	}
	if e.Verified {
		return errAlreadyVerified()
	}
	if err := a.svc.checkCode(ctx, e.ID, code); err != nil {
		return err
	}
	if err := a.svc.store.VerifyEmailAddress(ctx, a.user.ID, e.ID, "email_code"); err != nil {
		return fmt.Errorf("identity: verify email address: %w", err)
	}
	return a.reload(ctx)
}

// EmailCodeState is what the verification form of address id shows.
func (a *Account) EmailCodeState(ctx context.Context, id string) (CodeState, error) {
	e, err := a.address(id)
	if err != nil {
		return CodeState{}, err
	}
	return a.svc.codeState(ctx, e.ID, e.Email), nil
}

func errAlreadyVerified() *Error {
	return &Error{Status: http.StatusBadRequest, Code: "verification_already_verified",
		Message: "This address is already verified.", LongMessage: "This verification has already been verified."}
}

// SetPrimaryEmailAddress makes the user's verified address id primary.
func (a *Account) SetPrimaryEmailAddress(ctx context.Context, id string) error {
	if err := a.sensitive(); err != nil {
		return err
	}
	if _, err := a.address(id); err != nil {
		return err
	}
	err := a.svc.store.SetPrimaryEmailAddress(ctx, a.user.ID, id)
	if errors.Is(err, store.ErrUnverified) {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "form_verification_needed", Param: "primary_email_address_id",
			Message: "Verify this address before making it primary.", LongMessage: "This email address must be verified first."}
	}
	if err != nil {
		return fmt.Errorf("identity: set primary address: %w", err)
	}
	return a.reload(ctx)
}

// RemoveEmailAddress removes the user's address id, unless it is the
// last verified one.
func (a *Account) RemoveEmailAddress(ctx context.Context, id string) error {
	if err := a.sensitive(); err != nil {
		return err
	}
	if _, err := a.address(id); err != nil {
		return err
	}
	err := a.svc.store.DeleteEmailAddress(ctx, a.user.ID, id)
	if errors.Is(err, store.ErrLastIdentification) {
		return &Error{Status: http.StatusBadRequest, Code: "last_required_identification_deletion_failed",
			Message:     "This is your last verified address: add and verify another before removing it.",
			LongMessage: "You cannot delete your last identification."}
	}
	if err != nil {
		return fmt.Errorf("identity: remove email address: %w", err)
	}
	return a.reload(ctx)
}

// Sessions lists the user's live sessions, newest first.
func (a *Account) Sessions(ctx context.Context) ([]*store.Session, error) {
	all, _, err := a.svc.store.ListSessions(ctx, store.SessionFilter{UserID: a.user.ID, Limit: 100})
	if err != nil {
		return nil, fmt.Errorf("identity: list sessions: %w", err)
	}
	now := a.svc.now().UnixMilli()
	return slices.DeleteFunc(all, func(x *store.Session) bool {
		return (x.Status != store.SessionActive && x.Status != store.SessionPending) || x.ExpireAt <= now
	}), nil
}

// RevokeSession revokes one of the user's sessions (not this one: that is
// signing out).
func (a *Account) RevokeSession(ctx context.Context, id string) (*store.Session, error) {
	if id == a.session.ID {
		return nil, &Error{Status: http.StatusBadRequest, Code: "session_revoke_current",
			Message: "To end this session, sign out.", LongMessage: "The current session cannot be revoked; sign out instead."}
	}
	sess, err := a.svc.store.RevokeSession(ctx, a.user.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errSessionNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("identity: revoke session: %w", err)
	}
	a.svc.log.InfoContext(ctx, "session revoked", "session_id", id, "user_id", a.user.ID, "by_session", a.session.ID)
	logImpersonationEnd(ctx, a.svc.log, sess)
	return sess, nil
}

// RevokeOtherSessions revokes every session of the user but this one.
func (a *Account) RevokeOtherSessions(ctx context.Context) error {
	if err := a.sensitive(); err != nil {
		return err
	}
	if err := a.svc.store.RevokeUserSessions(ctx, a.user.ID, a.session.ID); err != nil {
		return fmt.Errorf("identity: revoke other sessions: %w", err)
	}
	a.svc.log.InfoContext(ctx, "other sessions revoked", "user_id", a.user.ID, "kept_session", a.session.ID)
	return nil
}

// DeleteConfirmation is what a person types to delete their account.
const DeleteConfirmation = "delete my account"

// Delete deletes the account, after the current password (when there is
// one) and the typed confirmation. It is refused (409) while the user is
// the last admin of an organization with other members; organizations
// where they are alone go with them; every session ends at once.
func (a *Account) Delete(ctx context.Context, currentPassword, confirmation string) error {
	if err := a.sensitive(); err != nil {
		return err
	}
	if strings.TrimSpace(strings.ToLower(confirmation)) != DeleteConfirmation {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "form_param_value_invalid", Param: "confirmation",
			Message:     "Type \u201c" + DeleteConfirmation + "\u201d to confirm.",
			LongMessage: "The confirmation text does not match."}
	}
	if a.user.PasswordHash != "" {
		if currentPassword == "" {
			return paramMissing("current_password")
		}
		if err := a.checkPassword(ctx, currentPassword); err != nil {
			return err
		}
	}
	err := a.svc.store.DeleteAccount(ctx, a.user.ID, a.svc.cfg.Roles.AdminRoles())
	if errors.Is(err, store.ErrLastAdmin) {
		return &Error{Status: http.StatusConflict, Code: "user_delete_last_admin",
			Message:     "You are the last admin of an organization with other members. Make someone else an admin, or delete the organization, first.",
			LongMessage: "The user is the last admin of an organization that has other members."}
	}
	if err != nil {
		return fmt.Errorf("identity: delete account: %w", err)
	}
	a.svc.log.InfoContext(ctx, "user deleted their account", "user_id", a.user.ID)
	return nil
}

// Activity returns one page of the user's security activity, newest first.
func (a *Account) Activity(ctx context.Context, limit, offset int) ([]store.AuditEvent, int, error) {
	ev, total, err := a.svc.store.ListAuditEvents(ctx, store.AuditFilter{UserID: a.user.ID, Limit: limit, Offset: offset})
	if err != nil {
		return nil, 0, fmt.Errorf("identity: security activity: %w", err)
	}
	return ev, total, nil
}
