package app

import (
	"log/slog"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/auth/httpapi"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/mail"
	"github.com/gatehouse-dev/gatehouse/internal/appdata"
	"github.com/gatehouse-dev/gatehouse/pages"
)

// routes registers the pages, the frontend API and the example API. The
// pages reach the identity server through package auth; the frontend API
// is the identity server's own HTTP surface.
func routes(r chi.Router, log *slog.Logger, site *pages.Site, data *appdata.DB, idsvc *identity.Service,
	limiter *httpapi.Limiter, mailbox *mail.Mailbox) {
	forms := pages.NewAuthForms(site)
	r.Get("/", pages.Home(site).ServeHTTP)
	r.Get("/sign-in", forms.SignInPage().ServeHTTP)
	r.Post("/sign-in", forms.SignIn().ServeHTTP)
	r.Get("/sign-up", forms.SignUpPage().ServeHTTP)
	r.Post("/sign-up", forms.SignUp().ServeHTTP)
	r.Get("/sign-up/verify", forms.SignUpVerifyPage().ServeHTTP)
	r.Post("/sign-up/verify", forms.SignUpVerify().ServeHTTP)
	r.Post("/sign-up/verify/resend", forms.SignUpResend().ServeHTTP)
	r.Get("/sign-in/forgot-password", forms.ForgotPasswordPage().ServeHTTP)
	r.Post("/sign-in/forgot-password", forms.ForgotPassword().ServeHTTP)
	r.Get("/sign-in/forgot-password/code", forms.ResetCodePage().ServeHTTP)
	r.Post("/sign-in/forgot-password/code", forms.ResetCode().ServeHTTP)
	r.Post("/sign-in/forgot-password/code/resend", forms.ResetResend().ServeHTTP)
	r.Get("/sign-in/forgot-password/new", forms.NewPasswordPage().ServeHTTP)
	r.Post("/sign-in/forgot-password/new", forms.NewPassword().ServeHTTP)
	r.Get("/sign-in/factor-two", forms.FactorTwoPage().ServeHTTP)
	r.Post("/sign-in/factor-two", forms.FactorTwo().ServeHTTP)
	rv := pages.NewReverification(site)
	r.Get(auth.ReverifyURL, rv.Page().ServeHTTP)
	r.Post(auth.ReverifyURL, rv.Reverify().ServeHTTP)
	oauth := pages.NewOAuthPages(site)
	r.Post("/sign-in/oauth/{provider}", oauth.SignIn().ServeHTTP)
	r.Get("/sign-in/oauth/{provider}/callback", oauth.Callback().ServeHTTP)
	r.Post("/profile/connections/{provider}", oauth.Connect().ServeHTTP)
	r.Post("/profile/connections/{id}/disconnect", oauth.Disconnect().ServeHTTP)
	r.Post(auth.ReverifyURL+"/oauth/{provider}", oauth.Reverify().ServeHTTP)
	r.Post("/sign-out", forms.SignOut().ServeHTTP)
	r.Get("/sign-out", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodPost) // state never changes on GET
		site.ErrorPage(w, r, http.StatusMethodNotAllowed)
	})
	r.Get("/dashboard", pages.Dashboard(site, data).ServeHTTP)
	r.Get("/profile", pages.Profile(site).ServeHTTP)
	apiKeys := pages.NewAPIKeyForms(site)
	account := pages.NewAccountForms(site)
	r.Post("/profile/name", account.Name().ServeHTTP)
	r.Post("/profile/password", account.Password().ServeHTTP)
	r.Post("/profile/emails", account.AddEmail().ServeHTTP)
	r.Post("/profile/emails/{id}/verify", account.VerifyEmail().ServeHTTP)
	r.Post("/profile/emails/{id}/resend", account.ResendEmail().ServeHTTP)
	r.Post("/profile/emails/{id}/primary", account.PrimaryEmail().ServeHTTP)
	r.Post("/profile/emails/{id}/remove", account.RemoveEmail().ServeHTTP)
	r.Post("/profile/sessions/{id}/revoke", account.RevokeSession().ServeHTTP)
	r.Post("/profile/sessions/revoke-others", account.RevokeOtherSessions().ServeHTTP)
	r.Post("/profile/delete", account.Delete().ServeHTTP)
	passkeys := pages.NewPasskeyPages(site)
	r.Post("/profile/passkeys/{id}/rename", passkeys.Rename().ServeHTTP)
	r.Post("/profile/passkeys/{id}/delete", passkeys.Delete().ServeHTTP)
	twoStep := pages.NewTwoStepPages(site)
	r.Get("/profile/two-step", twoStep.Page().ServeHTTP)
	r.Post("/profile/two-step/start", twoStep.Start().ServeHTTP)
	r.Post("/profile/two-step/confirm", twoStep.Confirm().ServeHTTP)
	r.Post("/profile/two-step/backup-codes", twoStep.BackupCodes().ServeHTTP)
	r.Post("/profile/two-step/disable", twoStep.Disable().ServeHTTP)
	// The pending session's task: outside /profile, which refuses it.
	r.Get(auth.SetupMFAURL, twoStep.TaskPage().ServeHTTP)
	r.Post(auth.SetupMFAURL+"/start", twoStep.TaskStart().ServeHTTP)
	r.Post(auth.SetupMFAURL+"/confirm", twoStep.TaskConfirm().ServeHTTP)
	r.Post("/profile/api-keys", apiKeys.Create().ServeHTTP)
	r.Post("/profile/api-keys/{id}/revoke", apiKeys.Revoke().ServeHTTP)

	op := pages.NewOrgPages(site)
	r.Get("/org", op.Manage().ServeHTTP)
	r.Get("/org/new", op.NewPage().ServeHTTP)
	r.Post("/org/new", op.Create().ServeHTTP)
	r.Post("/org/switch", op.Switch().ServeHTTP)
	r.Post("/org/settings", op.UpdateSettings().ServeHTTP)
	r.Post("/org/delete", op.Delete().ServeHTTP)
	r.Post("/org/leave", op.Leave().ServeHTTP)
	r.Post("/org/members/role", op.ChangeRole().ServeHTTP)
	r.Post("/org/members/remove", op.RemoveMember().ServeHTTP)
	r.Post("/org/invitations", op.Invite().ServeHTTP)
	r.Post("/org/invitations/revoke", op.RevokeInvitation().ServeHTTP)
	r.Post("/org/api-keys", op.CreateAPIKey().ServeHTTP)
	r.Post("/org/api-keys/{id}/revoke", op.RevokeAPIKey().ServeHTTP)
	r.Get(auth.InvitationPath, op.Invitation().ServeHTTP)
	r.Post(auth.InvitationPath, op.AcceptInvitation().ServeHTTP)
	r.Get(auth.ChooseOrganizationURL, op.ChooseOrganization().ServeHTTP)
	r.Get(auth.PendingTaskURL, pages.PendingTask(site).ServeHTTP)

	imp := pages.NewImpersonation(site)
	r.Get(auth.TicketPath, imp.TicketPage().ServeHTTP)
	r.Post(auth.TicketPath, imp.Ticket().ServeHTTP)
	r.Get("/admin/impersonate", imp.AdminPage().ServeHTTP)
	r.Post("/admin/impersonate", imp.Impersonate().ServeHTTP)
	r.Get("/admin/audit", imp.AuditPage().ServeHTTP)
	r.Get("/admin/webhooks", imp.WebhooksPage().ServeHTTP)
	r.Post("/admin/webhooks", imp.CreateWebhook().ServeHTTP)
	r.Post("/admin/webhooks/{id}/test", imp.TestWebhook().ServeHTTP)
	r.Post("/admin/webhooks/{id}/disable", imp.DisableWebhook().ServeHTTP)
	r.Post("/admin/webhooks/{id}/enable", imp.EnableWebhook().ServeHTTP)
	r.Post("/admin/webhooks/{id}/delete", imp.DeleteWebhook().ServeHTTP)
	r.Post("/admin/webhooks/messages/{id}/retry", imp.RetryWebhookMessage().ServeHTTP)
	if mailbox != nil {
		r.Get("/dev/mailbox", pages.Mailbox(site, mailboxMessages(mailbox)).ServeHTTP) // development only
	}

	r.Mount("/__clerk/v1", http.StripPrefix("/__clerk/v1", httpapi.NewFrontendAPI(idsvc, limiter, log)))

	handle := func(fn func(http.ResponseWriter, *http.Request) error) http.Handler { return apiRoute(log, fn) }
	r.Handle("/api/me", handle(api.GetOnly(api.Me)))
	r.Handle("/api/token", handle(api.GetOnly(api.Token)))
	r.Handle("/api/user", handle(api.GetOnly(api.User)))
	r.Handle("/api/admin", handle(api.GetOnly(api.Admin)))
	r.Handle("/api/org", handle(api.GetOnly(api.Org)))
	r.Handle("/api/team", handle(api.GetOnly(api.Team)))
	r.Handle("/api/machine", handle(api.GetOnly(api.Machine)))
	r.Handle("/api/whoami", handle(api.GetOnly(api.WhoAmI)))
	items := handle(api.Items(data))
	r.Handle("/api/items", items)
	r.Handle("/api/items/{id}", items)
}

// apiRoute serves an API route that returns its error (see api.Handler).
func apiRoute(log *slog.Logger, fn func(http.ResponseWriter, *http.Request) error) http.Handler {
	return api.Handler{Log: log, Fn: fn}
}

// mailboxMessages lists the development mailbox's messages for its page.
func mailboxMessages(box *mail.Mailbox) func() []pages.MailMessage {
	return func() []pages.MailMessage {
		msgs := box.Messages()
		out := make([]pages.MailMessage, len(msgs))
		for i, m := range msgs {
			out[i] = pages.MailMessage{To: m.To, Subject: m.Subject, Body: m.Body, HTML: m.HTML, Link: m.Link, SentAt: m.SentAt}
		}
		return out
	}
}
