package jobs_test

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
)

func TestGetForApplication(t *testing.T) {
	t.Parallel()
	e := setup(t)
	draft, _ := e.create(recruiterA)
	_, err := e.svc.GetForApplication(t.Context(), uuid.MustParse(draft))
	require.ErrorIs(t, err, jobs.ErrNotFound, "a draft is not there for applications")
	_, err = e.svc.GetForApplication(t.Context(), uuid.New())
	require.ErrorIs(t, err, jobs.ErrNotFound)

	id, etag := e.createPublished(func(b map[string]any) {
		b["criteria"].(map[string]any)["age_max"] = 30
		b["criteria"].(map[string]any)["domicile_provinces"] = []string{"kpk"}
	})
	v, err := e.svc.GetForApplication(t.Context(), uuid.MustParse(id))
	require.NoError(t, err)
	require.Equal(t, e.orgA, v.OrgID)
	require.Equal(t, jobs.StatusPublished, v.Status)
	require.True(t, v.OpenAt(time.Now()))
	require.False(t, v.OpenAt(v.ClosesAt))
	require.Equal(t, 30, *v.Criteria.AgeMax)
	require.Equal(t, "kpk", string(v.Criteria.DomicileProvinces[0]))

	require.Equal(t, 200, e.do("POST", "/v1/jobs/"+id+"/close", recruiterA, nil, "If-Match", etag).Status)
	v, err = e.svc.GetForApplication(t.Context(), uuid.MustParse(id))
	require.NoError(t, err)
	require.Equal(t, jobs.StatusClosed, v.Status)
	require.False(t, v.OpenAt(time.Now()))
}

func TestSeedDemoIsIdempotent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	n, err := e.svc.SeedDemo(t.Context(), e.orgA, uuid.New())
	require.NoError(t, err)
	require.Equal(t, 4, n)
	n, err = e.svc.SeedDemo(t.Context(), e.orgA, uuid.New())
	require.NoError(t, err)
	require.Zero(t, n)
	ids, _ := boardIDs(t, e.do("GET", "/v1/jobs?q=naib+qasid", anonymous, nil))
	require.Len(t, ids, 1)
	ids, _ = boardIDs(t, e.do("GET", "/v1/jobs", anonymous, nil))
	require.Len(t, ids, 3, "three published, one draft")
	ids, _ = boardIDs(t, e.do("GET", "/v1/jobs?status=draft", recruiterA, nil))
	require.Len(t, ids, 1)
	// Another organisation gets its own copies.
	n, err = e.svc.SeedDemo(t.Context(), e.orgB, uuid.New())
	require.NoError(t, err)
	require.Equal(t, 4, n)
}

func TestMaintenanceTaskClosesManyInBatches(t *testing.T) {
	t.Parallel()
	e := setup(t)
	svc, err := jobs.New(jobs.Config{CloseBatch: 3}, jobs.Deps{DB: e.db.App, Redis: e.redis})
	require.NoError(t, err)
	var due []string
	for range 7 {
		id, _ := e.createPublished()
		due = append(due, id)
	}
	keep, _ := e.createPublished()
	e.db.Exec(t, "UPDATE jobs.jobs SET opens_at = now() - interval '2 days', closes_at = now() - interval '1 minute' WHERE id <> $1", keep)
	task := svc.MaintenanceTask()
	require.Equal(t, "jobs-close-due", task.Name)
	require.NoError(t, task.Run(t.Context()))
	var closed int
	require.NoError(t, e.db.Owner.QueryRow(t.Context(), "SELECT count(*) FROM jobs.jobs WHERE status = 'closed'").Scan(&closed))
	require.Equal(t, 7, closed)
	for _, id := range due {
		require.Equal(t, []string{"jobs.published", "jobs.closed"}, eventTypes(e.events(id)))
	}
	require.Equal(t, []string{"jobs.published"}, eventTypes(e.events(keep)))
}

// TestEventTypes checks the examples the wiring-level PII scan collects:
// one per event type, each a valid envelope, none carrying personal data.
func TestEventTypes(t *testing.T) {
	t.Parallel()
	evs := jobs.EventTypes()
	types := map[string]bool{}
	pii := regexp.MustCompile(`\d{5}-?\d{7}-?\d|\+?92\d{10}|@`)
	for _, ev := range evs {
		types[ev.Type] = true
		b, err := outbox.Marshal(&ev)
		require.NoError(t, err)
		var env outbox.Envelope
		require.NoError(t, json.Unmarshal(b, &env))
		require.Equal(t, 1, env.Version)
		require.NotEmpty(t, env.Subject)
		require.False(t, pii.Match(env.Data), "%s carries something like PII: %s", ev.Type, env.Data)
	}
	require.Equal(t, map[string]bool{jobs.EventPublished: true, jobs.EventClosed: true, jobs.EventCriteriaChanged: true}, types)
}
