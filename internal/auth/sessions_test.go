package auth_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/auth"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
)

// hashCount reads how many password hashes the service computed.
func hashCount(t *testing.T, reg *prometheus.Registry) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "pvara_auth_password_hash_seconds" {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}

// TestLoginDoesNotRevealAccounts: a wrong password and an unknown e-mail
// get the same status and body, and both compute one password hash (the
// unknown e-mail against a dummy hash), so their timing is alike too.
func TestLoginDoesNotRevealAccounts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u, _ := e.candidate(t)
	strip := func(r resp) map[string]any {
		m := r.json(t)
		delete(m, "request_id")
		return m
	}
	before := hashCount(t, e.reg)
	wrong := e.do(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"email": u.Email, "password": "not the right password at all"}})
	afterWrong := hashCount(t, e.reg)
	unknown := e.do(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"email": "nobody-here@example.pk", "password": "not the right password at all"}})
	afterUnknown := hashCount(t, e.reg)

	require.Equal(t, http.StatusUnauthorized, wrong.StatusCode)
	require.Equal(t, wrong.StatusCode, unknown.StatusCode)
	require.Equal(t, strip(wrong), strip(unknown))
	require.Equal(t, "invalid_credentials", wrong.code(t))
	require.Equal(t, uint64(1), afterWrong-before, "a wrong password costs one hash")
	require.Equal(t, uint64(1), afterUnknown-afterWrong, "an unknown e-mail costs one (dummy) hash too")

	// A disabled account with the right password answers the same.
	w := e.world(t)
	r := e.do(t, req{method: "POST", path: "/v1/users/" + w.recruiterAUser.ID.String() + "/disable", token: w.adminA.AccessToken})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	dis := e.do(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"email": w.recruiterAUser.Email, "password": goodPassword}})
	require.Equal(t, strip(wrong), strip(dis))

	require.Equal(t, 3, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE action = 'auth.login_failed'`))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE action = 'auth.login_failed' AND details->>'reason' = 'unknown_account'`))
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *auth.Config, _ *auth.Deps) {
		c.Throttle = auth.ThrottleConfig{AccountIPFailures: 3, AccountFailures: 6, IPFailures: 1000,
			MaxBlock: 2 * time.Second, RegisterIPLimit: 1000}
	})
	u, _ := e.candidate(t)
	login := func(email, pw, ip string) resp {
		return e.do(t, req{method: "POST", path: "/v1/auth/login", ip: ip, body: map[string]any{"email": email, "password": pw}})
	}
	const attacker, victim = "203.0.113.7", "198.51.100.20"
	for i := range 3 {
		r := login(u.Email, "wrong password number "+strconv.Itoa(i), attacker)
		require.Equal(t, http.StatusUnauthorized, r.StatusCode, "failure %d", i)
	}
	// The pair (account, attacker IP) is now blocked, even for the right
	// password, with a Retry-After.
	r := login(u.Email, goodPassword, attacker)
	require.Equal(t, http.StatusTooManyRequests, r.StatusCode, "%s", r.body)
	require.Equal(t, "too_many_attempts", r.code(t))
	require.NotEmpty(t, r.Header.Get("Retry-After"))
	// The owner from another address is not blocked by the attacker's
	// per-(account, IP) block.
	require.Equal(t, http.StatusOK, login(u.Email, goodPassword, victim).StatusCode)

	// An unknown account is throttled exactly like a real one.
	for i := range 3 {
		require.Equal(t, http.StatusUnauthorized, login("ghost@example.pk", "wrong password number "+strconv.Itoa(i), attacker).StatusCode)
	}
	ghost := login("ghost@example.pk", "wrong password number 9", attacker)
	require.Equal(t, http.StatusTooManyRequests, ghost.StatusCode)
	require.Equal(t, r.code(t), ghost.code(t))

	// A block expires: the right password works again (never a permanent
	// lock-out).
	time.Sleep(2100 * time.Millisecond)
	require.Equal(t, http.StatusOK, login(u.Email, goodPassword, attacker).StatusCode)

	// Distributed guessing: failures from many addresses add up per account.
	for i := range 6 {
		require.Equal(t, http.StatusUnauthorized, login(u.Email, "wrong password again "+strconv.Itoa(i), "192.0.2."+strconv.Itoa(10+i)).StatusCode)
	}
	require.Equal(t, http.StatusTooManyRequests, login(u.Email, goodPassword, "192.0.2.99").StatusCode)
}

