// Package consumer runs event handlers for the event-driven worker roles.
//
// A Handler belongs to one consumer group and one event type. The Runner
// gives each group a franz-go consumer-group client subscribed to the topics
// of its handlers and applies every record exactly once in effect: the
// handler's writes and a row in platform.processed_events (keyed by group
// and event id) are committed in ONE database transaction, so a redelivered
// event finds its row and is skipped. Kafka offsets are committed only
// after the effects they cover were committed. A failing handler is retried
// with backoff up to MaxAttempts times; then the record goes to the type's
// dead-letter topic (pvara.<type>.dlq) with the error, the attempt count,
// the group and the original position in headers, and the partition moves
// on. Rebalances and shutdown stop after the record in hand, commit what is
// done and hand over cleanly. docs/events.md has the whole story.
package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/platform/consumer/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/kafka"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// Handler applies the events of one type for one consumer group.
type Handler struct {
	// Group is the Kafka consumer group and the dedupe namespace, e.g.
	// "screening". Each group sees every event of its types once.
	Group string
	// Type is the event type, e.g. "applications.submitted"; the handler
	// consumes topic pvara.<Type>.
	Type string
	// Handle applies ev. Every database write of the effect goes through
	// tx, which the runner commits together with the processed-event
	// record; follow-up events go through outbox.EnqueueTx(ctx, tx, ...)
	// in the same transaction. tx runs with the row-level-security scope
	// "system". ctx carries the request id and traceparent of the request
	// that caused the event, and ends after consumer.handler_timeout.
	//
	// Returning an error rolls tx back and the event is tried again after
	// a backoff; wrap it with Permanent to skip the remaining attempts.
	// Errors go to logs and to dead-letter headers: no PII in them.
	// ev.Version tells which payload schema ev.Data follows.
	Handle func(ctx context.Context, tx pgx.Tx, ev outbox.Envelope) error
	// AfterCommit, when set, is called once for each event Handle applied,
	// after the transaction holding the effect committed (never for a
	// duplicate or a rolled-back attempt), in the partition's order. It is
	// for derived copies kept outside PostgreSQL, such as a Redis index:
	// the process may die between the commit and the call, so whatever it
	// maintains must also be repaired another way (a rebuild, an expiry).
	// It cannot fail the event.
	AfterCommit func(ctx context.Context, ev outbox.Envelope)
	// HandleBatch, when set, applies several events at once: the runner
	// passes it every fresh event of a batch (not applied by the group
	// before, each once) in the partition's order, in the batch's
	// transaction, so a handler can read and write a whole batch with a
	// few statements. It has Handle's contract for each event, and ctx
	// carries no event's request id. On an error the whole batch is rolled
	// back; return BatchFailure(i, err) to say that evs[i] failed: the
	// events before it are then applied again as a batch and evs[i] goes
	// alone through Handle, with its retries and the dead-letter path (the
	// batch's failure counting as its first attempt). An error that names
	// no event sends evs[0] alone through Handle without spending one of
	// its attempts; a batch that runs out of the handler timeout is tried
	// again in smaller batches. Handle is still required: it is the
	// single-event path.
	HandleBatch func(ctx context.Context, tx pgx.Tx, evs []outbox.Envelope) error
	// AfterCommitBatch, when set, replaces AfterCommit: it is called once
	// per committed transaction with the events it applied (a batch, or one
	// event on the single-event path), in the partition's order, with
	// AfterCommit's guarantees.
	AfterCommitBatch func(ctx context.Context, evs []outbox.Envelope)
}

// BatchError is HandleBatch's error naming the event that failed: Index
// is its position in the evs HandleBatch was given.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("event %d of the batch: %v", e.Index, e.Err) }
func (e *BatchError) Unwrap() error { return e.Err }

