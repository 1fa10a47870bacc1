package identity

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/roles"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// Error codes of organization operations, as Clerk names them where Clerk
// has one. Pages switch on them (see [Error]); statuses are in brackets.
const (
	CodeNotFound             = "resource_not_found"                       // 404: unknown, or the caller is not a member
	CodeNotAllowed           = "not_allowed_access"                       // 403: the caller's role lacks the permission
	CodeLastAdmin            = "organization_minimum_permissions_needed"  // 409: would leave no admin
	CodeMembershipQuota      = "organization_membership_quota_exceeded"   // 409: max_allowed_memberships reached
	CodeAlreadyMember        = "already_a_member_in_organization"         // 409
	CodeDuplicateInvitation  = "duplicate_record"                         // 409: a pending invitation exists
	CodeInvitationAccepted   = "organization_invitation_already_accepted" // 409
	CodeInvitationRevoked    = "organization_invitation_revoked"          // 410
	CodeInvitationExpired    = "organization_invitation_expired"          // 410
	CodeInvitationWrongEmail = "organization_invitation_email_mismatch"   // 403: signed in with another address
	CodeSlugTaken            = "form_identifier_exists"                   // 422, param slug
	CodeParamMissing         = "form_param_missing"                       // 422
	CodeParamInvalid         = "form_param_format_invalid"                // 422
	CodeImpersonationRefused = "impersonation_not_allowed"                // 403: not while impersonating, or not an administrator
	CodeActorTokenInvalid    = "actor_token_invalid"                      // 422: unknown, used, revoked, expired or forged
	CodeActorTokenNotPending = "actor_token_not_pending"                  // 409: revoking a used or revoked token
)

// InvitationPath is the page an invitation link opens, with ?token=….
const InvitationPath = "/org/invitations/accept"

// DefaultInvitationTTL is how long an invitation can be accepted.
const DefaultInvitationTTL = 30 * 24 * time.Hour

// Caller is who asks for an organization operation: a signed-in user,
// whose permissions are checked in the store at the moment of the write,
// or the instance itself (the backend client, the CLI, the seed), which
// may do anything. The zero Caller may do nothing.
type Caller struct {
	userID   string
	instance bool
	// impersonated marks a caller from an impersonation session, which
	// may not manage API keys.
	impersonated bool
	// req is where the caller's writes come from (its session, actor,
	// IP and user agent), for their audit events.
	req store.RequestInfo
}

// AsUser is the signed-in user userID.
func AsUser(userID string) Caller { return Caller{userID: userID} }

// SessionCaller is the caller for a request signed in with session sid:
// the session is re-read from the store, as every sensitive write needs,
// and must still be live (not ended, revoked or expired, its user not
// banned), else ErrSignedOut. Pages call it with auth.Auth's SessionID
// before an organization change. The caller of an impersonation session
// remembers it (see [Caller.Impersonated]).
func (s *Service) SessionCaller(ctx context.Context, sid string) (Caller, error) {
	if sid == "" {
		return Caller{}, ErrSignedOut
	}
	sess, err := s.liveSession(ctx, sid)
	if err != nil {
		return Caller{}, err
	}
	c := AsUser(sess.UserID)
	c.impersonated = len(sess.Actor) > 0
	c.req = store.RequestInfoFrom(ctx)
	c.req.SessionID = sid
	if c.impersonated {
		var act struct {
			Sub string `json:"sub"`
		}
		if json.Unmarshal(sess.Actor, &act) == nil {
			c.req.ActorID = act.Sub
		}
	}
	return c, nil
}

// writeContext returns ctx carrying the caller's request, so the audit
// events of its writes name its session and, when impersonating, the
// actor; a context that already carries one keeps it.
func (c Caller) writeContext(ctx context.Context) context.Context {
	if c.req.SessionID == "" || store.RequestInfoFrom(ctx).SessionID != "" {
		return ctx
	}
	return store.WithRequestInfo(ctx, c.req)
}

// AsInstance is the instance itself.
func AsInstance() Caller { return Caller{instance: true} }

// UserID returns the user of a user caller, or "".
func (c Caller) UserID() string { return c.userID }

// Impersonated reports whether the caller comes from an impersonation
// (actor) session, as read from the store by [Service.SessionCaller].
func (c Caller) Impersonated() bool { return c.impersonated }

// InvitationMessage is what an invitation mail says.
type InvitationMessage struct {
	To               string // the invited address
	OrganizationName string
	InviterName      string // "" when the instance invited
	RoleName         string
	URL              string // the acceptance link, with its secret
	ExpiresAt        time.Time
}

