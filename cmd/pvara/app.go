package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/auth"
	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/consumer"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/maintenance"
	"github.com/pvara-gov/pvara/internal/platform/metrics"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
)

// app is one process's wiring: the shared infrastructure and every module,
// built once from the configuration. serve, worker and dev all start from
// it and use the parts their role needs.
type app struct {
	cfg    config.Config
	logger *slog.Logger
	reg    *prometheus.Registry
	ready  *httpx.Readiness
	clock  func() time.Time

	db    *pgxpool.Pool
	redis *redisx.Client

	// auth is the identity module (wire_auth.go); dev seeds its demo
	// accounts with auth.SeedDemo.
	auth *auth.Service

	// maintenanceTasks are run by the maintenance role; modules add theirs.
	maintenanceTasks []maintenance.Task
	// roles are the worker roles, by name; modules add theirs.
	roles map[string]roleFunc
	// consumers are the event handlers of each event-driven worker role;
	// modules add theirs with addConsumers (wire_events.go).
	consumers map[string][]consumer.Handler
	// roleLoops run beside the consumers of an event-driven role
	// (addRoleLoop in wire_events.go).
	roleLoops map[string][]roleFunc
	// consumerMetrics are shared by the consumer runners of every role.
	consumerMetrics *consumer.Metrics
	// routes register each module's HTTP operations.
	routes []func(*httpx.Router)
	// middlewares run on every API request after the built-in ones.
	middlewares []func(http.Handler) http.Handler
	// devSeeds load demo data; only `pvara dev` runs them, after migrating.
	// Each must be idempotent (it runs at every start) and print the demo
	// credentials it made to devOut (pvara dev's standard output).
	devSeeds []func(ctx context.Context) error
	devOut   io.Writer

	closers []func()

	// cipher is the field-encryption cipher shared by every module
	// (fieldCipher builds it once).
	cipher *fieldcrypt.Cipher

	// jobs is the jobs module (the dev seed uses it).
	jobs *jobs.Service
	// applications is the applications module (screening adapts its
	// in-process API).
	applications *applications.Service
}

// roleFunc runs a worker role until ctx ends.
type roleFunc func(ctx context.Context) error

// openApp connects to the infrastructure and wires every module.
func openApp(ctx context.Context, cfg config.Config, logger *slog.Logger) (a *app, err error) {
	a = &app{
		cfg:    cfg,
		logger: logger,
		reg:    metrics.NewRegistry(),
		ready:  httpx.NewReadiness(),
		clock:  time.Now,
		roles:  map[string]roleFunc{},
	}
	// Close what was opened when a later step fails; `return nil, err`
	// clears a, so keep the app in its own variable.
	built := a
	defer func() {
		if err != nil {
			built.Close()
		}
	}()
	a.db, err = postgres.Open(ctx, postgres.Config{
		URL:              cfg.Database.URL.Reveal(),
		Role:             cfg.Database.Role,
		MaxConns:         cfg.Database.MaxConns,
		MinConns:         cfg.Database.MinConns,
		MaxConnLifetime:  cfg.Database.MaxConnLifetime,
		MaxConnIdleTime:  cfg.Database.MaxConnIdleTime,
		ConnectTimeout:   cfg.Database.ConnectTimeout,
		StatementTimeout: cfg.Database.StatementTimeout,
		QueryExecMode:    cfg.Database.QueryExecMode,
		ApplicationName:  "pvara",
	}, logger)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.db.Close)
	a.reg.MustRegister(postgres.NewPoolCollector(a.db, "main"))
	a.ready.Add("postgres", a.db.Ping)

	if cfg.Redis.URL != "" {
		a.redis, err = redisx.Open(ctx, cfg.Redis.URL.Reveal(), cfg.Redis.Prefix)
		if err != nil {
			return nil, err
		}
	} else if cfg.Dev {
		a.redis, err = redisx.OpenEmbedded(cfg.Redis.Prefix)
		if err != nil {
			return nil, err
		}
		logger.Warn("no Redis answered: using the in-process fallback (dev only; nothing is shared or kept)")
	} else {
		return nil, &config.Error{Key: "redis.url", Expect: "a redis:// URL (only `pvara dev` may run without Redis)"}
	}
	rc := a.redis
	a.closers = append(a.closers, func() { _ = rc.Close() })
	a.ready.Add("redis", a.redis.Check)

	if err := a.wirePlatform(); err != nil {
		return nil, err
	}
	if err := a.wireEvents(ctx); err != nil {
		return nil, err
	}
	if err := a.wireAuth(ctx); err != nil {
		return nil, err
	}
	// After the authentication middleware: both read the principal.
	if err := a.wireRateLimit(ctx); err != nil {
		return nil, err
	}
	if err := a.wireAudit(ctx); err != nil {
		return nil, err
	}
	if err := a.wireJobs(ctx); err != nil {
		return nil, err
	}
	if err := a.wireApplications(ctx); err != nil {
		return nil, err
	}
	if err := a.wireScreening(ctx); err != nil {
		return nil, err
	}
	if cfg.Dev {
		a.wireDevSeed()
	}
	return a, nil
}

