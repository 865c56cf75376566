package screening_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/adapters"
	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/consumer"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
	"github.com/pvara-gov/pvara/internal/screening"
	"github.com/pvara-gov/pvara/internal/vocab"
)

// memApps is the tests' ApplicationSource: screening's own interface
// served from memory (the applications module serves it in production).
// failAfter > 0 makes SubmittedForJob fail once that many pages were
// served (a worker dying mid-run).
type memApps struct {
	mu        sync.Mutex
	byID      map[uuid.UUID]screening.Application
	pages     int
	failAfter int
	// onPage, when set, runs before each page is served (outside the lock).
	onPage func(page int)
}

func (m *memApps) put(a screening.Application) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byID[a.ID] = a
}

func (m *memApps) Submitted(_ context.Context, id uuid.UUID) (screening.Application, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.byID[id]
	if !ok {
		return a, fmt.Errorf("%w: %s", screening.ErrApplicationNotFound, id)
	}
	return a, nil
}

func (m *memApps) SubmittedMany(_ context.Context, ids []uuid.UUID) ([]screening.Application, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []screening.Application
	seen := map[uuid.UUID]bool{}
	for _, id := range ids {
		if a, ok := m.byID[id]; ok && !seen[id] {
			seen[id] = true
			out = append(out, a)
		}
	}
	return out, nil
}

