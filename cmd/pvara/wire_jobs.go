package main

import (
	"context"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

// wireJobs builds the jobs module: its routes, and its maintenance task
// that closes jobs at their deadline.
func (a *app) wireJobs(_ context.Context) error {
	cursors, err := a.cursors()
	if err != nil {
		return err
	}
	ttl := a.cfg.Jobs.CacheTTL
	if ttl == 0 {
		ttl = -1 // configuration 0 means off; jobs.Config 0 means default
	}
	local := a.cfg.Jobs.LocalCacheTTL
	if local == 0 {
		local = -1
	}
	svc, err := jobs.New(jobs.Config{CacheTTL: ttl, LocalCacheTTL: local, CloseEvery: a.cfg.Jobs.CloseEvery}, jobs.Deps{
		DB: a.db, Redis: a.redis, Logger: a.logger.With("module", "jobs"), Clock: a.clock, Registerer: a.reg,
	})
	if err != nil {
		return err
	}
	a.jobs = svc
	h := jobs.NewHandlers(svc, cursors)
	a.routes = append(a.routes, func(r *httpx.Router) { h.Register(r) })
	a.maintenanceTasks = append(a.maintenanceTasks, svc.MaintenanceTask())
	return nil
}

// seedJobs creates the demo jobs of an organisation (idempotent); `pvara
// dev` calls it after the auth seed has made the organisation and its
// first recruiter.
func (a *app) seedJobs(ctx context.Context, orgID, recruiterID uuid.UUID) error {
	n, err := a.jobs.SeedDemo(ctx, orgID, recruiterID)
	if n > 0 {
		a.logger.Info("demo jobs seeded", "org_id", orgID, "created", n)
	}
	return err
}
