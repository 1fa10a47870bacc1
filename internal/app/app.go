package app

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/httpapi"
	"github.com/gatehouse-dev/gatehouse/auth/social"
	"github.com/gatehouse-dev/gatehouse/auth/webhook"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/identity/password"
	"github.com/gatehouse-dev/gatehouse/auth/mail"
	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
	"github.com/gatehouse-dev/gatehouse/components"
	"github.com/gatehouse-dev/gatehouse/internal/appdata"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/loadtest"
	"github.com/gatehouse-dev/gatehouse/pages"
	"github.com/gatehouse-dev/gatehouse/static"
)

// App is the wired application: its handler, the backend client (for
// seeding), the services (for commands and tests), the signing keys and the
// store to close. A verify-only app has neither store nor client.
type App struct {
	Handler  http.Handler
	Store    *store.DB
	Data     *appdata.DB // the example app's own tables
	Client   *clerkclient.Client
	Identity *identity.Service
	Orgs     *identity.Orgs
	Actors   *identity.ActorTokens
	Keys     *token.Keyring
	// Webhooks delivers the outbox's events to the webhook endpoints; it
	// runs in the background until Close.
	Webhooks *webhook.Dispatcher
	stop     context.CancelFunc // stops the key reloader and the dispatcher
}

func (a *App) Close() error {
	if a.stop != nil {
		a.stop()
	}
	if a.Store == nil {
		return nil
	}
	return a.Store.Close()
}

