package devenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ClusterConfig describes a private PostgreSQL cluster.
type ClusterConfig struct {
	// Dir is the data directory (PGDATA). initdb creates it on the first
	// start; later starts reuse it.
	Dir string
	// SocketDir holds the Unix socket; it must be short (the socket path is
	// limited to 107 bytes). Default: Dir's sibling "run".
	SocketDir string
	// LogFile receives the server's output. Default: Dir's sibling
	// "log/postgres.log".
	LogFile string
	// Port is tried first (so URLs stay the same from run to run); when it
	// is 0 or taken, a free port is used.
	Port int
	// Binaries are the server programs (FindBinaries).
	Binaries Binaries
	// RunAs is the account the programs run as; nil runs them as this
	// process (see DefaultRunAs: root must not be used).
	RunAs *RunAs
	// StartTimeout bounds the wait for the server to accept connections
	// (default 60s); StopTimeout the wait for a fast shutdown before an
	// immediate one (default 30s).
	StartTimeout time.Duration
	StopTimeout  time.Duration
	Logger       *slog.Logger
}

// Cluster is a running private PostgreSQL server, a child of this process.
type Cluster struct {
	cfg     ClusterConfig
	port    int
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	logf    *os.File
}

// Superuser is the cluster's superuser; it authenticates with trust, and
// only on 127.0.0.1 and the private socket.
const Superuser = "postgres"

// serverSettings are appended to postgresql.conf by the first start: a small
// footprint for a laptop. Commits stay durable (synchronous_commit on): a
// killed server loses nothing that was committed.
const serverSettings = `
# --- pvara dev ---------------------------------------------------------------
# Port and socket directory are given on the command line at every start.
listen_addresses = '127.0.0.1'
max_connections = 100
shared_buffers = 64MB
work_mem = 8MB
maintenance_work_mem = 64MB
wal_level = minimal
max_wal_senders = 0
max_wal_size = 256MB
checkpoint_timeout = 15min
huge_pages = off
timezone = 'UTC'
log_timezone = 'UTC'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 2s
`

// hbaConf allows the superuser and everyone else without a password, but
// only over the private socket and 127.0.0.1.
const hbaConf = `# pvara dev: trust, local connections only.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
`

// StartCluster initialises the cluster on its first start, then starts the
// server and waits until it accepts connections. The caller must hold the
// data directory's lock (Start does): a postmaster found running on Dir is
// taken for one left behind by an earlier run and is stopped.
func StartCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	var err error
	if cfg.Dir, err = filepath.Abs(cfg.Dir); err != nil {
		return nil, err
	}
	if cfg.SocketDir == "" {
		cfg.SocketDir = filepath.Join(filepath.Dir(cfg.Dir), "run")
	}
	if cfg.LogFile == "" {
		cfg.LogFile = filepath.Join(filepath.Dir(cfg.Dir), "log", "postgres.log")
	}
	if cfg.SocketDir, err = filepath.Abs(cfg.SocketDir); err != nil {
		return nil, err
	}
	// The socket path ("<dir>/.s.PGSQL.<port>") must fit in sun_path.
	if len(cfg.SocketDir)+len("/.s.PGSQL.65535") > 107 {
		short, err := os.MkdirTemp("", "pvara-pg-")
		if err != nil {
			return nil, err
		}
		cfg.Logger.Info("data directory path too long for a Unix socket; using a temporary socket directory", "dir", short)
		cfg.SocketDir = short
	}
	if err := ensureTraversable(cfg.Dir, cfg.RunAs, cfg.Logger); err != nil {
		return nil, err
	}
	if !Initialised(cfg.Dir) {
		if err := initCluster(ctx, cfg); err != nil {
			return nil, err
		}
	} else if v, _ := ClusterMajor(cfg.Dir); v != cfg.Binaries.Major {
		return nil, fmt.Errorf("the dev cluster in %s was created by PostgreSQL %d but the server programs found are PostgreSQL %d (%s): install PostgreSQL %d, or start from scratch with `pvara dev --reset` (deletes the data)",
			cfg.Dir, v, cfg.Binaries.Major, cfg.Binaries.Dir, v)
	}
	if err := chownTree(cfg.Dir, cfg.RunAs); err != nil {
		return nil, fmt.Errorf("give the data directory to %s: %w", cfg.RunAs.Name, err)
	}
	if err := os.MkdirAll(cfg.SocketDir, 0o700); err != nil {
		return nil, err
	}
	if err := chownTree(cfg.SocketDir, cfg.RunAs); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.LogFile), 0o755); err != nil {
		return nil, err
	}
	if err := RecoverStalePID(cfg.Dir, cfg.StopTimeout, cfg.Logger); err != nil {
		return nil, err
	}

	deadline := time.Now().Add(cfg.StartTimeout)
	port := cfg.Port
	for attempt := 1; ; attempt++ {
		if port == 0 || !portFree(port) {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		c, err := startServer(ctx, cfg, port, deadline)
		if err == nil {
			return c, nil
		}
		var se *startError
		if !errors.As(err, &se) || attempt == 5 || time.Now().After(deadline) {
			return nil, err
		}
		switch {
		case se.portTaken:
			// Someone took the port between our check and the server's bind.
			cfg.Logger.Info("port taken at start; trying another", "port", port)
			port = 0
		case se.shmemInUse:
			// Processes of a killed server have not all exited yet.
			cfg.Logger.Info("an earlier server's processes are still exiting; retrying")
			time.Sleep(time.Second)
		default:
			return nil, err
		}
	}
}

