package db

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Staff search (GET /v1/applications) is the one query of this module
// whose SQL is built at run time: a dynamic filter that sqlc cannot
// express (CONVENTIONS.md, rule 7). This file is written by hand and
// survives `sqlc generate`.
//
// Why not one sqlc query with `(narg IS NULL OR col = narg)` per filter:
// such a statement can only be run fast with plan_cache_mode =
// force_custom_plan (a generic plan keeps every OR and can use no index
// for them), and a custom plan is planned again on every call: 0.4–1.8 ms
// over ten partitions, more than the query itself. The statement built
// here holds only the filters that are present, so its generic plan
// (planned once per connection and shape, then cached by pgx and
// PostgreSQL) already has every index condition, and the partitions a
// submission window excludes are pruned when it starts (run-time pruning).
// Text searches still run custom plans (the service's choice); they share
// the builder so that every order has one code path.
// docs/applications.md, "Plan settings", has the measurements.

// SearchSort is the order of a search built here.
type SearchSort int

// Sort orders.
const (
	SearchByRecent    SearchSort = iota // created_at DESC, id DESC
	SearchByScore                       // score_key DESC, id DESC
	SearchByRelevance                   // ts_rank DESC, id DESC; needs Query
)

// SearchFilter is one staff search. Nil fields do not filter; OrgID always
// does. CursorAt (recency), CursorScore (score) or CursorRank (relevance)
// with CursorID is the keyset position after which the page starts.
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
	CursorRank      *float32
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
	// Rank is the text match's ts_rank in relevance order, else 0.
	Rank float32
}

// searchColumns are SearchRow's columns, in its scan order (Rank, in
// relevance order only, follows).
const searchColumns = `SELECT id, created_at, job_id, candidate_id, receipt_number, status, candidate_name, cnic_masked, gender,
       domicile_province, domicile_district, skills, eligible, score_key, updated_at`

// searchRank is the relevance of a row to the text query $2: name matches
// weigh most (A), then skills (B), then the résumé (C). Ranking needs every
// match, so a broad word in a large organisation is costly
// (docs/applications.md, "Known limits").
const searchRank = `ts_rank(search, websearch_to_tsquery('simple', $2::text))::real`

// SearchStatement is one staff search's SQL and arguments. The SQL depends
// only on which filters are present and the order (the shape), never on
// their values, so it names the shape: there are a bounded number of them
// (2^8 filter sets × 3 orders × with and without a cursor), and each is
// prepared once per connection that runs it.
type SearchStatement struct {
	SQL  string
	Args []any
	// ranked: the rows end with the rank (relevance order).
	ranked bool
}

// NewSearchStatement builds the statement of f in order by.
func NewSearchStatement(f SearchFilter, by SearchSort) SearchStatement {
	var b strings.Builder
	b.Grow(len(searchColumns) + 600)
	b.WriteString(searchColumns)
	args := make([]any, 1, 12)
	args[0] = f.OrgID
	if by == SearchByRelevance {
		// The text query is $2, used by the rank, the match and the cursor.
		args = append(args, *f.Query)
		b.WriteString(",\n       " + searchRank + " AS rank")
	}
	b.WriteString("\nFROM applications.applications\nWHERE org_id = $1::uuid")
	// cond adds "AND sql", each "?" in sql becoming the next argument's
	// "$n" ("$2" in sql is the text query of relevance order).
	cond := func(sql string, vs ...any) {
		b.WriteString("\n  AND ")
		for _, v := range vs {
			i := strings.IndexByte(sql, '?')
			args = append(args, v)
			b.WriteString(sql[:i])
			b.WriteString("$" + strconv.Itoa(len(args)))
			sql = sql[i+1:]
		}
		b.WriteString(sql)
	}
	if by == SearchByRelevance {
		b.WriteString("\n  AND search @@ websearch_to_tsquery('simple', $2::text)")
	} else if f.Query != nil {
		cond("search @@ websearch_to_tsquery('simple', ?::text)", *f.Query)
	}
	if f.JobID != nil {
		cond("job_id = ?::uuid", *f.JobID)
	}
	if f.Status != nil {
		cond("status = ?::text", *f.Status)
	}
	if f.MinScoreKey != nil {
		cond("score_key >= ?::integer", *f.MinScoreKey)
	}
	if f.MaxScoreKey != nil {
		// An upper bound leaves unscored applications (score_key -1) out.
		cond("score_key BETWEEN 0 AND ?::integer", *f.MaxScoreKey)
	}
	if f.Province != nil {
		cond("domicile_province = ?::text", *f.Province)
	}
	if f.SubmittedAfter != nil {
		cond("created_at >= ?::timestamptz", *f.SubmittedAfter)
	}
	if f.SubmittedBefore != nil {
		cond("created_at < ?::timestamptz", *f.SubmittedBefore)
	}
	switch by {
	case SearchByScore:
		if f.CursorScore != nil && f.CursorID != nil {
			cond("(score_key, id) < (?::integer, ?::uuid)", *f.CursorScore, *f.CursorID)
		}
		b.WriteString("\nORDER BY score_key DESC, id DESC")
	case SearchByRelevance:
		if f.CursorRank != nil && f.CursorID != nil {
			cond("("+searchRank+", id) < (?::real, ?::uuid)", *f.CursorRank, *f.CursorID)
		}
		b.WriteString("\nORDER BY rank DESC, id DESC")
	default:
		if f.CursorAt != nil && f.CursorID != nil {
			cond("(created_at, id) < (?::timestamptz, ?::uuid)", *f.CursorAt, *f.CursorID)
		}
		b.WriteString("\nORDER BY created_at DESC, id DESC")
	}
	args = append(args, f.Limit)
	b.WriteString("\nLIMIT $" + strconv.Itoa(len(args)) + "::integer")
	return SearchStatement{SQL: b.String(), Args: args, ranked: by == SearchByRelevance}
}

// ApplicationSearch runs st.
func (q *Queries) ApplicationSearch(ctx context.Context, st SearchStatement) ([]SearchRow, error) {
	rows, err := q.db.Query(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []SearchRow{}
	for rows.Next() {
		var i SearchRow
		dest := []any{&i.ID, &i.CreatedAt, &i.JobID, &i.CandidateID, &i.ReceiptNumber, &i.Status,
			&i.CandidateName, &i.CnicMasked, &i.Gender, &i.DomicileProvince, &i.DomicileDistrict, &i.Skills,
			&i.Eligible, &i.ScoreKey, &i.UpdatedAt}
		if st.ranked {
			dest = append(dest, &i.Rank)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		items = append(items, i)
	}
	return items, rows.Err()
}
