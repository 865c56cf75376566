package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// businessTable makes a table standing for a module's own table, writable
// by pvara_app, so tests write "a business change and its event" as modules
// do.
func businessTable(t *testing.T, d *testenv.DB) {
	t.Helper()
	d.Exec(t, `CREATE TABLE public.widgets (id uuid PRIMARY KEY, name text NOT NULL)`)
	d.Exec(t, `GRANT SELECT, INSERT, UPDATE ON public.widgets TO pvara_app`)
}

func countRows(t *testing.T, d *testenv.DB, table string) int {
	t.Helper()
	var n int
	require.NoError(t, d.Owner.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

var errBusiness = errors.New("business rule says no")

func TestEnqueueTxStoresTheEventIfAndOnlyIfTheTransactionCommits(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	businessTable(t, d)
	ctx := logx.WithRequestID(context.Background(), "req-123")
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx = logx.WithTraceParent(ctx, tp)

	// Rolled back: neither the change nor the event exists.
	id := uuid.Must(uuid.NewV7())
	err := postgres.Tx(ctx, d.App, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO public.widgets (id, name) VALUES ($1, 'a')`, id); err != nil {
			return err
		}
		if err := outbox.EnqueueTx(ctx, tx, outbox.Event{Type: outbox.TypeTestPing, Version: 1, Subject: id.String(), Data: outbox.TestPing{Note: "x"}}); err != nil {
			return err
		}
		return errBusiness
	})
	require.ErrorIs(t, err, errBusiness)
	require.Zero(t, countRows(t, d, "public.widgets"))
	require.Zero(t, countRows(t, d, "platform.outbox"))

	// Committed: exactly one row, with the documented envelope and headers.
	org := uuid.Must(uuid.NewV7())
	require.NoError(t, postgres.Tx(ctx, d.App, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO public.widgets (id, name) VALUES ($1, 'a')`, id); err != nil {
			return err
		}
		return outbox.EnqueueTx(ctx, tx, outbox.Event{Type: outbox.TypeTestPing, Version: 1, OrgID: org, Subject: id.String(), Data: outbox.TestPing{Note: "x", Seq: 7}})
	}))
	require.Equal(t, 1, countRows(t, d, "platform.outbox"))
	var (
		topic, key string
		lane       int16
		payload    []byte
		headers    map[string]string
	)
	require.NoError(t, d.Owner.QueryRow(ctx, `SELECT topic, event_key, lane, payload, headers FROM platform.outbox`).
		Scan(&topic, &key, &lane, &payload, &headers))
	require.Equal(t, "pvara.platform.test_ping", topic)
	require.Equal(t, id.String(), key)
	require.Equal(t, outbox.Lane(id.String()), lane)
	require.Equal(t, map[string]string{
		"content-type": "application/json", "event-type": outbox.TypeTestPing, "event-version": "1",
		"request-id": "req-123", "traceparent": tp,
	}, headers)

	var env map[string]any
	require.NoError(t, json.Unmarshal(payload, &env))
	require.ElementsMatch(t, []string{"id", "type", "version", "occurred_at", "org_id", "subject", "data"}, keys(env))
	require.Equal(t, outbox.TypeTestPing, env["type"])
	require.EqualValues(t, 1, env["version"])
	require.Equal(t, org.String(), env["org_id"])
	require.Equal(t, id.String(), env["subject"])
	require.Equal(t, map[string]any{"note": "x", "seq": float64(7)}, env["data"])
	evID, err := uuid.Parse(env["id"].(string))
	require.NoError(t, err)
	require.EqualValues(t, 7, evID.Version(), "event ids are UUIDv7")
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Many concurrent business transactions, some rolled back, some failing at
// commit time on a constraint: the outbox holds exactly one row per
// committed transaction.
func TestEnqueueTxUnderConcurrencyMatchesCommitsExactly(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	businessTable(t, d)
	d.Exec(t, `ALTER TABLE public.widgets ADD CONSTRAINT widgets_name_once UNIQUE (name) DEFERRABLE INITIALLY DEFERRED`)
	ctx := context.Background()
	const n = 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	committed := map[string]bool{}
	for i := range n {
		wg.Go(func() {
			id := uuid.Must(uuid.NewV7())
			// Every 5th name repeats an earlier one: the deferred unique
			// check fails at COMMIT, after the event was enqueued.
			name := fmt.Sprint(i)
			if i%5 == 4 {
				name = fmt.Sprint(i - 1)
			}
			err := postgres.Tx(ctx, d.App, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO public.widgets (id, name) VALUES ($1, $2)`, id, name); err != nil {
					return err
				}
				if err := outbox.EnqueueTx(ctx, tx, outbox.Event{Type: outbox.TypeTestPing, Version: 1, Subject: id.String(), Data: outbox.TestPing{Seq: int64(i)}}); err != nil {
					return err
				}
				if i%3 == 0 {
					return errBusiness
				}
				return nil
			})
			if err == nil {
				mu.Lock()
				committed[id.String()] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.NotEmpty(t, committed)
	require.Less(t, len(committed), n, "some transactions must have failed for the test to mean anything")
	rows, err := d.Owner.Query(ctx, `SELECT event_key FROM platform.outbox`)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, got, len(committed))
	for _, k := range got {
		require.True(t, committed[k], "an event of a transaction that did not commit: %s", k)
	}
	require.Equal(t, len(committed), countRows(t, d, "public.widgets"))
}

func TestEventRequiresTypeSubjectVersion(t *testing.T) {
	t.Parallel()
	for _, e := range []outbox.Event{
		{Version: 1, Subject: "s"},
		{Type: "a.b", Subject: "s"},
		{Type: "a.b", Version: 1},
	} {
		_, err := outbox.Marshal(&e)
		require.Error(t, err)
	}
}

func TestEnqueueTxRefusesAnEventKafkaWouldRefuse(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	ctx := context.Background()
	big := outbox.TestPing{Note: strings.Repeat("x", outbox.MaxEnvelopeBytes)}
	err := postgres.Tx(ctx, d.App, func(tx pgx.Tx) error {
		return outbox.EnqueueTx(ctx, tx, outbox.Event{Type: outbox.TypeTestPing, Version: 1, Subject: "s", Data: big})
	})
	require.ErrorIs(t, err, outbox.ErrEventTooLarge)
	require.Zero(t, countRows(t, d, "platform.outbox"))
}

// EnqueueBatchTx stores every event of the batch, in the order given, if
// and only if the transaction commits.
func TestEnqueueBatchTxKeepsOrderAndCommitsWithTheTransaction(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	ctx := context.Background()
	batch := func() []outbox.Event {
		var evs []outbox.Event
		for i := range 5 {
			evs = append(evs, outbox.Event{Type: outbox.TypeTestPing, Version: 1, Subject: []string{"a", "b"}[i%2],
				Data: outbox.TestPing{Note: "batch", Seq: int64(i)}})
		}
		return evs
	}
	rolledBack := errors.New("roll back")
	err := postgres.Tx(ctx, d.App, func(tx pgx.Tx) error {
		require.NoError(t, outbox.EnqueueBatchTx(ctx, tx, batch()))
		return rolledBack
	})
	require.ErrorIs(t, err, rolledBack)
	var n int
	require.NoError(t, d.Owner.QueryRow(ctx, "SELECT count(*) FROM platform.outbox").Scan(&n))
	require.Zero(t, n)

	evs := batch()
	require.NoError(t, postgres.Tx(ctx, d.App, func(tx pgx.Tx) error { return outbox.EnqueueBatchTx(ctx, tx, evs) }))
	require.NoError(t, postgres.Tx(ctx, d.App, func(tx pgx.Tx) error { return outbox.EnqueueBatchTx(ctx, tx, nil) }))
	rows, err := d.Owner.Query(ctx, "SELECT id, event_key, payload, headers::text FROM platform.outbox ORDER BY seq")
	require.NoError(t, err)
	defer rows.Close()
	i := 0
	for rows.Next() {
		var id uuid.UUID
		var key, headers string
		var payload []byte
		require.NoError(t, rows.Scan(&id, &key, &payload, &headers))
		require.Equal(t, evs[i].ID, id, "in the order given")
		require.Equal(t, evs[i].Subject, key)
		var env outbox.Envelope
		require.NoError(t, json.Unmarshal(payload, &env))
		var p outbox.TestPing
		require.NoError(t, json.Unmarshal(env.Data, &p))
		require.EqualValues(t, i, p.Seq)
		require.Contains(t, headers, outbox.TypeTestPing)
		i++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 5, i)
}
