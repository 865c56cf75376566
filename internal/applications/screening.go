package applications

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/applications/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/consumer"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// ScoresGroup is the consumer group that stores screening scores.
const ScoresGroup = "applications-scores"

// Submitted returns one application as submitted (system scope);
// ErrNotFound when absent.
func (s *Service) Submitted(ctx context.Context, id uuid.UUID) (Submitted, error) {
	var out Submitted
	err := postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		a, err := getTx(ctx, db.New(tx), nil, id, false)
		out = toSubmitted(a)
		return err
	})
	return out, err
}

// SubmittedForJob pages through a job's applications in id order (after =
// uuid.Nil for the first page).
func (s *Service) SubmittedForJob(ctx context.Context, jobID, after uuid.UUID, limit int) ([]Submitted, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []Submitted
	err := postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		rows, err := db.New(tx).ApplicationListByJob(ctx, jobID, after, int32(limit))
		if err != nil {
			return postgres.Translate(err)
		}
		out = make([]Submitted, 0, len(rows))
		for _, r := range rows {
			a, err := toApplication(db.ApplicationGetRow(r))
			if err != nil {
				return err
			}
			out = append(out, toSubmitted(a))
		}
		return nil
	})
	return out, err
}

// ApplyScoreTx stores a screening result inside tx (system scope): only
// when it is newer than the stored one, so re-scores arriving out of order
// and redeliveries have no second effect. It reports whether it changed
// the row; an unknown application changes nothing.
func (s *Service) ApplyScoreTx(ctx context.Context, tx pgx.Tx, ev ScoredV1) (bool, error) {
	at, ok := idTime(ev.ApplicationID)
	if !ok {
		return false, nil
	}
	score := math.Round(ev.Score*100) / 100
	scoredAt := ev.ScoredAt.UTC()
	n, err := db.New(tx).ApplicationApplyScore(ctx, db.ApplicationApplyScoreParams{
		AiScore: &score, Eligible: &ev.Eligible, ModelVersion: &ev.ModelVersion, ScoredAt: &scoredAt,
		ID: ev.ApplicationID, CreatedAt: at,
	})
	if err != nil {
		return false, postgres.Translate(err)
	}
	return n > 0, nil
}

// ScoresHandler is the consumer of screening.scored (group
// applications-scores). The runner gives it a system-scoped transaction
// and records the event as processed in it.
func (s *Service) ScoresHandler() consumer.Handler {
	return consumer.Handler{
		Group: ScoresGroup, Type: EventScored,
		Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
			var sc ScoredV1
			if err := json.Unmarshal(ev.Data, &sc); err != nil {
				return consumer.Permanent(fmt.Errorf("screening.scored: %w", err))
			}
			if sc.ApplicationID == uuid.Nil || sc.ScoredAt.IsZero() || sc.Score < 0 || sc.Score > 100 || math.IsNaN(sc.Score) {
				return consumer.Permanent(fmt.Errorf("screening.scored %s: invalid payload", ev.ID))
			}
			changed, err := s.ApplyScoreTx(ctx, tx, sc)
			if err == nil && !changed {
				s.logger.DebugContext(ctx, "screening score not applied (older, repeated or unknown application)",
					"application_id", sc.ApplicationID, "scored_at", sc.ScoredAt)
			}
			return err
		},
	}
}
