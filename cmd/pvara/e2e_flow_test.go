package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
)

// completeProfile is a profile that may apply to the jobs of these tests.
func completeProfile() map[string]any {
	return map[string]any{
		"date_of_birth": "1996-05-04", "gender": "female",
		"domicile_province": "punjab", "domicile_district": "Lahore",
		"education":   []map[string]any{{"level": "master", "field": "Computer Science", "institution": "Punjab University", "year": 2020}},
		"experience":  []map[string]any{{"title": "Software Engineer", "employer": "NADRA", "start_date": "2020-07-01"}},
		"skills":      []string{"Go", "PostgreSQL", "Kafka"},
		"resume_text": "Backend engineer building high-volume public services in Go with PostgreSQL and Kafka.",
	}
}

func jobBody(title string) map[string]any {
	now := time.Now().UTC()
	return map[string]any{
		"title": title, "department": "Information Technology", "location": "Islamabad",
		"description": "Build and run the backend services of the national recruitment portal in Go, PostgreSQL and Kafka.",
		"positions":   2, "opens_at": now.Add(-time.Hour).Format(time.RFC3339), "closes_at": now.AddDate(0, 1, 0).Format(time.RFC3339),
		"criteria": map[string]any{
			"min_education": "bachelor", "min_experience_years": 2, "age_min": 21, "age_max": 35,
			"required_skills": []string{"go", "postgresql"}, "preferred_skills": []string{"kafka"},
		},
	}
}

// TestEndToEndIdentityJobsAndEvents walks the foundation of a hiring round
// through the public API: a platform admin makes an organisation and its
// staff, a recruiter publishes a job, a candidate registers and fills in a
// profile; the job is on the board, its event reaches Kafka through the
// outbox relay (seen by an independent consumer), another organisation sees
// nothing of it, and the audit chain verifies.
func TestEndToEndIdentityJobsAndEvents(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	root := e.platformAdmin()
	acme := e.newOrg(root, "acme")
	other := e.newOrg(root, "other")
	jobID := e.publishJob(acme.Recruiter, jobBody("Backend Engineer"))
	cand := e.candidate("ayesha@example.pk", "35202-1234567-1", completeProfile())

	// The board lists it; search finds it by a description word.
	var board struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	e.must(200, "GET", "/v1/jobs?q=kafka", "", nil, &board)
	require.Len(t, board.Items, 1)
	require.Equal(t, jobID, board.Items[0].ID)

	// Staff of another organisation cannot edit it; a candidate may not.
	got, _ := e.call("POST", "/v1/jobs/"+jobID+"/close", other.Recruiter, nil, nil, "If-Match", `"v2"`)
	require.Equal(t, 404, got)
	got, _ = e.call("POST", "/v1/jobs/"+jobID+"/close", cand, nil, nil, "If-Match", `"v2"`)
	require.Equal(t, 403, got)

	// GET /v1/me shows the owner the CNIC; nobody sees another's.
	var me map[string]any
	e.must(200, "GET", "/v1/me", cand, nil, &me)
	require.Equal(t, "35202-*******-1", me["cnic_masked"])

	// The event left through the outbox and the relay: an independent
	// Kafka client sees it in the documented envelope.
	env := consumeOne(t, e.brokers, outbox.Topic("jobs.published"))
	require.Equal(t, "jobs.published", env.Type)
	require.Equal(t, jobID, env.Subject)
	require.Equal(t, acme.ID, env.OrgID.String())
	require.Equal(t, 1, env.Version)

	// Every security-relevant step was audited, and the chain is intact once
	// the maintenance role has sealed it.
	require.Eventually(t, func() bool {
		rep, err := audit.Verify(context.Background(), e.db.Owner, audit.VerifyOptions{})
		return err == nil && rep.OK() && rep.Pending == 0 && rep.Sealed > 5
	}, 20*time.Second, 100*time.Millisecond)
}

// consumeOne reads the first record of topic as an independent consumer.
func consumeOne(t *testing.T, brokers []string, topic string) outbox.Envelope {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "no record on %s", topic)
		var env outbox.Envelope
		found := false
		fs.EachRecord(func(r *kgo.Record) {
			if !found {
				require.NoError(t, json.Unmarshal(r.Value, &env))
				found = true
			}
		})
		if found {
			return env
		}
	}
}
