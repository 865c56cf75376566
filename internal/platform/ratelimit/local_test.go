package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/redisx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

func sources(t *testing.T, reg *prometheus.Registry, policy, source string) float64 {
	return metric(t, reg, "pvara_ratelimit_decision_source_total", "policy", policy, "source", source)
}

// TestLocalBusyCallerNeverExceedsTheLimitAcrossReplicas: two limiters
// (two replicas, two Redis clients) over one Redis, each with the local
// pre-allowance, hammered by many goroutines for one caller: together they
// never allow more than the policy, and most decisions are local.
func TestLocalBusyCallerNeverExceedsTheLimitAcrossReplicas(t *testing.T) {
	t.Parallel()
	// The default TTL, and one so short that batches expire while being
	// spent (cells lost, refetches racing with spending).
	for _, ttl := range []time.Duration{250 * time.Millisecond, time.Millisecond} {
		t.Run(ttl.String(), func(t *testing.T) {
			t.Parallel()
			busyCallerAcrossReplicas(t, ttl)
		})
	}
}

func busyCallerAcrossReplicas(t *testing.T, ttl time.Duration) {
	rdb1 := testenv.NewRedis(t)
	rdb2, err := redisx.Open(context.Background(), testenv.RedisURL(), rdb1.Prefix())
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb2.Close() })
	// 6,400 per hour: one cell refills every 562ms, so over the test the
	// limit is the burst plus a few.
	const limit = 6400
	p := Policy{Name: "api", Requests: limit, Window: time.Hour}
	var limiters []*Limiter
	var regs []*prometheus.Registry
	for _, rdb := range []*redisx.Client{rdb1, rdb2} {
		reg := prometheus.NewRegistry()
		l, err := New(Config{Default: p, LocalBatch: 16, LocalTTL: ttl, Registerer: reg, Timeout: 5 * time.Second}, rdb)
		require.NoError(t, err)
		require.Equal(t, 16, l.def.maxBatch)
		limiters, regs = append(limiters, l), append(regs, reg)
	}
	var allowed, refused atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := limiters[g%2]
			for refused.Load() < 200 && time.Since(start) < 20*time.Second {
				d, err := l.Allow(context.Background(), "api", "u:busy")
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
					require.LessOrEqual(t, d.Remaining, limit)
				} else {
					refused.Add(1)
					require.Positive(t, d.RetryAfter)
				}
			}
		}()
	}
	wg.Wait()
	refill := int64(time.Since(start)/(time.Hour/limit)) + 1
	require.LessOrEqual(t, allowed.Load(), limit+refill, "the two replicas together allowed more than the limit")
	if ttl >= 250*time.Millisecond {
		require.GreaterOrEqual(t, allowed.Load(), int64(limit/2), "most of the burst is usable")
	}
	var local, fromRedis, expired float64
	for _, reg := range regs {
		local += sources(t, reg, "api", "local")
		fromRedis += sources(t, reg, "api", "redis")
		expired += metric(t, reg, "pvara_ratelimit_local_cells_expired_total", "policy", "api")
		require.Equal(t, 0.0, metric(t, reg, "pvara_ratelimit_redis_errors_total"))
	}
	require.Equal(t, float64(allowed.Load()+refused.Load()), local+fromRedis, "every decision is counted once")
	// Cells taken from Redis = spent + lost + still held: the lost ones
	// were taken too, so spent + lost is within the limit as well.
	require.LessOrEqual(t, float64(allowed.Load())+expired, float64(limit+refill))
	if ttl >= 250*time.Millisecond {
		require.Greater(t, local, fromRedis, "a busy caller is mostly decided locally")
	}
	t.Logf("allowed %d, refused %d, local %v, redis %v, lost %v", allowed.Load(), refused.Load(), local, fromRedis, expired)
}

// TestLocalOrdinaryCallerIsUnchanged: with the feature on, a caller whose
// requests are further apart than the TTL costs one script call each,
// loses nothing, and sees the exact headers.
func TestLocalOrdinaryCallerIsUnchanged(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	l, err := New(Config{
		Default:    Policy{Name: "api", Requests: 640, Window: time.Hour},
		LocalBatch: 16, LocalTTL: 30 * time.Millisecond, Registerer: reg,
	}, testenv.NewRedis(t))
	require.NoError(t, err)
	require.Equal(t, 10, l.def.maxBatch, "at most 1/64 of the limit")
	for i := range 3 {
		if i > 0 {
			time.Sleep(60 * time.Millisecond)
		}
		d, err := l.Allow(context.Background(), "api", "u:calm")
		require.NoError(t, err)
		require.True(t, d.Allowed)
		require.Equal(t, 639-i, d.Remaining, "request %d", i+1)
	}
	require.Equal(t, 3.0, sources(t, reg, "api", "redis"))
	require.Equal(t, 0.0, sources(t, reg, "api", "local"))
	require.Equal(t, 0.0, metric(t, reg, "pvara_ratelimit_local_cells_expired_total"))
}

