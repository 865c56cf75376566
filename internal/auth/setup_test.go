package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/auth"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// env is one service behind the real router, on real Postgres and Redis.
type env struct {
	t       testing.TB
	db      *testenv.DB
	redis   *redisx.Client
	svc     *auth.Service
	srv     *httptest.Server
	cfg     auth.Config
	deps    auth.Deps
	keys    []auth.SigningKey
	clock   *clock
	reg     *prometheus.Registry
	cipher  *fieldcrypt.Cipher
	counter atomic.Int64
}

// fastHash keeps tests quick: the OWASP parameters are exercised by
// TestOWASPParametersAreTheDefault and the benchmarks.
var fastHash = auth.HashConfig{MemoryKiB: 64, Iterations: 1, Parallelism: 1, Concurrency: 4, Queue: 1000, QueueWait: time.Minute}

type option func(*auth.Config, *auth.Deps)

func setup(t testing.TB, opts ...option) *env {
	t.Helper()
	d := testenv.NewDB(t)
	r := testenv.NewRedis(t)
	fk, err := fieldcrypt.GenerateKey()
	require.NoError(t, err)
	bk, err := fieldcrypt.GenerateKey()
	require.NoError(t, err)
	cipher, err := fieldcrypt.New([]fieldcrypt.Key{{ID: "t1", Secret: fk}}, bk)
	require.NoError(t, err)
	sk, _, err := auth.GenerateSigningKey("test-1")
	require.NoError(t, err)
	e := &env{t: t, db: d, redis: r, clock: &clock{}, reg: prometheus.NewRegistry(), cipher: cipher, keys: []auth.SigningKey{sk}}
	e.cfg = auth.Config{
		Issuer: "https://pvara.test", Audience: "pvara-api", SigningKeys: e.keys, Hash: fastHash,
		Throttle: auth.ThrottleConfig{AccountIPFailures: 5, AccountFailures: 20, IPFailures: 1000, RegisterIPLimit: 10000},
	}
	e.deps = auth.Deps{DB: d.App, Redis: r, Cipher: cipher, Clock: e.clock.Now, Registerer: e.reg, Logger: logx.Discard()}
	for _, o := range opts {
		o(&e.cfg, &e.deps)
	}
	e.svc, err = auth.New(e.cfg, e.deps)
	require.NoError(t, err)
	e.srv = newTestServer(t, e.svc)
	return e
}

// newTestServer serves svc behind the production router.
func newTestServer(t testing.TB, svc *auth.Service) *httptest.Server {
	srv := httptest.NewServer(newRouter(t, svc))
	t.Cleanup(srv.Close)
	return srv
}

// newRouter is the production router: httpx with the authz middleware and
// the module's routes. 127.0.0.1 is a trusted proxy, so tests can pose as
// other client IPs with X-Forwarded-For.
func newRouter(t testing.TB, svc *auth.Service) *httpx.Router {
	r, err := httpx.NewRouter(httpx.RouterConfig{
		Title: "test", Version: "test", MaxBodyBytes: 1 << 20, TrustedProxies: []string{"127.0.0.1/32", "::1/128"},
		Middlewares: []func(http.Handler) http.Handler{authz.Middleware(svc.Verifier(), &httpx.ErrorMapper{Logger: logx.Discard()})},
	}, logx.Discard(), httpx.NewHTTPMetrics(prometheus.NewRegistry()))
	require.NoError(t, err)
	svc.Routes(r)
	return r
}

