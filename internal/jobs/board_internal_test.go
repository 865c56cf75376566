package jobs

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// A batch that fails half-way (the server skips the rest, COMMIT included)
// leaves no connection inside a transaction, and the board still reads.
func TestReadBatchRollsBackOnError(t *testing.T) {
	d := testenv.NewDB(t)
	s, err := New(Config{CacheTTL: -1}, Deps{DB: d.App, Logger: logx.Discard()})
	require.NoError(t, err)
	for range 3 {
		var b pgx.Batch
		b.Queue("BEGIN READ ONLY")
		b.Queue("SELECT 1 / 0")
		b.Queue("COMMIT")
		require.Error(t, s.readBatch(t.Context(), &b))
	}
	for _, c := range d.App.AcquireAllIdle(t.Context()) {
		require.Equal(t, byte('I'), c.Conn().PgConn().TxStatus(), "an idle pooled connection is outside any transaction")
		c.Release()
	}
	page, err := s.Board(t.Context(), BoardQuery{})
	require.NoError(t, err)
	require.Empty(t, page.Items)
	require.False(t, page.ValidUntil.IsZero())
}
