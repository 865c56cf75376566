package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/platform/consumer"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// effectsTable records each applied event, in the order applied.
func effectsTable(t *testing.T, d *testenv.DB) {
	t.Helper()
	d.Exec(t, `CREATE TABLE public.effects (applied bigserial PRIMARY KEY, event_id uuid NOT NULL, subject text NOT NULL, seq bigint NOT NULL)`)
	d.Exec(t, `GRANT SELECT, INSERT ON public.effects TO pvara_app`)
	d.Exec(t, `GRANT USAGE ON SEQUENCE public.effects_applied_seq TO pvara_app`)
}

var applyHandler = func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
	var p outbox.TestPing
	if err := json.Unmarshal(ev.Data, &p); err != nil {
		return consumer.Permanent(err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO public.effects (event_id, subject, seq) VALUES ($1, $2, $3)`, ev.ID, ev.Subject, p.Seq)
	return err
}

func startConsumer(t *testing.T, pool *pgxpool.Pool, addrs []string, m *consumer.Metrics) (stop func()) {
	t.Helper()
	r, err := consumer.New(consumer.Config{
		MaxAttempts: 3, RetryBackoff: 10 * time.Millisecond, RetryBackoffMax: 50 * time.Millisecond,
		HandlerTimeout: 5 * time.Second, MaxPollRecords: 300, Topics: testTopics,
	}, consumer.Deps{
		Pool: pool, Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.FetchMaxWait(100 * time.Millisecond)}, Metrics: m,
		Handlers: []consumer.Handler{{Group: "effects", Type: outbox.TypeTestPing, Handle: applyHandler}},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

func effectCount(t *testing.T, d *testenv.DB) int {
	t.Helper()
	var n int
	require.NoError(t, d.Owner.QueryRow(context.Background(), `SELECT count(*) FROM public.effects`).Scan(&n))
	return n
}

// requireEffectsOnceInOrder checks that every event was applied exactly
// once and that each subject's events were applied in enqueue order.
func requireEffectsOnceInOrder(t *testing.T, d *testenv.DB, ids []uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	rows, err := d.Owner.Query(ctx, `SELECT event_id, subject, seq FROM public.effects ORDER BY applied`)
	require.NoError(t, err)
	type eff struct {
		id      uuid.UUID
		subject string
		seq     int64
	}
	effs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (eff, error) {
		var e eff
		err := r.Scan(&e.id, &e.subject, &e.seq)
		return e, err
	})
	require.NoError(t, err)
	seen := map[uuid.UUID]bool{}
	last := map[string]int64{}
	for _, e := range effs {
		require.False(t, seen[e.id], "event %s applied twice", e.id)
		seen[e.id] = true
		require.Equal(t, last[e.subject]+1, e.seq, "subject %s: event %d applied after %d", e.subject, e.seq, last[e.subject])
		last[e.subject] = e.seq
	}
	for _, id := range ids {
		require.True(t, seen[id], "event %s never applied", id)
	}
	require.Len(t, effs, len(ids))
}

var errKilled = errors.New("relay process killed")

// The relay dies after Kafka acknowledged a batch and before the batch's
// delete committed (its database session is terminated and the process
// stops). A restarted relay sends the batch again; nothing is lost and the
// consumer applies each event once.
func TestRelayKilledBetweenProduceAndDeleteLosesNothingAndEffectsHappenOnce(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	effectsTable(t, d)
	k := testenv.NewKafka(t)
	addrs := k.ListenAddrs()
	ids := enqueueKeyed(t, d.App, keyNames(10), 30)

	// First relay: killed right after its first acknowledged batch.
	cfg := fastRelay()
	cfg.Workers = 1
	r1, err := outbox.NewRelay(cfg, outbox.RelayDeps{Pool: d.App, Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var killedBatch atomic.Int64
	outbox.SetAfterProduce(r1, func(bctx context.Context, tx pgx.Tx) error {
		if killedBatch.Load() > 0 {
			return nil
		}
		var inBatch int64
		if err := tx.QueryRow(bctx, `SELECT $1::bigint - count(*) FROM platform.outbox`, int64(len(ids))).Scan(&inBatch); err != nil {
			return err
		}
		killedBatch.Store(inBatch)
		pid := tx.Conn().PgConn().PID()
		if _, err := d.Owner.Exec(context.Background(), `SELECT pg_terminate_backend($1)`, pid); err != nil {
			return err
		}
		cancel()
		return errKilled
	})
	done := make(chan error, 1)
	go func() { done <- r1.Run(ctx) }()
	require.NoError(t, <-done)
	r1.Close()
	require.Positive(t, killedBatch.Load(), "the fault must have been injected")
	require.EqualValues(t, len(ids), outboxBacklog(t, d.App), "the killed batch is still in the outbox")

	startConsumer(t, d.App, addrs, nil)
	startRelay(t, d.App, addrs, fastRelay(), nil, nil)
	waitFor(t, 30*time.Second, "every effect", func() bool { return effectCount(t, d) >= len(ids) })
	time.Sleep(300 * time.Millisecond) // let any duplicate arrive
	requireEffectsOnceInOrder(t, d, ids)

	// The wire carries the killed batch twice: duplicates, absorbed by the
	// consumer's dedupe.
	recs := readAll(t, addrs, "pvara.platform.test_ping", len(ids)+int(killedBatch.Load()), 20*time.Second)
	require.Len(t, recs, len(ids)+int(killedBatch.Load()))
	requireKeyOrder(t, recs)
}

// Two relays and two consumers of one group, over thousands of events
// written while they run, with a consumer joining and one leaving midway
// (two rebalances): no event lost, none applied twice, each key's events
// applied in order.
func TestTwoRelaysAndTwoConsumersKeepEveryEventOnceAndInKeyOrder(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	effectsTable(t, d)
	k := testenv.NewKafka(t)
	addrs := k.ListenAddrs()

	reg1, reg2 := prometheus.NewRegistry(), prometheus.NewRegistry()
	cfg := fastRelay()
	cfg.LanesPerClaim = 8
	startRelay(t, d.App, addrs, cfg, outbox.NewRelayMetrics(reg1), nil)
	startRelay(t, d.App, addrs, cfg, outbox.NewRelayMetrics(reg2), nil)
	stopA := startConsumer(t, d.App, addrs, nil)

	const keys, perKey = 40, 75
	var ids []uuid.UUID
	var enqErr error
	enqueued := make(chan struct{})
	go func() {
		defer close(enqueued)
		ids, enqErr = tryEnqueueKeyed(d.App, keyNames(keys), perKey)
	}()
	waitFor(t, 60*time.Second, "first effects", func() bool { return effectCount(t, d) >= 400 })
	startConsumer(t, d.App, addrs, nil) // consumer B joins: rebalance
	waitFor(t, 60*time.Second, "more effects", func() bool { return effectCount(t, d) >= 1500 })
	stopA() // consumer A leaves: rebalance, B takes everything
	<-enqueued
	require.NoError(t, enqErr)
	require.Len(t, ids, keys*perKey)
	waitFor(t, 90*time.Second, "every effect", func() bool { return effectCount(t, d) >= keys*perKey })
	time.Sleep(300 * time.Millisecond)
	requireEffectsOnceInOrder(t, d, ids)
	require.Zero(t, outboxBacklog(t, d.App))

	p1, p2 := metricValue(t, reg1, "pvara_outbox_produced_total"), metricValue(t, reg2, "pvara_outbox_produced_total")
	require.Positive(t, p1, "relay 1 took part")
	require.Positive(t, p2, "relay 2 took part")
	require.GreaterOrEqual(t, p1+p2, float64(keys*perKey))
}
