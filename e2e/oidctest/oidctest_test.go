package oidctest_test

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/e2e/oidctest"
)

// The client of these tests is configured as the app configures its own:
// golang.org/x/oauth2 for the code flow with PKCE, go-oidc for discovery
// and ID token verification. The secret has characters that Basic
// authentication must URL-encode (RFC 6749 section 2.3.1).
const (
	clientID     = "gatehouse"
	clientSecret = "s3cret/with+odd=chars"
	// callback is never contacted: the tests stop at the redirect to it.
	callback = "http://127.0.0.1:9/sign-in/oauth/acme/callback"
)

func browserClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// authorize sends the browser to authURL and returns the redirect back to
// the callback, for the stand-ins that sign in without a login page.
func authorize(t *testing.T, authURL string) *url.URL {
	t.Helper()
	c := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorize: %d %s", resp.StatusCode, body)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// callbackCode checks the redirect went to the callback with the state
// and returns its code.
func callbackCode(t *testing.T, back *url.URL, state string) string {
	t.Helper()
	if got := back.Scheme + "://" + back.Host + back.Path; got != callback {
		t.Fatalf("redirected to %s, want the callback %s", back, callback)
	}
	q := back.Query()
	if q.Get("state") != state {
		t.Fatalf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("code") == "" {
		t.Fatalf("no code in %s", back)
	}
	return q.Get("code")
}

// retrieveErrorCode returns the OAuth error code of a failed exchange.
func retrieveErrorCode(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("exchange error %v is not an *oauth2.RetrieveError", err)
	}
	return re.ErrorCode
}

// fatalRecorder is a testing.TB whose Fatalf records the message and
// ends the goroutine, to test how a helper fails.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

type profileClaims struct {
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	GivenName     string `json:"given_name"`
	FamilyName    string `json:"family_name"`
	Picture       string `json:"picture"`
}

func TestProvider(t *testing.T) {
	p := oidctest.Start(t)
	ctx := t.Context()
	// Discovery first, as the app does at start, before the client
	// exists: the client is registered once the redirect URI is known.
	provider, err := oidc.NewProvider(ctx, p.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	p.AddClient(clientID, clientSecret, callback)
	p.AddUser(oidctest.User{
		Subject: "sub-ada", Username: "ada", Password: "correct horse",
		Email: "ada@example.com", EmailVerified: true, FirstName: "Ada", LastName: "Lovelace",
	})
	verifier := provider.Verifier(&oidc.Config{ClientID: clientID})

	config := func(style oauth2.AuthStyle) *oauth2.Config {
		endpoint := provider.Endpoint()
		endpoint.AuthStyle = style
		return &oauth2.Config{
			ClientID: clientID, ClientSecret: clientSecret, Endpoint: endpoint,
			RedirectURL: callback, Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
		}
	}
	// signIn runs the flow up to the callback, returning its code and the
	// PKCE verifier and nonce it used.
	signIn := func(t *testing.T, conf *oauth2.Config) (code, pkce, nonce string) {
		t.Helper()
		state, nonce, pkce := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
		authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce), oidc.Nonce(nonce))
		back, err := url.Parse(p.Login(t, browserClient(t), authURL, "ada", "correct horse"))
		if err != nil {
			t.Fatal(err)
		}
		return callbackCode(t, back, state), pkce, nonce
	}

	for _, tc := range []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"auto-detected client auth", oauth2.AuthStyleAutoDetect},
		{"client_secret_basic", oauth2.AuthStyleInHeader},
		{"client_secret_post", oauth2.AuthStyleInParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := config(tc.style)
			code, pkce, nonce := signIn(t, conf)
			tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := verifier.Verify(ctx, raw)
			if err != nil {
				t.Fatalf("verify the ID token: %v", err)
			}
			if idt.Nonce != nonce {
				t.Errorf("nonce = %q, want %q", idt.Nonce, nonce)
			}
			if idt.Subject != "sub-ada" {
				t.Errorf("sub = %q, want sub-ada", idt.Subject)
			}
			var claims profileClaims
			if err := idt.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			want := profileClaims{Email: "ada@example.com", EmailVerified: true, GivenName: "Ada", FamilyName: "Lovelace"}
			if claims != want {
				t.Errorf("claims = %+v, want %+v", claims, want)
			}
		})
	}

	t.Run("wrong PKCE verifier is refused", func(t *testing.T) {
		conf := config(oauth2.AuthStyleInHeader)
		code, _, _ := signIn(t, conf)
		_, err := conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if got := retrieveErrorCode(t, err); got != "invalid_grant" {
			t.Errorf("error = %q, want invalid_grant", got)
		}
	})

	t.Run("code is single use", func(t *testing.T) {
		conf := config(oauth2.AuthStyleInHeader)
		code, pkce, _ := signIn(t, conf)
		if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce)); err != nil {
			t.Fatal(err)
		}
		_, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if got := retrieveErrorCode(t, err); got != "invalid_grant" {
			t.Errorf("error = %q, want invalid_grant", got)
		}
	})

	t.Run("login page is a plain form", func(t *testing.T) {
		conf := config(oauth2.AuthStyleAutoDetect)
		resp, err := browserClient(t).Get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != oidctest.LoginPath {
			t.Fatalf("authorize ended at %d %s", resp.StatusCode, resp.Request.URL)
		}
		for _, part := range []string{`id="username" name="username"`, `id="password" name="password"`, `id="login-submit" type="submit"`} {
			if !strings.Contains(string(body), part) {
				t.Errorf("login page lacks %s:\n%s", part, body)
			}
		}
	})

	t.Run("wrong password fails the test with the reason", func(t *testing.T) {
		conf := config(oauth2.AuthStyleAutoDetect)
		authURL := conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		ft := &fatalRecorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.Login(ft, browserClient(t), authURL, "ada", "wrong")
		}()
		<-done
		if !strings.Contains(ft.msg, "username or password wrong") {
			t.Errorf("Login failed with %q, want the login page's reason", ft.msg)
		}
	})

	t.Run("clients can be added while serving", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() { p.AddClient(fmt.Sprint("other-", i), "x", callback) })
		}
		signIn(t, config(oauth2.AuthStyleAutoDetect))
		wg.Wait()
	})
}

