package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// Problem is an RFC 9457 problem+json body with PVARA's extensions: a stable
// machine code, the request id and, for validation, the bad fields. It is
// the only error shape the API writes.
type Problem struct {
	Type      string              `json:"type" doc:"A URI naming the problem type (urn:pvara:problem:<code>)."`
	Title     string              `json:"title" doc:"Short summary of the problem type."`
	Status    int                 `json:"status" doc:"HTTP status code."`
	Detail    string              `json:"detail,omitempty" doc:"Explanation of this occurrence."`
	Code      string              `json:"code" doc:"Stable machine-readable code, e.g. duplicate_application."`
	RequestID string              `json:"request_id,omitempty" doc:"The request id, also in the X-Request-ID header."`
	Errors    []apperr.FieldError `json:"errors,omitempty" doc:"For validation problems, each bad field."`
	headers   map[string]string   `json:"-"`
}

// Error implements error.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// GetStatus implements huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma send application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" || ct == "" {
		return "application/problem+json"
	}
	return ct
}

// GetHeaders implements huma.HeadersError (Retry-After).
func (p *Problem) GetHeaders() http.Header {
	h := http.Header{}
	for k, v := range p.headers {
		h.Set(k, v)
	}
	return h
}

var kindStatus = map[apperr.Kind]int{
	apperr.KindInternal:             http.StatusInternalServerError,
	apperr.KindBadRequest:           http.StatusBadRequest,
	apperr.KindUnauthenticated:      http.StatusUnauthorized,
	apperr.KindForbidden:            http.StatusForbidden,
	apperr.KindNotFound:             http.StatusNotFound,
	apperr.KindConflict:             http.StatusConflict,
	apperr.KindPreconditionFailed:   http.StatusPreconditionFailed,
	apperr.KindTooLarge:             http.StatusRequestEntityTooLarge,
	apperr.KindUnsupportedMedia:     http.StatusUnsupportedMediaType,
	apperr.KindInvalid:              http.StatusUnprocessableEntity,
	apperr.KindPreconditionRequired: http.StatusPreconditionRequired,
	apperr.KindTooManyRequests:      http.StatusTooManyRequests,
	apperr.KindUnavailable:          http.StatusServiceUnavailable,
}

// statusCode is the code used for problems that did not come from an
// *apperr.Error (huma's own validation, routing, body limits).
var statusCode = map[int]string{
	http.StatusBadRequest:            "malformed_request",
	http.StatusUnauthorized:          "unauthenticated",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusNotAcceptable:         "not_acceptable",
	http.StatusRequestTimeout:        "request_timeout",
	http.StatusConflict:              "conflict",
	http.StatusPreconditionFailed:    "precondition_failed",
	http.StatusRequestEntityTooLarge: "body_too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusUnprocessableEntity:   "validation_failed",
	http.StatusPreconditionRequired:  "precondition_required",
	http.StatusTooManyRequests:       "rate_limited",
	http.StatusInternalServerError:   "internal",
	http.StatusServiceUnavailable:    "unavailable",
}

// NewProblem builds a problem for a status with a code and detail.
func NewProblem(ctx context.Context, status int, code, detail string) *Problem {
	if code == "" {
		code = statusCode[status]
		if code == "" {
			code = "error"
		}
	}
	return &Problem{
		Type:      "urn:pvara:problem:" + code,
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    detail,
		Code:      code,
		RequestID: logx.RequestID(ctx),
	}
}

// ErrorMapper turns any error into a Problem. Errors that are not
// *apperr.Error (or huma's own request errors) are internal: they are logged
// with the request id and answered with a generic 500 that reveals nothing.
type ErrorMapper struct {
	Logger *slog.Logger
}

// FromError maps err for a request context.
func (m *ErrorMapper) FromError(ctx context.Context, err error) *Problem {
	if p, ok := errors.AsType[*Problem](err); ok {
		return p
	}
	if ae, ok := apperr.As(err); ok {
		status := kindStatus[ae.Kind]
		p := NewProblem(ctx, status, ae.Code, ae.Message)
		p.Errors = ae.Fields
		if ae.RetryAfter > 0 {
			p.headers = retryAfterHeader(ae.RetryAfter)
		}
		if status >= 500 {
			m.log(ctx, status, err)
		}
		return p
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return NewProblem(ctx, http.StatusRequestEntityTooLarge, "", "the request body is too large")
	}
	if errors.Is(err, postgres.ErrUnavailable) {
		m.log(ctx, http.StatusServiceUnavailable, err)
		p := NewProblem(ctx, http.StatusServiceUnavailable, "", "a dependency is unavailable; try again shortly")
		p.headers = map[string]string{"Retry-After": "2"}
		return p
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// The client went away; nobody reads this answer.
		return NewProblem(ctx, 499, "client_closed_request", "the client closed the request")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		m.log(ctx, http.StatusServiceUnavailable, err)
		return NewProblem(ctx, http.StatusServiceUnavailable, "timeout", "the request took too long; try again")
	}
	m.log(ctx, http.StatusInternalServerError, err)
	return NewProblem(ctx, http.StatusInternalServerError, "", "an internal error occurred; quote the request id when reporting it")
}

