package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// TestDevelopmentListensOnLoopback checks the safe default: development
// without an address listens on loopback only, and an address beyond it
// is said out loud, with APP_ENV unset named as the risk it is.
func TestDevelopmentListensOnLoopback(t *testing.T) {
	lns, err := listeners("", &config.Config{Port: 0}, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range lns {
		if !isLoopback(ln.Addr()) {
			t.Errorf("development default: listening on %s, want loopback only", ln.Addr())
		}
		ln.Close()
	}
	var stderr strings.Builder
	lns, err = listeners("0.0.0.0:0", &config.Config{}, io.Discard, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	lns[0].Close()
	if !strings.Contains(stderr.String(), "demo accounts") || !strings.Contains(stderr.String(), "APP_ENV is not set") {
		t.Errorf("development on every interface: got %q, want warnings about the demo accounts and APP_ENV", stderr.String())
	}
	stderr.Reset()
	lns, err = listeners("127.0.0.1:0", &config.Config{}, io.Discard, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	lns[0].Close()
	if stderr.Len() != 0 {
		t.Errorf("an explicit loopback address: got %q, want no warning", stderr.String())
	}
}
