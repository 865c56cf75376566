package audit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/metrics"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

func mustUUID(t testing.TB) uuid.UUID {
	t.Helper()
	id, err := uuid.NewV7()
	require.NoError(t, err)
	return id
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return ts
}

type fixture struct {
	db     *testenv.DB
	sealer *Sealer
}

func setup(t *testing.T) *fixture {
	t.Helper()
	d := testenv.NewDB(t)
	return &fixture{db: d, sealer: NewSealer(d.App, SealerConfig{BatchSize: 100})}
}

// write records n entries, each in its own transaction, as the application.
func (f *fixture) write(t testing.TB, n int, e Entry) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	before := f.ids(t)
	for i := range n {
		e := e
		e.ResourceID = fmt.Sprintf("%s-%d", e.ResourceID, i)
		require.NoError(t, postgres.Tx(ctx, f.db.App, func(tx pgx.Tx) error { return RecordTx(ctx, tx, e) }))
	}
	after := f.ids(t)
	return after[len(before):]
}

// ids lists every entry id in id order (as the owner, past RLS).
func (f *fixture) ids(t testing.TB) []uuid.UUID {
	t.Helper()
	rows, err := f.db.Owner.Query(context.Background(), "SELECT id FROM platform.audit_log ORDER BY id")
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	require.NoError(t, err)
	return ids
}

func (f *fixture) seal(t testing.TB) int {
	t.Helper()
	n, err := f.sealer.Seal(context.Background())
	require.NoError(t, err)
	return n
}

func (f *fixture) verify(t testing.TB, anchors ...Anchor) Report {
	t.Helper()
	rep, err := Verify(context.Background(), f.db.App, VerifyOptions{Anchors: anchors, PageSize: 7})
	require.NoError(t, err)
	return rep
}

// linkOf returns the entry sealed at seq.
func (f *fixture) entryAt(t testing.TB, seq int64) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	require.NoError(t, f.db.Owner.QueryRow(context.Background(), "SELECT entry_id FROM platform.audit_chain WHERE seq = $1", seq).Scan(&id))
	return id
}

// gauge reads a metric without labels from reg (gauge or counter).
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	v, found, err := metrics.Value(reg, name)
	require.NoError(t, err)
	require.True(t, found, "no metric %s", name)
	return v
}

func TestRecordNeedsAnAction(t *testing.T) {
	t.Parallel()
	f := setup(t)
	require.ErrorIs(t, Record(context.Background(), f.db.App, Entry{}), ErrNoAction)
}

