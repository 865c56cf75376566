package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/platform/kafka"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/outbox/internal/db"
)

// RelayConfig configures a Relay. Zero fields take the documented defaults
// (those of config.Defaults().Outbox).
type RelayConfig struct {
	// Workers is how many claim → produce → delete transactions one relay
	// runs at once (default 4). Each owns the lanes it claimed.
	Workers int
	// LanesPerClaim is how many lanes one transaction claims (default 16).
	LanesPerClaim int
	// BatchPerLane is how many rows one transaction takes from each of its
	// lanes (default 128).
	BatchPerLane int
	// PollMin and PollMax bound the idle wait between empty claims: it
	// starts at PollMin (default 5ms) and doubles to PollMax (default 50ms);
	// a claim that finds rows resets it. This bounds the delay between a
	// commit and its produce when the outbox was idle, without LISTEN/NOTIFY
	// on the write path.
	PollMin, PollMax time.Duration
	// ProduceTimeout bounds a batch's produce, all acks included (default
	// 10s). A batch that times out is rolled back and claimed again.
	ProduceTimeout time.Duration
	// RetryMin and RetryMax bound the backoff after a failed batch (broker
	// or database down): 100ms doubling to 5s by default.
	RetryMin, RetryMax time.Duration
	// StatsInterval is how often the backlog gauges are refreshed (5s).
	StatsInterval time.Duration
	// Linger is the producer's linger per partition (default 1ms; a batch
	// is produced at once, so a long linger only adds latency).
	Linger time.Duration
	// Topics says how missing topics are created.
	Topics kafka.TopicSpec
	// Types are the declared event types; their topics (and dead-letter
	// topics) are created at start. Topics of other types found in the
	// outbox are created before their first produce.
	Types []EventType
}

func (c *RelayConfig) defaults() {
	setDefault(&c.Workers, 4)
	setDefault(&c.LanesPerClaim, 16)
	setDefault(&c.BatchPerLane, 128)
	setDefault(&c.PollMin, 5*time.Millisecond)
	setDefault(&c.PollMax, 50*time.Millisecond)
	setDefault(&c.ProduceTimeout, 10*time.Second)
	setDefault(&c.Linger, time.Millisecond)
	setDefault(&c.RetryMin, 100*time.Millisecond)
	setDefault(&c.RetryMax, 5*time.Second)
	setDefault(&c.StatsInterval, 5*time.Second)
	setDefault(&c.Topics.Partitions, 6)
	if c.Topics.ReplicationFactor == 0 {
		c.Topics.ReplicationFactor = -1
	}
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// RelayDeps are the Relay's collaborators.
type RelayDeps struct {
	// Pool runs the claims; it may be the application's pool (pvara_app).
	Pool *pgxpool.Pool
	// Kafka are the connection options (kafka.ClientOptions). The relay
	// builds its producer client from them with ProducerOptions, and builds
	// a fresh one when a produce times out (see RelayOnce).
	Kafka []kgo.Opt
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Metrics defaults to unregistered metrics.
	Metrics *RelayMetrics
}

// ProducerOptions are the franz-go options the relay's client adds to the
// connection options: an idempotent producer (franz-go's default, which
// also means acks=all) whose per-partition order survives retries, a short
// linger, and a delivery timeout so records that were never sent give up
// instead of waiting for a dead broker.
func ProducerOptions(linger, produceTimeout time.Duration) []kgo.Opt {
	if produceTimeout <= 0 {
		produceTimeout = 10 * time.Second
	}
	return []kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(linger),
		kgo.RecordDeliveryTimeout(produceTimeout),
		kgo.ProducerBatchMaxBytes(1 << 20),
	}
}

