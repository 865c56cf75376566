package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// setupPartitioned makes a monthly partitioned table registered with the
// manager, as a module's migration would.
func setupPartitioned(t *testing.T, d *testenv.DB) {
	t.Helper()
	d.Exec(t, `CREATE SCHEMA parttest`)
	d.Exec(t, `CREATE TABLE parttest.events (id bigint, created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)`)
	d.Exec(t, `INSERT INTO platform.partitioned_tables (schema_name, table_name) VALUES ('parttest', 'events')`)
	// The modules' own registered tables (applications) are not these
	// tests' concern: their counts are about parttest.events alone.
	d.Exec(t, `DELETE FROM platform.partitioned_tables WHERE schema_name <> 'parttest'`)
}

func TestPartitionManagerCreatesAheadAndReportsHorizon(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	setupPartitioned(t, d)
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	pm, err := postgres.NewPartitionManager(d.App, postgres.PartitionConfig{MonthsAhead: 3, Now: func() time.Time { return now }})
	require.NoError(t, err)

	// Run as the application role: the SECURITY DEFINER function lets the
	// maintenance role create partitions it does not own.
	n, err := pm.Ensure(ctx)
	require.NoError(t, err)
	// October (last month, for a clock just past a month boundary) through
	// February (three months past November): 5 partitions.
	require.Equal(t, 5, n)

	ahead, err := pm.Observe(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, ahead["parttest.events"], "December, January and February are covered")

	// Idempotent.
	n, err = pm.Ensure(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, n)

	// A row of each covered month lands; one beyond the horizon has no partition.
	_, err = d.Owner.Exec(ctx, `INSERT INTO parttest.events VALUES (1, '2026-10-01T00:00:00Z'), (2, '2027-02-28T23:59:59Z')`)
	require.NoError(t, err)
	_, err = d.Owner.Exec(ctx, `INSERT INTO parttest.events VALUES (3, '2027-03-01T00:00:00Z')`)
	require.True(t, postgres.IsNoPartition(err), "got %v", err)

	// Time moves on: the next run extends the horizon.
	now = now.AddDate(0, 2, 0)
	n, err = pm.Ensure(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func TestPartitionManagerConcurrentRuns(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	setupPartitioned(t, d)
	ctx := context.Background()

	const runners = 6
	var wg sync.WaitGroup
	created := make([]int, runners)
	errs := make([]error, runners)
	for i := range runners {
		wg.Go(func() {
			pm, err := postgres.NewPartitionManager(d.App, postgres.PartitionConfig{MonthsAhead: 12})
			if err != nil {
				errs[i] = err
				return
			}
			created[i], errs[i] = pm.Ensure(ctx)
		})
	}
	wg.Wait()
	total := 0
	for i := range runners {
		require.NoError(t, errs[i])
		total += created[i]
	}
	// Last month, this month and 12 ahead, each made exactly once.
	require.Equal(t, 14, total)
	var parts int
	require.NoError(t, d.Owner.QueryRow(ctx, `SELECT count(*) FROM pg_inherits WHERE inhparent = 'parttest.events'::regclass`).Scan(&parts))
	require.Equal(t, 14, parts)
}

func TestPartitionFunctionRefusesUnregisteredTables(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	d.Exec(t, `CREATE TABLE public.loose (created_at timestamptz NOT NULL) PARTITION BY RANGE (created_at)`)
	_, err := d.App.Exec(context.Background(), `SELECT platform.ensure_monthly_partitions('public', 'loose', now(), 1)`)
	require.ErrorContains(t, err, "not registered")
}
