package browser

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// TestBrowserTwoStep: a person sets up an authenticator app from the QR
// page (the test computes the code from the secret the page shows, as the
// app would from the QR code), keeps the backup codes, signs out, and
// signs in again in two steps: the password, then the code. Without the
// code there is no session. With GATEHOUSE_SCREENSHOTS=1 the pages are
// saved at desktop and phone width (screenshotDir).
func TestBrowserTwoStep(t *testing.T) {
	ctx := newBrowser(t, 120*time.Second)
	ta := startApp(t, nil)
	const email, password = "twostep@example.com", "correct horse battery"
	u := ta.CreateUser(t, email, password, "Tess", "Twostep")
	signInWithForm(t, ctx, ta, email, password)

	act(t, ctx, "open /profile/two-step", chromedp.Navigate(ta.URL+"/profile/two-step"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/profile/two-step/start"] button`)))
	screenshot(t, ctx, "two-step-off")
	act(t, ctx, "start the set-up", chromedp.Click(chromedp.CSS(`form[action="/profile/two-step/start"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="totp-qr"]`)))
	// The QR code is an image the browser could decode (the CSP allows
	// data: images), not a sanitised placeholder.
	if w := eval[float64](t, ctx, "the QR code's width", `document.querySelector('[data-testid="totp-qr"]').naturalWidth`); w < 100 {
		t.Errorf("the QR code image: got natural width %v, want a rendered PNG (≥ 100 px)", w)
	}
	secret := strings.TrimSpace(eval[string](t, ctx, "the secret", `document.querySelector('[data-testid="totp-secret"]').textContent`))
	if len(secret) != 32 {
		t.Fatalf("the secret shown: got %q, want 32 base32 characters (160 bits)", secret)
	}
	screenshot(t, ctx, "two-step-enrol")
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	act(t, ctx, "enter the first code", chromedp.SendKeys(chromedp.CSS(`#code`), code),
		chromedp.Click(chromedp.CSS(`form[action="/profile/two-step/confirm"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="backup-codes"]`)))
	codes := eval[[]string](t, ctx, "the backup codes",
		`[...document.querySelectorAll('[data-testid="backup-codes"] li')].map((li) => li.textContent.trim())`)
	if len(codes) != 10 {
		t.Fatalf("backup codes shown: got %d (%q), want 10", len(codes), codes)
	}
	screenshot(t, ctx, "two-step-backup-codes")

	act(t, ctx, "open the user menu",
		chromedp.Navigate(ta.URL+"/dashboard"),
		chromedp.Click(chromedp.CSS(`details.user-button > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`details.user-button form[data-clerk-sign-out] button`)))
	act(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`details.user-button form[data-clerk-sign-out] button`)))
	waitPage(t, ctx, "signed out", 10*time.Second, func(p pageInfo) bool {
		return p.Ready == "complete" && p.SSR != nil && !p.SSR.IsAuthenticated
	})

	act(t, ctx, "sign in with the password", chromedp.Navigate(ta.URL+"/sign-in"), chromedp.WaitVisible(chromedp.CSS(`#identifier`)),
		chromedp.SendKeys(chromedp.CSS(`#identifier`), email), chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`form[action="/sign-in"] button[type="submit"]`)))
	p := waitPage(t, ctx, "the second step", 10*time.Second, loadedPath("/sign-in/factor-two"))
	if p.SSR != nil && p.SSR.IsAuthenticated {
		t.Fatalf("after the password alone: got signed in (%s), want no session before the code", p)
	}
	screenshot(t, ctx, "sign-in-factor-two")
	// The step of the first code is spent: the app's next code is accepted.
	next, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	act(t, ctx, "enter the authenticator code", chromedp.SendKeys(chromedp.CSS(`#code`), next),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
	p = waitPage(t, ctx, "signed in", 10*time.Second, func(p pageInfo) bool {
		return p.Ready == "complete" && p.SSR != nil && p.SSR.IsAuthenticated
	})
	if p.SSR.UserID == nil || *p.SSR.UserID != u.ID {
		t.Errorf("after the code: signed in as %s, want %s", deref(p.SSR.UserID), u.ID)
	}
	if fva := p.SSR.FactorVerificationAge; len(fva) != 2 || fva[1] != 0 {
		t.Errorf("fva after the second factor: got %v, want [n 0]", fva)
	}
	act(t, ctx, "open /reverify", chromedp.Navigate(ta.URL+"/reverify?redirect_url=%2Fprofile"))
	time.Sleep(300 * time.Millisecond)
	screenshot(t, ctx, "reverify")
}
