package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationLockID is the advisory lock goose holds while migrating, so two
// replicas running `migrate up` at once apply each migration once.
const migrationLockID = 0x70766172610001 // "pvara" + 1

// Migrator applies the embedded goose migrations.
type Migrator struct {
	db       *sql.DB
	provider *goose.Provider
}

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// NewMigrator opens a connection for migrations (the owner URL) over fsys.
func NewMigrator(url string, fsys fs.FS, logger *slog.Logger) (*Migrator, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, errors.New("migrate: cannot parse the database URL")
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID),
		// Wait up to 10 minutes for another replica's migration.
		lock.WithLockTimeout(2, 300),
	)
	if err != nil {
		db.Close()
		return nil, err
	}
	sub, err := fs.Sub(fsys, "migrations")
	if err != nil {
		db.Close()
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true)}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, opts...)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return &Migrator{db: db, provider: p}, nil
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver

// Close releases the connection.
func (m *Migrator) Close() error { return m.db.Close() }

// Up applies every pending migration and returns the versions applied.
func (m *Migrator) Up(ctx context.Context) ([]int64, error) {
	res, err := m.provider.Up(ctx)
	out := make([]int64, 0, len(res))
	for _, r := range res {
		out = append(out, r.Source.Version)
	}
	if err != nil {
		return out, fmt.Errorf("migrate up: %w", Redact(err))
	}
	return out, nil
}

// Down rolls back the newest applied migration; it returns its version, or 0
// when nothing was applied.
func (m *Migrator) Down(ctx context.Context) (int64, error) {
	res, err := m.provider.Down(ctx)
	if err != nil {
		if errors.Is(err, goose.ErrNoNextVersion) {
			return 0, nil
		}
		return 0, fmt.Errorf("migrate down: %w", Redact(err))
	}
	return res.Source.Version, nil
}

// DownTo rolls back to version (0 = everything).
func (m *Migrator) DownTo(ctx context.Context, version int64) error {
	_, err := m.provider.DownTo(ctx, version)
	return err
}

// Status lists every known migration.
func (m *Migrator) Status(ctx context.Context) ([]MigrationStatus, error) {
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate status: %w", Redact(err))
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{
			Version:   s.Source.Version,
			Name:      s.Source.Path,
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// Pending reports whether migrations remain to be applied.
func (m *Migrator) Pending(ctx context.Context) (bool, error) {
	return m.provider.HasPending(ctx)
}

// Wait blocks until the database answers and has no pending migration, for
// init containers that must not start the app before `migrate up` finished.
func (m *Migrator) Wait(ctx context.Context, every time.Duration, logger *slog.Logger) error {
	var last error
	for {
		pending, err := m.provider.HasPending(ctx)
		if err == nil && !pending {
			return nil
		}
		if err != nil {
			last = err
		} else {
			last = errors.New("migrations pending")
		}
		if logger != nil {
			logger.Info("waiting for the schema", "reason", Redact(last).Error())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("migrate wait: %w (last: %v)", ctx.Err(), Redact(last))
		case <-time.After(every):
		}
	}
}
