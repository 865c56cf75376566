package devenv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// These tests run the machine's real PostgreSQL server programs as real
// processes, each in its own temporary data directory and on its own free
// port; they never touch the shared servers.

// testLogger writes through t.Log, so a failing test shows what the
// launcher said.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func startEnv(t *testing.T, cfg Config) *Env {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := Start(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(e.Stop)
	return e
}

func exec1(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer c.Close(ctx)
	_, err = c.Exec(ctx, sql, args...)
	require.NoError(t, err)
}

func query1(t *testing.T, url, sql string) (string, error) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer c.Close(ctx)
	var s string
	err = c.QueryRow(ctx, sql).Scan(&s)
	return s, err
}

// serverProcesses lists the live processes (postmaster and its children)
// whose working directory is pgdata.
func serverProcesses(t *testing.T, pgdata string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil || !sameDir(cwd, pgdata) {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err == nil && strings.Contains(string(st), ") Z ") {
			continue // a zombie about to be reaped
		}
		out = append(out, pid)
	}
	return out
}

func requireNoServer(t *testing.T, pgdata string) {
	t.Helper()
	require.Eventually(t, func() bool { return len(serverProcesses(t, pgdata)) == 0 },
		10*time.Second, 50*time.Millisecond, "PostgreSQL processes left behind: %v", serverProcesses(t, pgdata))
}

func processUID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			uid, err := strconv.Atoi(strings.Fields(rest)[1]) // effective
			require.NoError(t, err)
			return uid
		}
	}
	t.Fatalf("no Uid line for %d", pid)
	return -1
}

func TestClusterCreatedReusedAndStopped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pgdata := filepath.Join(dir, "postgres")

	e := startEnv(t, Config{DataDir: dir, Postgres: true})
	require.True(t, Initialised(pgdata))
	firstPort := e.Cluster.Port()
	exec1(t, e.DatabaseURL, "CREATE TABLE kept (v text)")
	exec1(t, e.DatabaseURL, "INSERT INTO kept VALUES ('from the first run')")
	enc, err := query1(t, e.DatabaseURL, "SHOW server_encoding")
	require.NoError(t, err)
	require.Equal(t, "UTF8", enc)
	listen, err := query1(t, e.DatabaseURL, "SHOW listen_addresses")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", listen)
	// The private socket works too.
	sock := fmt.Sprintf("host=%s port=%d user=postgres dbname=pvara", e.Cluster.SocketDir(), e.Cluster.Port())
	v, err := query1(t, sock, "SELECT v FROM kept")
	require.NoError(t, err)
	require.Equal(t, "from the first run", v)
	if os.Geteuid() == 0 {
		// PostgreSQL refuses root: it must run as another account.
		require.NotEqual(t, 0, processUID(t, e.Cluster.PID()))
	}
	require.NotEmpty(t, serverProcesses(t, pgdata))
	e.Stop()
	requireNoServer(t, pgdata)
	_, err = os.Stat(filepath.Join(pgdata, "postmaster.pid"))
	require.ErrorIs(t, err, os.ErrNotExist, "a clean stop removes postmaster.pid")

	// Second start: same data, same port, no initdb.
	start := time.Now()
	e2 := startEnv(t, Config{DataDir: dir, Postgres: true})
	t.Logf("second start took %s", time.Since(start))
	if e2.Cluster.Port() != firstPort {
		// Kept from run to run unless somebody took it meanwhile (the
		// machine is shared: ephemeral ports get reused).
		require.False(t, portFree(firstPort), "the port moved from %d although it is free", firstPort)
	}
	v, err = query1(t, e2.DatabaseURL, "SELECT v FROM kept")
	require.NoError(t, err)
	require.Equal(t, "from the first run", v)
	e2.Stop()
	requireNoServer(t, pgdata)
}

func TestResetStartsFromScratch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := startEnv(t, Config{DataDir: dir, Postgres: true})
	exec1(t, e.DatabaseURL, "CREATE TABLE gone (v int)")
	_, err := Secret(filepath.Join(dir, "secrets"), "k", 32)
	require.NoError(t, err)
	require.NoError(t, WriteEnvFile(EnvFile(dir), [][2]string{{"PVARA_DATABASE_URL", e.DatabaseURL}}))
	e.Stop()

	e2 := startEnv(t, Config{DataDir: dir, Postgres: true, Reset: true})
	_, err = query1(t, e2.DatabaseURL, "SELECT 'x' FROM gone")
	require.Error(t, err, "the table of the first run is gone")
	_, err = os.Stat(filepath.Join(dir, "secrets", "k"))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = os.Stat(EnvFile(dir))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestResetRefusesAForeignDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "thesis.tex"), []byte("precious"), 0o644))
	_, err := Start(context.Background(), Config{DataDir: dir, Reset: true})
	require.ErrorContains(t, err, "refusing to reset")
	b, err := os.ReadFile(filepath.Join(dir, "thesis.tex"))
	require.NoError(t, err)
	require.Equal(t, "precious", string(b))
}

