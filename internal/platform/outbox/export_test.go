package outbox

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// SetAfterProduce installs a fault-injection hook that runs after a batch
// was acknowledged by Kafka and before its transaction commits.
func SetAfterProduce(r *Relay, fn func(ctx context.Context, tx pgx.Tx) error) { r.afterProduce = fn }

// SetOnDelivered installs a hook told the ids of each committed batch and
// the time Kafka acknowledged it.
func SetOnDelivered(r *Relay, fn func(ids []uuid.UUID, acked time.Time)) { r.onDelivered = fn }