// TestLocalBatchFollowsTheCallersRate: a caller sending requests back to
// back gets batches of 1, 2, 4, 8 then the policy's most, and the cells it
// did not spend are counted as lost when they expire.
func TestLocalBatchFollowsTheCallersRate(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	rdb := testenv.NewRedis(t)
	l, err := New(Config{
		Default:    Policy{Name: "api", Requests: 640, Window: time.Hour},
		LocalBatch: 16, LocalTTL: 5 * time.Second, Registerer: reg,
	}, rdb)
	require.NoError(t, err)
	ctx := context.Background()
	for range 20 { // 1 + 2 + 4 + 8 + 10 >= 20: five calls
		d, err := l.Allow(ctx, "api", "u:busy")
		require.NoError(t, err)
		require.True(t, d.Allowed)
	}
	require.Equal(t, 5.0, sources(t, reg, "api", "redis"))
	require.Equal(t, 15.0, sources(t, reg, "api", "local"))
	// Redis counts the whole batch taken (25 cells), another replica sees it.
	other, err := New(Config{Default: Policy{Name: "api", Requests: 640, Window: time.Hour}}, rdb)
	require.NoError(t, err)
	d, err := other.Allow(ctx, "api", "u:busy")
	require.NoError(t, err)
	require.Equal(t, 640-26, d.Remaining)
}

// TestLocalMapIsBounded: a flood of distinct callers does not grow the
// local map past LocalSubjects; the callers beyond it are still limited,
// through Redis.
func TestLocalMapIsBounded(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	l, err := New(Config{
		Default:    Policy{Name: "api", Requests: 6400, Window: time.Minute},
		LocalBatch: 16, LocalTTL: 20 * time.Millisecond, LocalSubjects: 50, Registerer: reg,
	}, testenv.NewRedis(t))
	require.NoError(t, err)
	ctx := context.Background()
	for i := range 300 {
		d, err := l.Allow(ctx, "api", fmt.Sprintf("ip:198.51.100.%d", i))
		require.NoError(t, err)
		require.True(t, d.Allowed)
		require.LessOrEqual(t, len(l.def.local.m), 50)
	}
	require.Equal(t, 300.0, sources(t, reg, "api", "redis"))
	// Once they are idle for a TTL, a sweep makes room again: 50 new
	// callers all get an entry.
	time.Sleep(30 * time.Millisecond)
	for i := range 50 {
		subject := fmt.Sprintf("ip:203.0.113.%d", i)
		_, err = l.Allow(ctx, "api", subject)
		require.NoError(t, err)
		l.def.local.mu.Lock()
		_, tracked := l.def.local.m[subject]
		n := len(l.def.local.m)
		l.def.local.mu.Unlock()
		require.True(t, tracked, "caller %d", i)
		require.LessOrEqual(t, n, 50)
	}
}

