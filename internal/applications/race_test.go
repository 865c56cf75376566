package applications_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/authz"
)

// parallel runs fn n times at once and returns the responses.
func parallel(n int, fn func(i int) resp) []resp {
	out := make([]resp, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

func (w *world) count(sql string, args ...any) int {
	w.t.Helper()
	var n int
	require.NoError(w.t, w.db.Owner.QueryRow(w.t.Context(), sql, args...).Scan(&n))
	return n
}

func TestFiftyConcurrentSubmissionsMakeOneApplication(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	job := w.job()
	path := "/v1/jobs/" + job.String() + "/applications"
	res := parallel(50, func(int) resp { return doHTTP(t, w.srv, "POST", path, candA, nil) })
	created, dup := 0, 0
	for _, r := range res {
		switch {
		case r.Status == 201:
			created++
		case r.Status == 409 && r.code(t) == "duplicate_application":
			dup++
		default:
			t.Fatalf("unexpected answer %d %s", r.Status, r.Body)
		}
	}
	require.Equal(t, 1, created)
	require.Equal(t, 49, dup)
	require.Equal(t, 1, w.count("SELECT count(*) FROM applications.applications WHERE job_id = $1", job))
	require.Equal(t, 1, w.count("SELECT count(*) FROM applications.guards WHERE job_id = $1", job))
	require.Equal(t, 1, w.count("SELECT count(*) FROM applications.status_history"))
	require.Equal(t, 1, w.count("SELECT count(*) FROM platform.outbox WHERE topic = 'pvara.applications.submitted'"))
}

func TestFiftyConcurrentSubmissionsWithOneIdempotencyKey(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	job := w.job()
	path := "/v1/jobs/" + job.String() + "/applications"
	body := map[string]any{"cover_letter": "hello"}
	res := parallel(50, func(int) resp {
		return doHTTP(t, w.srv, "POST", path, candA, body, "Idempotency-Key", "retry-me-1")
	})
	var first string
	original, replays, inFlight := 0, 0, 0
	for _, r := range res {
		switch {
		case r.Status == 201 && r.Header.Get("Idempotent-Replayed") == "":
			original++
			first = string(r.Body)
		case r.Status == 201:
			replays++
		case r.Status == 409 && r.code(t) == "idempotency_key_in_flight":
			inFlight++
		default:
			t.Fatalf("unexpected answer %d %s", r.Status, r.Body)
		}
	}
	require.Equal(t, 1, original)
	require.Equal(t, 50, original+replays+inFlight)
	for _, r := range res {
		if r.Status == 201 {
			require.JSONEq(t, first, string(r.Body))
		}
	}
	require.Equal(t, 1, w.count("SELECT count(*) FROM applications.applications WHERE job_id = $1", job))
	// A retry after the storm is a replay of the same answer.
	r := w.do("POST", path, candA, body, "Idempotency-Key", "retry-me-1")
	require.Equal(t, 201, r.Status)
	require.Equal(t, "true", r.Header.Get("Idempotent-Replayed"))
	require.JSONEq(t, first, string(r.Body))
}

func TestSameCandidateInTwoMonthsIsStillADuplicate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	start := time.Now().UTC()
	job := w.job(func(j *applications.JobView) {
		j.OpensAt = start.Add(-time.Hour)
		j.ClosesAt = start.AddDate(1, 0, 0)
	})
	first := w.submit(candA, job)
	for _, later := range []time.Time{
		start.AddDate(0, 2, 0), // a partition made by the migration
		start.AddDate(0, 9, 0), // beyond the horizon: created on demand
	} {
		w.clock.Set(later)
		res := w.do("POST", "/v1/jobs/"+job.String()+"/applications", candA, nil)
		require.Equal(t, 409, res.Status, string(res.Body))
		require.Equal(t, "duplicate_application", res.code(t))
	}
	// Another candidate in the far month is accepted into that month's
	// partition, which the submission created because none existed.
	res := w.do("POST", "/v1/jobs/"+job.String()+"/applications", candB, nil)
	require.Equal(t, 201, res.Status, string(res.Body))
	second := res.json(t)
	late := start.AddDate(0, 9, 0)
	part := fmt.Sprintf("applications_p%04d%02d", late.Year(), int(late.Month()))
	require.Equal(t, 1, w.count("SELECT count(*) FROM pg_class WHERE relname = $1", part))
	require.Equal(t, 1, w.count("SELECT count(*) FROM applications."+part+" WHERE id = $1", second["id"]))
	firstMonth := fmt.Sprintf("applications_p%04d%02d", start.Year(), int(start.Month()))
	require.Equal(t, 1, w.count("SELECT count(*) FROM applications."+firstMonth+" WHERE id = $1", first["id"]))
	// Both are found by id (the id names the partition).
	for _, id := range []any{first["id"], second["id"]} {
		tok := candA
		if id == second["id"] {
			tok = candB
		}
		require.Equal(t, 200, w.do("GET", fmt.Sprintf("/v1/applications/%s", id), tok, nil).Status)
	}
}

func TestSubmissionsRacingTheCloseAreAcceptedBeforeItOrRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const n = 40
	tokens := make([]string, n)
	for i := range n {
		tokens[i] = fmt.Sprintf("racer-%d", i)
		w.tokens[tokens[i]] = authz.Principal{UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleCandidate}
		r := w.do("PUT", "/v1/me/profile", tokens[i], validProfile())
		require.Equal(t, 200, r.Status, string(r.Body))
	}
	closes := time.Now().Add(100 * time.Millisecond)
	job := w.job(func(j *applications.JobView) { j.ClosesAt = closes })
	path := "/v1/jobs/" + job.String() + "/applications"
	res := parallel(n, func(i int) resp {
		time.Sleep(time.Duration(i) * 5 * time.Millisecond) // spread across the deadline
		return doHTTP(t, w.srv, "POST", path, tokens[i], nil)
	})
	accepted := 0
	for i, r := range res {
		cand := w.tokens[tokens[i]].UserID
		switch r.Status {
		case 201:
			accepted++
			created, err := time.Parse(time.RFC3339Nano, r.json(t)["created_at"].(string))
			require.NoError(t, err)
			require.True(t, created.Before(closes), "accepted at %s, closes at %s", created, closes)
		case 409:
			require.Equal(t, "job_not_open", r.code(t))
			require.Equal(t, 0, w.count("SELECT count(*) FROM applications.applications WHERE candidate_id = $1", cand))
		default:
			t.Fatalf("unexpected answer %d %s", r.Status, r.Body)
		}
	}
	require.Equal(t, accepted, w.count("SELECT count(*) FROM applications.applications WHERE job_id = $1", job))
	// Every stored application was made before the deadline.
	require.Equal(t, 0, w.count("SELECT count(*) FROM applications.applications WHERE job_id = $1 AND created_at >= $2", job, closes))
}

func TestConcurrentCandidatesGetDistinctReceipts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const n = 30
	tokens := make([]string, n)
	for i := range n {
		tokens[i] = fmt.Sprintf("many-%d", i)
		w.tokens[tokens[i]] = authz.Principal{UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleCandidate}
		r := w.do("PUT", "/v1/me/profile", tokens[i], validProfile())
		require.Equal(t, 200, r.Status, string(r.Body))
	}
	job := w.job()
	res := parallel(n, func(i int) resp {
		return doHTTP(t, w.srv, "POST", "/v1/jobs/"+job.String()+"/applications", tokens[i], nil)
	})
	seen := map[string]bool{}
	for _, r := range res {
		require.Equal(t, 201, r.Status, string(r.Body))
		rn := r.json(t)["receipt_number"].(string)
		require.Regexp(t, `^PV\d\d-\d{9}$`, rn)
		require.False(t, seen[rn], "receipt %s given twice", rn)
		seen[rn] = true
	}
	require.Equal(t, n, w.count("SELECT count(DISTINCT receipt_number) FROM applications.applications WHERE job_id = $1", job))
}
