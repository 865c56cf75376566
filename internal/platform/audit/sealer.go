package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pvara-gov/pvara/internal/platform/audit/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// sealerLockKey is the transaction-scoped advisory lock that lets one sealer
// work at a time across the cluster ("pvara.audit.sealer" as an int64).
const sealerLockKey int64 = 0x7076617261_5345

// SealerConfig configures a Sealer. Zero values take the defaults.
type SealerConfig struct {
	// BatchSize is the most entries linked per transaction (default 1000).
	BatchSize int
	// MaxBatches bounds the batches of one Seal call (default 50), so one
	// call over a huge backlog returns and the next tick continues.
	MaxBatches int
	// AnchorEvery is how often the chain head is logged at info level, so
	// an external log store keeps anchors that `pvara audit verify --anchor`
	// can check a truncated or rewritten chain against (default 1m).
	AnchorEvery time.Duration
	Logger      *slog.Logger
	Registerer  prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Sealer links committed entries into the hash chain. Writers never wait
// for it: it runs beside them (the maintenance role, every few hundred
// milliseconds) and appends links in the order it sees entries commit.
//
// How it finds "committed and not yet sealed" without a lock on the write
// path and without skipping an entry whose transaction commits late: every
// entry stores its writer's transaction id (tx_id). Each batch reads, in one
// statement, the unsealed entries with tx_id >= watermark in (tx_id, id)
// order and the snapshot horizon (the oldest transaction still running):
// every transaction below the horizon has ended, so its committed entries
// are all visible to that statement. Once they are sealed, the horizon (or,
// when the batch was cut short, the tx_id of the first entry left over)
// becomes the next watermark: every committed entry below it is in the
// chain. A long transaction only holds the watermark back (the window
// scanned grows); it never stops sealing and never lets an entry be
// skipped. Within a batch, one transaction's entries sit together.
//
// Correctness does not depend on there being one sealer: the advisory lock
// avoids wasted work, while the chain's primary key, UNIQUE(prev_hash) and
// link trigger make a second concurrent sealer fail rather than fork.
//
// A Sealer is used by one goroutine at a time.
type Sealer struct {
	db      postgres.Beginner
	cfg     SealerConfig
	m       *sealerMetrics
	lastLog time.Time
	// from is where the next batch starts when it is past the stored
	// watermark: after a batch cut inside one committed transaction's
	// entries, the next one resumes there instead of re-reading them. It
	// only ever names sealed ground, so a stale value costs a rescan, never
	// a skipped entry; a restart falls back to the stored watermark.
	from position
}

// position is a place in (tx_id, id) order.
type position struct {
	tx int64
	id uuid.UUID
}

func (p position) before(q position) bool {
	return p.tx < q.tx || p.tx == q.tx && bytes.Compare(p.id[:], q.id[:]) < 0
}

type sealerMetrics struct {
	sealed    prometheus.Counter
	failures  prometheus.Counter
	skipped   prometheus.Counter
	unsealed  prometheus.Gauge
	window    prometheus.Gauge
	lag       prometheus.Gauge
	head      prometheus.Gauge
	lastSeal  prometheus.Gauge
	sealDelay prometheus.Histogram
}

func newSealerMetrics(reg prometheus.Registerer) *sealerMetrics {
	m := &sealerMetrics{
		sealed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pvara_audit_sealed_total", Help: "Audit entries linked into the hash chain.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pvara_audit_seal_failures_total", Help: "Seal rounds that failed (rolled back; retried next tick).",
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pvara_audit_seal_skipped_total", Help: "Seal rounds skipped because another sealer held the lock.",
		}),
		unsealed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pvara_audit_unsealed_entries", Help: "Committed audit entries not yet in the chain after the last Seal call (0 when it drained them all).",
		}),
		window: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pvara_audit_seal_window_transactions",
			Help: "Transactions whose entries each seal round scans (next xid - watermark); it grows while a long-running transaction holds the snapshot horizon back.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pvara_audit_seal_lag_seconds", Help: "Age of the oldest entry sealed by the last round that sealed anything (how long entries wait).",
		}),
		head: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pvara_audit_chain_head_seq", Help: "Sequence number of the newest link of the audit chain.",
		}),
		lastSeal: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pvara_audit_last_seal_timestamp_seconds", Help: "When a seal round last completed (Unix time); stale means the sealer is not running.",
		}),
		sealDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pvara_audit_seal_delay_seconds",
			Help:    "Time from an entry's creation to its sealing.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.sealed, m.failures, m.skipped, m.unsealed, m.window, m.lag, m.head, m.lastSeal, m.sealDelay)
	}
	return m
}

