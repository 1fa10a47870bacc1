package e2e

// End-to-end tests of JWT templates: the backend client, the CLI, the
// seed, GET /api/token?template=…, the frontend API route, and the tokens
// themselves checked with a standard JWT library (jwx).

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
	"github.com/gatehouse-dev/gatehouse/internal/app"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// templateToken calls GET /api/token?template=name with headers and returns
// the status and the template token.
func (ta *testApp) templateToken(t *testing.T, c *http.Client, name string, header map[string]string) (int, string) {
	t.Helper()
	res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/api/token?template="+name, nil, header)
	assertJSONType(t, "GET /api/token?template="+name, res)
	var m struct{ TemplateToken string }
	json.Unmarshal([]byte(body), &m)
	if res.StatusCode == http.StatusOK && m.TemplateToken == "" {
		t.Fatalf("GET /api/token?template=%s: got 200 without templateToken: %s", name, body)
	}
	return res.StatusCode, m.TemplateToken
}

// parseJWT verifies tok with jwx and returns its claims as a map.
func parseJWT(t *testing.T, tok string, opts ...jwt.ParseOption) map[string]any {
	t.Helper()
	if _, err := jwt.ParseString(tok, append(opts, jwt.WithValidate(true), jwt.WithAcceptableSkew(5*time.Second))...); err != nil {
		t.Fatalf("jwx: template token does not verify: %v", err)
	}
	_, claims := jwtParts(t, tok)
	return claims
}

