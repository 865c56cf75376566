package main

import (
	"context"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

// wireApplications builds the applications module (candidate profiles so
// far) and its routes.
func (a *app) wireApplications(_ context.Context) error {
	cipher, err := a.fieldCipher()
	if err != nil {
		return err
	}
	profiles, err := applications.NewProfiles(applications.ProfilesDeps{
		DB: a.db, Cipher: cipher, Logger: a.logger.With("module", "applications"), Clock: a.clock,
	})
	if err != nil {
		return err
	}
	h := applications.NewProfileHandlers(profiles)
	a.routes = append(a.routes, func(r *httpx.Router) { h.Register(r) })
	return a.wireApplicationSearch()
}

// wireApplicationSearch adds staff search, the CSV export and job metrics,
// and the maintenance task that refreshes the metrics view.
func (a *app) wireApplicationSearch() error {
	cursors, err := a.cursors()
	if err != nil {
		return err
	}
	search, err := applications.NewSearch(applications.SearchDeps{
		DB: a.db, Cursors: cursors, Logger: a.logger.With("module", "applications"), Clock: a.clock,
		JobOrg: func(ctx context.Context, p authz.Principal, id uuid.UUID) (uuid.UUID, error) {
			j, err := a.jobs.Get(ctx, &p, id)
			return j.OrgID, err
		},
	})
	if err != nil {
		return err
	}
	sh := applications.NewSearchHandlers(search)
	a.routes = append(a.routes, func(r *httpx.Router) { sh.Register(r) })
	a.maintenanceTasks = append(a.maintenanceTasks, search.MetricsTask(a.cfg.Apps.MetricsRefreshInterval))
	return nil
}
