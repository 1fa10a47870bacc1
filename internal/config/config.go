// Package config reads Gatehouse's settings from the environment. In
// development a .env file fills in variables that are not already set.
package config

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/social"
)

// Config is the instance configuration.
type Config struct {
	SecretKey      string
	PublishableKey string
	EncryptionKey  []byte
	SigningKeyPEM  string
	// JWTKeyPEM is CLERK_JWT_KEY: one or more PEM public keys. When set the
	// process runs verify-only: it verifies session tokens with these keys
	// and never opens the store, refreshes or mints.
	JWTKeyPEM         string
	AuthorizedParties []string
	AppURL            string // without a trailing slash
	AppOrigin         string
	Production        bool
	Port              int
	DatabaseURL       string

	SignInURL, SignUpURL                              string
	SignInFallbackRedirectURL, SignUpFallbackRedirect string
	AfterSignOutURL                                   string

	SessionMaxAge   time.Duration
	SessionTokenTTL time.Duration
	// ImpersonationMaxAge is the absolute lifetime of an actor session
	// (IMPERSONATION_MAX_AGE).
	ImpersonationMaxAge time.Duration
	// ReverificationMaxAge (REVERIFICATION_MAX_AGE, default 10m) is how
	// recently a session must have verified a factor for the sensitive
	// account actions.
	ReverificationMaxAge time.Duration
	// MFARequired (MFA_REQUIRED) keeps the sessions of users without a
	// second factor pending until they set one up.
	MFARequired bool
	// AppName (APP_NAME, default Gatehouse) names the app in
	// authenticator apps.
	AppName string
	// PasskeyRPID (PASSKEY_RP_ID, default APP_URL's host) is the WebAuthn
	// relying party id; PasskeyOrigins (PASSKEY_ORIGINS, default APP_URL's
	// origin) the origins passkeys may be used from.
	PasskeyRPID    string
	PasskeyOrigins []string
	// WebhookAllowPrivate (WEBHOOK_ALLOW_PRIVATE; default true in
	// development only) lets webhook endpoints be http and name loopback
	// or private addresses.
	WebhookAllowPrivate bool
	// OAuthProviders are the providers of OAUTH_PROVIDERS with their
	// OAUTH_<NAME>_… variables, in order.
	OAuthProviders []social.Config

	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []string
	// ListenAddr (LISTEN_ADDR) is the address to listen on; empty means
	// loopback in development and every interface in production.
	ListenAddr string
	// AllowedHosts are the Host header values requests may carry: the
	// host of APP_URL plus ALLOWED_HOSTS (see [Config.HostAllowed]).
	AllowedHosts []string
	// EnvExplicit reports whether APP_ENV was set rather than defaulted.
	EnvExplicit bool
	// SignInRateLimit is the sign-in and sign-up attempts allowed per
	// client IP per minute.
	SignInRateLimit int
	// BackendAPIRateLimit (BACKEND_API_RATE_LIMIT, default 1000) is the
	// Backend API requests allowed per client IP per minute.
	BackendAPIRateLimit int
	// BackendAPIPrefix (BACKEND_API_PREFIX, e.g. /clerk) serves the
	// Backend API under a path prefix as well, as the SDKs keep any path
	// of their configured URL.
	BackendAPIPrefix string

	// SignInDelay (SIGN_IN_DELAY) is the first wait imposed between
	// failed sign-ins of one address after the third; it doubles with
	// each further failure up to a minute. 0 turns the waits off.
	SignInDelay time.Duration
	// SignUpVerification (SIGN_UP_VERIFICATION) is email_code, the
	// default (a sign-up is created once the code mailed to its address
	// is entered), or off (at once, the address unverified).
	SignUpVerification string

	// OrganizationsRequired makes sessions without an active
	// organization pending until the user chooses or creates one.
	OrganizationsRequired bool
	// AdminUserIDs and AdminEmails name the instance administrators, who
	// may impersonate users from the app.
	AdminUserIDs, AdminEmails []string
	// SMTPURL (smtp://user:password@host:587) is where invitation email is
	// sent, from MailFrom. Unset in development: mail goes to the
	// in-process mailbox at /dev/mailbox.
	SMTPURL, MailFrom string
	// LoadTestRoutes mounts the unprotected baselines of `gatehouse
	// loadtest` (GATEHOUSE_LOADTEST_ROUTES=1, which only that command
	// sets). Development only.
	LoadTestRoutes bool
}

