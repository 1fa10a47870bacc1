package pages

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/components"
)

// The pages of second factors: the sign-in's second step, the reverify
// page that makes a session fresh enough for a sensitive action, and
// setting up an authenticator app (from the profile, or as the task of a
// pending session when MFA_REQUIRED). Each is a plain form, like every
// form of the site.
const (
	factorTwoPath = "/sign-in/factor-two"
	twoStepPath   = "/profile/two-step"
	// strategyPassword is the first factor, as a reverify strategy.
	strategyPassword = "password"
	// backupCodeCount is how many backup codes a set has.
	backupCodeCount = 10
)

// factorTwoURL is the second step of a sign-in whose password was right,
// keeping where the person was going when it is safe.
func (f *AuthForms) factorTwoURL(redirectURL string) string {
	if next := f.site.Redirects.Safe(redirectURL, ""); next != "" {
		return auth.WithRedirectURL(factorTwoPath, next)
	}
	return factorTwoPath
}

// factorStrategy returns the strategy the form shows: asked, when the
// sign-in or session has it, otherwise the first one.
func factorStrategy(asked string, strategies []string) string {
	if slices.Contains(strategies, asked) {
		return asked
	}
	if len(strategies) == 0 {
		return auth.StrategyTOTP
	}
	return strategies[0]
}

// strategyLabels are the links to switch a factor form to a strategy.
var strategyLabels = map[string]string{
	auth.StrategyTOTP:       "Use your authenticator app instead",
	auth.StrategyBackupCode: "Use a backup code instead",
	strategyPassword:        "Use your password instead",
}

// factorOptions are the links to the strategies other than shown, each
// the page at path with ?strategy= and the query q kept.
func factorOptions(path string, q url.Values, shown string, strategies []string) []components.FactorOption {
	var out []components.FactorOption
	for _, s := range strategies {
		if s == shown {
			continue
		}
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("strategy", s)
		out = append(out, components.FactorOption{Label: strategyLabels[s], URL: path + "?" + v.Encode()})
	}
	return out
}

var factorLeads = map[string]string{
	auth.StrategyTOTP:       "Enter the code from your authenticator app to finish signing in.",
	auth.StrategyBackupCode: "Enter one of your backup codes to finish signing in.",
}

// FactorTwoPage serves GET /sign-in/factor-two: the second step of this
// browser's sign-in. Without one (none, expired, or used) the browser
// goes back to the sign-in page.
func (f *AuthForms) FactorTwoPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		strategies, err := auth.PendingSecondFactor(r)
		if err != nil {
			if lapsed(err) {
				if f.redirectIfSignedIn(w, r, f.site.SignInFallback) {
					return
				}
				http.Redirect(w, r, f.signInAgainURL(q.Get("redirect_url")), http.StatusSeeOther)
				return
			}
			f.site.serverError(w, r, "second factor", err)
			return
		}
		f.renderFactorTwo(w, r, http.StatusOK, strategies, components.FactorFormProps{
			Strategy: q.Get("strategy"), RedirectURL: q.Get("redirect_url"),
		})
	})
}

// signInAgainURL is the sign-in page for a sign-in that lapsed.
func (f *AuthForms) signInAgainURL(redirectURL string) string {
	if next := f.site.Redirects.Safe(redirectURL, ""); next != "" {
		return auth.WithRedirectURL(f.site.Env.SignInURL, next)
	}
	return f.site.Env.SignInURL
}

func (f *AuthForms) renderFactorTwo(w http.ResponseWriter, r *http.Request, status int, strategies []string, p components.FactorFormProps) {
	p.RedirectURL = f.site.Redirects.Safe(p.RedirectURL, "")
	p.Strategy = factorStrategy(p.Strategy, strategies)
	p.Title, p.Lead, p.Submit = "Two-step verification", factorLeads[p.Strategy], "Continue"
	p.Action = factorTwoPath
	q := url.Values{}
	if p.RedirectURL != "" {
		q.Set("redirect_url", p.RedirectURL)
	}
	p.Options = factorOptions(factorTwoPath, q, p.Strategy, strategies)
	p.BackURL, p.BackLabel = f.signInAgainURL(p.RedirectURL), "Sign in as someone else"
	f.site.Render(w, r, status, "Two-step verification", components.FactorForm(p))
}

