package pages

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/components"
)

// AccountForms serve the account forms of the profile page: name,
// password, email addresses, sessions and deletion (the connected
// accounts' forms are [OAuthPages]). Each works without
// JavaScript: a POST answered with 303 to /profile and a notice, or the
// profile again with the refusal next to its field. Every one re-reads
// the session from the store first: an ended session changes nothing.
type AccountForms struct {
	site *Site
}

// NewAccountForms returns the account form handlers.
func NewAccountForms(site *Site) *AccountForms { return &AccountForms{site: site} }

// accountNotices are the messages shown after a form that worked (?done=…).
var accountNotices = map[string][2]string{
	"name":           {"name", "Your name was saved."},
	"password":       {"password", "Your password was changed."},
	"email-added":    {"emails", "We sent a code to the new address. Enter it below to verify it."},
	"email-sent":     {"emails", "We sent a new code."},
	"email-verified": {"emails", "The address is verified."},
	"email-primary":  {"emails", "Your primary address was changed."},
	"email-removed":  {"emails", "The address was removed."},
	"session":        {"sessions", "The session was signed out."},
	"sessions":       {"sessions", "Every other device was signed out."},
	"disconnected":   {"connections", "The account was disconnected."},
	// The passkeys card's: clerk.js goes to ?done=passkey_added after
	// adding one; the forms of PasskeyPages to the others.
	"passkey_added":   {"passkeys", "The passkey was added."},
	"passkey-renamed": {"passkeys", "The passkey was renamed."},
	"passkey-deleted": {"passkeys", "The passkey was deleted."},
}

func doneNotice(done string) AccountForm {
	n, ok := accountNotices[done]
	if !ok {
		return AccountForm{}
	}
	return AccountForm{Section: n[0], Notice: n[1]}
}

func atoiDefault(s string, d int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return d
}

// accountAction is one account form: fn changes the account and returns
// the ?done= key of its notice.
type accountAction func(ctx context.Context, acct *auth.Account, form map[string]string, r *http.Request) (string, error)

// handle serves one account form of section.
func (f *AccountForms) handle(section string, fn accountAction) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(f.site, w, r, err)
			return
		}
		acct, ctx, err := auth.OpenAccount(w, r)
		if errors.Is(err, auth.ErrSessionEnded) {
			http.Redirect(w, r, f.site.Env.SignInURL, http.StatusSeeOther)
			return
		}
		if err != nil {
			formError(f.site, w, r, err)
			return
		}
		done, err := fn(ctx, acct, form, r)
		f.answer(w, r, section, form, done, err)
	})
}