// BatchFailure says that evs[i] of a HandleBatch call failed with err (nil
// err: nil). err may be Permanent.
func BatchFailure(i int, err error) error {
	if err == nil {
		return nil
	}
	return &BatchError{Index: i, Err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks a handler error that no retry can fix (an event the
// handler can never apply): the event goes to the dead-letter topic at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Dead-letter record headers, added to the original record's headers.
const (
	HeaderDLQError     = "dlq-error"
	HeaderDLQAttempts  = "dlq-attempts"
	HeaderDLQGroup     = "dlq-group"
	HeaderDLQTopic     = "dlq-original-topic"
	HeaderDLQPartition = "dlq-original-partition"
	HeaderDLQOffset    = "dlq-original-offset"
	HeaderDLQFailedAt  = "dlq-failed-at"
)

// Config configures a Runner. Zero fields take the defaults of
// config.Defaults().Consumer.
type Config struct {
	// MaxAttempts is how many times one delivery of an event is tried
	// before it is dead-lettered (default 5).
	MaxAttempts int
	// RetryBackoff is the first pause between attempts (200ms), doubling
	// up to RetryBackoffMax (2s), with jitter.
	RetryBackoff, RetryBackoffMax time.Duration
	// HandlerTimeout bounds one attempt, its transaction included (5s).
	HandlerTimeout time.Duration
	// MaxPollRecords bounds the records taken per poll (1000).
	MaxPollRecords int
	// BatchSize bounds the events of one partition applied in one
	// transaction (100); 1 gives a transaction per event.
	BatchSize int
	// Topics says how missing topics are created at start.
	Topics kafka.TopicSpec
}

func (c *Config) defaults() {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = 200 * time.Millisecond
	}
	if c.RetryBackoffMax == 0 {
		c.RetryBackoffMax = 2 * time.Second
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = 5 * time.Second
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = 1000
	}
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	if c.Topics.Partitions == 0 {
		c.Topics.Partitions = 6
	}
	if c.Topics.ReplicationFactor == 0 {
		c.Topics.ReplicationFactor = -1
	}
}

// Deps are the Runner's collaborators.
type Deps struct {
	// Pool runs the handlers' transactions (the application pool).
	Pool *pgxpool.Pool
	// Kafka are the connection options (kafka.ClientOptions); the runner
	// adds the consumer-group options.
	Kafka []kgo.Opt
	// Handlers to run; at most one per (group, type).
	Handlers []Handler
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Metrics defaults to unregistered metrics; share one per process.
	Metrics *Metrics
}

// Runner runs the handlers of one worker role: one consumer-group client
// per group.
type Runner struct {
	cfg     Config
	pool    *pgxpool.Pool
	kopts   []kgo.Opt
	logger  *slog.Logger
	metrics *Metrics
	groups  map[string]map[string]Handler // group → topic → handler
}

// New checks the handlers and returns a runner.
func New(cfg Config, deps Deps) (*Runner, error) {
	cfg.defaults()
	if deps.Pool == nil {
		return nil, errors.New("consumer: a runner needs a pool")
	}
	if cfg.RetryBackoff > cfg.RetryBackoffMax || cfg.MaxAttempts < 1 {
		return nil, errors.New("consumer: bad configuration (max attempts ≥ 1, retry backoff ≤ its max)")
	}
	if deps.Logger == nil {
		deps.Logger = logx.Discard()
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics(nil)
	}
	r := &Runner{cfg: cfg, pool: deps.Pool, kopts: deps.Kafka, logger: deps.Logger, metrics: deps.Metrics, groups: map[string]map[string]Handler{}}
	for _, h := range deps.Handlers {
		if h.Group == "" || h.Type == "" || h.Handle == nil {
			return nil, fmt.Errorf("consumer: handler %q/%q needs a group, a type and a Handle func", h.Group, h.Type)
		}
		if h.AfterCommit != nil && h.AfterCommitBatch != nil {
			return nil, fmt.Errorf("consumer: handler %s/%s sets both AfterCommit and AfterCommitBatch", h.Group, h.Type)
		}
		topic := outbox.Topic(h.Type)
		if r.groups[h.Group] == nil {
			r.groups[h.Group] = map[string]Handler{}
		}
		if _, dup := r.groups[h.Group][topic]; dup {
			return nil, fmt.Errorf("consumer: two handlers for group %s and type %s", h.Group, h.Type)
		}
		r.groups[h.Group][topic] = h
	}
	return r, nil
}

// Run consumes until ctx ends, then commits what is done, leaves the groups
// and returns nil. It fails only if it cannot start (bad options).
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(r.groups))
	for name, handlers := range r.groups {
		g := &group{r: r, name: name, handlers: handlers, logger: r.logger.With("consumer_group", name), pending: map[topicPartition]*kgo.Record{}}
		wg.Go(func() {
			if err := g.run(ctx); err != nil {
				errc <- err
			}
		})
	}
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

type topicPartition struct {
	topic     string
	partition int32
}

// group is one consumer group's client and its processing loop.
type group struct {
	r        *Runner
	name     string
	handlers map[string]Handler // by topic
	logger   *slog.Logger
	cl       *kgo.Client

	// yield is set when a rebalance waits for the poll in hand: the
	// partition loops stop after their current record.
	yield atomic.Bool

	mu sync.Mutex
	// pending are the last processed records per partition whose offsets
	// are not committed yet.
	pending map[topicPartition]*kgo.Record
}

func (g *group) topics() []string {
	ts := make([]string, 0, len(g.handlers))
	for t := range g.handlers {
		ts = append(ts, t)
	}
	return ts
}

func (g *group) run(ctx context.Context) error {
	if err := g.ensureTopics(ctx); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	opts := append(append([]kgo.Opt{}, g.r.kopts...),
		kgo.ConsumerGroup(g.name),
		kgo.ConsumeTopics(g.topics()...),
		// A new group starts at the beginning of the topics, so events
		// produced before the group first ran are not skipped.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		// Rebalance callbacks run only between polls, when no record is
		// being handled, so a revoke commits exactly what was applied.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsCallbackBlocked(func(context.Context, *kgo.Client) { g.yield.Store(true) }),
		kgo.OnPartitionsRevoked(g.revoked),
		kgo.OnPartitionsLost(g.lost),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RecordDeliveryTimeout(30*time.Second),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("consumer %s: client: %w", g.name, err)
	}
	g.cl = cl
	g.logger.Info("consumer group started", "topics", g.topics())
	for {
		fetches := cl.PollRecords(ctx, g.r.cfg.MaxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			break
		}
		fetches.EachError(func(t string, p int32, err error) {
			g.logger.Warn("consumer: fetch error", "topic", t, "partition", p, "error", err)
		})
		g.process(ctx, fetches)
		g.commitPending(ctx)
		g.yield.Store(false)
		cl.AllowRebalance()
	}
	// Shutdown: everything handled so far is committed before leaving the
	// group, so the next owner starts after it.
	g.commitPending(ctx)
	cl.AllowRebalance()
	cl.Close()
	g.logger.Info("consumer group stopped")
	return nil
}

// ensureTopics creates the group's topics and their dead-letter topics,
// retrying while Kafka is unreachable.
func (g *group) ensureTopics(ctx context.Context) error {
	cl, err := kgo.NewClient(g.r.kopts...)
	if err != nil {
		return fmt.Errorf("consumer %s: client: %w", g.name, err)
	}
	defer cl.Close()
	var want []string
	for _, t := range g.topics() {
		want = append(want, t, t+outbox.DLQSuffix)
	}
	backoff := g.r.cfg.RetryBackoff
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		created, err := kafka.EnsureTopics(cctx, cl, g.r.cfg.Topics, want...)
		cancel()
		if err == nil {
			if len(created) > 0 {
				g.logger.Info("consumer: created topics", "topics", created)
			}
			return nil
		}
		g.logger.Warn("consumer: cannot create topics yet; retrying", "error", err)
		sleep(ctx, backoff)
		backoff = min(2*backoff, 10*time.Second)
	}
	return nil
}

