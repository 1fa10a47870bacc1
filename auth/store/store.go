// Package store keeps Gatehouse's state: users and their email addresses,
// clients (browsers), sessions, organizations with their memberships and
// invitations, actor tokens, signing keys and the example app's items.
//
// The [Store] interface is what the rest of Gatehouse depends on; [DB] is its
// SQL implementation, backed by SQLite (modernc.org/sqlite, no cgo). Every
// query is written with $N placeholders and portable SQL so a PostgreSQL
// dialect can share it. Timestamps are Unix milliseconds.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Errors callers branch on. Wrapped errors keep them reachable with errors.Is.
var (
	// ErrNotFound means the row does not exist (or is not the caller's).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a uniqueness rule refused the write (an email
	// address already taken, for example).
	ErrConflict = errors.New("store: conflict")
	// ErrExternalIDTaken means another user has the external id; it is
	// an ErrConflict.
	ErrExternalIDTaken = fmt.Errorf("store: external_id taken: %w", ErrConflict)
)

// Session statuses, as Clerk names them.
const (
	SessionActive    = "active"
	SessionPending   = "pending"
	SessionEnded     = "ended"
	SessionRevoked   = "revoked"
	SessionExpired   = "expired"
	SessionRemoved   = "removed"
	SessionAbandoned = "abandoned"
)

// User is a person who can sign in.
type User struct {
	ID                   string
	FirstName            string
	LastName             string
	PasswordHash         string `json:"-"`
	PublicMetadata       json.RawMessage
	PrivateMetadata      json.RawMessage
	UnsafeMetadata       json.RawMessage
	Banned               bool
	FailedSignIns        int
	LockedUntil          int64 // ms; 0 when not locked
	LastSignInAt         int64 // ms; 0 when never
	CreatedAt, UpdatedAt int64
	// TOTPEnabled: an authenticator app is confirmed. BackupCodesLeft
	// counts the unused backup codes. MFAEnabledAt and MFADisabledAt are
	// when the second factor was last turned on and off (ms; 0: never).
	TOTPEnabled                 bool
	BackupCodesLeft             int
	MFAEnabledAt, MFADisabledAt int64
	EmailAddresses              []EmailAddress
	PrimaryEmailAddressID       string
	// ExternalID is the user's id in the operator's systems ("": none).
	ExternalID string
	// ExternalAccounts are the user's accounts at providers; the users
	// row counts them (ExternalAccountCount) so that a user without any
	// is read in one statement.
	ExternalAccounts     []ExternalAccount
	ExternalAccountCount int
	// Passkeys are the user's passkeys, counted by PasskeyCount.
	Passkeys     []Passkey
	PasskeyCount int
}

// PrimaryEmail returns the user's primary email address, or "".
func (u *User) PrimaryEmail() string {
	for _, e := range u.EmailAddresses {
		if e.ID == u.PrimaryEmailAddressID {
			return e.Email
		}
	}
	return ""
}

// PrimaryEmailVerified reports whether the user's primary address is
// verified.
func (u *User) PrimaryEmailVerified() bool {
	for _, e := range u.EmailAddresses {
		if e.ID == u.PrimaryEmailAddressID {
			return e.Verified
		}
	}
	return false
}

// EmailAddress is one of a user's email addresses.
type EmailAddress struct {
	ID       string
	UserID   string
	Email    string
	Verified bool
	// Strategy is how the address was verified (Clerk's names:
	// email_code, ticket, admin, …); "" while unverified.
	Strategy             string
	CreatedAt, UpdatedAt int64
}

// NewUser holds what [Store.CreateUser] needs.
type NewUser struct {
	Email string // already normalised by the caller
	// EmailVerifiedBy is how the address was verified (email_code,
	// ticket, admin); "" stores it unverified.
	EmailVerifiedBy string
	FirstName       string
	LastName        string
	PasswordHash    string
	ExternalID      string // "": none
	// Metadata default to {} when nil.
	PublicMetadata, PrivateMetadata, UnsafeMetadata json.RawMessage
}

