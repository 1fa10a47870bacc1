// Package mail delivers Gatehouse's email (verification codes, password
// resets, organization invitations) through a [Sender]. Development uses a [Mailbox] that keeps the
// messages in memory for the /dev/mailbox page; production sends through
// an SMTP server with [SMTP].
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Message is one email: plain text, and optionally the same as HTML.
type Message struct {
	To      string
	Subject string
	Body    string // plain text
	HTML    string // the HTML alternative; "" sends plain text only
	// Link is the one action the message is about (an invitation link),
	// shown as a button by the development mailbox.
	Link   string
	SentAt time.Time
}

// Sender delivers messages. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Mailbox is the development [Sender]: it keeps the newest messages in
// memory so a developer can open them at /dev/mailbox without a mail
// server.
type Mailbox struct {
	mu   sync.Mutex
	max  int
	msgs []Message // oldest first
}

// NewMailbox returns a mailbox that keeps the newest max messages (100
// when max < 1), so a long-running dev server cannot grow without bound.
func NewMailbox(max int) *Mailbox {
	if max < 1 {
		max = 100
	}
	return &Mailbox{max: max}
}

// Send stores m.
func (b *Mailbox) Send(_ context.Context, m Message) error {
	if m.SentAt.IsZero() {
		m.SentAt = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
	if over := len(b.msgs) - b.max; over > 0 {
		b.msgs = slices.Delete(b.msgs, 0, over)
	}
	return nil
}

// Messages returns the kept messages, newest first.
func (b *Mailbox) Messages() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Clone(b.msgs)
	slices.Reverse(out)
	return out
}

// SMTP sends messages through an SMTP server, with STARTTLS when the server
// offers it (required unless the server is on loopback) and PLAIN
// authentication when the URL carries credentials.
type SMTP struct {
	addr, host string
	user, pass string
	from       string
	implicit   bool // smtps://: TLS from the first byte
	timeout    time.Duration
}

// ParseSMTPURL reads SMTP_URL ("smtp://user:pass@host:587" or
// "smtps://user:pass@host:465") and the sender address MAIL_FROM.
func ParseSMTPURL(raw, from string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, errors.New("mail: SMTP_URL must look like smtp://user:password@host:587 or smtps://user:password@host:465")
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, errors.New("mail: MAIL_FROM must be an email address")
	}
	s := &SMTP{host: u.Hostname(), from: addr.Address, implicit: u.Scheme == "smtps", timeout: 30 * time.Second}
	port := u.Port()
	if port == "" {
		port = "587"
		if s.implicit {
			port = "465"
		}
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	return s, nil
}

// Send delivers m.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("mail: recipient: %w", err)
	}
	d := net.Dialer{Timeout: s.timeout}
	var conn net.Conn
	if s.implicit {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: s.host}}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return fmt.Errorf("mail: connect: %w", err)
	}
	deadline := time.Now().Add(s.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: greeting: %w", err)
	}
	defer c.Close()
	if !s.implicit {
		switch ok, _ := c.Extension("STARTTLS"); {
		case ok:
			if err := c.StartTLS(&tls.Config{ServerName: s.host}); err != nil {
				return fmt.Errorf("mail: starttls: %w", err)
			}
		case !isLoopback(s.host):
			// Invitation links carry secrets: never send them in the
			// clear across a network, even if a middlebox strips STARTTLS.
			return errors.New("mail: the SMTP server does not offer STARTTLS; refusing to send in plaintext")
		}
	}
	if s.user != "" {
		// smtp.PlainAuth refuses to send credentials without TLS except
		// to localhost, which is the rule we want.
		if err := c.Auth(smtp.PlainAuth("", s.user, s.pass, s.host)); err != nil {
			return fmt.Errorf("mail: auth: %w", err)
		}
	}
	if err := c.Mail(s.from); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("mail: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	// The DATA writer dot-stuffs lines itself.
	if _, err := w.Write(Format(s.from, to.Address, m)); err != nil {
		return fmt.Errorf("mail: write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: end of data: %w", err)
	}
	return c.Quit()
}

// Format renders m as an RFC 5322 message with CRLF line endings. Header
// values are stripped of line breaks so no input can add a header. Lines
// are not dot-stuffed: that is the SMTP transport's job.
func Format(from, to string, m Message) []byte {
	clean := strings.NewReplacer("\r", " ", "\n", " ")
	date := m.SentAt
	if date.IsZero() {
		date = time.Now()
	}
	var b strings.Builder
	b.WriteString("From: " + clean.Replace(from) + "\r\n")
	b.WriteString("To: " + clean.Replace(to) + "\r\n")
	b.WriteString("Subject: " + mimeHeader(clean.Replace(m.Subject)) + "\r\n")
	b.WriteString("Date: " + date.UTC().Format(time.RFC1123Z) + "\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	if m.HTML == "" {
		writePart(&b, "text/plain", m.Body)
		return []byte(b.String())
	}
	boundary := "gatehouse-" + strconv.FormatInt(date.UnixNano(), 36)
	b.WriteString("Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n")
	for _, p := range []struct{ typ, body string }{{"text/plain", m.Body}, {"text/html", m.HTML}} {
		b.WriteString("--" + boundary + "\r\n")
		writePart(&b, p.typ, p.body)
	}
	b.WriteString("--" + boundary + "--\r\n")
	return []byte(b.String())
}

// writePart writes a Content-Type header, a blank line and body with CRLF
// line endings.
func writePart(b *strings.Builder, typ, body string) {
	b.WriteString("Content-Type: " + typ + "; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: 8bit\r\n\r\n")
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
	b.WriteString(body)
	if !strings.HasSuffix(body, "\r\n") {
		b.WriteString("\r\n")
	}
}

func mimeHeader(s string) string {
	for _, r := range s {
		if r > 127 {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
