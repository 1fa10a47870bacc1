package token_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/gatehouse-dev/gatehouse/auth/token"
)

var shortcodeData = &token.ShortcodeData{
	UserID: "user_1", FirstName: "Dora", PrimaryEmailAddress: "dora@example.com",
	PublicMetadata: json.RawMessage(`{"plan":"pro","seats":3,"flags":{"beta":true},"tags":["a","b"],"big":12345678901234567890}`),
	SessionID:      "sess_1",
	Org:            &token.OrgClaim{ID: "org_1", Slug: "acme", Role: "admin"},
}

func TestExpandClaims(t *testing.T) {
	for _, tc := range []struct {
		name, claims, want string
		data               *token.ShortcodeData
	}{
		{"static values stay", `{"role":"authenticated","n":1.5,"ok":true,"nil":null,"list":[1,"x"]}`,
			`{"role":"authenticated","n":1.5,"ok":true,"nil":null,"list":[1,"x"]}`, shortcodeData},
		{"string shortcodes", `{"uid":"{{user.id}}","email":"{{user.primary_email_address}}","sid":"{{session.id}}","first":"{{ user.first_name }}"}`,
			`{"uid":"user_1","email":"dora@example.com","sid":"sess_1","first":"Dora"}`, shortcodeData},
		{"exact shortcode keeps the JSON type", `{"meta":"{{user.public_metadata}}","seats":"{{user.public_metadata.seats}}","beta":"{{user.public_metadata.flags.beta}}","tags":"{{user.public_metadata.tags}}"}`,
			`{"meta":{"plan":"pro","seats":3,"flags":{"beta":true},"tags":["a","b"],"big":12345678901234567890},"seats":3,"beta":true,"tags":["a","b"]}`, shortcodeData},
		{"big numbers stay exact", `{"big":"{{user.public_metadata.big}}"}`, `{"big":12345678901234567890}`, shortcodeData},
		{"missing values are null", `{"last":"{{user.last_name}}","k":"{{user.public_metadata.nope}}","deep":"{{user.public_metadata.plan.x}}"}`,
			`{"last":null,"k":null,"deep":null}`, shortcodeData},
		{"interpolation", `{"name":"{{user.first_name}} {{user.last_name}}!","s":"seats={{user.public_metadata.seats}} flags={{user.public_metadata.flags}}"}`,
			`{"name":"Dora !","s":"seats=3 flags={\"beta\":true}"}`, shortcodeData},
		{"nested objects and arrays", `{"a":{"b":["{{user.id}}",{"c":"{{org.slug}}"}]}}`, `{"a":{"b":["user_1",{"c":"acme"}]}}`, shortcodeData},
		{"org from the o claim", `{"org":"{{org.id}}","slug":"{{org.slug}}","role":"{{org.role}}"}`,
			`{"org":"org_1","slug":"acme","role":"org:admin"}`, shortcodeData},
		{"no organization", `{"org":"{{org.id}}","role":"{{org.role}}","txt":"in {{org.slug}}"}`,
			`{"org":null,"role":null,"txt":"in "}`, &token.ShortcodeData{UserID: "user_1"}},
		{"keys are never expanded", `{"{{user.id}}":"x"}`, `{"{{user.id}}":"x"}`, shortcodeData},
		{"not a shortcode", `{"a":"{{}}","b":"{user.id}","c":"{{user.id}"}`, `{"a":"{{}}","b":"{user.id}","c":"{{user.id}"}`, shortcodeData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := token.ExpandClaims(json.RawMessage(tc.claims), tc.data)
			if err != nil {
				t.Fatalf("ExpandClaims: %v", err)
			}
			gotJSON, _ := json.Marshal(got)
			var g, w any
			json.Unmarshal(gotJSON, &g)
			json.Unmarshal([]byte(tc.want), &w)
			if !reflect.DeepEqual(g, w) || (strings.Contains(tc.want, "12345678901234567890") && !strings.Contains(string(gotJSON), "12345678901234567890")) {
				t.Errorf("got %s, want %s", gotJSON, tc.want)
			}
		})
	}
}

