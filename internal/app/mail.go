package app

import (
	"fmt"
	"html"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/mail"
)

// invitationSubject is the subject of every invitation: fixed text, so
// no one can put words of their choosing in a subject line that reaches
// any address (organization and inviter names are the inviter's).
const invitationSubject = "You are invited to an organization on Gatehouse"

// invitationEmail is the message that delivers an organization invitation.
// The names the inviter chose appear only in the body, quoted (%q escapes
// anything that is not plain text; the HTML escapes them too).
func invitationEmail(m identity.InvitationMessage) mail.Message {
	who := "You are invited"
	if m.InviterName != "" {
		who = fmt.Sprintf("%q invited you", m.InviterName)
	}
	lead := fmt.Sprintf("%s to join the organization %q as %s.", who, m.OrganizationName, m.RoleName)
	expires := m.ExpiresAt.UTC().Format("2 January 2006")
	body := fmt.Sprintf("%s\n\nAccept the invitation:\n%s\n\nThe link works once and expires on %s.\nIf you did not expect this invitation, ignore this email.\n",
		lead, m.URL, expires)
	htmlBody := htmlEmail(invitationSubject, html.EscapeString(lead),
		`<p><a href="`+html.EscapeString(m.URL)+`" style="`+buttonStyle+`">Accept the invitation</a></p>`,
		"The link works once and expires on "+expires+". If you did not expect this invitation, ignore this email.")
	return mail.Message{To: m.To, Subject: invitationSubject, Body: body, HTML: htmlBody, Link: m.URL}
}

// codeEmail is the message that delivers a one-time code. The code leads
// the subject, as Clerk's do, so it can be read from a notification.
func codeEmail(m identity.CodeMail) mail.Message {
	var what, ignore string
	switch m.Purpose {
	case identity.PurposeResetPassword:
		what = "Use this code to reset your Gatehouse password."
		ignore = "If you did not ask to reset your password, ignore this email: your password stays as it is."
	case identity.PurposeVerifyEmail:
		what = "Use this code to add this address to your Gatehouse account."
		ignore = "If you did not add this address, ignore this email."
	default:
		what = "Use this code to finish creating your Gatehouse account."
		ignore = "If you did not sign up, ignore this email: no account is created without the code."
	}
	minutes := int(m.ExpiresIn.Minutes())
	subject := m.Code + " is your verification code"
	body := fmt.Sprintf("%s\n\n    %s\n\nThe code expires in %d minutes and works once.\n%s\n", what, m.Code, minutes, ignore)
	htmlBody := htmlEmail(subject, html.EscapeString(what),
		`<p style="font-size:28px;letter-spacing:6px;font-weight:bold;font-family:monospace">`+html.EscapeString(m.Code)+`</p>`,
		fmt.Sprintf("The code expires in %d minutes and works once. %s", minutes, html.EscapeString(ignore)))
	return mail.Message{To: m.To, Subject: subject, Body: body, HTML: htmlBody}
}

const buttonStyle = "display:inline-block;padding:10px 18px;background:#4f46e5;color:#fff;border-radius:6px;text-decoration:none"

// htmlEmail lays out a message: its title, a lead line, the action and a
// note, all already escaped.
func htmlEmail(title, lead, action, note string) string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html><head><meta charset="utf-8"><title>` + html.EscapeString(title) + `</title></head>`)
	b.WriteString(`<body style="font-family:system-ui,sans-serif;color:#111;max-width:520px;margin:24px auto;padding:0 16px">`)
	b.WriteString(`<p style="font-weight:600">Gatehouse</p><p>` + lead + `</p>` + action)
	b.WriteString(`<p style="color:#555;font-size:14px">` + note + `</p></body></html>`)
	return b.String()
}
