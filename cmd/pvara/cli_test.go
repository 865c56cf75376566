package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

func TestExitCodesAndUsage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stderr string
	}{
		{"version", nil, []string{"version"}, 0, ""},
		{"unknown role", nil, []string{"worker", "--role=nope"}, 2, "valid roles: maintenance"},
		{"no role", nil, []string{"worker"}, 2, "--role is required"},
		{"unknown command", nil, []string{"fly"}, 2, "unknown command"},
		{"unknown flag", nil, []string{"serve", "--nope"}, 2, "unknown flag"},
		{"bad duration", []string{"PVARA_HTTP_READ_TIMEOUT=soon"}, []string{"serve"}, 2, "http.read_timeout (PVARA_HTTP_READ_TIMEOUT): expected a duration"},
		{"bad number", []string{"PVARA_DATABASE_MAX_CONNS=many"}, []string{"serve"}, 2, "PVARA_DATABASE_MAX_CONNS"},
		{"bad address", []string{"PVARA_HTTP_ADDR=8080"}, []string{"serve"}, 2, "PVARA_HTTP_ADDR"},
		{"bad flag value", nil, []string{"serve", "--http-addr=nowhere"}, 2, "http.addr"},
		{"missing database", nil, []string{"serve"}, 2, "database.url (PVARA_DATABASE_URL)"},
		{"bad migrate action", nil, []string{"migrate", "sideways"}, 2, "valid: up, down, status, wait"},
		{"bad url does not echo the password", []string{"PVARA_DATABASE_URL=mysql://u:hunter2@h/db"}, []string{"serve"}, 2, "PVARA_DATABASE_URL"},
		{"database down is a run-time failure", []string{"PVARA_DATABASE_URL=postgres://postgres:hunter2@127.0.0.1:1/x?connect_timeout=1"}, []string{"migrate", "status"}, 1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, code := runPvara(t, c.env, c.args...)
			require.Equal(t, c.code, code, stderr)
			require.Contains(t, stderr, c.stderr)
			require.NotContains(t, stderr, "hunter2")
			if c.code == 2 && strings.Contains(c.stderr, "PVARA_") {
				require.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
			}
		})
	}
}

func TestHelpShowsNoSecrets(t *testing.T) {
	t.Parallel()
	env := []string{"PVARA_DATABASE_URL=postgres://u:hunter2@h/db", "PVARA_KAFKA_SASL_PASSWORD=hunter2"}
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"worker", "--help"}, {"migrate", "--help"}, {"dev", "--help"}} {
		out, stderr, code := runPvara(t, env, args...)
		require.Equal(t, 0, code, stderr)
		require.NotContains(t, out+stderr, "hunter2")
		require.NotEmpty(t, out)
	}
}

func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	// file < env < flag: each layer overrides the one before.
	dir := t.TempDir()
	file := filepath.Join(dir, "pvara.yaml")
	require.NoError(t, os.WriteFile(file, []byte("http:\n  addr: \"nowhere\"\n  read_timeout: 7s\nlog:\n  level: warn\n"), 0o600))

	_, stderr, code := runPvara(t, []string{"PVARA_CONFIG=" + file}, "serve")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "http.addr", "the file's bad address is used when nothing overrides it")

	_, stderr, code = runPvara(t, []string{"PVARA_CONFIG=" + file, "PVARA_HTTP_ADDR=env"}, "serve")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "http.addr", "env beats file (and is itself checked)")

	_, stderr, code = runPvara(t, []string{"PVARA_CONFIG=" + file, "PVARA_HTTP_ADDR=env"}, "serve", "--http-addr=127.0.0.1:0")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "database.url", "the flag fixed http.addr; the next problem is the missing database")

	_, stderr, code = runPvara(t, []string{"PVARA_CONFIG=" + filepath.Join(dir, "missing.yaml")}, "serve")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "config")
}

