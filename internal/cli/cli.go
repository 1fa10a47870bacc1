package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/loadtest"
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
  webhooks       add, list, remove or test webhook endpoints; see deliveries
  import clerk   import users (Clerk's CSV export) and organizations (JSON)
  export         export users and organizations in the formats import reads
  loadtest       measure this app on this machine (see docs/performance.md)

Run "gatehouse <command> --help" for a command's flags.
`

func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
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
	case "webhooks":
		err = cmdWebhooks(ctx, args, stdout, stderr)
	case "import":
		err = cmdImport(ctx, args, stdout, stderr)
	case "export":
		err = cmdExport(ctx, args, stdout, stderr)
	case "loadtest":
		err = loadtest.Command(ctx, newFlags("loadtest", loadtest.Summary, stderr), args, stdout, stderr)
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
