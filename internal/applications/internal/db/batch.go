// Hand-written, not generated: the submission's statements queued into a
// pgx.Batch, so that the hot path sends its reads in one round trip and its
// writes (with COMMIT) in another. Each function uses the SQL that sqlc
// generated for the query of the same name and scans the same columns;
// TestSubmit* exercise them. sqlc leaves this file alone.

package db

import (
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// QueueProfileGet queues ProfileGet; found reports whether there was a row.
func QueueProfileGet(b *pgx.Batch, userID uuid.UUID, out *ApplicationsProfile, found *bool) {
	b.Queue(profileGet, userID).QueryRow(func(row pgx.Row) error {
		// The jsonb columns scan as bytes: into a *json.RawMessage pgx
		// would run json.Unmarshal over them (validating what PostgreSQL
		// stored as jsonb) on every submission.
		err := row.Scan(&out.UserID, &out.Version, &out.DateOfBirth, &out.Gender, &out.DomicileProvince,
			&out.DomicileDistrict, (*[]byte)(&out.Education), (*[]byte)(&out.Experience), &out.Skills, &out.ResumeText, &out.PhoneEnc,
			&out.CreatedAt, &out.UpdatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			*found = false
			return nil
		}
		*found = err == nil
		return err
	})
}

// QueueIdempotencyLock queues IdempotencyLock.
func QueueIdempotencyLock(b *pgx.Batch, lockKey int64, locked *bool) {
	b.Queue(idempotencyLock, lockKey).QueryRow(func(row pgx.Row) error { return row.Scan(locked) })
}

// QueueIdempotencyGet queues IdempotencyGet; found reports whether there
// was a row.
func QueueIdempotencyGet(b *pgx.Batch, userID uuid.UUID, key string, now any, out *IdempotencyGetRow, found *bool) {
	b.Queue(idempotencyGet, userID, key, now).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&out.Fingerprint, &out.Status, (*[]byte)(&out.Response))
		if errors.Is(err, pgx.ErrNoRows) {
			*found = false
			return nil
		}
		*found = err == nil
		return err
	})
}

// QueueApplicationSubmit queues ApplicationSubmit.
func QueueApplicationSubmit(b *pgx.Batch, arg ApplicationSubmitParams, receipt *string) {
	b.Queue(applicationSubmit, arg.JobID, arg.CandidateID, arg.ID, arg.CreatedAt, arg.ReceiptNumber, arg.OrgID,
		arg.CoverLetter, arg.CandidateName, arg.CnicMasked, arg.Gender, arg.DateOfBirth, arg.DomicileProvince,
		arg.DomicileDistrict, arg.Skills, arg.ResumeText, arg.Profile, arg.PhoneEnc,
	).QueryRow(func(row pgx.Row) error { return row.Scan(receipt) })
}

// QueueHistoryInsert queues HistoryInsert (the submission's first history
// row, after QueueApplicationSubmit: its insert policy must see the
// application, which a CTE of that statement could not).
func QueueHistoryInsert(b *pgx.Batch, arg HistoryInsertParams) {
	b.Queue(historyInsert, arg.ID, arg.ApplicationID, arg.OrgID, arg.CandidateID, arg.FromStatus, arg.ToStatus,
		arg.Reason, arg.ChangedBy, arg.ChangedAt)
}

// QueueReceiptNext queues ReceiptNext.
func QueueReceiptNext(b *pgx.Batch, n *int64) {
	b.Queue(receiptNext).QueryRow(func(row pgx.Row) error { return row.Scan(n) })
}

// QueueIdempotencyPut queues IdempotencyPut.
func QueueIdempotencyPut(b *pgx.Batch, arg IdempotencyPutParams) {
	b.Queue(idempotencyPut, arg.UserID, arg.Key, arg.Fingerprint, arg.Status, arg.Response, arg.Now, arg.ExpiresAt)
}
