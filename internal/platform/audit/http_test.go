package audit

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

type httpFixture struct {
	*fixture
	srv                     *httptest.Server
	orgA, orgB              uuid.UUID
	adminA, adminB, recA    authz.Principal
	platform, candidate, iv authz.Principal
}

func setupHTTP(t *testing.T) *httpFixture {
	t.Helper()
	f := &httpFixture{fixture: &fixture{db: testenv.NewDB(t)}, orgA: mustUUID(t), orgB: mustUUID(t)}
	f.sealer = NewSealer(f.db.App, SealerConfig{})
	f.adminA = authz.Principal{UserID: mustUUID(t), Role: authz.RoleOrgAdmin, OrgID: f.orgA}
	f.adminB = authz.Principal{UserID: mustUUID(t), Role: authz.RoleOrgAdmin, OrgID: f.orgB}
	f.recA = authz.Principal{UserID: mustUUID(t), Role: authz.RoleRecruiter, OrgID: f.orgA}
	f.iv = authz.Principal{UserID: mustUUID(t), Role: authz.RoleInterviewer, OrgID: f.orgA}
	f.platform = authz.Principal{UserID: mustUUID(t), Role: authz.RolePlatformAdmin}
	f.candidate = authz.Principal{UserID: mustUUID(t), Role: authz.RoleCandidate}
	v := testenv.Tokens{"admin-a": f.adminA, "admin-b": f.adminB, "rec-a": f.recA, "iv-a": f.iv, "platform": f.platform, "candidate": f.candidate}

	logger := logx.Discard()
	ew := &httpx.ErrorMapper{Logger: logger}
	r, err := httpx.NewRouter(httpx.RouterConfig{
		Title: "test", Version: "test",
		Middlewares: []func(http.Handler) http.Handler{authz.Middleware(v, ew), DenialMiddleware(f.db.App, logger)},
	}, logger, httpx.NewHTTPMetrics(nil))
	require.NoError(t, err)
	cursors, err := httpx.NewCursors([]byte("test-cursor-secret-0123456789"))
	require.NoError(t, err)
	NewAPI(f.db.App, cursors).Register(r)
	type okOutput struct {
		Body struct {
			OK bool `json:"ok"`
		}
	}
	huma.Register(r.API, huma.Operation{OperationID: "recruiterOnly", Method: http.MethodGet, Path: "/v1/test/recruiters/{id}"},
		func(ctx context.Context, _ *struct {
			ID string `path:"id"`
		}) (*okOutput, error) {
			if _, err := authz.Require(ctx, authz.RoleRecruiter); err != nil {
				return nil, err
			}
			out := &okOutput{}
			out.Body.OK = true
			return out, nil
		})
	f.srv = httptest.NewServer(r)
	t.Cleanup(f.srv.Close)
	return f
}

