package identity

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"
)

// codeService is a service with verified sign-ups whose mail lands in
// sent (the newest last).
func codeService(t *testing.T) (*Service, *[]CodeMail) {
	t.Helper()
	var sent []CodeMail
	svc, _ := newServiceWith(t, fastParams, func(c *Config) {
		c.SignUpVerification = SignUpEmailCode
		c.SendCode = func(_ context.Context, m CodeMail) error { sent = append(sent, m); return nil }
	})
	return svc, &sent
}

func codeOf(t *testing.T, sent []CodeMail) string {
	t.Helper()
	if len(sent) == 0 {
		t.Fatal("no code was sent")
	}
	c := sent[len(sent)-1].Code
	if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(c) {
		t.Fatalf("code %q: want six digits", c)
	}
	return c
}

func errCode(err error) string {
	if e, ok := AsError(err); ok {
		return e.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestCodeRules(t *testing.T) {
	ctx := context.Background()
	in := SignUpInput{EmailAddress: "cody@example.com", Password: "a long passphrase 9"}

	t.Run("stored as a keyed hash", func(t *testing.T) {
		svc, sent := codeService(t)
		a, err := svc.StartSignUp(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		code := codeOf(t, *sent)
		c, err := svc.store.GetCode(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(c.Hash, []byte(code)) || len(c.Hash) != 32 {
			t.Errorf("stored code: got %x, want a 32-byte hash without the code", c.Hash)
		}
		other, _ := newServiceWith(t, fastParams, func(c *Config) { c.CodeKey = bytes.Repeat([]byte{7}, 32) })
		if bytes.Equal(other.codeHash(a.ID, code), c.Hash) {
			t.Error("the hash does not depend on the key")
		}
	})

	t.Run("right code once", func(t *testing.T) {
		svc, sent := codeService(t)
		a, _ := svc.StartSignUp(ctx, in)
		code := codeOf(t, *sent)
		if _, err := svc.AttemptSignUp(ctx, a.ID, code, "", ""); err != nil {
			t.Fatalf("right code: %v", err)
		}
		if _, err := svc.AttemptSignUp(ctx, a.ID, code, "", ""); err == nil {
			t.Error("replayed code: got a second sign-up, want a refusal")
		}
	})

	t.Run("five wrong attempts fail it", func(t *testing.T) {
		svc, sent := codeService(t)
		a, _ := svc.StartSignUp(ctx, in)
		code := codeOf(t, *sent)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for i := 1; i <= 5; i++ {
			want := "form_code_incorrect"
			if i == 5 {
				want = "verification_failed"
			}
			if got := errCode(svcAttempt(svc, a.ID, wrong)); got != want {
				t.Errorf("wrong attempt %d: got %s, want %s", i, got, want)
			}
		}
		if got := errCode(svcAttempt(svc, a.ID, code)); got != "verification_failed" {
			t.Errorf("right code after failing: got %s, want verification_failed", got)
		}
	})

	t.Run("expired after ten minutes", func(t *testing.T) {
		svc, sent := codeService(t)
		svc.now = func() time.Time { return time.Now().Add(-11 * time.Minute) }
		a, err := svc.StartSignUp(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		svc.now = time.Now
		if got := errCode(svcAttempt(svc, a.ID, codeOf(t, *sent))); got != "verification_expired" {
			t.Errorf("code sent 11 min ago: got %s, want verification_expired", got)
		}
	})

	t.Run("resend throttled, and replaces the code", func(t *testing.T) {
		svc, sent := codeService(t)
		a, _ := svc.StartSignUp(ctx, in)
		first := codeOf(t, *sent)
		_, err := svc.ResendSignUpCode(ctx, a.ID)
		if e, ok := AsError(err); !ok || e.Code != "verification_code_too_many_requests" || e.RetryAfter <= 0 {
			t.Fatalf("resend at once: got %v, want verification_code_too_many_requests with a wait", err)
		}
		svc.now = func() time.Time { return time.Now().Add(31 * time.Second) }
		if _, err := svc.ResendSignUpCode(ctx, a.ID); err != nil {
			t.Fatalf("resend after 31 s: %v", err)
		}
		second := codeOf(t, *sent)
		if first != second {
			if got := errCode(svcAttempt(svc, a.ID, first)); got != "form_code_incorrect" {
				t.Errorf("old code after a resend: got %s, want form_code_incorrect", got)
			}
		}
		if got := errCode(svcAttempt(svc, a.ID, second)); got != "" {
			t.Errorf("new code: got %s, want success", got)
		}
	})

	t.Run("test code only in development", func(t *testing.T) {
		svc, sent := codeService(t)
		a, _ := svc.StartSignUp(ctx, SignUpInput{EmailAddress: "x+clerk_test@example.com", Password: in.Password})
		if len(*sent) != 1 {
			t.Errorf("outside development, mails to a +clerk_test address: got %d, want 1", len(*sent))
		}
		if got := errCode(svcAttempt(svc, a.ID, testCode)); got != "form_code_incorrect" {
			t.Errorf("424242 outside development: got %s, want form_code_incorrect", got)
		}
		svc.cfg.Development = true
		b, _ := svc.StartSignUp(ctx, SignUpInput{EmailAddress: "y+clerk_test@example.com", Password: in.Password})
		if len(*sent) != 1 {
			t.Errorf("in development, mails to a +clerk_test address: got %d more, want none", len(*sent)-1)
		}
		if got := errCode(svcAttempt(svc, b.ID, testCode)); got != "" {
			t.Errorf("424242 in development: got %s, want success", got)
		}
	})
}

func svcAttempt(svc *Service, id, code string) error {
	_, err := svc.AttemptSignUp(context.Background(), id, code, "", "")
	return err
}
