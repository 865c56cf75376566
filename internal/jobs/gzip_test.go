package jobs_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/jobs"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
)

// rawGet requests path from srv with exactly the given headers: no
// transparent gzip from the client, so the response is seen as sent.
func rawGet(t *testing.T, srv *httptest.Server, path string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	t.Cleanup(c.CloseIdleConnections)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.StatusCode == 200 {
		require.Equal(t, strconv.Itoa(len(b)), resp.Header.Get("Content-Length"), "an explicit Content-Length, no chunking")
		require.Empty(t, resp.TransferEncoding)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return out
}

// The board keeps each page gzip-compressed next to its JSON: a client that
// accepts gzip gets the compressed bytes (with their own ETag), any other
// the JSON; both vary on Accept-Encoding, and either ETag answers 304.
func TestBoardGzip(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for range 3 {
		e.createPublished()
	}
	plain := rawGet(t, e.srv, "/v1/jobs")
	require.Equal(t, 200, plain.Status)
	require.Empty(t, plain.Header.Get("Content-Encoding"))
	require.Contains(t, plain.Header.Values("Vary"), "Accept-Encoding")
	ids, _ := boardIDs(t, plain)
	require.Len(t, ids, 3)

	zipped := rawGet(t, e.srv, "/v1/jobs", "Accept-Encoding", "gzip, deflate, br")
	require.Equal(t, 200, zipped.Status)
	require.Equal(t, "gzip", zipped.Header.Get("Content-Encoding"))
	require.Contains(t, zipped.Header.Values("Vary"), "Accept-Encoding")
	require.Equal(t, "application/json", zipped.Header.Get("Content-Type"))
	require.Equal(t, plain.Header.Get("Cache-Control"), zipped.Header.Get("Cache-Control"))
	require.Less(t, len(zipped.Body), len(plain.Body))
	require.Equal(t, plain.Body, gunzip(t, zipped.Body), "the same page once decompressed")
	plainTag, zipTag := plain.Header.Get("ETag"), zipped.Header.Get("ETag")
	require.NotEmpty(t, zipTag)
	require.NotEqual(t, plainTag, zipTag, "each representation has its own strong ETag")

	// Accept-Encoding as clients spell it.
	for ae, want := range map[string]string{
		"gzip": "gzip", "x-gzip": "gzip", "GZIP;q=0.5": "gzip", "*": "gzip", "br;q=1, *;q=0.1": "gzip",
		"gzip;q=0": "", "gzip;q=0.000, *": "", "*;q=0": "", "br": "", "identity": "", "deflate, br": "",
	} {
		r := rawGet(t, e.srv, "/v1/jobs", "Accept-Encoding", ae)
		require.Equal(t, 200, r.Status, ae)
		require.Equal(t, want, r.Header.Get("Content-Encoding"), ae)
	}

	// Either tag is current: 304 for both representations, with the Vary
	// and the tag of the representation asked for.
	for _, tag := range []string{plainTag, zipTag, "W/" + zipTag, `"other", ` + plainTag} {
		r := rawGet(t, e.srv, "/v1/jobs", "Accept-Encoding", "gzip", "If-None-Match", tag)
		require.Equal(t, 304, r.Status, tag)
		require.Empty(t, r.Body)
		require.Equal(t, zipTag, r.Header.Get("ETag"))
		require.Contains(t, r.Header.Values("Vary"), "Accept-Encoding")
		r = rawGet(t, e.srv, "/v1/jobs", "If-None-Match", tag)
		require.Equal(t, 304, r.Status, tag)
		require.Equal(t, plainTag, r.Header.Get("ETag"))
	}

	// Another replica reads the page from Redis: same bytes, same tags.
	_, srv2 := e.newReplica(0)
	z2 := rawGet(t, srv2, "/v1/jobs", "Accept-Encoding", "gzip")
	require.Equal(t, zipped.Body, z2.Body)
	require.Equal(t, zipTag, z2.Header.Get("ETag"))
	p2 := rawGet(t, srv2, "/v1/jobs")
	require.Equal(t, plain.Body, p2.Body)
	require.Equal(t, plainTag, p2.Header.Get("ETag"))

	// A change shows in both representations.
	id, _ := e.createPublished()
	r := rawGet(t, e.srv, "/v1/jobs", "Accept-Encoding", "gzip")
	require.NotEqual(t, zipTag, r.Header.Get("ETag"))
	r.Body = gunzip(t, r.Body)
	ids, _ = boardIDs(t, r)
	require.Contains(t, ids, id)
}

// With the cache off nothing reuses a compressed page: the board answers
// JSON, still varying on Accept-Encoding.
func TestBoardGzipCacheOff(t *testing.T) {
	t.Parallel()
	e := setup(t, opts{cacheTTL: -1})
	for range 3 {
		e.createPublished()
	}
	r := rawGet(t, e.srv, "/v1/jobs", "Accept-Encoding", "gzip")
	require.Equal(t, 200, r.Status)
	require.Empty(t, r.Header.Get("Content-Encoding"))
	require.Contains(t, r.Header.Values("Vary"), "Accept-Encoding")
	ids, _ := boardIDs(t, r)
	require.Len(t, ids, 3)
}

// cacheLookups reads pvara_jobs_board_cache_lookups_total by result.
func cacheLookups(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "pvara_jobs_board_cache_lookups_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}

// With the default configuration the per-replica layer answers repeated
// requests without Redis: one miss, then local hits; another replica gets
// the page from Redis once, then from its own memory.
func TestBoardLocalCacheOnByDefault(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.createPublished()
	replica := func() (*httptest.Server, *prometheus.Registry) {
		reg := prometheus.NewRegistry()
		svc, err := jobs.New(jobs.Config{}, jobs.Deps{DB: e.db.App, Redis: e.redis, Logger: logx.Discard(), Registerer: reg})
		require.NoError(t, err)
		cursors, err := httpx.NewCursors([]byte("test-cursor-secret-0123456789"))
		require.NoError(t, err)
		r, err := httpx.NewRouter(httpx.RouterConfig{Title: "test", Version: "1"}, logx.Discard(), httpx.NewHTTPMetrics(nil))
		require.NoError(t, err)
		jobs.NewHandlers(svc, cursors).Register(r)
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		return srv, reg
	}
	a, regA := replica()
	for range 5 {
		require.Equal(t, 200, rawGet(t, a, "/v1/jobs", "Accept-Encoding", "gzip").Status)
	}
	got := cacheLookups(t, regA)
	require.Equal(t, float64(1), got["miss"], got)
	// Five requests: one miss, and (unless the machine stalled past the
	// 500 ms lifetime) four answered from memory.
	require.GreaterOrEqual(t, got["local_hit"], float64(1), got)
	require.Equal(t, float64(5), got["miss"]+got["hit"]+got["local_hit"], got)

	b, regB := replica()
	for range 3 {
		require.Equal(t, 200, rawGet(t, b, "/v1/jobs").Status)
	}
	got = cacheLookups(t, regB)
	require.Zero(t, got["miss"], got)
	require.GreaterOrEqual(t, got["hit"], float64(1), got)
	require.Equal(t, float64(3), got["hit"]+got["local_hit"], got)
}
