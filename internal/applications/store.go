package applications

import (
	"encoding/json"
	"fmt"

	"github.com/pvara-gov/pvara/internal/applications/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/vocab"
)

// The generated row types of the queries that return a whole application
// select the same columns in the same order, so they convert to
// db.ApplicationGetRow with a type conversion; the compiler checks that
// they still match.

func toApplication(r db.ApplicationGetRow) (Application, error) {
	a := Application{
		ID: r.ID, CreatedAt: r.CreatedAt.UTC(), OrgID: r.OrgID, JobID: r.JobID, CandidateID: r.CandidateID,
		ReceiptNumber: r.ReceiptNumber, Status: Status(r.Status), Version: int(r.Version), CoverLetter: r.CoverLetter,
		CandidateName: r.CandidateName, CNICMasked: r.CnicMasked, UpdatedAt: r.UpdatedAt.UTC(),
	}
	var snap snapshot
	if err := json.Unmarshal(r.Profile, &snap); err != nil {
		return Application{}, fmt.Errorf("applications: profile snapshot of %s: %w", r.ID, err)
	}
	p := Profile{
		UserID: r.CandidateID, Version: snap.Version, DateOfBirth: snap.DateOfBirth, DomicileDistrict: snap.DomicileDistrict,
		Education: snap.Education, Experience: snap.Experience, Skills: snap.Skills, ResumeText: snap.ResumeText,
		UpdatedAt: snap.UpdatedAt,
	}
	if snap.Gender != nil {
		g := vocab.Gender(*snap.Gender)
		p.Gender = &g
	}
	if snap.DomicileProvince != nil {
		pr := vocab.Province(*snap.DomicileProvince)
		p.DomicileProvince = &pr
	}
	if p.Education == nil {
		p.Education = []Education{}
	}
	if p.Experience == nil {
		p.Experience = []Experience{}
	}
	if p.Skills == nil {
		p.Skills = []string{}
	}
	a.Profile = p
	if r.ScoredAt != nil && r.AiScore != nil {
		sc := &Screening{Score: *r.AiScore, ModelVersion: deref(r.ModelVersion), ScoredAt: r.ScoredAt.UTC()}
		if r.Eligible != nil {
			sc.Eligible = *r.Eligible
		}
		a.Screening = sc
	}
	return a, nil
}

func toSubmitted(a Application) Submitted {
	return Submitted{
		ApplicationID: a.ID, JobID: a.JobID, OrgID: a.OrgID, CandidateID: a.CandidateID,
		ReceiptNumber: a.ReceiptNumber, SubmittedAt: a.CreatedAt, Status: a.Status, StatusAt: a.UpdatedAt,
		Profile: a.Profile,
	}
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

func translate(err error) error {
	if postgres.IsNotFound(err) {
		return ErrNotFound
	}
	return postgres.Translate(err)
}
