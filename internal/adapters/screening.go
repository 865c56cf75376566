// Package adapters connects one module's public API to the small interface
// another module declares for what it needs from it (DESIGN.md: modules talk
// through interfaces the caller declares). cmd/pvara wires the binary with
// these, and tests that run real modules together use the same ones, so the
// conversion between the modules' types is written once. When a module is
// split out, its adapter is what becomes a client of the remote API.
package adapters

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/screening"
)

// ScreeningApplications adapts applications.Service to screening's interface: it
// converts the submitted snapshot to the model's input (which has no field
// for name, gender, CNIC or phone) and passes gender beside it for the
// fairness report only.
type ScreeningApplications struct{ Apps *applications.Service }

// Submitted returns one application as screening reads it, or an error
// wrapping screening.ErrApplicationNotFound.
func (s ScreeningApplications) Submitted(ctx context.Context, id uuid.UUID) (screening.Application, error) {
	sub, err := s.Apps.Submitted(ctx, id)
	if errors.Is(err, applications.ErrNotFound) {
		return screening.Application{}, fmt.Errorf("%w: %s", screening.ErrApplicationNotFound, id)
	}
	if err != nil {
		return screening.Application{}, err
	}
	return toScreeningApplication(sub), nil
}

// SubmittedMany reads a batch of applications with one query.
func (s ScreeningApplications) SubmittedMany(ctx context.Context, ids []uuid.UUID) ([]screening.Application, error) {
	subs, err := s.Apps.SubmittedMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	return toScreeningApplications(subs), nil
}

func (s ScreeningApplications) SubmittedForJob(ctx context.Context, jobID, after uuid.UUID, limit int) ([]screening.Application, error) {
	subs, err := s.Apps.SubmittedForJob(ctx, jobID, after, limit)
	if err != nil {
		return nil, err
	}
	return toScreeningApplications(subs), nil
}

// toScreeningApplications converts a page of snapshots.
func toScreeningApplications(subs []applications.Submitted) []screening.Application {
	out := make([]screening.Application, len(subs))
	for i, sub := range subs {
		out[i] = toScreeningApplication(sub)
	}
	return out
}

func toScreeningApplication(s applications.Submitted) screening.Application {
	p := s.Profile
	out := screening.Application{
		ID: s.ApplicationID, JobID: s.JobID, OrgID: s.OrgID, CandidateID: s.CandidateID, SubmittedAt: s.SubmittedAt,
		Status: string(s.Status), StatusAt: s.StatusAt,
		Profile: screening.ProfileInput{
			Skills: p.Skills, ResumeText: p.ResumeText,
		},
	}
	if p.Gender != nil {
		out.Gender = string(*p.Gender)
	}
	if p.DateOfBirth != nil {
		out.Profile.DateOfBirth = p.DateOfBirth.Time
	}
	if p.DomicileProvince != nil {
		out.Profile.DomicileProvince = *p.DomicileProvince
	}
	for _, e := range p.Education {
		out.Profile.Education = append(out.Profile.Education, screening.EducationEntry{Level: e.Level, Field: e.Field, Year: e.Year})
	}
	for _, e := range p.Experience {
		item := screening.ExperienceItem{Title: e.Title, Start: e.StartDate.Time}
		if e.EndDate != nil {
			item.End = e.EndDate.Time
		}
		out.Profile.Experience = append(out.Profile.Experience, item)
	}
	return out
}

// ScreeningJobs serves screening's JobSource from the jobs module.
type ScreeningJobs struct{ Jobs *jobs.Service }

func (j ScreeningJobs) ScreeningJob(ctx context.Context, id uuid.UUID) (screening.Job, error) {
	v, err := j.Jobs.GetForScreening(ctx, id)
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

func (j ScreeningJobs) CorpusTexts(ctx context.Context, limit int) ([]string, error) {
	ts, err := j.Jobs.CorpusTexts(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = screening.JobText(t.Title, t.Department, t.Description, t.RequiredSkills, t.PreferredSkills)
	}
	return out, nil
}