func TestValidateTemplateClaims(t *testing.T) {
	for _, ok := range []string{
		`{}`, `{"role":"authenticated","email":"{{user.primary_email_address}}"}`,
		`{"m":"{{user.public_metadata.a.b}}","o":["{{org.role}}"]}`,
	} {
		if err := token.ValidateTemplateClaims(json.RawMessage(ok)); err != nil {
			t.Errorf("ValidateTemplateClaims(%s): got %v, want nil", ok, err)
		}
	}
	for _, tc := range []struct{ claims, wantInErr string }{
		{`[]`, "JSON object"},
		{`"x"`, "JSON object"},
		{`{"a":1} {"b":2}`, "single JSON object"},
		{`{`, "JSON object"},
		{`{"sub":"x"}`, `"sub"`},
		{`{"exp":1}`, `"exp"`},
		{`{"jti":"x"}`, `"jti"`},
		{`{"a":"{{user.emial}}"}`, "{{user.emial}}"},
		{`{"a":"{{user.public_metadata.}}"}`, "unknown shortcode"},
		{`{"a":"x {{org.name}} y"}`, "{{org.name}}"},
		{strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40), "nested"},
		{`{"a":"` + strings.Repeat("x", token.MaxTemplateClaimsBytes) + `"}`, "bytes"},
	} {
		err := token.ValidateTemplateClaims(json.RawMessage(tc.claims))
		if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
			t.Errorf("ValidateTemplateClaims(%.40s): got %v, want an error containing %q", tc.claims, err, tc.wantInErr)
		}
	}
}

func TestTemplateClaimsReservedAreServerSet(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	// Expansion never lets a template set a reserved claim, even one that
	// slipped past validation.
	got, err := token.TemplateClaims(json.RawMessage(`{"sub":"forged","exp":9999999999,"role":"x"}`), shortcodeData, token.TemplateToken{
		Issuer: "https://app.example.com", Subject: "user_1", SessionID: "sess_1", AuthorizedParty: "https://app.example.com",
		IssuedAt: now, Lifetime: 60, AllowedClockSkew: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"iss": "https://app.example.com", "sub": "user_1", "sid": "sess_1", "iat": now.Unix(),
		"nbf": now.Unix() - 5, "exp": now.Unix() + 60, "azp": "https://app.example.com", "role": "x"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("claim %s: got %v, want %v", k, got[k], v)
		}
	}
	if jti, _ := got["jti"].(string); len(jti) < 16 {
		t.Errorf("jti: got %q, want a random id", jti)
	}
}

