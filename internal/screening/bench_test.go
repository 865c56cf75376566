package screening

import (
	"strconv"
	"testing"
)

// BenchmarkScore scores a typical application (5 experience entries, 15
// skills, a 2,000-character résumé) for a job with a 3,000-character
// description, application after application of the same job: the steady
// state of a re-screen or of a burst of submissions (Score's cache holds
// the job's preparation).
func BenchmarkScore(b *testing.B) {
	in := typicalInput()
	c := testCorpus()
	b.ReportAllocs()
	for b.Loop() {
		_ = Score(in, c)
	}
}

// BenchmarkScoreNewJob is the same application scored for a different job
// every time (more jobs than the cache holds): every call prepares its job
// from scratch, the worst case.
func BenchmarkScoreNewJob(b *testing.B) {
	in := typicalInput()
	c := testCorpus()
	jobs := make([]JobInput, 2*scorerCacheSize)
	for i := range jobs {
		jobs[i] = typicalJob()
		jobs[i].Title = "Data Analyst " + strconv.Itoa(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in.Job = jobs[i%len(jobs)]
		i++
		_ = Score(in, c)
	}
}

// BenchmarkScorer scores with a Scorer the caller prepared once.
func BenchmarkScorer(b *testing.B) {
	in := typicalInput()
	s := NewScorer(in.Job, testCorpus())
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Score(in.Profile)
	}
}