func (m *memApps) SubmittedForJob(_ context.Context, jobID, after uuid.UUID, limit int) ([]screening.Application, error) {
	m.mu.Lock()
	m.pages++
	page, hook := m.pages, m.onPage
	m.mu.Unlock()
	if hook != nil {
		hook(page)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAfter > 0 && page > m.failAfter {
		m.failAfter = 0
		return nil, fmt.Errorf("applications: connection reset")
	}
	var out []screening.Application
	for _, a := range m.byID {
		if a.JobID == jobID && bytes.Compare(a.ID[:], after[:]) > 0 {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b screening.Application) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out[:min(limit, len(out))], nil
}

// verifier stands in for the auth module: a test token names a principal.
type verifier struct{ m sync.Map }

func (v *verifier) Verify(_ context.Context, token string) (authz.Principal, error) {
	p, ok := v.m.Load(token)
	if !ok {
		return authz.Principal{}, apperr.ErrUnauthenticated.WithDetail("unknown test token")
	}
	return p.(authz.Principal), nil
}

// Test tokens.
const (
	recruiterA   = "recruiter-a"
	adminA       = "admin-a"
	interviewerA = "interviewer-a"
	recruiterB   = "recruiter-b"
)

type env struct {
	t      *testing.T
	db     *testenv.DB
	redis  *redisx.Client
	jobs   *jobs.Service
	apps   *memApps
	svc    *screening.Service
	srv    *httptest.Server
	tokens *verifier
	orgA   uuid.UUID
	orgB   uuid.UUID
}

type opts struct {
	cfg   screening.Config
	redis *redisx.Client // default: the test Redis
	reg   *prometheus.Registry
}

func setup(t *testing.T, o ...opts) *env {
	t.Helper()
	var op opts
	if len(o) > 0 {
		op = o[0]
	}
	e := &env{t: t, db: testenv.NewDB(t), redis: op.redis, orgA: uuid.Must(uuid.NewV7()), orgB: uuid.Must(uuid.NewV7())}
	if e.redis == nil {
		e.redis = testenv.NewRedis(t)
	}
	e.apps = &memApps{byID: map[uuid.UUID]screening.Application{}}
	var err error
	e.jobs, err = jobs.New(jobs.Config{CacheTTL: -1}, jobs.Deps{DB: e.db.App})
	require.NoError(t, err)
	e.tokens = &verifier{}
	e.tokens.m.Store(recruiterA, authz.Principal{UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: e.orgA})
	e.tokens.m.Store(adminA, authz.Principal{UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleOrgAdmin, OrgID: e.orgA})
	e.tokens.m.Store(interviewerA, authz.Principal{UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleInterviewer, OrgID: e.orgA})
	e.tokens.m.Store(recruiterB, authz.Principal{UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: e.orgB})
	deps := screening.Deps{DB: e.db.App, Redis: e.redis, Applications: e.apps, Jobs: adapters.ScreeningJobs{Jobs: e.jobs}, Logger: logx.Discard()}
	if op.reg != nil {
		deps.Registerer = op.reg
	}
	e.svc, err = screening.New(op.cfg, deps)
	require.NoError(t, err)
	cursors, err := httpx.NewCursors([]byte("test-cursor-secret-0123456789"))
	require.NoError(t, err)
	mapper := &httpx.ErrorMapper{Logger: logx.Discard()}
	r, err := httpx.NewRouter(httpx.RouterConfig{
		Title: "test", Version: "1", Middlewares: []func(http.Handler) http.Handler{authz.Middleware(e.tokens, mapper)},
	}, logx.Discard(), httpx.NewHTTPMetrics(nil))
	require.NoError(t, err)
	screening.NewHandlers(e.svc, cursors).Register(r)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) principal(token string) authz.Principal {
	p, ok := e.tokens.m.Load(token)
	require.True(e.t, ok, token)
	return p.(authz.Principal)
}

// candidateToken registers a candidate principal and returns its token.
func (e *env) candidateToken(id uuid.UUID) string {
	tok := "candidate-" + id.String()
	e.tokens.m.Store(tok, authz.Principal{UserID: id, Role: authz.RoleCandidate})
	return tok
}

// publishedJob creates and publishes a job of org A through the jobs
// module.
func (e *env) publishedJob(mut ...func(*jobs.Input)) screening.Job {
	e.t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	in := jobs.Input{
		Title: "Assistant Director IT", Department: "Information Technology",
		Description: "Build and run the regulator's online services in Go with PostgreSQL and Redis.",
		Location:    "Islamabad", Positions: 2, OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(30 * 24 * time.Hour),
		Criteria: jobs.CriteriaInput{
			MinEducation: "bachelor", MinExperienceYears: 2, RequiredSkills: []string{"go", "postgresql"},
			PreferredSkills: []string{"redis"},
		},
	}
	for _, m := range mut {
		m(&in)
	}
	p := e.principal(recruiterA)
	j, err := e.jobs.Create(ctx, p, in)
	require.NoError(e.t, err)
	j, err = e.jobs.Publish(ctx, p, j.ID, j.ETag(time.Now()))
	require.NoError(e.t, err)
	job, err := adapters.ScreeningJobs{Jobs: e.jobs}.ScreeningJob(ctx, j.ID)
	require.NoError(e.t, err)
	return job
}

// newApp adds a submitted application to the source (not yet scored).
// skills vary the score; mut adjusts the rest.
func (e *env) newApp(job screening.Job, skills []string, mut ...func(*screening.Application)) screening.Application {
	a := screening.Application{
		ID: uuid.Must(uuid.NewV7()), JobID: job.ID, OrgID: job.OrgID, CandidateID: uuid.Must(uuid.NewV7()),
		SubmittedAt: time.Now().UTC(), Status: "submitted", Gender: "female",
		Profile: screening.ProfileInput{
			DateOfBirth: time.Date(1995, 3, 14, 0, 0, 0, 0, time.UTC), DomicileProvince: vocab.Punjab,
			Education: []screening.EducationEntry{{Level: vocab.Bachelor, Field: "computer science", Year: 2017}},
			Experience: []screening.ExperienceItem{{Title: "Software engineer",
				Start: time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)}},
			Skills:     skills,
			ResumeText: "Built web services in Go backed by PostgreSQL.",
		},
	}
	for _, m := range mut {
		m(&a)
	}
	e.apps.put(a)
	return a
}

// deliver applies one event as the consumer runner would: the handler in a
// system-scope transaction, then its AfterCommit.
func (e *env) deliver(typ string, subject string, data any) {
	e.t.Helper()
	var h consumer.Handler
	for _, x := range e.svc.Handlers() {
		if x.Type == typ {
			h = x
		}
	}
	require.NotNil(e.t, h.Handle, typ)
	b, err := json.Marshal(data)
	require.NoError(e.t, err)
	ev := outbox.Envelope{ID: uuid.Must(uuid.NewV7()), Type: typ, Version: 1, OccurredAt: time.Now().UTC(), Subject: subject, Data: b}
	ctx := context.Background()
	require.NoError(e.t, postgres.ScopedTx(ctx, e.db.App, postgres.SystemScope(), func(tx pgx.Tx) error {
		return h.Handle(ctx, tx, ev)
	}))
	if h.AfterCommit != nil {
		h.AfterCommit(ctx, ev)
	}
	if h.AfterCommitBatch != nil {
		h.AfterCommitBatch(ctx, []outbox.Envelope{ev})
	}
}

// submittedEnvelope is applications.submitted for a, as the runner hands
// it to a handler.
func submittedEnvelope(t *testing.T, a screening.Application) outbox.Envelope {
	b, err := json.Marshal(map[string]any{
		"application_id": a.ID, "job_id": a.JobID, "org_id": a.OrgID, "candidate_id": a.CandidateID,
		"receipt_number": "PV-TEST", "submitted_at": a.SubmittedAt,
	})
	require.NoError(t, err)
	return outbox.Envelope{ID: uuid.Must(uuid.NewV7()), Type: screening.EventApplicationSubmitted, Version: 1,
		OccurredAt: time.Now().UTC(), Subject: a.ID.String(), Data: b}
}

// submittedBatch runs the submitted handler's batch path over evs in one
// transaction, as the runner does, then its after-commit hook.
func (e *env) submittedBatch(evs ...outbox.Envelope) error {
	e.t.Helper()
	var h consumer.Handler
	for _, x := range e.svc.Handlers() {
		if x.Type == screening.EventApplicationSubmitted {
			h = x
		}
	}
	require.NotNil(e.t, h.HandleBatch)
	ctx := context.Background()
	err := postgres.ScopedTx(ctx, e.db.App, postgres.SystemScope(), func(tx pgx.Tx) error {
		return h.HandleBatch(ctx, tx, evs)
	})
	if err == nil {
		h.AfterCommitBatch(ctx, evs)
	}
	return err
}

// submitted delivers applications.submitted for a.
func (e *env) submitted(a screening.Application) {
	e.t.Helper()
	e.deliver(screening.EventApplicationSubmitted, a.ID.String(), map[string]any{
		"application_id": a.ID, "job_id": a.JobID, "org_id": a.OrgID, "candidate_id": a.CandidateID,
		"receipt_number": "PV-TEST", "submitted_at": a.SubmittedAt,
	})
}

// setStatus delivers applications.status_changed for a.
func (e *env) setStatus(a screening.Application, to string) {
	e.t.Helper()
	e.deliver(screening.EventStatusChanged, a.ID.String(), map[string]any{
		"application_id": a.ID, "job_id": a.JobID, "org_id": a.OrgID, "candidate_id": a.CandidateID,
		"from": "submitted", "to": to, "reason": nil, "changed_by": uuid.New(), "changed_at": time.Now().UTC(),
	})
}

// scoredEvents are the screening.scored payloads in the outbox for a
// subject.
func (e *env) scoredEvents(subject uuid.UUID) []screening.ScoredV1 {
	e.t.Helper()
	rows, err := e.db.Owner.Query(context.Background(),
		"SELECT payload FROM platform.outbox WHERE topic = 'pvara.screening.scored' AND event_key = $1 ORDER BY seq", subject.String())
	require.NoError(e.t, err)
	defer rows.Close()
	var out []screening.ScoredV1
	for rows.Next() {
		var payload []byte
		require.NoError(e.t, rows.Scan(&payload))
		var env struct {
			Data screening.ScoredV1 `json:"data"`
		}
		require.NoError(e.t, json.Unmarshal(payload, &env))
		out = append(out, env.Data)
	}
	require.NoError(e.t, rows.Err())
	return out
}

func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.db.Owner.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), string(r.Body))
}

