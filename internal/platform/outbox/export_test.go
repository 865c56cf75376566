package outbox

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SetAfterProduce installs a fault-injection hook that runs after a batch
// was acknowledged by Kafka and before its transaction commits.
func SetAfterProduce(r *Relay, fn func(ctx context.Context, tx pgx.Tx) error) { r.afterProduce = fn }
