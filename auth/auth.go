// Package auth is the library a Gatehouse app uses at request time, the
// counterpart of Clerk's @clerk/nextjs/server: the [Middleware] that
// resolves who is calling, [GetAuth] and the [Auth] object with [Auth.Has]
// and [Auth.GetToken], [BuildClerkProps] for page loaders, route
// protection with [Protect], [Require] and [RouteMatcher], [ClerkClient]
// for the backend client (auth/clerkclient), and the functions the forms
// sign a browser in and out with ([SignIn], [SignOut], …), which own the
// identity server's cookies.
//
// GetAuth and BuildClerkProps keep Clerk's names, although Go style would
// drop the Get, so that code and documentation written for Clerk read the
// same here.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// TokenType names the kind of credential a request presented.
type TokenType string

// Token types, as Clerk names them.
const (
	SessionToken TokenType = "session_token"
	M2MToken     TokenType = "m2m_token"
	OAuthToken   TokenType = "oauth_token"
	APIKey       TokenType = "api_key"
	AnyToken     TokenType = "any"
)

// Actor is who acts on the user's behalf during impersonation.
type Actor = token.Actor

// Auth is the authentication state of one request, as [GetAuth] returns
// it. A signed-out Auth has IsAuthenticated false and every other field
// empty; its JSON says null for each.
type Auth struct {
	// TokenType is the kind of token this object describes; empty for the
	// object of a token type that was not accepted.
	TokenType       TokenType
	IsAuthenticated bool
	UserID          string
	SessionID       string
	// SessionStatus is "active" or "pending" (also on a pending session
	// that TreatPendingAsSignedOut turned into a signed-out object).
	SessionStatus string
	// SessionClaims are the verified claims of the session token.
	SessionClaims *token.Claims
	Actor         *Actor
	OrgID         string
	OrgRole       string
	OrgSlug       string
	// OrgPermissions is nil without an active organization.
	OrgPermissions []string
	// FactorVerificationAge is [minutes since first factor, second factor
	// or -1].
	FactorVerificationAge []int

	// The fields of machine tokens (M2M tokens and API keys; see
	// machine.go). An API key sets UserID or OrgID from its subject.

	// ID is the id of the M2M token (mt_…) or API key (ak_…).
	ID string
	// Subject is who the token stands for: the machine (mch_…) of an M2M
	// token, the user (user_…) or organization (org_…) of an API key.
	Subject string
	// MachineID is the machine of an M2M token.
	MachineID string
	// Name is the name of an API key.
	Name string
	// Scopes are the machine ids an M2M token may address, or the scopes
	// of an API key.
	Scopes []string
	// Claims are the custom claims the token was created with.
	Claims map[string]any

	tok    string
	minter *identity.Service // nil in verify-only mode
	debug  debugInfo
}

type debugInfo struct {
	status, reason, secretKey string
}

func signedOut(tt TokenType) *Auth { return &Auth{TokenType: tt} }

// authFromClaims builds the signed-in object of a verified session token.
// It works on a copy: the verifier's cache shares c between requests, and
// the Auth fields are the handler's to change.
func authFromClaims(c *token.Claims, tok string) *Auth {
	c = c.Clone()
	a := &Auth{
		TokenType:             SessionToken,
		IsAuthenticated:       true,
		UserID:                c.Subject,
		SessionID:             c.SessionID,
		SessionStatus:         c.Status,
		SessionClaims:         c,
		Actor:                 c.Actor,
		FactorVerificationAge: c.FVA,
		tok:                   tok,
	}
	if c.Org != nil {
		a.OrgID = c.Org.ID
		a.OrgSlug = c.Org.Slug
		a.OrgRole = c.OrgRole()
		a.OrgPermissions = c.OrgPermissions()
	}
	return a
}

// HasParams asks [Auth.Has] about a role or a permission of the active
// organization, and how recently the session verified its factors. Every
// part given must hold.
type HasParams struct {
	Role       string
	Permission string
	// Reverification is a preset ([Strict], [StrictMFA], [Moderate],
	// [Lax]) or a [CustomReverification]; nil asks nothing.
	Reverification ReverificationRequirement
}

// Has reports whether the signed-in user meets p, deciding from the token
// alone as Clerk's SDKs do (@clerk/shared 4.41): false when signed out and
// for machine tokens; each part asked must pass and at least one must be
// asked. The organization part needs an active organization, the role
// (keys compare with or without their "org:" prefix: "admin" ==
// "org:admin") and the permission when both are given; the reverification
// part follows the session's fva claim (see [token.FactorsFresh]) and
// fails without one.
func (a *Auth) Has(p HasParams) bool {
	if a == nil || !a.IsAuthenticated || a.TokenType != SessionToken || a.UserID == "" {
		return false
	}
	org, orgAsked := a.hasOrg(p)
	rev, revAsked := a.hasReverification(p.Reverification)
	return (orgAsked || revAsked) && (org || !orgAsked) && (rev || !revAsked)
}

// hasOrg is the organization part of Has; asked is false when neither
// Role nor Permission is given.
func (a *Auth) hasOrg(p HasParams) (ok, asked bool) {
	if p.Role == "" && p.Permission == "" {
		return false, false
	}
	if a.OrgID == "" {
		return false, true
	}
	if p.Role != "" && (a.OrgRole == "" || normalizeRole(a.OrgRole) != normalizeRole(p.Role)) {
		return false, true
	}
	if p.Permission != "" && !slices.Contains(a.OrgPermissions, normalizeRole(p.Permission)) {
		return false, true
	}
	return true, true
}

