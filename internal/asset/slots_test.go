package asset

import (
	"context"
	"runtime"
	"testing"
)

func TestSlotsBoundHoldersAndWaiters(t *testing.T) {
	s := newSlots(1)
	if err := s.acquire(context.Background()); err != nil {
		t.Fatalf("first acquire: %v", err)
	}
	// Four may wait; the fifth is refused at once.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	waited := make(chan error, 4)
	for range 4 {
		go func() { waited <- s.acquire(ctx) }()
	}
	for s.waiting.Load() < 4 {
		runtime.Gosched() // the waiters register before they block
	}
	if err := s.acquire(context.Background()); CodeOf(err) != CodeUnavailable {
		t.Fatalf("acquire past the queue = %v; want CodeUnavailable", err)
	}
	cancel()
	for range 4 {
		if err := <-waited; CodeOf(err) != CodeUnavailable {
			t.Fatalf("a waiter whose context ended = %v; want CodeUnavailable", err)
		}
	}
	s.release()
	if err := s.acquire(context.Background()); err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
}
