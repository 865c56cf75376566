package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Helpers for tests that run the real pvara binary as a process.

// buildPvaraBinary builds this command into a temporary directory (with the race
// detector when the tests have it, so the build reuses their packages) and
// returns its path. PVARA_TEST_BINARY names a binary to use instead (the
// smoke step of `make test` passes the binary it built).
func buildPvaraBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PVARA_TEST_BINARY"); p != "" {
		abs, err := filepath.Abs(p)
		require.NoError(t, err)
		return abs
	}
	out := filepath.Join(t.TempDir(), "pvara")
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", b)
	return out
}

// envWithoutPVARA is this process's environment without any PVARA_ variable.
func envWithoutPVARA(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PVARA_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func freeLocalAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// lockedBuffer is a bytes.Buffer safe for a process writing and a test
// reading.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// binProc is a running pvara.
type binProc struct {
	t        *testing.T
	cmd      *exec.Cmd
	stdout   *lockedBuffer
	stderr   *lockedBuffer
	done     chan struct{}
	exitCode int
}

func startBinary(t *testing.T, bin string, env []string, args ...string) *binProc {
	t.Helper()
	p := &binProc{t: t, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	require.NoError(t, p.cmd.Start())
	go func() {
		_ = p.cmd.Wait()
		p.exitCode = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(60 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("pvara %v stdout:\n%s\nstderr:\n%s", args, p.stdout, p.stderr)
		}
	})
	return p
}

// stop sends sig and returns the exit code.
func (p *binProc) stop(sig syscall.Signal, timeout time.Duration) int {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(sig))
	return p.wait(timeout)
}

func (p *binProc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.exitCode
	case <-time.After(timeout):
		p.t.Fatalf("pvara did not exit within %s; stderr:\n%s", timeout, p.stderr)
		return -1
	}
}

// waitReady polls http://admin/readyz until it answers 200 and returns how
// long that took.
func (p *binProc) waitReady(admin string, timeout time.Duration) time.Duration {
	p.t.Helper()
	start := time.Now()
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Since(start) < timeout {
		select {
		case <-p.done:
			p.t.Fatalf("pvara exited (%d) before it was ready; stderr:\n%s", p.exitCode, p.stderr)
		default:
		}
		resp, err := client.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start)
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	p.t.Fatalf("/readyz not 200 within %s; stderr:\n%s", timeout, p.stderr)
	return 0
}

// runBinary runs a pvara command to completion and returns its output and
// exit code.
func runBinary(t *testing.T, bin string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "pvara %v: %s", args, out)
		return string(out), ee.ExitCode()
	}
	return string(out), 0
}

// serverProcesses lists the live processes whose working directory is
// pgdata: a postmaster and its children chdir there.
func serverProcesses(t *testing.T, pgdata string) []int {
	t.Helper()
	want, err := filepath.EvalSymlinks(pgdata)
	if err != nil {
		want = pgdata
	}
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil || cwd != want {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && strings.Contains(string(st), ") Z ") {
			continue
		}
		out = append(out, pid)
	}
	return out
}

func requireNoServer(t *testing.T, pgdata string, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return len(serverProcesses(t, pgdata)) == 0 },
		within, 50*time.Millisecond, "PostgreSQL processes left behind in %s", pgdata)
}
