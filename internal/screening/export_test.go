package screening

import (
	"context"

	"github.com/google/uuid"
)

// SetBeforeRankingWrite installs a hook run by every ranking sync between
// its read of PostgreSQL and its write to Redis, so a test can interleave
// two syncs in the order a race would.
func SetBeforeRankingWrite(s *Service, f func()) { s.beforeRankingWrite = f }

// SyncRanking runs the ranking sync an event's AfterCommit runs.
func SyncRanking(s *Service, ctx context.Context, apps ...uuid.UUID) { s.syncRanking(ctx, apps) }
