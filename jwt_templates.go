package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// supabaseClaims are the claims of the demo template: what Supabase's
// row-level security reads from a third-party JWT.
const supabaseClaims = `{"role":"authenticated","email":"{{user.primary_email_address}}"}`

// seedTemplates adds the demo "supabase" template, signed with HS256 and a
// fresh development secret, which it prints to out: give the same secret
// to the Supabase project (its JWT secret) in development.
func seedTemplates(ctx context.Context, client *auth.Client, out io.Writer) error {
	b := make([]byte, 32)
	rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	if _, err := client.JwtTemplates.Create(ctx, auth.CreateJwtTemplateParams{
		Name: "supabase", Claims: json.RawMessage(supabaseClaims),
		CustomSigningKey: true, SigningAlgorithm: "HS256", SigningKey: secret,
	}); err != nil {
		return fmt.Errorf("seed the supabase JWT template: %w", err)
	}
	fmt.Fprintf(out, "Seeded the JWT template \"supabase\" (HS256). Its development secret, shown only now:\n  %s\n", secret)
	return nil
}

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

// openTemplates opens the store and a backend client that can seal keys.
func openTemplates(ctx context.Context) (*store.DB, *auth.Client, error) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, nil, err
	}
	if cfg.VerifyOnly() {
		return nil, nil, errors.New("jwt-templates: CLERK_JWT_KEY is set: a verify-only process has no store")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	return st, commandClient(cfg, st, nil), nil
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
	lifetime := fs.Int64("lifetime", auth.DefaultTemplateLifetime, "token lifetime in seconds (30 to 315360000)")
	skew := fs.Int64("clock-skew", auth.DefaultTemplateClockSkew, "allowed clock skew in seconds (0 to 300); nbf = iat - skew")
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
	p := auth.CreateJwtTemplateParams{Name: *name, Claims: json.RawMessage(*claims), Lifetime: lifetime, AllowedClockSkew: skew}
	if *alg != "" || *keyFile != "" || *keyEnv != "" {
		key, err := readSigningKey(*keyFile, *keyEnv)
		if err != nil {
			return err
		}
		p.CustomSigningKey, p.SigningAlgorithm, p.SigningKey = true, *alg, key
	}
	st, client, err := openTemplates(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
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
	st, client, err := openTemplates(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := client.JwtTemplates.List(ctx, auth.JwtTemplateListParams{Limit: 500})
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
	st, client, err := openTemplates(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	id := fs.Arg(0)
	if t, err := st.GetJWTTemplateByName(ctx, id); err == nil {
		id = t.ID
	}
	if _, err := client.JwtTemplates.Delete(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deleted %s\n", id)
	return nil
}
