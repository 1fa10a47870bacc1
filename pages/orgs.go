package pages

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/components"
)

// OrgPages serves the organization pages: the active organization's
// management page (/org) and its forms, creating an organization
// (/org/new), the switcher's form (/org/switch), invitation acceptance and
// the pending-session task page. Every form is a plain POST answered with
// 303 on success and the page again (403, 404, 409, 410, 422) on failure;
// each write is authorised by the store at the moment it happens, whatever
// the page showed.
type OrgPages struct {
	site *Site
}

// NewOrgPages returns the organization pages.
func NewOrgPages(site *Site) *OrgPages {
	return &OrgPages{site: site}
}

// The permissions of the default roles that gate what /org offers.
const (
	permProfileManage     = "org:sys_profile:manage"
	permProfileDelete     = "org:sys_profile:delete"
	permMembershipsRead   = "org:sys_memberships:read"
	permMembershipsManage = "org:sys_memberships:manage"
	// An organization's API keys are managed with the memberships
	// permission (the admin's).
	permAPIKeysManage = permMembershipsManage
)

// Error codes of the organization calls the pages tell apart.
const (
	codeNotFound   = "resource_not_found" // unknown, or the caller is not a member
	codeNotAllowed = "not_allowed_access" // the caller's role lacks the permission
)

// notices are the confirmations a 303 back to /org can show, by key, so
// no text from the request is ever echoed.
var notices = map[string]string{
	"created":        "Organization created. It is now your active organization.",
	"joined":         "Invitation accepted. Welcome to the organization.",
	"renamed":        "Organization settings saved.",
	"invited":        "Invitation sent.",
	"revoked":        "Invitation revoked.",
	"role-changed":   "Role changed.",
	"member-removed": "Member removed.",
	"left":           "You left the organization.",
	"deleted":        "Organization deleted.",
	"key-revoked":    "API key revoked. It stops working from the next request.",
}

// OrgMember is one row of the members table.
type OrgMember struct {
	UserID, Name, Email, Role, RoleName string
	JoinedAt                            int64
	IsYou                               bool
}

// OrgInvitation is one row of the invitations table.
type OrgInvitation struct {
	ID, Email, RoleName, Status string
	ExpiresAt                   int64
}

// OrgRole is a role a member can be given.
type OrgRole struct {
	Key, Name string
}

// OrgManageProps are the props of /org.
type OrgManageProps struct {
	Base
	Auth *auth.Auth
	// Org is nil when no organization is active (or the user was removed
	// from it since the token was minted).
	Org         *auth.Organization
	Memberships []components.OrgOption // the user's organizations, to switch to
	Members     []OrgMember
	Invitations []OrgInvitation
	Roles       []OrgRole
	DefaultRole string // preselected for invitations
	// Can* gate what the page offers; the store decides what is allowed.
	CanReadMembers, CanManageMembers, CanManageProfile, CanDelete, CanManageAPIKeys bool
	Notice, Error                                                                   string
	// Form keeps what was typed into a form that failed.
	InviteEmail string
	// APIKeys is the organization's API keys card (with CanManageAPIKeys).
	APIKeys APIKeysView
}

// Manage serves GET /org.
func (p *OrgPages) Manage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.renderManage(w, r, http.StatusOK, OrgManageProps{Notice: notices[r.URL.Query().Get("notice")]})
	})
}

// signedIn returns the request's auth state, or answers the request
// itself (to sign-in, or the task page for a pending session) and
// returns nil.
func (p *OrgPages) signedIn(w http.ResponseWriter, r *http.Request, allowPending bool) *auth.Auth {
	a, err := auth.GetAuth(r)
	if err != nil {
		p.site.serverError(w, r, "organization", err)
		return nil
	}
	if !a.IsAuthenticated {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, p.site.Redirects.SignInURL(r), http.StatusTemporaryRedirect)
		return nil
	}
	if a.SessionStatus == "pending" && !allowPending {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, auth.PendingTaskURL, http.StatusTemporaryRedirect)
		return nil
	}
	return a
}

// userOrgs returns the organizations userID belongs to, for switching.
func (p *OrgPages) userOrgs(ctx context.Context, userID string) ([]components.OrgOption, error) {
	return switcherOptions(ctx, userID)
}

