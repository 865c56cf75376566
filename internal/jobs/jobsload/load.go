package jobsload

import (
	"context"
	"fmt"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Attack is one load run against a running server.
type Attack struct {
	// URLs are requested round-robin (GET).
	URLs []string
	// Rate is requests per second for an open-loop run: requests are sent
	// on schedule whether or not earlier ones have answered, so queueing
	// shows up in the latencies (closed-loop tools hide it). 0 runs
	// closed-loop: Workers requests in flight at all times, as fast as the
	// server answers.
	Rate int
	// Workers is the closed-loop concurrency (default 64), and the initial
	// worker count of an open-loop run (vegeta adds workers as needed).
	Workers  int
	Duration time.Duration
	// Timeout per request (default 5s).
	Timeout time.Duration
}

// Report is what a run measured.
type Report struct {
	Requests   uint64
	Rate       float64 // requests sent per second
	Throughput float64 // successful responses per second
	Success    float64 // share of 2xx/3xx responses
	P50, P90   time.Duration
	P99, Max   time.Duration
	Mean       time.Duration
	Status     map[string]int
	Errors     []string
}

// String formats the report on one line.
func (r Report) String() string {
	return fmt.Sprintf("requests=%d rate=%.0f/s throughput=%.0f/s success=%.2f%% p50=%v p90=%v p99=%v max=%v status=%v",
		r.Requests, r.Rate, r.Throughput, r.Success*100, r.P50.Round(time.Microsecond), r.P90.Round(time.Microsecond),
		r.P99.Round(time.Microsecond), r.Max.Round(time.Microsecond), r.Status)
}

// Run performs the attack and reports on it.
func Run(ctx context.Context, a Attack) (Report, error) {
	if len(a.URLs) == 0 {
		return Report{}, fmt.Errorf("jobsload: no URLs")
	}
	if a.Workers <= 0 {
		a.Workers = 64
	}
	if a.Timeout <= 0 {
		a.Timeout = 5 * time.Second
	}
	targets := make([]vegeta.Target, len(a.URLs))
	for i, u := range a.URLs {
		targets[i] = vegeta.Target{Method: http.MethodGet, URL: u}
	}
	opts := []func(*vegeta.Attacker){
		vegeta.Workers(uint64(a.Workers)), vegeta.KeepAlive(true), vegeta.Timeout(a.Timeout),
		vegeta.Connections(10000), vegeta.MaxBody(0),
	}
	if a.Rate <= 0 {
		opts = append(opts, vegeta.MaxWorkers(uint64(a.Workers)))
	}
	atk := vegeta.NewAttacker(opts...)
	pacer := vegeta.ConstantPacer{Freq: a.Rate, Per: time.Second}
	var m vegeta.Metrics
	results := atk.Attack(vegeta.NewStaticTargeter(targets...), pacer, a.Duration, "jobs")
	for {
		select {
		case <-ctx.Done():
			atk.Stop()
			for range results {
			}
			return Report{}, ctx.Err()
		case res, ok := <-results:
			if !ok {
				m.Close()
				errs := m.Errors
				if len(errs) > 5 {
					errs = errs[:5]
				}
				return Report{
					Requests: m.Requests, Rate: m.Rate, Throughput: m.Throughput, Success: m.Success,
					P50: m.Latencies.P50, P90: m.Latencies.P90, P99: m.Latencies.P99, Max: m.Latencies.Max,
					Mean: m.Latencies.Mean, Status: m.StatusCodes, Errors: errs,
				}, nil
			}
			m.Add(res)
		}
	}
}
