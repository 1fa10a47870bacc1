package social

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" = accepted; else a part of the message
	}{
		{"google preset", Config{Name: "google", ClientID: "id", ClientSecret: "s"}, ""},
		{"github preset", Config{Name: "github", ClientID: "id", ClientSecret: "s"}, ""},
		{"custom with issuer", Config{Name: "acme", ClientID: "id", ClientSecret: "s", Issuer: "https://id.acme.example"}, ""},
		{"missing secret", Config{Name: "google", ClientID: "id"}, "OAUTH_GOOGLE_CLIENT_SECRET"},
		{"missing client id", Config{Name: "github", ClientSecret: "s"}, "OAUTH_GITHUB_CLIENT_ID"},
		{"custom without issuer", Config{Name: "acme", ClientID: "id", ClientSecret: "s"}, "OAUTH_ACME_ISSUER"},
		{"name with a digit", Config{Name: "acme2", ClientID: "id", ClientSecret: "s", Issuer: "https://x"}, "not a provider name"},
		{"upper-case name", Config{Name: "Acme", ClientID: "id", ClientSecret: "s", Issuer: "https://x"}, "not a provider name"},
		{"bad tenant", Config{Name: "microsoft", ClientID: "id", ClientSecret: "s", Tenant: "a/b"}, "OAUTH_MICROSOFT_TENANT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckConfig(tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want accepted", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrConfig)):
				t.Errorf("got %v, want an ErrConfig naming %q", err, tc.want)
			}
		})
	}
}

func TestNewRefusesInsecureIssuer(t *testing.T) {
	for _, tc := range []struct {
		issuer        string
		allowLoopback bool
		want          bool // accepted up to discovery
	}{
		{"http://id.example.com", true, false},
		{"http://127.0.0.1:1", false, false},
		{"http://127.0.0.1:1", true, true},
		{"http://localhost:1", true, true},
		{"ftp://id.example.com", true, false},
	} {
		cfg := Config{Name: "acme", ClientID: "id", ClientSecret: "s", Issuer: tc.issuer}
		_, err := New(context.Background(), cfg, Options{AppURL: "https://app.example", AllowInsecureLoopback: tc.allowLoopback, LazyDiscovery: true})
		if got := err == nil; got != tc.want {
			t.Errorf("issuer %s (loopback allowed %v): got accepted=%v (%v), want %v", tc.issuer, tc.allowLoopback, got, err, tc.want)
		}
	}
}

func TestProductionDiscoveryFailureStopsStart(t *testing.T) {
	// Nothing listens on port 1: discovery fails at once.
	cfg := Config{Name: "acme", ClientID: "id", ClientSecret: "s", Issuer: "http://127.0.0.1:1"}
	_, err := New(context.Background(), cfg, Options{AppURL: "https://app.example", AllowInsecureLoopback: true})
	if err == nil || !strings.Contains(err.Error(), "discovery") {
		t.Fatalf("got %v, want a discovery error", err)
	}
	p, err := New(context.Background(), cfg, Options{AppURL: "https://app.example", AllowInsecureLoopback: true, LazyDiscovery: true})
	if err != nil || !p.DiscoveryPending() {
		t.Fatalf("lazy: got %v (pending %v), want a provider waiting for discovery", err, p != nil && p.DiscoveryPending())
	}
	if _, err := p.AuthCodeURL(context.Background(), "s", "v", "n"); err == nil {
		t.Errorf("AuthCodeURL with discovery still failing: got nil error")
	}
}

func TestMicrosoftIssuer(t *testing.T) {
	const tid, consumers = "72f988bf-86f1-41af-91ab-2d7cd011db47", "9188040d-6c67-4c5b-b112-36a304b66dad"
	iss := func(t string) string { return "https://login.microsoftonline.com/" + t + "/v2.0" }
	for _, tc := range []struct {
		tenant, iss, tid string
		ok               bool
	}{
		{"common", iss(tid), tid, true},
		{"common", iss(tid), "", false},
		{"common", iss(tid), consumers, false}, // issuer of another tenant
		{"common", "https://evil.example/" + tid + "/v2.0", tid, false},
		{"organizations", iss(consumers), consumers, false},
		{"consumers", iss(tid), tid, false},
		{"consumers", iss(consumers), consumers, true},
		{tid, iss(tid), tid, true},
		{tid, iss(consumers), consumers, false},
	} {
		err := microsoftIssuer(tc.tenant)(tc.iss, map[string]any{"tid": tc.tid})
		if got := err == nil; got != tc.ok {
			t.Errorf("tenant %s, iss %s, tid %q: got ok=%v (%v), want %v", tc.tenant, tc.iss, tc.tid, got, err, tc.ok)
		}
	}
}

func TestEmailVerifiedClaims(t *testing.T) {
	for _, tc := range []struct {
		claims        map[string]any
		std, microsft bool
	}{
		{map[string]any{"email_verified": true}, true, false},
		{map[string]any{"email_verified": "true"}, true, false},
		{map[string]any{"email_verified": false}, false, false},
		{map[string]any{}, false, false},
		{map[string]any{"xms_edov": true, "email_verified": true}, true, true},
		{map[string]any{"xms_edov": "true"}, false, false},
	} {
		if got := claimEmailVerified(tc.claims); got != tc.std {
			t.Errorf("claimEmailVerified(%v): got %v, want %v", tc.claims, got, tc.std)
		}
		if got := microsoftEmailVerified(tc.claims); got != tc.microsft {
			t.Errorf("microsoftEmailVerified(%v): got %v, want %v", tc.claims, got, tc.microsft)
		}
	}
}

func TestHTTPSURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://img.example/a.png": "https://img.example/a.png",
		"http://img.example/a.png":  "",
		"javascript:alert(1)":       "",
		"https:///nohost":           "",
		"":                          "",
	} {
		if got := httpsURL(in); got != want {
			t.Errorf("httpsURL(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestStrategy(t *testing.T) {
	for name, want := range map[string]string{"google": "oauth_google", "github": "oauth_github", "microsoft": "oauth_microsoft", "acme": "oauth_custom_acme"} {
		if got := Strategy(name); got != want {
			t.Errorf("Strategy(%q): got %q, want %q", name, got, want)
		}
	}
}
