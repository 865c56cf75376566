package jobs_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/jobs/jobsload"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/ratelimit"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// Benchmarks for docs/benchmarks.md, "In-process cost per request":
//
//	go test -run '^$' -bench Board -benchtime 3s ./internal/jobs/
//
// GET /v1/jobs through the router in process (no network: the response is
// copied into a recorder, so the kernel's share is not in these figures),
// on one database seeded once with 20,000 jobs (1,000 open).
//
//   - Cached/Uncached: the router as the tests build it (no access log), the
//     cache on (defaults: Redis and the 500 ms per-replica layer) or off;
//     no Accept-Encoding, so the JSON representation.
//   - Gzip: the same with Accept-Encoding: gzip (the pre-compressed page).
//   - Stack: as `pvara serve` runs it: access log on at info in JSON (to
//     io.Discard), metrics registered, the authentication middleware (an
//     anonymous request), Go's client headers (Accept-Encoding: gzip).
//   - StackRateLimit: Stack plus the rate limiter with every request asking
//     Redis (ratelimit.local_batch 0).
//   - StackRateLimitLocal: the same with the local pre-allowance as
//     `pvara serve` runs it by default (ratelimit.local_batch 16): one
//     Redis round trip per batch for this one busy caller.
//   - Serial: one request at a time (the latency of an uncached read, where
//     round trips to PostgreSQL count); the others run 16 goroutines.

var benchWorld struct {
	once  sync.Once
	db    *testenv.DB
	redis *redisx.Client
	err   error
}

// benchDB is the seeded database and Redis every board benchmark shares.
func benchDB(b *testing.B) (*testenv.DB, *redisx.Client) {
	b.Helper()
	w := &benchWorld
	w.once.Do(func() {
		// Not tied to one benchmark's cleanup: the world lives as long as
		// the test binary.
		w.db = testenv.NewDB(&keepTB{TB: b})
		w.redis = testenv.NewRedis(&keepTB{TB: b})
		_, w.err = jobsload.Seed(b.Context(), w.db.Owner, jobsload.SeedConfig{Jobs: 20_000, Open: 1_000})
	})
	if w.err != nil {
		b.Fatal(w.err)
	}
	return w.db, w.redis
}

// keepTB is a testing.TB whose cleanups run when the test binary ends
// (TestMain), not when the benchmark that made the world does.
type keepTB struct{ testing.TB }

var processCleanups []func()

func (keepTB) Cleanup(f func())    { processCleanups = append(processCleanups, f) }
func (keepTB) Logf(string, ...any) {}
func (keepTB) Helper()             {}

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(processCleanups) - 1; i >= 0; i-- {
		processCleanups[i]()
	}
	os.Exit(code)
}

type benchStack struct {
	accessLog bool
	rateLimit bool
	// localBatch is the rate limiter's LocalBatch (0: every request asks
	// Redis).
	localBatch int
}

// benchRouter builds a replica's router over the shared world.
func benchRouter(b *testing.B, cacheTTL time.Duration, st benchStack) http.Handler {
	b.Helper()
	d, rdb := benchDB(b)
	svc, err := jobs.New(jobs.Config{CacheTTL: cacheTTL}, jobs.Deps{DB: d.App, Redis: rdb})
	if err != nil {
		b.Fatal(err)
	}
	cursors, err := httpx.NewCursors([]byte("bench-cursor-secret-0123456789"))
	if err != nil {
		b.Fatal(err)
	}
	logger := logx.Discard()
	var reg *prometheus.Registry
	cfg := httpx.RouterConfig{Title: "bench", Version: "1"}
	if st.accessLog {
		logger = slog.New(logx.NewContextHandler(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})))
		reg = prometheus.NewRegistry()
		cfg.AccessLog = true
		mapper := &httpx.ErrorMapper{Logger: logger}
		cfg.Middlewares = append(cfg.Middlewares, authz.Middleware(testenv.Tokens{}, mapper))
		if st.rateLimit {
			l, err := ratelimit.New(ratelimit.Config{
				Default:    ratelimit.Policy{Name: "api", Requests: 10_000_000, Window: time.Minute},
				LocalBatch: st.localBatch,
				Timeout:    5 * time.Second,
				Logger:     logger,
				Registerer: reg,
			}, rdb)
			if err != nil {
				b.Fatal(err)
			}
			cfg.Middlewares = append(cfg.Middlewares, ratelimit.Middleware(l, mapper))
		}
	}
	var m *httpx.HTTPMetrics
	if reg != nil {
		m = httpx.NewHTTPMetrics(reg)
	} else {
		m = httpx.NewHTTPMetrics(nil)
	}
	r, err := httpx.NewRouter(cfg, logger, m)
	if err != nil {
		b.Fatal(err)
	}
	jobs.NewHandlers(svc, cursors).Register(r)
	return r
}

