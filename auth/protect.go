package auth

import (
	"net/http"
	"regexp"
	"strings"
)

// PendingTaskURL is where a pending session is sent by [Protect]; it
// forwards to the session's task (setting up a second factor, choosing an
// organization).
const PendingTaskURL = "/sign-in/tasks"

// ProtectOption adds a requirement to [Protect] and [Require].
type ProtectOption func(*protectConfig)

type protectConfig struct {
	has            HasParams
	condition      func(*Auth) bool
	reverification ReverificationRequirement
}

// WithRole requires a role in the active organization ("admin" or
// "org:admin").
func WithRole(role string) ProtectOption { return func(c *protectConfig) { c.has.Role = role } }

// WithPermission requires a permission in the active organization.
func WithPermission(p string) ProtectOption {
	return func(c *protectConfig) { c.has.Permission = p }
}

// WithCondition requires cond to hold for the signed-in user.
func WithCondition(cond func(*Auth) bool) ProtectOption {
	return func(c *protectConfig) { c.condition = cond }
}

// Protect returns middleware that lets a request through only when it is
// signed in with an active (not pending) session that meets every option.
//
// Page requests (Sec-Fetch-Dest: document, or an Accept header starting
// text/html) that are signed out get a 307 to the sign-in page with
// redirect_url set to this URL; pending sessions a 307 to the task page;
// signed-in requests that are not allowed the 403 page. Other requests get
// 401 {"error":"Unauthorized"} or 403 {"error":"Forbidden"}.
func Protect(opts ...ProtectOption) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if Require(w, r, opts...) != nil {
				next.ServeHTTP(w, r)
			}
		})
	}
}

// ProtectIf is [Protect] for the requests match selects (see
// [RouteMatcher]); the others pass untouched.
func ProtectIf(match func(*http.Request) bool, opts ...ProtectOption) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		protected := Protect(opts...)(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if match(r) {
				protected.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Require is the check of [Protect] for use inside a handler: it returns
// the auth state when the request is allowed, and otherwise writes the
// refusal and returns nil.
func Require(w http.ResponseWriter, r *http.Request, opts ...ProtectOption) *Auth {
	var cfg protectConfig
	for _, o := range opts {
		o(&cfg)
	}
	page := IsPageRequest(r)
	a, err := GetAuth(r)
	if err != nil {
		// A wiring mistake (no middleware, no secret key), not the caller's.
		if page {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		} else {
			writeJSONRefusal(w, http.StatusInternalServerError)
		}
		return nil
	}
	st := r.Context().Value(stateKey{}).(*requestState)
	// A redirect after a POST must not make the browser re-send the body
	// to the sign-in page: 307 for GET and HEAD, 303 otherwise.
	redirectStatus := http.StatusTemporaryRedirect
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		redirectStatus = http.StatusSeeOther
	}
	switch {
	case !a.IsAuthenticated:
		if page && st.opts.Redirects != nil {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, st.opts.Redirects.SignInURL(r), redirectStatus)
			return nil
		}
		writeJSONRefusal(w, http.StatusUnauthorized)
		return nil
	case a.SessionStatus == "pending":
		if page {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, PendingTaskURL, redirectStatus)
			return nil
		}
		writeJSONRefusal(w, http.StatusUnauthorized)
		return nil
	}
	if a.Meets(cfg.has, cfg.condition) {
		if cfg.reverification == nil || a.Has(HasParams{Reverification: cfg.reverification}) {
			return a
		}
		w.Header().Set("Cache-Control", "no-store")
		if page {
			http.Redirect(w, r, reverifyURL(r, cfg.reverification), redirectStatus)
			return nil
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write(reverificationBody(cfg.reverification))
		return nil
	}
	if page {
		st.opts.Refusals.page(w, r, http.StatusForbidden)
		return nil
	}
	writeJSONRefusal(w, http.StatusForbidden)
	return nil
}

// IsPageRequest reports whether r asks for a page: Sec-Fetch-Dest is
// document (or iframe), or the Accept header starts with text/html.
func IsPageRequest(r *http.Request) bool {
	if d := r.Header.Get("Sec-Fetch-Dest"); d == "document" || d == "iframe" {
		return true
	}
	return strings.HasPrefix(r.Header.Get("Accept"), "text/html")
}

// RouteMatcher returns a function reporting whether a request's path
// matches any of the patterns, for [ProtectIf].
//
// Patterns use Clerk's syntax (path-to-regexp v6): a pattern must match
// the whole path, case-insensitively, with an optional trailing slash;
// "(.*)" matches any run of characters, including none and including
// slashes. So "/dashboard(.*)" matches "/dashboard", "/Dashboard/",
// "/dashboard/settings" and also "/dashboardx", exactly as in Clerk; write
// "/dashboard", "/dashboard/(.*)" to stop at the segment boundary. Query
// strings are ignored. Any other character matches itself.
func RouteMatcher(patterns ...string) func(*http.Request) bool {
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		res[i] = compileRoute(p)
	}
	return func(r *http.Request) bool {
		for _, re := range res {
			if re.MatchString(r.URL.Path) {
				return true
			}
		}
		return false
	}
}

func compileRoute(p string) *regexp.Regexp {
	parts := strings.Split(strings.TrimSuffix(p, "/"), "(.*)")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("(?i)^" + strings.Join(parts, ".*") + "/?$")
}

// Meets reports whether the signed-in a meets every requirement given:
// the role or permission of has (see [Auth.Has]) when set, and the
// condition when set; with neither it is true. [Require], [Protect] and
// the Protect component decide with it, so a condition never widens a
// role or permission check.
func (a *Auth) Meets(has HasParams, condition func(*Auth) bool) bool {
	if a == nil || !a.IsAuthenticated {
		return false
	}
	if has != (HasParams{}) && !a.Has(has) {
		return false
	}
	return condition == nil || condition(a)
}
