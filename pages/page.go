// Package pages holds one file per page: its loader (the getServerSideProps
// of a Next.js page) and its props type, plus the small machinery that turns
// a loader and a view into an http.Handler.
//
// A loader reads the request, usually starting with auth.GetAuth, and
// returns Props (PropsStatus for a status other than 200) or a Redirect. Props embed [Base], filled with
// auth.BuildClerkProps, so the layout hydrates the client script with the
// same auth state the loader saw.
package pages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/a-h/templ"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/components"
)

// Base is embedded in every page's props: the SSR state for the layout.
type Base struct {
	Clerk auth.ClerkProps
}

func (b Base) clerkProps() auth.ClerkProps { return b.Clerk }

type hasClerkProps interface{ clerkProps() auth.ClerkProps }

// Result is what a loader returns: props (with a status) or a redirect.
type Result[P any] struct {
	props    P
	redirect string
	status   int
}

// Props renders the page with p.
func Props[P any](p P) (Result[P], error) { return Result[P]{props: p}, nil }

// PropsStatus renders the page with p and a status other than 200, such
// as a form answered with its errors (422).
func PropsStatus[P any](p P, status int) (Result[P], error) {
	return Result[P]{props: p, status: status}, nil
}

// Redirect sends the browser to url with status (a 3xx).
func Redirect[P any](url string, status int) (Result[P], error) {
	return Result[P]{redirect: url, status: status}, nil
}

// RedirectToSignIn sends a signed-out visitor to the sign-in page, with
// this page as the redirect_url to come back to.
func RedirectToSignIn[P any](r *http.Request, site *Site) (Result[P], error) {
	return Redirect[P](site.Redirects.SignInURL(r), http.StatusTemporaryRedirect)
}

// Site holds what every page shares: the client script's configuration,
// the redirect policy, the logger and whether this is development.
type Site struct {
	Env         components.ClientEnv
	Redirects   *auth.Redirects
	Log         *slog.Logger
	Development bool
	// SignInFallback and SignUpFallback are where users land after
	// signing in or up without a redirect_url; AfterSignOut after sign-out.
	SignInFallback, SignUpFallback, AfterSignOut string
}

// Page turns a loader and a view into a handler.
type Page[P hasClerkProps] struct {
	Name  string // for logs and the missing-BuildClerkProps warning
	Title string
	Load  func(r *http.Request) (Result[P], error)
	View  func(P) templ.Component
}

// Handler returns the http.Handler serving the page.
func (pg Page[P]) Handler(site *Site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := pg.Load(r)
		if err != nil {
			site.serverError(w, r, pg.Name, err)
			return
		}
		switch {
		case res.redirect != "":
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, res.redirect, res.status)
			return
		}
		state := res.props.clerkProps()
		if state.IsZero() {
			// The loader forgot BuildClerkProps. Emit the request's own
			// state anyway so client and server cannot disagree.
			if site.Development {
				site.Log.WarnContext(r.Context(), "page loader did not call auth.BuildClerkProps; embedding the request's auth state without resources", "page", pg.Name)
			}
			if state, err = auth.BuildClerkProps(r); err != nil {
				site.serverError(w, r, pg.Name, err)
				return
			}
		}
		status := http.StatusOK
		if res.status != 0 {
			status = res.status
		}
		// The layout's header (the user, their organizations, who is
		// acting) is loaded here, after the loader and before the view.
		header, err := site.loadHeader(r, state)
		if err != nil {
			site.serverError(w, r, pg.Name, err)
			return
		}
		site.render(w, r, status, pg.Title, state, header, pg.View(res.props))
	})
}

