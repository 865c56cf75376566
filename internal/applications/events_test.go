package applications_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/consumer"
	"github.com/pvara-gov/pvara/internal/platform/kafka"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

var testTopics = kafka.TopicSpec{Partitions: 2, ReplicationFactor: 1}

// A submission commits its event to the outbox with the application; no
// relay runs (the process "crashed" right after the commit). A relay
// started later still delivers applications.submitted to Kafka.
func TestSubmittedEventSurvivesACrashBetweenCommitAndRelay(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cluster := testenv.NewKafka(t)
	a := w.submit(candA, w.job())
	id := a["id"].(string)
	require.Equal(t, 1, w.count("SELECT count(*) FROM platform.outbox WHERE event_key = $1", id))

	relay, err := outbox.NewRelay(outbox.RelayConfig{
		Workers: 1, PollMin: time.Millisecond, PollMax: 10 * time.Millisecond, ProduceTimeout: 5 * time.Second,
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, Topics: testTopics, Types: applications.Events(),
	}, outbox.RelayDeps{Pool: w.db.App, Kafka: []kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...)}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = relay.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; relay.Close() })

	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...),
		kgo.ConsumeTopics(outbox.Topic(applications.EventSubmitted)), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	var env outbox.Envelope
	var key string
	fctx, fcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer fcancel()
	for key == "" {
		fs := cl.PollFetches(fctx)
		require.NoError(t, fctx.Err(), "applications.submitted never reached Kafka")
		fs.EachRecord(func(r *kgo.Record) {
			key = string(r.Key)
			require.NoError(t, json.Unmarshal(r.Value, &env))
		})
	}
	require.Equal(t, id, key)
	require.Equal(t, applications.EventSubmitted, env.Type)
	require.Equal(t, id, env.Subject)
	require.Equal(t, w.orgA, *env.OrgID)
	var data applications.SubmittedV1
	require.NoError(t, json.Unmarshal(env.Data, &data))
	require.Equal(t, id, data.ApplicationID.String())
	require.Equal(t, a["receipt_number"], data.ReceiptNumber)
	require.Eventually(t, func() bool {
		return w.count("SELECT count(*) FROM platform.outbox") == 0
	}, 10*time.Second, 20*time.Millisecond, "the relay deletes what it produced")
}

// scoredRecord is a screening.scored event as the screening module's relay
// would produce it.
func scoredRecord(t *testing.T, eventID uuid.UUID, sc applications.ScoredV1) *kgo.Record {
	t.Helper()
	ev := outbox.Event{ID: eventID, Type: applications.EventScored, Version: 1, OrgID: sc.OrgID,
		Subject: sc.ApplicationID.String(), Data: sc}
	b, err := outbox.Marshal(&ev)
	require.NoError(t, err)
	return &kgo.Record{Topic: outbox.Topic(applications.EventScored), Key: []byte(ev.Subject), Value: b}
}

func TestScoresConsumerStoresTheNewestScoreOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	topic := outbox.Topic(applications.EventScored)
	cluster := testenv.NewKafka(t, kfake.SeedTopics(2, topic, outbox.DLQTopic(applications.EventScored)))
	a := w.submit(candA, w.job())
	id := uuid.MustParse(a["id"].(string))
	job := uuid.MustParse(a["job_id"].(string))

	prod, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	require.NoError(t, err)
	defer prod.Close()
	older := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond).Add(123 * time.Nanosecond)
	newer := older.Add(30 * time.Second)
	newest := uuid.Must(uuid.NewV7())
	recs := []*kgo.Record{
		// The re-score arrives before the first score; then a redelivery.
		scoredRecord(t, newest, applications.ScoredV1{ApplicationID: id, JobID: job, OrgID: w.orgA, Score: 81.456,
			Eligible: true, ModelVersion: "m2", ScoredAt: newer}),
		scoredRecord(t, uuid.Must(uuid.NewV7()), applications.ScoredV1{ApplicationID: id, JobID: job, OrgID: w.orgA,
			Score: 40, Eligible: false, ModelVersion: "m1", ScoredAt: older}),
		scoredRecord(t, newest, applications.ScoredV1{ApplicationID: id, JobID: job, OrgID: w.orgA, Score: 81.456,
			Eligible: true, ModelVersion: "m2", ScoredAt: newer}),
		// An application that does not exist changes nothing.
		scoredRecord(t, uuid.Must(uuid.NewV7()), applications.ScoredV1{ApplicationID: uuid.Must(uuid.NewV7()),
			JobID: job, OrgID: w.orgA, Score: 10, ModelVersion: "m2", ScoredAt: newer}),
	}
	require.NoError(t, prod.ProduceSync(t.Context(), recs...).FirstErr())

	r, err := consumer.New(consumer.Config{Topics: testTopics, MaxAttempts: 2}, consumer.Deps{
		Pool: w.db.App, Kafka: []kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.FetchMaxWait(100 * time.Millisecond)},
		Handlers: []consumer.Handler{w.svc.ScoresHandler()},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	require.Eventually(t, func() bool {
		return w.count("SELECT count(*) FROM platform.processed_events WHERE consumer_group = $1", applications.ScoresGroup) == 3
	}, 30*time.Second, 20*time.Millisecond)
	got := w.do("GET", "/v1/applications/"+id.String(), recruiterA, nil)
	require.Equal(t, 200, got.Status, string(got.Body))
	body := got.json(t)
	require.Equal(t, 81.46, body["ai_score"])
	sc := body["screening"].(map[string]any)
	require.Equal(t, true, sc["eligible"])
	require.Equal(t, "m2", sc["model_version"])
	at, err := time.Parse(time.RFC3339Nano, sc["scored_at"].(string))
	require.NoError(t, err)
	require.True(t, at.Equal(newer.Truncate(time.Microsecond)), "scored_at %s, want %s", at, newer)

	// The in-process API shows the same application, as submitted.
	sub, err := w.svc.Submitted(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, job, sub.JobID)
	require.Equal(t, w.orgA, sub.OrgID)
	require.Equal(t, applications.StatusSubmitted, sub.Status)
	require.Nil(t, sub.Profile.Phone)
	require.Equal(t, "punjab", string(*sub.Profile.DomicileProvince))
}

func TestSubmittedForJobPagesInIDOrder(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	job := w.job()
	a := w.submit(candA, job)["id"].(string)
	b := w.submit(candB, job)["id"].(string)
	w.submit(candA, w.job())
	page, err := w.svc.SubmittedForJob(t.Context(), job, uuid.Nil, 1)
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, a, page[0].ApplicationID.String())
	page, err = w.svc.SubmittedForJob(t.Context(), job, page[0].ApplicationID, 10)
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, b, page[0].ApplicationID.String())
	page, err = w.svc.SubmittedForJob(t.Context(), job, page[0].ApplicationID, 10)
	require.NoError(t, err)
	require.Empty(t, page)
	_, err = w.svc.Submitted(t.Context(), uuid.Must(uuid.NewV7()))
	require.ErrorIs(t, err, applications.ErrNotFound)
}
