// Hand-written, not generated: a query of this module queued into another
// module's pgx.Batch (the application submission reads its job in the first
// round trip of its own transaction). It uses the SQL that sqlc generated
// for the query of the same name and scans the same columns; sqlc leaves
// this file alone.

package db

import (
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// QueueJobForApplication queues JobForApplication; fn receives the row or
// the error of its Scan (pgx.ErrNoRows when there is no such job) when the
// batch's results are read, and what fn returns is the batch's error.
func QueueJobForApplication(b *pgx.Batch, id uuid.UUID, fn func(JobForApplicationRow, error) error) {
	b.Queue(jobForApplication, id).QueryRow(func(row pgx.Row) error {
		var i JobForApplicationRow
		err := row.Scan(&i.ID, &i.OrgID, &i.Status, &i.Title, &i.OpensAt, &i.ClosesAt)
		return fn(i, err)
	})
}