// OrgsConfig configures [Orgs].
type OrgsConfig struct {
	// BaseURL is APP_URL; invitation links start with it.
	BaseURL string
	// Roles are the organization roles; nil means roles.Default().
	Roles *roles.Set
	// SendInvitation delivers a new invitation's link (the mail sender).
	// Nil: the link is only returned to the caller.
	SendInvitation func(ctx context.Context, m InvitationMessage) error
	// InvitationTTL is how long invitations last (default 30 days).
	InvitationTTL time.Duration
	// InvitationLimits bound the mail invitations send (default
	// [DefaultInvitationLimits]); they are counted in the store.
	InvitationLimits *store.InvitationLimits
	// Mail is the limiter every message passes (nil: none).
	Mail *MailGate
	Log  *slog.Logger
}

// Orgs manages organizations, memberships and invitations. Every write
// asked for by a user is authorised by the store inside the write's own
// transaction, against the caller's membership as it is then: a member
// removed or demoted a second ago is refused even while their session
// token still says otherwise.
//
// Errors are *Error values whose Code is one of the Code… constants, so a
// page or API can map them to 403, 404, 409, 410 and 422 in one place;
// anything else is an internal failure.
type Orgs struct {
	st  store.Store
	cfg OrgsConfig
	now func() time.Time
}

// DefaultInvitationLimits bound invitations when OrgsConfig sets none:
// each sends mail to an address the inviter chose.
func DefaultInvitationLimits() store.InvitationLimits {
	return store.InvitationLimits{PerInviterPerHour: 20, PerOrganizationPerHour: 50, PendingPerOrganization: 100}
}

// CodeInvitationLimit refuses an invitation over its limits (429).
const CodeInvitationLimit = "too_many_invitations"

// NewOrgs returns the organizations service over st.
func NewOrgs(st store.Store, cfg OrgsConfig) *Orgs {
	if cfg.Roles == nil {
		cfg.Roles = roles.Default()
	}
	if cfg.InvitationTTL <= 0 {
		cfg.InvitationTTL = DefaultInvitationTTL
	}
	if cfg.InvitationLimits == nil {
		l := DefaultInvitationLimits()
		cfg.InvitationLimits = &l
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	return &Orgs{st: st, cfg: cfg, now: time.Now}
}

// Roles returns the organization roles the service checks against.
func (o *Orgs) Roles() *roles.Set { return o.cfg.Roles }

// guard is the store check for caller asking for something permission
// allows.
func (o *Orgs) guard(c Caller, permission string) store.Guard {
	g := store.Guard{Instance: c.instance, ActorID: c.userID, AdminRoles: o.cfg.Roles.AdminRoles()}
	if permission != "" {
		g.ActorRoles = o.cfg.Roles.RolesWith(permission)
	} else {
		g.AnyMember = true
	}
	return g
}

// readable checks, for a read, that a user caller is a member of orgID
// whose role grants permission ("" for any member), or, for the instance,
// that the organization exists.
func (o *Orgs) readable(ctx context.Context, c Caller, orgID, permission string) error {
	if c.instance {
		if _, err := o.st.GetOrganization(ctx, orgID); err != nil {
			return orgError(err, "Organization")
		}
		return nil
	}
	if c.userID == "" {
		return errNotAllowed()
	}
	m, err := o.st.GetMembership(ctx, orgID, c.userID)
	if errors.Is(err, store.ErrNotFound) {
		return errOrgNotFound()
	}
	if err != nil {
		return fmt.Errorf("identity: check membership: %w", err)
	}
	if permission != "" && !o.cfg.Roles.Grants(m.Role, permission) {
		return errNotAllowed()
	}
	return nil
}

func instanceOnly(c Caller, what string) error {
	if c.instance {
		return nil
	}
	return &Error{Status: http.StatusForbidden, Code: CodeNotAllowed, Message: "Only the instance can set " + what + ".",
		LongMessage: what + " can be set through the backend client only."}
}

func errNotAllowed() *Error {
	return &Error{Status: http.StatusForbidden, Code: CodeNotAllowed, Message: "Your role does not allow this.",
		LongMessage: "Your role in this organization does not grant the permission this action needs."}
}

func errOrgNotFound() *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "Organization not found.",
		LongMessage: "No organization with this id or slug has you as a member."}
}

func notFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: what + " not found.",
		LongMessage: "No " + strings.ToLower(what) + " matches."}
}

