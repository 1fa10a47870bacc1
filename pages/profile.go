package pages

import (
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/components"
)

// ProfileProps are the props of the profile page.
type ProfileProps struct {
	Base
	Auth     *auth.Auth
	User     *auth.User
	Sessions []*auth.Session
	APIKeys  APIKeysView
	// Connections are the user's connected accounts and the providers
	// they may connect.
	Connections ConnectionsView
	// Passkeys are the user's passkeys, or why passkeys do not work here.
	Passkeys PasskeysView
	// Form is the outcome of the account form just posted, if any.
	Form AccountForm
	// Activity is the newest page of the user's security activity.
	Activity      []auth.AuditEvent
	ActivityTotal int
	ActivityPage  int
}

// AccountForm is the outcome of one of the profile's account forms: a
// notice after one that worked, or its refusal next to its fields.
type AccountForm struct {
	// Section names the card the outcome belongs to (name, password,
	// emails, connections, passkeys, sessions, delete).
	Section string
	Notice  string
	Error   string
	Fields  components.FieldErrors
	// ID is the id in the form's path: the address a verification form
	// was about, the passkey a rename form was about.
	ID string
	// Values keep what was typed (never a password).
	Values map[string]string
}

// profileOutcome is what a form hands the profile page to show.
type profileOutcome struct {
	Keys APIKeysView
	Form AccountForm
}

const activityPageSize = 10

// Profile shows the user's account (name, addresses, password, connected
// accounts, passkeys, sessions, security activity, API keys, deletion),
// each as a plain form.
func Profile(site *Site) http.Handler {
	return profilePage(site, func(r *http.Request) (profileOutcome, int, error) {
		return profileOutcome{Form: doneNotice(r.URL.Query().Get("done"))}, http.StatusOK, nil
	})
}

// profilePage is the profile page showing what outcome returns (a form's
// outcome), served with its status. outcome runs after the user is
// loaded, so a form acts only for a live account.
func profilePage(site *Site, outcome func(*http.Request) (profileOutcome, int, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		profileLoader(site, w, outcome).Handler(site).ServeHTTP(w, r)
	})
}

// profileLoader is the profile page of one request: its loader opens the
// account with w, which clears the cookies of a session that has ended.
func profileLoader(site *Site, w http.ResponseWriter, outcome func(*http.Request) (profileOutcome, int, error)) Page[ProfileProps] {
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
		if _, err := client.Users.GetUser(ctx, a.UserID); auth.IsNotFound(err) {
			return RedirectToSignIn[ProfileProps](r, site) // deleted since the token was issued
		} else if err != nil {
			return Result[ProfileProps]{}, err
		}
		out, status, err := outcome(r)
		if err != nil {
			return Result[ProfileProps]{}, err
		}
		// Read after the form, so the page shows what it changed.
		user, err := client.Users.GetUser(ctx, a.UserID)
		if auth.IsNotFound(err) {
			return RedirectToSignIn[ProfileProps](r, site)
		}
		if err != nil {
			return Result[ProfileProps]{}, err
		}
		sessions, err := client.Sessions.GetSessionList(ctx, auth.SessionListParams{UserID: a.UserID, Status: "active", Limit: 500})
		if err != nil {
			return Result[ProfileProps]{}, err
		}
		// A session past its lifetime is over, whether or not a refresh
		// has marked it expired yet.
		live := sessions.Data[:0]
		for _, s := range sessions.Data {
			if s.ExpireAt > time.Now().UnixMilli() {
				live = append(live, s)
			}
		}
		page := max(atoiDefault(r.URL.Query().Get("activity_page"), 1), 1)
		activity, err := client.AuditEvents.List(ctx, auth.AuditEventListParams{UserID: a.UserID, Limit: activityPageSize, Offset: (page - 1) * activityPageSize})
		if err != nil {
			return Result[ProfileProps]{}, err
		}
		view := out.Keys
		view.Action = profileKeysPath
		if view.Keys, err = listAPIKeys(r, a); err != nil {
			return Result[ProfileProps]{}, err
		}
		if a.Actor != nil {
			view.Disabled = errActorAPIKeys
		}
		var conns ConnectionsView
		var acct *auth.Account
		actx := ctx
		if a.TokenType == auth.SessionToken {
			acct, actx, err = auth.OpenAccount(w, r)
			switch {
			case errors.Is(err, auth.ErrSessionEnded):
				return RedirectToSignIn[ProfileProps](r, site)
			case errors.Is(err, auth.ErrCannotMint):
				// No identity server here: nothing to connect, no passkeys.
				acct, actx = nil, ctx
			case err != nil:
				return Result[ProfileProps]{}, err
			default:
				conns = connectionsView(r, acct)
			}
		}
		passkeys, err := passkeysView(actx, r, acct)
		if err != nil {
			return Result[ProfileProps]{}, err
		}
		props, err := auth.BuildClerkProps(r, auth.InitState{User: user})
		if err != nil {
			return Result[ProfileProps]{}, err
		}
		return PropsStatus(ProfileProps{Base: Base{Clerk: props}, Auth: a, User: user, Sessions: live, APIKeys: view,
			Connections: conns, Passkeys: passkeys, Form: out.Form, Activity: activity.Data, ActivityTotal: activity.TotalCount, ActivityPage: page}, status)
	}}
}

// ConnectionsView is the view model of the profile's connected accounts
// card: the accounts connected to the user, and a button for each
// configured provider not connected yet.
type ConnectionsView struct {
	Accounts []ConnectedAccount
	Connect  []components.ProviderButton
	// Disabled says why this session cannot connect or disconnect
	// accounts, or is "".
	Disabled string
}

// Shown reports whether the card has anything to show: a connected
// account, or a provider to connect.
func (v ConnectionsView) Shown() bool { return len(v.Accounts) > 0 || len(v.Connect) > 0 }

// ConnectedAccount is one account of a provider connected to the user.
type ConnectedAccount struct {
	// ID names the account in its disconnect form's action.
	ID string
	// Provider is the provider's name, Label its name for people.
	Provider, Label string
	// Address is the account's email address, or its username without one.
	Address string
	// ConnectedAt is when it was connected, formatted.
	ConnectedAt string
}

const errActorConnections = "Connected accounts are the user's own to manage; an impersonation session cannot connect or disconnect them."

// connectionsView lists acct's connected accounts, labelled by their
// configured provider (an account of a provider no longer configured by
// its name), and the configured providers acct has not connected.
func connectionsView(r *http.Request, acct *auth.Account) ConnectionsView {
	var v ConnectionsView
	providers := auth.OAuthProviders(r)
	labels := make(map[string]string, len(providers))
	for _, p := range providers {
		labels[p.Name] = p.Label
	}
	connected := map[string]bool{}
	for _, ea := range acct.ExternalAccounts() {
		connected[ea.Provider] = true
		v.Accounts = append(v.Accounts, ConnectedAccount{ID: ea.ID, Provider: ea.Provider,
			Label: valueOr(labels[ea.Provider], ea.Provider), Address: valueOr(ea.EmailAddress, ea.Username),
			ConnectedAt: formatMillis(ea.CreatedAt)})
	}
	for _, p := range providers {
		if !connected[p.Name] {
			v.Connect = append(v.Connect, components.ProviderButton{Name: p.Name, Label: p.Label})
		}
	}
	if acct.Impersonated() {
		v.Disabled = errActorConnections
	}
	return v
}
