package audit

import (
	"context"
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// tamper runs statements as the table owner with every trigger disabled
// (session_replication_role = replica), as an attacker with the owner's
// rights, or a DBA cutting corners, would.
func (f *fixture) tamper(t *testing.T, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, postgres.Tx(ctx, f.db.Owner, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			return err
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		return nil
	}))
}

// sealed writes and seals n entries and checks the chain is intact.
func sealed(t *testing.T, n int) *fixture {
	t.Helper()
	f := setup(t)
	f.write(t, n, Entry{Action: "auth.login_succeeded", Resource: "user", ResourceID: "u", Details: map[string]any{"method": "password"}})
	require.Equal(t, n, f.seal(t))
	rep := f.verify(t)
	require.True(t, rep.OK(), "%v", rep.Problem)
	require.EqualValues(t, n, rep.Sealed)
	return f
}

func requireProblem(t *testing.T, rep Report, kind ProblemKind, seq int64, entry uuid.UUID) {
	t.Helper()
	require.NotNil(t, rep.Problem, "verify must find the tampering")
	require.Equal(t, kind, rep.Problem.Kind, "%v", rep.Problem)
	require.Equal(t, seq, rep.Problem.Seq, "%v", rep.Problem)
	require.Equal(t, entry, rep.Problem.EntryID, "%v", rep.Problem)
}

func TestTamperDrillEditAnEntry(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"action":      "action = 'auth.login_failed'",
		"details":     `details = '{"method": "sso"}'`,
		"actor":       "actor_id = gen_random_uuid()",
		"occurred_at": "occurred_at = occurred_at + interval '1 microsecond'",
		"request_id":  "request_id = 'forged'",
	}
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := sealed(t, 10)
			victim := f.entryAt(t, 4)
			f.tamper(t, "UPDATE platform.audit_log SET "+set+" WHERE id = '"+victim.String()+"'")
			requireProblem(t, f.verify(t), Altered, 4, victim)
		})
	}
}

func TestTamperDrillEditALink(t *testing.T) {
	t.Parallel()
	f := sealed(t, 10)
	victim := f.entryAt(t, 6)
	f.tamper(t, "UPDATE platform.audit_chain SET hash = sha256(hash) WHERE seq = 6")
	rep := f.verify(t)
	requireProblem(t, rep, Altered, 6, victim)
}

func TestTamperDrillDeleteAnEntry(t *testing.T) {
	t.Parallel()
	t.Run("entry row only", func(t *testing.T) {
		t.Parallel()
		f := sealed(t, 10)
		victim := f.entryAt(t, 5)
		f.tamper(t, "DELETE FROM platform.audit_log WHERE id = '"+victim.String()+"'")
		requireProblem(t, f.verify(t), Removed, 5, victim)
	})
	t.Run("entry and its link", func(t *testing.T) {
		t.Parallel()
		f := sealed(t, 10)
		victim := f.entryAt(t, 5)
		f.tamper(t,
			"DELETE FROM platform.audit_log WHERE id = '"+victim.String()+"'",
			"DELETE FROM platform.audit_chain WHERE seq = 5")
		rep := f.verify(t)
		requireProblem(t, rep, Removed, 5, uuid.Nil) // the id went with the link
		require.Contains(t, rep.Problem.Detail, "jumps from seq 4 to seq 6")
	})
	t.Run("entry and link, later links renumbered", func(t *testing.T) {
		t.Parallel()
		f := sealed(t, 10)
		victim, next := f.entryAt(t, 5), f.entryAt(t, 6)
		f.tamper(t,
			"DELETE FROM platform.audit_log WHERE id = '"+victim.String()+"'",
			"DELETE FROM platform.audit_chain WHERE seq = 5",
			"UPDATE platform.audit_chain SET seq = seq + 1000000 WHERE seq > 5",
			"UPDATE platform.audit_chain SET seq = seq - 1000001 WHERE seq > 1000000")
		requireProblem(t, f.verify(t), Removed, 5, next)
	})
}

