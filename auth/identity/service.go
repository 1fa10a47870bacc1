// Package identity is Gatehouse's identity server: sign-up, sign-in and
// sign-out, sessions, the refresh of session tokens from the long-lived
// client cookie, and the frontend API the browser script talks to.
package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/auth/identity/password"
	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/social"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// Config configures the identity service.
type Config struct {
	Issuer            string   // APP_URL: the iss of every token
	AppOrigin         string   // the origin of APP_URL
	AuthorizedParties []string // origins accepted in azp
	TokenTTL          time.Duration
	SessionMaxAge     time.Duration
	MaxFailedSignIns  int           // consecutive failures that lock an account (default 10)
	LockoutDuration   time.Duration // how long (default 1 h)
	// SignInDelay is the first of the growing waits between failed
	// sign-ins of one address (see throttle.go); 0 turns them off.
	SignInDelay time.Duration
	// Roles are the organization roles whose permissions go into session
	// tokens; nil means [roles.Default].
	Roles *roles.Set
	// OrganizationsRequired makes every session without an active
	// organization pending, with the task of choosing one
	// (CLERK_ORGANIZATIONS_REQUIRED).
	OrganizationsRequired bool
	// ReservedEmails cannot be claimed by signing up (ADMIN_EMAILS: an
	// address grants instance administration, and sign-up does not prove
	// that the address is the caller's). Accounts for them are created
	// with the command line or the backend client.
	ReservedEmails []string
	// AdminUserIDs and the ReservedEmails name the instance
	// administrators: an actor session lasts only while its actor is one.
	AdminUserIDs []string
	// ImpersonationMaxAge bounds an actor session's absolute lifetime
	// (default 1 h).
	ImpersonationMaxAge time.Duration
	// TemplateKeys decrypts the custom signing keys of JWT templates.
	TemplateKeys *token.Sealer
	// SignUpVerification is "email_code" (the default: a sign-up becomes a
	// user only once the code mailed to its address is entered) or "off"
	// (the user is created at once, its address unverified).
	SignUpVerification string
	// Development enables Clerk's test addresses (+clerk_test, code
	// 424242, no mail sent). Never set in production.
	Development bool
	// CodeKey keys the hashes of one-time codes (at least 32 bytes).
	CodeKey []byte
	// SendCode mails a one-time code; nil sends nothing (codes can then
	// only be used with test addresses).
	SendCode func(ctx context.Context, m CodeMail) error
	// Mail limits every message sent (nil: no limits).
	Mail *MailGate
	// AppName is the issuer authenticator apps show (APP_NAME).
	AppName string
	// TOTPKeys seals authenticator secrets at rest, with a key derived
	// for TOTPSecretsPurpose.
	TOTPKeys *token.Sealer
	// ReverificationMaxAge is the window of the sensitive account actions
	// (REVERIFICATION_MAX_AGE, default 10 minutes: Clerk's strict).
	ReverificationMaxAge time.Duration
	// MFARequired makes the session of a user without a second factor
	// pending, with the task of setting one up (MFA_REQUIRED).
	MFARequired bool
	// Providers are the OAuth and OpenID providers people can sign in
	// with (OAUTH_PROVIDERS), in the order of their buttons.
	Providers []*social.Provider
	// Passkeys is the WebAuthn relying party; nil turns passkeys off,
	// and PasskeysOff says why (for the profile).
	Passkeys    *Passkeys
	PasskeysOff string
}

// Service signs people in and out and mints their session tokens.
type Service struct {
	cfg     Config
	store   store.Store
	keys    *token.Keyring
	cookies *Cookies
	hasher  *password.Hasher
	log     *slog.Logger
	mail    *MailGate
	now     func() time.Time
}

