// Package appsload seeds a realistic PVARA data set fast, for the load
// harness (cmd/pvara-load): organisations with staff, candidates with
// complete profiles, 200,000 jobs (internal/jobs/jobsload) and 1,000,000
// applications spread over several months (so many monthly partitions are
// exercised), one large organisation holding half of them. Everything is
// written with COPY, secondary indexes dropped and rebuilt around each load
// (internal/loadgen/bulk).
//
// Every account shares one password, hashed once with the server's argon2id
// parameters, so the harness can log in as anyone. CNICs are encrypted and
// blind-indexed with the server's keys (the same PVARA_CRYPTO_* values), so
// the server reads them like any registered account's.
package appsload

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pvara-gov/pvara/internal/jobs/jobsload"
	"github.com/pvara-gov/pvara/internal/loadgen/bulk"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
)

// Password is the password of every seeded account.
const Password = "load test passphrase 2026"

// CandidateEmail is the e-mail of seeded candidate i.
func CandidateEmail(i int) string { return fmt.Sprintf("cand%07d@load.pvara.test", i) }

// StaffEmail is the e-mail of recruiter k of seeded organisation org
// (organisation 0 is the large one).
func StaffEmail(org, k int) string { return fmt.Sprintf("staff%03d-%02d@load.pvara.test", org, k) }

// Config says what to seed. Zero values take the defaults in brackets.
type Config struct {
	Jobs int // jobs in total [200,000]
	Open int // of which published and open now [3,000]
	Orgs int // organisations [50]; organisation 0 is the large one
	// StaffPerOrg recruiters per organisation [4].
	StaffPerOrg int
	// Candidates with complete profiles [200,000]. The first Reserve of
	// them [Candidates/10, at most 20,000] have no application, for the
	// harness's submissions.
	Candidates int
	Reserve    int
	// Applications [1,000,000]; LargeShare of them [0.5] go to jobs of
	// organisation 0, the rest spread over the others.
	Applications int
	LargeShare   float64
	// Months of history the applications spread over [6].
	Months int
	// PasswordHash is the argon2id hash of Password, made with the
	// server's parameters (a hash with other parameters works but is
	// rehashed at each login). Required.
	PasswordHash string
	// Cipher holds the server's field keys. Required.
	Cipher *fieldcrypt.Cipher
	// Seed makes the data reproducible [1].
	Seed uint64
	// Now anchors the dates [time.Now()].
	Now time.Time
	// Log receives progress lines (may be nil).
	Log func(format string, args ...any)
}

// Result says what was seeded.
type Result struct {
	OrgIDs       []uuid.UUID
	Staff        int
	Candidates   int
	Jobs         int
	Applications int
	// ByOrg counts applications per organisation (index as OrgIDs).
	ByOrg []int
	// Partitions is the number of monthly partitions holding applications.
	Partitions int
	Took       time.Duration
}

func (c *Config) defaults() error {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Jobs, 200_000)
	def(&c.Open, 3_000)
	def(&c.Orgs, 50)
	def(&c.StaffPerOrg, 4)
	def(&c.Candidates, 200_000)
	def(&c.Reserve, min(c.Candidates/10, 20_000))
	def(&c.Applications, 1_000_000)
	def(&c.Months, 6)
	if c.LargeShare <= 0 || c.LargeShare >= 1 {
		c.LargeShare = 0.5
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Now.IsZero() {
		c.Now = time.Now()
	}
	c.Now = c.Now.UTC()
	if c.Log == nil {
		c.Log = func(string, ...any) {}
	}
	switch {
	case c.PasswordHash == "":
		return fmt.Errorf("appsload: a password hash is required")
	case c.Cipher == nil:
		return fmt.Errorf("appsload: the field cipher is required")
	case c.Orgs < 2:
		return fmt.Errorf("appsload: at least 2 organisations (one large, one small)")
	case c.Reserve >= c.Candidates:
		return fmt.Errorf("appsload: %d reserved candidates leave none of %d to apply", c.Reserve, c.Candidates)
	}
	return nil
}

