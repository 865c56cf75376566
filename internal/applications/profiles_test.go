package applications_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

type env struct {
	t      *testing.T
	db     *testenv.DB
	svc    *applications.Profiles
	srv    *httptest.Server
	tokens testenv.Tokens
}

func setup(t *testing.T) *env {
	t.Helper()
	d := testenv.NewDB(t)
	k, err := fieldcrypt.GenerateKey()
	require.NoError(t, err)
	bk, err := fieldcrypt.GenerateKey()
	require.NoError(t, err)
	cipher, err := fieldcrypt.New([]fieldcrypt.Key{{ID: "t1", Secret: k}}, bk)
	require.NoError(t, err)
	svc, err := applications.NewProfiles(applications.ProfilesDeps{DB: d.App, Cipher: cipher})
	require.NoError(t, err)
	e := &env{t: t, db: d, svc: svc, tokens: testenv.Tokens{
		"cand1":     {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleCandidate},
		"cand2":     {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleCandidate},
		"recruiter": {UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: uuid.Must(uuid.NewV7())},
	}}
	mapper := &httpx.ErrorMapper{Logger: logx.Discard()}
	r, err := httpx.NewRouter(httpx.RouterConfig{Title: "t", Version: "1",
		Middlewares: []func(http.Handler) http.Handler{authz.Middleware(e.tokens, mapper)}}, logx.Discard(), httpx.NewHTTPMetrics(nil))
	require.NoError(t, err)
	applications.NewProfileHandlers(svc).Register(r)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (e *env) do(method, token string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(e.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+"/v1/me/profile", rd)
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return resp{res.StatusCode, res.Header, b}
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), string(r.Body))
	return m
}

func (r resp) locations(t *testing.T) (string, []string) {
	t.Helper()
	var p struct {
		Code   string
		Errors []struct{ Location string }
	}
	require.NoError(t, json.Unmarshal(r.Body, &p), string(r.Body))
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Location)
	}
	return p.Code, out
}

func validProfile(mut ...func(map[string]any)) map[string]any {
	b := map[string]any{
		"date_of_birth":     "1996-04-12",
		"gender":            "female",
		"domicile_province": "punjab",
		"domicile_district": "Lahore",
		"education": []map[string]any{
			{"level": "bachelor", "field": "Computer Science", "institution": "University of the Punjab", "year": 2018, "grade": "3.4 CGPA"},
			{"level": "intermediate", "field": "Pre-Engineering", "institution": "Government College", "year": 2014},
		},
		"experience": []map[string]any{
			{"title": "Software Engineer", "employer": "Acme", "start_date": "2018-09-01", "end_date": "2021-06-30"},
			{"title": "Senior Engineer", "employer": "Beta", "start_date": "2021-07-01"},
		},
		"skills":      []string{" Go ", "PostgreSQL", "go"},
		"resume_text": "Engineer with six years of experience.",
		"phone":       "0300-1234567",
	}
	for _, m := range mut {
		m(b)
	}
	return b
}