func TestSignTemplate(t *testing.T) {
	f := fixture(t)
	now := time.Now()
	claims := func() map[string]any {
		c, err := token.TemplateClaims(json.RawMessage(`{"role":"authenticated","email":"{{user.primary_email_address}}"}`), shortcodeData,
			token.TemplateToken{Issuer: testIssuer, Subject: "user_1", SessionID: "sess_1", AuthorizedParty: testIssuer, IssuedAt: now, Lifetime: 60, AllowedClockSkew: 5})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	parse := func(tok string, opts ...jwt.ParseOption) jwt.Token {
		t.Helper()
		parsed, err := jwt.ParseString(tok, append(opts, jwt.WithIssuer(testIssuer), jwt.WithValidate(true))...)
		if err != nil {
			t.Fatalf("jwx parse: %v", err)
		}
		var email string
		if err := parsed.Get("email", &email); err != nil || email != "dora@example.com" {
			t.Errorf("email claim: got %q, %v; want dora@example.com", email, err)
		}
		return parsed
	}

	t.Run("instance key", func(t *testing.T) {
		tok, err := f.ring.SignTemplate(claims(), nil)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := jwtParts(t, tok)
		if h["cat"] != token.CategoryTemplate || h["kid"] != f.key.KID || h["alg"] != "RS256" {
			t.Errorf("header: got %v, want the template category, our kid and RS256", h)
		}
		set, err := jwk.Parse(f.ring.JWKS())
		if err != nil {
			t.Fatal(err)
		}
		parse(tok, jwt.WithKeySet(set))
		// The session verifier refuses it: wrong category.
		if _, err := newVerifier(f.ring, newClock(now), 0).Verify(tok); token.Reason(err) != token.ReasonInvalid {
			t.Errorf("template token as a session token: got %v, want %s", err, token.ReasonInvalid)
		}
	})
	t.Run("HS256 secret", func(t *testing.T) {
		secret := strings.Repeat("s", 32)
		if _, _, err := token.ParseTemplateKey(token.AlgHS256, secret[:31]); err == nil {
			t.Errorf("ParseTemplateKey with a 31-byte secret: got nil error, want one")
		}
		key, stored, err := token.ParseTemplateKey(token.AlgHS256, secret)
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := token.LoadTemplateKey(token.AlgHS256, stored)
		if err != nil || !reflect.DeepEqual(loaded, key) {
			t.Fatalf("LoadTemplateKey: got %v, %v; want %v", loaded, err, key)
		}
		tok, err := f.ring.SignTemplate(claims(), loaded)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := jwtParts(t, tok)
		if h["alg"] != "HS256" || h["cat"] != nil || h["kid"] != nil {
			t.Errorf("header: got %v, want alg HS256 without cat or kid", h)
		}
		parse(tok, jwt.WithKey(jwa.HS256(), []byte(secret)))
		if _, err := jwt.ParseString(tok, jwt.WithKey(jwa.HS256(), []byte(strings.Repeat("x", 32)))); err == nil {
			t.Errorf("HS256 token with another secret: got it verified, want an error")
		}
	})
	t.Run("RS256 custom key", func(t *testing.T) {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(priv)
		_, stored, err := token.ParseTemplateKey(token.AlgRS256, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := token.LoadTemplateKey(token.AlgRS256, stored)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := f.ring.SignTemplate(claims(), loaded)
		if err != nil {
			t.Fatal(err)
		}
		parse(tok, jwt.WithKey(jwa.RS256(), &priv.PublicKey))
		if _, err := newVerifier(f.ring, newClock(now), 0).Verify(tok); err == nil {
			t.Errorf("custom-key template token as a session token: got it verified, want an error")
		}
	})
	if _, _, err := token.ParseTemplateKey("ES256", "x"); err == nil {
		t.Errorf("ParseTemplateKey(ES256): got nil error, want one")
	}
}

func FuzzExpandClaims(f *testing.F) {
	for _, s := range []string{
		`{"role":"authenticated","email":"{{user.primary_email_address}}"}`,
		`{"a":"{{user.public_metadata.x.y}}","b":["{{org.role}} and {{session.id}}"]}`,
		`{"{{user.id}}":"{{user.id}}{{user.id}}"}`, `{"a":"{{ user.public_metadata }}"}`, `[]`, `{"a":"{{{{user.id}}}}"}`,
	} {
		f.Add(s, `{"x":{"y":[1,2]}}`)
	}
	f.Fuzz(func(t *testing.T, claims, meta string) {
		d := *shortcodeData
		d.PublicMetadata = json.RawMessage(meta)
		valid := token.ValidateTemplateClaims(json.RawMessage(claims)) == nil
		out, err := token.ExpandClaims(json.RawMessage(claims), &d)
		if valid && err != nil {
			t.Fatalf("claims that validate do not expand: %v", err)
		}
		if err != nil {
			return
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatalf("expanded claims do not marshal: %v", err)
		}
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("expanded claims are not a JSON object: %v", err)
		}
		if valid {
			for _, name := range token.ReservedTemplateClaims {
				if _, ok := back[name]; ok {
					t.Fatalf("valid claims expanded to reserved claim %q", name)
				}
			}
		}
	})
}

// A template stored before act was reserved cannot claim an actor: act is
// the session's actor, or absent.
func TestTemplateClaimsAct(t *testing.T) {
	stored := json.RawMessage(`{"act":{"sub":"user_forged"},"x":"1"}`)
	base := token.TemplateToken{Issuer: "https://app.example", Subject: "user_1", SessionID: "sess_1", IssuedAt: time.Unix(1_700_000_000, 0), Lifetime: 60}
	got, err := token.TemplateClaims(stored, &token.ShortcodeData{UserID: "user_1"}, base)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["act"]; ok || got["x"] != "1" {
		t.Errorf("without an actor: got act %v (x %v), want no act and x kept", got["act"], got["x"])
	}
	base.Actor = &token.Actor{Subject: "user_admin"}
	got, err = token.TemplateClaims(stored, &token.ShortcodeData{UserID: "user_1"}, base)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := got["act"].(*token.Actor); !ok || a.Subject != "user_admin" {
		t.Errorf("with an actor: got act %#v, want the session's actor user_admin", got["act"])
	}
}