// stopping reports whether the partition loops should stop after the
// record in hand: shutdown, or a rebalance waiting.
func (g *group) stopping(ctx context.Context) bool { return ctx.Err() != nil || g.yield.Load() }

// process handles one poll: partitions in parallel, each in offset order.
// A partition that stopped early (shutdown, rebalance) is rewound to its
// first unhandled record, so nothing polled is skipped.
func (g *group) process(ctx context.Context, fetches kgo.Fetches) {
	type part struct {
		recs []*kgo.Record
		hw   int64
	}
	parts := map[topicPartition]*part{}
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		tp := topicPartition{p.Topic, p.Partition}
		if parts[tp] == nil {
			parts[tp] = &part{}
		}
		parts[tp].recs = append(parts[tp].recs, p.Records...)
		parts[tp].hw = max(parts[tp].hw, p.HighWatermark)
	})
	var wg sync.WaitGroup
	var rewindMu sync.Mutex
	rewind := map[string]map[int32]kgo.EpochOffset{}
	for tp, p := range parts {
		wg.Go(func() {
			next := g.runPartition(ctx, tp, p.recs, p.hw)
			if next == len(p.recs) {
				return
			}
			rec := p.recs[next]
			rewindMu.Lock()
			defer rewindMu.Unlock()
			if rewind[tp.topic] == nil {
				rewind[tp.topic] = map[int32]kgo.EpochOffset{}
			}
			rewind[tp.topic][tp.partition] = kgo.EpochOffset{Epoch: rec.LeaderEpoch, Offset: rec.Offset}
		})
	}
	wg.Wait()
	if len(rewind) > 0 && ctx.Err() == nil {
		g.cl.SetOffsets(rewind)
	}
}

