package oidctest

import (
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// GitHubEmail is one of a GitHub user's email addresses, as GET
// /user/emails lists them.
type GitHubEmail struct {
	Email             string
	Primary, Verified bool
}

// GitHubUser is the account the GitHub stand-in signs in.
type GitHubUser struct {
	// ID is the numeric user id, GitHub's stable identifier.
	ID int64
	// Login is the username; Name the display name ("" is sent as null).
	Login, Name string
	// AvatarURL defaults to an image the stand-in serves itself, so a
	// browser showing it stays on loopback.
	AvatarURL string
	// PublicEmail is the email field of GET /user: only the address the
	// user chose to show on their profile, null when "", which is why the
	// app must read /user/emails.
	PublicEmail string
	// Emails is what GET /user/emails returns.
	Emails []GitHubEmail
}

// GitHub is a stand-in for github.com's OAuth app endpoints and REST API,
// for the github preset: plain OAuth 2 with no ID token, where the user
// comes from GET /user and the verified addresses from GET /user/emails.
// It follows GitHub where a client could trip: the token endpoint answers
// form-encoded unless asked for JSON, reports errors with status 200, and
// the emails need the user:email (or user) scope.
type GitHub struct {
	srv *httptest.Server
	url string

	mu                sync.Mutex
	clients           map[string]string
	user              GitHubUser
	grants            map[string]githubGrant // by code
	tokens            map[string]githubGrant // by access token
	authorizeRequests []url.Values
	tokenRequests     int
	pkceFailures      int
}

// githubGrant is what an authorize request left for its code, and later
// what its access token may see.
type githubGrant struct {
	clientID, redirectURI string
	challenge, method     string
	scopes                []string
	user                  GitHubUser
}

// StartGitHub starts the GitHub stand-in and closes it when the test
// ends. It has no clients (add them with AddClient) and signs in a default
// user, with a private primary email, until SetUser is called.
func StartGitHub(t testing.TB) *GitHub {
	t.Helper()
	g := &GitHub{
		clients: map[string]string{},
		grants:  map[string]githubGrant{},
		tokens:  map[string]githubGrant{},
	}
	g.srv = httptest.NewUnstartedServer(nil)
	g.url = "http://" + g.srv.Listener.Addr().String()
	g.user = g.withDefaults(GitHubUser{
		ID:    1001,
		Login: "octo-user",
		Name:  "Octo User",
		Emails: []GitHubEmail{
			{Email: "octo.user@example.com", Primary: true, Verified: true},
			{Email: "1001+octo-user@users.noreply.github.com", Verified: true},
		},
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", g.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", g.accessToken)
	mux.HandleFunc("GET /api/user", g.apiUser)
	mux.HandleFunc("GET /api/user/emails", g.apiEmails)
	mux.HandleFunc("GET /avatars/u/{id}", serveAvatar)
	g.srv.Config.Handler = mux
	g.srv.Start()
	t.Cleanup(g.srv.Close)
	return g
}

// URL returns the base URL standing in for https://github.com, for
// OAUTH_GITHUB_URL: authorize at URL()/login/oauth/authorize, token at
// URL()/login/oauth/access_token.
func (g *GitHub) URL() string { return g.url }

// APIURL returns the base URL standing in for https://api.github.com, for
// OAUTH_GITHUB_API_URL. It is URL()+"/api".
func (g *GitHub) APIURL() string { return g.url + "/api" }

// AddClient registers an OAuth app, or changes its secret. Any redirect
// URI is accepted. It is safe to call at any time.
func (g *GitHub) AddClient(id, secret string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.clients[id] = secret
}

// SetUser sets who signs in at the authorize requests from now on.
func (g *GitHub) SetUser(u GitHubUser) {
	u = g.withDefaults(u)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.user = u
}

// withDefaults fills in the avatar and copies the emails, so the caller's
// slice cannot change behind the lock.
func (g *GitHub) withDefaults(u GitHubUser) GitHubUser {
	if u.AvatarURL == "" {
		u.AvatarURL = g.url + "/avatars/u/" + strconv.FormatInt(u.ID, 10) + "?v=4"
	}
	u.Emails = slices.Clone(u.Emails)
	return u
}

// AuthorizeRequests returns the query of every authorize request so far,
// in order, so a test can check what the app sent (state, scope,
// code_challenge, code_challenge_method=S256, redirect_uri).
func (g *GitHub) AuthorizeRequests() []url.Values {
	g.mu.Lock()
	defer g.mu.Unlock()
	return copyRecorded(g.authorizeRequests)
}

// TokenRequests returns how many requests the token endpoint got,
// refused ones included.
func (g *GitHub) TokenRequests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tokenRequests
}

// PKCEFailures returns how many token requests were refused because the
// authorize request had a code_challenge and the code_verifier did not
// answer it with S256.
func (g *GitHub) PKCEFailures() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pkceFailures
}

