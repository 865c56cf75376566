package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// env is one test's world: a database, Redis, the service and its router
// behind a real HTTP server, and principals to act as.
type env struct {
	t       *testing.T
	db      *testenv.DB
	redis   *redisx.Client
	svc     *jobs.Service
	srv     *httptest.Server
	tokens  testenv.Tokens
	orgA    uuid.UUID
	orgB    uuid.UUID
	counter atomic.Int64
}

// Test tokens.
const (
	recruiterA   = "recruiter-a"
	adminA       = "admin-a"
	interviewerA = "interviewer-a"
	recruiterB   = "recruiter-b"
	candidate    = "candidate"
	anonymous    = ""
)

type opts struct {
	cacheTTL time.Duration
	redis    *redisx.Client
	db       *testenv.DB
}

func setup(t *testing.T, o ...opts) *env {
	t.Helper()
	var op opts
	if len(o) > 0 {
		op = o[0]
	}
	e := &env{t: t, orgA: uuid.Must(uuid.NewV7()), orgB: uuid.Must(uuid.NewV7())}
	e.db = op.db
	if e.db == nil {
		e.db = testenv.NewDB(t)
	}
	e.redis = op.redis
	if e.redis == nil {
		e.redis = testenv.NewRedis(t)
	}
	e.tokens = testenv.Tokens{
		recruiterA:   {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: e.orgA},
		adminA:       {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleOrgAdmin, OrgID: e.orgA},
		interviewerA: {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleInterviewer, OrgID: e.orgA},
		recruiterB:   {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: e.orgB},
		candidate:    {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleCandidate},
	}
	e.svc, e.srv = e.newReplica(op.cacheTTL)
	return e
}

// newReplica builds another service and router on the same database and
// Redis, as a second API replica would be.
func (e *env) newReplica(ttl time.Duration) (*jobs.Service, *httptest.Server) {
	t := e.t
	svc, err := jobs.New(jobs.Config{CacheTTL: ttl}, jobs.Deps{DB: e.db.App, Redis: e.redis, Logger: logx.Discard()})
	require.NoError(t, err)
	cursors, err := httpx.NewCursors([]byte("test-cursor-secret-0123456789"))
	require.NoError(t, err)
	mapper := &httpx.ErrorMapper{Logger: logx.Discard()}
	r, err := httpx.NewRouter(httpx.RouterConfig{
		Title: "test", Version: "1", Middlewares: []func(http.Handler) http.Handler{authz.Middleware(e.tokens, mapper)},
	}, logx.Discard(), httpx.NewHTTPMetrics(nil))
	require.NoError(t, err)
	jobs.NewHandlers(svc, cursors).Register(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return svc, srv
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), string(r.Body))
	return m
}

