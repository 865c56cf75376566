package main

import (
	"context"
	"crypto/rand"
	"sync"

	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
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

	cursors, random, err := a.newCursors()
	if err != nil {
		return err
	}
	api := audit.NewAPI(a.db, cursors)
	a.routes = append(a.routes, func(r *httpx.Router) {
		if random && !a.cfg.Dev {
			// Said only where the API is served, not by workers.
			a.logger.Warn("http.cursor_secret is not set: list cursors are keyed per process and fail on other replicas; set PVARA_HTTP_CURSOR_SECRET")
		}
		api.Register(r)
	})
	a.middlewares = append(a.middlewares, audit.DenialMiddleware(a.db, a.logger))
	return nil
}

// newCursors returns the list-cursor codec keyed by http.cursor_secret, or
// by a random per-process key when none is configured (random = true:
// cursors then do not survive a restart or cross replicas, acceptable for
// one process only).
func (a *app) newCursors() (c *httpx.Cursors, random bool, err error) {
	secret := []byte(a.cfg.HTTP.CursorSecret.Reveal())
	if len(secret) == 0 {
		random = true
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, false, err
		}
	}
	c, err = httpx.NewCursors(secret)
	return c, random, err
}
