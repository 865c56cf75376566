package postgres

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector exports pgxpool statistics as pvara_db_pool_* metrics.
type PoolCollector struct {
	pool *pgxpool.Pool
	name string

	acquired, idle, total, max, constructing *prometheus.Desc
	acquireCount, emptyAcquire, canceled     *prometheus.Desc
	acquireSeconds                           *prometheus.Desc
}

// NewPoolCollector describes pool as pool=name.
func NewPoolCollector(pool *pgxpool.Pool, name string) *PoolCollector {
	l := prometheus.Labels{"pool": name}
	d := func(n, help string) *prometheus.Desc { return prometheus.NewDesc("pvara_db_pool_"+n, help, nil, l) }
	return &PoolCollector{
		pool:           pool,
		name:           name,
		acquired:       d("acquired_conns", "Connections in use."),
		idle:           d("idle_conns", "Idle connections."),
		total:          d("total_conns", "Open connections."),
		max:            d("max_conns", "Pool size limit."),
		constructing:   d("constructing_conns", "Connections being opened."),
		acquireCount:   d("acquires_total", "Successful acquires."),
		emptyAcquire:   d("empty_acquires_total", "Acquires that had to wait for a connection."),
		canceled:       d("canceled_acquires_total", "Acquires canceled by their context."),
		acquireSeconds: d("acquire_seconds_total", "Total time spent waiting to acquire."),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max, c.constructing, c.acquireCount, c.emptyAcquire, c.canceled, c.acquireSeconds} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	k := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(c.acquired, float64(s.AcquiredConns()))
	g(c.idle, float64(s.IdleConns()))
	g(c.total, float64(s.TotalConns()))
	g(c.max, float64(s.MaxConns()))
	g(c.constructing, float64(s.ConstructingConns()))
	k(c.acquireCount, float64(s.AcquireCount()))
	k(c.emptyAcquire, float64(s.EmptyAcquireCount()))
	k(c.canceled, float64(s.CanceledAcquireCount()))
	k(c.acquireSeconds, s.AcquireDuration().Seconds())
}
