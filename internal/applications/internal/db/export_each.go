package db

import (
	"context"

	"github.com/google/uuid"
)

// ApplicationExportRowsEach runs ApplicationExportRows (its SQL lives in
// db/queries/applications/search.sql and is checked by sqlc) and calls fn
// for each row as it arrives, without collecting them: the CSV export
// streams any number of rows in constant memory. sqlc generates only the
// collecting form; this file is written by hand and survives `sqlc
// generate`. The scan order is the query's column order.
func (q *Queries) ApplicationExportRowsEach(ctx context.Context, orgID, jobID uuid.UUID, fn func(*ApplicationExportRowsRow) error) error {
	rows, err := q.db.Query(ctx, applicationExportRows, orgID, jobID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var i ApplicationExportRowsRow
	for rows.Next() {
		if err := rows.Scan(&i.ID, &i.CreatedAt, &i.ReceiptNumber, &i.Status, &i.CandidateName, &i.CnicMasked,
			&i.Gender, &i.DateOfBirth, &i.DomicileProvince, &i.DomicileDistrict, &i.Skills, &i.ScoreKey,
			&i.Eligible, &i.ModelVersion, &i.UpdatedAt); err != nil {
			return err
		}
		if err := fn(&i); err != nil {
			return err
		}
	}
	return rows.Err()
}