// runPartition handles one partition's records in order and returns the
// index of the first record it did not finish (len(recs) when all are
// done). Records go in batches: one transaction applies up to BatchSize
// consecutive events, each with its processed-event record, so the commit
// (an fsync) is paid once per batch rather than once per event. When an
// event of a batch fails, the batch is rolled back, the events before it are
// applied again as a batch, and the failing event goes alone through the
// retry and dead-letter path; then batching resumes.
func (g *group) runPartition(ctx context.Context, tp topicPartition, recs []*kgo.Record, hw int64) int {
	failed, prior := -1, error(nil) // a record known to fail, and its error
	size := g.r.cfg.BatchSize       // halved when a batch times out, regrown on success
	for i := 0; i < len(recs); {
		if g.stopping(ctx) {
			return i
		}
		if i == failed {
			if !g.handle(ctx, recs[i], prior) {
				return i
			}
			g.done(tp, recs[i], hw)
			i++
			failed, prior = -1, nil
			continue
		}
		end := min(i+size, len(recs))
		if failed > i {
			end = min(end, failed)
		}
		n, failedAt, err := g.applyBatch(ctx, recs[i:end])
		switch {
		case n > 0:
			g.done(tp, recs[i+n-1], hw)
			i += n
			size = min(2*size, g.r.cfg.BatchSize)
		case failedAt >= 0:
			// The events before it are applied again as a batch of their
			// own; the failing one then goes alone, its failure counting as
			// its first attempt (unless the database was unreachable, or a
			// batch handler's error did not say which event failed).
			failed, prior = i+failedAt, err
			var u *unblamed
			if unavailable(err) || errors.As(err, &u) {
				prior = nil
			}
		default:
			// The transaction failed as a whole: database trouble, or a
			// batch too slow for the handler timeout (then smaller batches
			// follow). Try the first event alone, with retries.
			if errors.Is(err, context.DeadlineExceeded) {
				size = max(1, size/2)
			}
			if !g.handle(ctx, recs[i], nil) {
				return i
			}
			g.done(tp, recs[i], hw)
			i++
		}
	}
	return len(recs)
}

// done records that rec (and everything before it in its partition) was
// handled: its offset may be committed.
func (g *group) done(tp topicPartition, rec *kgo.Record, hw int64) {
	g.mu.Lock()
	g.pending[tp] = rec
	g.mu.Unlock()
	g.r.metrics.lag.WithLabelValues(g.name, tp.topic, strconv.Itoa(int(tp.partition))).Set(float64(max(0, hw-rec.Offset-1)))
}

