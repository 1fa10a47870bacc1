package clerkclient

import (
	"context"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// secondFactors checks the codes of users' second factors.
type secondFactors interface {
	VerifySecondFactor(ctx context.Context, userID, strategy, code string) error
}

// WithSecondFactors gives the client the identity service, which checks
// authenticator and backup codes for [UsersAPI.VerifyTOTP].
func WithSecondFactors(s *identity.Service) ClientOption {
	return func(c *clientOptions) { c.secondFactors = s }
}

// TOTPVerification is the answer of [UsersAPI.VerifyTOTP].
type TOTPVerification struct {
	Verified bool   `json:"verified"`
	CodeType string `json:"code_type"` // totp or backup_code
}

// VerifyTOTP checks a code of the user's second factor, as Clerk's
// POST /users/{id}/verify_totp does: an authenticator code (each step
// once) or, when that fails, a backup code, which it consumes. A wrong
// code is 422 totp_incorrect. It does not count toward the lockout: the
// caller is the operator's server, which has its own limits.
func (u *UsersAPI) VerifyTOTP(ctx context.Context, id, code string) (*TOTPVerification, error) {
	if u.secondFactors == nil {
		return nil, apiError(http.StatusInternalServerError, "internal_clerk_error", "This client cannot check second factors.", "")
	}
	su, err := u.store.GetUser(ctx, id)
	if err != nil {
		return nil, mapStoreError("get user", "user", err)
	}
	if !su.TOTPEnabled {
		return nil, apiError(http.StatusBadRequest, "totp_disabled", "The user has no authenticator app.", "")
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, paramInvalid("code", "code must be given")
	}
	for _, strategy := range []string{identity.StrategyTOTP, identity.StrategyBackupCode} {
		err := u.secondFactors.VerifySecondFactor(ctx, id, strategy, code)
		if err == nil {
			return &TOTPVerification{Verified: true, CodeType: strategy}, nil
		}
		if e, ok := identity.AsError(err); !ok || e.Code != "form_code_incorrect" {
			return nil, fromIdentity("verify totp", err)
		}
	}
	return nil, apiError(http.StatusUnprocessableEntity, "totp_incorrect", "The code is incorrect.", "code")
}

// DisableMFA turns the user's second factor off: the authenticator app
// and the backup codes.
func (u *UsersAPI) DisableMFA(ctx context.Context, id string) (*User, error) {
	return u.deleteSecondFactors(ctx, id, true, true)
}

// DeleteTOTP removes the user's authenticator app, and with it the backup
// codes that back it up.
func (u *UsersAPI) DeleteTOTP(ctx context.Context, id string) (*User, error) {
	return u.deleteSecondFactors(ctx, id, true, true)
}

// DeleteBackupCodes removes the user's backup codes; the authenticator
// app stays.
func (u *UsersAPI) DeleteBackupCodes(ctx context.Context, id string) (*User, error) {
	return u.deleteSecondFactors(ctx, id, false, true)
}

func (u *UsersAPI) deleteSecondFactors(ctx context.Context, id string, totp, backup bool) (*User, error) {
	su, err := u.store.DeleteSecondFactors(ctx, id, totp, backup)
	if err != nil {
		return nil, mapStoreError("disable second factors", "user", err)
	}
	return resource.NewUser(su, true, store.Now()), nil
}
