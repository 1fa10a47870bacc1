package e2e

// Durability: the real binary is killed with SIGKILL after acknowledging
// writes; the database must pass its integrity checks, keep every
// acknowledged write, and every session must still refresh after a restart
// (the signing keys and the sessions are persisted).

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/e2e/harness"

	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// serverProc is one run of `gatehouse serve`.
type serverProc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when the process has exited
}

func startServer(t *testing.T, bin, dir string, env []string, base string) *serverProc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	cmd.Env = env
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gatehouse serve: %v", err)
	}
	done := make(chan struct{})
	p := &serverProc{cmd: cmd, out: out, done: done}
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("gatehouse serve exited before it was ready; output:\n%s", out)
		default:
		}
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz: not 200 after 20 s; output:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill9 sends SIGKILL and waits for the process to be gone.
func (p *serverProc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("kill -9: the process did not exit within 10 s")
	}
}

func TestDurabilityKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("durability test builds and runs the binary; skipped with -short")
	}
	t.Parallel()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "gatehouse")
	build := exec.Command("go", "build", "-o", bin, "..") // the module root
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	dbPath := filepath.Join(tmp, "data", "gatehouse.db")
	runDir := filepath.Join(tmp, "run") // no .env here
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + tmp,
		"APP_ENV=development",
		fmt.Sprintf("PORT=%d", port),
		"APP_URL=" + base,
		"CLERK_SECRET_KEY=" + config.NewSecretKey(false),
		"CLERK_ENCRYPTION_KEY=" + config.NewEncryptionKey(),
		"DATABASE_URL=sqlite:" + dbPath,
	}

	srv := startServer(t, bin, runDir, env, base)
	c := (&testApp{}).Browser(t) // a cookie jar; browser uses no field of testApp
	res, body := harness.PostForm(t, c, base+"/sign-in", map[string][]string{"identifier": {"alice@example.com"}, "password": {"gatehouse-demo-alice"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in of the seeded alice: got %d, want 303; body %.300s\noutput:\n%s", res.StatusCode, body, srv.out)
	}
	clientCookie := cookieValue(c, base, "__client")
	sessionCookie := cookieValue(c, base, "__session")
	if clientCookie == "" || sessionCookie == "" {
		t.Fatalf("cookies after sign-in: got __client %t __session %t, want both", clientCookie != "", sessionCookie != "")
	}

	created := map[string]bool{}
	for i := 0; i < 20; i++ {
		res, body := harness.Do(t, c, http.MethodPost, base+"/api/items", strings.NewReader(fmt.Sprintf(`{"name":"durable item %02d"}`, i)),
			map[string]string{"Content-Type": "application/json"})
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("POST /api/items #%d: got %d, want 201; body %s", i, res.StatusCode, body)
		}
		var out struct{ Item struct{ ID string } }
		json.Unmarshal([]byte(body), &out)
		created[out.Item.ID] = true
	}

	srv.kill9(t)

	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+dbPath)
	if err != nil {
		t.Fatalf("store.Open after kill -9: %v", err)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Errorf("CheckIntegrity after kill -9: got %v, want nil", err)
	}
	db.Close()

	srv = startServer(t, bin, runDir, env, base)

	// Every acknowledged item survived.
	res, body = harness.Do(t, c, http.MethodGet, base+"/api/items", nil, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/items after restart: got %d, want 200; body %s", res.StatusCode, body)
	}
	var list struct{ Items []struct{ ID, Name string } }
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 20 {
		t.Errorf("items after restart: got %d, want 20", len(list.Items))
	}
	for _, it := range list.Items {
		if !created[it.ID] {
			t.Errorf("item %s after restart: not one of the acknowledged items", it.ID)
		}
		delete(created, it.ID)
	}
	if len(created) != 0 {
		t.Errorf("items lost by kill -9: %v", created)
	}

	// The old session token still verifies (the signing key persisted)…
	res, body = harness.Do(t, plainClient(), http.MethodGet, base+"/api/me", nil, map[string]string{"Authorization": "Bearer " + sessionCookie})
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /api/me with the pre-crash token: got %d %s (reason %q), want 200: the signing key must survive a restart",
			res.StatusCode, body, res.Header.Get("X-Clerk-Auth-Reason"))
	}
	// …and the old client cookie refreshes the session.
	res, body = harness.Do(t, plainClient(), http.MethodGet, base+"/api/me", nil, map[string]string{"Cookie": "__client=" + clientCookie})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/me with only the pre-crash __client: got %d %s (reason %q), want 200",
			res.StatusCode, body, res.Header.Get("X-Clerk-Auth-Reason"))
	}
	var fresh string
	for _, ck := range res.Cookies() {
		if ck.Name == "__session" {
			fresh = ck.Value
		}
	}
	if fresh == "" {
		t.Error("refresh after restart: got no __session cookie, want a new token")
	}
	srv.kill9(t)
}

func cookieValue(c *http.Client, base, name string) string {
	req, _ := http.NewRequest(http.MethodGet, base, nil)
	for _, ck := range c.Jar.Cookies(req.URL) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}