// New returns the identity service.
func New(cfg Config, st store.Store, keys *token.Keyring, cookies *Cookies, hasher *password.Hasher, log *slog.Logger) *Service {
	if cfg.MaxFailedSignIns <= 0 {
		cfg.MaxFailedSignIns = 10
	}
	if cfg.LockoutDuration <= 0 {
		cfg.LockoutDuration = time.Hour
	}
	reserved := make([]string, 0, len(cfg.ReservedEmails))
	for _, e := range cfg.ReservedEmails {
		reserved = append(reserved, NormalizeEmail(e))
	}
	cfg.ReservedEmails = reserved
	if cfg.Roles == nil {
		cfg.Roles = roles.Default()
	}
	if cfg.SignUpVerification == "" {
		cfg.SignUpVerification = SignUpEmailCode
	}
	if cfg.ReverificationMaxAge <= 0 {
		cfg.ReverificationMaxAge = 10 * time.Minute
	}
	if cfg.AppName == "" {
		cfg.AppName = "Gatehouse"
	}
	return &Service{cfg: cfg, store: st, keys: keys, cookies: cookies, hasher: hasher, log: log, mail: cfg.Mail, now: time.Now}
}

// Cookies returns the cookie codec the service signs people in with.
func (s *Service) Cookies() *Cookies { return s.cookies }

// SignedIn is the outcome of a sign-in or sign-up: the user, the new
// session and its first token. Set the cookies with [Cookies.SetSignedIn].
type SignedIn struct {
	User         *store.User
	Session      *store.Session
	Token        string
	Claims       *token.Claims
	clientCookie string
}

// Refreshed is a newly minted session token.
type Refreshed struct {
	Session *store.Session
	Token   string
	Claims  *token.Claims
}

// SignUpInput is what a visitor submits to create an account.
type SignUpInput struct {
	EmailAddress, Password, FirstName, LastName string
}

func checkName(param, v string) (string, error) {
	v = strings.TrimSpace(v)
	if utf8.RuneCountInString(v) > 100 || !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", paramFormat(param, "Names must be at most 100 characters, without control characters.")
	}
	return v, nil
}

// SignUp creates a user and signs them in on this browser at once, with
// the address stored unverified: SIGN_UP_VERIFICATION=off. (With codes,
// the default, sign-up is [Service.StartSignUp] and
// [Service.AttemptSignUp].) clientCookie is the request's __client cookie
// value, if any.
func (s *Service) SignUp(ctx context.Context, in SignUpInput, clientCookie, origin string) (*SignedIn, error) {
	if s.VerifiesSignUps() {
		return nil, errors.New("identity: sign-ups need a code here: use StartSignUp")
	}
	email, first, last, hash, err := s.checkSignUp(ctx, in)
	if err != nil {
		return nil, err
	}
	u, err := s.store.CreateUser(ctx, store.NewUser{Email: email, FirstName: first, LastName: last, PasswordHash: hash})
	if errors.Is(err, store.ErrConflict) {
		return nil, identifierExists()
	}
	if err != nil {
		return nil, fmt.Errorf("identity: sign-up: %w", err)
	}
	s.log.InfoContext(ctx, "user signed up", "user_id", u.ID, "verified", false)
	return s.startSession(ctx, u, clientCookie, origin)
}

func identifierExists() *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "form_identifier_exists", Param: "email_address",
		Message: "That email address is taken. Sign in instead, or use another.", LongMessage: "That email address is taken. Please try another."}
}

func passwordError(err error) *Error {
	switch {
	case errors.Is(err, password.ErrTooShort):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "form_password_length_too_short", Param: "password",
			Message: err.Error(), LongMessage: err.Error()}
	case errors.Is(err, password.ErrPwned):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "form_password_pwned", Param: "password",
			Message: err.Error(), LongMessage: err.Error()}
	default:
		return paramFormat("password", err.Error())
	}
}