// Initialised reports whether dir holds a cluster.
func Initialised(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "PG_VERSION"))
	return err == nil
}

// ClusterMajor is the major version that created the cluster in dir.
func ClusterMajor(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "PG_VERSION"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// initCluster runs initdb into a temporary directory and renames it into
// place, so an interrupted first run never leaves a half-made cluster that
// later runs would try to use.
func initCluster(ctx context.Context, cfg ClusterConfig) error {
	tmp := cfg.Dir + ".init"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	if err := chownTree(tmp, cfg.RunAs); err != nil {
		return err
	}
	cfg.Logger.Info("creating the dev PostgreSQL cluster (first run)", "dir", cfg.Dir, "version", cfg.Binaries.Version)
	cmd := exec.CommandContext(ctx, cfg.Binaries.Initdb(),
		"--pgdata="+tmp, "--username="+Superuser, "--auth=trust",
		"--encoding=UTF8", "--no-locale", "--no-instructions")
	cmd.Dir = "/"
	cmd.Env = childEnv(cfg.Binaries)
	cmd.SysProcAttr = sysProcAttr(cfg.RunAs.credential())
	// Interrupted: kill initdb's whole process group (it runs postgres in
	// bootstrap mode as a child), not initdb alone.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("initdb failed: %w\n%s", err, tail(out.Bytes(), 20))
	}
	if err := appendFile(filepath.Join(tmp, "postgresql.conf"), serverSettings); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "pg_hba.conf"), []byte(hbaConf), 0o600); err != nil {
		return err
	}
	if err := chownTree(tmp, cfg.RunAs); err != nil {
		return err
	}
	return os.Rename(tmp, cfg.Dir)
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// childEnv is the environment of the PostgreSQL programs: nothing of ours
// (no PG* variables that would redirect them), the C locale, UTC.
func childEnv(b Binaries) []string {
	return []string{"PATH=" + b.Dir + ":/usr/bin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC"}
}

// startError is a server that exited while starting, with why.
type startError struct {
	portTaken, shmemInUse bool
	msg                   string
}

func (e *startError) Error() string { return e.msg }

func startServer(ctx context.Context, cfg ClusterConfig, port int, deadline time.Time) (*Cluster, error) {
	logf, err := os.OpenFile(cfg.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	logStart, _ := logf.Seek(0, io.SeekEnd)
	// Not CommandContext: the server must outlive a cancelled start-up
	// context long enough to be stopped in order, by Stop.
	cmd := exec.Command(cfg.Binaries.Postgres(),
		"-D", cfg.Dir, "-p", strconv.Itoa(port), "-k", cfg.SocketDir,
		"-c", "listen_addresses=127.0.0.1")
	cmd.Dir = "/"
	cmd.Env = childEnv(cfg.Binaries)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr(cfg.RunAs.credential())
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	c := &Cluster{cfg: cfg, port: port, cmd: cmd, exited: make(chan struct{}), logf: logf}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	logTail := func() string {
		b, _ := os.ReadFile(cfg.LogFile)
		if int64(len(b)) >= logStart {
			b = b[logStart:]
		}
		return tail(b, 15)
	}
	for {
		select {
		case <-c.exited:
			c.logf.Close()
			t := logTail()
			return nil, &startError{
				portTaken:  strings.Contains(t, "could not bind") || strings.Contains(t, "already in use") || strings.Contains(t, "could not create any TCP/IP sockets"),
				shmemInUse: strings.Contains(t, "shared memory block") && strings.Contains(t, "still in use"),
				msg:        fmt.Sprintf("postgres exited while starting (%v); its log (%s) says:\n%s", c.waitErr, cfg.LogFile, t),
			}
		default:
		}
		if ok, err := c.answers(ctx); ok {
			cfg.Logger.Info("dev PostgreSQL is up", "port", port, "pid", cmd.Process.Pid, "version", cfg.Binaries.Version)
			return c, nil
		} else if err != nil {
			_ = c.Stop()
			return nil, err
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			_ = c.Stop()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("postgres did not accept connections within %s; its log (%s) says:\n%s", cfg.StartTimeout, cfg.LogFile, logTail())
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-c.exited:
		case <-ctx.Done():
		}
	}
}

// answers reports whether our server accepts connections. It checks the
// server's data directory, so another server that happens to answer on the
// port is never mistaken for ours.
func (c *Cluster) answers(ctx context.Context) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, c.URL("postgres"))
	if err != nil {
		return false, nil
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var dir string
	if err := conn.QueryRow(cctx, "SHOW data_directory").Scan(&dir); err != nil {
		return false, nil
	}
	if !sameDir(dir, c.cfg.Dir) {
		return false, fmt.Errorf("another PostgreSQL (data directory %s) answers on port %d", dir, c.port)
	}
	return true, nil
}

