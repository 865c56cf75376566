package auth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/auth"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/config"
)

func TestPasswordPolicy(t *testing.T) {
	t.Parallel()
	p, err := auth.NewPasswordPolicy(15, 256)
	require.NoError(t, err)
	require.Greater(t, p.CommonCount(), 10000, "a bundled blocklist of common passwords")
	for _, tc := range []struct {
		pw string
		ok bool
	}{
		{"correct horse battery staple", true},
		{"fifteen chars!!", true},
		{"fourteen chars", false},
		{strings.Repeat("x", 14) + "y", true}, // no composition rules
		{strings.Repeat("ab", 32), false},     // repetitive
		{strings.Repeat("abcdefgh", 8), false},
		{"123456789012345", false},  // sequential
		{"abcdefghijklmnop", false}, // sequential
		{"ponmlkjihgfedcba", false}, // sequential, descending
		{"Pakistanzindabad", false}, // common (case-insensitive)
		{"qwertyuiopasdfghjkl", false},
		{"PASSWORDPASSWORD", false},
		{"ای پاکستان تیری خیر ہو", true},                        // Unicode counts in characters
		{strings.Repeat("a quick passphrase ", 14)[:256], true}, // long ones allowed up to the cap
		{strings.Repeat("a quick passphrase ", 15), false},      // over the cap
		{"pvara", false},
		{"\xff\xfe not utf-8 at all", false},
	} {
		_, err := p.Check(tc.pw)
		if tc.ok {
			require.NoError(t, err, "%q", tc.pw)
		} else {
			require.Error(t, err, "%q", tc.pw)
			require.True(t, errors.Is(err, auth.ErrWeakPassword), "%q", tc.pw)
			ae, _ := apperr.As(err)
			require.Equal(t, apperr.KindInvalid, ae.Kind)
		}
	}
	// Context words: the e-mail and the name.
	_, err = p.Check("ali.khan@example.pk", "ali.khan@example.pk", "ali.khan", "Ali Khan")
	require.Error(t, err)
	_, err = p.Check("Ali Khan Ali Khan", "ali.khan@example.pk", "ali.khan", "Ali Khan Ali Khan")
	require.Error(t, err)
	// Normalisation: composed and decomposed forms are one password.
	composed, err := p.Check("café au lait every morning")
	require.NoError(t, err)
	decomposed, err := p.Check("cafe\u0301 au lait every morning")
	require.NoError(t, err)
	require.Equal(t, composed, decomposed)
	// At least 64 characters must be allowed.
	_, err = auth.NewPasswordPolicy(15, 63)
	require.Error(t, err)
}

// TestOWASPParametersAreTheDefault: the configuration's defaults are
// OWASP's argon2id parameters, set explicitly.
func TestOWASPParametersAreTheDefault(t *testing.T) {
	t.Parallel()
	d := config.Defaults().Auth
	require.Equal(t, 19*1024, d.Argon2MemoryKiB)
	require.Equal(t, 2, d.Argon2Iterations)
	require.Equal(t, 1, d.Argon2Parallelism)
	require.Equal(t, 15, d.PasswordMinLength)
	h, err := auth.NewHasher(auth.HashConfig{MemoryKiB: uint32(d.Argon2MemoryKiB), Iterations: uint32(d.Argon2Iterations), Parallelism: uint8(d.Argon2Parallelism)}, nil)
	require.NoError(t, err)
	release, err := h.Acquire(context.Background())
	require.NoError(t, err)
	defer release()
	hash, err := h.Hash("correct horse battery staple")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$"), hash)
	ok, rehash, err := h.Verify("correct horse battery staple", hash)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, rehash)
}

// TestHasherAdmission: at most Concurrency hashes run, at most Queue
// requests wait, the rest are refused at once.
func TestHasherAdmission(t *testing.T) {
	t.Parallel()
	h, err := auth.NewHasher(auth.HashConfig{MemoryKiB: 64, Iterations: 1, Parallelism: 1, Concurrency: 2, Queue: 1, QueueWait: 10 * time.Second}, nil)
	require.NoError(t, err)
	ctx := context.Background()
	r1, err := h.Acquire(ctx)
	require.NoError(t, err)
	r2, err := h.Acquire(ctx)
	require.NoError(t, err)
	got := make(chan error, 1)
	go func() {
		r3, err := h.Acquire(ctx) // queues
		if err == nil {
			r3()
		}
		got <- err
	}()
	require.Eventually(t, func() bool { return h.Waiting() == 1 }, 5*time.Second, time.Millisecond)
	start := time.Now()
	_, err = h.Acquire(ctx) // the queue is full: refused at once
	require.ErrorIs(t, err, auth.ErrBusy)
	require.Less(t, time.Since(start), time.Second, "refused without waiting for the 10 s queue wait")
	r1()
	require.NoError(t, <-got, "the queued request got the freed slot")
	r2()
	r2() // releasing twice is harmless
	// A queued request gives up after QueueWait.
	h2, err := auth.NewHasher(auth.HashConfig{MemoryKiB: 64, Iterations: 1, Parallelism: 1, Concurrency: 1, Queue: 1, QueueWait: 20 * time.Millisecond}, nil)
	require.NoError(t, err)
	r, err := h2.Acquire(ctx)
	require.NoError(t, err)
	_, err = h2.Acquire(ctx)
	require.ErrorIs(t, err, auth.ErrBusy)
	r()
}

