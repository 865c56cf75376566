package loadgen_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/loadgen"
)

func TestOpenLoopCountsStatuses(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		n++
		odd := n%2 == 1
		mu.Unlock()
		if odd {
			w.WriteHeader(http.StatusConflict)
		}
	}))
	t.Cleanup(srv.Close)
	rep, err := loadgen.Run(t.Context(), loadgen.Attack{Name: "t", Targeter: loadgen.Gets(nil, srv.URL+"/a", srv.URL+"/b"),
		Rate: 100, Duration: 500 * time.Millisecond})
	require.NoError(t, err)
	// An open loop sends rate × duration requests, whatever the answers.
	require.EqualValues(t, 50, rep.Requests)
	require.Equal(t, 50, rep.Status["200"]+rep.Status["409"])
	require.Equal(t, rep.Status["409"], rep.Failed())
	require.Equal(t, "409×25", rep.FailedByStatus())
	require.Equal(t, "open 100/s", rep.Mode)
	var b bytes.Buffer
	loadgen.WriteTable(&b, []loadgen.Report{rep})
	require.Contains(t, b.String(), "| t | open 100/s | 50 |")
}

func TestClosedLoopSequenceNeverRepeats(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	tr := loadgen.Sequence(func(i uint64, t *loadgen.Target) error {
		*t = loadgen.Target{Method: http.MethodPost, URL: srv.URL + "/" + strings.Repeat("x", int(i%3)) + "-" + time.Duration(i).String()}
		return nil
	})
	rep, err := loadgen.Run(t.Context(), loadgen.Attack{Name: "seq", Targeter: tr, Workers: 4, Duration: 300 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, "closed 4", rep.Mode)
	require.Positive(t, rep.Requests)
	require.EqualValues(t, rep.Requests, len(seen), "every request of the sequence is distinct")
	for p, c := range seen {
		require.Equal(t, 1, c, p)
	}
	require.Equal(t, "-", rep.FailedByStatus())
}
