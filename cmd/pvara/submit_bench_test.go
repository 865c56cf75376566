package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/pvara-gov/pvara/internal/auth"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// BenchmarkSubmitEndpoint is POST /v1/jobs/{job_id}/applications through
// the whole API router in process (token verification, rate limit, the
// real jobs and auth modules, the submission transaction), without a
// network: the server-side cost of one submission. "plain" sends no body
// and no key; "key" sends what the load harness sends (a cover letter and
// an Idempotency-Key). cpu-µs/op is this process's CPU per submission.
//
//	go test -run '^$' -bench SubmitEndpoint -benchtime 5000x ./cmd/pvara
//	PVARA_BENCH_CPUPROFILE=/tmp/submit.cpu go test -run '^$' -bench SubmitEndpoint/key -benchtime 5000x ./cmd/pvara
func BenchmarkSubmitEndpoint(b *testing.B) {
	d := testenv.NewDB(b)
	cfg := testConfig(b, d)
	cfg.Database.MaxConns = 32
	cfg.RateLimit.Requests = 10_000_000
	cfg.RateLimit.AuthRequests = 10_000_000
	cfg.Auth.RegisterIPLimit = 10_000_000
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	a, err := openApp(context.Background(), cfg, logx.Discard())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	r, err := a.router()
	if err != nil {
		b.Fatal(err)
	}
	call := func(method, path, token string, body any, out any, hdr ...string) int {
		var buf bytes.Buffer
		if body != nil {
			_ = json.NewEncoder(&buf).Encode(body)
		}
		req := httptest.NewRequest(method, path, &buf)
		req.RemoteAddr = "10.0.0.1:1234"
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if out != nil {
			_ = json.Unmarshal(w.Body.Bytes(), out)
		}
		return w.Code
	}
	must := func(status int, method, path, token string, body any, out any, hdr ...string) {
		if got := call(method, path, token, body, out, hdr...); got != status {
			b.Fatalf("%s %s: %d, want %d", method, path, got, status)
		}
	}
	rec := benchRecruiter(b, a, must, "bench")
	const jobs, candidates = 300, 100
	jobIDs := make([]string, jobs)
	for i := range jobIDs {
		var j struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
		}
		must(201, "POST", "/v1/jobs", rec, jobBody(fmt.Sprint("Bench job ", i)), &j)
		must(200, "POST", "/v1/jobs/"+j.ID+"/publish", rec, nil, nil, "If-Match", `"v`+strconv.Itoa(j.Version)+`"`)
		jobIDs[i] = j.ID
	}
	tokens := make([]string, candidates)
	for i := range tokens {
		email, pw := fmt.Sprintf("c%d@bench.test", i), "bench candidate passphrase"
		must(201, "POST", "/v1/auth/register", "", map[string]string{
			"email": email, "password": pw, "full_name": fmt.Sprint("Candidate ", i),
			"cnic": fmt.Sprintf("35202-%07d-1", i), "phone": "+923001234567",
		}, nil)
		tokens[i] = benchLogin(must, email, pw)
		must(200, "PUT", "/v1/me/profile", tokens[i], completeProfile(), nil)
	}
	// Each (job, candidate) pair submits once, across both sub-benchmarks.
	var n atomic.Int64
	body := map[string]string{"cover_letter": "I would like to apply for this post; my profile lists my qualifications."}
	for _, withKey := range []bool{false, true} {
		name := "plain"
		if withKey {
			// As the load harness sends it: a cover letter and a fresh
			// Idempotency-Key per request.
			name = "key"
		}
		b.Run(name, func(b *testing.B) {
			if int(n.Load())+b.N > jobs*candidates {
				b.Fatalf("at most %d submissions in all (b.N = %d)", jobs*candidates, b.N)
			}
			b.SetParallelism(16)
			stop := benchCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(n.Add(1) - 1)
					var hdr []string
					var in any
					if withKey {
						hdr, in = []string{"Idempotency-Key", fmt.Sprintf("bench-%d", i)}, body
					}
					if got := call("POST", "/v1/jobs/"+jobIDs[i/candidates]+"/applications", tokens[i%candidates], in, nil, hdr...); got != http.StatusCreated {
						b.Errorf("submission %d: %d", i, got)
						return
					}
				}
			})
			stop()
		})
	}
}

// benchCPU resets b's timer and returns the function that ends the timed
// part: it reports the process's CPU time (user + system, every goroutine:
// handlers, GC, pgx's readers; not PostgreSQL's) per operation as
// "cpu-µs/op", which a shared, noisy machine disturbs far less than ns/op.
// With PVARA_BENCH_CPUPROFILE=<file> the timed part alone is CPU-profiled
// (go test -cpuprofile also profiles the set-up: logins, argon2id).
func benchCPU(b *testing.B) (stop func()) {
	b.Helper()
	var prof *os.File
	if path := os.Getenv("PVARA_BENCH_CPUPROFILE"); path != "" && b.N > 1 {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		prof = f
	}
	before := processCPU()
	b.ResetTimer()
	return func() {
		b.StopTimer()
		used := processCPU() - before
		b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-µs/op")
		if prof != nil {
			pprof.StopCPUProfile()
			_ = prof.Close()
		}
	}
}

// benchMust sends one request through the API and fails the benchmark on
// any other status than the one given.
type benchMust func(status int, method, path, token string, body, out any, hdr ...string)

// benchLogin signs in through the API and returns the access token.
func benchLogin(must benchMust, email, pw string) string {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	must(200, "POST", "/v1/auth/login", "", map[string]string{"email": email, "password": pw}, &tok)
	return tok.AccessToken
}

// benchRecruiter makes a platform administrator (in the auth service), then
// through the API an organisation named name and one of its recruiters, and
// returns the recruiter's token.
func benchRecruiter(b *testing.B, a *app, must benchMust, name string) string {
	b.Helper()
	rootEmail, rootPW := "root@"+name+".test", name+" bench platform passphrase"
	if _, _, err := a.auth.CreatePlatformAdmin(context.Background(), auth.AdminInput{Email: rootEmail, Password: rootPW, FullName: "Root"}); err != nil {
		b.Fatal(err)
	}
	root := benchLogin(must, rootEmail, rootPW)
	var org struct {
		ID string `json:"id"`
	}
	must(201, "POST", "/v1/orgs", root, map[string]string{"name": name + " bench", "slug": name + "-bench"}, &org)
	recEmail, recPW := "rec@"+name+".test", name+" bench recruiter passphrase"
	must(201, "POST", "/v1/orgs/"+org.ID+"/staff", root, map[string]string{
		"email": recEmail, "full_name": "Recruiter", "role": "recruiter", "password": recPW,
	}, nil)
	return benchLogin(must, recEmail, recPW)
}
