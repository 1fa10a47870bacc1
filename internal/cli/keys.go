package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/token"
	"github.com/gatehouse-dev/gatehouse/internal/app"
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
func openKeys(ctx context.Context, stderr io.Writer) (*instance, *token.Keyring, error) {
	in, err := open(ctx, "keys", stderr)
	if err != nil {
		return nil, nil, err
	}
	kr, err := token.LoadKeyring(ctx, in.store, in.cfg.EncryptionKey, in.cfg.SigningKeyPEM)
	if err != nil {
		in.Close()
		return nil, nil, err
	}
	return in, kr, nil
}

func cmdKeysRotate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys rotate", "Makes a new signing key active. The keys in use until now stay in the JWKS and\ntrusted for --grace, then are retired. Running instances switch to the new key\nat their next reload, within half a SESSION_TOKEN_TTL (at most 30 s).", stderr)
	grace := fs.Duration("grace", 0, "how long the previous keys stay trusted (default and minimum: 2 × SESSION_TOKEN_TTL,\nor longer when a short TTL makes the clock skew and the reload interval count)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in, kr, err := openKeys(ctx, stderr)
	if err != nil {
		return err
	}
	defer in.Close()
	cfg, st := in.cfg, in.store
	minGrace, err := app.MinRotationGrace(ctx, st, cfg.SessionTokenTTL)
	if err != nil {
		return err
	}
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
	in, kr, err := openKeys(ctx, stderr)
	if err != nil {
		return err
	}
	defer in.Close()
	cfg, st := in.cfg, in.store
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
