package identity

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// TicketPath is the page an actor token's link opens, with ?token=….
const TicketPath = "/sign-in/ticket"

// ActorTokenTTL is the longest (and default) life of an actor token.
const ActorTokenTTL = 10 * time.Minute

// ActorTokensConfig configures [ActorTokens].
type ActorTokensConfig struct {
	// BaseURL is APP_URL; ticket links start with it.
	BaseURL string
	// AdminUserIDs and AdminEmails name the instance administrators who
	// may impersonate from the app (ADMIN_USER_IDS, ADMIN_EMAILS).
	AdminUserIDs, AdminEmails []string
	Log                       *slog.Logger
}

// ActorTokens issues and revokes actor tokens: single-use sign-in tickets,
// valid for ten minutes, that start a session for a user on behalf of an
// administrator (impersonation). Sessions are started from them by
// [Service.SignInWithActorToken].
type ActorTokens struct {
	st  store.Store
	cfg ActorTokensConfig
	now func() time.Time
}

// NewActorTokens returns the actor token service over st.
func NewActorTokens(st store.Store, cfg ActorTokensConfig) *ActorTokens {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	emails := make([]string, 0, len(cfg.AdminEmails))
	for _, e := range cfg.AdminEmails {
		if n := NormalizeEmail(e); n != "" {
			emails = append(emails, n)
		}
	}
	cfg.AdminEmails = emails
	return &ActorTokens{st: st, cfg: cfg, now: time.Now}
}

// CreateActorTokenInput describes an actor token.
type CreateActorTokenInput struct {
	// UserID is the user to act as.
	UserID string
	// Actor is the actor claim: a JSON object whose "sub" is the acting
	// user's id. It goes into the session's tokens as "act".
	Actor json.RawMessage
	// ExpiresIn is the token's life: 0 for ten minutes, at most ten.
	ExpiresIn time.Duration
}

// CreatedActorToken is a new actor token with its secret and link, shown
// only this once.
type CreatedActorToken struct {
	Token  *store.ActorToken
	Secret string
	URL    string
}

// TicketURL is the sign-in link for an actor token secret.
func (a *ActorTokens) TicketURL(secret string) string {
	return a.cfg.BaseURL + TicketPath + "?token=" + url.QueryEscape(secret)
}

// Create issues an actor token (the backend client and the CLI, which act
// for the instance and need no administrator listing).
func (a *ActorTokens) Create(ctx context.Context, in CreateActorTokenInput) (*CreatedActorToken, error) {
	if strings.TrimSpace(in.UserID) == "" {
		return nil, paramMissing("user_id")
	}
	var actor map[string]any
	if len(in.Actor) == 0 {
		return nil, paramMissing("actor")
	}
	if json.Unmarshal(in.Actor, &actor) != nil || actor == nil {
		return nil, paramFormat("actor", "actor must be a JSON object with a sub.")
	}
	sub, _ := actor["sub"].(string)
	if sub == "" {
		return nil, paramFormat("actor", "actor.sub must name the acting user.")
	}
	if sub == in.UserID {
		return nil, paramFormat("actor", "A user cannot impersonate themselves.")
	}
	if in.ExpiresIn < 0 || in.ExpiresIn > ActorTokenTTL {
		return nil, paramFormat("expires_in_seconds", "Actor tokens last at most 600 seconds.")
	}
	if in.ExpiresIn == 0 {
		in.ExpiresIn = ActorTokenTTL
	}
	for _, id := range []string{in.UserID, sub} {
		u, err := a.st.GetUser(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound("User")
		}
		if err != nil {
			return nil, fmt.Errorf("identity: actor token: %w", err)
		}
		if u.Banned {
			return nil, paramFormat("user_id", "Banned users cannot be impersonated or impersonate.")
		}
	}
	// Keep the claim the verifier and SDKs expect: {"sub": …}, plus any
	// other keys the caller gave.
	claim, err := json.Marshal(actor)
	if err != nil {
		return nil, fmt.Errorf("identity: actor token: %w", err)
	}
	secret := randid.Base62(43)
	sum := sha256.Sum256([]byte(secret))
	now := a.now()
	t := store.ActorToken{ID: randid.New("act"), UserID: in.UserID, ActorUserID: sub, Actor: claim, TokenHash: sum[:],
		Status: store.StatusPending, ExpiresAt: now.Add(in.ExpiresIn).UnixMilli(), CreatedAt: now.UnixMilli(), UpdatedAt: now.UnixMilli()}
	if err := a.st.CreateActorToken(ctx, t); err != nil {
		return nil, orgError(err, "User")
	}
	a.cfg.Log.InfoContext(ctx, "actor token created", "actor_token_id", t.ID, "actor_user_id", sub, "user_id", in.UserID)
	return &CreatedActorToken{Token: &t, Secret: secret, URL: a.TicketURL(secret)}, nil
}

