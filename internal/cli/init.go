package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

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
