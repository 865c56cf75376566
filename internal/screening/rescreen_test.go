package screening_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/adapters"
	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/screening"
)

// changeCriteria changes a published job's required skills through the
// jobs module and delivers the jobs.criteria_changed it emits.
func (e *env) changeCriteria(job screening.Job, required ...string) screening.Job {
	e.t.Helper()
	ctx := context.Background()
	p := e.principal(recruiterA)
	j, err := e.jobs.Get(ctx, &p, job.ID)
	require.NoError(e.t, err)
	c := jobs.CriteriaInput{
		MinEducation: string(j.Criteria.MinEducation), MinExperienceYears: j.Criteria.MinExperienceYears,
		RequiredSkills: required, PreferredSkills: j.Criteria.PreferredSkills,
	}
	j, err = e.jobs.Update(ctx, p, job.ID, j.ETag(time.Now()), jobs.Patch{Criteria: &c})
	require.NoError(e.t, err)
	e.deliver(screening.EventCriteriaChanged, job.ID.String(), map[string]any{
		"job_id": job.ID, "org_id": job.OrgID, "version": j.Version, "closes_at": j.ClosesAt, "criteria": j.Criteria,
	})
	nj, err := adapters.ScreeningJobs{Jobs: e.jobs}.ScreeningJob(ctx, job.ID)
	require.NoError(e.t, err)
	return nj
}

func (e *env) rescreenStatus(job uuid.UUID) runBody {
	e.t.Helper()
	r := e.do("GET", "/v1/jobs/"+job.String()+"/rescreen", recruiterA, nil)
	require.Equal(e.t, 200, r.Status, string(r.Body))
	var b runBody
	r.decode(e.t, &b)
	return b
}

// requireScoredWith checks every stored result of the job against the
// model run directly on the job as it is now.
func (e *env) requireScoredWith(job screening.Job) {
	e.t.Helper()
	rows, err := e.db.Owner.Query(context.Background(),
		"SELECT application_id, score::float8, eligible FROM screening.results WHERE job_id = $1", job.ID)
	require.NoError(e.t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id uuid.UUID
		var score float64
		var eligible bool
		require.NoError(e.t, rows.Scan(&id, &score, &eligible))
		a, err := e.apps.Submitted(context.Background(), id)
		require.NoError(e.t, err)
		want := screening.Score(screening.Input{Job: job.Input, Profile: a.Profile}, nil)
		require.Equal(e.t, want.Score, score, id)
		require.Equal(e.t, want.Eligible, eligible, id)
		n++
	}
	require.NoError(e.t, rows.Err())
	require.Positive(e.t, n)
}

// POST /rescreen queues a run (202; an empty body and {} both accepted; a
// second request returns the queued one); the runner re-scores every
// application in batches; progress shows on GET /rescreen and on the
// ranking; only changed results are published again.
func TestRescreenProgressAndCompletion(t *testing.T) {
	t.Parallel()
	e := setup(t, opts{cfg: screening.Config{RescreenBatch: 10}})
	job := scoredJob(t, e, 25)
	before := e.count("SELECT count(*) FROM platform.outbox WHERE topic = 'pvara.screening.scored'")
	require.Equal(t, 25, before)

	path := "/v1/jobs/" + job.ID.String() + "/rescreen"
	r := e.do("POST", path, recruiterA, nil)
	require.Equal(t, 202, r.Status, string(r.Body))
	var run runBody
	r.decode(t, &run)
	require.Equal(t, runBody{ID: run.ID, Status: "queued", Reason: "manual", Done: 0, Total: 25}, run)
	r = e.do("POST", path, adminA, []byte(`{}`), "Content-Type", "application/json")
	require.Equal(t, 202, r.Status, string(r.Body))
	var again runBody
	r.decode(t, &again)
	require.Equal(t, run.ID, again.ID, "one run at a time per job")
	_, first := e.ranking(job.ID, 5)
	require.Equal(t, "queued", first.Rescreen.Status)

	// The criteria change before the run starts: the queued run is the one
	// that re-scores (the event restarts it rather than queueing another).
	job = e.changeCriteria(job, "redis")
	require.Equal(t, 1, e.count("SELECT count(*) FROM screening.rescreen_runs WHERE job_id = $1", job.ID))

	// A worker dies after its first batch: progress shows what it did.
	e.apps.failAfter = 1
	ran, err := e.svc.RescreenOnce(context.Background())
	require.True(t, ran)
	require.Error(t, err)
	st := e.rescreenStatus(job.ID)
	require.Equal(t, "running", st.Status)
	require.Equal(t, 10, st.Done)
	require.Equal(t, 25, st.Total)
	_, first = e.ranking(job.ID, 5)
	require.Equal(t, runBody{ID: run.ID, Status: "running", Reason: "manual", Done: 10, Total: 25, Changed: st.Changed}, *first.Rescreen)

	// Its lease runs out; another worker takes the run over and resumes
	// after the last committed batch.
	ran, err = e.svc.RescreenOnce(context.Background())
	require.False(t, ran, "the lease still holds")
	require.NoError(t, err)
	e.db.Exec(t, "UPDATE screening.rescreen_runs SET lease_until = now() - interval '1 second' WHERE id = $1", run.ID)
	ran, err = e.svc.RescreenOnce(context.Background())
	require.True(t, ran)
	require.NoError(t, err)
	st = e.rescreenStatus(job.ID)
	require.Equal(t, "done", st.Status)
	require.Equal(t, 25, st.Done, "resumed, not restarted")
	require.Equal(t, 25, st.Total)
	require.Equal(t, 2, e.count("SELECT attempts FROM screening.rescreen_runs WHERE id = $1", run.ID))

	// Every result is the model's answer for the new criteria, each changed
	// result was published once more, and the ranking follows.
	e.requireScoredWith(job)
	require.Positive(t, st.Changed)
	require.Equal(t, before+st.Changed, e.count("SELECT count(*) FROM platform.outbox WHERE topic = 'pvara.screening.scored'"))
	items, first := e.ranking(job.ID, 7)
	require.Equal(t, e.expectedRanking(job.ID), items)
	require.Equal(t, "done", first.Rescreen.Status)

	// Nothing left to do; a new request is a new run, and re-screening
	// unchanged inputs publishes nothing.
	ran, err = e.svc.RescreenOnce(context.Background())
	require.False(t, ran)
	require.NoError(t, err)
	r = e.do("POST", path, recruiterA, nil, "Content-Type", "application/json")
	require.Equal(t, 202, r.Status, string(r.Body))
	r.decode(t, &again)
	require.NotEqual(t, run.ID, again.ID)
	ran, err = e.svc.RescreenOnce(context.Background())
	require.True(t, ran)
	require.NoError(t, err)
	st = e.rescreenStatus(job.ID)
	require.Equal(t, runBody{ID: again.ID, Status: "done", Reason: "manual", Done: 25, Total: 25, Changed: 0}, st)
}

