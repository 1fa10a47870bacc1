package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// sessionAuth is a signed-in session with the fva claim fva.
func sessionAuth(fva []int) *auth.Auth {
	return &auth.Auth{
		TokenType: auth.SessionToken, IsAuthenticated: true, UserID: "user_1", SessionID: "sess_1",
		SessionStatus: "active", FactorVerificationAge: fva,
	}
}

// orgAuth is sessionAuth in org_1 with role and permissions.
func orgAuth(fva []int, role string, perms ...string) *auth.Auth {
	a := sessionAuth(fva)
	a.OrgID, a.OrgSlug, a.OrgRole, a.OrgPermissions = "org_1", "acme", role, perms
	if a.OrgPermissions == nil {
		a.OrgPermissions = []string{}
	}
	return a
}

func TestHasReverification(t *testing.T) {
	custom := func(level string, minutes int) auth.CustomReverification {
		return auth.CustomReverification{Level: level, AfterMinutes: minutes}
	}
	rev := func(r auth.ReverificationRequirement) auth.HasParams { return auth.HasParams{Reverification: r} }
	// A role that holds beside the reverification shows that a failing
	// reverification part denies on its own.
	withAdmin := func(r auth.ReverificationRequirement) auth.HasParams {
		return auth.HasParams{Role: "admin", Reverification: r}
	}
	admin := func(fva []int) *auth.Auth { return orgAuth(fva, "org:admin", "org:team:manage") }
	member := func(fva []int) *auth.Auth { return orgAuth(fva, "org:member", "org:team:read") }

	type tc struct {
		name string
		a    *auth.Auth
		p    auth.HasParams
		want bool
	}
	cases := []tc{
		// strict: 10 minutes, second factor (first without one).
		{"strict 9 min, no 2FA", sessionAuth([]int{9, -1}), rev(auth.Strict), true},
		{"strict 10 min, no 2FA", sessionAuth([]int{10, -1}), rev(auth.Strict), false},
		{"strict 0 min, no 2FA", sessionAuth([]int{0, -1}), rev(auth.Strict), true},
		{"strict 2FA 9 min, first stale", sessionAuth([]int{500, 9}), rev(auth.Strict), true},
		{"strict 2FA 10 min, first fresh", sessionAuth([]int{0, 10}), rev(auth.Strict), false},
		// moderate: 60 minutes.
		{"moderate 59 min, no 2FA", sessionAuth([]int{59, -1}), rev(auth.Moderate), true},
		{"moderate 60 min, no 2FA", sessionAuth([]int{60, -1}), rev(auth.Moderate), false},
		{"moderate 2FA 59 min", sessionAuth([]int{0, 59}), rev(auth.Moderate), true},
		{"moderate 2FA 60 min", sessionAuth([]int{0, 60}), rev(auth.Moderate), false},
		// lax: 1440 minutes.
		{"lax 1439 min, no 2FA", sessionAuth([]int{1439, -1}), rev(auth.Lax), true},
		{"lax 1440 min, no 2FA", sessionAuth([]int{1440, -1}), rev(auth.Lax), false},
		{"lax 2FA 1439 min, first older", sessionAuth([]int{2000, 1439}), rev(auth.Lax), true},
		{"lax 2FA 1440 min, first fresh", sessionAuth([]int{0, 1440}), rev(auth.Lax), false},
		// strict_mfa: 10 minutes, both factors (first without a second).
		{"strict_mfa 9 min, no 2FA", sessionAuth([]int{9, -1}), rev(auth.StrictMFA), true},
		{"strict_mfa 10 min, no 2FA", sessionAuth([]int{10, -1}), rev(auth.StrictMFA), false},
		{"strict_mfa both 9 min", sessionAuth([]int{9, 9}), rev(auth.StrictMFA), true},
		{"strict_mfa second 10 min", sessionAuth([]int{9, 10}), rev(auth.StrictMFA), false},
		{"strict_mfa first 10 min", sessionAuth([]int{10, 9}), rev(auth.StrictMFA), false},
		// custom levels
		{"custom first_factor 5: 4 min", sessionAuth([]int{4, 100}), rev(custom(token.FirstFactor, 5)), true},
		{"custom first_factor 5: 5 min, second fresh", sessionAuth([]int{5, 0}), rev(custom(token.FirstFactor, 5)), false},
		{"custom second_factor 5: 4 min", sessionAuth([]int{100, 4}), rev(custom(token.SecondFactor, 5)), true},
		{"custom second_factor 5: no 2FA, first 4 min", sessionAuth([]int{4, -1}), rev(custom(token.SecondFactor, 5)), true},
		{"custom second_factor 5: 5 min", sessionAuth([]int{0, 5}), rev(custom(token.SecondFactor, 5)), false},
		{"custom multi_factor 5: both 4 min", sessionAuth([]int{4, 4}), rev(custom(token.MultiFactor, 5)), true},
		{"custom multi_factor 5: second 5 min", sessionAuth([]int{4, 5}), rev(custom(token.MultiFactor, 5)), false},
		{"custom multi_factor 5: no 2FA, first 5 min", sessionAuth([]int{5, -1}), rev(custom(token.MultiFactor, 5)), false},
		{"custom multi_factor 5: no 2FA, first 4 min", sessionAuth([]int{4, -1}), rev(custom(token.MultiFactor, 5)), true},

		// An invalid or unanswerable reverification fails, alone and beside
		// a role that holds: every asked part must pass (@clerk/shared).
		{"invalid level alone", sessionAuth([]int{0, 0}), rev(custom("third_factor", 5)), false},
		{"invalid level beside role", admin([]int{0, 0}), withAdmin(custom("third_factor", 5)), false},
		{"AfterMinutes 0 alone", sessionAuth([]int{0, 0}), rev(custom(token.FirstFactor, 0)), false},
		{"AfterMinutes 0 beside role", admin([]int{0, 0}), withAdmin(custom(token.FirstFactor, 0)), false},
		{"AfterMinutes negative beside role", admin([]int{0, 0}), withAdmin(custom(token.SecondFactor, -1)), false},
		{"unknown preset beside role", admin([]int{0, 0}), withAdmin(auth.ReverificationPreset("strictest")), false},
		{"fva nil alone", sessionAuth(nil), rev(auth.Strict), false},
		{"fva nil beside role", admin(nil), withAdmin(auth.Strict), false},
		{"fva nil beside false role", admin(nil), auth.HasParams{Role: "member", Reverification: auth.Strict}, false},
		{"fva malformed beside role", admin([]int{0, 0, 0}), withAdmin(auth.Strict), false},
		{"first factor never verified beside role", admin([]int{-1, -1}), withAdmin(auth.Strict), false},
		{"valid role alone still passes", admin(nil), auth.HasParams{Role: "admin"}, true},
		// known reverification beside a known role: both must hold.
		{"stale beside true role", admin([]int{10, -1}), withAdmin(auth.Strict), false},
		{"fresh beside true role", admin([]int{9, -1}), withAdmin(auth.Strict), true},
		{"fresh beside false role", member([]int{0, -1}), withAdmin(auth.Strict), false},

		// with permissions
		{"member holds permission, fresh", member([]int{0, -1}), auth.HasParams{Permission: "org:team:read", Reverification: auth.Strict}, true},
		{"member holds permission, stale", member([]int{10, -1}), auth.HasParams{Permission: "org:team:read", Reverification: auth.Strict}, false},
		{"member lacks permission, fresh", member([]int{0, -1}), auth.HasParams{Permission: "org:team:manage", Reverification: auth.Strict}, false},
		{"member lacks permission, stale", member([]int{10, -1}), auth.HasParams{Permission: "org:team:manage", Reverification: auth.Strict}, false},
		{"member holds permission, 2FA stale, first fresh", member([]int{0, 10}), auth.HasParams{Permission: "org:team:read", Reverification: auth.Strict}, false},

		// No active organization: an asked role or permission fails, even
		// beside a fresh reverification.
		{"no org: permission, fresh", sessionAuth([]int{0, -1}), auth.HasParams{Permission: "org:team:read", Reverification: auth.Strict}, false},
		{"no org: role, fresh", sessionAuth([]int{0, -1}), auth.HasParams{Role: "admin", Reverification: auth.Strict}, false},
		{"no org: permission, stale", sessionAuth([]int{10, -1}), auth.HasParams{Permission: "org:team:read", Reverification: auth.Strict}, false},
		{"no org: permission alone", sessionAuth([]int{0, -1}), auth.HasParams{Permission: "org:team:read"}, false},
		{"no org: permission, fva nil", sessionAuth(nil), auth.HasParams{Permission: "org:team:read", Reverification: auth.Strict}, false},
	}

	// Signed out and machine tokens: always false, even with a fresh fva.
	var nilAuth *auth.Auth
	signedOut := sessionAuth([]int{0, 0})
	signedOut.IsAuthenticated = false
	noUser := sessionAuth([]int{0, 0})
	noUser.UserID = ""
	cases = append(cases,
		tc{"nil auth", nilAuth, rev(auth.Lax), false},
		tc{"signed out", signedOut, rev(auth.Lax), false},
		tc{"no user id", noUser, rev(auth.Lax), false},
	)
	for _, tt := range []auth.TokenType{auth.M2MToken, auth.OAuthToken, auth.APIKey} {
		m := orgAuth([]int{0, 0}, "org:admin", "org:team:manage")
		m.TokenType = tt
		cases = append(cases,
			tc{string(tt) + " reverification", m, rev(auth.Lax), false},
			tc{string(tt) + " permission and reverification", m, auth.HasParams{Permission: "org:team:manage", Reverification: auth.Lax}, false},
		)
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.a.Has(c.p); got != c.want {
				t.Errorf("Has(%+v) with fva %v: got %v, want %v", c.p, fvaOf(c.a), got, c.want)
			}
		})
	}
}

