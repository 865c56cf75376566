package auth_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/auth"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// TestStaffRoutesAccess: every staff route: anonymous 401, a candidate 403,
// staff of another organisation 404, staff of the organisation without the
// role 403, the organisation's admin succeeds.
func TestStaffRoutesAccess(t *testing.T) {
	t.Parallel()
	e := setup(t)
	w := e.world(t)
	orgA := w.orgA.String()
	clientID := func() string {
		r := e.do(t, req{method: "POST", path: "/v1/orgs/" + orgA + "/clients", token: w.adminA.AccessToken,
			body: map[string]any{"name": "c", "scopes": []string{"jobs:read"}}})
		require.Equal(t, http.StatusCreated, r.StatusCode, "%s", r.body)
		return r.json(t)["id"].(string)
	}
	type route struct {
		name   string
		method string
		path   func() string
		body   func() any
		okCode int
	}
	routes := []route{
		{"create staff", "POST", func() string { return "/v1/orgs/" + orgA + "/staff" }, func() any {
			return map[string]any{"email": e.email("s"), "full_name": "S", "role": "recruiter", "password": goodPassword}
		}, http.StatusCreated},
		{"list staff", "GET", func() string { return "/v1/orgs/" + orgA + "/staff" }, nil, http.StatusOK},
		{"create client", "POST", func() string { return "/v1/orgs/" + orgA + "/clients" }, func() any {
			return map[string]any{"name": "integration", "scopes": []string{"jobs:read"}}
		}, http.StatusCreated},
		{"list clients", "GET", func() string { return "/v1/orgs/" + orgA + "/clients" }, nil, http.StatusOK},
		{"revoke client", "DELETE", func() string { return "/v1/orgs/" + orgA + "/clients/" + clientID() }, nil, http.StatusNoContent},
		{"disable staff", "POST", func() string {
			u, _ := e.staff(t, w.adminA.AccessToken, w.orgA, "interviewer")
			return "/v1/users/" + u.ID.String() + "/disable"
		}, nil, http.StatusOK},
		{"enable staff", "POST", func() string { return "/v1/users/" + w.interviewerAUser.ID.String() + "/enable" }, nil, http.StatusOK},
		{"read staff", "GET", func() string { return "/v1/users/" + w.adminAUser.ID.String() }, nil, http.StatusOK},
	}
	callers := []struct {
		name  string
		token string
		want  int // 0: the route's success code
	}{
		{"anonymous", "", http.StatusUnauthorized},
		{"candidate", w.candidate.AccessToken, http.StatusForbidden},
		{"admin of another org", w.adminB.AccessToken, http.StatusNotFound},
		{"recruiter of another org", w.recruiterB.AccessToken, http.StatusNotFound},
		{"recruiter of the org", w.recruiterA.AccessToken, http.StatusForbidden},
		{"interviewer of the org", w.interviewerA.AccessToken, http.StatusForbidden},
		{"admin of the org", w.adminA.AccessToken, 0},
		{"platform admin", w.padmin.AccessToken, 0},
	}
	for _, rt := range routes {
		for _, c := range callers {
			t.Run(rt.name+"/"+c.name, func(t *testing.T) {
				var body any
				if rt.body != nil {
					body = rt.body()
				}
				path := rt.path()
				r := e.do(t, req{method: rt.method, path: path, token: c.token, body: body})
				want := c.want
				if want == 0 {
					want = rt.okCode
				}
				// Users are reached by id, not under an organisation path:
				// for staff of another organisation the account does not
				// exist (404) and for other roles the action is forbidden.
				if want == http.StatusNotFound && path[:9] == "/v1/users" && c.name == "recruiter of another org" {
					want = http.StatusForbidden
				}
				require.Equal(t, want, r.StatusCode, "%s %s: %s", rt.method, path, r.body)
				if want >= 400 {
					require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
				}
			})
		}
	}
	// A platform admin cannot be created through the API by an org admin,
	// and an org admin cannot reveal a CNIC.
	r := e.do(t, req{method: "GET", path: "/v1/users/" + w.candidateUser.ID.String() + "?reveal=cnic", token: w.adminA.AccessToken})
	require.Equal(t, http.StatusForbidden, r.StatusCode)
	// An org admin cannot see candidates through /v1/users.
	r = e.do(t, req{method: "GET", path: "/v1/users/" + w.candidateUser.ID.String(), token: w.adminA.AccessToken})
	require.Equal(t, http.StatusNotFound, r.StatusCode)
}

