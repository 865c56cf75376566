package applications_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/applications"
)

func TestIdempotencyReplayMismatchAndExpiry(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	job, other := w.job(), w.job()
	path := "/v1/jobs/" + job.String() + "/applications"
	first := w.do("POST", path, candA, map[string]any{"cover_letter": "one"}, "Idempotency-Key", "k-1")
	require.Equal(t, 201, first.Status, string(first.Body))
	require.Empty(t, first.Header.Get("Idempotent-Replayed"))

	// Same key, same request: the same answer, not a duplicate error.
	again := w.do("POST", path, candA, map[string]any{"cover_letter": "one"}, "Idempotency-Key", "k-1")
	require.Equal(t, 201, again.Status)
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.JSONEq(t, string(first.Body), string(again.Body))
	require.Equal(t, first.Header.Get("Location"), again.Header.Get("Location"))

	// Same key, another body or another job: refused, nothing written.
	for _, r := range []resp{
		w.do("POST", path, candA, map[string]any{"cover_letter": "two"}, "Idempotency-Key", "k-1"),
		w.do("POST", "/v1/jobs/"+other.String()+"/applications", candA, nil, "Idempotency-Key", "k-1"),
	} {
		require.Equal(t, 422, r.Status, string(r.Body))
		require.Equal(t, "idempotency_key_reused", r.code(t))
	}
	require.Equal(t, 1, w.count("SELECT count(*) FROM applications.applications"))

	// Keys are the caller's: another candidate may use the same one.
	r := w.do("POST", path, candB, map[string]any{"cover_letter": "one"}, "Idempotency-Key", "k-1")
	require.Equal(t, 201, r.Status, string(r.Body))
	require.Empty(t, r.Header.Get("Idempotent-Replayed"))

	// Without a key a second submission is the duplicate it is.
	r = w.do("POST", path, candA, map[string]any{"cover_letter": "one"})
	require.Equal(t, 409, r.Status)
	require.Equal(t, "duplicate_application", r.code(t))

	// After 24 hours the key is forgotten (and purged by maintenance): it
	// may name a new request.
	w.clock.Set(time.Now().Add(24*time.Hour + time.Minute))
	r = w.do("POST", "/v1/jobs/"+other.String()+"/applications", candA, nil, "Idempotency-Key", "k-1")
	require.Equal(t, 201, r.Status, string(r.Body))
	require.Empty(t, r.Header.Get("Idempotent-Replayed"))
	w.clock.Set(time.Now().Add(48*time.Hour + 2*time.Minute))
	n, err := w.svc.PurgeIdempotencyKeys(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 2, n) // candA's (renewed at +24h) and candB's
	require.Equal(t, 0, w.count("SELECT count(*) FROM applications.idempotency_keys"))
	task := w.svc.MaintenanceTask()
	require.Equal(t, "applications-idempotency-purge", task.Name)
	require.NoError(t, task.Run(t.Context()))

	// A malformed key is refused.
	r = w.do("POST", path, candB, nil, "Idempotency-Key", "bad\u00e9key")
	require.Equal(t, 422, r.Status, string(r.Body))
}

func TestIdempotencyKeyInFlight(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	job := w.job()
	user := w.tokens[candA].UserID
	// Another request with the key holds its lock (an open transaction).
	tx, err := w.db.Owner.Begin(t.Context())
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(t.Context()) }()
	_, err = tx.Exec(t.Context(), "SELECT pg_advisory_xact_lock($1)", applications.LockKey(user, "busy"))
	require.NoError(t, err)

	path := "/v1/jobs/" + job.String() + "/applications"
	r := w.do("POST", path, candA, nil, "Idempotency-Key", "busy")
	require.Equal(t, 409, r.Status, string(r.Body))
	require.Equal(t, "idempotency_key_in_flight", r.code(t))
	require.Equal(t, 0, w.count("SELECT count(*) FROM applications.applications"))
	// Another key, or the same key of another user, is not blocked.
	require.Equal(t, 201, w.do("POST", path, candB, nil, "Idempotency-Key", "busy").Status)

	require.NoError(t, tx.Rollback(t.Context()))
	r = w.do("POST", path, candA, nil, "Idempotency-Key", "busy")
	require.Equal(t, 201, r.Status, string(r.Body))
}

func TestIdempotentTransitionAndWithdraw(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.submit(candA, w.job())["id"].(string)
	tr := func(to string) resp {
		return w.do("POST", "/v1/applications/"+id+"/transition", recruiterA, map[string]any{"to": to}, "Idempotency-Key", "move-1")
	}
	first := tr("under_review")
	require.Equal(t, 200, first.Status, string(first.Body))
	again := tr("under_review")
	require.Equal(t, 200, again.Status, string(again.Body))
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.JSONEq(t, string(first.Body), string(again.Body))
	require.Equal(t, 1, w.count("SELECT count(*) FROM platform.outbox WHERE event_key = $1 AND topic = 'pvara.applications.status_changed'", id))
	r := tr("shortlisted")
	require.Equal(t, 422, r.Status)
	require.Equal(t, "idempotency_key_reused", r.code(t))

	wd := func() resp {
		return w.do("POST", "/v1/applications/"+id+"/withdraw", candA, nil, "Idempotency-Key", "wd-1")
	}
	first = wd()
	require.Equal(t, 200, first.Status, string(first.Body))
	again = wd()
	require.Equal(t, 200, again.Status, string(again.Body))
	require.JSONEq(t, string(first.Body), string(again.Body))
	require.Equal(t, 1, w.count("SELECT count(*) FROM platform.outbox WHERE event_key = $1 AND topic = 'pvara.applications.withdrawn'", id))
}
