// Gatehouse is a Go server-rendered web starter with Clerk-style
// authentication built in and self-hosted.
//
// This file only wires things together: configuration → store → identity
// service → router → server, and the command-line subcommands.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/auth/config"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/identity/password"
	"github.com/gatehouse-dev/gatehouse/auth/mail"
	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
	"github.com/gatehouse-dev/gatehouse/components"
	"github.com/gatehouse-dev/gatehouse/pages"
	"github.com/gatehouse-dev/gatehouse/static"
)

const usage = `Gatehouse: a Go web starter with authentication built in.

Usage: gatehouse [command] [flags]

Commands:
  serve          serve the app (the default)
  init           write .env with fresh secrets (keys only, never URLs or ports)
  migrate        create or migrate the database
  seed           add the demo accounts to an empty database (development only)
  users create   create a user
  impersonate    print a one-time link that signs an administrator in as a user
  keys           rotate or list the session-token signing keys
  jwt-templates  create, list or delete JWT templates
  machines       create, list or delete machines (M2M authentication)
  loadtest       measure this app on this machine (see docs/performance.md)

Run "gatehouse <command> --help" for a command's flags.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		cmd, args = "help", nil
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		cmd, args = args[0], args[1:]
	}
	if cmd == "users" {
		usersUsage := "usage: gatehouse users create --email ADDRESS --password PASSWORD [--first-name NAME] [--last-name NAME]"
		switch {
		case len(args) > 0 && args[0] == "create":
			cmd, args = "users create", args[1:]
		case len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
			fmt.Fprintln(stdout, usersUsage)
			return 0
		default:
			fmt.Fprintln(stderr, usersUsage)
			return 2
		}
	}
	var err error
	switch cmd {
	case "serve":
		err = cmdServe(ctx, args, stdout, stderr)
	case "init":
		err = cmdInit(args, stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, args, stdout, stderr)
	case "seed":
		err = cmdSeed(ctx, args, stdout, stderr)
	case "users create":
		err = cmdUsersCreate(ctx, args, stdout, stderr)
	case "impersonate":
		err = cmdImpersonate(ctx, args, stdout, stderr)
	case "keys":
		err = cmdKeys(ctx, args, stdout, stderr)
	case "jwt-templates":
		err = cmdJWTTemplates(ctx, args, stdout, stderr)
	case "machines":
		err = cmdMachines(ctx, args, stdout, stderr)
	case "loadtest":
		err = cmdLoadtest(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse:", err)
		return 1
	}
	return 0
}

func newFlags(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gatehouse %s [flags]\n\n%s\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

// loadConfig reads .env (in development) and the environment.
func loadConfig() (*config.Config, error) {
	if os.Getenv("APP_ENV") != "production" {
		if err := config.LoadDotEnv(".env"); err != nil {
			return nil, err
		}
	}
	return config.Load(os.Getenv)
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	if cfg.Production {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func cmdInit(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", "Writes .env with a fresh CLERK_SECRET_KEY and CLERK_ENCRYPTION_KEY\n(only those missing from an existing .env).", stderr)
	live := fs.Bool("live", false, "create an sk_live_ secret key for production")
	path := fs.String("file", ".env", "the file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	added, err := config.WriteDotEnv(*path, *live)
	if err != nil {
		return err
	}
	if len(added) == 0 {
		fmt.Fprintf(stdout, "%s already has its secrets; nothing to do\n", *path)
		return nil
	}
	fmt.Fprintf(stdout, "wrote %s to %s\n", strings.Join(added, " and "), *path)
	return nil
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "Creates the database if needed and applies pending migrations.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "database is up to date")
	return nil
}

func cmdSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("seed", "Adds the demo accounts when the database has no users (development only).", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if cfg.Production {
		return errors.New("seed: demo data is never added in production")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	seeded, err := seed(ctx, commandClient(cfg, st, nil), stdout)
	if err != nil {
		return err
	}
	if !seeded {
		fmt.Fprintln(stdout, "the database already has users; nothing seeded")
		return nil
	}
	printDemoAccounts(stdout)
	return nil
}

func cmdUsersCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("users create", "Creates a user with a password.", stderr)
	email := fs.String("email", "", "the user's email address (required)")
	pw := fs.String("password", "", "the user's password (required; 8-256 characters, not a common password)")
	first := fs.String("first-name", "", "first name")
	last := fs.String("last-name", "", "last name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" || *pw == "" {
		fs.Usage()
		return errors.New("users create: --email and --password are required")
	}
	return withClient(ctx, func(c *auth.Client) error {
		u, err := c.Users.CreateUser(ctx, auth.CreateUserParams{
			EmailAddress: []string{*email}, Password: pw, FirstName: first, LastName: last,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s (%s)\n", u.ID, u.PrimaryEmailAddress())
		return nil
	})
}

func cmdImpersonate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("impersonate", "Prints a sign-in link (single use, valid 10 minutes) that starts a session as --user\non behalf of --admin; the session's tokens carry the act claim.", stderr)
	admin := fs.String("admin", "", "the impersonating user: an id (user_…) or an email address (required)")
	target := fs.String("user", "", "the user to sign in as: an id or an email address (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *admin == "" || *target == "" {
		fs.Usage()
		return errors.New("impersonate: --admin and --user are required")
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	find := func(flagName, v string) (*store.User, error) {
		var u *store.User
		var err error
		if strings.HasPrefix(v, "user_") {
			u, err = st.GetUser(ctx, v)
		} else {
			u, err = st.GetUserByEmail(ctx, identity.NormalizeEmail(v))
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("impersonate: --%s: no user %q", flagName, v)
		}
		return u, err
	}
	a, err := find("admin", *admin)
	if err != nil {
		return err
	}
	u, err := find("user", *target)
	if err != nil {
		return err
	}
	actor, _ := json.Marshal(map[string]string{"sub": a.ID})
	tok, err := commandClient(cfg, st, newLogger(cfg, stderr)).ActorTokens.Create(ctx, auth.CreateActorTokenParams{UserID: u.ID, Actor: actor})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Open this link within 10 minutes to sign in as %s on behalf of %s (it works once):\n%s\n",
		u.PrimaryEmail(), a.PrimaryEmail(), tok.URL)
	return nil
}

// demoAccounts are the development accounts of the product specification.
var demoAccounts = []struct{ email, password, first, last, role, note string }{
	{"alice@example.com", "gatehouse-demo-alice", "Alice", "Admin", roles.Admin, "org:admin of Acme Inc"},
	{"bob@example.com", "gatehouse-demo-bob", "Bob", "Member", roles.Member, "org:member of Acme Inc"},
	{"carol@example.com", "gatehouse-demo-carol", "Carol", "Solo", "", "no organization"},
}

// The demo organization, created by its first admin.
const demoOrgName, demoOrgSlug = "Acme Inc", "acme"

// seed adds the demo accounts, the demo organization and the demo JWT
// template when there are no users yet, printing the template's
// development secret to out.
func seed(ctx context.Context, client *auth.Client, out io.Writer) (bool, error) {
	list, err := client.Users.GetUserList(ctx, auth.UserListParams{Limit: 1})
	if err != nil {
		return false, err
	}
	if list.TotalCount > 0 {
		return false, nil
	}
	var org *auth.Organization
	for _, a := range demoAccounts {
		u, err := client.Users.CreateUser(ctx, auth.CreateUserParams{
			EmailAddress: []string{a.email}, Password: &a.password, FirstName: &a.first, LastName: &a.last,
		})
		if err != nil {
			return false, fmt.Errorf("seed %s: %w", a.email, err)
		}
		switch {
		case a.role == "":
		case org == nil:
			// The organization's creator becomes its admin.
			org, err = client.Organizations.CreateOrganization(ctx, auth.CreateOrganizationParams{
				Name: demoOrgName, Slug: ptr(demoOrgSlug), CreatedBy: &u.ID,
			})
		default:
			_, err = client.Organizations.CreateOrganizationMembership(ctx, auth.CreateOrganizationMembershipParams{
				OrganizationID: org.ID, UserID: u.ID, Role: a.role,
			})
		}
		if err != nil {
			return false, fmt.Errorf("seed %s: %w", demoOrgName, err)
		}
	}
	if err := seedTemplates(ctx, client, out); err != nil {
		return false, err
	}
	return true, nil
}

func ptr[T any](v T) *T { return &v }

func printDemoAccounts(w io.Writer) {
	fmt.Fprintln(w, "Demo accounts:")
	for _, a := range demoAccounts {
		fmt.Fprintf(w, "  %-20s %-22s %s\n", a.email, a.password, a.note)
	}
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "Serves the app on PORT (default 3000). Migrates the database at start and, in\ndevelopment, seeds the demo accounts into an empty database.", stderr)
	listen := fs.String("listen", "", "the address to listen on (default :PORT, every interface)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.VerifyOnly() {
		fmt.Fprintln(stdout, "Verify-only mode (CLERK_JWT_KEY): serving /api/me, /api/token, /healthz and /readyz; no pages, no sign-in, no database.")
	} else if !cfg.Production {
		seeded, err := seed(ctx, a.client, stdout)
		if err != nil {
			return err
		}
		if seeded {
			fmt.Fprintln(stdout, "Seeded the demo accounts.")
		}
		printDemoAccounts(stdout)
	}

	srv := &http.Server{
		Addr:              cmp.Or(*listen, fmt.Sprintf(":%d", cfg.Port)),
		Handler:           a.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "Gatehouse is serving %s (listening on %s)\n", cfg.AppURL, srv.Addr)
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down; finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// app is the wired application: its handler, the backend client (for
// seeding), the services (for commands and tests), the signing keys and the
// store to close. A verify-only app has neither store nor client.
type app struct {
	handler http.Handler
	store   *store.DB
	client  *auth.Client
	ids     *identity.Service
	orgs    *identity.Orgs
	actors  *identity.ActorTokens
	keys    *token.Keyring
	stop    context.CancelFunc // stops the key reloader
}

func (a *app) Close() error {
	if a.stop != nil {
		a.stop()
	}
	if a.store == nil {
		return nil
	}
	return a.store.Close()
}

// newApp builds the store, the identity service and the router.
func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	if cfg.VerifyOnly() {
		return newVerifyOnlyApp(cfg, log)
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
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
	hasher := password.NewHasher(password.DefaultParams, 0)
	cookies, err := identity.NewCookies(cfg.EncryptionKey, cfg.Secure(), cfg.SessionMaxAge)
	if err != nil {
		st.Close()
		return nil, err
	}
	orgRoles := instanceRoles()
	idsvc := identity.New(identity.Config{
		Issuer: cfg.AppURL, AppOrigin: cfg.AppOrigin, AuthorizedParties: cfg.AuthorizedParties,
		TokenTTL: cfg.SessionTokenTTL, SessionMaxAge: cfg.SessionMaxAge, TemplateKeys: templateKeys,
		Roles: orgRoles, OrganizationsRequired: cfg.OrganizationsRequired, ReservedEmails: cfg.AdminEmails,
	}, st, keys, cookies, hasher, log)
	verifier := token.NewVerifier(token.VerifierConfig{
		Keys: keys, Issuer: cfg.AppURL, AuthorizedParties: cfg.AuthorizedParties, TokenTTL: cfg.SessionTokenTTL,
	})
	// Invitations go out by SMTP when it is configured; in development,
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
		log.Warn("SMTP_URL is not set: invitation links are not emailed")
	}
	orgsCfg := identity.OrgsConfig{BaseURL: cfg.AppURL, Roles: orgRoles, Log: log}
	if sender != nil {
		orgsCfg.SendInvitation = func(ctx context.Context, m identity.InvitationMessage) error {
			return sender.Send(ctx, pages.InvitationEmail(m))
		}
	}
	orgs := identity.NewOrgs(st, orgsCfg)
	actorTokens := identity.NewActorTokens(st, identity.ActorTokensConfig{
		BaseURL: cfg.AppURL, AdminUserIDs: cfg.AdminUserIDs, AdminEmails: cfg.AdminEmails, Log: log,
	})
	client := auth.NewClient(st, hasher, auth.WithOrgs(orgs), auth.WithActorTokens(actorTokens), auth.WithEncryptionKey(cfg.EncryptionKey))
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
		AfterSignOut: cfg.AfterSignOutURL, Orgs: orgs,
	}
	limiter := identity.NewLimiter(cfg.SignInRateLimit, time.Minute, func(r *http.Request) string {
		return middleware.GetClientIP(r.Context())
	})

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(refusal(site, api.ErrForbidden, "cross_origin_request", "State-changing requests must come from this site."))
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
		Redirects: redirects, Forbidden: site.ForbiddenHandler(), Logger: log,
	})

	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(middleware.GetHead) // HEAD is answered by the GET route
	if len(cfg.TrustedProxies) > 0 {
		r.Use(middleware.ClientIPFromXFF(cfg.TrustedProxies...))
	} else {
		r.Use(middleware.ClientIPFromRemoteAddr)
	}
	r.Use(pages.SecurityHeaders(cfg.Production))
	r.NotFound(authenticate(refusal(site, api.ErrNotFound, "resource_not_found", "No route matches this path.")).ServeHTTP)
	r.MethodNotAllowed(authenticate(site.MethodNotAllowedHandler()).ServeHTTP)

	// Public, cacheable responses stay outside the auth middleware, so an
	// inline refresh can never put a session cookie on them.
	r.Handle("/static/*", http.StripPrefix("/static/", static.Handler()))
	r.Handle("/healthz", pages.Healthz())
	r.Handle("/readyz", pages.Readyz(st))
	r.Handle("/.well-known/jwks.json", identity.JWKSHandler(keys.JWKS))
	// The backend API authenticates by secret keys in the Authorization
	// header only: no cookies, so no CSRF check and no session middleware.
	r.Mount("/v1", http.StripPrefix("/v1", auth.NewBackendAPI(client, cfg.SecretKey, log)))
	if cfg.LoadTestRoutes {
		loadTestRoutes(r, site, log)
	}

	r.Group(func(r chi.Router) {
		r.Use(csrf.Handler)
		r.Use(authenticate)
		// The profile pages are protected in one place with a route
		// matcher; the dashboard shows the other way, a loader that
		// redirects.
		r.Use(auth.ProtectIf(auth.RouteMatcher("/profile(.*)")))
		routes(r, log, site, st, idsvc, orgs, actorTokens, limiter, mailbox)
	})
	stopKeys := watchKeys(keys, cfg.SessionTokenTTL, log)
	return &app{handler: r, store: st, client: client, ids: idsvc, orgs: orgs, actors: actorTokens, keys: keys, stop: stopKeys}, nil
}

// instanceRoles are the organization roles and their permissions, defined
// in one place for the server and the commands: change them here
// (roles.New) to add roles or permissions.
func instanceRoles() *roles.Set { return roles.Default() }

// commandClient is the backend client of the command-line subcommands,
// with the same roles, links (APP_URL) and key encryption as the server's.
func commandClient(cfg *config.Config, st store.Store, log *slog.Logger) *auth.Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return auth.NewClient(st, password.NewHasher(password.DefaultParams, 0),
		auth.WithOrgs(identity.NewOrgs(st, identity.OrgsConfig{BaseURL: cfg.AppURL, Roles: instanceRoles(), Log: log})),
		auth.WithActorTokens(identity.NewActorTokens(st, identity.ActorTokensConfig{BaseURL: cfg.AppURL, Log: log})),
		auth.WithEncryptionKey(cfg.EncryptionKey))
}

// refusal answers e in the language of the surface that was asked: Clerk's
// error envelope (with code) under /__clerk/, {"error": …} under /api/, and
// the error page elsewhere.
func refusal(site *pages.Site, e *api.Error, code, detail string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/__clerk/"):
			identity.WriteError(w, &identity.Error{Status: e.Status, Code: code, Message: e.Message + ".", LongMessage: detail})
		case strings.HasPrefix(r.URL.Path, "/api/"):
			api.WriteJSON(w, e.Status, map[string]string{"error": e.Message})
		default:
			site.ErrorPage(w, r, e.Status)
		}
	})
}

// routes registers the pages, the frontend API and the example API.
// orgs serves the organization pages and actors the impersonation ones.
func routes(r chi.Router, log *slog.Logger, site *pages.Site, st *store.DB, idsvc *identity.Service,
	orgs *identity.Orgs, actors *identity.ActorTokens, limiter *identity.Limiter, mailbox *mail.Mailbox) {
	forms := pages.NewAuthForms(site, idsvc, limiter)
	r.Get("/", pages.Home(site).ServeHTTP)
	r.Get("/sign-in", forms.SignInPage().ServeHTTP)
	r.Post("/sign-in", forms.SignIn().ServeHTTP)
	r.Get("/sign-up", forms.SignUpPage().ServeHTTP)
	r.Post("/sign-up", forms.SignUp().ServeHTTP)
	r.Post("/sign-out", forms.SignOut().ServeHTTP)
	r.Get("/sign-out", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodPost) // state never changes on GET
		site.ErrorPage(w, r, http.StatusMethodNotAllowed)
	})
	r.Get("/dashboard", pages.Dashboard(site, st).ServeHTTP)
	r.Get("/profile", pages.Profile(site).ServeHTTP)
	apiKeys := pages.NewAPIKeyForms(site)
	r.Post("/profile/api-keys", apiKeys.Create().ServeHTTP)
	r.Post("/profile/api-keys/{id}/revoke", apiKeys.Revoke().ServeHTTP)

	op := pages.NewOrgPages(site, idsvc, orgs)
	r.Get("/org", op.Manage().ServeHTTP)
	r.Get("/org/new", op.NewPage().ServeHTTP)
	r.Post("/org/new", op.Create().ServeHTTP)
	r.Post("/org/switch", op.Switch().ServeHTTP)
	r.Post("/org/settings", op.UpdateSettings().ServeHTTP)
	r.Post("/org/delete", op.Delete().ServeHTTP)
	r.Post("/org/leave", op.Leave().ServeHTTP)
	r.Post("/org/members/role", op.ChangeRole().ServeHTTP)
	r.Post("/org/members/remove", op.RemoveMember().ServeHTTP)
	r.Post("/org/invitations", op.Invite().ServeHTTP)
	r.Post("/org/invitations/revoke", op.RevokeInvitation().ServeHTTP)
	r.Post("/org/api-keys", op.CreateAPIKey().ServeHTTP)
	r.Post("/org/api-keys/{id}/revoke", op.RevokeAPIKey().ServeHTTP)
	r.Get(identity.InvitationPath, op.Invitation().ServeHTTP)
	r.Post(identity.InvitationPath, op.AcceptInvitation().ServeHTTP)
	r.Get(auth.PendingTaskURL, op.ChooseOrganization().ServeHTTP)

	imp := pages.NewImpersonation(site, idsvc, actors)
	r.Get(identity.TicketPath, imp.TicketPage().ServeHTTP)
	r.Post(identity.TicketPath, imp.Ticket().ServeHTTP)
	r.Get("/admin/impersonate", imp.AdminPage().ServeHTTP)
	r.Post("/admin/impersonate", imp.Impersonate().ServeHTTP)
	if mailbox != nil {
		r.Get("/dev/mailbox", pages.Mailbox(site, mailbox).ServeHTTP) // development only
	}

	r.Mount("/__clerk/v1", http.StripPrefix("/__clerk/v1", identity.NewFrontendAPI(idsvc, limiter, log)))

	handle := func(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
		return api.Handler{Log: log, Fn: fn}
	}
	r.Handle("/api/me", handle(api.GetOnly(api.Me)))
	r.Handle("/api/token", handle(api.GetOnly(api.Token)))
	r.Handle("/api/user", handle(api.GetOnly(api.User)))
	r.Handle("/api/admin", handle(api.GetOnly(api.Admin)))
	r.Handle("/api/org", handle(api.GetOnly(api.Org)))
	r.Handle("/api/team", handle(api.GetOnly(api.Team)))
	r.Handle("/api/machine", handle(api.GetOnly(api.Machine)))
	r.Handle("/api/whoami", handle(api.GetOnly(api.WhoAmI)))
	items := handle(api.Items(st))
	r.Handle("/api/items", items)
	r.Handle("/api/items/{id}", items)
}