// authorize signs the current user in at once, granting the requested
// scopes, and redirects back with a code.
func (g *GitHub) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.authorizeRequests = append(g.authorizeRequests, copyValues(q))

	if _, ok := g.clients[q.Get("client_id")]; !ok {
		http.Error(w, "oidctest GitHub: unknown client_id "+q.Get("client_id"), http.StatusNotFound)
		return
	}
	redirectURI := q.Get("redirect_uri")
	if u, err := url.Parse(redirectURI); redirectURI == "" || err != nil || !u.IsAbs() {
		// GitHub would fall back to the app's registered callback URL;
		// the stand-in has none, and the app should always send one.
		http.Error(w, "oidctest GitHub: missing or invalid redirect_uri", http.StatusBadRequest)
		return
	}
	code := randomToken()
	g.grants[code] = githubGrant{
		clientID:    q.Get("client_id"),
		redirectURI: redirectURI,
		challenge:   q.Get("code_challenge"),
		method:      q.Get("code_challenge_method"),
		scopes:      githubScopes(q.Get("scope")),
		user:        g.user,
	}
	target, err := withQuery(redirectURI, url.Values{"code": {code}, "state": {q.Get("state")}})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// githubScopes splits a scope parameter, which GitHub accepts separated
// by spaces or commas.
func githubScopes(scope string) []string {
	var out []string
	for _, s := range strings.FieldsFunc(scope, func(r rune) bool { return r == ' ' || r == ',' }) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// accessToken exchanges a code for an access token the way GitHub does.
func (g *GitHub) accessToken(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tokenRequests++

	if err := r.ParseForm(); err != nil {
		githubTokenReply(w, r, url.Values{"error": {"bad_request"}, "error_description": {err.Error()}})
		return
	}
	// As in the Fake, a refused client leaves the code alone, for
	// x/oauth2's retry with the credentials in the form.
	clientID, secret, err := clientCredentials(r)
	if want, ok := g.clients[clientID]; err != nil || !ok || !equal(want, secret) {
		githubTokenReply(w, r, githubError("incorrect_client_credentials",
			"The client_id and/or client_secret passed are incorrect.",
			"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials"))
		return
	}
	code := r.PostForm.Get("code")
	grant, ok := g.grants[code]
	delete(g.grants, code) // single use, whatever happens next
	if !ok || grant.clientID != clientID {
		githubTokenReply(w, r, githubError("bad_verification_code",
			"The code passed is incorrect or expired.",
			"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"))
		return
	}
	if ru := r.PostForm.Get("redirect_uri"); ru != "" && ru != grant.redirectURI {
		githubTokenReply(w, r, githubError("redirect_uri_mismatch",
			"The redirect_uri MUST match the registered callback URL for this application.",
			"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch2"))
		return
	}
	if grant.challenge != "" && !pkceOK(grant.challenge, grant.method, r.PostForm.Get("code_verifier")) {
		g.pkceFailures++
		// GitHub documents no error code for this; bad_verification_code
		// is what a client must handle anyway.
		githubTokenReply(w, r, githubError("bad_verification_code",
			"The code_verifier does not match the code_challenge.",
			"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"))
		return
	}

	token := "gho_" + (randomToken() + randomToken())[:36]
	g.tokens[token] = grant
	githubTokenReply(w, r, url.Values{
		"access_token": {token},
		"token_type":   {"bearer"},
		"scope":        {strings.Join(grant.scopes, ",")},
	})
}

func githubError(code, description, uri string) url.Values {
	return url.Values{"error": {code}, "error_description": {description}, "error_uri": {uri}}
}

// githubTokenReply answers the token endpoint as GitHub does: status 200
// even for errors, JSON when the request accepts it and form-encoded
// otherwise (which is what golang.org/x/oauth2 gets, since it sends no
// Accept header).
func githubTokenReply(w http.ResponseWriter, r *http.Request, v url.Values) {
	w.Header().Set("Cache-Control", "no-store")
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		body := make(map[string]string, len(v))
		for k := range v {
			body[k] = v.Get(k)
		}
		writeJSON(w, http.StatusOK, body)
		return
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	_, _ = w.Write([]byte(v.Encode()))
}

// apiGrant returns the grant of the request's access token, or answers
// 401 as the GitHub API does. GitHub takes "token X" as well as
// "Bearer X".
func (g *GitHub) apiGrant(w http.ResponseWriter, r *http.Request, docs string) (githubGrant, bool) {
	auth := r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(auth, " ")
	g.mu.Lock()
	grant, ok := g.tokens[strings.TrimSpace(token)]
	g.mu.Unlock()
	if ok && (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "token")) {
		w.Header().Set("X-OAuth-Scopes", strings.Join(grant.scopes, ", "))
		return grant, true
	}
	message := "Bad credentials"
	if auth == "" {
		message = "Requires authentication"
	}
	githubAPIError(w, http.StatusUnauthorized, message, docs)
	return githubGrant{}, false
}

