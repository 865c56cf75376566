package consumer_test

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/platform/consumer"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

func seqOf(t *testing.T, ev outbox.Envelope) int64 {
	var p outbox.TestPing
	require.NoError(t, json.Unmarshal(ev.Data, &p))
	return p.Seq
}

func appliedSeqs(t *testing.T, f fixture) []int64 {
	t.Helper()
	rows, err := f.db.Owner.Query(context.Background(), `SELECT seq FROM public.effects ORDER BY applied`)
	require.NoError(t, err)
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	return seqs
}

func reproduce(t *testing.T, f fixture, key string, evs []outbox.Event) {
	t.Helper()
	var recs []*kgo.Record
	for _, e := range evs {
		b, err := outbox.Marshal(&e)
		require.NoError(t, err)
		recs = append(recs, &kgo.Record{Topic: outbox.Topic(e.Type), Key: []byte(key), Value: b})
	}
	require.NoError(t, f.cl.ProduceSync(context.Background(), recs...).FirstErr())
}

// A batch handler is called once per runner batch with the batch's fresh
// events only, in order: a redelivered event (here, sent twice in the
// same stream) reaches it once, and Handle is never needed.
func TestBatchHandlerGetsEachFreshEventOnceInOrder(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	m := consumer.NewMetrics(reg)
	var mu sync.Mutex
	var calls [][]int64
	var single atomic.Int32
	h := consumer.Handler{Group: "g", Type: outbox.TypeTestPing,
		Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
			single.Add(1)
			return applyPing(ctx, tx, ev)
		},
		HandleBatch: func(ctx context.Context, tx pgx.Tx, evs []outbox.Envelope) error {
			var seqs []int64
			for _, ev := range evs {
				if err := applyPing(ctx, tx, ev); err != nil {
					return consumer.BatchFailure(len(seqs), err)
				}
				seqs = append(seqs, seqOf(t, ev))
			}
			mu.Lock()
			calls = append(calls, seqs)
			mu.Unlock()
			return nil
		},
	}
	evs := produceEnvelopes(t, f.cl, "key", 1, 40)
	reproduce(t, f, "key", evs[:10])
	produceEnvelopes(t, f.cl, "key", 41, 60)
	startRunner(t, f.db.App, f.addrs, fastConfig(), m, h)
	lbl := map[string]string{"group": "g", "type": outbox.TypeTestPing}
	waitFor(t, 20*time.Second, "70 deliveries", func() bool {
		return metricValue(t, reg, "pvara_consumer_events_total", lbl) == 70
	})
	require.EqualValues(t, 60, metricValue(t, reg, "pvara_consumer_events_total", map[string]string{"result": "applied"}))
	require.EqualValues(t, 10, metricValue(t, reg, "pvara_consumer_events_total", map[string]string{"result": "duplicate"}))
	require.Zero(t, single.Load(), "no event needed the single-event path")
	seqs := appliedSeqs(t, f)
	require.Len(t, seqs, 60)
	for i, s := range seqs {
		require.EqualValues(t, i+1, s, "applied once each, in order")
	}
	mu.Lock()
	defer mu.Unlock()
	var all []int64
	for _, c := range calls {
		require.NotEmpty(t, c, "never called with no event")
		all = append(all, c...)
	}
	require.Equal(t, seqs, all, "the batches hold the fresh events, each once, in order")
	require.Less(t, len(calls), 60, "events share calls")
	require.EqualValues(t, len(calls), metricValue(t, reg, "pvara_consumer_batch_duration_seconds", lbl))
	require.EqualValues(t, 60, metricValue(t, reg, "pvara_consumer_handler_duration_seconds", lbl), "one observation per event")
}

