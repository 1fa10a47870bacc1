package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/auth/config"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
	"github.com/gatehouse-dev/gatehouse/pages"
)

// errUsage marks a command line that names no known subcommand; the
// process exits with status 2.
var errUsage = errors.New("usage")

// subcommand runs the subcommand args[0] names, printing usage for -h and
// for an unknown name.
func subcommand(args []string, usage string, stdout, stderr io.Writer, cmds map[string]func([]string) error) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if len(args) == 0 || cmds[args[0]] == nil {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	return cmds[args[0]](args[1:])
}

const keysUsage = `Usage: gatehouse keys <command> [flags]

Commands:
  rotate   make a new signing key active; the previous key stays trusted
           until every token it signed has expired, then is retired
  list     list the signing keys (--pem prints only the public keys in use,
           the value CLERK_JWT_KEY takes in a verify-only service)
`

func cmdKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(args, keysUsage, stdout, stderr, map[string]func([]string) error{
		"rotate": func(args []string) error { return cmdKeysRotate(ctx, args, stdout, stderr) },
		"list":   func(args []string) error { return cmdKeysList(ctx, args, stdout, stderr) },
	})
}

// openKeys opens the store and the keyring of a process that owns them.
func openKeys(ctx context.Context, cfg *config.Config) (*store.DB, *token.Keyring, error) {
	if cfg.VerifyOnly() {
		return nil, nil, errors.New("keys: CLERK_JWT_KEY is set: a verify-only process has no keys to manage")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	kr, err := token.LoadKeyring(ctx, st, cfg.EncryptionKey, cfg.SigningKeyPEM)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, kr, nil
}

func cmdKeysRotate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys rotate", "Makes a new signing key active. The keys in use until now stay in the JWKS and\ntrusted for --grace, then are retired. Running instances switch to the new key\nat their next reload, within half a SESSION_TOKEN_TTL (at most 30 s).", stderr)
	grace := fs.Duration("grace", 0, "how long the previous keys stay trusted (default and minimum: 2 × SESSION_TOKEN_TTL,\nor longer when a short TTL makes the clock skew and the reload interval count)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	st, kr, err := openKeys(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	// Template tokens signed by the instance key may live longer than
	// session tokens; the previous key stays published until they expire.
	longest, err := longestTemplateLifetime(ctx, st)
	if err != nil {
		return err
	}
	minGrace := max(rotationGrace(cfg.SessionTokenTTL), longest+token.Skew+keyReloadInterval(cfg.SessionTokenTTL))
	if *grace == 0 {
		*grace = minGrace
	}
	if *grace < minGrace {
		return fmt.Errorf("keys rotate: --grace must be at least %s, or tokens of the previous key (session tokens and instance-key JWT templates) would be refused before they expire", minGrace)
	}
	prev := kr.Active().KID
	k, err := kr.Rotate(ctx, *grace)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new active key %s\nprevious key %s stays trusted until %s, then is retired\n",
		k.KID, prev, time.Now().Add(*grace).UTC().Format(time.RFC3339))
	return nil
}

func cmdKeysList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys list", "Lists the signing keys, newest first, with their state.", stderr)
	withPEM := fs.Bool("pem", false, "print only the public keys in use, in PEM form: the value of CLERK_JWT_KEY")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	st, kr, err := openKeys(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if *withPEM {
		for _, k := range kr.Keys() {
			fmt.Fprint(stdout, k.PublicKeyPEM())
		}
		return nil
	}
	all, err := st.AllSigningKeys(ctx)
	if err != nil {
		return err
	}
	active := kr.Active().KID
	if cfg.SigningKeyPEM != "" {
		fmt.Fprintf(stdout, "%-32s %-20s %s\n", active, "CLERK_SIGNING_KEY", "active")
	}
	stamp := func(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }
	for _, k := range all {
		state := "trusted"
		switch {
		case k.RetiredAt > 0:
			state = "retired " + stamp(k.RetiredAt)
		case k.KID == active:
			state = "active"
		case k.RetireAt > 0:
			state = "trusted until " + stamp(k.RetireAt)
		}
		fmt.Fprintf(stdout, "%-32s %-20s %s\n", k.KID, stamp(k.CreatedAt), state)
	}
	return nil
}

