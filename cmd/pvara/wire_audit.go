package main

import (
	"context"
	"sync"

	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/maintenance"
)

// wireAudit wires the audit log: the sealer that links new entries into the
// hash chain (a maintenance task every audit.seal_interval, so it runs in
// the maintenance role and wherever that role runs, `pvara dev` included),
// GET /v1/audit, and the middleware that audits every 403.
//
// The middleware reads the request's principal, so openApp must call
// wireAudit after the wiring that appends the authentication middleware.
func (a *app) wireAudit(_ context.Context) error {
	// The sealer is built on its first run, so only processes that run the
	// maintenance role export its metrics (an API replica would otherwise
	// export a backlog of 0 that nobody measured).
	var (
		once   sync.Once
		sealer *audit.Sealer
	)
	a.maintenanceTasks = append(a.maintenanceTasks, maintenance.Task{
		Name:  "audit-seal",
		Every: a.cfg.Audit.SealInterval,
		Run: func(ctx context.Context) error {
			once.Do(func() {
				sealer = audit.NewSealer(a.db, audit.SealerConfig{
					BatchSize:  a.cfg.Audit.SealBatch,
					Logger:     a.logger.With("component", "audit-sealer"),
					Registerer: a.reg,
					Now:        a.clock,
				})
			})
			_, err := sealer.Seal(ctx)
			return err
		},
	})

	cursors, err := a.cursors()
	if err != nil {
		return err
	}
	api := audit.NewAPI(a.db, cursors)
	a.routes = append(a.routes, api.Register)
	a.middlewares = append(a.middlewares, audit.DenialMiddleware(a.db, a.logger))
	return nil
}