// renderManage loads and renders /org with status, keeping the notice,
// error and form values of props.
func (p *OrgPages) renderManage(w http.ResponseWriter, r *http.Request, status int, props OrgManageProps) {
	a := p.signedIn(w, r, false)
	if a == nil {
		return
	}
	ctx := r.Context()
	client := auth.ClerkClient(ctx)
	caller := auth.AsUser(a.UserID)
	orgs := client.Organizations.As(caller)
	roleSet := client.Organizations.Roles()
	props.Auth = a
	for _, role := range roleSet.Roles() {
		props.Roles = append(props.Roles, OrgRole{Key: role.Key, Name: role.Name})
	}
	props.DefaultRole = roleSet.DefaultRole()
	var err error
	if props.Memberships, err = p.userOrgs(ctx, a.UserID); err != nil {
		p.site.serverError(w, r, "organization", err)
		return
	}
	if a.OrgID != "" {
		org, err := orgs.Get(ctx, a.OrgID)
		switch {
		case auth.ErrorCode(err) == codeNotFound:
			// Removed (or the organization deleted) since the token was
			// minted: the page says so instead of failing.
		case err != nil:
			p.site.serverError(w, r, "organization", err)
			return
		default:
			props.Org = org
		}
	}
	if props.Org != nil {
		// What the page offers follows the token (as Clerk's components
		// do); what is allowed is decided again by the store.
		props.CanReadMembers = a.Has(auth.HasParams{Permission: permMembershipsRead})
		props.CanManageMembers = a.Has(auth.HasParams{Permission: permMembershipsManage})
		props.CanManageProfile = a.Has(auth.HasParams{Permission: permProfileManage})
		props.CanDelete = a.Has(auth.HasParams{Permission: permProfileDelete})
		props.CanManageAPIKeys = a.Has(auth.HasParams{Permission: permAPIKeysManage})
		if props.CanReadMembers {
			members, err := orgs.Members(ctx, props.Org.ID, 500)
			if code := auth.ErrorCode(err); err != nil && code != codeNotAllowed && code != codeNotFound {
				p.site.serverError(w, r, "organization", err)
				return
			}
			for _, m := range members {
				props.Members = append(props.Members, OrgMember{
					UserID: m.UserID, Name: joinName(m.User.FirstName, m.User.LastName), Email: m.User.Email,
					Role: m.Role, RoleName: roleSet.Name(m.Role), JoinedAt: m.CreatedAt, IsYou: m.UserID == a.UserID,
				})
			}
		}
		if props.CanManageMembers {
			invs, err := orgs.Invitations(ctx, props.Org.ID, "pending", 500)
			if code := auth.ErrorCode(err); err != nil && code != codeNotAllowed && code != codeNotFound {
				p.site.serverError(w, r, "organization", err)
				return
			}
			for _, inv := range invs {
				props.Invitations = append(props.Invitations, OrgInvitation{
					ID: inv.ID, Email: inv.Email, RoleName: roleSet.Name(inv.Role), Status: inv.Status, ExpiresAt: inv.ExpiresAt,
				})
			}
		}
	}
	if props.CanManageAPIKeys {
		if err := p.loadAPIKeys(r, a, caller, &props); err != nil {
			p.site.serverError(w, r, "organization", err)
			return
		}
	}
	var init auth.InitState
	if props.Org != nil {
		init.Organization = props.Org
	}
	state, err := auth.BuildClerkProps(r, init)
	if err != nil {
		p.site.serverError(w, r, "organization", err)
		return
	}
	props.Base = Base{Clerk: state}
	title := "Organization"
	if props.Org != nil {
		title = props.Org.Name
	}
	header, err := p.site.loadHeader(r, state)
	if err != nil {
		p.site.serverError(w, r, "organization", err)
		return
	}
	p.site.render(w, r, status, title, state, header, orgManageView(props))
}

func joinName(first, last string) string {
	switch {
	case first == "":
		return last
	case last == "":
		return first
	}
	return first + " " + last
}