func TestLoadConfigLayers(t *testing.T) {
	// In-process check of the loaded values (not parallel: it sets env).
	dir := t.TempDir()
	file := filepath.Join(dir, "pvara.yaml")
	require.NoError(t, os.WriteFile(file, []byte("http:\n  read_timeout: 7s\n  cors_origins: [\"https://a.example\"]\nlog:\n  level: warn\ndatabase:\n  max_conns: 5\n"), 0o600))
	t.Setenv("PVARA_CONFIG", file)
	t.Setenv("PVARA_LOG_LEVEL", "debug")
	t.Setenv("PVARA_HTTP_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.0.1")
	t.Setenv("PVARA_DATA_DIR", dir)
	cmd := newRootCmd()
	serve, _, err := cmd.Find([]string{"serve"})
	require.NoError(t, err)
	require.NoError(t, serve.ParseFlags([]string{"--http-addr=127.0.0.1:1234"}))
	cfg, err := loadConfig(serve, false)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:1234", cfg.HTTP.Addr, "flag")
	require.Equal(t, "debug", cfg.Log.Level, "env over file")
	require.Equal(t, "7s", cfg.HTTP.ReadTimeout.String(), "file over default")
	require.Equal(t, []string{"https://a.example"}, cfg.HTTP.CORSOrigins)
	require.Equal(t, []string{"10.0.0.0/8", "192.168.0.1"}, cfg.HTTP.TrustedProxies, "comma list from env, trimmed")
	require.EqualValues(t, 5, cfg.Database.MaxConns)
	require.Equal(t, ":9090", cfg.Admin.Addr, "default")

	// dev.env fills the URLs when PVARA_DATABASE_URL is unset.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dev.env"), []byte("# written by pvara dev\nPVARA_DATABASE_URL=postgres://postgres@127.0.0.1:5999/pvara\nPVARA_KAFKA_BROKERS=127.0.0.1:19092\n"), 0o600))
	cfg, err = loadConfig(serve, false)
	require.NoError(t, err)
	require.Equal(t, "postgres://postgres@127.0.0.1:5999/pvara", cfg.Database.URL.Reveal())
	require.Equal(t, []string{"127.0.0.1:19092"}, cfg.Kafka.Brokers)
	// ... but the environment wins over it,
	t.Setenv("PVARA_DATABASE_URL", "postgres://postgres@db/other")
	cfg, err = loadConfig(serve, false)
	require.NoError(t, err)
	require.Equal(t, "postgres://postgres@db/other", cfg.Database.URL.Reveal())
	// ... and `pvara dev` never reads it.
	t.Setenv("PVARA_DATABASE_URL", "")
	cfg, err = loadConfig(serve, true)
	require.NoError(t, err)
	require.Empty(t, cfg.Database.URL)
}

func TestMigrateUpDownStatus(t *testing.T) {
	t.Parallel()
	url := testenv.NewEmptyDB(t)
	env := []string{"PVARA_DATABASE_URL=" + url}

	out, stderr, code := runPvara(t, env, "migrate", "status")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "pending")
	require.NotContains(t, out, "applied ")

	out, stderr, code = runPvara(t, env, "migrate", "up")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "migrations applied")

	out, stderr, code = runPvara(t, env, "migrate", "status")
	require.Equal(t, 0, code, stderr)
	require.NotContains(t, out, "pending")
	require.Contains(t, out, "00001_platform.sql")

	out, stderr, code = runPvara(t, env, "migrate", "wait", "--timeout=10s")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "schema is current")

	// Every Down section works: roll everything back, then up again.
	_, stderr, code = runPvara(t, env, "migrate", "down", "--to=0")
	require.Equal(t, 0, code, stderr)
	out, _, _ = runPvara(t, env, "migrate", "status")
	require.NotContains(t, out, "applied ")

	_, stderr, code = runPvara(t, env, "migrate", "wait", "--timeout=2s")
	require.Equal(t, 1, code, "wait gives up while migrations are pending: %s", stderr)

	out, stderr, code = runPvara(t, env, "migrate", "up")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "migrations applied")

	// Idempotent.
	out, stderr, code = runPvara(t, env, "migrate", "up")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "migrations applied: 0")
}

func TestConcurrentMigrateUp(t *testing.T) {
	t.Parallel()
	url := testenv.NewEmptyDB(t)
	env := []string{"PVARA_DATABASE_URL=" + url}
	codes := make(chan int, 3)
	for range 3 {
		go func() {
			_, _, code := runPvara(t, env, "migrate", "up")
			codes <- code
		}()
	}
	for range 3 {
		require.Equal(t, 0, <-codes, "replicas racing migrate up all succeed (advisory lock)")
	}
	out, _, _ := runPvara(t, env, "migrate", "status")
	require.NotContains(t, out, "pending")
}
