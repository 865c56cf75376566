package applications_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// searchEnv is staff search over a private database, served by the real
// router; jobs maps each job to its organisation (the jobs module's answer).
type searchEnv struct {
	t      *testing.T
	db     *testenv.DB
	svc    *applications.Search
	srv    *httptest.Server
	tokens testenv.Tokens
	jobs   map[uuid.UUID]uuid.UUID
	orgA   uuid.UUID
	orgB   uuid.UUID
}

func newSearchEnv(t *testing.T) *searchEnv {
	t.Helper()
	e := &searchEnv{t: t, db: testenv.NewDB(t), jobs: map[uuid.UUID]uuid.UUID{},
		orgA: uuid.Must(uuid.NewV7()), orgB: uuid.Must(uuid.NewV7())}
	e.tokens = testenv.Tokens{
		"recA":   {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: e.orgA},
		"adminA": {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleOrgAdmin, OrgID: e.orgA},
		"intA":   {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleInterviewer, OrgID: e.orgA},
		"recB":   {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: e.orgB},
		"cand":   {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleCandidate},
	}
	cursors, err := httpx.NewCursors([]byte("search-test-cursor-secret"))
	require.NoError(t, err)
	e.svc, err = applications.NewSearch(applications.SearchDeps{DB: e.db.App, Cursors: cursors,
		JobOrg: func(_ context.Context, _ authz.Principal, id uuid.UUID) (uuid.UUID, error) {
			org, ok := e.jobs[id]
			if !ok {
				return uuid.Nil, apperr.New(apperr.KindNotFound, "job_not_found", "no such job")
			}
			return org, nil
		}})
	require.NoError(t, err)
	mapper := &httpx.ErrorMapper{Logger: logx.Discard()}
	r, err := httpx.NewRouter(httpx.RouterConfig{Title: "t", Version: "1",
		Middlewares: []func(http.Handler) http.Handler{authz.Middleware(e.tokens, mapper)}}, logx.Discard(), httpx.NewHTTPMetrics(nil))
	require.NoError(t, err)
	applications.NewSearchHandlers(e.svc).Register(r)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *searchEnv) job(org uuid.UUID) uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	e.jobs[id] = org
	return id
}

// fixture is one application row, written as the owner (past RLS).
type fixture struct {
	ID, Org, Job, Candidate uuid.UUID
	At                      time.Time
	Status, Name, Province  string
	District                string
	Skills                  []string
	Resume                  string
	Score                   *float64
}

func (e *searchEnv) insert(fs ...*fixture) {
	e.t.Helper()
	for i, f := range fs {
		if f.Candidate == uuid.Nil {
			f.Candidate = uuid.Must(uuid.NewV7())
		}
		if f.At.IsZero() {
			f.At = time.Now().Add(-time.Duration(i+1) * time.Minute)
		}
		f.At = f.At.UTC().Truncate(time.Millisecond)
		if f.ID == uuid.Nil {
			f.ID = v7At(f.At)
		}
		if f.Status == "" {
			f.Status = "submitted"
		}
		if f.Province == "" {
			f.Province = "punjab"
		}
		if f.District == "" {
			f.District = "Lahore"
		}
		if f.Skills == nil {
			f.Skills = []string{}
		}
		profile, err := json.Marshal(map[string]any{"skills": f.Skills})
		require.NoError(e.t, err)
		var eligible *bool
		if f.Score != nil {
			b := *f.Score >= 50
			eligible = &b
		}
		_, err = e.db.Owner.Exec(e.t.Context(), `INSERT INTO applications.applications (id, created_at, org_id, job_id,
			candidate_id, receipt_number, status, candidate_name, cnic_masked, gender, date_of_birth, domicile_province,
			domicile_district, skills, resume_text, profile, ai_score, eligible, model_version, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '35202-*******-1', 'female', '1995-03-04', $9, $10, $11, $12, $13,
			$14, $15, CASE WHEN $14::numeric IS NULL THEN NULL ELSE 'm-1' END, $2)`,
			f.ID, f.At, f.Org, f.Job, f.Candidate, "PVR-T"+f.ID.String()[:13], f.Status, f.Name, f.Province, f.District,
			f.Skills, f.Resume, profile, f.Score, eligible)
		require.NoError(e.t, err)
	}
}

