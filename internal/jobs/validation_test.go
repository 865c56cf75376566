package jobs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	crit := func(k string, v any) func(map[string]any) {
		return func(b map[string]any) { b["criteria"].(map[string]any)[k] = v }
	}
	set := func(k string, v any) func(map[string]any) { return func(b map[string]any) { b[k] = v } }
	del := func(k string) func(map[string]any) { return func(b map[string]any) { delete(b, k) } }
	cases := []struct {
		name string
		mut  []func(map[string]any)
		locs []string
	}{
		{"missing title", []func(map[string]any){del("title")}, []string{"body.title"}},
		{"blank title", []func(map[string]any){set("title", "   ")}, []string{"body.title"}},
		{"title too long", []func(map[string]any){set("title", strings.Repeat("x", 201))}, []string{"body.title"}},
		{"short description", []func(map[string]any){set("description", "short")}, []string{"body.description"}},
		{"huge description", []func(map[string]any){set("description", strings.Repeat("x", 20001))}, []string{"body.description"}},
		{"zero positions", []func(map[string]any){set("positions", 0)}, []string{"body.positions"}},
		{"negative positions", []func(map[string]any){set("positions", -3)}, []string{"body.positions"}},
		{"unknown province", []func(map[string]any){set("province", "narnia")}, []string{"body.province"}},
		{"dates out of order", []func(map[string]any){set("opens_at", ts(48*time.Hour)), set("closes_at", ts(24*time.Hour))}, []string{"body.closes_at"}},
		{"deadline in the past", []func(map[string]any){set("opens_at", ts(-48*time.Hour)), set("closes_at", ts(-time.Hour))}, []string{"body.closes_at"}},
		{"open for years", []func(map[string]any){set("closes_at", ts(800*24*time.Hour))}, []string{"body.closes_at"}},
		{"missing opens_at", []func(map[string]any){del("opens_at")}, []string{"body.opens_at"}},
		{"missing education", []func(map[string]any){crit("min_education", nil)}, []string{"body.criteria.min_education"}},
		{"unknown education", []func(map[string]any){crit("min_education", "diploma")}, []string{"body.criteria.min_education"}},
		{"negative experience", []func(map[string]any){crit("min_experience_years", -1)}, []string{"body.criteria.min_experience_years"}},
		{"age order", []func(map[string]any){crit("age_min", 40), crit("age_max", 30)}, []string{"body.criteria.age_max"}},
		{"age range", []func(map[string]any){crit("age_min", 5)}, []string{"body.criteria.age_min"}},
		{"relaxation without max", []func(map[string]any){crit("age_relaxation_years", 3)}, []string{"body.criteria.age_relaxation_years"}},
		{"relaxation too big", []func(map[string]any){crit("age_max", 30), crit("age_relaxation_years", 40)}, []string{"body.criteria.age_relaxation_years"}},
		{"empty skill", []func(map[string]any){crit("required_skills", []string{"go", "  "})}, []string{"body.criteria.required_skills[1]"}},
		{"long skill", []func(map[string]any){crit("preferred_skills", []string{strings.Repeat("s", 61)})}, []string{"body.criteria.preferred_skills[0]"}},
		{"unknown domicile", []func(map[string]any){crit("domicile_provinces", []string{"punjab", "atlantis"})}, []string{"body.criteria.domicile_provinces[1]"}},
		{"several at once", []func(map[string]any){set("positions", 0), set("province", "x"), crit("min_education", "x")},
			[]string{"body.province", "body.positions", "body.criteria.min_education"}},
	}
	for _, c := range cases {
		r := e.do("POST", "/v1/jobs", recruiterA, e.jobBody(c.mut...))
		require.Equal(t, 422, r.Status, "%s: %s", c.name, r.Body)
		_, locs := r.problem(t)
		require.ElementsMatch(t, c.locs, locs, c.name)
	}
	// A wrong JSON type is a 422 at its location too (huma's schema check).
	r := e.do("POST", "/v1/jobs", recruiterA, e.jobBody(set("positions", "two")))
	require.Equal(t, 422, r.Status)
	_, locs := r.problem(t)
	require.Equal(t, []string{"body.positions"}, locs)

	// Normalisation: provinces de-duplicated and lower-cased, skills too.
	r = e.do("POST", "/v1/jobs", recruiterA, e.jobBody(
		crit("domicile_provinces", []string{"Punjab", "punjab", " SINDH "}),
		crit("preferred_skills", []string{"Data  Entry", "data entry", "MS Word"}),
		set("grade", "  "),
	))
	require.Equal(t, 201, r.Status, string(r.Body))
	c := r.JSON(t)["criteria"].(map[string]any)
	require.Equal(t, []any{"punjab", "sindh"}, c["domicile_provinces"])
	require.Equal(t, []any{"data entry", "ms word"}, c["preferred_skills"])
	require.Nil(t, r.JSON(t)["grade"])

	// PATCH validates the merged job: a closes_at before opens_at.
	id := r.JSON(t)["id"].(string)
	r = e.do("PATCH", "/v1/jobs/"+id, recruiterA, map[string]any{"closes_at": ts(-2 * time.Hour)}, "If-Match", r.Header.Get("ETag"))
	require.Equal(t, 422, r.Status)
	_, locs = r.problem(t)
	require.Equal(t, []string{"body.closes_at"}, locs)
}