// HostAllowed reports whether a request's Host header names this app: one
// of AllowedHosts (a name with its port, as APP_URL writes it, or a bare
// name for any port). In development the loopback names localhost,
// 127.0.0.1 and [::1] on the same port count as one, so a browser may use
// any of them. Refusing other hosts keeps DNS rebinding away from a
// server on a developer's machine.
func (c *Config) HostAllowed(host string) bool {
	host = strings.ToLower(host)
	name, port := splitHostPort(host)
	for _, a := range c.AllowedHosts {
		an, ap := splitHostPort(a)
		if host == a || (ap == "" && name == an) {
			return true
		}
		if !c.Production && isLoopbackName(an) && isLoopbackName(name) && port == ap {
			return true
		}
	}
	return false
}

// splitHostPort splits "name:port" ("[::1]:3000" too); the port is "" when
// there is none.
func splitHostPort(h string) (name, port string) {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		return h[:i], h[i+1:]
	}
	return h, ""
}

func isLoopbackName(name string) bool {
	return name == "localhost" || name == "127.0.0.1" || name == "[::1]"
}

// VerifyOnly reports whether the process only verifies session tokens
// (CLERK_JWT_KEY is set).
func (c *Config) VerifyOnly() bool { return c.JWTKeyPEM != "" }

// Secure reports whether the app is served over https (Secure cookies).
func (c *Config) Secure() bool { return strings.HasPrefix(c.AppURL, "https://") }

// Error is a configuration problem, phrased as the one line to print.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func missing(name, how string) error {
	return &Error{Msg: fmt.Sprintf("config: %s is not set; %s", name, how)}
}

var secretKeyRE = regexp.MustCompile(`^sk_(test|live)_[0-9A-Za-z]{32,}$`)

