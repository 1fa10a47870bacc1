package loadtest

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// The load test itself is run by hand (`make load`), never by the tests;
// these cover its pure parts.

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 of 1..100", hundred, 100, 100 * time.Millisecond},
		{"p50 of four is the second (nearest rank)", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p51 of four is the third", ms(1, 2, 3, 4), 51, 3 * time.Millisecond},
		{"p99 of ten is the largest", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"tiny p is the smallest", ms(5, 6, 7), 0.1, 5 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v): got %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v): got %v, want %v", tc.in, got, tc.want)
		}
	}
}

// rounds builds a step whose rounds ran at the given rates (one second each).
func rounds(key string, rates ...int) summary {
	s := summary{key: key, label: key}
	for _, r := range rates {
		s.rounds = append(s.rounds, measurement{ops: r, window: time.Second})
	}
	return s
}

func TestRatioPairsRounds(t *testing.T) {
	a := rounds("a", 1000, 2000, 1000)
	b := rounds("b", 900, 1900, 800)
	r := ratio{name: "b/a", num: b, den: a, target: 0.9}
	got := r.paired()
	want := []float64{0.9, 0.95, 0.8}
	if len(got) != len(want) {
		t.Fatalf("paired: got %v, want %v", got, want)
	}
	for i := range want {
		if diff := got[i] - want[i]; diff > 1e-9 || diff < -1e-9 {
			t.Errorf("paired[%d]: got %v, want %v", i, got[i], want[i])
		}
	}
	if v := r.verdict(); v != "met" {
		t.Errorf("verdict with median 0.90 and target 0.90: got %q, want met", v)
	}
	r.target = 0.91
	if v := r.verdict(); v != "missed" {
		t.Errorf("verdict with median 0.90 and target 0.91: got %q, want missed", v)
	}
	if v := (ratio{num: b, den: summary{}, target: 0.9}).verdict(); v != "not measured" {
		t.Errorf("verdict without rounds: got %q, want not measured", v)
	}
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{groupThousands(0), "0"},
		{groupThousands(999), "999"},
		{groupThousands(1000), "1,000"},
		{groupThousands(1234567), "1,234,567"},
		{groupThousands(-1234), "-1,234"},
		{fmtRate(12345.6), "12,346"},
		{fmtRate(512.4), "512"},
		{fmtRate(27.25), "27.2"},
		{fmtDur(0), "–"},
		{fmtDur(850 * time.Microsecond), "850 µs"},
		{fmtDur(2345 * time.Microsecond), "2.35 ms"},
		{fmtDur(42 * time.Millisecond), "42.0 ms"},
		{fmtDur(1500 * time.Millisecond), "1.50 s"},
		{fmtRatio(nil, true), "–"},
		{fmtRatio([]float64{0.93}, true), "**0.93**"},
		{fmtRatio([]float64{0.95, 0.91, 0.93}, true), "**0.93** [0.91–0.95]"},
		{fmtRatio([]float64{0.95, 0.91, 0.93}, false), "0.93 [0.91–0.95]"},
		{mib(64 * 1024), "64 MiB"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestWriteMarkdown(t *testing.T) {
	a := rounds("a", 1000, 1000)
	b := rounds("b", 950, 930)
	for i := range a.rounds {
		a.rounds[i].lat = []time.Duration{time.Millisecond, 2 * time.Millisecond}
		a.rounds[i].cpu = 50 * time.Millisecond
	}
	rep := &report{
		when: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), machine: "2 × Test CPU", command: "gatehouse loadtest",
		settings: "c=32", loadStart: "1.50", loadEnd: "2.25", steps: []summary{a, b},
		ratios: []ratio{{name: "b/a", num: b, den: a, target: 0.9}, {name: "sign-up ÷ hash", num: b, den: a}},
		mem: memory{idleRSS: 30 * 1024, signInPeak: 120 * 1024, peakReset: true, sessions: 1000, sustain: 10 * time.Second,
			samples:   []rssSample{{at: time.Second, rss: 40 * 1024, ops: 100}, {at: 10 * time.Second, rss: 41 * 1024, ops: 1000}},
			sustained: measurement{ops: 1000, window: 10 * time.Second}, sessionSignUp: measurement{ops: 1000, window: 50 * time.Second}},
	}
	var sb strings.Builder
	rep.writeMarkdown(&sb)
	out := sb.String()
	for _, want := range []string{
		"### Run of 2026-11-30 12:00 UTC",
		"- **Command:** `gatehouse loadtest`",
		"1.50 at the start, 2.25 at the end",
		"| a | a | 1,000 | 1.00 ms | 2.00 ms | 50 µs | 0 of 2,000 |",
		"| b/a | **0.94** [0.93–0.95] | ≥ 0.90 | met |",
		"| sign-up ÷ hash | **0.94** [0.93–0.95] | – |  |",
		"**peak with 64 concurrent sign-in attempts**: **120 MiB**",
		"**1,000 distinct signed-in sessions**",
		"**RSS 40 MiB at 1s → 41 MiB at the end**",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q; got:\n%s", want, out)
		}
	}
}

