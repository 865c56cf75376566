package consumer

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pvara-gov/pvara/internal/platform/metrics"
)

// Metrics are the consumer runners' Prometheus metrics. Make one per
// process and share it between the runners of every role.
type Metrics struct {
	lag      *prometheus.GaugeVec
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	dlq      *prometheus.CounterVec
	events   *prometheus.CounterVec

	batchDuration *prometheus.HistogramVec
	batchEvents   *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them on reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pvara_consumer_lag",
			Help: "Records in a partition after the last one this consumer group handled (high watermark of the last fetch).",
		}, []string{"group", "topic", "partition"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pvara_consumer_handler_duration_seconds",
			Help:    "Handler time per event: one attempt when alone (its transaction included); in a batch, the handler's time (a batch handler's divided among its events).",
			Buckets: metrics.LatencyBuckets,
		}, []string{"group", "type"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pvara_consumer_handler_errors_total",
			Help: "Failed handler attempts (each retry counts), undecodable records included.",
		}, []string{"group", "type"}),
		dlq: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pvara_consumer_dlq_total",
			Help: "Events sent to a dead-letter topic after their attempts ran out.",
		}, []string{"group", "type"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pvara_consumer_events_total",
			Help: "Events handled, by result: applied, or duplicate (already applied by the group, skipped).",
		}, []string{"group", "type", "result"}),
		batchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pvara_consumer_batch_duration_seconds",
			Help:    "Time of one HandleBatch call (all the fresh events of a runner batch, in its transaction).",
			Buckets: metrics.LatencyBuckets,
		}, []string{"group", "type"}),
		batchEvents: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pvara_consumer_batch_events",
			Help:    "Events passed to one HandleBatch call.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
		}, []string{"group", "type"}),
	}
	if reg != nil {
		reg.MustRegister(m.lag, m.duration, m.errors, m.dlq, m.events, m.batchDuration, m.batchEvents)
	}
	return m
}
