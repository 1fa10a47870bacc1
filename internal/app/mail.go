package app

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/mail"
)

// invitationSubject is the subject of every invitation: fixed text, so
// no one can put words of their choosing in a subject line that reaches
// any address (organization and inviter names are the inviter's).
const invitationSubject = "You are invited to an organization on Gatehouse"

// invitationEmail is the message that delivers an organization invitation.
// The names the inviter chose appear only in the body, quoted (%q escapes
// anything that is not plain text).
func invitationEmail(m identity.InvitationMessage) mail.Message {
	who := "You are invited"
	if m.InviterName != "" {
		who = fmt.Sprintf("%q invited you", m.InviterName)
	}
	body := fmt.Sprintf("%s to join the organization %q as %s.\n\nAccept the invitation:\n%s\n\nThe link works once and expires on %s.\nIf you did not expect this invitation, ignore this email.\n",
		who, m.OrganizationName, m.RoleName, m.URL, m.ExpiresAt.UTC().Format("2 January 2006"))
	return mail.Message{To: m.To, Subject: invitationSubject, Body: body, Link: m.URL}
}
