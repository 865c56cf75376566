package applications_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// SubmittedMany reads a batch of applications across monthly partitions
// with one query, in the order asked, each once, leaving out the ids it
// has no application for.
func TestSubmittedManyReadsABatchAcrossPartitions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.clock.Set(time.Now().Add(-45 * 24 * time.Hour)) // last month's partition
	old := uuid.MustParse(w.submit(candA, w.job())["id"].(string))
	w.clock.Set(time.Time{})
	job := w.job()
	a := uuid.MustParse(w.submit(candA, job)["id"].(string))
	b := uuid.MustParse(w.submit(candB, job)["id"].(string))

	got, err := w.svc.SubmittedMany(t.Context(), []uuid.UUID{b, uuid.Must(uuid.NewV7()), old, uuid.New(), b, a})
	require.NoError(t, err)
	var ids []uuid.UUID
	for _, s := range got {
		ids = append(ids, s.ApplicationID)
	}
	require.Equal(t, []uuid.UUID{b, old, a}, ids)
	one, err := w.svc.Submitted(t.Context(), a)
	require.NoError(t, err)
	require.Equal(t, one, got[2], "the same snapshot as Submitted reads")

	none, err := w.svc.SubmittedMany(t.Context(), []uuid.UUID{uuid.New()})
	require.NoError(t, err)
	require.Empty(t, none)
}

// ApplyScoresTx stores a batch of scores with one statement under the
// one-at-a-time rule: only a newer score replaces the stored one, the
// newest of several for one application wins, an unknown application
// changes nothing, and applying the same batch again changes nothing.
func TestApplyScoresTxKeepsTheNewestScore(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.clock.Set(time.Now().Add(-45 * 24 * time.Hour))
	old := uuid.MustParse(w.submit(candA, w.job())["id"].(string))
	w.clock.Set(time.Time{})
	job := w.job()
	a := uuid.MustParse(w.submit(candA, job)["id"].(string))
	b := uuid.MustParse(w.submit(candB, job)["id"].(string))
	at := time.Now().UTC().Truncate(time.Microsecond)
	sc := func(id uuid.UUID, score float64, scoredAt time.Time) applications.ScoredV1 {
		return applications.ScoredV1{ApplicationID: id, JobID: job, OrgID: w.orgA, Score: score, Eligible: true,
			ModelVersion: "m1", ScoredAt: scoredAt}
	}
	apply := func(evs ...applications.ScoredV1) []uuid.UUID {
		var changed []uuid.UUID
		require.NoError(t, postgres.ScopedTx(context.Background(), w.db.App, postgres.SystemScope(), func(tx pgx.Tx) error {
			var err error
			changed, err = w.svc.ApplyScoresTx(t.Context(), tx, evs)
			return err
		}))
		return changed
	}
	batch := []applications.ScoredV1{
		sc(a, 70.126, at.Add(time.Second)), sc(a, 10, at), // the newer first: it wins
		sc(b, 20, at), sc(b, 55.5, at.Add(time.Second)), // the newer last: it wins
		sc(old, 33, at), sc(uuid.Must(uuid.NewV7()), 50, at), sc(uuid.New(), 50, at),
	}
	require.ElementsMatch(t, []uuid.UUID{a, b, old}, apply(batch...))
	require.Empty(t, apply(batch...), "a redelivered batch changes nothing")
	require.Empty(t, apply(sc(a, 99, at)), "an older score changes nothing")
	require.Equal(t, []uuid.UUID{a}, apply(sc(a, 99, at.Add(time.Minute))))

	score := func(id uuid.UUID) float64 {
		s, err := w.svc.Submitted(t.Context(), id)
		require.NoError(t, err)
		var v float64
		require.NoError(t, w.db.Owner.QueryRow(t.Context(),
			"SELECT ai_score::float8 FROM applications.applications WHERE id = $1", s.ApplicationID).Scan(&v))
		return v
	}
	require.Equal(t, 99.0, score(a))
	require.Equal(t, 55.5, score(b))
	require.Equal(t, 33.0, score(old))
}
