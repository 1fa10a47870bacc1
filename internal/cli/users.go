package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
)

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
	return withClient(ctx, func(c *clerkclient.Client) error {
		u, err := c.Users.CreateUser(ctx, clerkclient.CreateUserParams{
			EmailAddress: []string{*email}, Password: pw, FirstName: first, LastName: last,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s (%s)\n", u.ID, u.PrimaryEmailAddress())
		return nil
	})
}
