package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// PartitionManager keeps every table registered in platform.partitioned_tables
// partitioned monthly, MonthsAhead months ahead of now. A table registers by
// inserting its row in the migration that creates it; nothing else is
// needed. It runs at `migrate up` and daily in the maintenance role; the SQL
// function it calls serialises concurrent runs per table, so replicas may run
// it at the same time.
type PartitionManager struct {
	db          Querier
	monthsAhead int
	now         func() time.Time
	logger      *slog.Logger
	aheadGauge  *prometheus.GaugeVec
}

// Querier is what the manager needs of a pool.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// PartitionConfig configures a PartitionManager.
type PartitionConfig struct {
	MonthsAhead int
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer receives pvara_partition_months_ahead{table}; nil skips it.
	Registerer prometheus.Registerer
}

// NewPartitionManager builds a manager over db.
func NewPartitionManager(db Querier, cfg PartitionConfig) (*PartitionManager, error) {
	if cfg.MonthsAhead < 1 {
		return nil, fmt.Errorf("partitions: months ahead must be at least 1")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &PartitionManager{db: db, monthsAhead: cfg.MonthsAhead, now: cfg.Now, logger: cfg.Logger}
	m.aheadGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pvara_partition_months_ahead",
		Help: "Whole months between now and the upper bound of the newest partition of each monthly partitioned table; alert when it falls below 1.",
	}, []string{"table"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(m.aheadGauge); err != nil {
			return nil, fmt.Errorf("partitions: register metric: %w", err)
		}
	}
	return m, nil
}

// tables lists the registered tables with their months-ahead setting.
func (m *PartitionManager) tables(ctx context.Context) ([][3]any, error) {
	rows, err := m.db.Query(ctx, "SELECT schema_name, table_name, months_ahead FROM platform.partitioned_tables ORDER BY 1, 2")
	if err != nil {
		return nil, Translate(err)
	}
	defer rows.Close()
	var out [][3]any
	for rows.Next() {
		var s, t string
		var ahead *int32
		if err := rows.Scan(&s, &t, &ahead); err != nil {
			return nil, err
		}
		n := m.monthsAhead
		if ahead != nil {
			n = int(*ahead)
		}
		out = append(out, [3]any{s, t, n})
	}
	return out, rows.Err()
}

// Ensure creates every missing partition from last month (so a clock just
// past midnight on the 1st still finds the previous month) through the
// horizon, and refreshes the metric. It returns how many it created.
func (m *PartitionManager) Ensure(ctx context.Context) (int, error) {
	tables, err := m.tables(ctx)
	if err != nil {
		return 0, err
	}
	from := m.now().UTC().AddDate(0, -1, 0)
	total := 0
	for _, t := range tables {
		schema, table, ahead := t[0].(string), t[1].(string), t[2].(int)
		rows, err := m.db.Query(ctx, "SELECT platform.ensure_monthly_partitions($1, $2, $3, $4)", schema, table, from, ahead+1)
		if err != nil {
			return total, fmt.Errorf("partitions %s.%s: %w", schema, table, Translate(err))
		}
		var n int
		for rows.Next() {
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return total, err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("partitions %s.%s: %w", schema, table, Translate(err))
		}
		if n > 0 {
			m.logger.Info("partitions created", "table", schema+"."+table, "count", n)
		}
		total += n
	}
	_, err = m.Observe(ctx)
	return total, err
}

// Observe refreshes pvara_partition_months_ahead and returns it per table.
func (m *PartitionManager) Observe(ctx context.Context) (map[string]int, error) {
	rows, err := m.db.Query(ctx, "SELECT schema_name, table_name, upper_bound FROM platform.partition_horizon()")
	if err != nil {
		return nil, Translate(err)
	}
	defer rows.Close()
	now := m.now().UTC()
	out := map[string]int{}
	for rows.Next() {
		var s, t string
		var upper *time.Time
		if err := rows.Scan(&s, &t, &upper); err != nil {
			return nil, err
		}
		ahead := -1
		if upper != nil {
			ahead = monthsBetween(now, upper.UTC())
		}
		out[s+"."+t] = ahead
		m.aheadGauge.WithLabelValues(s + "." + t).Set(float64(ahead))
	}
	return out, rows.Err()
}

// monthsBetween is how many whole months from now's month the bound lies:
// a bound at the start of next month is 0 months ahead (only this month is
// covered), a bound one month later is 1, and so on.
func monthsBetween(now, upper time.Time) int {
	nm := now.Year()*12 + int(now.Month())
	um := upper.Year()*12 + int(upper.Month())
	return um - nm - 1
}
