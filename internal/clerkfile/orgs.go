package clerkfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
)

// maxOrganizationsFile bounds an organizations file read at once.
const maxOrganizationsFile = 256 << 20

// Organization is one organization of an organizations file: Clerk's
// Organization resource with its memberships (Clerk's
// OrganizationMembership resources) under "memberships".
type Organization struct {
	clerkclient.Organization
	Memberships []Membership `json:"memberships"`
}

// Membership is one membership of an organization in a file. The user is
// public_user_data.user_id, as the Backend API answers, or user_id.
type Membership struct {
	ID             string `json:"id"`
	Role           string `json:"role"`
	UserID         string `json:"user_id"`
	PublicUserData *struct {
		UserID string `json:"user_id"`
	} `json:"public_user_data"`
	CreatedAt int64 `json:"created_at"`
}

// User is the member's user id.
func (m Membership) User() string {
	if m.UserID == "" && m.PublicUserData != nil {
		return m.PublicUserData.UserID
	}
	return m.UserID
}

// ReadOrganizations reads an organizations file: a JSON array of
// organizations, or the Backend API's {"data": [...]} page of them.
func ReadOrganizations(r io.Reader) ([]Organization, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxOrganizationsFile+1))
	if err != nil {
		return nil, fmt.Errorf("clerkfile: read organizations: %w", err)
	}
	if len(b) > maxOrganizationsFile {
		return nil, fmt.Errorf("clerkfile: the organizations file is larger than %d MiB", maxOrganizationsFile>>20)
	}
	b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
	var orgs []Organization
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var page struct {
			Data []Organization `json:"data"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, fmt.Errorf("clerkfile: the organizations file is not valid JSON: %w", err)
		}
		if page.Data == nil {
			return nil, errors.New(`clerkfile: the organizations file is an object without "data"; want an array of organizations`)
		}
		return page.Data, nil
	}
	if err := json.Unmarshal(b, &orgs); err != nil {
		return nil, fmt.Errorf("clerkfile: the organizations file is not a JSON array of organizations: %w", err)
	}
	return orgs, nil
}

// ExportedOrganization is an organization as an export writes it.
type ExportedOrganization struct {
	*clerkclient.Organization
	Memberships []*clerkclient.OrganizationMembership `json:"memberships"`
}

// WriteOrganizations writes orgs as a JSON array, one organization per
// line so that a diff of two exports reads well.
func WriteOrganizations(w io.Writer, orgs []ExportedOrganization) error {
	if _, err := io.WriteString(w, "[\n"); err != nil {
		return fmt.Errorf("clerkfile: write organizations: %w", err)
	}
	for i, o := range orgs {
		b, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("clerkfile: encode organization %s: %w", o.ID, err)
		}
		sep := ",\n"
		if i == len(orgs)-1 {
			sep = "\n"
		}
		if _, err := fmt.Fprintf(w, "%s%s", b, sep); err != nil {
			return fmt.Errorf("clerkfile: write organizations: %w", err)
		}
	}
	if _, err := io.WriteString(w, "]\n"); err != nil {
		return fmt.Errorf("clerkfile: write organizations: %w", err)
	}
	return nil
}