// FactorTwo serves POST /sign-in/factor-two: a right code signs this
// browser in (303 to where it was going); a wrong one shows the form
// again; a sign-in that lapsed, or belongs to another browser, says so.
func (f *AuthForms) FactorTwo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(f.site, w, r, err)
			return
		}
		strategy := form["strategy"]
		if strategy == "" {
			strategy = auth.StrategyTOTP
		}
		err = auth.AttemptSecondFactor(w, r, strategy, form["code"])
		if err == nil {
			http.Redirect(w, r, f.site.Redirects.Safe(form["redirect_url"], f.site.SignInFallback), http.StatusSeeOther)
			return
		}
		if lapsed(err) {
			f.factorLapsed(w, r, form["redirect_url"])
			return
		}
		status, fields, msg, ok := refusal(w, err)
		if !ok {
			f.site.serverError(w, r, "second factor", err)
			return
		}
		strategies, serr := auth.PendingSecondFactor(r)
		if serr != nil {
			// Locked out meanwhile, or the attempt expired: nothing to retry.
			if lapsed(serr) && status != http.StatusForbidden {
				f.factorLapsed(w, r, form["redirect_url"])
				return
			}
			strategies = []string{auth.StrategyTOTP}
		}
		fields, msg = onCodeForm(fields, msg)
		f.renderFactorTwo(w, r, status, strategies, components.FactorFormProps{
			Strategy: strategy, RedirectURL: form["redirect_url"], Fields: fields, Error: msg,
		})
	})
}

// factorLapsed answers a code posted without a sign-in waiting for it in
// this browser (410: the attempt is gone).
func (f *AuthForms) factorLapsed(w http.ResponseWriter, r *http.Request, redirectURL string) {
	f.site.Render(w, r, http.StatusGone, "Sign-in lapsed", components.FactorLapsed(f.signInAgainURL(redirectURL)))
}

// Reverification serves the reverify page, where a session confirms it
// is its user again before a sensitive action (changing the password,
// creating an API key, turning two-step verification on or off).
type Reverification struct {
	site *Site
}

// NewReverification returns the reverify page handlers.
func NewReverification(site *Site) *Reverification { return &Reverification{site: site} }

// reverifyStrategies are the strategies the page offers acct: for a user
// with an authenticator app its codes (Clerk's strict level asks for the
// second factor, so a first factor alone would not do), the first factors
// (the password, the connected providers) also for strict_mfa (both
// factors); the first factors for a user without one.
func reverifyStrategies(acct *auth.Account, level string) []string {
	all := acct.ReverifyStrategies()
	if !slices.Contains(all, auth.StrategyTOTP) || level == string(auth.StrictMFA) {
		return all
	}
	return slices.DeleteFunc(slices.Clone(all), firstFactor)
}

// firstFactor reports whether strategy verifies the first factor: the
// password, or a connected provider (oauth_google, oauth_custom_acme, …).
func firstFactor(strategy string) bool {
	return strategy == strategyPassword || strings.HasPrefix(strategy, oauthStrategyPrefix)
}

// splitStrategies separates strategies into those answered on the page's
// form (the password and codes) and the buttons of the connected
// providers among them that are configured.
func splitStrategies(r *http.Request, strategies []string) (forms []string, providers []components.ProviderButton) {
	var byStrategy map[string]auth.OAuthProvider
	for _, s := range strategies {
		if !strings.HasPrefix(s, oauthStrategyPrefix) {
			forms = append(forms, s)
			continue
		}
		if byStrategy == nil {
			byStrategy = map[string]auth.OAuthProvider{}
			for _, p := range auth.OAuthProviders(r) {
				byStrategy[p.Strategy] = p
			}
		}
		if p, ok := byStrategy[s]; ok {
			providers = append(providers, components.ProviderButton{Name: p.Name, Label: p.Label})
		}
	}
	return forms, providers
}

