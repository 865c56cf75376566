package ratelimit

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/metrics"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

var tokens = testenv.Tokens{
	"alice":  {UserID: uuid.MustParse("0193a000-0000-7000-8000-00000000000a"), Role: authz.RoleCandidate},
	"bob":    {UserID: uuid.MustParse("0193a000-0000-7000-8000-00000000000b"), Role: authz.RoleCandidate},
	"client": {Role: authz.RoleClient, ClientID: "hr-system", OrgID: uuid.MustParse("0193a000-0000-7000-8000-0000000000cc")},
}

const loginPath = "/v1/auth/login"

func testConfig(requests int, reg prometheus.Registerer) Config {
	return Config{
		Default:    Policy{Name: "api", Requests: requests, Window: time.Minute},
		Routes:     map[string]Policy{loginPath: {Name: "auth", Requests: 3, Window: time.Minute, FailClosed: true}},
		Registerer: reg,
		Cooldown:   200 * time.Millisecond,
	}
}

// server is one API replica: its own router and limiter over rdb.
func server(t *testing.T, cfg Config, rdb *redisx.Client, trusted ...string) (*httptest.Server, *Limiter) {
	t.Helper()
	l, err := New(cfg, rdb)
	require.NoError(t, err)
	logger := logx.Discard()
	ew := &httpx.ErrorMapper{Logger: logger}
	r, err := httpx.NewRouter(httpx.RouterConfig{
		Title: "test", Version: "test", TrustedProxies: trusted,
		Middlewares: []func(http.Handler) http.Handler{authz.Middleware(tokens, ew), Middleware(l, ew)},
	}, logger, httpx.NewHTTPMetrics(nil))
	require.NoError(t, err)
	type out struct {
		Body struct {
			OK bool `json:"ok"`
		}
	}
	handler := func(context.Context, *struct{}) (*out, error) {
		o := &out{}
		o.Body.OK = true
		return o, nil
	}
	huma.Register(r.API, huma.Operation{OperationID: "ping", Method: http.MethodGet, Path: "/v1/ping"}, handler)
	huma.Register(r.API, huma.Operation{OperationID: "login", Method: http.MethodPost, Path: loginPath}, handler)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, l
}

type call struct {
	method, path, token string
	header              http.Header
}

func do(t *testing.T, srv *httptest.Server, c call) (*http.Response, map[string]any) {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodGet
	}
	if c.path == "" {
		c.path = "/v1/ping"
	}
	req, err := http.NewRequest(c.method, srv.URL+c.path, nil)
	require.NoError(t, err)
	for k, v := range c.header {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res, body
}

// exhaust makes n requests that must all pass and returns the last.
func exhaust(t *testing.T, srv *httptest.Server, c call, n int) {
	t.Helper()
	for i := range n {
		res, body := do(t, srv, c)
		require.Equal(t, http.StatusOK, res.StatusCode, "request %d of %d: %v", i+1, n, body)
	}
}

func requireLimited(t *testing.T, srv *httptest.Server, c call) *http.Response {
	t.Helper()
	res, body := do(t, srv, c)
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "%v", body)
	require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	require.Equal(t, "rate_limited", body["code"])
	ra, err := strconv.Atoi(res.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After is whole seconds")
	require.GreaterOrEqual(t, ra, 1)
	return res
}

func TestRequestAfterTheLimitIs429(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	srv, _ := server(t, testConfig(5, reg), testenv.NewRedis(t))
	for i := range 5 {
		res, _ := do(t, srv, call{token: "alice"})
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "5;w=60", res.Header.Get(HeaderPolicy))
		require.Equal(t, fmt.Sprintf("limit=5, remaining=%d, reset=%d", 4-i, 12*(i+1)), res.Header.Get(HeaderLimit))
	}
	res := requireLimited(t, srv, call{token: "alice"})
	require.Equal(t, "5;w=60", res.Header.Get(HeaderPolicy))
	require.Equal(t, "limit=5, remaining=0, reset=60", res.Header.Get(HeaderLimit))
	// GCRA at 5/min lets one more through every 12 seconds.
	ra, _ := strconv.Atoi(res.Header.Get("Retry-After"))
	require.InDelta(t, 12, ra, 1)
	// Refused requests do not dig the hole deeper.
	res = requireLimited(t, srv, call{token: "alice"})
	require.Equal(t, "limit=5, remaining=0, reset=60", res.Header.Get(HeaderLimit))
	require.Equal(t, 5.0, decisions(t, reg, "api", "allowed"))
	require.Equal(t, 2.0, decisions(t, reg, "api", "limited"))
}

// metric reads one series of reg: the metric name and its labels (0 when
// absent).
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	v, _, err := metrics.Value(reg, name, labels...)
	require.NoError(t, err)
	return v
}

func decisions(t *testing.T, reg *prometheus.Registry, policy, outcome string) float64 {
	return metric(t, reg, "pvara_ratelimit_decisions_total", "policy", policy, "outcome", outcome)
}

