package db

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Queue helpers: the board's queries added to a pgx.Batch, so that the
// uncached board read (transaction, row-level-security scope, page, next
// opening) is one round trip instead of five. Written by hand next to the
// sqlc code: they reuse its SQL and scan the same columns in the same order
// as the generated methods.

// QueueJobBoard queues JobBoard; the rows land in *out.
func QueueJobBoard(b *pgx.Batch, arg JobBoardParams, out *[]JobBoardRow) {
	b.Queue(jobBoard, arg.Now, arg.OrgID, arg.Province, arg.Department, arg.Q, arg.AfterPublished, arg.AfterID,
		arg.Lim).Query(func(rows pgx.Rows) error {
		items := []JobBoardRow{}
		for rows.Next() {
			var i JobBoardRow
			if err := rows.Scan(&i.ID, &i.OrgID, &i.Status, &i.Version, &i.Title, &i.Department, &i.Excerpt,
				&i.Location, &i.Province, &i.Grade, &i.Positions, &i.OpensAt, &i.ClosesAt, &i.Criteria,
				&i.PublishedAt); err != nil {
				return err
			}
			items = append(items, i)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		*out = items
		return nil
	})
}

// QueueJobNextOpening queues JobNextOpening; found reports whether a
// published job opens after now.
func QueueJobNextOpening(b *pgx.Batch, now time.Time, out *time.Time, found *bool) {
	b.Queue(jobNextOpening, now).QueryRow(func(row pgx.Row) error {
		err := row.Scan(out)
		if errors.Is(err, pgx.ErrNoRows) {
			*found = false
			return nil
		}
		*found = err == nil
		return err
	})
}

// A query of this module queued into another module's pgx.Batch: the
// application submission reads its job in the first round trip of its own
// transaction.

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
