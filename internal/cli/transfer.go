package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/internal/clerkfile"
)

const importUsage = `usage: gatehouse import clerk [--organizations FILE.json] [USERS.csv]

Reads Clerk's user export (the CSV of Clerk's dashboard: id, first_name,
last_name, primary_email_address, verified_email_addresses,
unverified_email_addresses, totp_secret, password_digest, password_hasher,
and optionally public_metadata, private_metadata, unsafe_metadata,
external_id, created_at) and then, with --organizations, organizations
with their memberships as JSON in the Backend API's shapes (what
"gatehouse export" writes).

Ids are kept. Addresses keep their verification state; bcrypt, argon2id
and argon2i password digests are checked at sign-in and replaced by
argon2id at the first one. A row whose id is already here is left as it
is, so running the import twice changes nothing. Each row skipped is
reported with its reason; the command then exits with status 1.`

const exportUsage = `usage: gatehouse export [--users FILE.csv] [--organizations FILE.json] [--force]

Writes every user as Clerk's user export CSV (with password digests and
authenticator secrets: keep the file as safe as the database) and every
organization with its memberships as JSON, the formats "gatehouse import
clerk" reads. A FILE of - is standard output. Files are created with mode
0600 and an existing one is kept unless --force.`

// cmdImport runs "gatehouse import clerk …".
func cmdImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintln(stdout, importUsage)
		return nil
	}
	if len(args) == 0 || args[0] != "clerk" {
		fmt.Fprintln(stderr, importUsage)
		return fmt.Errorf("import: %w", errUsage)
	}
	fs := newFlags("import clerk", importUsage, stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, importUsage) }
	orgsFile := fs.String("organizations", "", "organizations JSON file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 1 || (fs.NArg() == 0 && *orgsFile == "") {
		fmt.Fprintln(stderr, importUsage)
		return fmt.Errorf("import: %w", errUsage)
	}
	// Read the organizations file before anything is written, so a file
	// that is not JSON stops the import before it starts.
	var orgs []clerkfile.Organization
	if *orgsFile != "" {
		f, err := os.Open(*orgsFile)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		orgs, err = clerkfile.ReadOrganizations(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("import: %s: %w", *orgsFile, err)
		}
	}
	return withClient(ctx, func(c *clerkclient.Client) error {
		rep := &importReport{out: stdout}
		if fs.NArg() == 1 {
			if err := importUsers(ctx, c, fs.Arg(0), rep); err != nil {
				return err
			}
		}
		importOrganizations(ctx, c, orgs, rep)
		rep.summary()
		if rep.skipped > 0 {
			return fmt.Errorf("import: %d skipped (see above); fix them and run the import again: what is imported stays", rep.skipped)
		}
		return nil
	})
}

// importReport counts what an import did and prints each skipped row.
type importReport struct {
	out                  io.Writer
	users, orgs, members [3]int // imported, already here, skipped
	skipped              int
	unkeptFields         map[string]int
	notes                []string
	usersSeen, orgsSeen  int
}

func (r *importReport) skip(where string, err error) {
	r.skipped++
	fmt.Fprintf(r.out, "skipped %s: %s\n", where, reason(err))
}

// reason is the text a person fixing the file needs: the refusal's
// message for the client's refusals, the error otherwise.
func reason(err error) string {
	if e, ok := errors.AsType[*clerkclient.APIError](err); ok && len(e.Errors) > 0 {
		return e.Errors[0].Message
	}
	return err.Error()
}

func (r *importReport) summary() {
	if r.usersSeen > 0 {
		fmt.Fprintf(r.out, "users: %d imported, %d already here, %d skipped\n", r.users[0], r.users[1], r.users[2])
	}
	for _, f := range slices.Sorted(maps.Keys(r.unkeptFields)) {
		n := r.unkeptFields[f]
		fmt.Fprintf(r.out, "note: %d users have %s, which Gatehouse does not keep (it signs people in by email address)\n", n, f)
	}
	if r.orgsSeen > 0 {
		fmt.Fprintf(r.out, "organizations: %d imported, %d already here, %d skipped\n", r.orgs[0], r.orgs[1], r.orgs[2])
		fmt.Fprintf(r.out, "memberships: %d imported, %d already here, %d skipped\n", r.members[0], r.members[1], r.members[2])
	}
	for _, n := range r.notes {
		fmt.Fprintln(r.out, "note:", n)
	}
}

func count(c *[3]int, imported bool) {
	if imported {
		c[0]++
	} else {
		c[1]++
	}
}

func importUsers(ctx context.Context, c *clerkclient.Client, file string, rep *importReport) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	ur, err := clerkfile.NewUserReader(f)
	if err != nil {
		return fmt.Errorf("import: %s: %w", file, err)
	}
	rep.unkeptFields = map[string]int{}
	for {
		row, err := ur.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("import: %s: %w", file, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rep.usersSeen++
		where := fmt.Sprintf("%s line %d", file, row.Line)
		if row.ID != "" {
			where += " (" + row.ID + ")"
		}
		if row.Err != nil {
			rep.users[2]++
			rep.skip(where, row.Err)
			continue
		}
		_, imported, err := c.Users.ImportUser(ctx, row.User)
		if err != nil {
			if !isRefusal(err) {
				return fmt.Errorf("import: %s: %w", where, err)
			}
			rep.users[2]++
			rep.skip(where, err)
			continue
		}
		count(&rep.users, imported)
		for _, u := range row.Unkept {
			rep.unkeptFields[u]++
		}
	}
}

