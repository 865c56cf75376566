// Package admission bounds how much work a process takes on at once: a
// Gate lets Slots units of work run, lets at most Queue more wait for a
// slot, each at most Wait, and refuses the rest at once (ErrFull). Under
// overload a bounded gate keeps the work that is admitted fast and the
// answer to the rest immediate (a 503 with Retry-After, which a client
// retries), where an unbounded queue makes every request slow until
// clients time out on work the server then does for nobody.
//
// The password hasher (internal/auth) gates argon2id with one; the API
// gates its requests with two (httpx.Admission, docs/operations.md
// "Overload").
package admission

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// ErrFull is returned by Acquire when the queue is full or the wait ran out.
var ErrFull = errors.New("admission: no slot free in time")

// Gate is a counting semaphore with a bounded, time-limited queue. The zero
// value is not usable; use New.
type Gate struct {
	slots    chan struct{}
	waiting  atomic.Int64
	maxQueue int64
	wait     time.Duration
}

// New returns a gate of slots slots (at least 1), queue waiters (negative
// is 0) and wait the longest wait of one.
func New(slots, queue int, wait time.Duration) *Gate {
	return &Gate{slots: make(chan struct{}, max(slots, 1)), maxQueue: int64(max(queue, 0)), wait: wait}
}

// Acquire takes a slot: at once if one is free; otherwise it waits, if
// fewer than the queue's bound already wait, for at most the gate's wait.
// It returns how long it waited, ErrFull when refused, or ctx's error.
// Every nil error must be paired with one Release.
func (g *Gate) Acquire(ctx context.Context) (time.Duration, error) {
	select {
	case g.slots <- struct{}{}:
		return 0, nil
	default:
	}
	if g.waiting.Add(1) > g.maxQueue {
		g.waiting.Add(-1)
		return 0, ErrFull
	}
	defer g.waiting.Add(-1)
	start := time.Now()
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return time.Since(start), nil
	case <-t.C:
		return time.Since(start), ErrFull
	case <-ctx.Done():
		return time.Since(start), ctx.Err()
	}
}

// Release gives back a slot taken by Acquire.
func (g *Gate) Release() { <-g.slots }

// InFlight is how many slots are taken now.
func (g *Gate) InFlight() int { return len(g.slots) }

// Waiting is how many callers wait for a slot now.
func (g *Gate) Waiting() int { return int(g.waiting.Load()) }
