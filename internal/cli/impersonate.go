package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

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
	in, err := open(ctx, "impersonate", stderr)
	if err != nil {
		return err
	}
	defer in.Close()
	st := in.store
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
	tok, err := in.client.ActorTokens.Create(ctx, clerkclient.CreateActorTokenParams{UserID: u.ID, Actor: actor})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Open this link within 10 minutes to sign in as %s on behalf of %s (it works once):\n%s\n",
		u.PrimaryEmail(), a.PrimaryEmail(), tok.URL)
	return nil
}