func TestLoginPerIPLimitLeavesOtherAddressesAlone(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *auth.Config, _ *auth.Deps) {
		c.Throttle = auth.ThrottleConfig{AccountIPFailures: 100, AccountFailures: 100, IPFailures: 4, MaxBlock: time.Minute, RegisterIPLimit: 1000}
	})
	u, _ := e.candidate(t)
	// A password sprayer tries many accounts from one address.
	for i := range 4 {
		r := e.do(t, req{method: "POST", path: "/v1/auth/login", ip: "203.0.113.50", body: map[string]any{"email": e.email("spray"), "password": "Spring2026 password!"}})
		require.Equal(t, http.StatusUnauthorized, r.StatusCode, "attempt %d", i)
	}
	r := e.do(t, req{method: "POST", path: "/v1/auth/login", ip: "203.0.113.50", body: map[string]any{"email": u.Email, "password": goodPassword}})
	require.Equal(t, http.StatusTooManyRequests, r.StatusCode)
	// The same account from another address is fine.
	r = e.do(t, req{method: "POST", path: "/v1/auth/login", ip: "203.0.113.51", body: map[string]any{"email": u.Email, "password": goodPassword}})
	require.Equal(t, http.StatusOK, r.StatusCode)
}

func TestRegistrationLimitPerIP(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *auth.Config, _ *auth.Deps) {
		c.Throttle = auth.ThrottleConfig{RegisterIPLimit: 2, RegisterIPWindow: time.Minute}
	})
	reg := func(ip string) resp {
		return e.do(t, req{method: "POST", path: "/v1/auth/register", ip: ip, body: map[string]any{
			"email": e.email("r"), "password": goodPassword, "full_name": "R", "cnic": e.cnic()}})
	}
	require.Equal(t, http.StatusCreated, reg("203.0.113.1").StatusCode)
	require.Equal(t, http.StatusCreated, reg("203.0.113.1").StatusCode)
	r := reg("203.0.113.1")
	require.Equal(t, http.StatusTooManyRequests, r.StatusCode)
	require.Equal(t, "too_many_registrations", r.code(t))
	require.NotEmpty(t, r.Header.Get("Retry-After"))
	require.Equal(t, http.StatusCreated, reg("203.0.113.2").StatusCode)
}

