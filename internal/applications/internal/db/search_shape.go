package db

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Staff search in recency or score order (GET /v1/applications without
// relevance) is the one query of this module whose SQL is built at run
// time: a dynamic filter that sqlc cannot express (CONVENTIONS.md, rule 7).
// This file is written by hand and survives `sqlc generate`.
//
// Why not one sqlc query with `(narg IS NULL OR col = narg)` per filter, as
// the relevance query has: such a statement can only be run fast with
// plan_cache_mode = force_custom_plan (a generic plan keeps every OR and
// can use no index for them), and a custom plan is planned again on every
// call: 0.4–1.8 ms over ten partitions, more than the query itself. The
// statement built here holds only the filters that are present, so its
// generic plan (planned once per connection and shape, then cached by pgx
// and PostgreSQL) already has every index condition, and the partitions a
// submission window excludes are pruned when it starts (run-time pruning).
// docs/applications.md, "Plan settings", has the measurements.

// SearchSort is the order of a search built here.
type SearchSort int

// Sort orders.
const (
	SearchByRecent SearchSort = iota // created_at DESC, id DESC
	SearchByScore                    // score_key DESC, id DESC
)

// SearchFilter is one staff search. Nil fields do not filter; OrgID always
// does. CursorAt (recency) or CursorScore (score) with CursorID is the
// keyset position after which the page starts.
type SearchFilter struct {
	OrgID           uuid.UUID
	JobID           *uuid.UUID
	Status          *string
	MinScoreKey     *int32
	MaxScoreKey     *int32
	Province        *string
	SubmittedAfter  *time.Time
	SubmittedBefore *time.Time
	Query           *string
	CursorAt        *time.Time
	CursorScore     *int32
	CursorID        *uuid.UUID
	Limit           int32
}

// SearchRow is one application of a staff search.
type SearchRow struct {
	ID               uuid.UUID
	CreatedAt        time.Time
	JobID            uuid.UUID
	CandidateID      uuid.UUID
	ReceiptNumber    string
	Status           string
	CandidateName    string
	CnicMasked       string
	Gender           string
	DomicileProvince string
	DomicileDistrict string
	Skills           []string
	Eligible         *bool
	ScoreKey         int32
	UpdatedAt        time.Time
}

// searchColumns are SearchRow's columns, in its scan order.
const searchColumns = `SELECT id, created_at, job_id, candidate_id, receipt_number, status, candidate_name, cnic_masked, gender,
       domicile_province, domicile_district, skills, eligible, score_key, updated_at
FROM applications.applications
WHERE org_id = $1::uuid`

// SearchStatement is the SQL and arguments of f in order by. The SQL
// depends only on which filters are present (the shape), never on their
// values, so there are a bounded number of statements (at most 2^8 × 2
// sorts × with and without a cursor), each prepared once per connection.
// Exported for applications.ExplainSearch (pvara-load explain).
func SearchStatement(f SearchFilter, by SearchSort) (string, []any) {
	var b strings.Builder
	b.Grow(len(searchColumns) + 400)
	b.WriteString(searchColumns)
	args := make([]any, 1, 12)
	args[0] = f.OrgID
	// cond adds "AND sql", each "$" in sql numbered as the next argument.
	cond := func(sql string, vs ...any) {
		b.WriteString("\n  AND ")
		for _, v := range vs {
			i := strings.IndexByte(sql, '$')
			args = append(args, v)
			b.WriteString(sql[:i+1])
			b.WriteString(strconv.Itoa(len(args)))
			sql = sql[i+1:]
		}
		b.WriteString(sql)
	}
	if f.JobID != nil {
		cond("job_id = $::uuid", *f.JobID)
	}
	if f.Status != nil {
		cond("status = $::text", *f.Status)
	}
	if f.MinScoreKey != nil {
		cond("score_key >= $::integer", *f.MinScoreKey)
	}
	if f.MaxScoreKey != nil {
		// An upper bound leaves unscored applications (score_key -1) out.
		cond("score_key BETWEEN 0 AND $::integer", *f.MaxScoreKey)
	}
	if f.Province != nil {
		cond("domicile_province = $::text", *f.Province)
	}
	if f.SubmittedAfter != nil {
		cond("created_at >= $::timestamptz", *f.SubmittedAfter)
	}
	if f.SubmittedBefore != nil {
		cond("created_at < $::timestamptz", *f.SubmittedBefore)
	}
	if f.Query != nil {
		cond("search @@ websearch_to_tsquery('simple', $::text)", *f.Query)
	}
	switch by {
	case SearchByScore:
		if f.CursorScore != nil && f.CursorID != nil {
			cond("(score_key, id) < ($::integer, $::uuid)", *f.CursorScore, *f.CursorID)
		}
		b.WriteString("\nORDER BY score_key DESC, id DESC")
	default:
		if f.CursorAt != nil && f.CursorID != nil {
			cond("(created_at, id) < ($::timestamptz, $::uuid)", *f.CursorAt, *f.CursorID)
		}
		b.WriteString("\nORDER BY created_at DESC, id DESC")
	}
	args = append(args, f.Limit)
	b.WriteString("\nLIMIT $" + strconv.Itoa(len(args)) + "::integer")
	return b.String(), args
}

// ApplicationSearch runs SearchStatement(f, by).
func (q *Queries) ApplicationSearch(ctx context.Context, f SearchFilter, by SearchSort) ([]SearchRow, error) {
	sql, args := SearchStatement(f, by)
	rows, err := q.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []SearchRow{}
	for rows.Next() {
		var i SearchRow
		if err := rows.Scan(&i.ID, &i.CreatedAt, &i.JobID, &i.CandidateID, &i.ReceiptNumber, &i.Status,
			&i.CandidateName, &i.CnicMasked, &i.Gender, &i.DomicileProvince, &i.DomicileDistrict, &i.Skills,
			&i.Eligible, &i.ScoreKey, &i.UpdatedAt); err != nil {
			return nil, err
		}
		items = append(items, i)
	}
	return items, rows.Err()
}

// RelevanceStatement is ApplicationSearchRelevance's SQL and arguments, for
// EXPLAIN (applications.ExplainSearch).
func RelevanceStatement(arg ApplicationSearchRelevanceParams) (string, []any) {
	return applicationSearchRelevance, []any{arg.Query, arg.OrgID, arg.JobID, arg.Status, arg.MinScoreKey,
		arg.MaxScoreKey, arg.Province, arg.SubmittedAfter, arg.SubmittedBefore, arg.CursorRank, arg.CursorID, arg.Lim}
}
