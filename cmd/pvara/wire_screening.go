package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/jobs"
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
	svc, err := screening.New(screening.Config{}, screening.Deps{
		DB: a.db, Redis: a.redis, Applications: a.screeningApplications(), Jobs: screeningJobs{a.jobs},
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

// screeningJobs serves screening's JobSource from the jobs module.
type screeningJobs struct{ svc *jobs.Service }

func (j screeningJobs) ScreeningJob(ctx context.Context, id uuid.UUID) (screening.Job, error) {
	v, err := j.svc.GetForScreening(ctx, id)
	if errors.Is(err, jobs.ErrNotFound) {
		return screening.Job{}, fmt.Errorf("%w: %s", screening.ErrJobNotFound, id)
	}
	if err != nil {
		return screening.Job{}, err
	}
	c := v.Criteria
	return screening.Job{
		ID: v.ID, OrgID: v.OrgID, Version: v.Version, Positions: v.Positions,
		Input: screening.JobInput{
			Title: v.Title, Department: v.Department, Description: v.Description, ClosesAt: v.ClosesAt,
			Criteria: screening.Criteria{
				MinEducation: c.MinEducation, MinExperienceYears: c.MinExperienceYears, AgeMin: c.AgeMin,
				AgeMax: c.AgeMax, AgeRelaxationYears: c.AgeRelaxationYears, RequiredSkills: c.RequiredSkills,
				PreferredSkills: c.PreferredSkills, DomicileProvinces: c.DomicileProvinces,
			},
		},
	}, nil
}

func (j screeningJobs) CorpusTexts(ctx context.Context, limit int) ([]string, error) {
	ts, err := j.svc.CorpusTexts(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = screening.JobText(t.Title, t.Department, t.Description, t.RequiredSkills, t.PreferredSkills)
	}
	return out, nil
}