// orgAction runs one /org form: it reads the form, runs fn with the
// signed-in caller and the form, and answers 303 to /org with the notice,
// or the page again with the error's status and message. With leaves set
// (leaving, deleting), a session whose active organization was the form's
// falls back to the personal account with a new token at once.
func (p *OrgPages) orgAction(notice string, leaves bool, fn func(ctx context.Context, c auth.Caller, form map[string]string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, a, caller, ok := p.write(w, r, false)
		if !ok {
			return
		}
		if err := fn(r.Context(), caller, form); err != nil {
			p.actionError(w, r, err, OrgManageProps{InviteEmail: form["email_address"]})
			return
		}
		if leaves && form["organization_id"] == a.OrgID && !p.activate(w, r, "") {
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "/org?notice="+notice, http.StatusSeeOther)
	})
}

// write starts a form that changes something: it reads the form, checks
// the request is signed in (allowPending: a pending session may do it) and
// re-reads the session as the caller. It answers the request itself and
// returns false otherwise.
func (p *OrgPages) write(w http.ResponseWriter, r *http.Request, allowPending bool) (map[string]string, *auth.Auth, auth.Caller, bool) {
	form, err := auth.ReadForm(w, r)
	if err != nil {
		formError(p.site, w, r, err)
		return nil, nil, auth.Caller{}, false
	}
	a := p.signedIn(w, r, allowPending)
	if a == nil {
		return nil, nil, auth.Caller{}, false
	}
	caller, ok := p.caller(w, r)
	return form, a, caller, ok
}

// caller re-reads the session from the store, as every sensitive write
// needs: a session ended a second ago is signed out, whatever its token
// says. It answers the request itself and returns false otherwise.
func (p *OrgPages) caller(w http.ResponseWriter, r *http.Request) (auth.Caller, bool) {
	c, err := auth.SessionCaller(w, r)
	switch {
	case errors.Is(err, auth.ErrSessionEnded):
		http.Redirect(w, r, p.site.Redirects.SignInURL(r), http.StatusSeeOther)
		return c, false
	case err != nil:
		p.site.serverError(w, r, "organization", err)
		return c, false
	}
	return c, true
}

// actionError renders /org again with a refused action's message: an
// identity error, or a refusal (4xx) of the backend client.
func (p *OrgPages) actionError(w http.ResponseWriter, r *http.Request, err error, props OrgManageProps) {
	if e, ok := auth.AsError(err); ok && e.Status < 500 {
		props.Error = e.Message
		p.renderManage(w, r, e.Status, props)
		return
	}
	p.site.serverError(w, r, "organization", err)
}

// UpdateSettings serves POST /org/settings (name, slug).
func (p *OrgPages) UpdateSettings() http.Handler {
	return p.orgAction("renamed", false, func(ctx context.Context, c auth.Caller, f map[string]string) error {
		var name, slug *string
		if v, ok := f["name"]; ok {
			name = &v
		}
		if v, ok := f["slug"]; ok && v != "" {
			slug = &v
		}
		return auth.ClerkClient(ctx).Organizations.As(c).Update(ctx, f["organization_id"], name, slug)
	})
}

// ChangeRole serves POST /org/members/role (user_id, role).
func (p *OrgPages) ChangeRole() http.Handler {
	return p.orgAction("role-changed", false, func(ctx context.Context, c auth.Caller, f map[string]string) error {
		return auth.ClerkClient(ctx).Organizations.As(c).ChangeRole(ctx, f["organization_id"], f["user_id"], f["role"])
	})
}

// RemoveMember serves POST /org/members/remove (user_id).
func (p *OrgPages) RemoveMember() http.Handler {
	return p.orgAction("member-removed", false, func(ctx context.Context, c auth.Caller, f map[string]string) error {
		return auth.ClerkClient(ctx).Organizations.As(c).RemoveMember(ctx, f["organization_id"], f["user_id"])
	})
}

// Invite serves POST /org/invitations (email_address, role).
func (p *OrgPages) Invite() http.Handler {
	return p.orgAction("invited", false, func(ctx context.Context, c auth.Caller, f map[string]string) error {
		return auth.ClerkClient(ctx).Organizations.As(c).Invite(ctx, f["organization_id"], f["email_address"], f["role"])
	})
}

