package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// bounds stop a scenario at whichever comes first: n requests started, or
// the duration elapsed (requests in flight then still finish).
type bounds struct {
	n        int
	duration time.Duration
}

// failure describes one failed request precisely enough to act on.
type failure struct {
	method, url string
	status      int // 0 for a transport error
	body        string
}

func (f failure) String() string {
	if f.status == 0 {
		return fmt.Sprintf("%s %s: %s", f.method, f.url, f.body)
	}
	return fmt.Sprintf("%s %s: %d %s", f.method, f.url, f.status, f.body)
}

// driver sends a scenario's requests with a fixed concurrency.
type driver struct {
	client      *http.Client
	concurrency int
	maxFailures int // failures kept for the report; all are counted
}

// drive runs request(i) for i = 0, 1, … from d.concurrency workers until b
// or ctx stops it, and measures the answers. A request that fails to build
// counts as an error. Non-2xx answers and transport errors are errors; the
// first d.maxFailures are returned with their body (cut to 300 bytes).
func (d driver) drive(ctx context.Context, b bounds, request func(i int) (*http.Request, error)) (result, []failure) {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		res      result
		failures []failure
		wg       sync.WaitGroup
	)
	fail := func(f failure) {
		mu.Lock()
		defer mu.Unlock()
		res.requests++
		res.errors++
		if len(failures) < d.maxFailures {
			failures = append(failures, f)
		}
	}
	start := time.Now()
	deadline := start.Add(b.duration)
	for range d.concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= b.n {
					return
				}
				req, err := request(i)
				if err != nil {
					fail(failure{method: "?", url: fmt.Sprint("request ", i), body: err.Error()})
					continue
				}
				req = req.WithContext(ctx)
				t0 := time.Now()
				resp, err := d.client.Do(req)
				if err != nil {
					if ctx.Err() != nil {
						return // interrupted: not the server's failure
					}
					fail(failure{method: req.Method, url: req.URL.String(), body: err.Error()})
					continue
				}
				if resp.StatusCode/100 != 2 {
					body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
					resp.Body.Close()
					fail(failure{method: req.Method, url: req.URL.String(), status: resp.StatusCode, body: string(body)})
					continue
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat := time.Since(t0)
				if err != nil {
					fail(failure{method: req.Method, url: req.URL.String(), status: resp.StatusCode, body: "reading the body: " + err.Error()})
					continue
				}
				mu.Lock()
				res.requests++
				res.latency = append(res.latency, lat)
				res.bytes += n
				if resp.Header.Get("X-Cache-Status") == "miss" {
					res.misses++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res, failures
}
