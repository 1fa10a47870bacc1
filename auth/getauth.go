package auth

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// Errors of [GetAuth]. Being signed out is not an error.
var (
	ErrInvalidRequest   = errors.New("auth: GetAuth was called with a nil request")
	ErrNoMiddleware     = errors.New("auth: GetAuth was called on a request the auth middleware did not see; install auth.Middleware on the router (r.Use(auth.Middleware(...))) before this handler")
	ErrMissingSecretKey = errors.New("auth: missing secret key; set CLERK_SECRET_KEY (run `gatehouse init` to create one) or pass auth.SecretKey")
)

// Option changes what [GetAuth] returns.
type Option func(*getAuthConfig)

type getAuthConfig struct {
	secretKey     string
	treatPending  bool
	acceptsTokens []TokenType
}

// SecretKey supplies the instance secret for this call, overriding the one
// the middleware was configured with.
func SecretKey(key string) Option { return func(c *getAuthConfig) { c.secretKey = key } }

// TreatPendingAsSignedOut, when true, returns a pending session as signed
// out (keeping SessionStatus "pending"). The default is false.
func TreatPendingAsSignedOut(v bool) Option { return func(c *getAuthConfig) { c.treatPending = v } }

// AcceptsToken sets which token types the caller accepts: SessionToken
// (the default), M2MToken, OAuthToken, APIKey, AnyToken, or several.
func AcceptsToken(types ...TokenType) Option {
	return func(c *getAuthConfig) { c.acceptsTokens = types }
}

// GetAuth returns the authentication state the [Middleware] resolved for
// r. It does no I/O, and repeated calls with the same options return the
// same value.
func GetAuth(r *http.Request, opts ...Option) (*Auth, error) {
	if r == nil {
		return nil, ErrInvalidRequest
	}
	st, ok := r.Context().Value(stateKey{}).(*requestState)
	if !ok {
		return nil, ErrNoMiddleware
	}
	var cfg getAuthConfig
	if len(opts) > 0 {
		cfg = configure(opts)
	}
	if cfg.secretKey == "" && st.opts.SecretKey == "" {
		return nil, ErrMissingSecretKey
	}
	if cfg.secretKey == "" && !cfg.treatPending && len(cfg.acceptsTokens) == 0 {
		// The defaults: the common case, built once without a lock.
		st.once.Do(func() { st.auth = st.build(getAuthConfig{}) })
		return st.auth, nil
	}
	// Same options, same value: remember each combination for the request.
	key := memoKey{secretKey: cfg.secretKey, treatPending: cfg.treatPending, accepts: fmt.Sprint(cfg.acceptsTokens)}
	st.mu.Lock()
	defer st.mu.Unlock()
	if a, ok := st.memo[key]; ok {
		return a, nil
	}
	a := st.build(cfg)
	if st.memo == nil {
		st.memo = map[memoKey]*Auth{}
	}
	st.memo[key] = a
	return a, nil
}

// configure applies opts. It is apart from GetAuth so that the config the
// options write through a pointer escapes to the heap only when there are
// options.
func configure(opts []Option) getAuthConfig {
	var cfg getAuthConfig
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

type memoKey struct {
	secretKey    string
	treatPending bool
	accepts      string
}

// build applies the options to what the middleware resolved, following
// Clerk's acceptsToken rules.
func (st *requestState) build(cfg getAuthConfig) *Auth {
	accepts := cfg.acceptsTokens
	if len(accepts) == 0 {
		accepts = []TokenType{SessionToken}
	}
	var a *Auth
	switch {
	case slices.Contains(accepts, AnyToken) || slices.Contains(accepts, st.presented):
		a = st.presentedAuth(cfg)
	case len(accepts) > 1:
		// A list that does not include the presented type: the
		// invalid-token object, whose type is null.
		a = signedOut("")
	default:
		// A single type that was not presented: an unauthenticated
		// object of the requested type.
		a = signedOut(accepts[0])
	}
	a.debug = debugInfo{reason: st.reason, secretKey: st.secretKey(cfg)}
	if !a.IsAuthenticated && a.debug.reason == "" && st.presented != a.TokenType {
		a.debug.reason = "token-type-mismatch"
	}
	return a
}

func (st *requestState) presentedAuth(cfg getAuthConfig) *Auth {
	if st.machine != nil {
		return authFromMachineToken(st.machine, st.tok)
	}
	if st.presented != SessionToken || st.claims == nil {
		return signedOut(st.presented)
	}
	if cfg.treatPending && st.claims.Status == "pending" {
		a := signedOut(SessionToken)
		a.SessionStatus = "pending"
		return a
	}
	a := authFromClaims(st.claims, st.tok)
	if st.opts.Identity != nil {
		a.minter = st.opts.Identity
	}
	return a
}

func (st *requestState) secretKey(cfg getAuthConfig) string {
	if cfg.secretKey != "" {
		return cfg.secretKey
	}
	return st.opts.SecretKey
}
