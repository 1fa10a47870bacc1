package mail

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestMailboxKeepsNewestFirstAndIsBounded(t *testing.T) {
	b := NewMailbox(3)
	for i := range 5 {
		if err := b.Send(context.Background(), Message{To: "a@example.com", Subject: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got := b.Messages()
	if len(got) != 3 {
		t.Fatalf("got %d messages, want 3", len(got))
	}
	for i, want := range []string{"4", "3", "2"} {
		if got[i].Subject != want {
			t.Errorf("message %d: got subject %q, want %q", i, got[i].Subject, want)
		}
		if got[i].SentAt.IsZero() {
			t.Errorf("message %d has no SentAt", i)
		}
	}
}

func TestFormatRefusesHeaderInjection(t *testing.T) {
	raw := string(Format("from@example.com", "to@example.com", Message{
		Subject: "Hi\r\nBcc: evil@example.com",
		Body:    "line one\n.\nline three",
		SentAt:  time.Unix(0, 0),
	}))
	head, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok {
		t.Fatalf("no header/body separator in %q", raw)
	}
	if strings.Contains(head, "\r\nBcc:") {
		t.Errorf("subject injected a header:\n%s", head)
	}
	if want := "line one\r\n.\r\nline three\r\n"; body != want {
		t.Errorf("got body %q, want %q", body, want)
	}
	if !strings.Contains(string(Format("f@x.io", "t@x.io", Message{Subject: "Grüße"})), "=?utf-8?q?") {
		t.Errorf("non-ASCII subject not encoded")
	}
}

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		url, from string
		wantAddr  string
		wantErr   bool
	}{
		{"smtp://u:p@mail.example.com", "Gatehouse <no-reply@example.com>", "mail.example.com:587", false},
		{"smtps://mail.example.com", "no-reply@example.com", "mail.example.com:465", false},
		{"smtp://mail.example.com:2525", "no-reply@example.com", "mail.example.com:2525", false},
		{"http://mail.example.com", "no-reply@example.com", "", true},
		{"smtp://", "no-reply@example.com", "", true},
		{"smtp://mail.example.com", "not an address", "", true},
	}
	for _, tt := range tests {
		s, err := ParseSMTPURL(tt.url, tt.from)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSMTPURL(%q, %q): got err %v, want error %v", tt.url, tt.from, err, tt.wantErr)
			continue
		}
		if err == nil && s.addr != tt.wantAddr {
			t.Errorf("ParseSMTPURL(%q): got addr %q, want %q", tt.url, s.addr, tt.wantAddr)
		}
		if err != nil && strings.Contains(err.Error(), ":p@") {
			t.Errorf("error leaks the password: %v", err)
		}
	}
}

// fakeSMTP answers one SMTP session on ln (offering no STARTTLS) and
// sends the lines the client wrote to the returned channel.
func fakeSMTP(ln net.Listener) <-chan []string {
	got := make(chan []string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		var lines []string
		r := bufio.NewReader(conn)
		say := func(s string) { fmt.Fprint(conn, s+"\r\n") }
		say("220 test ESMTP")
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				got <- lines
				return
			}
			line = strings.TrimRight(line, "\r\n")
			lines = append(lines, line)
			switch {
			case inData && line == ".":
				inData = false
				say("250 queued")
			case inData:
			case strings.HasPrefix(line, "EHLO"):
				say("250 test")
			case strings.HasPrefix(line, "MAIL FROM"), strings.HasPrefix(line, "RCPT TO"):
				say("250 ok")
			case line == "DATA":
				inData = true
				say("354 go ahead")
			case line == "QUIT":
				say("221 bye")
				got <- lines
				return
			default:
				say("500 unknown")
			}
		}
	}()
	return got
}

// TestSMTPSendsOverTheProtocol speaks SMTP with a minimal server on
// loopback and checks the envelope and the message it received.
func TestSMTPSendsOverTheProtocol(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := fakeSMTP(ln)
	s, err := ParseSMTPURL("smtp://"+ln.Addr().String(), "Gatehouse <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), Message{To: "bob@example.com", Subject: "You are invited", Body: "Open the link.\n.\n.dot line"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	joined := strings.Join(<-got, "\n")
	// On the wire, lines starting with a dot carry one more, once.
	for _, want := range []string{"MAIL FROM:<no-reply@example.com>", "RCPT TO:<bob@example.com>", "Subject: You are invited", "Open the link.\n..\n..dot line\n."} {
		if !strings.Contains(joined, want) {
			t.Errorf("server did not receive %q; got:\n%s", want, joined)
		}
	}
}

// TestSMTPRefusesPlaintextOffLoopback: a server that is not on loopback
// and offers no STARTTLS (or had it stripped) gets no message at all.
func TestSMTPRefusesPlaintextOffLoopback(t *testing.T) {
	var ip net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ip = n.IP
			break
		}
	}
	if ip == nil {
		t.Skip("skipping: this machine has no non-loopback IPv4 address to listen on")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skipf("skipping: cannot listen on %s: %v", ip, err)
	}
	defer ln.Close()
	got := fakeSMTP(ln)
	s, err := ParseSMTPURL("smtp://"+ln.Addr().String(), "no-reply@example.com")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), Message{To: "bob@example.com", Subject: "secret link", Body: "token=SECRET"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send without STARTTLS off loopback: got %v, want a refusal naming STARTTLS", err)
	}
	for _, line := range <-got {
		if strings.HasPrefix(line, "MAIL FROM") || strings.Contains(line, "SECRET") {
			t.Errorf("server received %q; want nothing past EHLO", line)
		}
	}
	if !isLoopback("::1") || !isLoopback("localhost") || isLoopback("mail.example.com") {
		t.Error("isLoopback misclassifies hosts")
	}
}
