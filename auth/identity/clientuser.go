package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/auth/resource"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// ClientUser returns a signed-in user as the frontend API shows them: the
// user resource without private metadata, and their organization
// memberships. The user is nil, with no error, when they were deleted
// a moment ago (their sessions go with them).
func (s *Service) ClientUser(ctx context.Context, userID string) (*resource.User, []*resource.OrganizationMembership, error) {
	u, err := s.store.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("identity: get user: %w", err)
	}
	memberships, err := s.userMemberships(ctx, u.ID)
	if err != nil {
		return nil, nil, err
	}
	return resource.NewUser(u, false, s.now().UnixMilli()), memberships, nil
}

// userMemberships lists the user's organizations with role and
// permissions, as the frontend API shows them (no private metadata).
func (s *Service) userMemberships(ctx context.Context, userID string) ([]*resource.OrganizationMembership, error) {
	list, _, err := s.store.ListMemberships(ctx, store.MembershipFilter{UserID: userID, Limit: 500})
	if err != nil {
		return nil, fmt.Errorf("identity: list memberships: %w", err)
	}
	out := make([]*resource.OrganizationMembership, 0, len(list))
	for _, m := range list {
		out = append(out, resource.NewOrganizationMembership(m, s.cfg.Roles, false))
	}
	return out, nil
}

// JWKS returns the public signing keys as a JWKS document.
func (s *Service) JWKS() []byte { return s.keys.JWKS() }
