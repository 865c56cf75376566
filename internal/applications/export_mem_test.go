package applications_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// heapWriter discards what it is given and samples the live heap every
// 1 MiB written.
type heapWriter struct {
	written, next int64
	peak          uint64
}

func (w *heapWriter) Write(p []byte) (int, error) {
	w.written += int64(len(p))
	if w.written >= w.next {
		w.next = w.written + 1<<20
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		w.peak = max(w.peak, m.HeapAlloc)
	}
	return len(p), nil
}

// TestExportConstantMemory exports 100,000 applications and checks that the
// heap never holds more than a fraction of the CSV: the rows stream from
// PostgreSQL to the writer one at a time. Not parallel, so no other test
// shares the heap it measures.
func TestExportConstantMemory(t *testing.T) {
	e := newSearchEnv(t)
	job := e.job(e.orgA)
	const rows = 100_000
	_, err := e.db.Owner.Exec(t.Context(), `INSERT INTO applications.applications (id, created_at, org_id, job_id,
		candidate_id, receipt_number, status, candidate_name, cnic_masked, gender, date_of_birth, domicile_province,
		domicile_district, skills, resume_text, profile, ai_score, eligible, model_version, updated_at)
		SELECT gen_random_uuid(), now() - g * interval '1 second', $1, $2, gen_random_uuid(), 'PVR-M' || g, 'submitted',
			'Candidate Number ' || g, '35202-*******-1', 'male', '1990-01-01', 'sindh', 'Karachi',
			ARRAY['python', 'accounting', 'report writing'], 'resume text ' || g, '{"skills": ["python"]}',
			(g % 10000) / 100.0, true, 'm-1', now()
		FROM generate_series(1, $3::int) g`, e.orgA, job, rows)
	require.NoError(t, err)
	p := e.tokens["recA"]

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	w := &heapWriter{}
	n, err := e.svc.WriteExport(t.Context(), p, job, w)
	require.NoError(t, err)
	require.Equal(t, rows, n)
	growth := int64(w.peak) - int64(before.HeapAlloc)
	t.Logf("exported %d rows, %.1f MiB of CSV; heap before %.1f MiB, peak %.1f MiB (growth %.1f MiB)", n,
		float64(w.written)/(1<<20), float64(before.HeapAlloc)/(1<<20), float64(w.peak)/(1<<20), float64(growth)/(1<<20))
	require.Greater(t, w.written, int64(12<<20), "the export is large enough for the bound below to mean something")
	// Holding the rows would take more than the CSV itself; streaming
	// keeps the live heap to buffers plus garbage the collector has not
	// yet reclaimed (bounded by its pacing, ~4 MiB minimum heap goal).
	require.Less(t, growth, w.written/4, "the heap grew with the number of rows")
}
