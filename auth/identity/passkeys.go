package identity

// Passkeys (spec 08 §2): WebAuthn ceremonies with go-webauthn, the
// challenges kept in the store for five minutes and used once.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// passkeyChallengeTTL is how long a ceremony may take.
const passkeyChallengeTTL = 5 * time.Minute

// MaxPasskeys is how many passkeys a user may have.
const MaxPasskeys = store.MaxPasskeys

// StrategyPasskey is Clerk's name of the passkey strategy.
const StrategyPasskey = "passkey"

// The purposes of WebAuthn challenges.
const (
	purposeRegister = "register"
	purposeSignIn   = "sign_in"
)

// PasskeyConfig is the relying party.
type PasskeyConfig struct {
	// RPID is the relying party id (APP_URL's host, or PASSKEY_RP_ID).
	RPID string
	// Origins are the origins assertions may come from (APP_URL's, or
	// PASSKEY_ORIGINS).
	Origins []string
	// Name is the relying party's name the browser shows (APP_NAME).
	Name string
}

// Passkeys runs the WebAuthn ceremonies; nil when passkeys are off.
type Passkeys struct {
	wa *webauthn.WebAuthn
}

// PasskeysOff says why passkeys cannot work with appURL and the given
// relying party id (empty: they can): browsers refuse an IP address as
// a relying-party id, and WebAuthn needs a secure context.
func PasskeysOff(appURL, rpID string) string {
	u, err := url.Parse(appURL)
	if err != nil {
		return "APP_URL is not a URL"
	}
	host := u.Hostname()
	if rpID == "" {
		rpID = host
	}
	if net.ParseIP(rpID) != nil {
		return "Passkeys need a domain name: browsers refuse an IP address such as " + rpID + ". Open the app at localhost or a domain."
	}
	if u.Scheme != "https" && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return "Passkeys need https (or localhost)."
	}
	return ""
}

// NewPasskeys returns the relying party of cfg.
func NewPasskeys(cfg PasskeyConfig) (*Passkeys, error) {
	wa, err := webauthn.New(&webauthn.Config{
		RPID: cfg.RPID, RPDisplayName: cfg.Name, RPOrigins: cfg.Origins,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationPreferred,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: passkeyChallengeTTL, TimeoutUVD: passkeyChallengeTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: passkeyChallengeTTL, TimeoutUVD: passkeyChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("identity: passkeys: %w", err)
	}
	return &Passkeys{wa: wa}, nil
}

// waUser is a user as go-webauthn sees it: the user handle is the user
// id, so a discoverable credential names its user.
type waUser struct {
	u     *store.User
	creds []webauthn.Credential
}

func (w waUser) WebAuthnID() []byte   { return []byte(w.u.ID) }
func (w waUser) WebAuthnName() string { return orElse(w.u.PrimaryEmail(), w.u.ID) }
func (w waUser) WebAuthnDisplayName() string {
	return orElse(strings.TrimSpace(w.u.FirstName+" "+w.u.LastName), w.WebAuthnName())
}
func (w waUser) WebAuthnCredentials() []webauthn.Credential {
	return w.creds
}

func orElse(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func credentialOf(p store.Passkey) webauthn.Credential {
	c := webauthn.Credential{ID: p.CredentialID, PublicKey: p.PublicKey, AttestationType: p.AttestationType,
		AttestationFormat: p.AttestationFormat,
		Flags: webauthn.CredentialFlags{UserPresent: true, UserVerified: p.UserVerified,
			BackupEligible: p.BackupEligible, BackupState: p.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount}}
	for _, t := range p.Transports {
		c.Transport = append(c.Transport, protocol.AuthenticatorTransport(t))
	}
	return c
}

func (s *Service) passkeyUser(ctx context.Context, u *store.User) (waUser, error) {
	list, err := s.store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return waUser{}, err
	}
	w := waUser{u: u}
	for _, p := range list {
		w.creds = append(w.creds, credentialOf(p))
	}
	return w, nil
}

func errPasskeysOff() *Error {
	return &Error{Status: http.StatusNotFound, Code: "passkeys_disabled", Message: "Passkeys are not available here.",
		LongMessage: "Passkeys are not enabled for this instance."}
}

func errPasskeyInvalid() *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "passkey_invalid", Param: "public_key_credential",
		Message: "That passkey could not be verified. Try again.", LongMessage: "The passkey credential could not be verified."}
}