func TestStalePIDOfAKilledServerIsRecovered(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pgdata := filepath.Join(dir, "postgres")
	e := startEnv(t, Config{DataDir: dir, Postgres: true})
	exec1(t, e.DatabaseURL, "CREATE TABLE survived (v int); INSERT INTO survived VALUES (7)")
	// The server dies without cleaning up (as after kill -9 or a power cut):
	// postmaster.pid stays behind.
	require.NoError(t, syscall.Kill(e.Cluster.PID(), syscall.SIGKILL))
	<-e.Cluster.Exited()
	_, err := os.Stat(filepath.Join(pgdata, "postmaster.pid"))
	require.NoError(t, err, "postmaster.pid is left by a killed server")
	e.Stop()

	e2 := startEnv(t, Config{DataDir: dir, Postgres: true})
	v, err := query1(t, e2.DatabaseURL, "SELECT v::text FROM survived")
	require.NoError(t, err)
	require.Equal(t, "7", v)
}

func TestStalePIDNamingAnotherProcessIsRemoved(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pgdata := filepath.Join(dir, "postgres")
	e := startEnv(t, Config{DataDir: dir, Postgres: true})
	e.Stop()
	// The PID in the file has been reused by an unrelated live process:
	// PostgreSQL alone would refuse to start ("is another postmaster running?").
	sleeper := exec.Command("sleep", "60")
	require.NoError(t, sleeper.Start())
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	pidFile := filepath.Join(pgdata, "postmaster.pid")
	require.NoError(t, os.WriteFile(pidFile, fmt.Appendf(nil, "%d\n%s\n", sleeper.Process.Pid, pgdata), 0o600))

	e2 := startEnv(t, Config{DataDir: dir, Postgres: true})
	_, err := query1(t, e2.DatabaseURL, "SELECT 'up'")
	require.NoError(t, err)
	require.True(t, processAlive(sleeper.Process.Pid))
}

func TestServerLeftRunningIsStoppedBeforeStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pgdata := filepath.Join(dir, "postgres")
	ctx := context.Background()
	bins, err := FindBinaries(ctx, nil, 0)
	require.NoError(t, err)
	runAs, err := DefaultRunAs()
	require.NoError(t, err)
	cfg := ClusterConfig{Dir: pgdata, Binaries: bins, RunAs: runAs, Logger: testLogger(t)}
	// An earlier run's server, still running (as when pvara died where no
	// parent-death signal exists).
	orphan, err := StartCluster(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = orphan.Stop() })

	c, err := StartCluster(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Stop() })
	select {
	case <-orphan.Exited():
	case <-time.After(30 * time.Second):
		t.Fatal("the left-over server was not stopped")
	}
	_, err = query1(t, c.URL("postgres"), "SELECT 'up'")
	require.NoError(t, err)
	require.NotEqual(t, orphan.PID(), c.PID())
	require.NoError(t, c.Stop())
	requireNoServer(t, pgdata)
}

func TestDataDirectoryIsLocked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	startEnv(t, Config{DataDir: dir})
	_, err := Start(context.Background(), Config{DataDir: dir, Postgres: true})
	require.ErrorIs(t, err, ErrInUse)
	require.ErrorContains(t, err, "another pvara dev is running")
}

func TestStartupErrorLeavesNoServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { busy.Close() })
	// PostgreSQL starts, then the broker cannot listen: Start must stop the
	// server again before returning the error.
	_, err = Start(context.Background(), Config{DataDir: dir, Postgres: true, KafkaAddr: busy.Addr().String(), Logger: testLogger(t)})
	var ae *AddrError
	require.ErrorAs(t, err, &ae)
	require.ErrorIs(t, err, syscall.EADDRINUSE)
	require.True(t, Initialised(filepath.Join(dir, "postgres")), "PostgreSQL had been started")
	requireNoServer(t, filepath.Join(dir, "postgres"))
	// And the lock is released.
	e := startEnv(t, Config{DataDir: dir})
	e.Stop()
}

func TestKafkaBrokerKeepsItsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addr := freeAddr(t)
	e := startEnv(t, Config{DataDir: dir, KafkaAddr: addr})
	require.Equal(t, []string{addr}, e.KafkaBrokers)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("pvara.test"))
	require.NoError(t, err)
	_, err = kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "pvara.test")
	require.NoError(t, err)
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte("kept")}).FirstErr())
	cl.Close()
	e.Stop()

	e2 := startEnv(t, Config{DataDir: dir, KafkaAddr: addr})
	cl2, err := kgo.NewClient(kgo.SeedBrokers(e2.KafkaBrokers...), kgo.ConsumeTopics("pvara.test"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl2.Close()
	fetches := cl2.PollFetches(ctx)
	require.NoError(t, fetches.Err())
	recs := fetches.Records()
	require.Len(t, recs, 1)
	require.Equal(t, "kept", string(recs[0].Value))
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func TestRedisProbe(t *testing.T) {
	t.Parallel()
	e := startEnv(t, Config{DataDir: t.TempDir(), RedisURL: testenv.RedisURL()})
	require.Equal(t, testenv.RedisURL(), e.RedisURL, "a Redis that answers is used")

	closed := "redis://" + freeAddr(t)
	start := time.Now()
	require.Error(t, ProbeRedis(context.Background(), closed))
	require.Less(t, time.Since(start), 3*time.Second)
	e2 := startEnv(t, Config{DataDir: t.TempDir(), RedisURL: closed})
	require.Empty(t, e2.RedisURL, "no Redis: the caller falls back to the in-process one")
}

func TestFindBinaries(t *testing.T) {
	t.Parallel()
	fake := func(version string) string {
		d := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(d, "initdb"), []byte("#!/bin/sh\nexit 0\n"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, "postgres"),
			[]byte("#!/bin/sh\necho 'postgres (PostgreSQL) "+version+" (Debian "+version+"-1)'\n"), 0o755))
		return d
	}
	v14, v15, v17 := fake("14.11"), fake("15.6"), fake("17.2")
	// A PATH directory with symbolic links to the real programs.
	linked := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(v15, "initdb"), filepath.Join(linked, "initdb")))
	require.NoError(t, os.Symlink(filepath.Join(v15, "postgres"), filepath.Join(linked, "postgres")))
	ctx := context.Background()

	b, err := FindBinaries(ctx, []string{linked, v14, v17}, 0)
	require.NoError(t, err)
	require.Equal(t, v17, b.Dir, "the newest wins")
	require.Equal(t, 17, b.Major)
	require.Equal(t, "17.2", b.Version)

	b, err = FindBinaries(ctx, []string{linked, v14, v17}, 15)
	require.NoError(t, err)
	require.Equal(t, v15, b.Dir, "the version of an existing cluster wins; links are resolved")

	_, err = FindBinaries(ctx, []string{v14}, 0)
	var me *MissingBinariesError
	require.ErrorAs(t, err, &me)
	require.Len(t, me.TooOld, 1)
	require.Contains(t, err.Error(), "PostgreSQL 14, too old")

	_, err = FindBinaries(ctx, []string{t.TempDir()}, 0)
	require.ErrorAs(t, err, &me)
	require.Contains(t, err.Error(), "apt-get install postgresql")
}

func TestMissingBinariesFailStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := Start(context.Background(), Config{DataDir: dir, Postgres: true, PostgresSearchDirs: []string{t.TempDir()}})
	var me *MissingBinariesError
	require.ErrorAs(t, err, &me)
	require.Contains(t, err.Error(), "sudo apt-get install postgresql")
	// Nothing half-made, and the directory is free again.
	require.False(t, Initialised(filepath.Join(dir, "postgres")))
	startEnv(t, Config{DataDir: dir}).Stop()
}

func TestSecret(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "secrets")
	a, err := Secret(dir, "token-signing", 32)
	require.NoError(t, err)
	require.Len(t, a, 32)
	st, err := os.Stat(filepath.Join(dir, "token-signing"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	dst, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), dst.Mode().Perm())

	b, err := Secret(dir, "token-signing", 32)
	require.NoError(t, err)
	require.Equal(t, a, b, "the same bytes on every call")
	c, err := Secret(dir, "cursor", 32)
	require.NoError(t, err)
	require.NotEqual(t, a, c)

	_, err = Secret(dir, "token-signing", 64)
	require.ErrorContains(t, err, "holds 32 bytes, 64 wanted")
	_, err = Secret(dir, "../escape", 32)
	require.Error(t, err)

	// Racing first uses agree on one value.
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = Secret(dir, "raced", 48) })
	}
	wg.Wait()
	for i := range got {
		require.NoError(t, errs[i])
		require.Equal(t, got[0], got[i])
	}
}

func TestEnvFileRoundTrip(t *testing.T) {
	t.Parallel()
	p := EnvFile(t.TempDir())
	m, err := ReadEnvFile(p)
	require.NoError(t, err)
	require.Empty(t, m)
	require.NoError(t, WriteEnvFile(p, [][2]string{{"PVARA_DATABASE_URL", "postgres://postgres@127.0.0.1:5/pvara?sslmode=disable"}, {"PVARA_KAFKA_BROKERS", "127.0.0.1:19092"}}))
	m, err = ReadEnvFile(p)
	require.NoError(t, err)
	require.Equal(t, map[string]string{
		"PVARA_DATABASE_URL":  "postgres://postgres@127.0.0.1:5/pvara?sslmode=disable",
		"PVARA_KAFKA_BROKERS": "127.0.0.1:19092",
	}, m)
	st, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}