func TestTheLimitRefills(t *testing.T) {
	t.Parallel()
	cfg := testConfig(2, nil)
	cfg.Default.Window = time.Second // one request every 500ms
	srv, _ := server(t, cfg, testenv.NewRedis(t))
	exhaust(t, srv, call{token: "alice"}, 2)
	res, _ := do(t, srv, call{token: "alice"})
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	time.Sleep(600 * time.Millisecond)
	exhaust(t, srv, call{token: "alice"}, 1)
	res, _ = do(t, srv, call{token: "alice"})
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "one interval refills one request, not the burst")
}

// TestCountersAreSharedByReplicas: two server instances (two routers, two
// limiters, two Redis clients) over one Redis enforce one limit.
func TestCountersAreSharedByReplicas(t *testing.T) {
	t.Parallel()
	rdb1 := testenv.NewRedis(t)
	rdb2, err := redisx.Open(context.Background(), testenv.RedisURL(), rdb1.Prefix())
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb2.Close() })
	one, _ := server(t, testConfig(6, nil), rdb1)
	two, _ := server(t, testConfig(6, nil), rdb2)
	for i := range 6 {
		srv := []*httptest.Server{one, two}[i%2]
		res, _ := do(t, srv, call{token: "bob"})
		require.Equal(t, http.StatusOK, res.StatusCode, "request %d", i+1)
		require.Equal(t, fmt.Sprintf("limit=6, remaining=%d, reset=%d", 5-i, 10*(i+1)), res.Header.Get(HeaderLimit))
	}
	requireLimited(t, one, call{token: "bob"})
	requireLimited(t, two, call{token: "bob"})
}

func TestBucketsPerUserAndPerIP(t *testing.T) {
	t.Parallel()
	srv, _ := server(t, testConfig(3, nil), testenv.NewRedis(t))
	exhaust(t, srv, call{token: "alice"}, 3)
	requireLimited(t, srv, call{token: "alice"})
	// Others behind the same IP are not affected by alice's use...
	exhaust(t, srv, call{token: "bob"}, 3)
	exhaust(t, srv, call{token: "client"}, 3)
	exhaust(t, srv, call{}, 3)
	// ...and anonymous callers share their IP's bucket.
	requireLimited(t, srv, call{})
	requireLimited(t, srv, call{token: "bob"})
	requireLimited(t, srv, call{token: "client"})
}

func TestRoutePolicyHasItsOwnBucketAndHeaders(t *testing.T) {
	t.Parallel()
	srv, _ := server(t, testConfig(3, nil), testenv.NewRedis(t))
	exhaust(t, srv, call{}, 3)
	requireLimited(t, srv, call{})
	login := call{method: http.MethodPost, path: loginPath}
	res, _ := do(t, srv, login)
	require.Equal(t, http.StatusOK, res.StatusCode, "browsing does not use up the login budget")
	require.Equal(t, "3;w=60", res.Header.Get(HeaderPolicy))
	exhaust(t, srv, login, 2)
	requireLimited(t, srv, login)
}

// TestForwardedForIsBelievedOnlyFromTrustedProxies: a client cannot pick
// its bucket by sending X-Forwarded-For, while behind a trusted load
// balancer every caller gets its own.
func TestForwardedForIsBelievedOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	spoof := func(i int) call {
		return call{header: http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d", i)}}}
	}
	t.Run("untrusted peer", func(t *testing.T) {
		t.Parallel()
		srv, _ := server(t, testConfig(3, nil), testenv.NewRedis(t), "10.0.0.0/8")
		for i := range 3 {
			res, _ := do(t, srv, spoof(i))
			require.Equal(t, http.StatusOK, res.StatusCode)
		}
		requireLimited(t, srv, spoof(99))
		requireLimited(t, srv, call{header: http.Header{"Forwarded": {"for=203.0.113.7"}}})
	})
	t.Run("trusted proxy", func(t *testing.T) {
		t.Parallel()
		srv, _ := server(t, testConfig(3, nil), testenv.NewRedis(t), "127.0.0.1/32")
		exhaust(t, srv, spoof(1), 3)
		requireLimited(t, srv, spoof(1))
		exhaust(t, srv, spoof(2), 3) // another client behind the same proxy
		exhaust(t, srv, call{header: http.Header{"Forwarded": {"for=203.0.113.7"}}}, 3)
	})
}

func TestSubject(t *testing.T) {
	t.Parallel()
	ctxIP := func(s string) context.Context {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = s
		var got context.Context
		res, err := httpx.NewClientIPResolver(nil)
		require.NoError(t, err)
		res.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Context() })).ServeHTTP(httptest.NewRecorder(), req)
		return got
	}
	require.Equal(t, "ip:192.0.2.1", Subject(ctxIP("192.0.2.1:1234")))
	require.Equal(t, "ip:192.0.2.1", Subject(ctxIP("[::ffff:192.0.2.1]:1234")))
	// Addresses of one IPv6 /64 share a bucket.
	a := Subject(ctxIP("[2001:db8:1:2:aaaa::1]:1"))
	require.Equal(t, "ip6:2001:db8:1:2::/64", a)
	require.Equal(t, a, Subject(ctxIP("[2001:db8:1:2:bbbb::9]:1")))
	require.NotEqual(t, a, Subject(ctxIP("[2001:db8:1:3::1]:1")))
	require.Equal(t, "ip:unknown", Subject(context.Background()))
	alice := tokens["alice"]
	require.Equal(t, "u:"+alice.UserID.String(), Subject(authz.WithPrincipal(ctxIP("192.0.2.1:1"), alice)))
	require.Equal(t, "c:hr-system", Subject(authz.WithPrincipal(context.Background(), tokens["client"])))
}