func TestTamperDrillReorderEntries(t *testing.T) {
	t.Parallel()
	t.Run("swap the entries two links name", func(t *testing.T) {
		t.Parallel()
		f := sealed(t, 10)
		a, b := f.entryAt(t, 3), f.entryAt(t, 7)
		f.tamper(t,
			"UPDATE platform.audit_chain SET entry_id = '00000000-0000-0000-0000-000000000000' WHERE seq = 3",
			"UPDATE platform.audit_chain SET entry_id = '"+a.String()+"' WHERE seq = 7",
			"UPDATE platform.audit_chain SET entry_id = '"+b.String()+"' WHERE seq = 3")
		rep := f.verify(t)
		requireProblem(t, rep, Reordered, 3, b)
		require.Contains(t, rep.Problem.Detail, "sealed at seq 7")
	})
	t.Run("swap two links", func(t *testing.T) {
		t.Parallel()
		f := sealed(t, 10)
		b := f.entryAt(t, 7)
		f.tamper(t,
			"UPDATE platform.audit_chain SET seq = 1000000 WHERE seq = 3",
			"UPDATE platform.audit_chain SET seq = 3 WHERE seq = 7",
			"UPDATE platform.audit_chain SET seq = 7 WHERE seq = 1000000")
		rep := f.verify(t)
		requireProblem(t, rep, Reordered, 3, b)
	})
	t.Run("swap neighbours", func(t *testing.T) {
		t.Parallel()
		f := sealed(t, 10)
		b := f.entryAt(t, 5)
		f.tamper(t,
			"UPDATE platform.audit_chain SET seq = 1000000 WHERE seq = 4",
			"UPDATE platform.audit_chain SET seq = 4 WHERE seq = 5",
			"UPDATE platform.audit_chain SET seq = 5 WHERE seq = 1000000")
		requireProblem(t, f.verify(t), Reordered, 4, b)
	})
}

func TestTamperDrillInsertAForgedEntry(t *testing.T) {
	t.Parallel()
	t.Run("into the log, behind the sealer", func(t *testing.T) {
		t.Parallel()
		f := sealed(t, 10)
		forged := mustUUID(t)
		// Backdated into a transaction below the sealed horizon, so no
		// sealer will ever link it.
		f.tamper(t, `INSERT INTO platform.audit_log (id, tx_id, occurred_at, action)
			SELECT '`+forged.String()+`', max(watermark) - 1, now() - interval '1 day', 'auth.login_succeeded' FROM platform.audit_chain`)
		f.seal(t)
		requireProblem(t, f.verify(t), Inserted, 0, forged)
	})
	t.Run("spliced into the chain with correct hashes", func(t *testing.T) {
		t.Parallel()
		f := sealed(t, 10)
		ctx := context.Background()
		forged := mustUUID(t)
		f.tamper(t, `INSERT INTO platform.audit_log (id, occurred_at, action) VALUES ('`+forged.String()+`', now(), 'auth.staff_created')`)
		// Compute the forged entry's hash and a valid link after seq 3.
		var e storedEntry
		require.NoError(t, f.db.Owner.QueryRow(ctx, `SELECT id, occurred_at, org_id, actor_id, actor_role, action, resource,
			resource_id, ip, request_id, details FROM platform.audit_log WHERE id = $1`, forged).Scan(
			&e.ID, &e.OccurredAt, &e.OrgID, &e.ActorID, &e.ActorRole, &e.Action, &e.Resource, &e.ResourceID, &e.IP, &e.RequestID, &e.Details))
		var prev []byte
		require.NoError(t, f.db.Owner.QueryRow(ctx, "SELECT hash FROM platform.audit_chain WHERE seq = 3").Scan(&prev))
		eh := entryHash(&e)
		h := linkHash(prev, 4, eh[:])
		// UNIQUE(prev_hash) refuses a second link after seq 3: the forger,
		// as owner, drops it first.
		f.tamper(t,
			"ALTER TABLE platform.audit_chain DROP CONSTRAINT audit_chain_prev_hash_key",
			"UPDATE platform.audit_chain SET seq = seq + 1000000 WHERE seq >= 4",
			"UPDATE platform.audit_chain SET seq = seq - 999999 WHERE seq > 1000000",
			`INSERT INTO platform.audit_chain (seq, entry_id, entry_hash, prev_hash, hash, watermark)
			 VALUES (4, '`+forged.String()+`', '\x`+hex.EncodeToString(eh[:])+`', '\x`+hex.EncodeToString(prev)+`', '\x`+hex.EncodeToString(h[:])+`', 0)`)
		rep := f.verify(t)
		requireProblem(t, rep, Inserted, 4, forged)
	})
}

