// Package jobsload seeds realistic jobs fast (COPY) for the load commands:
// cmd/pvara-jobsbench (the job board) and cmd/pvara-load (the whole-system
// harness). The load drivers themselves are in internal/loadgen.
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

	"github.com/pvara-gov/pvara/internal/loadgen/bulk"
)

// SeedConfig says what to seed.
type SeedConfig struct {
	// Jobs is the total number of jobs (default 200,000).
	Jobs int
	// Open is how many of them are published and open now (default 3,000);
	// Drafts are drafts (default 1% of Jobs); the rest are closed.
	Open   int
	Drafts int
	// Orgs is the number of organisations the jobs spread over (default 50),
	// made up on the spot; OrgIDs, when set, are existing organisations to
	// use instead (Orgs is then ignored).
	Orgs   int
	OrgIDs []uuid.UUID
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
	res.OrgIDs = append(res.OrgIDs, cfg.OrgIDs...)
	for len(res.OrgIDs) < cfg.Orgs && len(cfg.OrgIDs) == 0 {
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
		id := bulk.UUIDv7At(created, rng)
		grade := fmt.Sprintf("BPS-%d", 1+rng.IntN(20))
		return []any{id, org, status, 1 + rng.IntN(3), fmt.Sprintf("%s (%s)", title, dept), dept, desc.String(),
			place.city, place.province, grade, 1 + rng.IntN(20), opens, closes, criteria, org, created, created,
			published, closed}, nil
	})
	cols := []string{"id", "org_id", "status", "version", "title", "department", "description", "location", "province",
		"grade", "positions", "opens_at", "closes_at", "criteria", "created_by", "created_at", "updated_at",
		"published_at", "closed_at"}
	// Secondary indexes (four GIN among them) are dropped for the COPY and
	// built again after it.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := bulk.Copy(ctx, tx, pgx.Identifier{"jobs", "jobs"}, cols, src)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("jobsload: %w", err)
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
