package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ScopedRead runs fn with a DBTX that takes exactly one query (Query or
// QueryRow; no Exec), and sends the row-level-security scope and that query
// together, in one round trip. ScopedTx spends four (BEGIN, the scope, the
// query, COMMIT) on the same read.
//
// It relies on the extended protocol's implicit transaction: the statements
// of one batch, up to its single Sync, form one transaction, so the
// transaction-local set_config of the scope holds for the query and ends
// with it. Use it for single-statement reads on hot paths (a call from
// another module on every submission); anything else uses ScopedTx.
func ScopedRead(ctx context.Context, pool *pgxpool.Pool, scope Scope, fn func(q DBTX) error) error {
	if scope.Kind == "" {
		return errors.New("postgres: empty scope")
	}
	q := &oneShot{pool: pool, scope: scope}
	err := fn(q)
	if q.br != nil {
		// A QueryRow whose Scan was never called, or an error before the
		// rows were read: release the connection.
		if cerr := q.br.Close(); err == nil {
			err = cerr
		}
	}
	return Translate(err)
}

// DBTX is what sqlc-generated code needs of a connection.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ErrOneQuery is returned by a ScopedRead DBTX asked for a second query or
// for an Exec.
var ErrOneQuery = errors.New("postgres: ScopedRead takes exactly one query")

type oneShot struct {
	pool  *pgxpool.Pool
	scope Scope
	br    pgx.BatchResults
	used  bool
}

func (o *oneShot) send(ctx context.Context, sql string, args []any) error {
	if o.used {
		return ErrOneQuery
	}
	o.used = true
	b := &pgx.Batch{}
	// The scope, ForceCustomPlan and Settings in one statement, as Apply.
	scopeSQL, scopeArgs := o.scope.statement()
	b.Queue(scopeSQL, scopeArgs...)
	b.Queue(sql, args...)
	o.br = o.pool.SendBatch(ctx, b)
	if _, err := o.br.Exec(); err != nil {
		return err
	}
	return nil
}

func (o *oneShot) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, ErrOneQuery
}

func (o *oneShot) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := o.send(ctx, sql, args); err != nil {
		return nil, err
	}
	return o.br.Query()
}

func (o *oneShot) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := o.send(ctx, sql, args); err != nil {
		return errRow{err}
	}
	return &batchRow{row: o.br.QueryRow(), o: o}
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// batchRow closes the batch once its row is scanned, so the connection
// goes back to the pool at once.
type batchRow struct {
	row pgx.Row
	o   *oneShot
}

func (r *batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	cerr := r.o.br.Close()
	r.o.br = nil
	if err == nil {
		err = cerr
	}
	return err
}