// orgError turns the store's refusals into the errors pages show; what
// names the thing looked up for ErrNotFound.
func orgError(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotMember):
		return errOrgNotFound()
	case errors.Is(err, store.ErrNotFound):
		return notFound(what)
	case errors.Is(err, store.ErrForbidden):
		return errNotAllowed()
	case errors.Is(err, store.ErrLastAdmin):
		return &Error{Status: http.StatusConflict, Code: CodeLastAdmin, Message: "An organization needs at least one admin.",
			LongMessage: "This would leave the organization without an admin. Make another member an admin first."}
	case errors.Is(err, store.ErrLimitReached):
		return &Error{Status: http.StatusConflict, Code: CodeMembershipQuota, Message: "The organization is full.",
			LongMessage: "The organization has reached its maximum number of members."}
	case errors.Is(err, store.ErrAlreadyMember):
		return &Error{Status: http.StatusConflict, Code: CodeAlreadyMember, Message: "Already a member.",
			LongMessage: "This user is already a member of the organization."}
	case errors.Is(err, store.ErrEmailMismatch):
		return &Error{Status: http.StatusForbidden, Code: CodeInvitationWrongEmail, Message: "This invitation is for another email address.",
			LongMessage: "Sign in with the email address the invitation was sent to."}
	}
	return fmt.Errorf("identity: %w", err)
}

// invitationStateError explains why an invitation can no longer be used.
func invitationStateError(status string) *Error {
	switch status {
	case store.StatusAccepted:
		return &Error{Status: http.StatusConflict, Code: CodeInvitationAccepted, Message: "This invitation was already accepted.",
			LongMessage: "This invitation has been used. Ask for a new one if you need it."}
	case store.StatusRevoked:
		return &Error{Status: http.StatusGone, Code: CodeInvitationRevoked, Message: "This invitation was revoked.",
			LongMessage: "An admin of the organization revoked this invitation."}
	default:
		return &Error{Status: http.StatusGone, Code: CodeInvitationExpired, Message: "This invitation has expired.",
			LongMessage: "Invitations can be accepted for a limited time. Ask for a new one."}
	}
}

var slugRE = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

const maxSlugLen = 64

// checkOrgName trims a name and checks it: 1 to 256 characters, no
// control characters.
func checkOrgName(name string) (string, error) {
	name = strings.TrimSpace(norm.NFC.String(name))
	if name == "" {
		return "", paramMissing("name")
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 256 || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", paramFormat("name", "The name must be at most 256 characters, without control characters.")
	}
	return name, nil
}

// checkOrgFields checks what creating and importing an organization
// share: the name (returned trimmed), the limit and the metadata.
func checkOrgFields(name string, maxMembers int, public, private json.RawMessage) (string, error) {
	name, err := checkOrgName(name)
	if err != nil {
		return "", err
	}
	if maxMembers < 0 {
		return "", paramFormat("max_allowed_memberships", "max_allowed_memberships must be 0 (no limit) or more.")
	}
	if err := errors.Join(checkObject("public_metadata", public), checkObject("private_metadata", private)); err != nil {
		return "", firstError(err)
	}
	return name, nil
}

// checkSlug lower-cases a slug and checks its form: letters a-z, digits
// and single hyphens between them, at most 64 characters.
func checkSlug(slug string) (string, error) {
	slug = strings.ToLower(strings.TrimSpace(slug))
	if !slugRE.MatchString(slug) || len(slug) > maxSlugLen {
		return "", paramFormat("slug", "The slug may hold lower-case letters, digits and single hyphens between them (at most 64).")
	}
	return slug, nil
}

// Slugify derives a slug from an organization name: accents dropped,
// lower-cased, every run of other characters turned into one hyphen
// ("Café Ünïon, Inc." → "cafe-union-inc"); "org" when nothing is left.
func Slugify(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range norm.NFKD.String(name) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(unicode.ToLower(r))
		default:
			hyphen = true
		}
		if b.Len() >= maxSlugLen {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > maxSlugLen {
		s = strings.TrimRight(s[:maxSlugLen], "-")
	}
	if s == "" {
		return "org"
	}
	return s
}

func checkObject(name string, v json.RawMessage) error {
	if v == nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(v, &m) != nil || m == nil {
		return paramFormat(name, name+" must be a JSON object.")
	}
	return nil
}

// CreateOrganizationInput describes a new organization.
type CreateOrganizationInput struct {
	Name string
	// Slug is derived from Name when empty. A derived slug that is taken
	// gets a random suffix; a given one that is taken is refused.
	Slug string
	// The fields below are for the instance only.
	CreatedBy                       string // the creator, who becomes an admin; a user caller is the creator
	MaxAllowedMemberships           int    // 0: no limit
	PublicMetadata, PrivateMetadata json.RawMessage
}

