package loadtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-dev/gatehouse/api"
	"github.com/gatehouse-dev/gatehouse/auth/identity/password"
	"github.com/gatehouse-dev/gatehouse/auth/token"
	"github.com/gatehouse-dev/gatehouse/pages"
)

// Routes mounts the unprotected baselines the load test compares
// the protected routes with, outside the CSRF check and the auth
// middleware but behind the same router and common middleware. newApp
// mounts them only when config.LoadTestRoutes is set, which only
// `gatehouse loadtest` does for the server it starts (never in production).
func Routes(r chi.Router, site *pages.Site, log *slog.Logger) {
	// The same JSON as /api/me, through the same handler adapter.
	userID := "user_" + strings.Repeat("0", 22)
	r.Handle("/__bench/me", api.Handler{Log: log, Fn: api.GetOnly(func(w http.ResponseWriter, r *http.Request) error {
		return api.WriteJSON(w, http.StatusOK, map[string]string{"userId": userID})
	})})
	r.Handle("/__bench/page", dashboardPage(site))
	// The server's CPU profile over ?seconds=N, for -profile; at most
	// maxProfile, within the server's 30 s write timeout.
	r.Get("/__bench/pprof/cpu", func(w http.ResponseWriter, r *http.Request) {
		secs, err := strconv.Atoi(r.URL.Query().Get("seconds"))
		if err != nil || secs < 1 || secs > maxProfile {
			http.Error(w, fmt.Sprintf("seconds must be 1 to %d", maxProfile), http.StatusBadRequest)
			return
		}
		if err := pprof.StartCPUProfile(w); err != nil {
			http.Error(w, "a profile is already running", http.StatusConflict)
			return
		}
		select {
		case <-time.After(time.Duration(secs) * time.Second):
		case <-r.Context().Done():
		}
		pprof.StopCPUProfile()
	})
}

// maxProfile bounds the seconds of a server CPU profile.
const maxProfile = 25

// Summary is the help text of `gatehouse loadtest`.
const Summary = `Measures this app on this machine, in one run: starts the server (this
program, "serve") on a free loopback port with a temporary SQLite database and
fresh secrets, seeds a user, signs in over HTTP, and compares in alternating
rounds the throughput and latency of:
  (a) an unprotected handler returning /api/me's JSON   (b) /api/me with the __session cookie
  (c) /api/me with Authorization: Bearer                  (d) an unprotected page of /dashboard's size
  (e) /dashboard signed in                                (f) token refresh through the frontend API
  (g) sign-in and sign-up
with RS256 signing and argon2id hashing measured in this process, then the
server's memory under 64 concurrent sign-ins and under sustained load from
many signed-in sessions. Prints the table and, except with -quick, writes it
into the -doc file between its loadtest markers.`

// loadOptions are the flags of `gatehouse loadtest`.
type loadOptions struct {
	quick      bool
	conc       int
	signInConc int
	rounds     int
	warm, dur  time.Duration
	authRounds int
	authDur    time.Duration
	sessions   int
	sustain    time.Duration
	doc        string
	writeDoc   bool
	command    string // as typed, for the report
	profile    string
}

