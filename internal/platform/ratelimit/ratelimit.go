// Package ratelimit limits how many requests each caller may make: per user
// when the request is authenticated, per client IP otherwise. The counters
// live in Redis so every replica enforces one shared limit, and each
// request costs one Redis round trip (a Lua script implementing GCRA, the
// generic cell rate algorithm), except that a busy caller's requests may
// be decided from a small batch of cells the replica took from Redis in
// one call (Config.LocalBatch, local.go). See docs/security.md, "Rate
// limiting".
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/metrics"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
)

// Policy is one limit: Requests per Window for each caller.
type Policy struct {
	// Name keeps the buckets of different policies apart (it is part of the
	// Redis key) and labels the metrics.
	Name     string
	Requests int
	Window   time.Duration
	// FailClosed refuses requests (503) when Redis cannot be asked, instead
	// of letting them through unlimited.
	FailClosed bool
}

func (p Policy) validate() error {
	if p.Name == "" || p.Requests < 1 || p.Window < time.Second || p.Window/time.Duration(p.Requests) < time.Microsecond {
		return fmt.Errorf("ratelimit: policy %q needs a name, requests >= 1 and a window >= 1s of at least 1µs per request", p.Name)
	}
	return nil
}

// Config configures a Limiter. Zero durations take the defaults.
type Config struct {
	// Default applies to every request no route policy names.
	Default Policy
	// Routes gives exact request paths their own policy (and bucket): login
	// and registration are limited apart from browsing, and fail closed.
	Routes map[string]Policy
	// Timeout bounds the Redis call of one request (default 100ms): a slow
	// Redis costs each request at most this much.
	Timeout time.Duration
	// Cooldown is how long Redis is not asked after it failed (default 1s):
	// when Redis is down, requests do not each wait for a timeout.
	Cooldown   time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Now is the clock of the cooldown (default time.Now). The limit's own
	// clock is Redis's, shared by every replica.
	Now func() time.Time
	// LocalBatch is the most cells one script call reserves for a busy
	// caller, spent on this replica without asking Redis (0 or 1: off,
	// every request asks Redis). A policy batches at most 1/64 of its
	// limit, so small limits (and the tests' 2-6 requests) stay exact.
	LocalBatch int
	// LocalTTL is how long reserved cells may be spent (default 250ms);
	// leftovers are lost.
	LocalTTL time.Duration
	// LocalSubjects bounds the callers each policy tracks locally (default
	// 10000); beyond it, callers go to Redis one request at a time.
	LocalSubjects int
}

// Decision is the outcome of one request against its policy.
type Decision struct {
	Allowed bool
	// Limit is the policy's request count per window.
	Limit int
	// Remaining is how many more requests may be made right now.
	Remaining int
	// Reset is the time until the full limit is available again.
	Reset time.Duration
	// RetryAfter is, for a refused request, the time until one more is
	// allowed.
	RetryAfter time.Duration
}

// ErrUnavailable is returned by Allow when Redis cannot be asked (down,
// slow, or cooling down after a failure).
var ErrUnavailable = errors.New("ratelimit: the limit store is unavailable")

// gcra is the whole decision as one script, so it costs one round trip and
// is atomic across replicas. The state is one key per caller holding the
// theoretical arrival time (TAT, in microseconds of Redis's clock): each
// request moves it on by the emission interval (window / limit); a request
// is allowed while the TAT stays within one window of now, so a caller may
// burst up to the limit and then continues at the steady rate. Refused
// requests change nothing. The key expires when the bucket is full again.
// Times use Redis's TIME so replicas with skewed clocks still agree.
// Numbers are written with %.0f: Lua's default formatting would round the
// 16-digit microsecond counts.
//
// ARGV[3] (default 1) asks for a batch of cells for the local
// pre-allowance: the TAT moves on by n intervals, n being as many as the
// burst allows now, at most ARGV[3] and at least the one this request
// needs (or it is refused as with one). With ARGV[3] = 1 it is exactly the
// one-request decision.
//
// KEYS[1] the caller's bucket; ARGV[1] emission interval (µs); ARGV[2]
// limit; ARGV[3] cells wanted. Returns {allowed (0/1), remaining (in
// Redis, after the batch), reset (µs), retry after (µs), cells granted}.
var gcra = redis.NewScript(`
local interval = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local want = tonumber(ARGV[3]) or 1
local window = interval * limit
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local allow_at = tat + interval - window
if now < allow_at then
  return {0, 0, tat - now, allow_at - now, 0}
end
local n = math.max(1, math.min(want, math.floor((now + window - tat) / interval)))
local new_tat = tat + n * interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((window - (new_tat - now)) / interval), new_tat - now, 0, n}
`)

