package auth

import "context"

// templateToken mints a token from the JWT template called name for this
// request's session.
func (a *Auth) templateToken(ctx context.Context, name string) (string, error) {
	return "", ErrTemplateNotFound
}
