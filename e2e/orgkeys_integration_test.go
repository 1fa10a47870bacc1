package e2e

// End-to-end tests of organization API keys: admins manage them on /org
// with plain forms, the store authorises every write at that moment, and
// the keys call the API as the organization.

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

func TestIntegrationOrgAPIKeys(t *testing.T) {
	t.Parallel()
	okFlow(t, nil)
}

func TestPostgresOrgAPIKeys(t *testing.T) {
	okFlow(t, map[string]string{"DATABASE_URL": postgresURL(t)})
}

// okCreate posts the create form of /org as c and returns the secret the
// answer shows.
func okCreate(t *testing.T, ta *testApp, c *http.Client, orgID, name, expiresIn string) string {
	t.Helper()
	res, body := pgPost(t, ta, c, "/org/api-keys", url.Values{"organization_id": {orgID}, "name": {name}, "expires_in": {expiresIn}}, http.StatusOK, "")
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control of the page with the secret: got %q, want no-store", cc)
	}
	m := mtSecretRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("create %q: the answer shows no secret: %.600s", name, pgText(body))
	}
	if typ, ok := auth.ParseMachineToken(m[1]); typ != auth.APIKey || !ok {
		t.Fatalf("shown secret %.6s…: got (%q, %v), want a well-formed API key", m[1], typ, ok)
	}
	pgWantText(t, "create "+name, body, "API key "+name+" created. Copy it now")
	return m[1]
}

// okWhoAmI calls /api/whoami with the key and checks the status and, for
// 200, that the key stands for subject.
func okWhoAmI(t *testing.T, ta *testApp, secret string, status int, subject string) {
	t.Helper()
	res, body := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/api/whoami", nil, mtBearer(secret))
	assertStatus(t, "GET /api/whoami with an organization key", res, body, status)
	if status == http.StatusOK {
		if m := decodeObject(t, "whoami", body); m["tokenType"] != "api_key" || m["subject"] != subject {
			t.Errorf("whoami: got %v, want api_key of %s", m, subject)
		}
	}
}

// okCount returns how many live keys the organization has.
func okCount(t *testing.T, ta *testApp, orgID string) int {
	t.Helper()
	list, err := ta.App.Client.APIKeys.List(context.Background(), auth.APIKeyListParams{Subject: orgID})
	if err != nil {
		t.Fatalf("list %s's keys: %v", orgID, err)
	}
	return list.TotalCount
}