func fvaOf(a *auth.Auth) []int {
	if a == nil {
		return nil
	}
	return a.FactorVerificationAge
}

// reverificationError is Clerk's 403 body for req's metadata.
func reverificationError(meta any) map[string]any {
	return map[string]any{"clerk_error": map[string]any{
		"type": "forbidden", "reason": "reverification-error",
		"metadata": map[string]any{"reverification": meta},
	}}
}

func TestRequireWithReverification(t *testing.T) {
	s := newStack(t)
	sess := s.signIn(t, "reverify@example.com")
	fvaTok := func(fva []int) string {
		return s.signClaims(t, sess, func(c *token.Claims) { c.FVA = fva })
	}
	fresh := withCookie(identity.SessionCookie, fvaTok([]int{0, -1}))
	stale := withCookie(identity.SessionCookie, fvaTok([]int{10, -1}))
	noFVA := withCookie(identity.SessionCookie, fvaTok(nil))
	staleOrg := withCookie(identity.SessionCookie, s.signClaims(t, sess, func(c *token.Claims) {
		c.FVA = []int{10, -1}
		c.Org = &token.OrgClaim{ID: "org_1", Slug: "acme", Role: "admin", Permissions: "manage,read", FeatureMask: "3"}
		c.Features = "o:team"
	}))
	html := withHeader("Accept", "text/html,application/xhtml+xml")
	doc := withHeader("Sec-Fetch-Dest", "document")
	api := withHeader("Accept", "application/json")
	strict := auth.WithReverification(auth.Strict)
	customReq := auth.CustomReverification{Level: token.FirstFactor, AfterMinutes: 5}
	reverifyAt := func(level, uri string) string {
		return auth.ReverifyURL + "?level=" + url.QueryEscape(level) + "&redirect_url=" + url.QueryEscape(uri)
	}
	post := func(target string, opts ...reqOpt) *http.Request {
		r := httptest.NewRequest(http.MethodPost, target, nil)
		for _, o := range opts {
			o(r)
		}
		return r
	}

	for _, tc := range []struct {
		name         string
		req          *http.Request
		opts         []auth.ProtectOption
		wantStatus   int
		wantLocation string
		wantBody     map[string]any // decoded JSON body when set
	}{
		{"fresh API", newReq("/api/secret", fresh, api), []auth.ProtectOption{strict}, http.StatusOK, "", nil},
		{"fresh page", newReq("/settings", fresh, html), []auth.ProtectOption{strict}, http.StatusOK, "", nil},
		{"stale, no reverification asked", newReq("/api/secret", stale, api), nil, http.StatusOK, "", nil},
		{"stale API", newReq("/api/secret", stale, api), []auth.ProtectOption{strict}, http.StatusForbidden, "", reverificationError("strict")},
		{"stale, no Accept", newReq("/api/secret", stale), []auth.ProtectOption{strict}, http.StatusForbidden, "", reverificationError("strict")},
		{"no fva API", newReq("/api/secret", noFVA, api), []auth.ProtectOption{strict}, http.StatusForbidden, "", reverificationError("strict")},
		{"stale page", newReq("/settings/security?tab=2&x=a%2Fb", stale, html), []auth.ProtectOption{strict},
			http.StatusTemporaryRedirect, reverifyAt("strict", "/settings/security?tab=2&x=a%2Fb"), nil},
		{"stale page (Sec-Fetch-Dest)", newReq("/settings", stale, doc), []auth.ProtectOption{strict},
			http.StatusTemporaryRedirect, reverifyAt("strict", "/settings"), nil},
		{"stale page POST", post("/settings", stale, html), []auth.ProtectOption{strict},
			http.StatusSeeOther, reverifyAt("strict", "/settings"), nil},
		{"strict_mfa stale page", newReq("/settings", stale, html), []auth.ProtectOption{auth.WithReverification(auth.StrictMFA)},
			http.StatusTemporaryRedirect, reverifyAt("strict_mfa", "/settings"), nil},
		{"strict_mfa stale API", newReq("/api/secret", stale, api), []auth.ProtectOption{auth.WithReverification(auth.StrictMFA)},
			http.StatusForbidden, "", reverificationError("strict_mfa")},
		{"lax with 10 min", newReq("/api/secret", stale, api), []auth.ProtectOption{auth.WithReverification(auth.Lax)}, http.StatusOK, "", nil},
		{"custom stale API", newReq("/api/secret", stale, api), []auth.ProtectOption{auth.WithReverification(customReq)},
			http.StatusForbidden, "", reverificationError(map[string]any{"level": "first_factor", "afterMinutes": float64(5)})},
		{"custom stale page", newReq("/settings", stale, html), []auth.ProtectOption{auth.WithReverification(customReq)},
			http.StatusTemporaryRedirect, reverifyAt("strict", "/settings"), nil},
		{"custom fresh", newReq("/api/secret", fresh, api), []auth.ProtectOption{auth.WithReverification(customReq)}, http.StatusOK, "", nil},
		// The role is checked first: missing it is a plain 403.
		{"no org, role required, fresh", newReq("/api/secret", fresh, api), []auth.ProtectOption{auth.WithRole("admin"), strict},
			http.StatusForbidden, "", map[string]any{"error": "Forbidden"}},
		{"org admin, role held, stale", newReq("/api/secret", staleOrg, api), []auth.ProtectOption{auth.WithRole("admin"), strict},
			http.StatusForbidden, "", reverificationError("strict")},
		{"org admin, permission missing, stale", newReq("/api/secret", staleOrg, api), []auth.ProtectOption{auth.WithPermission("org:billing:read"), strict},
			http.StatusForbidden, "", map[string]any{"error": "Forbidden"}},
		{"signed out", newReq("/api/secret", api), []auth.ProtectOption{strict}, http.StatusUnauthorized, "", map[string]any{"error": "Unauthorized"}},
	} {
		for _, mode := range []string{"Protect", "Require"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				called := false
				next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					called = true
					w.WriteHeader(http.StatusOK)
				})
				var h http.Handler
				if mode == "Protect" {
					h = auth.Protect(tc.opts...)(next)
				} else {
					h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if a := auth.Require(w, r, tc.opts...); a != nil {
							next.ServeHTTP(w, r)
						}
					})
				}
				rec := serve(s.opts, tc.req, h.ServeHTTP)
				if rec.Code != tc.wantStatus {
					t.Fatalf("status: got %d, want %d (body %q)", rec.Code, tc.wantStatus, rec.Body.String())
				}
				if wantNext := tc.wantStatus == http.StatusOK; called != wantNext {
					t.Errorf("next called: got %v, want %v", called, wantNext)
				}
				if got := rec.Header().Get("Location"); got != tc.wantLocation {
					t.Errorf("Location: got %q, want %q", got, tc.wantLocation)
				}
				if tc.wantBody != nil {
					var got map[string]any
					if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
						t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
					}
					if !reflect.DeepEqual(got, tc.wantBody) {
						t.Errorf("body: got %v, want %v", got, tc.wantBody)
					}
					if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Errorf("Content-Type: got %q, want application/json", ct)
					}
				}
				if tc.wantStatus == http.StatusForbidden && tc.wantBody != nil && tc.wantBody["clerk_error"] != nil {
					if got := rec.Header().Get("Cache-Control"); got != "no-store" {
						t.Errorf("Cache-Control: got %q, want no-store", got)
					}
				}
				if tc.wantLocation != "" {
					if got := rec.Header().Get("Cache-Control"); got != "no-store" {
						t.Errorf("Cache-Control: got %q, want no-store", got)
					}
				}
			})
		}
	}

	t.Run("exact body", func(t *testing.T) {
		rec := serve(s.opts, newReq("/api/secret", stale, api), auth.Protect(strict)(http.NotFoundHandler()).ServeHTTP)
		var got, want any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
		}
		json.Unmarshal([]byte(`{"clerk_error":{"type":"forbidden","reason":"reverification-error","metadata":{"reverification":"strict"}}}`), &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("body: got %s, want Clerk's reverification error", rec.Body.String())
		}
	})

	t.Run("redirect_url round-trips", func(t *testing.T) {
		const uri = "/billing/cards?id=card_1&next=%2Fhome"
		rec := serve(s.opts, newReq(uri, stale, html), auth.Protect(strict)(http.NotFoundHandler()).ServeHTTP)
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil {
			t.Fatalf("Location %q does not parse: %v", rec.Header().Get("Location"), err)
		}
		if loc.Path != auth.ReverifyURL || loc.Host != "" {
			t.Errorf("Location path: got %q (host %q), want %s on this site", loc.Path, loc.Host, auth.ReverifyURL)
		}
		if got := loc.Query().Get("redirect_url"); got != uri {
			t.Errorf("redirect_url: got %q, want %q", got, uri)
		}
		if got := loc.Query().Get("level"); got != "strict" {
			t.Errorf("level: got %q, want strict", got)
		}
	})
}
