package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/applications/appsload"
	"github.com/pvara-gov/pvara/internal/loadgen"
)

// scenario is one endpoint under load.
type scenario struct {
	name string
	// rate is the default open-loop rate (the targets where it
	// sets one).
	rate int
	doc  string
	// prepare logs in and collects what the requests need, and returns
	// the targeter.
	prepare func(ctx context.Context, h *harness) (loadgen.Targeter, error)
}

var scenarios = []scenario{
	{"login", 40, "POST /v1/auth/login, candidates in turn (argon2id: ~20 ms of a core each)", prepareLogin},
	{"jobs", 1000, "GET /v1/jobs, the board's first page (anonymous)", func(_ context.Context, h *harness) (loadgen.Targeter, error) {
		return loadgen.Gets(h.boardHeader(), h.target+"/v1/jobs"), nil
	}},
	{"jobs_q", 500, "GET /v1/jobs?q=..., eight searches in turn", func(_ context.Context, h *harness) (loadgen.Targeter, error) {
		var urls []string
		for _, q := range []string{"engineer", "naib qasid", "mulazmat", "python", "auditor", "accounts officer", "sarkari naukri", "linux"} {
			urls = append(urls, h.target+"/v1/jobs?q="+url.QueryEscape(q))
		}
		return loadgen.Gets(h.boardHeader(), urls...), nil
	}},
	{"submit", 2500, "POST /v1/jobs/{id}/applications with an Idempotency-Key, each (candidate, open job) once", prepareSubmit},
	{"search_small", 1000, "GET /v1/applications, filters + recency sort, staff of the small organisations in turn", func(ctx context.Context, h *harness) (loadgen.Targeter, error) {
		return h.searchTargets(ctx, smallOrgs(h), recencyQueries)
	}},
	{"search_large", 500, "GET /v1/applications, filters + recency sort, staff of the large organisation", func(ctx context.Context, h *harness) (loadgen.Targeter, error) {
		return h.searchTargets(ctx, []int{0}, recencyQueries)
	}},
	{"search_text", 20, "GET /v1/applications?q=..., relevance order, large organisation", func(ctx context.Context, h *harness) (loadgen.Targeter, error) {
		return h.searchTargets(ctx, []int{0}, textQueries)
	}},
}

// recencyQueries are the staff searches of the search_small/large
// scenarios: filters with the newest first.
var recencyQueries = []string{
	"sort=submitted_at",
	"status=submitted&sort=submitted_at",
	"status=under_review&province=punjab&sort=submitted_at",
	"min_score=60&sort=submitted_at",
	"province=sindh&sort=submitted_at",
	"status=shortlisted&min_score=40&max_score=90&sort=submitted_at",
	"sort=score",
	"status=submitted&sort=score",
}

// textQueries are the text searches (name, skill, résumé word) of
// search_text, in relevance order.
//
// The cost of a relevance search grows with the number of matches (every
// match is ranked): a single skill such as "python" matches about one
// application in six, and a word of the seeded résumés most of them. These
// are what a recruiter narrowing a list types: full names and skill pairs.
var textQueries = []string{"q=ahmed+khan", "q=fatima+malik", "q=zainab+qureshi", "q=bilal+butt", "q=python+kubernetes", "q=linux+networking", "q=imran+shah", "q=sana+siddiqui"}

type harness struct {
	target      string
	orgs, staff int
	reserve     int
	accounts    int
	rng         *rand.Rand
	client      *http.Client
	logins      map[string]string // e-mail → access token
	mu          sync.Mutex
	// acceptEncoding, when set, is the Accept-Encoding of the board
	// scenarios (jobs, jobs_q), and bodies are then read as sent. Unset,
	// the client does what Go's does: asks for gzip and decompresses.
	acceptEncoding string
}

