// Command loadgen measures a running assetd, and optionally imgproxy on the
// same job, with bounded load on loopback only (issue 4; `make bench`).
//
//	loadgen -assetd bin/assetd [-compare-imgproxy] [flags]
//
// It starts the servers itself, on 127.0.0.1 with throwaway data under a
// temporary directory, and stops them and removes the directory on exit,
// ^C included. Scenarios:
//
//   - cold: a 4000×3000 JPEG resized to a width near 800 that was never
//     asked before, so every request renders (jpg, webp, avif); with
//     -compare-imgproxy the same jobs go to imgproxy too, in alternating
//     rounds, so both meet the machine in the same state;
//   - cached: one variant asked again and again, delivered from storage,
//     from an entry with no other variant and from the cold scenarios' one;
//   - upload: a 1 MP JPEG posted to fresh paths, with blurhash and thumbhash.
//
// Each reports requests/s, p50/p99 latency and the server process's CPU
// time per request (/proc/PID/stat), as a text table and a markdown one.
// Any failed request makes it exit 1 after listing the failures.
//
//	loadgen -imgproxy-only   build imgproxy into the cache if needed, print its path
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	assetd, imgproxy   string
	compare, buildOnly bool
	concurrency        int
	cachedConcurrency  int
	workers            int
	formats            []string
	cold, avif, round  int
	cached             time.Duration
	uploads            int
	limit              time.Duration
	quality            imgproxyQuality
}

// parseFlags reads args into options.
// Errors: an unknown flag, a bad value, or no -assetd when it is needed.
func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	fl := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fl.SetOutput(out)
	fl.StringVar(&o.assetd, "assetd", "", "the assetd binary to measure (required)")
	fl.BoolVar(&o.compare, "compare-imgproxy", false, "run the cold jobs against imgproxy "+imgproxyVersion+" too")
	fl.StringVar(&o.imgproxy, "imgproxy", "", "imgproxy binary (default: build "+imgproxyVersion+" once into the user cache directory)")
	fl.BoolVar(&o.buildOnly, "imgproxy-only", false, "only build imgproxy if needed and print its path")
	fl.IntVar(&o.concurrency, "c", runtime.NumCPU(), "concurrent requests")
	fl.IntVar(&o.workers, "workers", runtime.NumCPU(), "imaging workers of both servers (assetd imaging.workers, IMGPROXY_WORKERS)")
	formats := fl.String("formats", "jpg,webp,avif", "output formats of the cold scenario")
	fl.IntVar(&o.cold, "cold-n", 200, fmt.Sprintf("cold requests per format, jpg and webp (at most %d)", maxColdRequests))
	fl.IntVar(&o.avif, "avif-n", 40, "cold requests for avif, which is several times slower")
	fl.IntVar(&o.round, "round", 20, "cold requests per service before switching to the other (-compare-imgproxy)")
	fl.DurationVar(&o.cached, "cached-duration", 5*time.Second, "how long to request the cached variant")
	// One at a time by default: the cached figure that matters is the
	// latency of one delivery, and on a small machine more clients in
	// flight mostly measure the driver and the server queueing for cores.
	fl.IntVar(&o.cachedConcurrency, "cached-c", 1, "concurrent requests of the cached scenario")
	fl.IntVar(&o.uploads, "upload-n", 100, "uploads of the 1 MP JPEG")
	fl.DurationVar(&o.limit, "max-duration", 60*time.Second, "upper bound on each scenario, whatever its count")
	// assetd saves webp at effort 3 and avif at effort 0 (internal/imaging
	// render.c); imgproxy's own defaults are 4 and speed 8 (effort 1). The
	// same job means the same encoder work, so these match assetd's.
	fl.IntVar(&o.quality.avifSpeed, "imgproxy-avif-speed", 9, "IMGPROXY_AVIF_SPEED (libvips effort = 9-speed; imgproxy's default is 8)")
	fl.IntVar(&o.quality.webpEffort, "imgproxy-webp-effort", 2, "IMGPROXY_WEBP_EFFORT (imgproxy's default is 4; 2 matches assetd)")
	if err := fl.Parse(args); err != nil {
		return o, err
	}
	if fl.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fl.Arg(0))
	}
	for f := range strings.SplitSeq(*formats, ",") {
		switch f = strings.TrimSpace(f); f {
		case "jpg", "webp", "avif":
			o.formats = append(o.formats, f)
		case "":
		default:
			return o, fmt.Errorf("-formats: %q is not jpg, webp or avif", f)
		}
	}
	switch {
	case o.buildOnly:
	case o.assetd == "":
		return o, errors.New("-assetd is required")
	case o.concurrency < 1 || o.workers < 1 || o.cachedConcurrency < 1 || o.round < 1:
		return o, errors.New("-c, -cached-c, -workers and -round must be at least 1")
	case o.cold < 1 || o.cold > maxColdRequests || o.avif < 1 || o.avif > maxColdRequests:
		return o, fmt.Errorf("-cold-n and -avif-n must be within 1..%d", maxColdRequests)
	case o.uploads < 1 || o.cached <= 0 || o.limit <= 0:
		return o, errors.New("-upload-n, -cached-duration and -max-duration must be positive")
	}
	return o, nil
}