// Relay moves events from the outbox to Kafka; see docs/events.md.
//
// Each worker loops over one transaction: claim up to LanesPerClaim lanes
// that have rows (FOR UPDATE SKIP LOCKED on platform.outbox_lanes) and
// delete up to BatchPerLane of each lane's oldest rows (RETURNING them);
// produce them all asynchronously and wait for every ack; commit. A failure
// anywhere (produce error, timeout, crash, lost connection) rolls the
// transaction back, so the rows and the lanes come back untouched for the
// next claim: events may reach Kafka twice, never zero times. Because a lane
// is owned by one transaction at a time and drained in seq order, and a
// batch is fully acknowledged before its lane is released, one key's events
// reach its partition in order whatever the number of relays.
type Relay struct {
	cfg     RelayConfig
	pool    *pgxpool.Pool
	kopts   []kgo.Opt
	logger  *slog.Logger
	metrics *RelayMetrics

	clMu sync.Mutex
	cl   *kgo.Client // the current producer; replaced after a timeout

	topicsMu sync.Mutex
	topics   map[string]bool // topics known to exist

	failing atomic.Bool

	// afterProduce, when set (tests only, see export_test.go), runs after a
	// batch was acknowledged and before its transaction commits; an error
	// rolls the batch back.
	afterProduce func(ctx context.Context, tx pgx.Tx) error
	// onDelivered, when set (benchmarks only), is told the ids of a batch
	// and when Kafka acknowledged it, once the batch committed.
	onDelivered func(ids []uuid.UUID, acked time.Time)
}

// NewRelay returns a relay; see RelayConfig for the defaults.
func NewRelay(cfg RelayConfig, deps RelayDeps) (*Relay, error) {
	cfg.defaults()
	if deps.Pool == nil || len(deps.Kafka) == 0 {
		return nil, errors.New("outbox: a relay needs a pool and Kafka connection options")
	}
	if cfg.LanesPerClaim > Lanes || cfg.PollMin > cfg.PollMax || cfg.RetryMin > cfg.RetryMax {
		return nil, errors.New("outbox: bad relay configuration (lanes per claim ≤ 64, poll min ≤ max, retry min ≤ max)")
	}
	if deps.Logger == nil {
		deps.Logger = logx.Discard()
	}
	if deps.Metrics == nil {
		deps.Metrics = NewRelayMetrics(nil)
	}
	r := &Relay{
		cfg: cfg, pool: deps.Pool, kopts: deps.Kafka, logger: deps.Logger, metrics: deps.Metrics,
		topics: map[string]bool{},
	}
	cl, err := r.newClient()
	if err != nil {
		return nil, err
	}
	r.cl = cl
	return r, nil
}

func (r *Relay) newClient() (*kgo.Client, error) {
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, r.kopts...), ProducerOptions(r.cfg.Linger, r.cfg.ProduceTimeout)...)...)
	if err != nil {
		return nil, fmt.Errorf("outbox: kafka client: %w", err)
	}
	return cl, nil
}

func (r *Relay) client() *kgo.Client {
	r.clMu.Lock()
	defer r.clMu.Unlock()
	return r.cl
}

// replaceClient swaps in a new producer if old is still the current one,
// and closes old in the background. An idempotent producer cannot fail a
// record it may have sent until the broker answers, so after a dead broker
// its produce can wait forever; closing the client is what releases it
// (its records fail, and the batch was rolled back anyway). The new client
// has a new producer id, so nothing it sends collides with the old one's
// sequence numbers.
func (r *Relay) replaceClient(old *kgo.Client) {
	r.clMu.Lock()
	defer r.clMu.Unlock()
	if r.cl != old {
		return
	}
	cl, err := r.newClient()
	if err != nil {
		r.logger.Error("outbox relay: cannot build a new Kafka client", "error", err)
		return
	}
	r.cl = cl
	go old.Close()
}

// Close releases the Kafka client. Call it after Run returned.
func (r *Relay) Close() {
	r.clMu.Lock()
	defer r.clMu.Unlock()
	r.cl.Close()
}

// Ping reports whether a broker answers, for the worker's readiness.
func (r *Relay) Ping(ctx context.Context) error { return kafka.Ping(ctx, r.client()) }

