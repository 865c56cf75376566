package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/platform/kafka"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// testTopics are small topics: enough partitions for concurrency, few
// enough for kfake to stay quick.
var testTopics = kafka.TopicSpec{Partitions: 4, ReplicationFactor: 1}

// fastRelay is a relay configuration for tests: quick polls and retries.
func fastRelay() outbox.RelayConfig {
	return outbox.RelayConfig{
		Workers: 2, LanesPerClaim: 16, BatchPerLane: 64,
		PollMin: time.Millisecond, PollMax: 10 * time.Millisecond,
		ProduceTimeout: 3 * time.Second, RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		StatsInterval: 50 * time.Millisecond,
		Topics:        testTopics,
		Types:         outbox.Events(),
	}
}

// startRelay runs a relay with its own producer client (as a separate
// process would have) until the returned stop is called or the test ends.
func startRelay(t *testing.T, pool *pgxpool.Pool, addrs []string, cfg outbox.RelayConfig, metrics *outbox.RelayMetrics, setup func(*outbox.Relay)) (stop func()) {
	t.Helper()
	r, err := outbox.NewRelay(cfg, outbox.RelayDeps{Pool: pool, Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Metrics: metrics})
	require.NoError(t, err)
	if setup != nil {
		setup(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		r.Close()
	}
	t.Cleanup(stop)
	return stop
}

// ping is the payload the tests send: Seq numbers the events of one key.
type ping = outbox.TestPing

// enqueueKeyed enqueues perKey events for each key, one transaction per
// event, each key's events in sequence (as an aggregate's transactions
// are), keys concurrently. It returns the event ids.
func enqueueKeyed(t *testing.T, pool *pgxpool.Pool, keys []string, perKey int) []uuid.UUID {
	t.Helper()
	ids, err := tryEnqueueKeyed(pool, keys, perKey)
	require.NoError(t, err)
	return ids
}

// tryEnqueueKeyed is enqueueKeyed for goroutines other than the test's.
func tryEnqueueKeyed(pool *pgxpool.Pool, keys []string, perKey int) ([]uuid.UUID, error) {
	ctx := context.Background()
	ids := make(chan uuid.UUID, len(keys)*perKey)
	errs := make(chan error, len(keys))
	for _, k := range keys {
		go func() {
			for i := 1; i <= perKey; i++ {
				id := uuid.Must(uuid.NewV7())
				err := postgres.Tx(ctx, pool, func(tx pgx.Tx) error {
					return outbox.EnqueueTx(ctx, tx, outbox.Event{ID: id, Type: outbox.TypeTestPing, Version: 1, Subject: k, Data: ping{Note: k, Seq: int64(i)}})
				})
				if err != nil {
					errs <- err
					return
				}
				ids <- id
			}
			errs <- nil
		}()
	}
	var firstErr error
	for range keys {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	close(ids)
	var out []uuid.UUID
	for id := range ids {
		out = append(out, id)
	}
	return out, firstErr
}

func keyNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("aggregate-%03d", i)
	}
	return out
}

// readAll reads a topic from the start with a plain (non-group) consumer
// until it holds at least want records and no more arrive for quiet.
func readAll(t *testing.T, addrs []string, topic string, want int, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	deadline := time.Now().Add(timeout)
	var out []*kgo.Record
	quietSince := time.Now()
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r); n++ })
		if n > 0 {
			quietSince = time.Now()
		}
		if len(out) >= want && time.Since(quietSince) > 500*time.Millisecond {
			return out
		}
	}
	t.Fatalf("topic %s: %d records after %s, want %d", topic, len(out), timeout, want)
	return nil
}

func envelopeOf(t *testing.T, r *kgo.Record) (outbox.Envelope, ping) {
	t.Helper()
	var env outbox.Envelope
	require.NoError(t, json.Unmarshal(r.Value, &env))
	var p ping
	require.NoError(t, json.Unmarshal(env.Data, &p))
	return env, p
}

// requireKeyOrder checks that, per key, the first occurrence of each event
// follows the enqueue order (duplicates after the first are allowed: the
// wire is at least once).
func requireKeyOrder(t *testing.T, recs []*kgo.Record) {
	t.Helper()
	last := map[string]int64{}
	for _, r := range recs {
		env, p := envelopeOf(t, r)
		require.Equal(t, env.Subject, string(r.Key), "the record key is the subject")
		if p.Seq <= last[env.Subject] {
			continue // a duplicate of something already seen
		}
		require.Equal(t, last[env.Subject]+1, p.Seq, "key %s: event %d arrived after %d", env.Subject, p.Seq, last[env.Subject])
		last[env.Subject] = p.Seq
	}
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

func outboxBacklog(t *testing.T, pool *pgxpool.Pool) int64 {
	t.Helper()
	st, err := outbox.ReadStats(context.Background(), pool)
	require.NoError(t, err)
	return st.Backlog
}
