// Command pvara-jobsbench seeds a database with jobs and measures the job
// board of a running `pvara serve` (see docs/benchmarks.md, "Jobs board").
//
//	pvara-jobsbench seed -db postgres://postgres@127.0.0.1/pvara_bench -jobs 200000 -open 3000
//	pvara-jobsbench run -target http://127.0.0.1:8080 -scenario first -rate 5000 -duration 20s
//	pvara-jobsbench run -target http://127.0.0.1:8080 -scenario first -rate 0 -workers 64 -duration 20s
package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pvara-gov/pvara/internal/jobs/jobsload"
	"github.com/pvara-gov/pvara/internal/loadgen"
)

// searches are the board searches of the "search" scenario, requested in
// turn: English words, a skill, romanised Urdu.
var searches = []string{"engineer", "naib qasid", "mulazmat", "python", "auditor", "accounts officer", "sarkari naukri", "linux"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pvara-jobsbench seed|run [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "seed":
		err = seed(ctx, os.Args[2:])
	case "run":
		err = run(ctx, os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: pvara-jobsbench seed|run [flags]")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pvara-jobsbench:", err)
		os.Exit(1)
	}
}

func seed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	dbURL := fs.String("db", "", "owner (superuser) URL of a migrated database")
	jobs := fs.Int("jobs", 200_000, "jobs in total")
	open := fs.Int("open", 3_000, "published and open jobs")
	orgs := fs.Int("orgs", 50, "organisations")
	_ = fs.Parse(args)
	pool, err := pgxpool.New(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	res, err := jobsload.Seed(ctx, pool, jobsload.SeedConfig{Jobs: *jobs, Open: *open, Orgs: *orgs})
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d jobs (%d open, %d drafts, %d closed) over %d organisations in %v (%.0f rows/s)\n",
		res.Jobs, res.Open, res.Drafts, res.Closed, len(res.OrgIDs), res.Took.Round(time.Millisecond),
		float64(res.Jobs)/res.Took.Seconds())
	return nil
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	target := fs.String("target", "http://127.0.0.1:8080", "API base URL")
	scenario := fs.String("scenario", "first", "first (GET /v1/jobs) or search (GET /v1/jobs?q=..., rotating queries)")
	rate := fs.Int("rate", 5000, "requests per second (open loop); 0 for closed loop")
	workers := fs.Int("workers", 64, "closed-loop concurrency / initial open-loop workers")
	duration := fs.Duration("duration", 20*time.Second, "how long")
	warmup := fs.Duration("warmup", 2*time.Second, "closed-loop warm-up before measuring (connections, caches)")
	_ = fs.Parse(args)
	var urls []string
	switch *scenario {
	case "first":
		urls = []string{strings.TrimRight(*target, "/") + "/v1/jobs"}
	case "search":
		for _, q := range searches {
			urls = append(urls, strings.TrimRight(*target, "/")+"/v1/jobs?q="+url.QueryEscape(q))
		}
	default:
		return fmt.Errorf("unknown scenario %q", *scenario)
	}
	if *warmup > 0 {
		if _, err := loadgen.Run(ctx, loadgen.Attack{Name: "warmup", Targeter: loadgen.Gets(nil, urls...), Workers: 8, Duration: *warmup}); err != nil {
			return err
		}
	}
	rep, err := loadgen.Run(ctx, loadgen.Attack{Name: *scenario, Targeter: loadgen.Gets(nil, urls...), Rate: *rate, Workers: *workers, Duration: *duration})
	if err != nil {
		return err
	}
	fmt.Printf("%v: %s\n", *duration, rep)
	for _, e := range rep.Errors {
		fmt.Println("  error:", e)
	}
	return nil
}