// problem returns the problem's code and the locations of its field errors.
func (r response) problem(t *testing.T) (string, []string) {
	t.Helper()
	var p struct {
		Code   string `json:"code"`
		Errors []struct {
			Location string `json:"location"`
		} `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &p), string(r.Body))
	var locs []string
	for _, f := range p.Errors {
		locs = append(locs, f.Location)
	}
	return p.Code, locs
}

func do(t *testing.T, srv *httptest.Server, method, path, token string, body any, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (e *env) do(method, path, token string, body any, hdr ...string) response {
	e.t.Helper()
	return do(e.t, e.srv, method, path, token, body, hdr...)
}

// jobBody is a valid job creation body; mutate it for variants.
func (e *env) jobBody(mut ...func(map[string]any)) map[string]any {
	n := e.counter.Add(1)
	now := time.Now().UTC()
	b := map[string]any{
		"title":       fmt.Sprintf("Assistant Director %d", n),
		"department":  "Information Technology",
		"description": "Build and run the regulator's online services.",
		"location":    "Islamabad",
		"province":    "islamabad",
		"grade":       "BPS-17",
		"positions":   2,
		"opens_at":    now.Add(-time.Hour).Format(time.RFC3339Nano),
		"closes_at":   now.Add(30 * 24 * time.Hour).Format(time.RFC3339Nano),
		"criteria": map[string]any{
			"min_education":        "bachelor",
			"min_experience_years": 2,
			"required_skills":      []string{"Go", "PostgreSQL"},
			"preferred_skills":     []string{"redis"},
		},
	}
	for _, m := range mut {
		m(b)
	}
	return b
}

// create makes a draft as token and returns its id and ETag.
func (e *env) create(token string, mut ...func(map[string]any)) (string, string) {
	e.t.Helper()
	r := e.do("POST", "/v1/jobs", token, e.jobBody(mut...))
	require.Equal(e.t, 201, r.Status, string(r.Body))
	return r.JSON(e.t)["id"].(string), r.Header.Get("ETag")
}

// publish publishes a draft and returns the new ETag.
func (e *env) publish(token, id, etag string) string {
	e.t.Helper()
	r := e.do("POST", "/v1/jobs/"+id+"/publish", token, nil, "If-Match", etag)
	require.Equal(e.t, 200, r.Status, string(r.Body))
	return r.Header.Get("ETag")
}

// createPublished makes a published job of org A.
func (e *env) createPublished(mut ...func(map[string]any)) (string, string) {
	e.t.Helper()
	id, etag := e.create(recruiterA, mut...)
	return id, e.publish(recruiterA, id, etag)
}

// boardIDs lists the ids on one board page.
func boardIDs(t *testing.T, r response) ([]string, *string) {
	t.Helper()
	require.Equal(t, 200, r.Status, string(r.Body))
	var p struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
		Next *string `json:"next_cursor"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &p))
	ids := make([]string, len(p.Items))
	for i, it := range p.Items {
		ids[i] = it.ID
	}
	return ids, p.Next
}

// events returns the outbox events of a subject, oldest first, as
// type → payload data.
func (e *env) events(subject string) []outboxEvent {
	e.t.Helper()
	rows, err := e.db.Owner.Query(context.Background(),
		"SELECT topic, payload FROM platform.outbox WHERE event_key = $1 ORDER BY id", subject)
	require.NoError(e.t, err)
	defer rows.Close()
	var out []outboxEvent
	for rows.Next() {
		var topic string
		var payload []byte
		require.NoError(e.t, rows.Scan(&topic, &payload))
		var env struct {
			Type  string         `json:"type"`
			OrgID string         `json:"org_id"`
			Data  map[string]any `json:"data"`
		}
		require.NoError(e.t, json.Unmarshal(payload, &env))
		require.Equal(e.t, "pvara."+env.Type, topic)
		out = append(out, outboxEvent{Type: env.Type, OrgID: env.OrgID, Data: env.Data})
	}
	require.NoError(e.t, rows.Err())
	return out
}

type outboxEvent struct {
	Type  string
	OrgID string
	Data  map[string]any
}

func eventTypes(evs []outboxEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// benchEnv is the world of a benchmark: the router in process.
type benchEnv struct {
	db     *testenv.DB
	router http.Handler
}

func setupB(b *testing.B, cacheTTL time.Duration) *benchEnv {
	b.Helper()
	d := testenv.NewDB(b)
	rdb := testenv.NewRedis(b)
	svc, err := jobs.New(jobs.Config{CacheTTL: cacheTTL}, jobs.Deps{DB: d.App, Redis: rdb})
	if err != nil {
		b.Fatal(err)
	}
	cursors, err := httpx.NewCursors([]byte("bench-cursor-secret-0123456789"))
	if err != nil {
		b.Fatal(err)
	}
	r, err := httpx.NewRouter(httpx.RouterConfig{Title: "bench", Version: "1"}, logx.Discard(), httpx.NewHTTPMetrics(nil))
	if err != nil {
		b.Fatal(err)
	}
	jobs.NewHandlers(svc, cursors).Register(r)
	return &benchEnv{db: d, router: r}
}
