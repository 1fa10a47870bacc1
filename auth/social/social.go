// Package social talks to OAuth 2.0 and OpenID Connect providers for
// "Sign in with Google, GitHub, Microsoft or any OpenID provider": it
// builds the authorization URL of a flow and turns the provider's answer
// (an authorization code) into a [Profile], checking the ID token on the
// way. The flow's state, and who the profile is in Gatehouse, are the
// identity server's business.
package social

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config is one provider as the environment configures it.
type Config struct {
	// Name is Gatehouse's name for the provider: a preset (google,
	// microsoft, github) or any name of lower-case letters for an OpenID
	// provider found by discovery.
	Name         string
	ClientID     string
	ClientSecret string
	// Issuer is the OpenID issuer of a provider that is not a preset.
	Issuer string
	// Scopes default to "openid email profile" (GitHub: "read:user
	// user:email").
	Scopes []string
	// Label is the button's text ("Google"; default: the name).
	Label string
	// Tenant is Microsoft's tenant: common (the default), organizations,
	// consumers, or a tenant id.
	Tenant string
	// GitHubURL and GitHubAPIURL point the github preset at a GitHub
	// Enterprise Server (default https://github.com and
	// https://api.github.com).
	GitHubURL, GitHubAPIURL string
}

// Options are what every provider shares.
type Options struct {
	// AppURL is the application's URL; the redirect URI is
	// AppURL/sign-in/oauth/<name>/callback.
	AppURL string
	// AllowInsecureLoopback lets an issuer use http on a loopback
	// address (development only).
	AllowInsecureLoopback bool
	// LazyDiscovery retries a failed discovery at the first sign-in
	// instead of failing at start (development only: a provider started
	// after the app still works).
	LazyDiscovery bool
	// HTTPClient makes the requests to providers (default: 10 s timeout).
	HTTPClient *http.Client
}

// Profile is who the provider says signed in.
type Profile struct {
	// Subject is the provider's stable id of the account (sub).
	Subject string
	Email   string
	// EmailVerified is the provider's word that the address is the
	// account's: email_verified, or GitHub's verified primary address.
	EmailVerified       bool
	FirstName, LastName string
	Username, ImageURL  string
}

// Provider is one configured provider.
type Provider struct {
	name, label string
	issuer      string // a discovered provider's
	oauth       oauth2.Config
	client      *http.Client
	// github is set for the github preset, which is OAuth 2.0 without
	// OpenID: the profile comes from its API.
	github *githubAPI
	// oidc: the discovered provider and its ID token verifier, found at
	// start or (LazyDiscovery) at first use.
	mu       sync.Mutex
	discover func(ctx context.Context) (*oidc.Provider, error)
	op       *oidc.Provider
	verifier *oidc.IDTokenVerifier
	// checkIssuer replaces go-oidc's issuer check where the issuer
	// depends on the account (Microsoft's multi-tenant endpoints).
	checkIssuer func(iss string, claims map[string]any) error
	// trustEmail says whether the provider's email_verified is to be
	// believed; Microsoft's is not (see microsoftEmailVerified).
	emailVerified func(claims map[string]any) bool
}

// ErrConfig means a provider is configured wrongly; the message says
// which variable to fix.
var ErrConfig = errors.New("social: provider configuration")

var (
	// Clerk's strategy names allow lower-case letters only.
	nameRE   = regexp.MustCompile(`^[a-z]{1,32}$`)
	tenantRE = regexp.MustCompile(`^[A-Za-z0-9.-]{1,64}$`)
)

// Strategy returns Clerk's name of a provider's strategy: oauth_google,
// oauth_github, oauth_microsoft, or oauth_custom_<name>.
func Strategy(name string) string {
	if isPreset(name) {
		return "oauth_" + name
	}
	return "oauth_custom_" + name
}

// CallbackPath is the path of a provider's redirect URI.
func CallbackPath(name string) string { return "/sign-in/oauth/" + name + "/callback" }

