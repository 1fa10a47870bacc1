package identity

// Sign-in with an OAuth or OpenID provider (spec 08 §1): the flow's
// state, and who the provider's account is here.

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/social"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// oauthFlowTTL is how long a flow may take from the button to the
// callback.
const oauthFlowTTL = 10 * time.Minute

// OAuth flow intents: what the callback does with the account.
const (
	IntentSignIn   = "sign_in"  // sign in or sign up
	IntentConnect  = "connect"  // add it to the signed-in user
	IntentReverify = "reverify" // a fresh first factor for the session
)

// OAuthFlow is a flow under way in one browser, kept in its encrypted
// cookie (see [Cookies.SetOAuthFlow]): the state to compare with the
// callback's, the PKCE verifier and nonce to finish it with, where to go
// after, and for connect and reverify the session it belongs to.
type OAuthFlow struct {
	Provider    string `json:"p"`
	State       string `json:"s"`
	Verifier    string `json:"v"`
	Nonce       string `json:"n,omitempty"`
	Intent      string `json:"i"`
	SessionID   string `json:"sid,omitempty"`
	RedirectURL string `json:"r,omitempty"`
	ExpireAt    int64  `json:"e"`
}

// LinkRefused means the provider's address belongs to an account here
// that cannot be linked by the provider's word alone (the address is not
// verified on one side): the person should sign in as before and connect
// the provider from their profile.
type LinkRefused struct {
	Provider string // the provider's label
	Email    string
}

func (e *LinkRefused) Error() string {
	return "identity: " + e.Provider + " account's address belongs to an account that cannot be linked"
}

// Providers returns the configured providers, in configuration order.
func (s *Service) Providers() []*social.Provider { return s.cfg.Providers }

// Provider returns the configured provider called name.
func (s *Service) Provider(name string) (*social.Provider, bool) {
	i := slices.IndexFunc(s.cfg.Providers, func(p *social.Provider) bool { return p.Name() == name })
	if i < 0 {
		return nil, false
	}
	return s.cfg.Providers[i], true
}

func errBanned() *Error {
	return &Error{Status: http.StatusForbidden, Code: "user_banned", Message: "This account cannot sign in.",
		LongMessage: "This account is banned."}
}

func errUnknownProvider() *Error {
	return &Error{Status: http.StatusNotFound, Code: "oauth_provider_not_enabled", Param: "strategy",
		Message: "That way to sign in is not available.", LongMessage: "The OAuth provider is not enabled for this instance."}
}

func errOAuth(code, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: msg, LongMessage: msg}
}

// StartOAuth begins a flow with provider name: it returns the provider's
// authorization URL and the flow to keep in this browser's cookie.
// sessionID is the session a connect or reverify flow belongs to.
func (s *Service) StartOAuth(ctx context.Context, name, intent, sessionID, redirectURL string) (string, *OAuthFlow, error) {
	p, ok := s.Provider(name)
	if !ok {
		return "", nil, errUnknownProvider()
	}
	f := &OAuthFlow{Provider: name, State: randid.Base62(32), Verifier: randid.Base62(64), Intent: intent,
		SessionID: sessionID, RedirectURL: redirectURL, ExpireAt: s.now().Add(oauthFlowTTL).UnixMilli()}
	if p.IsOIDC() {
		f.Nonce = randid.Base62(32)
	}
	u, err := p.AuthCodeURL(ctx, f.State, f.Verifier, f.Nonce)
	if err != nil {
		s.log.WarnContext(ctx, "oauth provider unavailable", "provider", name, "error", err)
		return "", nil, &Error{Status: http.StatusServiceUnavailable, Code: "oauth_provider_unavailable",
			Message: p.Label() + " cannot be reached right now. Try again later.", LongMessage: "The OAuth provider cannot be reached.", RetryAfter: 30 * time.Second}
	}
	return u, f, nil
}

// FinishOAuth checks a provider's callback (its query q) against this
// browser's flow f — the same provider, the same state, not expired, not
// finished before — and exchanges its code for the account's profile.
// Any failure is an *Error whose message can be shown; the detail is
// logged.
func (s *Service) FinishOAuth(ctx context.Context, name string, f *OAuthFlow, q url.Values) (*social.Profile, error) {
	p, ok := s.Provider(name)
	if !ok {
		return nil, errUnknownProvider()
	}
	stale := errOAuth("oauth_state_invalid", "That sign-in with "+p.Label()+" expired or was started in another browser. Try again.")
	if f == nil || f.Provider != name || f.ExpireAt <= s.now().UnixMilli() || f.State == "" ||
		subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		s.log.InfoContext(ctx, "oauth callback refused", "provider", name, "reason", "state")
		return nil, stale
	}
	// One callback per flow, even if the cookie and the URL are replayed.
	sum := sha256.Sum256([]byte(f.State))
	if err := s.store.ConsumeOAuthState(ctx, hex.EncodeToString(sum[:]), f.ExpireAt); err != nil {
		if errors.Is(err, store.ErrReplayed) {
			s.log.WarnContext(ctx, "oauth callback replayed", "provider", name)
			return nil, stale
		}
		return nil, fmt.Errorf("identity: oauth state: %w", err)
	}
	if e := q.Get("error"); e != "" {
		s.log.InfoContext(ctx, "oauth provider refused", "provider", name, "error", truncateText(e, 64))
		if e == "access_denied" {
			return nil, errOAuth("oauth_access_denied", "You cancelled the sign-in with "+p.Label()+".")
		}
		return nil, errOAuth("oauth_provider_error", p.Label()+" could not sign you in. Try again.")
	}
	code := q.Get("code")
	if code == "" || len(code) > 2048 {
		return nil, stale
	}
	prof, err := p.Identify(ctx, code, f.Verifier, f.Nonce)
	if err != nil {
		s.log.WarnContext(ctx, "oauth sign-in failed", "provider", name, "error", err)
		return nil, errOAuth("oauth_token_exchange_error", p.Label()+" could not confirm who you are. Try again.")
	}
	return prof, nil
}

