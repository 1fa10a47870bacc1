package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/resource"
)

// route is one frontend API route.
type route struct {
	method, path string
	h            http.HandlerFunc
}

// FrontendAPI serves the JSON routes the browser script calls, under
// /__clerk/v1. Every route authenticates by the __client cookie; the
// router in front of it refuses cross-origin state changes.
type FrontendAPI struct {
	svc     *identity.Service
	limiter *Limiter
	log     *slog.Logger
	mux     *http.ServeMux
}

// NewFrontendAPI returns the frontend API handler. Mount it with the
// /__clerk/v1 prefix stripped.
func NewFrontendAPI(svc *identity.Service, limiter *Limiter, log *slog.Logger) *FrontendAPI {
	f := &FrontendAPI{svc: svc, limiter: limiter, log: log, mux: http.NewServeMux()}
	routes := []route{
		{"GET", "/client", f.getClient},
		{"POST", "/client/sign_ins", f.signIn},
		{"POST", "/client/sign_ups", f.signUp},
		{"POST", "/client/sessions/{sid}/tokens", f.token},
		{"POST", "/client/sessions/{sid}/tokens/{template}", f.templateToken},
		{"POST", "/client/sessions/{sid}/touch", f.touch},
		{"POST", "/client/sessions/{sid}/end", f.end},
		{"GET", "/jwks", f.jwks},
	}
	routes = append(routes, f.accountRoutes()...)
	routes = append(routes, f.mfaRoutes()...)
	routes = append(routes, f.passkeyRoutes()...)
	// One path may take several methods (GET, PATCH and DELETE /me).
	allowed := map[string][]string{}
	for _, rt := range routes {
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for _, rt := range routes {
		f.mux.HandleFunc(rt.method+" "+rt.path, rt.h)
		methods := allowed[rt.path]
		if methods[0] != rt.method {
			continue // the fallback is registered once per path
		}
		allow := strings.Join(methods, ", ")
		f.mux.HandleFunc(rt.path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			WriteError(w, &identity.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
				Message: "Method not allowed.", LongMessage: "This route accepts " + allow + " only."})
		})
	}
	f.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, &identity.Error{Status: http.StatusNotFound, Code: "resource_not_found",
			Message: "Not found.", LongMessage: "No frontend API route matches this path."})
	})
	return f
}

// ServeHTTP answers every frontend API request with JSON, and never with
// ServeMux's redirect for an unclean path.
func (f *FrontendAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if p := r.URL.Path; p == "" || path.Clean(p) != p {
		WriteError(w, &identity.Error{Status: http.StatusNotFound, Code: "resource_not_found",
			Message: "Not found.", LongMessage: "No frontend API route matches this path."})
		return
	}
	f.mux.ServeHTTP(w, r)
}

// fail writes err, logging it, with the trace id the caller sees, when it
// is not a user-facing refusal.
func (f *FrontendAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	trace := WriteError(w, err)
	if _, ok := identity.AsError(err); !ok {
		f.log.ErrorContext(r.Context(), "frontend API request failed", "path", r.URL.Path, "clerk_trace_id", trace, "err", err)
	}
}

// signedOut answers a request whose client cookie names no live session.
func (f *FrontendAPI) signedOut(w http.ResponseWriter) {
	f.svc.Cookies().Clear(w)
	WriteError(w, &identity.Error{Status: http.StatusUnauthorized, Code: "authentication_invalid",
		Message: "You are signed out.", LongMessage: "This browser has no active session."})
}

