package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/appdata"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// instance is what a subcommand works on: the configuration, the migrated
// database and the backend client the server would build.
type instance struct {
	cfg    *config.Config
	store  *store.DB
	client *clerkclient.Client
}

// open loads the configuration (.env in development) and opens the
// database, applying the store's and the app's pending migrations, for
// the subcommand cmd. A verify-only configuration (CLERK_JWT_KEY) has no
// database, so it is refused. The client logs to stderr.
func open(ctx context.Context, cmd string, stderr io.Writer) (*instance, error) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, err
	}
	if cfg.VerifyOnly() {
		return nil, fmt.Errorf("%s: CLERK_JWT_KEY is set: a verify-only process has no database", cmd)
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if _, err := appdata.Open(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	return &instance{cfg: cfg, store: st, client: app.NewClient(cfg, st, newLogger(cfg, stderr))}, nil
}

// Close closes the database.
func (in *instance) Close() error { return in.store.Close() }

// withClient opens the configured store and runs fn with a backend client.
func withClient(ctx context.Context, fn func(*clerkclient.Client) error) error {
	in, err := open(ctx, "machines", io.Discard)
	if err != nil {
		return err
	}
	defer in.Close()
	return fn(in.client)
}
