package e2e

import (
	"net/http"
	"strings"
	"testing"

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
