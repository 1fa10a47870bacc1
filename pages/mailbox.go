package pages

import (
	"encoding/json"
	"net/http"
	"strings"
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
	HTML              string
	// Link is the one action the message is about (an invitation link).
	Link   string
	SentAt time.Time
}

// Mailbox shows the messages the development mail sender kept: the
// invitations a developer would otherwise need a mail server to read. It
// is mounted only in development.
//
// Asked for JSON (Accept: application/json) it answers the messages as
// [{"to","subject","text","html","sent_at"}], newest first, for scripts
// and tests.
func Mailbox(site *Site, messages func() []MailMessage) http.Handler {
	page := Page[MailboxProps]{Name: "mailbox", Title: "Development mailbox", View: mailboxView, Load: func(r *http.Request) (Result[MailboxProps], error) {
		props, err := auth.BuildClerkProps(r)
		if err != nil {
			return Result[MailboxProps]{}, err
		}
		return Props(MailboxProps{Base: Base{Clerk: props}, Messages: messages()})
	}}.Handler(site)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept"), "application/json") {
			page.ServeHTTP(w, r)
			return
		}
		type message struct {
			To      string    `json:"to"`
			Subject string    `json:"subject"`
			Text    string    `json:"text"`
			HTML    string    `json:"html"`
			SentAt  time.Time `json:"sent_at"`
		}
		out := []message{}
		for _, m := range messages() {
			out = append(out, message{To: m.To, Subject: m.Subject, Text: m.Body, HTML: m.HTML, SentAt: m.SentAt})
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(out)
	})
}