// run is the whole program; the table goes to stdout, progress to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.buildOnly {
		bin, err := imgproxyBinary(ctx, o.imgproxy, stderr)
		if err == nil {
			fmt.Fprintln(stdout, bin)
		}
		return err
	}
	var imgproxyBin string
	if o.compare {
		// Before anything else, so a failed build costs no measuring.
		if imgproxyBin, err = imgproxyBinary(ctx, o.imgproxy, stderr); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "loadgen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintln(stderr, "generating the 4000×3000 and 1 MP test photos")
	big, err := photo(4000, 3000, 90, 1)
	if err != nil {
		return err
	}
	small, err := photo(1155, 866, 85, 2)
	if err != nil {
		return err
	}
	root := filepath.Join(dir, "imgproxy-root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "photo.jpg"), big, 0o644); err != nil {
		return err
	}

	a, err := startAssetd(ctx, o.assetd, filepath.Join(dir, "assetd"), o.workers)
	if err != nil {
		return err
	}
	defer a.stop(20 * time.Second)
	var ip *server
	if o.compare {
		if ip, err = startImgproxy(ctx, imgproxyBin, root, o.workers, o.quality); err != nil {
			return err
		}
		defer ip.stop(20 * time.Second)
	}

	b := bench{
		d: driver{
			client: &http.Client{
				Timeout: 2 * time.Minute,
				Transport: &http.Transport{
					Proxy:               nil, // loopback only, whatever the environment says
					MaxIdleConnsPerHost: max(o.concurrency, o.cachedConcurrency),
					DisableCompression:  true,
				},
			},
			concurrency: o.concurrency,
			maxFailures: 10,
		},
		ticks:  clockTicks(ctx),
		stderr: stderr,
	}
	fmt.Fprintf(stdout, "loadgen: %d CPUs, concurrency %d (cached: %d), imaging workers %d; source %d×%d JPEG q90 (%.1f MB); upload %d×%d JPEG (%.0f KB)\n",
		runtime.NumCPU(), o.concurrency, o.cachedConcurrency, o.workers, 4000, 3000, float64(len(big))/1e6, 1155, 866, float64(len(small))/1e3)
	err = b.all(ctx, o, a, ip, big, small)
	rows := make([]row, len(b.results))
	for i, r := range b.results {
		rows[i] = summarize(r)
	}
	fmt.Fprintln(stdout)
	writeText(stdout, rows)
	fmt.Fprintln(stdout)
	writeMarkdown(stdout, rows)
	if len(b.failures) > 0 {
		fmt.Fprintln(stderr, "\nFAILED REQUESTS (first of each scenario):")
		for _, f := range b.failures {
			fmt.Fprintln(stderr, "  "+f.String())
		}
		if err == nil {
			err = errors.New("some requests failed")
		}
	}
	return err
}

// bench runs scenarios and collects their results.
type bench struct {
	d        driver
	ticks    float64 // clock ticks per second
	stderr   io.Writer
	results  []result
	failures []failure
}

