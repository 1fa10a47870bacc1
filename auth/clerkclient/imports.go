package clerkclient

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/identity/password"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// checkExternalID trims an external id and checks it: 1 to 255
// characters without control characters. nil is "".
func checkExternalID(p *string) (string, error) {
	if p == nil {
		return "", nil
	}
	v := strings.TrimSpace(*p)
	if v == "" || utf8.RuneCountInString(v) > 255 || !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", paramInvalid("external_id", "external_id must be 1 to 255 characters, without control characters")
	}
	return v, nil
}

// checkDigest checks a password hashed elsewhere (password_digest with
// its password_hasher), which replaces a plain password.
func checkDigest(pw, digest, hasher *string) (string, error) {
	if pw != nil {
		return "", apiError(http.StatusUnprocessableEntity, "form_param_value_invalid", "Give password or password_digest, not both.", "password_digest")
	}
	if err := password.CheckDigest(deref(hasher), deref(digest)); err != nil {
		param := "password_digest"
		if hasher == nil || errors.Is(err, password.ErrUnsupportedHasher) {
			param = "password_hasher"
		}
		return "", paramInvalid(param, err.Error())
	}
	return *digest, nil
}

// ImportUserParams are a user exported from Clerk (or from Gatehouse):
// the id is kept, and so are the addresses with their verification.
type ImportUserParams struct {
	ID, ExternalID      string
	FirstName, LastName string
	// PrimaryEmailAddress is one of the addresses below; "" picks the
	// first verified one (else the first).
	PrimaryEmailAddress                              string
	VerifiedEmailAddresses, UnverifiedEmailAddresses []string
	// PasswordDigest with PasswordHasher (bcrypt, argon2id, argon2i);
	// both empty: no password.
	PasswordDigest, PasswordHasher string
	// TOTPSecret is the base32 secret of the user's authenticator app.
	TOTPSecret                                      string
	PublicMetadata, PrivateMetadata, UnsafeMetadata json.RawMessage
	CreatedAt                                       int64 // ms; 0: now
}

// ImportUser creates the user with its own id, unless a user with that
// id exists: then nothing changes and imported is false. Refusals are
// *APIError naming the field, so a report can say why a row was skipped.
func (u *UsersAPI) ImportUser(ctx context.Context, p ImportUserParams) (user *User, imported bool, err error) {
	if err := identity.CheckImportID("id", "user", p.ID); err != nil {
		return nil, false, fromIdentity("import user", err)
	}
	iu := store.ImportedUser{ID: p.ID, FirstName: strings.TrimSpace(p.FirstName), LastName: strings.TrimSpace(p.LastName), CreatedAt: p.CreatedAt}
	if p.ExternalID != "" {
		if iu.ExternalID, err = checkExternalID(&p.ExternalID); err != nil {
			return nil, false, err
		}
	}
	if iu.Emails, err = importedEmails(p); err != nil {
		return nil, false, err
	}
	if err := checkMetadata(p.PublicMetadata, p.PrivateMetadata, p.UnsafeMetadata); err != nil {
		return nil, false, err
	}
	iu.PublicMetadata, iu.PrivateMetadata, iu.UnsafeMetadata = p.PublicMetadata, p.PrivateMetadata, p.UnsafeMetadata
	if p.PasswordDigest != "" || p.PasswordHasher != "" {
		if iu.PasswordHash, err = checkDigest(nil, &p.PasswordDigest, &p.PasswordHasher); err != nil {
			return nil, false, err
		}
	}
	if p.TOTPSecret != "" {
		if iu.TOTPSecret, err = u.sealTOTP(p.TOTPSecret); err != nil {
			return nil, false, err
		}
	}
	imported, err = u.store.ImportUser(ctx, iu)
	if taken, ok := errors.AsType[*store.AddressTakenError](err); ok {
		return nil, false, apiError(http.StatusUnprocessableEntity, "form_identifier_exists",
			taken.Email+" belongs to another user", "email_address")
	}
	if err != nil {
		return nil, false, mapStoreError("import user", "user", err)
	}
	su, err := u.store.GetUser(ctx, p.ID)
	if err != nil {
		return nil, false, mapStoreError("import user", "user", err)
	}
	return resource.NewUser(su, true, store.Now()), imported, nil
}

// importedEmails normalises the addresses, drops repeats (verified wins)
// and marks the primary one. A user without a usable address is refused:
// Gatehouse signs people in by email address.
func importedEmails(p ImportUserParams) ([]store.ImportedEmail, error) {
	var out []store.ImportedEmail
	seen := map[string]int{}
	add := func(raw string, verified bool) error {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return nil
		}
		e := identity.NormalizeEmail(raw)
		if e == "" {
			return paramInvalid("email_address", fmt.Sprintf("%q is not an email address Gatehouse accepts", raw))
		}
		if i, ok := seen[e]; ok {
			out[i].Verified = out[i].Verified || verified
			return nil
		}
		seen[e] = len(out)
		out = append(out, store.ImportedEmail{Email: e, Verified: verified})
		return nil
	}
	for _, e := range p.VerifiedEmailAddresses {
		if err := add(e, true); err != nil {
			return nil, err
		}
	}
	for _, e := range p.UnverifiedEmailAddresses {
		if err := add(e, false); err != nil {
			return nil, err
		}
	}
	// A primary address listed nowhere else is unverified, as Clerk's
	// export lists an unverified primary among the unverified ones.
	if err := add(p.PrimaryEmailAddress, false); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, apiError(http.StatusUnprocessableEntity, "form_param_missing",
			"The user has no email address; Gatehouse signs people in by email address.", "email_address")
	}
	if len(out) > maxImportedEmails {
		return nil, paramInvalid("email_address", fmt.Sprintf("at most %d email addresses per user", maxImportedEmails))
	}
	primary := 0
	if p.PrimaryEmailAddress != "" {
		primary = seen[identity.NormalizeEmail(p.PrimaryEmailAddress)]
	} else {
		for i, e := range out {
			if e.Verified {
				primary = i
				break
			}
		}
	}
	out[primary].Primary = true
	return out, nil
}

