package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/jobs/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// ScreeningView is what the screening module needs of a job to score its
// applications and to answer for it: whose it is, the texts the model
// compares a résumé with, the deadline eligibility is judged at, the
// criteria, and the number of positions (the fairness report's default
// top-N).
type ScreeningView struct {
	ID          uuid.UUID
	OrgID       uuid.UUID
	Status      Status // effective status at the time of the call
	Version     int
	Title       string
	Department  string
	Description string
	Positions   int
	ClosesAt    time.Time
	Criteria    Criteria
}

// GetForScreening returns a job for the screening module (system scope, any
// organisation). Unlike GetForApplication it returns drafts too (a job's
// owner may ask for its empty ranking); ErrNotFound when absent.
func (s *Service) GetForScreening(ctx context.Context, id uuid.UUID) (ScreeningView, error) {
	var j Job
	err := postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		row, err := db.New(tx).JobGet(ctx, id)
		if err != nil {
			return translate(err)
		}
		j, err = toJob(row)
		return err
	})
	if err != nil {
		return ScreeningView{}, err
	}
	return ScreeningView{
		ID: j.ID, OrgID: j.OrgID, Status: j.EffectiveStatus(s.now()), Version: j.Version, Title: j.Title,
		Department: j.Department, Description: j.Description, Positions: j.Positions, ClosesAt: j.ClosesAt,
		Criteria: j.Criteria,
	}, nil
}

// CorpusText is one job's text for screening's corpus.
type CorpusText struct {
	ID                              uuid.UUID
	Title, Department, Description  string
	RequiredSkills, PreferredSkills []string
}

// CorpusTexts returns the texts of up to limit published or closed jobs,
// newest first, for the screening model's corpus.
func (s *Service) CorpusTexts(ctx context.Context, limit int) ([]CorpusText, error) {
	var out []CorpusText
	err := postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		q := db.New(tx)
		var before *uuid.UUID
		for len(out) < limit {
			rows, err := q.JobCorpusTexts(ctx, before, int32(min(1000, limit-len(out))))
			if err != nil {
				return postgres.Translate(err)
			}
			for _, r := range rows {
				var c Criteria
				if err := json.Unmarshal(r.Criteria, &c); err != nil {
					return fmt.Errorf("jobs: criteria of %s: %w", r.ID, err)
				}
				out = append(out, CorpusText{
					ID: r.ID, Title: r.Title, Department: r.Department, Description: r.Description,
					RequiredSkills: c.RequiredSkills, PreferredSkills: c.PreferredSkills,
				})
			}
			if len(rows) == 0 {
				break
			}
			last := rows[len(rows)-1].ID
			before = &last
		}
		return nil
	})
	return out, err
}
