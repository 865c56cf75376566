package screening_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/platform/consumer"
	"github.com/pvara-gov/pvara/internal/platform/kafka"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
	"github.com/pvara-gov/pvara/internal/screening"
)

var testTopics = kafka.TopicSpec{Partitions: 3, ReplicationFactor: 1}

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

func counterSum(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metrics
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// readTopic reads every record of a topic up to its current end offsets.
func readTopic(t *testing.T, addrs []string, topic string) []*kgo.Record {
	t.Helper()
	ctx := context.Background()
	adm, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	require.NoError(t, err)
	defer adm.Close()
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	want := int64(0)
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	if want == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	var out []*kgo.Record
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for int64(len(out)) < want {
		fs := cl.PollFetches(pctx)
		require.NoError(t, pctx.Err(), "reading %s: %d of %d records", topic, len(out), want)
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// The worker end to end through Kafka: an applications.submitted event in
// (delivered twice, and the same application in a second event) → one
// result stored and one screening.scored out on its topic, produced by the
// relay; the ranking then shows it.
func TestWorkerScoresSubmittedApplicationsThroughKafkaOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	k := testenv.NewKafka(t)
	addrs := k.ListenAddrs()
	ctx := context.Background()

	job := e.publishedJob()
	a := e.newApp(job, []string{"go", "postgresql", "redis"})
	b := e.newApp(job, []string{"go"})

	// applications.submitted as the applications module's relay writes it.
	envelope := func(app screening.Application) outbox.Event {
		return outbox.Event{Type: screening.EventApplicationSubmitted, Version: 1, OrgID: app.OrgID, Subject: app.ID.String(),
			Data: map[string]any{"application_id": app.ID, "job_id": app.JobID, "org_id": app.OrgID,
				"candidate_id": app.CandidateID, "receipt_number": "PV-1", "submitted_at": app.SubmittedAt}}
	}
	var recs []*kgo.Record
	add := func(ev outbox.Event) {
		v, err := outbox.Marshal(&ev)
		require.NoError(t, err)
		recs = append(recs, &kgo.Record{Topic: outbox.Topic(ev.Type), Key: []byte(ev.Subject), Value: v})
	}
	add(envelope(a))
	recs = append(recs, recs[0]) // the same event twice (a relay retry)
	add(envelope(a))             // the same application in another event (a replay)
	add(envelope(b))
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	require.NoError(t, err)
	defer cl.Close()
	_, err = kafka.EnsureTopics(ctx, cl, testTopics, outbox.Topic(screening.EventApplicationSubmitted))
	require.NoError(t, err)
	require.NoError(t, cl.ProduceSync(ctx, recs...).FirstErr())

	// The relay publishes screening.scored; the runner runs the handlers.
	relay, err := outbox.NewRelay(outbox.RelayConfig{
		Workers: 1, PollMin: time.Millisecond, PollMax: 20 * time.Millisecond, ProduceTimeout: 3 * time.Second,
		Topics: testTopics, Types: screening.Events(),
	}, outbox.RelayDeps{Pool: e.db.App, Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...)}})
	require.NoError(t, err)
	reg := prometheus.NewRegistry()
	runner, err := consumer.New(consumer.Config{
		MaxAttempts: 3, RetryBackoff: 10 * time.Millisecond, RetryBackoffMax: 40 * time.Millisecond,
		HandlerTimeout: 5 * time.Second, Topics: testTopics,
	}, consumer.Deps{Pool: e.db.App, Kafka: []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.FetchMaxWait(100 * time.Millisecond)},
		Handlers: e.svc.Handlers(), Metrics: consumer.NewMetrics(reg)})
	require.NoError(t, err)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- relay.Run(rctx) }()
	go func() { done <- runner.Run(rctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
		require.NoError(t, <-done)
		relay.Close()
	}()

	lbl := map[string]string{"group": screening.ConsumerGroup, "type": screening.EventApplicationSubmitted}
	waitFor(t, 30*time.Second, "four deliveries handled", func() bool {
		return counterSum(t, reg, "pvara_consumer_events_total", lbl) == 4
	})
	require.EqualValues(t, 1, counterSum(t, reg, "pvara_consumer_events_total",
		map[string]string{"type": screening.EventApplicationSubmitted, "result": "duplicate"}))
	waitFor(t, 30*time.Second, "the outbox drained", func() bool {
		return e.count("SELECT count(*) FROM platform.outbox") == 0
	})

	// One result per application, one event per application on the topic.
	require.Equal(t, 2, e.count("SELECT count(*) FROM screening.results WHERE job_id = $1 AND scored_at IS NOT NULL", job.ID))
	got := map[uuid.UUID][]screening.ScoredV1{}
	for _, r := range readTopic(t, addrs, outbox.Topic(screening.EventScored)) {
		var env struct {
			Type    string             `json:"type"`
			Subject string             `json:"subject"`
			Data    screening.ScoredV1 `json:"data"`
		}
		require.NoError(t, json.Unmarshal(r.Value, &env))
		require.Equal(t, screening.EventScored, env.Type)
		require.Equal(t, env.Subject, string(r.Key))
		got[env.Data.ApplicationID] = append(got[env.Data.ApplicationID], env.Data)
	}
	require.Len(t, got[a.ID], 1, "one screening.scored for a, however often it was delivered")
	require.Len(t, got[b.ID], 1)
	ev := got[a.ID][0]
	require.Equal(t, job.ID, ev.JobID)
	require.Equal(t, job.OrgID, ev.OrgID)
	require.Equal(t, screening.ModelVersion, ev.ModelVersion)
	require.False(t, ev.ScoredAt.IsZero())

	// The stored result is what was published, and the ranking serves it.
	var score float64
	var eligible bool
	require.NoError(t, e.db.Owner.QueryRow(ctx, "SELECT score::float8, eligible FROM screening.results WHERE application_id = $1", a.ID).Scan(&score, &eligible))
	require.Equal(t, ev.Score, score)
	require.Equal(t, ev.Eligible, eligible)
	items, _ := e.ranking(job.ID, 10)
	require.Equal(t, e.expectedRanking(job.ID), items)
	require.Len(t, items, 2)
}

