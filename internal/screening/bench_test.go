package screening

import "testing"

// BenchmarkScore scores a typical application (5 experience entries, 15
// skills, a 2,000-character résumé) for a job with a 3,000-character
// description, from scratch each time (Score prepares the job too).
func BenchmarkScore(b *testing.B) {
	in := typicalInput()
	c := testCorpus()
	b.ReportAllocs()
	for b.Loop() {
		_ = Score(in, c)
	}
}

// BenchmarkScorer scores the same application with a Scorer prepared once
// for the job, as a re-screen of a whole job does.
func BenchmarkScorer(b *testing.B) {
	in := typicalInput()
	s := NewScorer(in.Job, testCorpus())
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Score(in.Profile)
	}
}
