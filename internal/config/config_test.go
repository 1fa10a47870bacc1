package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	testSecret     = "sk_test_0123456789abcdefghijklmnopqrstuvwxyzABCD"
	testLiveSecret = "sk_live_0123456789abcdefghijklmnopqrstuvwxyzABCD"
)

var testEncKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

func env(over map[string]string) func(string) string {
	vars := map[string]string{"CLERK_SECRET_KEY": testSecret, "CLERK_ENCRYPTION_KEY": testEncKey}
	for k, v := range over {
		vars[k] = v
	}
	return func(k string) string { return vars[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"AppURL", c.AppURL, "http://localhost:3000"},
		{"AppOrigin", c.AppOrigin, "http://localhost:3000"},
		{"Port", c.Port, 3000},
		{"Production", c.Production, false},
		{"Secure", c.Secure(), false},
		{"PublishableKey", c.PublishableKey, "pk_test_" + base64.StdEncoding.EncodeToString([]byte("localhost:3000$"))},
		{"DatabaseURL", c.DatabaseURL, "sqlite:data/gatehouse.db"},
		{"SignInURL", c.SignInURL, "/sign-in"},
		{"SignUpURL", c.SignUpURL, "/sign-up"},
		{"SignInFallbackRedirectURL", c.SignInFallbackRedirectURL, "/dashboard"},
		{"SignUpFallbackRedirect", c.SignUpFallbackRedirect, "/dashboard"},
		{"AfterSignOutURL", c.AfterSignOutURL, "/"},
		{"SessionMaxAge", c.SessionMaxAge, 168 * time.Hour},
		{"SessionTokenTTL", c.SessionTokenTTL, 60 * time.Second},
		{"AuthorizedParties", strings.Join(c.AuthorizedParties, ","), "http://localhost:3000"},
		{"EncryptionKey length", len(c.EncryptionKey), 32},
		{"LoadTestRoutes", c.LoadTestRoutes, false},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if got, want := c.PublishableKey, "pk_test_bG9jYWxob3N0OjMwMDAk"; got != want {
		t.Errorf("PublishableKey: got %q, want %q", got, want)
	}
}

func TestLoadDerived(t *testing.T) {
	for _, tc := range []struct {
		name  string
		over  map[string]string
		check func(*Config) (got, want any)
	}{
		{"PORT moves the default APP_URL", map[string]string{"PORT": "4000"}, func(c *Config) (any, any) { return c.AppURL, "http://localhost:4000" }},
		{"trailing slash of APP_URL dropped", map[string]string{"APP_URL": "https://app.example.com/"}, func(c *Config) (any, any) { return c.AppURL, "https://app.example.com" }},
		{"https is Secure", map[string]string{"APP_URL": "https://app.example.com"}, func(c *Config) (any, any) { return c.Secure(), true }},
		{"publishable key of APP_URL host", map[string]string{"APP_URL": "https://app.example.com"}, func(c *Config) (any, any) {
			return c.PublishableKey, "pk_test_" + base64.StdEncoding.EncodeToString([]byte("app.example.com$"))
		}},
		{"live key gives pk_live_", map[string]string{"CLERK_SECRET_KEY": testLiveSecret}, func(c *Config) (any, any) {
			return c.PublishableKey, "pk_live_" + base64.StdEncoding.EncodeToString([]byte("localhost:3000$"))
		}},
		{"explicit publishable key", map[string]string{"CLERK_PUBLISHABLE_KEY": "pk_test_abc"}, func(c *Config) (any, any) { return c.PublishableKey, "pk_test_abc" }},
		{"authorized parties", map[string]string{"CLERK_AUTHORIZED_PARTIES": "http://localhost:3000, https://app.example.com/"}, func(c *Config) (any, any) {
			return strings.Join(c.AuthorizedParties, ","), "http://localhost:3000,https://app.example.com"
		}},
		{"escaped PEM", map[string]string{"CLERK_SIGNING_KEY": `-----BEGIN X-----\nabc\n-----END X-----`}, func(c *Config) (any, any) {
			return c.SigningKeyPEM, "-----BEGIN X-----\nabc\n-----END X-----"
		}},
		{"token TTL", map[string]string{"SESSION_TOKEN_TTL": "2s"}, func(c *Config) (any, any) { return c.SessionTokenTTL, 2 * time.Second }},
		{"organizations not required by default", nil, func(c *Config) (any, any) { return c.OrganizationsRequired, false }},
		{"organizations required", map[string]string{"CLERK_ORGANIZATIONS_REQUIRED": "true"}, func(c *Config) (any, any) { return c.OrganizationsRequired, true }},
		{"admin user ids", map[string]string{"ADMIN_USER_IDS": " user_a, ,user_b "}, func(c *Config) (any, any) { return strings.Join(c.AdminUserIDs, ","), "user_a,user_b" }},
		{"admin emails lower-cased", map[string]string{"ADMIN_EMAILS": "Root@Example.com,ops@example.com"}, func(c *Config) (any, any) {
			return strings.Join(c.AdminEmails, ","), "root@example.com,ops@example.com"
		}},
		{"load-test routes in development", map[string]string{"GATEHOUSE_LOADTEST_ROUTES": "1"}, func(c *Config) (any, any) { return c.LoadTestRoutes, true }},
		{"production with https and a live key", map[string]string{"APP_ENV": "production", "APP_URL": "https://app.example.com", "CLERK_SECRET_KEY": testLiveSecret}, func(c *Config) (any, any) {
			return c.Production, true
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.over))
			if err != nil {
				t.Fatalf("Load: got error %v, want nil", err)
			}
			if got, want := tc.check(c); got != want {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		over     map[string]string
		wantText []string
	}{
		{"missing secret key", map[string]string{"CLERK_SECRET_KEY": ""}, []string{"CLERK_SECRET_KEY", "gatehouse init"}},
		{"blank secret key", map[string]string{"CLERK_SECRET_KEY": "   "}, []string{"CLERK_SECRET_KEY", "gatehouse init"}},
		{"malformed secret key", map[string]string{"CLERK_SECRET_KEY": "sk_test_short"}, []string{"CLERK_SECRET_KEY"}},
		{"secret key of another kind", map[string]string{"CLERK_SECRET_KEY": "pk_test_0123456789abcdefghijklmnopqrstuvwxyzABCD"}, []string{"CLERK_SECRET_KEY"}},
		{"secret key with symbols", map[string]string{"CLERK_SECRET_KEY": "sk_test_0123456789abcdefghijklmnopqrstuvwxyz-_!@"}, []string{"CLERK_SECRET_KEY"}},
		{"missing encryption key", map[string]string{"CLERK_ENCRYPTION_KEY": ""}, []string{"CLERK_ENCRYPTION_KEY", "gatehouse init"}},
		{"short encryption key", map[string]string{"CLERK_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString([]byte("short"))}, []string{"CLERK_ENCRYPTION_KEY"}},
		{"production over http", map[string]string{"APP_ENV": "production", "APP_URL": "http://app.example.com", "CLERK_SECRET_KEY": testLiveSecret}, []string{"APP_URL", "https"}},
		{"production with a test key", map[string]string{"APP_ENV": "production", "APP_URL": "https://app.example.com"}, []string{"sk_live_"}},
		{"unknown APP_ENV", map[string]string{"APP_ENV": "staging"}, []string{"APP_ENV"}},
		{"APP_URL with a path", map[string]string{"APP_URL": "https://app.example.com/app"}, []string{"APP_URL"}},
		{"APP_URL not http", map[string]string{"APP_URL": "ftp://app.example.com"}, []string{"APP_URL"}},
		{"bad port", map[string]string{"PORT": "70000"}, []string{"PORT"}},
		{"bad authorized party", map[string]string{"CLERK_AUTHORIZED_PARTIES": "app.example.com"}, []string{"CLERK_AUTHORIZED_PARTIES"}},
		{"token TTL too long", map[string]string{"SESSION_TOKEN_TTL": "2h"}, []string{"SESSION_TOKEN_TTL"}},
		{"bad trusted proxy", map[string]string{"TRUSTED_PROXIES": "not-an-ip"}, []string{"TRUSTED_PROXIES"}},
		{"organizations required not a boolean", map[string]string{"CLERK_ORGANIZATIONS_REQUIRED": "yes"}, []string{"CLERK_ORGANIZATIONS_REQUIRED"}},
		{"admin id not a user id", map[string]string{"ADMIN_USER_IDS": "alice"}, []string{"ADMIN_USER_IDS"}},
		{"admin email not an address", map[string]string{"ADMIN_EMAILS": "alice"}, []string{"ADMIN_EMAILS"}},
		{"load-test routes in production", map[string]string{"APP_ENV": "production", "APP_URL": "https://app.example.com", "CLERK_SECRET_KEY": testLiveSecret, "GATEHOUSE_LOADTEST_ROUTES": "1"}, []string{"GATEHOUSE_LOADTEST_ROUTES"}},
		{"load-test routes not 1", map[string]string{"GATEHOUSE_LOADTEST_ROUTES": "yes"}, []string{"GATEHOUSE_LOADTEST_ROUTES"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.over))
			if err == nil {
				t.Fatalf("got %+v, want an error", c)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("got a multi-line message %q, want one line", err)
			}
			for _, secret := range []string{testSecret, testLiveSecret, testEncKey} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains a secret", err)
				}
			}
		})
	}
}