// UserUpdate changes the non-nil fields of a user.
type UserUpdate struct {
	FirstName, LastName *string
	PasswordHash        *string
	ExternalID          *string // "" clears it
	// RevokeSessions revokes every live session of the user in the same
	// transaction (a password change signs out everywhere).
	RevokeSessions  bool
	PublicMetadata  json.RawMessage
	PrivateMetadata json.RawMessage
	UnsafeMetadata  json.RawMessage
}

// MetadataPatch holds JSON objects to merge into a user's metadata; nil
// leaves that metadata unchanged.
type MetadataPatch struct {
	Public, Private, Unsafe json.RawMessage
}

// UserFilter selects users for [Store.ListUsers].
type UserFilter struct {
	Emails []string // exact, normalised addresses
	IDs    []string // user ids
	// ExternalIDs keeps the users with these external ids.
	ExternalIDs []string
	// OrganizationIDs keeps the members of these organizations.
	OrganizationIDs []string
	Query           string // substring of email, first or last name
	// OldestFirst orders by creation, oldest first (default newest).
	OldestFirst bool
	Limit       int // 1..500; 0 means 10
	Offset      int
}

// Client is one browser, identified by the __client cookie.
type Client struct {
	ID                   string
	SecretHash           []byte `json:"-"` // SHA-256 of the cookie's secret
	LastActiveSessionID  string
	CreatedAt, UpdatedAt int64
}

// Session is a signed-in user on a client.
type Session struct {
	ID                       string
	ClientID                 string
	UserID                   string
	Status                   string
	LastActiveOrganizationID string
	Actor                    json.RawMessage // nil unless impersonating
	FactorVerifiedAt         int64
	// SecondFactorVerifiedAt is when the second factor was last verified
	// in this session (ms; 0: never).
	SecondFactorVerifiedAt int64
	ExpireAt               int64
	LastActiveAt           int64
	CreatedAt, UpdatedAt   int64
	// UserAgent and IPAddress are the browser's at sign-in, for the
	// sessions list.
	UserAgent, IPAddress string
	// Strategy is how the sign-in that made the session verified its
	// first factor when it was not a password (oauth_google, …); it goes
	// into session.created's payload and is not stored.
	Strategy string `json:"-"`
}

// SessionFilter selects sessions for [Store.ListSessions]. Empty fields match all.
type SessionFilter struct {
	UserID, ClientID, Status string
	Limit, Offset            int
}

// SigningKey is an RSA key that signs session tokens. The private key is
// stored encrypted; the store never sees it in the clear.
type SigningKey struct {
	KID                 string
	EncryptedPrivateKey []byte
	CreatedAt           int64
	RetiredAt           int64 // 0 while in use
	RetireAt            int64 // when a rotation superseded it: the time it retires; 0 while active
}

// SignInFailure is the outcome of recording a failed password attempt.
type SignInFailure struct {
	Failures    int
	LockedUntil int64 // ms; 0 when the account is not locked
}