// resp is a response with its body read.
type resp struct {
	*http.Response
	body []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

func (r resp) code(t testing.TB) string {
	t.Helper()
	c, _ := r.json(t)["code"].(string)
	return c
}

// req is one HTTP request; ip, when set, is sent as X-Forwarded-For.
type req struct {
	method, path, token, ip string
	body                    any
	headers                 map[string]string
}

func (e *env) do(t testing.TB, q req) resp {
	t.Helper()
	var body io.Reader
	switch b := q.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(t, err)
		body = bytes.NewReader(buf)
	}
	hr, err := http.NewRequest(q.method, e.srv.URL+q.path, body)
	require.NoError(t, err)
	if q.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if q.token != "" {
		hr.Header.Set("Authorization", "Bearer "+q.token)
	}
	if q.ip != "" {
		hr.Header.Set("X-Forwarded-For", q.ip)
	}
	for k, v := range q.headers {
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return resp{Response: res, body: b}
}

const goodPassword = "correct horse battery staple 42"

// cnic makes a distinct valid CNIC for this env.
func (e *env) cnic() string {
	n := e.counter.Add(1)
	return fmt.Sprintf("35202-%07d-%d", n%10_000_000, n%10)
}

func (e *env) email(prefix string) string {
	return fmt.Sprintf("%s-%d@example.gov.pk", prefix, e.counter.Add(1))
}

// candidate registers a candidate and signs in.
func (e *env) candidate(t testing.TB) (auth.User, auth.TokenPair) {
	t.Helper()
	email := e.email("cand")
	r := e.do(t, req{method: "POST", path: "/v1/auth/register", body: map[string]any{
		"email": email, "password": goodPassword, "full_name": "Test Candidate", "cnic": e.cnic(),
	}})
	require.Equal(t, http.StatusCreated, r.StatusCode, "%s", r.body)
	var u auth.User
	require.NoError(t, json.Unmarshal(r.body, &u))
	return u, e.login(t, email, goodPassword)
}

func (e *env) login(t testing.TB, email, password string) auth.TokenPair {
	t.Helper()
	r := e.do(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"email": email, "password": password}})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	var p auth.TokenPair
	require.NoError(t, json.Unmarshal(r.body, &p))
	return p
}

// platformAdmin creates a platform admin (as `pvara admin create` does) and
// signs in.
func (e *env) platformAdmin(t testing.TB) (uuid.UUID, auth.TokenPair) {
	t.Helper()
	email := e.email("padmin")
	id, created, err := e.svc.CreatePlatformAdmin(context.Background(), auth.AdminInput{Email: email, Password: goodPassword, FullName: "Platform Admin"})
	require.NoError(t, err)
	require.True(t, created)
	return id, e.login(t, email, goodPassword)
}

// org creates an organisation as a platform admin.
func (e *env) org(t testing.TB, admin string) uuid.UUID {
	t.Helper()
	n := e.counter.Add(1)
	r := e.do(t, req{method: "POST", path: "/v1/orgs", token: admin, body: map[string]any{"name": fmt.Sprintf("Org %d", n), "slug": fmt.Sprintf("org-%d", n)}})
	require.Equal(t, http.StatusCreated, r.StatusCode, "%s", r.body)
	var o auth.Org
	require.NoError(t, json.Unmarshal(r.body, &o))
	return o.ID
}

// staff creates a staff member of org (by the given admin token) and signs
// them in.
func (e *env) staff(t testing.TB, admin string, org uuid.UUID, role string) (auth.User, auth.TokenPair) {
	t.Helper()
	email := e.email(role)
	r := e.do(t, req{method: "POST", path: "/v1/orgs/" + org.String() + "/staff", token: admin, body: map[string]any{
		"email": email, "full_name": "Staff " + role, "role": role, "password": goodPassword,
	}})
	require.Equal(t, http.StatusCreated, r.StatusCode, "%s", r.body)
	var u auth.User
	require.NoError(t, json.Unmarshal(r.body, &u))
	return u, e.login(t, email, goodPassword)
}

// world is two organisations with an admin, a recruiter and an
// interviewer each, a candidate and a platform admin.
type world struct {
	padmin           auth.TokenPair
	orgA, orgB       uuid.UUID
	adminA, adminB   auth.TokenPair
	recruiterA       auth.TokenPair
	recruiterB       auth.TokenPair
	interviewerA     auth.TokenPair
	recruiterAUser   auth.User
	interviewerAUser auth.User
	recruiterBUser   auth.User
	adminAUser       auth.User
	candidate        auth.TokenPair
	candidateUser    auth.User
}

func (e *env) world(t testing.TB) world {
	t.Helper()
	var w world
	_, w.padmin = e.platformAdmin(t)
	w.orgA, w.orgB = e.org(t, w.padmin.AccessToken), e.org(t, w.padmin.AccessToken)
	w.adminAUser, w.adminA = e.staff(t, w.padmin.AccessToken, w.orgA, "org_admin")
	_, w.adminB = e.staff(t, w.padmin.AccessToken, w.orgB, "org_admin")
	w.recruiterAUser, w.recruiterA = e.staff(t, w.adminA.AccessToken, w.orgA, "recruiter")
	w.interviewerAUser, w.interviewerA = e.staff(t, w.adminA.AccessToken, w.orgA, "interviewer")
	w.recruiterBUser, w.recruiterB = e.staff(t, w.adminB.AccessToken, w.orgB, "recruiter")
	w.candidateUser, w.candidate = e.candidate(t)
	return w
}

// count runs a count query as the owner (past RLS).
func (e *env) count(t testing.TB, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.db.Owner.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}
