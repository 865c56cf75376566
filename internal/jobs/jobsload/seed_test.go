package jobsload_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/jobs/jobsload"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

func TestSeed(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	res, err := jobsload.Seed(t.Context(), d.Owner, jobsload.SeedConfig{Jobs: 600, Open: 40, Drafts: 10, Orgs: 3})
	require.NoError(t, err)
	require.Equal(t, 550, res.Closed)
	var open, drafts, closed, indexes int
	require.NoError(t, d.Owner.QueryRow(t.Context(), `SELECT
		count(*) FILTER (WHERE status = 'published' AND opens_at <= now() AND closes_at > now()),
		count(*) FILTER (WHERE status = 'draft'),
		count(*) FILTER (WHERE status = 'closed' AND closes_at < now())
		FROM jobs.jobs`).Scan(&open, &drafts, &closed))
	require.Equal(t, []int{40, 10, 550}, []int{open, drafts, closed})
	// The secondary indexes are back after the load.
	require.NoError(t, d.Owner.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_indexes WHERE schemaname = 'jobs' AND tablename = 'jobs'").Scan(&indexes))
	require.Equal(t, 10, indexes)
	// Searchable in English and romanised Urdu.
	var hits int
	require.NoError(t, d.Owner.QueryRow(t.Context(),
		"SELECT count(*) FROM jobs.jobs WHERE search_vector @@ websearch_to_tsquery('simple', 'mulazmat')").Scan(&hits))
	require.Positive(t, hits)
}
