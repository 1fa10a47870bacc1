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
	APIKeys  APIKeysView
}

// Profile shows the user's name, primary email, public metadata, active
// sessions and API keys.
func Profile(site *Site) http.Handler {
	return profilePage(site, func(*http.Request) (APIKeysView, int, error) { return APIKeysView{}, http.StatusOK, nil })
}

// profilePage is the profile page whose API keys card starts from what
// keys returns (a form's outcome), served with its status. keys runs
// after the user is loaded, so a form acts only for a live account.
func profilePage(site *Site, keys func(*http.Request) (APIKeysView, int, error)) http.Handler {
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
		view, status, err := keys(r)
		if err != nil {
			return Result[ProfileProps]{}, err
		}
		view.Action = profileKeysPath
		if view.Keys, err = listAPIKeys(r, a); err != nil {
			return Result[ProfileProps]{}, err
		}
		if a.Actor != nil {
			view.Disabled = errActorAPIKeys
		}
		props, err := auth.BuildClerkProps(r, auth.InitState{User: user})
		if err != nil {
			return Result[ProfileProps]{}, err
		}
		return PropsStatus(ProfileProps{Base: Base{Clerk: props}, Auth: a, User: user, Sessions: sessions.Data, APIKeys: view}, status)
	}}.Handler(site)
}