// An event that a batch handler names as failing rolls its batch back: the
// events before it are applied again as a batch, it is retried alone
// through Handle and dead-lettered after MaxAttempts (the batch attempt
// counting as the first), and every other event is applied exactly once.
func TestBatchHandlerFailingEventIsRetriedAloneAndDeadLettered(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	m := consumer.NewMetrics(reg)
	const poison = 7
	var single, poisonAlone atomic.Int32
	h := consumer.Handler{Group: "g", Type: outbox.TypeTestPing,
		Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
			single.Add(1)
			if err := applyPing(ctx, tx, ev); err != nil {
				return err
			}
			if seqOf(t, ev) == poison {
				poisonAlone.Add(1)
				return errAlways
			}
			return nil
		},
		HandleBatch: func(ctx context.Context, tx pgx.Tx, evs []outbox.Envelope) error {
			for i, ev := range evs {
				// The effects written before the failure must be rolled back.
				if err := applyPing(ctx, tx, ev); err != nil {
					return consumer.BatchFailure(i, err)
				}
				if seqOf(t, ev) == poison {
					return consumer.BatchFailure(i, errAlways)
				}
			}
			return nil
		},
	}
	evs := produceEnvelopes(t, f.cl, "one-key", 1, 20)
	startRunner(t, f.db.App, f.addrs, fastConfig(), m, h)
	waitFor(t, 20*time.Second, "the 19 good events", func() bool { return countEffects(t, f.db) == 19 })
	dlq := readDLQ(t, f.addrs, 1)
	var env outbox.Envelope
	require.NoError(t, json.Unmarshal(dlq[0].Value, &env))
	require.Equal(t, evs[poison-1].ID, env.ID)
	hs := headers(dlq[0])
	require.Equal(t, "3", hs[consumer.HeaderDLQAttempts])
	require.Contains(t, hs[consumer.HeaderDLQError], errAlways.Error())
	require.EqualValues(t, 2, poisonAlone.Load(), "the batch attempt counts as the first of three")
	require.EqualValues(t, 2, single.Load(), "only the failing event goes alone")
	time.Sleep(200 * time.Millisecond)
	var want []int64
	for i := int64(1); i <= 20; i++ {
		if i != poison {
			want = append(want, i)
		}
	}
	require.Equal(t, want, appliedSeqs(t, f), "each other event once, in order; the poison left no effect")
	require.EqualValues(t, 19, metricValue(t, reg, "pvara_consumer_events_total", map[string]string{"result": "applied"}))
	require.EqualValues(t, 1, metricValue(t, reg, "pvara_consumer_dlq_total", nil))
}

// A batch delivered again after it was applied (a consumer died before
// committing its offsets) has no second effect, and the batch handler is
// not called for it.
func TestRedeliveredBatchHasNoSecondEffect(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	m := consumer.NewMetrics(reg)
	var batchCalls, batchEvents atomic.Int32
	h := consumer.Handler{Group: "g", Type: outbox.TypeTestPing, Handle: applyPing,
		HandleBatch: func(ctx context.Context, tx pgx.Tx, evs []outbox.Envelope) error {
			batchCalls.Add(1)
			batchEvents.Add(int32(len(evs)))
			for i, ev := range evs {
				if err := applyPing(ctx, tx, ev); err != nil {
					return consumer.BatchFailure(i, err)
				}
			}
			return nil
		},
	}
	evs := produceEnvelopes(t, f.cl, "k", 1, 30)
	stop := startRunner(t, f.db.App, f.addrs, fastConfig(), m, h)
	waitFor(t, 20*time.Second, "the batch", func() bool { return countEffects(t, f.db) == 30 })
	stop()
	calls := batchCalls.Load()

	reproduce(t, f, "k", evs)
	startRunner(t, f.db.App, f.addrs, fastConfig(), m, h)
	waitFor(t, 20*time.Second, "the redelivered batch", func() bool {
		return metricValue(t, reg, "pvara_consumer_events_total", map[string]string{"result": "duplicate"}) == 30
	})
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, 30, countEffects(t, f.db))
	require.Equal(t, calls, batchCalls.Load(), "no call for a batch of duplicates")
	require.EqualValues(t, 30, batchEvents.Load())
}

