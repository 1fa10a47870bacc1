package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// TestTemplateTokenClaimsFromStore attacks a template token's org claims:
// a member removed a moment ago still holds a session token (up to a
// minute old) that names the organization and the admin role. A template
// token minted from it lives much longer, so its {{org.*}} must come from
// the store at mint time, on /api/token as through the frontend API.
func TestTemplateTokenClaimsFromStore(t *testing.T) {
	ta, _, u, org := ownerAndDora(t)
	ctx := context.Background()
	if _, err := ta.App.Client.Organizations.CreateOrganizationMembership(ctx, clerkclient.CreateOrganizationMembershipParams{
		OrganizationID: org.ID, UserID: u.ID, Role: "org:admin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.App.Client.JwtTemplates.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: "orgs",
		Claims: json.RawMessage(`{"org":"{{org.id}}","role":"{{org.role}}"}`)}); err != nil {
		t.Fatal(err)
	}
	c := ta.Browser(t)
	ta.SignIn(t, c, doraEmail, doraPassword)
	ta.orgActivate(t, c, org.ID)
	status, tok := ta.templateToken(t, c, "orgs", nil)
	if claims := parseJWT(t, tok, jwt.WithKeySet(ta.jwks(t)), jwt.WithIssuer(ta.URL)); status != http.StatusOK || claims["role"] != "org:admin" || claims["org"] != org.ID {
		t.Fatalf("template token as a member: got %d %v, want 200 with org %s and org:admin", status, claims, org.ID)
	}

	// Removed now; the browser's session token still says org:admin.
	if _, err := ta.App.Client.Organizations.DeleteOrganizationMembership(ctx, clerkclient.DeleteOrganizationMembershipParams{
		OrganizationID: org.ID, UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	status, tok = ta.templateToken(t, c, "orgs", nil)
	if status != http.StatusOK {
		t.Fatalf("template token after removal: got %d, want 200 (without the organization)", status)
	}
	if claims := parseJWT(t, tok, jwt.WithKeySet(ta.jwks(t)), jwt.WithIssuer(ta.URL)); claims["role"] == "org:admin" || claims["org"] == org.ID {
		t.Errorf("template token after removal: got %v, want no organization and no role", claims)
	}
}

// TestTemplateTokenActClaim checks that a template token minted from an
// actor session carries act (who is acting), that one from the user's own
// session does not, and that no template can set act itself.
func TestTemplateTokenActClaim(t *testing.T) {
	ta := startApp(t, map[string]string{"ADMIN_EMAILS": "root@example.com"})
	ctx := context.Background()
	admin := ta.CreateUser(t, "root@example.com", "correct horse battery", "Root", "Admin")
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	if _, err := ta.App.Client.JwtTemplates.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: "plain",
		Claims: json.RawMessage(`{"uid":"{{user.id}}"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.App.Client.JwtTemplates.Create(ctx, clerkclient.CreateJwtTemplateParams{Name: "forged",
		Claims: json.RawMessage(`{"act":{"sub":"user_someone"}}`)}); clerkclient.ErrorCode(err) == "" {
		t.Errorf("a template setting act: got %v, want a refusal (act is reserved)", err)
	}

	own := ta.Browser(t)
	ta.SignIn(t, own, doraEmail, doraPassword)
	_, tok := ta.templateToken(t, own, "plain", nil)
	if claims := parseJWT(t, tok, jwt.WithKeySet(ta.jwks(t)), jwt.WithIssuer(ta.URL)); claims["act"] != nil {
		t.Errorf("template token of the user's own session: got act %v, want none", claims["act"])
	}

	at, err := ta.App.Client.ActorTokens.Create(ctx, clerkclient.CreateActorTokenParams{UserID: u.ID,
		Actor: json.RawMessage(`{"sub":"` + admin.ID + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	imp := ta.Browser(t)
	if res, body := harness.PostForm(t, imp, ta.URL+"/sign-in/ticket", url.Values{"token": {at.Token}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in with the ticket: got %d, want 303: %.300s", res.StatusCode, body)
	}
	status, tok := ta.templateToken(t, imp, "plain", nil)
	claims := parseJWT(t, tok, jwt.WithKeySet(ta.jwks(t)), jwt.WithIssuer(ta.URL))
	act, _ := claims["act"].(map[string]any)
	if status != http.StatusOK || act["sub"] != admin.ID || claims["sub"] != u.ID {
		t.Errorf("template token of an actor session: got %d sub %v act %v, want sub %s and act.sub %s", status, claims["sub"], claims["act"], u.ID, admin.ID)
	}
}

// TestAcceptInvitationRereadsSession attacks the acceptance form with a
// session that has just ended: its session token is still valid for up
// to a minute, but a membership write re-reads the session, so nothing is
// joined.
func TestAcceptInvitationRereadsSession(t *testing.T) {
	ta, owner, u, org := ownerAndDora(t)
	ctx := context.Background()
	inv, err := ta.App.Client.Organizations.CreateOrganizationInvitation(ctx, clerkclient.CreateOrganizationInvitationParams{
		OrganizationID: org.ID, EmailAddress: doraEmail, InviterUserID: owner.ID, Role: "org:member"})
	if err != nil {
		t.Fatal(err)
	}
	if inv.URL == nil {
		t.Fatal("the invitation has no link")
	}
	link, err := url.Parse(*inv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := ta.Browser(t)
	ta.SignIn(t, c, doraEmail, doraPassword)
	sid := ta.sessionID(t, c)
	if _, err := ta.App.Client.Sessions.RevokeSession(ctx, sid); err != nil {
		t.Fatal(err)
	}
	res, body := harness.PostForm(t, c, ta.URL+"/org/invitations/accept", url.Values{"token": {link.Query().Get("token")}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") == "/org?notice=joined" {
		t.Errorf("accept with an ended session: got %d to %q, want 303 to sign in: %.200s", res.StatusCode, res.Header.Get("Location"), body)
	}
	list, err := ta.App.Client.Users.GetOrganizationMembershipList(ctx, clerkclient.UserOrganizationMembershipListParams{UserID: u.ID})
	if err != nil || len(list.Data) != 0 {
		t.Errorf("memberships after accepting with an ended session: got %d (%v), want none", len(list.Data), err)
	}
}

// TestProfileAPIKeyLimitUnderRace sends 20 concurrent creations to a user
// two keys under the limit: the store counts inside the insert, so the
// user ends with exactly the limit.
func TestProfileAPIKeyLimitUnderRace(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	for range auth.MaxLiveAPIKeys - 2 {
		if _, err := ta.App.Client.APIKeys.Create(ctx, auth.CreateAPIKeyParams{Name: "bulk", Subject: u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	c := ta.Browser(t)
	ta.SignIn(t, c, doraEmail, doraPassword)
	header := withHeaders(sameOrigin, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	// The requests start together, so that their counts overlap.
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			<-start
			res, body := harness.Do(t, c, http.MethodPost, ta.URL+"/profile/api-keys",
				strings.NewReader(url.Values{"name": {"racer"}, "expires_in": {"never"}}.Encode()), header)
			if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("concurrent create: got %d, want 200 or 422: %.200s", res.StatusCode, body)
			}
		})
	}
	close(start)
	wg.Wait()
	list, err := ta.App.Client.APIKeys.List(ctx, auth.APIKeyListParams{Subject: u.ID, Limit: 1})
	if err != nil || list.TotalCount != auth.MaxLiveAPIKeys {
		t.Errorf("live keys after the race: got %d (%v), want %d", list.TotalCount, err, auth.MaxLiveAPIKeys)
	}
}

// TestConfusableAddresses attacks sign-up and invitations with addresses
// that look like an existing one: an invisible character, a Cyrillic
// letter, a decomposed accent. None makes a second account or invitation.
func TestConfusableAddresses(t *testing.T) {
	ta := startApp(t, nil)
	ctx := context.Background()
	owner := ta.CreateUser(t, "jos\u00e9@example.com", "correct horse battery", "José", "Owner")
	for _, addr := range []string{"jos\u00e9@example.com\u200b", "jos\u00e9@ex\u0430mple.com", "jose\u0301@example.com"} {
		res, body := signUpForm(t, ta.Browser(t), ta.URL, url.Values{"email_address": {addr}, "password": {"another horse battery"}})
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("sign-up as %q: got %d, want 422: %.200s", addr, res.StatusCode, body)
		}
	}
	list, err := ta.App.Client.Users.GetUserList(ctx, auth.UserListParams{Limit: 10})
	if err != nil || list.TotalCount != 1 {
		t.Errorf("users after the attempts: got %d (%v), want 1", list.TotalCount, err)
	}
	org, err := ta.App.Client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Fabrikam", CreatedBy: &owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.App.Client.Organizations.CreateOrganizationInvitation(ctx, clerkclient.CreateOrganizationInvitationParams{
		OrganizationID: org.ID, EmailAddress: "b\u043eb@example.com", InviterUserID: owner.ID}); clerkclient.ErrorCode(err) == "" {
		t.Errorf("an invitation to a mixed-script address: got %v, want a refusal", err)
	}
}

// ownerAndDora starts the app with an organization, Fabrikam, owned by
// Olga, and Dora, who does not belong to it yet.
func ownerAndDora(t *testing.T) (ta *testApp, owner, dora *auth.User, org *auth.Organization) {
	t.Helper()
	ta = startApp(t, nil)
	owner = ta.CreateUser(t, "owner@example.com", "correct horse battery", "Olga", "Owner")
	dora = ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	org, err := ta.App.Client.Organizations.CreateOrganization(context.Background(), clerkclient.CreateOrganizationParams{Name: "Fabrikam", CreatedBy: &owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	return ta, owner, dora, org
}

// TestHostHeaderRefused attacks the server as DNS rebinding does: a page
// on another name that resolves to the app's address. Requests naming
// another host are refused before any route runs, the health routes
// excepted; the loopback names on the app's port count as one in
// development, and ALLOWED_HOSTS adds names.
func TestHostHeaderRefused(t *testing.T) {
	ta := startApp(t, map[string]string{"ALLOWED_HOSTS": "app.internal"})
	u, err := url.Parse(ta.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := plainClient()
	for _, tc := range []struct {
		host, path string
		want       int
	}{
		{"rebind.evil.example", "/sign-in", http.StatusMisdirectedRequest},
		{"rebind.evil.example:" + u.Port(), "/api/me", http.StatusMisdirectedRequest},
		{"rebind.evil.example", "/dev/mailbox", http.StatusMisdirectedRequest},
		{"rebind.evil.example", "/healthz", http.StatusOK},
		{u.Host, "/sign-in", http.StatusOK},
		{"localhost:" + u.Port(), "/sign-in", http.StatusOK},
		{"localhost:1", "/sign-in", http.StatusMisdirectedRequest},
		{"app.internal", "/sign-in", http.StatusOK},
	} {
		req, err := http.NewRequest(http.MethodGet, ta.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tc.host
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("GET %s with Host %q: got %d, want %d", tc.path, tc.host, res.StatusCode, tc.want)
		}
	}
}

// impersonate signs a new browser in as target on behalf of admin through
// an actor token's link, and returns the browser and its session id.
func impersonate(t *testing.T, ta *testApp, adminID, targetID string) (*http.Client, string) {
	t.Helper()
	at, err := ta.App.Client.ActorTokens.Create(context.Background(), clerkclient.CreateActorTokenParams{UserID: targetID,
		Actor: json.RawMessage(`{"sub":"` + adminID + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	c := ta.Browser(t)
	if res, body := harness.PostForm(t, c, ta.URL+"/sign-in/ticket", url.Values{"token": {at.Token}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in with the ticket: got %d, want 303: %.300s", res.StatusCode, body)
	}
	return c, ta.sessionID(t, c)
}

// TestImpersonationBounds attacks actor sessions that outlive their
// actor's rights: the administrator banned, or no longer an administrator
// (ADMIN_EMAILS changed, seen by another instance). The next refresh ends
// the session and clears the cookies; and an actor session is short.
func TestImpersonationBounds(t *testing.T) {
	var logs syncBuffer
	env := map[string]string{"ADMIN_EMAILS": "root@example.com", "DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "shared.db")}
	ta := &testApp{harness.StartLogging(t, env, slog.New(slog.NewTextHandler(&logs, nil)))}
	ctx := context.Background()
	admin := ta.CreateUser(t, "root@example.com", "correct horse battery", "Root", "Admin")
	u := ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")

	c, sid := impersonate(t, ta, admin.ID, u.ID)
	sess, err := ta.App.Client.Sessions.GetSession(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if life := time.Duration(sess.ExpireAt-sess.CreatedAt) * time.Millisecond; life > time.Hour {
		t.Errorf("actor session lifetime: got %s, want at most 1h (IMPERSONATION_MAX_AGE)", life)
	}

	t.Run("administrator banned", func(t *testing.T) {
		c, _ := impersonate(t, ta, admin.ID, u.ID)
		if _, err := ta.App.Client.Users.BanUser(ctx, admin.ID); err != nil {
			t.Fatal(err)
		}
		defer ta.App.Client.Users.UnbanUser(ctx, admin.ID)
		ta.dropCookie(c, "__session") // the next request refreshes
		res, uid := ta.me(t, c, nil)
		if uid != "" {
			t.Errorf("after the administrator's ban: got signed in as %s, want signed out", uid)
		}
		assertCleared(t, res)
		if !strings.Contains(logs.String(), "impersonation ended") || !strings.Contains(logs.String(), "banned") {
			t.Errorf("log: want \"impersonation ended\" with the reason; got %s", logs.String())
		}
	})

	t.Run("no longer an administrator", func(t *testing.T) {
		// Another instance on the same database, its ADMIN_EMAILS without root.
		other := map[string]string{"APP_URL": ta.URL, "DATABASE_URL": env["DATABASE_URL"],
			"CLERK_SECRET_KEY": ta.Cfg.SecretKey, "CLERK_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(ta.Cfg.EncryptionKey)}
		tb := startApp(t, other)
		ta.dropCookie(c, "__session")
		res, body := harness.Do(t, c, http.MethodGet, tb.URL+"/api/me", nil, nil)
		if strings.Contains(body, u.ID) {
			t.Errorf("refresh on an instance where root is no administrator: got %s, want signed out", body)
		}
		assertCleared(t, res)
		if s, err := ta.App.Client.Sessions.GetSession(ctx, sid); err != nil || s.Status != "revoked" {
			t.Errorf("the actor session: got %v (%v), want revoked", s, err)
		}
	})
}

// TestInvitationLimits attacks invitations as a mail cannon: one inviter
// sending 25 at once gets 20 through (counted in the store, inside the
// write), and an organization at most 50 an hour whoever sends them.
func TestInvitationLimits(t *testing.T) {
	ta, owner, _, org := ownerAndDora(t)
	ctx := context.Background()
	invite := func(i int, inviter string) error {
		_, err := ta.App.Client.Organizations.CreateOrganizationInvitation(ctx, clerkclient.CreateOrganizationInvitationParams{
			OrganizationID: org.ID, EmailAddress: fmt.Sprintf("target%d@example.com", i), InviterUserID: inviter})
		return err
	}
	errs := make([]error, 25)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { <-start; errs[i] = invite(i, owner.ID) })
	}
	close(start)
	wg.Wait()
	sent := 0
	for _, err := range errs {
		switch e, _ := errors.AsType[*auth.APIError](err); {
		case err == nil:
			sent++
		case e == nil || e.Status != http.StatusTooManyRequests || e.Code() != "too_many_invitations":
			t.Errorf("an invitation over the inviter's limit: got %v, want 429 too_many_invitations", err)
		}
	}
	if sent != 20 {
		t.Errorf("one inviter's invitations in an hour: got %d sent, want 20", sent)
	}
	// Without an inviter (the instance), the organization's own bound.
	for i := 100; i < 130; i++ {
		if err := invite(i, ""); err != nil {
			t.Fatalf("invitation %d of the organization: %v", i-100+21, err)
		}
	}
	if err := invite(200, ""); clerkclient.ErrorCode(err) != "too_many_invitations" {
		t.Errorf("the organization's 51st invitation this hour: got %v, want too_many_invitations", err)
	}
}
