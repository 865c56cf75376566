package jobs_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLifecycleAndPermissions(t *testing.T) {
	t.Parallel()
	e := setup(t)

	// Who may create: recruiters and org admins; candidates and
	// interviewers 403; anonymous 401; a bad token 401.
	for _, c := range []struct {
		token  string
		status int
	}{{candidate, 403}, {interviewerA, 403}, {anonymous, 401}, {"forged", 401}} {
		r := e.do("POST", "/v1/jobs", c.token, e.jobBody())
		require.Equal(t, c.status, r.Status, "create as %q: %s", c.token, r.Body)
	}
	id, etag := e.create(adminA)
	r := e.do("POST", "/v1/jobs", recruiterA, e.jobBody(func(b map[string]any) {
		b["criteria"].(map[string]any)["required_skills"] = []string{"  Go ", "go", "MS   Excel"}
	}))
	require.Equal(t, 201, r.Status)
	job := r.JSON(t)
	require.Equal(t, "draft", job["status"])
	require.Equal(t, e.orgA.String(), job["org_id"])
	require.Equal(t, float64(1), job["version"])
	require.Equal(t, `"v1"`, r.Header.Get("ETag"))
	require.Equal(t, "/v1/jobs/"+job["id"].(string), r.Header.Get("Location"))
	require.Equal(t, []any{"go", "ms excel"}, job["criteria"].(map[string]any)["required_skills"], "skills are normalised")

	// A draft is seen by its organisation's staff only; everybody else gets
	// the same 404 as for a job that does not exist.
	for _, c := range []struct {
		token  string
		status int
	}{{recruiterA, 200}, {interviewerA, 200}, {adminA, 200}, {recruiterB, 404}, {candidate, 404}, {anonymous, 404}} {
		r := e.do("GET", "/v1/jobs/"+id, c.token, nil)
		require.Equal(t, c.status, r.Status, "GET draft as %q", c.token)
		if c.status == 404 {
			code, _ := r.problem(t)
			require.Equal(t, "job_not_found", code)
		} else {
			require.Equal(t, "private, no-store", r.Header.Get("Cache-Control"))
		}
	}
	require.Equal(t, 404, e.do("GET", "/v1/jobs/not-a-uuid", anonymous, nil).Status)

	// Writes: other organisation 404 (even with the right ETag), candidate
	// 403, anonymous 401, no If-Match 428, a stale one 412.
	patch := map[string]any{"title": "Assistant Director (Networks)"}
	require.Equal(t, 404, e.do("PATCH", "/v1/jobs/"+id, recruiterB, patch, "If-Match", etag).Status)
	require.Equal(t, 403, e.do("PATCH", "/v1/jobs/"+id, candidate, patch, "If-Match", etag).Status)
	require.Equal(t, 401, e.do("PATCH", "/v1/jobs/"+id, anonymous, patch, "If-Match", etag).Status)
	r = e.do("PATCH", "/v1/jobs/"+id, recruiterA, patch)
	require.Equal(t, 428, r.Status)
	code, _ := r.problem(t)
	require.Equal(t, "precondition_required", code)
	require.Equal(t, 412, e.do("PATCH", "/v1/jobs/"+id, recruiterA, patch, "If-Match", `"v7"`).Status)
	r = e.do("PATCH", "/v1/jobs/"+id, recruiterA, patch, "If-Match", etag)
	require.Equal(t, 200, r.Status, string(r.Body))
	require.Equal(t, `"v2"`, r.Header.Get("ETag"))
	require.Equal(t, "Assistant Director (Networks)", r.JSON(t)["title"])
	require.Equal(t, 412, e.do("PATCH", "/v1/jobs/"+id, recruiterA, patch, "If-Match", etag).Status, "the old ETag is stale now")
	etag = r.Header.Get("ETag")
	// An empty patch is a 422, not a silent version bump.
	require.Equal(t, 422, e.do("PATCH", "/v1/jobs/"+id, recruiterA, map[string]any{}, "If-Match", etag).Status)

	// Publishing needs If-Match too; other organisations cannot.
	require.Equal(t, 428, e.do("POST", "/v1/jobs/"+id+"/publish", recruiterA, nil).Status)
	require.Equal(t, 404, e.do("POST", "/v1/jobs/"+id+"/publish", recruiterB, nil, "If-Match", etag).Status)
	require.Equal(t, 403, e.do("POST", "/v1/jobs/"+id+"/publish", candidate, nil, "If-Match", etag).Status)
	require.Empty(t, e.events(id), "a draft publishes no event")
	// The action takes an empty body or {}.
	r = e.do("POST", "/v1/jobs/"+id+"/publish", recruiterA, map[string]any{}, "If-Match", etag)
	require.Equal(t, 200, r.Status, string(r.Body))
	require.Equal(t, "published", r.JSON(t)["status"])
	require.Equal(t, true, r.JSON(t)["open"])
	etag = r.Header.Get("ETag")
	evs := e.events(id)
	require.Equal(t, []string{"jobs.published"}, eventTypes(evs))
	require.Equal(t, e.orgA.String(), evs[0].OrgID)
	require.Equal(t, id, evs[0].Data["job_id"])
	require.Equal(t, "bachelor", evs[0].Data["criteria"].(map[string]any)["min_education"])
	// Publishing twice is an invalid transition.
	r = e.do("POST", "/v1/jobs/"+id+"/publish", recruiterA, nil, "If-Match", etag)
	require.Equal(t, 409, r.Status)
	code, _ = r.problem(t)
	require.Equal(t, "invalid_transition", code)

	// Published: anyone reads it, with an ETag and If-None-Match → 304.
	for _, tok := range []string{anonymous, candidate, recruiterB} {
		r = e.do("GET", "/v1/jobs/"+id, tok, nil)
		require.Equal(t, 200, r.Status)
		require.Equal(t, etag, r.Header.Get("ETag"))
		require.Contains(t, r.Header.Get("Cache-Control"), "public")
	}
	r = e.do("GET", "/v1/jobs/"+id, anonymous, nil, "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, r.Status)
	require.Empty(t, r.Body)
	require.Equal(t, etag, r.Header.Get("ETag"))
	require.Equal(t, 200, e.do("GET", "/v1/jobs/"+id, anonymous, nil, "If-None-Match", `"v1"`).Status)

	// Editing a published job's title: no criteria event. Its criteria:
	// jobs.criteria_changed, in the same transaction.
	r = e.do("PATCH", "/v1/jobs/"+id, recruiterA, map[string]any{"description": "Run the regulator's services, day and night."}, "If-Match", etag)
	require.Equal(t, 200, r.Status, string(r.Body))
	etag = r.Header.Get("ETag")
	require.Equal(t, []string{"jobs.published"}, eventTypes(e.events(id)))
	r = e.do("PATCH", "/v1/jobs/"+id, recruiterA, map[string]any{"criteria": map[string]any{
		"min_education": "master", "min_experience_years": 3, "required_skills": []string{"go"},
	}}, "If-Match", etag)
	require.Equal(t, 200, r.Status, string(r.Body))
	etag = r.Header.Get("ETag")
	evs = e.events(id)
	require.Equal(t, []string{"jobs.published", "jobs.criteria_changed"}, eventTypes(evs))
	require.Equal(t, "master", evs[1].Data["criteria"].(map[string]any)["min_education"])
	require.Equal(t, float64(5), evs[1].Data["version"])

	// Closing: other organisation 404, then the owner.
	require.Equal(t, 404, e.do("POST", "/v1/jobs/"+id+"/close", recruiterB, nil, "If-Match", etag).Status)
	r = e.do("POST", "/v1/jobs/"+id+"/close", recruiterA, nil, "If-Match", etag)
	require.Equal(t, 200, r.Status, string(r.Body))
	closed := r.JSON(t)
	require.Equal(t, "closed", closed["status"])
	require.Equal(t, false, closed["open"])
	require.NotNil(t, closed["closed_at"])
	etag = r.Header.Get("ETag")
	evs = e.events(id)
	require.Equal(t, []string{"jobs.published", "jobs.criteria_changed", "jobs.closed"}, eventTypes(evs))
	require.Equal(t, "manual", evs[2].Data["reason"])

	// Closed jobs are still readable by anyone, and no longer editable.
	require.Equal(t, 200, e.do("GET", "/v1/jobs/"+id, anonymous, nil).Status)
	r = e.do("PATCH", "/v1/jobs/"+id, recruiterA, patch, "If-Match", etag)
	require.Equal(t, 409, r.Status)
	code, _ = r.problem(t)
	require.Equal(t, "job_not_editable", code)
	require.Equal(t, 409, e.do("POST", "/v1/jobs/"+id+"/close", recruiterA, nil, "If-Match", etag).Status)
	require.Equal(t, 409, e.do("POST", "/v1/jobs/"+id+"/publish", recruiterA, nil, "If-Match", etag).Status)

	// A draft cannot be closed.
	id2, etag2 := e.create(recruiterA)
	require.Equal(t, 409, e.do("POST", "/v1/jobs/"+id2+"/close", recruiterA, nil, "If-Match", etag2).Status)

	// Every change was audited with its actor.
	var actions []string
	require.NoError(t, e.db.Owner.QueryRow(t.Context(),
		"SELECT array_agg(action ORDER BY id) FROM platform.audit_log WHERE resource = 'job' AND resource_id = $1 AND actor_id IS NOT NULL",
		id).Scan(&actions))
	require.Equal(t, []string{"jobs.created", "jobs.updated", "jobs.published", "jobs.updated", "jobs.updated", "jobs.closed"}, actions)
}

func TestConcurrentEditorsOneWins(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id, etag := e.createPublished()
	const editors = 6
	var wg sync.WaitGroup
	statuses := make([]int, editors)
	start := make(chan struct{})
	for i := range editors {
		wg.Go(func() {
			<-start
			token := recruiterA
			if i%2 == 1 {
				token = adminA
			}
			r := e.do("PATCH", "/v1/jobs/"+id, token, map[string]any{"positions": 10 + i}, "If-Match", etag)
			statuses[i] = r.Status
		})
	}
	close(start)
	wg.Wait()
	wins, stale := 0, 0
	for _, s := range statuses {
		switch s {
		case 200:
			wins++
		case 412:
			stale++
		default:
			t.Fatalf("unexpected status %d", s)
		}
	}
	require.Equal(t, 1, wins, "exactly one editor wins: %v", statuses)
	require.Equal(t, editors-1, stale)
	r := e.do("GET", "/v1/jobs/"+id, recruiterA, nil)
	require.Equal(t, float64(3), r.JSON(t)["version"], "one change: created v1, published v2, edited v3")
}

func TestDeadlinePassesBeforeMaintenance(t *testing.T) {
	t.Parallel()
	e := setup(t)
	closesAt := time.Now().Add(1500 * time.Millisecond)
	id, etag := e.createPublished(func(b map[string]any) {
		b["opens_at"] = time.Now().Add(-time.Hour).Format(time.RFC3339Nano)
		b["closes_at"] = closesAt.Format(time.RFC3339Nano)
	})
	ids, _ := boardIDs(t, e.do("GET", "/v1/jobs", anonymous, nil))
	require.Contains(t, ids, id)
	r := e.do("GET", "/v1/jobs/"+id, anonymous, nil)
	require.Equal(t, "published", r.JSON(t)["status"])
	require.Equal(t, etag, r.Header.Get("ETag"))

	time.Sleep(time.Until(closesAt) + 50*time.Millisecond)
	// Nothing has written "closed" yet, but no read shows the job open:
	// not the (cached) board, not the job itself, and the ETag changed so
	// a client's copy cannot be revalidated as current.
	ids, _ = boardIDs(t, e.do("GET", "/v1/jobs", anonymous, nil))
	require.NotContains(t, ids, id)
	r = e.do("GET", "/v1/jobs/"+id, anonymous, nil, "If-None-Match", etag)
	require.Equal(t, 200, r.Status)
	require.Equal(t, "closed", r.JSON(t)["status"])
	require.Equal(t, false, r.JSON(t)["open"])
	require.NotEqual(t, etag, r.Header.Get("ETag"))
	var stored string
	require.NoError(t, e.db.Owner.QueryRow(t.Context(), "SELECT status FROM jobs.jobs WHERE id = $1", id).Scan(&stored))
	require.Equal(t, "published", stored)
	// The job cannot be edited past its deadline.
	require.Equal(t, 409, e.do("PATCH", "/v1/jobs/"+id, recruiterA, map[string]any{"positions": 3}, "If-Match", r.Header.Get("ETag")).Status)

	// The maintenance task writes it down and emits jobs.closed once.
	n, err := e.svc.CloseDue(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = e.svc.CloseDue(t.Context())
	require.NoError(t, err)
	require.Equal(t, 0, n)
	require.NoError(t, e.db.Owner.QueryRow(t.Context(), "SELECT status FROM jobs.jobs WHERE id = $1", id).Scan(&stored))
	require.Equal(t, "closed", stored)
	evs := e.events(id)
	require.Equal(t, []string{"jobs.published", "jobs.closed"}, eventTypes(evs))
	require.Equal(t, "deadline", evs[1].Data["reason"])
}
