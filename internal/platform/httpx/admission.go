package httpx

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pvara-gov/pvara/internal/platform/admission"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/metrics"
)

// AdmissionClass is one budget of concurrent requests.
type AdmissionClass struct {
	// InFlight is how many requests of the class are served at once; 0
	// leaves the class ungated.
	InFlight int
	// Queue is how many more may wait for a slot, each at most Wait;
	// beyond either, a request is refused at once.
	Queue int
	Wait  time.Duration
}

// AdmissionConfig gates the API's requests in two classes: writes (POST,
// PUT, PATCH, DELETE: a submission's transaction, a status change) and
// reads (GET, HEAD). Separate budgets keep a flood of submissions on
// deadline day from refusing the job board, whose cached pages cost
// microseconds, and the other way round. OPTIONS (CORS preflight) is never
// gated.
type AdmissionConfig struct {
	Writes, Reads AdmissionClass
	// RetryAfter is the hint sent with a refusal (default 1s).
	RetryAfter time.Duration
}

// ErrOverloaded is the answer to a request refused by admission control:
// 503 with Retry-After. Nothing of the request was done, so it is safe to
// send again (with the same Idempotency-Key, if it had one).
var ErrOverloaded = apperr.New(apperr.KindUnavailable, "overloaded",
	"the service is at capacity and did nothing with this request; try again shortly")

// Admission is the API's admission control (docs/operations.md,
// "Overload"): at most InFlight requests of a class are served at once,
// at most Queue more wait, each for at most Wait, and the rest get
// ErrOverloaded immediately. The bottleneck it protects is the database:
// past its capacity, requests that wait for a pool connection only make
// every request slower, until clients time out on work the server still
// does for nobody (measured: 2,500 submissions/s offered against a
// capacity of 1,200/s answered 650/s, every one after 5 s). Bounded, the
// requests admitted stay fast and the rest are told at once to come back.
type Admission struct {
	writes, reads *admissionClass
	retryAfter    map[string]string
}

// admissionClass is one class's gate and its metrics, resolved once.
type admissionClass struct {
	gate     *admission.Gate
	inFlight prometheus.Gauge
	rejected prometheus.Counter
	waited   prometheus.Observer
}

// NewAdmission builds the gates; reg may be nil.
func NewAdmission(cfg AdmissionConfig, reg prometheus.Registerer) *Admission {
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	inFlight := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pvara_http_admission_in_flight", Help: "API requests admitted and being served now, by class (reads, writes).",
	}, []string{"class"})
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pvara_http_admission_rejected_total", Help: "API requests refused by admission control (503 overloaded), by class.",
	}, []string{"class"})
	waited := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "pvara_http_admission_wait_seconds", Help: "Time an admitted API request waited for its slot, by class.",
		Buckets: metrics.LatencyBuckets,
	}, []string{"class"})
	collectors := []prometheus.Collector{inFlight, rejected, waited}
	class := func(name string, c AdmissionClass) *admissionClass {
		if c.InFlight <= 0 {
			return nil
		}
		g := admission.New(c.InFlight, c.Queue, c.Wait)
		collectors = append(collectors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "pvara_http_admission_waiting", Help: "API requests waiting for admission now (the queue's depth), by class.",
			ConstLabels: prometheus.Labels{"class": name},
		}, func() float64 { return float64(g.Waiting()) }))
		return &admissionClass{gate: g, inFlight: inFlight.WithLabelValues(name),
			rejected: rejected.WithLabelValues(name), waited: waited.WithLabelValues(name)}
	}
	a := &Admission{
		writes:     class("writes", cfg.Writes),
		reads:      class("reads", cfg.Reads),
		retryAfter: retryAfterHeader(cfg.RetryAfter),
	}
	if reg != nil {
		reg.MustRegister(collectors...)
	}
	return a
}

// Middleware gates each request by its method's class. A refusal is a
// 503 overloaded problem, written here and not logged; a request whose
// client left while it waited is answered through errs.
func (a *Admission) Middleware(errs *ErrorMapper) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := a.classOf(r.Method)
			if c == nil {
				next.ServeHTTP(w, r)
				return
			}
			waited, err := c.gate.Acquire(r.Context())
			if errors.Is(err, admission.ErrFull) {
				// Not logged one by one (a surge would flood the log): the
				// access log has the 503 and the counter the rate.
				c.rejected.Inc()
				p := NewProblem(r.Context(), http.StatusServiceUnavailable, ErrOverloaded.Code, ErrOverloaded.Message)
				p.headers = a.retryAfter
				WriteProblem(w, p)
				return
			}
			if err != nil {
				errs.WriteError(w, r, err)
				return
			}
			c.waited.Observe(waited.Seconds())
			c.inFlight.Inc()
			defer func() {
				c.inFlight.Dec()
				c.gate.Release()
			}()
			next.ServeHTTP(w, r)
		})
	}
}

func (a *Admission) classOf(method string) *admissionClass {
	switch method {
	case http.MethodGet, http.MethodHead:
		return a.reads
	case http.MethodOptions:
		return nil
	default:
		return a.writes
	}
}

// Waiting is how many requests wait for admission now, both classes.
func (a *Admission) Waiting() int {
	n := 0
	for _, c := range []*admissionClass{a.writes, a.reads} {
		if c != nil {
			n += c.gate.Waiting()
		}
	}
	return n
}
