package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// This file is the server side of `gatehouse loadtest`: the child process
// it measures, what it reads of it in /proc, and the browsers it signs in.

// loadServer is `gatehouse serve` started by the load test as a child
// process, on a free loopback port, in a temporary directory with its own
// SQLite database and fresh secrets.
type loadServer struct {
	dir     string
	addr    string // 127.0.0.1:port
	origin  string // http://127.0.0.1:port, also APP_URL
	env     []string
	exe     string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	logf    *os.File
	http    *http.Client
}

// startLoadServer creates the user email/password and starts the server.
func startLoadServer(ctx context.Context, email, password string) (*loadServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("loadtest: find this program: %w", err)
	}
	dir, err := os.MkdirTemp("", "gatehouse-loadtest-")
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &loadServer{dir: dir, exe: exe, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), exited: make(chan struct{})}
	s.origin = "http://" + s.addr
	// A fresh environment, not this process's: a DATABASE_URL or
	// CLERK_SIGNING_KEY set in the shell must not leak into the run.
	s.env = []string{
		"APP_ENV=development",
		"PORT=" + strconv.Itoa(port),
		"APP_URL=" + s.origin,
		"CLERK_SECRET_KEY=" + config.NewSecretKey(false),
		"CLERK_ENCRYPTION_KEY=" + config.NewEncryptionKey(),
		"DATABASE_URL=sqlite:" + filepath.Join(dir, "gatehouse.db"),
		"SIGN_IN_RATE_LIMIT=100000000", // the run signs in thousands of times from one address
		// (g) and the sessions of the memory run sign up in one step; the
		// verified sign-up's cost is measured by BenchmarkSignUpWithCode.
		"SIGN_UP_VERIFICATION=off",
		"GATEHOUSE_LOADTEST_ROUTES=1",
	}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GODEBUG"} {
		if v, ok := os.LookupEnv(k); ok {
			s.env = append(s.env, k+"="+v)
		}
	}
	s.http = &http.Client{
		Timeout:       60 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 128, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// The user is created before the server starts, so the server finds
	// users and seeds no demo accounts.
	seed := exec.CommandContext(ctx, exe, "users", "create", "--email", email, "--password", password,
		"--first-name", "Load", "--last-name", "Test")
	seed.Env, seed.Dir = s.env, dir
	if out, err := seed.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("loadtest: users create: %w: %s", err, bytes.TrimSpace(out))
	}
	if s.logf, err = os.Create(filepath.Join(dir, "server.log")); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	s.cmd = exec.Command(exe, "serve", "-listen", s.addr)
	s.cmd.Env, s.cmd.Dir, s.cmd.Stdout, s.cmd.Stderr = s.env, dir, s.logf, s.logf
	stopWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		s.logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("loadtest: start the server: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx, time.Minute); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("loadtest: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *loadServer) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("loadtest: the server exited (%v); its log ends with:\n%s", s.waitErr, s.logTail(20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		res, err := s.http.Get(s.origin + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("loadtest: the server was not ready after %s; its log ends with:\n%s", limit, s.logTail(20))
}

// logTail returns the last n lines of the server's log (which holds no
// secrets: the server never logs them).
func (s *loadServer) logTail(n int) string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// stop ends the server (SIGTERM, then SIGKILL after 10 s) and removes the
// temporary directory with its database.
func (s *loadServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.logf != nil {
		s.logf.Close()
	}
	s.http.CloseIdleConnections()
	os.RemoveAll(s.dir)
}

func (s *loadServer) pid() int { return s.cmd.Process.Pid }

// cpu returns the server's user+system CPU time so far (/proc/<pid>/stat,
// in clock ticks of 10 ms, Linux's USER_HZ).
func (s *loadServer) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid()))
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(b, []byte(") "))
	if !ok {
		return 0
	}
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// memory returns the server's VmRSS and VmHWM in KiB.
func (s *loadServer) memory() (rss, hwm int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.pid()))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			rss = kib
		case "VmHWM":
			hwm = kib
		}
	}
	return rss, hwm
}

// profile saves the server's CPU profile over the window w into file; the
// channel is closed when it is written.
func (s *loadServer) profile(ctx context.Context, w window, file string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		sleepUntil(ctx, w.warmEnd)
		secs := min(max(int(w.end.Sub(w.warmEnd).Round(time.Second)/time.Second), 1), maxProfile)
		res, err := s.http.Get(fmt.Sprintf("%s/__bench/pprof/cpu?seconds=%d", s.origin, secs))
		if err != nil {
			return
		}
		defer res.Body.Close()
		if f, err := os.Create(file); err == nil {
			io.Copy(f, res.Body)
			f.Close()
		}
	}()
	return done
}

// resetPeak resets VmHWM to the current RSS (Linux ≥ 4.0).
func (s *loadServer) resetPeak() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.pid()), []byte("5"), 0) == nil
}

// browser is one signed-in browser: its two cookies and the session.
type browser struct {
	client string // the __client cookie
	sid    string
	token  atomic.Pointer[string] // the current __session token
	minted atomic.Int64           // when token was minted, Unix nanoseconds
}

func (b *browser) setToken(tok string) {
	b.token.Store(&tok)
	b.minted.Store(time.Now().UnixNano())
}