// measure runs one scenario against s, attributing s's CPU time over it.
// Errors: as run's.
func (b *bench) measure(ctx context.Context, s *server, scenario string, bd bounds, request func(i int) (*http.Request, error)) (result, error) {
	fmt.Fprintf(b.stderr, "%s: %s\n", scenario, s.name)
	r, failures, err := b.run(ctx, s, bd, request)
	r.scenario, r.service = scenario, s.name
	b.results = append(b.results, r)
	b.failures = append(b.failures, failures...)
	return r, err
}

// run drives requests at s and reads s's CPU time before and after.
// Errors: s died, its CPU time could not be read, or ctx ended.
func (b *bench) run(ctx context.Context, s *server, bd bounds, request func(i int) (*http.Request, error)) (result, []failure, error) {
	before, err := processCPU(s.pid())
	if err != nil {
		return result{}, nil, err
	}
	r, failures := b.d.drive(ctx, bd, request)
	after, err := processCPU(s.pid())
	if err != nil {
		return r, failures, errors.Join(err, s.alive())
	}
	r.cpuMS = float64(after-before) * 1000 / b.ticks
	if err := s.alive(); err != nil {
		return r, failures, err
	}
	return r, failures, ctx.Err()
}

// side is one service of a scenario and the requests it is sent.
type side struct {
	s       *server
	request func(i int) (*http.Request, error)
}

// measureRounds runs one scenario against every side in alternating rounds
// of round requests, the order reversed every round (A B, B A, A B, …), so
// that a machine whose speed drifts during the run (other tenants, clock
// changes) slows every side alike, as a side-by-side comparison needs.
// Request i is the same job on every side. Each side's result sums its
// rounds; bd bounds each side, and the first side to reach bd.duration
// ends the scenario. It stops at the first failed round.
// Errors: as measure's.
func (b *bench) measureRounds(ctx context.Context, scenario string, bd bounds, round int, sides []side) ([]result, error) {
	total := make([]result, len(sides))
	for k, sd := range sides {
		total[k] = result{scenario: scenario, service: sd.s.name}
	}
	fmt.Fprintf(b.stderr, "%s: %d side(s) in rounds of %d\n", scenario, len(sides), round)
	spent := make([]time.Duration, len(sides))
	within := func() bool { return slices.Max(spent) < bd.duration }
	for done, r := 0, 0; done < bd.n && within(); done, r = done+round, r+1 {
		n := min(round, bd.n-done)
		for j := range sides {
			k := j
			if r%2 == 1 {
				k = len(sides) - 1 - j
			}
			sd := sides[k]
			res, failures, err := b.run(ctx, sd.s, bounds{n, bd.duration - spent[k]}, func(i int) (*http.Request, error) {
				return sd.request(done + i)
			})
			total[k].add(res)
			b.failures = append(b.failures, failures...)
			if err != nil || res.errors > 0 {
				b.results = append(b.results, total...)
				return total, err
			}
			spent[k] += res.elapsed
		}
	}
	b.results = append(b.results, total...)
	return total, nil
}

// get is a request builder for a fixed GET.
func get(url string) (*http.Request, error) { return http.NewRequest(http.MethodGet, url, nil) }

