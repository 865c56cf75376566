package outbox

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pvara-gov/pvara/internal/platform/metrics"
)

// RelayMetrics are the relay's Prometheus metrics. Make one per process and
// share it: several relays on one registry would collide.
type RelayMetrics struct {
	backlog         prometheus.Gauge
	oldestAge       prometheus.Gauge
	produced        *prometheus.CounterVec
	errors          prometheus.Counter
	produceDuration prometheus.Histogram
	deliveryLatency prometheus.Histogram
	batchRows       prometheus.Histogram
}

// NewRelayMetrics creates the metrics and registers them on reg (nil: not
// registered).
func NewRelayMetrics(reg prometheus.Registerer) *RelayMetrics {
	m := &RelayMetrics{
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pvara_outbox_backlog_rows",
			Help: "Events in the outbox not yet produced to Kafka.",
		}),
		oldestAge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pvara_outbox_oldest_age_seconds",
			Help: "Age of the oldest event not yet produced (0 when the outbox is empty).",
		}),
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pvara_outbox_produced_total",
			Help: "Events produced to Kafka and deleted from the outbox, by topic.",
		}, []string{"topic"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pvara_outbox_produce_errors_total",
			Help: "Relay batches that failed (claim, topic creation, produce or commit) and were rolled back for a retry.",
		}),
		produceDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pvara_outbox_produce_duration_seconds",
			Help:    "Time to produce one relay batch until every record was acknowledged.",
			Buckets: metrics.LatencyBuckets,
		}),
		deliveryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pvara_outbox_delivery_latency_seconds",
			Help:    "Time from an event's insert into the outbox to its acknowledgement by Kafka (includes time the writing transaction stayed open).",
			Buckets: metrics.LatencyBuckets,
		}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pvara_outbox_batch_rows",
			Help:    "Events per relay batch.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.backlog, m.oldestAge, m.produced, m.errors, m.produceDuration, m.deliveryLatency, m.batchRows)
	}
	return m
}
