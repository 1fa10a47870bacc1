package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// TestAdminAuditPage: instance administrators see every audit event,
// filtered by user and name; anyone else is refused.
func TestAdminAuditPage(t *testing.T) {
	ta := startApp(t, map[string]string{"ADMIN_EMAILS": "root@example.com"})
	ta.CreateUser(t, "root@example.com", "the root passphrase 1", "Root", "Admin")
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	dora := ta.Browser(t)
	ta.SignIn(t, dora, doraEmail, doraPassword)
	res, body := harness.Do(t, dora, http.MethodGet, ta.URL+"/admin/audit", nil, nil)
	assertStatus(t, "GET /admin/audit as a user", res, body, http.StatusForbidden)

	root := ta.Browser(t)
	ta.SignIn(t, root, "root@example.com", "the root passphrase 1")
	doraID := ta.UserID(t, doraEmail)
	res, body = harness.Do(t, root, http.MethodGet, ta.URL+"/admin/audit?user_id="+doraID+"&name=session.created", nil, nil)
	assertStatus(t, "GET /admin/audit as an administrator", res, body, http.StatusOK)
	if !strings.Contains(body, "session.created") || !strings.Contains(body, doraID) {
		t.Errorf("audit page filtered to Dora's sign-ins: want her session.created row")
	}
	table := body[strings.Index(body, `data-testid="audit"`):]
	table = table[:strings.Index(table, "</table>")]
	if strings.Contains(table, "user.created") || strings.Contains(table, ta.UserID(t, "root@example.com")) {
		t.Errorf("audit page filtered to Dora's sign-ins: shows other events or users: %s", table)
	}
}

// TestImpersonatedOrgChangesNameTheActor attacks the audit log's blind
// spot: an administrator impersonating an organization's owner renames it
// through the pages, and the event names the administrator as the actor
// and the actor session, not only the owner.
func TestImpersonatedOrgChangesNameTheActor(t *testing.T) {
	ta := startApp(t, map[string]string{"ADMIN_EMAILS": "root@example.com"})
	ctx := context.Background()
	root := ta.CreateUser(t, "root@example.com", "the root passphrase 1", "Root", "Admin")
	owner := ta.CreateUser(t, "owner@example.com", "correct horse battery", "Olga", "Owner")
	org, err := ta.App.Client.Organizations.CreateOrganization(ctx, clerkclient.CreateOrganizationParams{Name: "Fabrikam", CreatedBy: &owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	c, sid := impersonate(t, ta, root.ID, owner.ID)
	if res, body := harness.PostForm(t, c, ta.URL+"/org/switch", url.Values{"organization_id": {org.ID}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("switch to Fabrikam: got %d, want 303: %.300s", res.StatusCode, body)
	}
	if res, body := harness.PostForm(t, c, ta.URL+"/org/settings", url.Values{"organization_id": {org.ID}, "name": {"Fabrikam Renamed"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename while impersonating: got %d, want 303: %.300s", res.StatusCode, body)
	}
	list, err := ta.App.Client.AuditEvents.List(ctx, clerkclient.AuditEventListParams{Name: "organization.updated"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Data) != 1 {
		t.Fatalf("organization.updated events: got %d, want 1", len(list.Data))
	}
	ev := list.Data[0]
	if ev.UserID != owner.ID || ev.ActorID != root.ID || ev.SessionID != sid || ev.ResourceID != org.ID {
		t.Errorf("the rename's event: got user %q actor %q session %q resource %q, want %q %q %q %q",
			ev.UserID, ev.ActorID, ev.SessionID, ev.ResourceID, owner.ID, root.ID, sid, org.ID)
	}
	if ev.IP == "" || ev.UserAgent == "" {
		t.Errorf("the rename's event: got ip %q user agent %q, want where the request came from", ev.IP, ev.UserAgent)
	}
	if !strings.Contains(string(ev.Data), "Fabrikam Renamed") {
		t.Errorf("the rename's data: got %s, want the organization with its new name", ev.Data)
	}
}