// NewSealer returns a sealer over pool, which must run as the application
// role (or any role with SELECT and INSERT on the audit tables).
func NewSealer(pool postgres.Beginner, cfg SealerConfig) *Sealer {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	if cfg.MaxBatches <= 0 {
		cfg.MaxBatches = 50
	}
	if cfg.AnchorEvery <= 0 {
		cfg.AnchorEvery = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = logx.Discard()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sealer{db: pool, cfg: cfg, m: newSealerMetrics(cfg.Registerer)}
}

// Seal links every entry committed so far that is not yet in the chain, a
// batch per transaction, and returns how many it linked. It returns 0 and
// no error when another sealer holds the lock.
func (s *Sealer) Seal(ctx context.Context) (int, error) {
	total := 0
	for range s.cfg.MaxBatches {
		n, more, skipped, err := s.sealBatch(ctx)
		total += n
		if err != nil {
			s.m.failures.Inc()
			return total, err
		}
		if skipped {
			return 0, nil // another sealer is at work
		}
		if !more {
			s.m.unsealed.Set(0)
			s.m.lastSeal.Set(float64(s.cfg.Now().UnixNano()) / 1e9)
			return total, nil
		}
	}
	// Behind: count what is left (only now, as it costs a scan of it).
	if n, err := s.Backlog(ctx); err == nil {
		s.m.unsealed.Set(float64(n))
	}
	s.m.lastSeal.Set(float64(s.cfg.Now().UnixNano()) / 1e9)
	return total, nil
}

// Backlog counts the committed entries not yet sealed.
func (s *Sealer) Backlog(ctx context.Context) (n int64, err error) {
	err = postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
		q := db.New(tx)
		w := int64(0)
		head, err := q.ChainHead(ctx)
		switch {
		case err == nil:
			w = head.Watermark
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		n, err = q.AuditCountPending(ctx, w)
		return err
	})
	return n, err
}

