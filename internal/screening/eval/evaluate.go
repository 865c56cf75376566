package eval

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"

	"github.com/pvara-gov/pvara/internal/screening"
)

// K is the cut-off of the ranking measures.
const K = 10

// RelevantGrade is the lowest grade precision@10 counts as relevant.
const RelevantGrade = 2

// Metrics are ranking measures averaged over the jobs.
type Metrics struct {
	NDCG10      float64 `json:"ndcg_at_10"`
	Precision10 float64 `json:"precision_at_10"`
}

// CaseResult counts one eligibility rule case.
type CaseResult struct {
	Case    string `json:"case"`
	Total   int    `json:"total"`
	Correct int    `json:"correct"`
}

// Report is the result of an evaluation.
type Report struct {
	Seed         uint64 `json:"seed"`
	Jobs         int    `json:"jobs"`
	Candidates   int    `json:"candidates"`
	ModelVersion string `json:"model_version"`
	CorpusID     string `json:"corpus_id"`
	RuleCases    int    `json:"rule_cases"`
	RuleCorrect  int    `json:"rule_correct"`
	AllCorrect   int    `json:"all_correct"` // eligibility right, over every candidate
	Cases        []CaseResult
	Misjudged    []string `json:"misjudged,omitempty"` // the first few rule cases the model got wrong
	Model        Metrics  `json:"model"`               // relevance: every candidate ranked by score
	Baseline     Metrics  `json:"baseline"`            // relevance: every candidate ranked by keyword count
	ModelList    Metrics  `json:"model_list"`          // shortlist view: eligible first, then score; ineligible gain 0
	BaselineList Metrics  `json:"baseline_list"`       // shortlist view for the baseline (it knows no eligibility)
	Distinct     Metrics  `json:"distinct_keywords"`   // relevance: ranked by the number of distinct job words used
	Random       Metrics  `json:"random"`              // relevance: a seeded random order (the floor)
	TextOnly     Metrics  `json:"model_text_only"`     // ablation: ranked by the text-relevance component alone
	SkillsOnly   Metrics  `json:"model_skills_only"`   // ablation: ranked by the two skill components alone
	GradeCounts  [4]int   `json:"grade_counts"`
}

// RuleAccuracy is the share of rule cases whose eligibility the model got
// right.
func (r Report) RuleAccuracy() float64 { return ratio(r.RuleCorrect, r.RuleCases) }