func (ta *testApp) jwks(t *testing.T) jwk.Set {
	t.Helper()
	_, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/.well-known/jwks.json", nil, nil)
	set, err := jwk.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestJWTTemplatesEndToEnd(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	if _, err := ta.App.Client.Users.UpdateUserMetadata(ctx, u.ID, auth.UpdateUserMetadataParams{
		PublicMetadata: json.RawMessage(`{"plan":"pro","seats":3}`)}); err != nil {
		t.Fatal(err)
	}
	tmpl := ta.App.Client.JwtTemplates
	instance, err := tmpl.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: "instance",
		Claims: json.RawMessage(`{"uid":"{{user.id}}","plan":"{{user.public_metadata.plan}}","seats":"{{user.public_metadata.seats}}","org":"{{org.id}}","hello":"Hi {{user.first_name}}"}`)})
	if err != nil {
		t.Fatalf("Create instance-key template: %v", err)
	}
	if instance.Object != "jwt_template" || !strings.HasPrefix(instance.ID, "jtmp_") || instance.Lifetime != 60 ||
		instance.AllowedClockSkew != 5 || instance.SigningAlgorithm != "RS256" || instance.CustomSigningKey {
		t.Errorf("created template: got %+v, want jtmp_…, lifetime 60, skew 5, RS256 with the instance key", instance)
	}
	if _, err := tmpl.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: "supabase", Claims: json.RawMessage(app.SupabaseClaims),
		CustomSigningKey: true, SigningAlgorithm: "HS256", SigningKey: harness.HS256Secret}); err != nil {
		t.Fatalf("Create HS256 template: %v", err)
	}
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	lifetime := int64(300)
	if _, err := tmpl.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: "rsa", Claims: json.RawMessage(`{"aud":"svc"}`), Lifetime: &lifetime,
		CustomSigningKey: true, SigningAlgorithm: "RS256", SigningKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))}); err != nil {
		t.Fatalf("Create RS256 template: %v", err)
	}

	c := ta.Browser(t)
	ta.SignIn(t, c, doraEmail, doraPassword)
	sid := ta.sessionID(t, c)

	t.Run("HS256 supabase template", func(t *testing.T) {
		code, tok := ta.templateToken(t, c, "supabase", nil)
		if code != http.StatusOK {
			t.Fatalf("got %d, want 200", code)
		}
		claims := parseJWT(t, tok, jwt.WithKey(jwa.HS256(), []byte(harness.HS256Secret)), jwt.WithIssuer(ta.URL))
		want := map[string]any{"role": "authenticated", "email": doraEmail, "sub": u.ID, "sid": sid, "iss": ta.URL, "azp": ta.Cfg.AppOrigin}
		for k, v := range want {
			if claims[k] != v {
				t.Errorf("claim %s: got %v, want %v", k, claims[k], v)
			}
		}
		iat, _ := claims["iat"].(float64)
		if claims["exp"] != iat+60 || claims["nbf"] != iat-5 {
			t.Errorf("exp/nbf: got %v/%v, want iat+60/iat-5 (iat %v)", claims["exp"], claims["nbf"], iat)
		}
		if h, _ := jwtParts(t, tok); h["alg"] != "HS256" || h["cat"] != nil {
			t.Errorf("header: got %v, want HS256 without cat", h)
		}
	})
	t.Run("instance key template", func(t *testing.T) {
		code, tok := ta.templateToken(t, c, "instance", nil)
		if code != http.StatusOK {
			t.Fatalf("got %d, want 200", code)
		}
		claims := parseJWT(t, tok, jwt.WithKeySet(ta.jwks(t)), jwt.WithIssuer(ta.URL))
		if claims["uid"] != u.ID || claims["plan"] != "pro" || claims["seats"] != float64(3) || claims["org"] != nil || claims["hello"] != "Hi Dora" {
			t.Errorf("claims: got %v, want uid, plan pro, seats 3 (a number), org null, hello \"Hi Dora\"", claims)
		}
		if h, _ := jwtParts(t, tok); h["cat"] != token.CategoryTemplate {
			t.Errorf("header cat: got %v, want %s", h["cat"], token.CategoryTemplate)
		}
		// Never a session token.
		res, _ := ta.me(t, plainClient(), bearer(tok))
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("X-Clerk-Auth-Reason") != token.ReasonInvalid {
			t.Errorf("template token as a Bearer session token: got %d (%s), want 401 (%s)", res.StatusCode, res.Header.Get("X-Clerk-Auth-Reason"), token.ReasonInvalid)
		}
		cookieOnly := ta.browserWith(t, map[string]string{"__session": tok})
		if res, _ := ta.me(t, cookieOnly, nil); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("template token as a __session cookie: got %d, want 401", res.StatusCode)
		}
	})
	t.Run("RS256 custom key", func(t *testing.T) {
		code, tok := ta.templateToken(t, c, "rsa", nil)
		if code != http.StatusOK {
			t.Fatalf("got %d, want 200", code)
		}
		claims := parseJWT(t, tok, jwt.WithKey(jwa.RS256(), &priv.PublicKey), jwt.WithAudience("svc"))
		if claims["exp"].(float64)-claims["iat"].(float64) != 300 {
			t.Errorf("lifetime: got exp-iat %v, want 300", claims["exp"].(float64)-claims["iat"].(float64))
		}
	})
	t.Run("organization shortcodes read the active membership", func(t *testing.T) {
		// From the store at mint time (see TestTemplateTokenClaimsFromStore),
		// so a session token's claims cannot make them up.
		org, err := ta.App.Client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Acme", Slug: ptr("acme"), CreatedBy: &u.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tmpl.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: "org",
			Claims: json.RawMessage(`{"org":"{{org.id}}","slug":"{{org.slug}}","role":"{{org.role}}"}`)}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().Unix()
		fea, per, fpm := token.EncodePermissions([]string{"org:team:manage"})
		forged, err := ta.App.Keys.SignSession(&token.Claims{Issuer: ta.URL, Subject: u.ID, SessionID: sid, IssuedAt: now, NotBefore: now - 5,
			Expiry: now + 60, Version: 2, AuthorizedParty: ta.Cfg.AppOrigin, Status: "active", FVA: []int{0, -1},
			Org: &token.OrgClaim{ID: "org_elsewhere", Slug: "elsewhere", Role: "admin", Permissions: per, FeatureMask: fpm}, Features: fea})
		if err != nil {
			t.Fatal(err)
		}
		_, tok := ta.templateToken(t, plainClient(), "org", bearer(forged))
		if claims := parseJWT(t, tok, jwt.WithKeySet(ta.jwks(t))); claims["org"] != nil || claims["role"] != nil {
			t.Errorf("org claims of a token naming an organization the session has not active: got %v, want none", claims)
		}
		ta.orgActivate(t, c, org.ID)
		code, tok := ta.templateToken(t, c, "org", nil)
		if code != http.StatusOK {
			t.Fatalf("got %d, want 200", code)
		}
		claims := parseJWT(t, tok, jwt.WithKeySet(ta.jwks(t)))
		if claims["org"] != org.ID || claims["slug"] != "acme" || claims["role"] != "org:admin" {
			t.Errorf("org claims: got %v, want %s, acme, org:admin", claims, org.ID)
		}
	})
	t.Run("frontend API route", func(t *testing.T) {
		res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sessions/"+sid+"/tokens/supabase", nil, sameOrigin)
		assertStatus(t, "POST …/tokens/supabase", res, body, http.StatusOK)
		assertJSONType(t, "POST …/tokens/supabase", res)
		var m struct{ Object, JWT string }
		json.Unmarshal([]byte(body), &m)
		if m.Object != "token" {
			t.Errorf("object: got %q, want token", m.Object)
		}
		parseJWT(t, m.JWT, jwt.WithKey(jwa.HS256(), []byte(harness.HS256Secret)))
		res, body = harness.Do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sessions/"+sid+"/tokens/nope", nil, sameOrigin)
		fapiError(t, "unknown template", res, body, http.StatusNotFound, "resource_not_found")
		res, body = harness.Do(t, ta.Browser(t), http.MethodPost, ta.URL+"/__clerk/v1/client/sessions/"+sid+"/tokens/supabase", nil, sameOrigin)
		if res.StatusCode < 400 || res.StatusCode >= 500 || strings.Contains(body, `"jwt"`) {
			t.Errorf("another browser: got %d %s, want a 4xx without a token", res.StatusCode, body)
		}
	})
	t.Run("unknown template", func(t *testing.T) {
		res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/api/token?template=nope", nil, nil)
		if res.StatusCode != http.StatusNotFound || !strings.Contains(body, "Template not found") {
			t.Errorf("got %d %s, want 404 Template not found", res.StatusCode, body)
		}
	})
	t.Run("update and delete take effect", func(t *testing.T) {
		lt := int64(120)
		if _, err := tmpl.Update(ctx, instance.ID, clerkclient.UpdateJwtTemplateParams{Lifetime: &lt}); err != nil {
			t.Fatal(err)
		}
		_, tok := ta.templateToken(t, c, "instance", nil)
		_, claims := jwtParts(t, tok)
		if claims["exp"].(float64)-claims["iat"].(float64) != 120 {
			t.Errorf("lifetime after update: got %v, want 120", claims["exp"].(float64)-claims["iat"].(float64))
		}
		if _, err := tmpl.Delete(ctx, instance.ID); err != nil {
			t.Fatal(err)
		}
		if code, _ := ta.templateToken(t, c, "instance", nil); code != http.StatusNotFound {
			t.Errorf("after delete: got %d, want 404", code)
		}
	})
	t.Run("revoked session gets an error", func(t *testing.T) {
		tok := ta.Cookie(t, c, "__session")
		if _, err := ta.App.Client.Sessions.RevokeSession(ctx, sid); err != nil {
			t.Fatal(err)
		}
		// The session token itself is valid for a few more seconds; the
		// template token is refused.
		if code, _ := ta.templateToken(t, plainClient(), "supabase", bearer(tok)); code != http.StatusUnauthorized {
			t.Errorf("GET /api/token?template= after revocation: got %d, want 401", code)
		}
		res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/__clerk/v1/client/sessions/"+sid+"/tokens/supabase", nil, sameOrigin)
		if res.StatusCode != http.StatusUnauthorized || strings.Contains(body, `"jwt"`) {
			t.Errorf("frontend API after revocation: got %d %s, want 401 without a token", res.StatusCode, body)
		}
	})
}

