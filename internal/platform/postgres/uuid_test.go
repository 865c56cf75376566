package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

func TestUUIDParametersRoundTrip(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7())
	var got uuid.UUID
	var text string
	// As a uuid parameter, a nullable one, in an array and compared as text.
	require.NoError(t, d.App.QueryRow(ctx, "SELECT $1::uuid, $1::uuid::text", id).Scan(&got, &text))
	require.Equal(t, id, got)
	require.Equal(t, id.String(), text)
	var n int
	require.NoError(t, d.App.QueryRow(ctx, "SELECT count(*) FROM unnest($1::uuid[]) u WHERE u = $2", []uuid.UUID{id, uuid.New()}, &id).Scan(&n))
	require.Equal(t, 1, n)
	var null *uuid.UUID
	require.NoError(t, d.App.QueryRow(ctx, "SELECT $1::uuid", null).Scan(&null))
	require.Nil(t, null)
	// A non-nil pointer (a nullable column), then nil again on the same
	// connection: the plan is memoised per type, so both go through it.
	c, err := d.App.Acquire(ctx)
	require.NoError(t, err)
	defer c.Release()
	var back *uuid.UUID
	require.NoError(t, c.QueryRow(ctx, "SELECT $1::uuid", &id).Scan(&back))
	require.Equal(t, id, *back)
	require.NoError(t, c.QueryRow(ctx, "SELECT $1::uuid", null).Scan(&back))
	require.Nil(t, back)
}

// TestUUIDPointerHasItsOwnPlan: a *uuid.UUID is encoded as its 16 bytes,
// not through driver.Valuer (text, a formatted error, a re-parse).
func TestUUIDPointerHasItsOwnPlan(t *testing.T) {
	m := pgtype.NewMap()
	postgres.RegisterUUID(m)
	id := uuid.Must(uuid.NewV7())
	for _, v := range []any{id, &id} {
		plan := m.PlanEncode(pgtype.UUIDOID, pgtype.BinaryFormatCode, v)
		require.NotNil(t, plan)
		require.NotContains(t, fmt.Sprintf("%T", plan), "DriverValuer", "%T", v)
		buf, err := plan.Encode(v, nil)
		require.NoError(t, err)
		require.Equal(t, id[:], buf)
	}
}