// reverifyLevels are the levels the page knows (others count as strict).
var reverifyLevels = map[string]auth.ReverificationPreset{
	string(auth.StrictMFA): auth.StrictMFA, string(auth.Strict): auth.Strict,
	string(auth.Moderate): auth.Moderate, string(auth.Lax): auth.Lax,
}

// open opens the signed-in account, or answers the request (sign-in for
// a visitor without a session) and returns nil.
func (rv *Reverification) open(w http.ResponseWriter, r *http.Request, back string) (*auth.Account, *auth.Auth) {
	a, err := auth.GetAuth(r)
	if err != nil {
		rv.site.serverError(w, r, "reverify", err)
		return nil, nil
	}
	signIn := auth.WithRedirectURL(rv.site.Env.SignInURL, back)
	if !a.IsAuthenticated {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, signIn, http.StatusSeeOther)
		return nil, nil
	}
	acct, _, err := auth.OpenAccount(w, r)
	if errors.Is(err, auth.ErrSessionEnded) {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, signIn, http.StatusSeeOther)
		return nil, nil
	}
	if err != nil {
		rv.site.serverError(w, r, "reverify", err)
		return nil, nil
	}
	return acct, a
}

// Page serves GET /reverify?level=…&redirect_url=…. A session already
// fresh enough goes straight on.
func (rv *Reverification) Page() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		next := rv.site.Redirects.Safe(q.Get("redirect_url"), "/profile")
		acct, a := rv.open(w, r, rv.site.Redirects.AbsoluteURL(r))
		if acct == nil {
			return
		}
		level := q.Get("level")
		if acct.Reverified() && rv.tokenMeets(a, level) {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		rv.render(w, r, http.StatusOK, acct, components.FactorFormProps{Strategy: q.Get("strategy"), RedirectURL: next, Level: level})
	})
}

// tokenMeets reports whether the request's token meets level, as the
// page that sent the browser here will check it: otherwise going on
// would send it straight back.
func (rv *Reverification) tokenMeets(a *auth.Auth, level string) bool {
	preset, ok := reverifyLevels[level]
	if !ok {
		return true // the account's own check (strict) decides
	}
	return a.Has(auth.HasParams{Reverification: preset})
}

var reverifyLeads = map[string]string{
	auth.StrategyTOTP:       "Enter the code from your authenticator app to continue.",
	auth.StrategyBackupCode: "Enter one of your backup codes to continue.",
	strategyPassword:        "Enter your password to continue.",
}

// reverifyProvidersLead is the lead of a reverify page with only
// providers' buttons.
const reverifyProvidersLead = "Continue with your connected account to confirm it's you."

// render shows the reverify page: the form of one strategy with links to
// the others, and a button for each connected provider. An account with
// only providers to confirm with shows their buttons alone.
func (rv *Reverification) render(w http.ResponseWriter, r *http.Request, status int, acct *auth.Account, p components.FactorFormProps) {
	strategies, providers := splitStrategies(r, reverifyStrategies(acct, p.Level))
	if len(strategies) == 0 && len(providers) == 0 {
		rv.site.Render(w, r, http.StatusForbidden, "Cannot confirm", components.ErrorPage(http.StatusForbidden,
			"There is no way to confirm it's you", "Your account has no password, authenticator app or connected account to confirm with. Sign in again to continue."))
		return
	}
	p.Title, p.Submit = "Confirm it's you", "Continue"
	p.Strategy, p.Lead = "", reverifyProvidersLead
	if len(strategies) > 0 {
		p.Strategy = factorStrategy(p.Strategy, strategies)
		p.Lead = reverifyLeads[p.Strategy]
	}
	p.Action = auth.ReverifyURL
	p.Username = acct.User().PrimaryEmail()
	q := url.Values{"redirect_url": {p.RedirectURL}}
	if p.Level != "" {
		q.Set("level", p.Level)
	}
	p.Options = factorOptions(auth.ReverifyURL, q, p.Strategy, strategies)
	p.Providers, p.ProviderAction = providers, reverifyOAuthPrefix
	p.BackURL, p.BackLabel = "/profile", "Cancel"
	rv.site.Render(w, r, status, "Confirm it's you", components.FactorForm(p))
}