// SignIn checks an email address and password and signs the user in.
//
// Unknown addresses and wrong passwords get the same error after the same
// work (one argon2id hash). Ten consecutive failures lock the account for
// an hour, counted in the store so every instance sees it; while locked,
// even the right password is refused.
func (s *Service) SignIn(ctx context.Context, identifier, pw, clientCookie, origin string) (*SignedIn, error) {
	if strings.TrimSpace(identifier) == "" {
		return nil, paramMissing("identifier")
	}
	if pw == "" {
		return nil, paramMissing("password")
	}
	var u *store.User
	email := NormalizeEmail(identifier)
	failures := 0
	if email != "" {
		wait, n, err := s.signInDelay(ctx, email)
		if err != nil {
			return nil, err
		}
		if wait > 0 {
			return nil, errSlowDown(wait)
		}
		failures = n
		found, err := s.store.GetUserByEmail(ctx, email)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("identity: sign-in: %w", err)
		}
		u = found
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := s.hasher.Verify(ctx, pw, hash)
	if errors.Is(err, password.ErrBusy) {
		return nil, errBusy()
	}
	if err != nil {
		return nil, fmt.Errorf("identity: sign-in: %w", err)
	}
	if u == nil {
		if email != "" {
			if err := s.recordFailure(ctx, email); err != nil {
				return nil, err
			}
		}
		return nil, errInvalidCredentials
	}
	now := s.now()
	if u.LockedUntil > now.UnixMilli() {
		return nil, errLockedUntil(u.LockedUntil, now)
	}
	if !ok || u.Banned {
		if err := s.recordFailure(ctx, email); err != nil {
			return nil, err
		}
		f, err := s.store.RecordSignInFailure(ctx, u.ID, s.cfg.MaxFailedSignIns, s.cfg.LockoutDuration)
		if err != nil {
			return nil, fmt.Errorf("identity: sign-in: %w", err)
		}
		if f.LockedUntil > now.UnixMilli() {
			s.log.WarnContext(ctx, "account locked after failed sign-ins", "user_id", u.ID, "failures", f.Failures)
			return nil, errLockedUntil(f.LockedUntil, now)
		}
		return nil, errInvalidCredentials
	}
	// Check the lock again, atomically with clearing the failure count:
	// guesses sent in parallel may have locked the account while this
	// one was hashing, and a correct password must not lift the lock.
	lockedUntil, err := s.store.RecordSignIn(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("identity: sign-in: %w", err)
	}
	if lockedUntil > 0 {
		return nil, errLockedUntil(lockedUntil, now)
	}
	if failures > 0 {
		if err := s.store.ClearAddressFailures(ctx, email); err != nil {
			return nil, fmt.Errorf("identity: sign-in: %w", err)
		}
	}
	s.rehash(ctx, u, pw)
	s.log.InfoContext(ctx, "user signed in", "user_id", u.ID)
	return s.startSession(ctx, u, clientCookie, origin)
}

// rehash replaces an imported digest (bcrypt, argon2i) or an argon2id
// hash of older parameters with one of the current parameters, now that
// the password is known to match it. A failure costs nothing but the
// upgrade, which the next sign-in tries again.
func (s *Service) rehash(ctx context.Context, u *store.User, pw string) {
	if !s.hasher.NeedsRehash(u.PasswordHash) {
		return
	}
	next, err := s.hasher.Hash(ctx, pw)
	if err == nil {
		err = s.store.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, next)
	}
	if err != nil {
		s.log.WarnContext(ctx, "password rehash failed", "user_id", u.ID, "err", err)
		return
	}
	s.log.InfoContext(ctx, "password rehashed", "user_id", u.ID, "from", password.HasherOf(u.PasswordHash))
}

// startSession creates a session for u on this browser. The client keeps
// its id when the request carried a valid client cookie, but always gets a
// new secret, so a planted cookie is worthless after sign-in.
//
// A user with a second factor gets no session here: the answer is a
// *SecondFactorRequired error naming the sign-in attempt that waits for
// the code, so a caller that does not handle it signs nobody in.
func (s *Service) startSession(ctx context.Context, u *store.User, clientCookie, origin string) (*SignedIn, error) {
	return s.startSessionBy(ctx, u, "", clientCookie, origin)
}

// startSessionBy is startSession for a first factor other than a password
// or code (strategy, recorded with the session's creation).
func (s *Service) startSessionBy(ctx context.Context, u *store.User, strategy, clientCookie, origin string) (*SignedIn, error) {
	if HasSecondFactor(u) {
		return nil, s.needSecondFactor(ctx, u)
	}
	c, secret := s.newClient(ctx, clientCookie)
	sess := s.newSession(ctx, c.ID, u.ID)
	sess.Strategy = strategy
	if err := s.store.CreateSession(ctx, *c, *sess); err != nil {
		return nil, fmt.Errorf("identity: create session: %w", err)
	}
	return s.signedIn(ctx, u, sess, secret, origin)
}

