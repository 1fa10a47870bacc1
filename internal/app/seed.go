package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/auth/roles"
)

// DemoAccount is one development account: its address, password, name,
// role in the demo organization ("" for none) and a note for the listing.
type DemoAccount struct {
	Email, Password, First, Last, Role, Note string
}

// DemoAccounts are the development accounts of the product specification.
func DemoAccounts() []DemoAccount {
	return []DemoAccount{
		{"alice@example.com", "gatehouse-demo-alice", "Alice", "Admin", roles.Admin, "org:admin of Acme Inc"},
		{"bob@example.com", "gatehouse-demo-bob", "Bob", "Member", roles.Member, "org:member of Acme Inc"},
		{"carol@example.com", "gatehouse-demo-carol", "Carol", "Solo", "", "no organization"},
	}
}

// The demo organization, created by its first admin.
const demoOrgName, demoOrgSlug = "Acme Inc", "acme"

// Seed adds the demo accounts, the demo organization and the demo JWT
// template when there are no users yet, printing the template's
// development secret to out.
func Seed(ctx context.Context, client *clerkclient.Client, out io.Writer) (bool, error) {
	list, err := client.Users.GetUserList(ctx, auth.UserListParams{Limit: 1})
	if err != nil {
		return false, err
	}
	if list.TotalCount > 0 {
		return false, nil
	}
	var org *auth.Organization
	for _, a := range DemoAccounts() {
		u, err := client.Users.CreateUser(ctx, clerkclient.CreateUserParams{
			EmailAddress: []string{a.Email}, Password: &a.Password, FirstName: &a.First, LastName: &a.Last,
		})
		if err != nil {
			return false, fmt.Errorf("seed %s: %w", a.Email, err)
		}
		switch {
		case a.Role == "":
		case org == nil:
			// The organization's creator becomes its admin.
			org, err = client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{
				Name: demoOrgName, Slug: ptr(demoOrgSlug), CreatedBy: &u.ID,
			})
		default:
			_, err = client.Organizations.CreateOrganizationMembership(ctx, clerkclient.CreateOrganizationMembershipParams{
				OrganizationID: org.ID, UserID: u.ID, Role: a.Role,
			})
		}
		if err != nil {
			return false, fmt.Errorf("seed %s: %w", demoOrgName, err)
		}
	}
	if err := seedTemplates(ctx, client, out); err != nil {
		return false, err
	}
	return true, nil
}

func ptr[T any](v T) *T { return &v }

func PrintDemoAccounts(w io.Writer) {
	fmt.Fprintln(w, "Demo accounts:")
	for _, a := range DemoAccounts() {
		fmt.Fprintf(w, "  %-20s %-22s %s\n", a.Email, a.Password, a.Note)
	}
}

// SupabaseClaims are the claims of the demo template: what Supabase's
// row-level security reads from a third-party JWT.
const SupabaseClaims = `{"role":"authenticated","email":"{{user.primary_email_address}}"}`

// seedTemplates adds the demo "supabase" template, signed with HS256 and a
// fresh development secret, which it prints to out: give the same secret
// to the Supabase project (its JWT secret) in development.
func seedTemplates(ctx context.Context, client *clerkclient.Client, out io.Writer) error {
	b := make([]byte, 32)
	rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	if _, err := client.JwtTemplates.Create(ctx, clerkclient.CreateJwtTemplateParams{
		Name: "supabase", Claims: json.RawMessage(SupabaseClaims),
		CustomSigningKey: true, SigningAlgorithm: "HS256", SigningKey: secret,
	}); err != nil {
		return fmt.Errorf("seed the supabase JWT template: %w", err)
	}
	fmt.Fprintf(out, "Seeded the JWT template \"supabase\" (HS256). Its development secret, shown only now:\n  %s\n", secret)
	return nil
}