// Reverify serves POST /reverify: the right password or code makes the
// session fresh (a new token is set at once) and sends the browser on to
// the page it came from.
func (rv *Reverification) Reverify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(rv.site, w, r, err)
			return
		}
		next := rv.site.Redirects.Safe(form["redirect_url"], "/profile")
		acct, _ := rv.open(w, r, auth.ReverifyPageURL(next))
		if acct == nil {
			return
		}
		// The providers answer through their own flow, not this form.
		strategies, _ := splitStrategies(r, reverifyStrategies(acct, form["level"]))
		strategy := factorStrategy(form["strategy"], strategies)
		secret := form["code"]
		if strategy == strategyPassword {
			secret = form["password"]
		}
		err = auth.Reverify(w, r, strategy, secret)
		if err == nil {
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		if errors.Is(err, auth.ErrSessionEnded) {
			http.Redirect(w, r, auth.WithRedirectURL(rv.site.Env.SignInURL, next), http.StatusSeeOther)
			return
		}
		status, fields, msg, ok := refusal(w, err)
		if !ok {
			rv.site.serverError(w, r, "reverify", err)
			return
		}
		for k, v := range fields {
			if k != "code" && k != "password" {
				fields, msg = nil, v
			}
		}
		rv.render(w, r, status, acct, components.FactorFormProps{Strategy: strategy, RedirectURL: next,
			Level: form["level"], Fields: fields, Error: msg})
	})
}

// TwoStepPages serve setting up two-step verification: the profile's
// page (/profile/two-step) and the task of a pending session
// (auth.SetupMFAURL), which shows the same enrolment. A pending session
// may only use the task's routes: the profile's are protected.
type TwoStepPages struct {
	site *Site
}

// NewTwoStepPages returns the two-step verification handlers.
func NewTwoStepPages(site *Site) *TwoStepPages { return &TwoStepPages{site: site} }

// twoStepFlow is one of the two places the forms live.
type twoStepFlow struct {
	path string
	task bool // the pending session's task
}

var (
	profileFlow = twoStepFlow{path: twoStepPath}
	taskFlow    = twoStepFlow{path: auth.SetupMFAURL, task: true}
)

// twoStepNotices are the messages after a form that worked (?done=…).
var twoStepNotices = map[string]string{
	"disabled": "Two-step verification is off. Sign-in asks for your password only.",
}

// open returns the signed-in account and the context to change it with,
// or answers the request itself and returns nil: a visitor signed out
// goes to sign-in, a pending session outside the task to its task.
func (ts *TwoStepPages) open(w http.ResponseWriter, r *http.Request, fl twoStepFlow) (*auth.Account, context.Context, *auth.Auth, bool) {
	a, err := auth.GetAuth(r)
	if err != nil {
		ts.site.serverError(w, r, "two-step", err)
		return nil, nil, nil, false
	}
	w.Header().Set("Cache-Control", "no-store")
	signIn := auth.WithRedirectURL(ts.site.Env.SignInURL, fl.path)
	if !a.IsAuthenticated || a.TokenType != auth.SessionToken {
		http.Redirect(w, r, signIn, http.StatusSeeOther)
		return nil, nil, nil, false
	}
	if a.SessionStatus == "pending" && !fl.task {
		http.Redirect(w, r, auth.PendingTaskURL, http.StatusSeeOther)
		return nil, nil, nil, false
	}
	acct, ctx, err := auth.OpenAccount(w, r)
	if errors.Is(err, auth.ErrSessionEnded) {
		http.Redirect(w, r, signIn, http.StatusSeeOther)
		return nil, nil, nil, false
	}
	if err != nil {
		ts.site.serverError(w, r, "two-step", err)
		return nil, nil, nil, false
	}
	return acct, ctx, a, true
}