// v7At is a UUIDv7 of instant t (random tail).
func v7At(t time.Time) uuid.UUID {
	u := uuid.Must(uuid.NewV7())
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	return u
}

func score(f float64) *float64 { return &f }

type searchPage struct {
	Items []struct {
		ID            uuid.UUID `json:"id"`
		JobID         uuid.UUID `json:"job_id"`
		Status        string    `json:"status"`
		CandidateName string    `json:"candidate_name"`
		CNICMasked    string    `json:"cnic_masked"`
		AIScore       *float64  `json:"ai_score"`
		SubmittedAt   time.Time `json:"submitted_at"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func (e *searchEnv) get(token, path string) (int, []byte, http.Header) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return res.StatusCode, b, res.Header
}

// searchAll pages through a search with limit per page and returns the ids
// in order.
func (e *searchEnv) searchAll(token string, q url.Values, limit int) []uuid.UUID {
	e.t.Helper()
	var ids []uuid.UUID
	q.Set("limit", fmt.Sprint(limit))
	for pages := 0; ; pages++ {
		require.Less(e.t, pages, 1000)
		code, b, _ := e.get(token, "/v1/applications?"+q.Encode())
		require.Equal(e.t, http.StatusOK, code, string(b))
		var p searchPage
		require.NoError(e.t, json.Unmarshal(b, &p))
		require.LessOrEqual(e.t, len(p.Items), limit)
		for _, it := range p.Items {
			ids = append(ids, it.ID)
			require.Equal(e.t, "35202-*******-1", it.CNICMasked)
		}
		if p.NextCursor == nil {
			return ids
		}
		require.Len(e.t, p.Items, limit, "a page before the last is full")
		q.Set("cursor", *p.NextCursor)
	}
}

func TestSearchFiltersSortsAndPages(t *testing.T) {
	t.Parallel()
	e := newSearchEnv(t)
	jobA1, jobA2, jobB := e.job(e.orgA), e.job(e.orgA), e.job(e.orgB)
	rng := rand.New(rand.NewPCG(7, 9))
	names := []string{"Ayesha Khan", "Bilal Ahmed", "Zubair Malik", "Fatima Khan", "Hamza Qureshi"}
	provinces := []string{"punjab", "sindh", "kpk"}
	now := time.Now().UTC()
	var all []*fixture
	for i := range 90 {
		f := &fixture{Org: e.orgA, Job: jobA1, Name: names[rng.IntN(len(names))], Province: provinces[rng.IntN(3)],
			Status: string(applications.Statuses[rng.IntN(len(applications.Statuses))]),
			At:     now.Add(-time.Duration(1+rng.IntN(20*24*60)) * time.Minute), Resume: "worked in accounts",
			Skills: []string{[]string{"python", "auditing", "driving"}[rng.IntN(3)]}}
		if i%2 == 1 {
			f.Job = jobA2
		}
		if rng.IntN(5) > 0 {
			// Ties on purpose: the keyset must still page without loss.
			f.Score = score(float64(rng.IntN(20)) * 5)
		}
		if i == 5 {
			f.At = all[0].At // same instant as another: id breaks the tie
		}
		all = append(all, f)
		e.insert(f)
	}
	// Another organisation's applications, matching every filter.
	for range 10 {
		e.insert(&fixture{Org: e.orgB, Job: jobB, Name: "Ayesha Khan", Skills: []string{"python"}, Score: score(90)})
	}
	byRecent := func(a, b *fixture) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return bytes.Compare(b.ID[:], a.ID[:])
	}
	key := func(f *fixture) int {
		if f.Score == nil {
			return -1
		}
		return int(*f.Score * 100)
	}
	byScore := func(a, b *fixture) int {
		if c := key(b) - key(a); c != 0 {
			return c
		}
		return bytes.Compare(b.ID[:], a.ID[:])
	}
	expect := func(keep func(*fixture) bool, order func(a, b *fixture) int) []uuid.UUID {
		var fs []*fixture
		for _, f := range all {
			if keep(f) {
				fs = append(fs, f)
			}
		}
		slices.SortFunc(fs, order)
		ids := []uuid.UUID{}
		for _, f := range fs {
			ids = append(ids, f.ID)
		}
		return ids
	}
	after := now.Add(-10 * 24 * time.Hour)
	before := now.Add(-2 * 24 * time.Hour)
	cases := []struct {
		name  string
		q     url.Values
		keep  func(*fixture) bool
		order func(a, b *fixture) int
	}{
		{"all newest first", url.Values{}, func(*fixture) bool { return true }, byRecent},
		{"all by score", url.Values{"sort": {"score"}}, func(*fixture) bool { return true }, byScore},
		{"job", url.Values{"job_id": {jobA2.String()}}, func(f *fixture) bool { return f.Job == jobA2 }, byRecent},
		{"status", url.Values{"status": {"shortlisted"}}, func(f *fixture) bool { return f.Status == "shortlisted" }, byRecent},
		{"province by score", url.Values{"province": {"sindh"}, "sort": {"score"}}, func(f *fixture) bool { return f.Province == "sindh" }, byScore},
		{"score range", url.Values{"min_score": {"25"}, "max_score": {"60"}}, func(f *fixture) bool {
			return f.Score != nil && *f.Score >= 25 && *f.Score <= 60
		}, byRecent},
		{"max score leaves unscored out", url.Values{"max_score": {"10"}, "sort": {"score"}}, func(f *fixture) bool {
			return f.Score != nil && *f.Score <= 10
		}, byScore},
		{"window", url.Values{"submitted_after": {after.Format(time.RFC3339Nano)}, "submitted_before": {before.Format(time.RFC3339Nano)}},
			func(f *fixture) bool { return !f.At.Before(after) && f.At.Before(before) }, byRecent},
		{"text, newest first", url.Values{"q": {"khan"}, "sort": {"submitted_at"}}, func(f *fixture) bool {
			return strings.Contains(strings.ToLower(f.Name), "khan")
		}, byRecent},
		{"skill text, by score", url.Values{"q": {"python"}, "sort": {"score"}}, func(f *fixture) bool { return f.Skills[0] == "python" }, byScore},
		{"everything", url.Values{"job_id": {jobA1.String()}, "status": {"submitted"}, "min_score": {"0"}, "province": {"punjab"}, "q": {"accounts"}, "sort": {"score"}},
			func(f *fixture) bool {
				return f.Job == jobA1 && f.Status == "submitted" && f.Score != nil && f.Province == "punjab"
			}, byScore},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := expect(c.keep, c.order)
			for _, limit := range []int{7, 100} {
				q := url.Values{}
				for k, v := range c.q {
					q[k] = v
				}
				require.Equal(t, want, e.searchAll("recA", q, limit), "limit %d", limit)
			}
			// The other organisation sees none of them.
			require.Empty(t, e.searchAll("recB", url.Values{"q": {"khan"}}, 100)[10:])
		})
	}
	// Every shape: each subset of the filters, in both walk orders. The
	// statement is built from the filters present (db.SearchStatement), so
	// each subset is a different statement with its own generic plan.
	t.Run("every shape", func(t *testing.T) {
		type filter struct {
			key, value string
			keep       func(*fixture) bool
		}
		filters := []filter{
			{"job_id", jobA1.String(), func(f *fixture) bool { return f.Job == jobA1 }},
			{"status", "submitted", func(f *fixture) bool { return f.Status == "submitted" }},
			{"min_score", "20", func(f *fixture) bool { return f.Score != nil && *f.Score >= 20 }},
			{"max_score", "80", func(f *fixture) bool { return f.Score != nil && *f.Score <= 80 }},
			{"province", "punjab", func(f *fixture) bool { return f.Province == "punjab" }},
			{"submitted_after", after.Format(time.RFC3339Nano), func(f *fixture) bool { return !f.At.Before(after) }},
			{"submitted_before", before.Format(time.RFC3339Nano), func(f *fixture) bool { return f.At.Before(before) }},
			{"q", "khan", func(f *fixture) bool { return strings.Contains(strings.ToLower(f.Name), "khan") }},
		}
		for mask := range 1 << len(filters) {
			for _, sort := range []string{"submitted_at", "score"} {
				q := url.Values{"sort": {sort}}
				var keep []func(*fixture) bool
				for i, fl := range filters {
					if mask&(1<<i) != 0 {
						q.Set(fl.key, fl.value)
						keep = append(keep, fl.keep)
					}
				}
				order := byRecent
				if sort == "score" {
					order = byScore
				}
				want := expect(func(f *fixture) bool {
					for _, k := range keep {
						if !k(f) {
							return false
						}
					}
					return true
				}, order)
				got := e.searchAll("recA", q, 10)
				if len(want) == 0 {
					require.Empty(t, got, "%s", q.Encode())
					continue
				}
				require.Equal(t, want, got, "%s", q.Encode())
			}
		}
	})
	// The other organisation sees exactly its own ten.
	require.Len(t, e.searchAll("recB", url.Values{}, 100), 10)
	require.Empty(t, e.searchAll("recB", url.Values{"job_id": {jobA1.String()}}, 100))
}

// TestSearchGenericShapesAreBounded: the first GenericShapes search shapes
// run on their cached generic plan, later ones are planned per request
// (their generic plans would cost PostgreSQL memory in every connection),
// and a text search always is. Read off pg_prepared_statements of the one
// connection of the pool.
func TestSearchGenericShapesAreBounded(t *testing.T) {
	t.Parallel()
	e := newSearchEnv(t)
	cfg := e.db.AppConfig()
	cfg.MaxConns = 1
	pool, err := postgres.Open(t.Context(), cfg, nil)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	cursors, err := httpx.NewCursors([]byte("search-test-cursor-secret"))
	require.NoError(t, err)
	svc, err := applications.NewSearch(applications.SearchDeps{DB: pool, Cursors: cursors, GenericShapes: 1,
		JobOrg: func(context.Context, authz.Principal, uuid.UUID) (uuid.UUID, error) { return e.orgA, nil }})
	require.NoError(t, err)
	e.insert(&fixture{Org: e.orgA, Job: e.job(e.orgA), Name: "Ayesha Khan", Status: "shortlisted"})
	p := authz.Principal{UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: e.orgA}
	shapes := map[string]applications.SearchQuery{
		"generic": {Status: "shortlisted"},                   // the first shape: admitted
		"custom":  {Province: "punjab"},                      // the second: planned per request
		"text":    {Q: "khan", Sort: applications.SortScore}, // text: always per request
	}
	for _, name := range []string{"generic", "custom", "text"} {
		for range 3 {
			items, _, err := svc.Search(t.Context(), p, shapes[name])
			require.NoError(t, err)
			require.Len(t, items, 1, name)
		}
	}
	rows, err := pool.Query(t.Context(), `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
		WHERE statement LIKE '%FROM applications.applications%'`)
	require.NoError(t, err)
	got := map[string][2]int64{}
	for rows.Next() {
		var stmt string
		var g, c int64
		require.NoError(t, rows.Scan(&stmt, &g, &c))
		switch {
		case strings.Contains(stmt, "websearch_to_tsquery"):
			got["text"] = [2]int64{g, c}
		case strings.Contains(stmt, "status = "):
			got["generic"] = [2]int64{g, c}
		case strings.Contains(stmt, "domicile_province = "):
			got["custom"] = [2]int64{g, c}
		}
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[string][2]int64{"generic": {3, 0}, "custom": {0, 3}, "text": {0, 3}}, got)
}

func TestSearchRelevance(t *testing.T) {
	t.Parallel()
	e := newSearchEnv(t)
	job := e.job(e.orgA)
	name := &fixture{Org: e.orgA, Job: job, Name: "Zubair Awan", Resume: "clerk"}
	skill := &fixture{Org: e.orgA, Job: job, Name: "Sana Mir", Skills: []string{"zubair"}, Resume: "clerk"}
	var resume []*fixture
	for range 12 {
		resume = append(resume, &fixture{Org: e.orgA, Job: job, Name: "Imran Ali", Resume: "reported to zubair for two years"})
	}
	e.insert(append([]*fixture{name, skill, &fixture{Org: e.orgA, Job: job, Name: "Nobody Else", Resume: "no match"}}, resume...)...)
	e.insert(&fixture{Org: e.orgB, Job: e.job(e.orgB), Name: "Zubair Awan"})
	ids := e.searchAll("recA", url.Values{"q": {"zubair"}}, 5)
	require.Len(t, ids, 14)
	// Name (weight A) before skills (B) before résumé (C); no repeats.
	require.Equal(t, name.ID, ids[0])
	require.Equal(t, skill.ID, ids[1])
	seen := map[uuid.UUID]bool{}
	for _, id := range ids {
		require.False(t, seen[id])
		seen[id] = true
	}
	code, b, _ := e.get("recA", "/v1/applications?sort=relevance")
	require.Equal(t, http.StatusUnprocessableEntity, code, string(b))
}

func TestSearchRefusals(t *testing.T) {
	t.Parallel()
	e := newSearchEnv(t)
	job := e.job(e.orgA)
	e.insert(&fixture{Org: e.orgA, Job: job, Name: "A B"})
	for _, c := range []struct {
		token, path string
		code        int
	}{
		{"", "/v1/applications", http.StatusUnauthorized},
		{"cand", "/v1/applications", http.StatusForbidden},
		{"intA", "/v1/applications", http.StatusForbidden},
		{"recA", "/v1/applications?status=nope", http.StatusUnprocessableEntity},
		{"recA", "/v1/applications?province=mars", http.StatusUnprocessableEntity},
		{"recA", "/v1/applications?min_score=101", http.StatusUnprocessableEntity},
		{"recA", "/v1/applications?min_score=abc", http.StatusUnprocessableEntity},
		{"recA", "/v1/applications?min_score=60&max_score=50", http.StatusUnprocessableEntity},
		{"recA", "/v1/applications?submitted_after=yesterday", http.StatusUnprocessableEntity},
		{"recA", "/v1/applications?job_id=nope", http.StatusUnprocessableEntity},
		{"recA", "/v1/applications?sort=name", http.StatusUnprocessableEntity},
		{"recA", "/v1/applications?cursor=forged.cursor", http.StatusBadRequest},
		{"adminA", "/v1/applications", http.StatusOK},
		{"recB", "/v1/jobs/" + job.String() + "/applications.csv", http.StatusNotFound},
		{"recB", "/v1/jobs/" + job.String() + "/metrics", http.StatusNotFound},
		{"recA", "/v1/jobs/" + uuid.NewString() + "/applications.csv", http.StatusNotFound},
		{"recA", "/v1/jobs/not-a-uuid/metrics", http.StatusNotFound},
		{"intA", "/v1/jobs/" + job.String() + "/applications.csv", http.StatusForbidden},
		{"cand", "/v1/jobs/" + job.String() + "/metrics", http.StatusForbidden},
	} {
		code, b, _ := e.get(c.token, c.path)
		require.Equal(t, c.code, code, "%s %s: %s", c.token, c.path, b)
		require.NotContains(t, string(b), "SELECT")
	}
	// A cursor of one sort order is refused by another.
	e.insert(&fixture{Org: e.orgA, Job: job, Name: "C D"})
	_, b, _ := e.get("recA", "/v1/applications?limit=1&sort=score")
	var p searchPage
	require.NoError(t, json.Unmarshal(b, &p))
	require.NotNil(t, p.NextCursor)
	code, _, _ := e.get("recA", "/v1/applications?limit=1&sort=submitted_at&cursor="+url.QueryEscape(*p.NextCursor))
	require.Equal(t, http.StatusBadRequest, code)
}

func TestExportCSV(t *testing.T) {
	t.Parallel()
	e := newSearchEnv(t)
	job, other := e.job(e.orgA), e.job(e.orgA)
	base := time.Now().UTC().Add(-time.Hour)
	rows := []*fixture{
		{Org: e.orgA, Job: job, Name: "Ayesha Khan", Skills: []string{"python", "go"}, Score: score(71.5), At: base},
		{Org: e.orgA, Job: job, Name: `=HYPERLINK("http://evil","x")`, District: "+92 Lahore", Skills: []string{"@sum"}, At: base.Add(time.Minute)},
		{Org: e.orgA, Job: job, Name: "-1+1", Status: "rejected", Score: score(12), At: base.Add(2 * time.Minute)},
		{Org: e.orgA, Job: job, Name: "Comma, \"Quoted\"\nNewline", At: base.Add(3 * time.Minute)},
	}
	e.insert(rows...)
	e.insert(&fixture{Org: e.orgA, Job: other, Name: "Other Job"})
	code, b, hdr := e.get("recA", "/v1/jobs/"+job.String()+"/applications.csv")
	require.Equal(t, http.StatusOK, code, string(b))
	require.Equal(t, "text/csv; charset=utf-8", hdr.Get("Content-Type"))
	require.Contains(t, hdr.Get("Content-Disposition"), "attachment")
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 5)
	require.Equal(t, applications.ExportHeader, recs[0])
	col := func(name string) int { return slices.Index(applications.ExportHeader, name) }
	for i, f := range rows {
		r := recs[i+1]
		require.Equal(t, f.ID.String(), r[col("application_id")], "oldest first")
		require.Equal(t, "35202-*******-1", r[col("cnic_masked")])
	}
	require.Equal(t, "Ayesha Khan", recs[1][col("candidate_name")])
	require.Equal(t, "python; go", recs[1][col("skills")])
	require.Equal(t, "71.50", recs[1][col("ai_score")])
	require.Equal(t, "true", recs[1][col("eligible")])
	require.Equal(t, "", recs[2][col("ai_score")])
	// Formula injection: cells a spreadsheet would run start with '.
	require.Equal(t, `'=HYPERLINK("http://evil","x")`, recs[2][col("candidate_name")])
	require.Equal(t, "'+92 Lahore", recs[2][col("domicile_district")])
	require.Equal(t, "'@sum", recs[2][col("skills")])
	require.Equal(t, "'-1+1", recs[3][col("candidate_name")])
	require.Equal(t, "rejected", recs[3][col("status")])
	require.Equal(t, "Comma, \"Quoted\"\nNewline", recs[4][col("candidate_name")])
	// Audited, with no PII in the entry.
	var n int
	require.NoError(t, e.db.Owner.QueryRow(t.Context(), `SELECT count(*) FROM platform.audit_log
		WHERE action = 'applications.exported' AND resource_id = $1 AND org_id = $2 AND actor_id = $3`,
		job.String(), e.orgA, e.tokens["recA"].UserID).Scan(&n))
	require.Equal(t, 1, n)
	// A job of the organisation without applications: the header alone.
	code, b, _ = e.get("adminA", "/v1/jobs/"+e.job(e.orgA).String()+"/applications.csv")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, strings.Join(applications.ExportHeader, ",")+"\n", string(b))
}

