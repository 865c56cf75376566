package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/auth"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

func mustKey(t testing.TB) []byte {
	t.Helper()
	k, err := fieldcrypt.GenerateKey()
	require.NoError(t, err)
	return k
}

// startServe runs `pvara serve` against a test database and Redis on free
// ports and returns the process and its API and admin base URLs.
func startServe(t *testing.T, extraEnv ...string) (proc *procHandle, api, admin string) {
	t.Helper()
	d := testenv.NewDB(t)
	env := append([]string{
		"PVARA_DATABASE_URL=" + d.URL,
		"PVARA_REDIS_URL=" + testenv.RedisURL(),
		// A private prefix: the rate limiter's per-IP bucket (127.0.0.1) must
		// not carry over between runs.
		"PVARA_REDIS_PREFIX=pvara-test-serve-" + d.Name + ":",
		// The request stream comes from one IP: lift the per-IP limit.
		"PVARA_RATELIMIT_REQUESTS=1000000",
		"PVARA_HTTP_ADDR=127.0.0.1:0",
		"PVARA_ADMIN_ADDR=127.0.0.1:0",
		"PVARA_LOG_FORMAT=json",
		"PVARA_HTTP_CURSOR_SECRET=serve-test-cursor-secret",
		"PVARA_CRYPTO_FIELD_KEYS=" + fieldcrypt.FormatKey("t1", mustKey(t)),
		"PVARA_CRYPTO_BLIND_INDEX_KEY=" + base64.StdEncoding.EncodeToString(mustKey(t)),
		"PVARA_AUTH_SIGNING_KEYS=" + mustSigningKey(t),
	}, extraEnv...)
	cmd := pvaraCmd(t, env, "serve")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &procHandle{cmd: cmd, done: make(chan struct{})}
	addrs := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		var got [2]string
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log = append(p.log, line)
			p.mu.Unlock()
			var rec struct{ Msg, Listener, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				if rec.Listener == "api" {
					got[0] = rec.Addr
				} else {
					got[1] = rec.Addr
				}
				if got[0] != "" && got[1] != "" {
					addrs <- got
				}
			}
		}
	}()
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done })
	select {
	case a := <-addrs:
		return p, "http://" + a[0], "http://" + a[1]
	case <-p.done:
		t.Fatalf("serve exited early: %v\n%s", p.err, p.logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not listen\n%s", p.logs())
	}
	return nil, "", ""
}

type procHandle struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  []string
	err  error
	done chan struct{}
}

func (p *procHandle) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

func TestServeSmokeAndSIGTERMUnderLoad(t *testing.T) {
	t.Parallel()
	p, api, admin := startServe(t, "PVARA_SHUTDOWN_DELAY=500ms")

	require.Eventually(t, func() bool {
		resp, err := http.Get(admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, 20*time.Second, 50*time.Millisecond)

	// An unknown path is a 404 problem with a request id.
	resp, err := http.Get(api + "/v1/nope")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 404, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.NotEmpty(t, resp.Header.Get("X-Request-ID"))
	require.Contains(t, string(body), `"code":"not_found"`)

	// The admin endpoints are not on the public listener.
	for _, path := range []string{"/metrics", "/readyz", "/livez", "/debug/pprof/"} {
		resp, err := http.Get(api + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 404, resp.StatusCode, path)
	}
	resp, err = http.Get(admin + "/metrics")
	require.NoError(t, err)
	metricsBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"pvara_http_request_duration_seconds", "pvara_http_requests_in_flight", "pvara_db_pool_acquired_conns", "go_goroutines"} {
		require.Contains(t, string(metricsBody), m)
	}

	// A stream of requests; a balancer stops routing when /readyz says 503.
	var draining atomic.Bool
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for range 6 {
		wg.Go(func() {
			for !draining.Load() {
				resp, err := client.Get(api + "/v1/openapi.json")
				if err != nil {
					failed.Add(1)
					t.Logf("request failed: %v", err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	wg.Go(func() {
		for !draining.Load() {
			resp, err := http.Get(admin + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 503 {
					draining.Store(true)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	time.Sleep(300 * time.Millisecond)
	resp, err = http.Get(admin + "/metrics")
	require.NoError(t, err)
	metricsBody, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(metricsBody), `route="/v1/openapi.json"`, "routes are labelled by pattern")
	require.NoError(t, signalProc(p, syscall.SIGTERM))
	wg.Wait()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not exit after SIGTERM\n%s", p.logs())
	}
	require.NoError(t, p.err, "exit 0 after a clean drain\n%s", p.logs())
	require.Zero(t, failed.Load())
	require.Positive(t, ok.Load())
	require.Contains(t, p.logs(), `"msg":"shutting down: draining"`)
	require.Contains(t, p.logs(), `"route":"/v1/openapi.json"`, "access log line with the route pattern")
	require.Contains(t, p.logs(), `"request_id":`)
}

func mustSigningKey(t testing.TB) string {
	t.Helper()
	_, s, err := auth.GenerateSigningKey("serve-test")
	require.NoError(t, err)
	return s
}
