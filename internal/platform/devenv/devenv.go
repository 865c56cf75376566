// Package devenv brings up what `pvara dev` runs on, with nothing installed
// but PostgreSQL's server programs: a private PostgreSQL cluster started from
// the machine's own binaries, an in-process Kafka-protocol broker (kfake)
// persisted on disk, and a probe for a local Redis. Everything lives in one
// data directory, reused from run to run:
//
//	<data>/dev.lock      held while a pvara dev uses the directory
//	<data>/postgres/     the cluster (PGDATA), owned by the account it runs as
//	<data>/run/          the cluster's Unix socket
//	<data>/log/          the server's log
//	<data>/kafka/        the broker's topics and offsets
//	<data>/secrets/      keys made up for development (Secret)
//	<data>/dev.env       the URLs, for psql, kcat and other pvara commands
//
// Nothing here is for production: the cluster trusts every local connection.
package devenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Config says what to bring up.
type Config struct {
	// DataDir holds everything (see the package documentation).
	DataDir string
	// Reset deletes the data directory's contents first.
	Reset bool
	// Postgres starts the private cluster; off when a database URL was
	// given.
	Postgres bool
	// Database is created in the cluster when missing (default "pvara").
	Database string
	// PostgresSearchDirs are where to look for the server programs
	// (DefaultSearchDirs when nil).
	PostgresSearchDirs []string
	// KafkaAddr is where the in-process broker listens; empty starts none.
	KafkaAddr string
	// RedisURL is probed; when it answers, Env.RedisURL is set to it.
	// Empty probes nothing.
	RedisURL string
	Logger   *slog.Logger
}

// Env is what Start brought up.
type Env struct {
	DataDir string
	// Cluster is the private PostgreSQL (nil when not started) and
	// DatabaseURL its superuser URL of Config.Database.
	Cluster     *Cluster
	DatabaseURL string
	// Kafka is the in-process broker (nil when not started) and
	// KafkaBrokers its address.
	Kafka        *kfake.Cluster
	KafkaBrokers []string
	// RedisURL is Config.RedisURL when it answered, else empty.
	RedisURL string

	lock   *os.File
	logger *slog.Logger
}

// ErrInUse is returned when another pvara dev holds the data directory.
var ErrInUse = errors.New("devenv: data directory in use")

