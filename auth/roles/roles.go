// Package roles defines an instance's organization roles and the
// permissions each one grants, in one place. main.go builds a [Set] (the
// defaults of [Default], or its own) and hands it to the identity service,
// which puts the active organization's role and permissions into session
// tokens, and to the backend client.
//
// Role keys have the form org:<name>; permission keys org:<feature>:<action>.
// System permissions (org:sys_*) guard Gatehouse's own organization
// screens: the profile (rename, delete) and the memberships (read,
// manage, which also covers invitations and the organization's API keys).
package roles

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The default role keys.
const (
	Admin  = "org:admin"
	Member = "org:member"
)

// System permissions: what Gatehouse's own organization screens check.
const (
	ProfileManage     = "org:sys_profile:manage"
	ProfileDelete     = "org:sys_profile:delete"
	MembershipsRead   = "org:sys_memberships:read"
	MembershipsManage = "org:sys_memberships:manage"
	// APIKeysManage gates an organization's API keys: listing, creating
	// and revoking them. It is the admin permission itself, not a
	// permission of its own: a key acts as the whole organization, so only
	// those who may already change every membership may mint one.
	APIKeysManage = MembershipsManage
)

// Role is an organization role and the permissions it grants.
type Role struct {
	Key         string // org:<name>
	Name        string // shown to people, e.g. "Admin"
	Description string
	Permissions []string
}

// Set is an instance's organization roles. Build one with [New] or
// [Default]; it is read-only and safe for concurrent use.
type Set struct {
	roles   []Role
	byKey   map[string]int
	creator string
	deflt   string
}

var (
	roleKeyRE    = regexp.MustCompile(`^org:[a-z0-9_-]+$`)
	permissionRE = regexp.MustCompile(`^org:[a-z0-9_-]+:[a-z0-9_-]+$`)
)

// New returns the set of roles. creatorRole is given to whoever creates an
// organization and must grant [MembershipsManage], so every organization
// starts with an admin; defaultRole is what invitations and new members get
// when no role is named.
func New(creatorRole, defaultRole string, roles ...Role) (*Set, error) {
	if len(roles) == 0 {
		return nil, fmt.Errorf("roles: at least one role is needed")
	}
	s := &Set{byKey: map[string]int{}}
	for _, r := range roles {
		if !roleKeyRE.MatchString(r.Key) {
			return nil, fmt.Errorf("roles: role key %q must look like org:name (lower-case letters, digits, _ or -)", r.Key)
		}
		if _, dup := s.byKey[r.Key]; dup {
			return nil, fmt.Errorf("roles: role %q is defined twice", r.Key)
		}
		for _, p := range r.Permissions {
			if !permissionRE.MatchString(p) {
				return nil, fmt.Errorf("roles: permission %q of %s must look like org:feature:action", p, r.Key)
			}
		}
		if r.Name == "" {
			r.Name = strings.TrimPrefix(r.Key, "org:")
		}
		r.Permissions = slices.Clone(r.Permissions)
		s.byKey[r.Key] = len(s.roles)
		s.roles = append(s.roles, r)
	}
	var ok bool
	if s.creator, ok = s.Normalize(creatorRole); !ok {
		return nil, fmt.Errorf("roles: the creator role %q is not defined", creatorRole)
	}
	if !s.Grants(s.creator, MembershipsManage) {
		return nil, fmt.Errorf("roles: the creator role %s must grant %s", s.creator, MembershipsManage)
	}
	if s.deflt, ok = s.Normalize(defaultRole); !ok {
		return nil, fmt.Errorf("roles: the default role %q is not defined", defaultRole)
	}
	return s, nil
}

// Default returns the default roles: org:admin, with every system
// permission and org:team:manage and org:team:read; org:member, with
// org:sys_memberships:read and org:team:read. Creators become admins;
// invitations default to member.
func Default() *Set {
	s, err := New(Admin, Member,
		Role{Key: Admin, Name: "Admin", Description: "Manages the organization, its members and its settings.",
			Permissions: []string{ProfileManage, ProfileDelete, MembershipsRead, MembershipsManage, "org:team:manage", "org:team:read"}},
		Role{Key: Member, Name: "Member", Description: "Sees the organization and its members.",
			Permissions: []string{MembershipsRead, "org:team:read"}},
	)
	if err != nil {
		panic(err) // the defaults are valid; a test holds them to it
	}
	return s
}

// Roles returns the roles in the order they were defined.
func (s *Set) Roles() []Role {
	out := make([]Role, len(s.roles))
	for i, r := range s.roles {
		r.Permissions = slices.Clone(r.Permissions)
		out[i] = r
	}
	return out
}

// Normalize returns the defined role key for key, accepted with or without
// its "org:" prefix ("admin" and "org:admin" alike), and whether it is
// defined.
func (s *Set) Normalize(key string) (string, bool) {
	k := "org:" + strings.TrimPrefix(strings.TrimSpace(key), "org:")
	_, ok := s.byKey[k]
	return k, ok
}

// Lookup returns the role with key (with or without "org:").
func (s *Set) Lookup(key string) (Role, bool) {
	k, ok := s.Normalize(key)
	if !ok {
		return Role{}, false
	}
	r := s.roles[s.byKey[k]]
	r.Permissions = slices.Clone(r.Permissions)
	return r, true
}

// Name returns the role's display name, or the key itself for a role that
// is not defined (one stored before the roles changed).
func (s *Set) Name(key string) string {
	if r, ok := s.Lookup(key); ok {
		return r.Name
	}
	return key
}

// Permissions returns the permissions of the role, in definition order;
// nil for a role that is not defined.
func (s *Set) Permissions(key string) []string {
	r, _ := s.Lookup(key)
	return r.Permissions
}

// Grants reports whether the role grants the permission.
func (s *Set) Grants(role, permission string) bool {
	return slices.Contains(s.Permissions(role), permission)
}

// RolesWith returns the keys of the roles that grant the permission.
func (s *Set) RolesWith(permission string) []string {
	var out []string
	for _, r := range s.roles {
		if slices.Contains(r.Permissions, permission) {
			out = append(out, r.Key)
		}
	}
	return out
}

// AdminRoles returns the roles that count as admins: those that grant
// [MembershipsManage]. An organization always keeps a member with one.
func (s *Set) AdminRoles() []string { return s.RolesWith(MembershipsManage) }

// CreatorRole is the role of whoever creates an organization.
func (s *Set) CreatorRole() string { return s.creator }

// DefaultRole is the role of new members and invitations that name none.
func (s *Set) DefaultRole() string { return s.deflt }
