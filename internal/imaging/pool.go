package imaging

import (
	"context"
	"sync"

	"assetd/internal/asset"
)

// priority is the class of work waiting for a worker.
type priority int

const (
	foreground priority = iota // somebody waits for the answer
	background                 // eager variants: nobody waits
)

// pool is a two-level counting semaphore over the workers. A worker that
// frees up goes to the longest-waiting foreground caller, and to a
// background caller only when no foreground caller waits; a caller that
// finds a free worker takes it only when nobody of its own or a higher
// priority waits. So background work never delays foreground work by more
// than the renders already running, and it may starve while foreground
// work keeps every worker busy: eager variants are then rendered on first
// request instead, which is correct, only slower.
//
// Each priority has its own bounded wait queue, so that a burst of eager
// variants cannot make foreground requests fail.
type pool struct {
	mu      sync.Mutex
	free    int
	limit   int // the longest wait queue, per priority
	waiting [2][]chan struct{}
}

func newPool(workers, queue int) *pool {
	return &pool{free: workers, limit: queue}
}

func busy(err error, detail string) error {
	return asset.Wrap(asset.CodeUnavailable, err, detail)
}

// acquire takes a worker for work of priority pr, waiting until ctx is
// done. With bounded set it refuses at once when the queue of pr is full.
// Errors are CodeUnavailable.
func (q *pool) acquire(ctx context.Context, pr priority, bounded bool) error {
	if err := ctx.Err(); err != nil {
		return busy(err, "The image processor is busy; try again later.")
	}
	q.mu.Lock()
	ahead := len(q.waiting[foreground])
	if pr == background {
		ahead += len(q.waiting[background])
	}
	if q.free > 0 && ahead == 0 {
		q.free--
		q.mu.Unlock()
		return nil
	}
	if bounded && len(q.waiting[pr]) >= q.limit {
		q.mu.Unlock()
		return busy(nil, "Too many images are waiting to be processed; try again later.")
	}
	ready := make(chan struct{})
	q.waiting[pr] = append(q.waiting[pr], ready)
	q.mu.Unlock()

	select {
	case <-ready:
		return nil
	case <-ctx.Done():
	}
	q.mu.Lock()
	for i, c := range q.waiting[pr] {
		if c == ready {
			q.waiting[pr] = append(q.waiting[pr][:i], q.waiting[pr][i+1:]...)
			q.mu.Unlock()
			return busy(ctx.Err(), "The image processor is busy; try again later.")
		}
	}
	q.mu.Unlock()
	// The worker was handed over as ctx ended: pass it on.
	q.release()
	return busy(ctx.Err(), "The image processor is busy; try again later.")
}

// release returns a worker, handing it straight to the first waiter.
func (q *pool) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for pr := range q.waiting {
		if len(q.waiting[pr]) > 0 {
			ready := q.waiting[pr][0]
			q.waiting[pr] = q.waiting[pr][1:]
			close(ready)
			return
		}
	}
	q.free++
}

// queued reports how many callers of priority pr wait.
func (q *pool) queued(pr priority) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting[pr])
}
