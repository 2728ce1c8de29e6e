package asset

import (
	"context"
	"sync/atomic"
)

// slots bounds the work that holds an original in memory (rendering,
// preprocessing): at most cap(ch) at once, and at most maxWaiting waiting
// for a turn; past that, callers are refused at once, so that a burst of
// cold requests costs neither memory nor unbounded waiting.
type slots struct {
	ch         chan struct{}
	waiting    atomic.Int64
	maxWaiting int64
}

// newSlots allows n concurrent holders (at least 1) and 4n waiters.
func newSlots(n int) *slots {
	n = max(n, 1)
	return &slots{ch: make(chan struct{}, n), maxWaiting: 4 * int64(n)}
}

// acquire takes a slot, waiting until ctx is done. Errors: CodeUnavailable
// when too many wait already or ctx ended first.
func (s *slots) acquire(ctx context.Context) error {
	select {
	case s.ch <- struct{}{}:
		return nil
	default:
	}
	if s.waiting.Add(1) > s.maxWaiting {
		s.waiting.Add(-1)
		return Errorf(CodeUnavailable, "The server is busy rendering; try again shortly.")
	}
	defer s.waiting.Add(-1)
	select {
	case s.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return Wrap(CodeUnavailable, ctx.Err(), "The server is busy rendering; try again shortly.")
	}
}

// release returns a slot taken by acquire.
func (s *slots) release() { <-s.ch }
