package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gatehouse-dev/gatehouse/internal/app"
)

func cmdSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("seed", "Adds the demo accounts when the database has no users (development only).", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	in, err := open(ctx, "seed", stderr)
	if err != nil {
		return err
	}
	defer in.Close()
	if in.cfg.Production {
		return errors.New("seed: demo data is never added in production")
	}
	seeded, err := app.Seed(ctx, in.client, stdout)
	if err != nil {
		return err
	}
	if !seeded {
		fmt.Fprintln(stdout, "the database already has users; nothing seeded")
		return nil
	}
	app.PrintDemoAccounts(stdout)
	return nil
}