func TestJobMetricsAfterRefresh(t *testing.T) {
	t.Parallel()
	e := newSearchEnv(t)
	job, jobB := e.job(e.orgA), e.job(e.orgB)
	e.insert(
		&fixture{Org: e.orgA, Job: job, Status: "submitted", Score: score(40)},
		&fixture{Org: e.orgA, Job: job, Status: "submitted", Score: score(61)},
		&fixture{Org: e.orgA, Job: job, Status: "submitted"},
		&fixture{Org: e.orgA, Job: job, Status: "rejected"},
		&fixture{Org: e.orgB, Job: jobB, Status: "submitted", Score: score(99)},
	)
	type metrics struct {
		JobID    uuid.UUID `json:"job_id"`
		ByStatus map[string]struct {
			Count    int64    `json:"count"`
			AvgScore *float64 `json:"avg_score"`
		} `json:"by_status"`
		RefreshedAt *time.Time `json:"refreshed_at"`
	}
	read := func(token string, id uuid.UUID) metrics {
		t.Helper()
		code, b, _ := e.get(token, "/v1/jobs/"+id.String()+"/metrics")
		require.Equal(t, http.StatusOK, code, string(b))
		var m metrics
		require.NoError(t, json.Unmarshal(b, &m))
		return m
	}
	// Before the first refresh: every status, all zero.
	m := read("recA", job)
	require.Nil(t, m.RefreshedAt)
	require.Len(t, m.ByStatus, len(applications.Statuses))
	require.Zero(t, m.ByStatus["submitted"].Count)

	at, err := e.svc.RefreshMetrics(t.Context())
	require.NoError(t, err)
	m = read("recA", job)
	require.NotNil(t, m.RefreshedAt)
	require.WithinDuration(t, at, *m.RefreshedAt, time.Millisecond)
	require.EqualValues(t, 3, m.ByStatus["submitted"].Count)
	require.InDelta(t, 50.5, *m.ByStatus["submitted"].AvgScore, 0.001)
	require.EqualValues(t, 1, m.ByStatus["rejected"].Count)
	require.Nil(t, m.ByStatus["rejected"].AvgScore)
	require.Zero(t, m.ByStatus["hired"].Count)
	require.Len(t, m.ByStatus, len(applications.Statuses))

	// New applications show after the next (concurrent) refresh only.
	e.insert(&fixture{Org: e.orgA, Job: job, Status: "hired", Score: score(88)})
	require.Zero(t, read("recA", job).ByStatus["hired"].Count)
	_, err = e.svc.RefreshMetrics(t.Context())
	require.NoError(t, err)
	m = read("adminA", job)
	require.EqualValues(t, 1, m.ByStatus["hired"].Count)
	require.InDelta(t, 88, *m.ByStatus["hired"].AvgScore, 0.001)

	// The other organisation reads its own job, never this one; and the
	// view is not readable directly by the application role.
	require.EqualValues(t, 1, read("recB", jobB).ByStatus["submitted"].Count)
	code, _, _ := e.get("recB", "/v1/jobs/"+job.String()+"/metrics")
	require.Equal(t, http.StatusNotFound, code)
	_, err = e.db.App.Exec(t.Context(), "SELECT * FROM applications.application_metrics")
	require.ErrorContains(t, err, "permission denied")
	// Through the security-barrier view, a scope of org B sees no row of A.
	var rows int
	tx, err := e.db.App.Begin(t.Context())
	require.NoError(t, err)
	defer tx.Rollback(context.WithoutCancel(t.Context())) //nolint:errcheck
	_, err = tx.Exec(t.Context(), "SELECT set_config('app.scope', 'org', true), set_config('app.org_id', $1, true)", e.orgB.String())
	require.NoError(t, err)
	require.NoError(t, tx.QueryRow(t.Context(), "SELECT count(*) FROM applications.job_metrics WHERE org_id = $1", e.orgA).Scan(&rows))
	require.Zero(t, rows)
}
