package jobs

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/jobs/internal/db"
)

// SubmissionView is what an application submission needs of a job: whose
// it is and whether it takes applications.
type SubmissionView struct {
	ID       uuid.UUID
	OrgID    uuid.UUID
	Title    string
	Status   Status // effective status when the batch's results are read
	OpensAt  time.Time
	ClosesAt time.Time
}

// QueueForApplication queues the read of job id into b, a batch of the
// applications module's submission transaction, so that the submission
// reads its job, its candidate and its own rows in one round trip
// (GetForApplication is the same read on its own, in two). The read runs
// in whatever row-level-security scope b set before it: the candidate's own
// scope sees published and closed jobs only, which are the only ones a
// submission may find anyway. done receives the job, or ErrNotFound for a
// job that does not exist or is neither published nor closed, when the
// batch's results are read; a database error is the batch's error and done
// is not called.
func (s *Service) QueueForApplication(b *pgx.Batch, id uuid.UUID, done func(SubmissionView, error)) {
	db.QueueJobForApplication(b, id, func(r db.JobForApplicationRow, err error) error {
		if errors.Is(err, pgx.ErrNoRows) {
			done(SubmissionView{}, ErrNotFound)
			return nil
		}
		if err != nil {
			return err
		}
		st := Status(r.Status)
		if st != StatusPublished && st != StatusClosed {
			done(SubmissionView{}, ErrNotFound)
			return nil
		}
		closes := r.ClosesAt.UTC()
		done(SubmissionView{
			ID: r.ID, OrgID: r.OrgID, Title: r.Title, Status: effectiveStatus(st, closes, s.now()),
			OpensAt: r.OpensAt.UTC(), ClosesAt: closes,
		}, nil)
		return nil
	})
}
