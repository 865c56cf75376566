package applications_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/applications"
)

func TestSubmitCopiesTheProfileAndWritesEverythingInOneTransaction(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	job := w.job()
	res := w.do("POST", "/v1/jobs/"+job.String()+"/applications", candA, map[string]any{"cover_letter": "  I would like to serve.  "})
	require.Equal(t, 201, res.Status, string(res.Body))
	a := res.json(t)
	id := a["id"].(string)
	require.Equal(t, "submitted", a["status"])
	require.Equal(t, job.String(), a["job_id"])
	require.Equal(t, w.orgA.String(), a["org_id"])
	require.Equal(t, "I would like to serve.", a["cover_letter"])
	require.Equal(t, "35202-*******-1", a["cnic_masked"])
	require.Nil(t, a["ai_score"])
	require.Nil(t, a["screening"])
	require.Regexp(t, `^PV\d\d-\d{9}$`, a["receipt_number"])
	require.Equal(t, "/v1/applications/"+id, res.Header.Get("Location"))
	prof := a["profile"].(map[string]any)
	require.Equal(t, "female", prof["gender"])
	require.Equal(t, []any{"go", "postgresql"}, prof["skills"])
	require.NotContains(t, string(res.Body), "+92")

	// The profile changes later; the application keeps what was submitted.
	res = w.do("PUT", "/v1/me/profile", candA, validProfile(func(m map[string]any) { m["gender"] = "other" }))
	require.Equal(t, 200, res.Status, string(res.Body))
	got := w.do("GET", "/v1/applications/"+id, candA, nil)
	require.Equal(t, 200, got.Status, string(got.Body))
	require.Equal(t, "female", got.json(t)["profile"].(map[string]any)["gender"])

	evs := w.outbox(id)
	require.Len(t, evs, 1)
	require.Equal(t, "applications.submitted", evs[0].Type)
	require.Equal(t, w.orgA.String(), evs[0].OrgID)
	require.Equal(t, id, evs[0].Data["application_id"])
	require.Equal(t, a["receipt_number"], evs[0].Data["receipt_number"])
	require.Equal(t, w.tokens[candA].UserID.String(), evs[0].Data["candidate_id"])

	h := w.do("GET", "/v1/applications/"+id+"/history", candA, nil)
	require.Equal(t, 200, h.Status, string(h.Body))
	items := h.json(t)["items"].([]any)
	require.Len(t, items, 1)
	require.Nil(t, items[0].(map[string]any)["from"])
	require.Equal(t, "submitted", items[0].(map[string]any)["to"])

	var n int
	require.NoError(t, w.db.Owner.QueryRow(t.Context(),
		"SELECT count(*) FROM platform.audit_log WHERE action = 'applications.submitted' AND resource_id = $1", id).Scan(&n))
	require.Equal(t, 1, n)
	// The phone is stored encrypted under the application row.
	var phone []byte
	require.NoError(t, w.db.Owner.QueryRow(t.Context(),
		"SELECT phone_enc FROM applications.applications WHERE id = $1", id).Scan(&phone))
	require.NotEmpty(t, phone)
	require.False(t, strings.Contains(string(phone), "3001234567"))
}

func TestSubmitErrors(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	job := w.job()
	w.submit(candA, job)
	post := func(token string, job uuid.UUID, body any) resp {
		return w.do("POST", "/v1/jobs/"+job.String()+"/applications", token, body)
	}
	res := post(candA, job, nil)
	require.Equal(t, 409, res.Status)
	require.Equal(t, "duplicate_application", res.code(t))

	now := time.Now()
	for name, j := range map[string]uuid.UUID{
		"closed by hand": w.job(func(j *applications.JobView) { j.Open = false }),
		"past deadline":  w.job(func(j *applications.JobView) { j.ClosesAt = now.Add(-time.Second) }),
		"not yet open":   w.job(func(j *applications.JobView) { j.OpensAt = now.Add(time.Hour) }),
	} {
		res := post(candB, j, nil)
		require.Equal(t, 409, res.Status, name)
		require.Equal(t, "job_not_open", res.code(t), name)
	}

	res = post(candB, uuid.Must(uuid.NewV7()), nil)
	require.Equal(t, 404, res.Status)
	require.Equal(t, "job_not_found", res.code(t))
	res = w.do("POST", "/v1/jobs/not-a-uuid/applications", candB, nil)
	require.Equal(t, 404, res.Status)

	res = post(candNoProf, job, nil)
	require.Equal(t, 422, res.Status)
	require.Equal(t, "profile_incomplete", res.code(t))
	// An incomplete profile names what is missing.
	r := w.do("PUT", "/v1/me/profile", candNoProf, map[string]any{"gender": "male"})
	require.Equal(t, 200, r.Status, string(r.Body))
	res = post(candNoProf, job, nil)
	require.Equal(t, 422, res.Status)
	code, locs := res.locations(t)
	require.Equal(t, "profile_incomplete", code)
	require.Contains(t, locs, "profile.date_of_birth")
	require.NotContains(t, locs, "profile.gender")

	res = post(candB, job, map[string]any{"cover_letter": strings.Repeat("x", 5001)})
	require.Equal(t, 422, res.Status, string(res.Body))
	res = post(recruiterA, job, nil)
	require.Equal(t, 403, res.Status)
	res = post("", job, nil)
	require.Equal(t, 401, res.Status)

	// None of the refusals left anything behind.
	var n int
	require.NoError(t, w.db.Owner.QueryRow(t.Context(), "SELECT count(*) FROM applications.applications").Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, w.db.Owner.QueryRow(t.Context(), "SELECT count(*) FROM platform.outbox").Scan(&n))
	require.Equal(t, 1, n)

	// An empty body and {} are both a submission without a cover letter.
	res = post(candB, job, map[string]any{})
	require.Equal(t, 201, res.Status, string(res.Body))
	require.Nil(t, res.json(t)["cover_letter"])
}

func TestSeedDemoIsIdempotent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	jobs := []uuid.UUID{w.job(), w.job()}
	cand := w.tokens[candNoProf].UserID
	n, err := w.svc.SeedDemo(t.Context(), cand, jobs)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = w.svc.SeedDemo(t.Context(), cand, jobs)
	require.NoError(t, err)
	require.Equal(t, 0, n)
	list := w.do("GET", "/v1/me/applications", candNoProf, nil)
	require.Equal(t, 200, list.Status)
	require.Len(t, list.json(t)["items"], 2)
}
