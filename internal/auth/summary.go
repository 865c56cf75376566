package auth

import (
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/auth/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
)

// QueueUser queues the read of one account's summary (what Users returns
// for it) into b, a batch of another module's transaction: the application
// submission reads its candidate in the first round trip of its own
// transaction instead of a round trip of its own. The read runs in
// whatever row-level-security scope b set before it; the account's own
// scope (postgres.UserScope) sees that account. done receives the summary,
// or apperr.ErrNotFound when the account is not there (or not visible),
// when the batch's results are read; a database or decryption error is the
// batch's error and done is not called.
func (s *Service) QueueUser(b *pgx.Batch, id uuid.UUID, done func(UserSummary, error)) {
	db.QueueUserSummaryGet(b, id, func(r db.UserSummaryGetRow, err error) error {
		if errors.Is(err, pgx.ErrNoRows) {
			done(UserSummary{}, apperr.ErrNotFound)
			return nil
		}
		if err != nil {
			return err
		}
		sum, err := s.summary(db.UsersGetNamesRow(r))
		if err != nil {
			return err
		}
		done(sum, nil)
		return nil
	})
}