func (r response) code(t *testing.T) string {
	t.Helper()
	var p struct {
		Code string `json:"code"`
	}
	r.decode(t, &p)
	return p.Code
}

func (e *env) do(method, path, token string, body []byte, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

type rankItem struct {
	ApplicationID uuid.UUID `json:"application_id"`
	Score         float64   `json:"score"`
	Eligible      bool      `json:"eligible"`
}

type runBody struct {
	ID      uuid.UUID `json:"id"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason"`
	Done    int       `json:"done"`
	Total   int       `json:"total"`
	Changed int       `json:"changed"`
}

type rankingBody struct {
	Items      []rankItem `json:"items"`
	NextCursor *string    `json:"next_cursor"`
	Rescreen   *runBody   `json:"rescreen"`
}

// ranking reads every page of a job's ranking with the given page size.
func (e *env) ranking(job uuid.UUID, limit int) ([]rankItem, rankingBody) {
	e.t.Helper()
	var all []rankItem
	var first rankingBody
	cursor := ""
	for page := 0; ; page++ {
		path := fmt.Sprintf("/v1/jobs/%s/ranking?limit=%d", job, limit)
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := e.do("GET", path, recruiterA, nil)
		require.Equal(e.t, 200, r.Status, string(r.Body))
		var b rankingBody
		r.decode(e.t, &b)
		if page == 0 {
			first = b
		}
		require.LessOrEqual(e.t, len(b.Items), limit)
		all = append(all, b.Items...)
		if b.NextCursor == nil {
			return all, first
		}
		cursor = *b.NextCursor
		require.Less(e.t, page, 1000)
	}
}

// expectedRanking is the ranking computed independently of the service:
// straight from the stored results, in SQL, as the contract orders it.
func (e *env) expectedRanking(job uuid.UUID) []rankItem {
	e.t.Helper()
	rows, err := e.db.Owner.Query(context.Background(), `
		SELECT application_id, score::float8, eligible FROM screening.results
		WHERE job_id = $1 AND score IS NOT NULL AND status <> 'withdrawn'
		ORDER BY eligible DESC, score DESC, application_id`, job)
	require.NoError(e.t, err)
	defer rows.Close()
	var out []rankItem
	for rows.Next() {
		var it rankItem
		require.NoError(e.t, rows.Scan(&it.ApplicationID, &it.Score, &it.Eligible))
		out = append(out, it)
	}
	require.NoError(e.t, rows.Err())
	return out
}
