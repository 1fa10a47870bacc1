package token_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// TestEncodePermissions: permissions → (fea, per, fpm), 02 §3.
func TestEncodePermissions(t *testing.T) {
	cases := []struct {
		name          string
		perms         []string
		fea, per, fpm string
	}{
		{
			name:  "spec example",
			perms: []string{"org:team:manage", "org:team:read", "org:billing:read"},
			fea:   "o:team,o:billing", per: "manage,read", fpm: "3,2",
		},
		{
			name:  "Clerk docs example",
			perms: []string{"org:dashboard:manage", "org:dashboard:read", "org:teams:read"},
			fea:   "o:dashboard,o:teams", per: "manage,read", fpm: "3,2",
		},
		{
			name:  "bit 0 is the first action seen",
			perms: []string{"org:a:read", "org:a:write", "org:b:write"},
			fea:   "o:a,o:b", per: "read,write", fpm: "3,2",
		},
		{
			name:  "system permissions are included",
			perms: []string{"org:sys_memberships:manage", "org:sys_profile:read"},
			fea:   "o:sys_memberships,o:sys_profile", per: "manage,read", fpm: "1,2",
		},
		{
			name:  "duplicates collapse",
			perms: []string{"org:team:read", "org:team:read", "org:team:read"},
			fea:   "o:team", per: "read", fpm: "1",
		},
		{
			name: "malformed keys are skipped",
			perms: []string{
				"", "org", "org:", "org::", "org:team", "org:team:", "org::read",
				"user:team:read", "ORG:team:read", "team:read", "org:team:read:extra",
				"o:team:read", "org:billing:read",
			},
			fea: "o:billing", per: "read", fpm: "1",
		},
		{name: "nil", perms: nil, fea: "", per: "", fpm: ""},
		{name: "only malformed", perms: []string{"admin", "org:x"}, fea: "", per: "", fpm: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fea, per, fpm := token.EncodePermissions(tc.perms)
			if fea != tc.fea || per != tc.per || fpm != tc.fpm {
				t.Fatalf("got (%q, %q, %q), want (%q, %q, %q)", fea, per, fpm, tc.fea, tc.per, tc.fpm)
			}
		})
	}
}

