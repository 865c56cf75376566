package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/platform/authz"
)

// BenchmarkRescreenThroughApplications re-screens a job of 100,000
// applications stored in the applications module's partitioned table, read
// through the real adapter (applications.Service.SubmittedForJob →
// screening), after a criteria change (every result changes). The rows are
// written with COPY as the submission path would have left them.
//
//	go test -run '^$' -bench RescreenThroughApplications -benchtime 1x ./cmd/pvara/
func BenchmarkRescreenThroughApplications(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	a, d, org, jobIDs, svc := newScreeningBench(b, "Assistant Director IT")
	jobID := jobIDs[0]
	p := authz.Principal{UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: org}
	copyApplications(b, d, org, jobIDs, n, false)
	rescreen := func() time.Duration {
		if _, err := svc.Rescreen(ctx, p, jobID); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		ran, err := svc.RescreenOnce(ctx)
		if err != nil || !ran {
			b.Fatal(ran, err)
		}
		return time.Since(start)
	}
	first := rescreen()
	b.Logf("first scoring of %d applications: %s", n, first.Round(time.Millisecond))
	b.ResetTimer()
	var total time.Duration
	for i := range b.N {
		b.StopTimer()
		cur, err := a.jobs.Get(ctx, &p, jobID)
		if err != nil {
			b.Fatal(err)
		}
		c := jobs.CriteriaInput{MinEducation: "bachelor", MinExperienceYears: 1 + i%3,
			RequiredSkills: []string{"go", "postgresql", "redis", "linux"}[:2+i%3], PreferredSkills: []string{"docker"}}
		if _, err := a.jobs.Update(ctx, p, jobID, cur.ETag(time.Now()), jobs.Patch{Criteria: &c}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		total += rescreen()
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "s/rescreen")
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "apps/s")
	run, err := svc.LatestRun(ctx, p, jobID)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("last run: %s, %d re-scored, %d changed", run.Status, run.Done, run.Changed)
}