// Create creates an organization. A user caller becomes its member with
// the creator role (org:admin by default); the instance may name a
// creator (CreatedBy) or none.
func (o *Orgs) Create(ctx context.Context, c Caller, in CreateOrganizationInput) (*store.Organization, error) {
	ctx = c.writeContext(ctx)
	if !c.instance {
		if c.userID == "" {
			return nil, errNotAllowed()
		}
		if in.CreatedBy != "" && in.CreatedBy != c.userID || in.MaxAllowedMemberships != 0 || in.PublicMetadata != nil || in.PrivateMetadata != nil {
			return nil, instanceOnly(c, "the creator, limits and metadata")
		}
		in.CreatedBy = c.userID
	}
	name, err := checkOrgFields(in.Name, in.MaxAllowedMemberships, in.PublicMetadata, in.PrivateMetadata)
	if err != nil {
		return nil, err
	}
	derived := strings.TrimSpace(in.Slug) == ""
	slug := Slugify(name)
	if !derived {
		if slug, err = checkSlug(in.Slug); err != nil {
			return nil, err
		}
	}
	no := store.NewOrganization{Name: name, Slug: slug, CreatedBy: in.CreatedBy, CreatorRole: o.cfg.Roles.CreatorRole(),
		MaxAllowedMemberships: in.MaxAllowedMemberships, PublicMetadata: in.PublicMetadata, PrivateMetadata: in.PrivateMetadata}
	for attempt := 0; ; attempt++ {
		org, err := o.st.CreateOrganization(ctx, no)
		if errors.Is(err, store.ErrConflict) && derived && attempt < 5 {
			base := slug[:min(len(slug), maxSlugLen-7)]
			no.Slug = strings.TrimRight(base, "-") + "-" + strings.ToLower(randid.Base62(6))
			continue
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, errSlugTaken()
		}
		if err != nil {
			return nil, orgError(err, "User")
		}
		o.cfg.Log.InfoContext(ctx, "organization created", "organization_id", org.ID, "created_by", in.CreatedBy)
		return org, nil
	}
}

func errSlugTaken() *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: CodeSlugTaken, Param: "slug",
		Message: "This slug is taken. Choose another.", LongMessage: "Another organization uses this slug."}
}

// firstError returns the first *Error joined in err.
func firstError(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()[0]
	}
	return err
}

// Get returns the organization with the id or slug. A user caller must be
// a member; to anyone else it does not exist.
func (o *Orgs) Get(ctx context.Context, c Caller, idOrSlug string) (*store.Organization, error) {
	if strings.TrimSpace(idOrSlug) == "" {
		return nil, errOrgNotFound()
	}
	org, err := o.st.GetOrganization(ctx, idOrSlug)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errOrgNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("identity: get organization: %w", err)
	}
	if err := o.readable(ctx, c, org.ID, ""); err != nil {
		return nil, err
	}
	return org, nil
}

// ListInput pages through a list.
type ListInput struct {
	Limit, Offset int // Limit 1..500, 0 for the default
}

func (l ListInput) check() error {
	if l.Limit < 0 || l.Limit > 500 || l.Offset < 0 {
		return paramFormat("limit", "limit must be 1 to 500 and offset at least 0.")
	}
	return nil
}

// List returns organizations, newest first (the instance only); query
// matches names and slugs, userID keeps those the user belongs to.
func (o *Orgs) List(ctx context.Context, c Caller, query, userID string, page ListInput) ([]*store.Organization, int, error) {
	if err := instanceOnly(c, "the list of all organizations"); err != nil {
		return nil, 0, err
	}
	if err := page.check(); err != nil {
		return nil, 0, err
	}
	list, total, err := o.st.ListOrganizations(ctx, store.OrganizationFilter{Query: query, UserID: userID, Limit: page.Limit, Offset: page.Offset})
	if err != nil {
		return nil, 0, fmt.Errorf("identity: list organizations: %w", err)
	}
	return list, total, nil
}

// UpdateOrganizationInput changes the non-nil fields of an organization.
type UpdateOrganizationInput struct {
	Name, Slug *string
	// The fields below are for the instance only. Metadata given here
	// replace the old values.
	MaxAllowedMemberships           *int
	PublicMetadata, PrivateMetadata json.RawMessage
}