// RevokeInvitation serves POST /org/invitations/revoke (invitation_id).
func (p *OrgPages) RevokeInvitation() http.Handler {
	return p.orgAction("revoked", false, func(ctx context.Context, c auth.Caller, f map[string]string) error {
		return auth.ClerkClient(ctx).Organizations.As(c).RevokeInvitation(ctx, f["organization_id"], f["invitation_id"])
	})
}

// Leave serves POST /org/leave; the session falls back to the personal
// account with a new token at once.
func (p *OrgPages) Leave() http.Handler {
	return p.orgAction("left", true, func(ctx context.Context, c auth.Caller, f map[string]string) error {
		return auth.ClerkClient(ctx).Organizations.As(c).Leave(ctx, f["organization_id"])
	})
}

// Delete serves POST /org/delete.
func (p *OrgPages) Delete() http.Handler {
	return p.orgAction("deleted", true, func(ctx context.Context, c auth.Caller, f map[string]string) error {
		return auth.ClerkClient(ctx).Organizations.As(c).Delete(ctx, f["organization_id"])
	})
}

// OrgNewProps are the props of /org/new.
type OrgNewProps struct {
	Base
	Name, Slug string
	Error      string
	Fields     components.FieldErrors
}

// NewPage serves GET /org/new.
func (p *OrgPages) NewPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.signedIn(w, r, true) == nil {
			return
		}
		p.site.Render(w, r, http.StatusOK, "Create organization", orgNewView(OrgNewProps{}))
	})
}

// Create serves POST /org/new: it creates the organization, makes the
// user its admin and its the session's active organization, and sets the
// new session token at once.
func (p *OrgPages) Create() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, _, caller, ok := p.write(w, r, true)
		if !ok {
			return
		}
		props := OrgNewProps{Name: form["name"], Slug: form["slug"]}
		org, err := auth.ClerkClient(r.Context()).Organizations.As(caller).Create(r.Context(), form["name"], form["slug"])
		if err != nil {
			e, ok := auth.AsError(err)
			if !ok {
				p.site.serverError(w, r, "new organization", err)
				return
			}
			if e.Param != "" {
				props.Fields = components.FieldErrors{e.Param: e.Message}
			} else {
				props.Error = e.Message
			}
			p.site.Render(w, r, e.Status, "Create organization", orgNewView(props))
			return
		}
		if !p.activate(w, r, org.ID) {
			return
		}
		http.Redirect(w, r, "/org?notice=created", http.StatusSeeOther)
	})
}

// activate makes orgID ("" for the personal account) the session's active
// organization and sets the new session token. It answers the request
// itself and returns false when that fails.
func (p *OrgPages) activate(w http.ResponseWriter, r *http.Request, orgID string) bool {
	err := auth.SetActiveOrganization(w, r, orgID)
	switch {
	case errors.Is(err, auth.ErrSessionEnded):
		http.Redirect(w, r, p.site.Redirects.SignInURL(r), http.StatusSeeOther)
		return false
	case err != nil:
		if e, ok := auth.AsError(err); ok && e.Status < 500 {
			p.site.ErrorPage(w, r, e.Status)
			return false
		}
		p.site.serverError(w, r, "switch organization", err)
		return false
	}
	w.Header().Set("Cache-Control", "no-store")
	return true
}

// Switch serves POST /org/switch, the OrganizationSwitcher's form without
// JavaScript: organization_id (empty for the personal account) and an
// optional redirect_url.
func (p *OrgPages) Switch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(p.site, w, r, err)
			return
		}
		a := p.signedIn(w, r, true)
		if a == nil {
			return
		}
		if !p.activate(w, r, form["organization_id"]) {
			return
		}
		fallback := "/org"
		if form["organization_id"] == "" {
			fallback = p.site.SignInFallback
		}
		http.Redirect(w, r, p.site.Redirects.Safe(form["redirect_url"], fallback), http.StatusSeeOther)
	})
}

// ChooseProps are the props of the pending-session task page.
type ChooseProps struct {
	Base
	Orgs    []components.OrgOption
	Pending bool
}

// ChooseOrganization serves the pending-session task page: the user picks
// one of their organizations or creates one.
func (p *OrgPages) ChooseOrganization() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := p.signedIn(w, r, true)
		if a == nil {
			return
		}
		orgs, err := p.userOrgs(r.Context(), a.UserID)
		if err != nil {
			p.site.serverError(w, r, "choose organization", err)
			return
		}
		p.site.Render(w, r, http.StatusOK, "Choose an organization", chooseOrgView(ChooseProps{
			Orgs: orgs, Pending: a.SessionStatus == "pending",
		}))
	})
}

