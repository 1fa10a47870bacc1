package pages

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/auth/mail"
)

// MailboxProps are the props of the development mailbox.
type MailboxProps struct {
	Base
	Messages []mail.Message
}

// Mailbox shows the messages the development mail sender kept: the
// invitations a developer would otherwise need a mail server to read. It
// is mounted only in development.
func Mailbox(site *Site, box *mail.Mailbox) http.Handler {
	return Page[MailboxProps]{Name: "mailbox", Title: "Development mailbox", View: mailboxView, Load: func(r *http.Request) (Result[MailboxProps], error) {
		props, err := auth.BuildClerkProps(r)
		if err != nil {
			return Result[MailboxProps]{}, err
		}
		return Props(MailboxProps{Base: Base{Clerk: props}, Messages: box.Messages()})
	}}.Handler(site)
}
