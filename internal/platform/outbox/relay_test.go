package outbox_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/platform/metrics"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// metricValue sums the samples of a metric family on reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	v, _, err := metrics.Value(reg, name)
	require.NoError(t, err)
	return v
}

func TestRelayDrainsTheOutboxInKeyOrderAndCreatesTopics(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	k := testenv.NewKafka(t)
	addrs := k.ListenAddrs()
	reg := prometheus.NewRegistry()
	metrics := outbox.NewRelayMetrics(reg)

	// Events wait in the outbox before the relay starts, then more arrive
	// while it runs.
	ids := enqueueKeyed(t, d.App, keyNames(20), 25)
	r, err := outbox.NewRelay(fastRelay(), outbox.RelayDeps{Pool: d.App, Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Metrics: metrics})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	more := enqueueKeyed(t, d.App, []string{"late-key"}, 30)
	ids = append(ids, more...)

	recs := readAll(t, addrs, "pvara.platform.test_ping", len(ids), 30*time.Second)
	requireKeyOrder(t, recs)
	seen := map[uuid.UUID]bool{}
	for _, rec := range recs {
		env, _ := envelopeOf(t, rec)
		seen[env.ID] = true
		require.Equal(t, "application/json", headerOf(rec, "content-type"))
		require.Equal(t, outbox.TypeTestPing, headerOf(rec, "event-type"))
	}
	for _, id := range ids {
		require.True(t, seen[id], "event %s never reached Kafka", id)
	}
	waitFor(t, 5*time.Second, "an empty outbox", func() bool { return outboxBacklog(t, d.App) == 0 })
	waitFor(t, 5*time.Second, "backlog gauge at 0", func() bool {
		return metricValue(t, reg, "pvara_outbox_backlog_rows") == 0 && metricValue(t, reg, "pvara_outbox_produced_total") == float64(len(ids))
	})
	require.Positive(t, metricValue(t, reg, "pvara_outbox_produce_duration_seconds"))

	// Topics were created by the relay, with their dead-letter topics.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	require.NoError(t, err)
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(context.Background())
	require.NoError(t, err)
	require.True(t, topics.Has("pvara.platform.test_ping"))
	require.True(t, topics.Has("pvara.platform.test_ping.dlq"))
	require.Len(t, topics["pvara.platform.test_ping"].Partitions, 4)

	cancel()
	require.NoError(t, <-done)
	r.Close()
}

func headerOf(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// The broker goes away: writes go on, the backlog grows and waits, the relay
// backs off; when the broker is back (same address, same data) everything
// drains.
func TestRelayWaitsOutABrokerOutageAndDrains(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	dir := t.TempDir()
	k1, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(dir))
	require.NoError(t, err)
	defer k1.Close()
	addrs := k1.ListenAddrs()
	_, portStr, err := net.SplitHostPort(addrs[0])
	require.NoError(t, err)
	port, err := strconv.Atoi(portStr)
	require.NoError(t, err)

	reg := prometheus.NewRegistry()
	metrics := outbox.NewRelayMetrics(reg)
	startRelay(t, d.App, addrs, fastRelay(), metrics, nil)
	before := enqueueKeyed(t, d.App, keyNames(5), 20)
	readAll(t, addrs, "pvara.platform.test_ping", len(before), 20*time.Second)

	k1.Close()
	// The API keeps accepting writes: the outbox is PostgreSQL only.
	during := enqueueKeyed(t, d.App, keyNames(10), 30)
	time.Sleep(time.Second)
	require.EqualValues(t, len(during), outboxBacklog(t, d.App), "with the broker down, every new event waits")
	waitFor(t, 10*time.Second, "the relay to report failed batches", func() bool {
		return metricValue(t, reg, "pvara_outbox_produce_errors_total") > 0
	})

	k2, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(dir))
	require.NoError(t, err)
	defer k2.Close()
	waitFor(t, 30*time.Second, "the backlog to drain", func() bool { return outboxBacklog(t, d.App) == 0 })
	recs := readAll(t, addrs, "pvara.platform.test_ping", len(before)+len(during), 20*time.Second)
	requireKeyOrder(t, recs)
	seen := map[uuid.UUID]bool{}
	for _, rec := range recs {
		env, _ := envelopeOf(t, rec)
		seen[env.ID] = true
	}
	for _, id := range append(before, during...) {
		require.True(t, seen[id], "event %s lost across the outage", id)
	}
}

