package jobs_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pvara-gov/pvara/internal/jobs/jobsload"
)

// benchBoard measures GET /v1/jobs through the real router in process (no
// network), on a seeded database, with the given cache settings.
func benchBoard(b *testing.B, cacheTTL time.Duration, path string) {
	e := setupB(b, cacheTTL)
	if _, err := jobsload.Seed(b.Context(), e.db.Owner, jobsload.SeedConfig{Jobs: 20_000, Open: 1_000}); err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", path, nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			e.router.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

func BenchmarkBoardFirstPageCached(b *testing.B)   { benchBoard(b, 0, "/v1/jobs") }
func BenchmarkBoardFirstPageUncached(b *testing.B) { benchBoard(b, -1, "/v1/jobs") }
func BenchmarkBoardSearchCached(b *testing.B)      { benchBoard(b, 0, "/v1/jobs?q=naib+qasid") }
func BenchmarkBoardSearchUncached(b *testing.B)    { benchBoard(b, -1, "/v1/jobs?q=naib+qasid") }