func benchBoard(b *testing.B, cacheTTL time.Duration, st benchStack, path string, hdr ...string) {
	benchBoardN(b, 8, cacheTTL, st, path, hdr...)
}

// benchBoardN runs the request with parallelism×GOMAXPROCS goroutines (0:
// one, serially: the latency of a request). Besides wall time per op it
// reports cpu-ns/op, the process's CPU time (user + system, every
// goroutine: GC, pgx, go-redis) per request, which a busy shared machine
// disturbs less than wall time.
func benchBoardN(b *testing.B, parallelism int, cacheTTL time.Duration, st benchStack, path string, hdr ...string) {
	router := benchRouter(b, cacheTTL, st)
	req := httptest.NewRequest("GET", path, nil)
	req.RemoteAddr = "192.0.2.7:41000"
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	serve := func() {
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	serve() // warm: the first request fills the cache
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	if parallelism == 0 {
		for b.Loop() {
			serve()
		}
	} else {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				serve()
			}
		})
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var (
	plain   = benchStack{}
	stack   = benchStack{accessLog: true}
	stackRL = benchStack{accessLog: true, rateLimit: true}
	// stackRLLocal is the limiter as `pvara serve` runs it by default
	// (ratelimit.local_batch 16): one anonymous caller sending many
	// requests asks Redis once per batch.
	stackRLLocal = benchStack{accessLog: true, rateLimit: true, localBatch: 16}
	goHdr        = []string{"Accept-Encoding", "gzip", "User-Agent", "Go-http-client/1.1"}
)

func BenchmarkBoardFirstPageCached(b *testing.B)         { benchBoard(b, 0, plain, "/v1/jobs") }
func BenchmarkBoardFirstPageUncached(b *testing.B)       { benchBoard(b, -1, plain, "/v1/jobs") }
func BenchmarkBoardSearchCached(b *testing.B)            { benchBoard(b, 0, plain, "/v1/jobs?q=naib+qasid") }
func BenchmarkBoardSearchUncached(b *testing.B)          { benchBoard(b, -1, plain, "/v1/jobs?q=naib+qasid") }
func BenchmarkBoardFirstPageUncachedSerial(b *testing.B) { benchBoardN(b, 0, -1, plain, "/v1/jobs") }
func BenchmarkBoardSearchUncachedSerial(b *testing.B) {
	benchBoardN(b, 0, -1, plain, "/v1/jobs?q=naib+qasid")
}
func BenchmarkBoardFirstPageCachedGzip(b *testing.B) {
	benchBoard(b, 0, plain, "/v1/jobs", goHdr...)
}
func BenchmarkBoardFirstPageCachedStack(b *testing.B) {
	benchBoard(b, 0, stack, "/v1/jobs", goHdr...)
}
func BenchmarkBoardFirstPageCachedStackRateLimit(b *testing.B) {
	benchBoard(b, 0, stackRL, "/v1/jobs", goHdr...)
}
func BenchmarkBoardFirstPageCachedStackRateLimitLocal(b *testing.B) {
	benchBoard(b, 0, stackRLLocal, "/v1/jobs", goHdr...)
}
