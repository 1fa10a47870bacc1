package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// ErrTemplateNotFound means no JWT template has the requested name.
var ErrTemplateNotFound = errors.New("identity: JWT template not found")

// MintTemplateToken mints a token from the JWT template called name for
// the session whose verified claims are c. The session must still be live:
// a revoked or ended session gets ErrSignedOut, not a token. Organization
// shortcodes take their values from c's "o" claim.
func (s *Service) MintTemplateToken(ctx context.Context, c *token.Claims, name string) (string, error) {
	if c == nil {
		return "", ErrSignedOut
	}
	sess, err := s.liveSession(ctx, c.SessionID)
	if err != nil {
		return "", err
	}
	return s.mintTemplate(ctx, sess, c, name)
}

func (s *Service) mintTemplate(ctx context.Context, sess *store.Session, c *token.Claims, name string) (string, error) {
	t, err := s.store.GetJWTTemplateByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrTemplateNotFound
	}
	if err != nil {
		return "", fmt.Errorf("identity: load JWT template: %w", err)
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrSignedOut
	}
	if err != nil {
		return "", fmt.Errorf("identity: load user: %w", err)
	}
	var key *token.TemplateKey
	if t.EncryptedSigningKey != nil {
		if s.cfg.TemplateKeys == nil {
			return "", errors.New("identity: JWT template has a custom key but no encryption key is configured")
		}
		raw, err := s.cfg.TemplateKeys.Open(t.EncryptedSigningKey)
		if err != nil {
			return "", fmt.Errorf("identity: decrypt the key of JWT template %s: %w", t.ID, err)
		}
		if key, err = token.LoadTemplateKey(t.SigningAlgorithm, raw); err != nil {
			return "", err
		}
	}
	azp := c.AuthorizedParty
	if azp == "" {
		azp = s.cfg.AppOrigin
	}
	claims, err := token.TemplateClaims(t.Claims, &token.ShortcodeData{
		UserID: u.ID, FirstName: u.FirstName, LastName: u.LastName, PrimaryEmailAddress: u.PrimaryEmail(),
		PublicMetadata: u.PublicMetadata, SessionID: sess.ID, Org: c.Org,
	}, token.TemplateToken{
		Issuer: s.cfg.Issuer, Subject: u.ID, SessionID: sess.ID, AuthorizedParty: azp,
		IssuedAt: s.now(), Lifetime: t.Lifetime, AllowedClockSkew: t.AllowedClockSkew,
	})
	if err != nil {
		return "", fmt.Errorf("identity: expand JWT template %s: %w", t.ID, err)
	}
	tok, err := s.keys.SignTemplate(claims, key)
	if err != nil {
		return "", fmt.Errorf("identity: sign JWT template token: %w", err)
	}
	return tok, nil
}

// templateToken is POST /client/sessions/{sid}/tokens/{template}: a token
// from the named JWT template for a live session of this browser. The
// session token is refreshed on the way (its claims carry the active
// organization the template's org shortcodes read).
func (f *FrontendAPI) templateToken(w http.ResponseWriter, r *http.Request) {
	res := f.refreshSession(w, r)
	if res == nil {
		return
	}
	tok, err := f.svc.mintTemplate(r.Context(), res.Session, res.Claims, r.PathValue("template"))
	switch {
	case errors.Is(err, ErrTemplateNotFound):
		f.fail(w, r, &Error{Status: http.StatusNotFound, Code: "resource_not_found",
			Message: "JWT template not found.", LongMessage: "No JWT template has this name."})
	case errors.Is(err, ErrSignedOut):
		f.signedOut(w)
	case err != nil:
		f.fail(w, r, err)
	default:
		WriteJSON(w, http.StatusOK, map[string]string{"object": "token", "jwt": tok})
	}
}