// applyBatch applies recs in one transaction and returns how many it
// committed (all of them, or none). On failure it returns failedAt, the
// index of the event that failed (with its error), or -1 when the
// transaction failed as a whole (begin, dedupe insert, commit, timeout).
// The dedupe records of the whole batch are written by one statement,
// which also tells which events are new; handlers run for those only:
// HandleBatch once with all of them when the handler has one, else Handle
// for each. A HandleBatch error that names no event is reported at the
// first fresh event, wrapped in unblamed (it is no attempt of that event).
func (g *group) applyBatch(ctx context.Context, recs []*kgo.Record) (n, failedAt int, err error) {
	h, ok := g.handlers[recs[0].Topic] // a partition is one topic: one handler
	if !ok {
		return 0, -1, fmt.Errorf("no handler for topic %s", recs[0].Topic)
	}
	evs := make([]outbox.Envelope, 0, len(recs))
	ids := make([]uuid.UUID, 0, len(recs))
	for j, rec := range recs {
		ev, derr := decode(rec, h.Type)
		if derr != nil {
			if j == 0 {
				return 0, 0, Permanent(derr)
			}
			recs = recs[:j] // the bad record starts the next round
			break
		}
		evs = append(evs, ev)
		ids = append(ids, ev.ID)
	}
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.r.cfg.HandlerTimeout)
	defer cancel()
	failedAt = -1
	applied := make([]bool, len(recs))
	err = postgres.ScopedTx(bctx, g.r.pool, postgres.SystemScope(), func(tx pgx.Tx) error {
		fresh, err := db.New(tx).ProcessedEventsInsert(bctx, g.name, ids)
		if err != nil {
			return fmt.Errorf("record processed events: %w", err)
		}
		isNew := make(map[uuid.UUID]bool, len(fresh))
		for _, id := range fresh {
			isNew[id] = true
		}
		todo := make([]int, 0, len(fresh)) // indexes in recs of the events to apply
		for j := range recs {
			if !isNew[evs[j].ID] {
				continue // a redelivery: already applied by this group
			}
			delete(isNew, evs[j].ID) // the same event twice in a batch: once
			applied[j] = true
			todo = append(todo, j)
		}
		if len(todo) == 0 {
			return nil
		}
		if h.HandleBatch != nil {
			var k int
			k, err = g.handleBatch(bctx, h, tx, evs, todo)
			if err != nil && k >= 0 {
				failedAt = todo[k]
			}
			return err
		}
		for _, j := range todo {
			hctx := logx.WithRequestID(bctx, header(recs[j], outbox.HeaderRequestID))
			hctx = logx.WithTraceParent(hctx, header(recs[j], outbox.HeaderTraceParent))
			hstart := time.Now()
			herr := safeHandle(hctx, h, tx, evs[j])
			g.r.metrics.duration.WithLabelValues(g.name, h.Type).Observe(time.Since(hstart).Seconds())
			if herr != nil {
				failedAt = j
				g.r.metrics.errors.WithLabelValues(g.name, h.Type).Inc()
				return herr
			}
		}
		return nil
	})
	if err != nil {
		if failedAt >= 0 {
			g.logger.Debug("consumer: event failed in a batch", "type", h.Type, "event_id", evs[failedAt].ID, "error", err)
		}
		return 0, failedAt, err
	}
	// The after-commit hooks run before the events are counted as applied,
	// as on the single-event path: whoever watches the counter sees their
	// effects outside PostgreSQL too.
	if h.AfterCommitBatch != nil {
		var done []outbox.Envelope
		for j := range recs {
			if applied[j] {
				done = append(done, evs[j])
			}
		}
		if len(done) > 0 {
			afterCommitBatch(ctx, h, done, "")
		}
	}
	for j := range recs {
		result := "duplicate"
		if applied[j] {
			result = "applied"
			if h.AfterCommitBatch == nil {
				afterCommit(ctx, h, evs[j], recs[j])
			}
		}
		g.r.metrics.events.WithLabelValues(g.name, h.Type, result).Inc()
	}
	return len(recs), 0, nil
}

// unblamed wraps a HandleBatch error that names no event: the runner
// retries the batch's first event alone without counting the error as one
// of its attempts (it may not be that event's fault).
type unblamed struct{ err error }