func okFlow(t *testing.T, env map[string]string) {
	// Carol is an instance administrator: she impersonates Alice below.
	env = maps.Clone(env)
	if env == nil {
		env = map[string]string{}
	}
	env["ADMIN_EMAILS"] = "carol@example.com"
	ta, alice, bob, carol := pgSeeded(t, env)
	ctx := context.Background()
	acme := ta.OrgID(t, "acme")
	aliceID, bobID, carolID := ta.UserID(t, "alice@example.com"), ta.UserID(t, "bob@example.com"), ta.UserID(t, "carol@example.com")
	ta.orgActivate(t, alice, acme)
	ta.orgActivate(t, bob, acme)

	// The card is the admins'.
	body := pgGet(t, ta, alice, "/org", http.StatusOK)
	if !strings.Contains(body, `action="/org/api-keys"`) || !strings.Contains(body, `name="organization_id" value="`+acme+`"`) {
		t.Fatalf("/org as admin: want the API key form with the organization; body %.600s", pgText(body))
	}
	pgWantText(t, "/org as admin", body, "API keys", "Call the API as this organization", "No API keys yet.")
	body = pgGet(t, ta, bob, "/org", http.StatusOK)
	if strings.Contains(body, `action="/org/api-keys"`) {
		t.Error("/org as member: got the API key form, want none")
	}

	// Create: the secret once, only its hash stored.
	secret := okCreate(t, ta, alice, acme, "CI deploy", "90")
	keys, err := ta.App.Client.APIKeys.List(ctx, auth.APIKeyListParams{Subject: acme})
	if err != nil || keys.TotalCount != 1 {
		t.Fatalf("acme's keys after create: got %+v, %v; want 1", keys, err)
	}
	key := keys.Data[0]
	if key.Name != "CI deploy" || key.Subject != acme || key.CreatedBy == nil || *key.CreatedBy != aliceID || key.Expiration == nil ||
		time.Duration(*key.Expiration-key.CreatedAt)*time.Millisecond != 90*24*time.Hour {
		t.Errorf("stored key: got %+v, want acme's, by alice, for 90 days", key)
	}
	ta.mtAssertHashedAtRest(t, "machine_tokens", key.ID, secret)
	body = pgGet(t, ta, alice, "/org", http.StatusOK)
	if row := okRow(t, body, key.ID); !strings.Contains(row, "CI deploy") || !strings.Contains(row, "Never") {
		t.Errorf("/org after create: got the row %q, want the name and last use Never", row)
	}
	if strings.Contains(body, secret[3:]) {
		t.Error("/org after create: the secret is shown again")
	}

	// The key calls the API as the organization.
	okWhoAmI(t, ta, secret, http.StatusOK, acme)
	res, out := harness.Do(t, plainClient(), http.MethodGet, ta.URL+"/api/org", nil, mtBearer(secret))
	assertStatus(t, "GET /api/org (sessions only) with an organization key", res, out, http.StatusUnauthorized)
	if got, err := ta.App.Client.APIKeys.Get(ctx, key.ID); err != nil || got.LastUsedAt == nil {
		t.Errorf("last_used_at after a call: got %+v, %v; want set", got, err)
	}
	body = pgGet(t, ta, alice, "/org", http.StatusOK)
	if row := okRow(t, body, key.ID); strings.Contains(row, "Never") {
		t.Errorf("/org after a call: got the row %q, want a last use and an expiry, no Never", row)
	}

	// A member, a non-member and bad input change nothing.
	_, body = pgPost(t, ta, bob, "/org/api-keys", url.Values{"organization_id": {acme}, "name": {"bob's"}}, http.StatusForbidden, "")
	pgWantText(t, "create by a member", body, "Your role does not allow this.")
	pgPost(t, ta, bob, "/org/api-keys/"+key.ID+"/revoke", url.Values{"organization_id": {acme}}, http.StatusForbidden, "")
	pgPost(t, ta, carol, "/org/api-keys/"+key.ID+"/revoke", url.Values{"organization_id": {acme}}, http.StatusNotFound, "")
	_, body = pgPost(t, ta, carol, "/org/api-keys", url.Values{"organization_id": {acme}, "name": {"carol's"}}, http.StatusConflict, "")
	pgWantText(t, "create for an organization that is not active", body, "another organization than your active one")
	userKey, err := ta.App.Client.APIKeys.Create(ctx, auth.CreateAPIKeyParams{Name: "alice's own", Subject: aliceID})
	if err != nil {
		t.Fatal(err)
	}
	ta.mtPostCases(t, alice, []mtFormCase{
		{"empty name", "/org/api-keys", "", url.Values{"organization_id": {acme}, "name": {" "}}.Encode(), nil, 422, "Enter a name for the key."},
		{"long name", "/org/api-keys", "", url.Values{"organization_id": {acme}, "name": {strings.Repeat("n", 101)}}.Encode(), nil, 422, "at most 100 characters"},
		{"unknown expiration", "/org/api-keys", "", url.Values{"organization_id": {acme}, "name": {"x"}, "expires_in": {"2"}}.Encode(), nil, 422, "Choose an expiration"},
		{"no organization", "/org/api-keys", "", url.Values{"name": {"x"}}.Encode(), nil, 409, "another organization"},
		{"wrong content type", "/org/api-keys", "text/plain", "organization_id=" + acme + "&name=x", nil, 415, ""},
		{"oversized body", "/org/api-keys", "", "organization_id=" + acme + "&name=" + strings.Repeat("x", 70<<10), nil, 413, ""},
		{"cross-site", "/org/api-keys", "", url.Values{"organization_id": {acme}, "name": {"planted"}}.Encode(), map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, ""},
		{"revoke unknown", "/org/api-keys/ak_" + strings.Repeat("0", 32) + "/revoke", "", url.Values{"organization_id": {acme}}.Encode(), nil, 404, ""},
		{"revoke malformed", "/org/api-keys/nope/revoke", "", url.Values{"organization_id": {acme}}.Encode(), nil, 404, ""},
		{"revoke a user's key", "/org/api-keys/" + userKey.ID + "/revoke", "", url.Values{"organization_id": {acme}}.Encode(), nil, 404, ""},
		{"revoke without the organization", "/org/api-keys/" + key.ID + "/revoke", "", "", nil, 422, ""},
		{"revoke cross-site", "/org/api-keys/" + key.ID + "/revoke", "", url.Values{"organization_id": {acme}}.Encode(), map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, ""},
	})
	if n := okCount(t, ta, acme); n != 1 {
		t.Errorf("acme's keys after refused forms: got %d, want 1", n)
	}
	if got, err := ta.App.Client.APIKeys.Get(ctx, userKey.ID); err != nil || got.Revoked {
		t.Errorf("alice's own key after a revocation through acme: got %+v, %v; want live", got, err)
	}
	okWhoAmI(t, ta, secret, http.StatusOK, acme)

	// An admin removed a moment ago is refused at once, though the token
	// in the browser still says admin. The key made before stays the
	// organization's.
	if _, err := ta.App.Client.Organizations.UpdateOrganizationMembership(ctx, clerkclient.UpdateOrganizationMembershipParams{
		OrganizationID: acme, UserID: bobID, Role: "org:admin"}); err != nil {
		t.Fatal(err)
	}
	ta.orgActivate(t, bob, acme) // a token with the new role
	bobSecret := okCreate(t, ta, bob, acme, "Bob CI", "7")
	pgPost(t, ta, alice, "/org/members/remove", url.Values{"organization_id": {acme}, "user_id": {bobID}}, http.StatusSeeOther, "/org?notice=member-removed")
	if o, _ := ta.orgClaims(t, bob)["o"].(map[string]any); o["rol"] != "admin" {
		t.Fatalf("bob's token after the removal: got o=%v, want still admin until it is refreshed", o)
	}
	_, body = pgPost(t, ta, bob, "/org/api-keys", url.Values{"organization_id": {acme}, "name": {"after removal"}}, http.StatusNotFound, "")
	pgWantText(t, "create by a removed admin", body, "Organization not found.")
	pgPost(t, ta, bob, "/org/api-keys/"+key.ID+"/revoke", url.Values{"organization_id": {acme}}, http.StatusNotFound, "")
	if n := okCount(t, ta, acme); n != 2 {
		t.Errorf("acme's keys after the removed admin's attempts: got %d, want 2", n)
	}
	okWhoAmI(t, ta, secret, http.StatusOK, acme)
	okWhoAmI(t, ta, bobSecret, http.StatusOK, acme)

	// An impersonation session of an admin can see the keys, not change them.
	at, err := ta.App.Client.ActorTokens.Create(ctx, clerkclient.CreateActorTokenParams{UserID: aliceID, Actor: json.RawMessage(`{"sub":"` + carolID + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	support := ta.Browser(t)
	pgPost(t, ta, support, "/sign-in/ticket", url.Values{"token": {at.Token}}, http.StatusSeeOther, "/dashboard")
	ta.orgActivate(t, support, acme)
	body = pgGet(t, ta, support, "/org", http.StatusOK)
	pgWantText(t, "/org as an actor", body, "CI deploy", "an impersonation session cannot create or revoke them")
	if strings.Contains(body, `action="/org/api-keys"`) {
		t.Error("/org as an actor: got the API key forms, want none")
	}
	_, body = pgPost(t, ta, support, "/org/api-keys", url.Values{"organization_id": {acme}, "name": {"sneaky"}}, http.StatusForbidden, "")
	pgWantText(t, "create as an actor", body, "Not available while impersonating.")
	pgPost(t, ta, support, "/org/api-keys/"+key.ID+"/revoke", url.Values{"organization_id": {acme}}, http.StatusForbidden, "")
	if n := okCount(t, ta, acme); n != 2 {
		t.Errorf("acme's keys after the actor's attempts: got %d, want 2", n)
	}
	okWhoAmI(t, ta, secret, http.StatusOK, acme)

	// The limit of live keys holds for organizations too.
	for range auth.MaxLiveAPIKeys - 2 {
		if _, err := ta.App.Client.APIKeys.Create(ctx, auth.CreateAPIKeyParams{Name: "bulk", Subject: acme}); err != nil {
			t.Fatal(err)
		}
	}
	_, body = pgPost(t, ta, alice, "/org/api-keys", url.Values{"organization_id": {acme}, "name": {"one too many"}}, http.StatusConflict, "")
	pgWantText(t, "the key over the limit", body, "Revoke one before creating another.")
	if n := okCount(t, ta, acme); n != auth.MaxLiveAPIKeys {
		t.Errorf("acme's keys at the limit: got %d, want %d", n, auth.MaxLiveAPIKeys)
	}

	// Revocation holds from the next request.
	pgPost(t, ta, alice, "/org/api-keys/"+key.ID+"/revoke", url.Values{"organization_id": {acme}}, http.StatusSeeOther, "/org?notice=key-revoked")
	okWhoAmI(t, ta, secret, http.StatusUnauthorized, "")
	body = pgGet(t, ta, alice, "/org?notice=key-revoked", http.StatusOK)
	pgWantText(t, "/org after revoke", body, "API key revoked.")
	if strings.Contains(body, key.ID) {
		t.Error("/org after revoke: the revoked key is still listed")
	}
	if got, err := ta.App.Client.APIKeys.Get(ctx, key.ID); err != nil || !got.Revoked {
		t.Errorf("revoked key: got %+v, %v; want revoked", got, err)
	}

	// Deleting an organization deletes its keys.
	pgPost(t, ta, carol, "/org/new", url.Values{"name": {"Short Lived"}}, http.StatusSeeOther, "/org?notice=created")
	temp, _ := ta.orgClaims(t, carol)["o"].(map[string]any)["id"].(string)
	tempSecret := okCreate(t, ta, carol, temp, "temporary", "never")
	okWhoAmI(t, ta, tempSecret, http.StatusOK, temp)
	tempKeys, _ := ta.App.Client.APIKeys.List(ctx, auth.APIKeyListParams{Subject: temp})
	pgPost(t, ta, carol, "/org/delete", url.Values{"organization_id": {temp}}, http.StatusSeeOther, "/org?notice=deleted")
	okWhoAmI(t, ta, tempSecret, http.StatusUnauthorized, "")
	if _, err := ta.App.Client.APIKeys.Get(ctx, tempKeys.Data[0].ID); !auth.IsNotFound(err) {
		t.Errorf("key of a deleted organization: got %v, want not found", err)
	}
	// The backend client refuses keys for organizations that do not exist.
	if _, err := ta.App.Client.APIKeys.Create(ctx, auth.CreateAPIKeyParams{Name: "ghost", Subject: temp}); !auth.IsNotFound(err) {
		t.Errorf("backend key for a deleted organization: got %v, want not found", err)
	}

	// Signed out, the forms send to sign-in and change nothing.
	res, _ = harness.PostForm(t, ta.Browser(t), ta.URL+"/org/api-keys", url.Values{"organization_id": {acme}, "name": {"anon"}})
	if res.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(res.Header.Get("Location"), "/sign-in") {
		t.Errorf("create signed out: got %d to %q, want 307 to sign-in", res.StatusCode, res.Header.Get("Location"))
	}
	// An API key is no session: it cannot mint more keys.
	res, _ = harness.Do(t, plainClient(), http.MethodPost, ta.URL+"/org/api-keys", strings.NewReader(url.Values{"organization_id": {acme}, "name": {"x"}}.Encode()),
		withHeaders(map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, mtBearer(bobSecret)))
	if res.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(res.Header.Get("Location"), "/sign-in") {
		t.Errorf("create with an API key: got %d to %q, want 307 to sign-in", res.StatusCode, res.Header.Get("Location"))
	}
	if n := okCount(t, ta, acme); n != auth.MaxLiveAPIKeys-1 {
		t.Errorf("acme's keys at the end: got %d, want %d", n, auth.MaxLiveAPIKeys-1)
	}
}

var okRowRE = regexp.MustCompile(`(?s)<tr>.*?</tr>`)

// okRow returns the visible text of the table row of /org that names id.
func okRow(t *testing.T, body, id string) string {
	t.Helper()
	for _, row := range okRowRE.FindAllString(body, -1) {
		if strings.Contains(row, id) {
			return pgText(row)
		}
	}
	t.Fatalf("no row names %s in %.600s", id, pgText(body))
	return ""
}
