package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/platform/kafka"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// benchPayload is a realistic event payload (~200 bytes of data, ~400
// bytes of envelope).
type benchPayload struct {
	ApplicationID uuid.UUID `json:"application_id"`
	JobID         uuid.UUID `json:"job_id"`
	CandidateID   uuid.UUID `json:"candidate_id"`
	Status        string    `json:"status"`
	Channel       string    `json:"channel"`
}

func benchEvent(subject uuid.UUID) outbox.Event {
	return outbox.Event{
		ID: uuid.Must(uuid.NewV7()), Type: outbox.TypeTestPing, Version: 1, OrgID: uuid.Must(uuid.NewV7()), Subject: subject.String(),
		Data: benchPayload{ApplicationID: subject, JobID: uuid.Must(uuid.NewV7()), CandidateID: uuid.Must(uuid.NewV7()), Status: "submitted", Channel: "web"},
	}
}

// prefill copies n events (one per aggregate) into the outbox, as n
// committed transactions would have left them.
func prefill(b *testing.B, d *testenv.DB, n int) {
	b.Helper()
	ctx := context.Background()
	hdr, _ := json.Marshal(map[string]string{"content-type": "application/json", "event-type": outbox.TypeTestPing, "event-version": "1", "request-id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"})
	for done := 0; done < n; {
		chunk := min(50000, n-done)
		rows := make([][]any, chunk)
		for i := range rows {
			e := benchEvent(uuid.Must(uuid.NewV7()))
			p, err := outbox.Marshal(&e)
			if err != nil {
				b.Fatal(err)
			}
			rows[i] = []any{outbox.Lane(e.Subject), e.ID, outbox.Topic(e.Type), e.Subject, p, json.RawMessage(hdr)}
		}
		if _, err := d.Owner.CopyFrom(ctx, pgx.Identifier{"platform", "outbox"},
			[]string{"lane", "id", "topic", "event_key", "payload", "headers"}, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		done += chunk
	}
	d.Exec(b, "VACUUM ANALYZE platform.outbox")
}

// benchRelayConfig is the production default (config.Defaults().Outbox)
// with the production topic layout (6 partitions).
func benchRelayConfig() outbox.RelayConfig {
	return outbox.RelayConfig{
		Topics: kafka.TopicSpec{Partitions: 6, ReplicationFactor: 1},
		Types:  outbox.Events(),
	}
}

// BenchmarkRelayThroughput drains b.N events that wait in the outbox into
// kfake with one relay at its default settings. Run with a fixed count:
//
//	go test -run '^$' -bench RelayThroughput -benchtime 200000x ./internal/platform/outbox/
func BenchmarkRelayThroughput(b *testing.B) {
	d := testenv.NewDB(b)
	k := testenv.NewKafka(b)
	prefill(b, d, b.N)
	var delivered atomic.Int64
	all := make(chan struct{})
	r, err := outbox.NewRelay(benchRelayConfig(), outbox.RelayDeps{Pool: d.App, Kafka: []kgo.Opt{kgo.SeedBrokers(k.ListenAddrs()...)}})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	outbox.SetOnDelivered(r, func(ids []uuid.UUID, _ time.Time) {
		if delivered.Add(int64(len(ids))) == int64(b.N) {
			close(all)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.EnsureTopics(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-all:
	case <-time.After(10 * time.Minute):
		b.Fatalf("only %d of %d events relayed", delivered.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

// BenchmarkCommitToProduceLatency writes events at a fixed rate (open
// loop, one event per transaction, as API writes do) while one relay runs
// at its default settings, and measures, per event, the time from the
// writer's COMMIT returning to Kafka acknowledging the event. Rate and
// duration: PVARA_BENCH_RATE (default 2500/s), PVARA_BENCH_SECONDS (20);
// PVARA_BENCH_WRITERS (48) concurrent writer transactions. "events/s" is
// the rate the writers achieved: below the target rate, PostgreSQL could
// not commit that fast and the figure describes a lower load.
//
//	go test -run '^$' -bench CommitToProduceLatency -benchtime 1x ./internal/platform/outbox/
func BenchmarkCommitToProduceLatency(b *testing.B) {
	rate, seconds, writers := envInt("PVARA_BENCH_RATE", 2500), envInt("PVARA_BENCH_SECONDS", 20), envInt("PVARA_BENCH_WRITERS", 48)
	d := testenv.NewDB(b)
	k := testenv.NewKafka(b)
	pool, err := postgres.Open(context.Background(), func() postgres.Config { c := d.AppConfig(); c.MaxConns = int32(writers); return c }(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()

	var mu sync.Mutex
	committed := map[uuid.UUID]time.Time{}
	acked := map[uuid.UUID]time.Time{}
	var lat []time.Duration
	record := func(id uuid.UUID, commit, ack time.Time) { lat = append(lat, max(0, ack.Sub(commit))) }

	r, err := outbox.NewRelay(benchRelayConfig(), outbox.RelayDeps{Pool: d.App, Kafka: []kgo.Opt{kgo.SeedBrokers(k.ListenAddrs()...)}})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	outbox.SetOnDelivered(r, func(ids []uuid.UUID, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if c, ok := committed[id]; ok {
				record(id, c, at)
				delete(committed, id)
			} else {
				acked[id] = at
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.EnsureTopics(ctx); err != nil {
		b.Fatal(err)
	}
	relayDone := make(chan error, 1)
	go func() { relayDone <- r.Run(ctx) }()

	total := rate * seconds
	interval := time.Second / time.Duration(rate)
	slots := make(chan time.Time, total)
	var lateStarts atomic.Int64
	var wg sync.WaitGroup
	var writeErr atomic.Value
	for range writers {
		wg.Go(func() {
			for due := range slots {
				if time.Since(due) > 10*time.Millisecond {
					lateStarts.Add(1)
				}
				e := benchEvent(uuid.Must(uuid.NewV7()))
				err := postgres.Tx(ctx, pool, func(tx pgx.Tx) error { return outbox.EnqueueTx(ctx, tx, e) })
				now := time.Now()
				if err != nil {
					writeErr.Store(err)
					continue
				}
				mu.Lock()
				if a, ok := acked[e.ID]; ok {
					record(e.ID, now, a)
					delete(acked, e.ID)
				} else {
					committed[e.ID] = now
				}
				mu.Unlock()
			}
		})
	}
	b.ResetTimer()
	start := time.Now()
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		slots <- due
	}
	close(slots)
	wg.Wait()
	writeTime := time.Since(start)
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		n := len(lat)
		mu.Unlock()
		if n == total || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	cancel()
	<-relayDone
	if err, _ := writeErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lat) != total {
		b.Fatalf("%d of %d events acknowledged", len(lat), total)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(float64(total)/writeTime.Seconds(), "events/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.90), "p90-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(lateStarts.Load()), "late-writes")
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		var n int
		if _, err := fmt.Sscan(v, &n); err == nil && n > 0 {
			return n
		}
	}
	return def
}
