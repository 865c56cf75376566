package admission_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/admission"
)

// TestGate: Slots run at once, Queue more wait, the rest are refused at
// once; a waiter gets a freed slot, gives up after Wait, or when its
// context ends.
func TestGate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := admission.New(2, 1, time.Hour)
	for range 2 {
		waited, err := g.Acquire(ctx)
		require.NoError(t, err)
		require.Zero(t, waited)
	}
	require.Equal(t, 2, g.InFlight())
	got := make(chan error, 1)
	go func() {
		_, err := g.Acquire(ctx) // queues
		got <- err
	}()
	require.Eventually(t, func() bool { return g.Waiting() == 1 }, 5*time.Second, time.Millisecond)
	_, err := g.Acquire(ctx) // the queue is full: refused without waiting the hour
	require.ErrorIs(t, err, admission.ErrFull)
	g.Release()
	require.NoError(t, <-got, "the waiter took the freed slot")
	require.Equal(t, 2, g.InFlight())
	require.Zero(t, g.Waiting())

	// A waiter gives up after Wait, or when its context ends.
	short := admission.New(1, 5, time.Millisecond)
	_, err = short.Acquire(ctx)
	require.NoError(t, err)
	_, err = short.Acquire(ctx)
	require.ErrorIs(t, err, admission.ErrFull)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = g.Acquire(cctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, g.Waiting())
}

// TestGateNeverOverAdmits: many goroutines racing for the slots never hold
// more than Slots at once, and every admitted one is released.
func TestGateNeverOverAdmits(t *testing.T) {
	t.Parallel()
	const slots = 4
	g := admission.New(slots, 1000, time.Hour)
	var mu sync.Mutex
	held, most := 0, 0
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			_, err := g.Acquire(context.Background())
			require.NoError(t, err)
			mu.Lock()
			held++
			most = max(most, held)
			mu.Unlock()
			time.Sleep(100 * time.Microsecond)
			mu.Lock()
			held--
			mu.Unlock()
			g.Release()
		})
	}
	wg.Wait()
	require.LessOrEqual(t, most, slots)
	require.Zero(t, g.InFlight())
}