// Run relays until ctx ends; it returns nil then. Kafka or PostgreSQL being
// down is not an error: rows wait in the outbox and the relay retries with
// backoff, so the role stays up and drains everything when they return.
func (r *Relay) Run(ctx context.Context) error {
	ectx, cancel := context.WithTimeout(ctx, r.cfg.ProduceTimeout)
	err := r.EnsureTopics(ectx)
	cancel()
	if err != nil && ctx.Err() == nil {
		r.logger.Warn("outbox relay: cannot create topics yet; will retry before producing", "error", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { r.statsLoop(ctx) })
	for range r.cfg.Workers {
		wg.Go(func() { r.work(ctx) })
	}
	wg.Wait()
	return nil
}

// EnsureTopics creates the topics (and dead-letter topics) of the declared
// event types that do not exist.
func (r *Relay) EnsureTopics(ctx context.Context) error {
	var topics []string
	for _, t := range r.cfg.Types {
		topics = append(topics, t.Topic())
	}
	return r.ensureTopics(ctx, topics)
}

func (r *Relay) ensureTopics(ctx context.Context, topics []string) error {
	r.topicsMu.Lock()
	defer r.topicsMu.Unlock()
	var want []string
	for _, t := range topics {
		if !r.topics[t] {
			want = append(want, t, t+DLQSuffix)
		}
	}
	if len(want) == 0 {
		return nil
	}
	created, err := kafka.EnsureTopics(ctx, r.client(), r.cfg.Topics, want...)
	if err != nil {
		return err
	}
	if len(created) > 0 {
		r.logger.Info("outbox relay: created topics", "topics", created)
	}
	for _, t := range want {
		r.topics[t] = true
	}
	return nil
}

func (r *Relay) forgetTopics(topics []string) {
	r.topicsMu.Lock()
	defer r.topicsMu.Unlock()
	for _, t := range topics {
		delete(r.topics, t)
	}
}

func (r *Relay) work(ctx context.Context) {
	idle := r.cfg.PollMin
	retry := r.cfg.RetryMin
	for ctx.Err() == nil {
		n, err := r.RelayOnce(ctx)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			r.noteFailure(err)
			sleep(ctx, jitter(retry))
			retry = min(2*retry, r.cfg.RetryMax)
		case n == 0:
			sleep(ctx, idle)
			idle = min(2*idle, r.cfg.PollMax)
		default:
			r.noteSuccess()
			idle = r.cfg.PollMin
			retry = r.cfg.RetryMin
		}
	}
}

// noteFailure logs the first failure of a run of failures as a warning and
// the rest at debug level, so an outage of hours does not flood the log.
func (r *Relay) noteFailure(err error) {
	r.metrics.errors.Inc()
	if r.failing.CompareAndSwap(false, true) {
		r.logger.Warn("outbox relay: batch failed; rows stay in the outbox and the relay retries with backoff", "error", err)
		return
	}
	r.logger.Debug("outbox relay: batch failed again", "error", err)
}

func (r *Relay) noteSuccess() {
	if r.failing.CompareAndSwap(true, false) {
		r.logger.Info("outbox relay: producing again")
	}
}

// RelayOnce runs one claim → produce → delete transaction and returns how
// many events it relayed (0 when no lane had rows or all were claimed by
// other workers). A started batch runs to its end even when ctx ends, so a
// shutdown does not turn an acknowledged batch into duplicates;
// ProduceTimeout bounds it.
func (r *Relay) RelayOnce(ctx context.Context) (n int, err error) {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.ProduceTimeout+10*time.Second)
	defer cancel()
	tx, err := r.pool.Begin(bctx)
	if err != nil {
		return 0, fmt.Errorf("outbox relay: begin: %w", err)
	}
	defer func() {
		if err != nil || n == 0 {
			_ = tx.Rollback(context.WithoutCancel(bctx))
		}
	}()
	// This transaction only deletes rows whose events Kafka has already
	// acknowledged. If PostgreSQL crashed before flushing its commit, the
	// rows would come back and be produced again: duplicates, never a
	// loss. So it need not wait for the WAL flush, which takes the fsync
	// off the relay's critical path. (The business transactions that
	// inserted the rows stay synchronous; so do the consumers'.)
	if _, err := tx.Exec(bctx, "SET LOCAL synchronous_commit = off"); err != nil {
		return 0, fmt.Errorf("outbox relay: %w", err)
	}
	// Named locals: sqlc's positional parameters follow their order in
	// the SQL text, and TestRelayOnceClaimsOldestRowsOfLimitedLanes pins
	// their meaning.
	var (
		rotate   = rand.Int32N(Lanes)
		maxLanes = int32(r.cfg.LanesPerClaim)
		perLane  = int32(r.cfg.BatchPerLane)
	)
	rows, err := db.New(tx).OutboxClaim(bctx, rotate, maxLanes, perLane)
	if err != nil {
		return 0, fmt.Errorf("outbox relay: claim: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	// RETURNING has no order: produce in seq order, so each key's records
	// are buffered, and so written to their partition, in commit order.
	sort.Slice(rows, func(i, j int) bool { return rows[i].Seq < rows[j].Seq })

	topics := make([]string, 0, 4)
	for _, row := range rows {
		if !slices.Contains(topics, row.Topic) {
			topics = append(topics, row.Topic)
		}
	}
	if err := r.ensureTopics(bctx, topics); err != nil {
		return 0, fmt.Errorf("outbox relay: %w", err)
	}

	recs := make([]*kgo.Record, len(rows))
	for i, row := range rows {
		recs[i] = &kgo.Record{Topic: row.Topic, Key: []byte(row.EventKey), Value: row.Payload, Headers: recordHeaders(row.Headers)}
	}
	start := time.Now()
	if err := r.produce(recs); err != nil {
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			// The topic went away (deleted, or a broker restarted
			// without its data): create it again before the next try.
			r.forgetTopics(topics)
		}
		return 0, fmt.Errorf("outbox relay: produce %d events: %w", len(recs), err)
	}
	acked := time.Now()
	r.metrics.produceDuration.Observe(acked.Sub(start).Seconds())

	if r.afterProduce != nil {
		if err := r.afterProduce(bctx, tx); err != nil {
			return 0, fmt.Errorf("outbox relay: after produce: %w", err)
		}
	}
	if err := tx.Commit(bctx); err != nil {
		// The events are in Kafka and still in the outbox: they will be
		// produced again. Consumers drop the duplicates.
		return 0, fmt.Errorf("outbox relay: commit after produce (the batch will be sent again): %w", err)
	}
	if r.onDelivered != nil {
		ids := make([]uuid.UUID, len(rows))
		for i, row := range rows {
			ids[i] = row.ID
		}
		r.onDelivered(ids, acked)
	}
	r.metrics.batchRows.Observe(float64(len(rows)))
	perTopic := make(map[string]int, len(topics))
	for _, row := range rows {
		perTopic[row.Topic]++
		r.metrics.deliveryLatency.Observe(max(0, acked.Sub(row.CreatedAt).Seconds()))
	}
	for t, n := range perTopic {
		r.metrics.produced.WithLabelValues(t).Add(float64(n))
	}
	return len(rows), nil
}