// AfterCommitBatch runs once per committed transaction with the events it
// applied, after the commit: never for duplicates or a rolled-back attempt
// (here a batch fails once with an error that names no event), so each
// event is reported exactly once, in order.
func TestAfterCommitBatchRunsAfterTheCommitForEachAppliedEventOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	m := consumer.NewMetrics(reg)
	var failedOnce atomic.Bool
	var mu sync.Mutex
	var seen []int64
	h := consumer.Handler{Group: "g", Type: outbox.TypeTestPing, Handle: applyPing,
		HandleBatch: func(ctx context.Context, tx pgx.Tx, evs []outbox.Envelope) error {
			for i, ev := range evs {
				if err := applyPing(ctx, tx, ev); err != nil {
					return consumer.BatchFailure(i, err)
				}
			}
			if len(evs) > 1 && failedOnce.CompareAndSwap(false, true) {
				return errAlways // names no event
			}
			return nil
		},
		AfterCommitBatch: func(ctx context.Context, evs []outbox.Envelope) {
			for _, ev := range evs {
				var n int
				require.NoError(t, f.db.Owner.QueryRow(ctx, `SELECT count(*) FROM public.effects WHERE event_id = $1`, ev.ID).Scan(&n))
				require.Equal(t, 1, n, "the effect is committed before AfterCommitBatch runs")
			}
			mu.Lock()
			defer mu.Unlock()
			for _, ev := range evs {
				seen = append(seen, seqOf(t, ev))
			}
		},
	}
	evs := produceEnvelopes(t, f.cl, "key", 1, 25)
	reproduce(t, f, "key", evs[:3])
	startRunner(t, f.db.App, f.addrs, fastConfig(), m, h)
	waitFor(t, 20*time.Second, "25 applied and 3 duplicates", func() bool {
		return metricValue(t, reg, "pvara_consumer_events_total", map[string]string{"result": "applied"}) == 25 &&
			metricValue(t, reg, "pvara_consumer_events_total", map[string]string{"result": "duplicate"}) == 3
	})
	require.True(t, failedOnce.Load())
	require.Equal(t, 25, countEffects(t, f.db))
	require.Zero(t, metricValue(t, reg, "pvara_consumer_dlq_total", nil))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 25)
	for i, s := range seen {
		require.EqualValues(t, i+1, s)
	}
}

func TestNewRejectsBothAfterCommitHooks(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	_, err := consumer.New(consumer.Config{}, consumer.Deps{Pool: d.App, Handlers: []consumer.Handler{{
		Group: "g", Type: "a.b", Handle: applyPing,
		AfterCommit: func(context.Context, outbox.Envelope) {}, AfterCommitBatch: func(context.Context, []outbox.Envelope) {},
	}}})
	require.Error(t, err)
}

// A batch that runs out of consumer.handler_timeout is the batch's fault,
// not that of the event the handler was at (even if it names one): the
// runner applies the first event alone and goes on with smaller batches;
// nothing is dead-lettered and everything is applied once.
func TestSlowBatchIsRetriedSmallerNotBlamedOnAnEvent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	m := consumer.NewMetrics(reg)
	var sizes []int
	var mu sync.Mutex
	h := consumer.Handler{Group: "g", Type: outbox.TypeTestPing, Handle: applyPing,
		HandleBatch: func(ctx context.Context, tx pgx.Tx, evs []outbox.Envelope) error {
			mu.Lock()
			sizes = append(sizes, len(evs))
			mu.Unlock()
			for i, ev := range evs {
				if err := applyPing(ctx, tx, ev); err != nil {
					return consumer.BatchFailure(i, err)
				}
			}
			if len(evs) > 20 {
				<-ctx.Done() // too slow for the handler timeout
				return consumer.BatchFailure(len(evs)-1, ctx.Err())
			}
			return nil
		},
	}
	cfg := fastConfig()
	cfg.HandlerTimeout = 300 * time.Millisecond
	produceEnvelopes(t, f.cl, "k", 1, 60)
	startRunner(t, f.db.App, f.addrs, cfg, m, h)
	waitFor(t, 30*time.Second, "all events", func() bool { return countEffects(t, f.db) == 60 })
	time.Sleep(200 * time.Millisecond)
	seqs := appliedSeqs(t, f)
	require.Len(t, seqs, 60)
	for i, s := range seqs {
		require.EqualValues(t, i+1, s, "applied once each, in order")
	}
	require.Zero(t, metricValue(t, reg, "pvara_consumer_dlq_total", nil))
	mu.Lock()
	defer mu.Unlock()
	require.LessOrEqual(t, sizes[len(sizes)-1], 20, "later batches are smaller: %v", sizes)
}