// TestRedisDownFailsClosed: without the login-defence store, login and
// registration answer 503 rather than run unprotected; token verification
// (which does not need Redis) keeps working.
func TestRedisDownFailsClosed(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u, pair := e.candidate(t)
	down := &redisx.Client{Client: redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})}
	t.Cleanup(func() { _ = down.Close() })
	deps := e.deps
	deps.Redis = down
	deps.Registerer = nil
	svc, err := auth.New(e.cfg, deps)
	require.NoError(t, err)
	e2 := &env{t: t, srv: nil}
	e2.srv = newTestServer(t, svc)

	r := e2.do(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"email": u.Email, "password": goodPassword}})
	require.Equal(t, http.StatusServiceUnavailable, r.StatusCode, "%s", r.body)
	require.NotEmpty(t, r.Header.Get("Retry-After"))
	r = e2.do(t, req{method: "POST", path: "/v1/auth/register", body: map[string]any{"email": "x@example.pk", "password": goodPassword, "full_name": "X", "cnic": "35202-9999999-9"}})
	require.Equal(t, http.StatusServiceUnavailable, r.StatusCode, "%s", r.body)
	require.Equal(t, http.StatusOK, e2.do(t, req{method: "GET", path: "/v1/me", token: pair.AccessToken}).StatusCode)
	// With no Redis at all (nil), the same.
	deps.Redis = nil
	svc, err = auth.New(e.cfg, deps)
	require.NoError(t, err)
	_, err = svc.Login(context.Background(), u.Email, goodPassword)
	require.ErrorIs(t, err, auth.ErrDefenceUnavailable)
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, p0 := e.candidate(t)
	refresh := func(tok string) resp {
		return e.do(t, req{method: "POST", path: "/v1/auth/refresh", body: map[string]any{"refresh_token": tok}})
	}
	r := refresh(p0.RefreshToken)
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	p1 := r.json(t)
	require.NotEqual(t, p0.RefreshToken, p1["refresh_token"], "rotated on every use")
	require.Equal(t, http.StatusOK, e.do(t, req{method: "GET", path: "/v1/me", token: p1["access_token"].(string)}).StatusCode)

	// Only the digest is stored.
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.refresh_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8')) AND used_at IS NOT NULL`, p0.RefreshToken))
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.refresh_tokens WHERE position(convert_to($1, 'UTF8') in token_hash) > 0`, p0.RefreshToken))

	// Reuse of the spent token: 401, and the whole family is revoked, so
	// the legitimate newest token dies too.
	r = refresh(p0.RefreshToken)
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	require.Equal(t, "invalid_refresh_token", r.code(t))
	r = refresh(p1["refresh_token"].(string))
	require.Equal(t, http.StatusUnauthorized, r.StatusCode, "the family is revoked")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE action = 'auth.refresh_reuse_detected'`))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.refresh_families WHERE revoke_reason = 'reuse'`))

	// Garbage and unknown tokens.
	for _, tok := range []string{"", "x", p0.AccessToken, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		r := refresh(tok)
		require.Equal(t, http.StatusUnauthorized, r.StatusCode, "%q: %s", tok, r.body)
	}
}

// TestConcurrentRefresh: two refreshes of one token at once: exactly one
// wins; the other is reuse (strict default), which revokes the session.
func TestConcurrentRefresh(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for round := range 5 {
		_, p := e.candidate(t)
		results := make([]resp, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 2 {
			wg.Go(func() {
				<-start
				results[i] = e.do(t, req{method: "POST", path: "/v1/auth/refresh", body: map[string]any{"refresh_token": p.RefreshToken}})
			})
		}
		close(start)
		wg.Wait()
		var winner resp
		wins := 0
		for _, r := range results {
			if r.StatusCode == http.StatusOK {
				wins++
				winner = r
			} else {
				require.Equal(t, http.StatusUnauthorized, r.StatusCode, "%s", r.body)
			}
		}
		require.Equal(t, 1, wins, "round %d: exactly one refresh wins", round)
		// The loser's attempt counted as reuse: the winner's new token is
		// revoked with the family.
		r := e.do(t, req{method: "POST", path: "/v1/auth/refresh", body: map[string]any{"refresh_token": winner.json(t)["refresh_token"]}})
		require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	}
}

// TestConcurrentRefreshWithGrace: with a grace window, the loser of a race
// gets refresh_race and the session survives.
func TestConcurrentRefreshWithGrace(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *auth.Config, _ *auth.Deps) { c.RefreshReuseGrace = 30 * time.Second })
	_, p := e.candidate(t)
	results := make([]resp, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			results[i] = e.do(t, req{method: "POST", path: "/v1/auth/refresh", body: map[string]any{"refresh_token": p.RefreshToken}})
		})
	}
	wg.Wait()
	var winner, loser resp
	for _, r := range results {
		if r.StatusCode == http.StatusOK {
			winner = r
		} else {
			loser = r
		}
	}
	require.NotNil(t, winner.Response)
	require.NotNil(t, loser.Response)
	require.Equal(t, http.StatusUnauthorized, loser.StatusCode)
	require.Equal(t, "refresh_race", loser.code(t))
	r := e.do(t, req{method: "POST", path: "/v1/auth/refresh", body: map[string]any{"refresh_token": winner.json(t)["refresh_token"]}})
	require.Equal(t, http.StatusOK, r.StatusCode, "the session survived the race")
	// After the grace window, a second use is reuse again.
	e.clock.Advance(31 * time.Second)
	r = e.do(t, req{method: "POST", path: "/v1/auth/refresh", body: map[string]any{"refresh_token": p.RefreshToken}})
	require.Equal(t, "invalid_refresh_token", r.code(t))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.refresh_families WHERE revoke_reason = 'reuse'`))
}