// Seed writes the data set through pool, which must connect as the tables'
// owner (a superuser, as `pvara migrate` does) into a migrated database
// that holds no earlier seed.
func Seed(ctx context.Context, pool *pgxpool.Pool, cfg Config) (Result, error) {
	if err := cfg.defaults(); err != nil {
		return Result{}, err
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed*31+7))
	res := Result{ByOrg: make([]int, cfg.Orgs)}
	for range cfg.Orgs {
		res.OrgIDs = append(res.OrgIDs, bulk.UUIDv7At(cfg.Now.AddDate(-3, 0, 0), rng))
	}
	step := time.Now()
	if err := seedAccounts(ctx, pool, &cfg, rng, &res); err != nil {
		return res, err
	}
	cfg.Log("accounts: %d organisations, %d staff, %d candidates with profiles in %v", cfg.Orgs, res.Staff, res.Candidates, time.Since(step).Round(time.Millisecond))
	step = time.Now()
	jr, err := jobsload.Seed(ctx, pool, jobsload.SeedConfig{Jobs: cfg.Jobs, Open: cfg.Open, OrgIDs: res.OrgIDs,
		Drafts: cfg.Jobs / 100, Seed: cfg.Seed, Now: cfg.Now})
	if err != nil {
		return res, err
	}
	res.Jobs = jr.Jobs
	cfg.Log("jobs: %d (%d open) in %v", jr.Jobs, jr.Open, time.Since(step).Round(time.Millisecond))
	step = time.Now()
	if err := seedApplications(ctx, pool, &cfg, rng, &res); err != nil {
		return res, err
	}
	cfg.Log("applications: %d over %d monthly partitions (large organisation: %d) in %v", res.Applications, res.Partitions, res.ByOrg[0], time.Since(step).Round(time.Millisecond))
	for _, t := range []string{"auth.users", "auth.orgs", "applications.profiles", "applications.applications", "applications.guards", "applications.status_history"} {
		if _, err := pool.Exec(ctx, "ANALYZE "+t); err != nil {
			return res, err
		}
	}
	res.Took = time.Since(start)
	return res, nil
}

var (
	firstNames = strings.Fields(`Muhammad Ahmed Ali Hassan Hussain Usman Bilal Hamza Zain Fatima Ayesha Zainab Maryam
		Hira Sana Iqra Mehwish Saima Imran Kamran Farhan Asad Naveed Shahid Rabia Nadia Sadia Amna Khadija Noor Waqas
		Junaid Faisal Tariq Asma Uzma Bushra Adnan Salman Danish`)
	lastNames = strings.Fields(`Khan Ahmed Ali Shah Malik Butt Chaudhry Qureshi Siddiqui Sheikh Raza Abbasi Awan
		Baloch Bhatti Javed Hashmi Mirza Rana Niazi Khattak Memon Soomro Jatoi Rizvi Naqvi Gillani Durrani Afridi Yousafzai`)
	provinces = []struct{ name, district string }{{"punjab", "Lahore"}, {"punjab", "Rawalpindi"}, {"punjab", "Faisalabad"},
		{"punjab", "Multan"}, {"sindh", "Karachi"}, {"sindh", "Hyderabad"}, {"kpk", "Peshawar"}, {"kpk", "Abbottabad"},
		{"balochistan", "Quetta"}, {"islamabad", "Islamabad"}, {"gb", "Gilgit"}, {"ajk", "Muzaffarabad"}}
	skills = []string{"ms office", "urdu typing", "english typing", "go", "postgresql", "python", "accounting",
		"auditing", "report writing", "driving", "regulatory compliance", "statistics", "networking", "linux",
		"procurement", "legal drafting", "public relations", "kubernetes", "data entry", "customer service"}
	fields      = []string{"Computer Science", "Accounting", "Law", "Economics", "Electrical Engineering", "Commerce", "English", "Statistics"}
	schools     = []string{"University of the Punjab", "NUST", "LUMS", "University of Karachi", "University of Peshawar", "Quaid-i-Azam University", "COMSATS", "FAST-NUCES"}
	employers   = []string{"WAPDA", "PTCL", "State Bank of Pakistan", "NADRA", "Habib Bank", "Punjab IT Board", "Pakistan Railways", "K-Electric"}
	levels      = []string{"matric", "intermediate", "bachelor", "master", "mphil", "phd"}
	resumeWords = strings.Fields(`experienced professional with a record of delivering projects in government and
		private sector worked on accounts audits procurement software reporting data analysis customer service
		field operations team lead supervised staff prepared files correspondence dashboards mulazmat tajurba
		daftar kaam committed honest punctual fluent in urdu and english seeking a role in public service`)
	statuses = []string{"submitted", "under_review", "shortlisted", "interview", "offered", "hired", "rejected", "withdrawn"}
)