// cookies appends the value of the Cookie header the browser sends with
// every request: both cookies.
func (b *browser) cookies(buf []byte) []byte {
	buf = append(buf, identity.ClientCookie+"="...)
	buf = append(buf, b.client...)
	buf = append(buf, "; "+identity.SessionCookie+"="...)
	return append(buf, *b.token.Load()...)
}

// signedIn turns the response of a sign-in or sign-up into a browser.
func signedIn(res *http.Response) (*browser, error) {
	if res.StatusCode != http.StatusSeeOther {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 300))
		return nil, fmt.Errorf("got status %d, want 303: %s", res.StatusCode, body)
	}
	b := &browser{}
	for _, c := range res.Cookies() {
		switch c.Name {
		case identity.ClientCookie:
			b.client = c.Value
		case identity.SessionCookie:
			b.setToken(c.Value)
		}
	}
	if b.client == "" || b.token.Load() == nil {
		return nil, errors.New("the response set no __client and __session cookies")
	}
	sid, err := tokenSessionID(*b.token.Load())
	if err != nil {
		return nil, err
	}
	b.sid = sid
	return b, nil
}

// tokenSessionID reads the sid claim of a session token (already
// verified by the server that set it).
func tokenSessionID(tok string) (string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", errors.New("the session token is not a JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", fmt.Errorf("session token payload: %w", err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.SID == "" {
		return "", errors.New("the session token has no sid")
	}
	return c.SID, nil
}

// postForm sends a same-origin form POST, as the browser does.
func (s *loadServer) postForm(ctx context.Context, path string, form url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.origin+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.origin)
	return s.http.Do(req)
}

// signIn signs in through the sign-in form.
func (s *loadServer) signIn(ctx context.Context, email, password string) (*browser, error) {
	return s.submit(ctx, "/sign-in", url.Values{"identifier": {email}, "password": {password}})
}

// signUp creates an account through the sign-up form.
func (s *loadServer) signUp(ctx context.Context, email, password string) (*browser, error) {
	return s.submit(ctx, "/sign-up", url.Values{"email_address": {email}, "password": {password}})
}

// submit posts a sign-in or sign-up form and returns the browser it
// signed in.
func (s *loadServer) submit(ctx context.Context, path string, form url.Values) (*browser, error) {
	res, err := s.postForm(ctx, path, form)
	if err != nil {
		return nil, fmt.Errorf("loadtest: POST %s: %w", path, err)
	}
	defer res.Body.Close()
	b, err := signedIn(res)
	if err != nil {
		return nil, fmt.Errorf("loadtest: POST %s: %w", path, err)
	}
	return b, nil
}

// refresh fetches a new session token through the frontend API, as the
// browser script does before the current one expires.
func (s *loadServer) refresh(ctx context.Context, b *browser) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.origin+"/__clerk/v1/client/sessions/"+b.sid+"/tokens", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	req.Header.Set("Cookie", string(b.cookies(nil)))
	req.Header.Set("Origin", s.origin)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("loadtest: refresh: %w", err)
	}
	defer res.Body.Close()
	var out struct {
		JWT string `json:"jwt"`
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("loadtest: refresh: got status %d, want 200", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.JWT == "" {
		return fmt.Errorf("loadtest: refresh: no jwt in the response")
	}
	b.setToken(out.JWT)
	return nil
}

// keepFresh refreshes each browser's token once it is older than maxAge,
// until ctx ends, and counts the failures.
func (s *loadServer) keepFresh(ctx context.Context, browsers []*browser, maxAge time.Duration, failures *atomic.Int64) {
	const workers = 4
	for w := range workers {
		go func() {
			for ctx.Err() == nil {
				for i := w; i < len(browsers); i += workers {
					b := browsers[i]
					if time.Since(time.Unix(0, b.minted.Load())) < maxAge {
						continue
					}
					if err := s.refresh(ctx, b); err != nil && ctx.Err() == nil {
						failures.Add(1)
					}
				}
				select {
				case <-ctx.Done():
				case <-time.After(250 * time.Millisecond):
				}
			}
		}()
	}
}

// get fetches path as browser b and returns the status and body.
func (s *loadServer) get(ctx context.Context, path string, b *browser, accept string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.origin+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if b != nil {
		req.Header.Set("Cookie", string(b.cookies(nil)))
	}
	req.Header.Set("Accept", accept)
	res, err := s.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, body, err
}

// newPassword returns a random password that passes the password rules;
// it never leaves the run.
func newPassword() string { return "lt-" + rand.Text() }

// loadAverage returns the 1-minute load average from /proc/loadavg, or "?"
// (it tells how many other programs were competing for the cores).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// machineDescription describes this machine from /proc and the runtime.
func machineDescription() string {
	model, cpus := "unknown CPU", 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			switch strings.TrimSpace(k) {
			case "processor":
				cpus++
			case "model name":
				model = strings.TrimSpace(v)
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				mem = fmt.Sprintf(", %.0f GiB RAM", float64(kib)/(1<<20))
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d × %s%s%s, %s %s/%s, GOMAXPROCS %d", cpus, model, mem, kernel,
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
}
