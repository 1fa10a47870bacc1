package app

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/auth/httpapi"
	"github.com/gatehouse-dev/gatehouse/auth/token"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// newVerifyOnly builds the process CLERK_JWT_KEY asks for: it verifies
// session tokens (Bearer header or __session cookie) with the public keys
// alone and serves the API routes that need nothing else. It opens no
// database, never refreshes a token and never mints one.
func newVerifyOnly(cfg *config.Config, log *slog.Logger) (*App, error) {
	pub, err := token.ParsePublicKeysPEM(cfg.JWTKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("CLERK_JWT_KEY: %w", err)
	}
	keys := token.NewKeyring(pub...)
	verifier := token.NewVerifier(token.VerifierConfig{
		Keys: keys, Issuer: cfg.AppURL, AuthorizedParties: cfg.AuthorizedParties, TokenTTL: cfg.SessionTokenTTL,
	})
	authenticate := auth.Middleware(auth.Options{SecretKey: cfg.SecretKey, Verifier: verifier, Logger: log})

	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(middleware.GetHead)
	r.Use(hostGuard(cfg))
	r.Use(SecurityHeaders(cfg.Production))
	// No pages: every refusal is JSON.
	r.NotFound(auth.Refusals{}.Handler(http.StatusNotFound, "resource_not_found", "No route matches this path.").ServeHTTP)
	r.Handle("/healthz", Healthz())
	r.Handle("/readyz", Healthz()) // no store: ready whenever up
	r.Handle("/.well-known/jwks.json", httpapi.JWKSHandler(keys.JWKS))
	r.Group(func(r chi.Router) {
		r.Use(authenticate)
		r.Handle("/api/me", apiRoute(log, api.GetOnly(api.Me)))
		r.Handle("/api/token", apiRoute(log, api.GetOnly(api.Token)))
	})
	return &App{Handler: r, Keys: keys}, nil
}
