// Package maintenance runs the periodic housekeeping tasks of the
// `maintenance` worker role (partitions ahead, closing jobs past their
// deadline, purging expired keys, refreshing views). Each task runs at
// start and then every interval. Replicas may all run the role: a task
// takes a PostgreSQL advisory lock for its run and is skipped by the others
// while one holds it.
//
// A task's run holds one pooled connection (its advisory lock is a session
// lock) while the task itself takes others from the same pool, so at most
// MaxConcurrent tasks run at once in one process: all of them starting
// together must not take every connection and then wait for one more.
package maintenance

import (
	"context"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Task is one periodic job.
type Task struct {
	// Name identifies the task in logs, metrics and its advisory lock.
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// MaxConcurrent is how many tasks one runner runs at the same time; the
// others wait their turn. Two leaves the pool room for the tasks' own
// connections with any pool of four or more.
const MaxConcurrent = 2

// Runner runs tasks until its context ends.
type Runner struct {
	pool    *pgxpool.Pool
	slots   chan struct{}
	logger  *slog.Logger
	tasks   []Task
	lastOK  *prometheus.GaugeVec
	fails   *prometheus.CounterVec
	skipped *prometheus.CounterVec
}

// New returns a runner; reg may be nil.
func New(pool *pgxpool.Pool, logger *slog.Logger, reg prometheus.Registerer, tasks ...Task) *Runner {
	r := &Runner{
		pool:   pool,
		slots:  make(chan struct{}, MaxConcurrent),
		logger: logger,
		tasks:  tasks,
		lastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pvara_maintenance_last_success_timestamp_seconds",
			Help: "When each maintenance task last succeeded (Unix time).",
		}, []string{"task"}),
		fails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pvara_maintenance_failures_total",
			Help: "Failed maintenance task runs.",
		}, []string{"task"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pvara_maintenance_skipped_total",
			Help: "Runs skipped because another replica held the task's lock.",
		}, []string{"task"}),
	}
	if reg != nil {
		reg.MustRegister(r.lastOK, r.fails, r.skipped)
	}
	return r
}

// Add appends a task; call before Run.
func (r *Runner) Add(t Task) { r.tasks = append(r.tasks, t) }

// Run runs every task at start and then on its interval, until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, t := range r.tasks {
		wg.Go(func() {
			ticker := time.NewTicker(t.Every)
			defer ticker.Stop()
			for {
				r.RunOnce(ctx, t)
				select {
				case <-ctx.Done():
					return
				case <-ticker.C:
				}
			}
		})
	}
	wg.Wait()
	return nil
}

func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("pvara.maintenance." + name))
	return int64(h.Sum64())
}

// RunOnce runs t now unless another replica is running it; it reports
// whether it ran and succeeded.
func (r *Runner) RunOnce(ctx context.Context, t Task) bool {
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-ctx.Done():
		return false
	}
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.logger.Warn("maintenance: no database connection", "task", t.Name, "error", err)
			r.fails.WithLabelValues(t.Name).Inc()
		}
		return false
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockKey(t.Name)).Scan(&got); err != nil {
		if ctx.Err() == nil {
			r.logger.Warn("maintenance: lock", "task", t.Name, "error", err)
			r.fails.WithLabelValues(t.Name).Inc()
		}
		return false
	}
	if !got {
		r.skipped.WithLabelValues(t.Name).Inc()
		return false
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey(t.Name)) //nolint:errcheck
	start := time.Now()
	if err := t.Run(ctx); err != nil {
		if ctx.Err() == nil {
			r.logger.Error("maintenance task failed", "task", t.Name, "error", err)
			r.fails.WithLabelValues(t.Name).Inc()
		}
		return false
	}
	r.lastOK.WithLabelValues(t.Name).SetToCurrentTime()
	r.logger.Debug("maintenance task done", "task", t.Name, "duration", time.Since(start))
	return true
}
