package auth

import (
	"context"
	"encoding/hex"
	"net/netip"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
)

// ThrottleConfig configures login defence and registration limits. Every
// counter lives in Redis so all replicas share it.
type ThrottleConfig struct {
	// Consecutive failures before attempts slow down, per (account, client
	// IP), per account from any IP, and per client IP over any account.
	AccountIPFailures int
	AccountFailures   int
	IPFailures        int
	// FailureWindow: a counter is forgotten this long after its last failure.
	FailureWindow time.Duration
	// MaxBlock caps the back-off (1 s, 2 s, 4 s ... after the threshold).
	// A block always expires: a correct password is never locked out for
	// good, only delayed.
	MaxBlock time.Duration
	// RegisterIPLimit registrations per RegisterIPWindow per client IP.
	RegisterIPLimit  int
	RegisterIPWindow time.Duration
}

// ErrTooManyAttempts is the answer while a block lasts. It is the same for
// existing and unknown accounts, so it reveals nothing.
var ErrTooManyAttempts = apperr.New(apperr.KindTooManyRequests, "too_many_attempts",
	"too many failed sign-in attempts; wait before trying again")

// ErrTooManyRegistrations limits registrations from one address.
var ErrTooManyRegistrations = apperr.New(apperr.KindTooManyRequests, "too_many_registrations",
	"too many registrations from this address; try again later")

// ErrDefenceUnavailable is the answer when Redis, which holds the
// throttling counters, does not answer: login and registration fail closed
// rather than run without brute-force protection.
var ErrDefenceUnavailable = apperr.New(apperr.KindUnavailable, "unavailable",
	"sign-in is temporarily unavailable; try again shortly").WithRetryAfter(5 * time.Second)

// throttle implements ThrottleConfig on Redis with one script call per
// check and per outcome.
type throttle struct {
	cfg   ThrottleConfig
	redis *redisx.Client
}

// blockedScript returns the longest remaining block (ms) of KEYS, or 0.
var blockedScript = redis.NewScript(`
local m = 0
for i = 1, #KEYS do
  local t = redis.call('PTTL', KEYS[i])
  if t > m then m = t end
end
return m`)

// failScript counts a failure on three (counter, lock) pairs and sets each
// lock past its threshold with an exponential back-off. It returns the
// longest block set (ms).
var failScript = redis.NewScript(`
local window = tonumber(ARGV[1])
local base = tonumber(ARGV[5])
local cap = tonumber(ARGV[6])
local res = 0
for i = 0, 2 do
  local n = redis.call('INCR', KEYS[i*2+1])
  redis.call('PEXPIRE', KEYS[i*2+1], window)
  local thr = tonumber(ARGV[2+i])
  if n >= thr then
    local d = base * (2 ^ math.min(n - thr, 30))
    if d > cap then d = cap end
    redis.call('SET', KEYS[i*2+2], '1', 'PX', math.floor(d))
    if d > res then res = d end
  end
end
return math.floor(res)`)

// countScript is a fixed-window counter: it returns the remaining window
// (ms) when the limit is exceeded, else 0.
var countScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then
  local t = redis.call('PTTL', KEYS[1])
  if t < 1 then t = 1 end
  return t
end
return 0`)

// loginKeys are the Redis keys of one attempt. account is a keyed digest of
// the e-mail (no address is stored in Redis), so unknown and existing
// accounts are throttled alike.
type loginKeys struct {
	cntAI, lockAI, cntA, lockA, cntI, lockI string
}

func (t *throttle) keys(account []byte, ip netip.Addr) loginKeys {
	if t.redis == nil {
		return loginKeys{} // check refuses every attempt
	}
	a := hex.EncodeToString(account[:16])
	i := ipKey(ip)
	return loginKeys{
		cntAI:  t.redis.Key("auth", "lf", "ai", a, i),
		lockAI: t.redis.Key("auth", "lb", "ai", a, i),
		cntA:   t.redis.Key("auth", "lf", "a", a),
		lockA:  t.redis.Key("auth", "lb", "a", a),
		cntI:   t.redis.Key("auth", "lf", "i", i),
		lockI:  t.redis.Key("auth", "lb", "i", i),
	}
}

// ipKey groups IPv6 clients by /64 (one subscriber's prefix), so rotating
// addresses inside a prefix does not escape the per-IP counter.
func ipKey(ip netip.Addr) string {
	if !ip.IsValid() {
		return "unknown"
	}
	if ip.Is6() && !ip.Is4In6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.Unmap().String()
}

func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// check refuses an attempt while any of its blocks lasts.
func (t *throttle) check(ctx context.Context, k loginKeys) error {
	if t.redis == nil {
		return ErrDefenceUnavailable
	}
	ms, err := blockedScript.Run(ctx, t.redis, []string{k.lockAI, k.lockA, k.lockI}).Int64()
	if err != nil {
		return ErrDefenceUnavailable.WithCause(err)
	}
	if ms > 0 {
		return ErrTooManyAttempts.WithRetryAfter(msDuration(ms))
	}
	return nil
}

// failed records a failed attempt.
func (t *throttle) failed(ctx context.Context, k loginKeys) error {
	_, err := failScript.Run(ctx, t.redis,
		[]string{k.cntAI, k.lockAI, k.cntA, k.lockA, k.cntI, k.lockI},
		t.cfg.FailureWindow.Milliseconds(), t.cfg.AccountIPFailures, t.cfg.AccountFailures, t.cfg.IPFailures,
		int64(1000), t.cfg.MaxBlock.Milliseconds()).Int64()
	return err
}

// succeeded clears the account's consecutive-failure counters (the per-IP
// one keeps counting: a sprayer with one good password stays slowed).
func (t *throttle) succeeded(ctx context.Context, k loginKeys) error {
	return t.redis.Del(ctx, k.cntAI, k.cntA).Err()
}

// register counts a registration attempt from ip.
func (t *throttle) register(ctx context.Context, ip netip.Addr) error {
	if t.redis == nil {
		return ErrDefenceUnavailable
	}
	ms, err := countScript.Run(ctx, t.redis, []string{t.redis.Key("auth", "reg", ipKey(ip))},
		t.cfg.RegisterIPWindow.Milliseconds(), t.cfg.RegisterIPLimit).Int64()
	if err != nil {
		return ErrDefenceUnavailable.WithCause(err)
	}
	if ms > 0 {
		return ErrTooManyRegistrations.WithRetryAfter(msDuration(ms))
	}
	return nil
}