func TestJwtTemplatesClientErrors(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	tmpl := ta.App.Client.JwtTemplates
	created, err := tmpl.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: "ok", Claims: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	i := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name        string
		p           clerkclient.CreateJwtTemplateParams
		code, param string
	}{
		{"no name", clerkclient.CreateJwtTemplateParams{Claims: json.RawMessage(`{}`)}, "form_param_missing", "name"},
		{"no claims", clerkclient.CreateJwtTemplateParams{Name: "x"}, "form_param_missing", "claims"},
		{"duplicate name", clerkclient.CreateJwtTemplateParams{Name: "ok", Claims: json.RawMessage(`{}`)}, "form_identifier_exists", "name"},
		{"bad name", clerkclient.CreateJwtTemplateParams{Name: "a/b", Claims: json.RawMessage(`{}`)}, "form_param_format_invalid", "name"},
		{"claims not an object", clerkclient.CreateJwtTemplateParams{Name: "x", Claims: json.RawMessage(`[1]`)}, "form_param_format_invalid", "claims"},
		{"reserved claim", clerkclient.CreateJwtTemplateParams{Name: "x", Claims: json.RawMessage(`{"iss":"me"}`)}, "form_param_format_invalid", "claims"},
		{"unknown shortcode", clerkclient.CreateJwtTemplateParams{Name: "x", Claims: json.RawMessage(`{"a":"{{user.password}}"}`)}, "form_param_format_invalid", "claims"},
		{"lifetime too short", clerkclient.CreateJwtTemplateParams{Name: "x", Claims: json.RawMessage(`{}`), Lifetime: i(29)}, "form_param_format_invalid", "lifetime"},
		{"skew too large", clerkclient.CreateJwtTemplateParams{Name: "x", Claims: json.RawMessage(`{}`), AllowedClockSkew: i(301)}, "form_param_format_invalid", "allowed_clock_skew"},
		{"custom key without algorithm", clerkclient.CreateJwtTemplateParams{Name: "x", Claims: json.RawMessage(`{}`), CustomSigningKey: true, SigningKey: harness.HS256Secret}, "form_param_missing", "signing_algorithm"},
		{"custom key without key", clerkclient.CreateJwtTemplateParams{Name: "x", Claims: json.RawMessage(`{}`), CustomSigningKey: true, SigningAlgorithm: "HS256"}, "form_param_missing", "signing_key"},
		{"short HS256 secret", clerkclient.CreateJwtTemplateParams{Name: "x", Claims: json.RawMessage(`{}`), CustomSigningKey: true, SigningAlgorithm: "HS256", SigningKey: "short"}, "form_param_format_invalid", "signing_key"},
		{"bad RS256 key", clerkclient.CreateJwtTemplateParams{Name: "x", Claims: json.RawMessage(`{}`), CustomSigningKey: true, SigningAlgorithm: "RS256", SigningKey: harness.HS256Secret}, "form_param_format_invalid", "signing_key"},
		{"unsupported algorithm", clerkclient.CreateJwtTemplateParams{Name: "x", Claims: json.RawMessage(`{}`), CustomSigningKey: true, SigningAlgorithm: "ES256", SigningKey: "k"}, "form_param_format_invalid", "signing_algorithm"},
		{"algorithm without custom key", clerkclient.CreateJwtTemplateParams{Name: "x", Claims: json.RawMessage(`{}`), SigningAlgorithm: "HS256"}, "form_param_format_invalid", "signing_algorithm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tmpl.Create(ctx, tc.p)
			e, ok := errors.AsType[*auth.APIError](err)
			if !ok || e.Status != http.StatusUnprocessableEntity || e.Code() != tc.code || e.Errors[0].Meta["param_name"] != tc.param {
				t.Errorf("got %v, want a 422 APIError %s on %s", err, tc.code, tc.param)
			}
		})
	}
	if list, err := tmpl.List(ctx, clerkclient.JwtTemplateListParams{}); err != nil || list.TotalCount != 1 {
		t.Errorf("List after refused creates: got %+v, %v; want only the first template", list, err)
	}
	if _, err := tmpl.Get(ctx, "jtmp_missing"); !auth.IsNotFound(err) {
		t.Errorf("Get of a missing id: got %v, want resource_not_found", err)
	}
	if _, err := tmpl.Update(ctx, "jtmp_missing", clerkclient.UpdateJwtTemplateParams{}); !auth.IsNotFound(err) {
		t.Errorf("Update of a missing id: got %v, want resource_not_found", err)
	}
	if _, err := tmpl.Delete(ctx, "jtmp_missing"); !auth.IsNotFound(err) {
		t.Errorf("Delete of a missing id: got %v, want resource_not_found", err)
	}
	if _, err := tmpl.Update(ctx, created.ID, clerkclient.UpdateJwtTemplateParams{Claims: json.RawMessage(`{"nbf":1}`)}); err == nil {
		t.Errorf("Update to a reserved claim: got nil error, want one")
	}
	if got, _ := tmpl.Get(ctx, created.ID); string(got.Claims) != `{}` {
		t.Errorf("claims after a refused update: got %s, want {}", got.Claims)
	}
	// The resource never carries the key.
	withKey, err := tmpl.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: "k", Claims: json.RawMessage(`{}`), CustomSigningKey: true, SigningAlgorithm: "HS256", SigningKey: harness.HS256Secret})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(withKey); strings.Contains(string(b), harness.HS256Secret) || !strings.Contains(string(b), `"custom_signing_key":true`) {
		t.Errorf("template JSON: got %s, want custom_signing_key true and no secret", b)
	}
	raw, _ := ta.App.Store.GetJWTTemplate(ctx, withKey.ID)
	if bytes.Contains(raw.EncryptedSigningKey, []byte(harness.HS256Secret)) {
		t.Errorf("stored key: got the secret in the clear, want it encrypted")
	}
}