func (e *unblamed) Error() string { return e.err.Error() }
func (e *unblamed) Unwrap() error { return e.err }

// handleBatch calls h.HandleBatch with the events evs[todo...] and returns
// the position in todo of the event that failed, or -1 when the batch
// failed as a whole (its time ran out): then smaller batches follow.
func (g *group) handleBatch(ctx context.Context, h Handler, tx pgx.Tx, evs []outbox.Envelope, todo []int) (int, error) {
	batch := make([]outbox.Envelope, len(todo))
	for k, j := range todo {
		batch[k] = evs[j]
	}
	start := time.Now()
	err := safeHandleBatch(ctx, h, tx, batch)
	took := time.Since(start).Seconds()
	g.r.metrics.batchDuration.WithLabelValues(g.name, h.Type).Observe(took)
	g.r.metrics.batchEvents.WithLabelValues(g.name, h.Type).Observe(float64(len(batch)))
	per := g.r.metrics.duration.WithLabelValues(g.name, h.Type)
	for range batch {
		per.Observe(took / float64(len(batch)))
	}
	if err == nil {
		return -1, nil
	}
	g.r.metrics.errors.WithLabelValues(g.name, h.Type).Inc()
	var be *BatchError
	switch {
	case ctx.Err() != nil:
		// Out of time, whichever event the handler was at: the batch was
		// too slow, not that event.
		return -1, err
	case errors.As(err, &be) && be.Index >= 0 && be.Index < len(batch):
		return be.Index, err
	default:
		return 0, &unblamed{err: err}
	}
}

// handle applies one record alone, retrying with backoff and finally
// dead-lettering it. prior is the error of an attempt already made (in a
// batch), which counts as the first attempt. It returns false when it
// stopped before the record was finished (shutdown or rebalance); the
// record is then left for the next poll or the next owner.
func (g *group) handle(ctx context.Context, rec *kgo.Record, prior error) bool {
	h, ok := g.handlers[rec.Topic]
	if !ok {
		// Not subscribed: cannot happen; never block the partition on it.
		return true
	}
	ev, err := decode(rec, h.Type)
	attempts := 0
	switch {
	case err != nil:
		err = Permanent(err)
		attempts = 1
		g.r.metrics.errors.WithLabelValues(g.name, h.Type).Inc()
	case prior != nil:
		err = prior
		attempts = 1
	}
	for {
		if err != nil {
			if IsPermanent(err) || attempts >= g.r.cfg.MaxAttempts {
				break
			}
			g.logger.Warn("consumer: handler failed; will retry", "type", h.Type, "event_id", ev.ID, "attempt", attempts, "error", err)
			if !g.pause(ctx, attempts) {
				return false
			}
		}
		aerr := g.apply(ctx, h, ev, rec)
		if aerr == nil {
			return true
		}
		if unavailable(aerr) {
			// PostgreSQL is unreachable: not this event's fault. Wait at
			// the longest backoff and try again without spending an
			// attempt, so an outage does not dead-letter healthy events.
			g.logger.Warn("consumer: database unavailable; waiting", "type", h.Type, "event_id", ev.ID, "error", aerr)
			if !g.pause(ctx, 64) {
				return false
			}
			continue
		}
		attempts++
		err = aerr
		g.r.metrics.errors.WithLabelValues(g.name, h.Type).Inc()
	}
	g.logger.Error("consumer: giving up on an event; sending it to the dead-letter topic",
		"type", h.Type, "topic", rec.Topic, "partition", rec.Partition, "offset", rec.Offset, "attempts", attempts, "error", err)
	for try := 1; ; try++ {
		derr := g.deadLetter(rec, err, attempts)
		if derr == nil {
			g.r.metrics.dlq.WithLabelValues(g.name, h.Type).Inc()
			return true
		}
		g.logger.Warn("consumer: dead-letter produce failed; retrying", "topic", rec.Topic+outbox.DLQSuffix, "error", derr)
		if !g.pause(ctx, try) {
			return false
		}
	}
}

