package screening

import "github.com/prometheus/client_golang/prometheus"

// metrics are the module's Prometheus metrics (docs/screening.md).
type metrics struct {
	results  *prometheus.CounterVec // source, outcome
	runs     *prometheus.CounterVec // status
	reads    *prometheus.CounterVec // from
	rebuilds prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pvara_screening_results_total",
			Help: "Applications scored, by source (submitted, rescreen) and outcome (changed: stored and published; unchanged: same input hash and model version, nothing written).",
		}, []string{"source", "outcome"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pvara_screening_rescreen_runs_total",
			Help: "Re-screening runs finished by this process, by status (done, failed).",
		}, []string{"status"}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pvara_screening_ranking_reads_total",
			Help: "Ranking pages served, by where they came from (redis, postgres: the set was missing, being rebuilt, or Redis failed).",
		}, []string{"from"}),
		rebuilds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pvara_screening_ranking_rebuilds_total",
			Help: "Rankings rebuilt into Redis from PostgreSQL.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.results, m.runs, m.reads, m.rebuilds)
	}
	return m
}

func (m *metrics) scored(source string, total, changed int) {
	m.results.WithLabelValues(source, "changed").Add(float64(changed))
	m.results.WithLabelValues(source, "unchanged").Add(float64(total - changed))
}
