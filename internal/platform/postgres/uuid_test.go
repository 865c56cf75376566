package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

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
}