// unsetForTest unsets name for the test and restores it afterwards.
func unsetForTest(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "")
	os.Unsetenv(name)
}

func TestLoadDotEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	content := strings.Join([]string{
		"# a comment",
		"",
		"GATEHOUSE_TEST_SET=from-file",
		"GATEHOUSE_TEST_NEW=from-file",
		"export GATEHOUSE_TEST_EXPORTED=exported",
		`GATEHOUSE_TEST_QUOTED="quoted value"`,
		"GATEHOUSE_TEST_EMPTY_SET=from-file",
		"GATEHOUSE_TEST_EQUALS=a=b",
	}, "\n") + "\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GATEHOUSE_TEST_SET", "from-env")
	t.Setenv("GATEHOUSE_TEST_EMPTY_SET", "")
	for _, n := range []string{"GATEHOUSE_TEST_NEW", "GATEHOUSE_TEST_EXPORTED", "GATEHOUSE_TEST_QUOTED", "GATEHOUSE_TEST_EQUALS"} {
		unsetForTest(t, n)
	}
	if err := LoadDotEnv(path); err != nil {
		t.Fatalf("LoadDotEnv: %v", err)
	}
	for name, want := range map[string]string{
		"GATEHOUSE_TEST_SET":       "from-env",
		"GATEHOUSE_TEST_EMPTY_SET": "",
		"GATEHOUSE_TEST_NEW":       "from-file",
		"GATEHOUSE_TEST_EXPORTED":  "exported",
		"GATEHOUSE_TEST_QUOTED":    "quoted value",
		"GATEHOUSE_TEST_EQUALS":    "a=b",
	} {
		if got := os.Getenv(name); got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
	t.Run("missing file", func(t *testing.T) {
		if err := LoadDotEnv(filepath.Join(t.TempDir(), "nope")); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
	t.Run("bad line", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), ".env")
		os.WriteFile(bad, []byte("NOT A PAIR\n"), 0o600)
		if err := LoadDotEnv(bad); err == nil {
			t.Errorf("got nil, want an error naming the line")
		}
	})
}

