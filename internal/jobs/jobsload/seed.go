// Package jobsload makes load for the jobs board: a fast COPY seeder of
// realistic jobs and drivers (open-loop at a fixed rate, closed-loop at a
// fixed concurrency) built on vegeta's library. The benchmark command
// cmd/pvara-jobsbench uses it, and so can a whole-system load harness.
package jobsload

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SeedConfig says what to seed.
type SeedConfig struct {
	// Jobs is the total number of jobs (default 200,000).
	Jobs int
	// Open is how many of them are published and open now (default 3,000);
	// Drafts are drafts (default 1% of Jobs); the rest are closed.
	Open   int
	Drafts int
	// Orgs is the number of organisations the jobs spread over (default 50).
	Orgs int
	// Seed makes the data reproducible (default 1).
	Seed uint64
	// Now anchors the dates (default time.Now()).
	Now time.Time
}

// SeedResult says what was seeded.
type SeedResult struct {
	Jobs, Open, Drafts, Closed int
	OrgIDs                     []uuid.UUID
	Took                       time.Duration
}

var (
	titles = []string{"Assistant Director", "Deputy Director", "Software Engineer", "Data Analyst", "Naib Qasid",
		"Stenographer", "Accounts Officer", "Legal Advisor", "Network Administrator", "Research Officer",
		"Junior Clerk", "Driver", "Security Guard", "Inspector", "Auditor", "Procurement Officer",
		"Communications Officer", "Librarian", "Chowkidar", "Data Entry Operator", "Assistant Manager", "Economist"}
	departments = []string{"Administration", "Information Technology", "Licensing", "Research", "Finance",
		"Legal", "Supervision", "Human Resources", "Communications", "Enforcement", "Policy"}
	places = []struct{ city, province string }{{"Lahore", "punjab"}, {"Rawalpindi", "punjab"}, {"Multan", "punjab"},
		{"Karachi", "sindh"}, {"Hyderabad", "sindh"}, {"Peshawar", "kpk"}, {"Quetta", "balochistan"},
		{"Islamabad", "islamabad"}, {"Gilgit", "gb"}, {"Muzaffarabad", "ajk"}}
	skills = []string{"ms office", "urdu typing", "english typing", "go", "postgresql", "python", "accounting",
		"auditing", "report writing", "driving", "regulatory compliance", "statistics", "networking", "linux",
		"procurement", "legal drafting", "public relations", "kubernetes", "data entry", "customer service"}
	words = strings.Fields(`the regulator seeks candidates for the post who will support operations across the
		province and work with teams on policy licensing enforcement and reporting duties include preparing
		files records correspondence analysis dashboards inspections audits and meetings mulazmat ka mauqa
		sarkari naukri tajurba zaroori hai daftar ki zimmedari candidates must be punctual honest and able to
		work under pressure experience with government procedures is an advantage`)
	levels = []string{"matric", "intermediate", "bachelor", "master", "mphil", "phd"}
)