func errPasskeyChallenge() *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "passkey_challenge_invalid",
		Message: "That passkey request expired or was used already. Try again.", LongMessage: "The passkey challenge is unknown, used or expired."}
}

// PasskeysEnabled reports whether passkeys work on this instance, and
// when they do not, why.
func (s *Service) PasskeysEnabled() (bool, string) { return s.cfg.Passkeys != nil, s.cfg.PasskeysOff }

// PasskeyOptions is a ceremony begun: ID names it when it is finished,
// and Options is the JSON the browser passes to navigator.credentials
// ({"publicKey": …}).
type PasskeyOptions struct {
	ID      string
	Options json.RawMessage
}

func (s *Service) keepChallenge(ctx context.Context, purpose, userID string, options any, session *webauthn.SessionData) (*PasskeyOptions, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, fmt.Errorf("identity: passkey options: %w", err)
	}
	data, err := json.Marshal(session)
	if err != nil {
		return nil, fmt.Errorf("identity: passkey session: %w", err)
	}
	c := store.WebAuthnChallenge{ID: randid.New("pkc"), UserID: userID, Purpose: purpose, Session: data,
		ExpireAt: s.now().Add(passkeyChallengeTTL).UnixMilli()}
	if err := s.store.PutWebAuthnChallenge(ctx, c); err != nil {
		return nil, fmt.Errorf("identity: passkey challenge: %w", err)
	}
	return &PasskeyOptions{ID: c.ID, Options: opts}, nil
}

// takeChallenge uses challenge id of purpose for userID ("" for a
// sign-in) once.
func (s *Service) takeChallenge(ctx context.Context, id, purpose, userID string) (*webauthn.SessionData, error) {
	if id == "" || len(id) > 64 {
		return nil, errPasskeyChallenge()
	}
	c, err := s.store.TakeWebAuthnChallenge(ctx, id, purpose, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errPasskeyChallenge()
	}
	if err != nil {
		return nil, err
	}
	if c.UserID != userID || c.ExpireAt <= s.now().UnixMilli() {
		return nil, errPasskeyChallenge()
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Session, &sd); err != nil {
		return nil, fmt.Errorf("identity: passkey session: %w", err)
	}
	return &sd, nil
}

// BeginPasskeyRegistration starts adding a passkey to this account: a
// discoverable credential, user verification preferred, none of the
// user's own again. It is a sensitive action.
func (a *Account) BeginPasskeyRegistration(ctx context.Context) (*PasskeyOptions, error) {
	s := a.svc
	if s.cfg.Passkeys == nil {
		return nil, errPasskeysOff()
	}
	if err := a.sensitive(); err != nil {
		return nil, err
	}
	if a.user.PasskeyCount >= store.MaxPasskeys {
		return nil, errTooManyPasskeys()
	}
	w, err := s.passkeyUser(ctx, a.user)
	if err != nil {
		return nil, err
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range w.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, session, err := s.cfg.Passkeys.wa.BeginRegistration(w, webauthn.WithExclusions(exclude),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
	if err != nil {
		return nil, fmt.Errorf("identity: begin passkey registration: %w", err)
	}
	return s.keepChallenge(ctx, purposeRegister, a.user.ID, creation, session)
}

func errTooManyPasskeys() *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "passkey_limit_reached",
		Message:     fmt.Sprintf("You have %d passkeys, the most allowed. Delete one first.", store.MaxPasskeys),
		LongMessage: "The user has the maximum number of passkeys."}
}

