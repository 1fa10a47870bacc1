package loadtest

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// This file holds the pure parts of `gatehouse loadtest`: statistics over
// measurements, the ratios and the Markdown report.

// measurement is one timed step of the load test: an HTTP scenario
// against the server, or an in-process loop (RS256 signing, argon2id).
type measurement struct {
	ops     int             // operations completed inside the window
	errors  int             // failed operations (transport errors, unexpected status)
	window  time.Duration   // the measured window (after the warm-up)
	lat     []time.Duration // latency of each completed operation
	cpu     time.Duration   // CPU time in the window: the server's, or this process's for the floors
	cookies int             // responses that set a cookie (inline refreshes)
	bytes   int             // body size of the last response
}

// rate is operations per second.
func (m measurement) rate() float64 {
	if m.window <= 0 {
		return 0
	}
	return float64(m.ops) / m.window.Seconds()
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest value with at least p % of the values
// at or below it. It returns 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(float64(len(sorted)) * p / 100))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// summary aggregates the rounds of one step.
type summary struct {
	key, label string
	rounds     []measurement
}

func (s summary) rates() []float64 {
	out := make([]float64, len(s.rounds))
	for i, m := range s.rounds {
		out[i] = m.rate()
	}
	return out
}

// latencies returns every round's latencies, sorted.
func (s summary) latencies() []time.Duration {
	var all []time.Duration
	for _, m := range s.rounds {
		all = append(all, m.lat...)
	}
	slices.Sort(all)
	return all
}

func (s summary) totals() (ops, errs, cookies int, cpu time.Duration) {
	for _, m := range s.rounds {
		ops += m.ops
		errs += m.errors
		cookies += m.cookies
		cpu += m.cpu
	}
	return ops, errs, cookies, cpu
}

// cpuPerOp is the server CPU per operation, or 0 when not measured.
func (s summary) cpuPerOp() time.Duration {
	ops, _, _, cpu := s.totals()
	if ops == 0 || cpu == 0 {
		return 0
	}
	return cpu / time.Duration(ops)
}

// ratio compares step num with step den, round by round (each round ran
// both, one right after the other).
type ratio struct {
	name     string
	num, den summary
	target   float64 // 0: reported without a target
}

// paired returns the per-round ratios num/den.
func (r ratio) paired() []float64 {
	var out []float64
	for i := range min(len(r.num.rounds), len(r.den.rounds)) {
		if d := r.den.rounds[i].rate(); d > 0 {
			out = append(out, r.num.rounds[i].rate()/d)
		}
	}
	return out
}

// cpuPaired returns the per-round ratios of CPU time per operation,
// den's over num's: the throughput ratio the work alone would give, with
// the load generator's share of the machine and other programs' left out.
func (r ratio) cpuPaired() []float64 {
	var out []float64
	for i := range min(len(r.num.rounds), len(r.den.rounds)) {
		n, d := r.num.rounds[i], r.den.rounds[i]
		if n.cpu > 0 && d.cpu > 0 && n.ops > 0 && d.ops > 0 {
			out = append(out, (d.cpu.Seconds()/float64(d.ops))/(n.cpu.Seconds()/float64(n.ops)))
		}
	}
	return out
}

// verdict says whether the median paired ratio reaches the target
// (nothing when there is no target).
func (r ratio) verdict() string {
	p := r.paired()
	switch {
	case r.target == 0:
		return ""
	case len(p) == 0:
		return "not measured"
	case median(p) >= r.target:
		return "met"
	default:
		return "missed"
	}
}

// memory is what the load test read of the server's memory.
type memory struct {
	idleRSS       int64 // before the sign-in burst, KiB
	signInPeak    int64 // VmHWM during 64 concurrent sign-ins, KiB
	peakReset     bool  // whether the high-water mark could be reset first
	sessions      int
	sustain       time.Duration
	samples       []rssSample
	sustained     measurement
	sessionSignUp measurement
}

// rssSample is the server's resident set at one moment of the sustained run.
type rssSample struct {
	at  time.Duration // since the sustained load started
	rss int64         // KiB
	ops int           // requests completed so far
}

// rssAt returns the sample closest to at.
func rssAt(samples []rssSample, at time.Duration) rssSample {
	if len(samples) == 0 {
		return rssSample{}
	}
	best := samples[0]
	for _, s := range samples[1:] {
		if (s.at - at).Abs() < (best.at - at).Abs() {
			best = s
		}
	}
	return best
}

// report is everything the load test prints and records.
type report struct {
	when     time.Time
	machine  string
	command  string
	settings string
	steps    []summary // (a)–(g) and the in-process floors, in table order
	ratios   []ratio
	mem      memory
	sizes    string // the page sizes of (d) and (e)
	// loadStart and loadEnd are the machine's load average around the run.
	loadStart, loadEnd string
	notes              []string
}

func mib(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }

func fmtRate(r float64) string {
	switch {
	case r >= 1000:
		return groupThousands(int64(r + 0.5))
	case r >= 100:
		return fmt.Sprintf("%.0f", r)
	default:
		return fmt.Sprintf("%.1f", r)
	}
}

// groupThousands writes n with a comma between groups of three digits.
func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + groupThousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fmtDur shows a latency with three significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

// fmtRatio shows the median of xs, in bold when bold, and their range.
func fmtRatio(xs []float64, bold bool) string {
	if len(xs) == 0 {
		return "–"
	}
	m := fmt.Sprintf("%.2f", median(xs))
	if bold {
		m = "**" + m + "**"
	}
	if len(xs) == 1 {
		return m
	}
	return fmt.Sprintf("%s [%.2f–%.2f]", m, slices.Min(xs), slices.Max(xs))
}

// writeMarkdown writes the report as the Markdown section of
// docs/performance.md.
func (r *report) writeMarkdown(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("### Run of %s\n\n", r.when.UTC().Format("2006-01-02 15:04 UTC"))
	p("- **Machine:** %s\n", r.machine)
	p("- **Command:** `%s`\n", r.command)
	p("- **Settings:** %s\n", r.settings)
	p("- **Load average** (1 min, all programs on the machine): %s at the start, %s at the end\n\n", r.loadStart, r.loadEnd)

	p("| step | what | ops/s (median of rounds) | p50 | p99 | CPU per op | errors |\n")
	p("|---|---|---:|---:|---:|---:|---:|\n")
	for _, s := range r.steps {
		ops, errs, _, _ := s.totals()
		cpu := "–"
		if c := s.cpuPerOp(); c > 0 {
			cpu = fmtDur(c)
		}
		lat := s.latencies()
		p("| %s | %s | %s | %s | %s | %s | %d of %s |\n", s.key, s.label, fmtRate(median(s.rates())),
			fmtDur(percentile(lat, 50)), fmtDur(percentile(lat, 99)), cpu, errs, groupThousands(int64(ops+errs)))
	}
	p("\n")
	if r.sizes != "" {
		p("%s\n\n", r.sizes)
	}
	p("CPU per op is the server's CPU time (`/proc/<pid>/stat`) per request for (a)–(g), and this process's for the in-process floors.\n\n")
	p("| ratio | throughput, median of paired rounds [min–max] | target | | by CPU per op |\n")
	p("|---|---:|---:|---|---:|\n")
	for _, x := range r.ratios {
		target := "–"
		if x.target > 0 {
			target = fmt.Sprintf("≥ %.2f", x.target)
		}
		p("| %s | %s | %s | %s | %s |\n", x.name, fmtRatio(x.paired(), true), target, x.verdict(), fmtRatio(x.cpuPaired(), false))
	}
	p("\n")

	m := r.mem
	p("Memory (the server process, `/proc/<pid>/status`):\n\n")
	reset := "VmHWM after resetting it through `/proc/<pid>/clear_refs`"
	if !m.peakReset {
		reset = "VmHWM (could not be reset first, so it is the peak since the server started)"
	}
	p("- idle before the sign-in rounds: %s; **peak with %s**: **%s** (%s)\n",
		mib(m.idleRSS), "64 concurrent sign-in attempts", mib(m.signInPeak), reset)
	if len(m.samples) > 0 {
		start := rssAt(m.samples, m.sustain/10)
		end := m.samples[len(m.samples)-1]
		byRSS := func(a, b rssSample) int { return int(a.rss - b.rss) }
		minRSS, maxRSS := slices.MinFunc(m.samples, byRSS), slices.MaxFunc(m.samples, byRSS)
		p("- sustained load with **%s distinct signed-in sessions** for %s (%s req/s, %d errors, %d inline refreshes): "+
			"**RSS %s at %s → %s at the end** (samples every second: min %s, max %s)\n",
			groupThousands(int64(m.sessions)), m.sustain.Round(time.Second), fmtRate(m.sustained.rate()), m.sustained.errors,
			m.sustained.cookies, mib(start.rss), start.at.Round(time.Second), mib(end.rss), mib(minRSS.rss), mib(maxRSS.rss))
		p("- the sessions were created by %s sign-ups at %s/s\n\n", groupThousands(int64(m.sessionSignUp.ops)), fmtRate(m.sessionSignUp.rate()))
		p("| time | RSS | req/s since the previous row |\n|---:|---:|---:|\n")
		prev := rssSample{}
		for _, s := range thin(m.samples, 10) {
			rate := float64(s.ops-prev.ops) / (s.at - prev.at).Seconds()
			p("| %s | %s | %s |\n", s.at.Round(time.Second), mib(s.rss), fmtRate(rate))
			prev = s
		}
		p("\n")
	}
	for _, n := range r.notes {
		p("- %s\n", n)
	}
	if len(r.notes) > 0 {
		p("\n")
	}
}

// thin returns about n samples spread evenly over samples, always
// including the last.
func thin(samples []rssSample, n int) []rssSample {
	if len(samples) <= n {
		return samples
	}
	var out []rssSample
	step := float64(len(samples)) / float64(n)
	for i := 1; i <= n; i++ {
		out = append(out, samples[int(float64(i)*step)-1])
	}
	return out
}

// Markers around the generated part of docs/performance.md.
const (
	docBegin = "<!-- loadtest:begin (written by `gatehouse loadtest`; edits here are replaced) -->"
	docEnd   = "<!-- loadtest:end -->"
)

// spliceDoc returns doc with the text between the markers replaced by
// section, or with the markers and section appended when doc has none.
func spliceDoc(doc, section string) string {
	block := docBegin + "\n\n" + strings.TrimSpace(section) + "\n\n" + docEnd
	i := strings.Index(doc, docBegin)
	j := strings.Index(doc, docEnd)
	if i < 0 || j < i {
		return strings.TrimRight(doc, "\n") + "\n\n" + block + "\n"
	}
	return doc[:i] + block + doc[j+len(docEnd):]
}
