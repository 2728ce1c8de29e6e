package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// result is what one scenario measured against one service.
type result struct {
	scenario string // "cold jpg", "cached", "upload 1 MP"
	service  string // "assetd" or "imgproxy"
	requests int    // requests that completed, failed ones included
	errors   int    // transport failures and non-2xx answers
	elapsed  time.Duration
	latency  []time.Duration // one per successful request, in any order
	cpuMS    float64         // server user+system CPU over the scenario
	bytes    int64           // response bytes of the successful requests
	misses   int             // answers with X-Cache-Status: miss (assetd only)
}

// add accumulates another round of the same scenario and service into r.
func (r *result) add(o result) {
	r.requests += o.requests
	r.errors += o.errors
	r.elapsed += o.elapsed
	r.latency = append(r.latency, o.latency...)
	r.cpuMS += o.cpuMS
	r.bytes += o.bytes
	r.misses += o.misses
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted, or 0 when sorted is empty. Nearest rank rather than
// interpolation, so the figure is always a latency that was observed.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// row is a result reduced to the figures the table shows.
type row struct {
	scenario, service string
	requests, errors  int
	perSecond         float64
	p50, p99          time.Duration
	cpuPerRequest     float64 // ms; NaN when nothing succeeded
	avgKB             float64
}

// summarize reduces r to its row; CPU and size are per successful request,
// since a failed request did not do the job being measured.
func summarize(r result) row {
	sorted := slices.Clone(r.latency)
	slices.Sort(sorted)
	ok := len(sorted)
	out := row{
		scenario: r.scenario, service: r.service,
		requests: r.requests, errors: r.errors,
		p50: percentile(sorted, 50), p99: percentile(sorted, 99),
		cpuPerRequest: math.NaN(),
	}
	if r.elapsed > 0 {
		out.perSecond = float64(ok) / r.elapsed.Seconds()
	}
	if ok > 0 {
		out.cpuPerRequest = r.cpuMS / float64(ok)
		out.avgKB = float64(r.bytes) / float64(ok) / 1024
	}
	return out
}

// ratio is assetd's CPU per request over imgproxy's for one scenario.
type ratio struct {
	scenario string
	value    float64
}

// cpuRatios pairs the rows of the scenarios both services ran, in the order
// of assetd's rows.
func cpuRatios(rows []row) []ratio {
	var out []ratio
	for _, a := range rows {
		if a.service != "assetd" {
			continue
		}
		for _, b := range rows {
			if b.service == "imgproxy" && b.scenario == a.scenario && b.cpuPerRequest > 0 {
				out = append(out, ratio{a.scenario, a.cpuPerRequest / b.cpuPerRequest})
			}
		}
	}
	return out
}

// ms formats a duration in milliseconds with enough digits for sub-ms
// figures.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
}

// cells is a row as table cells, in header order.
func (r row) cells() []string {
	cpu := "-"
	if !math.IsNaN(r.cpuPerRequest) {
		cpu = fmt.Sprintf("%.1f", r.cpuPerRequest)
	}
	return []string{
		r.scenario, r.service,
		fmt.Sprint(r.requests), fmt.Sprint(r.errors),
		fmt.Sprintf("%.1f", r.perSecond), ms(r.p50), ms(r.p99), cpu,
		fmt.Sprintf("%.1f", r.avgKB),
	}
}

// columns are the table's headings, in the order of row.cells.
func columns() []string {
	return []string{"scenario", "service", "requests", "errors", "req/s", "p50 ms", "p99 ms", "server CPU ms/req", "avg KB"}
}

// writeText prints rows as an aligned plain-text table, then the CPU
// ratios.
func writeText(w io.Writer, rows []row) {
	header := columns()
	table := [][]string{header}
	for _, r := range rows {
		table = append(table, r.cells())
	}
	widths := make([]int, len(header))
	for _, line := range table {
		for i, c := range line {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, line := range table {
		var b strings.Builder
		for i, c := range line {
			if i > 1 { // numbers align right
				fmt.Fprintf(&b, "  %*s", widths[i], c)
			} else {
				fmt.Fprintf(&b, "%-*s  ", widths[i], c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	for _, q := range cpuRatios(rows) {
		fmt.Fprintf(w, "CPU per request, assetd/imgproxy, %s: %.2f\n", q.scenario, q.value)
	}
}

// writeMarkdown prints rows as a GitHub table, then the CPU ratios as a
// list, for pasting into the README.
func writeMarkdown(w io.Writer, rows []row) {
	header := columns()
	fmt.Fprintln(w, "| "+strings.Join(header, " | ")+" |")
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---:"
		if i < 2 {
			sep[i] = "---"
		}
	}
	fmt.Fprintln(w, "| "+strings.Join(sep, " | ")+" |")
	for _, r := range rows {
		fmt.Fprintln(w, "| "+strings.Join(r.cells(), " | ")+" |")
	}
	if qs := cpuRatios(rows); len(qs) > 0 {
		fmt.Fprintln(w)
		for _, q := range qs {
			fmt.Fprintf(w, "- CPU per request, assetd/imgproxy, %s: **%.2f**\n", q.scenario, q.value)
		}
	}
}