// newClient returns the browser's client (a new one when the cookie names
// none) with a fresh secret, and that secret.
func (s *Service) newClient(ctx context.Context, clientCookie string) (*store.Client, string) {
	clientID := ""
	if c, err := s.client(ctx, clientCookie); err == nil {
		clientID = c.ID
	}
	if clientID == "" {
		clientID = randid.New("client")
	}
	secret := randid.Base62(43) // 256 bits
	sum := sha256.Sum256([]byte(secret))
	return &store.Client{ID: clientID, SecretHash: sum[:]}, secret
}

// newSession returns a new session of userID on clientID, not yet stored,
// with the device of the request (the context's store.RequestInfo).
func (s *Service) newSession(ctx context.Context, clientID, userID string) *store.Session {
	now := s.now().UnixMilli()
	ri := store.RequestInfoFrom(ctx)
	return &store.Session{
		ID: randid.New("sess"), ClientID: clientID, UserID: userID, Status: s.statusFor(""),
		FactorVerifiedAt: now, ExpireAt: now + s.cfg.SessionMaxAge.Milliseconds(), LastActiveAt: now,
		CreatedAt: now, UpdatedAt: now, UserAgent: ri.UserAgent, IPAddress: ri.IP,
	}
}

// signedIn mints the first token of a stored session and encodes the
// client cookie with the client's new secret.
func (s *Service) signedIn(ctx context.Context, u *store.User, sess *store.Session, clientSecret, origin string) (*SignedIn, error) {
	tok, claims, err := s.mint(ctx, sess, origin)
	if err != nil {
		return nil, err
	}
	cookie, err := s.cookies.encodeClient(clientValue{ID: sess.ClientID, Secret: clientSecret})
	if err != nil {
		return nil, err
	}
	return &SignedIn{User: u, Session: sess, Token: tok, Claims: claims, clientCookie: cookie}, nil
}

// client decodes the client cookie and checks its secret against the store.
func (s *Service) client(ctx context.Context, cookie string) (*store.Client, error) {
	if cookie == "" {
		return nil, ErrSignedOut
	}
	id, secret, err := s.cookies.DecodeClient(cookie)
	if err != nil {
		return nil, ErrSignedOut
	}
	c, err := s.store.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrSignedOut
	}
	if err != nil {
		return nil, fmt.Errorf("identity: load client: %w", err)
	}
	sum := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(sum[:], c.SecretHash) != 1 {
		return nil, ErrSignedOut
	}
	return c, nil
}

// liveSession loads session id and checks that it can still mint tokens:
// active or pending, within its lifetime, its user present and not banned.
// A session found past its lifetime is marked expired.
func (s *Service) liveSession(ctx context.Context, id string) (*store.Session, error) {
	sess, err := s.store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrSignedOut
	}
	if err != nil {
		return nil, fmt.Errorf("identity: load session: %w", err)
	}
	return s.checkLive(ctx, sess)
}

// checkLive is liveSession for a session already loaded.
func (s *Service) checkLive(ctx context.Context, sess *store.Session) (*store.Session, error) {
	if sess.Status != store.SessionActive && sess.Status != store.SessionPending {
		return nil, ErrSignedOut
	}
	if sess.ExpireAt <= s.now().UnixMilli() {
		if _, err := s.store.EndSession(ctx, sess.ID, store.SessionExpired); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("identity: expire session: %w", err)
		}
		return nil, ErrSignedOut
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrSignedOut
	}
	if err != nil {
		return nil, fmt.Errorf("identity: load user: %w", err)
	}
	// An operator's lock ends the user's sessions too; a lock after failed
	// sign-ins does not, or anyone could sign the owner out by guessing.
	if u.Banned || u.LockedUntil >= store.LockedForever {
		return nil, ErrSignedOut
	}
	if len(sess.Actor) > 0 {
		if err := s.checkActor(ctx, sess); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

// Refresh mints a new session token for the browser holding clientCookie.
// It returns ErrSignedOut when the browser has no live session; the
// caller then clears its cookies.
func (s *Service) Refresh(ctx context.Context, clientCookie, origin string) (*Refreshed, error) {
	c, err := s.client(ctx, clientCookie)
	if err != nil {
		return nil, err
	}
	if c.LastActiveSessionID == "" {
		return nil, ErrSignedOut
	}
	return s.refresh(ctx, c.LastActiveSessionID, origin)
}

func (s *Service) refresh(ctx context.Context, sid, origin string) (*Refreshed, error) {
	sess, err := s.liveSession(ctx, sid)
	if err != nil {
		return nil, err
	}
	return s.refreshLive(ctx, sess, origin)
}

// refreshLive mints a token for sess, which checkLive has passed.
func (s *Service) refreshLive(ctx context.Context, sess *store.Session, origin string) (*Refreshed, error) {
	tok, claims, err := s.mint(ctx, sess, origin)
	if err != nil {
		return nil, err
	}
	// Record activity at most once a minute: refreshes come every ~45 s
	// per tab, and SQLite has a single writer.
	if now := s.now().UnixMilli(); now-sess.LastActiveAt >= time.Minute.Milliseconds() {
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			s.log.WarnContext(ctx, "could not record session activity", "session_id", sess.ID, "err", err)
		}
	}
	return &Refreshed{Session: sess, Token: tok, Claims: claims}, nil
}