// FinishPasskeyRegistration checks the browser's answer (the
// PublicKeyCredential as JSON) to challenge id and stores the passkey as
// name (a default when empty).
func (a *Account) FinishPasskeyRegistration(ctx context.Context, id string, credential []byte, name string) (*store.Passkey, error) {
	s := a.svc
	if s.cfg.Passkeys == nil {
		return nil, errPasskeysOff()
	}
	if err := a.noActor(); err != nil {
		return nil, err
	}
	name, err := passkeyName(name)
	if err != nil {
		return nil, err
	}
	session, err := s.takeChallenge(ctx, id, purposeRegister, a.user.ID)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		s.log.InfoContext(ctx, "passkey registration refused", "user_id", a.user.ID, "error", err)
		return nil, errPasskeyInvalid()
	}
	w, err := s.passkeyUser(ctx, a.user)
	if err != nil {
		return nil, err
	}
	c, err := s.cfg.Passkeys.wa.CreateCredential(w, *session, parsed)
	if err != nil {
		s.log.InfoContext(ctx, "passkey registration refused", "user_id", a.user.ID, "error", err)
		return nil, errPasskeyInvalid()
	}
	p := store.Passkey{UserID: a.user.ID, CredentialID: c.ID, PublicKey: c.PublicKey, AttestationType: c.AttestationType,
		AttestationFormat: c.AttestationFormat, AAGUID: c.Authenticator.AAGUID, SignCount: c.Authenticator.SignCount,
		UserVerified: c.Flags.UserVerified, BackupEligible: c.Flags.BackupEligible, BackupState: c.Flags.BackupState, Name: name}
	for _, t := range c.Transport {
		p.Transports = append(p.Transports, string(t))
	}
	if p.Name == "" {
		p.Name = "Passkey"
		if p.BackupEligible {
			p.Name = "Synced passkey"
		}
	}
	added, err := s.store.AddPasskey(ctx, p)
	switch {
	case errors.Is(err, store.ErrTooMany):
		return nil, errTooManyPasskeys()
	case errors.Is(err, store.ErrConflict):
		return nil, &Error{Status: http.StatusUnprocessableEntity, Code: "passkey_exists", Message: "That passkey is registered already.",
			LongMessage: "The credential is registered already."}
	case err != nil:
		return nil, fmt.Errorf("identity: add passkey: %w", err)
	}
	s.log.InfoContext(ctx, "passkey added", "user_id", a.user.ID, "passkey_id", added.ID)
	return added, a.reload(ctx)
}

func passkeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", paramFormat("name", "A passkey's name is at most 64 characters, without control characters.")
	}
	return name, nil
}

// Passkeys are this account's passkeys, oldest first.
func (a *Account) Passkeys(ctx context.Context) ([]store.Passkey, error) {
	if a.user.PasskeyCount == 0 {
		return nil, nil
	}
	return a.svc.store.ListPasskeys(ctx, a.user.ID)
}

// RenamePasskey names the account's passkey id.
func (a *Account) RenamePasskey(ctx context.Context, id, name string) error {
	if err := a.noActor(); err != nil {
		return err
	}
	name, err := passkeyName(name)
	if err != nil {
		return err
	}
	if name == "" {
		return paramMissing("name")
	}
	if err := a.svc.store.RenamePasskey(ctx, a.user.ID, id, name); errors.Is(err, store.ErrNotFound) {
		return errPasskeyNotFound()
	} else if err != nil {
		return fmt.Errorf("identity: rename passkey: %w", err)
	}
	return nil
}

func errPasskeyNotFound() *Error {
	return &Error{Status: http.StatusNotFound, Code: "resource_not_found", Message: "That passkey does not exist.",
		LongMessage: "No passkey was found with that id."}
}

// DeletePasskey removes the account's passkey id, unless it is the last
// way left to sign in. It is a sensitive action.
func (a *Account) DeletePasskey(ctx context.Context, id string) error {
	if err := a.sensitive(); err != nil {
		return err
	}
	_, err := a.svc.store.DeletePasskey(ctx, a.user.ID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errPasskeyNotFound()
	case errors.Is(err, store.ErrLastSignInMethod):
		return &Error{Status: http.StatusUnprocessableEntity, Code: "passkey_last_method",
			Message:     "This is your only way to sign in. Set a password or connect an account first.",
			LongMessage: "The passkey is the user's last way to sign in."}
	case err != nil:
		return fmt.Errorf("identity: delete passkey: %w", err)
	}
	a.svc.log.InfoContext(ctx, "passkey deleted", "user_id", a.user.ID, "passkey_id", id)
	return a.reload(ctx)
}