// TestLocalOnTheDevFallback: the batch script runs on miniredis too, and
// a busy caller gets exactly its burst.
func TestLocalOnTheDevFallback(t *testing.T) {
	t.Parallel()
	rdb, err := redisx.OpenEmbedded("dev:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	reg := prometheus.NewRegistry()
	l, err := New(Config{Default: Policy{Name: "api", Requests: 640, Window: time.Hour}, LocalBatch: 16, Registerer: reg}, rdb)
	require.NoError(t, err)
	allowed := 0
	for range 700 {
		d, err := l.Allow(context.Background(), "api", "u:1")
		require.NoError(t, err)
		if d.Allowed {
			allowed++
		}
	}
	require.LessOrEqual(t, allowed, 641)
	require.GreaterOrEqual(t, allowed, 630)
	require.Greater(t, sources(t, reg, "api", "local"), 500.0)
}

// TestLocalWaitersGiveUpWithTheirContext: a request waiting for another's
// batch returns when its own context ends, as unavailable.
func TestLocalWaitersGiveUpWithTheirContext(t *testing.T) {
	t.Parallel()
	l, err := New(Config{Default: Policy{Name: "api", Requests: 6400, Window: time.Minute}, LocalBatch: 16}, testenv.NewRedis(t))
	require.NoError(t, err)
	e := l.def.local.get("u:1", time.Now())
	e.mu.Lock()
	e.fetching = make(chan struct{}) // a fetch that never ends
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = l.Allow(ctx, "api", "u:1")
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestLocalRefusalIsRememberedUntilRetryAfter: once Redis refused a busy
// caller, its requests here are refused without asking Redis until the
// time Redis gave, and allowed again after it.
func TestLocalRefusalIsRememberedUntilRetryAfter(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	l, err := New(Config{Default: Policy{Name: "api", Requests: 128, Window: 2 * time.Second}, LocalBatch: 16, Registerer: reg}, testenv.NewRedis(t))
	require.NoError(t, err)
	ctx := context.Background()
	var d Decision
	allowed := 0
	for d.Allowed || allowed == 0 {
		d, err = l.Allow(ctx, "api", "u:greedy")
		require.NoError(t, err)
		if d.Allowed {
			allowed++
		}
	}
	require.GreaterOrEqual(t, allowed, 128)
	require.Positive(t, d.RetryAfter)
	require.LessOrEqual(t, d.RetryAfter, 2*time.Second/128)
	calls := sources(t, reg, "api", "redis")
	d2, err := l.Allow(ctx, "api", "u:greedy")
	require.NoError(t, err)
	if !d2.Allowed { // unless the host paused for the whole RetryAfter
		require.Equal(t, calls, sources(t, reg, "api", "redis"), "refused locally")
		require.LessOrEqual(t, d2.RetryAfter, d.RetryAfter)
	}
	require.Eventually(t, func() bool {
		d, err := l.Allow(ctx, "api", "u:greedy")
		require.NoError(t, err)
		return d.Allowed
	}, time.Second, time.Millisecond)
}

// TestLocalThroughTheMiddleware: with the feature on, a busy caller's
// responses keep their headers (remaining counts the cells reserved here
// as still available, so it is exact while nothing refills) and every
// request is counted once as allowed.
func TestLocalThroughTheMiddleware(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	cfg := testConfig(6400, reg)
	cfg.Default.Window = 24 * time.Hour // no refill during the test
	cfg.LocalBatch = 16
	srv, _ := server(t, cfg, testenv.NewRedis(t))
	for i := range 20 {
		res, _ := do(t, srv, call{token: "alice"})
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "6400;w=86400", res.Header.Get(HeaderPolicy))
		require.True(t, strings.HasPrefix(res.Header.Get(HeaderLimit), fmt.Sprintf("limit=6400, remaining=%d, reset=", 6399-i)),
			"request %d: %s", i+1, res.Header.Get(HeaderLimit))
	}
	require.Equal(t, 20.0, decisions(t, reg, "api", "allowed"))
	require.Equal(t, 5.0, sources(t, reg, "api", "redis"))
	require.Equal(t, 15.0, sources(t, reg, "api", "local"))
}

// TestLocalWhenRedisGoesAway: cells already taken may still be spent;
// after them the caller gets ErrUnavailable (the middleware then fails
// open or closed as before), quickly, through the cooldown.
func TestLocalWhenRedisGoesAway(t *testing.T) {
	t.Parallel()
	proc := startRedis(t, 0)
	rdb, err := redisx.Open(context.Background(), "redis://"+proc.addr()+"/0", "pvara-test:down:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	l, err := New(Config{
		Default:    Policy{Name: "api", Requests: 6400, Window: time.Hour},
		LocalBatch: 16, LocalTTL: time.Minute, Cooldown: time.Minute,
	}, rdb)
	require.NoError(t, err)
	ctx := context.Background()
	for range 15 { // batches 1, 2, 4, 8: 15 cells, all spent
		d, err := l.Allow(ctx, "api", "u:1")
		require.NoError(t, err)
		require.True(t, d.Allowed)
	}
	d, err := l.Allow(ctx, "api", "u:1") // a batch of 16: one spent, 15 left
	require.NoError(t, err)
	require.True(t, d.Allowed)
	proc.stop()
	for range 15 {
		d, err := l.Allow(ctx, "api", "u:1")
		require.NoError(t, err, "cells taken before the outage are spent")
		require.True(t, d.Allowed)
	}
	for range 3 {
		_, err = l.Allow(ctx, "api", "u:1")
		require.ErrorIs(t, err, ErrUnavailable)
	}
	_, err = l.Allow(ctx, "api", "u:2")
	require.ErrorIs(t, err, ErrUnavailable)
}