// Load reads the configuration from getenv.
func Load(getenv func(string) string) (*Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := &Config{EnvExplicit: get("APP_ENV", "") != ""}
	switch env := get("APP_ENV", "development"); env {
	case "development":
	case "production":
		c.Production = true
	default:
		return nil, &Error{Msg: fmt.Sprintf("config: APP_ENV must be development or production, not %q", env)}
	}
	port, err := strconv.Atoi(get("PORT", "3000"))
	if err != nil || port < 1 || port > 65535 {
		return nil, &Error{Msg: "config: PORT must be a port number (1-65535)"}
	}
	c.Port = port

	c.AppURL = strings.TrimSuffix(get("APP_URL", fmt.Sprintf("http://localhost:%d", port)), "/")
	u, err := url.Parse(c.AppURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return nil, &Error{Msg: "config: APP_URL must be an origin such as https://app.example.com (no path)"}
	}
	c.AppOrigin = u.Scheme + "://" + u.Host
	c.AllowedHosts = []string{strings.ToLower(u.Host)}
	for _, h := range strings.Split(get("ALLOWED_HOSTS", ""), ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			c.AllowedHosts = append(c.AllowedHosts, h)
		}
	}
	c.ListenAddr = get("LISTEN_ADDR", "")
	if c.Production && u.Scheme != "https" && get("ALLOW_INSECURE_APP_URL", "") != "true" {
		return nil, &Error{Msg: "config: APP_URL must use https in production (set ALLOW_INSECURE_APP_URL=true to override, e.g. behind a TLS-terminating proxy on a private network)"}
	}

	c.SecretKey = get("CLERK_SECRET_KEY", "")
	if c.SecretKey == "" {
		return nil, missing("CLERK_SECRET_KEY", "run `gatehouse init` (or `make run`) to create .env with fresh keys")
	}
	if !secretKeyRE.MatchString(c.SecretKey) {
		return nil, &Error{Msg: "config: CLERK_SECRET_KEY must be sk_test_ or sk_live_ followed by at least 32 letters and digits; run `gatehouse init` to create one"}
	}
	if c.Production && !strings.HasPrefix(c.SecretKey, "sk_live_") {
		return nil, &Error{Msg: "config: production needs an sk_live_ CLERK_SECRET_KEY; run `gatehouse init --live` to create one"}
	}
	kind := "test"
	if strings.HasPrefix(c.SecretKey, "sk_live_") {
		kind = "live"
	}
	c.PublishableKey = get("CLERK_PUBLISHABLE_KEY", "pk_"+kind+"_"+base64.StdEncoding.EncodeToString([]byte(u.Host+"$")))

	c.SigningKeyPEM = unescapePEM(get("CLERK_SIGNING_KEY", ""))
	c.JWTKeyPEM = unescapePEM(get("CLERK_JWT_KEY", ""))
	if c.JWTKeyPEM != "" {
		if b, _ := pem.Decode([]byte(c.JWTKeyPEM)); b == nil || !strings.HasSuffix(b.Type, "PUBLIC KEY") {
			return nil, &Error{Msg: "config: CLERK_JWT_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----), such as `gatehouse keys list --pem` prints"}
		}
	}
	if c.JWTKeyPEM != "" && c.SigningKeyPEM != "" {
		return nil, &Error{Msg: "config: set CLERK_JWT_KEY (verify-only mode) or CLERK_SIGNING_KEY (an instance that signs), not both"}
	}
	// A verify-only process holds no secret at rest and no client cookie
	// to decrypt, so it needs no encryption key.
	if encKey := get("CLERK_ENCRYPTION_KEY", ""); encKey != "" || !c.VerifyOnly() {
		if encKey == "" {
			return nil, missing("CLERK_ENCRYPTION_KEY", "run `gatehouse init` to create .env with fresh keys")
		}
		c.EncryptionKey, err = base64.StdEncoding.DecodeString(encKey)
		if err != nil || len(c.EncryptionKey) != 32 {
			return nil, &Error{Msg: "config: CLERK_ENCRYPTION_KEY must be 32 random bytes in base64; run `gatehouse init` to create one"}
		}
	}

	c.AuthorizedParties = []string{c.AppOrigin}
	if v := get("CLERK_AUTHORIZED_PARTIES", ""); v != "" {
		c.AuthorizedParties = nil
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSuffix(strings.TrimSpace(p), "/")
			pu, err := url.Parse(p)
			if err != nil || pu.Host == "" || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Path != "" {
				return nil, &Error{Msg: fmt.Sprintf("config: CLERK_AUTHORIZED_PARTIES: %q is not an origin", p)}
			}
			c.AuthorizedParties = append(c.AuthorizedParties, p)
		}
	}

	c.DatabaseURL = get("DATABASE_URL", "sqlite:data/gatehouse.db")
	c.SignInURL = get("CLERK_SIGN_IN_URL", "/sign-in")
	c.SignUpURL = get("CLERK_SIGN_UP_URL", "/sign-up")
	c.SignInFallbackRedirectURL = get("CLERK_SIGN_IN_FALLBACK_REDIRECT_URL", "/dashboard")
	c.SignUpFallbackRedirect = get("CLERK_SIGN_UP_FALLBACK_REDIRECT_URL", "/dashboard")
	c.AfterSignOutURL = get("CLERK_AFTER_SIGN_OUT_URL", "/")

	if c.SessionMaxAge, err = duration(get("SESSION_MAX_AGE", "168h"), time.Minute); err != nil {
		return nil, &Error{Msg: "config: SESSION_MAX_AGE must be a duration of at least 1m, such as 168h"}
	}
	if c.ImpersonationMaxAge, err = duration(get("IMPERSONATION_MAX_AGE", "1h"), time.Minute); err != nil {
		return nil, &Error{Msg: "config: IMPERSONATION_MAX_AGE must be a duration of at least 1m, such as 1h"}
	}
	if c.SessionTokenTTL, err = duration(get("SESSION_TOKEN_TTL", "60s"), time.Second); err != nil || c.SessionTokenTTL > time.Hour {
		return nil, &Error{Msg: "config: SESSION_TOKEN_TTL must be a duration from 1s to 1h, such as 60s"}
	}
	if v := get("TRUSTED_PROXIES", ""); v != "" {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if addr, err := netip.ParseAddr(p); err == nil {
				p = netip.PrefixFrom(addr, addr.BitLen()).String() // one address: a /32 or /128
			} else if _, err := netip.ParsePrefix(p); err != nil {
				return nil, &Error{Msg: fmt.Sprintf("config: TRUSTED_PROXIES: %q is neither an IP nor a CIDR", p)}
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	if c.BackendAPIRateLimit, err = strconv.Atoi(get("BACKEND_API_RATE_LIMIT", "1000")); err != nil || c.BackendAPIRateLimit < 1 {
		return nil, &Error{Msg: "config: BACKEND_API_RATE_LIMIT must be a positive whole number (requests per minute per client IP)"}
	}
	if c.BackendAPIPrefix = strings.TrimSuffix(get("BACKEND_API_PREFIX", ""), "/"); c.BackendAPIPrefix != "" &&
		(!strings.HasPrefix(c.BackendAPIPrefix, "/") || strings.ContainsAny(c.BackendAPIPrefix, "?#*{} ") ||
			path.Clean(c.BackendAPIPrefix) != c.BackendAPIPrefix || c.BackendAPIPrefix == "/v1") {
		return nil, &Error{Msg: "config: BACKEND_API_PREFIX must be a path such as /clerk"}
	}
	if c.SignInRateLimit, err = strconv.Atoi(get("SIGN_IN_RATE_LIMIT", "20")); err != nil || c.SignInRateLimit < 1 {
		return nil, &Error{Msg: "config: SIGN_IN_RATE_LIMIT must be a positive number of attempts per minute"}
	}
	if c.SignInDelay, err = duration(get("SIGN_IN_DELAY", "1s"), 0); err != nil || c.SignInDelay > time.Minute {
		return nil, &Error{Msg: "config: SIGN_IN_DELAY must be a duration from 0s to 1m, such as 1s"}
	}
	switch c.SignUpVerification = get("SIGN_UP_VERIFICATION", "email_code"); c.SignUpVerification {
	case "email_code", "off":
	default:
		return nil, &Error{Msg: fmt.Sprintf("config: SIGN_UP_VERIFICATION must be email_code or off, not %q", c.SignUpVerification)}
	}
	if c.ReverificationMaxAge, err = duration(get("REVERIFICATION_MAX_AGE", "10m"), time.Second); err != nil {
		return nil, &Error{Msg: "config: REVERIFICATION_MAX_AGE must be a duration of at least 1s, such as 10m"}
	}
	switch v := get("MFA_REQUIRED", "false"); v {
	case "true":
		c.MFARequired = true
	case "false":
	default:
		return nil, &Error{Msg: fmt.Sprintf("config: MFA_REQUIRED must be true or false, not %q", v)}
	}
	if c.AppName = strings.TrimSpace(get("APP_NAME", "Gatehouse")); c.AppName == "" || len(c.AppName) > 64 || strings.ContainsAny(c.AppName, ":\n") {
		return nil, &Error{Msg: "config: APP_NAME must be 1 to 64 characters, without a colon"}
	}
	c.PasskeyRPID = strings.ToLower(get("PASSKEY_RP_ID", u.Hostname()))
	if c.PasskeyRPID != strings.ToLower(u.Hostname()) && !strings.HasSuffix(strings.ToLower(u.Hostname()), "."+c.PasskeyRPID) {
		return nil, &Error{Msg: fmt.Sprintf("config: PASSKEY_RP_ID %q must be APP_URL's host or a domain it is under", c.PasskeyRPID)}
	}
	c.PasskeyOrigins = []string{c.AppOrigin}
	if v := get("PASSKEY_ORIGINS", ""); v != "" {
		c.PasskeyOrigins = nil
		for _, o := range list(v) {
			ou, err := url.Parse(o)
			if err != nil || (ou.Scheme != "https" && ou.Scheme != "http") || ou.Host == "" || ou.Path != "" {
				return nil, &Error{Msg: fmt.Sprintf("config: PASSKEY_ORIGINS: %q is not an origin such as https://app.example.com", o)}
			}
			c.PasskeyOrigins = append(c.PasskeyOrigins, strings.ToLower(ou.Scheme+"://"+ou.Host))
		}
	}
	switch v := get("WEBHOOK_ALLOW_PRIVATE", strconv.FormatBool(!c.Production)); v {
	case "true":
		c.WebhookAllowPrivate = true
	case "false":
	default:
		return nil, &Error{Msg: fmt.Sprintf("config: WEBHOOK_ALLOW_PRIVATE must be true or false, not %q", v)}
	}
	if c.OAuthProviders, err = oauthProviders(get); err != nil {
		return nil, err
	}
	switch v := get("CLERK_ORGANIZATIONS_REQUIRED", "false"); v {
	case "true":
		c.OrganizationsRequired = true
	case "false":
	default:
		return nil, &Error{Msg: fmt.Sprintf("config: CLERK_ORGANIZATIONS_REQUIRED must be true or false, not %q", v)}
	}
	for _, id := range list(get("ADMIN_USER_IDS", "")) {
		if !strings.HasPrefix(id, "user_") {
			return nil, &Error{Msg: fmt.Sprintf("config: ADMIN_USER_IDS: %q is not a user id (user_…)", id)}
		}
		c.AdminUserIDs = append(c.AdminUserIDs, id)
	}
	for _, e := range list(get("ADMIN_EMAILS", "")) {
		if !strings.Contains(e, "@") {
			return nil, &Error{Msg: fmt.Sprintf("config: ADMIN_EMAILS: %q is not an email address", e)}
		}
		c.AdminEmails = append(c.AdminEmails, strings.ToLower(e))
	}
	c.SMTPURL = get("SMTP_URL", "")
	c.MailFrom = get("MAIL_FROM", "Gatehouse <no-reply@"+hostOf(c.AppURL)+">")
	switch get("GATEHOUSE_LOADTEST_ROUTES", "") {
	case "":
	case "1":
		if c.Production {
			return nil, &Error{Msg: "config: GATEHOUSE_LOADTEST_ROUTES is for `gatehouse loadtest` in development; unset it in production"}
		}
		c.LoadTestRoutes = true
	default:
		return nil, &Error{Msg: "config: GATEHOUSE_LOADTEST_ROUTES must be 1 or unset"}
	}
	return c, nil
}

// list splits a comma-separated value, dropping blanks.
func list(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func duration(s string, min time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < min {
		return 0, errors.New("too short")
	}
	return d, nil
}

// unescapePEM lets a PEM be given on one line with \n escapes, as .env
// files and container settings often need.
func unescapePEM(s string) string { return strings.ReplaceAll(s, `\n`, "\n") }

// LoadDotEnv sets the variables of a .env file that are not already set in
// the environment. A missing file is not an error.
func LoadDotEnv(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			return fmt.Errorf("config: %s:%d: expected KEY=value", path, n)
		}
		key = strings.TrimSpace(key)
		val = strings.TrimSpace(val)
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
			val = val[1 : len(val)-1]
		}
		if _, set := os.LookupEnv(key); !set {
			os.Setenv(key, val)
		}
	}
	return sc.Err()
}