// Start takes the data directory's lock and brings up what cfg asks for.
// On error, whatever was started is stopped again. Stop undoes it all.
func Start(ctx context.Context, cfg Config) (_ *Env, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Database == "" {
		cfg.Database = "pvara"
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	// 0755: when root runs PostgreSQL as another account, that account must
	// pass through this directory; what is private below it is 0700.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create the data directory: %w", err)
	}
	e := &Env{DataDir: dir, logger: cfg.Logger}
	// A lock that is about to be released is waited for a moment: a
	// previous pvara dev still exiting, or a process forked by this one
	// that holds a copy of the descriptor until its exec closes it.
	for wait := 2 * time.Second; ; wait -= 50 * time.Millisecond {
		e.lock, err = lockFile(filepath.Join(dir, "dev.lock"))
		if !errors.Is(err, errLocked) || wait <= 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("%w: another pvara dev is running with %s (stop it, or set PVARA_DATA_DIR to another directory)", ErrInUse, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	if cfg.Reset {
		if err := e.reset(); err != nil {
			return nil, err
		}
	}
	if cfg.Postgres {
		if err := e.startPostgres(ctx, cfg); err != nil {
			return nil, err
		}
	}
	if cfg.KafkaAddr != "" {
		if err := e.startKafka(cfg.KafkaAddr); err != nil {
			return nil, err
		}
	}
	if cfg.RedisURL != "" && ProbeRedis(ctx, cfg.RedisURL) == nil {
		e.RedisURL = cfg.RedisURL
	}
	return e, nil
}

// reset deletes everything in the data directory but the lock. It refuses a
// directory that does not look like one of ours, so a mistyped
// PVARA_DATA_DIR cannot wipe a home directory.
func (e *Env) reset() error {
	entries, err := os.ReadDir(e.DataDir)
	if err != nil {
		return err
	}
	ours := map[string]bool{"dev.lock": true, "dev.env": true, "postgres": true, "postgres.init": true,
		"run": true, "log": true, "kafka": true, "secrets": true, "postgres.port": true}
	for _, ent := range entries {
		if !ours[ent.Name()] && !strings.HasPrefix(ent.Name(), ".dev.env.tmp-") {
			return fmt.Errorf("refusing to reset %s: it holds %q, which pvara dev did not make; delete the directory yourself if it is really the data directory", e.DataDir, ent.Name())
		}
	}
	// A server left running on the old cluster must go before its files.
	if err := RecoverStalePID(filepath.Join(e.DataDir, "postgres"), 30*time.Second, e.logger); err != nil {
		return err
	}
	for _, ent := range entries {
		if ent.Name() == "dev.lock" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(e.DataDir, ent.Name())); err != nil {
			return fmt.Errorf("reset: %w", err)
		}
	}
	e.logger.Info("data directory reset", "dir", e.DataDir)
	return nil
}

func (e *Env) startPostgres(ctx context.Context, cfg Config) error {
	pgdata := filepath.Join(e.DataDir, "postgres")
	prefer, _ := ClusterMajor(pgdata)
	bins, err := FindBinaries(ctx, cfg.PostgresSearchDirs, prefer)
	if err != nil {
		return err
	}
	runAs, err := DefaultRunAs()
	if err != nil {
		return err
	}
	portFile := filepath.Join(e.DataDir, "postgres.port")
	port := 0
	if b, err := os.ReadFile(portFile); err == nil {
		port, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	e.Cluster, err = StartCluster(ctx, ClusterConfig{
		Dir:       pgdata,
		SocketDir: filepath.Join(e.DataDir, "run"),
		LogFile:   filepath.Join(e.DataDir, "log", "postgres.log"),
		Port:      port,
		Binaries:  bins,
		RunAs:     runAs,
		Logger:    cfg.Logger,
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(portFile, []byte(strconv.Itoa(e.Cluster.Port())+"\n"), 0o644); err != nil {
		return err
	}
	if err := e.Cluster.EnsureDatabase(ctx, cfg.Database); err != nil {
		return fmt.Errorf("create database %s: %w", cfg.Database, err)
	}
	e.DatabaseURL = e.Cluster.URL(cfg.Database)
	return nil
}

func (e *Env) startKafka(addr string) error {
	kdir := filepath.Join(e.DataDir, "kafka")
	var listenErr error
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.DataDir(kdir),
		// kfake listens on 127.0.0.1:<random>; listen where asked instead,
		// so Kafka tools find the broker at a known address.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			l, err := net.Listen(network, addr)
			listenErr = err
			return l, err
		}),
		kfake.WithLogger(kafkaLogger{e.logger}),
	)
	if err != nil {
		if listenErr != nil {
			return &AddrError{Addr: addr, Err: listenErr}
		}
		return fmt.Errorf("start the in-process Kafka broker (data in %s): %w", kdir, err)
	}
	e.Kafka = c
	e.KafkaBrokers = c.ListenAddrs()
	return nil
}

// AddrError is an address the broker could not listen on.
type AddrError struct {
	Addr string
	Err  error
}

func (e *AddrError) Error() string {
	if errors.Is(e.Err, syscall.EADDRINUSE) {
		return fmt.Sprintf("%s is in use (another pvara dev, or a Kafka?)", e.Addr)
	}
	return fmt.Sprintf("cannot listen on %s: %v", e.Addr, e.Err)
}

func (e *AddrError) Unwrap() error { return e.Err }

// kafkaLogger passes the broker's warnings and errors to slog.
type kafkaLogger struct{ l *slog.Logger }

func (k kafkaLogger) Logf(level kfake.LogLevel, msg string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		k.l.Error("kfake: " + fmt.Sprintf(msg, args...))
	case kfake.LogLevelWarn:
		k.l.Warn("kfake: " + fmt.Sprintf(msg, args...))
	}
}

// ProbeRedis reports whether a Redis answers PING, without authentication,
// at url within a second. It speaks the protocol itself so that a missing
// Redis costs one refused connection and no client log noise.
func ProbeRedis(ctx context.Context, url string) error {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", opt.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(buf[:n]), "+PONG") {
		return fmt.Errorf("%s answered %q to PING", opt.Addr, strings.TrimSpace(string(buf[:n])))
	}
	return nil
}

// Stop stops the broker (which saves its state) and the cluster, and
// releases the data directory. It is safe to call more than once.
func (e *Env) Stop() {
	if e.Kafka != nil {
		e.Kafka.Close()
		e.Kafka = nil
	}
	if e.Cluster != nil {
		if err := e.Cluster.Stop(); err != nil {
			e.logger.Error("stop the dev PostgreSQL", "error", err)
		}
	}
	if e.lock != nil {
		e.lock.Close()
		e.lock = nil
	}
}

// EnvFile is the path of dev.env in dataDir.
func EnvFile(dataDir string) string { return filepath.Join(dataDir, "dev.env") }

// WriteEnvFile writes NAME=value lines atomically (readers never see half a
// file), in the order given.
func WriteEnvFile(path string, vars [][2]string) error {
	var b strings.Builder
	b.WriteString("# Written by `pvara dev`; the URLs of the running dev environment.\n")
	b.WriteString("# `set -a; . ./.pvara/dev.env; set +a` exports them; pvara commands read this file\n")
	b.WriteString("# themselves when PVARA_DATABASE_URL is not set.\n")
	for _, kv := range vars {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	return writeAtomic(path, []byte(b.String()), 0o600)
}

// ReadEnvFile reads NAME=value lines; a missing file is empty.
func ReadEnvFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out, nil
}

func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
