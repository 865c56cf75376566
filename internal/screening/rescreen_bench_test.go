package screening_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/adapters"
	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
	"github.com/pvara-gov/pvara/internal/screening"
	"github.com/pvara-gov/pvara/internal/vocab"
)

// sliceApps is a fast in-memory ApplicationSource for one job: the
// applications sorted by id, paged by binary search (the benchmark
// measures screening's side, not the source's).
type sliceApps struct{ apps []screening.Application }

func (s *sliceApps) Submitted(_ context.Context, id uuid.UUID) (screening.Application, error) {
	i := sort.Search(len(s.apps), func(i int) bool { return bytes.Compare(s.apps[i].ID[:], id[:]) >= 0 })
	if i < len(s.apps) && s.apps[i].ID == id {
		return s.apps[i], nil
	}
	return screening.Application{}, screening.ErrApplicationNotFound
}

func (s *sliceApps) SubmittedMany(ctx context.Context, ids []uuid.UUID) ([]screening.Application, error) {
	var out []screening.Application
	for _, id := range ids {
		if a, err := s.Submitted(ctx, id); err == nil {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *sliceApps) SubmittedForJob(_ context.Context, _, after uuid.UUID, limit int) ([]screening.Application, error) {
	i := sort.Search(len(s.apps), func(i int) bool { return bytes.Compare(s.apps[i].ID[:], after[:]) > 0 })
	return s.apps[i:min(i+limit, len(s.apps))], nil
}

var benchSkills = []string{"go", "postgresql", "redis", "docker", "kubernetes", "python", "linux", "networking", "excel", "urdu typing"}

// BenchmarkRescreen re-screens one job's 100,000 applications after a
// criteria change (every result changes: 100,000 rows rewritten, 100,000
// screening.scored events enqueued, the Redis ranking updated), with the
// default batch of 1,000. The source is in memory, so the figure is
// screening's own cost (scoring, PostgreSQL, Redis).
//
//	go test -run '^$' -bench Rescreen -benchtime 1x ./internal/screening/
func BenchmarkRescreen(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	d := testenv.NewDB(b)
	rdb := testenv.NewRedis(b)
	js, err := jobs.New(jobs.Config{CacheTTL: -1}, jobs.Deps{DB: d.App})
	if err != nil {
		b.Fatal(err)
	}
	org := uuid.Must(uuid.NewV7())
	p := authz.Principal{UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: org}
	now := time.Now().UTC()
	j, err := js.Create(ctx, p, jobs.Input{
		Title: "Assistant Director IT", Department: "Information Technology",
		Description: "Build and run the regulator's online services in Go with PostgreSQL and Redis on Linux.",
		Location:    "Islamabad", Positions: 10, OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(30 * 24 * time.Hour),
		Criteria: jobs.CriteriaInput{MinEducation: "bachelor", MinExperienceYears: 2,
			RequiredSkills: []string{"go", "postgresql"}, PreferredSkills: []string{"redis"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	if j, err = js.Publish(ctx, p, j.ID, j.ETag(time.Now())); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	src := &sliceApps{apps: make([]screening.Application, n)}
	for i := range src.apps {
		var skills []string
		for _, s := range benchSkills {
			if rng.IntN(3) == 0 {
				skills = append(skills, s)
			}
		}
		src.apps[i] = screening.Application{
			ID: uuid.Must(uuid.NewV7()), JobID: j.ID, OrgID: org, CandidateID: uuid.New(), SubmittedAt: now,
			Status: "submitted", Gender: []string{"male", "female"}[rng.IntN(2)],
			Profile: screening.ProfileInput{
				DateOfBirth:      time.Date(1980+rng.IntN(25), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC),
				DomicileProvince: vocab.Provinces[rng.IntN(len(vocab.Provinces))],
				Education:        []screening.EducationEntry{{Level: vocab.EducationLevels[rng.IntN(len(vocab.EducationLevels))], Field: "computer science", Year: 2010}},
				Experience: []screening.ExperienceItem{{Title: "Software engineer",
					Start: time.Date(2010+rng.IntN(14), 1, 1, 0, 0, 0, 0, time.UTC)}},
				Skills:     skills,
				ResumeText: fmt.Sprintf("Built web services in Go backed by PostgreSQL for %d years; ran Redis and Linux servers.", 1+rng.IntN(10)),
			},
		}
	}
	sort.Slice(src.apps, func(a, c int) bool { return bytes.Compare(src.apps[a].ID[:], src.apps[c].ID[:]) < 0 })
	svc, err := screening.New(screening.Config{}, screening.Deps{
		DB: d.App, Redis: rdb, Applications: src, Jobs: adapters.ScreeningJobs{Jobs: js}, Logger: logx.Discard(),
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
	// The first pass stores every result (and builds the ranking).
	first := rescreen()
	if _, err := svc.Ranking(ctx, p, j.ID, nil, 25); err != nil {
		b.Fatal(err)
	}
	b.Logf("first scoring of %d applications: %s", n, first.Round(time.Millisecond))
	b.ResetTimer()
	var total time.Duration
	for i := range b.N {
		b.StopTimer()
		// Change the criteria, so every result changes.
		cur, err := js.Get(ctx, &p, j.ID)
		if err != nil {
			b.Fatal(err)
		}
		req := []string{"go", "postgresql", "redis", "linux"}[:2+i%3]
		c := jobs.CriteriaInput{MinEducation: "bachelor", MinExperienceYears: 1 + i%3, RequiredSkills: req,
			PreferredSkills: []string{"docker"}}
		if _, err := js.Update(ctx, p, j.ID, cur.ETag(time.Now()), jobs.Patch{Criteria: &c}); err != nil {
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