// Accuracy is the share of every candidate whose eligibility the model got
// right.
func (r Report) Accuracy() float64 { return ratio(r.AllCorrect, r.Candidates) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Evaluate scores every candidate of ds with the model (the corpus is every
// job of ds) and with the baseline, and measures both.
func Evaluate(ds Dataset) Report {
	texts := make([]string, len(ds.Jobs))
	for i, j := range ds.Jobs {
		in := j.Input
		texts[i] = screening.JobText(in.Title, in.Department, in.Description, in.Criteria.RequiredSkills, in.Criteria.PreferredSkills)
	}
	corpus := screening.NewCorpus(texts)
	rep := Report{Seed: ds.Seed, Jobs: len(ds.Jobs), ModelVersion: screening.ModelVersion, CorpusID: corpus.ID()}
	cases := map[string]*CaseResult{}
	var sums [8]Metrics
	shuffle := rand.New(rand.NewPCG(ds.Seed, 0x7a4d))
	for _, job := range ds.Jobs {
		scorer := screening.NewScorer(job.Input, corpus)
		kw := newKeywordBaseline(job.Input)
		rows := make([]row, len(job.Candidates))
		for i, c := range job.Candidates {
			res := scorer.Score(c.Profile)
			rows[i] = row{id: c.ID, grade: c.Grade, eligible: c.Eligible, modelEligible: res.Eligible,
				score: res.Score, keywords: kw.count(c.Profile), distinct: kw.distinct(c.Profile), random: shuffle.Uint64(),
				text: res.Breakdown[4].Points, skills: res.Breakdown[0].Points + res.Breakdown[1].Points}
			rep.Candidates++
			rep.GradeCounts[c.Grade]++
			if res.Eligible == c.Eligible {
				rep.AllCorrect++
			}
			if c.Case != "" {
				cr := cases[c.Case]
				if cr == nil {
					cr = &CaseResult{Case: c.Case}
					cases[c.Case] = cr
				}
				cr.Total++
				rep.RuleCases++
				if res.Eligible == c.Eligible {
					cr.Correct++
					rep.RuleCorrect++
				} else if len(rep.Misjudged) < 10 {
					codes := make([]string, len(res.Reasons))
					for i, x := range res.Reasons {
						codes[i] = x.Code
					}
					rep.Misjudged = append(rep.Misjudged, fmt.Sprintf("job %d candidate %d %s: want eligible=%v, model %v %v",
						job.ID, c.ID, c.Case, c.Eligible, res.Eligible, codes))
				}
			}
		}
		gain := func(r row) int { return r.grade }
		listGain := func(r row) int {
			if !r.eligible {
				return 0
			}
			return r.grade
		}
		byScore := func(a, b row) int {
			return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.id, b.id))
		}
		byKeywords := func(a, b row) int {
			return cmp.Or(cmp.Compare(b.keywords, a.keywords), cmp.Compare(a.id, b.id))
		}
		byList := func(a, b row) int {
			return cmp.Or(-cmp.Compare(boolInt(a.modelEligible), boolInt(b.modelEligible)), byScore(a, b))
		}
		sums[0] = add(sums[0], measure(rows, byScore, gain))
		sums[1] = add(sums[1], measure(rows, byKeywords, gain))
		sums[2] = add(sums[2], measure(rows, byList, listGain))
		sums[3] = add(sums[3], measure(rows, byKeywords, listGain))
		sums[4] = add(sums[4], measure(rows, func(a, b row) int {
			return cmp.Or(cmp.Compare(b.distinct, a.distinct), cmp.Compare(a.id, b.id))
		}, gain))
		sums[5] = add(sums[5], measure(rows, func(a, b row) int { return cmp.Compare(a.random, b.random) }, gain))
		sums[6] = add(sums[6], measure(rows, func(a, b row) int {
			return cmp.Or(cmp.Compare(b.text, a.text), cmp.Compare(a.id, b.id))
		}, gain))
		sums[7] = add(sums[7], measure(rows, func(a, b row) int {
			return cmp.Or(cmp.Compare(b.skills, a.skills), cmp.Compare(a.id, b.id))
		}, gain))
	}
	n := float64(len(ds.Jobs))
	rep.Model, rep.Baseline = avg(sums[0], n), avg(sums[1], n)
	rep.ModelList, rep.BaselineList = avg(sums[2], n), avg(sums[3], n)
	rep.Distinct, rep.Random = avg(sums[4], n), avg(sums[5], n)
	rep.TextOnly, rep.SkillsOnly = avg(sums[6], n), avg(sums[7], n)
	for _, c := range cases {
		rep.Cases = append(rep.Cases, *c)
	}
	slices.SortFunc(rep.Cases, func(a, b CaseResult) int { return strings.Compare(a.Case, b.Case) })
	return rep
}

type row struct {
	id            int
	grade         int
	eligible      bool
	modelEligible bool
	score         float64
	keywords      int
	distinct      int
	random        uint64
	text, skills  float64
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func add(a, b Metrics) Metrics {
	return Metrics{NDCG10: a.NDCG10 + b.NDCG10, Precision10: a.Precision10 + b.Precision10}
}

func avg(a Metrics, n float64) Metrics {
	if n == 0 {
		return Metrics{}
	}
	return Metrics{NDCG10: a.NDCG10 / n, Precision10: a.Precision10 / n}
}

// measure ranks rows with order and returns NDCG@K (gain 2^g − 1, discount
// log2(rank + 1), normalised by the ideal ordering of the same gains) and
// precision@K (share of the top K with a gain of RelevantGrade or more).
func measure(rows []row, order func(a, b row) int, gain func(row) int) Metrics {
	ranked := slices.Clone(rows)
	slices.SortStableFunc(ranked, order)
	ideal := make([]int, len(rows))
	for i, r := range rows {
		ideal[i] = gain(r)
	}
	slices.SortFunc(ideal, func(a, b int) int { return b - a })
	var dcg, idcg float64
	relevant := 0
	for i := 0; i < K && i < len(ranked); i++ {
		disc := math.Log2(float64(i + 2))
		g := gain(ranked[i])
		dcg += (math.Exp2(float64(g)) - 1) / disc
		idcg += (math.Exp2(float64(ideal[i])) - 1) / disc
		if g >= RelevantGrade {
			relevant++
		}
	}
	m := Metrics{Precision10: float64(relevant) / K}
	if idcg > 0 {
		m.NDCG10 = dcg / idcg
	}
	return m
}

// keywordBaseline is the naive screen the model is compared with: the
// number of words of the candidate's résumé, experience titles and skills
// that also appear in the job's title, description or skills (lower-cased,
// split on anything that is not a letter or digit, words of three letters
// or more). It knows no eligibility, synonyms, IDF or saturation.
type keywordBaseline struct{ words map[string]bool }

func newKeywordBaseline(job screening.JobInput) keywordBaseline {
	b := keywordBaseline{words: map[string]bool{}}
	text := job.Title + " " + job.Description + " " + strings.Join(job.Criteria.RequiredSkills, " ") + " " +
		strings.Join(job.Criteria.PreferredSkills, " ")
	for _, w := range naiveWords(text) {
		b.words[w] = true
	}
	return b
}

func (b keywordBaseline) count(p screening.ProfileInput) int {
	n := 0
	for _, w := range naiveWords(profileText(p)) {
		if b.words[w] {
			n++
		}
	}
	return n
}

// distinct is the number of different job words the candidate uses (a
// less naive variant: repeating a word gains nothing).
func (b keywordBaseline) distinct(p screening.ProfileInput) int {
	seen := map[string]bool{}
	for _, w := range naiveWords(profileText(p)) {
		if b.words[w] {
			seen[w] = true
		}
	}
	return len(seen)
}

func profileText(p screening.ProfileInput) string {
	text := p.ResumeText + " " + strings.Join(p.Skills, " ")
	for _, e := range p.Experience {
		text += " " + e.Title
	}
	return text
}

func naiveWords(s string) []string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	out := f[:0]
	for _, w := range f {
		if len([]rune(w)) >= 3 {
			out = append(out, w)
		}
	}
	return out
}