func TestDisableAndReveal(t *testing.T) {
	t.Parallel()
	e := setup(t)
	w := e.world(t)

	// Self-disable is refused; another org's admin sees nothing.
	r := e.do(t, req{method: "POST", path: "/v1/users/" + w.adminAUser.ID.String() + "/disable", token: w.adminA.AccessToken})
	require.Equal(t, http.StatusConflict, r.StatusCode)
	r = e.do(t, req{method: "POST", path: "/v1/users/" + w.recruiterAUser.ID.String() + "/disable", token: w.adminB.AccessToken})
	require.Equal(t, http.StatusNotFound, r.StatusCode)

	// A second replica without a cache (TTL < 0) sees the disable at once;
	// one with a cache sees it within its TTL.
	cfg := e.cfg
	cfg.UserCacheTTL = -1
	deps := e.deps
	deps.Registerer = nil
	uncached, err := auth.New(cfg, deps)
	require.NoError(t, err)
	cfg.UserCacheTTL = time.Hour
	cached, err := auth.New(cfg, deps)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = cached.Verifier().Verify(ctx, w.recruiterA.AccessToken)
	require.NoError(t, err)

	r = e.do(t, req{method: "POST", path: "/v1/users/" + w.recruiterAUser.ID.String() + "/disable", token: w.adminA.AccessToken})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", r.body)
	require.Equal(t, true, r.json(t)["disabled"])
	_, err = uncached.Verifier().Verify(ctx, w.recruiterA.AccessToken)
	require.ErrorIs(t, err, auth.ErrInvalidToken)
	_, err = cached.Verifier().Verify(ctx, w.recruiterA.AccessToken)
	require.NoError(t, err, "a replica's cache answers until its TTL ends")
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.refresh_families WHERE user_id = $1 AND revoked_at IS NULL`, w.recruiterAUser.ID))
	r = e.do(t, req{method: "POST", path: "/v1/auth/refresh", body: map[string]any{"refresh_token": w.recruiterA.RefreshToken}})
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)

	// The event: ids and role only.
	var payload string
	require.NoError(t, e.db.Owner.QueryRow(ctx, `SELECT convert_from(payload, 'UTF8') FROM platform.outbox WHERE topic = 'pvara.auth.user_disabled'`).Scan(&payload))
	require.Contains(t, payload, w.recruiterAUser.ID.String())
	require.NotContains(t, payload, w.recruiterAUser.Email)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE action = 'auth.user_disabled' AND resource_id = $1`, w.recruiterAUser.ID.String()))

	// Disabling twice changes nothing and publishes nothing more.
	r = e.do(t, req{method: "POST", path: "/v1/users/" + w.recruiterAUser.ID.String() + "/disable", token: w.adminA.AccessToken})
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM platform.outbox WHERE topic = 'pvara.auth.user_disabled'`))

	// Re-enabled, the account signs in again but old tokens stay dead.
	r = e.do(t, req{method: "POST", path: "/v1/users/" + w.recruiterAUser.ID.String() + "/enable", token: w.adminA.AccessToken})
	require.Equal(t, http.StatusOK, r.StatusCode)
	_, err = uncached.Verifier().Verify(ctx, w.recruiterA.AccessToken)
	require.ErrorIs(t, err, auth.ErrInvalidToken, "tokens issued before the disable stay invalid")
	time.Sleep(1100 * time.Millisecond) // iat has one-second precision
	fresh := e.login(t, w.recruiterAUser.Email, goodPassword)
	_, err = uncached.Verifier().Verify(ctx, fresh.AccessToken)
	require.NoError(t, err)

	// A platform admin reveals a candidate's CNIC: audited.
	r = e.do(t, req{method: "GET", path: "/v1/users/" + w.candidateUser.ID.String(), token: w.padmin.AccessToken})
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Nil(t, r.json(t)["cnic"])
	require.NotNil(t, r.json(t)["cnic_masked"])
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE action = 'auth.pii_read'`))
	r = e.do(t, req{method: "GET", path: "/v1/users/" + w.candidateUser.ID.String() + "?reveal=cnic", token: w.padmin.AccessToken})
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Regexp(t, `^\d{5}-\d{7}-\d$`, r.json(t)["cnic"])
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE action = 'auth.pii_read' AND resource_id = $1`, w.candidateUser.ID.String()))
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM platform.audit_log WHERE details::text ~ '\d{5}-?\d{7}-?\d'`), "no CNIC in the audit log")

	// Other modules' view of accounts: names and masked CNICs only.
	sums, err := e.svc.Users(ctx, []uuid.UUID{w.candidateUser.ID, w.recruiterAUser.ID, uuid.New()})
	require.NoError(t, err)
	require.Len(t, sums, 2)
	require.Equal(t, *w.candidateUser.CNICMasked, sums[w.candidateUser.ID].CNICMasked)
	require.Equal(t, w.orgA, sums[w.recruiterAUser.ID].OrgID)
}

