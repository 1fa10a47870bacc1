package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// TestDashboardTryTheAPI: the dashboard's console snippet is two
// statements on two lines, as a person would paste them.
func TestDashboardTryTheAPI(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, doraEmail, doraPassword, "Dora", "Test")
	c := ta.Browser(t)
	ta.SignIn(t, c, doraEmail, doraPassword)
	res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/dashboard", nil, nil)
	assertStatus(t, "GET /dashboard", res, body, http.StatusOK)
	if !strings.Contains(body, ".json()\nawait Clerk.getToken()</pre>") {
		i := strings.Index(body, "try-api")
		t.Errorf("Try the API: want the two statements on two lines; got %.200q", body[max(i, 0):])
	}
}