// Update renames an organization or changes its slug (permission
// org:sys_profile:manage), or its limit and metadata (the instance).
func (o *Orgs) Update(ctx context.Context, c Caller, orgID string, in UpdateOrganizationInput) (*store.Organization, error) {
	ctx = c.writeContext(ctx)
	if in.MaxAllowedMemberships != nil || in.PublicMetadata != nil || in.PrivateMetadata != nil {
		if err := instanceOnly(c, "limits and metadata"); err != nil {
			return nil, err
		}
	}
	up := store.OrganizationUpdate{MaxAllowedMemberships: in.MaxAllowedMemberships, PublicMetadata: in.PublicMetadata, PrivateMetadata: in.PrivateMetadata}
	if in.Name != nil {
		name, err := checkOrgName(*in.Name)
		if err != nil {
			return nil, err
		}
		up.Name = &name
	}
	if in.Slug != nil {
		slug, err := checkSlug(*in.Slug)
		if err != nil {
			return nil, err
		}
		up.Slug = &slug
	}
	if in.MaxAllowedMemberships != nil && *in.MaxAllowedMemberships < 0 {
		return nil, paramFormat("max_allowed_memberships", "max_allowed_memberships must be 0 (no limit) or more.")
	}
	if err := errors.Join(checkObject("public_metadata", in.PublicMetadata), checkObject("private_metadata", in.PrivateMetadata)); err != nil {
		return nil, firstError(err)
	}
	org, err := o.st.UpdateOrganization(ctx, orgID, up, o.guard(c, roles.ProfileManage))
	if errors.Is(err, store.ErrConflict) {
		return nil, errSlugTaken()
	}
	if err != nil {
		return nil, orgError(err, "Organization")
	}
	return org, nil
}

// MergeMetadata deep-merges public and private (JSON objects, either may
// be nil) into the organization's metadata; a null value deletes its key.
// The instance only.
func (o *Orgs) MergeMetadata(ctx context.Context, c Caller, orgID string, public, private json.RawMessage) (*store.Organization, error) {
	ctx = c.writeContext(ctx)
	if err := instanceOnly(c, "metadata"); err != nil {
		return nil, err
	}
	if err := errors.Join(checkObject("public_metadata", public), checkObject("private_metadata", private)); err != nil {
		return nil, firstError(err)
	}
	org, err := o.st.MergeOrganizationMetadata(ctx, orgID, store.MetadataPatch{Public: public, Private: private}, o.guard(c, ""))
	if err != nil {
		return nil, orgError(err, "Organization")
	}
	return org, nil
}

// Delete deletes an organization (permission org:sys_profile:delete), its
// memberships and invitations; sessions that had it active fall back to
// the personal account.
func (o *Orgs) Delete(ctx context.Context, c Caller, orgID string) error {
	ctx = c.writeContext(ctx)
	if err := o.st.DeleteOrganization(ctx, orgID, o.guard(c, roles.ProfileDelete)); err != nil {
		return orgError(err, "Organization")
	}
	o.cfg.Log.InfoContext(ctx, "organization deleted", "organization_id", orgID, "by", c.userID)
	return nil
}

// Members returns one page of an organization's memberships, oldest
// first (permission org:sys_memberships:read).
func (o *Orgs) Members(ctx context.Context, c Caller, orgID string, page ListInput) ([]*store.Membership, int, error) {
	if err := page.check(); err != nil {
		return nil, 0, err
	}
	if err := o.readable(ctx, c, orgID, roles.MembershipsRead); err != nil {
		return nil, 0, err
	}
	list, total, err := o.st.ListMemberships(ctx, store.MembershipFilter{OrganizationID: orgID, Limit: page.Limit, Offset: page.Offset})
	if err != nil {
		return nil, 0, fmt.Errorf("identity: list memberships: %w", err)
	}
	return list, total, nil
}

// UserMemberships returns the organizations userID belongs to, with the
// role in each. A user caller may list only their own.
func (o *Orgs) UserMemberships(ctx context.Context, c Caller, userID string, page ListInput) ([]*store.Membership, int, error) {
	if !c.instance && (c.userID == "" || c.userID != userID) {
		return nil, 0, errNotAllowed()
	}
	if err := page.check(); err != nil {
		return nil, 0, err
	}
	if c.instance {
		if _, err := o.st.GetUser(ctx, userID); err != nil {
			return nil, 0, orgError(err, "User")
		}
	}
	list, total, err := o.st.ListMemberships(ctx, store.MembershipFilter{UserID: userID, Limit: page.Limit, Offset: page.Offset})
	if err != nil {
		return nil, 0, fmt.Errorf("identity: list memberships: %w", err)
	}
	return list, total, nil
}