// SocialSignIn signs in the account prof of provider name, by the rules
// of spec 08 §1 in order:
//  1. an external account of that provider and subject signs its user in;
//  2. else, when the provider verified the address and a user here owns
//     it verified, the account is linked to that user;
//  3. else, when a user here owns the address, nothing is linked
//     (*LinkRefused): the address may be squatted, or the provider's word
//     may be all there is;
//  4. else a user is created from the profile.
//
// A user with a second factor still needs it ([SecondFactorRequired]).
func (s *Service) SocialSignIn(ctx context.Context, name string, prof *social.Profile, clientCookie, origin string) (*SignedIn, error) {
	p, ok := s.Provider(name)
	if !ok {
		return nil, errUnknownProvider()
	}
	ea := s.externalAccount(name, prof)
	var u *store.User
	existing, err := s.store.GetExternalAccount(ctx, name, prof.Subject)
	switch {
	case err == nil: // rule 1
		if u, err = s.store.GetUser(ctx, existing.UserID); err != nil {
			return nil, fmt.Errorf("identity: social sign-in: %w", err)
		}
		ea.ID = existing.ID
		if err := s.store.UpdateExternalAccount(ctx, ea); err != nil {
			return nil, err
		}
	case !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("identity: social sign-in: %w", err)
	default:
		if u, err = s.linkOrCreate(ctx, p, ea); err != nil {
			return nil, err
		}
	}
	if u.Banned {
		return nil, errBanned()
	}
	// A locked account stays locked whatever the first factor: a lock
	// set by an operator means no sign-in at all.
	lockedUntil, err := s.store.RecordSignIn(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("identity: social sign-in: %w", err)
	}
	if lockedUntil > 0 {
		return nil, errLockedUntil(lockedUntil, s.now())
	}
	s.log.InfoContext(ctx, "user signed in", "user_id", u.ID, "strategy", p.Strategy())
	return s.startSessionBy(ctx, u, p.Strategy(), clientCookie, origin)
}

// linkOrCreate applies rules 2 to 4 to an account seen for the first time.
func (s *Service) linkOrCreate(ctx context.Context, p *social.Provider, ea store.ExternalAccount) (*store.User, error) {
	email := ea.EmailAddress
	if email != "" {
		owner, err := s.store.GetUserByEmail(ctx, email)
		switch {
		case err == nil:
			if !ea.EmailVerified || !addressVerified(owner, email) {
				s.log.InfoContext(ctx, "oauth link refused", "provider", p.Name(), "user_id", owner.ID,
					"provider_verified", ea.EmailVerified)
				return nil, &LinkRefused{Provider: p.Label(), Email: email}
			}
			if now := s.now(); owner.LockedUntil > now.UnixMilli() {
				return nil, errLockedUntil(owner.LockedUntil, now) // and nothing linked
			}
			ea.UserID = owner.ID
			if _, err := s.store.LinkExternalAccount(ctx, ea); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return nil, errOAuth("external_account_exists", "Your account is connected to another "+p.Label()+" account already. Sign in with that one.")
				}
				return nil, fmt.Errorf("identity: link %s: %w", p.Name(), err)
			}
			s.log.InfoContext(ctx, "external account linked", "user_id", owner.ID, "provider", p.Name())
			return s.store.GetUser(ctx, owner.ID)
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("identity: social sign-in: %w", err)
		}
	}
	// Rule 4: a new user.
	if email == "" {
		return nil, errOAuth("oauth_email_missing", p.Label()+" did not share an email address. Add one to your "+p.Label()+" account, or sign up with a password.")
	}
	if !ea.EmailVerified && s.VerifiesSignUps() {
		return nil, errOAuth("oauth_email_unverified", p.Label()+" has not verified "+email+". Verify it there, or sign up with a password.")
	}
	if slices.Contains(s.cfg.ReservedEmails, email) {
		return nil, errOAuth("oauth_email_reserved", "That address cannot sign up here. Ask an administrator to create the account.")
	}
	nu := store.NewUser{Email: email, FirstName: ea.FirstName, LastName: ea.LastName}
	if ea.EmailVerified {
		nu.EmailVerifiedBy = "from_" + p.Strategy()
	}
	u, err := s.store.CreateUserWithExternalAccount(ctx, nu, ea)
	if errors.Is(err, store.ErrConflict) {
		// The address or the account was taken a moment ago: start over.
		return nil, errOAuth("oauth_conflict", "That account was just created elsewhere. Try again.")
	}
	if err != nil {
		return nil, fmt.Errorf("identity: social sign-up: %w", err)
	}
	s.log.InfoContext(ctx, "user signed up", "user_id", u.ID, "strategy", p.Strategy(), "verified", ea.EmailVerified)
	return u, nil
}

