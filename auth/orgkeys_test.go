package auth_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// TestOrganizationAPIKeysClient: the ...ForOrganization methods act for a
// signed-in user and let only the organization's admins, as the store
// sees them at that moment, list, create and revoke its keys.
func TestOrganizationAPIKeysClient(t *testing.T) {
	// Carol is an instance administrator: she may impersonate (below).
	s := newStackWith(t, func(c *identity.Config) { c.ReservedEmails = []string{"carol@example.com"} })
	ctx := context.Background()
	keys := s.client.APIKeys
	alice := s.signIn(t, "alice@example.com")
	bob := s.signIn(t, "bob@example.com")
	carol := s.signIn(t, "carol@example.com")
	org, err := s.client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Acme", CreatedBy: &alice.userID})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Other", CreatedBy: &carol.userID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.Organizations.CreateOrganizationMembership(ctx, clerkclient.CreateOrganizationMembershipParams{OrganizationID: org.ID, UserID: bob.userID}); err != nil {
		t.Fatal(err)
	}
	caller := func(sess session) identity.Caller {
		t.Helper()
		c, err := s.ids.SessionCaller(ctx, sess.sessionID)
		if err != nil {
			t.Fatalf("SessionCaller: %v", err)
		}
		return c
	}
	week := int64(7 * 24 * 3600)

	key, err := keys.CreateForOrganization(ctx, caller(alice), auth.CreateAPIKeyParams{Name: "Deploy", Subject: org.ID,
		CreatedBy: bob.userID, SecondsUntilExpiration: &week})
	if err != nil {
		t.Fatalf("CreateForOrganization by the admin: %v", err)
	}
	if key.Subject != org.ID || key.Secret == "" || key.CreatedBy == nil || *key.CreatedBy != alice.userID || key.Expiration == nil {
		t.Errorf("created key: got %+v, want the organization's, with its secret, created by alice (not the param), expiring", key)
	}
	if v, err := keys.Verify(ctx, key.Secret); err != nil || v.Subject != org.ID {
		t.Errorf("Verify: got %+v, %v; want the organization's key", v, err)
	}

	for _, tc := range []struct {
		name   string
		c      identity.Caller
		p      auth.CreateAPIKeyParams
		status int
		code   string
	}{
		{"by a member", caller(bob), auth.CreateAPIKeyParams{Name: "x", Subject: org.ID}, 403, identity.CodeNotAllowed},
		{"by a non-member", caller(carol), auth.CreateAPIKeyParams{Name: "x", Subject: org.ID}, 404, identity.CodeNotFound},
		{"by nobody", identity.Caller{}, auth.CreateAPIKeyParams{Name: "x", Subject: org.ID}, 403, identity.CodeNotAllowed},
		{"for a user", caller(alice), auth.CreateAPIKeyParams{Name: "x", Subject: alice.userID}, 422, "form_param_format_invalid"},
		{"for an unknown organization", caller(alice), auth.CreateAPIKeyParams{Name: "x", Subject: "org_missing"}, 404, identity.CodeNotFound},
		{"without a name", caller(alice), auth.CreateAPIKeyParams{Subject: org.ID}, 422, "form_param_missing"},
	} {
		_, err := keys.CreateForOrganization(ctx, tc.c, tc.p)
		assertAPIError(t, "create "+tc.name, err, tc.status, tc.code)
	}
	if list, err := keys.List(ctx, auth.APIKeyListParams{Subject: org.ID}); err != nil || list.TotalCount != 1 {
		t.Errorf("keys after refusals: got %+v, %v; want 1", list, err)
	}

	list, err := keys.ListForOrganization(ctx, caller(alice), auth.APIKeyListParams{Subject: org.ID})
	if err != nil || list.TotalCount != 1 || list.Data[0].ID != key.ID || list.Data[0].Secret != "" {
		t.Errorf("ListForOrganization by the admin: got %+v, %v; want the key without its secret", list, err)
	}
	_, err = keys.ListForOrganization(ctx, caller(bob), auth.APIKeyListParams{Subject: org.ID})
	assertAPIError(t, "list by a member", err, 403, identity.CodeNotAllowed)
	_, err = keys.ListForOrganization(ctx, caller(carol), auth.APIKeyListParams{Subject: org.ID})
	assertAPIError(t, "list by a non-member", err, 404, identity.CodeNotFound)

	// An impersonation session is refused, even for an admin.
	at, err := s.client.ActorTokens.Create(ctx, clerkclient.CreateActorTokenParams{UserID: alice.userID, Actor: json.RawMessage(`{"sub":"` + carol.userID + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	imp, err := s.ids.SignInWithActorToken(ctx, at.Token, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ic, err := s.ids.SessionCaller(ctx, imp.Session.ID)
	if err != nil || !ic.Impersonated() || caller(alice).Impersonated() {
		t.Fatalf("SessionCaller of the actor session: got impersonated %v, %v (alice's own: %v); want true, false", ic.Impersonated(), err, caller(alice).Impersonated())
	}
	_, err = keys.CreateForOrganization(ctx, ic, auth.CreateAPIKeyParams{Name: "sneaky", Subject: org.ID})
	assertAPIError(t, "create by an actor session", err, 403, identity.CodeImpersonationRefused)
	_, err = keys.RevokeForOrganization(ctx, ic, auth.RevokeAPIKeyParams{ID: key.ID, Subject: org.ID})
	assertAPIError(t, "revoke by an actor session", err, 403, identity.CodeImpersonationRefused)

	// Revocation only through the key's own organization.
	for _, tc := range []struct {
		name   string
		c      identity.Caller
		p      auth.RevokeAPIKeyParams
		status int
		code   string
	}{
		{"by a member", caller(bob), auth.RevokeAPIKeyParams{ID: key.ID, Subject: org.ID}, 403, identity.CodeNotAllowed},
		{"through another organization", caller(carol), auth.RevokeAPIKeyParams{ID: key.ID, Subject: other.ID}, 404, identity.CodeNotFound},
		{"without an organization", caller(alice), auth.RevokeAPIKeyParams{ID: key.ID}, 422, "form_param_format_invalid"},
		{"a malformed id", caller(alice), auth.RevokeAPIKeyParams{ID: "ak_nope", Subject: org.ID}, 404, "resource_not_found"},
	} {
		_, err := keys.RevokeForOrganization(ctx, tc.c, tc.p)
		assertAPIError(t, "revoke "+tc.name, err, tc.status, tc.code)
	}
	if _, err := keys.Verify(ctx, key.Secret); err != nil {
		t.Fatalf("key after refused revocations: %v", err)
	}
	rev, err := keys.RevokeForOrganization(ctx, caller(alice), auth.RevokeAPIKeyParams{ID: key.ID, Subject: org.ID, RevocationReason: "rotated"})
	if err != nil || !rev.Revoked || rev.RevocationReason == nil || *rev.RevocationReason != "rotated" {
		t.Fatalf("RevokeForOrganization by the admin: got %+v, %v", rev, err)
	}
	_, err = keys.Verify(ctx, key.Secret)
	assertAPIError(t, "verify a revoked key", err, 404, "resource_not_found")

	// At most MaxLiveAPIKeys live keys per organization.
	for range auth.MaxLiveAPIKeys {
		if _, err := keys.Create(ctx, auth.CreateAPIKeyParams{Name: "bulk", Subject: other.ID}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = keys.CreateForOrganization(ctx, caller(carol), auth.CreateAPIKeyParams{Name: "one too many", Subject: other.ID})
	assertAPIError(t, "the key over the limit", err, 409, identity.CodeAPIKeyQuota)
}