// TestAdmissionControlUnderBurst: a burst of logins beyond the hashing
// capacity is answered with fast 503s carrying Retry-After, not queued.
func TestAdmissionControlUnderBurst(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *auth.Config, _ *auth.Deps) {
		c.Hash = auth.HashConfig{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1, Concurrency: 1, Queue: 1, QueueWait: 50 * time.Millisecond}
	})
	u, _ := e.candidate(t)
	const n = 24
	results := make([]resp, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = e.do(t, req{method: "POST", path: "/v1/auth/login", body: map[string]any{"email": u.Email, "password": goodPassword}})
		})
	}
	close(start)
	wg.Wait()
	ok, busy := 0, 0
	for _, r := range results {
		switch r.StatusCode {
		case http.StatusOK:
			ok++
		case http.StatusServiceUnavailable:
			busy++
			require.Equal(t, "busy", r.code(t))
			require.Equal(t, "1", r.Header.Get("Retry-After"))
		default:
			t.Fatalf("unexpected %d: %s", r.StatusCode, r.body)
		}
	}
	require.GreaterOrEqual(t, ok, 1)
	require.GreaterOrEqual(t, busy, n/2, "most of the burst is refused rather than queued")
}

// TestRehashOnLogin: a hash made with older parameters is replaced at the
// next successful login.
func TestRehashOnLogin(t *testing.T) {
	t.Parallel()
	e := setup(t)
	u, _ := e.candidate(t)
	var before string
	require.NoError(t, e.db.Owner.QueryRow(context.Background(), `SELECT password_hash FROM auth.users WHERE id = $1`, u.ID).Scan(&before))
	require.Contains(t, before, "m=64,t=1,p=1")

	cfg := e.cfg
	cfg.Hash.MemoryKiB, cfg.Hash.Iterations = 128, 2
	deps := e.deps
	deps.Registerer = nil
	stronger, err := auth.New(cfg, deps)
	require.NoError(t, err)
	_, err = stronger.Login(context.Background(), u.Email, goodPassword)
	require.NoError(t, err)
	var after string
	require.NoError(t, e.db.Owner.QueryRow(context.Background(), `SELECT password_hash FROM auth.users WHERE id = $1`, u.ID).Scan(&after))
	require.Contains(t, after, "m=128,t=2,p=1")
	_, err = stronger.Login(context.Background(), u.Email, goodPassword)
	require.NoError(t, err, "the new hash verifies")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE action = 'auth.login_succeeded' AND details->>'rehashed' = 'true'`))
}

func TestSeedDemoIsIdempotent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	d1, err := e.svc.SeedDemo(ctx)
	require.NoError(t, err)
	d2, err := e.svc.SeedDemo(ctx)
	require.NoError(t, err)
	require.Equal(t, d1, d2)
	require.Len(t, d1.Accounts, 5)
	roles := map[string]bool{}
	for _, a := range d1.Accounts {
		roles[a.Role] = true
		p := e.login(t, a.Email, a.Password)
		me := e.do(t, req{method: "GET", path: "/v1/me", token: p.AccessToken}).json(t)
		require.Equal(t, a.Role, me["role"])
		if a.Role == "candidate" {
			require.Equal(t, "35202-*******-1", me["cnic_masked"])
		}
		if a.Role == "recruiter" {
			require.Equal(t, d1.OrgID.String(), me["org_id"])
		}
	}
	require.Len(t, roles, 5)
	require.Equal(t, 5, e.count(t, `SELECT count(*) FROM auth.users`))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM auth.orgs`))
}

func TestCreatePlatformAdminIsIdempotent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	deps := auth.AdminDeps{DB: e.db.App, Hash: fastHash}
	in := auth.AdminInput{Email: "Root@Example.pk", Password: goodPassword, FullName: "Root"}
	id, created, err := auth.CreatePlatformAdmin(ctx, deps, in)
	require.NoError(t, err)
	require.True(t, created)
	in.Password = "a different password entirely"
	id2, created, err := auth.CreatePlatformAdmin(ctx, deps, in)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, id, id2)
	e.login(t, "root@example.pk", goodPassword) // the password was left alone
	// An e-mail of a candidate is not turned into an admin.
	u, _ := e.candidate(t)
	_, _, err = auth.CreatePlatformAdmin(ctx, deps, auth.AdminInput{Email: u.Email, Password: goodPassword, FullName: "X"})
	require.ErrorIs(t, err, auth.ErrAccountExists)
	// A weak password is refused.
	_, _, err = auth.CreatePlatformAdmin(ctx, deps, auth.AdminInput{Email: "x@example.pk", Password: "password", FullName: "X"})
	require.ErrorIs(t, err, auth.ErrWeakPassword)
}
