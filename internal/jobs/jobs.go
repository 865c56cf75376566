// Package jobs is the jobs module: postings with structured eligibility
// criteria, their lifecycle (draft → published → closed), the public job
// board with full-text search and its Redis cache, and the maintenance task
// that closes jobs at their deadline. It owns the PostgreSQL schema `jobs`
// and publishes jobs.published, jobs.closed and jobs.criteria_changed
// through the outbox.
//
// Reads never show a job as open after closes_at, whether or not the
// maintenance task has closed it yet: the board filters on the deadline,
// single reads report the effective status, and cached board pages expire no
// later than the earliest deadline they contain.
package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
)

// Config configures the module.
type Config struct {
	// CacheTTL is the longest a cached board page lives (default 5m); a
	// page also expires at the earliest deadline it shows and when the next
	// published job opens. Every change invalidates all pages at once.
	// Negative disables the cache.
	CacheTTL time.Duration
	// LocalCacheTTL is how long a replica keeps a board page in its own
	// memory in front of Redis (default 500ms; negative disables): the
	// longest another replica's change takes to show on this one.
	LocalCacheTTL time.Duration
	// CloseEvery is how often the maintenance task closes jobs past their
	// deadline (default 1m). Reads do not wait for it.
	CloseEvery time.Duration
	// CloseBatch is how many jobs one close transaction takes (default 500).
	CloseBatch int
}

// Deps are the module's collaborators.
type Deps struct {
	// DB is the application pool (runs as pvara_app, under row-level security).
	DB *pgxpool.Pool
	// Redis holds the board cache; required unless the cache is disabled.
	Redis *redisx.Client
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Registerer receives the module's metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// Service is the jobs module.
type Service struct {
	cfg    Config
	db     *pgxpool.Pool
	cache  *boardCache
	logger *slog.Logger
	now    func() time.Time
}

// New builds the service.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.DB == nil {
		return nil, errors.New("jobs: a database pool is required")
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 5 * time.Minute
	}
	if cfg.LocalCacheTTL == 0 {
		cfg.LocalCacheTTL = 500 * time.Millisecond
	}
	if cfg.CloseEvery <= 0 {
		cfg.CloseEvery = time.Minute
	}
	if cfg.CloseBatch <= 0 {
		cfg.CloseBatch = 500
	}
	if deps.Logger == nil {
		deps.Logger = logx.Discard()
	}
	if deps.Clock == nil {
		deps.Clock = time.Now
	}
	s := &Service{cfg: cfg, db: deps.DB, logger: deps.Logger, now: deps.Clock}
	if cfg.CacheTTL > 0 {
		if deps.Redis == nil {
			return nil, errors.New("jobs: Redis is required for the board cache (set a negative CacheTTL to disable it)")
		}
		s.cache = newBoardCache(deps.Redis, cfg.CacheTTL, cfg.LocalCacheTTL, deps.Logger, deps.Registerer)
	}
	return s, nil
}

// invalidate drops every cached board page after a committed change.
func (s *Service) invalidate(ctx context.Context) {
	if s.cache != nil {
		s.cache.Invalidate(context.WithoutCancel(ctx))
	}
}