func TestFake(t *testing.T) {
	f := oidctest.StartFake(t)
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, f.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	f.AddClient(clientID, clientSecret)
	grace := oidctest.Identity{
		Subject: "sub-grace", Email: "grace@example.com", EmailVerified: true,
		GivenName: "Grace", FamilyName: "Hopper", Picture: "http://127.0.0.1:9/grace.png",
	}
	f.SetIdentity(grace)
	verifier := provider.Verifier(&oidc.Config{ClientID: clientID})
	conf := &oauth2.Config{
		ClientID: clientID, ClientSecret: clientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: callback, Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
	}

	// signIn runs the whole flow and verifies the ID token as the app
	// must: go-oidc checks signature, iss, aud and exp, and the nonce is
	// the caller's to compare.
	signIn := func(t *testing.T) (*oidc.IDToken, error) {
		t.Helper()
		state, nonce, pkce := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
		code := callbackCode(t, authorize(t, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce), oidc.Nonce(nonce))), state)
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if err != nil {
			return nil, err
		}
		if idt.Nonce != nonce {
			return idt, fmt.Errorf("nonce %q, want %q", idt.Nonce, nonce)
		}
		return idt, nil
	}

	t.Run("honest tokens verify", func(t *testing.T) {
		idt, err := signIn(t)
		if err != nil {
			t.Fatal(err)
		}
		var claims profileClaims
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		want := profileClaims{Email: grace.Email, EmailVerified: true, GivenName: "Grace", FamilyName: "Hopper", Picture: grace.Picture}
		if idt.Subject != grace.Subject || claims != want {
			t.Errorf("sub %q claims %+v, want %q %+v", idt.Subject, claims, grace.Subject, want)
		}
		reqs := f.AuthorizeRequests()
		last := reqs[len(reqs)-1]
		for _, name := range []string{"state", "nonce", "code_challenge"} {
			if last.Get(name) == "" {
				t.Errorf("authorize request lacks %s: %v", name, last)
			}
		}
		if last.Get("code_challenge_method") != "S256" {
			t.Errorf("code_challenge_method = %q", last.Get("code_challenge_method"))
		}
	})

	for _, tc := range []struct {
		name   string
		tamper oidctest.Tampering
		// nonceOnly: go-oidc accepts the token, only the nonce check fails.
		nonceOnly bool
	}{
		{"wrong nonce", oidctest.Tampering{WrongNonce: true}, true},
		{"no nonce", oidctest.Tampering{NoNonce: true}, true},
		{"wrong audience", oidctest.Tampering{WrongAudience: true}, false},
		{"wrong issuer", oidctest.Tampering{WrongIssuer: true}, false},
		{"bad signature", oidctest.Tampering{BadSignature: true}, false},
		{"expired", oidctest.Tampering{Expired: true}, false},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			f.Tamper(tc.tamper)
			defer f.Tamper(oidctest.Tampering{})
			idt, err := signIn(t)
			if err == nil {
				t.Fatal("the tampered token passed verification")
			}
			if tc.nonceOnly != (idt != nil) {
				t.Errorf("go-oidc verification: %v (should it pass: %v)", err, tc.nonceOnly)
			}
			var expired *oidc.TokenExpiredError
			if tc.tamper.Expired && !errors.As(err, &expired) {
				t.Errorf("error %v, want a *oidc.TokenExpiredError", err)
			}
		})
	}

	t.Run("wrong PKCE verifier is refused and counted", func(t *testing.T) {
		before := f.PKCEFailures()
		code := callbackCode(t, authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))), "st")
		_, err := conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if got := retrieveErrorCode(t, err); got != "invalid_grant" {
			t.Errorf("error = %q, want invalid_grant", got)
		}
		if got := f.PKCEFailures(); got != before+1 {
			t.Errorf("PKCEFailures = %d, want %d", got, before+1)
		}
	})

	t.Run("missing PKCE verifier is refused", func(t *testing.T) {
		code := callbackCode(t, authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))), "st")
		_, err := conf.Exchange(ctx, code)
		if got := retrieveErrorCode(t, err); got != "invalid_grant" {
			t.Errorf("error = %q, want invalid_grant", got)
		}
	})

	t.Run("code is single use and bound to the redirect URI", func(t *testing.T) {
		pkce := oauth2.GenerateVerifier()
		code := callbackCode(t, authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce))), "st")
		before := f.TokenRequests()
		if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce)); err != nil {
			t.Fatal(err)
		}
		if got := f.TokenRequests(); got != before+1 {
			t.Errorf("TokenRequests = %d, want %d", got, before+1)
		}
		_, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if got := retrieveErrorCode(t, err); got != "invalid_grant" {
			t.Errorf("reuse: error = %q, want invalid_grant", got)
		}

		code = callbackCode(t, authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce))), "st")
		other := *conf
		other.RedirectURL = callback + "/elsewhere"
		_, err = other.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if got := retrieveErrorCode(t, err); got != "invalid_grant" {
			t.Errorf("other redirect_uri: error = %q, want invalid_grant", got)
		}
	})

	t.Run("wrong client secret is refused", func(t *testing.T) {
		pkce := oauth2.GenerateVerifier()
		code := callbackCode(t, authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce))), "st")
		bad := *conf
		bad.ClientSecret = "wrong"
		_, err := bad.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if got := retrieveErrorCode(t, err); got != "invalid_client" {
			t.Errorf("error = %q, want invalid_client", got)
		}
		// The refused client did not use up the code.
		if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce)); err != nil {
			t.Errorf("exchange after a refused client: %v", err)
		}
	})

	t.Run("userinfo", func(t *testing.T) {
		pkce := oauth2.GenerateVerifier()
		code := callbackCode(t, authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce))), "st")
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatal(err)
		}
		if info.Subject != grace.Subject || info.Email != grace.Email || !info.EmailVerified {
			t.Errorf("userinfo = %+v", info)
		}
	})
}

