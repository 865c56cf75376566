package applications_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// fakeJobs is the jobs module behind applications.JobReader (another
// module's consumer-side interface, the one thing tests may fake).
type fakeJobs struct {
	mu   sync.Mutex
	jobs map[uuid.UUID]applications.JobView
}

// QueueJobForApplication answers at once from memory (the contract allows
// done before the batch is read) and queues nothing.
func (f *fakeJobs) QueueJobForApplication(_ *pgx.Batch, id uuid.UUID, done func(applications.JobView, error)) {
	f.mu.Lock()
	j, ok := f.jobs[id]
	f.mu.Unlock()
	if !ok {
		done(applications.JobView{}, applications.ErrJobNotFound)
		return
	}
	done(j, nil)
}

func (f *fakeJobs) put(j applications.JobView) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jobs[j.ID] = j
}

// fakeCandidates is the auth module behind applications.CandidateDirectory.
type fakeCandidates struct{}

func (fakeCandidates) QueueCandidate(_ *pgx.Batch, id uuid.UUID, done func(applications.Candidate, error)) {
	done(applications.Candidate{FullName: "Ayesha Khan " + id.String()[:8], CNICMasked: "35202-*******-1"}, nil)
}

// clock is a settable clock; zero means the real time.
type clock struct {
	mu  sync.Mutex
	set time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set.IsZero() {
		return time.Now()
	}
	return c.set
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set = t
}

// world is one test's setting: a database, the service behind a real HTTP
// server, fake jobs, and principals to act as (by test token).
type world struct {
	t        *testing.T
	db       *testenv.DB
	svc      *applications.Service
	profiles *applications.Profiles
	jobs     *fakeJobs
	clock    *clock
	srv      *httptest.Server
	tokens   testenv.Tokens
	orgA     uuid.UUID
	orgB     uuid.UUID
}

// Test tokens.
const (
	candA        = "cand-a"
	candB        = "cand-b"
	candNoProf   = "cand-noprofile"
	recruiterA   = "recruiter-a"
	adminA       = "admin-a"
	interviewerA = "interviewer-a"
	recruiterB   = "recruiter-b"
)

func newWorld(t *testing.T) *world {
	t.Helper()
	d := testenv.NewDB(t)
	k, err := fieldcrypt.GenerateKey()
	require.NoError(t, err)
	bk, err := fieldcrypt.GenerateKey()
	require.NoError(t, err)
	cipher, err := fieldcrypt.New([]fieldcrypt.Key{{ID: "t1", Secret: k}}, bk)
	require.NoError(t, err)
	w := &world{
		t: t, db: d, jobs: &fakeJobs{jobs: map[uuid.UUID]applications.JobView{}}, clock: &clock{},
		orgA: uuid.Must(uuid.NewV7()), orgB: uuid.Must(uuid.NewV7()),
	}
	w.tokens = testenv.Tokens{
		candA:        {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleCandidate},
		candB:        {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleCandidate},
		candNoProf:   {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleCandidate},
		recruiterA:   {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: w.orgA},
		adminA:       {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleOrgAdmin, OrgID: w.orgA},
		interviewerA: {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleInterviewer, OrgID: w.orgA},
		recruiterB:   {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: w.orgB},
	}
	w.profiles, err = applications.NewProfiles(applications.ProfilesDeps{DB: d.App, Cipher: cipher, Clock: w.clock.Now})
	require.NoError(t, err)
	w.svc, err = applications.New(applications.Config{}, applications.Deps{
		DB: d.App, Cipher: cipher, Profiles: w.profiles, Jobs: w.jobs, Candidates: fakeCandidates{},
		Logger: logx.Discard(), Clock: w.clock.Now,
	})
	require.NoError(t, err)
	cursors, err := httpx.NewCursors([]byte("test-cursor-secret-0123456789"))
	require.NoError(t, err)
	mapper := &httpx.ErrorMapper{Logger: logx.Discard()}
	r, err := httpx.NewRouter(httpx.RouterConfig{Title: "t", Version: "1",
		Middlewares: []func(http.Handler) http.Handler{authz.Middleware(w.tokens, mapper)}}, logx.Discard(), httpx.NewHTTPMetrics(nil))
	require.NoError(t, err)
	applications.NewProfileHandlers(w.profiles).Register(r)
	applications.NewHandlers(w.svc, cursors).Register(r)
	w.srv = httptest.NewServer(r)
	t.Cleanup(w.srv.Close)
	// Candidates A and B have complete profiles.
	for _, tok := range []string{candA, candB} {
		res := w.do("PUT", "/v1/me/profile", tok, validProfile())
		require.Equal(t, 200, res.Status, string(res.Body))
	}
	return w
}

// job adds an open job of org (orgA when Nil) and returns its id.
func (w *world) job(mut ...func(*applications.JobView)) uuid.UUID {
	now := w.clock.Now()
	j := applications.JobView{
		ID: uuid.Must(uuid.NewV7()), OrgID: w.orgA, Title: "Assistant Director", Open: true,
		OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(30 * 24 * time.Hour),
	}
	for _, m := range mut {
		m(&j)
	}
	w.jobs.put(j)
	return j.ID
}

func (w *world) do(method, path, token string, body any, hdr ...string) resp {
	w.t.Helper()
	return doHTTP(w.t, w.srv, method, path, token, body, hdr...)
}

func doHTTP(t testing.TB, srv *httptest.Server, method, path, token string, body any, hdr ...string) resp {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			panic(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		panic(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		panic(fmt.Sprintf("%s %s: %v", method, path, err))
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		panic(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

func (r resp) code(t *testing.T) string {
	t.Helper()
	c, _ := r.locations(t)
	return c
}

// submit applies as token to job and requires 201; it returns the body.
func (w *world) submit(token string, job uuid.UUID) map[string]any {
	w.t.Helper()
	res := w.do("POST", "/v1/jobs/"+job.String()+"/applications", token, nil)
	require.Equal(w.t, 201, res.Status, string(res.Body))
	return res.json(w.t)
}

// outbox returns the outbox events of a subject, oldest first.
func (w *world) outbox(subject string) []outboxEvent {
	w.t.Helper()
	rows, err := w.db.Owner.Query(context.Background(),
		"SELECT payload FROM platform.outbox WHERE event_key = $1 ORDER BY seq", subject)
	require.NoError(w.t, err)
	defer rows.Close()
	var out []outboxEvent
	for rows.Next() {
		var payload []byte
		require.NoError(w.t, rows.Scan(&payload))
		var ev outboxEvent
		require.NoError(w.t, json.Unmarshal(payload, &ev))
		out = append(out, ev)
	}
	require.NoError(w.t, rows.Err())
	return out
}

type outboxEvent struct {
	Type  string         `json:"type"`
	OrgID string         `json:"org_id"`
	Data  map[string]any `json:"data"`
}