// The same application scored again with the same input (another event, a
// replay) writes and publishes nothing more; a changed profile does.
func TestRescoringTheSameInputPublishesOnce(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := setup(t, opts{reg: reg})
	job := e.publishedJob()
	a := e.newApp(job, []string{"go"})
	e.submitted(a)
	e.submitted(a)
	require.Len(t, e.scoredEvents(a.ID), 1)
	var at1 time.Time
	require.NoError(t, e.db.Owner.QueryRow(context.Background(), "SELECT scored_at FROM screening.results WHERE application_id = $1", a.ID).Scan(&at1))

	a.Profile.Skills = []string{"go", "postgresql", "redis"}
	e.apps.put(a)
	e.submitted(a)
	evs := e.scoredEvents(a.ID)
	require.Len(t, evs, 2)
	require.Greater(t, evs[1].Score, evs[0].Score)
	require.True(t, evs[1].ScoredAt.After(at1))
	require.EqualValues(t, 2, counterSum(t, reg, "pvara_screening_results_total", map[string]string{"source": "submitted", "outcome": "changed"}))
	require.EqualValues(t, 1, counterSum(t, reg, "pvara_screening_results_total", map[string]string{"source": "submitted", "outcome": "unchanged"}))
}

// A status event before the score creates the row without a score (404
// on the explanation); the score then fills it in. A status event newer
// than the snapshot wins over the snapshot's status; a withdrawal takes
// the application out of the ranking.
func TestStatusEventsAndWithdrawal(t *testing.T) {
	t.Parallel()
	e := setup(t)
	job := e.publishedJob()
	a := e.newApp(job, []string{"go"}, func(a *screening.Application) { a.Status = "under_review" })
	b := e.newApp(job, []string{"go", "postgresql"})
	e.setStatus(a, "under_review")
	r := e.do("GET", "/v1/applications/"+a.ID.String()+"/screening", recruiterA, nil)
	require.Equal(t, 404, r.Status)
	require.Equal(t, "screening_not_found", r.code(t))

	e.submitted(a)
	e.submitted(b)
	require.Equal(t, 200, e.do("GET", "/v1/applications/"+a.ID.String()+"/screening", recruiterA, nil).Status)
	status := func(id uuid.UUID) string {
		var s string
		require.NoError(t, e.db.Owner.QueryRow(context.Background(), "SELECT status FROM screening.results WHERE application_id = $1", id).Scan(&s))
		return s
	}
	require.Equal(t, "under_review", status(a.ID))
	e.setStatus(a, "shortlisted")
	require.Equal(t, "shortlisted", status(a.ID))
	items, _ := e.ranking(job.ID, 10)
	require.Len(t, items, 2)

	e.deliver(screening.EventWithdrawn, b.ID.String(), map[string]any{
		"application_id": b.ID, "job_id": b.JobID, "org_id": b.OrgID, "candidate_id": b.CandidateID,
		"withdrawn_at": time.Now().UTC(),
	})
	require.Equal(t, "withdrawn", status(b.ID))
	items, _ = e.ranking(job.ID, 10)
	require.Equal(t, []rankItem{{ApplicationID: a.ID, Score: items[0].Score, Eligible: items[0].Eligible}}, items)
	require.Equal(t, e.expectedRanking(job.ID), items)
}

// An application the source no longer has (erased) is skipped, not
// retried forever.
func TestSubmittedButGoneIsSkipped(t *testing.T) {
	t.Parallel()
	e := setup(t)
	job := e.publishedJob()
	ghost := screening.Application{ID: uuid.Must(uuid.NewV7()), JobID: job.ID, OrgID: job.OrgID, CandidateID: uuid.New()}
	e.submitted(ghost)
	require.Zero(t, e.count("SELECT count(*) FROM screening.results"))
	require.Empty(t, e.scoredEvents(ghost.ID))
}