// Store is Gatehouse's persistent state. Implementations are safe for
// concurrent use.
type Store interface {
	Ping(ctx context.Context) error

	CreateUser(ctx context.Context, u NewUser) (*User, error)
	GetUser(ctx context.Context, id string) (*User, error)
	GetUserByEmail(ctx context.Context, email string) (*User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]*User, int, error)
	UpdateUser(ctx context.Context, id string, up UserUpdate) (*User, error)
	// MergeUserMetadata deep-merges the patches into the user's metadata
	// in one transaction; a null value deletes its key.
	MergeUserMetadata(ctx context.Context, id string, p MetadataPatch) (*User, error)
	DeleteUser(ctx context.Context, id string) error
	// SetUserBanned bans or unbans a user; banning also revokes every
	// active or pending session of the user in the same transaction.
	SetUserBanned(ctx context.Context, id string, banned bool) (*User, error)
	// RecordSignInFailure counts one failed attempt and locks the account
	// for lockFor once the count reaches maxFailures.
	RecordSignInFailure(ctx context.Context, userID string, maxFailures int, lockFor time.Duration) (SignInFailure, error)
	// RecordSignIn resets the failure count and stamps last_sign_in_at,
	// unless the account is locked: then it changes nothing and returns
	// the lock's end (ms), so a lock set by a concurrent failure holds.
	RecordSignIn(ctx context.Context, userID string) (lockedUntil int64, err error)
	// ReplacePasswordHash sets the hash to next if it is still old.
	ReplacePasswordHash(ctx context.Context, userID, old, next string) error
	// ImportUser, ImportOrganization and ImportMembership insert a row
	// with its own id unless it exists (false: left as it was).
	ImportUser(ctx context.Context, u ImportedUser) (bool, error)
	ImportOrganization(ctx context.Context, o ImportedOrganization) (bool, error)
	ImportMembership(ctx context.Context, m ImportedMembership) (bool, error)

	// CreateSession stores a new client when c.ID is new, or rotates the
	// secret of the existing client c.ID, ends the client's other live
	// sessions, and inserts s, all in one transaction.
	CreateSession(ctx context.Context, c Client, s Session) error
	GetClient(ctx context.Context, id string) (*Client, error)
	GetSession(ctx context.Context, id string) (*Session, error)
	ListSessions(ctx context.Context, f SessionFilter) ([]*Session, int, error)
	// EndSession moves a live (active or pending) session to status.
	// It returns ErrNotFound when the session is unknown or already over.
	EndSession(ctx context.Context, id, status string) (*Session, error)
	// TouchSession records activity (last_active_at) on a live session.
	TouchSession(ctx context.Context, id string, at int64) error

	// SigningKeys lists every key not yet retired, newest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// InsertSigningKey stores a new key unless one with kid exists.
	InsertSigningKey(ctx context.Context, k SigningKey) error
	KeyRotation
	JWTTemplates

	// SetSessionOrganization sets a live session's active organization
	// ("" for none) and status, checking membership in the same
	// transaction.
	SetSessionOrganization(ctx context.Context, id, orgID, status string) (*Session, error)
	// SetSessionStatus moves a live session between active and pending.
	SetSessionStatus(ctx context.Context, id, status string) error

	// Organizations. Writes take a Guard, checked inside the write's
	// transaction against the memberships as they are then.
	CreateOrganization(ctx context.Context, o NewOrganization) (*Organization, error)
	GetOrganization(ctx context.Context, idOrSlug string) (*Organization, error)
	ListOrganizations(ctx context.Context, f OrganizationFilter) ([]*Organization, int, error)
	UpdateOrganization(ctx context.Context, id string, up OrganizationUpdate, g Guard) (*Organization, error)
	MergeOrganizationMetadata(ctx context.Context, id string, p MetadataPatch, g Guard) (*Organization, error)
	DeleteOrganization(ctx context.Context, id string, g Guard) error

	GetMembership(ctx context.Context, orgID, userID string) (*Membership, error)
	ListMemberships(ctx context.Context, f MembershipFilter) ([]*Membership, int, error)
	// UserOrganizations lists the organizations userID belongs to with
	// the role in each, oldest membership first, at most limit: what an
	// organization switcher shows, in one light query.
	UserOrganizations(ctx context.Context, userID string, limit int) ([]UserOrganization, error)
	CreateMembership(ctx context.Context, orgID, userID, role string, g Guard) (*Membership, error)
	UpdateMembershipRole(ctx context.Context, orgID, userID, role string, g Guard) (*Membership, error)
	DeleteMembership(ctx context.Context, orgID, userID string, g Guard) (*Membership, error)

	CreateInvitation(ctx context.Context, inv NewInvitation, g Guard) (*Invitation, error)
	GetInvitation(ctx context.Context, id string) (*Invitation, error)
	GetInvitationByToken(ctx context.Context, tokenHash []byte) (*Invitation, error)
	ListInvitations(ctx context.Context, f InvitationFilter) ([]*Invitation, int, error)
	RevokeInvitation(ctx context.Context, orgID, id string, g Guard) (*Invitation, error)
	// AcceptInvitation accepts an invitation exactly once and adds the
	// membership in the same transaction.
	AcceptInvitation(ctx context.Context, tokenHash []byte, userID string) (*Membership, *Invitation, error)

	CreateActorToken(ctx context.Context, t ActorToken) error
	GetActorToken(ctx context.Context, id string) (*ActorToken, error)
	RevokeActorToken(ctx context.Context, id string) (*ActorToken, error)
	// RedeemActorToken uses an actor token exactly once and creates its
	// session in the same transaction.
	RedeemActorToken(ctx context.Context, tokenHash []byte, c Client, s Session) (*ActorToken, *Session, error)

	MachineStore      // machines and their scopes (machines.go)
	MachineTokenStore // M2M tokens and API keys (machinetokens.go)
	AccountStore      // attempts, codes, addresses, account changes (accounts.go, codes.go)
	SocialStore       // accounts at OAuth and OpenID providers (social.go)
	PasskeyStore      // WebAuthn credentials and ceremonies (passkeys.go)
	WebhookStore      // webhook endpoints and deliveries (webhooks.go)
}

