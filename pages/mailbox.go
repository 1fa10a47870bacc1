package pages

import (
	"net/http"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"
)

// MailboxProps are the props of the development mailbox.
type MailboxProps struct {
	Base
	Messages []MailMessage
}

// MailMessage is one message the development mail sender kept.
type MailMessage struct {
	To, Subject, Body string
	// Link is the one action the message is about (an invitation link).
	Link   string
	SentAt time.Time
}

// Mailbox shows the messages the development mail sender kept: the
// invitations a developer would otherwise need a mail server to read. It
// is mounted only in development.
func Mailbox(site *Site, messages func() []MailMessage) http.Handler {
	return Page[MailboxProps]{Name: "mailbox", Title: "Development mailbox", View: mailboxView, Load: func(r *http.Request) (Result[MailboxProps], error) {
		props, err := auth.BuildClerkProps(r)
		if err != nil {
			return Result[MailboxProps]{}, err
		}
		return Props(MailboxProps{Base: Base{Clerk: props}, Messages: messages()})
	}}.Handler(site)
}