// Run seals at once and then every interval until ctx ends; failures are
// logged and retried at the next tick. The maintenance role calls Seal from
// its own ticker instead; Run is for processes without it.
func (s *Sealer) Run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Seal(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("audit: seal round failed; retrying", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// sealBatch links one batch in its own transaction. more reports that the
// backlog was larger than a batch, skipped that another sealer held the
// lock.
func (s *Sealer) sealBatch(ctx context.Context) (n int, more, skipped bool, err error) {
	var sealed []db.AuditUnsealedRow
	var headSeq int64
	var headHash []byte
	var next position
	err = postgres.Tx(ctx, s.db, func(tx pgx.Tx) error {
		q := db.New(tx)
		locked, err := q.SealerTryLock(ctx, sealerLockKey)
		if err != nil {
			return err
		}
		if !locked {
			s.m.skipped.Inc()
			skipped = true
			return nil
		}
		if err := postgres.SystemScope().Apply(ctx, tx); err != nil {
			return err
		}
		head, err := q.ChainHead(ctx)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			head = db.ChainHeadRow{Hash: zeroHash[:]}
		case err != nil:
			return err
		default:
			s.m.window.Set(float64(head.NextXid - head.Watermark))
		}
		from := position{tx: head.Watermark}
		if from.before(s.from) {
			from = s.from
		}
		rows, err := q.AuditUnsealed(ctx, from.tx, from.id, int32(s.cfg.BatchSize+1))
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		// The watermark may rise to the horizon X (every transaction below
		// it has ended, so its committed entries are all visible here), but
		// not past an entry left for the next batch: with rows in (tx_id,
		// id) order, every visible unsealed entry before the first one left
		// over is in this batch.
		horizon := rows[0].Horizon
		watermark := max(head.Watermark, horizon)
		next = position{tx: watermark}
		if more = len(rows) > s.cfg.BatchSize; more {
			left := rows[s.cfg.BatchSize]
			watermark = max(head.Watermark, min(left.TxID, horizon))
			next = position{tx: watermark}
			if left.TxID < horizon {
				// Its transaction has ended and is visible whole: nothing
				// before this entry is left unsealed.
				next = position{tx: left.TxID, id: left.ID}
			}
			rows = rows[:s.cfg.BatchSize]
		}
		links := make([]db.ChainInsertParams, len(rows))
		prev, seq := head.Hash, head.Seq
		for i := range rows {
			r := &rows[i]
			seq++
			eh := entryHash(&storedEntry{
				ID: r.ID, OccurredAt: r.OccurredAt, OrgID: r.OrgID, ActorID: r.ActorID, ActorRole: r.ActorRole,
				Action: r.Action, Resource: r.Resource, ResourceID: r.ResourceID, IP: r.Ip, RequestID: r.RequestID,
				Details: r.Details,
			})
			h := linkHash(prev, seq, eh[:])
			links[i] = db.ChainInsertParams{
				Seq: seq, EntryID: r.ID, EntryHash: eh[:], PrevHash: prev, Hash: h[:], Watermark: watermark,
			}
			prev = links[i].Hash
		}
		if _, err := q.ChainInsert(ctx, links); err != nil {
			return fmt.Errorf("audit: append %d links after seq %d: %w", len(links), head.Seq, err)
		}
		sealed, headSeq, headHash = rows, seq, prev
		return nil
	})
	if err != nil {
		return 0, false, false, err
	}
	if len(sealed) > 0 {
		s.from = next
		s.observe(sealed, headSeq, headHash)
	}
	return len(sealed), more, skipped, nil
}

// observe updates the metrics after a committed round and logs the head as
// an anchor now and then.
func (s *Sealer) observe(rows []db.AuditUnsealedRow, headSeq int64, headHash []byte) {
	now := s.cfg.Now()
	s.m.sealed.Add(float64(len(rows)))
	s.m.head.Set(float64(headSeq))
	oldest := 0.0
	for i := range rows {
		d := max(0, now.Sub(createdAt(&rows[i])).Seconds())
		s.m.sealDelay.Observe(d)
		oldest = max(oldest, d)
	}
	s.m.lag.Set(oldest)
	if now.Sub(s.lastLog) >= s.cfg.AnchorEvery {
		s.lastLog = now
		s.cfg.Logger.Info("audit chain head", "seq", headSeq, "hash", hex.EncodeToString(headHash),
			"anchor", fmt.Sprintf("%d:%s", headSeq, hex.EncodeToString(headHash)))
	}
}

// createdAt is when an entry was written: the time in its UUIDv7 id (the
// first 48 bits, Unix milliseconds), which unlike occurred_at a caller
// cannot backdate; occurred_at for an id of another version.
func createdAt(r *db.AuditUnsealedRow) time.Time {
	if r.ID.Version() != 7 {
		return r.OccurredAt
	}
	id := r.ID
	ms := int64(id[0])<<40 | int64(id[1])<<32 | int64(id[2])<<24 | int64(id[3])<<16 | int64(id[4])<<8 | int64(id[5])
	return time.UnixMilli(ms)
}