// boardHeader is the header of the board scenarios' requests.
func (h *harness) boardHeader() http.Header {
	if h.acceptEncoding == "" {
		return nil
	}
	return http.Header{"Accept-Encoding": {h.acceptEncoding}}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	h := &harness{client: &http.Client{Timeout: 30 * time.Second}, logins: map[string]string{}}
	fs.StringVar(&h.target, "target", "http://127.0.0.1:18080", "API base URL of a running pvara serve over the seeded database")
	names := fs.String("scenarios", "login,jobs,jobs_q,submit,search_small,search_large,search_text", "scenarios to run, in order")
	rates := fs.String("rates", "", "open-loop rates overriding the defaults, e.g. submit=1000,search_large=200 (0 skips the open-loop run)")
	closed := fs.String("closed", "", "closed-loop worker counts to run after the open-loop run, e.g. 16,64 (empty: none)")
	duration := fs.Duration("duration", 10*time.Second, "duration of each run")
	warmup := fs.Duration("warmup", 2*time.Second, "closed-loop warm-up (8 workers) before each scenario (0: none)")
	fs.IntVar(&h.orgs, "orgs", 50, "organisations seeded (as seed -orgs)")
	fs.IntVar(&h.staff, "staff", 4, "recruiters per organisation seeded (as seed -staff)")
	fs.IntVar(&h.reserve, "reserve", 20_000, "candidates seeded without applications (as seed -reserve, or its default)")
	fs.IntVar(&h.accounts, "accounts", 400, "candidate accounts the login and submit scenarios use")
	fs.StringVar(&h.acceptEncoding, "accept-encoding", "", "Accept-Encoding of the jobs and jobs_q requests, bodies then read undecoded, e.g. identity, or gzip as a CDN that keeps the compressed bytes (empty: Go's default, gzip decompressed by the client)")
	seedFlag := fs.Uint64("seed", 0, "random seed choosing accounts and jobs (0: from the clock, so runs do not repeat submissions)")
	markdown := fs.String("markdown", "", "also append the results table to this file")
	_ = fs.Parse(args)
	h.target = strings.TrimRight(h.target, "/")
	if *seedFlag == 0 {
		*seedFlag = uint64(time.Now().UnixNano())
	}
	h.rng = rand.New(rand.NewPCG(*seedFlag, *seedFlag>>1+3))
	rateOf := map[string]int{}
	for _, kv := range splitList(*rates) {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			return fmt.Errorf("-rates: %q is not name=rate", kv)
		}
		rateOf[k] = n
	}
	var workers []int
	for _, w := range splitList(*closed) {
		n, err := strconv.Atoi(w)
		if err != nil || n <= 0 {
			return fmt.Errorf("-closed: %q is not a worker count", w)
		}
		workers = append(workers, n)
	}
	var reports []loadgen.Report
	for _, name := range splitList(*names) {
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.name == name })
		if i < 0 {
			return fmt.Errorf("unknown scenario %q (known: %s)", name, scenarioNames())
		}
		sc := scenarios[i]
		rate, ok := rateOf[name]
		if !ok {
			rate = sc.rate
		}
		fmt.Printf("%s: %s\n", sc.name, sc.doc)
		tr, err := sc.prepare(ctx, h)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if *warmup > 0 {
			if _, err := loadgen.Run(ctx, loadgen.Attack{Name: name, Targeter: tr, Workers: 8, Duration: *warmup}); err != nil {
				return err
			}
		}
		if rate > 0 {
			rep, err := loadgen.Run(ctx, loadgen.Attack{Name: name, Targeter: tr, Rate: rate, Workers: 64, Duration: *duration})
			if err != nil {
				return err
			}
			report(rep)
			reports = append(reports, rep)
		}
		for _, w := range workers {
			rep, err := loadgen.Run(ctx, loadgen.Attack{Name: name, Targeter: tr, Workers: w, Duration: *duration})
			if err != nil {
				return err
			}
			report(rep)
			reports = append(reports, rep)
		}
	}
	fmt.Println()
	loadgen.WriteTable(os.Stdout, reports)
	if *markdown != "" {
		f, err := os.OpenFile(*markdown, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		fmt.Fprintf(f, "\n%s, -duration %v\n\n", time.Now().UTC().Format(time.RFC3339), *duration)
		loadgen.WriteTable(f, reports)
		return f.Close()
	}
	return nil
}

func report(r loadgen.Report) {
	fmt.Println(" ", r)
	for _, e := range r.Errors {
		fmt.Println("    error:", e)
	}
	if r.Status["429"] > 0 {
		fmt.Println("    429s: the server's rate limit is on; run it with PVARA_RATELIMIT_REQUESTS and PVARA_RATELIMIT_AUTH_REQUESTS raised (docs/benchmarks.md)")
	}
}