// keyReloadInterval is how often a serving process rereads the signing
// keys: at most half a token lifetime, so every instance signs with a new
// key long before the previous one retires (2 × TTL after the rotation).
func keyReloadInterval(ttl time.Duration) time.Duration {
	return min(max(ttl/2, 500*time.Millisecond), 30*time.Second)
}

// longestTemplateLifetime is the longest lifetime (plus its allowed clock
// skew) of the JWT templates signed by the instance key.
func longestTemplateLifetime(ctx context.Context, st *store.DB) (time.Duration, error) {
	var longest time.Duration
	for offset := 0; ; offset += 100 {
		list, total, err := st.ListJWTTemplates(ctx, 100, offset)
		if err != nil {
			return 0, fmt.Errorf("keys rotate: list JWT templates: %w", err)
		}
		for _, t := range list {
			if t.EncryptedSigningKey == nil {
				longest = max(longest, time.Duration(t.Lifetime+t.AllowedClockSkew)*time.Second)
			}
		}
		if offset+len(list) >= total || len(list) == 0 {
			return longest, nil
		}
	}
}

// rotationGrace is the least time a key superseded by a rotation stays
// trusted: 2 × the token lifetime, and never less than the time its last
// token can still pass (signed just before an instance reloaded, accepted
// until the skew past its expiry).
func rotationGrace(ttl time.Duration) time.Duration {
	return max(2*ttl, ttl+token.Skew+keyReloadInterval(ttl))
}

// watchKeys reloads keys in the background until the returned function is
// called.
func watchKeys(keys *token.Keyring, ttl time.Duration, log *slog.Logger) context.CancelFunc {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		keys.Watch(ctx, keyReloadInterval(ttl), func(err error) {
			log.Warn("could not reload the signing keys", "err", err)
		})
	}()
	return func() { stop(); <-done }
}

// newVerifyOnlyApp builds the process CLERK_JWT_KEY asks for: it verifies
// session tokens (Bearer header or __session cookie) with the public keys
// alone and serves the API routes that need nothing else. It opens no
// database, never refreshes a token and never mints one.
func newVerifyOnlyApp(cfg *config.Config, log *slog.Logger) (*app, error) {
	pub, err := token.ParsePublicKeysPEM(cfg.JWTKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("CLERK_JWT_KEY: %w", err)
	}
	keys := token.NewKeyring(pub...)
	verifier := token.NewVerifier(token.VerifierConfig{
		Keys: keys, Issuer: cfg.AppURL, AuthorizedParties: cfg.AuthorizedParties, TokenTTL: cfg.SessionTokenTTL,
	})
	authenticate := auth.Middleware(auth.Options{SecretKey: cfg.SecretKey, Verifier: verifier, Logger: log})
	notFound := func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusNotFound, map[string]string{"error": api.ErrNotFound.Message})
	}

	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(middleware.GetHead)
	r.Use(pages.SecurityHeaders(cfg.Production))
	r.NotFound(notFound)
	r.Handle("/healthz", pages.Healthz())
	r.Handle("/readyz", pages.Healthz()) // no store: ready whenever up
	r.Handle("/.well-known/jwks.json", identity.JWKSHandler(keys.JWKS))
	r.Group(func(r chi.Router) {
		r.Use(authenticate)
		handle := func(fn func(http.ResponseWriter, *http.Request) error) http.Handler {
			return api.Handler{Log: log, Fn: fn}
		}
		r.Handle("/api/me", handle(api.GetOnly(api.Me)))
		r.Handle("/api/token", handle(api.GetOnly(api.Token)))
	})
	return &app{handler: r, keys: keys}, nil
}