// UserOrganizations lists the organizations userID belongs to, with the
// role in each (at most 100): what an organization switcher offers. Only
// the user themself or the instance may ask.
func (o *Orgs) UserOrganizations(ctx context.Context, c Caller, userID string) ([]store.UserOrganization, error) {
	if !c.instance && (c.userID == "" || c.userID != userID) {
		return nil, errNotAllowed()
	}
	return o.st.UserOrganizations(ctx, userID, 100)
}

// Membership returns userID's membership of orgID, or a not-found error.
// It reads the store, so it is the current role, not the token's.
func (o *Orgs) Membership(ctx context.Context, orgID, userID string) (*store.Membership, error) {
	m, err := o.st.GetMembership(ctx, orgID, userID)
	if err != nil {
		return nil, orgError(err, "Membership")
	}
	return m, nil
}

// role returns the defined role key for role, or the default role when
// role is empty.
func (o *Orgs) role(role string) (string, error) {
	if strings.TrimSpace(role) == "" {
		return o.cfg.Roles.DefaultRole(), nil
	}
	k, ok := o.cfg.Roles.Normalize(role)
	if !ok {
		return "", paramFormat("role", "There is no role "+role+".")
	}
	return k, nil
}

// AddMember adds an existing user to an organization with role (the
// default role when empty); permission org:sys_memberships:manage.
func (o *Orgs) AddMember(ctx context.Context, c Caller, orgID, userID, role string) (*store.Membership, error) {
	ctx = c.writeContext(ctx)
	r, err := o.role(role)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(userID) == "" {
		return nil, paramMissing("user_id")
	}
	m, err := o.st.CreateMembership(ctx, orgID, userID, r, o.guard(c, roles.MembershipsManage))
	if err != nil {
		return nil, orgError(err, "User")
	}
	return m, nil
}

// ChangeRole gives a member another role; permission
// org:sys_memberships:manage. Demoting the last admin is refused
// (CodeLastAdmin), also against concurrent changes.
func (o *Orgs) ChangeRole(ctx context.Context, c Caller, orgID, userID, role string) (*store.Membership, error) {
	ctx = c.writeContext(ctx)
	if strings.TrimSpace(role) == "" {
		return nil, paramMissing("role")
	}
	r, err := o.role(role)
	if err != nil {
		return nil, err
	}
	m, err := o.st.UpdateMembershipRole(ctx, orgID, userID, r, o.guard(c, roles.MembershipsManage))
	if err != nil {
		return nil, orgError(err, "Membership")
	}
	o.cfg.Log.InfoContext(ctx, "organization role changed", "organization_id", orgID, "user_id", userID, "role", r, "by", c.userID)
	return m, nil
}

// RemoveMember removes a member; permission org:sys_memberships:manage.
// Removing the last admin is refused (CodeLastAdmin). The removed user's
// sessions lose the organization at their next refresh.
func (o *Orgs) RemoveMember(ctx context.Context, c Caller, orgID, userID string) (*store.Membership, error) {
	ctx = c.writeContext(ctx)
	m, err := o.st.DeleteMembership(ctx, orgID, userID, o.guard(c, roles.MembershipsManage))
	if err != nil {
		return nil, orgError(err, "Membership")
	}
	o.cfg.Log.InfoContext(ctx, "organization member removed", "organization_id", orgID, "user_id", userID, "by", c.userID)
	return m, nil
}

// Leave removes userID from the organization on their own behalf; the
// last admin cannot leave (CodeLastAdmin).
func (o *Orgs) Leave(ctx context.Context, userID, orgID string) error {
	if _, err := o.st.DeleteMembership(ctx, orgID, userID, o.guard(AsUser(userID), "")); err != nil {
		return orgError(err, "Membership")
	}
	o.cfg.Log.InfoContext(ctx, "organization left", "organization_id", orgID, "user_id", userID)
	return nil
}

// InviteInput describes an invitation.
type InviteInput struct {
	OrganizationID string
	EmailAddress   string
	Role           string // the default role when empty
	// The fields below are for the instance only.
	InviterUserID                   string // a user caller is the inviter
	PublicMetadata, PrivateMetadata json.RawMessage
}

// CreatedInvitation is a new invitation with its link, which holds the
// only copy of its secret.
type CreatedInvitation struct {
	Invitation *store.Invitation
	URL        string
	// SendError is why delivering the link failed, when it did; the
	// invitation exists all the same and the link can be passed on.
	SendError error
}

