package main

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/adapters"
	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
	"github.com/pvara-gov/pvara/internal/screening"
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
	d := testenv.NewDB(b)
	cfg := testConfig(b, d)
	cfg.Database.MaxConns = 16
	a, err := openApp(ctx, cfg, logx.Discard())
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	org := uuid.Must(uuid.NewV7())
	p := authz.Principal{UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: org}
	now := time.Now().UTC()
	j, err := a.jobs.Create(ctx, p, jobs.Input{
		Title: "Assistant Director IT", Department: "Information Technology",
		Description: "Build and run the regulator's online services in Go with PostgreSQL and Redis on Linux.",
		Location:    "Islamabad", Positions: 10, OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(30 * 24 * time.Hour),
		Criteria: jobs.CriteriaInput{MinEducation: "bachelor", MinExperienceYears: 2,
			RequiredSkills: []string{"go", "postgresql"}, PreferredSkills: []string{"redis"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	if j, err = a.jobs.Publish(ctx, p, j.ID, j.ETag(time.Now())); err != nil {
		b.Fatal(err)
	}
	copyApplications(b, d, org, []uuid.UUID{j.ID}, n, false)
	svc, err := screening.New(screening.Config{}, screening.Deps{
		DB: a.db, Redis: a.redis, Applications: a.screeningApplications(), Jobs: adapters.ScreeningJobs{Jobs: a.jobs}, Logger: logx.Discard(),
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.RefreshCorpus(ctx); err != nil {
		b.Fatal(err)
	}
	rescreen := func() time.Duration {
		if _, err := svc.Rescreen(ctx, p, j.ID); err != nil {
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
		cur, err := a.jobs.Get(ctx, &p, j.ID)
		if err != nil {
			b.Fatal(err)
		}
		c := jobs.CriteriaInput{MinEducation: "bachelor", MinExperienceYears: 1 + i%3,
			RequiredSkills: []string{"go", "postgresql", "redis", "linux"}[:2+i%3], PreferredSkills: []string{"docker"}}
		if _, err := a.jobs.Update(ctx, p, j.ID, cur.ETag(time.Now()), jobs.Patch{Criteria: &c}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		total += rescreen()
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "s/rescreen")
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "apps/s")
	run, err := svc.LatestRun(ctx, p, j.ID)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("last run: %s, %d re-scored, %d changed", run.Status, run.Done, run.Changed)
}
