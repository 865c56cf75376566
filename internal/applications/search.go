package applications

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pvara-gov/pvara/internal/applications/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/vocab"
)

// SearchRoles may search, export and read metrics: the staff who decide on
// applications.
var SearchRoles = []authz.Role{authz.RoleRecruiter, authz.RoleOrgAdmin}

// JobOrgFunc says which organisation job id belongs to, as p may see it
// (the jobs module, adapted in cmd/pvara). Any error means p may not see
// the job.
type JobOrgFunc func(ctx context.Context, p authz.Principal, id uuid.UUID) (uuid.UUID, error)

// SearchDeps are the collaborators of staff search, the CSV export and the
// metrics.
type SearchDeps struct {
	// DB is the application pool (pvara_app, under row-level security).
	DB *pgxpool.Pool
	// JobOrg checks job ownership for the CSV export and the metrics.
	JobOrg JobOrgFunc
	// Cursors signs the search's page cursors.
	Cursors *httpx.Cursors
	// GenericShapes is how many distinct search shapes (which filters are
	// present, the order, a cursor or not) run on a cached generic plan;
	// the shapes seen after them are planned per request (0: 32; negative:
	// none). Each cached plan costs PostgreSQL about 290 kB in every
	// connection that ran it, so this bounds that memory whatever filters
	// clients combine ("Plan settings" in docs/applications.md).
	GenericShapes int
	// Logger defaults to discarding; Clock to time.Now.
	Logger *slog.Logger
	Clock  func() time.Time
}

// Search serves staff search (GET /v1/applications), the CSV export of a
// job's applications and the per-job metrics.
type Search struct {
	db      *pgxpool.Pool
	jobOrg  JobOrgFunc
	cursors *httpx.Cursors
	shapes  *shapeSet
	logger  *slog.Logger
	now     func() time.Time
}

// NewSearch builds the staff search service.
func NewSearch(deps SearchDeps) (*Search, error) {
	if deps.DB == nil || deps.JobOrg == nil || deps.Cursors == nil {
		return nil, errors.New("applications: search needs a database pool, a job-ownership check and a cursor codec")
	}
	if deps.Logger == nil {
		deps.Logger = logx.Discard()
	}
	if deps.Clock == nil {
		deps.Clock = time.Now
	}
	if deps.GenericShapes == 0 {
		deps.GenericShapes = 32
	}
	return &Search{db: deps.DB, jobOrg: deps.JobOrg, cursors: deps.Cursors, logger: deps.Logger, now: deps.Clock,
		shapes: &shapeSet{max: deps.GenericShapes, set: map[string]struct{}{}}}, nil
}

// shapeSet is the search shapes that run on a cached generic plan, named by
// their SQL (db.SearchStatement): the first max seen, kept for the life of
// the process.
type shapeSet struct {
	mu   sync.RWMutex
	set  map[string]struct{}
	max  int
	full bool
}

