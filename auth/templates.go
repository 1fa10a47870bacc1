package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// ErrSessionEnded is returned by [Auth.GetToken] when it must mint a token
// for a session that was revoked or ended since this request's token was
// issued.
var ErrSessionEnded = errors.New("auth: the session has ended; it can mint no more tokens")

// templateToken mints a token from the JWT template called name for this
// request's session.
func (a *Auth) templateToken(ctx context.Context, name string) (string, error) {
	tok, err := a.minter.MintTemplateToken(ctx, a.SessionClaims, name)
	switch {
	case errors.Is(err, identity.ErrTemplateNotFound):
		return "", fmt.Errorf("%w: %q", ErrTemplateNotFound, name)
	case errors.Is(err, identity.ErrSignedOut):
		return "", ErrSessionEnded
	case err != nil:
		return "", fmt.Errorf("auth: mint a %q template token: %w", name, err)
	}
	return tok, nil
}
