package eval

import (
	"encoding/json"
	"reflect"
	"testing"
)

// allCases are the rule cases the generator must produce (a small data set
// still holds every one of them, so the accuracy below is never vacuous).
var allCases = []string{
	"age_max_last_day", "age_max_one_day_over", "age_min_exact", "age_min_one_day_short",
	"domicile_allowed", "domicile_wrong_province", "education_exact", "education_one_level_below",
	"experience_after_closing_not_counted", "experience_exact", "experience_one_month_short",
	"experience_overlap_counted_once", "experience_past_and_open_ended",
	"leap_birthday_at_min_age", "leap_birthday_past_max_age",
}

func TestEvaluation(t *testing.T) {
	cfg := Config{Seed: 42, Jobs: 40, CandidatesPer: 30}
	rep := Evaluate(Generate(cfg))
	t.Logf("rule cases %d/%d; model NDCG@10 %.4f P@10 %.4f; keyword baseline %.4f %.4f; distinct %.4f; random %.4f",
		rep.RuleCorrect, rep.RuleCases, rep.Model.NDCG10, rep.Model.Precision10,
		rep.Baseline.NDCG10, rep.Baseline.Precision10, rep.Distinct.NDCG10, rep.Random.NDCG10)

	seen := map[string]CaseResult{}
	for _, c := range rep.Cases {
		seen[c.Case] = c
	}
	for _, name := range allCases {
		if seen[name].Total == 0 {
			t.Errorf("no %s case in the data set", name)
		}
	}
	if rep.RuleCorrect != rep.RuleCases || rep.RuleCases == 0 {
		t.Errorf("eligibility rule cases: %d of %d correct: %v", rep.RuleCorrect, rep.RuleCases, rep.Misjudged)
	}
	if rep.AllCorrect != rep.Candidates {
		t.Errorf("eligibility: %d of %d candidates correct", rep.AllCorrect, rep.Candidates)
	}
	if !(rep.Model.NDCG10 > rep.Baseline.NDCG10) || !(rep.Model.NDCG10 > rep.Distinct.NDCG10) {
		t.Errorf("model NDCG@10 %.4f does not beat the keyword baselines (%.4f, %.4f)", rep.Model.NDCG10, rep.Baseline.NDCG10, rep.Distinct.NDCG10)
	}
	if !(rep.Model.NDCG10 > rep.Random.NDCG10+0.2) {
		t.Errorf("model NDCG@10 %.4f is not clearly above a random order (%.4f)", rep.Model.NDCG10, rep.Random.NDCG10)
	}
	if !(rep.Model.Precision10 > rep.Baseline.Precision10) {
		t.Errorf("model P@10 %.4f does not beat the baseline %.4f", rep.Model.Precision10, rep.Baseline.Precision10)
	}
	if !(rep.ModelList.NDCG10 > rep.BaselineList.NDCG10) {
		t.Errorf("shortlist NDCG@10: model %.4f, baseline %.4f", rep.ModelList.NDCG10, rep.BaselineList.NDCG10)
	}
}

// The data set and the report depend on the seed only.
func TestEvaluationDeterministic(t *testing.T) {
	cfg := Config{Seed: 7, Jobs: 10, CandidatesPer: 20}
	a, b := Generate(cfg), Generate(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two data sets from one seed differ")
	}
	ra, _ := json.Marshal(Evaluate(a))
	rb, _ := json.Marshal(Evaluate(b))
	if string(ra) != string(rb) {
		t.Fatalf("two reports from one seed differ:\n%s\n%s", ra, rb)
	}
	if c := Generate(Config{Seed: 8, Jobs: 10, CandidatesPer: 20}); reflect.DeepEqual(a, c) {
		t.Fatal("another seed gives the same data set")
	}
}

// The ranking measures on hand-made rankings.
func TestMeasure(t *testing.T) {
	rows := []row{{id: 1, grade: 3}, {id: 2, grade: 0}, {id: 3, grade: 2}, {id: 4, grade: 0}}
	gain := func(r row) int { return r.grade }
	byID := func(a, b row) int { return a.id - b.id }
	perfect := measure(rows, func(a, b row) int { return b.grade - a.grade }, gain)
	if perfect.NDCG10 != 1 || perfect.Precision10 != 0.2 {
		t.Fatalf("ideal order: %+v", perfect)
	}
	// id order: gains 3,0,2,0 → DCG = 7/1 + 3/log2(4) = 8.5; ideal 7 + 3/log2(3).
	m := measure(rows, byID, gain)
	want := 8.5 / (7 + 3/1.5849625007211563)
	if d := m.NDCG10 - want; d > 1e-12 || d < -1e-12 {
		t.Fatalf("NDCG %v, want %v", m.NDCG10, want)
	}
	if z := measure([]row{{id: 1}}, byID, gain); z.NDCG10 != 0 || z.Precision10 != 0 {
		t.Fatalf("no relevant candidate: %+v", z)
	}
}