func TestProfileRoundTripAndEncryption(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("GET", "cand1", nil)
	require.Equal(t, 404, r.Status)
	code, _ := r.locations(t)
	require.Equal(t, "profile_not_found", code)

	r = e.do("PUT", "cand1", validProfile())
	require.Equal(t, 200, r.Status, string(r.Body))
	p := r.json(t)
	require.Equal(t, `"v1"`, r.Header.Get("ETag"))
	require.Equal(t, "private, no-store", r.Header.Get("Cache-Control"))
	require.Equal(t, []any{"go", "postgresql"}, p["skills"])
	require.Equal(t, "+923001234567", p["phone"])
	require.Equal(t, "**********67", p["phone_masked"])
	require.Equal(t, true, p["complete"])
	require.Equal(t, "1996-04-12", p["date_of_birth"])
	exp := p["experience"].([]any)
	require.Nil(t, exp[1].(map[string]any)["end_date"], "an open-ended current job")

	// The phone is stored encrypted, bound to the row.
	var enc []byte
	uid := e.tokens["cand1"].UserID
	require.NoError(t, e.db.Owner.QueryRow(t.Context(), "SELECT phone_enc FROM applications.profiles WHERE user_id = $1", uid).Scan(&enc))
	require.NotContains(t, string(enc), "3001234567")
	kid, ok := fieldcrypt.KeyID(enc)
	require.True(t, ok)
	require.Equal(t, "t1", kid)
	// Copied onto another candidate's row, it no longer decrypts.
	require.Equal(t, 200, e.do("PUT", "cand2", validProfile(func(b map[string]any) { delete(b, "phone") })).Status)
	e.db.Exec(t, "UPDATE applications.profiles SET phone_enc = $1 WHERE user_id = $2", enc, e.tokens["cand2"].UserID)
	require.Equal(t, 500, e.do("GET", "cand2", nil).Status)
	e.db.Exec(t, "UPDATE applications.profiles SET phone_enc = NULL WHERE user_id = $1", e.tokens["cand2"].UserID)

	// GET returns the same; each candidate sees their own only.
	r = e.do("GET", "cand1", nil)
	require.Equal(t, 200, r.Status)
	require.Equal(t, p, r.json(t))
	r2 := e.do("GET", "cand2", nil)
	require.Equal(t, 200, r2.Status)
	require.Nil(t, r2.json(t)["phone"])

	// Only candidates have profiles.
	require.Equal(t, 401, e.do("GET", "", nil).Status)
	require.Equal(t, 403, e.do("GET", "recruiter", nil).Status)
	require.Equal(t, 403, e.do("PUT", "recruiter", validProfile()).Status)

	// If-Match is optional; when given it must be current.
	require.Equal(t, 412, e.do("PUT", "cand1", validProfile(), "If-Match", `"v9"`).Status)
	r = e.do("PUT", "cand1", validProfile(func(b map[string]any) { b["skills"] = []string{"rust"} }), "If-Match", `"v1"`)
	require.Equal(t, 200, r.Status)
	require.Equal(t, `"v2"`, r.Header.Get("ETag"))
	r = e.do("PUT", "cand1", validProfile(func(b map[string]any) { delete(b, "phone"); delete(b, "education") }))
	require.Equal(t, 200, r.Status)
	p = r.json(t)
	require.Nil(t, p["phone"], "PUT replaces the whole profile")
	require.Equal(t, false, p["complete"])
	require.Equal(t, []any{"education"}, p["missing"])

	// Row-level security: in a candidate's scope, another candidate's
	// profile does not exist, whatever the query.
	err := postgres.ScopedTx(t.Context(), e.db.App, postgres.UserScope(e.tokens["cand2"].UserID), func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(t.Context(), "SELECT count(*) FROM applications.profiles").Scan(&n); err != nil {
			return err
		}
		require.Equal(t, 1, n)
		_, err := e.svc.GetTx(t.Context(), tx, uid)
		require.ErrorIs(t, err, applications.ErrProfileNotFound)
		return nil
	})
	require.NoError(t, err)
	err = postgres.ScopedTx(t.Context(), e.db.App, postgres.OrgScope(uuid.New(), uuid.New()), func(tx pgx.Tx) error {
		var n int
		require.NoError(t, tx.QueryRow(t.Context(), "SELECT count(*) FROM applications.profiles").Scan(&n))
		require.Zero(t, n, "staff never read profiles directly")
		return nil
	})
	require.NoError(t, err)
}

func TestProfileCopyForSubmission(t *testing.T) {
	t.Parallel()
	e := setup(t)
	require.Equal(t, 200, e.do("PUT", "cand1", validProfile()).Status)
	uid := e.tokens["cand1"].UserID
	// What the applications submission does: read the profile in its own
	// transaction (here the system scope) and check it is complete.
	var prof applications.Profile
	err := postgres.ScopedTx(t.Context(), e.db.App, postgres.SystemScope(), func(tx pgx.Tx) error {
		var err error
		prof, err = e.svc.GetTx(t.Context(), tx, uid)
		return err
	})
	require.NoError(t, err)
	require.NoError(t, applications.CheckComplete(prof))
	require.Equal(t, "bachelor", string(prof.HighestEducation()))
	require.Equal(t, "+923001234567", *prof.Phone)
	require.Len(t, prof.Experience, 2)
	require.Nil(t, prof.Experience[1].EndDate)

	// An incomplete profile names what is missing.
	err = applications.CheckComplete(applications.Profile{UserID: uid})
	require.ErrorIs(t, err, applications.ErrProfileIncomplete)
	ae, ok := apperr.As(err)
	require.True(t, ok)
	var locs []string
	for _, f := range ae.Fields {
		locs = append(locs, f.Location)
	}
	require.Equal(t, []string{"profile.date_of_birth", "profile.gender", "profile.domicile_province",
		"profile.domicile_district", "profile.education"}, locs)
	require.Empty(t, applications.ErrProfileIncomplete.Fields, "the sentinel is not modified")
}

func TestProfileConcurrentFirstPuts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var wg sync.WaitGroup
	statuses := make([]int, 6)
	for i := range statuses {
		wg.Go(func() { statuses[i] = e.do("PUT", "cand1", validProfile()).Status })
	}
	wg.Wait()
	for _, s := range statuses {
		require.Equal(t, 200, s)
	}
	r := e.do("GET", "cand1", nil)
	require.Equal(t, float64(6), r.json(t)["version"], "every PUT applied once, none lost")
}