func importOrganizations(ctx context.Context, c *clerkclient.Client, orgs []clerkfile.Organization, rep *importReport) {
	for i, o := range orgs {
		rep.orgsSeen++
		where := fmt.Sprintf("organization %d (%s)", i+1, o.ID)
		imported, note, err := c.Organizations.ImportOrganization(ctx, clerkclient.ImportOrganizationParams{ID: o.ID, Name: o.Name,
			Slug: o.Slug, PublicMetadata: nullIsAbsent(o.PublicMetadata), PrivateMetadata: nullIsAbsent(o.PrivateMetadata),
			MaxAllowedMemberships: o.MaxAllowedMemberships, CreatedBy: o.CreatedBy, CreatedAt: o.CreatedAt})
		if err != nil {
			rep.orgs[2]++
			rep.members[2] += len(o.Memberships)
			rep.skip(where, err)
			continue
		}
		count(&rep.orgs, imported)
		if note != "" {
			rep.notes = append(rep.notes, o.ID+": "+note)
		}
		for j, m := range o.Memberships {
			imported, err := c.Organizations.ImportOrganizationMembership(ctx, clerkclient.ImportMembershipParams{ID: m.ID,
				OrganizationID: o.ID, UserID: m.User(), Role: m.Role, CreatedAt: m.CreatedAt})
			if err != nil {
				rep.members[2]++
				rep.skip(fmt.Sprintf("%s membership %d (%s)", where, j+1, m.User()), err)
				continue
			}
			count(&rep.members, imported)
		}
	}
}

// isRefusal reports whether err is the client refusing one row (bad or
// conflicting data), after which the import goes on, rather than a
// failure of the database, which stops it.
func isRefusal(err error) bool {
	e, ok := errors.AsType[*clerkclient.APIError](err)
	return ok && e.Status < 500
}

func nullIsAbsent(m []byte) []byte {
	if strings.TrimSpace(string(m)) == "null" {
		return nil
	}
	return m
}

// cmdExport runs "gatehouse export …".
func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", exportUsage, stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, exportUsage) }
	usersFile := fs.String("users", "", "write users to this CSV file (- for standard output)")
	orgsFile := fs.String("organizations", "", "write organizations to this JSON file (- for standard output)")
	force := fs.Bool("force", false, "replace existing files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || (*usersFile == "" && *orgsFile == "") || (*usersFile == "-" && *orgsFile == "-") {
		fmt.Fprintln(stderr, exportUsage)
		return fmt.Errorf("export: %w", errUsage)
	}
	return withClient(ctx, func(c *clerkclient.Client) error {
		if *usersFile != "" {
			n := 0
			err := writeFile(*usersFile, *force, stdout, func(w io.Writer) error {
				uw, err := clerkfile.NewUserWriter(w)
				if err != nil {
					return err
				}
				if err := c.Users.ExportUsers(ctx, func(u *clerkclient.ExportedUser) error {
					n++
					return uw.Write(u)
				}); err != nil {
					return err
				}
				return uw.Flush()
			})
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			if *usersFile != "-" {
				fmt.Fprintf(stdout, "wrote %d users to %s\n", n, *usersFile)
			}
		}
		if *orgsFile != "" {
			orgs, err := exportOrganizations(ctx, c)
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			if err := writeFile(*orgsFile, *force, stdout, func(w io.Writer) error {
				return clerkfile.WriteOrganizations(w, orgs)
			}); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			if *orgsFile != "-" {
				fmt.Fprintf(stdout, "wrote %d organizations to %s\n", len(orgs), *orgsFile)
			}
		}
		return nil
	})
}

// exportOrganizations reads every organization, oldest first, with all
// its memberships.
func exportOrganizations(ctx context.Context, c *clerkclient.Client) ([]clerkfile.ExportedOrganization, error) {
	var out []clerkfile.ExportedOrganization
	const page = 100
	for offset := 0; ; offset += page {
		list, err := c.Organizations.GetOrganizationList(ctx, clerkclient.OrganizationListParams{Limit: page, Offset: offset})
		if err != nil {
			return nil, err
		}
		for _, o := range list.Data {
			eo := clerkfile.ExportedOrganization{Organization: o, Memberships: []*clerkclient.OrganizationMembership{}}
			for moff := 0; ; moff += page {
				ms, err := c.Organizations.GetOrganizationMembershipList(ctx, clerkclient.OrganizationMembershipListParams{
					OrganizationID: o.ID, Limit: page, Offset: moff})
				if err != nil {
					return nil, err
				}
				eo.Memberships = append(eo.Memberships, ms.Data...)
				if len(ms.Data) < page {
					break
				}
			}
			out = append(out, eo)
		}
		if len(list.Data) < page {
			break
		}
	}
	// The list is newest first; an import reads the file in order, and
	// the oldest first reads as the history did.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// writeFile runs fn on name, created with mode 0600 (it holds password
// digests), or on stdout for "-". An existing file is kept unless force.
func writeFile(name string, force bool, stdout io.Writer, fn func(io.Writer) error) error {
	if name == "-" {
		return fn(stdout)
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(name, flags, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists; use --force to replace it", name)
	}
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