// Invite invites an email address into an organization
// (org:sys_memberships:manage). The link is delivered through the
// configured sender and returned. Members and addresses with a pending
// invitation are refused (CodeAlreadyMember, CodeDuplicateInvitation).
func (o *Orgs) Invite(ctx context.Context, c Caller, in InviteInput) (*CreatedInvitation, error) {
	ctx = c.writeContext(ctx)
	if !c.instance {
		if in.InviterUserID != "" && in.InviterUserID != c.userID || in.PublicMetadata != nil || in.PrivateMetadata != nil {
			return nil, instanceOnly(c, "the inviter and metadata")
		}
		in.InviterUserID = c.userID
	}
	if strings.TrimSpace(in.EmailAddress) == "" {
		return nil, paramMissing("email_address")
	}
	email := NormalizeEmail(in.EmailAddress)
	if email == "" {
		return nil, paramFormat("email_address", "Enter a valid email address.")
	}
	r, err := o.role(in.Role)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(checkObject("public_metadata", in.PublicMetadata), checkObject("private_metadata", in.PrivateMetadata)); err != nil {
		return nil, firstError(err)
	}
	secret := randid.Base62(43)
	sum := sha256.Sum256([]byte(secret))
	expires := o.now().Add(o.cfg.InvitationTTL)
	inv, err := o.st.CreateInvitation(ctx, store.NewInvitation{
		OrganizationID: in.OrganizationID, Email: email, Role: r, InviterID: in.InviterUserID, TokenHash: sum[:],
		ExpiresAt: expires.UnixMilli(), PublicMetadata: in.PublicMetadata, PrivateMetadata: in.PrivateMetadata,
		Limits: *o.cfg.InvitationLimits,
	}, o.guard(c, roles.MembershipsManage))
	if errors.Is(err, store.ErrInvitationLimit) {
		return nil, &Error{Status: http.StatusTooManyRequests, Code: CodeInvitationLimit, RetryAfter: time.Hour,
			Message: "Too many invitations. Try again later, or revoke pending ones.", LongMessage: "Invitations are limited per inviter and per organization each hour, and pending ones per organization."}
	}
	if errors.Is(err, store.ErrConflict) {
		return nil, &Error{Status: http.StatusConflict, Code: CodeDuplicateInvitation, Param: "email_address",
			Message: "This address already has a pending invitation.", LongMessage: "Revoke the pending invitation first to send a new one."}
	}
	if err != nil {
		return nil, orgError(err, "Organization")
	}
	out := &CreatedInvitation{Invitation: inv, URL: o.InvitationURL(secret)}
	o.cfg.Log.InfoContext(ctx, "organization invitation created", "organization_id", inv.OrganizationID, "invitation_id", inv.ID, "by", in.InviterUserID)
	if o.cfg.SendInvitation != nil {
		msg := InvitationMessage{To: email, OrganizationName: inv.OrganizationName, RoleName: o.cfg.Roles.Name(r), URL: out.URL, ExpiresAt: expires}
		if in.InviterUserID != "" {
			if u, err := o.st.GetUser(ctx, in.InviterUserID); err == nil {
				msg.InviterName = strings.TrimSpace(u.FirstName + " " + u.LastName)
				if msg.InviterName == "" {
					msg.InviterName = u.PrimaryEmail()
				}
			}
		}
		// Counted once the store has authorised the invitation, so no one
		// can spend an address's allowance with refused requests.
		err := o.cfg.Mail.AllowFrom(ctx, "invitation", email, in.InviterUserID)
		if err == nil {
			err = o.cfg.SendInvitation(ctx, msg)
		}
		if err != nil {
			out.SendError = err
			o.cfg.Log.ErrorContext(ctx, "could not send an invitation", "invitation_id", inv.ID, "err", err)
		}
	}
	return out, nil
}

// InvitationURL is the acceptance link for an invitation secret.
func (o *Orgs) InvitationURL(secret string) string {
	return o.cfg.BaseURL + InvitationPath + "?token=" + url.QueryEscape(secret)
}

// Invitations returns one page of an organization's invitations, newest
// first, optionally of one status (pending, accepted, revoked, expired);
// permission org:sys_memberships:manage.
func (o *Orgs) Invitations(ctx context.Context, c Caller, orgID, status string, page ListInput) ([]*store.Invitation, int, error) {
	if err := checkInvitationStatus(status); err != nil {
		return nil, 0, err
	}
	if err := page.check(); err != nil {
		return nil, 0, err
	}
	if err := o.readable(ctx, c, orgID, roles.MembershipsManage); err != nil {
		return nil, 0, err
	}
	list, total, err := o.st.ListInvitations(ctx, store.InvitationFilter{OrganizationID: orgID, Status: status, Limit: page.Limit, Offset: page.Offset})
	if err != nil {
		return nil, 0, fmt.Errorf("identity: list invitations: %w", err)
	}
	return list, total, nil
}