// New builds the store, the identity service and the router.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*App, error) {
	if cfg.VerifyOnly() {
		return newVerifyOnly(cfg, log)
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	data, err := appdata.Open(ctx, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	keys, err := token.LoadKeyring(ctx, st, cfg.EncryptionKey, cfg.SigningKeyPEM)
	if err != nil {
		st.Close()
		return nil, err
	}

	templateKeys, err := token.NewTemplateSealer(cfg.EncryptionKey)
	if err != nil {
		st.Close()
		return nil, err
	}
	totpKeys, err := token.NewSealer(cfg.EncryptionKey, identity.TOTPSecretsPurpose)
	if err != nil {
		st.Close()
		return nil, err
	}
	hasher := password.NewHasher(password.DefaultParams, 0)
	cookies, err := identity.NewCookies(cfg.EncryptionKey, cfg.Secure(), cfg.SessionMaxAge)
	if err != nil {
		st.Close()
		return nil, err
	}
	// Mail goes out by SMTP when it is configured; in development,
	// otherwise, to the in-process mailbox shown at /dev/mailbox.
	var mailbox *mail.Mailbox
	var sender mail.Sender
	switch {
	case cfg.SMTPURL != "":
		if sender, err = mail.ParseSMTPURL(cfg.SMTPURL, cfg.MailFrom); err != nil {
			st.Close()
			return nil, err
		}
	case !cfg.Production:
		mailbox = mail.NewMailbox(100)
		sender = mailbox
	default:
		log.Warn("SMTP_URL is not set: no mail is sent (verification codes, password resets, invitations)")
	}
	codeKey, err := hkdf.Key(sha256.New, cfg.EncryptionKey, nil, "gatehouse one-time code hmac", 32)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("derive the code key: %w", err)
	}
	providers, err := oauthProviders(ctx, cfg, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	passkeys, passkeysOff, err := newPasskeys(cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	if passkeysOff != "" && !cfg.Production {
		log.Info("passkeys are off", "reason", passkeysOff)
	}
	mailGate := identity.NewMailGate(st, identity.DefaultMailLimits())
	orgRoles := InstanceRoles()
	idCfg := identity.Config{
		Issuer: cfg.AppURL, AppOrigin: cfg.AppOrigin, AuthorizedParties: cfg.AuthorizedParties,
		TokenTTL: cfg.SessionTokenTTL, SessionMaxAge: cfg.SessionMaxAge, TemplateKeys: templateKeys,
		Roles: orgRoles, OrganizationsRequired: cfg.OrganizationsRequired, ReservedEmails: cfg.AdminEmails,
		AdminUserIDs: cfg.AdminUserIDs, ImpersonationMaxAge: cfg.ImpersonationMaxAge,
		SignUpVerification: cfg.SignUpVerification, SignInDelay: cfg.SignInDelay, Development: !cfg.Production, CodeKey: codeKey, Mail: mailGate,
		AppName: cfg.AppName, TOTPKeys: totpKeys, ReverificationMaxAge: cfg.ReverificationMaxAge, MFARequired: cfg.MFARequired,
		Providers: providers, Passkeys: passkeys, PasskeysOff: passkeysOff,
	}
	if sender != nil {
		idCfg.SendCode = func(ctx context.Context, m identity.CodeMail) error { return sender.Send(ctx, codeEmail(m)) }
	}
	idsvc := identity.New(idCfg, st, keys, cookies, hasher, log)
	verifier := token.NewVerifier(token.VerifierConfig{
		Keys: keys, Issuer: cfg.AppURL, AuthorizedParties: cfg.AuthorizedParties, TokenTTL: cfg.SessionTokenTTL,
	})
	orgsCfg := identity.OrgsConfig{BaseURL: cfg.AppURL, Roles: orgRoles, Log: log, Mail: mailGate}
	if sender != nil {
		orgsCfg.SendInvitation = func(ctx context.Context, m identity.InvitationMessage) error {
			return sender.Send(ctx, invitationEmail(m))
		}
	}
	orgs := identity.NewOrgs(st, orgsCfg)
	actorTokens := identity.NewActorTokens(st, identity.ActorTokensConfig{
		BaseURL: cfg.AppURL, AdminUserIDs: cfg.AdminUserIDs, AdminEmails: cfg.AdminEmails, Log: log,
	})
	client := clerkclient.NewClient(st, hasher, clerkclient.WithOrgs(orgs), clerkclient.WithActorTokens(actorTokens),
		clerkclient.WithEncryptionKey(cfg.EncryptionKey), clerkclient.WithSecondFactors(idsvc),
		clerkclient.WithWebhookPolicy(cfg.WebhookAllowPrivate), clerkclient.WithInstanceID(instanceID(cfg)))
	redirects, err := auth.NewRedirects(cfg.AppURL, cfg.AuthorizedParties, cfg.SignInURL)
	if err != nil {
		st.Close()
		return nil, err
	}
	site := &pages.Site{
		Env: components.ClientEnv{
			PublishableKey: cfg.PublishableKey, FrontendAPI: "/__clerk/v1",
			SignInURL: cfg.SignInURL, SignUpURL: cfg.SignUpURL, AfterSignOutURL: cfg.AfterSignOutURL,
		},
		Redirects: redirects, Log: log, Development: !cfg.Production,
		SignInFallback: cfg.SignInFallbackRedirectURL, SignUpFallback: cfg.SignUpFallbackRedirect,
		AfterSignOut: cfg.AfterSignOutURL,
	}
	refusals := auth.Refusals{Page: site.ErrorPage}
	limiter := httpapi.NewLimiter(cfg.SignInRateLimit, time.Minute, func(r *http.Request) string {
		return middleware.GetClientIP(r.Context())
	})

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(refusals.Handler(http.StatusForbidden, "cross_origin_request", "State-changing requests must come from this site."))
	for _, p := range cfg.AuthorizedParties {
		if p != cfg.AppOrigin {
			if err := csrf.AddTrustedOrigin(p); err != nil {
				st.Close()
				return nil, fmt.Errorf("CLERK_AUTHORIZED_PARTIES: %w", err)
			}
		}
	}

	authenticate := auth.Middleware(auth.Options{
		SecretKey: cfg.SecretKey, Verifier: verifier, Identity: idsvc, Client: client,
		Limiter: limiter, Redirects: redirects, Refusals: refusals, Logger: log,
	})

	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(middleware.GetHead) // HEAD is answered by the GET route
	if len(cfg.TrustedProxies) > 0 {
		r.Use(middleware.ClientIPFromXFF(cfg.TrustedProxies...))
	} else {
		r.Use(middleware.ClientIPFromRemoteAddr)
	}
	r.Use(hostGuard(cfg))
	var formOrigins []string
	for _, p := range providers {
		formOrigins = append(formOrigins, p.FormOrigins()...)
	}
	r.Use(SecurityHeaders(cfg.Production, formOrigins...))
	r.NotFound(authenticate(refusals.Handler(http.StatusNotFound, "resource_not_found", "No route matches this path.")).ServeHTTP)
	r.MethodNotAllowed(authenticate(site.MethodNotAllowedHandler()).ServeHTTP)

	// Public, cacheable responses stay outside the auth middleware, so an
	// inline refresh can never put a session cookie on them.
	r.Handle("/static/*", http.StripPrefix("/static/", static.Handler()))
	r.Handle("/healthz", Healthz())
	r.Handle("/readyz", Readyz(st))
	r.Handle("/.well-known/jwks.json", httpapi.JWKSHandler(keys.JWKS))
	// The backend API authenticates by secret keys in the Authorization
	// header only: no cookies, so no CSRF check and no session middleware.
	// @clerk/backend calls the M2M and API key routes without /v1; a prefix
	// (BACKEND_API_PREFIX) serves a Backend API URL with a path.
	bapi := httpapi.NewBackendAPI(client, idsvc, cfg.SecretKey, log).WithLimiter(
		httpapi.NewLimiter(cfg.BackendAPIRateLimit, time.Minute, func(r *http.Request) string { return middleware.GetClientIP(r.Context()) }))
	prefixes := []string{""}
	if cfg.BackendAPIPrefix != "" {
		prefixes = append(prefixes, cfg.BackendAPIPrefix)
	}
	for _, prefix := range prefixes {
		r.Mount(prefix+"/v1", http.StripPrefix(prefix+"/v1", bapi))
		r.Mount(prefix+"/m2m_tokens", http.StripPrefix(prefix, bapi))
		r.Mount(prefix+"/api_keys", http.StripPrefix(prefix, bapi))
	}
	if cfg.LoadTestRoutes {
		loadtest.Routes(r, site, log)
	}

	r.Group(func(r chi.Router) {
		r.Use(csrf.Handler)
		r.Use(authenticate)
		// The profile pages are protected in one place with a route
		// matcher; the dashboard shows the other way, a loader that
		// redirects.
		r.Use(auth.ProtectIf(auth.RouteMatcher("/profile(.*)")))
		routes(r, log, site, data, idsvc, limiter, mailbox)
	})
	webhookSecrets, err := token.NewSealer(cfg.EncryptionKey, clerkclient.WebhookSecretsPurpose)
	if err != nil {
		st.Close()
		return nil, err
	}
	dispatcher := webhook.NewDispatcher(st, webhook.Config{InstanceID: instanceID(cfg), Roles: orgRoles,
		Secrets: webhookSecrets, AllowPrivate: cfg.WebhookAllowPrivate, Logger: log})
	stopKeys := watchKeys(keys, cfg.SessionTokenTTL, log)
	stopWebhooks := runInBackground(dispatcher.Run)
	return &App{Handler: r, Store: st, Client: client, Identity: idsvc, Orgs: orgs, Actors: actorTokens, Keys: keys,
		Webhooks: dispatcher, stop: func() { stopWebhooks(); stopKeys() }}, nil
}

// InstanceRoles are the organization roles and their permissions, defined
// in one place for the server and the commands: change them here
// (roles.New) to add roles or permissions.
func InstanceRoles() *roles.Set { return roles.Default() }

// NewClient is the backend client of the command-line subcommands,
// with the same roles, links (APP_URL) and key encryption as the server's.
func NewClient(cfg *config.Config, st store.Store, log *slog.Logger) *clerkclient.Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return clerkclient.NewClient(st, password.NewHasher(password.DefaultParams, 0),
		clerkclient.WithOrgs(identity.NewOrgs(st, identity.OrgsConfig{BaseURL: cfg.AppURL, Roles: InstanceRoles(), Log: log})),
		clerkclient.WithActorTokens(identity.NewActorTokens(st, identity.ActorTokensConfig{BaseURL: cfg.AppURL, Log: log})),
		clerkclient.WithEncryptionKey(cfg.EncryptionKey), clerkclient.WithWebhookPolicy(cfg.WebhookAllowPrivate),
		clerkclient.WithInstanceID(instanceID(cfg)))
}

// oauthProviders sets up the providers of OAUTH_PROVIDERS. In production a
// provider whose discovery fails stops the start; in development it is
// tried again at the first sign-in, and each redirect URI is printed, to
// be registered with its provider.
func oauthProviders(ctx context.Context, cfg *config.Config, log *slog.Logger) ([]*social.Provider, error) {
	var out []*social.Provider
	for _, pc := range cfg.OAuthProviders {
		p, err := social.New(ctx, pc, social.Options{AppURL: cfg.AppURL,
			AllowInsecureLoopback: !cfg.Production, LazyDiscovery: !cfg.Production})
		if err != nil {
			return nil, err
		}
		if p.DiscoveryPending() {
			log.Warn("OAuth provider discovery failed; it is tried again at the first sign-in", "provider", p.Name(), "issuer", pc.Issuer)
		}
		if !cfg.Production {
			log.Info("sign-in with a provider: register this redirect URI with it", "provider", p.Name(), "redirect_uri", p.RedirectURI())
		}
		out = append(out, p)
	}
	return out, nil
}

// newPasskeys is the WebAuthn relying party of APP_URL (or PASSKEY_RP_ID
// and PASSKEY_ORIGINS), or nil and why passkeys cannot work there.
func newPasskeys(cfg *config.Config) (*identity.Passkeys, string, error) {
	if off := identity.PasskeysOff(cfg.AppURL, cfg.PasskeyRPID); off != "" {
		return nil, off, nil
	}
	p, err := identity.NewPasskeys(identity.PasskeyConfig{RPID: cfg.PasskeyRPID, Origins: cfg.PasskeyOrigins, Name: cfg.AppName})
	return p, "", err
}

// runInBackground runs fn until the returned stop is called, and stop
// waits for it to return (so the store is not closed under it).
func runInBackground(fn func(context.Context)) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// instanceID names this instance in webhook envelopes and machines, as
// Clerk's ins_ ids do: derived from APP_URL, so every instance of one deployment says
// the same.
func instanceID(cfg *config.Config) string {
	sum := sha256.Sum256([]byte(cfg.AppURL))
	return "ins_" + hex.EncodeToString(sum[:12])
}
