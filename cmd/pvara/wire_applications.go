package main

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/auth"
	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

// wireApplications builds the applications module (profiles, applications,
// the pipeline), its routes, its maintenance task (expired idempotency
// keys) and its consumer of screening.scored in the `screening` role.
func (a *app) wireApplications(_ context.Context) error {
	cipher, err := a.fieldCipher()
	if err != nil {
		return err
	}
	cursors, err := a.cursors()
	if err != nil {
		return err
	}
	logger := a.logger.With("module", "applications")
	profiles, err := applications.NewProfiles(applications.ProfilesDeps{
		DB: a.db, Cipher: cipher, Logger: logger, Clock: a.clock,
	})
	if err != nil {
		return err
	}
	svc, err := applications.New(applications.Config{}, applications.Deps{
		DB: a.db, Cipher: cipher, Profiles: profiles, Jobs: jobReader{a.jobs}, Candidates: candidateDirectory{a.auth},
		Logger: logger, Clock: a.clock,
	})
	if err != nil {
		return err
	}
	a.applications = svc
	ph := applications.NewProfileHandlers(profiles)
	h := applications.NewHandlers(svc, cursors)
	a.routes = append(a.routes, func(r *httpx.Router) { ph.Register(r); h.Register(r) })
	a.maintenanceTasks = append(a.maintenanceTasks, svc.MaintenanceTask())
	a.addConsumers("screening", svc.ScoresHandler())
	return a.wireApplicationSearch(cursors)
}

// wireApplicationSearch adds staff search, the CSV export and job metrics,
// and the maintenance task that refreshes the metrics view.
func (a *app) wireApplicationSearch(cursors *httpx.Cursors) error {
	shapes := a.cfg.Apps.SearchGenericShapes
	if shapes == 0 {
		shapes = -1 // the key's 0 is "none"; SearchDeps' 0 is its default
	}
	search, err := applications.NewSearch(applications.SearchDeps{
		DB: a.db, Cursors: cursors, Logger: a.logger.With("module", "applications"), Clock: a.clock,
		GenericShapes: shapes,
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

// jobReader adapts the jobs service to applications.JobReader.
type jobReader struct{ jobs *jobs.Service }

func (r jobReader) QueueJobForApplication(b *pgx.Batch, id uuid.UUID, done func(applications.JobView, error)) {
	r.jobs.QueueForApplication(b, id, func(v jobs.SubmissionView, err error) {
		if errors.Is(err, jobs.ErrNotFound) {
			done(applications.JobView{}, applications.ErrJobNotFound)
			return
		}
		if err != nil {
			done(applications.JobView{}, err)
			return
		}
		done(applications.JobView{
			ID: v.ID, OrgID: v.OrgID, Title: v.Title, Open: v.Status == jobs.StatusPublished,
			OpensAt: v.OpensAt, ClosesAt: v.ClosesAt,
		}, nil)
	})
}

// candidateDirectory adapts the auth service to
// applications.CandidateDirectory.
type candidateDirectory struct{ auth *auth.Service }

func (d candidateDirectory) QueueCandidate(b *pgx.Batch, id uuid.UUID, done func(applications.Candidate, error)) {
	d.auth.QueueUser(b, id, func(u auth.UserSummary, err error) {
		if errors.Is(err, apperr.ErrNotFound) || err == nil && u.Disabled {
			done(applications.Candidate{}, applications.ErrCandidateNotFound)
			return
		}
		if err != nil {
			done(applications.Candidate{}, err)
			return
		}
		done(applications.Candidate{FullName: u.FullName, CNICMasked: u.CNICMasked}, nil)
	})
}

// seedApplications gives the demo candidate a profile and applications to
// two of the demo organisation's open jobs (idempotent).
func (a *app) seedApplications(ctx context.Context, org uuid.UUID, accounts []auth.DemoAccount) error {
	var candidate uuid.UUID
	for _, acc := range accounts {
		if acc.Role == string(authz.RoleCandidate) {
			candidate = acc.ID
		}
	}
	if candidate == uuid.Nil {
		return nil
	}
	page, err := a.jobs.Board(ctx, jobs.BoardQuery{OrgID: &org, Limit: 2})
	if err != nil {
		return err
	}
	var ids []uuid.UUID
	for _, j := range page.Items {
		ids = append(ids, j.ID)
	}
	n, err := a.applications.SeedDemo(ctx, candidate, ids)
	if n > 0 {
		a.logger.Info("demo applications seeded", "candidate_id", candidate, "created", n)
	}
	return err
}
