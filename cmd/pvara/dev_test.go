package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/devenv"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

func sqlExec(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer c.Close(ctx)
	_, err = c.Exec(ctx, sql)
	require.NoError(t, err)
}

func sqlString(t *testing.T, url, sql string) (string, error) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer c.Close(ctx)
	var s string
	err = c.QueryRow(ctx, sql).Scan(&s)
	return s, err
}

// TestDevCommand runs `pvara dev` as a real process, as `make run` does,
// through four lives of one data directory: first start, restart with the
// data kept, --reset, and a kill -9 followed by a recovering start.
func TestDevCommand(t *testing.T) {
	t.Parallel()
	bin := buildPvaraBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	pgdata := filepath.Join(data, "postgres")
	httpAddr, adminAddr, kafkaAddr := freeLocalAddr(t), freeLocalAddr(t), freeLocalAddr(t)
	env := envWithoutPVARA(
		"PVARA_DATA_DIR="+data,
		"PVARA_HTTP_ADDR="+httpAddr,
		"PVARA_ADMIN_ADDR="+adminAddr,
		"PVARA_DEV_KAFKA_ADDR="+kafkaAddr,
		// A real Redis may answer on 6379 and be shared: keep to our keys.
		"PVARA_REDIS_PREFIX=pvara-devtest-"+randHex(4)+":",
		"PVARA_LOG_FORMAT=json",
	)

	// 1. First run: the cluster is created.
	p := startBinary(t, bin, env, "dev")
	took := p.waitReady(adminAddr, 3*time.Minute)
	t.Logf("first run: /readyz 200 after %s", took)
	banner := p.stdout.String()
	require.Contains(t, banner, "http://"+httpAddr+"/v1")
	require.Contains(t, banner, "http://"+adminAddr+"/readyz")
	require.Contains(t, banner, kafkaAddr)
	require.Contains(t, banner, devenv.EnvFile(data))

	vars, err := devenv.ReadEnvFile(devenv.EnvFile(data))
	require.NoError(t, err)
	dbURL := vars["PVARA_DATABASE_URL"]
	require.True(t, strings.HasPrefix(dbURL, "postgres://postgres@127.0.0.1:"), dbURL)
	require.Equal(t, kafkaAddr, vars["PVARA_KAFKA_BROKERS"])
	if devenv.ProbeRedis(context.Background(), devRedisURL) == nil {
		require.Equal(t, devRedisURL, vars["PVARA_REDIS_URL"])
	} else {
		require.NotContains(t, vars, "PVARA_REDIS_URL")
	}

	// Other commands find the environment through dev.env.
	out, code := runBinary(t, bin, envWithoutPVARA("PVARA_DATA_DIR="+data), "migrate", "status")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "applied")
	require.NotContains(t, out, "pending")

	// The API answers, through the real router.
	resp, err := http.Get("http://" + httpAddr + "/v1/openapi.json")
	require.NoError(t, err)
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	resp.Body.Close()
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3.1"), doc.OpenAPI)

	sqlExec(t, dbURL, "CREATE TABLE dev_marker (v text); INSERT INTO dev_marker VALUES ('kept')")
	require.Equal(t, 0, p.stop(syscall.SIGINT, time.Minute), "Ctrl-C exits 0")
	requireNoServer(t, pgdata, 10*time.Second)
	l, err := net.Listen("tcp", kafkaAddr)
	require.NoError(t, err, "the broker's port is free again")
	l.Close()

	// 2. Second run: the data is kept; it is quick.
	p = startBinary(t, bin, env, "dev")
	took = p.waitReady(adminAddr, time.Minute)
	t.Logf("second run: /readyz 200 after %s", took)
	// The port is kept when it is still free; dev.env always tells.
	vars, err = devenv.ReadEnvFile(devenv.EnvFile(data))
	require.NoError(t, err)
	v, err := sqlString(t, vars["PVARA_DATABASE_URL"], "SELECT v FROM dev_marker")
	require.NoError(t, err, "same data")
	require.Equal(t, "kept", v)
	require.Equal(t, 0, p.stop(syscall.SIGTERM, time.Minute), "SIGTERM exits 0")
	requireNoServer(t, pgdata, 10*time.Second)

	// 3. --reset starts from scratch.
	p = startBinary(t, bin, env, "dev", "--reset")
	p.waitReady(adminAddr, 2*time.Minute)
	vars, err = devenv.ReadEnvFile(devenv.EnvFile(data))
	require.NoError(t, err)
	_, err = sqlString(t, vars["PVARA_DATABASE_URL"], "SELECT v FROM dev_marker")
	require.ErrorContains(t, err, "does not exist")
	sqlExec(t, vars["PVARA_DATABASE_URL"], "CREATE TABLE after_reset (v text); INSERT INTO after_reset VALUES ('again')")

	// 4. kill -9: pvara cannot clean up, but the server, told by the kernel
	// that its parent died, stops by itself; the next run recovers.
	require.NoError(t, p.cmd.Process.Kill())
	p.wait(10 * time.Second)
	requireNoServer(t, pgdata, 30*time.Second)
	p = startBinary(t, bin, env, "dev")
	p.waitReady(adminAddr, time.Minute)
	vars, err = devenv.ReadEnvFile(devenv.EnvFile(data))
	require.NoError(t, err)
	v, err = sqlString(t, vars["PVARA_DATABASE_URL"], "SELECT v FROM after_reset")
	require.NoError(t, err)
	require.Equal(t, "again", v)
	require.Equal(t, 0, p.stop(syscall.SIGINT, time.Minute))
	requireNoServer(t, pgdata, 10*time.Second)
}

