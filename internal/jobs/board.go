package jobs

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/jobs/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/vocab"
)

// BoardQuery selects a page of the public board.
type BoardQuery struct {
	OrgID      *uuid.UUID
	Province   *vocab.Province
	Department *string
	// Q is a full-text query (web-search syntax: words, "phrases", -not, or).
	Q *string
	// After is the position of the last job of the previous page.
	After *BoardCursor
	Limit int
}

// BoardCursor is a position on the board: (published_at, id) of a job.
// Keyset pagination on it never repeats or skips a job that stays on the
// board, however many jobs are published meanwhile.
type BoardCursor struct {
	PublishedAt time.Time `json:"p"`
	ID          uuid.UUID `json:"i"`
}

// BoardPage is one page of the board.
type BoardPage struct {
	Items []Summary
	// Next is the cursor of the next page, nil on the last page.
	Next *BoardCursor
	// ValidUntil is when this page may stop being true without any write:
	// the earliest deadline on it, or the next opening of a published job.
	ValidUntil time.Time
	// At is when the page was read.
	At time.Time
}

// Normalize trims the filters (empty means none) and bounds the limit.
func (q BoardQuery) Normalize() BoardQuery {
	trim := func(p *string) *string {
		if p == nil {
			return nil
		}
		t := strings.Join(strings.Fields(*p), " ")
		if t == "" {
			return nil
		}
		return &t
	}
	q.Department = trim(q.Department)
	q.Q = trim(q.Q)
	if q.Q != nil {
		lq := strings.ToLower(*q.Q)
		q.Q = &lq
	}
	if q.Limit <= 0 {
		q.Limit = 25
	}
	if q.Limit > 100 {
		q.Limit = 100
	}
	return q
}

// maxQuery bounds the full-text query.
const maxQuery = 200

// Board reads a page of the public board: published jobs open now.
func (s *Service) Board(ctx context.Context, q BoardQuery) (BoardPage, error) {
	q = q.Normalize()
	if q.Q != nil && len(*q.Q) > maxQuery {
		return BoardPage{}, apperr.Invalid(apperr.Field("query.q", "must be at most 200 characters"))
	}
	now := s.now().UTC()
	params := db.JobBoardParams{
		Now: now, OrgID: q.OrgID, Province: provinceParam(q.Province), Department: q.Department, Q: q.Q,
		Lim: int32(q.Limit + 1),
	}
	if q.After != nil {
		params.AfterPublished, params.AfterID = &q.After.PublishedAt, &q.After.ID
	}
	// One round trip: the transaction, its row-level-security scope, the
	// next opening and the page are sent as one batch. Only the page needs
	// custom plans (its optional filters, see docs/jobs.md), so they are
	// switched on after the next-opening query, which keeps its cached
	// generic plan instead of being planned again on every read.
	var (
		b       pgx.Batch
		rows    []db.JobBoardRow
		next    time.Time
		hasNext bool
	)
	b.Queue("BEGIN READ ONLY")
	postgres.PublicScope().Queue(&b)
	db.QueueJobNextOpening(&b, now, &next, &hasNext)
	b.Queue(forceCustomPlans)
	db.QueueJobBoard(&b, params, &rows)
	b.Queue("COMMIT")
	if err := s.readBatch(ctx, &b); err != nil {
		return BoardPage{}, err
	}
	page := BoardPage{At: now, ValidUntil: now.Add(24 * time.Hour)}
	if hasNext && next.Before(page.ValidUntil) {
		page.ValidUntil = next.UTC()
	}
	page.Items = make([]Summary, 0, min(len(rows), q.Limit))
	for i, r := range rows {
		if i == q.Limit {
			last := page.Items[len(page.Items)-1]
			page.Next = &BoardCursor{PublishedAt: *last.PublishedAt, ID: last.ID}
			break
		}
		sm, err := toSummary(r)
		if err != nil {
			return BoardPage{}, err
		}
		if sm.ClosesAt.Before(page.ValidUntil) {
			page.ValidUntil = sm.ClosesAt
		}
		page.Items = append(page.Items, sm)
	}
	return page, nil
}

// forceCustomPlans makes the rest of the transaction plan each statement
// for its parameters (what postgres.Scope.WithCustomPlans sets with the
// scope).
const forceCustomPlans = "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"

// readBatch sends b, a read-only batch that begins and commits its own
// transaction, in one round trip. PostgreSQL skips the rest of a batch
// after an error, COMMIT included, so on failure the transaction is rolled
// back here; a connection that still ends up inside a transaction is closed
// by the pool on release, never reused.
func (s *Service) readBatch(ctx context.Context, b *pgx.Batch) error {
	conn, err := s.db.Acquire(ctx)
	if err != nil {
		return postgres.Translate(err)
	}
	defer conn.Release()
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		if conn.Conn().PgConn().TxStatus() != 'I' {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			_, _ = conn.Exec(rctx, "ROLLBACK")
		}
		return postgres.Translate(err)
	}
	return nil
}

// StaffQuery selects a page of an organisation's own jobs.
type StaffQuery struct {
	// Status filters by the effective status ("" for all): "published"
	// means published and not past its deadline, "closed" includes
	// published jobs past it.
	Status Status
	Q      *string
	Before *uuid.UUID
	Limit  int
}

// ListOrg lists p's organisation's jobs in every status, newest first.
func (s *Service) ListOrg(ctx context.Context, p authz.Principal, q StaffQuery) ([]Summary, *uuid.UUID, error) {
	if !p.IsStaff() {
		return nil, nil, apperr.ErrForbidden
	}
	bq := BoardQuery{Q: q.Q, Limit: q.Limit}.Normalize()
	now := s.now().UTC()
	params := db.JobListOrgParams{OrgID: p.OrgID, Q: bq.Q, BeforeID: q.Before, Lim: int32(bq.Limit + 1)}
	switch q.Status {
	case "":
	case StatusDraft, StatusArchived:
		params.Statuses = []string{string(q.Status)}
	case StatusPublished:
		params.Statuses, params.OpenAt = []string{string(StatusPublished)}, &now
	case StatusClosed:
		params.Statuses, params.DueAt = []string{string(StatusClosed), string(StatusPublished)}, &now
	default:
		return nil, nil, apperr.Invalid(apperr.Field("query.status", "must be draft, published, closed or archived"))
	}
	var out []Summary
	var next *uuid.UUID
	err := postgres.ScopedTx(ctx, s.db, p.Scope().WithCustomPlans(), func(tx pgx.Tx) error {
		rows, err := db.New(tx).JobListOrg(ctx, params)
		if err != nil {
			return postgres.Translate(err)
		}
		out = make([]Summary, 0, min(len(rows), bq.Limit))
		for i, r := range rows {
			if i == bq.Limit {
				id := out[len(out)-1].ID
				next = &id
				break
			}
			sm, err := toSummary(db.JobBoardRow(r))
			if err != nil {
				return err
			}
			sm.Status = effectiveStatus(sm.Status, sm.ClosesAt, now)
			out = append(out, sm)
		}
		return nil
	})
	return out, next, err
}
