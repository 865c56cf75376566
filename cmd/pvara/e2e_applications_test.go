package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// The whole application: a candidate applies through the real jobs and
// auth modules, the event leaves through the relay, staff move the
// application, and a screening.scored event (enqueued as the screening
// module would) reaches the applications module's consumer in the
// `screening` role and shows as ai_score.
func TestEndToEndApplicationSubmitTransitionAndScore(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	root := e.platformAdmin()
	acme := e.newOrg(root, "acme")
	other := e.newOrg(root, "other")
	jobID := e.publishJob(acme.Recruiter, jobBody("Data Analyst"))
	cand := e.candidate("bilal@example.pk", "35202-7654321-3", completeProfile())

	var app struct {
		ID            string `json:"id"`
		OrgID         string `json:"org_id"`
		Status        string `json:"status"`
		ReceiptNumber string `json:"receipt_number"`
		CandidateName string `json:"candidate_name"`
		CNICMasked    string `json:"cnic_masked"`
	}
	e.must(201, "POST", "/v1/jobs/"+jobID+"/applications", cand, map[string]string{"cover_letter": "Hello"}, &app)
	require.Equal(t, "submitted", app.Status)
	require.Equal(t, acme.ID, app.OrgID)
	require.Equal(t, "35202-*******-3", app.CNICMasked)
	require.Equal(t, "Candidate 35202-7654321-3", app.CandidateName)
	require.NotEmpty(t, app.ReceiptNumber)
	e.must(409, "POST", "/v1/jobs/"+jobID+"/applications", cand, nil, nil)
	e.must(404, "POST", "/v1/jobs/"+uuid.Must(uuid.NewV7()).String()+"/applications", cand, nil, nil)

	env := consumeOne(t, e.brokers, outbox.Topic(applications.EventSubmitted))
	require.Equal(t, app.ID, env.Subject)
	require.Equal(t, acme.ID, env.OrgID.String())

	e.must(404, "GET", "/v1/applications/"+app.ID, other.Recruiter, nil, nil)
	e.must(404, "POST", "/v1/applications/"+app.ID+"/transition", other.Recruiter, map[string]string{"to": "under_review"}, nil)
	e.must(200, "POST", "/v1/applications/"+app.ID+"/transition", acme.Recruiter, map[string]string{"to": "under_review"}, nil)

	// The screening module's event, written to the outbox as it would.
	id := uuid.MustParse(app.ID)
	scoredAt := time.Now().UTC()
	require.NoError(t, postgres.ScopedTx(context.Background(), e.db.App, postgres.SystemScope(), func(tx pgx.Tx) error {
		return outbox.EnqueueTx(context.Background(), tx, outbox.Event{
			Type: applications.EventScored, Version: 1, OrgID: uuid.MustParse(acme.ID), Subject: app.ID,
			Data: applications.ScoredV1{ApplicationID: id, JobID: uuid.MustParse(jobID), OrgID: uuid.MustParse(acme.ID),
				Score: 72.5, Eligible: true, ModelVersion: "e2e-1", ScoredAt: scoredAt},
		})
	}))
	require.Eventually(t, func() bool {
		var got map[string]any
		status, _ := e.call("GET", "/v1/applications/"+app.ID, acme.Recruiter, nil, &got)
		return status == 200 && got["ai_score"] == 72.5 && got["status"] == "under_review"
	}, 30*time.Second, 50*time.Millisecond)

	// The candidate sees it in their list, and withdraws.
	var mine struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	e.must(200, "GET", "/v1/me/applications", cand, nil, &mine)
	require.Len(t, mine.Items, 1)
	require.Equal(t, app.ID, mine.Items[0].ID)
	e.must(200, "POST", "/v1/applications/"+app.ID+"/withdraw", cand, nil, nil)
	env = consumeOne(t, e.brokers, outbox.Topic(applications.EventWithdrawn))
	require.Equal(t, app.ID, env.Subject)
}

// The submission reads its job (jobs module) and its candidate (auth
// module) inside its own transaction, in the candidate's row-level-security
// scope: a draft is invisible there (404 job_not_found, as to candidates
// everywhere), a job closed by hand is 409 job_not_open, a disabled account
// is 404 candidate_not_found, and a replay with the same Idempotency-Key
// answers the stored 201.
func TestEndToEndSubmissionReadsJobAndCandidateInItsTransaction(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	root := e.platformAdmin()
	acme := e.newOrg(root, "acme")
	cand := e.candidate("sana@example.pk", "35202-1111111-2", completeProfile())

	var draft struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
	}
	e.must(201, "POST", "/v1/jobs", acme.Recruiter, jobBody("Draft post"), &draft)
	_, body := e.call("POST", "/v1/jobs/"+draft.ID+"/applications", cand, nil, nil)
	require.Contains(t, string(body), "job_not_found")
	e.must(404, "POST", "/v1/jobs/"+draft.ID+"/applications", cand, nil, nil)

	closed := e.publishJob(acme.Recruiter, jobBody("Closed by hand"))
	e.must(200, "POST", "/v1/jobs/"+closed+"/close", acme.Recruiter, nil, nil, "If-Match", `"v2"`)
	_, body = e.call("POST", "/v1/jobs/"+closed+"/applications", cand, nil, nil)
	require.Contains(t, string(body), "job_not_open")
	e.must(409, "POST", "/v1/jobs/"+closed+"/applications", cand, nil, nil)

	open := e.publishJob(acme.Recruiter, jobBody("Open post"))
	var first, again struct {
		ID            string `json:"id"`
		CandidateName string `json:"candidate_name"`
		CNICMasked    string `json:"cnic_masked"`
	}
	e.must(201, "POST", "/v1/jobs/"+open+"/applications", cand, nil, &first, "Idempotency-Key", "k-1")
	require.Equal(t, "Candidate 35202-1111111-2", first.CandidateName)
	require.Equal(t, "35202-*******-2", first.CNICMasked)
	e.must(201, "POST", "/v1/jobs/"+open+"/applications", cand, nil, &again, "Idempotency-Key", "k-1")
	require.Equal(t, first, again)

	// A disabled account (the token was issued before) cannot apply.
	other := e.publishJob(acme.Recruiter, jobBody("Another post"))
	_, err := e.db.Owner.Exec(context.Background(), "UPDATE auth.users SET disabled_at = now() WHERE email = 'sana@example.pk'")
	require.NoError(t, err)
	status, body := e.call("POST", "/v1/jobs/"+other+"/applications", cand, nil, nil)
	require.Equal(t, 404, status, string(body))
	require.Contains(t, string(body), "candidate_not_found")
}
