package auth

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/httpapi"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// Options configure the [Middleware].
type Options struct {
	// SecretKey is the instance secret (CLERK_SECRET_KEY). GetAuth refuses
	// to work without it.
	SecretKey string
	// Verifier checks session tokens.
	Verifier *token.Verifier
	// Identity refreshes session tokens from the client cookie and mints
	// new ones. Nil in verify-only mode: no refresh, no minting.
	Identity *identity.Service
	// Client is the backend client handed to handlers via [ClerkClient].
	Client *clerkclient.Client
	// Limiter counts SignIn and SignUp attempts per client IP; nil allows
	// every attempt.
	Limiter *httpapi.Limiter
	// Redirects checks redirect_url values and builds sign-in redirects.
	Redirects *Redirects
	// Refusals answer the requests Protect and Require refuse (the 403
	// page for a page request that is signed in but not allowed).
	Refusals Refusals
	Logger   *slog.Logger
}

// Middleware resolves who is calling and stores it in the request context
// for [GetAuth]; it never rejects a request (use [Protect] for that).
//
//  1. An Authorization header decides when present: a Bearer token (or a
//     bare token) is verified and cookies are ignored. Tokens starting
//     mt_, ak_ or oat_ are machine tokens, looked up in the store on every
//     request, so a revocation holds from the next one. No refresh on
//     this path.
//  2. Otherwise a __session cookie that verifies signs the request in.
//  3. Otherwise, when a __client cookie is present, the token is refreshed
//     inline: a live session gets a new __session cookie and the request
//     continues signed in; a session that is over has both cookies
//     cleared. This replaces Clerk's handshake redirect.
//  4. Otherwise the request is signed out.
//
// Signed-out responses carry X-Clerk-Auth-Status and X-Clerk-Auth-Reason.
func Middleware(o Options) func(http.Handler) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	opts := &o
	// net/http's limit on the number of cookies can be changed with
	// GODEBUG; then only r.Cookie knows it.
	quickCookies := !strings.Contains(os.Getenv("GODEBUG"), "httpcookiemaxnum")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := &requestState{Context: r.Context(), opts: opts, presented: SessionToken, quickCookies: quickCookies}
			st.resolve(w, r)
			if st.claims == nil && st.machine == nil {
				w.Header().Set("X-Clerk-Auth-Status", "signed-out")
				w.Header().Set("X-Clerk-Auth-Reason", st.reason)
			}
			next.ServeHTTP(w, r.WithContext(st))
		})
	}
}

func tokenTypeOf(tok string) TokenType {
	switch {
	case strings.HasPrefix(tok, clerkclient.M2MTokenPrefix):
		return M2MToken
	case strings.HasPrefix(tok, clerkclient.APIKeyPrefix):
		return APIKey
	case strings.HasPrefix(tok, clerkclient.OAuthTokenPrefix):
		return OAuthToken
	}
	return SessionToken
}

func (st *requestState) resolve(w http.ResponseWriter, r *http.Request) {
	o := st.opts
	if tok, ok := token.Bearer(r); ok {
		st.presented = tokenTypeOf(tok)
		if st.presented != SessionToken {
			st.verifyMachine(r.Context(), tok)
			return
		}
		st.verify(tok)
		return
	}
	// The quick path skips r.Cookie's allocations and byte checks; see
	// firstCookie for why the outcome is the same.
	quick := ""
	if st.quickCookies {
		quick = firstCookie(r, identity.SessionCookie)
	}
	if quick != "" && st.verify(quick) {
		return
	}
	if c, err := r.Cookie(identity.SessionCookie); err == nil && c.Value != "" {
		// The quick path already verified this value: keep its reason.
		if c.Value != quick && st.verify(c.Value) {
			return
		}
	} else {
		st.reason = "session-token-missing"
	}
	client := identity.ClientCookieValue(r)
	if client == "" || o.Identity == nil {
		return
	}
	res, err := o.Identity.Refresh(r.Context(), client, r.Header.Get("Origin"))
	switch {
	case errors.Is(err, identity.ErrSignedOut):
		o.Identity.Cookies().Clear(w)
		st.reason = "session-ended"
	case err != nil:
		// The store is unreachable: stay signed out for this request but
		// keep the cookies, the session may well be alive.
		o.Logger.ErrorContext(r.Context(), "session refresh failed", "err", err)
		st.reason = "refresh-failed"
	default:
		o.Identity.Cookies().SetSession(w, res.Token)
		st.claims, st.tok, st.reason = res.Claims, res.Token, ""
	}
}

func (st *requestState) verify(tok string) bool {
	c, err := st.opts.Verifier.Verify(tok)
	if err != nil {
		st.reason = token.Reason(err)
		return false
	}
	st.claims, st.tok, st.reason = c, tok, ""
	return true
}