// Limiter decides requests against policies, with state in Redis.
type Limiter struct {
	rdb      *redisx.Client
	cfg      Config
	policies map[string]*policyState // by name
	routes   map[string]*policyState // by path
	def      *policyState
	// openUntil (Unix nanoseconds) is when Redis may be asked again after
	// a failure.
	openUntil atomic.Int64
	redisErrs prometheus.Counter
	redisTime prometheus.Histogram
}

// policyState is a policy with what the hot path needs precomputed.
type policyState struct {
	Policy
	intervalMicros int64
	policyHeader   string
	allowed        prometheus.Counter
	limited        prometheus.Counter
	failedOpen     prometheus.Counter
	failedClosed   prometheus.Counter
	// The local pre-allowance: nil local when off for this policy.
	local        *localMap
	maxBatch     int
	fromLocal    prometheus.Counter
	fromRedis    prometheus.Counter
	localExpired prometheus.Counter
}

// New returns a limiter over rdb.
func New(cfg Config, rdb *redisx.Client) (*Limiter, error) {
	if rdb == nil {
		return nil, errors.New("ratelimit: a Redis client is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = logx.Discard()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LocalTTL <= 0 {
		cfg.LocalTTL = 250 * time.Millisecond
	}
	if cfg.LocalSubjects <= 0 {
		cfg.LocalSubjects = 10_000
	}
	sources := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pvara_ratelimit_decision_source_total",
		Help: "Rate-limit decisions by policy and where they were taken: redis (one script call) or local (a cell of the local pre-allowance, no call).",
	}, []string{"policy", "source"})
	expired := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pvara_ratelimit_local_cells_expired_total",
		Help: "Cells of the local pre-allowance taken from Redis and never spent (lost: the caller's limit was stricter by this much).",
	}, []string{"policy"})
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pvara_ratelimit_decisions_total",
		Help: "Rate-limit decisions by policy and outcome: allowed, limited, failed_open (Redis unavailable, let through), failed_closed (Redis unavailable, refused).",
	}, []string{"policy", "outcome"})
	l := &Limiter{
		rdb: rdb, cfg: cfg, policies: map[string]*policyState{}, routes: map[string]*policyState{},
		redisErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pvara_ratelimit_redis_errors_total",
			Help: "Rate-limit calls to Redis that failed or timed out (each opens the cooldown).",
		}),
		redisTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pvara_ratelimit_redis_duration_seconds",
			Help:    "Duration of the rate-limit script round trip.",
			Buckets: metrics.LatencyBuckets,
		}),
	}
	add := func(p Policy) (*policyState, error) {
		if err := p.validate(); err != nil {
			return nil, err
		}
		if old, ok := l.policies[p.Name]; ok {
			if old.Policy != p {
				return nil, fmt.Errorf("ratelimit: two different policies are named %q", p.Name)
			}
			return old, nil
		}
		s := &policyState{
			Policy:         p,
			intervalMicros: max(1, p.Window.Microseconds()/int64(p.Requests)),
			// draft-ietf-httpapi-ratelimit-headers-07: quota;w=window-seconds.
			policyHeader: strconv.Itoa(p.Requests) + ";w=" + strconv.FormatInt(int64(p.Window/time.Second), 10),
			allowed:      decisions.WithLabelValues(p.Name, "allowed"),
			limited:      decisions.WithLabelValues(p.Name, "limited"),
			failedOpen:   decisions.WithLabelValues(p.Name, "failed_open"),
			failedClosed: decisions.WithLabelValues(p.Name, "failed_closed"),
			maxBatch:     min(cfg.LocalBatch, p.Requests/64),
			fromLocal:    sources.WithLabelValues(p.Name, "local"),
			fromRedis:    sources.WithLabelValues(p.Name, "redis"),
			localExpired: expired.WithLabelValues(p.Name),
		}
		if s.maxBatch > 1 {
			s.local = &localMap{m: map[string]*localEntry{}, max: cfg.LocalSubjects, ttl: cfg.LocalTTL}
		}
		l.policies[p.Name] = s
		return s, nil
	}
	var err error
	if l.def, err = add(cfg.Default); err != nil {
		return nil, err
	}
	for path, p := range cfg.Routes {
		if l.routes[path], err = add(p); err != nil {
			return nil, err
		}
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(decisions, sources, expired, l.redisErrs, l.redisTime)
	}
	return l, nil
}