// A criteria change during a run starts it over: the batches done with
// the old criteria are done again with the new ones.
func TestCriteriaChangeDuringARunRestartsIt(t *testing.T) {
	t.Parallel()
	e := setup(t, opts{cfg: screening.Config{RescreenBatch: 10}})
	job := scoredJob(t, e, 25)
	job = e.changeCriteria(job, "redis")
	st := e.rescreenStatus(job.ID)
	require.Equal(t, "queued", st.Status)
	require.Equal(t, "criteria_changed", st.Reason)
	var changedAgain screening.Job
	e.apps.onPage = func(page int) {
		if page == 2 { // the second page is being read (the first may or may not be committed yet)
			changedAgain = e.changeCriteria(job, "postgresql", "redis")
		}
	}
	ran, err := e.svc.RescreenOnce(context.Background())
	require.True(t, ran)
	require.NoError(t, err)
	st = e.rescreenStatus(job.ID)
	require.Equal(t, "done", st.Status)
	require.Equal(t, 25, st.Done)
	require.Equal(t, 1, e.count("SELECT count(*) FROM screening.rescreen_runs WHERE job_id = $1", job.ID))
	require.Equal(t, 2, e.count("SELECT generation FROM screening.rescreen_runs WHERE job_id = $1", job.ID))
	e.requireScoredWith(changedAgain)
}

// Access to re-screening.
func TestRescreenAccess(t *testing.T) {
	t.Parallel()
	e := setup(t)
	job := scoredJob(t, e, 1)
	path := "/v1/jobs/" + job.ID.String() + "/rescreen"
	r := e.do("GET", path, recruiterA, nil)
	require.Equal(t, 404, r.Status)
	require.Equal(t, "rescreen_not_found", r.code(t))
	require.Equal(t, 404, e.do("POST", path, recruiterB, nil).Status)
	require.Equal(t, 403, e.do("POST", path, interviewerA, nil).Status)
	require.Equal(t, 403, e.do("POST", path, e.candidateToken(uuid.New()), nil).Status)
	require.Equal(t, 404, e.do("POST", "/v1/jobs/"+uuid.NewString()+"/rescreen", recruiterA, nil).Status)
	require.Equal(t, 0, e.count("SELECT count(*) FROM screening.rescreen_runs"))
	require.Equal(t, 202, e.do("POST", path, recruiterA, nil).Status)
	require.Equal(t, 404, e.do("GET", path, recruiterB, nil).Status)
	require.Equal(t, 1, e.count("SELECT count(*) FROM platform.audit_log WHERE action = 'screening.rescreen_requested'"))
}

// The corpus: built from the published and closed jobs, stored once per
// content, pinned per job at its first score; a re-screening moves the job
// to the current corpus.
func TestCorpusPinnedPerJobAndMovedByRescreen(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	job := e.publishedJob()
	c1, err := e.svc.RefreshCorpus(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, c1)
	again, err := e.svc.RefreshCorpus(ctx)
	require.NoError(t, err)
	require.Equal(t, c1, again)
	require.Equal(t, 1, e.count("SELECT count(*) FROM screening.corpora"))

	a := e.newApp(job, []string{"go"})
	e.submitted(a)
	corpusOf := func(id uuid.UUID) string {
		var c string
		require.NoError(t, e.db.Owner.QueryRow(ctx, "SELECT corpus_id FROM screening.results WHERE application_id = $1", id).Scan(&c))
		return c
	}
	require.Equal(t, c1, corpusOf(a.ID))

	e.publishedJob(func(in *jobs.Input) { in.Title = "Data Entry Operator"; in.Description = "Typing in Urdu and English." })
	c2, err := e.svc.RefreshCorpus(ctx)
	require.NoError(t, err)
	require.NotEqual(t, c1, c2)
	b := e.newApp(job, []string{"go", "redis"})
	e.submitted(b)
	require.Equal(t, c1, corpusOf(b.ID), "the job stays on its corpus")

	require.Equal(t, 202, e.do("POST", "/v1/jobs/"+job.ID.String()+"/rescreen", recruiterA, nil).Status)
	ran, err := e.svc.RescreenOnce(ctx)
	require.True(t, ran)
	require.NoError(t, err)
	require.Equal(t, c2, corpusOf(a.ID))
	require.Equal(t, c2, corpusOf(b.ID))
}