func githubAPIError(w http.ResponseWriter, status int, message, docs string) {
	writeJSON(w, status, map[string]string{
		"message":           message,
		"documentation_url": docs,
		"status":            strconv.Itoa(status),
	})
}

// githubUserJSON is GET /user's response: GitHub's field names and
// types, with null where GitHub sends null.
type githubUserJSON struct {
	Login       string  `json:"login"`
	ID          int64   `json:"id"`
	NodeID      string  `json:"node_id"`
	AvatarURL   string  `json:"avatar_url"`
	GravatarID  string  `json:"gravatar_id"`
	URL         string  `json:"url"`
	HTMLURL     string  `json:"html_url"`
	Type        string  `json:"type"`
	SiteAdmin   bool    `json:"site_admin"`
	Name        *string `json:"name"`
	Company     *string `json:"company"`
	Blog        string  `json:"blog"`
	Location    *string `json:"location"`
	Email       *string `json:"email"`
	Hireable    *bool   `json:"hireable"`
	Bio         *string `json:"bio"`
	PublicRepos int     `json:"public_repos"`
	Followers   int     `json:"followers"`
	Following   int     `json:"following"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

// githubEmailJSON is an element of GET /user/emails' response.
type githubEmailJSON struct {
	Email      string  `json:"email"`
	Primary    bool    `json:"primary"`
	Verified   bool    `json:"verified"`
	Visibility *string `json:"visibility"`
}

func (g *GitHub) apiUser(w http.ResponseWriter, r *http.Request) {
	grant, ok := g.apiGrant(w, r, "https://docs.github.com/rest/users/users#get-the-authenticated-user")
	if !ok {
		return
	}
	u := grant.user
	writeJSON(w, http.StatusOK, githubUserJSON{
		Login:     u.Login,
		ID:        u.ID,
		NodeID:    base64.StdEncoding.EncodeToString([]byte("04:User" + strconv.FormatInt(u.ID, 10))),
		AvatarURL: u.AvatarURL,
		URL:       g.APIURL() + "/users/" + u.Login,
		HTMLURL:   g.url + "/" + u.Login,
		Type:      "User",
		Name:      nullable(u.Name),
		Email:     nullable(u.PublicEmail),
		CreatedAt: "2020-01-01T00:00:00Z",
		UpdatedAt: "2020-01-01T00:00:00Z",
	})
}

// apiEmails lists the user's addresses. GitHub needs the user:email or
// user scope for it and answers 404 without, so an app that forgets to
// ask for the scope fails here as it would against GitHub.
func (g *GitHub) apiEmails(w http.ResponseWriter, r *http.Request) {
	const docs = "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user"
	grant, ok := g.apiGrant(w, r, docs)
	if !ok {
		return
	}
	w.Header().Set("X-Accepted-OAuth-Scopes", "user, user:email")
	if !slices.Contains(grant.scopes, "user:email") && !slices.Contains(grant.scopes, "user") {
		githubAPIError(w, http.StatusNotFound, "Not Found", docs)
		return
	}
	emails := make([]githubEmailJSON, 0, len(grant.user.Emails))
	for _, e := range grant.user.Emails {
		item := githubEmailJSON{Email: e.Email, Primary: e.Primary, Verified: e.Verified}
		if e.Primary {
			visibility := "private"
			if e.Email == grant.user.PublicEmail {
				visibility = "public"
			}
			item.Visibility = &visibility
		}
		emails = append(emails, item)
	}
	writeJSON(w, http.StatusOK, emails)
}

// nullable returns nil for "", which encodes as JSON null.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// serveAvatar serves a one-pixel PNG as every user's avatar.
func serveAvatar(w http.ResponseWriter, _ *http.Request) {
	img := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.NRGBA{R: 0x6e, G: 0x54, B: 0x94, A: 0xff})
	w.Header().Set("Content-Type", "image/png")
	_ = png.Encode(w, img)
}