// maxImportedEmails bounds the addresses of one imported user.
const maxImportedEmails = 20

func (u *UsersAPI) sealTOTP(secret string) ([]byte, error) {
	if u.totpSealer == nil {
		return nil, errors.New("clerkclient: import user: no key to seal authenticator secrets (CLERK_ENCRYPTION_KEY)")
	}
	secret = strings.ToUpper(strings.TrimRight(strings.TrimSpace(secret), "="))
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil || len(raw) < 10 {
		return nil, paramInvalid("totp_secret", "totp_secret must be a base32 secret of at least 80 bits")
	}
	return u.totpSealer.Seal([]byte(secret)), nil
}

// ExportedUser is a user with what leaving takes besides the resource:
// the password hash and its hasher, and the authenticator secret.
type ExportedUser struct {
	*User
	PasswordDigest, PasswordHasher string
	TOTPSecret                     string
}

// ExportUsers calls fn for every user, oldest first, with the password
// hash and the authenticator secret: what [UsersAPI.ImportUser] (or
// Clerk's own import) takes back. Its output is as secret as the
// database.
func (u *UsersAPI) ExportUsers(ctx context.Context, fn func(*ExportedUser) error) error {
	now := store.Now()
	for offset := 0; ; {
		page, _, err := u.store.ListUsers(ctx, store.UserFilter{OldestFirst: true, Limit: 500, Offset: offset})
		if err != nil {
			return fmt.Errorf("clerkclient: export users: %w", err)
		}
		for _, su := range page {
			eu := &ExportedUser{User: resource.NewUser(su, true, now), PasswordDigest: su.PasswordHash,
				PasswordHasher: password.HasherOf(su.PasswordHash)}
			if su.TOTPEnabled {
				if eu.TOTPSecret, err = u.openTOTP(ctx, su.ID); err != nil {
					return err
				}
			}
			if err := fn(eu); err != nil {
				return err
			}
		}
		if len(page) < 500 {
			return nil
		}
		offset += len(page)
	}
}

func (u *UsersAPI) openTOTP(ctx context.Context, userID string) (string, error) {
	if u.totpSealer == nil {
		return "", errors.New("clerkclient: export users: no key to open authenticator secrets (CLERK_ENCRYPTION_KEY)")
	}
	t, err := u.store.GetTOTP(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("clerkclient: export totp: %w", err)
	}
	plain, err := u.totpSealer.Open(t.Secret)
	if err != nil {
		return "", fmt.Errorf("clerkclient: open totp secret of %s: %w", userID, err)
	}
	return string(plain), nil
}

// ImportOrganizationParams are an organization exported from Clerk, in
// the Backend API's shape; the id is kept.
type ImportOrganizationParams struct {
	ID, Name, Slug                  string
	PublicMetadata, PrivateMetadata json.RawMessage
	MaxAllowedMemberships           int
	CreatedBy                       string
	CreatedAt                       int64
}

// ImportOrganization creates the organization with its own id unless one
// with that id exists (imported false). note says what was changed to
// fit this instance (a slug of another form, say).
func (o *OrganizationsAPI) ImportOrganization(ctx context.Context, p ImportOrganizationParams) (imported bool, note string, err error) {
	res, err := o.orgs.ImportOrganization(ctx, identity.ImportOrganizationInput{ID: p.ID, Name: p.Name, Slug: p.Slug,
		PublicMetadata: p.PublicMetadata, PrivateMetadata: p.PrivateMetadata, MaxAllowedMemberships: p.MaxAllowedMemberships,
		CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt})
	if err != nil {
		return false, "", fromIdentity("import organization", err)
	}
	return res.Imported, res.Note, nil
}

// ImportMembershipParams are a membership exported from Clerk.
type ImportMembershipParams struct {
	ID, OrganizationID, UserID, Role string
	CreatedAt                        int64
}

// ImportOrganizationMembership adds the membership unless the user is a
// member already (imported false).
func (o *OrganizationsAPI) ImportOrganizationMembership(ctx context.Context, p ImportMembershipParams) (bool, error) {
	res, err := o.orgs.ImportMembership(ctx, identity.ImportMembershipInput{ID: p.ID, OrganizationID: p.OrganizationID,
		UserID: p.UserID, Role: p.Role, CreatedAt: p.CreatedAt})
	if err != nil {
		return false, fromIdentity("import membership", err)
	}
	return res.Imported, nil
}
