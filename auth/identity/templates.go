package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// ErrTemplateNotFound means no JWT template has the requested name.
var ErrTemplateNotFound = errors.New("identity: JWT template not found")

// MintTemplateToken mints a token from the JWT template called name for
// the session whose verified claims are c. The session must still be live:
// a revoked or ended session gets ErrSignedOut, not a token. The claims
// are built from the store now, as a session token's are at a refresh: a
// presented token may be up to a minute old, and a template token lives
// much longer, so its organization and actor never come from c.
func (s *Service) MintTemplateToken(ctx context.Context, c *token.Claims, name string) (string, error) {
	if c == nil {
		return "", ErrSignedOut
	}
	sess, err := s.liveSession(ctx, c.SessionID)
	if err != nil {
		return "", err
	}
	fresh, err := s.sessionClaims(ctx, sess, c.AuthorizedParty)
	if err != nil {
		return "", err
	}
	return s.MintSessionTemplateToken(ctx, sess, fresh, name)
}

// MintSessionTemplateToken mints a token from the JWT template called
// name for a live session already read from the store, with c the
// session token claims of this request.
func (s *Service) MintSessionTemplateToken(ctx context.Context, sess *store.Session, c *token.Claims, name string) (string, error) {
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
		UserID: u.ID, FirstName: u.FirstName, LastName: u.LastName, PrimaryEmailAddress: u.PrimaryEmail(), EmailVerified: u.PrimaryEmailVerified(),
		PublicMetadata: u.PublicMetadata, SessionID: sess.ID, Org: c.Org,
	}, token.TemplateToken{
		Issuer: s.cfg.Issuer, Subject: u.ID, SessionID: sess.ID, AuthorizedParty: azp,
		IssuedAt: s.now(), Lifetime: t.Lifetime, AllowedClockSkew: t.AllowedClockSkew, Actor: c.Actor,
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

// MintTemplateTokenForSession mints a token from the JWT template called
// name for the live session sid, its claims read from the store (the
// Backend API's POST /sessions/{id}/tokens/{template}).
func (s *Service) MintTemplateTokenForSession(ctx context.Context, sid, name string) (string, error) {
	sess, err := s.liveSession(ctx, sid)
	if err != nil {
		return "", err
	}
	c, err := s.sessionClaims(ctx, sess, "")
	if err != nil {
		return "", err
	}
	return s.MintSessionTemplateToken(ctx, sess, c, name)
}
