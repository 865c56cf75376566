package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

func TestScopedReadAppliesTheScopeToItsOneQuery(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	d.Exec(t, `CREATE TABLE public.scoped (id int, org uuid)`)
	d.Exec(t, `ALTER TABLE public.scoped ENABLE ROW LEVEL SECURITY`)
	d.Exec(t, `ALTER TABLE public.scoped FORCE ROW LEVEL SECURITY`)
	d.Exec(t, `CREATE POLICY p ON public.scoped TO pvara_app USING (current_setting('app.scope', true) = 'system'
		OR org = nullif(current_setting('app.org_id', true), '')::uuid)`)
	d.Exec(t, `GRANT SELECT ON public.scoped TO pvara_app`)
	orgA, orgB := uuid.New(), uuid.New()
	d.Exec(t, `INSERT INTO public.scoped VALUES (1, $1), (2, $2)`, orgA, orgB)
	ctx := context.Background()

	count := func(scope postgres.Scope) int {
		var n int
		require.NoError(t, postgres.ScopedRead(ctx, d.App, scope, func(q postgres.DBTX) error {
			return q.QueryRow(ctx, "SELECT count(*) FROM public.scoped").Scan(&n)
		}))
		return n
	}
	// Run more times than the pool has connections: the scope never leaks
	// from one read to the next on the same connection.
	for range 40 {
		require.Equal(t, 2, count(postgres.SystemScope()))
		require.Equal(t, 1, count(postgres.OrgScope(orgA, uuid.Nil)))
		require.Equal(t, 0, count(postgres.PublicScope()))
		require.Equal(t, 1, count(postgres.OrgScope(orgB, uuid.Nil).WithCustomPlans()))
	}
	var ids []int
	require.NoError(t, postgres.ScopedRead(ctx, d.App, postgres.SystemScope(), func(q postgres.DBTX) error {
		rows, err := q.Query(ctx, "SELECT id FROM public.scoped ORDER BY id")
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int])
		return err
	}))
	require.Equal(t, []int{1, 2}, ids)
	var n int
	err := postgres.ScopedRead(ctx, d.App, postgres.SystemScope(), func(q postgres.DBTX) error {
		if err := q.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
			return err
		}
		return q.QueryRow(ctx, "SELECT 2").Scan(&n)
	})
	require.ErrorIs(t, err, postgres.ErrOneQuery)
	err = postgres.ScopedRead(ctx, d.App, postgres.SystemScope(), func(q postgres.DBTX) error {
		return q.QueryRow(ctx, "SELECT id FROM public.scoped WHERE id = 99").Scan(&n)
	})
	require.True(t, postgres.IsNotFound(err))
	// Nothing is left open: the pool's connections are all idle.
	require.Equal(t, d.App.Stat().TotalConns(), d.App.Stat().IdleConns())
}