// hasReverification is the reverification part of Has; asked is false
// when r is nil.
func (a *Auth) hasReverification(r ReverificationRequirement) (ok, asked bool) {
	if r == nil {
		return false, false
	}
	level, minutes, valid := r.Rule()
	if !valid {
		return false, true
	}
	first, second, fvaOK := token.FVAAges(a.FactorVerificationAge)
	if !fvaOK {
		return false, true
	}
	return token.FactorsFresh(first, second, level, time.Duration(minutes)*time.Minute), true
}

// normalizeRole replaces any run of leading "org:" with exactly one (for
// permission keys too).
func normalizeRole(r string) string {
	for strings.HasPrefix(r, "org:") {
		r = r[len("org:"):]
	}
	return "org:" + r
}

// GetTokenOptions select the token [Auth.GetToken] returns.
type GetTokenOptions struct {
	// Template names a JWT template; empty means the session token.
	Template string
	// SkipCache mints a new session token instead of returning this
	// request's.
	SkipCache bool
}

// Errors of GetToken.
var (
	ErrTemplateNotFound = errors.New("auth: JWT template not found")
	ErrCannotMint       = errors.New("auth: this process cannot mint tokens (verify-only mode)")
)

// GetToken returns a token for the signed-in session: without options, the
// session token of this request (the one verified, or the one the
// middleware just minted); with SkipCache, a newly minted one, which fails
// if the session was revoked since. Signed out, it returns "" and no error.
func (a *Auth) GetToken(ctx context.Context, o GetTokenOptions) (string, error) {
	if a == nil || !a.IsAuthenticated {
		return "", nil
	}
	if a.TokenType != SessionToken {
		return a.tok, nil
	}
	if !o.SkipCache && o.Template == "" {
		return a.tok, nil
	}
	if a.minter == nil {
		return "", ErrCannotMint
	}
	if o.Template != "" {
		return a.templateToken(ctx, o.Template)
	}
	azp := ""
	if a.SessionClaims != nil {
		azp = a.SessionClaims.AuthorizedParty
	}
	return a.minter.MintSessionToken(ctx, a.SessionID, azp)
}

// Debug returns what the middleware decided and why, for logs and
// debugging pages. Tokens and keys are cut to their first 7 characters.
func (a *Auth) Debug() map[string]any {
	if a == nil {
		return map[string]any{}
	}
	status := a.debug.status
	if status == "" {
		status = "signed-out"
		if a.IsAuthenticated {
			status = "signed-in"
		}
	}
	m := map[string]any{
		"status":          status,
		"reason":          nullable(a.debug.reason),
		"tokenType":       nullable(string(a.TokenType)),
		"isAuthenticated": a.IsAuthenticated,
		"userId":          nullable(a.UserID),
		"sessionId":       nullable(a.SessionID),
		"sessionToken":    nullable(cut7(a.tok)),
		"secretKey":       nullable(cut7(a.debug.secretKey)),
	}
	if a.SessionClaims != nil {
		var claims map[string]any
		if json.Unmarshal(a.SessionClaims.Raw(), &claims) == nil {
			m["sessionClaims"] = claims
		}
	}
	return m
}

func cut7(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// MarshalJSON writes the serialisable part of the object with Clerk's keys,
// each present and null when empty.
func (a *Auth) MarshalJSON() ([]byte, error) {
	if a.TokenType != SessionToken {
		return json.Marshal(a.machineJSONMap())
	}
	return json.Marshal(a.wire())
}

// authJSON is the serialisable part of an Auth. Its fields are in the
// alphabetical order of their keys, the order a map would have.
type authJSON struct {
	Actor                 *Actor        `json:"actor"`
	FactorVerificationAge []int         `json:"factorVerificationAge"`
	IsAuthenticated       bool          `json:"isAuthenticated"`
	OrgID                 *string       `json:"orgId"`
	OrgPermissions        []string      `json:"orgPermissions"`
	OrgRole               *string       `json:"orgRole"`
	OrgSlug               *string       `json:"orgSlug"`
	SessionClaims         *token.Claims `json:"sessionClaims"`
	SessionID             *string       `json:"sessionId"`
	SessionStatus         *string       `json:"sessionStatus"`
	TokenType             *string       `json:"tokenType"`
	UserID                *string       `json:"userId"`
}

func (a *Auth) wire() authJSON {
	return authJSON{
		Actor:                 a.Actor,
		FactorVerificationAge: a.FactorVerificationAge,
		IsAuthenticated:       a.IsAuthenticated,
		OrgID:                 orNull(a.OrgID),
		OrgPermissions:        a.OrgPermissions,
		OrgRole:               orNull(a.OrgRole),
		OrgSlug:               orNull(a.OrgSlug),
		SessionClaims:         a.SessionClaims,
		SessionID:             orNull(a.SessionID),
		SessionStatus:         orNull(a.SessionStatus),
		TokenType:             orNull(string(a.TokenType)),
		UserID:                orNull(a.UserID),
	}
}

// orNull is s, or nil (JSON null) when s is empty.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
