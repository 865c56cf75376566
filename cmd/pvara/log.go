package main

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/lmittmann/tint"
	"golang.org/x/term"

	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/logx"
)

// newLogger builds the process logger: JSON when not on a terminal (or
// log.format=json), tint-coloured text on a terminal. Every record written
// with a request context carries its request_id.
func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(cfg.Level))
	isTerm := false
	if f, ok := w.(*os.File); ok {
		isTerm = term.IsTerminal(int(f.Fd()))
	}
	format := cfg.Format
	if format == "" {
		format = "json"
		if isTerm {
			format = "text"
		}
	}
	var h slog.Handler
	if format == "text" {
		h = tint.NewHandler(w, &tint.Options{Level: level, TimeFormat: time.TimeOnly, NoColor: !isTerm})
	} else {
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	}
	return slog.New(logx.NewContextHandler(h))
}
