package consumer_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/platform/consumer"
	"github.com/pvara-gov/pvara/internal/platform/kafka"
	"github.com/pvara-gov/pvara/internal/platform/metrics"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// benchTopics is the production layout: 6 partitions.
var benchTopics = kafka.TopicSpec{Partitions: 6, ReplicationFactor: 1}

// fillTopic produces n events, one per aggregate, and returns their ids.
func fillTopic(b *testing.B, addrs []string, n int) []uuid.UUID {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if _, err := kafka.EnsureTopics(ctx, cl, benchTopics, outbox.Topic(outbox.TypeTestPing), outbox.DLQTopic(outbox.TypeTestPing)); err != nil {
		b.Fatal(err)
	}
	ids := make([]uuid.UUID, 0, n)
	for done := 0; done < n; {
		chunk := min(10000, n-done)
		recs := make([]*kgo.Record, chunk)
		for i := range recs {
			e := outbox.Event{Type: outbox.TypeTestPing, Version: 1, OrgID: uuid.Must(uuid.NewV7()), Subject: uuid.Must(uuid.NewV7()).String(), Data: outbox.TestPing{Note: "bench", Seq: 1}}
			v, err := outbox.Marshal(&e)
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, e.ID)
			recs[i] = &kgo.Record{Topic: outbox.Topic(e.Type), Key: []byte(e.Subject), Value: v,
				Headers: []kgo.RecordHeader{{Key: outbox.HeaderRequestID, Value: []byte("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")}}}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			b.Fatal(err)
		}
		done += chunk
	}
	return ids
}

// runUntil runs a runner with a no-op handler until it has handled n events
// and returns the time it took.
func runUntil(b *testing.B, d *testenv.DB, addrs []string, n int) time.Duration {
	b.Helper()
	reg := prometheus.NewRegistry()
	m := consumer.NewMetrics(reg)
	noop := func(context.Context, pgx.Tx, outbox.Envelope) error { return nil }
	cfg := consumer.Config{Topics: benchTopics} // production defaults otherwise
	r, err := consumer.New(cfg, consumer.Deps{
		Pool: d.App, Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}, Metrics: m,
		Handlers: []consumer.Handler{{Group: "bench", Type: outbox.TypeTestPing, Handle: noop}},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	go func() { done <- r.Run(ctx) }()
	for {
		handled, _, err := metrics.Value(reg, "pvara_consumer_events_total")
		if err != nil {
			b.Fatal(err)
		}
		if int(handled) >= n {
			break
		}
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("handled %v of %d", handled, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return elapsed
}

// BenchmarkConsumerRunner measures what the runner costs per event with a
// handler that does nothing: fetch, decode, one transaction (scope, dedupe
// insert, commit) and the offset commits. "applied" handles new events;
// "duplicate" handles events the group already applied (a redelivery);
// "kafka-only" is the floor: a plain franz-go group consumer that commits
// per poll and touches no database.
//
//	go test -run '^$' -bench ConsumerRunner -benchtime 50000x ./internal/platform/consumer/
func BenchmarkConsumerRunner(b *testing.B) {
	b.Run("applied", func(b *testing.B) {
		d := testenv.NewDB(b)
		k := testenv.NewKafka(b)
		fillTopic(b, k.ListenAddrs(), b.N)
		elapsed := runUntil(b, d, k.ListenAddrs(), b.N)
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	})
	b.Run("duplicate", func(b *testing.B) {
		d := testenv.NewDB(b)
		k := testenv.NewKafka(b)
		ids := fillTopic(b, k.ListenAddrs(), b.N)
		rows := make([][]any, len(ids))
		for i, id := range ids {
			rows[i] = []any{"bench", id}
		}
		if _, err := d.Owner.CopyFrom(context.Background(), pgx.Identifier{"platform", "processed_events"},
			[]string{"consumer_group", "event_id"}, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		d.Exec(b, "VACUUM ANALYZE platform.processed_events")
		elapsed := runUntil(b, d, k.ListenAddrs(), b.N)
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	})
	b.Run("kafka-only", func(b *testing.B) {
		k := testenv.NewKafka(b)
		fillTopic(b, k.ListenAddrs(), b.N)
		cl, err := kgo.NewClient(kgo.SeedBrokers(k.ListenAddrs()...), kgo.ConsumerGroup("floor"),
			kgo.ConsumeTopics(outbox.Topic(outbox.TypeTestPing)), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll())
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		ctx := context.Background()
		b.ResetTimer()
		start := time.Now()
		seen := 0
		for seen < b.N {
			fs := cl.PollRecords(ctx, 1000)
			var last []*kgo.Record
			fs.EachPartition(func(p kgo.FetchTopicPartition) {
				seen += len(p.Records)
				if len(p.Records) > 0 {
					last = append(last, p.Records[len(p.Records)-1])
				}
			})
			if err := cl.CommitRecords(ctx, last...); err != nil {
				b.Fatal(err)
			}
			cl.AllowRebalance()
		}
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	})
}
