// Package logx carries request-scoped values (the request id) in a context and
// adds them to every log record written with that context, so a handler deep
// in a module logs with `logger.InfoContext(ctx, ...)` and the line still
// carries the request id.
package logx

import (
	"context"
	"log/slog"
)

type ctxKey struct{}

type traceKey struct{}

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// WithTraceParent returns ctx carrying a W3C traceparent (as received from
// a client or a tracing proxy); invalid values are dropped, so one never
// reaches a log line or an event header.
func WithTraceParent(ctx context.Context, tp string) context.Context {
	if !ValidTraceParent(tp) {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, tp)
}

// TraceParent returns the traceparent in ctx, or "".
func TraceParent(ctx context.Context) string {
	tp, _ := ctx.Value(traceKey{}).(string)
	return tp
}

// TraceID returns the trace id part of the traceparent in ctx, or "".
func TraceID(ctx context.Context) string {
	tp := TraceParent(ctx)
	if tp == "" {
		return ""
	}
	return tp[3:35]
}

// ValidTraceParent reports whether s is a W3C trace-context traceparent of
// version 00: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>, with
// ids not all zero.
func ValidTraceParent(s string) bool {
	if len(s) != 55 || s[:3] != "00-" || s[35] != '-' || s[52] != '-' {
		return false
	}
	hex := func(part string) bool {
		nonZero := false
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
			nonZero = nonZero || c != '0'
		}
		return nonZero
	}
	flags := s[53:]
	return hex(s[3:35]) && hex(s[36:52]) && (hex(flags) || flags == "00")
}

// ContextHandler wraps a handler and adds request_id from the record's
// context.
type ContextHandler struct{ slog.Handler }

// NewContextHandler wraps h.
func NewContextHandler(h slog.Handler) *ContextHandler { return &ContextHandler{Handler: h} }

// Handle adds the request id, when there is one.
func (h *ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if id := TraceID(ctx); id != "" {
		r.AddAttrs(slog.String("trace_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper.
func (h *ContextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &ContextHandler{Handler: h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper.
func (h *ContextHandler) WithGroup(name string) slog.Handler {
	return &ContextHandler{Handler: h.Handler.WithGroup(name)}
}

// Discard is a logger that writes nothing, for tests and optional loggers.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
