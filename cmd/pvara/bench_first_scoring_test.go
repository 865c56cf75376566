package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pvara-gov/pvara/internal/adapters"
	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
	"github.com/pvara-gov/pvara/internal/screening"
)

// BenchmarkFirstScoring is the screening worker's cost per
// applications.submitted event, without Kafka and the runner's dedupe:
// applications stored in the partitioned applications table (COPY, as
// submissions leave them) over 10 jobs in turn, read through the real
// adapter, scored, stored with their screening.scored events, and the
// Redis ranking synced after each commit. Events go in transactions of
// PVARA_BENCH_FIRST_SCORING_SIZE events (default 100, the runner's batch
// size): "per-event" calls HandleSubmitted for each event of the
// transaction and syncs the ranking per event (the worker before
// batching), "batch" calls HandleSubmittedBatch once and syncs once.
// Every event is a first scoring (results are truncated before each run).
// Besides ns/op (wall time per event) it reports the CPU per event of this
// process (go-cpu-µs/event) and of the PostgreSQL backends
// of the test database (pg-cpu-µs/event), which a shared host does not
// inflate as much as wall time.
//
//	go test -run '^$' -bench FirstScoring -benchtime 4000x ./cmd/pvara/
func BenchmarkFirstScoring(b *testing.B) {
	const nApps, nJobs = 20_000, 10
	ctx := context.Background()
	titles := make([]string, nJobs)
	for i := range titles {
		titles[i] = fmt.Sprintf("Assistant Director IT %d", i)
	}
	a, d, org, jobIDs, svc := newScreeningBench(b, titles...)
	evs := copyApplications(b, d, org, jobIDs, nApps, true)
	var h struct {
		single func(context.Context, outbox.Envelope)
		batch  func(context.Context, []outbox.Envelope)
	}
	for _, x := range svc.Handlers() {
		if x.Type == screening.EventApplicationSubmitted {
			h.batch = x.AfterCommitBatch
			h.single = func(ctx context.Context, ev outbox.Envelope) { x.AfterCommitBatch(ctx, []outbox.Envelope{ev}) }
		}
	}
	size := 100
	if s := os.Getenv("PVARA_BENCH_FIRST_SCORING_SIZE"); s != "" {
		size, _ = strconv.Atoi(s)
	}
	for _, mode := range []string{"per-event", "batch"} {
		b.Run(fmt.Sprintf("%s/size=%d", mode, size), func(b *testing.B) {
			if b.N > len(evs) {
				b.Fatalf("at most %d events (-benchtime %dx)", len(evs), len(evs))
			}
			d.Exec(b, "TRUNCATE screening.results, platform.outbox")
			pg0 := backendCPU(b, a.db)
			cpu0 := processCPU()
			b.ResetTimer()
			for i := 0; i < b.N; i += size {
				chunk := evs[i:min(i+size, b.N)]
				err := postgres.ScopedTx(ctx, a.db, postgres.SystemScope(), func(tx pgx.Tx) error {
					if mode == "batch" {
						return svc.HandleSubmittedBatch(ctx, tx, chunk)
					}
					for _, ev := range chunk {
						if err := svc.HandleSubmitted(ctx, tx, ev); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				if mode == "batch" {
					h.batch(ctx, chunk)
				} else {
					for _, ev := range chunk {
						h.single(ctx, ev)
					}
				}
			}
			b.StopTimer()
			cpu := processCPU() - cpu0
			pg := backendCPU(b, a.db) - pg0
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "go-cpu-µs/event")
			b.ReportMetric(float64(pg.Microseconds())/float64(b.N), "pg-cpu-µs/event")
			var n int
			if err := d.Owner.QueryRow(ctx, "SELECT count(*) FROM platform.outbox").Scan(&n); err != nil {
				b.Fatal(err)
			}
			if n != b.N {
				b.Fatalf("%d screening.scored events for %d first scorings", n, b.N)
			}
		})
	}
}

// copyApplications writes n submitted applications over the jobs in turn
// with COPY and returns their applications.submitted events. long gives
// each a longer résumé and a current job besides a past one (the first
// scoring benchmark); otherwise one past job and a one-line résumé (the
// re-screening benchmark's data since it was first measured). The data is
// the same on every run (a fixed seed).
// newScreeningBench is an app over a private database (pool of 16) with one
// published job per title in a new organisation, all with the same
// criteria, and a screening service wired as the worker wires it, its corpus
// refreshed from those jobs. The app is closed when b ends.
func newScreeningBench(b *testing.B, titles ...string) (a *app, d *testenv.DB, org uuid.UUID, jobIDs []uuid.UUID, svc *screening.Service) {
	b.Helper()
	ctx := context.Background()
	d = testenv.NewDB(b)
	cfg := testConfig(b, d)
	cfg.Database.MaxConns = 16
	a, err := openApp(ctx, cfg, logx.Discard())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	org = uuid.Must(uuid.NewV7())
	p := authz.Principal{UserID: uuid.Must(uuid.NewV7()), Role: authz.RoleRecruiter, OrgID: org}
	now := time.Now().UTC()
	for _, title := range titles {
		j, err := a.jobs.Create(ctx, p, jobs.Input{
			Title: title, Department: "Information Technology",
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
		jobIDs = append(jobIDs, j.ID)
	}
	svc, err = screening.New(screening.Config{}, screening.Deps{
		DB: a.db, Redis: a.redis, Applications: a.screeningApplications(), Jobs: adapters.ScreeningJobs{Jobs: a.jobs}, Logger: logx.Discard(),
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.RefreshCorpus(ctx); err != nil {
		b.Fatal(err)
	}
	return a, d, org, jobIDs, svc
}

func copyApplications(b *testing.B, d *testenv.DB, org uuid.UUID, jobIDs []uuid.UUID, n int, long bool) []outbox.Envelope {
	b.Helper()
	skills := []string{"go", "postgresql", "redis", "docker", "kubernetes", "python", "linux", "networking", "excel", "urdu typing"}
	levels := []string{"matric", "intermediate", "bachelor", "master", "mphil", "phd"}
	provinces := []string{"punjab", "sindh", "kpk", "balochistan", "islamabad", "gb", "ajk"}
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	rows := make([][]any, n)
	evs := make([]outbox.Envelope, n)
	for i := range rows {
		id := uuid.Must(uuid.NewV7())
		sec, nsec := id.Time().UnixTime()
		created := time.Unix(sec, nsec).UTC()
		var sk []string
		for _, s := range skills {
			if rng.IntN(3) == 0 {
				sk = append(sk, s)
			}
		}
		if sk == nil {
			sk = []string{}
		}
		dob := fmt.Sprintf("%d-%02d-%02d", 1980+rng.IntN(25), 1+rng.IntN(12), 1+rng.IntN(28))
		gender := []string{"male", "female"}[rng.IntN(2)]
		province := provinces[rng.IntN(len(provinces))]
		resume := fmt.Sprintf("Built web services in Go backed by PostgreSQL for %d years; ran Redis and Linux servers.", 1+rng.IntN(10))
		if long {
			resume += " " + strings.Repeat("Maintained the regulator's licensing portal and its reporting. ", 1+rng.IntN(20))
		}
		education := []map[string]any{{"level": levels[rng.IntN(len(levels))], "field": "computer science", "institution": "PU", "year": 2010}}
		var experience []map[string]any
		if long {
			experience = []map[string]any{
				{"title": "Software engineer", "employer": "NADRA", "start_date": fmt.Sprintf("%d-01-01", 2010+rng.IntN(8)), "end_date": "2019-06-30"},
				{"title": "Senior software engineer", "employer": "PITB", "start_date": "2019-07-01"},
			}
		} else {
			experience = []map[string]any{{"title": "Software engineer", "employer": "NADRA", "start_date": fmt.Sprintf("%d-01-01", 2010+rng.IntN(14))}}
		}
		profile, err := json.Marshal(map[string]any{
			"version": 1, "date_of_birth": dob, "gender": gender, "domicile_province": province, "domicile_district": "Lahore",
			"education": education, "experience": experience, "skills": sk, "resume_text": resume, "updated_at": now,
		})
		if err != nil {
			b.Fatal(err)
		}
		dobT, _ := time.Parse("2006-01-02", dob)
		job := jobIDs[i%len(jobIDs)]
		cand := uuid.New()
		rows[i] = []any{id, created, org, job, cand, fmt.Sprintf("PV-%08d", i), "Candidate", "35202-*******-1",
			gender, dobT, province, "Lahore", sk, resume, profile, created}
		data, err := json.Marshal(map[string]any{"application_id": id, "job_id": job, "org_id": org, "candidate_id": cand,
			"receipt_number": fmt.Sprintf("PV-%08d", i), "submitted_at": created})
		if err != nil {
			b.Fatal(err)
		}
		evs[i] = outbox.Envelope{ID: uuid.Must(uuid.NewV7()), Type: screening.EventApplicationSubmitted, Version: 1,
			OccurredAt: created, Subject: id.String(), Data: data}
	}
	if _, err := d.Owner.CopyFrom(context.Background(), pgx.Identifier{"applications", "applications"},
		[]string{"id", "created_at", "org_id", "job_id", "candidate_id", "receipt_number", "candidate_name", "cnic_masked",
			"gender", "date_of_birth", "domicile_province", "domicile_district", "skills", "resume_text", "profile", "updated_at"},
		pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	d.Exec(b, "ANALYZE applications.applications")
	return evs
}

// processCPU is this process's user + system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendCPU is the user + system CPU time of the PostgreSQL backends
// connected to pool's database (read from /proc: PostgreSQL runs on this
// host; 0 where it cannot be read). A backend that exits in between takes
// its share with it, so the pool keeps its connections (no idle timeout in
// a benchmark's few seconds).
func backendCPU(b *testing.B, pool *pgxpool.Pool) time.Duration {
	b.Helper()
	rows, err := pool.Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	var ticks int64
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command (which is in parentheses): state is the
		// 3rd field of the line, utime the 14th, stime the 15th.
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * (time.Second / 100) // CLK_TCK is 100 on Linux
}