// TestRowLevelSecurity: queries that forget their organisation filter, run
// as the application role, see nothing of other organisations.
func TestRowLevelSecurity(t *testing.T) {
	t.Parallel()
	e := setup(t)
	w := e.world(t)
	for _, org := range []uuid.UUID{w.orgA, w.orgB} {
		tok := w.adminA
		if org == w.orgB {
			tok = w.adminB
		}
		r := e.do(t, req{method: "POST", path: "/v1/orgs/" + org.String() + "/clients", token: tok.AccessToken,
			body: map[string]any{"name": "c", "scopes": []string{"jobs:read"}}})
		require.Equal(t, http.StatusCreated, r.StatusCode)
	}
	ctx := context.Background()
	countIn := func(scope *postgres.Scope, sql string) int {
		var n int
		fn := func(tx pgx.Tx) error { return tx.QueryRow(ctx, sql).Scan(&n) }
		if scope == nil {
			require.NoError(t, postgres.Tx(ctx, e.db.App, fn))
		} else {
			require.NoError(t, postgres.ScopedTx(ctx, e.db.App, *scope, fn))
		}
		return n
	}
	orgA := postgres.OrgScope(w.orgA, w.adminAUser.ID)
	system := postgres.SystemScope()
	user := postgres.UserScope(w.candidateUser.ID)
	public := postgres.PublicScope()
	// The "forgotten filter": no WHERE org_id at all.
	require.Equal(t, 3, countIn(&orgA, `SELECT count(*) FROM auth.users`), "org A's admin, recruiter and interviewer only")
	require.Equal(t, 0, countIn(&orgA, `SELECT count(*) FROM auth.users WHERE org_id <> '`+w.orgA.String()+`' OR org_id IS NULL`))
	require.Equal(t, 1, countIn(&orgA, `SELECT count(*) FROM auth.clients`))
	require.Equal(t, 0, countIn(nil, `SELECT count(*) FROM auth.users`), "no scope: nothing")
	require.Equal(t, 0, countIn(nil, `SELECT count(*) FROM auth.clients`))
	require.Equal(t, 0, countIn(&public, `SELECT count(*) FROM auth.users`), "anonymous: nothing")
	require.Equal(t, 1, countIn(&user, `SELECT count(*) FROM auth.users`), "a candidate: their own row")
	require.Equal(t, 0, countIn(&user, `SELECT count(*) FROM auth.clients`))
	require.Equal(t, 7, countIn(&system, `SELECT count(*) FROM auth.users`), "everyone: a platform admin, 3+2 staff, a candidate")
	require.Equal(t, 2, countIn(&system, `SELECT count(*) FROM auth.clients`))
	require.Equal(t, 0, countIn(&orgA, `SELECT count(*) FROM auth.refresh_families WHERE org_id IS DISTINCT FROM '`+w.orgA.String()+`' AND user_id <> '`+w.adminAUser.ID.String()+`'`))

	// Writes into another organisation are refused by the policies.
	err := postgres.ScopedTx(ctx, e.db.App, orgA, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE auth.users SET full_name = 'hacked' WHERE org_id = $1`, w.orgB)
		return err
	})
	require.NoError(t, err)
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM auth.users WHERE full_name = 'hacked'`), "the update saw no row of org B")
	err = postgres.ScopedTx(ctx, e.db.App, orgA, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO auth.users (id, email, full_name, role, org_id, password_hash) VALUES ($1, 'x@y.pk', 'X', 'recruiter', $2, 'h')`, uuid.New(), w.orgB)
		return err
	})
	require.Error(t, err, "inserting staff into another organisation violates the policy")
	err = postgres.ScopedTx(ctx, e.db.App, public, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO auth.users (id, email, full_name, role, password_hash) VALUES ($1, 'x@y.pk', 'X', 'platform_admin', 'h')`, uuid.New())
		return err
	})
	require.Error(t, err, "anonymous registration may only create candidates")
	// The application role cannot switch RLS off.
	err = postgres.Tx(ctx, e.db.App, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `ALTER TABLE auth.users DISABLE ROW LEVEL SECURITY`)
		return err
	})
	require.Error(t, err)
}