// The snapshot's status is ordered by when the application says it was set,
// not by when the worker read it: a status change made just before the
// worker's read but applied after it (or read by a worker whose clock runs
// ahead) still wins, because the snapshot's StatusAt is older than the
// event's changed_at.
func TestSnapshotStatusIsOrderedByItsOwnTime(t *testing.T) {
	t.Parallel()
	e := setup(t)
	job := e.publishedJob()
	submittedAt := time.Now().UTC().Add(-time.Hour)
	a := e.newApp(job, []string{"go"}, func(a *screening.Application) {
		a.Status, a.StatusAt = "submitted", submittedAt
	})
	e.submitted(a)
	// A transition made 10 minutes ago: older than this worker's read, newer
	// than the status the snapshot carried.
	e.deliver(screening.EventStatusChanged, a.ID.String(), map[string]any{
		"application_id": a.ID, "job_id": a.JobID, "org_id": a.OrgID, "candidate_id": a.CandidateID,
		"from": "submitted", "to": "shortlisted", "changed_at": time.Now().UTC().Add(-10 * time.Minute),
	})
	var s string
	require.NoError(t, e.db.Owner.QueryRow(context.Background(), "SELECT status FROM screening.results WHERE application_id = $1", a.ID).Scan(&s))
	require.Equal(t, "shortlisted", s)
}

// A runner batch of submissions across jobs is scored at once: one result
// and one screening.scored per application (an application in two events
// of the batch is scored once), the same results as one event at a time
// would give; an erased application and an application whose job is gone
// are skipped; the ranking is synced for the batch after the commit.
func TestSubmittedBatchScoresEveryApplicationOnce(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	e := setup(t, opts{reg: reg})
	job1 := e.publishedJob()
	job2 := e.publishedJob(func(in *jobs.Input) { in.Criteria.RequiredSkills = []string{"python"} })
	a := e.newApp(job1, []string{"go", "postgresql", "redis"})
	b := e.newApp(job2, []string{"python"})
	c := e.newApp(job1, []string{"go"})
	ghost := screening.Application{ID: uuid.Must(uuid.NewV7()), JobID: job1.ID, OrgID: job1.OrgID, CandidateID: uuid.New()}
	orphan := e.newApp(screening.Job{ID: uuid.Must(uuid.NewV7()), OrgID: job1.OrgID}, []string{"go"})
	evs := []outbox.Envelope{submittedEnvelope(t, a), submittedEnvelope(t, b), submittedEnvelope(t, ghost),
		submittedEnvelope(t, c), submittedEnvelope(t, orphan), submittedEnvelope(t, a)}
	require.NoError(t, e.submittedBatch(evs...))

	require.Equal(t, 3, e.count("SELECT count(*) FROM screening.results WHERE scored_at IS NOT NULL"))
	for _, app := range []screening.Application{a, b, c} {
		require.Len(t, e.scoredEvents(app.ID), 1, "one screening.scored per application")
	}
	require.Empty(t, e.scoredEvents(ghost.ID))
	require.Empty(t, e.scoredEvents(orphan.ID))
	require.EqualValues(t, 3, counterSum(t, reg, "pvara_screening_results_total", map[string]string{"source": "submitted", "outcome": "changed"}))

	// The ranking serves them.
	items, _ := e.ranking(job1.ID, 10)
	require.Equal(t, e.expectedRanking(job1.ID), items)
	require.Len(t, items, 2)
	require.Equal(t, a.ID, items[0].ApplicationID)

	// One event at a time gives the same stored results (the batch path
	// and the single path agree), and publishes nothing new.
	var batchRows []string
	rows, err := e.db.Owner.Query(context.Background(), "SELECT application_id::text || score::text || eligible::text || breakdown::text FROM screening.results ORDER BY application_id")
	require.NoError(t, err)
	batchRows, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	for _, app := range []screening.Application{a, b, c} {
		e.submitted(app)
		require.Len(t, e.scoredEvents(app.ID), 1, "same input: nothing more published")
	}
	rows, err = e.db.Owner.Query(context.Background(), "SELECT application_id::text || score::text || eligible::text || breakdown::text FROM screening.results ORDER BY application_id")
	require.NoError(t, err)
	again, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, batchRows, again)
}

// An event the batch handler cannot decode is named, so the runner applies
// the others and dead-letters it alone.
func TestSubmittedBatchNamesAnUndecodableEvent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	job := e.publishedJob()
	a := e.newApp(job, []string{"go"})
	bad := submittedEnvelope(t, a)
	bad.Version = 9
	err := e.submittedBatch(submittedEnvelope(t, a), bad)
	be, ok := errors.AsType[*consumer.BatchError](err)
	require.True(t, ok, "%v", err)
	require.Equal(t, 1, be.Index)
	require.True(t, consumer.IsPermanent(err))
	require.Zero(t, e.count("SELECT count(*) FROM screening.results"), "rolled back")
}
