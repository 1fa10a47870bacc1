package auth

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Redirects decides where the user may be sent. Every redirect_url is
// accepted only when it resolves to the application's own origin or an
// authorized party; anything else (another host, "//host", "/\host",
// encoded variants, javascript:, control characters) falls back to the
// default, so a Location header never leaves the site because of input.
type Redirects struct {
	app       *url.URL
	origins   []string
	signInURL string
}

// NewRedirects returns the redirect policy for an app served at appURL,
// also trusting the given origins, and sending signed-out visitors to
// signInURL.
func NewRedirects(appURL string, authorizedParties []string, signInURL string) (*Redirects, error) {
	u, err := url.Parse(appURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &url.Error{Op: "parse", URL: appURL, Err: errBadAppURL}
	}
	origins := []string{origin(u)}
	for _, p := range authorizedParties {
		if pu, err := url.Parse(p); err == nil && pu.Host != "" {
			origins = append(origins, origin(pu))
		}
	}
	return &Redirects{app: u, origins: origins, signInURL: signInURL}, nil
}

type redirectError string

func (e redirectError) Error() string { return string(e) }

const errBadAppURL = redirectError("APP_URL must be an absolute http or https URL")

func origin(u *url.URL) string { return strings.ToLower(u.Scheme + "://" + u.Host) }

// Safe returns raw when it is a safe place to send the user, in the form
// to put in a Location header, and fallback otherwise.
func (rd *Redirects) Safe(raw, fallback string) string {
	if raw == "" || len(raw) > 2048 {
		return fallback
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return fallback
		}
	}
	// Browsers unescape some sequences before acting on a Location; check
	// the decoded form as well, so %5C, %2F%2F and %0D%0A cannot smuggle a
	// host or a header in.
	decoded, err := url.PathUnescape(raw)
	if err != nil {
		return fallback
	}
	for i := 0; i < len(decoded); i++ {
		if c := decoded[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return fallback
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" {
		return fallback
	}
	if u.Scheme == "" && u.Host == "" {
		// Relative: must be a path on this site, not a scheme-relative URL.
		if !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") || strings.HasPrefix(decoded, "//") {
			return fallback
		}
		return raw
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fallback
	}
	if !slices.Contains(rd.origins, origin(u)) {
		return fallback
	}
	if strings.HasPrefix(u.EscapedPath(), "//") || strings.HasPrefix(u.Path, "//") {
		// "https://app//evil.com" is on the site, but its path alone
		// would be a scheme-relative URL to another host.
		return fallback
	}
	if origin(u) == origin(rd.app) {
		// Keep same-site redirects relative.
		return u.RequestURI() + fragment(u)
	}
	return u.String()
}

func fragment(u *url.URL) string {
	if u.Fragment == "" {
		return ""
	}
	return "#" + u.EscapedFragment()
}

// AbsoluteURL returns the absolute URL of the request on the public site.
func (rd *Redirects) AbsoluteURL(r *http.Request) string {
	return strings.TrimSuffix(rd.app.String(), "/") + r.URL.RequestURI()
}

// SignInURL returns where to send a signed-out visitor of r, with r's URL
// as the redirect_url to come back to.
func (rd *Redirects) SignInURL(r *http.Request) string {
	return WithRedirectURL(rd.signInURL, rd.AbsoluteURL(r))
}

// WithRedirectURL adds a redirect_url query parameter to base.
func WithRedirectURL(base, back string) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "redirect_url=" + url.QueryEscape(back)
}