// Seed writes cfg.Jobs jobs into jobs.jobs with COPY. pool must connect as
// the table's owner (or a superuser): COPY into a table with row-level
// security is refused to the application role.
func Seed(ctx context.Context, pool *pgxpool.Pool, cfg SeedConfig) (SeedResult, error) {
	if cfg.Jobs <= 0 {
		cfg.Jobs = 200_000
	}
	if cfg.Open <= 0 {
		cfg.Open = 3_000
	}
	if cfg.Drafts <= 0 {
		cfg.Drafts = cfg.Jobs / 100
	}
	if cfg.Orgs <= 0 {
		cfg.Orgs = 50
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	if cfg.Open+cfg.Drafts > cfg.Jobs {
		return SeedResult{}, fmt.Errorf("jobsload: %d open and %d drafts do not fit in %d jobs", cfg.Open, cfg.Drafts, cfg.Jobs)
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed*7+1))
	res := SeedResult{Jobs: cfg.Jobs, Open: cfg.Open, Drafts: cfg.Drafts, Closed: cfg.Jobs - cfg.Open - cfg.Drafts}
	for range cfg.Orgs {
		res.OrgIDs = append(res.OrgIDs, uuid.Must(uuid.NewV7()))
	}
	now := cfg.Now.UTC()
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == cfg.Jobs {
			return nil, nil
		}
		n := i
		i++
		org := res.OrgIDs[rng.IntN(len(res.OrgIDs))]
		place := places[rng.IntN(len(places))]
		title := titles[rng.IntN(len(titles))]
		dept := departments[rng.IntN(len(departments))]
		var desc strings.Builder
		for w := range 40 + rng.IntN(60) {
			if w > 0 {
				desc.WriteByte(' ')
			}
			desc.WriteString(words[rng.IntN(len(words))])
		}
		req := pick(rng, skills, 1+rng.IntN(3))
		crit := map[string]any{
			"min_education": levels[rng.IntN(4)], "min_experience_years": rng.IntN(8),
			"required_skills": req, "preferred_skills": pick(rng, skills, rng.IntN(3)),
		}
		if rng.IntN(2) == 0 {
			crit["age_min"], crit["age_max"] = 18, 30+rng.IntN(15)
		}
		criteria, err := json.Marshal(crit)
		if err != nil {
			return nil, err
		}
		var status string
		var opens, closes time.Time
		var published, closed *time.Time
		// Ages are spread over two years of history; open jobs opened in
		// the last month and close within the next two.
		switch {
		case n < cfg.Open:
			status = "published"
			opens = now.Add(-time.Duration(1+rng.IntN(30*24)) * time.Hour)
			closes = now.Add(time.Duration(24+rng.IntN(60*24)) * time.Hour)
			published = &opens
		case n < cfg.Open+cfg.Drafts:
			status = "draft"
			opens = now.Add(time.Duration(24+rng.IntN(30*24)) * time.Hour)
			closes = opens.Add(30 * 24 * time.Hour)
		default:
			status = "closed"
			opens = now.Add(-time.Duration(24*60+rng.IntN(2*365*24)) * time.Hour) // closes (≤ 57 days later) in the past
			closes = opens.Add(time.Duration(7+rng.IntN(50)) * 24 * time.Hour)
			published = &opens
			closed = &closes
		}
		created := opens.Add(-48 * time.Hour)
		id := uuidV7At(created, rng)
		grade := fmt.Sprintf("BPS-%d", 1+rng.IntN(20))
		return []any{id, org, status, 1 + rng.IntN(3), fmt.Sprintf("%s (%s)", title, dept), dept, desc.String(),
			place.city, place.province, grade, 1 + rng.IntN(20), opens, closes, criteria, org, created, created,
			published, closed}, nil
	})
	cols := []string{"id", "org_id", "status", "version", "title", "department", "description", "location", "province",
		"grade", "positions", "opens_at", "closes_at", "criteria", "created_by", "created_at", "updated_at",
		"published_at", "closed_at"}
	// Secondary indexes (four GIN among them) are dropped for the COPY and
	// built again after it: a bulk build is several times faster than
	// maintaining them row by row. Their definitions are read from the
	// catalogue, so this follows whatever the migrations create.
	var defs []string
	rows, err := pool.Query(ctx, `SELECT indexdef FROM pg_indexes WHERE schemaname = 'jobs' AND tablename = 'jobs'
		AND indexname <> 'jobs_pkey'`)
	if err != nil {
		return res, err
	}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return res, err
		}
		defs = append(defs, d)
	}
	if err := rows.Err(); err != nil {
		return res, err
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DO $$ DECLARE r record; BEGIN
			FOR r IN SELECT indexname FROM pg_indexes WHERE schemaname = 'jobs' AND tablename = 'jobs' AND indexname <> 'jobs_pkey'
			LOOP EXECUTE format('DROP INDEX jobs.%I', r.indexname); END LOOP; END $$`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"jobs", "jobs"}, cols, src); err != nil {
			return fmt.Errorf("jobsload: copy: %w", err)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '512MB'"); err != nil {
			return err
		}
		for _, d := range defs {
			if _, err := tx.Exec(ctx, d); err != nil {
				return fmt.Errorf("jobsload: rebuild index: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if _, err := pool.Exec(ctx, "ANALYZE jobs.jobs"); err != nil {
		return res, err
	}
	res.Took = time.Since(start)
	return res, nil
}

func pick(rng *rand.Rand, from []string, n int) []string {
	out := []string{}
	for _, i := range rng.Perm(len(from))[:n] {
		out = append(out, from[i])
	}
	return out
}

// uuidV7At is a UUIDv7 for time t (ids carry their creation time, as the
// application's do).
func uuidV7At(t time.Time, rng *rand.Rand) uuid.UUID {
	var u uuid.UUID
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	r1, r2 := rng.Uint64(), rng.Uint64()
	for i := range 8 {
		u[6+i%2] = byte(r1 >> (8 * i))
		u[8+i] = byte(r2 >> (8 * i))
	}
	u[6] = 0x70 | (u[6] & 0x0f)
	u[8] = 0x80 | (u[8] & 0x3f)
	return u
}
