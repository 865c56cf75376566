package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness answers /readyz: 503 while draining or when a dependency check
// fails. Dependencies register a check; each runs with a short timeout.
type Readiness struct {
	draining atomic.Bool
	mu       sync.Mutex
	checks   map[string]func(context.Context) error
}

// NewReadiness returns a Readiness with no checks.
func NewReadiness() *Readiness {
	return &Readiness{checks: map[string]func(context.Context) error{}}
}

// Add registers a named dependency check.
func (r *Readiness) Add(name string, check func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks[name] = check
}

// SetDraining makes /readyz answer 503 from now on.
func (r *Readiness) SetDraining() { r.draining.Store(true) }

// Draining reports whether shutdown has begun.
func (r *Readiness) Draining() bool { return r.draining.Load() }

// Check runs every check concurrently and reports each result.
func (r *Readiness) Check(ctx context.Context) (bool, map[string]string) {
	r.mu.Lock()
	checks := make(map[string]func(context.Context) error, len(r.checks))
	for k, v := range r.checks {
		checks[k] = v
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]string{}
	ok := true
	for name, check := range checks {
		wg.Go(func() {
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				ok = false
				out[name] = "failing"
				return
			}
			out[name] = "ok"
		})
	}
	wg.Wait()
	if r.Draining() {
		ok = false
		out["shutdown"] = "draining"
	}
	return ok, out
}

// AdminHandler serves /livez, /readyz, /metrics and /debug/pprof/. It is
// mounted on the admin listener only, never on the public one.
func AdminHandler(reg *prometheus.Registry, ready *Readiness) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ok, checks := ready.Check(r.Context())
		keys := make([]string, 0, len(checks))
		for k := range checks {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		status := "ok"
		if !ok {
			status = "unavailable"
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "checks": checks})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Listener is a server with its bound listener.
type Listener struct {
	Name     string
	Server   *http.Server
	Listener net.Listener
}

// Listen binds addr for srv.
func Listen(name, addr string, srv *http.Server) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Listener{Name: name, Server: srv, Listener: ln}, nil
}

// Addr is the bound address.
func (l *Listener) Addr() string { return l.Listener.Addr().String() }

// ShutdownConfig is the graceful shutdown policy.
type ShutdownConfig struct {
	// Delay keeps serving after /readyz turned 503, so load balancers take
	// the replica out before its listener closes.
	Delay time.Duration
	// Grace bounds the wait for in-flight requests.
	Grace time.Duration
}

// Serve serves the public listeners and the admin listener until ctx ends
// (SIGTERM) or one of them fails, then drains: /readyz turns 503, after
// Delay the public listeners stop accepting and in-flight requests get up
// to Grace to finish; the admin listener closes last. It returns nil after a
// clean drain.
func Serve(ctx context.Context, logger *slog.Logger, ready *Readiness, sc ShutdownConfig, admin *Listener, public ...*Listener) error {
	errc := make(chan error, len(public)+1)
	all := append([]*Listener{admin}, public...)
	for _, l := range all {
		if l == nil {
			continue
		}
		logger.Info("listening", "listener", l.Name, "addr", l.Addr())
		go func() {
			if err := l.Server.Serve(l.Listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	var serveErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down: draining")
	case serveErr = <-errc:
		logger.Error("listener failed; shutting down", "error", serveErr)
	}
	ready.SetDraining()
	if sc.Delay > 0 && serveErr == nil {
		time.Sleep(sc.Delay)
	}
	grace, cancel := context.WithTimeout(context.WithoutCancel(ctx), sc.Grace)
	defer cancel()
	var wg sync.WaitGroup
	var shutdownErr error
	var mu sync.Mutex
	for _, l := range public {
		wg.Go(func() {
			if err := l.Server.Shutdown(grace); err != nil {
				mu.Lock()
				shutdownErr = errors.Join(shutdownErr, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if admin != nil {
		_ = admin.Server.Shutdown(grace)
	}
	if shutdownErr != nil {
		logger.Warn("in-flight requests did not finish within the grace period", "error", shutdownErr)
	}
	return errors.Join(serveErr, shutdownErr)
}
