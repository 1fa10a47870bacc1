package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
)

const jwtTemplatesUsage = `Usage: gatehouse jwt-templates <command> [flags]

Commands:
  create   create a template (--name, --claims, and optionally a custom key)
  list     list the templates (never their keys)
  delete   delete a template by name or id
`

func cmdJWTTemplates(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return subcommand(args, jwtTemplatesUsage, stdout, stderr, map[string]func([]string) error{
		"create": func(args []string) error { return cmdJWTTemplatesCreate(ctx, args, stdout, stderr) },
		"list":   func(args []string) error { return cmdJWTTemplatesList(ctx, args, stdout, stderr) },
		"delete": func(args []string) error { return cmdJWTTemplatesDelete(ctx, args, stdout, stderr) },
	})
}

func cmdJWTTemplatesCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("jwt-templates create", `Creates a JWT template. Claims are a JSON object whose string values may hold
shortcodes: {{user.id}}, {{user.first_name}}, {{user.last_name}},
{{user.primary_email_address}}, {{user.public_metadata}},
{{user.public_metadata.KEY}}, {{org.id}}, {{org.slug}}, {{org.role}},
{{session.id}}. Without --algorithm the instance key signs (RS256).

Example:
  gatehouse jwt-templates create --name hasura \
    --claims '{"https://hasura.io/jwt/claims":{"x-hasura-user-id":"{{user.id}}"}}'`, stderr)
	name := fs.String("name", "", "the template's name (required; letters, digits, _ and -)")
	claims := fs.String("claims", "", "the claims, a JSON object (required)")
	lifetime := fs.Int64("lifetime", clerkclient.DefaultTemplateLifetime, "token lifetime in seconds (30 to 315360000)")
	skew := fs.Int64("clock-skew", clerkclient.DefaultTemplateClockSkew, "allowed clock skew in seconds (0 to 300); nbf = iat - skew")
	alg := fs.String("algorithm", "", "sign with a custom key: HS256 or RS256 (needs --signing-key-file or --signing-key-env)")
	keyFile := fs.String("signing-key-file", "", "file holding the custom key: the HS256 secret, or the RS256 private key in PEM")
	keyEnv := fs.String("signing-key-env", "", "environment variable holding the custom key (e.g. SUPABASE_JWT_SECRET)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *claims == "" {
		fs.Usage()
		return errors.New("jwt-templates create: --name and --claims are required")
	}
	p := clerkclient.CreateJwtTemplateParams{Name: *name, Claims: json.RawMessage(*claims), Lifetime: lifetime, AllowedClockSkew: skew}
	if *alg != "" || *keyFile != "" || *keyEnv != "" {
		key, err := readSigningKey(*keyFile, *keyEnv)
		if err != nil {
			return err
		}
		p.CustomSigningKey, p.SigningAlgorithm, p.SigningKey = true, *alg, key
	}
	in, err := open(ctx, "jwt-templates", stderr)
	if err != nil {
		return err
	}
	defer in.Close()
	client := in.client
	t, err := client.JwtTemplates.Create(ctx, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %q (%s, lifetime %ds)\n", t.ID, t.Name, t.SigningAlgorithm, t.Lifetime)
	return nil
}

// readSigningKey reads a custom key from a file or an environment
// variable, never from the command line (where shell history and process
// lists would keep it).
func readSigningKey(file, env string) (string, error) {
	switch {
	case file != "" && env != "":
		return "", errors.New("jwt-templates create: give --signing-key-file or --signing-key-env, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("jwt-templates create: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case env != "":
		v := os.Getenv(env)
		if v == "" {
			return "", fmt.Errorf("jwt-templates create: the environment variable %s is empty", env)
		}
		return v, nil
	}
	return "", errors.New("jwt-templates create: a custom key needs --signing-key-file or --signing-key-env")
}

func cmdJWTTemplatesList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("jwt-templates list", "Lists the JWT templates by name (never their keys).", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	in, err := open(ctx, "jwt-templates", stderr)
	if err != nil {
		return err
	}
	defer in.Close()
	client := in.client
	list, err := client.JwtTemplates.List(ctx, clerkclient.JwtTemplateListParams{Limit: 500})
	if err != nil {
		return err
	}
	if len(list.Data) == 0 {
		fmt.Fprintln(stdout, "no JWT templates")
		return nil
	}
	for _, t := range list.Data {
		key := "instance key"
		if t.CustomSigningKey {
			key = "custom key"
		}
		fmt.Fprintf(stdout, "%-28s %-20s %s %-12s lifetime %ds skew %ds  %s\n",
			t.ID, t.Name, t.SigningAlgorithm, key, t.Lifetime, t.AllowedClockSkew, t.Claims)
	}
	return nil
}

func cmdJWTTemplatesDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("jwt-templates delete NAME|ID", "Deletes a JWT template.", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("jwt-templates delete: name the template to delete")
	}
	in, err := open(ctx, "jwt-templates", stderr)
	if err != nil {
		return err
	}
	defer in.Close()
	client := in.client
	id := fs.Arg(0)
	if t, err := in.store.GetJWTTemplateByName(ctx, id); err == nil {
		id = t.ID
	}
	if _, err := client.JwtTemplates.Delete(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deleted %s\n", id)
	return nil
}
