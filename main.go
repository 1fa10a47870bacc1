// Gatehouse is a Go server-rendered web starter with Clerk-style
// authentication built in and self-hosted. The command line is in
// internal/cli, the wiring of the app in internal/app.
package main

import (
	"context"
	"os"

	"github.com/gatehouse-dev/gatehouse/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
