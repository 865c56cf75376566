// Package testenv gives tests real services: a fresh PostgreSQL database
// cloned from a migrated template, a private Redis key space, an in-process
// Kafka cluster (kfake), and an HTTP client against the real router.
//
// Connection details come from PVARA_TEST_DATABASE_URL (a superuser URL to
// any database of the cluster; default postgres://postgres@127.0.0.1:5432/postgres)
// and PVARA_TEST_REDIS_URL (default redis://127.0.0.1:6379/0). A test that
// needs a service that does not answer fails; it never skips.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pvara-gov/pvara/db"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// AppRole is the non-owner role the application runs as.
const AppRole = "pvara_app"

// AdminURL is the superuser URL tests create databases with.
func AdminURL() string {
	if u := os.Getenv("PVARA_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// DB is a private, migrated database for one test.
type DB struct {
	Name string
	// URL connects as the owner (superuser) to this database.
	URL string
	// Owner is a pool connected as the owner: for fixtures and for checks
	// that must see past row-level security.
	Owner *pgxpool.Pool
	// App is a pool that runs as pvara_app, exactly as the application does.
	App *pgxpool.Pool
}

// AppConfig is the pool configuration the application would use for this
// database.
func (d *DB) AppConfig() postgres.Config {
	// ConnectTimeout: postgres.Open pings within ConnectTimeout+1s, and 1s
	// is too short on a machine busy with parallel test binaries.
	return postgres.Config{URL: d.URL, Role: AppRole, MaxConns: 16, ConnectTimeout: 10 * time.Second, QueryExecMode: "cache_statement", ApplicationName: "pvara-test"}
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

func migrationsHash() (string, error) {
	h := sha256.New()
	var names []string
	err := fs.WalkDir(db.Migrations, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(db.Migrations, n)
		if err != nil {
			return "", err
		}
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(fmt.Sprintf("testenv: bad PVARA_TEST_DATABASE_URL: %v", err))
	}
	u.Path = "/" + name
	return u.String()
}

// ensureTemplate creates (once per hash of the migrations, shared by every
// package and every run) a database with all migrations applied, marked as
// a template. Concurrent test binaries serialise on an advisory lock.
func ensureTemplate(ctx context.Context) (string, error) {
	templateOnce.Do(func() {
		hash, err := migrationsHash()
		if err != nil {
			templateErr = err
			return
		}
		name := "pvara_tpl_" + hash
		admin, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			templateErr = fmt.Errorf("testenv: PostgreSQL does not answer at PVARA_TEST_DATABASE_URL (run `make test`, which starts it): %w", err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(7072617661)"); err != nil {
			templateErr = err
			return
		}
		defer admin.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7072617661)") //nolint:errcheck
		var isTemplate *bool
		err = admin.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&isTemplate)
		if err == nil && isTemplate != nil && *isTemplate {
			templateName = name
			return
		}
		if err == nil {
			// A half-built template from a run that died: rebuild it.
			if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
				templateErr = err
				return
			}
		}
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			templateErr = err
			return
		}
		m, err := postgres.NewMigrator(withDatabase(AdminURL(), name), db.Migrations, nil)
		if err != nil {
			templateErr = err
			return
		}
		_, err = m.Up(ctx)
		m.Close()
		if err != nil {
			templateErr = err
			return
		}
		if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH is_template true ALLOW_CONNECTIONS false"); err != nil {
			templateErr = err
			return
		}
		templateName = name
	})
	return templateName, templateErr
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewDB returns a fresh database cloned from the migrated template, dropped
// when the test ends. Cloning takes a fraction of a second.
func NewDB(t testing.TB) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tpl, err := ensureTemplate(ctx)
	if err != nil {
		t.Fatalf("testenv: template database: %v", err)
	}
	name := "pvara_test_" + randomSuffix()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("testenv: PostgreSQL does not answer: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{tpl}.Sanitize())); err != nil {
		t.Fatalf("testenv: clone template: %v", err)
	}
	d := &DB{Name: name, URL: withDatabase(AdminURL(), name)}
	t.Cleanup(func() {
		if d.App != nil {
			d.App.Close()
		}
		if d.Owner != nil {
			d.Owner.Close()
		}
		c, err := pgx.Connect(context.Background(), AdminURL())
		if err != nil {
			t.Logf("testenv: drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("testenv: drop %s: %v", name, err)
		}
	})
	d.Owner, err = postgres.Open(ctx, postgres.Config{URL: d.URL, MaxConns: 8, ConnectTimeout: 10 * time.Second, ApplicationName: "pvara-test-owner"}, nil)
	if err != nil {
		t.Fatalf("testenv: owner pool: %v", err)
	}
	d.App, err = postgres.Open(ctx, d.AppConfig(), nil)
	if err != nil {
		t.Fatalf("testenv: app pool: %v", err)
	}
	return d
}

// Exec runs SQL as the owner, failing the test on error.
func (d *DB) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := d.Owner.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("testenv: exec %q: %v", strings.SplitN(sql, "\n", 2)[0], err)
	}
}

// NewEmptyDB returns the URL of a fresh database with no migrations applied,
// dropped when the test ends (for migration tests).
func NewEmptyDB(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	name := "pvara_test_" + randomSuffix()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("testenv: PostgreSQL does not answer: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), AdminURL())
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return withDatabase(AdminURL(), name)
}
