package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEndToEndScreening: a candidate applies through the real applications
// module; the screening role scores it from the submitted snapshot, the
// applications role stores ai_score from screening.scored, and the
// recruiter sees the ranking, the explanation and the fairness report; the
// candidate sees their own explanation, another organisation nothing.
func TestEndToEndScreening(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	root := e.platformAdmin()
	acme := e.newOrg(root, "acme")
	other := e.newOrg(root, "other")
	jobID := e.publishJob(acme.Recruiter, jobBody("Backend Engineer"))
	cand := e.candidate("ayesha@example.pk", "35202-1234567-1", completeProfile())

	var app struct {
		ID string `json:"id"`
	}
	e.must(201, "POST", "/v1/jobs/"+jobID+"/applications", cand, map[string]any{}, &app)

	// Scored by the worker, stored as ai_score by the applications module.
	var got struct {
		AIScore *float64 `json:"ai_score"`
	}
	require.Eventually(t, func() bool {
		e.must(200, "GET", "/v1/applications/"+app.ID, acme.Recruiter, nil, &got)
		return got.AIScore != nil
	}, 90*time.Second, 50*time.Millisecond)

	var expl struct {
		Score        float64        `json:"score"`
		Eligible     bool           `json:"eligible"`
		Reasons      []any          `json:"reasons"`
		Breakdown    map[string]any `json:"breakdown"`
		ModelVersion string         `json:"model_version"`
	}
	e.must(200, "GET", "/v1/applications/"+app.ID+"/screening", cand, nil, &expl)
	require.Equal(t, *got.AIScore, expl.Score)
	require.True(t, expl.Eligible, "the complete profile meets the job's criteria")
	require.NotEmpty(t, expl.Reasons)
	require.NotEmpty(t, expl.Breakdown)
	e.must(200, "GET", "/v1/applications/"+app.ID+"/screening", acme.Recruiter, nil, nil)
	status, _ := e.call("GET", "/v1/applications/"+app.ID+"/screening", other.Recruiter, nil, nil)
	require.Equal(t, 404, status)

	var ranking struct {
		Items []struct {
			ApplicationID string  `json:"application_id"`
			Score         float64 `json:"score"`
			Eligible      bool    `json:"eligible"`
		} `json:"items"`
	}
	e.must(200, "GET", "/v1/jobs/"+jobID+"/ranking", acme.Recruiter, nil, &ranking)
	require.Len(t, ranking.Items, 1)
	require.Equal(t, app.ID, ranking.Items[0].ApplicationID)
	require.Equal(t, expl.Score, ranking.Items[0].Score)

	var fair struct {
		Applicants int `json:"applicants"`
		Groups     []struct {
			Attribute, Value string
			Applicants       int
		} `json:"groups"`
	}
	e.must(200, "GET", "/v1/jobs/"+jobID+"/fairness", acme.Admin, nil, &fair)
	require.Equal(t, 1, fair.Applicants)
	require.Contains(t, fair.Groups, struct {
		Attribute, Value string
		Applicants       int
	}{"gender", "female", 1})

	// A re-screening through the API runs in the screening role.
	var run struct {
		Status string `json:"status"`
		Done   int    `json:"done"`
	}
	e.must(202, "POST", "/v1/jobs/"+jobID+"/rescreen", acme.Recruiter, nil, &run)
	require.Eventually(t, func() bool {
		e.must(200, "GET", "/v1/jobs/"+jobID+"/rescreen", acme.Recruiter, nil, &run)
		return run.Status == "done"
	}, 90*time.Second, 50*time.Millisecond)
	require.Equal(t, 1, run.Done)
}
