package main

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"assetd/internal/testenv"
)

func TestPercentileIsNearestRank(t *testing.T) {
	var sorted []time.Duration
	for i := 1; i <= 100; i++ {
		sorted = append(sorted, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0.5, time.Millisecond}} {
		if got := percentile(sorted, c.p); got != c.want {
			t.Errorf("p%v of 1..100 ms = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(sorted[:3], 99); got != 3*time.Millisecond {
		t.Errorf("p99 of 3 samples = %v, want the largest", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %v, want 0", got)
	}
}

func TestCPUTicksAddsUserAndSystemTime(t *testing.T) {
	// A real line, with a command name holding a space and a parenthesis.
	line := "4242 (ass etd) x) S 1 4242 4242 0 -1 4194560 9051 0 0 0 1234 567 0 0 20 0 12 0 98765 123456789 4567 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	got, err := cpuTicks([]byte(line))
	if err != nil || got != 1234+567 {
		t.Fatalf("cpuTicks = %d, %v; want 1801", got, err)
	}
	for _, bad := range []string{"", "4242 S 1 2", "1 (x) S 1 2 3"} {
		if _, err := cpuTicks([]byte(bad)); err == nil {
			t.Errorf("cpuTicks(%q) accepted a malformed line", bad)
		}
	}
}

func TestProcessCPUReadsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		if testenv.InCI() {
			t.Fatalf("CI runs on Linux, which has /proc: %v", err)
		}
		t.Skip("no /proc here")
	}
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel's counter moves; bounded by work, not time.
	x := 1.0
	var after uint64
	for i := 0; i < 200 && after <= before; i++ {
		for j := 0; j < 5_000_000; j++ {
			x = math.Sqrt(x + float64(j))
		}
		if after, err = processCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if after <= before {
		t.Fatalf("CPU ticks did not grow (%d → %d) after busy work (%v)", before, after, x)
	}
	if _, err := processCPU(-1); err == nil {
		t.Error("processCPU(-1) found a process")
	}
}

func TestColdWidthsAreDistinctAndCentredOn800(t *testing.T) {
	seen := map[int]bool{}
	sum := 0
	for i := range maxColdRequests {
		w := coldWidth(i)
		if seen[w] {
			t.Fatalf("width %d repeats at request %d: it would be served from cache", w, i)
		}
		if w < 400 || w > 1200 {
			t.Fatalf("width %d at request %d is far from 800", w, i)
		}
		seen[w] = true
		sum += w
	}
	if coldWidth(0) != 800 {
		t.Errorf("first width %d, want 800", coldWidth(0))
	}
	// Any prefix averages close to 800, so both services do the same work.
	for _, n := range []int{2, 41, 200, maxColdRequests} {
		s := 0
		for i := range n {
			s += coldWidth(i)
		}
		if mean := float64(s) / float64(n); math.Abs(mean-800) > 1 {
			t.Errorf("the first %d widths average %.1f, want 800±1", n, mean)
		}
	}
	// 1300+ is where the warm-up renders, outside the measured widths.
	if seen[1300] || seen[1302] {
		t.Error("a warm-up width is among the measured ones")
	}
}

func TestURLs(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{assetdContent("http://127.0.0.1:1", "bench/photo", 801, "webp"), "http://127.0.0.1:1/assets/bench/photo/-/content?format=webp&w=801"},
		{assetdContent("http://h", "a", 0, ""), "http://h/assets/a/-/content"},
		{imgproxyResize("http://127.0.0.1:2", "photo.jpg", 799, "avif"), "http://127.0.0.1:2/insecure/rs:fit:799:0:0/plain/local:///photo.jpg@avif"},
	} {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}

func TestSummaryAndTables(t *testing.T) {
	lat := func(ms ...int) []time.Duration {
		var out []time.Duration
		for _, m := range ms {
			out = append(out, time.Duration(m)*time.Millisecond)
		}
		return out
	}
	rows := []row{
		summarize(result{scenario: "cold w≈800 jpg", service: "assetd", requests: 4, elapsed: 2 * time.Second,
			latency: lat(40, 10, 30, 20), cpuMS: 120, bytes: 4 * 1024 * 50}),
		summarize(result{scenario: "cold w≈800 jpg", service: "imgproxy", requests: 4, elapsed: time.Second,
			latency: lat(5, 5, 5, 5), cpuMS: 160}),
		summarize(result{scenario: "upload 1 MP + LQIP", service: "assetd", requests: 3, errors: 3}),
	}
	a := rows[0]
	if a.perSecond != 2 || a.p50 != 20*time.Millisecond || a.p99 != 40*time.Millisecond || a.cpuPerRequest != 30 || a.avgKB != 50 {
		t.Errorf("assetd row = %+v; want 2 req/s, p50 20ms, p99 40ms, 30 CPU ms, 50 KB", a)
	}
	if !math.IsNaN(rows[2].cpuPerRequest) {
		t.Errorf("all-failed row has CPU per request %v, want none", rows[2].cpuPerRequest)
	}
	q := cpuRatios(rows)
	if len(q) != 1 || q[0].scenario != "cold w≈800 jpg" || q[0].value != 0.75 {
		t.Fatalf("ratios = %+v, want one of 0.75 for the cold jpg", q)
	}
	var text, md bytes.Buffer
	writeText(&text, rows)
	writeMarkdown(&md, rows)
	for _, want := range []string{"server CPU ms/req", "assetd/imgproxy, cold w≈800 jpg: 0.75", "30.0"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text table lacks %q:\n%s", want, text.String())
		}
	}
	lines := strings.Split(md.String(), "\n")
	if !strings.HasPrefix(lines[0], "| scenario | service |") || !strings.HasPrefix(lines[1], "| --- | --- | ---: |") {
		t.Errorf("markdown header is not a GitHub table:\n%s", md.String())
	}
	if !strings.Contains(md.String(), "| upload 1 MP + LQIP | assetd | 3 | 3 | 0.0 | 0.00 | 0.00 | - | 0.0 |") {
		t.Errorf("markdown lacks the failed row with '-' for CPU:\n%s", md.String())
	}
	if !strings.Contains(md.String(), "**0.75**") {
		t.Errorf("markdown lacks the ratio:\n%s", md.String())
	}
}

func TestPhotoIsADecodableJPEGOfTheAskedSize(t *testing.T) {
	b, err := photo(400, 300, 90, 7)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if s := img.Bounds().Size(); s.X != 400 || s.Y != 300 {
		t.Fatalf("photo is %v, want 400×300", s)
	}
	// Grain keeps it photo-sized: a flat synthetic pattern would compress
	// to a few KB and make decoding look cheap. 4000×3000 lands at ~3.7 MB.
	if len(b) < 400*300/4 {
		t.Errorf("400×300 photo is %d bytes, want at least 2 bits a pixel like a photo", len(b))
	}
	again, _ := photo(400, 300, 90, 7)
	if !bytes.Equal(b, again) {
		t.Error("the same seed gave different bytes")
	}
}

func TestDriveCountsFailuresAndStopsAtN(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Query().Get("i") == "3" {
			http.Error(w, "transformation failed: boom", http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Cache-Status", "miss")
		fmt.Fprint(w, "0123456789")
	}))
	defer srv.Close()
	d := driver{client: srv.Client(), concurrency: 3, maxFailures: 5}
	r, failures := d.drive(context.Background(), bounds{n: 20, duration: time.Minute}, func(i int) (*http.Request, error) {
		return get(fmt.Sprintf("%s/x?i=%d", srv.URL, i))
	})
	if calls.Load() != 20 || r.requests != 20 {
		t.Fatalf("server saw %d requests, result counts %d; want 20 each", calls.Load(), r.requests)
	}
	if r.errors != 1 || len(r.latency) != 19 || r.bytes != 190 || r.misses != 19 {
		t.Errorf("result = %d errors, %d ok, %d bytes, %d misses; want 1, 19, 190, 19", r.errors, len(r.latency), r.bytes, r.misses)
	}
	if len(failures) != 1 || failures[0].status != 500 || !strings.Contains(failures[0].String(), "i=3: 500 transformation failed: boom") {
		t.Errorf("failures = %v; want the 500 with its URL and body", failures)
	}
}

func TestDriveStopsWhenCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	d := driver{client: srv.Client(), concurrency: 2, maxFailures: 5}
	r, _ := d.drive(ctx, bounds{n: 1 << 30, duration: time.Hour}, func(i int) (*http.Request, error) {
		if i == 50 {
			cancel() // as ^C would
		}
		return get(srv.URL)
	})
	if r.requests > 60 || r.errors != 0 {
		t.Errorf("after cancelling at request 50: %d requests, %d errors; want it to stop with no errors blamed on the server", r.requests, r.errors)
	}
}

func TestChildEnvDropsInheritedServerSettings(t *testing.T) {
	t.Setenv("ASSETD_DATABASE_DSN", "postgres://elsewhere")
	t.Setenv("IMGPROXY_KEY", "abcd")
	env := strings.Join(childEnv(map[string]string{"ASSETD_SERVER_LISTEN": "127.0.0.1:0"}), "\n")
	if strings.Contains(env, "elsewhere") || strings.Contains(env, "IMGPROXY_KEY") {
		t.Errorf("inherited server settings leak into the child:\n%s", env)
	}
	if !strings.Contains(env, "ASSETD_SERVER_LISTEN=127.0.0.1:0") {
		t.Error("the driver's own setting is missing")
	}
}

func TestTailKeepsTheEnd(t *testing.T) {
	var tl tail
	for i := range 1000 {
		fmt.Fprintf(&tl, "line %d\n", i)
	}
	s := tl.String()
	if len(s) != tailBytes || !strings.HasSuffix(s, "line 999\n") {
		t.Errorf("tail holds %d bytes ending %q; want %d ending with the last line", len(s), s[len(s)-12:], tailBytes)
	}
}

