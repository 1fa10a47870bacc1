// Package token signs and verifies Gatehouse's session tokens: compact
// RS256 JWS tokens with Clerk's session-token v2 claims, a keyring that
// publishes its public keys as a JWKS, and a cache of verified tokens.
package token

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
)

// Token categories (the "cat" header). A token of one kind signed by the
// same key can never pass as another kind.
const (
	CategorySession  = "cl_B7d4PD111AAA"
	CategoryTemplate = "cl_B7d4PD222AAA"
	CategoryMachine  = "cl_B7d4PD333AAA"
)

// Claims are the claims of a session token (Clerk's v2 session token).
type Claims struct {
	Issuer          string    `json:"iss"`
	Subject         string    `json:"sub"`
	SessionID       string    `json:"sid"`
	IssuedAt        int64     `json:"iat"`
	NotBefore       int64     `json:"nbf"`
	Expiry          int64     `json:"exp"`
	ID              string    `json:"jti,omitempty"`
	Version         int       `json:"v"`
	AuthorizedParty string    `json:"azp,omitempty"`
	Status          string    `json:"sts,omitempty"`
	FVA             []int     `json:"fva,omitempty"`
	Actor           *Actor    `json:"act,omitempty"`
	Org             *OrgClaim `json:"o,omitempty"`
	Features        string    `json:"fea,omitempty"`

	raw []byte // the verified payload, exactly as signed
}

// Actor identifies who acts on behalf of the user while impersonating.
type Actor struct {
	Subject   string `json:"sub"`
	SessionID string `json:"sid,omitempty"`
}

// OrgClaim is the "o" claim: the active organization.
type OrgClaim struct {
	ID          string `json:"id"`
	Slug        string `json:"slg"`
	Role        string `json:"rol"` // without the "org:" prefix
	Permissions string `json:"per"` // action names, comma separated
	FeatureMask string `json:"fpm"` // one bitmask per feature in "fea"
}

// MarshalJSON returns the payload exactly as it was signed when the claims
// came from a verified token, so no claim is lost or reordered.
func (c *Claims) MarshalJSON() ([]byte, error) {
	if c.raw != nil {
		return c.raw, nil
	}
	type plain Claims
	return json.Marshal((*plain)(c))
}

// Raw returns the payload of the verified token (nil for claims built in
// code). The bytes are shared; do not modify them.
func (c *Claims) Raw() []byte { return c.raw }

// Clone returns a deep copy, so a holder may change it without touching
// the verifier's cached value that other requests share.
func (c *Claims) Clone() *Claims {
	cp := *c
	cp.FVA = slices.Clone(c.FVA)
	if c.Actor != nil {
		a := *c.Actor
		cp.Actor = &a
	}
	if c.Org != nil {
		o := *c.Org
		cp.Org = &o
	}
	return &cp
}

// OrgRole returns the active organization's role with its "org:" prefix,
// or "" without an active organization.
func (c *Claims) OrgRole() string {
	if c.Org == nil || c.Org.Role == "" {
		return ""
	}
	return "org:" + strings.TrimPrefix(c.Org.Role, "org:")
}

// OrgPermissions decodes the active organization's permissions from the
// "fea", "o.per" and "o.fpm" claims; nil without an active organization.
func (c *Claims) OrgPermissions() []string {
	if c.Org == nil {
		return nil
	}
	return DecodePermissions(c.Features, c.Org.Permissions, c.Org.FeatureMask)
}

// EncodePermissions packs permissions of the form org:<feature>:<action>
// into Clerk's v2 encoding: fea lists the features ("o:team,o:billing"),
// per the distinct action names, and fpm one bitmask per feature whose
// bit i stands for the i-th name in per. Keys of another form, or with a
// comma (the lists' separator), are skipped.
func EncodePermissions(perms []string) (fea, per, fpm string) {
	var features, actions []string
	featIdx := map[string]int{}
	actIdx := map[string]int{}
	var masks []uint64
	for _, p := range perms {
		parts := strings.Split(p, ":")
		if len(parts) != 3 || parts[0] != "org" || parts[1] == "" || parts[2] == "" || strings.Contains(p, ",") {
			continue
		}
		f, a := parts[1], parts[2]
		fi, ok := featIdx[f]
		if !ok {
			fi = len(features)
			featIdx[f] = fi
			features = append(features, f)
			masks = append(masks, 0)
		}
		ai, ok := actIdx[a]
		if !ok {
			ai = len(actions)
			if ai >= 53 {
				// Clerk's SDKs decode fpm as JavaScript numbers, exact
				// only up to 2^53.
				continue
			}
			actIdx[a] = ai
			actions = append(actions, a)
		}
		masks[fi] |= 1 << ai
	}
	feaParts := make([]string, len(features))
	fpmParts := make([]string, len(masks))
	for i, f := range features {
		feaParts[i] = "o:" + f
		fpmParts[i] = strconv.FormatUint(masks[i], 10)
	}
	return strings.Join(feaParts, ","), strings.Join(actions, ","), strings.Join(fpmParts, ",")
}

// DecodePermissions reverses [EncodePermissions], as Clerk's SDKs do: the
// i-th number of fpm belongs to the i-th organization-scoped feature of fea
// (scope containing "o"), and each set bit names an action of per.
func DecodePermissions(fea, per, fpm string) []string {
	if per == "" || fpm == "" {
		return []string{}
	}
	actions := strings.Split(per, ",")
	masks := strings.Split(fpm, ",")
	var orgFeatures []string
	for _, f := range strings.Split(fea, ",") {
		scope, name, ok := strings.Cut(f, ":")
		if ok && strings.Contains(scope, "o") && name != "" {
			orgFeatures = append(orgFeatures, name)
		}
	}
	out := []string{}
	for i, f := range orgFeatures {
		if i >= len(masks) {
			break
		}
		m, err := strconv.ParseUint(masks[i], 10, 64)
		if err != nil {
			continue
		}
		for m != 0 {
			b := bits.TrailingZeros64(m)
			m &^= 1 << b
			if b < len(actions) {
				out = append(out, fmt.Sprintf("org:%s:%s", f, actions[b]))
			}
		}
	}
	return out
}
