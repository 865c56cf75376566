package consumer_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/platform/consumer"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
)

// AfterCommit is called once per applied event, after its effect
// committed: never for a redelivered duplicate, never for an attempt that
// rolled back (the event that fails once is reported once, after the
// attempt that succeeded), and each time the effect is already visible.
func TestAfterCommitRunsOncePerAppliedEventAfterItsCommit(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	m := consumer.NewMetrics(reg)
	var mu sync.Mutex
	var seen []int64
	failedOnce := false
	h := consumer.Handler{Group: "g", Type: outbox.TypeTestPing,
		Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
			if err := applyPing(ctx, tx, ev); err != nil {
				return err
			}
			var p outbox.TestPing
			require.NoError(t, json.Unmarshal(ev.Data, &p))
			mu.Lock()
			defer mu.Unlock()
			if p.Seq == 2 && !failedOnce {
				failedOnce = true
				return errAlways
			}
			return nil
		},
		AfterCommit: func(ctx context.Context, ev outbox.Envelope) {
			var n int
			require.NoError(t, f.db.Owner.QueryRow(ctx, `SELECT count(*) FROM public.effects WHERE event_id = $1`, ev.ID).Scan(&n))
			require.Equal(t, 1, n, "the effect is committed before AfterCommit runs")
			var p outbox.TestPing
			require.NoError(t, json.Unmarshal(ev.Data, &p))
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, p.Seq)
		},
	}
	evs := produceEnvelopes(t, f.cl, "key", 1, 3)
	// Redeliver the first one.
	b, err := outbox.Marshal(&evs[0])
	require.NoError(t, err)
	require.NoError(t, f.cl.ProduceSync(context.Background(), &kgo.Record{Topic: outbox.Topic(evs[0].Type), Key: []byte("key"), Value: b}).FirstErr())
	startRunner(t, f.db.App, f.addrs, fastConfig(), m, h)
	waitFor(t, 20*time.Second, "three events applied and the duplicate skipped", func() bool {
		return metricValue(t, reg, "pvara_consumer_events_total", map[string]string{"result": "applied"}) == 3 &&
			metricValue(t, reg, "pvara_consumer_events_total", map[string]string{"result": "duplicate"}) == 1
	})
	require.Equal(t, 3, countEffects(t, f.db))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []int64{1, 2, 3}, seen)
}
