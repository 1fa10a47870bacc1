package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// This file is the load generator of `gatehouse loadtest`: a fixed number
// of workers, each on its own keep-alive HTTP/1.1 connection, sending
// prebuilt requests back to back. It writes raw requests and reads the
// responses with net/http's parser, so the client spends far less of the
// shared CPU than an http.Client would.

// scenario is one kind of request the load test sends.
type scenario struct {
	// build appends the raw request to buf; n numbers the requests of a
	// run from 1 (for unique sign-up addresses).
	build func(buf []byte, n uint64) []byte
	want  int // the status every response must have
	// refusals, when set, lets responses of other statuses be counted as
	// errors without failing the measurement (a sign-in burst may be
	// answered 503 once the password hashing slots stay taken).
	refusals bool
	// done, when set, counts completed requests as they happen.
	done *atomic.Int64
}

// window is the timing of one measurement: the workers run from its
// start, and the operations that complete between the end of the warm-up
// and the end are counted (throughput is completions per second, so an
// operation longer than the warm-up, such as a queued sign-in, counts too).
type window struct {
	warmEnd, end time.Time
}

func newWindow(warm, dur time.Duration) window {
	now := time.Now()
	return window{warmEnd: now.Add(warm), end: now.Add(warm + dur)}
}

// tally collects what the workers of one measurement saw.
type tally struct {
	mu      sync.Mutex
	m       measurement
	lastErr error
}

func (t *tally) add(lat []time.Duration, errs, cookies, bytes int, lastErr error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m.lat = append(t.m.lat, lat...)
	t.m.ops += len(lat)
	t.m.errors += errs
	t.m.cookies += cookies
	if bytes > 0 {
		t.m.bytes = bytes
	}
	if lastErr != nil {
		t.lastErr = lastErr
	}
}

// load runs sc with conc workers against addr for the window w, reading
// the server's CPU time (cpu, may be nil) at the window's edges.
func load(ctx context.Context, addr string, sc scenario, conc int, w window, cpu func() time.Duration) (measurement, error) {
	var seq atomic.Uint64
	maxErrors := 0.01
	if sc.refusals {
		maxErrors = 1
	}
	return measure(ctx, conc, w, cpu, maxErrors, func() (func() (response, error), func()) {
		c := &httpConn{addr: addr}
		var buf []byte
		return func() (response, error) {
			buf = sc.build(buf[:0], seq.Add(1))
			res, err := c.do(buf)
			if err == nil && res.status != sc.want {
				err = fmt.Errorf("got status %d, want %d", res.status, sc.want)
			}
			if err == nil && sc.done != nil {
				sc.done.Add(1)
			}
			return res, err
		}, c.close
	})
}

// local runs fn in conc goroutines for the window w: the in-process
// floors (RS256 signing, argon2id hashing), with this process's CPU time.
func local(ctx context.Context, conc int, w window, fn func() error) (measurement, error) {
	return measure(ctx, conc, w, ownCPU, 0, func() (func() (response, error), func()) {
		return func() (response, error) { return response{}, fn() }, func() {}
	})
}

// measure runs conc workers, each calling the operation newOp makes for
// it until the window ends, and counts what completes inside the window;
// cpu (which may be nil) is read at the window's edges. It fails when more
// than maxErrors (a share) of the operations failed.
func measure(ctx context.Context, conc int, w window, cpu func() time.Duration, maxErrors float64, newOp func() (op func() (response, error), done func())) (measurement, error) {
	var (
		t  tally
		wg sync.WaitGroup
	)
	for range conc {
		wg.Go(func() {
			op, done := newOp()
			defer done()
			lat := make([]time.Duration, 0, 1024)
			errs, cookies, size := 0, 0, 0
			var lastErr error
			for ctx.Err() == nil {
				start := time.Now()
				if !start.Before(w.end) {
					break
				}
				res, err := op()
				end := time.Now()
				if end.Before(w.warmEnd) || end.After(w.end) {
					continue
				}
				if err != nil {
					errs++
					lastErr = err
					continue
				}
				lat = append(lat, end.Sub(start))
				size = res.bytes
				if res.setCookie {
					cookies++
				}
			}
			t.add(lat, errs, cookies, size, lastErr)
		})
	}
	var cpu0, cpu1 time.Duration
	if cpu != nil {
		sleepUntil(ctx, w.warmEnd)
		cpu0 = cpu()
		sleepUntil(ctx, w.end)
		cpu1 = cpu()
	}
	wg.Wait()
	t.m.window = w.end.Sub(w.warmEnd)
	t.m.cpu = cpu1 - cpu0
	if err := ctx.Err(); err != nil {
		return t.m, err
	}
	if t.m.ops == 0 {
		return t.m, fmt.Errorf("nothing completed: %v", t.lastErr)
	}
	if float64(t.m.errors) > maxErrors*float64(t.m.ops+t.m.errors) {
		return t.m, fmt.Errorf("%d of %d operations failed, the last with: %v", t.m.errors, t.m.ops+t.m.errors, t.lastErr)
	}
	return t.m, nil
}

func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// httpConn is one keep-alive HTTP/1.1 connection, redialled after an
// error or when the server closes it.
type httpConn struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
}

type response struct {
	status    int
	setCookie bool
	bytes     int
}

func (c *httpConn) do(req []byte) (response, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return response{}, err
		}
		c.conn = conn
		if c.br == nil {
			c.br = bufio.NewReaderSize(conn, 32<<10)
		} else {
			c.br.Reset(conn)
		}
	}
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(req); err != nil {
		c.close()
		return response{}, err
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return response{}, err
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		c.close()
		return response{}, err
	}
	if res.Close {
		c.close()
	}
	return response{status: res.StatusCode, setCookie: len(res.Header["Set-Cookie"]) > 0, bytes: int(n)}, nil
}

func (c *httpConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}
