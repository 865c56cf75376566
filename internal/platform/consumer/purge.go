package consumer

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pvara-gov/pvara/internal/platform/consumer/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/maintenance"
)

// purgeBatch bounds one DELETE so the purge never holds many locks or a
// long transaction.
const purgeBatch = 10000

// PurgeProcessed deletes the processed-event records older than before, in
// batches, and returns how many it deleted. A record must outlive every
// copy of its event in Kafka (topic retention, plus a DLQ replay window):
// a redelivery whose record was purged would be applied again.
func PurgeProcessed(ctx context.Context, pool *pgxpool.Pool, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := db.New(pool).ProcessedEventsPurge(ctx, before, purgeBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("consumer: purge processed events: %w", err)
		}
		if n < purgeBatch {
			return total, nil
		}
	}
}

// PurgeTask is the maintenance task that keeps platform.processed_events
// bounded: hourly, it deletes records older than retention.
func PurgeTask(pool *pgxpool.Pool, retention time.Duration, now func() time.Time) maintenance.Task {
	return maintenance.Task{
		Name:  "processed-events-purge",
		Every: time.Hour,
		Run: func(ctx context.Context) error {
			_, err := PurgeProcessed(ctx, pool, now().Add(-retention))
			return err
		},
	}
}