// unavailable reports whether err says PostgreSQL could not be reached,
// or that no connection was free in time (an overloaded process: seen as
// events dead-lettered after every attempt waited for the pool, when the
// API in the same process took all its connections). Neither is the
// event's fault, so neither spends an attempt.
func unavailable(err error) bool {
	return errors.Is(postgres.Translate(err), postgres.ErrUnavailable) || errors.Is(err, postgres.ErrBusy)
}

// pause sleeps the backoff of the given attempt; false if it was cut short
// by shutdown or a rebalance.
func (g *group) pause(ctx context.Context, attempt int) bool {
	d := g.r.cfg.RetryBackoff << min(attempt-1, 20)
	d = min(d, g.r.cfg.RetryBackoffMax)
	d = d/2 + rand.N(d/2+1)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if g.stopping(ctx) {
			return false
		}
		sleep(ctx, min(50*time.Millisecond, time.Until(deadline)))
	}
	return !g.stopping(ctx)
}

func decode(rec *kgo.Record, typ string) (outbox.Envelope, error) {
	var ev outbox.Envelope
	if err := json.Unmarshal(rec.Value, &ev); err != nil {
		return ev, fmt.Errorf("undecodable envelope: %w", err)
	}
	if ev.ID == uuid.Nil || ev.Type != typ || ev.Version < 1 {
		return ev, fmt.Errorf("bad envelope: id %s, type %q, version %d on topic %s", ev.ID, ev.Type, ev.Version, rec.Topic)
	}
	return ev, nil
}

func header(rec *kgo.Record, key string) string {
	for _, h := range rec.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// apply runs one attempt: the processed-event record and the handler's
// effect in one transaction. A duplicate (the group already applied the
// event) commits nothing and succeeds. The attempt is not cut by shutdown,
// only by HandlerTimeout, so a handler is never interrupted half-way for a
// rebalance.
func (g *group) apply(ctx context.Context, h Handler, ev outbox.Envelope, rec *kgo.Record) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.r.cfg.HandlerTimeout)
	defer cancel()
	actx = logx.WithRequestID(actx, header(rec, outbox.HeaderRequestID))
	actx = logx.WithTraceParent(actx, header(rec, outbox.HeaderTraceParent))
	start := time.Now()
	duplicate := false
	err := postgres.ScopedTx(actx, g.r.pool, postgres.SystemScope(), func(tx pgx.Tx) error {
		n, err := db.New(tx).ProcessedEventInsert(actx, g.name, ev.ID)
		if err != nil {
			return fmt.Errorf("record processed event: %w", err)
		}
		if n == 0 {
			duplicate = true
			return nil
		}
		return safeHandle(actx, h, tx, ev)
	})
	g.r.metrics.duration.WithLabelValues(g.name, h.Type).Observe(time.Since(start).Seconds())
	if err != nil {
		return err
	}
	if duplicate {
		g.r.metrics.events.WithLabelValues(g.name, h.Type, "duplicate").Inc()
	} else {
		afterCommit(ctx, h, ev, rec)
		g.r.metrics.events.WithLabelValues(g.name, h.Type, "applied").Inc()
	}
	return nil
}

// afterCommit runs h.AfterCommit (or AfterCommitBatch) for an applied
// event, bounded by the handler timeout and not cut by shutdown; a panic
// is contained.
func afterCommit(ctx context.Context, h Handler, ev outbox.Envelope, rec *kgo.Record) {
	if h.AfterCommitBatch != nil {
		afterCommitBatch(ctx, h, []outbox.Envelope{ev}, header(rec, outbox.HeaderRequestID))
		return
	}
	if h.AfterCommit == nil {
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	actx = logx.WithRequestID(actx, header(rec, outbox.HeaderRequestID))
	defer func() { _ = recover() }()
	h.AfterCommit(actx, ev)
}

// afterCommitBatch runs h.AfterCommitBatch for the events a transaction
// applied, as afterCommit does for one.
func afterCommitBatch(ctx context.Context, h Handler, evs []outbox.Envelope, requestID string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if requestID != "" {
		actx = logx.WithRequestID(actx, requestID)
	}
	defer func() { _ = recover() }()
	h.AfterCommitBatch(actx, evs)
}

// safeHandleBatch is safeHandle for HandleBatch.
func safeHandleBatch(ctx context.Context, h Handler, tx pgx.Tx, evs []outbox.Envelope) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("batch handler panic: %v", p)
		}
	}()
	return h.HandleBatch(ctx, tx, evs)
}