// props is the page's state for acct: on (with its codes), being set up
// (shown only to a session fresh enough to finish it), or off.
func (ts *TwoStepPages) props(r *http.Request, acct *auth.Account, fl twoStepFlow) components.TwoStepProps {
	u := acct.User()
	p := components.TwoStepProps{Action: fl.path, Task: fl.task, Enabled: u.TOTPEnabled,
		BackupCodesLeft: u.BackupCodesLeft, BackupCodeCount: backupCodeCount}
	if u.TOTPEnabled && u.MFAEnabledAt > 0 {
		p.EnabledAt = formatMillis(u.MFAEnabledAt)
	}
	if acct.Impersonated() {
		p.Disabled = "Two-step verification is the user's own to set up; an impersonation session cannot change it."
	}
	if !u.TOTPEnabled && acct.Reverified() {
		if e, err := acct.PendingTOTP(r.Context()); err == nil {
			p.Enrolment = setupOf(e)
		}
	}
	return p
}

func setupOf(e *auth.TOTPEnrolment) *components.TOTPSetup {
	return &components.TOTPSetup{QRCode: e.QRCode, Secret: e.Secret, URI: e.URI}
}

func (ts *TwoStepPages) render(w http.ResponseWriter, r *http.Request, status int, p components.TwoStepProps) {
	title := "Two-step verification"
	if p.Task {
		title = "Set up two-step verification"
	}
	ts.site.Render(w, r, status, title, components.TwoStep(p))
}

// page serves the GET of fl.
func (ts *TwoStepPages) page(fl twoStepFlow) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acct, _, a, ok := ts.open(w, r, fl)
		if !ok {
			return
		}
		if fl.task && acct.User().TOTPEnabled {
			// Done already: the token catches up at its next refresh.
			if a.SessionStatus == "pending" {
				ts.refreshToken(w, r, a)
			}
			http.Redirect(w, r, auth.PendingTaskURL, http.StatusSeeOther)
			return
		}
		p := ts.props(r, acct, fl)
		p.Notice = twoStepNotices[r.URL.Query().Get("done")]
		ts.render(w, r, http.StatusOK, p)
	})
}

// refreshToken sets a new session token at once, so a session that was
// pending only for its second factor is active from the next request
// rather than at its next refresh. It re-selects the session's active
// organization, which mints the token. A failure is only logged: the
// token catches up at its next refresh anyway.
func (ts *TwoStepPages) refreshToken(w http.ResponseWriter, r *http.Request, a *auth.Auth) {
	if err := auth.SetActiveOrganization(w, r, a.OrgID); err != nil {
		ts.site.Log.WarnContext(r.Context(), "two-step: refreshing the session token failed", "err", err)
	}
}

// act runs one of fl's forms: fn changes the account and returns the
// backup codes to show (nil: none). A session that must verify again
// goes to the reverify page; a refusal shows the page with its message.
func (ts *TwoStepPages) act(fl twoStepFlow, name string, fn func(ctx context.Context, acct *auth.Account, form map[string]string) (codes []string, err error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(ts.site, w, r, err)
			return
		}
		acct, ctx, a, ok := ts.open(w, r, fl)
		if !ok {
			return
		}
		codes, err := fn(ctx, acct, form)
		if auth.IsReverificationRequired(err) {
			http.Redirect(w, r, auth.ReverifyPageURL(fl.path), http.StatusSeeOther)
			return
		}
		if err != nil {
			ts.refused(w, r, acct, fl, name, err)
			return
		}
		if codes == nil {
			http.Redirect(w, r, fl.path+"?done="+name, http.StatusSeeOther)
			return
		}
		p := ts.props(r, acct, fl)
		p.BackupCodes, p.ContinueURL = codes, fl.path
		if fl.task {
			if a.SessionStatus == "pending" {
				ts.refreshToken(w, r, a)
			}
			p.ContinueURL = ts.site.SignInFallback
		}
		ts.render(w, r, http.StatusOK, p)
	})
}