func TestParseFlags(t *testing.T) {
	var out bytes.Buffer
	o, err := parseFlags([]string{"-assetd", "bin/assetd", "-formats", "jpg, avif", "-c", "3"}, &out)
	if err != nil || o.assetd != "bin/assetd" || strings.Join(o.formats, ",") != "jpg,avif" || o.concurrency != 3 {
		t.Fatalf("parseFlags = %+v, %v", o, err)
	}
	for _, bad := range [][]string{
		{},                                  // no -assetd
		{"-assetd", "x", "-formats", "png"}, // a format the comparison does not cover
		{"-assetd", "x", "-cold-n", "5000"}, // more cold widths than exist
		{"-assetd", "x", "-c", "0"},
		{"-assetd", "x", "extra"},
	} {
		if _, err := parseFlags(bad, &out); err == nil {
			t.Errorf("parseFlags(%q) accepted it", bad)
		}
	}
	if _, err := parseFlags([]string{"-imgproxy-only"}, &out); err != nil {
		t.Errorf("-imgproxy-only needs no -assetd: %v", err)
	}
}

// fakeSides returns a side per handler: an httptest server standing in for
// a service named A, B, …, whose process is this test's own, and whose
// request i asks for /x?i=<i>.
func fakeSides(t *testing.T, handlers ...http.HandlerFunc) []side {
	t.Helper()
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	var sides []side
	for k, h := range handlers {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		s := &server{name: string(rune('A' + k)), url: srv.URL, cmd: &exec.Cmd{Process: self}, done: make(chan struct{})}
		sides = append(sides, side{s, func(i int) (*http.Request, error) {
			return get(fmt.Sprintf("%s/x?i=%d", s.url, i))
		}})
	}
	return sides
}

// TestMeasureRoundsAlternates: both services get the same requests, in
// rounds whose order flips every time, and each result sums its rounds.
func TestMeasureRoundsAlternates(t *testing.T) {
	var (
		mu  sync.Mutex
		log []string // "A 0-19": a service and the requests it saw in a row
	)
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			i := r.URL.Query().Get("i")
			if n := len(log); n > 0 && strings.HasPrefix(log[n-1], name+" ") {
				from, _, _ := strings.Cut(strings.TrimPrefix(log[n-1], name+" "), "-")
				log[n-1] = name + " " + from + "-" + i
			} else {
				log = append(log, name+" "+i+"-"+i)
			}
		}
	}
	sides := fakeSides(t, record("A"), record("B"))
	b := bench{d: driver{client: http.DefaultClient, concurrency: 1, maxFailures: 5}, ticks: 100, stderr: io.Discard}
	rs, err := b.measureRounds(context.Background(), "cold", bounds{n: 50, duration: time.Minute}, 20, sides)
	if err != nil {
		t.Fatal(err)
	}
	// Rounds of 20: A B, B A, A B; back-to-back rounds of one service
	// show as one run.
	want := []string{"A 0-19", "B 0-39", "A 20-49", "B 40-49"}
	if !slices.Equal(log, want) {
		t.Errorf("rounds %q, want %q", log, want)
	}
	for k, r := range rs {
		if r.service != sides[k].s.name || r.scenario != "cold" || r.requests != 50 || len(r.latency) != 50 || r.errors != 0 {
			t.Errorf("result %d: %s %q, %d requests, %d ok, %d errors; want %s \"cold\", 50, 50, 0",
				k, r.service, r.scenario, r.requests, len(r.latency), r.errors, sides[k].s.name)
		}
	}
	if len(b.results) != 2 {
		t.Errorf("%d results recorded, want one per service", len(b.results))
	}
}

// TestMeasureRoundsStopsAtAFailedRound: a failure ends the scenario after
// its round, so a broken service does not get hundreds more requests.
func TestMeasureRoundsStopsAtAFailedRound(t *testing.T) {
	var calls [2]atomic.Int64
	count := func(k int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			calls[k].Add(1)
			if k == 1 && r.URL.Query().Get("i") == "5" {
				http.Error(w, "boom", http.StatusInternalServerError)
			}
		}
	}
	sides := fakeSides(t, count(0), count(1))
	b := bench{d: driver{client: http.DefaultClient, concurrency: 1, maxFailures: 5}, ticks: 100, stderr: io.Discard}
	rs, err := b.measureRounds(context.Background(), "cold", bounds{n: 100, duration: time.Minute}, 10, sides)
	if err != nil {
		t.Fatal(err)
	}
	if calls[0].Load() != 10 || calls[1].Load() != 10 || rs[1].errors != 1 || len(b.failures) != 1 {
		t.Errorf("A saw %d requests, B %d, B's errors %d, failures %d; want 10, 10, 1, 1",
			calls[0].Load(), calls[1].Load(), rs[1].errors, len(b.failures))
	}
}