// Write prints the report as text.
func (r Report) Write(w io.Writer) {
	fmt.Fprintf(w, "PVARA screening model evaluation\n")
	fmt.Fprintf(w, "model %s, corpus %s\n", r.ModelVersion, r.CorpusID)
	fmt.Fprintf(w, "seed %d: %d jobs, %d candidates (grades 0/1/2/3: %d/%d/%d/%d), %d eligibility rule cases\n\n",
		r.Seed, r.Jobs, r.Candidates, r.GradeCounts[0], r.GradeCounts[1], r.GradeCounts[2], r.GradeCounts[3], r.RuleCases)
	fmt.Fprintf(w, "Eligibility\n")
	fmt.Fprintf(w, "  rule cases correct:      %d / %d (%.2f%%)\n", r.RuleCorrect, r.RuleCases, 100*r.RuleAccuracy())
	fmt.Fprintf(w, "  all candidates correct:  %d / %d (%.2f%%)\n", r.AllCorrect, r.Candidates, 100*r.Accuracy())
	for _, c := range r.Cases {
		fmt.Fprintf(w, "    %-40s %4d / %4d\n", c.Case, c.Correct, c.Total)
	}
	for _, m := range r.Misjudged {
		fmt.Fprintf(w, "  MISJUDGED %s\n", m)
	}
	fmt.Fprintf(w, "\nRanking (mean over jobs; relevant = grade >= %d)\n", RelevantGrade)
	fmt.Fprintf(w, "  %-52s %8s %8s\n", "", "NDCG@10", "P@10")
	fmt.Fprintf(w, "  %-52s %8.4f %8.4f\n", "model, by score (every candidate)", r.Model.NDCG10, r.Model.Precision10)
	fmt.Fprintf(w, "  %-52s %8.4f %8.4f\n", "baseline, by keyword count (every candidate)", r.Baseline.NDCG10, r.Baseline.Precision10)
	fmt.Fprintf(w, "  %-52s %8.4f %8.4f\n", "distinct keywords (every candidate)", r.Distinct.NDCG10, r.Distinct.Precision10)
	fmt.Fprintf(w, "  %-52s %8.4f %8.4f\n", "random order (every candidate)", r.Random.NDCG10, r.Random.Precision10)
	fmt.Fprintf(w, "  %-52s %8.4f %8.4f\n", "ablation: model's text relevance alone", r.TextOnly.NDCG10, r.TextOnly.Precision10)
	fmt.Fprintf(w, "  %-52s %8.4f %8.4f\n", "ablation: model's skill components alone", r.SkillsOnly.NDCG10, r.SkillsOnly.Precision10)
	fmt.Fprintf(w, "  %-52s %8.4f %8.4f\n", "model, shortlist (eligible first; ineligible gain 0)", r.ModelList.NDCG10, r.ModelList.Precision10)
	fmt.Fprintf(w, "  %-52s %8.4f %8.4f\n", "baseline, shortlist (ineligible gain 0)", r.BaselineList.NDCG10, r.BaselineList.Precision10)
}