// wirePlatform registers the platform's own maintenance and roles.
func (a *app) wirePlatform() error {
	pm, err := postgres.NewPartitionManager(a.db, postgres.PartitionConfig{
		MonthsAhead: a.cfg.Partitions.MonthsAhead,
		Now:         a.clock,
		Logger:      a.logger,
		Registerer:  a.reg,
	})
	if err != nil {
		return err
	}
	a.maintenanceTasks = append(a.maintenanceTasks, maintenance.Task{
		Name:  "partitions",
		Every: 24 * time.Hour,
		Run: func(ctx context.Context) error {
			_, err := pm.Ensure(ctx)
			return err
		},
	}, maintenance.Task{
		// Refresh the months-ahead gauge more often than partitions are made,
		// so an alert fires soon after something drops a partition.
		Name:  "partitions-observe",
		Every: 5 * time.Minute,
		Run: func(ctx context.Context) error {
			_, err := pm.Observe(ctx)
			return err
		},
	})
	a.roles["maintenance"] = func(ctx context.Context) error {
		return maintenance.New(a.db, a.logger.With("role", "maintenance"), a.reg, a.maintenanceTasks...).Run(ctx)
	}
	return nil
}

// Close releases everything in reverse order of opening.
func (a *app) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// router builds the public API with every module's routes.
func (a *app) router() (*httpx.Router, error) {
	r, err := httpx.NewRouter(httpx.RouterConfig{
		Title: "PVARA API",
		// The contract version, not the binary version: the document must
		// not change with every build.
		Version:        apiVersion,
		MaxBodyBytes:   a.cfg.HTTP.MaxBodyBytes,
		CORSOrigins:    a.cfg.HTTP.CORSOrigins,
		TrustedProxies: a.cfg.HTTP.TrustedProxies,
		AccessLog:      true,
		Admission: httpx.NewAdmission(httpx.AdmissionConfig{
			Writes: httpx.AdmissionClass{InFlight: a.cfg.HTTP.WritesInFlight, Queue: a.cfg.HTTP.WritesQueue, Wait: a.cfg.HTTP.WritesQueueWait},
			Reads:  httpx.AdmissionClass{InFlight: a.cfg.HTTP.ReadsInFlight, Queue: a.cfg.HTTP.ReadsQueue, Wait: a.cfg.HTTP.ReadsQueueWait},
		}, a.reg),
		Middlewares: a.middlewares,
	}, a.logger, httpx.NewHTTPMetrics(a.reg))
	if err != nil {
		return nil, err
	}
	for _, register := range a.routes {
		register(r)
	}
	return r, nil
}

// knownRoles are the worker roles this binary has, in the order `all` starts
// them. Each module that adds a role adds its name here and its roleFunc in
// its wiring; the names are known before connecting to anything, so a bad
// --role is refused at once.
var knownRoles = []string{"maintenance", "outbox", "screening"}

// apiVersion is the version of the REST contract in the OpenAPI document.
const apiVersion = "1.0"

// selectRoles resolves --role values (comma-separated, or "all").
func selectRoles(requested []string) ([]string, error) {
	valid := strings.Join(append(slices.Clone(knownRoles), "all"), ", ")
	var out []string
	for _, r := range requested {
		for _, name := range strings.Split(r, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if name == "all" {
				return slices.Clone(knownRoles), nil
			}
			if !slices.Contains(knownRoles, name) {
				return nil, usagef("unknown worker role %q; valid roles: %s", name, valid)
			}
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	if len(out) == 0 {
		return nil, usagef("--role is required; valid roles: %s", valid)
	}
	return out, nil
}

// runRoles runs the named roles until ctx ends; the first failure stops
// them all.
func (a *app) runRoles(ctx context.Context, names []string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errc := make(chan error, len(names))
	for _, n := range names {
		run, ok := a.roles[n]
		if !ok {
			return fmt.Errorf("role %s is known but not wired", n)
		}
		go func() {
			a.logger.Info("worker role started", "role", n)
			err := run(ctx)
			if err != nil && !errors.Is(err, context.Canceled) {
				err = fmt.Errorf("role %s: %w", n, err)
				cancel(err)
			} else {
				err = nil
			}
			a.logger.Info("worker role stopped", "role", n)
			errc <- err
		}()
	}
	var errs []error
	for range names {
		if err := <-errc; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// runWorkers serves the admin listener and runs roles until ctx ends.
func (a *app) runWorkers(ctx context.Context, roles []string) error {
	_, adminSrv := a.newServers(nil)
	adminL, err := httpx.Listen("admin", a.cfg.Admin.Addr, adminSrv)
	if err != nil {
		return &config.Error{Key: "admin.addr", Expect: "a free address to listen on (" + err.Error() + ")"}
	}
	go func() { _ = adminSrv.Serve(adminL.Listener) }()
	a.logger.Info("listening", "listener", "admin", "addr", adminL.Addr())
	err = a.runRoles(ctx, roles)
	a.ready.SetDraining()
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Shutdown.Grace)
	defer cancel()
	_ = adminSrv.Shutdown(sctx)
	return err
}
