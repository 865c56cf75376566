// Hand-written, not generated: a query of this module queued into another
// module's pgx.Batch (the application submission reads its candidate in the
// first round trip of its own transaction). It uses the SQL that sqlc
// generated for the query of the same name and scans the same columns; sqlc
// leaves this file alone.

package db

import (
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// QueueUserSummaryGet queues UserSummaryGet; fn receives the row or the
// error of its Scan (pgx.ErrNoRows when there is no such account) when the
// batch's results are read, and what fn returns is the batch's error.
func QueueUserSummaryGet(b *pgx.Batch, id uuid.UUID, fn func(UserSummaryGetRow, error) error) {
	b.Queue(userSummaryGet, id).QueryRow(func(row pgx.Row) error {
		var i UserSummaryGetRow
		err := row.Scan(&i.ID, &i.FullName, &i.Role, &i.OrgID, &i.CnicEnc, &i.DisabledAt)
		return fn(i, err)
	})
}
