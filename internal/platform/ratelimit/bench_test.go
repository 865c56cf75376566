package ratelimit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/metrics"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// Benchmarks for docs/benchmarks.md, "Rate limiting":
//
//	go test -run '^$' -bench . -benchtime 3s ./internal/platform/ratelimit/
//
// Each op is one request through the middleware to an empty handler (no
// network for HTTP, a real Redis for the limit): "baseline" has no limiter,
// "limiter" asks Redis once, "local" is the limiter with the local
// pre-allowance (LocalBatch 16: a busy caller asks Redis once per batch),
// "redis-down" is the fail-open path while the cooldown holds (no Redis
// call). redis-calls/1000req is the script calls per 1,000 requests. "users=N" spreads requests over N
// callers' buckets. Serial ns/op is the latency a request gains; parallel
// ns/op is wall time per request with many requests in flight.

// benchHandler is the middleware over an empty handler (or the handler
// alone when rdb is nil). The Redis timeout is generous so that a slow
// moment on a shared machine is measured, not turned into the fail-open
// path; errors returns how many Redis calls failed.
func benchHandler(b *testing.B, rdb *redisx.Client, cooldown time.Duration, localBatch int) (h http.Handler, errors, redisCalls func() float64) {
	b.Helper()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	if rdb == nil {
		return ok, func() float64 { return 0 }, func() float64 { return 0 }
	}
	reg := prometheus.NewRegistry()
	l, err := New(Config{
		Default:    Policy{Name: "api", Requests: 10_000_000, Window: time.Minute},
		Registerer: reg,
		Timeout:    5 * time.Second,
		Cooldown:   cooldown,
		LocalBatch: localBatch,
	}, rdb)
	if err != nil {
		b.Fatal(err)
	}
	// sum is the series of name whose source label, if any, is label.
	sum := func(name, label string) func() float64 {
		return func() float64 {
			v, _, _ := metrics.Value(reg, name, "source", label)
			return v
		}
	}
	return Middleware(l, &httpx.ErrorMapper{Logger: logx.Discard()})(ok),
		sum("pvara_ratelimit_redis_errors_total", ""), sum("pvara_ratelimit_decision_source_total", "redis")
}

func benchRequests(n int) []*http.Request {
	reqs := make([]*http.Request, n)
	for i := range reqs {
		r := httptest.NewRequest(http.MethodGet, "/v1/ping", nil)
		reqs[i] = r.WithContext(authz.WithPrincipal(r.Context(), authz.Principal{UserID: uuid.New(), Role: authz.RoleCandidate}))
	}
	return reqs
}

func BenchmarkMiddleware(b *testing.B) {
	rdb := testenv.NewRedis(b)
	down, err := redisx.Open(b.Context(), testenv.RedisURL(), rdb.Prefix())
	if err != nil {
		b.Fatal(err)
	}
	baseline, _, _ := benchHandler(b, nil, 0, 0)
	limiter, limiterErrors, limiterCalls := benchHandler(b, rdb, time.Millisecond, 0)
	local, localErrors, localCalls := benchHandler(b, rdb, time.Millisecond, 16)
	redisDown, _, _ := benchHandler(b, down, time.Hour, 0)
	_ = down.Close() // every call now fails; the first opens the hour-long cooldown
	none := func() float64 { return 0 }
	cases := []struct {
		name  string
		h     http.Handler
		calls func() float64
	}{
		{"baseline", baseline, none},
		{"limiter", limiter, limiterCalls},
		{"local", local, localCalls},
		{"redis-down", redisDown, none},
	}
	defer func() {
		if n := limiterErrors() + localErrors(); n > 0 {
			b.Fatalf("%v Redis calls failed: the limiter figures include fail-open requests", n)
		}
	}()
	report := func(b *testing.B, calls func() float64, before float64) {
		b.ReportMetric(1000*(calls()-before)/float64(b.N), "redis-calls/1000req")
	}
	for _, c := range cases {
		for _, users := range []int{1, 1000} {
			reqs := benchRequests(users)
			b.Run(fmt.Sprintf("%s/users=%d/serial", c.name, users), func(b *testing.B) {
				b.ReportAllocs()
				before := c.calls()
				defer report(b, c.calls, before)
				i := 0
				for b.Loop() {
					c.h.ServeHTTP(httptest.NewRecorder(), reqs[i%users])
					i++
				}
			})
			b.Run(fmt.Sprintf("%s/users=%d/parallel", c.name, users), func(b *testing.B) {
				b.ReportAllocs()
				before := c.calls()
				defer report(b, c.calls, before)
				b.SetParallelism(16) // 32 requests in flight on 2 cores
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						c.h.ServeHTTP(httptest.NewRecorder(), reqs[i%users])
						i++
					}
				})
			})
		}
	}
}

// BenchmarkRoundTrip is the floor the limiter stands on: one PING, and one
// run of the script, through the same client.
func BenchmarkRoundTrip(b *testing.B) {
	rdb := testenv.NewRedis(b)
	ctx := b.Context()
	b.Run("ping", func(b *testing.B) {
		for b.Loop() {
			if err := rdb.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("script", func(b *testing.B) {
		key := rdb.Key("rl", "bench", "u:1")
		for b.Loop() {
			if err := gcra.Run(ctx, rdb, []string{key}, 6, 10_000_000, 1).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