func TestGitHub(t *testing.T) {
	g := oidctest.StartGitHub(t)
	g.AddClient(clientID, clientSecret)
	g.SetUser(oidctest.GitHubUser{
		ID: 4242, Login: "hopper", Name: "Grace Hopper",
		Emails: []oidctest.GitHubEmail{
			{Email: "old@example.com"},
			{Email: "grace@example.com", Primary: true, Verified: true},
		},
	})
	ctx := t.Context()
	conf := &oauth2.Config{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: callback,
		Endpoint: oauth2.Endpoint{
			AuthURL:  g.URL() + "/login/oauth/authorize",
			TokenURL: g.URL() + "/login/oauth/access_token",
		},
		Scopes: []string{"read:user", "user:email"},
	}
	exchange := func(t *testing.T, conf *oauth2.Config) *oauth2.Token {
		t.Helper()
		state, pkce := rand.Text(), oauth2.GenerateVerifier()
		code := callbackCode(t, authorize(t, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce))), state)
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		return tok
	}
	get := func(t *testing.T, c *http.Client, path string, into any) int {
		t.Helper()
		resp, err := c.Get(g.APIURL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode
	}

	t.Run("exchange, user and emails", func(t *testing.T) {
		tok := exchange(t, conf)
		if !strings.HasPrefix(tok.AccessToken, "gho_") || tok.TokenType != "bearer" || tok.Extra("scope") != "read:user,user:email" {
			t.Errorf("token %q type %q scope %v", tok.AccessToken, tok.TokenType, tok.Extra("scope"))
		}
		last := g.AuthorizeRequests()[len(g.AuthorizeRequests())-1]
		if last.Get("code_challenge_method") != "S256" || last.Get("state") == "" {
			t.Errorf("authorize request %v", last)
		}

		c := conf.Client(ctx, tok)
		var user struct {
			ID        int64   `json:"id"`
			Login     string  `json:"login"`
			Name      *string `json:"name"`
			Email     *string `json:"email"`
			AvatarURL string  `json:"avatar_url"`
		}
		if status := get(t, c, "/user", &user); status != http.StatusOK {
			t.Fatalf("GET /user: %d", status)
		}
		if user.ID != 4242 || user.Login != "hopper" || user.Name == nil || *user.Name != "Grace Hopper" || user.Email != nil {
			t.Errorf("user = %+v", user)
		}
		resp, err := c.Get(user.AvatarURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
			t.Errorf("avatar: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}

		var emails []struct {
			Email      string  `json:"email"`
			Primary    bool    `json:"primary"`
			Verified   bool    `json:"verified"`
			Visibility *string `json:"visibility"`
		}
		if status := get(t, c, "/user/emails", &emails); status != http.StatusOK {
			t.Fatalf("GET /user/emails: %d", status)
		}
		if len(emails) != 2 || emails[1].Email != "grace@example.com" || !emails[1].Primary || !emails[1].Verified ||
			emails[1].Visibility == nil || *emails[1].Visibility != "private" || emails[0].Verified || emails[0].Visibility != nil {
			t.Errorf("emails = %+v", emails)
		}
	})

	t.Run("API needs the token", func(t *testing.T) {
		var body struct{ Message string }
		if status := get(t, http.DefaultClient, "/user", &body); status != http.StatusUnauthorized || body.Message == "" {
			t.Errorf("GET /user without a token: %d %+v", status, body)
		}
	})

	t.Run("emails need the user:email scope", func(t *testing.T) {
		narrow := *conf
		narrow.Scopes = []string{"read:user"}
		c := narrow.Client(ctx, exchange(t, &narrow))
		var body struct{ Message string }
		if status := get(t, c, "/user/emails", &body); status != http.StatusNotFound {
			t.Errorf("GET /user/emails: %d %+v", status, body)
		}
	})

	t.Run("JSON on request", func(t *testing.T) {
		pkce := oauth2.GenerateVerifier()
		code := callbackCode(t, authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce))), "st")
		form := url.Values{
			"client_id": {clientID}, "client_secret": {clientSecret}, "code": {code},
			"redirect_uri": {callback}, "code_verifier": {pkce},
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, conf.Endpoint.TokenURL, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			Scope       string `json:"scope"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.HasPrefix(body.AccessToken, "gho_") ||
			body.TokenType != "bearer" || body.Scope != "read:user,user:email" {
			t.Errorf("%s %+v", resp.Header.Get("Content-Type"), body)
		}
	})

	t.Run("wrong PKCE verifier is refused and counted", func(t *testing.T) {
		before := g.PKCEFailures()
		code := callbackCode(t, authorize(t, conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))), "st")
		_, err := conf.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if got := retrieveErrorCode(t, err); got != "bad_verification_code" {
			t.Errorf("error = %q, want bad_verification_code", got)
		}
		if got := g.PKCEFailures(); got != before+1 {
			t.Errorf("PKCEFailures = %d, want %d", got, before+1)
		}
	})
}