func scenarioNames() string {
	var n []string
	for _, s := range scenarios {
		n = append(n, s.name)
	}
	return strings.Join(n, ", ")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func smallOrgs(h *harness) []int {
	var out []int
	for o := 1; o < h.orgs; o++ {
		out = append(out, o)
	}
	return out
}

// candidates picks h.accounts reserved candidates at a random offset (the
// reserve holds no seeded application).
func (h *harness) candidates() []string {
	n := min(h.accounts, h.reserve)
	off := h.rng.IntN(h.reserve)
	out := make([]string, n)
	for i := range out {
		out[i] = appsload.CandidateEmail((off + i) % h.reserve)
	}
	return out
}

func prepareLogin(_ context.Context, h *harness) (loadgen.Targeter, error) {
	var targets []loadgen.Target
	for _, e := range h.candidates() {
		body, _ := json.Marshal(map[string]string{"email": e, "password": appsload.Password})
		targets = append(targets, loadgen.Target{Method: http.MethodPost, URL: h.target + "/v1/auth/login", Body: body,
			Header: http.Header{"Content-Type": {"application/json"}}})
	}
	return loadgen.RoundRobin(targets...), nil
}

// prepareSubmit logs the candidates in and lists the open jobs; request i
// is candidate i mod n applying to the next job of its own random order,
// so no (candidate, job) pair repeats within a run (and, with the random
// choice of candidates, rarely across runs: a repeat answers 409).
func prepareSubmit(ctx context.Context, h *harness) (loadgen.Targeter, error) {
	jobs, err := h.openJobs(ctx)
	if err != nil {
		return nil, err
	}
	emails := h.candidates()
	tokens, err := h.login(ctx, emails)
	if err != nil {
		return nil, err
	}
	offsets := make([]int, len(tokens))
	for i := range offsets {
		offsets[i] = h.rng.IntN(len(jobs))
	}
	body := []byte(`{"cover_letter":"I would like to apply for this post; my profile lists my qualifications."}`)
	n := uint64(len(tokens))
	return loadgen.Sequence(func(i uint64, t *loadgen.Target) error {
		c := i % n
		round := int(i / n)
		if round >= len(jobs) {
			return fmt.Errorf("submit: every (candidate, job) pair is used; raise -accounts")
		}
		j := jobs[(offsets[c]+round)%len(jobs)]
		*t = loadgen.Target{Method: http.MethodPost, URL: h.target + "/v1/jobs/" + j + "/applications", Body: body,
			Header: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + tokens[c]},
				"Idempotency-Key": {uuid.NewString()}}}
		return nil
	}), nil
}

// searchTargets logs in the staff of orgs and makes every (staff, query)
// search request, in turn.
func (h *harness) searchTargets(ctx context.Context, orgs []int, queries []string) (loadgen.Targeter, error) {
	var emails []string
	for _, o := range orgs {
		for k := range h.staff {
			emails = append(emails, appsload.StaffEmail(o, k))
		}
	}
	tokens, err := h.login(ctx, emails)
	if err != nil {
		return nil, err
	}
	var targets []loadgen.Target
	for _, q := range queries {
		for _, tok := range tokens {
			targets = append(targets, loadgen.Target{Method: http.MethodGet, URL: h.target + "/v1/applications?limit=25&" + q,
				Header: http.Header{"Authorization": {"Bearer " + tok}}})
		}
	}
	// Shuffled so consecutive requests come from different organisations
	// and ask different things.
	h.rng.Shuffle(len(targets), func(a, b int) { targets[a], targets[b] = targets[b], targets[a] })
	return loadgen.RoundRobin(targets...), nil
}

// login signs the accounts in, two at a time (each costs an argon2id hash
// on the server), and returns their access tokens in order.
func (h *harness) login(ctx context.Context, emails []string) ([]string, error) {
	tokens := make([]string, len(emails))
	errs := make(chan error, len(emails))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, e := range emails {
		h.mu.Lock()
		tok, ok := h.logins[e]
		h.mu.Unlock()
		if ok {
			tokens[i] = tok
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			tok, err := h.loginOne(ctx, e)
			if err != nil {
				errs <- err
				return
			}
			tokens[i] = tok
			h.mu.Lock()
			h.logins[e] = tok
			h.mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return tokens, nil
}

func (h *harness) loginOne(ctx context.Context, email string) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": appsload.Password})
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.target+"/v1/auth/login", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := h.client.Do(req)
		if err != nil {
			return "", fmt.Errorf("login %s: %w", email, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if (res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusTooManyRequests) && attempt < 50 {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		if res.StatusCode != http.StatusOK {
			return "", fmt.Errorf("login %s: status %d: %s (was the database seeded with pvara-load seed?)", email, res.StatusCode, b)
		}
		var out struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(b, &out); err != nil || out.AccessToken == "" {
			return "", fmt.Errorf("login %s: no access token in %s", email, b)
		}
		return out.AccessToken, nil
	}
}

// openJobs pages through the board for the ids of every open job.
func (h *harness) openJobs(ctx context.Context) ([]string, error) {
	var ids []string
	cursor := ""
	for {
		u := h.target + "/v1/jobs?limit=100"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		res, err := h.client.Do(req)
		if err != nil {
			return nil, err
		}
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("list jobs: status %d: %v", res.StatusCode, err)
		}
		for _, j := range page.Items {
			ids = append(ids, j.ID)
		}
		if page.NextCursor == nil || *page.NextCursor == "" {
			break
		}
		cursor = *page.NextCursor
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no open job on the board (was the database seeded?)")
	}
	return ids, nil
}