// answer ends a form of section that returned err: when nil, 303 to the
// profile and the notice of done; a session that must verify again goes
// to the reverify page; a refusal shows the profile with it in section.
func (f *AccountForms) answer(w http.ResponseWriter, r *http.Request, section string, form map[string]string, done string, err error) {
	if err == nil {
		if done == "deleted" {
			auth.AccountDeleted(w, r)
			http.Redirect(w, r, "/?account=deleted", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/profile?done="+done+"#"+accountNotices[done][0], http.StatusSeeOther)
		return
	}
	if auth.IsReverificationRequired(err) {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, auth.ReverifyPageURL("/profile#"+section), http.StatusSeeOther)
		return
	}
	status, fields, msg, ok := refusal(w, err)
	if !ok {
		f.site.serverError(w, r, "account "+section, err)
		return
	}
	for k, v := range fields {
		if !shownFields[k] && !(section == "passkeys" && k == "name") { // a field the forms do not have: above them
			fields, msg = nil, v
		}
	}
	out := AccountForm{Section: section, Error: msg, Fields: fields, ID: r.PathValue("id"),
		Values: map[string]string{"first_name": form["first_name"], "last_name": form["last_name"], "email_address": form["email_address"], "name": form["name"]}}
	profilePage(f.site, func(*http.Request) (profileOutcome, int, error) {
		return profileOutcome{Form: out}, status, nil
	}).ServeHTTP(w, r)
}

// shownFields are the fields the account forms show a message next to
// (and a passkey's name, in the passkeys card only).
var shownFields = map[string]bool{"first_name": true, "last_name": true, "current_password": true,
	"new_password": true, "email_address": true, "code": true, "confirmation": true}

// Name serves POST /profile/name.
func (f *AccountForms) Name() http.Handler {
	return f.handle("name", func(ctx context.Context, a *auth.Account, form map[string]string, _ *http.Request) (string, error) {
		return "name", a.UpdateName(ctx, form["first_name"], form["last_name"])
	})
}

// Password serves POST /profile/password.
func (f *AccountForms) Password() http.Handler {
	return f.handle("password", func(ctx context.Context, a *auth.Account, form map[string]string, _ *http.Request) (string, error) {
		return "password", a.ChangePassword(ctx, form["current_password"], form["new_password"], form["sign_out_of_other_sessions"] == "true")
	})
}

// AddEmail serves POST /profile/emails.
func (f *AccountForms) AddEmail() http.Handler {
	return f.handle("emails", func(ctx context.Context, a *auth.Account, form map[string]string, _ *http.Request) (string, error) {
		_, err := a.AddEmailAddress(ctx, form["email_address"])
		return "email-added", err
	})
}

// VerifyEmail serves POST /profile/emails/{id}/verify.
func (f *AccountForms) VerifyEmail() http.Handler {
	return f.handle("emails", func(ctx context.Context, a *auth.Account, form map[string]string, r *http.Request) (string, error) {
		return "email-verified", a.AttemptEmailVerification(ctx, r.PathValue("id"), form["code"])
	})
}

// ResendEmail serves POST /profile/emails/{id}/resend.
func (f *AccountForms) ResendEmail() http.Handler {
	return f.handle("emails", func(ctx context.Context, a *auth.Account, _ map[string]string, r *http.Request) (string, error) {
		return "email-sent", a.PrepareEmailVerification(ctx, r.PathValue("id"))
	})
}

// PrimaryEmail serves POST /profile/emails/{id}/primary.
func (f *AccountForms) PrimaryEmail() http.Handler {
	return f.handle("emails", func(ctx context.Context, a *auth.Account, _ map[string]string, r *http.Request) (string, error) {
		return "email-primary", a.SetPrimaryEmailAddress(ctx, r.PathValue("id"))
	})
}

// RemoveEmail serves POST /profile/emails/{id}/remove.
func (f *AccountForms) RemoveEmail() http.Handler {
	return f.handle("emails", func(ctx context.Context, a *auth.Account, _ map[string]string, r *http.Request) (string, error) {
		return "email-removed", a.RemoveEmailAddress(ctx, r.PathValue("id"))
	})
}

// RevokeSession serves POST /profile/sessions/{id}/revoke.
func (f *AccountForms) RevokeSession() http.Handler {
	return f.handle("sessions", func(ctx context.Context, a *auth.Account, _ map[string]string, r *http.Request) (string, error) {
		_, err := a.RevokeSession(ctx, r.PathValue("id"))
		return "session", err
	})
}

// RevokeOtherSessions serves POST /profile/sessions/revoke-others.
func (f *AccountForms) RevokeOtherSessions() http.Handler {
	return f.handle("sessions", func(ctx context.Context, a *auth.Account, _ map[string]string, _ *http.Request) (string, error) {
		return "sessions", a.RevokeOtherSessions(ctx)
	})
}

// Delete serves POST /profile/delete.
func (f *AccountForms) Delete() http.Handler {
	return f.handle("delete", func(ctx context.Context, a *auth.Account, form map[string]string, _ *http.Request) (string, error) {
		return "deleted", a.Delete(ctx, form["current_password"], form["confirmation"])
	})
}

// deleteConfirmation is what the delete form asks to be typed.
const deleteConfirmation = auth.DeleteConfirmation

// sessionDevice describes a session's device for the sessions list.
func sessionDevice(s *auth.Session) string { return s.LatestActivity.Device() }

func sessionIP(s *auth.Session) string {
	if s.LatestActivity == nil || s.LatestActivity.IPAddress == "" {
		return "—"
	}
	return s.LatestActivity.IPAddress
}

// activityNames are the security activity's event names in words.
var activityNames = map[string]string{
	"user.created": "Account created", "user.updated": "Profile updated", "session.created": "Signed in",
	"session.ended": "Signed out", "session.revoked": "Session revoked", "session.removed": "Session replaced",
	"session.expired": "Session expired", "session.revoked_others": "Other devices signed out",
	"user.password_changed": "Password changed", "user.password_reset": "Password reset",
	"user.password_removed": "Password removed", "emailAddress.created": "Email address added",
	"emailAddress.verified": "Email address verified", "emailAddress.deleted": "Email address removed",
	"emailAddress.updated": "Email address changed by an administrator", "user.primary_email_changed": "Primary email changed",
	"user.locked": "Account locked", "user.unlocked": "Account unlocked",
	"user.banned": "Account banned", "user.unbanned": "Account unbanned", "user.deleted": "Account deleted",
	"user.totp_enabled": "Two-step verification turned on", "user.totp_disabled": "Two-step verification turned off",
	"user.backup_codes_regenerated": "New backup codes made", "user.backup_codes_deleted": "Backup codes removed",
	"user.backup_code_used": "Backup code used", "session.reverified": "Identity confirmed again",
	"externalAccount.created": "Account connected", "externalAccount.deleted": "Account disconnected",
	"passkey.created": "Passkey added", "passkey.used": "Signed in with a passkey",
	"passkey.updated": "Passkey renamed", "passkey.deleted": "Passkey deleted",
}

func activityName(name string) string {
	if n, ok := activityNames[name]; ok {
		return n
	}
	return name
}

func fieldValue(f AccountForm, section, name string) string {
	if f.Section != section {
		return ""
	}
	return f.Values[name]
}

func formFields(f AccountForm, section string) components.FieldErrors {
	if f.Section != section {
		return nil
	}
	return f.Fields
}