func checkInvitationStatus(status string) error {
	switch status {
	case "", store.StatusPending, store.StatusAccepted, store.StatusRevoked, store.StatusExpired:
		return nil
	}
	return paramFormat("status", "status must be pending, accepted, revoked or expired.")
}

// GetInvitation returns an invitation of the organization
// (org:sys_memberships:manage, as the list); one of another organization
// is not found.
func (o *Orgs) GetInvitation(ctx context.Context, c Caller, orgID, invitationID string) (*store.Invitation, error) {
	if err := o.readable(ctx, c, orgID, roles.MembershipsManage); err != nil {
		return nil, err
	}
	inv, err := o.st.GetInvitation(ctx, invitationID)
	if err == nil && inv.OrganizationID != orgID {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, orgError(err, "Invitation")
	}
	return inv, nil
}

// UserInvitations returns the invitations to any address of a user, in
// every organization, newest first (the instance only).
func (o *Orgs) UserInvitations(ctx context.Context, c Caller, userID, status string, page ListInput) ([]*store.Invitation, int, error) {
	if !c.instance {
		return nil, 0, errNotAllowed()
	}
	if err := checkInvitationStatus(status); err != nil {
		return nil, 0, err
	}
	if err := page.check(); err != nil {
		return nil, 0, err
	}
	if _, err := o.st.GetUser(ctx, userID); err != nil {
		return nil, 0, orgError(err, "User")
	}
	list, total, err := o.st.ListInvitations(ctx, store.InvitationFilter{UserID: userID, Status: status, Limit: page.Limit, Offset: page.Offset})
	if err != nil {
		return nil, 0, fmt.Errorf("identity: list a user's invitations: %w", err)
	}
	return list, total, nil
}

// RevokeInvitation revokes a pending invitation
// (org:sys_memberships:manage); its link stops working at once.
func (o *Orgs) RevokeInvitation(ctx context.Context, c Caller, orgID, invitationID string) (*store.Invitation, error) {
	ctx = c.writeContext(ctx)
	inv, err := o.st.RevokeInvitation(ctx, orgID, invitationID, o.guard(c, roles.MembershipsManage))
	if errors.Is(err, store.ErrNotPending) {
		return inv, invitationStateError(inv.Status)
	}
	if err != nil {
		return nil, orgError(err, "Invitation")
	}
	o.cfg.Log.InfoContext(ctx, "organization invitation revoked", "organization_id", orgID, "invitation_id", invitationID, "by", c.userID)
	return inv, nil
}

// Invitation returns the invitation a link's secret opens, for the
// acceptance page, whatever its status (Status says pending, accepted,
// revoked or expired). Unknown secrets are CodeNotFound.
func (o *Orgs) Invitation(ctx context.Context, secret string) (*store.Invitation, error) {
	if secret == "" || len(secret) > 256 {
		return nil, notFound("Invitation")
	}
	sum := sha256.Sum256([]byte(secret))
	inv, err := o.st.GetInvitationByToken(ctx, sum[:])
	if err != nil {
		return nil, orgError(err, "Invitation")
	}
	return inv, nil
}

// AcceptInvitation accepts the invitation of a link's secret for the
// signed-in caller, who must own the invited address
// (CodeInvitationWrongEmail). It succeeds once: accepting again,
// concurrently or not, is CodeInvitationAccepted; revoked and expired
// invitations are CodeInvitationRevoked and CodeInvitationExpired. A user
// who is a member already keeps their role.
func (o *Orgs) AcceptInvitation(ctx context.Context, c Caller, secret string) (*store.Membership, error) {
	ctx, userID := c.writeContext(ctx), c.userID
	if secret == "" || len(secret) > 256 {
		return nil, notFound("Invitation")
	}
	sum := sha256.Sum256([]byte(secret))
	m, inv, err := o.st.AcceptInvitation(ctx, sum[:], userID)
	if errors.Is(err, store.ErrNotPending) {
		return nil, invitationStateError(inv.Status)
	}
	if err != nil {
		return nil, orgError(err, "Invitation")
	}
	o.cfg.Log.InfoContext(ctx, "organization invitation accepted", "organization_id", inv.OrganizationID, "invitation_id", inv.ID, "user_id", userID)
	return m, nil
}