// policyFor picks the policy of a request path.
func (l *Limiter) policyFor(path string) *policyState {
	if p, ok := l.routes[path]; ok {
		return p
	}
	return l.def
}

// Allow counts one request of subject against the named policy and says
// whether it may go on. It returns ErrUnavailable (wrapped) when Redis
// cannot be asked; what to do then is the caller's choice (the middleware
// follows the policy's FailClosed).
func (l *Limiter) Allow(ctx context.Context, policy, subject string) (Decision, error) {
	p, ok := l.policies[policy]
	if !ok {
		return Decision{}, fmt.Errorf("ratelimit: no policy %q", policy)
	}
	return l.allow(ctx, p, subject)
}

func (l *Limiter) allow(ctx context.Context, p *policyState, subject string) (Decision, error) {
	if p.local != nil {
		return l.allowLocal(ctx, p, subject)
	}
	p.fromRedis.Inc()
	d, _, err := l.gcraN(ctx, p, subject, 1)
	return d, err
}

// gcraN runs the script for subject, asking for n cells (n > 1 only for
// the local pre-allowance), and returns the decision and how many cells
// were granted (0 when refused).
func (l *Limiter) gcraN(ctx context.Context, p *policyState, subject string, n int) (Decision, int, error) {
	if until := l.openUntil.Load(); until != 0 && l.cfg.Now().UnixNano() < until {
		return Decision{}, 0, ErrUnavailable
	}
	cctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	start := time.Now()
	res, err := gcra.Run(cctx, l.rdb, []string{l.rdb.Key("rl", p.Name, subject)}, p.intervalMicros, p.Requests, n).Int64Slice()
	l.redisTime.Observe(time.Since(start).Seconds())
	if err == nil && len(res) != 5 {
		err = fmt.Errorf("unexpected script result %v", res)
	}
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up (client gone): not Redis's fault.
			return Decision{}, 0, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
		l.redisErrs.Inc()
		now := l.cfg.Now()
		if prev := l.openUntil.Swap(now.Add(l.cfg.Cooldown).UnixNano()); prev <= now.UnixNano() {
			// Once per cooldown at most, not once per request.
			l.cfg.Logger.Warn("rate limiting: Redis unavailable; policies that fail open let requests through unlimited, the others refuse them",
				"error", err, "cooldown", l.cfg.Cooldown)
		}
		return Decision{}, 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return Decision{
		Allowed:    res[0] == 1,
		Limit:      p.Requests,
		Remaining:  int(res[1]),
		Reset:      time.Duration(res[2]) * time.Microsecond,
		RetryAfter: time.Duration(res[3]) * time.Microsecond,
	}, int(res[4]), nil
}

// ceilSeconds rounds up to whole seconds, the unit of the headers.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
