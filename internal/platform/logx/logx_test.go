package logx_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/logx"
)

func TestTraceParent(t *testing.T) {
	t.Parallel()
	good := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := logx.WithTraceParent(context.Background(), good)
	require.Equal(t, good, logx.TraceParent(ctx))
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", logx.TraceID(ctx))

	for _, bad := range []string{
		"",
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // unknown version
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01", // zero trace id
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // zero parent id
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // upper case
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\nX-Injected: 1",
	} {
		require.False(t, logx.ValidTraceParent(bad), bad)
		require.Empty(t, logx.TraceParent(logx.WithTraceParent(context.Background(), bad)), bad)
	}
	require.True(t, logx.ValidTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"), "unsampled")
}
