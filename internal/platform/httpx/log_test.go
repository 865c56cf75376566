package httpx_test

import (
	"io"
	"log/slog"
	"sync"

	"github.com/pvara-gov/pvara/internal/platform/logx"
)

// lockedWriter serialises writes from concurrent handlers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newJSONLogger(w io.Writer) *slog.Logger {
	return slog.New(logx.NewContextHandler(slog.NewJSONHandler(&lockedWriter{w: w}, nil)))
}
