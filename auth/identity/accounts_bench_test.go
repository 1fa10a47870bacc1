package identity

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/identity/password"
)

// The cost of the account flows next to a sign-in, with the production
// argon2id parameters and SQLite on disk (docs/performance.md). Test
// addresses (+clerk_test) take the code 424242 and send no mail, so the
// numbers are the server's own work.

func benchService(b *testing.B) *Service {
	b.Helper()
	svc, _ := newServiceWith(b, password.DefaultParams, func(c *Config) {
		c.Development = true
		c.SignUpVerification = SignUpEmailCode
	})
	return svc
}

func BenchmarkSignIn(b *testing.B) {
	svc := benchService(b)
	ctx := context.Background()
	svc.cfg.SignUpVerification = SignUpNoCode
	if _, err := svc.SignUp(ctx, SignUpInput{EmailAddress: "bench@example.com", Password: "a bench passphrase 1"}, "", ""); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := svc.SignIn(ctx, "bench@example.com", "a bench passphrase 1", "", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignUpWithCode is a whole verified sign-up: the attempt (one
// argon2id hash), the code, the user and the first session.
func BenchmarkSignUpWithCode(b *testing.B) {
	svc := benchService(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		a, err := svc.StartSignUp(ctx, SignUpInput{EmailAddress: fmt.Sprintf("new%d+clerk_test@example.com", i), Password: "a bench passphrase 1"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.AttemptSignUp(ctx, a.ID, testCode, "", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPasswordReset is a whole reset: the attempt and its code, the
// code checked, the new password (checked against the old one: two
// argon2id operations) and the session.
func BenchmarkPasswordReset(b *testing.B) {
	svc := benchService(b)
	ctx := context.Background()
	svc.cfg.SignUpVerification = SignUpNoCode
	email := "reset+clerk_test@example.com"
	if _, err := svc.SignUp(ctx, SignUpInput{EmailAddress: email, Password: "a bench passphrase 0"}, "", ""); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		a, err := svc.StartPasswordReset(ctx, email)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.AttemptResetCode(ctx, a.ID, testCode); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.ResetPassword(ctx, a.ID, fmt.Sprintf("a bench passphrase %d", i), true, "", ""); err != nil {
			b.Fatal(err)
		}
	}
}
