package browser

import (
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
