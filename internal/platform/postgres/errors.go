package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotFound is returned for a query that found no row.
var ErrNotFound = errors.New("postgres: no rows")

// ErrUnavailable wraps failures to reach the database (connection refused,
// server shutting down, too many connections).
var ErrUnavailable = errors.New("postgres: database unavailable")

// ErrBusy wraps a transaction that could not start before its deadline:
// the pool had no free connection in time (or the database did not answer
// BEGIN). It says the process is overloaded, not that the work is wrong,
// so a consumer waits and tries again without spending an attempt.
var ErrBusy = errors.New("postgres: no connection free in time")

// ConstraintKind names the kind of a violated constraint.
type ConstraintKind string

// Constraint kinds.
const (
	Unique     ConstraintKind = "unique"
	Check      ConstraintKind = "check"
	ForeignKey ConstraintKind = "foreign_key"
	NotNull    ConstraintKind = "not_null"
	Exclusion  ConstraintKind = "exclusion"
)

// ConstraintError is a violated constraint; Constraint is its name, which
// callers switch on to pick a domain error (e.g. users_email_key → email_taken).
type ConstraintError struct {
	Kind       ConstraintKind
	Constraint string
	Table      string
	err        error
}

func (e *ConstraintError) Error() string {
	return fmt.Sprintf("postgres: %s constraint %q violated", e.Kind, e.Constraint)
}

func (e *ConstraintError) Unwrap() error { return e.err }

// RetryableError is a serialization failure or deadlock: the transaction may
// be retried as a whole.
type RetryableError struct{ err error }

func (e *RetryableError) Error() string {
	return "postgres: transaction conflict, retry: " + e.err.Error()
}
func (e *RetryableError) Unwrap() error { return e.err }

// Translate maps driver errors to this package's errors; anything else is
// returned unchanged. It is safe to call on an already translated error.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return &ConstraintError{Kind: Unique, Constraint: pgErr.ConstraintName, Table: pgErr.TableName, err: err}
		case "23514":
			return &ConstraintError{Kind: Check, Constraint: pgErr.ConstraintName, Table: pgErr.TableName, err: err}
		case "23503":
			return &ConstraintError{Kind: ForeignKey, Constraint: pgErr.ConstraintName, Table: pgErr.TableName, err: err}
		case "23502":
			return &ConstraintError{Kind: NotNull, Constraint: pgErr.ColumnName, Table: pgErr.TableName, err: err}
		case "23P01":
			return &ConstraintError{Kind: Exclusion, Constraint: pgErr.ConstraintName, Table: pgErr.TableName, err: err}
		case "40001", "40P01":
			return &RetryableError{err: err}
		case "57P01", "57P02", "57P03", "53300", "08000", "08003", "08006", "08001", "08004":
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	var netErr net.Error
	if errors.As(err, &netErr) || pgconn.SafeToRetry(err) || isConnectError(err) {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return err
}

func isConnectError(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

// IsUnique reports whether err is a unique violation of the named constraint
// (any unique constraint when name is empty).
func IsUnique(err error, name string) bool {
	var ce *ConstraintError
	if !errors.As(Translate(err), &ce) {
		return false
	}
	return ce.Kind == Unique && (name == "" || ce.Constraint == name)
}

// IsNotFound reports whether err means "no rows".
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, pgx.ErrNoRows)
}

// IsNoPartition reports whether an insert found no partition for its key.
func IsNoPartition(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514" && strings.Contains(pgErr.Message, "no partition of relation")
}

// Redact removes connection details from an error message meant for logs.
// pgx's connect errors include host and user, never the password, but we
// keep messages short and uniform.
func Redact(err error) error {
	if err == nil {
		return nil
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return fmt.Errorf("cannot connect: %w", ce.Unwrap())
	}
	return err
}
