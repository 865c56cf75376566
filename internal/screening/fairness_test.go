package screening_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

type fairGroup struct {
	Attribute     string   `json:"attribute"`
	Value         string   `json:"value"`
	Applicants    int      `json:"applicants"`
	Selected      int      `json:"selected"`
	SelectionRate float64  `json:"selection_rate"`
	ImpactRatio   *float64 `json:"impact_ratio"`
	Flagged       bool     `json:"flagged"`
	TooSmall      bool     `json:"too_small"`
}

type fairnessBody struct {
	Applicants int         `json:"applicants"`
	Groups     []fairGroup `json:"groups"`
	TopN       struct {
		N      int         `json:"n"`
		Groups []fairGroup `json:"groups"`
	} `json:"top_n"`
}

func ratio(f float64) *float64 { return &f }

// The fairness report on a constructed data set (results written
// directly): selection rates, impact ratios against the best group large
// enough to judge, the four-fifths flag (a group exactly at 0.8 is not
// flagged), small groups reported but not judged, withdrawn applications
// left out, and the top-N view taking the ranking's order (eligible first).
func TestFairnessReport(t *testing.T) {
	t.Parallel()
	e := setup(t)
	job := e.publishedJob() // 2 positions
	ctx := context.Background()
	add := func(n int, gender, province, status string, eligible bool, score float64) {
		for range n {
			_, err := e.db.Owner.Exec(ctx, `
				INSERT INTO screening.results (application_id, job_id, org_id, candidate_id, status, gender,
				    domicile_province, eligible, score, reasons, breakdown, model_version, scored_at)
				VALUES ($1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), $8, $9, '[]', '[]', 'test', $10)`,
				uuid.Must(uuid.NewV7()), job.ID, job.OrgID, uuid.New(), status, gender, province, eligible, score, time.Now())
			require.NoError(t, err)
		}
	}
	// Men, all Punjab: 5 of 10 selected (0.5, the reference); one of the
	// rest ineligible with the highest score of all.
	add(2, "male", "punjab", "shortlisted", true, 60)
	add(1, "male", "punjab", "interview", true, 55)
	add(1, "male", "punjab", "offered", true, 50)
	add(1, "male", "punjab", "hired", true, 45)
	add(4, "male", "punjab", "rejected", true, 40)
	add(1, "male", "punjab", "under_review", false, 99)
	// Women: 4 of 10 selected (0.4: exactly four fifths of 0.5, not
	// flagged); 6 in Sindh (1 selected, the two best scores), 4 in Punjab
	// (3 selected).
	add(2, "female", "sindh", "submitted", true, 90)
	add(1, "female", "sindh", "hired", true, 30)
	add(3, "female", "sindh", "rejected", true, 20)
	add(3, "female", "punjab", "shortlisted", true, 35)
	add(1, "female", "punjab", "submitted", true, 10)
	// Too small to judge: 3 "other" in KPK, all selected (rate 1.0, not the
	// reference); 2 with neither attribute known, none selected.
	add(3, "other", "kpk", "interview", true, 25)
	add(2, "", "", "submitted", true, 5)
	// Withdrawn: left out entirely.
	add(3, "male", "punjab", "withdrawn", true, 95)

	r := e.do("GET", "/v1/jobs/"+job.ID.String()+"/fairness", recruiterA, nil)
	require.Equal(t, 200, r.Status, string(r.Body))
	var b fairnessBody
	r.decode(t, &b)
	require.Equal(t, 25, b.Applicants)
	require.Equal(t, []fairGroup{
		{"gender", "female", 10, 4, 0.4, ratio(0.8), false, false},
		{"gender", "male", 10, 5, 0.5, ratio(1), false, false},
		{"gender", "other", 3, 3, 1, ratio(2), false, true},
		{"gender", "unknown", 2, 0, 0, ratio(0), false, true},
		{"domicile_province", "kpk", 3, 3, 1, ratio(1.75), false, true},
		{"domicile_province", "punjab", 14, 8, 0.5714, ratio(1), false, false},
		{"domicile_province", "sindh", 6, 1, 0.1667, ratio(0.2917), true, false},
		{"domicile_province", "unknown", 2, 0, 0, ratio(0), false, true},
	}, b.Groups)

	// Top-N (N = positions = 2): the two Sindh women at 90 (the ineligible
	// 99 ranks after every eligible application).
	require.Equal(t, 2, b.TopN.N)
	require.Equal(t, []fairGroup{
		{"gender", "female", 10, 2, 0.2, ratio(1), false, false},
		{"gender", "male", 10, 0, 0, ratio(0), true, false},
		{"gender", "other", 3, 0, 0, ratio(0), false, true},
		{"gender", "unknown", 2, 0, 0, ratio(0), false, true},
		{"domicile_province", "kpk", 3, 0, 0, ratio(0), false, true},
		{"domicile_province", "punjab", 14, 0, 0, ratio(0), true, false},
		{"domicile_province", "sindh", 6, 2, 0.3333, ratio(1), false, false},
		{"domicile_province", "unknown", 2, 0, 0, ratio(0), false, true},
	}, b.TopN.Groups)

	// ?top= takes another N; with everybody selected nobody is flagged.
	r = e.do("GET", "/v1/jobs/"+job.ID.String()+"/fairness?top=1000", adminA, nil)
	require.Equal(t, 200, r.Status, string(r.Body))
	r.decode(t, &b)
	require.Equal(t, 1000, b.TopN.N)
	for _, g := range b.TopN.Groups {
		require.Equal(t, g.Applicants, g.Selected)
		require.False(t, g.Flagged)
	}

	// Nobody selected: rates 0, no ratio, nothing flagged.
	empty := e.publishedJob()
	add2 := func(gender string) {
		_, err := e.db.Owner.Exec(ctx, `
			INSERT INTO screening.results (application_id, job_id, org_id, candidate_id, status, gender,
			    domicile_province, eligible, score, reasons, breakdown, model_version, scored_at)
			VALUES ($1, $2, $3, $4, 'submitted', $5, 'punjab', true, 50, '[]', '[]', 'test', now())`,
			uuid.Must(uuid.NewV7()), empty.ID, empty.OrgID, uuid.New(), gender)
		require.NoError(t, err)
	}
	for range 6 {
		add2("male")
		add2("female")
	}
	r = e.do("GET", "/v1/jobs/"+empty.ID.String()+"/fairness", recruiterA, nil)
	require.Equal(t, 200, r.Status)
	r.decode(t, &b)
	for _, g := range b.Groups {
		require.Nil(t, g.ImpactRatio)
		require.False(t, g.Flagged)
	}

	// Access.
	require.Equal(t, 404, e.do("GET", "/v1/jobs/"+job.ID.String()+"/fairness", recruiterB, nil).Status)
	require.Equal(t, 403, e.do("GET", "/v1/jobs/"+job.ID.String()+"/fairness", interviewerA, nil).Status)
	require.Equal(t, 422, e.do("GET", "/v1/jobs/"+job.ID.String()+"/fairness?top=-1", recruiterA, nil).Status)
}
