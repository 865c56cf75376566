package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/consumer"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// Every event type any module declares: well formed, no plaintext PII
// (CNIC, phone) in its example payload, and documented in docs/events.md.
func TestDeclaredEventTypes(t *testing.T) {
	t.Parallel()
	types := eventTypes()
	require.NotEmpty(t, types)
	require.NoError(t, outbox.ValidateAll(types))
	doc, err := os.ReadFile("../../docs/events.md")
	require.NoError(t, err)
	for _, et := range types {
		require.Contains(t, string(doc), "`"+et.Topic()+"`", "docs/events.md must document %s", et.Type)
	}
}

// testApp is the application wired against test services.
func testApp(t *testing.T, brokers []string) (*app, *testenv.DB) {
	t.Helper()
	d := testenv.NewDB(t)
	cfg := testConfig(t, d)
	cfg.Kafka.Brokers = brokers
	cfg.Kafka.TopicPartitions = 2
	cfg.Outbox.PollMax = 10 * time.Millisecond
	require.NoError(t, cfg.Validate())
	a, err := openApp(context.Background(), cfg, logx.Discard())
	require.NoError(t, err)
	t.Cleanup(a.Close)
	return a, d
}

// The outbox role and a consumer role registered with addConsumers carry
// an event from a committed transaction to a handler's effect, and the
// worker reports Kafka in its readiness.
func TestWorkerRolesRelayAndConsume(t *testing.T) {
	t.Parallel()
	k := testenv.NewKafka(t)
	a, d := testApp(t, k.ListenAddrs())
	type delivery struct {
		ev        outbox.Envelope
		requestID string
	}
	var got atomic.Value
	a.addConsumers("test-consumer", consumer.Handler{Group: "wiring-test", Type: outbox.TypeTestPing,
		Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
			got.Store(delivery{ev: ev, requestID: logx.RequestID(ctx)})
			return nil
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.runRoles(ctx, []string{"outbox", "test-consumer", "maintenance"}) }()

	id := uuid.Must(uuid.NewV7())
	rctx := logx.WithRequestID(context.Background(), "wired-req")
	require.NoError(t, postgres.Tx(rctx, d.App, func(tx pgx.Tx) error {
		return outbox.EnqueueTx(rctx, tx, outbox.Event{ID: id, Type: outbox.TypeTestPing, Version: 1, Subject: "s", Data: outbox.TestPing{Note: "wired"}})
	}))
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.NotNil(t, got.Load(), "the event never reached the handler")
	dl := got.Load().(delivery)
	ev := dl.ev
	require.Equal(t, id, ev.ID)
	require.Equal(t, "wired-req", dl.requestID, "the handler's context carries the request id of the request that caused the event")
	var p outbox.TestPing
	require.NoError(t, json.Unmarshal(ev.Data, &p))
	require.Equal(t, "wired", p.Note)

	ok, checks := a.ready.Check(context.Background())
	require.True(t, ok, "%v", checks)
	require.Contains(t, checks, "kafka", "worker roles report Kafka")
	cancel()
	require.NoError(t, <-done)
}

// The API does not need Kafka: with no broker answering, an app that does
// not run worker roles stays ready and can write events.
func TestServeStaysReadyWithoutKafka(t *testing.T) {
	t.Parallel()
	a, d := testApp(t, []string{"127.0.0.1:1"})
	ok, checks := a.ready.Check(context.Background())
	require.True(t, ok, "%v", checks)
	require.NotContains(t, checks, "kafka")
	require.NoError(t, postgres.Tx(context.Background(), d.App, func(tx pgx.Tx) error {
		return outbox.EnqueueTx(context.Background(), tx, outbox.Event{Type: outbox.TypeTestPing, Version: 1, Subject: "s"})
	}))
}

func TestKafkaRolesNeedBrokers(t *testing.T) {
	require.True(t, needsKafka([]string{"maintenance", "outbox"}))
	require.True(t, needsKafka([]string{"screening"}))
	require.False(t, needsKafka([]string{"maintenance"}))

	t.Setenv("PVARA_DATABASE_URL", "postgres://127.0.0.1:1/none")
	t.Setenv("PVARA_REDIS_URL", "redis://127.0.0.1:1")
	t.Setenv("PVARA_KAFKA_BROKERS", "")
	t.Setenv("PVARA_DATA_DIR", t.TempDir())
	require.Equal(t, exitUsage, run([]string{"worker", "--role=outbox"}))
}

func TestEventsCommands(t *testing.T) {
	var out strings.Builder
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"events", "types"})
	require.NoError(t, cmd.Execute())
	require.Contains(t, out.String(), "pvara.platform.test_ping")

	require.Equal(t, exitUsage, run([]string{"events", "replay-dlq"}), "--topic is required")
}

func TestEventsPingEnqueues(t *testing.T) {
	d := testenv.NewDB(t)
	t.Setenv("PVARA_DATABASE_URL", d.URL)
	require.Equal(t, exitOK, run([]string{"events", "ping", "--count", "3", "--subject", "deploy-check"}))
	var n int
	require.NoError(t, d.Owner.QueryRow(context.Background(),
		`SELECT count(*) FROM platform.outbox WHERE event_key = 'deploy-check' AND topic = 'pvara.platform.test_ping'`).Scan(&n))
	require.Equal(t, 3, n)
}