// admit reports whether the shape of sql runs on a generic plan, adding it
// while there is room; full is true the first time a shape finds none.
func (s *shapeSet) admit(sql string) (ok, full bool) {
	s.mu.RLock()
	_, ok = s.set[sql]
	s.mu.RUnlock()
	if ok {
		return true, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok = s.set[sql]; ok {
		return true, false
	}
	if len(s.set) < s.max {
		s.set[sql] = struct{}{}
		return true, false
	}
	full, s.full = !s.full, true
	return false, full
}

// Sort orders of staff search.
const (
	SortSubmittedAt = "submitted_at" // newest first (the default without q)
	SortScore       = "score"        // best AI score first, unscored last
	SortRelevance   = "relevance"    // best text match first (the default with q)
)

// SearchQuery is a staff search. Nil or empty fields do not filter.
type SearchQuery struct {
	JobID              *uuid.UUID
	Status             string
	MinScore, MaxScore *float64
	Province           string
	// SubmittedAfter is inclusive, SubmittedBefore exclusive.
	SubmittedAfter, SubmittedBefore *time.Time
	// Q is searched in the candidate's name, skills and résumé
	// (websearch syntax: words, "phrases", -exclusions, or).
	Q string
	// Sort is SortSubmittedAt, SortScore or SortRelevance (needs Q); empty
	// is relevance with Q, else submitted_at.
	Sort   string
	Limit  int
	Cursor string
}

// SearchItem is one application in a staff search: what a recruiter sees
// in a list (the CNIC masked as submitted).
type SearchItem struct {
	ID, JobID, CandidateID uuid.UUID
	ReceiptNumber          string
	Status                 string
	CandidateName          string
	CNICMasked             string
	Gender                 string
	DomicileProvince       string
	DomicileDistrict       string
	Skills                 []string
	// AIScore is nil until scored.
	AIScore     *float64
	Eligible    *bool
	SubmittedAt time.Time
	UpdatedAt   time.Time
}

// searchCursor is the position after the last item of a page.
type searchCursor struct {
	At    *time.Time `json:"t,omitempty"`
	Score *int32     `json:"s,omitempty"`
	Rank  *float32   `json:"r,omitempty"`
	ID    uuid.UUID  `json:"i"`
}

// scoreKey is a score in hundredths (the score_key column).
func scoreKey(f float64) int32 { return int32(f*100 + 0.5) }

func scoreOf(key int32) *float64 {
	if key < 0 {
		return nil
	}
	f := float64(key) / 100
	return &f
}

func (q *SearchQuery) validate() error {
	var v apperr.Validator
	q.Q = strings.TrimSpace(q.Q)
	if q.Sort == "" {
		q.Sort = SortSubmittedAt
		if q.Q != "" {
			q.Sort = SortRelevance
		}
	}
	v.Check(q.Sort == SortSubmittedAt || q.Sort == SortScore || q.Sort == SortRelevance, "query.sort", "must be submitted_at, score or relevance")
	v.Check(q.Sort != SortRelevance || q.Q != "", "query.sort", "relevance needs q")
	v.Check(q.Status == "" || Status(q.Status).Valid(), "query.status", "must be submitted, under_review, shortlisted, interview, offered, hired, rejected or withdrawn")
	v.Check(q.Province == "" || vocab.Province(q.Province).Valid(), "query.province", "must be a province code (punjab, sindh, kpk, balochistan, islamabad, gb, ajk)")
	v.Check(q.MinScore == nil || (*q.MinScore >= 0 && *q.MinScore <= 100), "query.min_score", "must be between 0 and 100")
	v.Check(q.MaxScore == nil || (*q.MaxScore >= 0 && *q.MaxScore <= 100), "query.max_score", "must be between 0 and 100")
	v.Check(q.MinScore == nil || q.MaxScore == nil || *q.MinScore <= *q.MaxScore, "query.min_score", "must not exceed max_score")
	v.Check(q.SubmittedAfter == nil || q.SubmittedBefore == nil || q.SubmittedAfter.Before(*q.SubmittedBefore),
		"query.submitted_after", "must be before submitted_before")
	v.Check(len(q.Q) <= 200, "query.q", "must be at most 200 characters")
	if q.Limit <= 0 {
		q.Limit = 25
	}
	v.Check(q.Limit <= 100, "query.limit", "must be at most 100")
	return v.Err()
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Search returns one page of the caller's organisation's applications and
// the cursor of the next page (nil on the last).
//
// The planner settings it runs with (generic or custom plan by the shape of
// the query, no sort without q, no JIT) are explained at searchScope.
func (s *Search) Search(ctx context.Context, p authz.Principal, q SearchQuery) ([]SearchItem, *string, error) {
	if !p.Has(SearchRoles...) || p.OrgID == uuid.Nil {
		return nil, nil, apperr.ErrForbidden
	}
	if err := q.validate(); err != nil {
		return nil, nil, err
	}
	list := "applications.search." + q.Sort
	var cur searchCursor
	if err := s.cursors.Decode(list, q.Cursor, &cur); err != nil {
		return nil, nil, err
	}
	f := searchFilter(p, q)
	if q.Cursor != "" {
		f.CursorID = &cur.ID
	}
	// A cursor of another order does not decode (its list name differs);
	// one without its order's position is forged.
	switch q.Sort {
	case SortSubmittedAt:
		f.CursorAt = cur.At
	case SortScore:
		f.CursorScore = cur.Score
	default:
		f.CursorRank = cur.Rank
	}
	if q.Cursor != "" && f.CursorAt == nil && f.CursorScore == nil && f.CursorRank == nil {
		return nil, nil, apperr.ErrBadCursor
	}
	st := db.NewSearchStatement(f, searchOrder[q.Sort])
	generic := false
	if q.Q == "" {
		var full bool
		generic, full = s.shapes.admit(st.SQL)
		if full {
			s.logger.WarnContext(ctx, "applications: more distinct staff-search shapes than applications.search generic shapes; the others are planned per request")
		}
	}
	var rows []db.SearchRow
	// One query: the scope, the planner settings and the query go in one
	// round trip (ScopedTx would take four).
	err := postgres.ScopedRead(ctx, s.db, searchScope(p, q, generic), func(conn postgres.DBTX) error {
		var err error
		rows, err = db.New(conn).ApplicationSearch(ctx, st)
		return err
	})
	if err != nil {
		return nil, nil, postgres.Translate(err)
	}
	items := make([]SearchItem, 0, min(len(rows), q.Limit))
	for _, r := range rows[:min(len(rows), q.Limit)] {
		items = append(items, searchItem(r))
	}
	if len(rows) <= q.Limit {
		return items, nil, nil
	}
	// The position after the page's last row, in the page's order.
	end := rows[q.Limit-1]
	last := searchCursor{ID: end.ID}
	switch q.Sort {
	case SortSubmittedAt:
		last.At = &end.CreatedAt
	case SortScore:
		last.Score = &end.ScoreKey
	default:
		last.Rank = &end.Rank
	}
	next, err := s.cursors.Encode(list, last)
	if err != nil {
		return nil, nil, err
	}
	return items, &next, nil
}

// searchOrder maps a validated Sort to the statement's order.
var searchOrder = map[string]db.SearchSort{
	SortSubmittedAt: db.SearchByRecent, SortScore: db.SearchByScore, SortRelevance: db.SearchByRelevance,
}

// searchFilter is q for p's organisation, without a cursor.
func searchFilter(p authz.Principal, q SearchQuery) db.SearchFilter {
	f := db.SearchFilter{
		OrgID: p.OrgID, JobID: q.JobID, Status: nonEmpty(q.Status), Province: nonEmpty(q.Province),
		SubmittedAfter: q.SubmittedAfter, SubmittedBefore: q.SubmittedBefore, Query: nonEmpty(q.Q),
		Limit: int32(q.Limit + 1),
	}
	if q.MinScore != nil {
		k := scoreKey(*q.MinScore)
		f.MinScoreKey = &k
	}
	if q.MaxScore != nil {
		k := scoreKey(*q.MaxScore)
		f.MaxScoreKey = &k
	}
	return f
}

// ExplainSearch returns what Search sends PostgreSQL for the first page of
// q by p: the statement, its arguments, and the scope with the planner
// settings it runs under. It is for EXPLAIN (pvara-load explain,
// docs/applications.md "Plan settings"), so the plans measured are the
// plans served.
func ExplainSearch(p authz.Principal, q SearchQuery) (string, []any, postgres.Scope, error) {
	if err := q.validate(); err != nil {
		return "", nil, postgres.Scope{}, err
	}
	st := db.NewSearchStatement(searchFilter(p, q), searchOrder[q.Sort])
	return st.SQL, st.Args, searchScope(p, q, q.Q == ""), nil
}

// searchScope is the caller's scope plus the planner settings of the
// search (docs/applications.md, "Plan settings", has the measurements):
//
//   - plan_cache_mode. pgx prepares each statement once per connection,
//     and PostgreSQL may then plan it generically, for any values. Without
//     q, the statement (db.SearchStatement) holds only the filters that
//     are present, so its generic plan already uses their index and prunes
//     partitions at run time: force_generic_plan, planned once per shape
//     and connection instead of 0.4–1.8 ms of planning per request. A
//     cached generic plan holds about 290 kB in each connection, so only
//     the first GenericShapes shapes (generic) get one; rarer combinations
//     are planned per request with the same statement. With
//     q, whether to read the GIN index and sort the matches or to walk the
//     ordered index and check each row depends on how common the words
//     are, which only a plan made for the value can weigh:
//     force_custom_plan.
//   - enable_sort off without q. The row-level-security policy's
//     current_setting() comparisons look very selective to the planner,
//     which then expects a few dozen rows and may bitmap-scan and sort a
//     whole organisation rather than walk the index that is already in
//     the requested order and stop after one page. Without a text query an
//     index provides every order this search offers. With q, the GIN index
//     and a sort of the matches is often the right plan: the planner
//     chooses.
//   - jit off: a walk that may read many rows has a high estimated cost,
//     which triggers JIT compilation (≈75 ms) for a query that then reads
//     one page.
func searchScope(p authz.Principal, q SearchQuery, generic bool) postgres.Scope {
	sc := p.Scope()
	switch {
	case q.Q != "":
		sc.Settings = textSettings
	case generic:
		sc.Settings = walkSettings
	default:
		sc.Settings = walkCustomSettings
	}
	return sc
}

// The settings of searchScope, shared (never modified).
var (
	walkSettings = []postgres.Setting{{Name: "plan_cache_mode", Value: "force_generic_plan"}, {Name: "jit", Value: "off"},
		{Name: "enable_sort", Value: "off"}}
	walkCustomSettings = []postgres.Setting{{Name: "plan_cache_mode", Value: "force_custom_plan"}, {Name: "jit", Value: "off"},
		{Name: "enable_sort", Value: "off"}}
	textSettings = []postgres.Setting{{Name: "plan_cache_mode", Value: "force_custom_plan"}, {Name: "jit", Value: "off"}}
)

func searchItem(r db.SearchRow) SearchItem {
	skills := r.Skills
	if skills == nil {
		skills = []string{}
	}
	return SearchItem{
		ID: r.ID, JobID: r.JobID, CandidateID: r.CandidateID, ReceiptNumber: r.ReceiptNumber, Status: r.Status,
		CandidateName: r.CandidateName, CNICMasked: r.CnicMasked, Gender: r.Gender,
		DomicileProvince: r.DomicileProvince, DomicileDistrict: r.DomicileDistrict, Skills: skills,
		AIScore: scoreOf(r.ScoreKey), Eligible: r.Eligible, SubmittedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// errSearchJobNotFound: the job does not exist or belongs to another
// organisation (never told apart).
var errSearchJobNotFound = apperr.New(apperr.KindNotFound, "job_not_found", "the job does not exist")

// checkJob returns nil when p may export or read metrics of job id: staff
// of the job's organisation in one of SearchRoles.
func (s *Search) checkJob(ctx context.Context, p authz.Principal, id uuid.UUID) error {
	if !p.Has(SearchRoles...) || p.OrgID == uuid.Nil {
		return apperr.ErrForbidden
	}
	org, err := s.jobOrg(ctx, p, id)
	if err != nil {
		if e, ok := apperr.As(err); ok && e.Kind == apperr.KindNotFound {
			return errSearchJobNotFound
		}
		return err
	}
	if org != p.OrgID {
		return errSearchJobNotFound
	}
	return nil
}