// laneKeys returns n keys that fall in n different lanes.
func laneKeys(n int) []string {
	var keys []string
	used := map[int16]bool{}
	for i := 0; len(keys) < n; i++ {
		k := "k" + strconv.Itoa(i)
		if !used[outbox.Lane(k)] {
			used[outbox.Lane(k)] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// One batch takes at most BatchPerLane rows from each of at most
// LanesPerClaim lanes, and they are the oldest rows of those lanes.
func TestRelayOnceClaimsOldestRowsOfLimitedLanes(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	k := testenv.NewKafka(t)
	keys := laneKeys(3)
	for _, key := range keys {
		enqueueKeyed(t, d.App, []string{key}, 10)
	}
	cfg := fastRelay()
	cfg.LanesPerClaim, cfg.BatchPerLane = 2, 4
	r, err := outbox.NewRelay(cfg, outbox.RelayDeps{Pool: d.App, Kafka: []kgo.Opt{kgo.SeedBrokers(k.ListenAddrs()...)}})
	require.NoError(t, err)
	defer r.Close()
	ctx := context.Background()

	n, err := r.RelayOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 8, n, "2 lanes × 4 rows")
	left := map[string][]int64{}
	rows, err := d.Owner.Query(ctx, `SELECT event_key, (convert_from(payload, 'UTF8')::jsonb->'data'->>'seq')::bigint FROM platform.outbox ORDER BY seq`)
	require.NoError(t, err)
	for rows.Next() {
		var key string
		var seq int64
		require.NoError(t, rows.Scan(&key, &seq))
		left[key] = append(left[key], seq)
	}
	require.NoError(t, rows.Err())
	drained := 0
	for _, key := range keys {
		switch len(left[key]) {
		case 6:
			drained++
			require.Equal(t, []int64{5, 6, 7, 8, 9, 10}, left[key], "the oldest rows of a lane go first")
		case 10:
		default:
			t.Fatalf("key %s: %d rows left", key, len(left[key]))
		}
	}
	require.Equal(t, 2, drained)

	for range 10 {
		if _, err := r.RelayOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	require.Zero(t, outboxBacklog(t, d.App))
	recs := readAll(t, k.ListenAddrs(), "pvara.platform.test_ping", 30, 10*time.Second)
	require.Len(t, recs, 30)
	requireKeyOrder(t, recs)
}

// A topic that disappears (deleted, or a dev broker restarted without its
// data) is created again by the relay, and its events still arrive.
func TestRelayRecreatesATopicThatWentAway(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	k := testenv.NewKafka(t)
	addrs := k.ListenAddrs()
	startRelay(t, d.App, addrs, fastRelay(), nil, nil)
	first := enqueueKeyed(t, d.App, []string{"a"}, 3)
	readAll(t, addrs, "pvara.platform.test_ping", len(first), 10*time.Second)

	require.NoError(t, k.DeleteTopic("pvara.platform.test_ping"))
	second := enqueueKeyed(t, d.App, []string{"b"}, 3)
	waitFor(t, 30*time.Second, "the new events to leave the outbox", func() bool { return outboxBacklog(t, d.App) == 0 })
	recs := readAll(t, addrs, "pvara.platform.test_ping", len(second), 10*time.Second)
	seen := map[uuid.UUID]bool{}
	for _, r := range recs {
		env, _ := envelopeOf(t, r)
		seen[env.ID] = true
	}
	for _, id := range second {
		require.True(t, seen[id])
	}
}
