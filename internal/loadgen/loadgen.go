// Package loadgen drives a running PVARA server over real HTTP, on top of
// vegeta's library, and reports what each endpoint did: the achieved rate,
// P50/P95/P99/max latency and the responses by status. It is shared by the
// load commands (cmd/pvara-load, cmd/pvara-jobsbench).
//
// Two modes:
//
//   - open loop (Rate > 0): requests leave on a fixed schedule whether or not
//     earlier ones have answered, so queueing in the server shows up in the
//     latencies. This is the mode that judges a P99 target; closed-loop tools
//     hide tail latency.
//   - closed loop (Rate == 0): Workers requests in flight at all times, each
//     worker sending the next as soon as the previous one answers. The
//     achieved rate is the server's maximum throughput at that concurrency.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Target is one request; Targeter fills in the next one. A Targeter is
// called from many goroutines at once and must be safe for that.
type (
	Target   = vegeta.Target
	Targeter = vegeta.Targeter
)

// Attack is one load run against a running server.
type Attack struct {
	// Name labels the report (the endpoint or scenario).
	Name string
	// Targeter yields the requests (see Gets, RoundRobin).
	Targeter Targeter
	// Rate is requests per second for an open-loop run; 0 runs closed loop.
	Rate int
	// Workers is the closed-loop concurrency (default 64), and the initial
	// worker count of an open-loop run (vegeta adds workers as needed, up
	// to MaxWorkers).
	Workers int
	// MaxWorkers bounds the open-loop workers (default 10,000): a server
	// that stops answering would otherwise make the generator open
	// connections without end.
	MaxWorkers int
	Duration   time.Duration
	// Timeout per request (default 5s); a timed-out request counts as an
	// error with status 0.
	Timeout time.Duration
}

// Report is what one run measured.
type Report struct {
	Name string
	// Mode is "open 1000/s" or "closed 64".
	Mode     string
	Requests uint64
	// Rate is requests sent per second; Throughput is 2xx/3xx responses
	// per second (the achieved rate).
	Rate, Throughput float64
	// Success is the share of 2xx/3xx responses.
	Success float64
	// Latencies of every response (vegeta's t-digest estimates).
	P50, P95, P99, Max, Mean time.Duration
	// Status counts responses by status code ("0" is a transport error or
	// a timeout).
	Status map[string]int
	// Errors are up to five distinct error messages.
	Errors []string
}

// Failed is how many responses were not 2xx/3xx.
func (r Report) Failed() int {
	n := 0
	for code, c := range r.Status {
		if v, err := strconv.Atoi(code); err != nil || v < 200 || v >= 400 {
			n += c
		}
	}
	return n
}

// FailedByStatus formats the non-2xx/3xx responses as "409×12 0×3", or "-".
func (r Report) FailedByStatus() string {
	var parts []string
	for code, c := range r.Status {
		if v, err := strconv.Atoi(code); err != nil || v < 200 || v >= 400 {
			parts = append(parts, fmt.Sprintf("%s×%d", code, c))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// String formats the report on one line.
func (r Report) String() string {
	return fmt.Sprintf("%s %s: requests=%d rate=%.0f/s ok=%.0f/s success=%.2f%% p50=%v p95=%v p99=%v max=%v errors=%s",
		r.Name, r.Mode, r.Requests, r.Rate, r.Throughput, r.Success*100, round(r.P50), round(r.P95), round(r.P99),
		round(r.Max), r.FailedByStatus())
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// ms formats a duration in milliseconds with two decimals.
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

// WriteTable writes reports as a Markdown table, one row per run.
func WriteTable(w io.Writer, reports []Report) {
	fmt.Fprintln(w, "| endpoint | mode | requests | sent/s | ok/s | P50 ms | P95 ms | P99 ms | max ms | errors (by status) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range reports {
		fmt.Fprintf(w, "| %s | %s | %d | %.0f | %.0f | %s | %s | %s | %s | %s |\n", r.Name, r.Mode, r.Requests, r.Rate,
			r.Throughput, ms(r.P50), ms(r.P95), ms(r.P99), ms(r.Max), r.FailedByStatus())
	}
}

// Run performs the attack and reports on it. Cancelling ctx stops it early
// with ctx's error.
func Run(ctx context.Context, a Attack) (Report, error) {
	if a.Targeter == nil {
		return Report{}, fmt.Errorf("loadgen: %s: no targets", a.Name)
	}
	if a.Duration <= 0 {
		return Report{}, fmt.Errorf("loadgen: %s: duration must be positive", a.Name)
	}
	if a.Workers <= 0 {
		a.Workers = 64
	}
	if a.MaxWorkers <= 0 {
		a.MaxWorkers = 10_000
	}
	if a.Timeout <= 0 {
		a.Timeout = 5 * time.Second
	}
	opts := []func(*vegeta.Attacker){
		vegeta.Workers(uint64(a.Workers)), vegeta.KeepAlive(true), vegeta.Timeout(a.Timeout),
		vegeta.Connections(10_000), vegeta.MaxBody(0), vegeta.Redirects(vegeta.NoFollow),
	}
	mode := fmt.Sprintf("open %d/s", a.Rate)
	if a.Rate <= 0 {
		// A zero rate with a worker bound is vegeta's closed loop.
		opts = append(opts, vegeta.MaxWorkers(uint64(a.Workers)))
		mode = fmt.Sprintf("closed %d", a.Workers)
	} else {
		opts = append(opts, vegeta.MaxWorkers(uint64(max(a.MaxWorkers, a.Workers))))
	}
	atk := vegeta.NewAttacker(opts...)
	pacer := vegeta.ConstantPacer{Freq: a.Rate, Per: time.Second}
	var m vegeta.Metrics
	results := atk.Attack(a.Targeter, pacer, a.Duration, a.Name)
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
					Name: a.Name, Mode: mode, Requests: m.Requests, Rate: m.Rate, Throughput: m.Throughput,
					Success: m.Success, P50: m.Latencies.P50, P95: m.Latencies.P95, P99: m.Latencies.P99,
					Max: m.Latencies.Max, Mean: m.Latencies.Mean, Status: m.StatusCodes, Errors: errs,
				}, nil
			}
			m.Add(res)
		}
	}
}

// Gets requests urls in turn with GET and the given header (may be nil).
func Gets(header http.Header, urls ...string) Targeter {
	targets := make([]Target, len(urls))
	for i, u := range urls {
		targets[i] = Target{Method: http.MethodGet, URL: u, Header: header}
	}
	return RoundRobin(targets...)
}

// RoundRobin yields targets in turn, forever.
func RoundRobin(targets ...Target) Targeter {
	var i atomic.Uint64
	return func(t *Target) error {
		if len(targets) == 0 {
			return vegeta.ErrNoTargets
		}
		*t = targets[(i.Add(1)-1)%uint64(len(targets))]
		return nil
	}
}

// Sequence yields next(0), next(1), ... in turn; next must be safe for
// concurrent use (it is called from many workers). It is for requests that
// must not repeat, such as creating one application per (candidate, job).
func Sequence(next func(i uint64, t *Target) error) Targeter {
	var i atomic.Uint64
	return func(t *Target) error { return next(i.Add(1)-1, t) }
}
