package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestTrustedProxiesAcceptBareAddresses(t *testing.T) {
	env := map[string]string{
		"CLERK_SECRET_KEY":     "sk_test_" + strings.Repeat("a", 40),
		"CLERK_ENCRYPTION_KEY": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
		"TRUSTED_PROXIES":      "127.0.0.1, 10.0.0.0/8, ::1",
	}
	c, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []string{"127.0.0.1/32", "10.0.0.0/8", "::1/128"}
	if !reflect.DeepEqual(c.TrustedProxies, want) {
		t.Errorf("TrustedProxies: got %q, want %q", c.TrustedProxies, want)
	}
	env["TRUSTED_PROXIES"] = "not-an-ip"
	if _, err := Load(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "TRUSTED_PROXIES") {
		t.Errorf("a bad TRUSTED_PROXIES: got %v, want an error naming it", err)
	}
	delete(env, "TRUSTED_PROXIES")
}