// TokenForClientSession mints a token for session sid, which must belong
// to the browser holding clientCookie (the frontend API's tokens route).
func (s *Service) TokenForClientSession(ctx context.Context, clientCookie, sid, origin string) (*Refreshed, error) {
	sess, err := s.clientSession(ctx, clientCookie, sid)
	if err != nil {
		return nil, err
	}
	// The session was just read; checking it again needs no second read.
	if sess, err = s.checkLive(ctx, sess); err != nil {
		return nil, err
	}
	return s.refreshLive(ctx, sess, origin)
}

// MintSessionToken mints a fresh token for a live session (the server-side
// GetToken with SkipCache). A session revoked since is an error.
func (s *Service) MintSessionToken(ctx context.Context, sid, azp string) (string, error) {
	r, err := s.refresh(ctx, sid, azp)
	if err != nil {
		return "", err
	}
	return r.Token, nil
}

func (s *Service) clientSession(ctx context.Context, clientCookie, sid string) (*store.Session, error) {
	c, err := s.client(ctx, clientCookie)
	if err != nil {
		return nil, err
	}
	sess, err := s.store.GetSession(ctx, sid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && sess.ClientID != c.ID) {
		return nil, errSessionNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("identity: load session: %w", err)
	}
	return sess, nil
}

func errSessionNotFound() *Error {
	return &Error{Status: http.StatusNotFound, Code: "resource_not_found", Message: "Session not found.",
		LongMessage: "No session with this id belongs to this browser."}
}

// SignOut ends the browser's live sessions. Signing out twice is not an error.
func (s *Service) SignOut(ctx context.Context, clientCookie string) error {
	c, err := s.client(ctx, clientCookie)
	if errors.Is(err, ErrSignedOut) {
		return nil
	}
	if err != nil {
		return err
	}
	sessions, _, err := s.store.ListSessions(ctx, store.SessionFilter{ClientID: c.ID})
	if err != nil {
		return fmt.Errorf("identity: sign-out: %w", err)
	}
	for _, sess := range sessions {
		if sess.Status == store.SessionActive || sess.Status == store.SessionPending {
			if err := s.endSession(ctx, sess); err != nil {
				return err
			}
		}
	}
	return nil
}

// EndClientSession ends session sid of the browser holding clientCookie.
func (s *Service) EndClientSession(ctx context.Context, clientCookie, sid string) (*store.Session, error) {
	sess, err := s.clientSession(ctx, clientCookie, sid)
	if err != nil {
		return nil, err
	}
	if sess.Status != store.SessionActive && sess.Status != store.SessionPending {
		return sess, nil
	}
	if err := s.endSession(ctx, sess); err != nil {
		return nil, err
	}
	return s.store.GetSession(ctx, sid)
}

func (s *Service) endSession(ctx context.Context, sess *store.Session) error {
	if _, err := s.store.EndSession(ctx, sess.ID, store.SessionEnded); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("identity: end session: %w", err)
	}
	s.log.InfoContext(ctx, "session ended", "session_id", sess.ID, "user_id", sess.UserID)
	logImpersonationEnd(ctx, s.log, sess)
	return nil
}

