package jobs

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/jobs/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/maintenance"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// MaintenanceTask closes jobs past their deadline, every CloseEvery.
func (s *Service) MaintenanceTask() maintenance.Task {
	return maintenance.Task{
		Name:  "jobs-close-due",
		Every: s.cfg.CloseEvery,
		Run: func(ctx context.Context) error {
			n, err := s.CloseDue(ctx)
			if n > 0 {
				s.logger.InfoContext(ctx, "jobs closed at their deadline", "count", n)
			}
			return err
		},
	}
}

// seedNamespace derives the ids of demo jobs from the organisation id, so
// seeding twice finds the jobs it made the first time.
var seedNamespace = uuid.MustParse("6f1c1a52-4e0e-4b8e-9c7a-6a2f4d0c9e11")

type demoJob struct {
	title, department, description, location, province, grade string
	positions                                                 int
	criteria                                                  CriteriaInput
	publish                                                   bool
}

func ptr[T any](v T) *T { return &v }

var demoJobs = []demoJob{
	{
		title: "Naib Qasid (Office Assistant)", department: "Administration", location: "Islamabad", province: "islamabad", grade: "BPS-1",
		description: "Naib qasid ki mulazmat: office ki dak, files aur records ki dekh bhaal. Handling of office mail, files and records for the regulator's head office.",
		positions:   4, publish: true,
		criteria: CriteriaInput{MinEducation: "matric", AgeMin: ptr(18), AgeMax: ptr(30), AgeRelaxationYears: ptr(5),
			RequiredSkills: []string{"office work"}, PreferredSkills: []string{"urdu typing"}},
	},
	{
		title: "Assistant Director (Software Engineering)", department: "Information Technology", location: "Lahore", province: "punjab", grade: "BPS-17",
		description: "Design, build and operate the regulator's online services. You will write Go services backed by PostgreSQL, review code and mentor junior engineers.",
		positions:   2, publish: true,
		criteria: CriteriaInput{MinEducation: "bachelor", MinExperienceYears: 2, AgeMin: ptr(21), AgeMax: ptr(35),
			RequiredSkills: []string{"go", "postgresql"}, PreferredSkills: []string{"kubernetes", "redis"}},
	},
	{
		title: "Deputy Director (Licensing)", department: "Licensing", location: "Karachi", province: "sindh", grade: "BPS-18",
		description: "Assess licence applications of virtual asset service providers against the regulations; prepare inspection reports and recommendations.",
		positions:   1, publish: true,
		criteria: CriteriaInput{MinEducation: "master", MinExperienceYears: 5, AgeMax: ptr(40),
			RequiredSkills: []string{"regulatory compliance", "report writing"}, PreferredSkills: []string{"aml/cft"},
			DomicileProvinces: []string{"sindh", "balochistan"}},
	},
	{
		title: "Data Analyst", department: "Research", location: "Peshawar", province: "kpk", grade: "BPS-16",
		description: "Analyse market data and prepare dashboards for the policy team. Draft, not yet published.",
		positions:   1, publish: false,
		criteria: CriteriaInput{MinEducation: "bachelor", MinExperienceYears: 1,
			RequiredSkills: []string{"sql", "statistics"}, PreferredSkills: []string{"python"}},
	},
}

// SeedDemo creates the demo jobs of an organisation (for `pvara dev`),
// published ones open for 60 days from now, and returns how many it
// created. Jobs it made before are left alone, so it is idempotent.
func (s *Service) SeedDemo(ctx context.Context, orgID, createdBy uuid.UUID) (int, error) {
	now := s.now().UTC().Truncate(time.Second)
	created := 0
	for i, d := range demoJobs {
		id := uuid.NewSHA1(seedNamespace, append(orgID[:], byte(i)))
		f, err := validate(Input{
			Title: d.title, Department: d.department, Description: d.description, Location: d.location,
			Province: &d.province, Grade: &d.grade, Positions: d.positions, OpensAt: now.Add(-time.Hour),
			ClosesAt: now.Add(60 * 24 * time.Hour), Criteria: d.criteria,
		}, now, true)
		if err != nil {
			return created, err
		}
		criteria, err := json.Marshal(f.Criteria)
		if err != nil {
			return created, err
		}
		err = postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
			q := db.New(tx)
			exists, err := q.JobExists(ctx, id)
			if err != nil || exists {
				return postgres.Translate(err)
			}
			row, err := q.JobInsert(ctx, db.JobInsertParams{
				ID: id, OrgID: orgID, Title: f.Title, Department: f.Department, Description: f.Description,
				Location: f.Location, Province: provinceParam(f.Province), Grade: f.Grade, Positions: int32(f.Positions),
				OpensAt: f.OpensAt, ClosesAt: f.ClosesAt, Criteria: criteria, CreatedBy: createdBy, Now: now,
			})
			if err != nil {
				return postgres.Translate(err)
			}
			created++
			if !d.publish {
				return nil
			}
			j, err := toJob(db.JobGetRow(row))
			if err != nil {
				return err
			}
			if j, err = s.setStatus(ctx, q, j, StatusPublished, nil, now); err != nil {
				return err
			}
			return outbox.EnqueueTx(ctx, tx, publishedEvent(j))
		})
		if err != nil {
			return created, err
		}
	}
	if created > 0 {
		s.invalidate(ctx)
	}
	return created, nil
}