// NewSecretKey returns a fresh secret key: sk_test_ (or sk_live_) and 48
// random base62 characters.
func NewSecretKey(live bool) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 48)
	for i := range b {
		var x [1]byte
		for {
			rand.Read(x[:])
			if x[0] < 248 { // 248 = 4*62: no modulo bias
				break
			}
		}
		b[i] = alphabet[int(x[0])%62]
	}
	if live {
		return "sk_live_" + string(b)
	}
	return "sk_test_" + string(b)
}

// NewEncryptionKey returns 32 random bytes in base64.
func NewEncryptionKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// WriteDotEnv adds fresh secrets to the .env file at path for each of
// CLERK_SECRET_KEY and CLERK_ENCRYPTION_KEY it does not define yet,
// creating the file (mode 0600) if needed. It reports the names it added.
func WriteDotEnv(path string, live bool) ([]string, error) {
	existing := map[string]bool{}
	sep := ""
	if data, err := os.ReadFile(path); err == nil {
		if len(data) > 0 && data[len(data)-1] != '\n' {
			sep = "\n" // never glue our first line onto the file's last one
		}
		for _, line := range strings.Split(string(data), "\n") {
			if k, _, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "export "), "="); ok {
				existing[strings.TrimSpace(k)] = true
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("config: %w", err)
	}
	var lines, added []string
	if !existing["CLERK_SECRET_KEY"] {
		lines = append(lines, "CLERK_SECRET_KEY="+NewSecretKey(live))
		added = append(added, "CLERK_SECRET_KEY")
	}
	if !existing["CLERK_ENCRYPTION_KEY"] {
		lines = append(lines, "CLERK_ENCRYPTION_KEY="+NewEncryptionKey())
		added = append(added, "CLERK_ENCRYPTION_KEY")
	}
	if len(lines) == 0 {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	header := ""
	if len(existing) == 0 {
		header = "# Gatehouse secrets, generated by `gatehouse init`. Keep this file out of version control.\n"
	}
	if _, err := f.WriteString(sep + header + strings.Join(lines, "\n") + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("config: %w", err)
	}
	return added, f.Close()
}

// hostOf returns the host name of a URL, or "localhost".
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

// oauthProviders reads OAUTH_PROVIDERS and each provider's variables;
// what only a request to the provider can tell (discovery) is checked
// when the app starts.
func oauthProviders(get func(name, def string) string) ([]social.Config, error) {
	var out []social.Config
	seen := map[string]bool{}
	for _, name := range list(get("OAUTH_PROVIDERS", "")) {
		name = strings.ToLower(name)
		if seen[name] {
			return nil, &Error{Msg: fmt.Sprintf("config: OAUTH_PROVIDERS names %q twice", name)}
		}
		seen[name] = true
		env := "OAUTH_" + strings.ToUpper(name) + "_"
		pc := social.Config{Name: name, ClientID: get(env+"CLIENT_ID", ""), ClientSecret: get(env+"CLIENT_SECRET", ""),
			Issuer: get(env+"ISSUER", ""), Label: get(env+"LABEL", ""), Tenant: get(env+"TENANT", ""),
			GitHubURL: get(env+"URL", ""), GitHubAPIURL: get(env+"API_URL", "")}
		if sc := get(env+"SCOPES", ""); sc != "" {
			pc.Scopes = strings.FieldsFunc(sc, func(r rune) bool { return r == ' ' || r == ',' })
		}
		if err := social.CheckConfig(pc); err != nil {
			return nil, &Error{Msg: "config: " + err.Error()}
		}
		out = append(out, pc)
	}
	return out, nil
}