// devTestConfig is a dev configuration on private ports and keys.
func devTestConfig(t *testing.T) config.Config {
	cfg := config.Defaults()
	cfg.Dev = true
	cfg.Data.Dir = filepath.Join(t.TempDir(), "data")
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Admin.Addr = "127.0.0.1:0"
	cfg.DevEnv.KafkaAddr = "127.0.0.1:0"
	cfg.Redis.Prefix = "pvara-devtest-" + randHex(4) + ":"
	require.NoError(t, cfg.Validate())
	return cfg
}

func devTestLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(devLogWriter{t}, nil))
}

type devLogWriter struct{ t *testing.T }

func (w devLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startDev runs runDev in this process until the returned stop is called.
func startDev(t *testing.T, cfg config.Config, o devOptions) (admin string, out *bytes.Buffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	out = &bytes.Buffer{}
	o.Out, o.Logger = out, devTestLogger(t)
	o.OnReady = func(_, admin string) { ready <- admin }
	errc := make(chan error, 1)
	go func() { errc <- runDev(ctx, cfg, o) }()
	select {
	case admin = <-ready:
	case err := <-errc:
		cancel()
		t.Fatalf("runDev: %v", err)
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatal("runDev did not become ready")
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(time.Minute):
			t.Fatal("runDev did not stop")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return admin, out, stop
}

func getReady(t *testing.T, admin string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	b, _ := io.ReadAll(resp.Body)
	require.NoError(t, json.Unmarshal(b, &body), string(b))
	return resp.StatusCode, body
}

// TestRunDevWithoutRedis: with no Redis answering, dev uses the in-process
// stand-in, says so, and leaves PVARA_REDIS_URL out of dev.env. A shell that
// exported the last dev.env does not confuse the next run.
func TestRunDevWithoutRedis(t *testing.T) {
	t.Parallel()
	cfg := devTestConfig(t)
	noRedis := "redis://" + freeLocalAddr(t)
	admin, out, stop := startDev(t, cfg, devOptions{RedisProbeURL: noRedis})
	status, body := getReady(t, admin)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "ok", body["checks"].(map[string]any)["redis"])
	require.Contains(t, out.String(), "in-process stand-in")
	vars, err := devenv.ReadEnvFile(devenv.EnvFile(cfg.Data.Dir))
	require.NoError(t, err)
	require.NotContains(t, vars, "PVARA_REDIS_URL")
	require.Contains(t, vars, "PVARA_DATABASE_URL")
	require.NoError(t, stop(), "a clean stop returns nil (exit 0)")

	// As if `set -a; . dev.env` had been run in this shell before.
	cfg.Database.URL = config.Secret(vars["PVARA_DATABASE_URL"])
	cfg.Kafka.Brokers = strings.Split(vars["PVARA_KAFKA_BROKERS"], ",")
	admin, _, stop = startDev(t, cfg, devOptions{RedisProbeURL: noRedis})
	status, body = getReady(t, admin)
	require.Equal(t, http.StatusOK, status, body)
	require.NoError(t, stop())
	requireNoServer(t, filepath.Join(cfg.Data.Dir, "postgres"), 10*time.Second)
}

// TestRunDevUsesGivenDatabase: with PVARA_DATABASE_URL set, dev starts no
// cluster and migrates that database.
func TestRunDevUsesGivenDatabase(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	cfg := devTestConfig(t)
	cfg.Database.URL = config.Secret(d.URL)
	admin, out, stop := startDev(t, cfg, devOptions{RedisProbeURL: testenv.RedisURL()})
	status, _ := getReady(t, admin)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, out.String(), "PostgreSQL  PVARA_DATABASE_URL")
	_, err := os.Stat(filepath.Join(cfg.Data.Dir, "postgres"))
	require.ErrorIs(t, err, os.ErrNotExist, "no private cluster")
	require.NoError(t, stop())
}

