package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "Serves the app on PORT (default 3000). Migrates the database at start and, in\ndevelopment, seeds the demo accounts into an empty database.", stderr)
	listen := fs.String("listen", "", "the address to listen on (default LISTEN_ADDR, else loopback :PORT in development\nand every interface :PORT in production)")
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

	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.VerifyOnly() {
		fmt.Fprintln(stdout, "Verify-only mode (CLERK_JWT_KEY): serving /api/me, /api/token, /healthz and /readyz; no pages, no sign-in, no database.")
	} else if !cfg.Production {
		seeded, err := app.Seed(ctx, a.Client, stdout)
		if err != nil {
			return err
		}
		if seeded {
			fmt.Fprintln(stdout, "Seeded the demo accounts.")
		}
		app.PrintDemoAccounts(stdout)
	}

	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	lns, err := listeners(cmp.Or(*listen, cfg.ListenAddr), cfg, stdout, stderr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	errc := make(chan error, len(lns))
	var addrs []string
	for _, ln := range lns {
		go func() { errc <- srv.Serve(ln) }()
		addrs = append(addrs, ln.Addr().String())
	}
	fmt.Fprintf(stdout, "Gatehouse is serving %s (listening on %s)\n", cfg.AppURL, strings.Join(addrs, " and "))
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

// listeners opens what serve listens on. Without an address, development
// listens on loopback only, 127.0.0.1 and ::1 (so both localhost and
// 127.0.0.1 work; ::1 is skipped where the machine has no IPv6), since it
// seeds accounts with published passwords and serves the development
// mailbox; production listens on every interface. An address that is not
// loopback is said out loud in development, and when APP_ENV was not set
// at all.
func listeners(addr string, cfg *config.Config, stdout, stderr io.Writer) ([]net.Listener, error) {
	port := strconv.Itoa(cfg.Port)
	if addr == "" && !cfg.Production {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
		if err != nil {
			return nil, err
		}
		lns := []net.Listener{ln}
		if ln6, err := net.Listen("tcp", net.JoinHostPort("::1", port)); err == nil {
			lns = append(lns, ln6)
		}
		return lns, nil
	}
	if addr == "" {
		addr = ":" + port
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if !isLoopback(ln.Addr()) {
		if !cfg.Production {
			fmt.Fprintf(stderr, "WARNING: development mode is listening on %s, beyond this machine: anyone who can reach it can sign in with the demo accounts' published passwords and read /dev/mailbox (invitation links). Set APP_ENV=production for a real deployment.\n", ln.Addr())
		}
		if !cfg.EnvExplicit {
			fmt.Fprintf(stderr, "WARNING: APP_ENV is not set, so this is development mode (demo data, development mailbox, no Secure cookies) on a non-loopback address; set APP_ENV=development or APP_ENV=production.\n")
		}
	}
	return []net.Listener{ln}, nil
}

// isLoopback reports whether a listener's address is on loopback only.
func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
