package pages

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth"
)

// ProfileProps are the props of the profile page.
type ProfileProps struct {
	Base
	Auth     *auth.Auth
	User     *auth.User
	Sessions []*auth.Session
}

// Profile shows the user's name, primary email, public metadata and
// active sessions.
func Profile(site *Site) http.Handler {
	return Page[ProfileProps]{Name: "profile", Title: "Profile", View: profileView, Load: func(r *http.Request) (Result[ProfileProps], error) {
		a, err := auth.GetAuth(r)
		if err != nil {
			return Result[ProfileProps]{}, err
		}
		if !a.IsAuthenticated {
			return RedirectToSignIn[ProfileProps](r, site)
		}
		ctx := r.Context()
		client := auth.ClerkClient(ctx)
		user, err := client.Users.GetUser(ctx, a.UserID)
		if auth.IsNotFound(err) {
			return RedirectToSignIn[ProfileProps](r, site) // deleted since the token was issued
		}
		if err != nil {
			return Result[ProfileProps]{}, err
		}
		sessions, err := client.Sessions.GetSessionList(ctx, auth.SessionListParams{UserID: a.UserID, Status: "active"})
		if err != nil {
			return Result[ProfileProps]{}, err
		}
		props, err := auth.BuildClerkProps(r, auth.InitState{User: user})
		if err != nil {
			return Result[ProfileProps]{}, err
		}
		return Props(ProfileProps{Base: Base{Clerk: props}, Auth: a, User: user, Sessions: sessions.Data})
	}}.Handler(site)
}