// TestAnchorsCatchWhatAChainCannot: whoever can write the tables can cut
// the chain's tail off, or rewrite an entry and recompute every hash after
// it; the chain is then self-consistent. A head recorded outside the
// database (the sealer logs one every minute) exposes both.
func TestAnchorsCatchWhatAChainCannot(t *testing.T) {
	t.Parallel()
	t.Run("tail cut off", func(t *testing.T) {
		t.Parallel()
		f := sealed(t, 10)
		anchor := Anchor{Seq: 10, Hash: f.verify(t).HeadHash}
		last := f.entryAt(t, 10)
		f.tamper(t,
			"DELETE FROM platform.audit_log WHERE id = '"+last.String()+"'",
			"DELETE FROM platform.audit_chain WHERE seq = 10")
		require.True(t, f.verify(t).OK(), "without an anchor the shorter chain looks intact")
		requireProblem(t, f.verify(t, anchor), Truncated, 10, uuid.Nil)
	})
	t.Run("rewritten and re-hashed", func(t *testing.T) {
		t.Parallel()
		f := sealed(t, 10)
		anchor := Anchor{Seq: 8, Hash: f.entryHashAt(t, 8)}
		victim := f.entryAt(t, 6)
		f.tamper(t, "UPDATE platform.audit_log SET action = 'auth.login_failed' WHERE id = '"+victim.String()+"'")
		f.rehash(t, 6)
		require.True(t, f.verify(t).OK(), "a recomputed chain is self-consistent")
		requireProblem(t, f.verify(t, anchor), Altered, 8, f.entryAt(t, 8))
	})
}

func (f *fixture) entryHashAt(t *testing.T, seq int64) []byte {
	t.Helper()
	var h []byte
	require.NoError(t, f.db.Owner.QueryRow(context.Background(), "SELECT hash FROM platform.audit_chain WHERE seq = $1", seq).Scan(&h))
	return h
}

// rehash recomputes every link from seq on, as a forger would.
func (f *fixture) rehash(t *testing.T, from int64) {
	t.Helper()
	ctx := context.Background()
	rows, err := f.db.Owner.Query(ctx, `SELECT c.seq, e.id, e.occurred_at, e.org_id, e.actor_id, e.actor_role, e.action, e.resource,
		e.resource_id, e.ip, e.request_id, e.details FROM platform.audit_chain c JOIN platform.audit_log e ON e.id = c.entry_id
		WHERE c.seq >= $1 ORDER BY c.seq`, from)
	require.NoError(t, err)
	type link struct {
		seq int64
		e   storedEntry
	}
	links, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (link, error) {
		var l link
		err := r.Scan(&l.seq, &l.e.ID, &l.e.OccurredAt, &l.e.OrgID, &l.e.ActorID, &l.e.ActorRole, &l.e.Action, &l.e.Resource,
			&l.e.ResourceID, &l.e.IP, &l.e.RequestID, &l.e.Details)
		return l, err
	})
	require.NoError(t, err)
	prev := f.entryHashAt(t, from-1)
	var stmts []string
	for _, l := range links {
		eh := entryHash(&l.e)
		h := linkHash(prev, l.seq, eh[:])
		stmts = append(stmts, "UPDATE platform.audit_chain SET entry_hash = '\\x"+hex.EncodeToString(eh[:])+
			"', prev_hash = '\\x"+hex.EncodeToString(prev)+"', hash = '\\x"+hex.EncodeToString(h[:])+
			"' WHERE seq = "+itoa(l.seq))
		prev = h[:]
	}
	// prev_hash is unique: clear the old values first.
	f.tamper(t, append([]string{"UPDATE platform.audit_chain SET prev_hash = sha256(prev_hash || 'x'::bytea) WHERE seq >= " + itoa(from)}, stmts...)...)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestAppendOnly: UPDATE, DELETE and TRUNCATE are refused on both tables,
