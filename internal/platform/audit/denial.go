package audit

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

// ActionPermissionDenied is the action of the entry DenialMiddleware writes.
const ActionPermissionDenied = "authz.permission_denied"

// denialWriteTimeout bounds the audit write of one denied request.
const denialWriteTimeout = 2 * time.Second

// DenialMiddleware writes an audit entry for every request that ends in 403
// Forbidden: who (from the principal), what (method and route pattern, the
// path), from where (client IP), with the request id. It must run after the
// authentication middleware so the principal is known.
//
// It only looks at the status code once the handler is done, so a
// successful request costs no database write at all. The entry of a denied
// request is one autocommit INSERT (about a millisecond) made before the
// response completes, with its own short timeout and unaffected by the
// client going away; a failed write is logged, never turned into a different
// answer. Writing synchronously keeps the entry as reliable as the request
// (nothing queued in memory to lose at shutdown). Denials are rate-limited
// like every request, which bounds how many entries one caller can cause.
func DenialMiddleware(dbtx DBTX, logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.status != http.StatusForbidden {
				return
			}
			recordDenial(r, dbtx, logger)
		})
	}
}

func recordDenial(r *http.Request, dbtx DBTX, logger *slog.Logger) {
	route := r.URL.Path
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
		route = rc.RoutePattern()
	}
	e := Entry{
		Action:     ActionPermissionDenied,
		Resource:   "http",
		ResourceID: r.Method + " " + route,
		Details:    map[string]any{"status": http.StatusForbidden, "method": r.Method, "path": r.URL.Path},
	}
	if ip := httpx.ClientIP(r.Context()); ip.IsValid() {
		e.IP = ip.String()
	}
	if p, ok := authz.FromContext(r.Context()); ok {
		e.ActorID, e.ActorRole, e.OrgID = p.UserID, string(p.Role), p.OrgID
		if p.ClientID != "" {
			e.Details["client_id"] = p.ClientID
		}
	}
	// The client may be gone; the entry is still written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), denialWriteTimeout)
	defer cancel()
	if err := Record(ctx, dbtx, e); err != nil && logger != nil {
		logger.WarnContext(ctx, "audit: could not record a permission denial", "route", route, "error", err)
	}
}

// statusWriter remembers the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush, Hijack and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush keeps streaming responses streaming.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