func TestJWTTemplatesCommandAndSeed(t *testing.T) {
	ta := startApp(t, nil)
	env := ta.sharedEnv()
	var out bytes.Buffer
	if seeded, err := app.Seed(context.Background(), ta.App.Client, &out); err != nil || !seeded {
		t.Fatalf("seed: got %v, %v; want seeded", seeded, err)
	}
	secret := strings.TrimSpace(out.String()[strings.LastIndex(out.String(), "\n  ")+3:])
	if len(secret) < 32 {
		t.Fatalf("seed output: got %q, want the development secret of the supabase template", out.String())
	}
	c := ta.Browser(t)
	ta.SignIn(t, c, "carol@example.com", "gatehouse-demo-carol")
	code, tok := ta.templateToken(t, c, "supabase", nil)
	if code != http.StatusOK {
		t.Fatalf("supabase template after seeding: got %d, want 200", code)
	}
	claims := parseJWT(t, tok, jwt.WithKey(jwa.HS256(), []byte(secret)))
	if claims["role"] != "authenticated" || claims["email"] != "carol@example.com" {
		t.Errorf("seeded supabase token claims: got %v, want role authenticated and Carol's email", claims)
	}

	keyFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(keyFile, []byte(harness.HS256Secret+"\n"), 0o600)
	code, stdout, stderr := runCLI(t, env, "jwt-templates", "create", "--name", "hasura", "--claims", `{"x":"{{user.id}}"}`,
		"--lifetime", "90", "--algorithm", "HS256", "--signing-key-file", keyFile)
	if code != 0 || !strings.Contains(stdout, "jtmp_") {
		t.Fatalf("jwt-templates create: exit %d %s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, env, "jwt-templates", "list")
	if code != 0 || !strings.Contains(stdout, "hasura") || !strings.Contains(stdout, "supabase") || strings.Contains(stdout, harness.HS256Secret) || strings.Contains(stdout, secret) {
		t.Errorf("jwt-templates list: exit %d %q; want both templates and no secret", code, stdout)
	}
	code, tok = ta.templateToken(t, c, "hasura", nil)
	if code != http.StatusOK {
		t.Fatalf("template created by the CLI: got %d, want 200", code)
	}
	parseJWT(t, tok, jwt.WithKey(jwa.HS256(), []byte(harness.HS256Secret)))
	if code, _, stderr := runCLI(t, env, "jwt-templates", "create", "--name", "bad", "--claims", `{"sub":"x"}`); code != 1 || !strings.Contains(stderr, "sub") {
		t.Errorf("jwt-templates create with a reserved claim: exit %d %q, want 1 naming sub", code, stderr)
	}
	if code, _, _ := runCLI(t, env, "jwt-templates", "create", "--name", "x", "--claims", `{}`, "--algorithm", "HS256"); code != 1 {
		t.Errorf("jwt-templates create --algorithm without a key source: exit %d, want 1", code)
	}
	if code, stdout, stderr := runCLI(t, env, "jwt-templates", "delete", "hasura"); code != 0 || !strings.Contains(stdout, "deleted jtmp_") {
		t.Errorf("jwt-templates delete hasura: exit %d %s%s", code, stdout, stderr)
	}
	if code, _ := ta.templateToken(t, c, "hasura", nil); code != http.StatusNotFound {
		t.Errorf("after the CLI deleted it: got %d, want 404", code)
	}
	if code, _, _ := runCLI(t, env, "jwt-templates", "delete", "hasura"); code != 1 {
		t.Errorf("deleting it again: exit %d, want 1", code)
	}
	if code, _, _ := runCLI(t, env, "jwt-templates", "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
}