func TestSpliceDoc(t *testing.T) {
	doc := "# Performance\n\nHand-written.\n"
	once := spliceDoc(doc, "first run\n")
	if !strings.HasPrefix(once, doc) || !strings.Contains(once, docBegin+"\n\nfirst run\n\n"+docEnd) {
		t.Fatalf("first splice: got %q, want the document followed by the marked section", once)
	}
	twice := spliceDoc(once+"\nAfter the section.\n", "second run")
	if strings.Contains(twice, "first run") || !strings.Contains(twice, "second run") {
		t.Errorf("second splice: got %q, want the section replaced", twice)
	}
	if !strings.HasPrefix(twice, doc) || !strings.HasSuffix(twice, docEnd+"\n\nAfter the section.\n") {
		t.Errorf("second splice: got %q, want the text around the markers kept", twice)
	}
	if strings.Count(twice, docBegin) != 1 || strings.Count(twice, docEnd) != 1 {
		t.Errorf("second splice: got %q, want one pair of markers", twice)
	}
}

func TestParseLoadOptions(t *testing.T) {
	o, err := parseLoadOptions(testFlags(), []string{"-quick", "-rounds", "3"})
	if err != nil {
		t.Fatal(err)
	}
	if o.rounds != 3 || o.dur != 2*time.Second || o.sessions != 200 || o.writeDoc {
		t.Errorf("-quick -rounds 3: got rounds %d, duration %s, sessions %d, writeDoc %v; want 3, 2s, 200, false",
			o.rounds, o.dur, o.sessions, o.writeDoc)
	}
	o, err = parseLoadOptions(testFlags(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.sustain != 5*time.Minute || o.sessions != 1000 || !o.writeDoc || o.doc != "docs/performance.md" {
		t.Errorf("defaults: got sustain %s, sessions %d, writeDoc %v, doc %q; want 5m, 1000, true, docs/performance.md",
			o.sustain, o.sessions, o.writeDoc, o.doc)
	}
	o, err = parseLoadOptions(testFlags(), []string{"-quick", "-doc", "out.md"})
	if err != nil || !o.writeDoc {
		t.Errorf("-quick -doc out.md: got writeDoc %v, err %v; want true", o.writeDoc, err)
	}
	if _, err := parseLoadOptions(testFlags(), []string{"-sustain", "1s"}); err == nil {
		t.Error("-sustain 1s: got no error, want one")
	}
	if _, err := parseLoadOptions(testFlags(), []string{"extra"}); err == nil {
		t.Error("a stray argument: got no error, want one")
	}
}

func TestRatioByCPU(t *testing.T) {
	a := rounds("a", 1000, 1000)
	b := rounds("b", 900, 1000)
	a.rounds[0].cpu, a.rounds[1].cpu = 50*time.Millisecond, 60*time.Millisecond // 50 and 60 µs per op
	b.rounds[0].cpu, b.rounds[1].cpu = 45*time.Millisecond, 75*time.Millisecond // 50 and 75 µs per op
	got := ratio{num: b, den: a}.cpuPaired()
	want := []float64{1, 0.8}
	if len(got) != 2 || got[0]-want[0] > 1e-9 || want[0]-got[0] > 1e-9 || got[1]-want[1] > 1e-9 || want[1]-got[1] > 1e-9 {
		t.Errorf("cpuPaired: got %v, want %v (a's CPU per op over b's, round by round)", got, want)
	}
	b.rounds[1].cpu = 0
	if got := (ratio{num: b, den: a}).cpuPaired(); len(got) != 1 {
		t.Errorf("cpuPaired with a round not measured: got %v, want that round left out", got)
	}
}

func TestCommandLine(t *testing.T) {
	got := commandLine([]string{"-quick", "-doc", "", "-doc", "my file.md"})
	if !strings.HasSuffix(got, ` loadtest -quick -doc "" -doc "my file.md"`) {
		t.Errorf("got %q, want the arguments quoted where a shell needs it", got)
	}
}

func testFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}