// New checks cfg and returns its provider. An OpenID provider that is not
// a preset is discovered now (with opts.LazyDiscovery, a failure is
// retried at the first sign-in).
func New(ctx context.Context, cfg Config, opts Options) (*Provider, error) {
	if err := CheckConfig(cfg); err != nil {
		return nil, err
	}
	env := "OAUTH_" + strings.ToUpper(cfg.Name) + "_"
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	p := &Provider{name: cfg.Name, label: cfg.Label, client: client, emailVerified: claimEmailVerified}
	p.oauth = oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RedirectURL: strings.TrimSuffix(opts.AppURL, "/") + CallbackPath(cfg.Name), Scopes: cfg.Scopes}
	if len(p.oauth.Scopes) == 0 {
		p.oauth.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	switch cfg.Name {
	case "github":
		if p.label == "" {
			p.label = "GitHub"
		}
		if len(cfg.Scopes) == 0 {
			p.oauth.Scopes = []string{"read:user", "user:email"}
		}
		base, api := strings.TrimSuffix(orDefault(cfg.GitHubURL, "https://github.com"), "/"), strings.TrimSuffix(orDefault(cfg.GitHubAPIURL, "https://api.github.com"), "/")
		for v, u := range map[string]string{"URL": base, "API_URL": api} {
			if err := checkEndpoint(u, opts.AllowInsecureLoopback); err != nil {
				return nil, fmt.Errorf("%w: %s%s: %v", ErrConfig, env, v, err)
			}
		}
		p.oauth.Endpoint = oauth2.Endpoint{AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token"}
		p.github = &githubAPI{base: api, client: client}
		return p, nil
	case "google":
		if p.label == "" {
			p.label = "Google"
		}
		// Google's endpoints are fixed: no discovery at start.
		op := (&oidc.ProviderConfig{IssuerURL: "https://accounts.google.com",
			AuthURL: "https://accounts.google.com/o/oauth2/v2/auth", TokenURL: "https://oauth2.googleapis.com/token",
			UserInfoURL: "https://openidconnect.googleapis.com/v1/userinfo", JWKSURL: "https://www.googleapis.com/oauth2/v3/certs",
			Algorithms: []string{oidc.RS256}}).NewProvider(oidc.ClientContext(ctx, client))
		p.setOIDC(op, &oidc.Config{ClientID: cfg.ClientID})
		return p, nil
	case "microsoft":
		if p.label == "" {
			p.label = "Microsoft"
		}
		tenant := orDefault(cfg.Tenant, "common")
		base := "https://login.microsoftonline.com/" + tenant
		op := (&oidc.ProviderConfig{IssuerURL: base + "/v2.0",
			AuthURL: base + "/oauth2/v2.0/authorize", TokenURL: base + "/oauth2/v2.0/token",
			UserInfoURL: "https://graph.microsoft.com/oidc/userinfo", JWKSURL: base + "/discovery/v2.0/keys",
			Algorithms: []string{oidc.RS256}}).NewProvider(oidc.ClientContext(ctx, client))
		// The multi-tenant endpoints sign with the account's own tenant
		// as issuer, so go-oidc cannot compare it to a fixed string.
		p.setOIDC(op, &oidc.Config{ClientID: cfg.ClientID, SkipIssuerCheck: true})
		p.checkIssuer = microsoftIssuer(tenant)
		p.emailVerified = microsoftEmailVerified
		return p, nil
	}
	if err := checkEndpoint(cfg.Issuer, opts.AllowInsecureLoopback); err != nil {
		return nil, fmt.Errorf("%w: %sISSUER: %v", ErrConfig, env, err)
	}
	if p.label == "" {
		p.label = cfg.Name
	}
	p.issuer = cfg.Issuer
	p.discover = func(ctx context.Context) (*oidc.Provider, error) {
		ctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, client), 10*time.Second)
		defer cancel()
		return oidc.NewProvider(ctx, cfg.Issuer)
	}
	op, err := p.discover(ctx)
	switch {
	case err == nil:
		p.setOIDC(op, &oidc.Config{ClientID: cfg.ClientID})
	case !opts.LazyDiscovery:
		return nil, fmt.Errorf("%w: %sISSUER: discovery of %s failed: %v", ErrConfig, env, cfg.Issuer, err)
	}
	return p, nil
}