func parseLoadOptions(fs *flag.FlagSet, args []string) (loadOptions, error) {
	var o loadOptions
	fs.BoolVar(&o.quick, "quick", false, "a short run to try the tool (about two minutes; shorter rounds, 200 sessions, 20 s sustained)")
	fs.IntVar(&o.conc, "c", 32, "concurrent connections for (a)–(f)")
	fs.IntVar(&o.signInConc, "signin-c", 64, "concurrent sign-in and sign-up attempts for (g)")
	fs.IntVar(&o.rounds, "rounds", 10, "alternating rounds of (a)–(e)")
	fs.DurationVar(&o.warm, "warmup", time.Second, "warm-up before each measured step")
	fs.DurationVar(&o.dur, "duration", 4*time.Second, "measured time of each step of (a)–(e)")
	fs.IntVar(&o.authRounds, "auth-rounds", 3, "alternating rounds of (f), (g) and the signing and hashing floors")
	fs.DurationVar(&o.authDur, "auth-duration", 5*time.Second, "measured time of each step of (f), (g) and the floors")
	fs.IntVar(&o.sessions, "sessions", 1000, "distinct signed-in sessions for the sustained run")
	fs.DurationVar(&o.sustain, "sustain", 5*time.Minute, "length of the sustained run")
	fs.StringVar(&o.doc, "doc", "docs/performance.md", "the document to write the results into (\"\" for none)")
	fs.StringVar(&o.profile, "profile", "", "write the server's CPU profile of each HTTP step's first round into this directory\n(to find where the time goes; the profiler disturbs those rounds, so do not document such a run)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return o, fmt.Errorf("loadtest: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.quick {
		quick := map[string]func(){
			"rounds": func() { o.rounds = 2 }, "warmup": func() { o.warm = 500 * time.Millisecond },
			"duration": func() { o.dur = 2 * time.Second }, "auth-rounds": func() { o.authRounds = 1 },
			"auth-duration": func() { o.authDur = 3 * time.Second }, "sessions": func() { o.sessions = 200 },
			"sustain": func() { o.sustain = 20 * time.Second },
		}
		for name, apply := range quick {
			if !set[name] {
				apply()
			}
		}
	}
	o.writeDoc = o.doc != "" && (!o.quick || set["doc"])
	if o.conc < 1 || o.signInConc < 1 || o.rounds < 1 || o.authRounds < 1 || o.sessions < 1 ||
		o.dur <= 0 || o.authDur <= 0 || o.warm < 0 || o.sustain < 10*time.Second {
		return o, errors.New("loadtest: counts must be positive, durations positive and -sustain at least 10s")
	}
	return o, nil
}

// step is one line of the table: how to measure it once, and its rounds.
type step struct {
	summary
	run    func() (measurement, error)
	before func() // runs before each measurement, outside it
	after  func() // runs after each measurement, outside it
}

// alternate runs the steps n times, reversing their order every other
// round so that no step always runs first or last.
func alternate(ctx context.Context, out io.Writer, n int, steps ...*step) error {
	for round := range n {
		order := slices.Clone(steps)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, s := range order {
			if err := ctx.Err(); err != nil {
				return err
			}
			if s.before != nil {
				s.before()
			}
			m, err := s.run()
			if s.after != nil {
				s.after()
			}
			if err != nil {
				return fmt.Errorf("loadtest: %s %s: %w", s.key, s.label, err)
			}
			s.rounds = append(s.rounds, m)
			slices.Sort(m.lat)
			cpu := ""
			if m.cpu > 0 && m.ops > 0 {
				cpu = "CPU " + fmtDur(m.cpu/time.Duration(m.ops)) + "/op"
			}
			fmt.Fprintf(out, "  round %d/%d  %-8s %10s ops/s  p50 %-9s p99 %-9s %s %s\n", round+1, n, s.key,
				fmtRate(m.rate()), fmtDur(percentile(m.lat, 50)), fmtDur(percentile(m.lat, 99)), cpu, errNote(m))
		}
	}
	return nil
}

func errNote(m measurement) string {
	if m.errors == 0 {
		return ""
	}
	return fmt.Sprintf("(%d errors)", m.errors)
}

// Command runs `gatehouse loadtest` with its flags parsed into fs.
func Command(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	o, err := parseLoadOptions(fs, args)
	if err != nil {
		return err
	}
	o.command = commandLine(args)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	email, pw := "loadtest@example.com", newPassword()
	fmt.Fprintln(stdout, "gatehouse loadtest: starting the server…")
	srv, err := startLoadServer(ctx, email, pw)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Fprintf(stdout, "server pid %d on %s, database and log in %s\n", srv.pid(), srv.origin, srv.dir)
	if err := runLoadtest(ctx, stdout, srv, o, email, pw); err != nil {
		return fmt.Errorf("%w\nthe server's log ends with:\n%s", err, srv.logTail(10))
	}
	return nil
}

// runLoadtest runs the phases against the started server and writes the
// report.
func runLoadtest(ctx context.Context, stdout io.Writer, srv *loadServer, o loadOptions, email, pw string) error {
	main, err := srv.signIn(ctx, email, pw)
	if err != nil {
		return err
	}
	freshCtx, stopFresh := context.WithCancel(ctx)
	defer stopFresh()
	var refreshFailures atomic.Int64
	// The browser script refreshes 15 s before the token's 60 s end.
	srv.keepFresh(freshCtx, []*browser{main}, 45*time.Second, &refreshFailures)

	rep := &report{when: time.Now(), machine: machineDescription(), command: o.command, loadStart: loadAverage()}
	pad, sizes, err := pageSizes(ctx, srv, main)
	if err != nil {
		return err
	}
	rep.sizes = sizes
	sc := newScenarios(srv, main, pad, pw)
	if err := sc.check(ctx); err != nil {
		return err
	}

	// (a)–(e): the protected paths against their unprotected baselines.
	httpStep := func(key, label string, s scenario, conc int, dur time.Duration) *step {
		st := &step{summary: summary{key: key, label: label}}
		st.run = func() (measurement, error) {
			w := newWindow(o.warm, dur)
			if o.profile != "" && len(st.rounds) == 0 {
				file := key
				if key == "g" { // sign-in and sign-up: "sign-in, `POST …"
					file += "-" + strings.TrimSuffix(strings.Fields(label)[0], ",")
				}
				done := srv.profile(ctx, w, filepath.Join(o.profile, file+".pprof"))
				defer func() { <-done }()
			}
			return load(ctx, srv.addr, s, conc, w, srv.cpu)
		}
		return st
	}
	a := httpStep("a", "unprotected JSON, same as `/api/me` (`/__bench/me`)", sc.benchMe, o.conc, o.dur)
	b := httpStep("b", "`/api/me`, `__session` cookie", sc.meCookie, o.conc, o.dur)
	c := httpStep("c", "`/api/me`, `Authorization: Bearer`", sc.meBearer, o.conc, o.dur)
	d := httpStep("d", "unprotected page of `/dashboard`'s size (`/__bench/page`)", sc.benchPage, o.conc, o.dur)
	e := httpStep("e", "`/dashboard` signed in", sc.dashboard, o.conc, o.dur)
	fmt.Fprintf(stdout, "\n(a)–(e): %d alternating rounds, c=%d, %s warm-up + %s each\n", o.rounds, o.conc, o.warm, o.dur)
	if err := alternate(ctx, stdout, o.rounds, a, b, c, d, e); err != nil {
		return err
	}

	// (f) against the RS256 signing floor.
	signer, err := newSigner()
	if err != nil {
		return err
	}
	procs := runtime.GOMAXPROCS(0)
	sign := &step{summary: summary{key: "RS256", label: fmt.Sprintf("RS256 session-token signing in process (`token.Keyring.SignSession`, %d goroutines)", procs)},
		run: func() (measurement, error) { return local(ctx, procs, newWindow(o.warm, o.authDur), signer) }}
	f := httpStep("f", "token refresh, `POST /__clerk/v1/client/sessions/{sid}/tokens`", sc.refresh, o.conc, o.authDur)
	fmt.Fprintf(stdout, "\n(f) and RS256 signing: %d alternating rounds, %s warm-up + %s each\n", o.authRounds, o.warm, o.authDur)
	if err := alternate(ctx, stdout, o.authRounds, sign, f); err != nil {
		return err
	}

	// (g) against the argon2id floor, and the peak memory of a burst.
	hasher := password.NewHasher(password.DefaultParams, 0)
	hash := &step{summary: summary{key: "argon2id", label: fmt.Sprintf("argon2id hashing in process (`password.Hasher.Hash`, %d goroutines)", procs)},
		run: func() (measurement, error) {
			return local(ctx, procs, newWindow(o.warm, o.authDur), func() error {
				_, err := hasher.Hash(ctx, pw)
				return err
			})
		}}
	gIn := httpStep("g", fmt.Sprintf("sign-in, `POST /sign-in` (%d concurrent)", o.signInConc), sc.signIn, o.signInConc, o.authDur)
	gUp := httpStep("g", fmt.Sprintf("sign-up, `POST /sign-up` (%d concurrent)", o.signInConc), sc.signUp, o.signInConc, o.authDur)
	rep.mem.idleRSS, _ = srv.memory()
	rep.mem.peakReset = true
	gIn.before = func() {
		runtime.GC() // the floors' garbage is this process's, not the server's; keep our own noise down
		rep.mem.peakReset = srv.resetPeak() && rep.mem.peakReset
	}
	gIn.after = func() {
		_, hwm := srv.memory()
		rep.mem.signInPeak = max(rep.mem.signInPeak, hwm)
	}
	fmt.Fprintf(stdout, "\n(g) and argon2id hashing: %d alternating rounds, %s warm-up + %s each\n", o.authRounds, o.warm, o.authDur)
	if err := alternate(ctx, stdout, o.authRounds, hash, gIn, gUp); err != nil {
		return err
	}

	rep.steps = []summary{a.summary, b.summary, c.summary, d.summary, e.summary, sign.summary, f.summary, hash.summary, gIn.summary, gUp.summary}
	rep.ratios = []ratio{
		{name: "b/a: `/api/me` with the cookie ÷ unprotected", num: b.summary, den: a.summary, target: 0.90},
		{name: "c/a: `/api/me` with a Bearer token ÷ unprotected", num: c.summary, den: a.summary, target: 0.90},
		{name: "e/d: `/dashboard` ÷ unprotected page", num: e.summary, den: d.summary, target: 0.85},
		{name: "refresh ÷ RS256 signing", num: f.summary, den: sign.summary, target: 0.70},
		{name: "sign-in ÷ argon2id hashing", num: gIn.summary, den: hash.summary, target: 0.70},
		{name: "sign-up ÷ argon2id hashing", num: gUp.summary, den: hash.summary},
	}

	// Sustained load from many signed-in browsers.
	if err := sustain(ctx, stdout, srv, sc, o, &rep.mem); err != nil {
		return err
	}
	if n := refreshFailures.Load(); n > 0 {
		rep.notes = append(rep.notes, fmt.Sprintf("%d background token refreshes failed", n))
	}
	rep.settings = fmt.Sprintf("c=%d for (a)–(f), %d for (g); %d rounds of %s warm-up + %s for (a)–(e), %d rounds of %s + %s for (f), (g) and the floors; "+
		"session tokens live 60 s and are refreshed 15 s before they expire, as the browser script does",
		o.conc, o.signInConc, o.rounds, o.warm, o.dur, o.authRounds, o.warm, o.authDur)

	rep.loadEnd = loadAverage()
	var md strings.Builder
	rep.writeMarkdown(&md)
	fmt.Fprintf(stdout, "\n%s", md.String())
	if !o.writeDoc {
		return nil
	}
	doc, err := os.ReadFile(o.doc)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("loadtest: %w", err)
	}
	if err := os.WriteFile(o.doc, []byte(spliceDoc(string(doc), md.String())), 0o644); err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	fmt.Fprintf(stdout, "wrote the results into %s\n", o.doc)
	return nil
}