// ClientSessions returns the live sessions of the browser holding
// clientCookie, each with its user (the frontend API's client resource).
func (s *Service) ClientSessions(ctx context.Context, clientCookie string) (*store.Client, []*store.Session, error) {
	c, err := s.client(ctx, clientCookie)
	if err != nil {
		return nil, nil, err
	}
	all, _, err := s.store.ListSessions(ctx, store.SessionFilter{ClientID: c.ID})
	if err != nil {
		return nil, nil, fmt.Errorf("identity: list sessions: %w", err)
	}
	live := slices.DeleteFunc(all, func(x *store.Session) bool {
		return (x.Status != store.SessionActive && x.Status != store.SessionPending) || x.ExpireAt <= s.now().UnixMilli()
	})
	return c, live, nil
}

// mfaMissing reports whether userID has no second factor yet.
func (s *Service) mfaMissing(ctx context.Context, userID string) (bool, error) {
	u, err := s.store.GetUser(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("identity: load user: %w", err)
	}
	return !HasSecondFactor(u), nil
}

// The tasks of a pending session, as Clerk names them.
const (
	TaskSetupMFA           = "setup-mfa"
	TaskChooseOrganization = "choose-organization"
)

// PendingTask returns what the pending session sid must do before it is
// active: set up a second factor (MFA_REQUIRED) first, then choose an
// organization; "" when nothing.
func (s *Service) PendingTask(ctx context.Context, sid string) (string, error) {
	sess, err := s.liveSession(ctx, sid)
	if err != nil {
		return "", err
	}
	if s.cfg.MFARequired {
		missing, err := s.mfaMissing(ctx, sess.UserID)
		if err != nil {
			return "", err
		}
		if missing {
			return TaskSetupMFA, nil
		}
	}
	if s.cfg.OrganizationsRequired && sess.LastActiveOrganizationID == "" {
		return TaskChooseOrganization, nil
	}
	return "", nil
}

// statusFor is the status of a live session whose active organization is
// orgID: pending while organizations are required and none is active.
func (s *Service) statusFor(orgID string) string {
	if s.cfg.OrganizationsRequired && orgID == "" {
		return store.SessionPending
	}
	return store.SessionActive
}

// mint signs a session token for sess. The active organization's claims
// come from the membership as the store has it now, so a member removed
// from the organization loses them at the next refresh; the session's
// status follows (pending without an organization when organizations are
// required) and is saved when it changed.
func (s *Service) mint(ctx context.Context, sess *store.Session, origin string) (string, *token.Claims, error) {
	c, err := s.sessionClaims(ctx, sess, origin)
	if err != nil {
		return "", nil, err
	}
	tok, err := s.keys.SignSession(c)
	if err != nil {
		return "", nil, fmt.Errorf("identity: mint session token: %w", err)
	}
	return tok, c, nil
}

// sessionClaims builds the claims of a session token for sess from the
// store as it is now (see mint).
func (s *Service) sessionClaims(ctx context.Context, sess *store.Session, origin string) (*token.Claims, error) {
	var m *store.Membership
	if sess.LastActiveOrganizationID != "" {
		var err error
		m, err = s.store.GetMembership(ctx, sess.LastActiveOrganizationID, sess.UserID)
		if errors.Is(err, store.ErrNotFound) {
			m = nil
		} else if err != nil {
			return nil, fmt.Errorf("identity: load active membership: %w", err)
		}
	}
	orgID := ""
	if m != nil {
		orgID = m.OrganizationID
	}
	status := s.statusFor(orgID)
	if status == store.SessionActive && s.cfg.MFARequired {
		missing, err := s.mfaMissing(ctx, sess.UserID)
		if err != nil {
			return nil, err
		}
		if missing {
			status = store.SessionPending
		}
	}
	if status != sess.Status {
		if err := s.store.SetSessionStatus(ctx, sess.ID, status); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("identity: update session status: %w", err)
		}
		sess.Status = status
	}
	now := s.now()
	ttl := int64((s.cfg.TokenTTL + time.Second - 1) / time.Second)
	c := &token.Claims{
		Issuer:          s.cfg.Issuer,
		Subject:         sess.UserID,
		SessionID:       sess.ID,
		IssuedAt:        now.Unix(),
		NotBefore:       now.Unix() - 5,
		Expiry:          now.Unix() + ttl,
		ID:              randid.Base62(20),
		Version:         2,
		AuthorizedParty: s.azp(origin),
		Status:          sess.Status,
		FVA:             fva(sess, now),
	}
	if len(sess.Actor) > 0 {
		var a token.Actor
		if err := json.Unmarshal(sess.Actor, &a); err == nil && a.Subject != "" {
			c.Actor = &a
		}
	}
	if m != nil {
		fea, per, fpm := token.EncodePermissions(s.cfg.Roles.Permissions(m.Role))
		c.Org = &token.OrgClaim{ID: m.OrganizationID, Slug: m.Organization.Slug,
			Role: strings.TrimPrefix(m.Role, "org:"), Permissions: per, FeatureMask: fpm}
		c.Features = fea
	}
	return c, nil
}

