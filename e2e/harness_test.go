package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"
)

// testApp is the running app, with the helpers of this package's tests.
type testApp struct{ *harness.Server }

// startApp starts the app (see harness.Start).
func startApp(t testing.TB, env map[string]string) *testApp {
	t.Helper()
	return &testApp{harness.Start(t, env)}
}

func TestHarnessSignIn(t *testing.T) {
	ta := startApp(t, nil)
	ta.CreateUser(t, "dora@example.com", "correct horse battery", "Dora", "Test")
	c := ta.Browser(t)
	ta.SignIn(t, c, "dora@example.com", "correct horse battery")
	res, body := harness.Do(t, c, http.MethodGet, ta.URL+"/api/me", nil, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"userId":"user_`) {
		t.Fatalf("GET /api/me after sign-in: got %d %s, want 200 with a userId", res.StatusCode, body)
	}
}
