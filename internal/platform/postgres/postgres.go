// Package postgres is the PostgreSQL plumbing shared by every module: the pgx
// pool, explicit transactions, the row-level-security scope of a transaction,
// database-error translation, migrations and the partition manager.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config configures a pool.
type Config struct {
	URL              string
	Role             string // SET ROLE on connect when not empty
	MaxConns         int32
	MinConns         int32
	MaxConnLifetime  time.Duration
	MaxConnIdleTime  time.Duration
	ConnectTimeout   time.Duration
	StatementTimeout time.Duration
	QueryExecMode    string
	// ApplicationName shows up in pg_stat_activity.
	ApplicationName string
}

// ParseExecMode maps a configuration word to pgx's QueryExecMode.
func ParseExecMode(s string) (pgx.QueryExecMode, error) {
	switch s {
	case "", "cache_statement":
		return pgx.QueryExecModeCacheStatement, nil
	case "cache_describe":
		return pgx.QueryExecModeCacheDescribe, nil
	case "describe_exec":
		return pgx.QueryExecModeDescribeExec, nil
	case "exec":
		return pgx.QueryExecModeExec, nil
	case "simple_protocol":
		return pgx.QueryExecModeSimpleProtocol, nil
	}
	return 0, fmt.Errorf("unknown query exec mode %q", s)
}

// Open creates a pool and checks that the database answers.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// The URL may hold a password: never echo it.
		return nil, errors.New("postgres: cannot parse the database URL")
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pc.MinConns = cfg.MinConns
	if cfg.MaxConnLifetime > 0 {
		pc.MaxConnLifetime = cfg.MaxConnLifetime
		pc.MaxConnLifetimeJitter = cfg.MaxConnLifetime / 10
	}
	if cfg.MaxConnIdleTime > 0 {
		pc.MaxConnIdleTime = cfg.MaxConnIdleTime
	}
	if cfg.ConnectTimeout > 0 {
		pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	}
	mode, err := ParseExecMode(cfg.QueryExecMode)
	if err != nil {
		return nil, err
	}
	pc.ConnConfig.DefaultQueryExecMode = mode
	rp := pc.ConnConfig.RuntimeParams
	if cfg.ApplicationName != "" {
		rp["application_name"] = cfg.ApplicationName
	}
	if cfg.StatementTimeout > 0 {
		rp["statement_timeout"] = strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10)
	}
	// Times are stored and compared in UTC whatever the server's default.
	rp["timezone"] = "UTC"
	role := ""
	if cfg.Role != "" {
		role = pgx.Identifier{cfg.Role}.Sanitize()
	}
	pc.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		RegisterUUID(c.TypeMap())
		if role == "" {
			return nil
		}
		_, err := c.Exec(ctx, "SET ROLE "+role)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, pc.ConnConfig.ConnectTimeout+time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: database does not answer: %w", Redact(err))
	}
	if logger != nil {
		logger.Debug("postgres pool open", "max_conns", pc.MaxConns, "exec_mode", cfg.QueryExecMode, "role", cfg.Role)
	}
	return pool, nil
}

// Beginner is what can open a transaction: a pool, a connection or a
// transaction (which opens a savepoint).
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Tx runs fn in a transaction: it commits when fn returns nil and rolls
// back otherwise. A rollback failure is joined onto fn's error, and a commit
// failure is returned, never dropped.
func Tx(ctx context.Context, db Beginner, fn func(pgx.Tx) error) (err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: %w", ErrBusy, err)
		}
		return Translate(err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		if rbErr := tx.Rollback(context.WithoutCancel(ctx)); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return Translate(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// ScopedTx runs fn in a transaction whose row-level-security scope is set
// first (see Scope).
func ScopedTx(ctx context.Context, db Beginner, scope Scope, fn func(pgx.Tx) error) error {
	return Tx(ctx, db, func(tx pgx.Tx) error {
		if err := scope.Apply(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	})
}