type pageBody struct {
	Items      []EntryView `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

type problemBody struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
}

func (f *httpFixture) get(t *testing.T, token, path string, q url.Values) (*http.Response, []byte) {
	t.Helper()
	u := f.srv.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := f.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var buf json.RawMessage
	_ = json.NewDecoder(res.Body).Decode(&buf)
	return res, buf
}

func (f *httpFixture) list(t *testing.T, token string, q url.Values) pageBody {
	t.Helper()
	res, body := f.get(t, token, "/v1/audit", q)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	var p pageBody
	require.NoError(t, json.Unmarshal(body, &p))
	return p
}

func idsOf(items []EntryView) []uuid.UUID {
	out := make([]uuid.UUID, len(items))
	for i, e := range items {
		out[i] = e.ID
	}
	return out
}

func TestListAuditPermissions(t *testing.T) {
	t.Parallel()
	f := setupHTTP(t)
	a := f.write(t, 3, Entry{OrgID: f.orgA, ActorID: f.adminA.UserID, Action: "auth.staff_created", Resource: "user", ResourceID: "a"})
	b := f.write(t, 2, Entry{OrgID: f.orgB, ActorID: f.adminB.UserID, Action: "auth.staff_created", Resource: "user", ResourceID: "b"})
	none := f.write(t, 2, Entry{ActorID: f.candidate.UserID, Action: "auth.login_succeeded", Resource: "user", ResourceID: "c"})

	for _, c := range []struct {
		name, token string
		status      int
		code        string
	}{
		{"anonymous", "", http.StatusUnauthorized, "unauthenticated"},
		{"bad token", "forged", http.StatusUnauthorized, "unauthenticated"},
		{"candidate", "candidate", http.StatusForbidden, "forbidden"},
		{"recruiter", "rec-a", http.StatusForbidden, "forbidden"},
		{"interviewer", "iv-a", http.StatusForbidden, "forbidden"},
	} {
		res, body := f.get(t, c.token, "/v1/audit", nil)
		require.Equal(t, c.status, res.StatusCode, "%s: %s", c.name, body)
		require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"), c.name)
		var p problemBody
		require.NoError(t, json.Unmarshal(body, &p), c.name)
		require.Equal(t, c.code, p.Code, c.name)
	}

	// An org_admin sees their organisation's entries, and only those (the
	// denied recruiter and interviewer of org A above left entries too).
	pA := f.list(t, "admin-a", url.Values{"limit": {"100"}})
	for _, e := range pA.Items {
		require.NotNil(t, e.OrgID)
		require.Equal(t, f.orgA, *e.OrgID)
	}
	for _, id := range a {
		require.Contains(t, idsOf(pA.Items), id)
	}
	require.Len(t, pA.Items, len(a)+2, "3 written + 2 denials of org A staff")
	// Asking for another organisation gives nothing, not an error.
	require.Empty(t, f.list(t, "admin-a", url.Values{"org_id": {f.orgB.String()}}).Items)
	pB := f.list(t, "admin-b", nil)
	require.ElementsMatch(t, b, idsOf(pB.Items))

	// A platform admin sees everything, and may narrow to one organisation.
	all := f.list(t, "platform", url.Values{"limit": {"100"}})
	for _, id := range slices.Concat(a, b, none) {
		require.Contains(t, idsOf(all.Items), id)
	}
	require.ElementsMatch(t, b, idsOf(f.list(t, "platform", url.Values{"org_id": {f.orgB.String()}}).Items))

	// Newest first; sealed entries carry their chain position.
	require.True(t, slices.IsSortedFunc(all.Items, func(x, y EntryView) int { return -compareUUID(x.ID, y.ID) }))
	require.Nil(t, all.Items[0].Seq, "not sealed yet")
	f.seal(t)
	sealedPage := f.list(t, "platform", url.Values{"limit": {"100"}})
	for _, e := range sealedPage.Items {
		require.NotNil(t, e.Seq, "sealed")
	}
}

func compareUUID(a, b uuid.UUID) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func TestListAuditFilters(t *testing.T) {
	t.Parallel()
	f := setupHTTP(t)
	ctx := context.Background()
	actor1, actor2 := mustUUID(t), mustUUID(t)
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	rec := func(actor uuid.UUID, action, resource, rid string, at time.Time) uuid.UUID {
		before := f.ids(t)
		require.NoError(t, Record(ctx, f.db.App, Entry{OrgID: f.orgA, ActorID: actor, Action: action, Resource: resource, ResourceID: rid, OccurredAt: at}))
		after := f.ids(t)
		return after[len(before)]
	}
	e1 := rec(actor1, "auth.login_succeeded", "user", "u1", t0)
	e2 := rec(actor1, "applications.status_changed", "application", "app1", t0.Add(time.Hour))
	e3 := rec(actor2, "applications.status_changed", "application", "app2", t0.Add(2*time.Hour))
	e4 := rec(actor2, "auth.login_failed", "user", "u2", t0.Add(3*time.Hour))

	for _, c := range []struct {
		name string
		q    url.Values
		want []uuid.UUID
	}{
		{"actor", url.Values{"actor_id": {actor1.String()}}, []uuid.UUID{e2, e1}},
		{"resource", url.Values{"resource": {"application"}}, []uuid.UUID{e3, e2}},
		{"resource id", url.Values{"resource_id": {"app2"}}, []uuid.UUID{e3}},
		{"action", url.Values{"action": {"auth.login_failed"}}, []uuid.UUID{e4}},
		{"after", url.Values{"after": {t0.Add(2 * time.Hour).Format(time.RFC3339)}}, []uuid.UUID{e4, e3}},
		{"before", url.Values{"before": {t0.Add(time.Hour).Format(time.RFC3339)}}, []uuid.UUID{e1}},
		{"window", url.Values{"after": {t0.Add(time.Hour).Format(time.RFC3339)}, "before": {t0.Add(3 * time.Hour).Format(time.RFC3339)}}, []uuid.UUID{e3, e2}},
		{"combined", url.Values{"actor_id": {actor2.String()}, "resource": {"application"}, "action": {"applications.status_changed"}}, []uuid.UUID{e3}},
		{"no match", url.Values{"actor_id": {mustUUID(t).String()}}, []uuid.UUID{}},
	} {
		for _, token := range []string{"admin-a", "platform"} {
			got := f.list(t, token, c.q)
			require.Equal(t, c.want, idsOf(got.Items), "%s as %s", c.name, token)
			require.Nil(t, got.NextCursor, c.name)
		}
	}

	for _, c := range []struct {
		name   string
		q      url.Values
		status int
		code   string
	}{
		{"actor not a uuid", url.Values{"actor_id": {"bob"}}, http.StatusUnprocessableEntity, "validation_failed"},
		{"after not a time", url.Values{"after": {"yesterday"}}, http.StatusUnprocessableEntity, "validation_failed"},
		{"window backwards", url.Values{"after": {t0.Format(time.RFC3339)}, "before": {t0.Format(time.RFC3339)}}, http.StatusUnprocessableEntity, "validation_failed"},
		{"limit too big", url.Values{"limit": {"101"}}, http.StatusUnprocessableEntity, "validation_failed"},
		{"limit zero", url.Values{"limit": {"0"}}, http.StatusUnprocessableEntity, "validation_failed"},
		{"forged cursor", url.Values{"cursor": {"eyJpZCI6IjAifQ.AAAA"}}, http.StatusBadRequest, "invalid_cursor"},
	} {
		res, body := f.get(t, "platform", "/v1/audit", c.q)
		require.Equal(t, c.status, res.StatusCode, "%s: %s", c.name, body)
		var p problemBody
		require.NoError(t, json.Unmarshal(body, &p))
		require.Equal(t, c.code, p.Code, c.name)
	}
}

func TestListAuditPagination(t *testing.T) {
	t.Parallel()
	f := setupHTTP(t)
	want := f.write(t, 7, Entry{OrgID: f.orgA, Action: "test.page", ResourceID: "p"})
	f.write(t, 4, Entry{OrgID: f.orgB, Action: "test.page", ResourceID: "q"})
	slices.Reverse(want) // newest first

	var got []uuid.UUID
	var sizes []int
	q := url.Values{"limit": {"3"}}
	for range 10 {
		p := f.list(t, "admin-a", q)
		got = append(got, idsOf(p.Items)...)
		sizes = append(sizes, len(p.Items))
		if p.NextCursor == nil {
			break
		}
		q.Set("cursor", *p.NextCursor)
	}
	require.Equal(t, []int{3, 3, 1}, sizes)
	require.Equal(t, want, got, "every entry once, newest first")

	// New entries written while paging do not shift later pages (keyset).
	p1 := f.list(t, "admin-a", url.Values{"limit": {"3"}})
	f.write(t, 2, Entry{OrgID: f.orgA, Action: "test.page", ResourceID: "r"})
	p2 := f.list(t, "admin-a", url.Values{"limit": {"3"}, "cursor": {*p1.NextCursor}})
	require.Equal(t, want[3:6], idsOf(p2.Items))

	// A cursor of org A's list gives org B's admin nothing of org A.
	pB := f.list(t, "admin-b", url.Values{"limit": {"3"}, "cursor": {*p1.NextCursor}})
	for _, e := range pB.Items {
		require.Equal(t, f.orgB, *e.OrgID)
	}
}

func TestPermissionDeniedIsAudited(t *testing.T) {
	t.Parallel()
	f := setupHTTP(t)
	count := func() int { return len(f.ids(t)) }

	// Successful, unauthenticated and not-found requests write nothing.
	res, body := f.get(t, "rec-a", "/v1/test/recruiters/1", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	res, _ = f.get(t, "", "/v1/test/recruiters/1", nil)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	res, _ = f.get(t, "rec-a", "/v1/nothing-here", nil)
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	f.list(t, "platform", nil)
	require.Zero(t, count(), "no database write unless a request is denied")

	// A denied request leaves one entry naming who, what and from where.
	res, _ = f.get(t, "candidate", "/v1/test/recruiters/42", nil)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	requestID := res.Header.Get(httpx.RequestIDHeader)
	require.Equal(t, 1, count())
	res, _ = f.get(t, "iv-a", "/v1/audit", nil)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Equal(t, 2, count())

	denied := f.list(t, "platform", url.Values{"action": {ActionPermissionDenied}})
	require.Len(t, denied.Items, 2)
	e := denied.Items[1] // the older one: the candidate's
	require.Equal(t, f.candidate.UserID, *e.ActorID)
	require.Equal(t, "candidate", e.ActorRole)
	require.Nil(t, e.OrgID)
	require.Equal(t, "http", e.Resource)
	require.Equal(t, "GET /v1/test/recruiters/{id}", e.ResourceID)
	require.Equal(t, "127.0.0.1", e.IP)
	require.Equal(t, requestID, e.RequestID)
	require.Equal(t, "/v1/test/recruiters/42", e.Details["path"])
	iv := denied.Items[0]
	require.Equal(t, f.iv.UserID, *iv.ActorID)
	require.Equal(t, f.orgA, *iv.OrgID, "an org's admin sees denials of their staff")
	require.Equal(t, "GET /v1/audit", iv.ResourceID)
	require.Len(t, f.list(t, "admin-a", url.Values{"action": {ActionPermissionDenied}}).Items, 1)

	f.seal(t)
	rep := f.verify(t)
	require.True(t, rep.OK(), "%v", rep.Problem)
	require.EqualValues(t, 2, rep.Sealed)
}

func TestAuditOperationIsInTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	f := setupHTTP(t)
	res, body := f.get(t, "", "/v1/openapi.json", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name string `json:"name"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	op, ok := doc.Paths["/v1/audit"]["get"]
	require.True(t, ok, "GET /v1/audit is documented")
	require.Equal(t, "listAuditEntries", op.OperationID)
	var names []string
	for _, p := range op.Parameters {
		names = append(names, p.Name)
	}
	require.Subset(t, names, []string{"actor_id", "resource", "action", "after", "before", "limit", "cursor"})
}