// commandLine is the command as it was typed, arguments quoted for a shell
// where needed.
func commandLine(args []string) string {
	words := []string{filepath.Base(os.Args[0]), "loadtest"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$\\") {
			a = strconv.Quote(a)
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

// scenarios are the requests of (a)–(g) and of the sustained run.
type scenarios struct {
	benchMe, meCookie, meBearer, benchPage, dashboard, refresh, signIn, signUp scenario
	srv                                                                        *loadServer
}

// newScenarios builds the requests of browser b. Every GET carries the
// same headers and both cookies, the unprotected baselines' included: a
// browser sends its cookies to every path of the site.
func newScenarios(srv *loadServer, b *browser, pad int, pw string) *scenarios {
	host := "Host: " + srv.addr + "\r\nUser-Agent: gatehouse-loadtest\r\n"
	get := func(path, accept string) scenario {
		return scenario{want: http.StatusOK, build: func(buf []byte, _ uint64) []byte {
			buf = append(buf, "GET "+path+" HTTP/1.1\r\n"+host+"Accept: "+accept+"\r\nCookie: "...)
			buf = b.cookies(buf)
			return append(buf, "\r\n\r\n"...)
		}}
	}
	// post is a same-origin POST, as the browser sends it.
	post := func(path string, want int, headers func(buf []byte) []byte, body func(buf []byte, n uint64) []byte) scenario {
		return scenario{want: want, build: func(buf []byte, n uint64) []byte {
			content := body(nil, n)
			buf = append(buf, "POST "+path+" HTTP/1.1\r\n"+host+"Origin: "+srv.origin+"\r\n"...)
			buf = headers(buf)
			buf = append(buf, "Content-Length: "...)
			buf = strconv.AppendInt(buf, int64(len(content)), 10)
			buf = append(buf, "\r\n\r\n"...)
			return append(buf, content...)
		}}
	}
	form := func(buf []byte) []byte { return append(buf, "Content-Type: application/x-www-form-urlencoded\r\n"...) }
	signInBody := url.Values{"identifier": {"loadtest@example.com"}, "password": {pw}}.Encode()
	signUpPrefix := "email_address=signup-" + rand.Text()[:8] + "-"
	signUpSuffix := "%40example.com&password=" + url.QueryEscape(pw)
	sc := &scenarios{
		srv:       srv,
		benchMe:   get("/__bench/me", "application/json"),
		meCookie:  get("/api/me", "application/json"),
		benchPage: get("/__bench/page?pad="+strconv.Itoa(pad), "text/html"),
		dashboard: get("/dashboard", "text/html"),
		meBearer: scenario{want: http.StatusOK, build: func(buf []byte, _ uint64) []byte {
			buf = append(buf, "GET /api/me HTTP/1.1\r\n"+host+"Accept: application/json\r\nAuthorization: Bearer "...)
			buf = append(buf, *b.token.Load()...)
			return append(buf, "\r\n\r\n"...)
		}},
		// The browser script's call: JSON, both cookies.
		refresh: post("/__clerk/v1/client/sessions/"+b.sid+"/tokens", http.StatusOK, func(buf []byte) []byte {
			buf = append(buf, "Content-Type: application/json\r\nAccept: application/json\r\nCookie: "...)
			buf = b.cookies(buf)
			return append(buf, "\r\n"...)
		}, func(buf []byte, _ uint64) []byte { return append(buf, "{}"...) }),
		signIn: post("/sign-in", http.StatusSeeOther, form, func(buf []byte, _ uint64) []byte {
			return append(buf, signInBody...)
		}),
		signUp: post("/sign-up", http.StatusSeeOther, form, func(buf []byte, n uint64) []byte {
			buf = append(buf, signUpPrefix...)
			buf = strconv.AppendUint(buf, n, 10)
			return append(buf, signUpSuffix...)
		}),
	}
	sc.signIn.refusals, sc.signUp.refusals = true, true
	return sc
}

// check sends each scenario once and checks that the protected ones are
// answered signed in, so no measurement counts refusals as throughput.
func (sc *scenarios) check(ctx context.Context) error {
	for name, s := range map[string]scenario{"a": sc.benchMe, "b": sc.meCookie, "c": sc.meBearer, "d": sc.benchPage, "e": sc.dashboard, "f": sc.refresh} {
		c := &httpConn{addr: sc.srv.addr}
		res, err := c.do(s.build(nil, 0))
		c.close()
		if err != nil {
			return fmt.Errorf("loadtest: check (%s): %w", name, err)
		}
		if res.status != s.want {
			return fmt.Errorf("loadtest: check (%s): got status %d, want %d", name, res.status, s.want)
		}
	}
	return ctx.Err()
}

// pageSizes fetches /dashboard and the unprotected page and returns the
// padding that makes them the same size, with a line for the report.
func pageSizes(ctx context.Context, srv *loadServer, b *browser) (int, string, error) {
	status, dash, err := srv.get(ctx, "/dashboard", b, "text/html")
	if err != nil || status != http.StatusOK {
		return 0, "", fmt.Errorf("loadtest: GET /dashboard: status %d, %v", status, err)
	}
	status, page, err := srv.get(ctx, "/__bench/page", b, "text/html")
	if err != nil || status != http.StatusOK {
		return 0, "", fmt.Errorf("loadtest: GET /__bench/page: status %d, %v (is GATEHOUSE_LOADTEST_ROUTES honoured?)", status, err)
	}
	pad := len(dash) - len(page)
	if pad < 7 {
		pad = 0
	}
	status, padded, err := srv.get(ctx, "/__bench/page?pad="+strconv.Itoa(pad), b, "text/html")
	if err != nil || status != http.StatusOK {
		return 0, "", fmt.Errorf("loadtest: GET /__bench/page: status %d, %v", status, err)
	}
	return pad, fmt.Sprintf("Page sizes: `/dashboard` %s bytes; the unprotected page %s bytes (its own %s plus a comment of %d).",
		groupThousands(int64(len(dash))), groupThousands(int64(len(padded))), groupThousands(int64(len(page))), pad), nil
}

// newSigner returns the RS256 floor: one session token signed with a
// fresh RSA-2048 key through the keyring the server signs with.
func newSigner() (func() error, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	key, err := token.ParsePrivateKeyPEM(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	ring := token.NewKeyring(key)
	return func() error {
		// The claims of a refresh, built per token as the server does.
		now := time.Now().Unix()
		_, err := ring.SignSession(&token.Claims{
			Issuer: "http://127.0.0.1:3000", Subject: "user_" + strings.Repeat("0", 22), SessionID: "sess_" + strings.Repeat("0", 22),
			IssuedAt: now, NotBefore: now - 5, Expiry: now + 60, ID: rand.Text()[:20], Version: 2,
			AuthorizedParty: "http://127.0.0.1:3000", Status: "active", FVA: []int{0, -1},
		})
		return err
	}, nil
}

// sustain signs up o.sessions browsers, then loads the server from all of
// them for o.sustain (nine /api/me requests for each /dashboard), with the
// browsers refreshing their tokens, and samples the server's RSS.
func sustain(ctx context.Context, out io.Writer, srv *loadServer, sc *scenarios, o loadOptions, mem *memory) error {
	fmt.Fprintf(out, "\nsustained run: signing up %d browsers (%d at a time)…\n", o.sessions, o.signInConc)
	browsers := make([]*browser, o.sessions)
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		failed atomic.Pointer[error]
	)
	prefix := "sustain-" + rand.Text()[:8] + "-"
	pw := newPassword()
	start := time.Now()
	for range min(o.signInConc, o.sessions) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(browsers) || ctx.Err() != nil || failed.Load() != nil {
					return
				}
				b, err := srv.signUp(ctx, prefix+strconv.Itoa(i)+"@example.com", pw)
				if err != nil {
					failed.Store(&err)
					return
				}
				browsers[i] = b
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		return *p
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	mem.sessions = len(browsers)
	mem.sessionSignUp = measurement{ops: len(browsers), window: time.Since(start)}
	freshCtx, stopFresh := context.WithCancel(ctx)
	defer stopFresh()
	var refreshFailures atomic.Int64
	srv.keepFresh(freshCtx, browsers, 45*time.Second, &refreshFailures)

	var done atomic.Int64
	mixed := scenario{want: http.StatusOK, done: &done, build: func(buf []byte, n uint64) []byte {
		b := browsers[n%uint64(len(browsers))]
		path, accept := "/api/me", "application/json"
		if n%10 == 0 {
			path, accept = "/dashboard", "text/html"
		}
		buf = append(buf, "GET "+path+" HTTP/1.1\r\nHost: "+srv.addr+"\r\nUser-Agent: gatehouse-loadtest\r\nAccept: "+accept+"\r\nCookie: "...)
		buf = b.cookies(buf)
		return append(buf, "\r\n\r\n"...)
	}}
	fmt.Fprintf(out, "sustained run: %d sessions, c=%d, %s\n", len(browsers), o.conc, o.sustain)
	w := newWindow(0, o.sustain)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		every := max(o.sustain/10, time.Second)
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				if now.After(w.end) {
					return
				}
				rss, _ := srv.memory()
				s := rssSample{at: now.Sub(w.warmEnd).Round(time.Second), rss: rss, ops: int(done.Load())}
				mem.samples = append(mem.samples, s)
				if s.at%every == 0 {
					fmt.Fprintf(out, "  %6s  RSS %s  %s requests\n", s.at, mib(rss), groupThousands(int64(s.ops)))
				}
			}
		}
	}()
	m, err := load(ctx, srv.addr, mixed, o.conc, w, srv.cpu)
	<-sampled
	mem.sustain = o.sustain
	mem.sustained = m
	if err != nil {
		return fmt.Errorf("loadtest: sustained run: %w", err)
	}
	if n := refreshFailures.Load(); n > 0 {
		return fmt.Errorf("loadtest: sustained run: %d token refreshes failed", n)
	}
	return nil
}
