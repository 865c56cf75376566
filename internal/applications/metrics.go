package applications

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/applications/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/maintenance"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// StatusMetrics are the applications of one job in one status.
type StatusMetrics struct {
	Count int64
	// AvgScore is the average AI score of the scored ones (nil: none).
	AvgScore *float64
}

// JobMetrics are a job's applications by status, as of RefreshedAt (the
// materialized view's last refresh; nil before the first).
type JobMetrics struct {
	JobID       uuid.UUID
	ByStatus    map[string]StatusMetrics
	RefreshedAt *time.Time
}

// JobMetrics returns job id's metrics from the application_metrics view.
// Every status is present (count 0 when none). Staff of another
// organisation get 404.
func (s *Search) JobMetrics(ctx context.Context, p authz.Principal, id uuid.UUID) (JobMetrics, error) {
	if err := s.checkJob(ctx, p, id); err != nil {
		return JobMetrics{}, err
	}
	out := JobMetrics{JobID: id, ByStatus: make(map[string]StatusMetrics, len(Statuses))}
	for _, st := range Statuses {
		out.ByStatus[string(st)] = StatusMetrics{}
	}
	err := postgres.ScopedTx(ctx, s.db, p.Scope(), func(tx pgx.Tx) error {
		q := db.New(tx)
		rows, err := q.JobMetrics(ctx, id, p.OrgID)
		if err != nil {
			return err
		}
		for _, r := range rows {
			m := StatusMetrics{Count: r.Applications}
			if r.AvgScore.Valid {
				f, err := r.AvgScore.Float64Value()
				if err != nil {
					return err
				}
				m.AvgScore = &f.Float64
			}
			out.ByStatus[r.Status] = m
		}
		at, err := q.MetricsRefreshedAt(ctx)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		out.RefreshedAt = &at
		return nil
	})
	if err != nil {
		return JobMetrics{}, postgres.Translate(err)
	}
	return out, nil
}

// RefreshMetrics refreshes the application_metrics view (concurrently:
// readers are not blocked) and returns the refresh time.
func (s *Search) RefreshMetrics(ctx context.Context) (time.Time, error) {
	var at time.Time
	err := postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		var err error
		at, err = db.New(tx).MetricsRefresh(ctx)
		return err
	})
	return at, postgres.Translate(err)
}

// MetricsTask is the maintenance task that refreshes the view every
// interval.
func (s *Search) MetricsTask(every time.Duration) maintenance.Task {
	return maintenance.Task{Name: "applications.metrics_refresh", Every: every, Run: func(ctx context.Context) error {
		_, err := s.RefreshMetrics(ctx)
		return err
	}}
}