func TestRunDevWithoutPostgresBinaries(t *testing.T) {
	t.Parallel()
	cfg := devTestConfig(t)
	err := runDev(context.Background(), cfg, devOptions{
		Out: io.Discard, Logger: devTestLogger(t), PostgresSearchDirs: []string{t.TempDir()},
	})
	require.Error(t, err)
	require.Contains(t, err.Error(), "apt-get install postgresql")
	require.False(t, config.IsError(err), "a missing install is a run-time failure (exit 1), not bad usage")
	var ue *usageError
	require.NotErrorAs(t, err, &ue)
}

// TestRunDevInterrupted: Ctrl-C at any moment of the start-up exits 0 and
// leaves no server behind.
func TestRunDevInterrupted(t *testing.T) {
	t.Parallel()
	for _, after := range []time.Duration{0, 300 * time.Millisecond, 1500 * time.Millisecond} {
		cfg := devTestConfig(t)
		ctx, cancel := context.WithTimeout(context.Background(), after)
		err := runDev(ctx, cfg, devOptions{Out: io.Discard, Logger: devTestLogger(t), OnReady: func(string, string) {}})
		cancel()
		require.NoError(t, err, "interrupted after %s", after)
		requireNoServer(t, filepath.Join(cfg.Data.Dir, "postgres"), 10*time.Second)
		requireNoServer(t, filepath.Join(cfg.Data.Dir, "postgres.init"), 10*time.Second)
	}
}

func TestRunDevKafkaAddressInUse(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	cfg := devTestConfig(t)
	cfg.DevEnv.KafkaAddr = busy.Addr().String()
	err = runDev(context.Background(), cfg, devOptions{Out: io.Discard, Logger: devTestLogger(t)})
	var ce *config.Error
	require.ErrorAs(t, err, &ce, "exit 2 naming the key")
	require.Equal(t, "dev.kafka_addr", ce.Key)
	requireNoServer(t, filepath.Join(cfg.Data.Dir, "postgres"), 10*time.Second)
}

func TestDevSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := &app{cfg: config.Config{Dev: true, Data: config.Data{Dir: dir}}}
	k1, err := a.devSecret("cursor", 32)
	require.NoError(t, err)
	require.Len(t, k1, 32)
	st, err := os.Stat(filepath.Join(dir, "secrets", "cursor"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	k2, err := a.devSecret("cursor", 32)
	require.NoError(t, err)
	require.Equal(t, k1, k2, "kept across calls (and restarts)")

	prod := &app{cfg: config.Config{Data: config.Data{Dir: dir}}}
	_, err = prod.devSecret("cursor", 32)
	require.ErrorContains(t, err, "only `pvara dev`")
}

func TestBrowsableAndRedact(t *testing.T) {
	t.Parallel()
	require.Equal(t, "localhost:8080", browsable("[::]:8080"))
	require.Equal(t, "localhost:8080", browsable("0.0.0.0:8080"))
	require.Equal(t, "127.0.0.1:8080", browsable("127.0.0.1:8080"))
	require.Equal(t, "redis://:xxxxx@h:6379/0", redactURL("redis://:s3cret@h:6379/0"))
	require.Equal(t, "redis://127.0.0.1:6379", redactURL("redis://127.0.0.1:6379"))
}