// CheckConfig reports what is wrong with cfg without asking the provider:
// a name that cannot be one, a missing client id or secret, a missing
// issuer, a tenant that is not one.
func CheckConfig(cfg Config) error {
	if !nameRE.MatchString(cfg.Name) {
		return fmt.Errorf("%w: OAUTH_PROVIDERS: %q is not a provider name (1 to 32 lower-case letters)", ErrConfig, cfg.Name)
	}
	env := "OAUTH_" + strings.ToUpper(cfg.Name) + "_"
	switch {
	case cfg.ClientID == "":
		return fmt.Errorf("%w: %sCLIENT_ID is not set", ErrConfig, env)
	case cfg.ClientSecret == "":
		return fmt.Errorf("%w: %sCLIENT_SECRET is not set", ErrConfig, env)
	case cfg.Name == "microsoft" && cfg.Tenant != "" && !tenantRE.MatchString(cfg.Tenant):
		return fmt.Errorf("%w: %sTENANT %q is not a tenant", ErrConfig, env, cfg.Tenant)
	case !isPreset(cfg.Name) && cfg.Issuer == "":
		return fmt.Errorf("%w: %sISSUER is not set (only google, microsoft and github need none)", ErrConfig, env)
	}
	return nil
}

func isPreset(name string) bool { return name == "google" || name == "microsoft" || name == "github" }

// DiscoveryPending reports whether the provider's discovery failed at
// start and waits for the first sign-in to be tried again.
func (p *Provider) DiscoveryPending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.github == nil && p.op == nil
}

func (p *Provider) setOIDC(op *oidc.Provider, c *oidc.Config) {
	p.op, p.verifier = op, op.Verifier(c)
	p.oauth.Endpoint = op.Endpoint()
}

// ready returns the OpenID provider, discovering it if that failed at
// start.
func (p *Provider) ready(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.op != nil {
		return p.op, nil
	}
	op, err := p.discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("social: discovery of %s: %w", p.name, err)
	}
	p.setOIDC(op, &oidc.Config{ClientID: p.oauth.ClientID})
	return op, nil
}

// FormOrigins are the origins the browser is sent to when a sign-in
// starts (the authorization endpoint's, and a discovered issuer's while
// discovery is pending), for the form-action of the pages' CSP: a
// browser applies it to the redirect that follows a form.
func (p *Provider) FormOrigins() []string {
	c := p.config()
	var out []string
	for _, raw := range []string{c.Endpoint.AuthURL, p.issuer} {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			o := u.Scheme + "://" + u.Host
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out
}

// Name is Gatehouse's name of the provider.
func (p *Provider) Name() string { return p.name }

// Label is the provider's name on buttons and pages.
func (p *Provider) Label() string { return p.label }

// Strategy is Clerk's strategy name of the provider.
func (p *Provider) Strategy() string { return Strategy(p.name) }

// RedirectURI is the callback to register with the provider.
func (p *Provider) RedirectURI() string { return p.oauth.RedirectURL }

// IsOIDC reports whether the provider signs an ID token (all but GitHub),
// so that the flow needs a nonce.
func (p *Provider) IsOIDC() bool { return p.github == nil }

// AuthCodeURL is where the browser goes to sign in at the provider: the
// authorization request with state, the PKCE challenge (S256) of
// verifier, and for OpenID the nonce.
func (p *Provider) AuthCodeURL(ctx context.Context, state, verifier, nonce string) (string, error) {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if p.IsOIDC() {
		if _, err := p.ready(ctx); err != nil {
			return "", err
		}
		opts = append(opts, oidc.Nonce(nonce))
	}
	c := p.config()
	return c.AuthCodeURL(state, opts...), nil
}

// config returns the OAuth configuration, whose endpoint a late
// discovery sets.
func (p *Provider) config() oauth2.Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.oauth
}

