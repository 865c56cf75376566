package httpx_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/metrics"
)

// TestGracefulShutdownUnderLoad drains like a replica behind a load balancer:
// clients keep sending until /readyz turns 503 (what a balancer acts on),
// slow requests are in flight when shutdown starts, and not one request
// fails.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/fast", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(700 * time.Millisecond)
		_, _ = w.Write([]byte("ok"))
	})
	ready := httpx.NewReadiness()
	ready.Add("db", func(context.Context) error { return nil })
	api, err := httpx.Listen("api", "127.0.0.1:0", &http.Server{Handler: mux, ReadHeaderTimeout: time.Second})
	require.NoError(t, err)
	admin, err := httpx.Listen("admin", "127.0.0.1:0", &http.Server{Handler: httpx.AdminHandler(metrics.NewRegistry(), ready), ReadHeaderTimeout: time.Second})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- httpx.Serve(ctx, logx.Discard(), ready, httpx.ShutdownConfig{Delay: 400 * time.Millisecond, Grace: 5 * time.Second}, admin, api)
	}()
	base, adminBase := "http://"+api.Addr(), "http://"+admin.Addr()
	require.Eventually(t, func() bool {
		resp, err := http.Get(adminBase + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, 5*time.Second, 10*time.Millisecond)

	var draining atomic.Bool
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	get := func(path string) {
		resp, err := client.Get(base + path)
		if err != nil {
			failed.Add(1)
			t.Logf("request failed: %v", err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			ok.Add(1)
		} else {
			failed.Add(1)
		}
	}
	// The balancer: polls readiness and stops routing on 503.
	wg.Go(func() {
		for !draining.Load() {
			resp, err := http.Get(adminBase + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable {
					draining.Store(true)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	for range 8 {
		wg.Go(func() {
			for !draining.Load() {
				get("/fast")
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	// Slow requests in flight when the signal arrives.
	for range 4 {
		wg.Go(func() { get("/slow") })
	}
	time.Sleep(50 * time.Millisecond)
	cancel() // SIGTERM
	wg.Wait()

	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	require.Zero(t, failed.Load(), "no request may fail during a drain")
	// Every slow request was in flight at the signal and finished.
	require.GreaterOrEqual(t, ok.Load(), int64(4))
	_, err = client.Get(base + "/fast")
	require.Error(t, err, "the listener is closed after the drain")
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	r := httpx.NewReadiness()
	r.Add("postgres", func(context.Context) error { return nil })
	okNow, checks := r.Check(context.Background())
	require.True(t, okNow)
	require.Equal(t, "ok", checks["postgres"])
	r.Add("redis", func(context.Context) error { return errors.New("down") })
	okNow, checks = r.Check(context.Background())
	require.False(t, okNow)
	require.Equal(t, "failing", checks["redis"])
	r.Add("redis", func(context.Context) error { return nil })
	r.SetDraining()
	okNow, checks = r.Check(context.Background())
	require.False(t, okNow)
	require.Equal(t, "draining", checks["shutdown"])
}
