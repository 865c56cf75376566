package applications

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

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

// SubmittedMany returns the applications with the given ids as submitted
// (system scope), in the order of ids, each once; ids with no application
// (or not UUIDv7) are left out. One query: the ids' times bound created_at,
// so only the partitions that can hold them are read.
func (s *Service) SubmittedMany(ctx context.Context, ids []uuid.UUID) ([]Submitted, error) {
	want := make([]uuid.UUID, 0, len(ids))
	var from, to time.Time
	for _, id := range ids {
		at, ok := idTime(id)
		if !ok {
			continue
		}
		if len(want) == 0 || at.Before(from) {
			from = at
		}
		if len(want) == 0 || at.After(to) {
			to = at
		}
		want = append(want, id)
	}
	if len(want) == 0 {
		return nil, nil
	}
	byID := make(map[uuid.UUID]Submitted, len(want))
	err := postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		rows, err := db.New(tx).ApplicationGetMany(ctx, want, from, to)
		if err != nil {
			return postgres.Translate(err)
		}
		for _, r := range rows {
			a, err := toApplication(db.ApplicationGetRow(r))
			if err != nil {
				return err
			}
			byID[a.ID] = toSubmitted(a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Submitted, 0, len(byID))
	for _, id := range want {
		if sub, ok := byID[id]; ok {
			out = append(out, sub)
			delete(byID, id)
		}
	}
	return out, nil
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

// ApplyScoresTx stores many screening results inside tx with one
// statement, each under ApplyScoreTx's rule (only when newer than the
// stored one). Of several results for one application only the newest
// counts (the first of equals, as one at a time would keep it). It returns
// the applications whose row changed.
func (s *Service) ApplyScoresTx(ctx context.Context, tx pgx.Tx, evs []ScoredV1) ([]uuid.UUID, error) {
	n := len(evs)
	p := db.ApplicationApplyScoresParams{
		Ids: make([]uuid.UUID, 0, n), CreatedAts: make([]time.Time, 0, n), AiScores: make([]float64, 0, n),
		Eligibles: make([]bool, 0, n), ModelVersions: make([]string, 0, n), ScoredAts: make([]time.Time, 0, n),
	}
	pos := make(map[uuid.UUID]int, n)
	for _, ev := range evs {
		at, ok := idTime(ev.ApplicationID)
		if !ok {
			continue
		}
		score := math.Round(ev.Score*100) / 100
		scoredAt := ev.ScoredAt.UTC()
		if i, seen := pos[ev.ApplicationID]; seen {
			if scoredAt.After(p.ScoredAts[i]) {
				p.AiScores[i], p.Eligibles[i], p.ModelVersions[i], p.ScoredAts[i] = score, ev.Eligible, ev.ModelVersion, scoredAt
			}
			continue
		}
		if len(p.Ids) == 0 || at.Before(p.CreatedFrom) {
			p.CreatedFrom = at
		}
		if len(p.Ids) == 0 || at.After(p.CreatedTo) {
			p.CreatedTo = at
		}
		pos[ev.ApplicationID] = len(p.Ids)
		p.Ids, p.CreatedAts = append(p.Ids, ev.ApplicationID), append(p.CreatedAts, at)
		p.AiScores, p.Eligibles = append(p.AiScores, score), append(p.Eligibles, ev.Eligible)
		p.ModelVersions, p.ScoredAts = append(p.ModelVersions, ev.ModelVersion), append(p.ScoredAts, scoredAt)
	}
	if len(p.Ids) == 0 {
		return nil, nil
	}
	changed, err := db.New(tx).ApplicationApplyScores(ctx, p)
	if err != nil {
		return nil, postgres.Translate(err)
	}
	return changed, nil
}

// decodeScored reads a screening.scored payload; a malformed one can never
// be applied (Permanent).
func decodeScored(ev outbox.Envelope) (ScoredV1, error) {
	var sc ScoredV1
	if err := json.Unmarshal(ev.Data, &sc); err != nil {
		return sc, consumer.Permanent(fmt.Errorf("screening.scored: %w", err))
	}
	if sc.ApplicationID == uuid.Nil || sc.ScoredAt.IsZero() || sc.Score < 0 || sc.Score > 100 || math.IsNaN(sc.Score) {
		return sc, consumer.Permanent(fmt.Errorf("screening.scored %s: invalid payload", ev.ID))
	}
	return sc, nil
}

// ScoresHandler is the consumer of screening.scored (group
// applications-scores). The runner gives it a system-scoped transaction
// and records the event as processed in it.
func (s *Service) ScoresHandler() consumer.Handler {
	return consumer.Handler{
		Group: ScoresGroup, Type: EventScored,
		Handle: func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error {
			sc, err := decodeScored(ev)
			if err != nil {
				return err
			}
			changed, err := s.ApplyScoreTx(ctx, tx, sc)
			if err == nil && !changed {
				s.logger.DebugContext(ctx, "screening score not applied (older, repeated or unknown application)",
					"application_id", sc.ApplicationID, "scored_at", sc.ScoredAt)
			}
			return err
		},
		// A runner batch of scores is stored with one statement; an
		// invalid payload is named, so it alone goes to the dead letters.
		HandleBatch: func(ctx context.Context, tx pgx.Tx, evs []outbox.Envelope) error {
			scs := make([]ScoredV1, len(evs))
			for i, ev := range evs {
				sc, err := decodeScored(ev)
				if err != nil {
					return consumer.BatchFailure(i, err)
				}
				scs[i] = sc
			}
			changed, err := s.ApplyScoresTx(ctx, tx, scs)
			if err == nil && len(changed) < len(scs) {
				s.logger.DebugContext(ctx, "screening scores not applied (older, repeated or unknown applications)",
					"events", len(scs), "applied", len(changed))
			}
			return err
		},
	}
}
