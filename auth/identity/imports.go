package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// Imports keep the ids of another system (Clerk's user_…, org_…,
// orgmem_…), so they are checked for Clerk's form: a prefix and up to
// 64 letters and digits.
var importIDRE = regexp.MustCompile(`^(user|org|orgmem)_[A-Za-z0-9]{1,64}$`)

// CheckImportID reports whether id is an id of the given prefix (user,
// org or orgmem) that an import may keep.
func CheckImportID(param, prefix, id string) error {
	if !importIDRE.MatchString(id) || !strings.HasPrefix(id, prefix+"_") {
		return paramFormat(param, fmt.Sprintf("%s must be %s_ followed by up to 64 letters and digits.", param, prefix))
	}
	return nil
}

// ImportOrganizationInput is an organization from another system.
type ImportOrganizationInput struct {
	ID, Name, Slug                  string
	PublicMetadata, PrivateMetadata json.RawMessage
	MaxAllowedMemberships           int
	CreatedBy                       string
	CreatedAt                       int64
}

// ImportResult says what an import of one row did: Imported false means
// a row with its id was there and is left as it was. Note tells of a
// change the import made to fit this instance's rules.
type ImportResult struct {
	Imported bool
	Note     string
}

// ImportOrganization keeps the organization's id, name, slug, metadata
// and limit under the rules of Create. A slug of another form is derived
// again from it (and said in the note); a slug another organization has
// is refused.
func (o *Orgs) ImportOrganization(ctx context.Context, in ImportOrganizationInput) (ImportResult, error) {
	var res ImportResult
	if err := CheckImportID("id", "org", in.ID); err != nil {
		return res, err
	}
	name, err := checkOrgFields(in.Name, in.MaxAllowedMemberships, in.PublicMetadata, in.PrivateMetadata)
	if err != nil {
		return res, err
	}
	slug := Slugify(name)
	if strings.TrimSpace(in.Slug) != "" {
		if slug, err = checkSlug(in.Slug); err != nil {
			slug = Slugify(in.Slug)
			res.Note = fmt.Sprintf("slug %q is %q here", in.Slug, slug)
		}
	}
	res.Imported, err = o.st.ImportOrganization(ctx, store.ImportedOrganization{ID: in.ID, Name: name, Slug: slug,
		PublicMetadata: in.PublicMetadata, PrivateMetadata: in.PrivateMetadata, MaxAllowedMemberships: in.MaxAllowedMemberships,
		CreatedBy: in.CreatedBy, CreatedAt: in.CreatedAt})
	if errors.Is(err, store.ErrConflict) {
		return res, errSlugTaken()
	}
	return res, orgError(err, "Organization")
}

// ImportMembershipInput is a membership from another system; ID may be
// empty (one is made).
type ImportMembershipInput struct {
	ID, OrganizationID, UserID, Role string
	CreatedAt                        int64
}

// ImportMembership adds the membership with its role, which must be one
// of this instance's roles. A user already a member is left as they are.
func (o *Orgs) ImportMembership(ctx context.Context, in ImportMembershipInput) (ImportResult, error) {
	var res ImportResult
	if in.ID != "" {
		if err := CheckImportID("id", "orgmem", in.ID); err != nil {
			return res, err
		}
	} else {
		in.ID = randid.New("orgmem") // a user is a member once: the pair is what makes it idempotent
	}
	if strings.TrimSpace(in.Role) == "" {
		return res, paramMissing("role")
	}
	role, err := o.role(in.Role)
	if err != nil {
		return res, err
	}
	res.Imported, err = o.st.ImportMembership(ctx, store.ImportedMembership{ID: in.ID, OrganizationID: in.OrganizationID,
		UserID: in.UserID, Role: role, CreatedAt: in.CreatedAt})
	return res, orgError(err, "User")
}