func (f *FrontendAPI) getClient(w http.ResponseWriter, r *http.Request) {
	type sessionJSON struct {
		*resource.Session
		User *clientUser `json:"user"`
	}
	out := struct {
		Object              string        `json:"object"`
		ID                  *string       `json:"id"`
		Sessions            []sessionJSON `json:"sessions"`
		LastActiveSessionID *string       `json:"last_active_session_id"`
	}{Object: "client", Sessions: []sessionJSON{}}
	c, sessions, err := f.svc.ClientSessions(r.Context(), identity.ClientCookieValue(r))
	if errors.Is(err, identity.ErrSignedOut) {
		WriteJSON(w, http.StatusOK, out)
		return
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	out.ID = &c.ID
	for _, s := range sessions {
		u, memberships, err := f.svc.ClientUser(r.Context(), s.UserID)
		if err != nil {
			f.fail(w, r, err)
			return
		}
		if u == nil {
			continue // deleted a moment ago: the session is gone with it
		}
		out.Sessions = append(out.Sessions, sessionJSON{
			Session: resource.NewSession(s),
			User:    &clientUser{User: u, OrganizationMemberships: memberships},
		})
		if s.ID == c.LastActiveSessionID {
			id := s.ID
			out.LastActiveSessionID = &id
		}
	}
	WriteJSON(w, http.StatusOK, out)
}

// clientUser is the user as the frontend API shows it: no private
// metadata, and the user's organization memberships.
type clientUser struct {
	*resource.User
	OrganizationMemberships []*resource.OrganizationMembership `json:"organization_memberships"`
}

func (f *FrontendAPI) signIn(w http.ResponseWriter, r *http.Request) {
	if limited, wait := f.limiter.Limited(w, r); limited {
		WriteError(w, identity.ErrTooManyRequests(wait))
		return
	}
	form, err := ReadForm(w, r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	var res *identity.SignedIn
	ctx := f.limiter.RequestContext(r, "")
	switch {
	case strings.HasPrefix(form["strategy"], "oauth_"):
		f.startOAuth(w, r, "sign_in", form)
		return
	case form["strategy"] == identity.StrategyPasskey:
		f.startPasskeySignIn(w, r)
		return
	case form["strategy"] == "ticket":
		// An actor token: impersonation (Clerk's ticket strategy).
		res, err = f.svc.SignInWithActorToken(ctx, form["ticket"], identity.ClientCookieValue(r), r.Header.Get("Origin"))
	case form["password"] == "" && form["strategy"] == "" && form["identifier"] != "":
		// The identifier alone: an attempt waiting for its first factor
		// (a password, or a reset code), as Clerk's.
		f.startSignIn(w, r, form["identifier"])
		return
	default:
		res, err = f.svc.SignIn(ctx, form["identifier"], form["password"], identity.ClientCookieValue(r), r.Header.Get("Origin"))
	}
	if f.secondFactorNeeded(w, r, err) {
		return
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.svc.Cookies().SetSignedIn(w, res)
	WriteJSON(w, http.StatusOK, map[string]any{
		"object": "sign_in", "status": "complete", "identifier": res.User.PrimaryEmail(),
		"created_session_id": res.Session.ID,
	})
}

func (f *FrontendAPI) signUp(w http.ResponseWriter, r *http.Request) {
	if limited, wait := f.limiter.Limited(w, r); limited {
		WriteError(w, identity.ErrTooManyRequests(wait))
		return
	}
	form, err := ReadForm(w, r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	if strings.HasPrefix(form["strategy"], "oauth_") {
		f.startOAuth(w, r, "sign_up", form)
		return
	}
	in := identity.SignUpInput{
		EmailAddress: form["email_address"], Password: form["password"],
		FirstName: form["first_name"], LastName: form["last_name"],
	}
	if f.svc.VerifiesSignUps() {
		f.startSignUp(w, r, in)
		return
	}
	res, err := f.svc.SignUp(f.limiter.RequestContext(r, ""), in, identity.ClientCookieValue(r), r.Header.Get("Origin"))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.svc.Cookies().SetSignedIn(w, res)
	WriteJSON(w, http.StatusOK, map[string]any{
		"object": "sign_up", "status": "complete", "email_address": res.User.PrimaryEmail(),
		"created_user_id": res.User.ID, "created_session_id": res.Session.ID,
	})
}

func (f *FrontendAPI) token(w http.ResponseWriter, r *http.Request) {
	if res := f.refreshSession(w, r); res != nil {
		WriteJSON(w, http.StatusOK, map[string]string{"object": "token", "jwt": res.Token})
	}
}

// refreshSession mints a session token for the {sid} session of this
// browser and sets it, or answers the request itself and returns nil.
func (f *FrontendAPI) refreshSession(w http.ResponseWriter, r *http.Request) *identity.Refreshed {
	res, err := f.svc.TokenForClientSession(r.Context(), identity.ClientCookieValue(r), r.PathValue("sid"), r.Header.Get("Origin"))
	if errors.Is(err, identity.ErrSignedOut) {
		f.signedOut(w)
		return nil
	}
	if err != nil {
		f.fail(w, r, err)
		return nil
	}
	f.svc.Cookies().SetSession(w, res.Token)
	return res
}

// touch records activity on the session and, when the body names
// active_organization_id, makes that organization active (null or "" for
// the personal account; only organizations the user belongs to, else 404).
// A new session token is set at once and the session returned.
func (f *FrontendAPI) touch(w http.ResponseWriter, r *http.Request) {
	form, present, err := readForm(w, r)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	var res *identity.Refreshed
	if present["active_organization_id"] {
		res, err = f.svc.SetActiveOrganization(r.Context(), identity.ClientCookieValue(r), r.PathValue("sid"), form["active_organization_id"], r.Header.Get("Origin"))
	} else {
		res, err = f.svc.TokenForClientSession(r.Context(), identity.ClientCookieValue(r), r.PathValue("sid"), r.Header.Get("Origin"))
	}
	if errors.Is(err, identity.ErrSignedOut) {
		f.signedOut(w)
		return
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.svc.Cookies().SetSession(w, res.Token)
	WriteJSON(w, http.StatusOK, resource.NewSession(res.Session))
}

func (f *FrontendAPI) end(w http.ResponseWriter, r *http.Request) {
	sess, err := f.svc.EndClientSession(f.limiter.RequestContext(r, r.PathValue("sid")), identity.ClientCookieValue(r), r.PathValue("sid"))
	if errors.Is(err, identity.ErrSignedOut) {
		f.signedOut(w)
		return
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	f.svc.Cookies().Clear(w)
	WriteJSON(w, http.StatusOK, resource.NewSession(sess))
}

func (f *FrontendAPI) jwks(w http.ResponseWriter, r *http.Request) {
	JWKSHandler(f.svc.JWKS).ServeHTTP(w, r)
}

// JWKSHandler serves the public signing keys as a JWKS document.
func JWKSHandler(jwks func() []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(jwks())
	})
}

// templateToken is POST /client/sessions/{sid}/tokens/{template}: a token
// from the named JWT template for a live session of this browser. The
// session token is refreshed on the way (its claims carry the active
// organization the template's org shortcodes read).
func (f *FrontendAPI) templateToken(w http.ResponseWriter, r *http.Request) {
	res := f.refreshSession(w, r)
	if res == nil {
		return
	}
	tok, err := f.svc.MintSessionTemplateToken(r.Context(), res.Session, res.Claims, r.PathValue("template"))
	switch {
	case errors.Is(err, identity.ErrTemplateNotFound):
		f.fail(w, r, &identity.Error{Status: http.StatusNotFound, Code: "resource_not_found",
			Message: "JWT template not found.", LongMessage: "No JWT template has this name."})
	case errors.Is(err, identity.ErrSignedOut):
		f.signedOut(w)
	case err != nil:
		f.fail(w, r, err)
	default:
		WriteJSON(w, http.StatusOK, map[string]string{"object": "token", "jwt": tok})
	}
}