// to the application role by its grants and to the owner by the triggers.
func TestAppendOnly(t *testing.T) {
	t.Parallel()
	f := sealed(t, 3)
	ctx := context.Background()
	stmts := []string{
		"UPDATE platform.audit_log SET action = 'x'",
		"DELETE FROM platform.audit_log",
		"DELETE FROM platform.audit_log WHERE false",
		"TRUNCATE platform.audit_log",
		"UPDATE platform.audit_chain SET watermark = 0",
		"DELETE FROM platform.audit_chain",
		"TRUNCATE platform.audit_chain",
		"TRUNCATE platform.audit_log, platform.audit_chain CASCADE",
	}
	for _, s := range stmts {
		// As the application: no privilege.
		err := postgres.ScopedTx(ctx, f.db.App, postgres.SystemScope(), func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, s)
			return err
		})
		requirePgCode(t, err, "42501", "permission denied", s)
		// As the owner (a superuser here), triggers enabled: refused.
		_, err = f.db.Owner.Exec(ctx, s)
		requirePgCode(t, err, "42501", "is append-only", s)
	}
	// The application may not choose tx_id either (it would let an entry
	// hide below the sealer's watermark).
	err := postgres.Tx(ctx, f.db.App, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO platform.audit_log (id, tx_id, occurred_at, action) VALUES (gen_random_uuid(), 1, now(), 'x')")
		return err
	})
	requirePgCode(t, err, "42501", "permission denied", "insert tx_id")
	rep := f.verify(t)
	require.True(t, rep.OK(), "%v", rep.Problem)
	require.EqualValues(t, 3, rep.Sealed)
}

func requirePgCode(t *testing.T, err error, code, msg, stmt string) {
	t.Helper()
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr, stmt)
	require.Equal(t, code, pgErr.Code, "%s: %v", stmt, err)
	require.Contains(t, pgErr.Message, msg, stmt)
}

// TestRowLevelSecurity: a transaction of organisation A that "forgets" to
// filter by organisation still sees A's entries only; no scope sees none.
func TestRowLevelSecurity(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	orgA, orgB := mustUUID(t), mustUUID(t)
	f.write(t, 2, Entry{OrgID: orgA, Action: "test.a", ResourceID: "a"})
	f.write(t, 3, Entry{OrgID: orgB, Action: "test.b", ResourceID: "b"})
	f.write(t, 1, Entry{Action: "test.none", ResourceID: "n"})
	count := func(scope *postgres.Scope) (n int) {
		err := postgres.Tx(ctx, f.db.App, func(tx pgx.Tx) error {
			if scope != nil {
				if err := scope.Apply(ctx, tx); err != nil {
					return err
				}
			}
			return tx.QueryRow(ctx, "SELECT count(*) FROM platform.audit_log").Scan(&n)
		})
		require.NoError(t, err)
		return n
	}
	a, b, sys, user := postgres.OrgScope(orgA, mustUUID(t)), postgres.OrgScope(orgB, mustUUID(t)), postgres.SystemScope(), postgres.UserScope(mustUUID(t))
	require.Equal(t, 2, count(&a))
	require.Equal(t, 3, count(&b))
	require.Equal(t, 6, count(&sys))
	require.Equal(t, 0, count(&user))
	require.Equal(t, 0, count(nil), "no scope, no rows")
}