// azp is the origin that minted the token when it is an authorized party,
// otherwise the application's own origin.
func (s *Service) azp(origin string) string {
	if origin != "" && slices.Contains(s.cfg.AuthorizedParties, origin) {
		return origin
	}
	return s.cfg.AppOrigin
}

// logImpersonationEnd logs the end of an impersonation session with both
// user ids; other sessions log nothing here.
func logImpersonationEnd(ctx context.Context, log *slog.Logger, sess *store.Session) {
	if len(sess.Actor) == 0 {
		return
	}
	var a token.Actor
	_ = json.Unmarshal(sess.Actor, &a)
	log.InfoContext(ctx, "impersonation ended", "actor_user_id", a.Subject, "user_id", sess.UserID, "session_id", sess.ID)
}

// SetActiveOrganization makes orgID (an id or a slug) the active
// organization of session sid, which must belong to the browser holding
// clientCookie; "" selects the personal account. Only organizations the
// user is a member of are accepted, checked in the store in the same
// transaction (else CodeNotFound). With organizations required, choosing
// one turns a pending session active, and choosing none makes it
// pending. It returns a token minted for the new state, to be set with
// [Cookies.SetSession] at once so the very next request sees it.
func (s *Service) SetActiveOrganization(ctx context.Context, clientCookie, sid, orgID, origin string) (*Refreshed, error) {
	if _, err := s.clientSession(ctx, clientCookie, sid); err != nil {
		return nil, err
	}
	if _, err := s.liveSession(ctx, sid); err != nil {
		return nil, err
	}
	orgID = strings.TrimSpace(orgID)
	if orgID != "" && !store.IsOrganizationID(orgID) {
		o, err := s.store.GetOrganization(ctx, orgID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, errOrgNotFound()
		}
		if err != nil {
			return nil, fmt.Errorf("identity: find organization: %w", err)
		}
		orgID = o.ID
	}
	_, err := s.store.SetSessionOrganization(ctx, sid, orgID, s.statusFor(orgID))
	switch {
	case errors.Is(err, store.ErrNotMember):
		return nil, errOrgNotFound()
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrSignedOut
	case err != nil:
		return nil, fmt.Errorf("identity: set active organization: %w", err)
	}
	return s.refresh(ctx, sid, origin)
}

// CreateSessionFor starts a session of user userID on a new client, with
// no browser to hold it (the Backend API's POST /sessions, which Clerk
// offers for tests and for services acting as a user).
func (s *Service) CreateSessionFor(ctx context.Context, userID string) (*store.Session, error) {
	u, err := s.store.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Status: http.StatusNotFound, Code: "resource_not_found", Param: "user_id",
			Message: "User not found.", LongMessage: "No user was found with this user_id."}
	}
	if err != nil {
		return nil, fmt.Errorf("identity: create session: %w", err)
	}
	if u.Banned {
		return nil, errBanned()
	}
	c, _ := s.newClient(ctx, "")
	sess := s.newSession(ctx, c.ID, u.ID)
	if err := s.store.CreateSession(ctx, *c, *sess); err != nil {
		return nil, fmt.Errorf("identity: create session: %w", err)
	}
	return sess, nil
}