// InvitationProps are the props of the invitation acceptance page.
type InvitationProps struct {
	Base
	Token string // the link's secret, posted back to accept
	// Email and OrganizationName are the invitation's.
	Email, OrganizationName string
	RoleName                string
	SignedIn                bool
	// SignInURL and SignUpURL bring a visitor back here afterwards.
	SignInURL, SignUpURL string
	Error                string
}

// Invitation serves GET /org/invitations/accept?token=….
func (p *OrgPages) Invitation() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.renderInvitation(w, r, r.URL.Query().Get("token"), http.StatusOK, "")
	})
}

func (p *OrgPages) renderInvitation(w http.ResponseWriter, r *http.Request, secret string, status int, msg string) {
	a, err := auth.GetAuth(r)
	if err != nil {
		p.site.serverError(w, r, "invitation", err)
		return
	}
	orgs := auth.ClerkClient(r.Context()).Organizations
	inv, err := orgs.Invitation(r.Context(), secret)
	if auth.ErrorCode(err) == codeNotFound {
		p.site.Render(w, r, http.StatusNotFound, "Invitation not found", invitationGoneView("This invitation link is not valid.", "Check that you opened the whole link, or ask for a new invitation."))
		return
	}
	if err != nil {
		p.site.serverError(w, r, "invitation", err)
		return
	}
	switch inv.Status {
	case "revoked":
		p.site.Render(w, r, http.StatusGone, "Invitation revoked", invitationGoneView("This invitation was revoked.", "Ask an administrator of "+inv.OrganizationName+" for a new one."))
		return
	case "expired":
		p.site.Render(w, r, http.StatusGone, "Invitation expired", invitationGoneView("This invitation has expired.", "Invitations last 30 days. Ask an administrator of "+inv.OrganizationName+" for a new one."))
		return
	case "accepted":
		p.site.Render(w, r, http.StatusConflict, "Invitation already accepted", invitationGoneView("This invitation was already accepted.", "Each invitation can be used once."))
		return
	}
	here := invitationPath(secret)
	p.site.Render(w, r, status, "Invitation", invitationView(InvitationProps{
		Token: secret, Email: inv.Email, OrganizationName: inv.OrganizationName, RoleName: orgs.Roles().Name(inv.Role), SignedIn: a.IsAuthenticated,
		SignInURL: auth.WithRedirectURL(p.site.Env.SignInURL, here),
		SignUpURL: auth.WithRedirectURL(p.site.Env.SignUpURL, here),
		Error:     msg,
	}))
}

// AcceptInvitation serves POST /org/invitations/accept (token): the
// signed-in user joins, and the organization becomes the active one.
func (p *OrgPages) AcceptInvitation() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(p.site, w, r, err)
			return
		}
		a, err := auth.GetAuth(r)
		if err != nil {
			p.site.serverError(w, r, "invitation", err)
			return
		}
		if !a.IsAuthenticated {
			http.Redirect(w, r, auth.WithRedirectURL(p.site.Env.SignInURL, invitationPath(form["token"])), http.StatusSeeOther)
			return
		}
		// A membership write: the session is re-read from the store, so
		// one that ended a moment ago joins nothing.
		caller, ok := p.caller(w, r)
		if !ok {
			return
		}
		m, err := auth.ClerkClient(r.Context()).Organizations.As(caller).AcceptInvitation(r.Context(), form["token"])
		if err != nil {
			e, ok := auth.AsError(err)
			if !ok {
				p.site.serverError(w, r, "invitation", err)
				return
			}
			p.renderInvitation(w, r, form["token"], e.Status, e.Message)
			return
		}
		if !p.activate(w, r, m.OrganizationID) {
			return
		}
		http.Redirect(w, r, "/org?notice=joined", http.StatusSeeOther)
	})
}

// invitationPath is the acceptance page of a secret, relative to the site.
func invitationPath(secret string) string {
	return auth.InvitationPath + "?token=" + url.QueryEscape(secret)
}
