package consumer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
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
	"github.com/pvara-gov/pvara/internal/platform/kafka"
	"github.com/pvara-gov/pvara/internal/platform/metrics"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

var testTopics = kafka.TopicSpec{Partitions: 3, ReplicationFactor: 1}

func fastConfig() consumer.Config {
	return consumer.Config{
		MaxAttempts: 3, RetryBackoff: 10 * time.Millisecond, RetryBackoffMax: 40 * time.Millisecond,
		HandlerTimeout: 2 * time.Second, MaxPollRecords: 200, Topics: testTopics,
	}
}

// effects is the handlers' table: one row per applied event.
func effects(t *testing.T, d *testenv.DB) {
	t.Helper()
	d.Exec(t, `CREATE TABLE public.effects (applied bigserial PRIMARY KEY, event_id uuid NOT NULL, subject text NOT NULL, seq bigint NOT NULL)`)
	d.Exec(t, `GRANT SELECT, INSERT ON public.effects TO pvara_app`)
	d.Exec(t, `GRANT USAGE ON SEQUENCE public.effects_applied_seq TO pvara_app`)
}

func applyPing(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
	var p outbox.TestPing
	if err := json.Unmarshal(ev.Data, &p); err != nil {
		return consumer.Permanent(err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO public.effects (event_id, subject, seq) VALUES ($1, $2, $3)`, ev.ID, ev.Subject, p.Seq)
	return err
}

// produceEnvelopes writes events straight to Kafka (as the relay would) and
// returns them.
func produceEnvelopes(t *testing.T, cl *kgo.Client, subject string, from, to int64) []outbox.Event {
	t.Helper()
	var evs []outbox.Event
	var recs []*kgo.Record
	for i := from; i <= to; i++ {
		e := outbox.Event{Type: outbox.TypeTestPing, Version: 1, Subject: subject, Data: outbox.TestPing{Seq: i}}
		b, err := outbox.Marshal(&e)
		require.NoError(t, err)
		evs = append(evs, e)
		recs = append(recs, &kgo.Record{Topic: outbox.Topic(e.Type), Key: []byte(subject), Value: b,
			Headers: []kgo.RecordHeader{{Key: outbox.HeaderRequestID, Value: []byte("req-" + strconv.FormatInt(i, 10))}}})
	}
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())
	return evs
}

type fixture struct {
	db    *testenv.DB
	addrs []string
	cl    *kgo.Client
}

func setup(t *testing.T) fixture {
	t.Helper()
	d := testenv.NewDB(t)
	effects(t, d)
	k := testenv.NewKafka(t)
	addrs := k.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	_, err = kafka.EnsureTopics(context.Background(), cl, testTopics, outbox.Topic(outbox.TypeTestPing), outbox.DLQTopic(outbox.TypeTestPing))
	require.NoError(t, err)
	return fixture{db: d, addrs: addrs, cl: cl}
}

// startRunner runs a runner until stop (or the end of the test).
func startRunner(t *testing.T, pool *pgxpool.Pool, addrs []string, cfg consumer.Config, m *consumer.Metrics, hs ...consumer.Handler) (stop func()) {
	t.Helper()
	r, err := consumer.New(cfg, consumer.Deps{Pool: pool, Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.FetchMaxWait(100 * time.Millisecond)}, Handlers: hs, Metrics: m})
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

func countEffects(t *testing.T, d *testenv.DB) int {
	t.Helper()
	var n int
	require.NoError(t, d.Owner.QueryRow(context.Background(), `SELECT count(*) FROM public.effects`).Scan(&n))
	return n
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// metricValue sums the series of name on reg that carry labels (counters,
// gauges, histograms' observation counts).
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	var pairs []string
	for k, v := range labels {
		pairs = append(pairs, k, v)
	}
	v, _, err := metrics.Value(reg, name, pairs...)
	require.NoError(t, err)
	return v
}

// readDLQ reads the dead-letter topic from the start until it holds want
// records.
func readDLQ(t *testing.T, addrs []string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(outbox.DLQTopic(outbox.TypeTestPing)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	var out []*kgo.Record
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < want && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { out = append(out, r) })
		cancel()
	}
	require.Len(t, out, want)
	return out
}

func headers(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

var errAlways = errors.New("screening model unavailable")

// A handler that always fails for one event: that event reaches the DLQ
// after MaxAttempts attempts, with the documented headers, and the events
// after it on the same partition are applied.
func TestFailingEventGoesToTheDLQAfterMaxAttemptsAndThePartitionMovesOn(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	m := consumer.NewMetrics(reg)
	var attempts atomic.Int32
	poison := int64(3)
	h := consumer.Handler{Group: "screening", Type: outbox.TypeTestPing, Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
		var p outbox.TestPing
		require.NoError(t, json.Unmarshal(ev.Data, &p))
		if p.Seq == poison {
			attempts.Add(1)
			// The effect written before the failure must be rolled back.
			if err := applyPing(ctx, tx, ev); err != nil {
				return err
			}
			return errAlways
		}
		return applyPing(ctx, tx, ev)
	}}
	evs := produceEnvelopes(t, f.cl, "one-key", 1, 6)
	startRunner(t, f.db.App, f.addrs, fastConfig(), m, h)

	waitFor(t, 20*time.Second, "the five good events", func() bool { return countEffects(t, f.db) == 5 })
	dlq := readDLQ(t, f.addrs, 1)
	require.EqualValues(t, 3, attempts.Load(), "MaxAttempts attempts, no more")
	rec := dlq[0]
	require.Equal(t, "one-key", string(rec.Key))
	var env outbox.Envelope
	require.NoError(t, json.Unmarshal(rec.Value, &env))
	require.Equal(t, evs[poison-1].ID, env.ID, "the dead letter is the original record")
	hs := headers(rec)
	require.Equal(t, errAlways.Error(), hs[consumer.HeaderDLQError])
	require.Equal(t, "3", hs[consumer.HeaderDLQAttempts])
	require.Equal(t, "screening", hs[consumer.HeaderDLQGroup])
	require.Equal(t, "pvara.platform.test_ping", hs[consumer.HeaderDLQTopic])
	require.NotEmpty(t, hs[consumer.HeaderDLQPartition])
	require.NotEmpty(t, hs[consumer.HeaderDLQOffset])
	require.NotEmpty(t, hs[consumer.HeaderDLQFailedAt])
	require.Equal(t, "req-3", hs[outbox.HeaderRequestID], "original headers are kept")

	// The order of the others is kept, and the poison left no effect.
	rows, err := f.db.Owner.Query(context.Background(), `SELECT seq FROM public.effects ORDER BY applied`)
	require.NoError(t, err)
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Equal(t, []int64{1, 2, 4, 5, 6}, seqs)

	lbl := map[string]string{"group": "screening", "type": outbox.TypeTestPing}
	waitFor(t, 5*time.Second, "metrics", func() bool {
		return metricValue(t, reg, "pvara_consumer_dlq_total", lbl) == 1 &&
			metricValue(t, reg, "pvara_consumer_handler_errors_total", lbl) == 3 &&
			metricValue(t, reg, "pvara_consumer_handler_duration_seconds", lbl) >= 8 &&
			metricValue(t, reg, "pvara_consumer_lag", map[string]string{"group": "screening"}) == 0
	})
}

// A permanent error and an undecodable record skip the retries.
func TestPermanentErrorsAndUndecodableRecordsAreDeadLetteredAtOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var calls atomic.Int32
	h := consumer.Handler{Group: "notify", Type: outbox.TypeTestPing, Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
		calls.Add(1)
		var p outbox.TestPing
		_ = json.Unmarshal(ev.Data, &p)
		if p.Seq == 1 {
			return consumer.Permanent(fmt.Errorf("template %q missing", "welcome"))
		}
		return applyPing(ctx, tx, ev)
	}}
	produceEnvelopes(t, f.cl, "k", 1, 1)
	require.NoError(t, f.cl.ProduceSync(context.Background(), &kgo.Record{Topic: outbox.Topic(outbox.TypeTestPing), Key: []byte("k"), Value: []byte("not json")}).FirstErr())
	produceEnvelopes(t, f.cl, "k", 2, 2)
	startRunner(t, f.db.App, f.addrs, fastConfig(), nil, h)

	waitFor(t, 20*time.Second, "the good event", func() bool { return countEffects(t, f.db) == 1 })
	dlq := readDLQ(t, f.addrs, 2)
	require.Equal(t, "1", headers(dlq[0])[consumer.HeaderDLQAttempts])
	require.Contains(t, headers(dlq[0])[consumer.HeaderDLQError], "template")
	require.Equal(t, "1", headers(dlq[1])[consumer.HeaderDLQAttempts])
	require.Contains(t, headers(dlq[1])[consumer.HeaderDLQError], "undecodable")
	require.EqualValues(t, 2, calls.Load(), "the undecodable record never reaches the handler")
}

// The same event delivered twice (the relay re-sent it, or a consumer died
// before committing its offset) has one effect.
func TestRedeliveredEventHasOneEffect(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	m := consumer.NewMetrics(reg)
	evs := produceEnvelopes(t, f.cl, "dup", 1, 3)
	// Re-send all three, as a relay would after a crash.
	var recs []*kgo.Record
	for _, e := range evs {
		b, err := outbox.Marshal(&e)
		require.NoError(t, err)
		recs = append(recs, &kgo.Record{Topic: outbox.Topic(e.Type), Key: []byte("dup"), Value: b})
	}
	require.NoError(t, f.cl.ProduceSync(context.Background(), recs...).FirstErr())
	h := consumer.Handler{Group: "g", Type: outbox.TypeTestPing, Handle: applyPing}
	startRunner(t, f.db.App, f.addrs, fastConfig(), m, h)
	lbl := map[string]string{"group": "g", "type": outbox.TypeTestPing}
	waitFor(t, 20*time.Second, "six deliveries", func() bool {
		return metricValue(t, reg, "pvara_consumer_events_total", lbl) == 6
	})
	require.Equal(t, 3, countEffects(t, f.db))
	require.EqualValues(t, 3, metricValue(t, reg, "pvara_consumer_events_total", map[string]string{"result": "duplicate"}))
}

// Stopping (SIGTERM) commits what was applied: a new runner of the same
// group starts after it, and nothing is applied twice or skipped. The
// stop lands while a handler is slow, mid-stream.
func TestShutdownCommitsWhatIsDoneAndAResumedGroupContinues(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	m := consumer.NewMetrics(reg)
	h := consumer.Handler{Group: "g", Type: outbox.TypeTestPing, Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
		time.Sleep(2 * time.Millisecond)
		return applyPing(ctx, tx, ev)
	}}
	for k := range 4 {
		produceEnvelopes(t, f.cl, fmt.Sprint("key-", k), 1, 100)
	}
	stop := startRunner(t, f.db.App, f.addrs, fastConfig(), m, h)
	waitFor(t, 20*time.Second, "some progress", func() bool { return countEffects(t, f.db) >= 50 })
	stop()
	applied := countEffects(t, f.db)
	require.Less(t, applied, 400, "the stop must land mid-stream for the test to mean anything")

	startRunner(t, f.db.App, f.addrs, fastConfig(), m, h)
	waitFor(t, 30*time.Second, "all events", func() bool { return countEffects(t, f.db) == 400 })
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, 400, countEffects(t, f.db))
	dups := metricValue(t, reg, "pvara_consumer_events_total", map[string]string{"result": "duplicate"})
	require.Zero(t, dups, "a clean stop commits every applied offset, so nothing is redelivered")
	var n int
	require.NoError(t, f.db.Owner.QueryRow(context.Background(), `SELECT count(*) FROM platform.processed_events WHERE consumer_group = 'g'`).Scan(&n))
	require.Equal(t, 400, n)
}

func TestNewRejectsBadHandlers(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	ok := func(context.Context, pgx.Tx, outbox.Envelope) error { return nil }
	for name, hs := range map[string][]consumer.Handler{
		"no group":  {{Type: "a.b", Handle: ok}},
		"no type":   {{Group: "g", Handle: ok}},
		"no func":   {{Group: "g", Type: "a.b"}},
		"duplicate": {{Group: "g", Type: "a.b", Handle: ok}, {Group: "g", Type: "a.b", Handle: ok}},
	} {
		_, err := consumer.New(consumer.Config{}, consumer.Deps{Pool: d.App, Handlers: hs})
		require.Error(t, err, name)
	}
	_, err := consumer.New(consumer.Config{}, consumer.Deps{Pool: d.App, Handlers: []consumer.Handler{
		{Group: "g", Type: "a.b", Handle: ok}, {Group: "h", Type: "a.b", Handle: ok},
	}})
	require.NoError(t, err, "two groups may handle one type")
}

func TestPurgeProcessedKeepsRecentRecords(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	ctx := context.Background()
	for i := range 25 {
		d.Exec(t, `INSERT INTO platform.processed_events (consumer_group, event_id, processed_at) VALUES ('g', $1, now() - make_interval(days => $2))`,
			uuid.Must(uuid.NewV7()), i*2+1)
	}
	n, err := consumer.PurgeProcessed(ctx, d.App, time.Now().Add(-30*24*time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 10, n, "records of 31..49 days ago")
	var left int
	require.NoError(t, d.Owner.QueryRow(ctx, `SELECT count(*) FROM platform.processed_events`).Scan(&left))
	require.Equal(t, 15, left)
}

// After the cause is fixed, a DLQ replay re-sends dead letters to their
// topic: the group that failed applies them, a group that had applied them
// does not apply them again, and a second replay sends nothing new.
func TestReplayDLQAppliesFixedEventsOnceAndRemembersProgress(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.db.Exec(t, `CREATE TABLE public.audit_effects (event_id uuid PRIMARY KEY)`)
	f.db.Exec(t, `GRANT SELECT, INSERT ON public.audit_effects TO pvara_app`)
	var broken atomic.Bool
	broken.Store(true)
	flaky := consumer.Handler{Group: "screening", Type: outbox.TypeTestPing, Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
		var p outbox.TestPing
		_ = json.Unmarshal(ev.Data, &p)
		if broken.Load() && p.Seq%2 == 0 {
			return errAlways
		}
		return applyPing(ctx, tx, ev)
	}}
	steady := consumer.Handler{Group: "audit", Type: outbox.TypeTestPing, Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
		_, err := tx.Exec(ctx, `INSERT INTO public.audit_effects (event_id) VALUES ($1)`, ev.ID)
		return err
	}}
	produceEnvelopes(t, f.cl, "k", 1, 6)
	startRunner(t, f.db.App, f.addrs, fastConfig(), nil, flaky, steady)
	readDLQ(t, f.addrs, 3)
	waitFor(t, 10*time.Second, "the odd events", func() bool { return countEffects(t, f.db) == 3 })

	broken.Store(false)
	ctx := context.Background()
	// A fresh client, as the CLI has: f.cl cached "no such topic" for the
	// dead-letter topic when it created it (kadm caches metadata for 5s).
	kopts := []kgo.Opt{kgo.SeedBrokers(f.addrs...)}
	admin, err := kgo.NewClient(kopts...)
	require.NoError(t, err)
	defer admin.Close()
	var seen []consumer.ReplayedRecord
	n, err := consumer.ReplayDLQ(ctx, admin, kopts, consumer.ReplayOptions{Topic: outbox.DLQTopic(outbox.TypeTestPing), DryRun: true,
		Report: func(r consumer.ReplayedRecord) { seen = append(seen, r) }})
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Len(t, seen, 3)
	require.Equal(t, "screening", seen[0].Group)
	require.Equal(t, "3", seen[0].Attempts)
	require.Equal(t, errAlways.Error(), seen[0].Error)
	require.Equal(t, outbox.Topic(outbox.TypeTestPing), seen[0].Target)
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, 3, countEffects(t, f.db), "a dry run sends nothing")

	n, err = consumer.ReplayDLQ(ctx, admin, kopts, consumer.ReplayOptions{Topic: outbox.DLQTopic(outbox.TypeTestPing), Limit: 2})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = consumer.ReplayDLQ(ctx, admin, kopts, consumer.ReplayOptions{Topic: outbox.DLQTopic(outbox.TypeTestPing)})
	require.NoError(t, err)
	require.Equal(t, 1, n, "the second run continues after the first")
	waitFor(t, 10*time.Second, "the replayed events", func() bool { return countEffects(t, f.db) == 6 })
	n, err = consumer.ReplayDLQ(ctx, admin, kopts, consumer.ReplayOptions{Topic: outbox.DLQTopic(outbox.TypeTestPing)})
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to replay")

	time.Sleep(300 * time.Millisecond)
	require.Equal(t, 6, countEffects(t, f.db))
	var audited int
	require.NoError(t, f.db.Owner.QueryRow(ctx, `SELECT count(*) FROM public.audit_effects`).Scan(&audited))
	require.Equal(t, 6, audited, "the group that had applied them skips the replayed copies")

	_, err = consumer.ReplayDLQ(ctx, admin, kopts, consumer.ReplayOptions{Topic: outbox.Topic(outbox.TypeTestPing)})
	require.Error(t, err, "only a dead-letter topic can be replayed")
}

// A handler that fails once for an event in the middle of a batch: the
// batch is rolled back, the events before it are applied again (once), the
// failing event is retried alone and applied, and nothing reaches the DLQ.
func TestTransientFailureInABatchIsRetriedAndEverythingAppliedOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	m := consumer.NewMetrics(reg)
	var failedOnce atomic.Bool
	h := consumer.Handler{Group: "g", Type: outbox.TypeTestPing, Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
		if err := applyPing(ctx, tx, ev); err != nil {
			return err
		}
		var p outbox.TestPing
		_ = json.Unmarshal(ev.Data, &p)
		if p.Seq == 20 && failedOnce.CompareAndSwap(false, true) {
			return errors.New("deadlock detected, try again")
		}
		return nil
	}}
	produceEnvelopes(t, f.cl, "batch-key", 1, 50)
	startRunner(t, f.db.App, f.addrs, fastConfig(), m, h)
	waitFor(t, 20*time.Second, "all events", func() bool { return countEffects(t, f.db) == 50 })
	time.Sleep(200 * time.Millisecond)
	rows, err := f.db.Owner.Query(context.Background(), `SELECT seq FROM public.effects ORDER BY applied`)
	require.NoError(t, err)
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	for i, s := range seqs {
		require.EqualValues(t, i+1, s, "applied once each, in order")
	}
	lbl := map[string]string{"group": "g"}
	require.EqualValues(t, 1, metricValue(t, reg, "pvara_consumer_handler_errors_total", lbl))
	require.Zero(t, metricValue(t, reg, "pvara_consumer_dlq_total", lbl))
	require.EqualValues(t, 50, metricValue(t, reg, "pvara_consumer_events_total", map[string]string{"result": "applied"}))
}

// While PostgreSQL is unreachable the runner waits: such failures spend no
// attempt, so an outage does not send healthy events to the DLQ.
func TestDatabaseUnavailabilityIsWaitedOutNotDeadLettered(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	m := consumer.NewMetrics(reg)
	var calls atomic.Int32
	h := consumer.Handler{Group: "g", Type: outbox.TypeTestPing, Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
		if calls.Add(1) <= 8 { // well beyond MaxAttempts (3)
			return fmt.Errorf("query: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})
		}
		return applyPing(ctx, tx, ev)
	}}
	produceEnvelopes(t, f.cl, "k", 1, 2)
	startRunner(t, f.db.App, f.addrs, fastConfig(), m, h)
	waitFor(t, 30*time.Second, "both events", func() bool { return countEffects(t, f.db) == 2 })
	require.Zero(t, metricValue(t, reg, "pvara_consumer_dlq_total", nil))
	require.GreaterOrEqual(t, calls.Load(), int32(10))
}

// When the handler's own reads wait for a pool with no free connection
// (the API in the same process took them all) past the handler timeout,
// the event is not the cause: the runner waits and tries again without
// spending attempts, so nothing is dead-lettered, and the event is applied
// once the pool frees up.
func TestPoolStarvationIsWaitedOutNotDeadLettered(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	m := consumer.NewMetrics(reg)
	cfg := f.db.AppConfig()
	cfg.MaxConns = 1
	other, err := postgres.Open(context.Background(), cfg, nil) // another module's pool, say
	require.NoError(t, err)
	t.Cleanup(other.Close)
	held, err := other.Acquire(context.Background()) // every connection taken
	require.NoError(t, err)
	release := sync.OnceFunc(held.Release)
	t.Cleanup(release) // before other.Close, which waits for it
	var calls atomic.Int32
	h := consumer.Handler{Group: "g", Type: outbox.TypeTestPing, Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
		calls.Add(1)
		if err := postgres.Tx(ctx, other, func(pgx.Tx) error { return nil }); err != nil {
			return fmt.Errorf("read through the other module: %w", err)
		}
		return applyPing(ctx, tx, ev)
	}}
	c := fastConfig()
	c.HandlerTimeout = 150 * time.Millisecond
	produceEnvelopes(t, f.cl, "k", 1, 1)
	startRunner(t, f.db.App, f.addrs, c, m, h)
	waitFor(t, 30*time.Second, "attempts beyond MaxAttempts", func() bool { return calls.Load() > 2*int32(c.MaxAttempts) })
	require.Zero(t, countEffects(t, f.db))
	release()
	waitFor(t, 30*time.Second, "the event", func() bool { return countEffects(t, f.db) == 1 })
	require.Zero(t, metricValue(t, reg, "pvara_consumer_dlq_total", nil))
}
