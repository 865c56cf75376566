// Package httpx is the HTTP plumbing shared by every module: the chi router
// with huma (OpenAPI 3.1 generated from the Go types), middleware, the one
// error writer (RFC 9457 problem+json), keyset cursors, the admin listener
// and graceful serving.
package httpx

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/cors"
	"github.com/google/uuid"
)

// RouterConfig configures the public API router.
type RouterConfig struct {
	Title          string
	Version        string
	MaxBodyBytes   int64
	CORSOrigins    []string
	TrustedProxies []string
	AccessLog      bool
	// Admission, when set, gates requests after the client IP and body
	// limit and before Middlewares.
	Admission *Admission
	// Middlewares run after the built-in ones (request id, metrics and access
	// log, recovery, security headers, CORS, client IP, body limit,
	// admission), in order;
	// authentication and rate limiting go here.
	Middlewares []func(http.Handler) http.Handler
}

// Router is the public API: a chi mux and the huma API on it. Modules
// register their operations on API.
type Router struct {
	Mux    *chi.Mux
	API    huma.API
	Errors *ErrorMapper
}

// OpenAPIPath is where the OpenAPI document is served (with .json/.yaml).
const OpenAPIPath = "/v1/openapi"

// NewRouter builds the public router with every middleware installed and
// /v1/openapi.json served.
func NewRouter(cfg RouterConfig, logger *slog.Logger, m *HTTPMetrics) (*Router, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	ips, err := NewClientIPResolver(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	errs := &ErrorMapper{Logger: logger}
	installHumaHook()

	mux := chi.NewMux()
	mux.Use(RequestID, Observe(logger, m, cfg.AccessLog), Recover(logger), SecurityHeaders, errs.middleware)
	if len(cfg.CORSOrigins) > 0 {
		mux.Use(cors.Handler(cors.Options{
			AllowedOrigins:   cfg.CORSOrigins,
			AllowedMethods:   []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
			AllowedHeaders:   []string{"Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key", RequestIDHeader},
			ExposedHeaders:   []string{"ETag", "Location", "Retry-After", "RateLimit", "RateLimit-Policy", RequestIDHeader},
			AllowCredentials: false,
			MaxAge:           600,
		}))
	}
	mux.Use(ips.Middleware, BodyLimit(cfg.MaxBodyBytes))
	if cfg.Admission != nil {
		// Before authentication and the rate limiter: a refusal costs
		// nothing but its answer.
		mux.Use(cfg.Admission.Middleware(errs))
	}
	for _, mw := range cfg.Middlewares {
		mux.Use(mw)
	}
	mux.NotFound(func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, NewProblem(r.Context(), http.StatusNotFound, "not_found", "no such resource: "+r.Method+" "+r.URL.Path))
	})
	mux.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, NewProblem(r.Context(), http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here"))
	})

	hc := huma.DefaultConfig(cfg.Title, cfg.Version)
	// huma's own spec handler caches lazily without synchronisation (a data
	// race under concurrent first requests); serve the document ourselves.
	hc.OpenAPIPath = ""
	hc.DocsPath = "" // the docs UI loads scripts from a CDN; serve the document only
	hc.SchemasPath = ""
	hc.CreateHooks = nil // no $schema links in bodies
	hc.Formats = map[string]huma.Format{
		"application/json": huma.DefaultJSONFormat,
		"json":             huma.DefaultJSONFormat,
	}
	hc.Info.Description = "The REST API of PVARA, the national recruitment portal. Errors are RFC 9457 problem+json with a stable `code` and the `request_id`."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT"},
	}
	maxBody := cfg.MaxBodyBytes
	hc.OnAddOperation = append(hc.OnAddOperation, func(_ *huma.OpenAPI, op *huma.Operation) {
		if op.MaxBodyBytes == 0 {
			op.MaxBodyBytes = maxBody
		}
	})
	api := humachi.New(mux, hc)
	var once sync.Once
	var spec []byte
	mux.Get(OpenAPIPath+".json", func(w http.ResponseWriter, _ *http.Request) {
		// Built at the first request, when every module has registered.
		once.Do(func() { spec, _ = json.Marshal(api.OpenAPI()) })
		w.Header().Set("Content-Type", "application/openapi+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(spec)
	})
	return &Router{Mux: mux, API: api, Errors: errs}, nil
}

// ServeHTTP serves the API.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.Mux.ServeHTTP(w, req) }

// PathID reads an id from a request path. A string that is not a UUID is
// not an id the service could have issued, so it answers notFound (the
// module's 404 error), never a 400 or 500.
func PathID(s string, notFound error) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, notFound
	}
	return id, nil
}