// Identify exchanges the authorization code (with the PKCE verifier) and
// returns the account it signed in. For OpenID providers the ID token is
// verified: signature by the provider's keys, iss, aud, exp, and that its
// nonce is nonce.
func (p *Provider) Identify(ctx context.Context, code, verifier, nonce string) (*Profile, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	if p.github != nil {
		c := p.config()
		tok, err := c.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			return nil, fmt.Errorf("social: %s: exchange: %w", p.name, err)
		}
		return p.github.profile(ctx, tok.AccessToken)
	}
	op, err := p.ready(ctx)
	if err != nil {
		return nil, err
	}
	c := p.config()
	tok, err := c.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("social: %s: exchange: %w", p.name, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, fmt.Errorf("social: %s: no id_token in the token response", p.name)
	}
	p.mu.Lock()
	idv := p.verifier
	p.mu.Unlock()
	idt, err := idv.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("social: %s: id token: %w", p.name, err)
	}
	if idt.Nonce == "" || idt.Nonce != nonce {
		return nil, fmt.Errorf("social: %s: id token: the nonce is not this flow's", p.name)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("social: %s: id token claims: %w", p.name, err)
	}
	if p.checkIssuer != nil {
		if err := p.checkIssuer(idt.Issuer, claims); err != nil {
			return nil, fmt.Errorf("social: %s: id token: %w", p.name, err)
		}
	}
	// Some providers keep the address out of the ID token: ask the
	// userinfo endpoint, whose subject must be the token's.
	if _, has := claims["email"]; !has && op.UserInfoEndpoint() != "" {
		ui, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err == nil && ui.Subject == idt.Subject {
			var more map[string]any
			if ui.Claims(&more) == nil {
				for k, v := range more {
					if _, set := claims[k]; !set {
						claims[k] = v
					}
				}
			}
		}
	}
	prof := &Profile{Subject: idt.Subject, Email: str(claims["email"]), EmailVerified: p.emailVerified(claims),
		FirstName: str(claims["given_name"]), LastName: str(claims["family_name"]),
		Username: str(claims["preferred_username"]), ImageURL: httpsURL(str(claims["picture"]))}
	if prof.Subject == "" {
		return nil, fmt.Errorf("social: %s: id token without a subject", p.name)
	}
	return prof, nil
}

func claimEmailVerified(claims map[string]any) bool {
	switch v := claims["email_verified"].(type) {
	case bool:
		return v
	case string: // some providers send "true"
		return v == "true"
	}
	return false
}

// microsoftEmailVerified: Microsoft's email claim is whatever the tenant
// administrator typed and is not verified (the "nOAuth" takeover), so it
// counts as verified only with the xms_edov ("email domain owner
// verified") optional claim.
func microsoftEmailVerified(claims map[string]any) bool {
	v, ok := claims["xms_edov"].(bool)
	return ok && v
}

// microsoftIssuer checks the issuer of a Microsoft ID token: the
// account's tenant's, and the configured tenant's when it is one.
func microsoftIssuer(tenant string) func(string, map[string]any) error {
	const consumers = "9188040d-6c67-4c5b-b112-36a304b66dad"
	return func(iss string, claims map[string]any) error {
		tid := str(claims["tid"])
		if tid == "" || iss != "https://login.microsoftonline.com/"+tid+"/v2.0" {
			return fmt.Errorf("issuer %q is not the tenant's", iss)
		}
		switch tenant {
		case "common", "organizations":
			if tenant == "organizations" && tid == consumers {
				return errors.New("a personal account, and only work accounts are allowed")
			}
			return nil
		case "consumers":
			if tid != consumers {
				return errors.New("a work account, and only personal accounts are allowed")
			}
			return nil
		}
		if !strings.EqualFold(tid, tenant) {
			return fmt.Errorf("tenant %q is not %q", tid, tenant)
		}
		return nil
	}
}

// checkEndpoint refuses an endpoint that is not https, except http on a
// loopback address when allowed.
func checkEndpoint(raw string, allowLoopback bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		ip := net.ParseIP(host)
		if allowLoopback && (host == "localhost" || (ip != nil && ip.IsLoopback())) {
			return nil
		}
		return fmt.Errorf("%q must use https (http is allowed only on loopback in development)", raw)
	}
	return fmt.Errorf("%q must use https", raw)
}

func str(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

// httpsURL keeps a picture URL only when it is https, so a page never
// loads an image over http or from a javascript: URL.
func httpsURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme == "https" && u.Host != "" && len(s) <= 2048 {
		return s
	}
	return ""
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