func TestRecordTxFollowsTheTransaction(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	boom := fmt.Errorf("business rule failed")
	err := postgres.Tx(ctx, f.db.App, func(tx pgx.Tx) error {
		require.NoError(t, RecordTx(ctx, tx, Entry{Action: "test.rolled_back"}))
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.Empty(t, f.ids(t), "a rolled-back change leaves no entry")
	f.write(t, 1, Entry{Action: "test.committed"})
	require.Len(t, f.ids(t), 1)
	require.Equal(t, 1, f.seal(t))
}

func TestRecordStoresFieldsAndRedactsPII(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	org, actor := mustUUID(t), mustUUID(t)
	at := mustTime(t, "2026-03-04T05:06:07.123456Z")
	require.NoError(t, Record(ctx, f.db.App, Entry{
		OrgID: org, ActorID: actor, ActorRole: "org_admin", Action: "auth.staff_created", Resource: "user",
		ResourceID: "u-1", IP: "203.0.113.9", OccurredAt: at,
		Details: map[string]any{"role": "recruiter", "cnic": "35202-1234567-1"},
	}))
	var (
		gotOrg, gotActor       uuid.UUID
		role, action, res, rid string
		ip, details            string
		gotAt                  time.Time
	)
	require.NoError(t, f.db.Owner.QueryRow(ctx, `SELECT org_id, actor_id, actor_role, action, resource, resource_id, ip, details::text, occurred_at
		FROM platform.audit_log`).Scan(&gotOrg, &gotActor, &role, &action, &res, &rid, &ip, &details, &gotAt))
	require.Equal(t, org, gotOrg)
	require.Equal(t, actor, gotActor)
	require.Equal(t, "org_admin", role)
	require.Equal(t, "auth.staff_created", action)
	require.Equal(t, "user", res)
	require.Equal(t, "u-1", rid)
	require.Equal(t, "203.0.113.9", ip)
	require.True(t, at.Equal(gotAt), "%s != %s", at, gotAt)
	require.JSONEq(t, `{"role":"recruiter","cnic":"[redacted]","pii_redacted":1}`, details)
}

func TestSealerLinksEntriesIntoOneChain(t *testing.T) {
	t.Parallel()
	f := setup(t)
	require.Equal(t, 0, f.seal(t), "nothing to seal")
	rep := f.verify(t)
	require.True(t, rep.OK())
	require.Zero(t, rep.Sealed)

	ids := f.write(t, 12, Entry{Action: "test.a", ResourceID: "r"})
	rep = f.verify(t)
	require.True(t, rep.OK(), "unsealed entries are pending, not a problem: %v", rep.Problem)
	require.EqualValues(t, 12, rep.Pending)

	require.Equal(t, 12, f.seal(t))
	require.Equal(t, 0, f.seal(t), "sealing twice links nothing twice")
	rep = f.verify(t)
	require.True(t, rep.OK(), "%v", rep.Problem)
	require.EqualValues(t, 12, rep.Sealed)
	require.EqualValues(t, 12, rep.HeadSeq)
	require.Zero(t, rep.Pending)
	// Entries committed one after another are sealed in that order.
	for i, id := range ids {
		require.Equal(t, id, f.entryAt(t, int64(i+1)))
	}
	more := f.write(t, 3, Entry{Action: "test.b", ResourceID: "r"})
	require.Equal(t, 3, f.seal(t))
	require.Equal(t, more[0], f.entryAt(t, 13))
	rep = f.verify(t)
	require.True(t, rep.OK(), "%v", rep.Problem)
	require.EqualValues(t, 15, rep.Sealed)
}

func TestSealerWorksThroughABacklogInBatches(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	f.sealer = NewSealer(f.db.App, SealerConfig{BatchSize: 4, MaxBatches: 2, Registerer: reg})
	f.write(t, 10, Entry{Action: "test.batch", ResourceID: "r"})
	require.Equal(t, 8, f.seal(t), "one call stops after MaxBatches")
	require.Equal(t, 2.0, gauge(t, reg, "pvara_audit_unsealed_entries"), "the backlog left")
	require.Equal(t, 8.0, gauge(t, reg, "pvara_audit_chain_head_seq"))
	n, err := f.sealer.Backlog(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	require.Equal(t, 2, f.seal(t), "the next call goes on")
	n, err = f.sealer.Backlog(context.Background())
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, 0.0, gauge(t, reg, "pvara_audit_unsealed_entries"))
	require.Equal(t, 10.0, gauge(t, reg, "pvara_audit_chain_head_seq"))
	require.Equal(t, 10.0, gauge(t, reg, "pvara_audit_sealed_total"))
	require.Positive(t, gauge(t, reg, "pvara_audit_last_seal_timestamp_seconds"))
	rep := f.verify(t)
	require.True(t, rep.OK(), "%v", rep.Problem)
	require.EqualValues(t, 10, rep.Sealed)
}

// TestSealerDoesNotSkipALateCommit is the outbox trap of reading "id > last
// seen": a transaction that wrote its entry first but commits last must
// still be sealed, after the entries that committed before it.
func TestSealerDoesNotSkipALateCommit(t *testing.T) {
	t.Parallel()
	for _, batch := range []int{100, 2} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			t.Parallel()
			testLateCommit(t, batch)
		})
	}
}

func testLateCommit(t *testing.T, batch int) {
	f := setup(t)
	f.sealer = NewSealer(f.db.App, SealerConfig{BatchSize: batch})
	ctx := context.Background()
	slow, err := f.db.App.Begin(ctx)
	require.NoError(t, err)
	defer slow.Rollback(ctx) //nolint:errcheck
	require.NoError(t, RecordTx(ctx, slow, Entry{Action: "test.slow"}))
	require.NoError(t, postgres.SystemScope().Apply(ctx, slow))
	var slowID uuid.UUID
	require.NoError(t, slow.QueryRow(ctx, "SELECT id FROM platform.audit_log WHERE action = 'test.slow'").Scan(&slowID))

	fast := f.write(t, 5, Entry{Action: "test.fast", ResourceID: "r"})
	require.Equal(t, 5, f.seal(t))
	var watermark int64
	var slowTx int64
	require.NoError(t, f.db.Owner.QueryRow(ctx, "SELECT watermark FROM platform.audit_chain ORDER BY seq DESC LIMIT 1").Scan(&watermark))
	require.NoError(t, slow.QueryRow(ctx, "SELECT pg_current_xact_id()::text::bigint").Scan(&slowTx))
	require.LessOrEqual(t, watermark, slowTx, "a running writer holds the watermark back")

	require.NoError(t, slow.Commit(ctx))
	require.Equal(t, 1, f.seal(t))
	require.Equal(t, slowID, f.entryAt(t, 6), "sealed in commit order: after the entries that committed first")
	for i, id := range fast {
		require.Equal(t, id, f.entryAt(t, int64(i+1)))
	}
	rep := f.verify(t)
	require.True(t, rep.OK(), "%v", rep.Problem)
	require.EqualValues(t, 6, rep.Sealed)
}

