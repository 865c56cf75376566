package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/screening"
)

// screeningApplications is screening's ApplicationSource, served by the
// applications module in process.
func (a *app) screeningApplications() screening.ApplicationSource {
	return screeningApps{a.applications}
}

// screeningApps adapts applications.Service to screening's interface: it
// converts the submitted snapshot to the model's input (which has no field
// for name, gender, CNIC or phone) and passes gender beside it for the
// fairness report only.
type screeningApps struct{ svc *applications.Service }

func (s screeningApps) Submitted(ctx context.Context, id uuid.UUID) (screening.Application, error) {
	sub, err := s.svc.Submitted(ctx, id)
	if errors.Is(err, applications.ErrNotFound) {
		return screening.Application{}, fmt.Errorf("%w: %s", screening.ErrApplicationNotFound, id)
	}
	if err != nil {
		return screening.Application{}, err
	}
	return toScreeningApplication(sub), nil
}

func (s screeningApps) SubmittedForJob(ctx context.Context, jobID, after uuid.UUID, limit int) ([]screening.Application, error) {
	subs, err := s.svc.SubmittedForJob(ctx, jobID, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]screening.Application, len(subs))
	for i, sub := range subs {
		out[i] = toScreeningApplication(sub)
	}
	return out, nil
}

func toScreeningApplication(s applications.Submitted) screening.Application {
	p := s.Profile
	out := screening.Application{
		ID: s.ApplicationID, JobID: s.JobID, OrgID: s.OrgID, CandidateID: s.CandidateID, SubmittedAt: s.SubmittedAt,
		Status: string(s.Status),
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
