package identity

import (
	"context"
	"testing"
	"time"
)

// TestSignInDelaysGrow: from the third failure on, an address must wait
// before its next attempt, twice as long after each failure; the answer
// is the same for an address nobody has; the right password after the
// wait works and ends the run; a wait refused is not a failure.
func TestSignInDelaysGrow(t *testing.T) {
	svc, _ := newServiceWith(t, fastParams, func(c *Config) { c.SignInDelay = time.Second })
	ctx := context.Background()
	const email, pw = "slow@example.com", "a slow passphrase 1"
	if _, err := svc.SignUp(ctx, SignUpInput{EmailAddress: email, Password: pw}, "", ""); err != nil {
		t.Fatal(err)
	}
	base := time.Now()
	at := func(d time.Duration) { svc.now = func() time.Time { return base.Add(d) } }
	try := func(addr, pw string) string {
		_, err := svc.SignIn(ctx, addr, pw, "", "")
		return errCode(err)
	}
	for _, addr := range []string{email, "nobody@example.com"} {
		at(0)
		for i := 1; i <= 3; i++ {
			if got := try(addr, "wrong guess 1"); got != "form_password_incorrect" {
				t.Fatalf("%s failure %d: got %s, want form_password_incorrect", addr, i, got)
			}
		}
		if got := try(addr, "wrong guess 2"); got != "too_many_requests" {
			t.Errorf("%s: 4th attempt at once: got %s, want too_many_requests", addr, got)
		}
	}
	// The refused attempt did not count: after 1 s one more try is
	// allowed, and then the wait is 2 s.
	at(1100 * time.Millisecond)
	if got := try(email, "wrong guess 3"); got != "form_password_incorrect" {
		t.Fatalf("after 1 s: got %s, want form_password_incorrect", got)
	}
	svc.now = func() time.Time { return time.Now().Add(1500 * time.Millisecond) }
	if got := try(email, pw); got != "too_many_requests" {
		t.Errorf("right password 1.5 s after the 4th failure: got %s, want too_many_requests (2 s wait)", got)
	}
	svc.now = func() time.Time { return time.Now().Add(2100 * time.Millisecond) }
	if got := try(email, pw); got != "" {
		t.Fatalf("right password after the wait: got %s, want success", got)
	}
	if got := try(email, "wrong guess 4"); got != "form_password_incorrect" {
		t.Errorf("after a success the run starts again: got %s, want form_password_incorrect", got)
	}
}