// render writes body inside the layout. It renders into a buffer first, so
// a failing component never leaves half a page behind a 200.
func (s *Site) render(w http.ResponseWriter, r *http.Request, status int, title string, state auth.ClerkProps, header Header, body templ.Component) {
	var buf bytes.Buffer
	ctx := templ.WithChildren(r.Context(), body)
	lp := components.LayoutProps{Title: title, Path: r.URL.Path, State: state, Env: s.Env,
		User: header.User, Orgs: header.Orgs, Impersonation: header.Impersonation}
	err := components.Layout(lp).Render(ctx, &buf)
	if err != nil {
		s.Log.ErrorContext(r.Context(), "render failed", "path", r.URL.Path, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Every page carries its own CSP nonce and, signed in, personal data:
	// no cache may keep it.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Header is what the layout's header shows besides the auth state: the
// user, the organizations to switch between and, in an actor session, who
// is acting as whom. Nil parts are left out.
type Header struct {
	User          *auth.User
	Orgs          *components.OrgSwitcherProps
	Impersonation *components.ImpersonationProps
}

// loadHeader loads the Header of a signed-in page: the user (read when the
// loader did not give it in BuildClerkProps), their organizations and the
// actor. Only a store failure is an error; a user deleted a moment ago is
// left out.
func (s *Site) loadHeader(r *http.Request, state auth.ClerkProps) (Header, error) {
	a := state.Auth()
	h := Header{User: state.User()}
	if a == nil || !a.IsAuthenticated || a.TokenType != auth.SessionToken {
		return h, nil
	}
	ctx := r.Context()
	client := auth.ClerkClient(ctx)
	if client == nil {
		return h, nil
	}
	lookup := func(id string) (*auth.User, error) {
		u, err := client.Users.GetUser(ctx, id)
		if auth.IsNotFound(err) {
			return nil, nil
		}
		return u, err
	}
	var err error
	if h.User == nil {
		if h.User, err = lookup(a.UserID); err != nil {
			return h, fmt.Errorf("page header: user: %w", err)
		}
	}
	orgs, err := switcherOptions(ctx, a.UserID)
	if err != nil {
		return h, fmt.Errorf("page header: organizations: %w", err)
	}
	h.Orgs = &components.OrgSwitcherProps{ActiveID: a.OrgID, PersonalName: "Personal account", Options: orgs}
	if a.Actor != nil {
		actor, err := lookup(a.Actor.Subject)
		if err != nil {
			return h, fmt.Errorf("page header: actor: %w", err)
		}
		name := func(u *auth.User) string {
			if u == nil || u.DisplayName() == "" {
				return "another user"
			}
			return u.DisplayName()
		}
		h.Impersonation = &components.ImpersonationProps{UserName: name(h.User), ActorName: name(actor)}
	}
	return h, nil
}

// Render writes a page that is not loader-driven (forms, errors) inside
// the layout, with the request's auth state.
func (s *Site) Render(w http.ResponseWriter, r *http.Request, status int, title string, body templ.Component) {
	state, err := auth.BuildClerkProps(r)
	if errors.Is(err, auth.ErrNoMiddleware) {
		// Refused before the auth middleware ran (a cross-origin form):
		// render signed out rather than fail.
		state, err = auth.SignedOutProps(), nil
	}
	if err != nil {
		s.Log.ErrorContext(r.Context(), "auth state unavailable", "path", r.URL.Path, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	header, err := s.loadHeader(r, state)
	if err != nil {
		// Forms and error pages still render: without the header's
		// lookups, and the failure in the log.
		s.Log.ErrorContext(r.Context(), "page header unavailable", "path", r.URL.Path, "err", err)
	}
	s.render(w, r, status, title, state, header, body)
}

var errorTitles = map[int][2]string{
	http.StatusBadRequest:            {"Bad request", "The request could not be understood."},
	http.StatusForbidden:             {"Forbidden", "You do not have access to this page."},
	http.StatusNotFound:              {"Page not found", "There is nothing at this address."},
	http.StatusMethodNotAllowed:      {"Method not allowed", "This page does not accept that kind of request."},
	http.StatusRequestEntityTooLarge: {"Request too large", "The form you sent is too large."},
	http.StatusUnsupportedMediaType:  {"Unsupported form", "Send the form as a regular HTML form."},
	http.StatusInternalServerError:   {"Something went wrong", "The error has been logged. Try again in a moment."},
}

// ErrorPage renders the page for an HTTP error status.
func (s *Site) ErrorPage(w http.ResponseWriter, r *http.Request, status int) {
	t, ok := errorTitles[status]
	if !ok {
		t = [2]string{http.StatusText(status), ""}
	}
	s.Render(w, r, status, t[0], components.ErrorPage(status, t[0], t[1]))
}

func (s *Site) serverError(w http.ResponseWriter, r *http.Request, page string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.Log.ErrorContext(r.Context(), "page loader failed", "page", page, "err", err)
	s.ErrorPage(w, r, http.StatusInternalServerError)
}

// MethodNotAllowedHandler renders the 405 page.
func (s *Site) MethodNotAllowedHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ErrorPage(w, r, http.StatusMethodNotAllowed)
	})
}

// formError answers a form body that could not be read (400, 413, 415).
func formError(site *Site, w http.ResponseWriter, r *http.Request, err error) {
	if e, ok := auth.AsError(err); ok && e.Status < 500 {
		site.ErrorPage(w, r, e.Status)
		return
	}
	site.serverError(w, r, "form", err)
}

// switcherOptions returns the user's organizations as switcher entries.
func switcherOptions(ctx context.Context, userID string) ([]components.OrgOption, error) {
	list, err := auth.ClerkClient(ctx).Organizations.As(auth.AsUser(userID)).List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]components.OrgOption, len(list))
	for i, o := range list {
		out[i] = components.OrgOption{ID: o.ID, Name: o.Name, Slug: o.Slug, Role: o.Role}
	}
	return out, nil
}