func TestRefreshLifetimes(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *auth.Config, _ *auth.Deps) {
		c.RefreshIdleTTL = time.Hour
		c.RefreshAbsoluteTTL = 3 * time.Hour
	})
	refresh := func(tok string) resp {
		return e.do(t, req{method: "POST", path: "/v1/auth/refresh", body: map[string]any{"refresh_token": tok}})
	}
	// Idle: unused for longer than the idle lifetime, the token is dead.
	_, p := e.candidate(t)
	e.clock.Advance(61 * time.Minute)
	require.Equal(t, http.StatusUnauthorized, refresh(p.RefreshToken).StatusCode)

	// Absolute: kept alive by use, the session still ends after 3 hours.
	_, p = e.candidate(t)
	tok := p.RefreshToken
	for range 5 {
		e.clock.Advance(50 * time.Minute)
		r := refresh(tok)
		if r.StatusCode != http.StatusOK {
			require.Equal(t, http.StatusUnauthorized, r.StatusCode)
			return
		}
		tok = r.json(t)["refresh_token"].(string)
	}
	t.Fatal("the session outlived its absolute lifetime")
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for name, q := range map[string]req{
		"no body":      {},
		"empty object": {body: "{}"},
		"empty json":   {body: "", headers: map[string]string{"Content-Type": "application/json"}},
	} {
		_, p := e.candidate(t)
		q.method, q.path, q.token = "POST", "/v1/auth/logout", p.AccessToken
		r := e.do(t, q)
		require.Equal(t, http.StatusNoContent, r.StatusCode, "%s: %s", name, r.body)
		r = e.do(t, req{method: "POST", path: "/v1/auth/refresh", body: map[string]any{"refresh_token": p.RefreshToken}})
		require.Equal(t, http.StatusUnauthorized, r.StatusCode, name)
	}
	require.Equal(t, http.StatusUnauthorized, e.do(t, req{method: "POST", path: "/v1/auth/logout"}).StatusCode)
	require.Equal(t, 3, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE action = 'auth.logout'`))
}

// TestPurgeExpired: the maintenance purge deletes dead sessions and idle
// tokens but keeps spent tokens of live sessions (reuse stays detectable).
func TestPurgeExpired(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *auth.Config, _ *auth.Deps) {
		c.RefreshIdleTTL = time.Hour
		c.RefreshAbsoluteTTL = 48 * time.Hour
	})
	ctx := context.Background()
	_, old := e.candidate(t)
	r := e.do(t, req{method: "POST", path: "/v1/auth/refresh", body: map[string]any{"refresh_token": old.RefreshToken}})
	require.Equal(t, http.StatusOK, r.StatusCode)
	n, err := e.svc.PurgeExpired(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is dead yet")

	// Past the idle lifetime (+1 day of margin) the unspent token goes; the
	// spent one stays with its live family.
	e.clock.Advance(26 * time.Hour)
	n, err = e.svc.PurgeExpired(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.refresh_tokens WHERE used_at IS NOT NULL`))
	// Past the absolute lifetime (+1 day) the family goes with its tokens.
	e.clock.Advance(48 * time.Hour)
	_, err = e.svc.PurgeExpired(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.refresh_families`))
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.refresh_tokens`))
}
