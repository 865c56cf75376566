package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pvara-gov/pvara/internal/jobs/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/vocab"
)

// The generated row types of the queries that return a whole job have the
// same fields in the same order (the queries select the same columns), so
// they convert to db.JobGetRow with a type conversion; the compiler checks
// that they still match.

func toJob(r db.JobGetRow) (Job, error) {
	j := Job{
		ID: r.ID, OrgID: r.OrgID, Status: Status(r.Status), Version: int(r.Version), Title: r.Title,
		Department: r.Department, Description: r.Description, Location: r.Location, Grade: r.Grade,
		Positions: int(r.Positions), OpensAt: r.OpensAt.UTC(), ClosesAt: r.ClosesAt.UTC(), CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), PublishedAt: utcPtr(r.PublishedAt),
		ClosedAt: utcPtr(r.ClosedAt),
	}
	if r.Province != nil {
		p := vocab.Province(*r.Province)
		j.Province = &p
	}
	if err := json.Unmarshal(r.Criteria, &j.Criteria); err != nil {
		return Job{}, fmt.Errorf("jobs: criteria of %s: %w", r.ID, err)
	}
	fixCriteria(&j.Criteria)
	return j, nil
}

func toSummary(r db.JobBoardRow) (Summary, error) {
	s := Summary{
		ID: r.ID, OrgID: r.OrgID, Status: Status(r.Status), Version: int(r.Version), Title: r.Title,
		Department: r.Department, Excerpt: r.Excerpt, Location: r.Location, Grade: r.Grade,
		Positions: int(r.Positions), OpensAt: r.OpensAt.UTC(), ClosesAt: r.ClosesAt.UTC(), PublishedAt: utcPtr(r.PublishedAt),
	}
	if r.Province != nil {
		p := vocab.Province(*r.Province)
		s.Province = &p
	}
	if err := json.Unmarshal(r.Criteria, &s.Criteria); err != nil {
		return Summary{}, fmt.Errorf("jobs: criteria of %s: %w", r.ID, err)
	}
	fixCriteria(&s.Criteria)
	return s, nil
}

// fixCriteria makes empty lists non-nil so they encode as [].
func fixCriteria(c *Criteria) {
	if c.RequiredSkills == nil {
		c.RequiredSkills = []string{}
	}
	if c.PreferredSkills == nil {
		c.PreferredSkills = []string{}
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func translate(err error) error {
	if postgres.IsNotFound(err) {
		return ErrNotFound
	}
	return postgres.Translate(err)
}

func provinceParam(p *vocab.Province) *string {
	if p == nil {
		return nil
	}
	s := string(*p)
	return &s
}