func TestPolicyValidation(t *testing.T) {
	t.Parallel()
	rdb := testenv.NewRedis(t)
	for _, p := range []Policy{
		{Name: "", Requests: 1, Window: time.Minute},
		{Name: "x", Requests: 0, Window: time.Minute},
		{Name: "x", Requests: 1, Window: time.Millisecond},
		{Name: "x", Requests: 10_000_000, Window: time.Second},
	} {
		_, err := New(Config{Default: p}, rdb)
		require.Error(t, err, "%+v", p)
	}
	_, err := New(Config{
		Default: Policy{Name: "api", Requests: 1, Window: time.Minute},
		Routes:  map[string]Policy{"/a": {Name: "api", Requests: 2, Window: time.Minute}},
	}, rdb)
	require.ErrorContains(t, err, "two different policies")
	_, err = New(Config{Default: Policy{Name: "api", Requests: 1, Window: time.Minute}}, nil)
	require.Error(t, err)
}

// redisProcess is a private redis-server the test can stop and start, to
// see what the limiter does when Redis goes away and comes back.
type redisProcess struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startRedis(t *testing.T, port int) *redisProcess {
	t.Helper()
	if port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port = l.Addr().(*net.TCPAddr).Port
		require.NoError(t, l.Close())
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	require.NoError(t, cmd.Start(), "redis-server must be installed")
	p := &redisProcess{t: t, port: port, cmd: cmd}
	t.Cleanup(p.stop)
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", p.addr())
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	return p
}

func (p *redisProcess) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

func (p *redisProcess) stop() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

func TestRedisDown(t *testing.T) {
	t.Parallel()
	proc := startRedis(t, 0)
	rdb, err := redisx.Open(context.Background(), "redis://"+proc.addr()+"/0", "pvara-test:down:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	reg := prometheus.NewRegistry()
	srv, _ := server(t, testConfig(2, reg), rdb)
	login := call{method: http.MethodPost, path: loginPath}
	exhaust(t, srv, call{token: "alice"}, 2)
	requireLimited(t, srv, call{token: "alice"})

	proc.stop()
	// The API fails open: requests go through, unlimited, without a
	// RateLimit header (nothing is known), still naming the policy.
	for range 3 {
		res, _ := do(t, srv, call{token: "alice"})
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "2;w=60", res.Header.Get(HeaderPolicy))
		require.Empty(t, res.Header.Get(HeaderLimit))
	}
	// Login fails closed.
	start := time.Now()
	res, body := do(t, srv, login)
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "%v", body)
	require.Equal(t, "unavailable", body["code"])
	require.Equal(t, "1", res.Header.Get("Retry-After"))
	require.Less(t, time.Since(start), 150*time.Millisecond, "while Redis is down nobody waits for it")
	require.Equal(t, 3.0, decisions(t, reg, "api", "failed_open"))
	require.Equal(t, 1.0, decisions(t, reg, "auth", "failed_closed"))
	require.GreaterOrEqual(t, metric(t, reg, "pvara_ratelimit_redis_errors_total"), 1.0)

	// Redis comes back (empty): after the cooldown, limits apply again.
	startRedis(t, proc.port)
	require.Eventually(t, func() bool {
		res, _ := do(t, srv, login)
		return res.StatusCode == http.StatusOK
	}, 5*time.Second, 50*time.Millisecond)
	res, _ = do(t, srv, call{token: "alice"})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.True(t, strings.HasPrefix(res.Header.Get(HeaderLimit), "limit=2, remaining="))
}

// TestScriptRunsOnTheDevFallback: `pvara dev` without a Redis uses the
// in-process fallback (miniredis); the script must work there too.
func TestScriptRunsOnTheDevFallback(t *testing.T) {
	t.Parallel()
	rdb, err := redisx.OpenEmbedded("dev:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = rdb.Close() })
	l, err := New(Config{Default: Policy{Name: "api", Requests: 2, Window: time.Minute}}, rdb)
	require.NoError(t, err)
	ctx := context.Background()
	for i := range 2 {
		d, err := l.Allow(ctx, "api", "u:1")
		require.NoError(t, err)
		require.True(t, d.Allowed)
		require.Equal(t, 1-i, d.Remaining)
	}
	d, err := l.Allow(ctx, "api", "u:1")
	require.NoError(t, err)
	require.False(t, d.Allowed)
	require.InDelta(t, 30*time.Second, d.RetryAfter, float64(time.Second))
}
