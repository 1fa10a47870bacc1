package pages

import (
	"context"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/internal/appdata"
)

// ItemLister is what the dashboard needs of the example items.
type ItemLister interface {
	ListItems(ctx context.Context, userID string) ([]appdata.Item, error)
}

// DashboardProps are the props of the dashboard.
type DashboardProps struct {
	Base
	User  *auth.User
	Items []appdata.Item
}

// Dashboard is the loader example "fetch user-specific data": it redirects
// signed-out visitors to sign in, then loads the user with the backend
// client and their items, and hands both to the view.
func Dashboard(site *Site, items ItemLister) http.Handler {
	return Page[DashboardProps]{Name: "dashboard", Title: "Dashboard", View: DashboardView, Load: func(r *http.Request) (Result[DashboardProps], error) {
		a, err := auth.GetAuth(r)
		if err != nil {
			return Result[DashboardProps]{}, err
		}
		if !a.IsAuthenticated {
			return RedirectToSignIn[DashboardProps](r, site)
		}
		ctx := r.Context()
		user, err := auth.ClerkClient(ctx).Users.GetUser(ctx, a.UserID)
		if auth.IsNotFound(err) {
			// Deleted since this token was issued; the token dies within
			// its lifetime, and the next refresh signs the browser out.
			return RedirectToSignIn[DashboardProps](r, site)
		}
		if err != nil {
			return Result[DashboardProps]{}, err
		}
		list, err := items.ListItems(ctx, a.UserID)
		if err != nil {
			return Result[DashboardProps]{}, err
		}
		props, err := auth.BuildClerkProps(r, auth.InitState{User: user})
		if err != nil {
			return Result[DashboardProps]{}, err
		}
		return Props(DashboardProps{Base: Base{Clerk: props}, User: user, Items: list})
	}}.Handler(site)
}

// tokenExpiry is when the session token the dashboard shows expires.
func tokenExpiry(p DashboardProps) string {
	a := p.Clerk.Auth()
	if a == nil || a.SessionClaims == nil {
		return "—"
	}
	return formatMillis(a.SessionClaims.Expiry * 1000)
}