// Port is the TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// PID is the postmaster's process id.
func (c *Cluster) PID() int { return c.cmd.Process.Pid }

// Dir is the data directory.
func (c *Cluster) Dir() string { return c.cfg.Dir }

// SocketDir is the directory of the Unix socket.
func (c *Cluster) SocketDir() string { return c.cfg.SocketDir }

// URL is the superuser URL of database db over TCP.
func (c *Cluster) URL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(Superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Exited is closed when the server process has ended.
func (c *Cluster) Exited() <-chan struct{} { return c.exited }

// EnsureDatabase creates database name when it does not exist.
func (c *Cluster) EnsureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

// Stop shuts the server down: a fast shutdown (sessions are ended, data
// is flushed), then an immediate one if that takes longer than
// StopTimeout, then SIGKILL of the whole process group. It waits for the
// server to exit and is safe to call more than once.
func (c *Cluster) Stop() error {
	defer c.logf.Close()
	select {
	case <-c.exited:
		return nil
	default:
	}
	pid := c.cmd.Process.Pid
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
		pgrp bool
	}{
		{syscall.SIGINT, c.cfg.StopTimeout, false}, // fast shutdown
		{syscall.SIGQUIT, 5 * time.Second, false},  // immediate shutdown
		{syscall.SIGKILL, 5 * time.Second, true},
	}
	for _, s := range steps {
		target := pid
		if s.pgrp {
			target = -pid
		}
		if err := syscall.Kill(target, s.sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal postgres: %w", err)
		}
		select {
		case <-c.exited:
			if s.sig != syscall.SIGINT {
				c.cfg.Logger.Warn("dev PostgreSQL did not stop in time; it was stopped with " + s.sig.String())
			} else {
				c.cfg.Logger.Info("dev PostgreSQL stopped")
			}
			return nil
		case <-time.After(s.wait):
		}
	}
	return errors.New("postgres did not exit after SIGKILL")
}

// RecoverStalePID deals with the postmaster.pid of a run that did not stop
// its server. If it names a live postmaster of this data directory, that
// server was left behind (the caller holds the data directory's lock, so no
// live pvara owns it): it is stopped. If it names another live process (the
// PID was reused), the file is removed, since PostgreSQL would refuse to
// start. A dead PID is left to PostgreSQL, which checks the old shared
// memory itself.
func RecoverStalePID(dataDir string, stopTimeout time.Duration, logger *slog.Logger) error {
	pidFile := filepath.Join(dataDir, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		logger.Warn("removing an unreadable postmaster.pid", "file", pidFile)
		return os.Remove(pidFile)
	}
	if !processAlive(pid) {
		logger.Info("the dev PostgreSQL was not stopped cleanly last time; it will recover", "stale_pid", pid)
		return nil
	}
	ours, known := postmasterOf(pid, dataDir)
	switch {
	case ours:
		logger.Warn("a dev PostgreSQL left running by an earlier run; stopping it", "pid", pid)
		return stopPID(pid, stopTimeout)
	case known:
		logger.Info("postmaster.pid names an unrelated process (PID reused); removing it", "pid", pid)
		return os.Remove(pidFile)
	default:
		return fmt.Errorf("%s names process %d, which is running; if it is a PostgreSQL of this data directory stop it, otherwise delete the file", pidFile, pid)
	}
}

func stopPID(pid int, timeout time.Duration) error {
	for _, s := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGINT, timeout}, {syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGKILL, 5 * time.Second}} {
		if err := syscall.Kill(pid, s.sig); err != nil {
			if errors.Is(err, syscall.ESRCH) {
				return nil
			}
			return err
		}
		for end := time.Now().Add(s.wait); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if !processAlive(pid) {
				return nil
			}
		}
	}
	return fmt.Errorf("process %d did not exit", pid)
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