// parseDotEnv reads a .env file the way LoadDotEnv does, into a map.
func parseDotEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

func TestWriteDotEnv(t *testing.T) {
	t.Run("new file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), ".env")
		added, err := WriteDotEnv(path, false)
		if err != nil {
			t.Fatalf("WriteDotEnv: %v", err)
		}
		if strings.Join(added, ",") != "CLERK_SECRET_KEY,CLERK_ENCRYPTION_KEY" {
			t.Errorf("added: got %v, want both keys", added)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("mode: got %v, want 0600", got)
		}
		vars := parseDotEnv(t, path)
		if _, err := Load(func(k string) string { return vars[k] }); err != nil {
			t.Errorf("Load of the generated secrets: got %v, want nil", err)
		}
		if !strings.HasPrefix(vars["CLERK_SECRET_KEY"], "sk_test_") {
			t.Errorf("CLERK_SECRET_KEY: got %q, want sk_test_…", vars["CLERK_SECRET_KEY"])
		}
		before, _ := os.ReadFile(path)
		added, err = WriteDotEnv(path, false)
		if err != nil || len(added) != 0 {
			t.Errorf("second WriteDotEnv: got (%v, %v), want nothing added", added, err)
		}
		if after, _ := os.ReadFile(path); string(after) != string(before) {
			t.Errorf("second WriteDotEnv changed the file:\n%s\nwant\n%s", after, before)
		}
	})
	t.Run("live", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), ".env")
		if _, err := WriteDotEnv(path, true); err != nil {
			t.Fatalf("WriteDotEnv: %v", err)
		}
		if v := parseDotEnv(t, path)["CLERK_SECRET_KEY"]; !strings.HasPrefix(v, "sk_live_") {
			t.Errorf("got %q, want sk_live_…", v)
		}
	})
	for _, tc := range []struct {
		name, existing string
		wantAdded      string
	}{
		{"only the missing key", "PORT=4000\nCLERK_SECRET_KEY=" + testSecret + "\n", "CLERK_ENCRYPTION_KEY"},
		{"exported key counts", "export CLERK_ENCRYPTION_KEY=" + testEncKey + "\n", "CLERK_SECRET_KEY"},
		{"no trailing newline", "PORT=4000", "CLERK_SECRET_KEY,CLERK_ENCRYPTION_KEY"},
		{"no trailing newline after a key", "CLERK_SECRET_KEY=" + testSecret, "CLERK_ENCRYPTION_KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".env")
			if err := os.WriteFile(path, []byte(tc.existing), 0o600); err != nil {
				t.Fatal(err)
			}
			before := parseDotEnv(t, path)
			added, err := WriteDotEnv(path, false)
			if err != nil {
				t.Fatalf("WriteDotEnv: %v", err)
			}
			if got := strings.Join(added, ","); got != tc.wantAdded {
				t.Errorf("added: got %q, want %q", got, tc.wantAdded)
			}
			after := parseDotEnv(t, path)
			for k, v := range before {
				if after[k] != v {
					t.Errorf("%s: got %q after WriteDotEnv, want it kept as %q", k, after[k], v)
				}
			}
			if _, err := Load(func(k string) string { return after[k] }); err != nil {
				t.Errorf("Load of the completed file: got %v, want nil", err)
			}
		})
	}
}

