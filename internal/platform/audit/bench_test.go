package audit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// Benchmarks for docs/benchmarks.md, "Audit":
//
//	go test -run '^$' -bench . -benchtime 5s ./internal/platform/audit/
//
// BenchmarkWrite measures a business transaction (one row into a table of
// its own, committed durably) without and with RecordTx, at 1, 8 and 32
// concurrent writers, while a sealer links entries every 250ms as in
// production. "chainhead" is the design this package avoids: every audited
// transaction updates one chain-head row until commit, which serialises
// writers. ns/op is wall time per transaction across all writers, so
// 1e9/(ns/op) is the throughput.

type benchEnv struct {
	db   *testenv.DB
	pool *pgxpool.Pool
}

// newBenchEnv makes a database and a pool of conns connections (the
// writers plus the sealer: the host's connection slots are shared).
func newBenchEnv(b *testing.B, conns int32) *benchEnv {
	b.Helper()
	d := testenv.NewDB(b)
	d.Exec(b, `CREATE TABLE public.bench_items (id uuid PRIMARY KEY, n int NOT NULL, payload text NOT NULL)`)
	d.Exec(b, `CREATE TABLE public.bench_head (id int PRIMARY KEY, seq bigint NOT NULL, hash bytea NOT NULL)`)
	d.Exec(b, `INSERT INTO public.bench_head VALUES (1, 0, '\x00')`)
	d.Exec(b, `GRANT SELECT, INSERT ON public.bench_items TO pvara_app; GRANT SELECT, UPDATE ON public.bench_head TO pvara_app; GRANT USAGE ON SCHEMA public TO pvara_app`)
	cfg := d.AppConfig()
	cfg.MaxConns = conns
	pool, err := postgres.Open(context.Background(), cfg, nil)
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	return &benchEnv{db: d, pool: pool}
}

func (e *benchEnv) businessTx(ctx context.Context, mode string, i int) error {
	return postgres.Tx(ctx, e.pool, func(tx pgx.Tx) error {
		id := uuid.Must(uuid.NewV7())
		if _, err := tx.Exec(ctx, "INSERT INTO public.bench_items (id, n, payload) VALUES ($1, $2, 'application submitted')", id, i); err != nil {
			return err
		}
		switch mode {
		case "audit":
			return RecordTx(ctx, tx, Entry{
				OrgID: id, ActorID: id, ActorRole: "candidate", Action: "applications.submitted", Resource: "application",
				ResourceID: id.String(), IP: "203.0.113.10", Details: map[string]any{"job_id": id.String(), "channel": "web"},
			})
		case "chainhead":
			// The serialising design: read and move the head in every
			// writer's transaction (the row lock is held until commit).
			_, err := tx.Exec(ctx, "UPDATE public.bench_head SET seq = seq + 1, hash = sha256(hash) WHERE id = 1")
			if err != nil {
				return err
			}
			return RecordTx(ctx, tx, Entry{OrgID: id, ActorID: id, Action: "applications.submitted", ResourceID: id.String()})
		}
		return nil
	})
}

func BenchmarkWrite(b *testing.B) {
	for _, mode := range []string{"plain", "audit", "chainhead"} {
		for _, writers := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("%s/writers=%d", mode, writers), func(b *testing.B) {
				env := newBenchEnv(b, int32(writers)+2)
				ctx, cancel := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				if mode != "plain" {
					s := NewSealer(env.db.App, SealerConfig{})
					wg.Go(func() { _ = s.Run(ctx, 250*time.Millisecond) })
				}
				// Warm the pool so connection set-up is not measured.
				for i := range writers {
					require.NoError(b, env.businessTx(context.Background(), "plain", -i-1))
				}
				var mu sync.Mutex
				n := 0
				next := func() int { mu.Lock(); defer mu.Unlock(); n++; return n }
				b.SetParallelism((writers + 1) / 2) // GOMAXPROCS=2 here: 2×p goroutines
				if writers == 1 {
					b.SetParallelism(1)
				}
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := env.businessTx(context.Background(), mode, next()); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				cancel()
				wg.Wait()
				if mode != "plain" {
					s := NewSealer(env.db.App, SealerConfig{})
					_, err := s.Seal(context.Background())
					require.NoError(b, err)
					rep, err := Verify(context.Background(), env.db.App, VerifyOptions{})
					require.NoError(b, err)
					require.True(b, rep.OK(), "%v", rep.Problem)
				}
			})
		}
	}
}

// BenchmarkRecordTx is the cost RecordTx adds inside an open transaction
// (the INSERT and the PII guard), without the commit.
func BenchmarkRecordTx(b *testing.B) {
	env := newBenchEnv(b, 2)
	ctx := context.Background()
	tx, err := env.pool.Begin(ctx)
	require.NoError(b, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	id := uuid.Must(uuid.NewV7())
	e := Entry{OrgID: id, ActorID: id, ActorRole: "candidate", Action: "applications.submitted", Resource: "application",
		ResourceID: id.String(), IP: "203.0.113.10", Details: map[string]any{"job_id": id.String(), "channel": "web"}}
	b.ResetTimer()
	for b.Loop() {
		if err := RecordTx(ctx, tx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSanitise is the PII guard alone.
func BenchmarkSanitise(b *testing.B) {
	id := uuid.Must(uuid.NewV7())
	for b.Loop() {
		e := Entry{Action: "applications.submitted", ResourceID: id.String(), Details: map[string]any{"job_id": id.String(), "channel": "web"}}
		if _, err := sanitise(&e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeal is the sealer's throughput: each op links a backlog
// (inserted outside the timer) in batches of 1000. A batch costs the same
// however large the backlog, so entries/s does not fall as it grows.
func BenchmarkSeal(b *testing.B) {
	for _, backlog := range []int{5000, 50000} {
		b.Run(fmt.Sprintf("backlog=%d", backlog), func(b *testing.B) {
			env := newBenchEnv(b, 2)
			ctx := context.Background()
			s := NewSealer(env.db.App, SealerConfig{MaxBatches: 1000})
			var sealed int
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				insertEntries(b, env, backlog)
				b.StartTimer()
				n, err := s.Seal(ctx)
				require.NoError(b, err)
				sealed += n
			}
			b.StopTimer()
			require.Equal(b, backlog*b.N, sealed)
			b.ReportMetric(float64(sealed)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkVerify is the verifier's throughput: each op walks a sealed
// chain of 20,000 entries.
func BenchmarkVerify(b *testing.B) {
	env := newBenchEnv(b, 2)
	ctx := context.Background()
	const entries = 20000
	insertEntries(b, env, entries)
	_, err := NewSealer(env.db.App, SealerConfig{MaxBatches: 1000}).Seal(ctx)
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		rep, err := Verify(ctx, env.db.App, VerifyOptions{})
		require.NoError(b, err)
		require.True(b, rep.OK())
		require.EqualValues(b, entries, rep.Sealed)
	}
	b.ReportMetric(float64(entries*b.N)/b.Elapsed().Seconds(), "entries/s")
}

func insertEntries(b *testing.B, env *benchEnv, n int) {
	b.Helper()
	_, err := env.db.Owner.Exec(context.Background(), `INSERT INTO platform.audit_log (id, occurred_at, action, resource, resource_id, details)
		SELECT g, now(), 'applications.submitted', 'application', g::text, '{"channel":"web"}'
		FROM (SELECT gen_random_uuid() AS g FROM generate_series(1, $1)) x`, n)
	require.NoError(b, err)
}
