package app

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/mail"
)

// invitationEmail is the message that delivers an organization invitation.
func invitationEmail(m identity.InvitationMessage) mail.Message {
	who := "You are invited"
	if m.InviterName != "" {
		who = m.InviterName + " invited you"
	}
	body := fmt.Sprintf("%s to join %s as %s.\n\nAccept the invitation:\n%s\n\nThe link works once and expires on %s.\nIf you did not expect this invitation, ignore this email.\n",
		who, m.OrganizationName, m.RoleName, m.URL, m.ExpiresAt.UTC().Format("2 January 2006"))
	return mail.Message{To: m.To, Subject: "Join " + m.OrganizationName + " on Gatehouse", Body: body, Link: m.URL}
}