// externalAccount is the stored form of prof: the address normalised (or
// dropped when it is not one we accept) and names checked.
func (s *Service) externalAccount(name string, prof *social.Profile) store.ExternalAccount {
	ea := store.ExternalAccount{Provider: name, ProviderUserID: prof.Subject, EmailAddress: NormalizeEmail(prof.Email),
		Username: truncateText(prof.Username, 100), ImageURL: prof.ImageURL}
	ea.EmailVerified = prof.EmailVerified && ea.EmailAddress != ""
	ea.FirstName, _ = checkName("first_name", truncateText(prof.FirstName, 100))
	ea.LastName, _ = checkName("last_name", truncateText(prof.LastName, 100))
	return ea
}

func addressVerified(u *store.User, email string) bool {
	for _, e := range u.EmailAddresses {
		if e.Email == email {
			return e.Verified
		}
	}
	return false
}

// ExternalAccounts are the user's connected accounts.
func (a *Account) ExternalAccounts() []store.ExternalAccount { return a.user.ExternalAccounts }

// CanConnect refuses to start a connect flow unless the session may make
// sensitive changes (07 §5).
func (a *Account) CanConnect() error { return a.sensitive() }

// ConnectExternalAccount adds the provider's account prof to this user,
// at the end of a connect flow. An account linked to another user is
// refused.
func (a *Account) ConnectExternalAccount(ctx context.Context, name string, prof *social.Profile) error {
	s := a.svc
	p, ok := s.Provider(name)
	if !ok {
		return errUnknownProvider()
	}
	if err := a.noActor(); err != nil {
		return err
	}
	if existing, err := s.store.GetExternalAccount(ctx, name, prof.Subject); err == nil {
		if existing.UserID == a.user.ID {
			return nil
		}
		return errOAuth("external_account_exists", "That "+p.Label()+" account is connected to another user.")
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("identity: connect %s: %w", name, err)
	}
	ea := s.externalAccount(name, prof)
	ea.UserID = a.user.ID
	if _, err := s.store.LinkExternalAccount(ctx, ea); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errOAuth("external_account_exists", "You have a "+p.Label()+" account connected already. Disconnect it first.")
		}
		return fmt.Errorf("identity: connect %s: %w", name, err)
	}
	s.log.InfoContext(ctx, "external account connected", "user_id", a.user.ID, "provider", name)
	return a.reload(ctx)
}

// DisconnectExternalAccount removes the connected account id, unless it
// is the last way left to sign in. It is a sensitive action.
func (a *Account) DisconnectExternalAccount(ctx context.Context, id string) error {
	if err := a.sensitive(); err != nil {
		return err
	}
	ea, err := a.svc.store.DeleteExternalAccount(ctx, a.user.ID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "resource_not_found", Message: "That connected account does not exist.",
			LongMessage: "No external account was found with that id."}
	case errors.Is(err, store.ErrLastSignInMethod):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "external_account_last_method",
			Message:     "This is your only way to sign in. Set a password first.",
			LongMessage: "The external account is the user's last way to sign in."}
	case err != nil:
		return fmt.Errorf("identity: disconnect: %w", err)
	}
	a.svc.log.InfoContext(ctx, "external account disconnected", "user_id", a.user.ID, "provider", ea.Provider)
	return a.reload(ctx)
}

// ReverifyWithProvider records a fresh first factor in this session from
// a reverify flow, when prof is one of this user's connected accounts.
func (a *Account) ReverifyWithProvider(ctx context.Context, name string, prof *social.Profile) error {
	ea, err := a.svc.store.GetExternalAccount(ctx, name, prof.Subject)
	if err != nil || ea.UserID != a.user.ID {
		return errOAuth("external_account_not_yours", "That account is not connected to yours. Use the one you connected.")
	}
	sess, err := a.svc.store.SetSessionFactors(ctx, a.session.ID, a.svc.now().UnixMilli(), 0)
	if err != nil {
		return fmt.Errorf("identity: reverify: %w", err)
	}
	a.session = sess
	a.svc.log.InfoContext(ctx, "session reverified", "user_id", a.user.ID, "session_id", sess.ID, "strategy", social.Strategy(name))
	return nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
