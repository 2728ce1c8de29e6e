package imaging

import (
	"context"
	"runtime"
	"testing"

	"assetd/internal/asset"
)

// mustAcquire takes one of p's workers, as a running render would.
func mustAcquire(t testing.TB, p *Processor) {
	t.Helper()
	if err := p.pool.acquire(context.Background(), foreground, false); err != nil {
		t.Fatal(err)
	}
}

// waitQueued yields until n callers of priority pr wait. It has no
// deadline of its own: the test's timeout bounds it.
func waitQueued(q *pool, pr priority, n int) {
	for q.queued(pr) != n {
		runtime.Gosched()
	}
}

func TestPoolForegroundFirst(t *testing.T) {
	q := newPool(1, 4)
	ctx := context.Background()
	if err := q.acquire(ctx, foreground, true); err != nil { // the only worker
		t.Fatal(err)
	}

	got := make(chan string, 3)
	take := func(name string, pr priority) {
		if err := q.acquire(ctx, pr, true); err != nil {
			got <- name + ": " + err.Error()
			return
		}
		got <- name
	}
	go take("background", background)
	waitQueued(q, background, 1)
	go take("foreground", foreground)
	waitQueued(q, foreground, 1)

	q.release()
	if name := <-got; name != "foreground" {
		t.Fatalf("the freed worker went to %s, want foreground", name)
	}
	if q.queued(background) != 1 {
		t.Fatal("the background caller stopped waiting")
	}
	q.release()
	if name := <-got; name != "background" {
		t.Fatalf("the next worker went to %s, want background", name)
	}

	// A free worker is not taken by background work while foreground work
	// waits, and vice versa it is taken at once when nobody waits.
	q.release()
	if err := q.acquire(ctx, background, true); err != nil {
		t.Fatal(err)
	}
	q.release()
	if q.free != 1 {
		t.Fatalf("%d free workers, want 1", q.free)
	}
}

func TestPoolBoundedQueue(t *testing.T) {
	q := newPool(1, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := q.acquire(ctx, foreground, true); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 2 {
		go func() { errs <- q.acquire(ctx, foreground, true) }()
	}
	waitQueued(q, foreground, 2)

	// The queue is full: refused at once, without waiting on ctx.
	err := q.acquire(context.Background(), foreground, true)
	if asset.CodeOf(err) != asset.CodeUnavailable {
		t.Fatalf("a third waiter: %v, want unavailable", err)
	}
	// Background work has its own queue, so it still waits.
	go func() { errs <- q.acquire(ctx, background, true) }()
	waitQueued(q, background, 1)
	// An unbounded caller (Inspect) is never refused for the queue.
	go func() { errs <- q.acquire(ctx, foreground, false) }()
	waitQueued(q, foreground, 3)

	// Giving up leaves the queue and hands nothing out.
	cancel()
	for range 4 {
		if err := <-errs; asset.CodeOf(err) != asset.CodeUnavailable {
			t.Errorf("a cancelled waiter: %v, want unavailable", err)
		}
	}
	if q.queued(foreground) != 0 || q.queued(background) != 0 {
		t.Fatal("cancelled waiters are still queued")
	}
	q.release()
	if q.free != 1 {
		t.Fatalf("%d free workers, want 1", q.free)
	}
}

// TestRenderBusy checks Render's use of the pool: the queue bound, and
// background renders yielding to foreground ones.
func TestRenderBusy(t *testing.T) {
	p := newProcessor(t, Config{Workers: 1, Queue: 1, MaxPixels: 1 << 22, MaxSide: 4096, MaxFrames: 8})
	src := load(t, p, fixAlphaPNG)
	tr := transformation(t, src, "w=50")
	mustAcquire(t, p)

	type result struct {
		name string
		err  error
	}
	done := make(chan result, 2)
	run := func(name string, opts asset.RenderOptions) {
		_, err := p.Render(context.Background(), src.data, src.attrs, tr, opts)
		done <- result{name, err}
	}
	go run("background", asset.RenderOptions{Background: true})
	waitQueued(p.pool, background, 1)
	go run("foreground", asset.RenderOptions{})
	waitQueued(p.pool, foreground, 1)

	_, err := p.Render(context.Background(), src.data, src.attrs, tr, asset.RenderOptions{})
	if e := wantCode(t, err, asset.CodeUnavailable); e.Detail == "" {
		t.Error("no detail")
	}

	p.pool.release()
	if r := <-done; r.name != "foreground" || r.err != nil {
		t.Fatalf("first done: %s %v, want foreground without error", r.name, r.err)
	}
	if r := <-done; r.name != "background" || r.err != nil {
		t.Fatalf("then: %s %v, want background without error", r.name, r.err)
	}
}
