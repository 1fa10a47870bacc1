package pages

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth"
)

// HomeProps are the props of the home page.
type HomeProps struct {
	Base
	Auth *auth.Auth
	User *auth.User
	// ShowDemo shows the demo account hint (development only).
	ShowDemo bool
}

// Home is the public home page. Signed-in visitors see their name.
func Home(site *Site) http.Handler {
	return Page[HomeProps]{Name: "home", Title: "Home", View: homeView, Load: func(r *http.Request) (Result[HomeProps], error) {
		a, err := auth.GetAuth(r)
		if err != nil {
			return Result[HomeProps]{}, err
		}
		var user *auth.User
		if a.IsAuthenticated {
			if user, err = auth.ClerkClient(r.Context()).Users.GetUser(r.Context(), a.UserID); err != nil && !auth.IsNotFound(err) {
				return Result[HomeProps]{}, err
			}
		}
		props, err := auth.BuildClerkProps(r, auth.InitState{User: user})
		if err != nil {
			return Result[HomeProps]{}, err
		}
		return Props(HomeProps{Base: Base{Clerk: props}, Auth: a, User: user, ShowDemo: site.Development})
	}}.Handler(site)
}