// IsAdmin reports whether userID is an instance administrator: listed in
// AdminUserIDs, or owning an address listed in AdminEmails.
func (a *ActorTokens) IsAdmin(ctx context.Context, userID string) (bool, error) {
	if slices.Contains(a.cfg.AdminUserIDs, userID) {
		return true, nil
	}
	if len(a.cfg.AdminEmails) == 0 {
		return false, nil
	}
	u, err := a.st.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("identity: load user: %w", err)
	}
	for _, e := range u.EmailAddresses {
		if slices.Contains(a.cfg.AdminEmails, e.Email) {
			return true, nil
		}
	}
	return false, nil
}

// CreateAsAdmin is the in-app admin action: the signed-in session
// sessionID asks to impersonate targetUserID. The session is checked in
// the store: it must be live, not itself impersonating, and its user an
// instance administrator; otherwise CodeImpersonationRefused.
func (a *ActorTokens) CreateAsAdmin(ctx context.Context, sessionID, targetUserID string) (*CreatedActorToken, error) {
	sess, err := requireNoActor(ctx, a.st, sessionID)
	if err != nil {
		return nil, err
	}
	admin, err := a.IsAdmin(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	if !admin {
		return nil, &Error{Status: http.StatusForbidden, Code: CodeImpersonationRefused, Message: "Only instance administrators can impersonate.",
			LongMessage: "Your account is not listed in ADMIN_USER_IDS or ADMIN_EMAILS."}
	}
	actor, _ := json.Marshal(map[string]string{"sub": sess.UserID})
	return a.Create(ctx, CreateActorTokenInput{UserID: targetUserID, Actor: actor})
}

// Revoke revokes a pending actor token; a used or revoked one is
// CodeActorTokenNotPending.
func (a *ActorTokens) Revoke(ctx context.Context, id string) (*store.ActorToken, error) {
	t, err := a.st.RevokeActorToken(ctx, id)
	if errors.Is(err, store.ErrNotPending) {
		return t, &Error{Status: http.StatusConflict, Code: CodeActorTokenNotPending, Message: "This actor token is " + t.Status + ".",
			LongMessage: "Only pending actor tokens can be revoked."}
	}
	if err != nil {
		return nil, orgError(err, "Actor token")
	}
	a.cfg.Log.InfoContext(ctx, "actor token revoked", "actor_token_id", id, "actor_user_id", t.ActorUserID, "user_id", t.UserID)
	return t, nil
}

// errActorRestricted refuses a sensitive action to an impersonating
// session.
func errActorRestricted() *Error {
	return &Error{Status: http.StatusForbidden, Code: CodeImpersonationRefused, Message: "Not available while impersonating.",
		LongMessage: "An impersonation session cannot change the password or email, create actor tokens or API keys, or delete the user."}
}

// requireNoActor loads the live session sid and refuses it when it is an
// impersonation session.
func requireNoActor(ctx context.Context, st store.Store, sid string) (*store.Session, error) {
	sess, err := st.GetSession(ctx, sid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrSignedOut
	}
	if err != nil {
		return nil, fmt.Errorf("identity: load session: %w", err)
	}
	if sess.Status != store.SessionActive && sess.Status != store.SessionPending {
		return nil, ErrSignedOut
	}
	if len(sess.Actor) > 0 {
		return nil, errActorRestricted()
	}
	return sess, nil
}

// RequireNoActor is the check of every action an impersonation session may
// not take (changing the password or email, creating actor tokens or API
// keys, deleting the user): it reads session sid from the store, not from
// the token, and returns CodeImpersonationRefused for an actor session,
// ErrSignedOut for a session that is not live.
func (s *Service) RequireNoActor(ctx context.Context, sid string) error {
	_, err := requireNoActor(ctx, s.store, sid)
	return err
}

// errTicketInvalid is the one answer to a ticket that is unknown, used,
// revoked, expired or forged, so none can be told from another.
func errTicketInvalid() *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: CodeActorTokenInvalid, Message: "This sign-in link is invalid or has expired.",
		LongMessage: "Sign-in links work once, for ten minutes. Ask for a new one."}
}

