package clerkclient

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/identity/password"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// EmailAddressesAPI manages users' email addresses on an operator's word:
// no code is sent, and an address created verified is verified by
// strategy "admin".
type EmailAddressesAPI struct {
	store store.Store
}

// CreateEmailAddressParams create an address for a user.
type CreateEmailAddressParams struct {
	UserID       string
	EmailAddress string
	Verified     bool
	Primary      bool // only with Verified
}

func emailResource(e *store.EmailAddress) *EmailAddress {
	return &EmailAddress{Object: "email_address", ID: e.ID, EmailAddress: e.Email,
		Verification: resource.NewVerification(*e), LinkedTo: []any{}, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

// Create adds an address to a user.
func (a *EmailAddressesAPI) Create(ctx context.Context, p CreateEmailAddressParams) (*EmailAddress, error) {
	email := identity.NormalizeEmail(p.EmailAddress)
	if email == "" {
		return nil, apiError(http.StatusUnprocessableEntity, "form_param_format_invalid", "email_address is not a valid email address", "email_address")
	}
	if p.Primary && !p.Verified {
		return nil, apiError(http.StatusUnprocessableEntity, "form_verification_needed", "Only a verified address can be primary.", "primary")
	}
	// An operator's addresses are not held to the user's limit of
	// unverified ones.
	e, err := a.store.AddEmailAddress(ctx, p.UserID, email, 1<<20)
	if err != nil {
		return nil, mapStoreError("create email address", "user", err)
	}
	if p.Verified {
		if err := a.store.SetEmailAddressVerified(ctx, e.ID, true); err != nil {
			return nil, mapStoreError("verify email address", "email address", err)
		}
	}
	if p.Primary {
		if err := a.store.SetPrimaryEmailAddress(ctx, p.UserID, e.ID); err != nil {
			return nil, mapStoreError("make email address primary", "email address", err)
		}
	}
	return a.Get(ctx, e.ID)
}

// Get returns the address with id.
func (a *EmailAddressesAPI) Get(ctx context.Context, id string) (*EmailAddress, error) {
	e, err := a.store.GetEmailAddress(ctx, id)
	if err != nil {
		return nil, mapStoreError("get email address", "email address", err)
	}
	return emailResource(e), nil
}

// UpdateEmailAddressParams change an address; nil fields stay.
type UpdateEmailAddressParams struct {
	Verified *bool
	Primary  *bool // true only; a verified address
}

// Update sets an address's verification or makes it primary.
func (a *EmailAddressesAPI) Update(ctx context.Context, id string, p UpdateEmailAddressParams) (*EmailAddress, error) {
	e, err := a.store.GetEmailAddress(ctx, id)
	if err != nil {
		return nil, mapStoreError("get email address", "email address", err)
	}
	if p.Verified != nil {
		if err := a.store.SetEmailAddressVerified(ctx, id, *p.Verified); err != nil {
			return nil, mapStoreError("update email address", "email address", err)
		}
	}
	if p.Primary != nil && *p.Primary {
		err := a.store.SetPrimaryEmailAddress(ctx, e.UserID, id)
		if errors.Is(err, store.ErrUnverified) {
			return nil, apiError(http.StatusUnprocessableEntity, "form_verification_needed", "Only a verified address can be primary.", "primary")
		}
		if err != nil {
			return nil, mapStoreError("make email address primary", "email address", err)
		}
	}
	return a.Get(ctx, id)
}

// Delete removes an address, unless it is its user's last verified one.
func (a *EmailAddressesAPI) Delete(ctx context.Context, id string) (*DeletedObject, error) {
	e, err := a.store.GetEmailAddress(ctx, id)
	if err != nil {
		return nil, mapStoreError("get email address", "email address", err)
	}
	err = a.store.DeleteEmailAddress(ctx, e.UserID, id)
	if errors.Is(err, store.ErrLastIdentification) {
		return nil, apiError(http.StatusBadRequest, "last_required_identification_deletion_failed", "You cannot delete the last verified email address of a user.", "")
	}
	if err != nil {
		return nil, mapStoreError("delete email address", "email address", err)
	}
	return &DeletedObject{Object: "email_address", ID: id, Deleted: true}, nil
}

// PasswordVerification is the answer of [UsersAPI.VerifyPassword].
type PasswordVerification struct {
	Verified bool `json:"verified"`
}

// VerifyPassword checks a user's password: 422 incorrect_password when it
// is wrong, 400 no_password_set when the user has none. It does not count
// toward the lockout: the caller is the operator's server.
func (u *UsersAPI) VerifyPassword(ctx context.Context, id, pw string) (*PasswordVerification, error) {
	su, err := u.store.GetUser(ctx, id)
	if err != nil {
		return nil, mapStoreError("get user", "user", err)
	}
	if su.PasswordHash == "" {
		return nil, apiError(http.StatusBadRequest, "no_password_set", "The user has no password.", "")
	}
	ok, err := u.hasher.Verify(ctx, pw, su.PasswordHash)
	if errors.Is(err, password.ErrBusy) {
		return nil, apiError(http.StatusServiceUnavailable, "too_many_requests", "The server is busy. Try again.", "")
	}
	if err != nil {
		return nil, mapStoreError("verify password", "user", err)
	}
	if !ok {
		return nil, apiError(http.StatusUnprocessableEntity, "incorrect_password", "The password is incorrect.", "password")
	}
	return &PasswordVerification{Verified: true}, nil
}

// LockUser locks the user until unlocked: no sign-in, no refresh.
func (u *UsersAPI) LockUser(ctx context.Context, id string) (*User, error) {
	return u.setLock(ctx, id, store.LockedForever)
}

// UnlockUser lifts a lock (an operator's, or one after failed attempts)
// and clears the failure count.
func (u *UsersAPI) UnlockUser(ctx context.Context, id string) (*User, error) {
	return u.setLock(ctx, id, 0)
}

func (u *UsersAPI) setLock(ctx context.Context, id string, until int64) (*User, error) {
	su, err := u.store.SetUserLock(ctx, id, until)
	if err != nil {
		return nil, mapStoreError("lock user", "user", err)
	}
	return resource.NewUser(su, true, store.Now()), nil
}

// RemovePassword removes the user's password (they then sign in another
// way); signOutOthers also revokes their sessions. Clerk keeps sessions
// by default, and so does this.
func (u *UsersAPI) RemovePassword(ctx context.Context, id string, signOutOthers bool) (*User, error) {
	if err := u.store.ChangePassword(ctx, id, "", "", signOutOthers); err != nil {
		return nil, mapStoreError("remove password", "user", err)
	}
	return u.GetUser(ctx, id)
}

// AuditEvent is one security-relevant change, as the backend client
// lists them.
type AuditEvent = store.AuditEvent

// AuditEventsAPI lists the audit events.
type AuditEventsAPI struct {
	store store.Store
}

// AuditEventListParams select audit events; empty fields match all.
type AuditEventListParams struct {
	UserID, Name  string
	Limit, Offset int
}

// AuditEventList is one page of audit events and how many match.
type AuditEventList struct {
	Data       []AuditEvent
	TotalCount int
}

// List returns one page of audit events, newest first.
func (a *AuditEventsAPI) List(ctx context.Context, p AuditEventListParams) (*AuditEventList, error) {
	ev, total, err := a.store.ListAuditEvents(ctx, store.AuditFilter{UserID: p.UserID, Name: p.Name, Limit: p.Limit, Offset: p.Offset})
	if err != nil {
		return nil, mapStoreError("list audit events", "audit event", err)
	}
	return &AuditEventList{Data: ev, TotalCount: total}, nil
}