// candidate is what an application copies of its candidate.
type candidate struct {
	name        string
	gender      string
	dob         time.Time
	province    string
	district    string
	skills      []string
	resume      string
	profileJSON []byte // the snapshot an application stores
	education   []byte
	experience  []byte
}

func makeCandidate(i int, now time.Time, seed uint64) candidate {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	c := candidate{}
	c.name = firstNames[r.IntN(len(firstNames))] + " " + lastNames[r.IntN(len(lastNames))]
	c.gender = []string{"male", "female", "male", "female", "other"}[min(4, r.IntN(9)/2)]
	c.dob = time.Date(now.Year()-20-r.IntN(25), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
	p := provinces[r.IntN(len(provinces))]
	c.province, c.district = p.name, p.district
	for _, k := range r.Perm(len(skills))[:1+r.IntN(5)] {
		c.skills = append(c.skills, skills[k])
	}
	var b strings.Builder
	for w := range 25 + r.IntN(40) {
		if w > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(resumeWords[r.IntN(len(resumeWords))])
	}
	c.resume = b.String()
	lvl := 1 + r.IntN(len(levels)-1)
	var edu []map[string]any
	for l := 0; l <= lvl; l += 2 {
		edu = append(edu, map[string]any{"level": levels[l], "field": fields[r.IntN(len(fields))],
			"institution": schools[r.IntN(len(schools))], "year": c.dob.Year() + 16 + 2*l})
	}
	var exp []map[string]any
	for range r.IntN(3) {
		s := now.AddDate(-1-r.IntN(10), -r.IntN(12), 0)
		exp = append(exp, map[string]any{"title": "Officer", "employer": employers[r.IntN(len(employers))],
			"start_date": s.Format("2006-01-02")})
	}
	c.education, _ = json.Marshal(edu)
	c.experience, _ = json.Marshal(exp)
	c.profileJSON, _ = json.Marshal(map[string]any{
		"version": 1, "updated_at": now.AddDate(-1, 0, 0).Format(time.RFC3339),
		"date_of_birth": c.dob.Format("2006-01-02"), "gender": c.gender, "domicile_province": c.province,
		"domicile_district": c.district, "education": json.RawMessage(c.education),
		"experience": json.RawMessage(c.experience), "skills": c.skills, "resume_text": c.resume,
	})
	return c
}

// cnic is candidate i's CNIC (13 digits, distinct per i).
func cnic(i int) string { return fmt.Sprintf("3%04d%07d%d", 5202+i/10_000_000, i%10_000_000, i%10) }

func seedAccounts(ctx context.Context, pool *pgxpool.Pool, cfg *Config, rng *rand.Rand, res *Result) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		orgRows := make([][]any, cfg.Orgs)
		for i, id := range res.OrgIDs {
			name, slug := fmt.Sprintf("Load Organisation %03d", i), fmt.Sprintf("load-org-%03d", i)
			if i == 0 {
				name, slug = "Load Large Organisation", "load-large"
			}
			orgRows[i] = []any{id, name, slug, cfg.Now.AddDate(-3, 0, 0)}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"auth", "orgs"}, []string{"id", "name", "slug", "created_at"}, pgx.CopyFromRows(orgRows)); err != nil {
			return fmt.Errorf("appsload: orgs: %w", err)
		}
		created := cfg.Now.AddDate(-1, 0, 0)
		staff := cfg.Orgs * cfg.StaffPerOrg
		n := 0
		users := pgx.CopyFromFunc(func() ([]any, error) {
			if n == staff+cfg.Candidates {
				return nil, nil
			}
			i := n
			n++
			id := bulk.UUIDv7At(created, rng)
			if i < staff {
				org, k := i/cfg.StaffPerOrg, i%cfg.StaffPerOrg
				role := "recruiter"
				if k == 0 {
					role = "org_admin"
				}
				return []any{id, StaffEmail(org, k), fmt.Sprintf("Recruiter %d of %d", k, org), role, res.OrgIDs[org],
					cfg.PasswordHash, nil, nil, created, created}, nil
			}
			c := i - staff
			enc, err := cfg.Cipher.EncryptString(cnic(c), "auth.users.cnic:"+id.String())
			if err != nil {
				return nil, err
			}
			cand := makeCandidate(c, cfg.Now, cfg.Seed)
			return []any{id, CandidateEmail(c), cand.name, "candidate", nil, cfg.PasswordHash, enc,
				cfg.Cipher.BlindIndex("auth.users.cnic", []byte(cnic(c))), created, created}, nil
		})
		if _, err := bulk.Copy(ctx, tx, pgx.Identifier{"auth", "users"}, []string{"id", "email", "full_name", "role",
			"org_id", "password_hash", "cnic_enc", "cnic_bidx", "created_at", "updated_at"}, users); err != nil {
			return fmt.Errorf("appsload: users: %w", err)
		}
		res.Staff, res.Candidates = staff, cfg.Candidates
		// The candidates' ids, in order, for their profiles.
		rows, err := tx.Query(ctx, "SELECT id FROM auth.users WHERE role = 'candidate' AND email LIKE 'cand%@load.pvara.test' ORDER BY email")
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		p := 0
		profiles := pgx.CopyFromFunc(func() ([]any, error) {
			if p == len(ids) {
				return nil, nil
			}
			c := makeCandidate(p, cfg.Now, cfg.Seed)
			id := ids[p]
			p++
			return []any{id, c.dob, c.gender, c.province, c.district, c.education, c.experience, c.skills, c.resume,
				created, created}, nil
		})
		if _, err := bulk.Copy(ctx, tx, pgx.Identifier{"applications", "profiles"}, []string{"user_id", "date_of_birth",
			"gender", "domicile_province", "domicile_district", "education", "experience", "skills", "resume_text",
			"created_at", "updated_at"}, profiles); err != nil {
			return fmt.Errorf("appsload: profiles: %w", err)
		}
		return nil
	})
}

