package applications_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/applications"
)

func TestIDsCarryTheirTimeAndSortByIt(t *testing.T) {
	t.Parallel()
	base := time.Date(2027, 3, 31, 23, 59, 59, 998_000_000, time.UTC)
	prev, err := applications.NewIDAt(base)
	require.NoError(t, err)
	for i := 1; i < 3000; i++ {
		at := base.Add(time.Duration(i) * 700 * time.Nanosecond)
		id, err := applications.NewIDAt(at)
		require.NoError(t, err)
		require.EqualValues(t, 7, id.Version())
		got, ok := applications.IDTime(id)
		require.True(t, ok)
		require.Equal(t, at.Truncate(time.Millisecond), got)
		require.Less(t, prev.String(), id.String(), "ids must sort in time order")
		prev = id
	}
}
