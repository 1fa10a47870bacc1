// Package resource holds the JSON shapes of Gatehouse's resources, which
// follow Clerk's Backend API (snake_case keys, an "object" discriminator,
// timestamps in Unix milliseconds). The same shapes appear in the backend
// client, the frontend API and the SSR state.
package resource

import (
	"encoding/json"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/social"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// User is Clerk's User resource.
type User struct {
	Object                string         `json:"object"`
	ID                    string         `json:"id"`
	Username              *string        `json:"username"`
	ExternalID            *string        `json:"external_id"`
	FirstName             *string        `json:"first_name"`
	LastName              *string        `json:"last_name"`
	ImageURL              string         `json:"image_url"`
	HasImage              bool           `json:"has_image"`
	PrimaryEmailAddressID *string        `json:"primary_email_address_id"`
	PrimaryPhoneNumberID  *string        `json:"primary_phone_number_id"`
	PrimaryWeb3WalletID   *string        `json:"primary_web3_wallet_id"`
	PasswordEnabled       bool           `json:"password_enabled"`
	TwoFactorEnabled      bool           `json:"two_factor_enabled"`
	TOTPEnabled           bool           `json:"totp_enabled"`
	BackupCodeEnabled     bool           `json:"backup_code_enabled"`
	MFAEnabledAt          *int64         `json:"mfa_enabled_at"`
	MFADisabledAt         *int64         `json:"mfa_disabled_at"`
	EmailAddresses        []EmailAddress `json:"email_addresses"`
	PhoneNumbers          []any          `json:"phone_numbers"`
	// Web3Wallets, SAMLAccounts and EnterpriseAccounts are Clerk's ways
	// to sign in that Gatehouse does not have: always empty.
	Web3Wallets             []any             `json:"web3_wallets"`
	SAMLAccounts            []any             `json:"saml_accounts"`
	EnterpriseAccounts      []any             `json:"enterprise_accounts"`
	ExternalAccounts        []ExternalAccount `json:"external_accounts"`
	Passkeys                []Passkey         `json:"passkeys"`
	PublicMetadata          json.RawMessage   `json:"public_metadata"`
	PrivateMetadata         json.RawMessage   `json:"private_metadata,omitempty"`
	UnsafeMetadata          json.RawMessage   `json:"unsafe_metadata"`
	Banned                  bool              `json:"banned"`
	Locked                  bool              `json:"locked"`
	LockoutExpiresInSeconds *int64            `json:"lockout_expires_in_seconds"`
	// The rest of Clerk's required fields; Gatehouse has no value for
	// VerificationAttemptsRemaining, LastActiveAt or LegalAcceptedAt.
	VerificationAttemptsRemaining *int   `json:"verification_attempts_remaining"`
	DeleteSelfEnabled             bool   `json:"delete_self_enabled"`
	CreateOrganizationEnabled     bool   `json:"create_organization_enabled"`
	LastActiveAt                  *int64 `json:"last_active_at"`
	LegalAcceptedAt               *int64 `json:"legal_accepted_at"`
	LastSignInAt                  *int64 `json:"last_sign_in_at"`
	CreatedAt                     int64  `json:"created_at"`
	UpdatedAt                     int64  `json:"updated_at"`
}

// FullName returns "First Last", trimmed.
func (u *User) FullName() string {
	name := deref(u.FirstName)
	if l := deref(u.LastName); l != "" {
		if name != "" {
			name += " "
		}
		name += l
	}
	return name
}

// DisplayName returns the full name, else the primary email address, else "".
func (u *User) DisplayName() string {
	if n := u.FullName(); n != "" {
		return n
	}
	return u.PrimaryEmailAddress()
}

// PrimaryEmailAddress returns the primary email address, or "".
func (u *User) PrimaryEmailAddress() string {
	for _, e := range u.EmailAddresses {
		if u.PrimaryEmailAddressID != nil && e.ID == *u.PrimaryEmailAddressID {
			return e.EmailAddress
		}
	}
	return ""
}

// EmailAddress is Clerk's EmailAddress resource.
type EmailAddress struct {
	Object       string       `json:"object"`
	ID           string       `json:"id"`
	EmailAddress string       `json:"email_address"`
	Reserved     bool         `json:"reserved"`
	Verification Verification `json:"verification"`
	LinkedTo     []any        `json:"linked_to"`
	CreatedAt    int64        `json:"created_at"`
	UpdatedAt    int64        `json:"updated_at"`
}

// Verification is the verification state of an identifier: verified by
// a strategy (email_code, ticket, admin), or unverified (strategy null).
type Verification struct {
	Object   string  `json:"object"`
	Status   string  `json:"status"`
	Strategy *string `json:"strategy"`
	Attempts *int    `json:"attempts"`
	ExpireAt *int64  `json:"expire_at"`
}

// NewVerification is the verification of a stored address.
func NewVerification(e store.EmailAddress) Verification {
	if !e.Verified {
		return Verification{Object: "verification_otp", Status: "unverified"}
	}
	strategy := e.Strategy
	if strategy == "" {
		strategy = "admin"
	}
	object := "verification_otp"
	switch {
	case strategy == "admin":
		object = "verification_admin"
	case strategy == "ticket":
		object = "verification_ticket"
	case strings.HasPrefix(strategy, "from_oauth_"):
		object = "verification_from_oauth"
	}
	return Verification{Object: object, Status: "verified", Strategy: &strategy}
}

// ExternalAccount is Clerk's ExternalAccount resource: an account at an
// OAuth or OpenID provider connected to the user.
type ExternalAccount struct {
	Object               string            `json:"object"`
	ID                   string            `json:"id"`
	Provider             string            `json:"provider"`
	IdentificationID     string            `json:"identification_id"`
	ProviderUserID       string            `json:"provider_user_id"`
	ApprovedScopes       string            `json:"approved_scopes"`
	EmailAddress         string            `json:"email_address"`
	EmailAddressVerified bool              `json:"email_address_verified"`
	FirstName            string            `json:"first_name"`
	LastName             string            `json:"last_name"`
	AvatarURL            string            `json:"avatar_url"`
	ImageURL             *string           `json:"image_url"`
	Username             *string           `json:"username"`
	PhoneNumber          *string           `json:"phone_number"`
	PublicMetadata       json.RawMessage   `json:"public_metadata"`
	Label                *string           `json:"label"`
	CreatedAt            int64             `json:"created_at"`
	UpdatedAt            int64             `json:"updated_at"`
	Verification         OAuthVerification `json:"verification"`
}

// OAuthVerification is the verification of an external account: its
// strategy is the provider's (oauth_google, oauth_custom_acme, …).
type OAuthVerification struct {
	Object   string `json:"object"`
	Status   string `json:"status"`
	Strategy string `json:"strategy"`
	Attempts *int   `json:"attempts"`
	ExpireAt int64  `json:"expire_at"`
}

// NewExternalAccount converts one of u's stored external accounts. Its
// identification is the user's address of the same value when there is
// one (Clerk links the two), else the account itself.
func NewExternalAccount(u *store.User, ea store.ExternalAccount) ExternalAccount {
	strategy := social.Strategy(ea.Provider)
	ident := ea.ID
	for _, e := range u.EmailAddresses {
		if e.Email == ea.EmailAddress {
			ident = e.ID
		}
	}
	return ExternalAccount{
		Object: "external_account", ID: ea.ID, Provider: strategy, IdentificationID: ident,
		ProviderUserID: ea.ProviderUserID, EmailAddress: ea.EmailAddress, EmailAddressVerified: ea.EmailVerified,
		FirstName: ea.FirstName, LastName: ea.LastName, AvatarURL: ea.ImageURL, ImageURL: optional(ea.ImageURL),
		Username: optional(ea.Username), PublicMetadata: json.RawMessage("{}"),
		CreatedAt: ea.CreatedAt, UpdatedAt: ea.UpdatedAt,
		Verification: OAuthVerification{Object: "verification_oauth", Status: "verified", Strategy: strategy, ExpireAt: ea.UpdatedAt},
	}
}

// Passkey is Clerk's Passkey resource.
type Passkey struct {
	Object       string              `json:"object"`
	ID           string              `json:"id"`
	Name         string              `json:"name"`
	LastUsedAt   *int64              `json:"last_used_at"`
	Verification PasskeyVerification `json:"verification"`
	CreatedAt    int64               `json:"created_at"`
	UpdatedAt    int64               `json:"updated_at"`
}

// PasskeyVerification is a registered passkey's verification.
type PasskeyVerification struct {
	Object   string `json:"object"`
	Status   string `json:"status"`
	Strategy string `json:"strategy"`
	Attempts *int   `json:"attempts"`
	ExpireAt *int64 `json:"expire_at"`
}

// NewPasskey converts a stored passkey.
func NewPasskey(p store.Passkey) Passkey {
	return Passkey{Object: "passkey", ID: p.ID, Name: p.Name, LastUsedAt: optionalMillis(p.LastUsedAt),
		Verification: PasskeyVerification{Object: "verification_passkey", Status: "verified", Strategy: "passkey"},
		CreatedAt:    p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// Session is Clerk's Session resource.
type Session struct {
	Object                   string          `json:"object"`
	ID                       string          `json:"id"`
	ClientID                 string          `json:"client_id"`
	UserID                   string          `json:"user_id"`
	Status                   string          `json:"status"`
	LastActiveOrganizationID *string         `json:"last_active_organization_id"`
	Actor                    json.RawMessage `json:"actor"`
	LastActiveAt             int64           `json:"last_active_at"`
	ExpireAt                 int64           `json:"expire_at"`
	AbandonAt                int64           `json:"abandon_at"`
	CreatedAt                int64           `json:"created_at"`
	UpdatedAt                int64           `json:"updated_at"`
	// LatestActivity is the device the session was started from.
	LatestActivity *SessionActivity `json:"latest_activity"`
}

// NewUser converts a stored user. With private false, private_metadata is
// left out, as on every surface a browser can read.
func NewUser(u *store.User, private bool, now int64) *User {
	out := &User{
		Object:          "user",
		ID:              u.ID,
		FirstName:       optional(u.FirstName),
		LastName:        optional(u.LastName),
		PasswordEnabled: u.PasswordHash != "",
		// The authenticator app is the only second factor; backup codes
		// back it up and do not count on their own, as in Clerk.
		TwoFactorEnabled:   u.TOTPEnabled,
		TOTPEnabled:        u.TOTPEnabled,
		BackupCodeEnabled:  u.BackupCodesLeft > 0,
		MFAEnabledAt:       optionalMillis(u.MFAEnabledAt),
		MFADisabledAt:      optionalMillis(u.MFADisabledAt),
		EmailAddresses:     make([]EmailAddress, 0, len(u.EmailAddresses)),
		PhoneNumbers:       []any{},
		Web3Wallets:        []any{},
		SAMLAccounts:       []any{},
		EnterpriseAccounts: []any{},
		// Every user may delete their own account and create
		// organizations on /profile and /org.
		DeleteSelfEnabled: true, CreateOrganizationEnabled: true,
		ExternalAccounts: make([]ExternalAccount, 0, len(u.ExternalAccounts)),
		Passkeys:         make([]Passkey, 0, len(u.Passkeys)),
		PublicMetadata:   orEmpty(u.PublicMetadata),
		UnsafeMetadata:   orEmpty(u.UnsafeMetadata),
		Banned:           u.Banned,
		CreatedAt:        u.CreatedAt,
		UpdatedAt:        u.UpdatedAt,
	}
	if private {
		out.PrivateMetadata = orEmpty(u.PrivateMetadata)
	}
	if u.PrimaryEmailAddressID != "" {
		id := u.PrimaryEmailAddressID
		out.PrimaryEmailAddressID = &id
	}
	if u.LastSignInAt > 0 {
		t := u.LastSignInAt
		out.LastSignInAt = &t
	}
	if u.LockedUntil > now {
		out.Locked = true
		if u.LockedUntil < store.LockedForever { // null: locked until unlocked
			secs := (u.LockedUntil - now + 999) / 1000
			out.LockoutExpiresInSeconds = &secs
		}
	}
	for _, ea := range u.ExternalAccounts {
		out.ExternalAccounts = append(out.ExternalAccounts, NewExternalAccount(u, ea))
	}
	for _, p := range u.Passkeys {
		out.Passkeys = append(out.Passkeys, NewPasskey(p))
	}
	for _, e := range u.EmailAddresses {
		out.EmailAddresses = append(out.EmailAddresses, EmailAddress{
			Object: "email_address", ID: e.ID, EmailAddress: e.Email,
			Verification: NewVerification(e),
			LinkedTo:     []any{}, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		})
	}
	if private && u.ExternalID != "" {
		out.ExternalID = &u.ExternalID
	}
	return out
}

// NewSession converts a stored session.
func NewSession(s *store.Session) *Session {
	out := &Session{
		Object: "session", ID: s.ID, ClientID: s.ClientID, UserID: s.UserID, Status: s.Status,
		LastActiveOrganizationID: optional(s.LastActiveOrganizationID),
		Actor:                    json.RawMessage("null"),
		LastActiveAt:             s.LastActiveAt, ExpireAt: s.ExpireAt, AbandonAt: s.ExpireAt,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
	if len(s.Actor) > 0 {
		out.Actor = s.Actor
	}
	if s.UserAgent != "" || s.IPAddress != "" {
		a := ParseUserAgent(s.UserAgent)
		// One activity per session (its start): named after the session.
		a.ID, a.IPAddress = "sess_activity_"+strings.TrimPrefix(s.ID, "sess_"), s.IPAddress
		out.LatestActivity = &a
	}
	return out
}

func optionalMillis(ms int64) *int64 {
	if ms == 0 {
		return nil
	}
	return &ms
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orEmpty(m []byte) json.RawMessage {
	if len(m) == 0 {
		return json.RawMessage("{}")
	}
	return json.RawMessage(m)
}