func TestProfileValidation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	today := time.Now().UTC()
	future := today.AddDate(0, 0, 2).Format("2006-01-02")
	set := func(k string, v any) func(map[string]any) { return func(b map[string]any) { b[k] = v } }
	edu := func(k string, v any) func(map[string]any) {
		return func(b map[string]any) { b["education"].([]map[string]any)[0][k] = v }
	}
	exp := func(i int, k string, v any) func(map[string]any) {
		return func(b map[string]any) { b["experience"].([]map[string]any)[i][k] = v }
	}
	cases := []struct {
		name string
		mut  []func(map[string]any)
		locs []string
	}{
		{"future birth date", []func(map[string]any){set("date_of_birth", future)}, []string{"body.date_of_birth"}},
		{"too young", []func(map[string]any){set("date_of_birth", today.AddDate(-5, 0, 0).Format("2006-01-02"))}, []string{"body.date_of_birth"}},
		{"not a date", []func(map[string]any){set("date_of_birth", "12/04/1996")}, []string{"body.date_of_birth"}},
		{"impossible date", []func(map[string]any){set("date_of_birth", "1996-02-30")}, []string{"body.date_of_birth"}},
		{"unknown gender", []func(map[string]any){set("gender", "unknown")}, []string{"body.gender"}},
		{"unknown province", []func(map[string]any){set("domicile_province", "texas")}, []string{"body.domicile_province"}},
		{"blank district", []func(map[string]any){set("domicile_district", " ")}, []string{"body.domicile_district"}},
		{"unknown level", []func(map[string]any){edu("level", "diploma")}, []string{"body.education[0].level"}},
		{"future year", []func(map[string]any){edu("year", today.Year()+1)}, []string{"body.education[0].year"}},
		{"missing institution", []func(map[string]any){edu("institution", "")}, []string{"body.education[0].institution"}},
		{"experience ends before it starts", []func(map[string]any){exp(0, "end_date", "2017-01-01")}, []string{"body.experience[0].end_date"}},
		{"experience starts in the future", []func(map[string]any){exp(1, "start_date", future)}, []string{"body.experience[1].start_date"}},
		{"experience ends in the future", []func(map[string]any){exp(0, "end_date", future)}, []string{"body.experience[0].end_date"}},
		{"experience without a start", []func(map[string]any){exp(1, "start_date", "")}, []string{"body.experience[1].start_date"}},
		{"empty skill", []func(map[string]any){set("skills", []string{"go", ""})}, []string{"body.skills[1]"}},
		{"oversized resume", []func(map[string]any){set("resume_text", strings.Repeat("r", 20001))}, []string{"body.resume_text"}},
		{"bad phone", []func(map[string]any){set("phone", "call me maybe")}, []string{"body.phone"}},
		{"short phone", []func(map[string]any){set("phone", "0300-123")}, []string{"body.phone"}},
		{"several", []func(map[string]any){set("gender", "x"), edu("level", "x"), exp(0, "end_date", "2000-01-01")},
			[]string{"body.gender", "body.education[0].level", "body.experience[0].end_date"}},
	}
	for _, c := range cases {
		r := e.do("PUT", "cand1", validProfile(c.mut...))
		require.Equal(t, 422, r.Status, "%s: %s", c.name, r.Body)
		code, locs := r.locations(t)
		require.Equal(t, "validation_failed", code)
		require.ElementsMatch(t, c.locs, locs, c.name)
		require.NotContains(t, string(r.Body), "call me maybe", "values are never echoed")
	}
	// The boundary itself is fine: exactly 20,000 characters.
	r := e.do("PUT", "cand1", validProfile(set("resume_text", strings.Repeat("r", 20000))))
	require.Equal(t, 200, r.Status, string(r.Body))
	// A partial profile may be saved; it is just not complete.
	r = e.do("PUT", "cand2", map[string]any{"skills": []string{"excel"}})
	require.Equal(t, 200, r.Status, string(r.Body))
	require.Equal(t, false, r.json(t)["complete"])
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"03001234567":      "+923001234567",
		"0300-1234567":     "+923001234567",
		"+92 300 1234567":  "+923001234567",
		"0092 300 1234567": "+923001234567",
		"(042) 3576 1234":  "+924235761234",
		"+44 20 7946 0958": "+442079460958",
	} {
		got, ok := applications.NormalizePhone(in)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "300", "3001234567", "+92 300", "abc", "+0123456789", "03001234567890"} {
		_, ok := applications.NormalizePhone(bad)
		require.False(t, ok, bad)
	}
}
