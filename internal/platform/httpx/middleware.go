package httpx

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/metrics"
)

// RequestIDHeader carries the request id both ways.
const RequestIDHeader = "X-Request-ID"

// saneRequestID accepts an inbound id of 1–128 characters from a safe set,
// so a client's id cannot inject into logs or headers.
func saneRequestID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// RequestID takes a sane inbound X-Request-ID or makes one (a UUIDv7), puts
// it in the context and echoes it on the response. A valid W3C traceparent
// header is kept in the context too, so logs and the events the request
// causes carry the trace.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !saneRequestID(id) {
			id = uuid.Must(uuid.NewV7()).String()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := logx.WithRequestID(r.Context(), id)
		ctx = logx.WithTraceParent(ctx, r.Header.Get("Traceparent"))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Recover turns a panic into a 500 problem; the stack goes to the log, never
// to the client.
func Recover(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler {
					panic(p)
				}
				logger.ErrorContext(r.Context(), "panic serving request",
					"panic", fmt.Sprint(p), "method", r.Method, "path", r.URL.Path, "stack", string(debug.Stack()))
				if rw, ok := w.(*responseWriter); ok && rw.wroteHeader {
					return // too late to change the answer
				}
				WriteProblem(w, NewProblem(r.Context(), http.StatusInternalServerError, "",
					"an internal error occurred; quote the request id when reporting it"))
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// responseWriter records the status and size of a response.
type responseWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status = code
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.status = http.StatusOK
		w.wroteHeader = true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush supports streaming responses (CSV export).
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if !w.wroteHeader {
			w.status = http.StatusOK
			w.wroteHeader = true
		}
		f.Flush()
	}
}

// Hijack keeps the writer usable for upgrades.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}

// HTTPMetrics are the request metrics of one listener.
type HTTPMetrics struct {
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

// NewHTTPMetrics registers pvara_http_request_duration_seconds and
// pvara_http_requests_in_flight.
func NewHTTPMetrics(reg prometheus.Registerer) *HTTPMetrics {
	m := &HTTPMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pvara_http_request_duration_seconds",
			Help:    "Time to serve an API request, by route pattern, method and status.",
			Buckets: metrics.LatencyBuckets,
		}, []string{"route", "method", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pvara_http_requests_in_flight",
			Help: "API requests being served now.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.duration, m.inFlight)
	}
	return m
}

// Observe is the access log and request metrics in one middleware: one log
// line per request with the request id, route pattern, status, duration and
// bytes. Routes are chi patterns (/v1/jobs/{job_id}), so ids never become
// label values.
func Observe(logger *slog.Logger, m *HTTPMetrics, accessLog bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rw := &responseWriter{ResponseWriter: w, status: http.StatusOK}
			m.inFlight.Inc()
			defer func() {
				m.inFlight.Dec()
				route := "unmatched"
				if rc := chi.RouteContext(r.Context()); rc != nil {
					if p := rc.RoutePattern(); p != "" {
						route = p
					}
				}
				elapsed := time.Since(start)
				m.duration.WithLabelValues(route, r.Method, strconv.Itoa(rw.status)).Observe(elapsed.Seconds())
				if accessLog {
					logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
						slog.String("method", r.Method),
						slog.String("route", route),
						slog.Int("status", rw.status),
						slog.Duration("duration", elapsed),
						slog.Int64("bytes", rw.bytes),
					)
				}
			}()
			next.ServeHTTP(rw, r)
		})
	}
}

// SecurityHeaders sets the headers every API response carries. Responses
// default to Cache-Control: no-store; a handler that serves public,
// cacheable data (the job board) overrides it.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// BodyLimit rejects bodies larger than max with 413 and caps the reader for
// bodies of unknown length.
func BodyLimit(max int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > max {
				WriteProblem(w, NewProblem(r.Context(), http.StatusRequestEntityTooLarge, "",
					fmt.Sprintf("the request body is larger than %d bytes", max)))
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, max)
			}
			next.ServeHTTP(w, r)
		})
	}
}