// AccountStore holds what verified addresses, password resets and the
// account settings need.
type AccountStore interface {
	MFAStore
	CreateSignUpAttempt(ctx context.Context, a SignUpAttempt) error
	GetSignUpAttempt(ctx context.Context, id string) (*SignUpAttempt, error)
	CompleteSignUp(ctx context.Context, attemptID, strategy string) (*User, error)
	CreateSignInAttempt(ctx context.Context, a SignInAttempt) error
	GetSignInAttempt(ctx context.Context, id string) (*SignInAttempt, error)
	AdvanceSignInAttempt(ctx context.Context, id, from, to string) error
	ResetPassword(ctx context.Context, attemptID, userID, hash string, revokeSessions bool) error
	ChangePassword(ctx context.Context, userID, hash, keep string, revokeOthers bool) error

	PutCode(ctx context.Context, c Code, cooldown time.Duration) (time.Duration, error)
	GetCode(ctx context.Context, subject string) (*Code, error)
	AttemptCode(ctx context.Context, subject string, hash []byte, maxAttempts int) (CodeOutcome, *Code, error)
	RecordMail(ctx context.Context, m MailSend, l MailLimits) error

	AddEmailAddress(ctx context.Context, userID, email string, maxUnverified int) (*EmailAddress, error)
	GetEmailAddress(ctx context.Context, id string) (*EmailAddress, error)
	VerifyEmailAddress(ctx context.Context, userID, id, strategy string) error
	SetEmailAddressVerified(ctx context.Context, id string, verified bool) error
	SetPrimaryEmailAddress(ctx context.Context, userID, id string) error
	DeleteEmailAddress(ctx context.Context, userID, id string) error

	RevokeSession(ctx context.Context, userID, sessionID string) (*Session, error)
	RevokeUserSessions(ctx context.Context, userID, keep string) error
	DeleteAccount(ctx context.Context, userID string, adminRoles []string) error
	SetUserLock(ctx context.Context, id string, lockedUntil int64) (*User, error)
	GetAddressFailures(ctx context.Context, address string, window time.Duration) (AddressFailures, error)
	RecordAddressFailure(ctx context.Context, address string, window time.Duration) (AddressFailures, error)
	ClearAddressFailures(ctx context.Context, addresses ...string) error

	Audit(ctx context.Context, ev AuditEvent) error
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, int, error)
}

// Now returns the current time in Unix milliseconds, the store's unit.
func Now() int64 { return time.Now().UnixMilli() }