func (m *ErrorMapper) log(ctx context.Context, status int, err error) {
	if m.Logger != nil {
		m.Logger.ErrorContext(ctx, "request failed", "status", status, "error", err.Error())
	}
}

type mapperKey struct{}

// withMapper puts m in the request context, where the huma hook finds it.
func (m *ErrorMapper) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), mapperKey{}, m)))
	})
}

// fallbackMapper serves errors huma builds outside a request (none expected).
var fallbackMapper = &ErrorMapper{}

// installHumaHook makes huma produce Problems. huma keeps its error
// constructor in a package variable, so the hook is process-wide; it finds
// the router's own mapper (and logger) in the request context, so several
// routers in one process (tests) each log to their own logger.
func installHumaHook() { hookOnce.Do(setHumaHook) }

var hookOnce sync.Once

func setHumaHook() {
	huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
		ctx := context.Background()
		if hctx != nil {
			ctx = hctx.Context()
		}
		m, ok := ctx.Value(mapperKey{}).(*ErrorMapper)
		if !ok {
			m = fallbackMapper
		}
		p := m.fromHuma(ctx, status, msg, errs)
		// huma applies headers only from the handler's original error, which
		// for an *apperr.Error has none: set Retry-After here.
		if hctx != nil {
			for k, v := range p.headers {
				hctx.SetHeader(k, v)
			}
		}
		return p
	}
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		return fallbackMapper.fromHuma(context.Background(), status, msg, errs)
	}
}

func (m *ErrorMapper) fromHuma(ctx context.Context, status int, msg string, errs []error) *Problem {
	if status == http.StatusInternalServerError {
		// A handler's own error (or a failure to read the body) arrives
		// here as a 500 carrying that error: map it like any other.
		for _, e := range errs {
			if _, isDetail := e.(*huma.ErrorDetail); e != nil && !isDetail {
				return m.FromError(ctx, e)
			}
		}
		return m.FromError(ctx, errors.New(msg))
	}
	detail := msg
	switch status {
	case http.StatusUnsupportedMediaType:
		detail = "the request body must be application/json"
	case http.StatusUnprocessableEntity:
		detail = "one or more fields are invalid"
	case http.StatusBadRequest:
		if detail == "" || detail == "validation failed" {
			detail = "the request could not be read"
		}
	}
	p := NewProblem(ctx, status, "", detail)
	for _, e := range errs {
		if e == nil {
			continue
		}
		fe := apperr.FieldError{Message: cleanMessage(e.Error())}
		if d, ok := e.(*huma.ErrorDetail); ok {
			// The value is never echoed: it may be a CNIC or a password.
			fe = apperr.FieldError{Location: d.Location, Message: cleanMessage(d.Message)}
		}
		p.Errors = append(p.Errors, fe)
	}
	if status == http.StatusBadRequest && len(p.Errors) == 1 && p.Errors[0].Location == "body" {
		p.Detail = "the request body is not valid JSON: " + p.Errors[0].Message
		p.Errors = nil
	}
	return p
}

// cleanMessage trims huma's messages of Go-isms.
func cleanMessage(s string) string {
	return strings.TrimPrefix(s, "json: ")
}

// retryAfterHeader is the Retry-After header of a hint d, in whole seconds
// rounded up.
func retryAfterHeader(d time.Duration) map[string]string {
	return map[string]string{"Retry-After": strconv.Itoa(int((d + time.Second - 1) / time.Second))}
}

// WriteProblem writes p as the response (for handlers outside huma: the
// router's 404/405, middleware rejections, raw handlers).
func WriteProblem(w http.ResponseWriter, p *Problem) {
	for k, v := range p.headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// WriteError maps err and writes it.
func (m *ErrorMapper) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	WriteProblem(w, m.FromError(r.Context(), err))
}