// BeginPasskeySignIn starts a sign-in with a discoverable credential: no
// address is needed, the passkey names its user.
func (s *Service) BeginPasskeySignIn(ctx context.Context) (*PasskeyOptions, error) {
	if s.cfg.Passkeys == nil {
		return nil, errPasskeysOff()
	}
	assertion, session, err := s.cfg.Passkeys.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, fmt.Errorf("identity: begin passkey sign-in: %w", err)
	}
	return s.keepChallenge(ctx, purposeSignIn, "", assertion, session)
}

// FinishPasskeySignIn checks the browser's assertion for challenge id and
// signs its user in. A passkey verified with user verification is both
// factors (fva [0, 0]); without it, it is the first and a user with a
// second factor still needs it. A sign count that goes backwards means a
// cloned authenticator: refused and logged.
func (s *Service) FinishPasskeySignIn(ctx context.Context, id string, credential []byte, clientCookie, origin string) (*SignedIn, error) {
	if s.cfg.Passkeys == nil {
		return nil, errPasskeysOff()
	}
	session, err := s.takeChallenge(ctx, id, purposeSignIn, "")
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		s.log.InfoContext(ctx, "passkey sign-in refused", "error", err)
		return nil, errPasskeyInvalid()
	}
	var stored *store.Passkey
	var owner *store.User
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		p, err := s.store.GetPasskeyByCredential(ctx, rawID)
		if err != nil {
			return nil, err
		}
		if string(userHandle) != p.UserID {
			return nil, errors.New("the user handle is not the credential's user")
		}
		u, err := s.store.GetUser(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		stored, owner = p, u
		return waUser{u: u, creds: []webauthn.Credential{credentialOf(*p)}}, nil
	}
	c, err := s.cfg.Passkeys.wa.ValidateDiscoverableLogin(handler, *session, parsed)
	if err != nil {
		s.log.InfoContext(ctx, "passkey sign-in refused", "error", err)
		return nil, errPasskeyInvalid()
	}
	if c.Authenticator.CloneWarning {
		s.log.WarnContext(ctx, "passkey sign count went backwards: possibly a cloned authenticator",
			"user_id", owner.ID, "passkey_id", stored.ID, "stored", stored.SignCount, "presented", parsed.Response.AuthenticatorData.Counter)
		return nil, errPasskeyInvalid()
	}
	// A refused account records no use of its passkey.
	if owner.Banned {
		return nil, errBanned()
	}
	if now := s.now(); owner.LockedUntil > now.UnixMilli() {
		return nil, errLockedUntil(owner.LockedUntil, now)
	}
	if err := s.store.UsePasskey(ctx, stored.ID, c.Authenticator.SignCount, c.Flags.BackupState); err != nil {
		if errors.Is(err, store.ErrReplayed) {
			s.log.WarnContext(ctx, "passkey sign count raced or went backwards", "user_id", owner.ID, "passkey_id", stored.ID)
			return nil, errPasskeyInvalid()
		}
		return nil, fmt.Errorf("identity: passkey sign-in: %w", err)
	}
	lockedUntil, err := s.store.RecordSignIn(ctx, owner.ID)
	if err != nil {
		return nil, fmt.Errorf("identity: passkey sign-in: %w", err)
	}
	if lockedUntil > 0 {
		return nil, errLockedUntil(lockedUntil, s.now())
	}
	verified := parsed.Response.AuthenticatorData.Flags.HasUserVerified()
	s.log.InfoContext(ctx, "user signed in", "user_id", owner.ID, "strategy", StrategyPasskey, "user_verified", verified)
	if !verified {
		return s.startSessionBy(ctx, owner, StrategyPasskey, clientCookie, origin)
	}
	// Possession and user verification: both factors at once.
	cl, secret := s.newClient(ctx, clientCookie)
	sess := s.newSession(ctx, cl.ID, owner.ID)
	sess.Strategy = StrategyPasskey
	sess.SecondFactorVerifiedAt = sess.FactorVerifiedAt
	if err := s.store.CreateSession(ctx, *cl, *sess); err != nil {
		return nil, fmt.Errorf("identity: create session: %w", err)
	}
	return s.signedIn(ctx, owner, sess, secret, origin)
}
