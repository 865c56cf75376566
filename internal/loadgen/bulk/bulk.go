// Package bulk loads large synthetic data sets into PostgreSQL fast, for the
// load commands: COPY with the secondary indexes dropped and rebuilt around
// it, and UUIDv7 ids made for a given instant (PVARA's ids carry their
// creation time, and partitioned tables are keyed on it).
package bulk

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Copy writes src into table with COPY inside tx. The table's secondary
// indexes (those that back no constraint) are dropped first and built again
// after the load: a bulk build is several times faster than maintaining
// them row by row, GIN indexes above all. Their definitions are read from
// the catalogue, so this follows whatever the migrations create; on a
// partitioned table, dropping the parent's index drops the partitions'
// too, and recreating it builds them again. tx must belong to the table's
// owner (COPY into a table with row-level security is refused to the
// application role).
func Copy(ctx context.Context, tx pgx.Tx, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	rows, err := tx.Query(ctx, `
		SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
		FROM pg_index i
		WHERE i.indrelid = $1::regclass
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`, table.Sanitize())
	if err != nil {
		return 0, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var nd [2]string
		err := r.Scan(&nd[0], &nd[1])
		return nd, err
	})
	if err != nil {
		return 0, err
	}
	for _, nd := range list {
		if _, err := tx.Exec(ctx, "DROP INDEX "+nd[0]); err != nil {
			return 0, fmt.Errorf("bulk: drop index %s: %w", nd[0], err)
		}
	}
	n, err := tx.CopyFrom(ctx, table, cols, src)
	if err != nil {
		return n, fmt.Errorf("bulk: copy into %s: %w", table.Sanitize(), err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '512MB'"); err != nil {
		return n, err
	}
	for _, nd := range list {
		// The catalogue writes a partitioned table's index as "ON ONLY
		// parent", which would build it on the parent alone (invalid, and
		// no partition indexed): build it everywhere.
		def := strings.Replace(nd[1], " ON ONLY ", " ON ", 1)
		if _, err := tx.Exec(ctx, def); err != nil {
			return n, fmt.Errorf("bulk: rebuild index %s: %w", nd[0], err)
		}
	}
	return n, nil
}

// UUIDv7At is a version 7 UUID for instant t, its random bits drawn from
// rng (so a seeded data set is reproducible).
func UUIDv7At(t time.Time, rng *rand.Rand) uuid.UUID {
	var u uuid.UUID
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	r1, r2 := rng.Uint64(), rng.Uint64()
	for i := range 8 {
		u[6+i%2] = byte(r1 >> (8 * i))
		u[8+i] = byte(r2 >> (8 * i))
	}
	u[6] = 0x70 | (u[6] & 0x0f)
	u[8] = 0x80 | (u[8] & 0x3f)
	return u
}