// refused shows the page again with a form's refusal: a wrong first code
// keeps the enrolment on screen, next to the code field.
func (ts *TwoStepPages) refused(w http.ResponseWriter, r *http.Request, acct *auth.Account, fl twoStepFlow, name string, err error) {
	e, ok := auth.AsError(err)
	if !ok {
		ts.site.serverError(w, r, "two-step "+name, err)
		return
	}
	if e.Code == "totp_already_enabled" {
		http.Redirect(w, r, fl.path, http.StatusSeeOther)
		return
	}
	status, fields, msg, _ := refusal(w, err)
	p := ts.props(r, acct, fl)
	if name == "confirm" && p.Enrolment != nil {
		p.Fields, p.Error = onCodeForm(fields, msg)
	} else {
		p.Error = e.Message
	}
	ts.render(w, r, status, p)
}

// Page serves GET /profile/two-step.
func (ts *TwoStepPages) Page() http.Handler { return ts.page(profileFlow) }

// Start serves POST /profile/two-step/start: a new authenticator secret,
// shown with its QR code until its first code confirms it.
func (ts *TwoStepPages) Start() http.Handler { return ts.start(profileFlow) }

// Confirm serves POST /profile/two-step/confirm: the app's first code
// turns it on and shows the backup codes, once.
func (ts *TwoStepPages) Confirm() http.Handler { return ts.confirm(profileFlow) }

// BackupCodes serves POST /profile/two-step/backup-codes: a new set of
// backup codes, shown once, replaces the old one.
func (ts *TwoStepPages) BackupCodes() http.Handler {
	return ts.act(profileFlow, "backup-codes", func(ctx context.Context, acct *auth.Account, _ map[string]string) ([]string, error) {
		return acct.RegenerateBackupCodes(ctx)
	})
}

// Disable serves POST /profile/two-step/disable: the authenticator app
// and the backup codes are removed.
func (ts *TwoStepPages) Disable() http.Handler {
	return ts.act(profileFlow, "disabled", func(ctx context.Context, acct *auth.Account, _ map[string]string) ([]string, error) {
		return nil, acct.DisableTOTP(ctx)
	})
}

// TaskPage serves GET auth.SetupMFAURL, the task of a session pending
// until its user sets up a second factor (MFA_REQUIRED).
func (ts *TwoStepPages) TaskPage() http.Handler { return ts.page(taskFlow) }

// TaskStart serves POST auth.SetupMFAURL/start (see Start).
func (ts *TwoStepPages) TaskStart() http.Handler { return ts.start(taskFlow) }

// TaskConfirm serves POST auth.SetupMFAURL/confirm (see Confirm); the
// session is active from the next request.
func (ts *TwoStepPages) TaskConfirm() http.Handler { return ts.confirm(taskFlow) }

func (ts *TwoStepPages) start(fl twoStepFlow) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := auth.ReadForm(w, r); err != nil {
			formError(ts.site, w, r, err)
			return
		}
		acct, ctx, _, ok := ts.open(w, r, fl)
		if !ok {
			return
		}
		e, err := acct.StartTOTP(ctx)
		if auth.IsReverificationRequired(err) {
			http.Redirect(w, r, auth.ReverifyPageURL(fl.path), http.StatusSeeOther)
			return
		}
		if err != nil {
			ts.refused(w, r, acct, fl, "start", err)
			return
		}
		p := ts.props(r, acct, fl)
		p.Enrolment = setupOf(e)
		ts.render(w, r, http.StatusOK, p)
	})
}

func (ts *TwoStepPages) confirm(fl twoStepFlow) http.Handler {
	return ts.act(fl, "confirm", func(ctx context.Context, acct *auth.Account, form map[string]string) ([]string, error) {
		return acct.ConfirmTOTP(ctx, form["code"])
	})
}