// safeHandle turns a handler panic into an error, so one bad event cannot
// take the worker down; it is retried and dead-lettered like any failure.
func safeHandle(ctx context.Context, h Handler, tx pgx.Tx, ev outbox.Envelope) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panic: %v", p)
		}
	}()
	return h.Handle(ctx, tx, ev)
}

// deadLetter produces rec to its dead-letter topic and waits for the ack.
func (g *group) deadLetter(rec *kgo.Record, cause error, attempts int) error {
	msg := cause.Error()
	if len(msg) > 2048 {
		msg = msg[:2048]
	}
	hs := make([]kgo.RecordHeader, 0, len(rec.Headers)+7)
	for _, h := range rec.Headers {
		if !isDLQHeader(h.Key) {
			hs = append(hs, h)
		}
	}
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderDLQError, Value: []byte(msg)},
		kgo.RecordHeader{Key: HeaderDLQAttempts, Value: []byte(strconv.Itoa(attempts))},
		kgo.RecordHeader{Key: HeaderDLQGroup, Value: []byte(g.name)},
		kgo.RecordHeader{Key: HeaderDLQTopic, Value: []byte(rec.Topic)},
		kgo.RecordHeader{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(int(rec.Partition)))},
		kgo.RecordHeader{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(rec.Offset, 10))},
		kgo.RecordHeader{Key: HeaderDLQFailedAt, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return g.cl.ProduceSync(ctx, &kgo.Record{Topic: rec.Topic + outbox.DLQSuffix, Key: rec.Key, Value: rec.Value, Headers: hs}).FirstErr()
}

func isDLQHeader(k string) bool { return len(k) > 4 && k[:4] == "dlq-" }

// commitPending commits the offsets after the last handled record of each
// partition. A failed commit is kept and retried with the next one; until
// then a redelivery is only a duplicate, which the dedupe absorbs.
func (g *group) commitPending(ctx context.Context) {
	g.mu.Lock()
	recs := make([]*kgo.Record, 0, len(g.pending))
	for _, r := range g.pending {
		recs = append(recs, r)
	}
	g.mu.Unlock()
	if len(recs) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := g.cl.CommitRecords(cctx, recs...); err != nil {
		g.logger.Warn("consumer: offset commit failed; will retry (redeliveries are deduplicated)", "error", err)
		return
	}
	g.mu.Lock()
	for tp, r := range g.pending {
		if slices.Contains(recs, r) {
			delete(g.pending, tp)
		}
	}
	g.mu.Unlock()
}

// revoked commits what was handled on the partitions being taken away
// (BlockRebalanceOnPoll guarantees no record is in hand) and forgets them.
func (g *group) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	g.mu.Lock()
	var recs []*kgo.Record
	for t, ps := range revoked {
		for _, p := range ps {
			if r := g.pending[topicPartition{t, p}]; r != nil {
				recs = append(recs, r)
			}
			delete(g.pending, topicPartition{t, p})
			g.r.metrics.lag.DeleteLabelValues(g.name, t, strconv.Itoa(int(p)))
		}
	}
	g.mu.Unlock()
	if len(recs) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cl.CommitRecords(cctx, recs...); err != nil {
		g.logger.Warn("consumer: commit on revoke failed; the next owner redelivers (deduplicated)", "error", err)
	}
}

// lost forgets partitions taken away without a chance to commit (session
// expired): their next owner starts at the last commit and the dedupe
// absorbs what this member had already applied.
func (g *group) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for t, ps := range lost {
		for _, p := range ps {
			delete(g.pending, topicPartition{t, p})
			g.r.metrics.lag.DeleteLabelValues(g.name, t, strconv.Itoa(int(p)))
		}
	}
	g.logger.Warn("consumer: partitions lost (session expired?)", "partitions", lost)
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