// TestDecodePermissions: (fea, per, fpm) → permissions, as Clerk's SDKs do.
func TestDecodePermissions(t *testing.T) {
	cases := []struct {
		name          string
		fea, per, fpm string
		want          []string
	}{
		{
			name: "spec example",
			fea:  "o:team,o:billing", per: "manage,read", fpm: "3,2",
			want: []string{"org:team:manage", "org:team:read", "org:billing:read"},
		},
		{
			name: "Clerk docs example",
			fea:  "o:dashboard,o:teams", per: "manage,read", fpm: "3,2",
			want: []string{"org:dashboard:manage", "org:dashboard:read", "org:teams:read"},
		},
		{
			name: "bit 0 is the first name in per",
			fea:  "o:x", per: "a,b,c", fpm: "5",
			want: []string{"org:x:a", "org:x:c"},
		},
		{
			name: "bit order within one feature",
			fea:  "o:x,o:y,o:z", per: "a,b,c", fpm: "1,2,4",
			want: []string{"org:x:a", "org:y:b", "org:z:c"},
		},
		{
			name: "user-scoped features are ignored",
			fea:  "u:x,o:team,u:y,o:billing", per: "manage,read", fpm: "3,2",
			want: []string{"org:team:manage", "org:team:read", "org:billing:read"},
		},
		{
			name: "org-and-user scope counts as org",
			fea:  "u:x,ou:team", per: "read", fpm: "1",
			want: []string{"org:team:read"},
		},
		{
			name: "only user features",
			fea:  "u:x,u:y", per: "read", fpm: "1,1",
			want: []string{},
		},
		{name: "empty per", fea: "o:team", per: "", fpm: "1", want: []string{}},
		{name: "empty fpm", fea: "o:team", per: "read", fpm: "", want: []string{}},
		{name: "all empty", want: []string{}},
		{
			name: "zero mask grants nothing",
			fea:  "o:a,o:b", per: "read", fpm: "0,1",
			want: []string{"org:b:read"},
		},
		{
			name: "bits beyond per are ignored",
			fea:  "o:a", per: "read", fpm: "7",
			want: []string{"org:a:read"},
		},
		{
			name: "more features than masks",
			fea:  "o:a,o:b", per: "read", fpm: "1",
			want: []string{"org:a:read"},
		},
		{
			name: "non-numeric mask is skipped",
			fea:  "o:a,o:b", per: "read", fpm: "x,1",
			want: []string{"org:b:read"},
		},
		{
			name: "negative mask is skipped",
			fea:  "o:a", per: "read", fpm: "-1",
			want: []string{},
		},
		{
			name: "feature without scope is skipped",
			fea:  "team,o:billing", per: "read", fpm: "1",
			want: []string{"org:billing:read"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := token.DecodePermissions(tc.fea, tc.per, tc.fpm)
			if got == nil {
				t.Fatalf("got nil, want a non-nil list %q", tc.want)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPermissionsRoundTrip: decode(encode(x)) gives back the set x, for
// lists of many sizes. Decoding lists features in fea order and, within a
// feature, actions in per order, so x is compared as a sorted set (it is
// compared exactly too when x is already in that order).
func TestPermissionsRoundTrip(t *testing.T) {
	grid := func(features, actions int) []string {
		var out []string
		for f := range features {
			for a := range actions {
				out = append(out, fmt.Sprintf("org:feature_%02d:action_%02d", f, a))
			}
		}
		return out
	}
	sparse := func(features, actions int) []string {
		var out []string
		for f := range features {
			for a := range actions {
				if (f+a)%3 != 0 {
					out = append(out, fmt.Sprintf("org:f%d:a%d", f, a))
				}
			}
		}
		return out
	}
	cases := []struct {
		name    string
		perms   []string
		ordered bool // x is in decode order
	}{
		{"one", []string{"org:team:read"}, true},
		{"spec example", []string{"org:team:manage", "org:team:read", "org:billing:read"}, true},
		{"20 features × 6 actions", grid(20, 6), true},
		{"1 feature × 53 actions (the cap)", grid(1, 53), true},
		{"50 features × 1 action", grid(50, 1), true},
		{"sparse 15 × 10", sparse(15, 10), false},
		{"system permissions", []string{"org:sys_memberships:manage", "org:sys_memberships:read", "org:sys_domains:manage"}, true},
		{"actions first seen in a later feature", []string{"org:b:write", "org:a:read", "org:a:write"}, false},
	}
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fea, per, fpm := token.EncodePermissions(tc.perms)
			got := token.DecodePermissions(fea, per, fpm)
			if !slices.Equal(sorted(got), sorted(tc.perms)) {
				t.Fatalf("got %q, want %q (fea %q, per %q, fpm %q)", got, tc.perms, fea, per, fpm)
			}
			if tc.ordered && !slices.Equal(got, tc.perms) {
				t.Fatalf("order: got %q, want %q", got, tc.perms)
			}
			// Through the claims, as a verified token would carry them.
			c := &token.Claims{Features: fea, Org: &token.OrgClaim{ID: "org_1", Role: "member", Permissions: per, FeatureMask: fpm}}
			if got := c.OrgPermissions(); !slices.Equal(sorted(got), sorted(tc.perms)) {
				t.Fatalf("OrgPermissions: got %q, want %q", got, tc.perms)
			}
		})
	}
}

// TestEncodePermissionsActionCap: fpm must stay exact as a JavaScript
// number, so at most 53 distinct action names are encoded.
func TestEncodePermissionsActionCap(t *testing.T) {
	var perms []string
	for a := range 60 {
		perms = append(perms, fmt.Sprintf("org:f:a%d", a))
	}
	fea, per, fpm := token.EncodePermissions(perms)
	if got := len(strings.Split(per, ",")); got != 53 {
		t.Fatalf("action names: got %d, want 53", got)
	}
	if want := fmt.Sprint(uint64(1)<<53 - 1); fpm != want {
		t.Fatalf("fpm: got %s, want %s", fpm, want)
	}
	if got := token.DecodePermissions(fea, per, fpm); !slices.Equal(got, perms[:53]) {
		t.Fatalf("decode: got %d permissions, want the first 53", len(got))
	}
}

// TestClaimsOrgRoleAndPermissions: OrgRole adds "org:"; without "o" both
// are empty (OrgPermissions nil).
func TestClaimsOrgRoleAndPermissions(t *testing.T) {
	cases := []struct {
		name      string
		claims    token.Claims
		wantRole  string
		wantPerms []string
	}{
		{"no organization", token.Claims{Features: "o:team", Org: nil}, "", nil},
		{"role without prefix", token.Claims{Org: &token.OrgClaim{Role: "admin"}}, "org:admin", []string{}},
		{"role already prefixed", token.Claims{Org: &token.OrgClaim{Role: "org:admin"}}, "org:admin", []string{}},
		{"custom role", token.Claims{Org: &token.OrgClaim{Role: "billing_manager"}}, "org:billing_manager", []string{}},
		{"empty role", token.Claims{Org: &token.OrgClaim{Role: ""}}, "", []string{}},
		{
			"role and permissions",
			token.Claims{Features: "o:team,o:billing", Org: &token.OrgClaim{Role: "member", Permissions: "manage,read", FeatureMask: "3,2"}},
			"org:member", []string{"org:team:manage", "org:team:read", "org:billing:read"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.claims.OrgRole(); got != tc.wantRole {
				t.Errorf("OrgRole: got %q, want %q", got, tc.wantRole)
			}
			got := tc.claims.OrgPermissions()
			if (got == nil) != (tc.wantPerms == nil) || !reflect.DeepEqual(got, tc.wantPerms) {
				t.Errorf("OrgPermissions: got %#v, want %#v", got, tc.wantPerms)
			}
		})
	}
}

// TestClaimsMarshalJSON: claims built in code marshal with Clerk's claim
// names; signed claims marshal as the exact signed payload.
func TestClaimsMarshalJSON(t *testing.T) {
	c := &token.Claims{Issuer: testIssuer, Subject: "user_1", SessionID: "sess_1", IssuedAt: 1, NotBefore: 0, Expiry: 61, Version: 2}
	got, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"iss":"https://app.example.com","sub":"user_1","sid":"sess_1","iat":1,"nbf":0,"exp":61,"v":2}`
	if string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if c.Raw() != nil {
		t.Fatalf("Raw of unsigned claims: got %q, want nil", c.Raw())
	}
	if _, err := fixture(t).ring.SignSession(c); err != nil {
		t.Fatal(err)
	}
	if string(c.Raw()) != want {
		t.Fatalf("Raw after signing: got %s, want %s", c.Raw(), want)
	}
}

func TestClaimsCloneIsDeep(t *testing.T) {
	orig := &token.Claims{Subject: "user_1", FVA: []int{3, -1}, Actor: &token.Actor{Subject: "user_admin"},
		Org: &token.OrgClaim{ID: "org_1", Role: "admin"}}
	cp := orig.Clone()
	cp.FVA[0] = 99
	cp.Actor.Subject = "user_other"
	cp.Org.Role = "member"
	if orig.FVA[0] != 3 || orig.Actor.Subject != "user_admin" || orig.Org.Role != "admin" {
		t.Errorf("changing the clone changed the original: got %+v %+v %+v", orig.FVA, orig.Actor, orig.Org)
	}
}

// TestPermissionEncodingBothWays pins exact encodings in both directions:
// the default roles of 04-organizations.md §2 (as they go into tokens),
// many features, and the bit order (bit i of a feature's mask is the i-th
// name of per, whichever feature introduced that name).
func TestPermissionEncodingBothWays(t *testing.T) {
	wide := func() []string {
		var out []string
		for a := range 40 {
			out = append(out, fmt.Sprintf("org:x:a%02d", a))
		}
		return append(out, "org:y:a39")
	}()
	cases := []struct {
		name          string
		perms         []string
		fea, per, fpm string
		decoded       []string // in decode order: features as in fea, actions by bit
	}{
		{
			name:  "default org:admin",
			perms: roles.Default().Permissions(roles.Admin),
			fea:   "o:sys_profile,o:sys_memberships,o:team", per: "manage,delete,read", fpm: "3,5,5",
			decoded: []string{"org:sys_profile:manage", "org:sys_profile:delete", "org:sys_memberships:manage",
				"org:sys_memberships:read", "org:team:manage", "org:team:read"},
		},
		{
			name:  "default org:member",
			perms: roles.Default().Permissions(roles.Member),
			fea:   "o:sys_memberships,o:team", per: "read", fpm: "1,1",
			decoded: []string{"org:sys_memberships:read", "org:team:read"},
		},
		{
			name: "ten features",
			perms: []string{"org:f0:read", "org:f1:write", "org:f2:read", "org:f2:write", "org:f3:admin", "org:f4:read",
				"org:f5:write", "org:f6:admin", "org:f6:read", "org:f7:delete", "org:f8:read",
				"org:f9:delete", "org:f9:admin", "org:f9:write", "org:f9:read"},
			fea: "o:f0,o:f1,o:f2,o:f3,o:f4,o:f5,o:f6,o:f7,o:f8,o:f9", per: "read,write,admin,delete",
			fpm: "1,2,3,4,1,2,5,8,1,15",
			decoded: []string{"org:f0:read", "org:f1:write", "org:f2:read", "org:f2:write", "org:f3:admin", "org:f4:read",
				"org:f5:write", "org:f6:read", "org:f6:admin", "org:f7:delete", "org:f8:read",
				"org:f9:read", "org:f9:write", "org:f9:admin", "org:f9:delete"},
		},
		{
			name:  "an action introduced by a later feature takes the next bit",
			perms: []string{"org:billing:export", "org:team:read", "org:team:export"},
			fea:   "o:billing,o:team", per: "export,read", fpm: "1,3",
			decoded: []string{"org:billing:export", "org:team:export", "org:team:read"},
		},
		{
			name:  "bit 39",
			perms: wide,
			fea:   "o:x,o:y", per: strings.Join(func() []string {
				var a []string
				for i := range 40 {
					a = append(a, fmt.Sprintf("a%02d", i))
				}
				return a
			}(), ","),
			fpm:     "1099511627775,549755813888",
			decoded: wide,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fea, per, fpm := token.EncodePermissions(tc.perms)
			if fea != tc.fea || per != tc.per || fpm != tc.fpm {
				t.Errorf("encode: got (%q, %q, %q), want (%q, %q, %q)", fea, per, fpm, tc.fea, tc.per, tc.fpm)
			}
			if got := token.DecodePermissions(tc.fea, tc.per, tc.fpm); !slices.Equal(got, tc.decoded) {
				t.Errorf("decode: got %q, want %q", got, tc.decoded)
			}
		})
	}
}
