package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
	"github.com/pvara-gov/pvara/internal/screening"
)

// BenchmarkScreeningLag is the end-to-end screening pipeline under a
// sustained submission rate: the whole application in process as newE2E
// wires it (PostgreSQL, Redis, kfake, the API over HTTP and every worker
// role: outbox relay, screening consumers, the applications-scores
// consumer), with the production pool, topic and relay settings.
// Submissions are sent open loop at a fixed rate through
// POST /v1/jobs/{job_id}/applications, round robin over a few jobs; then
// it waits until every application carries its ai_score and reports, per
// application, the lag from the client's send to
//
//   - scored: screening stored the result and enqueued screening.scored
//     (screening.results.scored_at);
//   - on Kafka: an independent consumer of the screening.scored topic
//     received the event;
//   - stored: the applications-scores consumer applied the event, i.e.
//     ai_score was written (platform.processed_events.processed_at of that
//     event: the start of the consumer's transaction, which commits
//     right after).
//
// The candidates (users with encrypted CNICs and complete profiles) are
// written with COPY and signed in through the auth service once each, so
// the setup spends no argon2 on registration.
//
//	go test -run '^$' -bench BenchmarkScreeningLag -benchtime 1x -timeout 20m ./cmd/pvara/
//
// PVARA_BENCH_LAG_RATE (submissions/s, default 500), PVARA_BENCH_LAG_DURATION
// (default 20s) and PVARA_BENCH_LAG_JOBS (default 10; each candidate applies
// once to each job) change the load; PVARA_BENCH_LAG_LOG=1 writes the
// application's warnings to stderr. At the end it logs the consumer
// runners' counters (events, failed attempts, dead letters, batch sizes).
func BenchmarkScreeningLag(b *testing.B) {
	rate := lagEnvInt(b, "PVARA_BENCH_LAG_RATE", 500)
	dur := lagEnvDuration(b, "PVARA_BENCH_LAG_DURATION", 20*time.Second)
	nJobs := lagEnvInt(b, "PVARA_BENCH_LAG_JOBS", 10)
	total := int(math.Round(float64(rate) * dur.Seconds()))
	nCands := (total + nJobs - 1) / nJobs
	ctx := context.Background()

	// The app, as newE2E wires it, with the production defaults for the
	// pipeline (pool size, topic partitions, outbox polling).
	kafka := testenv.NewKafka(b)
	d := testenv.NewDB(b)
	cfg := testConfig(b, d)
	def := config.Defaults()
	cfg.Database.MaxConns = def.Database.MaxConns
	cfg.Kafka.Brokers = kafka.ListenAddrs()
	// One client IP drives everything: lift the per-IP limits.
	cfg.RateLimit.Requests = 10_000_000
	cfg.RateLimit.AuthRequests = 10_000_000
	cfg.Auth.RegisterIPLimit = 10_000_000
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	logger := logx.Discard()
	if os.Getenv("PVARA_BENCH_LAG_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	r, err := a.router()
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(r)
	b.Cleanup(srv.Close)
	rolesCtx, stopRoles := context.WithCancel(ctx)
	rolesDone := make(chan error, 1)
	go func() { rolesDone <- a.runRoles(rolesCtx, knownRoles) }()
	b.Cleanup(func() {
		stopRoles()
		select {
		case err := <-rolesDone:
			if err != nil {
				b.Error(err)
			}
		case <-time.After(30 * time.Second):
			b.Error("worker roles did not stop")
		}
	})

	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute,
	}}
	b.Cleanup(client.CloseIdleConnections)
	call := func(method, path, token string, body any, out any, hdr ...string) (int, []byte, error) {
		var rd io.Reader
		if body != nil {
			raw, err := json.Marshal(body)
			if err != nil {
				return 0, nil, err
			}
			rd = bytes.NewReader(raw)
		}
		req, err := http.NewRequest(method, srv.URL+path, rd)
		if err != nil {
			return 0, nil, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			return resp.StatusCode, nil, err
		}
		if out != nil && resp.StatusCode < 300 && len(raw) > 0 {
			err = json.Unmarshal(raw, out)
		}
		return resp.StatusCode, raw, err
	}
	must := func(status int, method, path, token string, body any, out any, hdr ...string) {
		b.Helper()
		got, raw, err := call(method, path, token, body, out, hdr...)
		if err != nil || got != status {
			b.Fatalf("%s %s: %d (want %d) %v: %s", method, path, got, status, err, raw)
		}
	}

	// One organisation, a recruiter, nJobs published jobs, through the API.
	setup := time.Now()
	rec := benchRecruiter(b, a, must, "lag")
	jobIDs := make([]string, nJobs)
	for i := range jobIDs {
		var j struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
		}
		must(201, "POST", "/v1/jobs", rec, jobBody(fmt.Sprint("Backend Engineer ", i)), &j)
		must(200, "POST", "/v1/jobs/"+j.ID+"/publish", rec, nil, nil, "If-Match", `"v`+strconv.Itoa(j.Version)+`"`)
		jobIDs[i] = j.ID
	}

	// nCands candidates with complete, varied profiles, written with COPY
	// (one shared password hashed once with the server's parameters), then
	// signed in through the auth service.
	const candPassword = "lag bench candidate passphrase"
	hash, err := argon2id.CreateHash(candPassword, &argon2id.Params{Memory: uint32(cfg.Auth.Argon2MemoryKiB),
		Iterations: uint32(cfg.Auth.Argon2Iterations), Parallelism: uint8(cfg.Auth.Argon2Parallelism), SaltLength: 16, KeyLength: 32})
	if err != nil {
		b.Fatal(err)
	}
	cipher, err := a.fieldCipher()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	created := now.AddDate(0, -1, 0)
	rng := rand.New(rand.NewPCG(7, 11))
	skillPool := []string{"go", "postgresql", "kafka", "redis", "linux", "python", "docker", "networking", "ms office", "accounting"}
	levels := []string{"intermediate", "bachelor", "master", "mphil"}
	provinces := []string{"punjab", "sindh", "kpk", "balochistan", "islamabad", "gb", "ajk"}
	words := []string{"backend", "engineer", "building", "services", "in", "go", "with", "postgresql", "and", "kafka",
		"public", "sector", "systems", "data", "reporting", "linux", "servers", "teams", "national", "portal"}
	emails := make([]string, nCands)
	users := make([][]any, nCands)
	profiles := make([][]any, nCands)
	for i := range nCands {
		id := uuid.Must(uuid.NewV7())
		emails[i] = fmt.Sprintf("cand%06d@lag.test", i)
		cnic := fmt.Sprintf("35202%07d%d", i, i%10)
		enc, err := cipher.EncryptString(cnic, "auth.users.cnic:"+id.String())
		if err != nil {
			b.Fatal(err)
		}
		users[i] = []any{id, emails[i], fmt.Sprint("Candidate ", i), "candidate", nil, hash, enc,
			cipher.BlindIndex("auth.users.cnic", []byte(cnic)), created, created}
		var sk []string
		for _, s := range skillPool {
			if rng.IntN(2) == 0 {
				sk = append(sk, s)
			}
		}
		if sk == nil {
			sk = []string{"go"}
		}
		var resume bytes.Buffer
		for w := range 20 + rng.IntN(40) {
			if w > 0 {
				resume.WriteByte(' ')
			}
			resume.WriteString(words[rng.IntN(len(words))])
		}
		edu, _ := json.Marshal([]map[string]any{{"level": levels[rng.IntN(len(levels))], "field": "Computer Science",
			"institution": "Punjab University", "year": 2012 + rng.IntN(12)}})
		var exps []map[string]any
		for range rng.IntN(3) {
			exps = append(exps, map[string]any{"title": "Software Engineer", "employer": "NADRA",
				"start_date": fmt.Sprintf("%d-07-01", 2014+rng.IntN(10))})
		}
		exp, _ := json.Marshal(append([]map[string]any{}, exps...))
		dob := time.Date(1988+rng.IntN(16), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		profiles[i] = []any{id, dob, []string{"male", "female"}[rng.IntN(2)], provinces[rng.IntN(len(provinces))], "Lahore",
			edu, exp, sk, resume.String(), created, created}
	}
	if _, err := d.Owner.CopyFrom(ctx, pgx.Identifier{"auth", "users"}, []string{"id", "email", "full_name", "role",
		"org_id", "password_hash", "cnic_enc", "cnic_bidx", "created_at", "updated_at"}, pgx.CopyFromRows(users)); err != nil {
		b.Fatal(err)
	}
	if _, err := d.Owner.CopyFrom(ctx, pgx.Identifier{"applications", "profiles"}, []string{"user_id", "date_of_birth",
		"gender", "domicile_province", "domicile_district", "education", "experience", "skills", "resume_text",
		"created_at", "updated_at"}, pgx.CopyFromRows(profiles)); err != nil {
		b.Fatal(err)
	}
	d.Exec(b, "ANALYZE auth.users")
	d.Exec(b, "ANALYZE applications.profiles")
	tokens := make([]string, nCands)
	var next atomic.Int64
	var wg sync.WaitGroup
	loginErr := make(chan error, 2)
	for range 2 { // two at a time: one argon2 per core
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= nCands {
					return
				}
				tp, err := a.auth.Login(ctx, emails[i], candPassword)
				if err != nil {
					loginErr <- fmt.Errorf("login %s: %w", emails[i], err)
					return
				}
				tokens[i] = tp.AccessToken
			}
		})
	}
	wg.Wait()
	close(loginErr)
	if err := <-loginErr; err != nil {
		b.Fatal(err)
	}
	b.Logf("setup: %d jobs, %d candidates (COPY + %d logins) in %v", nJobs, nCands, nCands, time.Since(setup).Round(time.Millisecond))

	// An independent consumer of screening.scored: when each event is on
	// Kafka, and its id (to find the applications-scores consumer's
	// processed_events row).
	type seen struct {
		at      time.Time
		eventID uuid.UUID
	}
	var seenMu sync.Mutex
	seenBy := make(map[uuid.UUID]seen, total)
	obs, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...), kgo.ConsumeTopics(outbox.Topic(screening.EventScored)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	obsCtx, stopObs := context.WithCancel(ctx)
	obsDone := make(chan struct{})
	go func() {
		defer close(obsDone)
		for obsCtx.Err() == nil {
			fs := obs.PollFetches(obsCtx)
			at := time.Now()
			fs.EachRecord(func(rec *kgo.Record) {
				var env outbox.Envelope
				var data struct {
					ApplicationID uuid.UUID `json:"application_id"`
				}
				if json.Unmarshal(rec.Value, &env) != nil || json.Unmarshal(env.Data, &data) != nil {
					return
				}
				seenMu.Lock()
				if _, ok := seenBy[data.ApplicationID]; !ok {
					seenBy[data.ApplicationID] = seen{at: at, eventID: env.ID}
				}
				seenMu.Unlock()
			})
		}
	}()
	defer func() { stopObs(); <-obsDone; obs.Close() }()

	// Open loop: submission i is due at start + i/rate, sent by its own
	// goroutine whatever the earlier ones are doing.
	type sub struct {
		due, sent time.Time
		took      time.Duration
		status    int
		id        uuid.UUID
		err       error
	}
	subs := make([]sub, total)
	body := []byte("{}")
	b.ResetTimer()
	start := time.Now()
	var sendWG sync.WaitGroup
	for i := range total {
		due := start.Add(time.Duration(float64(i) * float64(time.Second) / float64(rate)))
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		sendWG.Go(func() {
			s := &subs[i]
			s.due = due
			req, err := http.NewRequest("POST", srv.URL+"/v1/jobs/"+jobIDs[i%nJobs]+"/applications", bytes.NewReader(body))
			if err != nil {
				s.err = err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tokens[i/nJobs])
			s.sent = time.Now()
			resp, err := client.Do(req)
			if err != nil {
				s.err = err
				return
			}
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			s.took, s.status = time.Since(s.sent), resp.StatusCode
			if err != nil {
				s.err = err
				return
			}
			var out struct {
				ID uuid.UUID `json:"id"`
			}
			if resp.StatusCode != http.StatusCreated {
				s.err = fmt.Errorf("status %d: %s", resp.StatusCode, raw)
			} else if err := json.Unmarshal(raw, &out); err != nil {
				s.err = err
			} else {
				s.id = out.ID
			}
		})
	}
	lastDispatch := time.Since(start)
	sendWG.Wait()
	sendDone := time.Since(start)

	var ok []*sub
	var failed int
	var firstErr error
	var maxSlip time.Duration
	for i := range subs {
		s := &subs[i]
		if s.err != nil {
			failed++
			if firstErr == nil {
				firstErr = s.err
			}
			continue
		}
		maxSlip = max(maxSlip, s.sent.Sub(s.due))
		ok = append(ok, s)
	}
	if failed > 0 {
		b.Errorf("%d of %d submissions failed; first: %v", failed, total, firstErr)
	}

	// Every accepted application scored and stored, within 2 minutes.
	deadline := time.Now().Add(2 * time.Minute)
	var pending int
	for {
		if err := d.Owner.QueryRow(ctx, "SELECT count(*) FROM applications.applications WHERE ai_score IS NULL").Scan(&pending); err != nil {
			b.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d applications not scored 2 minutes after the last submission", pending, len(ok))
		}
		time.Sleep(100 * time.Millisecond)
	}
	allStored := time.Since(start)
	b.StopTimer()
	for {
		seenMu.Lock()
		n := len(seenBy)
		seenMu.Unlock()
		if n >= len(ok) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopObs()
	<-obsDone

	// timesByID reads (id, time) rows into a map.
	timesByID := func(sql string, args ...any) map[uuid.UUID]time.Time {
		rows, err := d.Owner.Query(ctx, sql, args...)
		if err != nil {
			b.Fatal(err)
		}
		out := map[uuid.UUID]time.Time{}
		for rows.Next() {
			var id uuid.UUID
			var at time.Time
			if err := rows.Scan(&id, &at); err != nil {
				b.Fatal(err)
			}
			out[id] = at
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		return out
	}
	scoredAt := timesByID("SELECT application_id, scored_at FROM screening.results WHERE scored_at IS NOT NULL")
	processedAt := timesByID("SELECT event_id, processed_at FROM platform.processed_events WHERE consumer_group = $1", applications.ScoresGroup)

	ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
	var httpLat, scoredLag, kafkaLag, storedLag []float64
	var storedTimes []time.Time
	var missing int
	for _, s := range ok {
		httpLat = append(httpLat, ms(s.took))
		sc, ok1 := scoredAt[s.id]
		sn, ok2 := seenBy[s.id]
		pr, ok3 := processedAt[sn.eventID]
		if !ok1 || !ok2 || !ok3 {
			missing++
			continue
		}
		scoredLag = append(scoredLag, ms(sc.Sub(s.sent)))
		kafkaLag = append(kafkaLag, ms(sn.at.Sub(s.sent)))
		storedLag = append(storedLag, ms(pr.Sub(s.sent)))
		storedTimes = append(storedTimes, pr)
	}
	if missing > 0 {
		b.Errorf("%d of %d applications lack a result, a Kafka event or a processed_events row", missing, len(ok))
	}
	if len(storedLag) < 2 {
		b.Fatal("too few applications measured")
	}
	pct := func(v []float64, q float64) float64 {
		s := slices.Clone(v)
		slices.Sort(s)
		return s[max(0, int(math.Ceil(q*float64(len(s))))-1)]
	}
	// The rate achieved: accepted submissions over the span of their sends.
	first, last := ok[0].sent, ok[0].sent
	for _, s := range ok {
		if s.sent.Before(first) {
			first = s.sent
		}
		if s.sent.After(last) {
			last = s.sent
		}
	}
	achieved := float64(len(ok)-1) / last.Sub(first).Seconds()
	b.ReportMetric(achieved, "submits/s")
	// What the pipeline delivered: every score stored, over the time from
	// the first send to the last score stored.
	b.ReportMetric(float64(len(ok))/allStored.Seconds(), "stored/s")
	b.ReportMetric(pct(storedLag, 0.50), "lag-p50-ms")
	b.ReportMetric(pct(storedLag, 0.95), "lag-p95-ms")
	b.ReportMetric(pct(storedLag, 0.99), "lag-p99-ms")
	b.ReportMetric(pct(storedLag, 1), "lag-max-ms")
	b.ReportMetric(pct(kafkaLag, 0.99), "kafka-lag-p99-ms")
	b.ReportMetric(pct(scoredLag, 0.99), "scored-lag-p99-ms")
	b.ReportMetric(pct(httpLat, 0.99), "submit-p99-ms")

	b.Logf("target %d submissions/s for %v over %d jobs: %d sent, %d accepted (201), %d failed; dispatched in %v (%.1f/s achieved), worst send slip %v; all answered at %v, all scores stored at %v",
		rate, dur, nJobs, total, len(ok), failed, lastDispatch.Round(time.Millisecond), achieved,
		maxSlip.Round(time.Millisecond), sendDone.Round(time.Millisecond), allStored.Round(time.Millisecond))
	// How fast scores were stored while submissions arrived, and how fast
	// the backlog drained once they stopped.
	var during int
	for _, t := range storedTimes {
		if !t.After(last) {
			during++
		}
	}
	drain := allStored - last.Sub(start)
	b.Logf("scores stored while submitting: %d in %v (%.0f/s); the remaining %d after the last send in %v (%.0f/s)",
		during, last.Sub(first).Round(time.Millisecond), float64(during)/last.Sub(first).Seconds(),
		len(storedTimes)-during, drain.Round(time.Millisecond), float64(len(storedTimes)-during)/max(drain.Seconds(), 0.001))
	b.Logf("%-44s %8s %8s %8s %8s %8s", "from the client's send to (ms)", "p50", "p95", "p99", "max", "n")
	for _, row := range []struct {
		name string
		v    []float64
	}{
		{"submit answered (HTTP 201)", httpLat},
		{"scored (screening.results.scored_at)", scoredLag},
		{"screening.scored received from Kafka", kafkaLag},
		{"ai_score stored (applications-scores)", storedLag},
	} {
		b.Logf("%-44s %8.1f %8.1f %8.1f %8.1f %8d", row.name, pct(row.v, 0.5), pct(row.v, 0.95), pct(row.v, 0.99), pct(row.v, 1), len(row.v))
	}
	logConsumerMetrics(b, a.reg)
}

// logConsumerMetrics logs what the consumer runners did: events by result,
// failed attempts, dead letters, and the batch handlers' calls (mean
// events per call).
func logConsumerMetrics(b *testing.B, reg *prometheus.Registry) {
	mfs, err := reg.Gather()
	if err != nil {
		b.Error(err)
		return
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "pvara_consumer_events_total", "pvara_consumer_handler_errors_total", "pvara_consumer_dlq_total", "pvara_consumer_batch_events":
		default:
			continue
		}
		for _, m := range mf.GetMetric() {
			var lbl []string
			for _, l := range m.GetLabel() {
				lbl = append(lbl, l.GetName()+"="+l.GetValue())
			}
			if h := m.GetHistogram(); h != nil {
				b.Logf("%s{%s}: %d calls, %.1f events per call", mf.GetName(), strings.Join(lbl, ","), h.GetSampleCount(),
					h.GetSampleSum()/max(1, float64(h.GetSampleCount())))
				continue
			}
			b.Logf("%s{%s}: %.0f", mf.GetName(), strings.Join(lbl, ","), m.GetCounter().GetValue())
		}
	}
}

func lagEnvInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func lagEnvDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a positive duration", name, v)
	}
	return d
}
