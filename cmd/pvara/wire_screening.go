package main

import (
	"context"

	"github.com/pvara-gov/pvara/internal/adapters"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/screening"
)

// wireScreening builds the screening module: its routes, its consumers in
// the `screening` worker role (group "screening"), and the role's
// re-screening runner and corpus refresh.
func (a *app) wireScreening(_ context.Context) error {
	cursors, err := a.cursors()
	if err != nil {
		return err
	}
	sc := a.cfg.Screening
	svc, err := screening.New(screening.Config{
		CorpusRefresh: sc.CorpusRefresh, CorpusMaxJobs: sc.CorpusMaxJobs, RescreenBatch: sc.RescreenBatch,
		RescreenLease: sc.RescreenLease, RescreenPoll: sc.RescreenPoll, RescreenMaxAttempts: sc.RescreenMaxAttempts,
		RankingTTL: sc.RankingTTL,
	}, screening.Deps{
		DB: a.db, Redis: a.redis, Applications: a.screeningApplications(), Jobs: adapters.ScreeningJobs{Jobs: a.jobs},
		Logger: a.logger.With("module", "screening"), Clock: a.clock, Registerer: a.reg,
	})
	if err != nil {
		return err
	}
	h := screening.NewHandlers(svc, cursors)
	a.routes = append(a.routes, func(r *httpx.Router) { h.Register(r) })
	a.addConsumers("screening", svc.Handlers()...)
	a.addRoleLoop("screening", svc.RunRescreens)
	a.addRoleLoop("screening", svc.RunCorpusRefresh)
	return nil
}