// errProduceTimeout is a batch not acknowledged within ProduceTimeout.
var errProduceTimeout = errors.New("not acknowledged in time (broker down or slow); producer replaced")

// produce produces recs asynchronously (franz-go batches them per
// partition) and waits until every one is acknowledged, or ProduceTimeout.
func (r *Relay) produce(recs []*kgo.Record) error {
	cl := r.client()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.ProduceTimeout)
		defer cancel()
		done <- cl.ProduceSync(ctx, recs...).FirstErr()
	}()
	t := time.NewTimer(r.cfg.ProduceTimeout + time.Second)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrRecordTimeout)) {
			r.replaceClient(cl)
		}
		return err
	case <-t.C:
		r.replaceClient(cl)
		return errProduceTimeout
	}
}

func recordHeaders(raw []byte) []kgo.RecordHeader {
	var m map[string]string
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	hs := make([]kgo.RecordHeader, len(keys))
	for i, k := range keys {
		hs[i] = kgo.RecordHeader{Key: k, Value: []byte(m[k])}
	}
	return hs
}

// Stats is the outbox backlog.
type Stats struct {
	// Backlog is the number of events not yet produced.
	Backlog int64
	// OldestAge is how long the oldest of them has waited (0 when none).
	OldestAge time.Duration
}

// ReadStats measures the backlog (a count over the table, which is small
// when the relay keeps up).
func ReadStats(ctx context.Context, q db.DBTX) (Stats, error) {
	row, err := db.New(q).OutboxStats(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("outbox: stats: %w", err)
	}
	return Stats{Backlog: row.Backlog, OldestAge: time.Duration(row.OldestAgeSeconds * float64(time.Second))}, nil
}

func (r *Relay) statsLoop(ctx context.Context) {
	t := time.NewTicker(r.cfg.StatsInterval)
	defer t.Stop()
	for {
		sctx, cancel := context.WithTimeout(ctx, r.cfg.StatsInterval)
		st, err := ReadStats(sctx, r.pool)
		cancel()
		if err == nil {
			r.metrics.backlog.Set(float64(st.Backlog))
			r.metrics.oldestAge.Set(st.OldestAge.Seconds())
		} else if ctx.Err() == nil {
			r.logger.Debug("outbox relay: stats", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// jitter spreads d over [d/2, d) so relays that failed together do not
// retry together.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}