func TestNewSecrets(t *testing.T) {
	a, b := NewSecretKey(false), NewSecretKey(false)
	if a == b || !secretKeyRE.MatchString(a) || !strings.HasPrefix(a, "sk_test_") {
		t.Errorf("NewSecretKey: got %q and %q, want two different valid sk_test_ keys", a, b)
	}
	if k := NewSecretKey(true); !secretKeyRE.MatchString(k) || !strings.HasPrefix(k, "sk_live_") {
		t.Errorf("NewSecretKey(true): got %q, want a valid sk_live_ key", k)
	}
	raw, err := base64.StdEncoding.DecodeString(NewEncryptionKey())
	if err != nil || len(raw) != 32 {
		t.Errorf("NewEncryptionKey: got %d bytes (%v), want 32", len(raw), err)
	}
}

func TestHostAllowed(t *testing.T) {
	dev, err := Load(env(map[string]string{"APP_URL": "http://localhost:3000", "ALLOWED_HOSTS": "Admin.Internal, tools.internal:8080"}))
	if err != nil {
		t.Fatal(err)
	}
	prod, err := Load(env(map[string]string{"APP_ENV": "production", "APP_URL": "https://app.example.com", "CLERK_SECRET_KEY": testLiveSecret}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    *Config
		host string
		want bool
	}{
		{"dev: APP_URL's host", dev, "localhost:3000", true},
		{"dev: case is ignored", dev, "LOCALHOST:3000", true},
		{"dev: 127.0.0.1 on the same port", dev, "127.0.0.1:3000", true},
		{"dev: [::1] on the same port", dev, "[::1]:3000", true},
		{"dev: loopback on another port", dev, "127.0.0.1:3001", false},
		{"dev: a rebinding name", dev, "attacker.example:3000", false},
		{"dev: a bare allowed name, any port", dev, "admin.internal:9999", true},
		{"dev: an allowed name with its port", dev, "tools.internal:8080", true},
		{"dev: an allowed name on another port", dev, "tools.internal:8081", false},
		{"dev: empty", dev, "", false},
		{"prod: APP_URL's host", prod, "app.example.com", true},
		{"prod: another name", prod, "evil.example.com", false},
		{"prod: loopback counts for nothing", prod, "127.0.0.1", false},
	} {
		if got := tc.c.HostAllowed(tc.host); got != tc.want {
			t.Errorf("%s: HostAllowed(%q): got %v, want %v", tc.name, tc.host, got, tc.want)
		}
	}
	if dev.EnvExplicit {
		t.Error("EnvExplicit without APP_ENV: got true, want false")
	}
}
