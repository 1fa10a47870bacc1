package components

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// signedInProps returns the SSR state of a signed-in request for user, as
// a page loader gets it: a session token verified by the auth middleware,
// then BuildClerkProps.
func signedInProps(b *testing.B, user *auth.User) auth.ClerkProps {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		b.Fatal(err)
	}
	key, err := token.ParsePrivateKeyPEM(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	if err != nil {
		b.Fatal(err)
	}
	keys := token.NewKeyring(key)
	const origin = "http://localhost:3000"
	now := time.Now().Unix()
	tok, err := keys.SignSession(&token.Claims{Issuer: origin, Subject: user.ID, SessionID: "sess_" + strings.Repeat("1", 22),
		IssuedAt: now, NotBefore: now - 5, Expiry: now + 60, Version: 2, AuthorizedParty: origin, Status: "active", FVA: []int{0, -1}})
	if err != nil {
		b.Fatal(err)
	}
	v := token.NewVerifier(token.VerifierConfig{Keys: keys, Issuer: origin, AuthorizedParties: []string{origin}, TokenTTL: time.Minute})
	r := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	var props auth.ClerkProps
	auth.Middleware(auth.Options{SecretKey: "sk_test_" + strings.Repeat("0", 48), Verifier: v})(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		props, err = auth.BuildClerkProps(r, auth.InitState{User: user})
	})).ServeHTTP(httptest.NewRecorder(), r)
	if err != nil || !props.Auth().IsAuthenticated {
		b.Fatalf("BuildClerkProps: got %v, signed in %v; want signed in", err, props.Auth().IsAuthenticated)
	}
	return props
}

// BenchmarkLayoutRender renders the layout around a small page body, signed
// in (the user button, the user in the SSR state) and signed out.
func BenchmarkLayoutRender(b *testing.B) {
	first, last, email := "Bench", "User", "idn_"+strings.Repeat("2", 22)
	user := &auth.User{Object: "user", ID: "user_" + strings.Repeat("1", 22), FirstName: &first, LastName: &last,
		PrimaryEmailAddressID: &email, EmailAddresses: []auth.EmailAddress{{Object: "email_address", ID: email, EmailAddress: "bench@example.com"}},
		PublicMetadata: []byte("{}"), UnsafeMetadata: []byte("{}")}
	env := ClientEnv{PublishableKey: "pk_test_bG9jYWxob3N0OjMwMDAk", FrontendAPI: "/__clerk/v1", SignInURL: "/sign-in", SignUpURL: "/sign-up", AfterSignOutURL: "/"}
	body := templ.Raw(`<h1 class="page-title">Dashboard</h1><p class="lead">A page body.</p>`)
	for _, tc := range []struct {
		name  string
		state auth.ClerkProps
	}{
		{"signed in", signedInProps(b, user)},
		{"signed out", auth.SignedOutProps()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := templ.WithChildren(templ.WithNonce(context.Background(), "bm9uY2Utbm9uY2Utbm9uY2U"), body)
			layout := Layout(LayoutProps{Title: "Dashboard", Path: "/dashboard", State: tc.state, Env: env})
			b.ReportAllocs()
			for b.Loop() {
				if err := layout.Render(ctx, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
