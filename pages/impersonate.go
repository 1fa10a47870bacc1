package pages

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth"
)

// Impersonation serves the sign-in ticket page that actor tokens open and
// the instance administrators' impersonation page.
type Impersonation struct {
	site *Site
}

// NewImpersonation returns the impersonation pages.
func NewImpersonation(site *Site) *Impersonation {
	return &Impersonation{site: site}
}

// TicketProps are the props of the sign-in ticket page.
type TicketProps struct {
	Token string
	Error string
}

// TicketPage serves GET /sign-in/ticket?token=…: a page that asks to
// continue, since a GET never signs anyone in.
func (p *Impersonation) TicketPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.site.Render(w, r, http.StatusOK, "Sign in with a link", ticketView(TicketProps{Token: r.URL.Query().Get("token")}))
	})
}

// Ticket serves POST /sign-in/ticket (token): it uses the actor token,
// once, to start the impersonation session on this browser.
func (p *Impersonation) Ticket() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(p.site, w, r, err)
			return
		}
		if err := auth.SignInWithTicket(w, r, form["token"]); err != nil {
			e, ok := auth.AsError(err)
			if !ok {
				p.site.serverError(w, r, "sign-in ticket", err)
				return
			}
			p.site.Render(w, r, e.Status, "Sign in with a link", ticketView(TicketProps{Error: e.Message}))
			return
		}
		http.Redirect(w, r, p.site.SignInFallback, http.StatusSeeOther)
	})
}

// AdminProps are the props of the impersonation page.
type AdminProps struct {
	Base
	Users []*auth.User
	Query string
	Self  string
	// Created is the link of an actor token just created, shown once.
	Created *ActorLink
	Target  *auth.User
	Error   string
}

// ActorLink is the sign-in link of an actor token and its secret, which
// the page posts to use the link on this browser.
type ActorLink struct {
	URL, Secret string
}

// admin returns the signed-in administrator's auth, or answers the
// request (sign-in redirect, 403) and returns nil.
func (p *Impersonation) admin(w http.ResponseWriter, r *http.Request) *auth.Auth {
	a, err := auth.GetAuth(r)
	if err != nil {
		p.site.serverError(w, r, "impersonation", err)
		return nil
	}
	if !a.IsAuthenticated {
		http.Redirect(w, r, p.site.Redirects.SignInURL(r), http.StatusTemporaryRedirect)
		return nil
	}
	ok, err := auth.ClerkClient(r.Context()).ActorTokens.IsAdmin(r.Context(), a.UserID)
	if err != nil {
		p.site.serverError(w, r, "impersonation", err)
		return nil
	}
	if !ok || a.Actor != nil {
		p.site.ErrorPage(w, r, http.StatusForbidden)
		return nil
	}
	return a
}

// AdminPage serves GET /admin/impersonate: the users an instance
// administrator can impersonate (?query= filters them).
func (p *Impersonation) AdminPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := p.admin(w, r)
		if a == nil {
			return
		}
		p.renderAdmin(w, r, http.StatusOK, a, AdminProps{Query: r.URL.Query().Get("query")})
	})
}

func (p *Impersonation) renderAdmin(w http.ResponseWriter, r *http.Request, status int, a *auth.Auth, props AdminProps) {
	list, err := auth.ClerkClient(r.Context()).Users.GetUserList(r.Context(), auth.UserListParams{Limit: 50, Query: props.Query})
	if err != nil {
		if e, ok := auth.AsError(err); ok && e.Status < 500 {
			props.Error = e.Message
		} else {
			p.site.serverError(w, r, "impersonation", err)
			return
		}
	} else {
		props.Users = list.Data
	}
	props.Self = a.UserID
	p.site.Render(w, r, status, "Impersonate a user", adminView(props))
}

// Impersonate serves POST /admin/impersonate (user_id): it creates an
// actor token for the user on behalf of the signed-in administrator and
// shows its link once.
func (p *Impersonation) Impersonate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(p.site, w, r, err)
			return
		}
		a := p.admin(w, r)
		if a == nil {
			return
		}
		created, err := auth.ClerkClient(r.Context()).ActorTokens.CreateAsAdmin(r.Context(), a.SessionID, form["user_id"])
		if err != nil {
			e, ok := auth.AsError(err)
			if !ok {
				p.site.serverError(w, r, "impersonation", err)
				return
			}
			p.renderAdmin(w, r, e.Status, a, AdminProps{Error: e.Message})
			return
		}
		target, err := auth.ClerkClient(r.Context()).Users.GetUser(r.Context(), created.Token.UserID)
		if err != nil {
			p.site.serverError(w, r, "impersonation", err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		p.renderAdmin(w, r, http.StatusOK, a, AdminProps{Created: &ActorLink{URL: created.URL, Secret: created.Secret}, Target: target})
	})
}
