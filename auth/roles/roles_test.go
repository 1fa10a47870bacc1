package roles_test

import (
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/roles"
)

// TestDefault holds the defaults to 04-organizations.md §2.
func TestDefault(t *testing.T) {
	s := roles.Default()
	want := map[string][]string{
		"org:admin": {"org:sys_profile:manage", "org:sys_profile:delete", "org:sys_memberships:read",
			"org:sys_memberships:manage", "org:team:manage", "org:team:read"},
		"org:member": {"org:sys_memberships:read", "org:team:read"},
	}
	if got := len(s.Roles()); got != len(want) {
		t.Fatalf("roles: got %d, want %d", got, len(want))
	}
	for key, perms := range want {
		if got := s.Permissions(key); !slices.Equal(got, perms) {
			t.Errorf("Permissions(%s): got %v, want %v", key, got, perms)
		}
	}
	if s.CreatorRole() != "org:admin" || s.DefaultRole() != "org:member" {
		t.Errorf("creator/default: got %s/%s, want org:admin/org:member", s.CreatorRole(), s.DefaultRole())
	}
	if got := s.AdminRoles(); !slices.Equal(got, []string{"org:admin"}) {
		t.Errorf("AdminRoles: got %v, want [org:admin]", got)
	}
	if got := s.RolesWith("org:team:read"); !slices.Equal(got, []string{"org:admin", "org:member"}) {
		t.Errorf("RolesWith(org:team:read): got %v", got)
	}
}

func TestNormalizeAndLookup(t *testing.T) {
	s := roles.Default()
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"admin", "org:admin", true},
		{"org:admin", "org:admin", true},
		{" member ", "org:member", true},
		{"org:owner", "org:owner", false},
		{"", "org:", false},
	}
	for _, tc := range cases {
		got, ok := s.Normalize(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Normalize(%q): got (%q, %v), want (%q, %v)", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if s.Name("admin") != "Admin" || s.Name("org:gone") != "org:gone" {
		t.Errorf("Name: got %q and %q, want Admin and the key of an unknown role", s.Name("admin"), s.Name("org:gone"))
	}
	if s.Permissions("org:gone") != nil || s.Grants("org:gone", roles.MembershipsRead) {
		t.Error("an unknown role must grant nothing")
	}
	// Callers cannot change the set through what it returns.
	s.Permissions("org:admin")[0] = "org:x:y"
	s.Roles()[0].Permissions[0] = "org:x:y"
	if s.Permissions("org:admin")[0] != roles.ProfileManage {
		t.Error("the set changed through a returned slice")
	}
}

func TestNewRefuses(t *testing.T) {
	ok := roles.Role{Key: "org:admin", Permissions: []string{roles.MembershipsManage}}
	cases := []struct {
		name           string
		creator, deflt string
		roles          []roles.Role
	}{
		{"no roles", "org:admin", "org:admin", nil},
		{"bad key", "org:admin", "org:admin", []roles.Role{ok, {Key: "Admin"}}},
		{"duplicate", "org:admin", "org:admin", []roles.Role{ok, ok}},
		{"bad permission", "org:admin", "org:admin", []roles.Role{ok, {Key: "org:x", Permissions: []string{"team:read"}}}},
		{"comma in permission", "org:admin", "org:admin", []roles.Role{ok, {Key: "org:x", Permissions: []string{"org:a,b:read"}}}},
		{"unknown creator", "org:owner", "org:admin", []roles.Role{ok}},
		{"creator cannot manage members", "org:x", "org:admin", []roles.Role{ok, {Key: "org:x"}}},
		{"unknown default", "org:admin", "org:nobody", []roles.Role{ok}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := roles.New(tc.creator, tc.deflt, tc.roles...); err == nil {
				t.Errorf("New: got nil error, want one")
			}
		})
	}
	if _, err := roles.New("admin", "admin", ok); err != nil {
		t.Errorf("New with a minimal valid set: %v", err)
	}
}
