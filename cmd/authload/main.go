// Command authload is an open-loop load driver for the login endpoint: it
// registers (or reuses) a set of candidate accounts, then offers
// POST /v1/auth/login at a fixed rate with vegeta, whatever the server's
// speed, and reports how many logins succeeded, how many were refused
// (503/429) and the latencies of each, plus the server's peak memory read
// from its /metrics. It measures the admission control of password hashing
// (docs/benchmarks.md, "Identity").
//
//	authload -url http://127.0.0.1:8080 -metrics http://127.0.0.1:9090/metrics -rate 100 -duration 30s
//
// It only talks to the addresses it is given; run it against a local
// server.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "API base URL (a local server)")
	metricsURL := flag.String("metrics", "http://127.0.0.1:9090/metrics", "the server's /metrics, sampled for memory (empty: skip)")
	rate := flag.Int("rate", 40, "logins offered per second")
	duration := flag.Duration("duration", 30*time.Second, "attack duration")
	users := flag.Int("users", 50, "accounts to log in with (registered on first use)")
	warmup := flag.Duration("warmup", 3*time.Second, "a light warm-up at 5/s before measuring (0: none)")
	flag.Parse()
	if *rate <= 0 || *duration <= 0 || *users <= 0 || *duration > 10*time.Minute {
		fmt.Fprintln(os.Stderr, "authload: -rate, -users must be positive and -duration between 0 and 10m")
		os.Exit(2)
	}
	const password = "load test passphrase 2026"
	emails, err := prepare(*base, *users, password)
	if err != nil {
		fmt.Fprintln(os.Stderr, "authload:", err)
		os.Exit(1)
	}
	targets := make([]vegeta.Target, len(emails))
	for i, e := range emails {
		body, _ := json.Marshal(map[string]string{"email": e, "password": password})
		targets[i] = vegeta.Target{Method: "POST", URL: *base + "/v1/auth/login", Body: body,
			Header: http.Header{"Content-Type": {"application/json"}}}
	}
	// An attacker is stopped at the end of its attack: one per phase.
	newAttacker := func() *vegeta.Attacker {
		return vegeta.NewAttacker(vegeta.Timeout(30*time.Second), vegeta.KeepAlive(true), vegeta.MaxWorkers(2000))
	}
	if *warmup > 0 {
		for range newAttacker().Attack(vegeta.NewStaticTargeter(targets...), vegeta.Rate{Freq: 5, Per: time.Second}, *warmup, "warmup") {
		}
	}

	var peakRSS, peakHeap atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if *metricsURL != "" {
		wg.Go(func() { sampleMemory(*metricsURL, stop, &peakRSS, &peakHeap) })
	}
	var ok, rejected, failed []time.Duration
	codes := map[uint16]int{}
	start := time.Now()
	for res := range newAttacker().Attack(vegeta.NewStaticTargeter(targets...), vegeta.Rate{Freq: *rate, Per: time.Second}, *duration, "login") {
		codes[res.Code]++
		switch res.Code {
		case http.StatusOK:
			ok = append(ok, res.Latency)
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			rejected = append(rejected, res.Latency)
		default:
			failed = append(failed, res.Latency)
		}
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()

	fmt.Printf("offered: %d/s for %s (%d requests, %d accounts)\n", *rate, *duration, len(ok)+len(rejected)+len(failed), len(emails))
	fmt.Printf("status codes: %v\n", codes)
	fmt.Printf("succeeded: %d (%.1f/s)  %s\n", len(ok), float64(len(ok))/duration.Seconds(), percentiles(ok))
	fmt.Printf("rejected (503/429): %d (%.1f/s)  %s\n", len(rejected), float64(len(rejected))/duration.Seconds(), percentiles(rejected))
	if len(failed) > 0 {
		fmt.Printf("other: %d  %s\n", len(failed), percentiles(failed))
	}
	fmt.Printf("attack took %s\n", elapsed.Round(time.Millisecond))
	if *metricsURL != "" {
		fmt.Printf("server peak memory: RSS %.1f MiB, Go heap in use %.1f MiB\n", float64(peakRSS.Load())/(1<<20), float64(peakHeap.Load())/(1<<20))
	}
}

// prepare registers the accounts (a 409 means they exist from a previous run).
func prepare(base string, n int, password string) ([]string, error) {
	var emails []string
	for i := range n {
		email := fmt.Sprintf("load%04d@load.pvara.test", i)
		body, _ := json.Marshal(map[string]string{
			"email": email, "password": password, "full_name": fmt.Sprintf("Load User %d", i),
			"cnic": fmt.Sprintf("61101-%07d-%d", 9000000+i, i%10),
		})
		for attempt := 0; ; attempt++ {
			res, err := http.Post(base+"/v1/auth/register", "application/json", bytes.NewReader(body))
			if err != nil {
				return nil, fmt.Errorf("register %s: %w", email, err)
			}
			res.Body.Close()
			if res.StatusCode == http.StatusServiceUnavailable && attempt < 20 {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusConflict {
				return nil, fmt.Errorf("register %s: status %d", email, res.StatusCode)
			}
			break
		}
		emails = append(emails, email)
	}
	return emails, nil
}

func percentiles(d []time.Duration) string {
	if len(d) == 0 {
		return ""
	}
	slices.Sort(d)
	p := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	r := func(x time.Duration) string { return x.Round(10 * time.Microsecond).String() }
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s", r(p(0.50)), r(p(0.90)), r(p(0.99)), r(d[len(d)-1]))
}

// sampleMemory reads process_resident_memory_bytes and
// go_memstats_heap_inuse_bytes every 500 ms and keeps the peaks.
func sampleMemory(url string, stop <-chan struct{}, rss, heap *atomic.Int64) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		res, err := http.Get(url)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			line := sc.Text()
			for name, peak := range map[string]*atomic.Int64{"process_resident_memory_bytes ": rss, "go_memstats_heap_inuse_bytes ": heap} {
				if v, ok := strings.CutPrefix(line, name); ok {
					f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
					if err == nil && int64(f) > peak.Load() {
						peak.Store(int64(f))
					}
				}
			}
		}
		res.Body.Close()
	}
}