// all runs every scenario: the upload of the source photo, then per format
// the cold jobs (assetd, then imgproxy when ip is not nil), the cached
// delivery, and the uploads. It stops at the first scenario with a failure.
func (b *bench) all(ctx context.Context, o options, a, ip *server, big, small []byte) error {
	if err := uploadSource(ctx, b.d.client, a.url+"/assets/bench/photo", big); err != nil {
		return err
	}
	for k, f := range o.formats {
		n := o.cold
		if f == "avif" {
			n = o.avif
		}
		scenario := "cold w≈800 " + f
		// A first render outside the measured widths, so one-off set-up
		// (encoder initialisation, first page faults) is not counted.
		warm := 1300 + k
		if err := warmUp(ctx, b.d.client, assetdContent(a.url, "bench/photo", warm, f)); err != nil {
			return err
		}
		sides := []side{{a, func(i int) (*http.Request, error) {
			return get(assetdContent(a.url, "bench/photo", coldWidth(i), f))
		}}}
		if ip != nil {
			if err := warmUp(ctx, b.d.client, imgproxyResize(ip.url, "photo.jpg", warm, f)); err != nil {
				return err
			}
			sides = append(sides, side{ip, func(i int) (*http.Request, error) {
				return get(imgproxyResize(ip.url, "photo.jpg", coldWidth(i), f))
			}})
		}
		rs, err := b.measureRounds(ctx, scenario, bounds{n, o.limit}, o.round, sides)
		if err != nil || slices.ContainsFunc(rs, func(r result) bool { return r.errors > 0 }) {
			return err // failures are reported with the table
		}
		if hits := len(rs[0].latency) - rs[0].misses; hits > 0 {
			fmt.Fprintf(b.stderr, "warning: %d of assetd's cold %s answers were not X-Cache-Status: miss\n", hits, f)
		}
	}

	// Cached delivery, first from an entry with only this variant, then
	// from the cold scenarios' entry, which by now has hundreds: the two
	// figures differ when delivery cost grows with an entry's variants.
	if err := uploadSource(ctx, b.d.client, a.url+"/assets/bench/cached", big); err != nil {
		return err
	}
	for _, path := range []string{"bench/cached", "bench/photo"} {
		if err := b.cached(ctx, o, a, path); err != nil {
			return err
		}
	}

	body, contentType, err := multipartBody(small)
	if err != nil {
		return err
	}
	_, err = b.measure(ctx, a, "upload 1 MP + LQIP", bounds{o.uploads, o.limit}, func(i int) (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/assets/bench/upload/%d", a.url, i), bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", contentType)
		}
		return req, err
	})
	return err
}

// cached measures the delivery of path's w=800 webp variant, rendered by a
// warm-up request first, one request after the other by default.
func (b *bench) cached(ctx context.Context, o options, a *server, path string) error {
	url := assetdContent(a.url, path, 800, "webp")
	if err := warmUp(ctx, b.d.client, url); err != nil {
		return err
	}
	variants, err := countVariants(ctx, b.d.client, a.url+"/assets/"+path+"/-/metadata")
	if err != nil {
		return err
	}
	d := b.d
	defer func() { b.d = d }()
	b.d.concurrency = o.cachedConcurrency
	scenario := fmt.Sprintf("cached w=800 webp, c=%d, entry of %d variants", o.cachedConcurrency, variants)
	r, err := b.measure(ctx, a, scenario, bounds{1 << 30, min(o.cached, o.limit)}, func(int) (*http.Request, error) {
		return get(url)
	})
	if err == nil && r.errors > 0 {
		err = fmt.Errorf("%d failed requests for %s", r.errors, url)
	}
	if err == nil && r.misses > 0 {
		fmt.Fprintf(b.stderr, "warning: %d cached answers were X-Cache-Status: miss\n", r.misses)
	}
	return err
}

// countVariants returns how many variants the metadata at url lists, the
// original included.
// Errors: the answer is not 200 with Asset JSON.
func countVariants(ctx context.Context, c *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	var a struct{ Variants []json.RawMessage }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &a) != nil {
		return 0, fmt.Errorf("GET %s: %d %.300s", url, resp.StatusCode, body)
	}
	return len(a.Variants), nil
}

// multipartBody is an upload form with content as its `asset` part.
func multipartBody(content []byte) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, err := mw.CreateFormFile("asset", "photo.jpg")
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(content); err != nil {
		return nil, "", err
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// uploadSource posts the source photo to url and checks that assetd kept it
// at its full size, since every cold figure depends on that.
// Errors: the upload is not 201, or the stored original is not 4000×3000.
func uploadSource(ctx context.Context, c *http.Client, url string, content []byte) error {
	body, contentType, err := multipartBody(content)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("uploading the source photo: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, answer)
	}
	var a struct {
		Variants []struct {
			Attributes struct{ Width, Height int }
		}
	}
	if err := json.Unmarshal(answer, &a); err != nil || len(a.Variants) == 0 {
		return fmt.Errorf("POST %s: unexpected answer %s", url, answer)
	}
	if at := a.Variants[0].Attributes; at.Width != 4000 || at.Height != 3000 {
		return fmt.Errorf("POST %s: stored as %d×%d, want 4000×3000", url, at.Width, at.Height)
	}
	return nil
}

// warmUp GETs url once and wants a 2xx.
func warmUp(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("warm-up GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("warm-up GET %s: %d %.300s", url, resp.StatusCode, body)
	}
	return nil
}
