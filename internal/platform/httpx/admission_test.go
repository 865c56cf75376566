package httpx_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/metrics"
)

// TestAdmission: with one write slot and no queue, a second write while
// the first is being served is refused at once with 503 overloaded and
// Retry-After, and its handler never runs (nothing was done, so the
// client may send it again); reads have their own budget and still pass;
// once the first write ends, the next one is served.
func TestAdmission(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	adm := httpx.NewAdmission(httpx.AdmissionConfig{
		Writes: httpx.AdmissionClass{InFlight: 1, Queue: 0, Wait: time.Hour},
		Reads:  httpx.AdmissionClass{InFlight: 4, Queue: 4, Wait: time.Hour},
	}, reg)
	srv, entered, release, served := slowServer(t, adm)
	first := make(chan int, 1)
	go post(srv.URL+"/v1/slow", first)
	<-entered

	res, err := http.Post(srv.URL+"/v1/slow", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	var p struct {
		Code      string `json:"code"`
		Status    int    `json:"status"`
		RequestID string `json:"request_id"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&p))
	res.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	require.Equal(t, "1", res.Header.Get("Retry-After"))
	require.Equal(t, "overloaded", p.Code)
	require.NotEmpty(t, p.RequestID)
	require.Equal(t, int64(1), served.Load(), "the refused request never reached its handler")

	// Reads are a separate budget.
	res, err = http.Get(srv.URL + "/v1/read")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	close(release)
	require.Equal(t, http.StatusCreated, <-first)
	res, err = http.Post(srv.URL+"/v1/slow", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode)

	require.Equal(t, 1.0, metricValue(t, reg, "pvara_http_admission_rejected_total", "writes"))
	require.Equal(t, 0.0, metricValue(t, reg, "pvara_http_admission_in_flight", "writes"))
}

// TestAdmissionQueues: a write that finds every slot taken waits in the
// queue and is served when a slot frees, instead of being refused.
func TestAdmissionQueues(t *testing.T) {
	t.Parallel()
	adm := httpx.NewAdmission(httpx.AdmissionConfig{Writes: httpx.AdmissionClass{InFlight: 1, Queue: 1, Wait: time.Hour}}, nil)
	srv, entered, release, served := slowServer(t, adm)
	codes := make(chan int, 2)
	go post(srv.URL+"/v1/slow", codes)
	<-entered
	go post(srv.URL+"/v1/slow", codes)
	require.Eventually(t, func() bool { return adm.Waiting() == 1 }, 5*time.Second, time.Millisecond)
	close(release)
	require.Equal(t, http.StatusCreated, <-codes)
	require.Equal(t, http.StatusCreated, <-codes)
	require.Equal(t, int64(2), served.Load())
}

// slowServer serves POST /v1/slow behind adm: the first request blocks
// in its handler (entered is closed when it gets there) until release is
// closed; the others answer 201 at once. served counts handler runs.
func slowServer(t *testing.T, adm *httpx.Admission) (srv *httptest.Server, entered, release chan struct{}, served *atomic.Int64) {
	t.Helper()
	r, err := httpx.NewRouter(httpx.RouterConfig{Title: "t", Version: "1", Admission: adm}, logx.Discard(), httpx.NewHTTPMetrics(nil))
	require.NoError(t, err)
	entered, release, served = make(chan struct{}), make(chan struct{}), &atomic.Int64{}
	r.Mux.Post("/v1/slow", func(w http.ResponseWriter, _ *http.Request) {
		if served.Add(1) == 1 {
			close(entered)
			<-release
		}
		w.WriteHeader(http.StatusCreated)
	})
	r.Mux.Get("/v1/read", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	srv = httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, entered, release, served
}

// post sends an empty JSON body to url and reports the status (0: no
// answer) on codes.
func post(url string, codes chan<- int) {
	res, err := http.Post(url, "application/json", strings.NewReader("{}"))
	if err != nil {
		codes <- 0
		return
	}
	res.Body.Close()
	codes <- res.StatusCode
}

// metricValue is the value of the counter or gauge name{class=class} in reg.
func metricValue(t *testing.T, reg *prometheus.Registry, name, class string) float64 {
	t.Helper()
	v, found, err := metrics.Value(reg, name, "class", class)
	require.NoError(t, err)
	require.True(t, found, "metric %s{class=%q}", name, class)
	return v
}