type job struct {
	id, org  uuid.UUID
	from, to time.Time // when applications may be made (within the months of history)
}

func seedApplications(ctx context.Context, pool *pgxpool.Pool, cfg *Config, rng *rand.Rand, res *Result) error {
	earliest := time.Date(cfg.Now.Year(), cfg.Now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -(cfg.Months - 1), 0)
	rows, err := pool.Query(ctx, `SELECT id, org_id, opens_at, closes_at FROM jobs.jobs
		WHERE status <> 'draft' AND closes_at > $1 AND opens_at < $2 ORDER BY id`, earliest, cfg.Now)
	if err != nil {
		return err
	}
	orgIndex := map[uuid.UUID]int{}
	for i, id := range res.OrgIDs {
		orgIndex[id] = i
	}
	var large, small []job
	for rows.Next() {
		var j job
		if err := rows.Scan(&j.id, &j.org, &j.from, &j.to); err != nil {
			return err
		}
		j.from = maxTime(j.from, earliest)
		j.to = minTime(j.to, cfg.Now.Add(-time.Minute))
		if !j.to.After(j.from) {
			continue
		}
		if orgIndex[j.org] == 0 {
			large = append(large, j)
		} else {
			small = append(small, j)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(large) == 0 || len(small) == 0 {
		return fmt.Errorf("appsload: no jobs open within the last %d months for the large organisation or the others (seed more jobs)", cfg.Months)
	}
	var ids []uuid.UUID
	rows, err = pool.Query(ctx, "SELECT id FROM auth.users WHERE role = 'candidate' AND email LIKE 'cand%@load.pvara.test' ORDER BY email")
	if err != nil {
		return err
	}
	if ids, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
		return err
	}
	// Partitions for every month of history (the migration creates only
	// the recent ones).
	if _, err := pool.Exec(ctx, "SELECT platform.ensure_monthly_partitions('applications', 'applications', $1, $2)", earliest, cfg.Months+3); err != nil {
		return fmt.Errorf("appsload: partitions: %w", err)
	}
	type app struct {
		id, org, job uuid.UUID
		ci           int
		at           time.Time
		status       string
	}
	seen := make(map[[2]uint32]struct{}, cfg.Applications)
	jobIdx := map[uuid.UUID]uint32{}
	apps := make([]app, 0, cfg.Applications)
	months := map[string]bool{}
	for range cfg.Applications {
		list := small
		if rng.Float64() < cfg.LargeShare {
			list = large
		}
		var j job
		var ci int
		for {
			j = list[rng.IntN(len(list))]
			ci = cfg.Reserve + rng.IntN(cfg.Candidates-cfg.Reserve)
			ji, ok := jobIdx[j.id]
			if !ok {
				ji = uint32(len(jobIdx))
				jobIdx[j.id] = ji
			}
			k := [2]uint32{ji, uint32(ci)}
			if _, dup := seen[k]; !dup {
				seen[k] = struct{}{}
				break
			}
		}
		at := j.from.Add(time.Duration(rng.Int64N(int64(j.to.Sub(j.from))))).Truncate(time.Millisecond)
		// Applications to jobs closed for a while have moved along the
		// pipeline; recent ones are mostly still submitted.
		st := "submitted"
		if j.to.Before(cfg.Now.Add(-7 * 24 * time.Hour)) {
			st = statuses[rng.IntN(len(statuses))]
		} else if rng.IntN(4) == 0 {
			st = statuses[1+rng.IntN(2)]
		}
		apps = append(apps, app{id: bulk.UUIDv7At(at, rng), org: j.org, job: j.id, ci: ci, at: at, status: st})
		res.ByOrg[orgIndex[j.org]]++
		months[at.Format("200601")] = true
	}
	seen = nil
	res.Partitions = len(months)
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		n := 0
		src := pgx.CopyFromFunc(func() ([]any, error) {
			if n == len(apps) {
				return nil, nil
			}
			a := apps[n]
			n++
			c := makeCandidate(a.ci, cfg.Now, cfg.Seed)
			var score *float64
			var eligible *bool
			var model *string
			var scoredAt *time.Time
			if rng.IntN(100) < 85 {
				v := float64(rng.IntN(10001)) / 100
				e := v >= 30
				m, t := "load-1", a.at.Add(time.Duration(1+rng.IntN(600))*time.Second)
				score, eligible, model, scoredAt = &v, &e, &m, &t
			}
			var cover *string
			if rng.IntN(3) == 0 {
				s := "I am applying for this post. " + c.resume[:min(len(c.resume), 120)]
				cover = &s
			}
			return []any{a.id, a.at, a.org, a.job, ids[a.ci], fmt.Sprintf("PVR-S%07d", n), a.status, 1, cover, c.name,
				fieldcrypt.MaskCNIC(cnic(a.ci)), c.gender, c.dob, c.province, c.district, c.skills, c.resume,
				c.profileJSON, score, eligible, model, scoredAt, a.at}, nil
		})
		if _, err := bulk.Copy(ctx, tx, pgx.Identifier{"applications", "applications"}, []string{"id", "created_at",
			"org_id", "job_id", "candidate_id", "receipt_number", "status", "version", "cover_letter", "candidate_name",
			"cnic_masked", "gender", "date_of_birth", "domicile_province", "domicile_district", "skills", "resume_text",
			"profile", "ai_score", "eligible", "model_version", "scored_at", "updated_at"}, src); err != nil {
			return fmt.Errorf("appsload: applications: %w", err)
		}
		cfg.Log("applications written; guards and history next")
		n = 0
		guards := pgx.CopyFromFunc(func() ([]any, error) {
			if n == len(apps) {
				return nil, nil
			}
			a := apps[n]
			n++
			return []any{a.job, ids[a.ci], a.id, a.at, fmt.Sprintf("PVR-S%07d", n)}, nil
		})
		if _, err := bulk.Copy(ctx, tx, pgx.Identifier{"applications", "guards"}, []string{"job_id", "candidate_id",
			"application_id", "created_at", "receipt_number"}, guards); err != nil {
			return fmt.Errorf("appsload: guards: %w", err)
		}
		n = 0
		history := pgx.CopyFromFunc(func() ([]any, error) {
			if n == len(apps) {
				return nil, nil
			}
			a := apps[n]
			n++
			return []any{bulk.UUIDv7At(a.at, rng), a.id, a.org, ids[a.ci], nil, "submitted", ids[a.ci], a.at}, nil
		})
		if _, err := bulk.Copy(ctx, tx, pgx.Identifier{"applications", "status_history"}, []string{"id",
			"application_id", "org_id", "candidate_id", "from_status", "to_status", "changed_by", "changed_at"}, history); err != nil {
			return fmt.Errorf("appsload: status history: %w", err)
		}
		res.Applications = len(apps)
		return nil
	})
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// CheapSecrets returns fresh field keys and a hash of Password made with the
// cheapest argon2id parameters: the Cipher and PasswordHash of a small seed
// in a test, which checks the data, not argon2.
func CheapSecrets() (*fieldcrypt.Cipher, string, error) {
	k, err := fieldcrypt.GenerateKey()
	if err != nil {
		return nil, "", err
	}
	bk, err := fieldcrypt.GenerateKey()
	if err != nil {
		return nil, "", err
	}
	cipher, err := fieldcrypt.New([]fieldcrypt.Key{{ID: "k1", Secret: k}}, bk)
	if err != nil {
		return nil, "", err
	}
	hash, err := argon2id.CreateHash(Password, &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	return cipher, hash, err
}