// SignInWithActorToken uses an actor token's secret, exactly once, to
// start a session on this browser for the token's user with the token's
// actor (impersonation): its tokens carry "act". The browser's previous
// session is replaced. Any token that is unknown, used, revoked, expired
// or forged gives the same CodeActorTokenInvalid error.
func (s *Service) SignInWithActorToken(ctx context.Context, secret, clientCookie, origin string) (*SignedIn, error) {
	if secret == "" || len(secret) > 256 {
		return nil, errTicketInvalid()
	}
	sum := sha256.Sum256([]byte(secret))
	c, clientSecret := s.newClient(ctx, clientCookie)
	sess := s.newSession(ctx, c.ID, "")
	// An actor session is short: it ends within ImpersonationMaxAge
	// whatever the session lifetime.
	sess.ExpireAt = min(sess.ExpireAt, s.now().Add(s.impersonationMaxAge()).UnixMilli())
	t, created, err := s.store.RedeemActorToken(ctx, sum[:], *c, *sess)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errTicketInvalid()
	}
	if err != nil {
		return nil, fmt.Errorf("identity: redeem actor token: %w", err)
	}
	u, err := s.store.GetUser(ctx, created.UserID)
	if err != nil {
		return nil, fmt.Errorf("identity: load user: %w", err)
	}
	s.log.InfoContext(ctx, "impersonation started", "actor_user_id", t.ActorUserID, "user_id", t.UserID,
		"session_id", created.ID, "actor_token_id", t.ID)
	return s.signedIn(ctx, u, created, clientSecret, origin)
}

func (s *Service) impersonationMaxAge() time.Duration {
	if s.cfg.ImpersonationMaxAge > 0 {
		return s.cfg.ImpersonationMaxAge
	}
	return time.Hour
}

// checkActor ends an actor session whose actor no longer may act: deleted,
// banned, or no longer an instance administrator. It runs at every
// refresh, so removing an administrator from ADMIN_EMAILS (or banning
// them) ends their impersonations within a session token's lifetime.
func (s *Service) checkActor(ctx context.Context, sess *store.Session) error {
	var a token.Actor
	if err := json.Unmarshal(sess.Actor, &a); err != nil || a.Subject == "" {
		return s.endImpersonation(ctx, sess, "the actor claim is unreadable")
	}
	u, err := s.store.GetUser(ctx, a.Subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return s.endImpersonation(ctx, sess, "the administrator was deleted")
	case err != nil:
		return fmt.Errorf("identity: load the actor: %w", err)
	case u.Banned:
		return s.endImpersonation(ctx, sess, "the administrator is banned")
	case !s.isAdmin(u):
		return s.endImpersonation(ctx, sess, "the actor is no longer an administrator")
	}
	return nil
}

// isAdmin reports whether u is an instance administrator (ADMIN_USER_IDS
// or ADMIN_EMAILS).
func (s *Service) isAdmin(u *store.User) bool {
	if slices.Contains(s.cfg.AdminUserIDs, u.ID) {
		return true
	}
	for _, e := range u.EmailAddresses {
		if slices.Contains(s.cfg.ReservedEmails, e.Email) {
			return true
		}
	}
	return false
}

// endImpersonation revokes an actor session and logs why; the caller
// answers ErrSignedOut, which clears the browser's cookies.
func (s *Service) endImpersonation(ctx context.Context, sess *store.Session, reason string) error {
	if _, err := s.store.EndSession(ctx, sess.ID, store.SessionRevoked); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("identity: end an actor session: %w", err)
	}
	s.log.InfoContext(ctx, "impersonation ended", "reason", reason, "session_id", sess.ID, "user_id", sess.UserID, "actor", string(sess.Actor))
	return ErrSignedOut
}