// TestConcurrentWritersMakeOneLinearChain: many writers insert at once
// while two sealers run (the second stands for a second maintenance
// replica); the result is one chain holding every entry exactly once.
func TestConcurrentWritersMakeOneLinearChain(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	const writers, perWriter = 16, 40
	var sealers sync.WaitGroup
	for range 2 {
		s := NewSealer(f.db.App, SealerConfig{BatchSize: 50})
		sealers.Go(func() { _ = s.Run(ctx, 5*time.Millisecond) })
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				err := postgres.Tx(ctx, f.db.App, func(tx pgx.Tx) error {
					return RecordTx(ctx, tx, Entry{Action: "test.concurrent", ResourceID: fmt.Sprintf("w%d-%d", w, i)})
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// Let the running sealers catch up, then stop them and finish.
	require.Eventually(t, func() bool { return f.verify(t).Pending == 0 }, 10*time.Second, 20*time.Millisecond)
	cancel()
	sealers.Wait()
	f.seal(t)

	rep := f.verify(t)
	require.True(t, rep.OK(), "%v", rep.Problem)
	require.EqualValues(t, writers*perWriter, rep.Sealed)
	require.Zero(t, rep.Pending)
	var links, distinct, maxSeq int64
	require.NoError(t, f.db.Owner.QueryRow(context.Background(),
		"SELECT count(*), count(DISTINCT entry_id), max(seq) FROM platform.audit_chain").Scan(&links, &distinct, &maxSeq))
	require.EqualValues(t, writers*perWriter, links)
	require.Equal(t, links, distinct, "each entry sealed once")
	require.Equal(t, links, maxSeq, "no gaps")
}

// TestTwoSealersCannotFork makes two seal rounds race past the advisory
// lock (each takes a different one): the chain's constraints let one commit
// and refuse the other.
func TestTwoSealersCannotFork(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	f.write(t, 3, Entry{Action: "test.fork", ResourceID: "r"})
	require.Equal(t, 3, f.seal(t))
	head := func() (seq int64, hash []byte) {
		require.NoError(t, f.db.Owner.QueryRow(ctx, "SELECT seq, hash FROM platform.audit_chain ORDER BY seq DESC LIMIT 1").Scan(&seq, &hash))
		return
	}
	seq, hash := head()
	a, b := f.write(t, 1, Entry{Action: "test.fork.a", ResourceID: "a"})[0], f.write(t, 1, Entry{Action: "test.fork.b", ResourceID: "b"})[0]
	// Two transactions each append their own entry after the same head.
	txA, err := f.db.App.Begin(ctx)
	require.NoError(t, err)
	defer txA.Rollback(ctx) //nolint:errcheck
	txB, err := f.db.App.Begin(ctx)
	require.NoError(t, err)
	defer txB.Rollback(ctx) //nolint:errcheck
	insert := func(tx pgx.Tx, entry uuid.UUID, s int64, prev []byte) error {
		eh := [HashSize]byte{1}
		h := linkHash(prev, s, eh[:])
		_, err := tx.Exec(ctx, "INSERT INTO platform.audit_chain (seq, entry_id, entry_hash, prev_hash, hash, watermark) VALUES ($1, $2, $3, $4, $5, 0)",
			s, entry, eh[:], prev, h[:])
		return err
	}
	require.NoError(t, insert(txA, a, seq+1, hash))
	errB := make(chan error, 1)
	go func() { errB <- insert(txB, b, seq+1, hash) }() // waits for A's row
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, txA.Commit(ctx))
	err = <-errB
	require.Error(t, err)
	require.True(t, postgres.IsUnique(err, ""), "the second link after the same head is refused: %v", err)
	// Nor can a link skip ahead or start a second chain.
	txC, err := f.db.App.Begin(ctx)
	require.NoError(t, err)
	defer txC.Rollback(ctx) //nolint:errcheck
	require.ErrorContains(t, insert(txC, b, seq+3, hash), "has no predecessor")
}

// TestSealDelayMetric: the delay is measured from the entry's creation (the
// UUIDv7 time; occurred_at for ids of other versions), never negative.
func TestSealDelayMetric(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg := prometheus.NewRegistry()
	f.sealer = NewSealer(f.db.App, SealerConfig{Registerer: reg})
	f.write(t, 2, Entry{Action: "test.v7", ResourceID: "r", OccurredAt: time.Now().Add(-time.Hour)}) // backdated occurred_at
	f.db.Exec(t, "INSERT INTO platform.audit_log (id, occurred_at, action) VALUES (gen_random_uuid(), now() - interval '2 seconds', 'test.v4')")
	require.Equal(t, 3, f.seal(t))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "pvara_audit_seal_delay_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			require.EqualValues(t, 3, h.GetSampleCount())
			require.GreaterOrEqual(t, h.GetSampleSum(), 2.0, "the v4 entry waited 2s by its occurred_at")
			require.Less(t, h.GetSampleSum(), 60.0, "v7 entries are timed by their id, not their backdated occurred_at")
		}
	}
	lag := gauge(t, reg, "pvara_audit_seal_lag_seconds")
	require.GreaterOrEqual(t, lag, 2.0)
	require.Less(t, lag, 60.0)
}
