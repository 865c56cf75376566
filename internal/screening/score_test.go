package screening

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pvara-gov/pvara/internal/vocab"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json")

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testCorpus() *Corpus {
	j := typicalJob()
	return NewCorpus([]string{
		JobText(j.Title, j.Department, j.Description, j.Criteria.RequiredSkills, j.Criteria.PreferredSkills),
		"Assistant Director\nEstablishment\nPolicy analysis, report writing and noting on files for the federal secretariat.\n",
		"Civil Engineer\nWorks\nDesign and supervise road construction, prepare PC-1 documents, AutoCAD drawings and site reports.\n",
		"Data Entry Operator\nRevenue\nData entry of land records, Urdu typing in InPage, MS Office and record keeping.\n",
		"Statistical Officer\nBureau of Statistics\nSurvey design, sampling, SPSS and Stata analysis of household data, statistics reports.\n",
	})
}

// randomInput builds a varied input from r (seeded: the same seed gives
// the same inputs).
func randomInput(r *rand.Rand) Input {
	skills := []string{"sql", "python", "excel", "statistics", "postgresql", "data analysis", "power bi", "r",
		"urdu typing", "autocad", "report writing", "accounting", "procurement", "js", "golang", "spss", "gis"}
	words := []string{"data", "analysis", "report", "district", "budget", "survey", "python", "sql", "road", "design",
		"aur", "ke", "kaam", "kiya", "accounts", "files", "noting", "planning", "health", "education", "Lahore", "karachi"}
	pick := func(src []string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = src[r.IntN(len(src))]
		}
		return out
	}
	text := func(n int) string { return strings.Join(pick(words, n), " ") }
	levels := append([]vocab.EducationLevel{""}, vocab.EducationLevels...)
	job := JobInput{
		Title:       text(3),
		Department:  text(1),
		Description: text(r.IntN(300)),
		ClosesAt:    time.Date(2020+r.IntN(10), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), 0, 0, 0, time.UTC),
		Criteria: Criteria{
			MinEducation:       levels[r.IntN(len(levels))],
			MinExperienceYears: r.IntN(8),
			RequiredSkills:     pick(skills, r.IntN(6)),
			PreferredSkills:    pick(skills, r.IntN(4)),
		},
	}
	if r.IntN(2) == 0 {
		job.Criteria.AgeMin, job.Criteria.AgeMax, job.Criteria.AgeRelaxationYears = ip(18+r.IntN(6)), ip(28+r.IntN(10)), ip(r.IntN(6))
	}
	if r.IntN(2) == 0 {
		job.Criteria.DomicileProvinces = []vocab.Province{vocab.Provinces[r.IntN(7)], vocab.Provinces[r.IntN(7)]}
	}
	p := ProfileInput{
		DateOfBirth:      date(1960+r.IntN(50), time.Month(1+r.IntN(12)), 1+r.IntN(28)),
		DomicileProvince: vocab.Provinces[r.IntN(7)],
		Skills:           pick(skills, r.IntN(15)),
		ResumeText:       text(r.IntN(400)),
	}
	for range r.IntN(4) {
		p.Education = append(p.Education, EducationEntry{Level: levels[r.IntN(len(levels))]})
	}
	for range r.IntN(6) {
		s := date(1990+r.IntN(36), time.Month(1+r.IntN(12)), 1+r.IntN(28))
		e := time.Time{}
		if r.IntN(3) > 0 {
			e = s.AddDate(0, r.IntN(60), r.IntN(30))
		}
		p.Experience = append(p.Experience, ExperienceItem{Title: text(2), Start: s, End: e})
	}
	return Input{Job: job, Profile: p}
}

func TestScoreBreakdownAddsUpAndIsBounded(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	c := testCorpus()
	for i := range 2000 {
		in := randomInput(r)
		var corpus *Corpus
		if i%2 == 0 {
			corpus = c
		}
		res := Score(in, corpus)
		if res.Score < 0 || res.Score > 100 {
			t.Fatalf("score %v out of range", res.Score)
		}
		var sum, wsum int64
		names := make([]string, 0, 5)
		for _, comp := range res.Breakdown {
			p, w := math.Round(comp.Points*100), math.Round(comp.Weight*100)
			if p != comp.Points*100 && math.Abs(p-comp.Points*100) > 1e-6 {
				t.Fatalf("%s points %v not in hundredths", comp.Name, comp.Points)
			}
			if p < 0 || p > w {
				t.Fatalf("%s points %v outside 0..%v", comp.Name, comp.Points, comp.Weight)
			}
			sum += int64(p)
			wsum += int64(w)
			names = append(names, comp.Name)
		}
		if sum != int64(math.Round(res.Score*100)) {
			t.Fatalf("breakdown sums to %d hundredths, score is %v", sum, res.Score)
		}
		if wsum != 10000 {
			t.Fatalf("weights sum to %d hundredths", wsum)
		}
		wantNames := []string{ComponentRequiredSkills, ComponentPreferredSkills, ComponentExperience, ComponentEducation, ComponentTextRelevance}
		if !slices.Equal(names, wantNames) {
			t.Fatalf("components %v", names)
		}
		if len(res.Reasons) != 4 {
			t.Fatalf("%d reasons", len(res.Reasons))
		}
		elig := true
		for _, x := range res.Reasons {
			elig = elig && x.Met
		}
		if elig != res.Eligible {
			t.Fatalf("eligible %v with reasons %+v", res.Eligible, res.Reasons)
		}
		if res.ModelVersion != ModelVersion || res.CorpusID != corpus.ID() {
			t.Fatalf("version %q corpus %q", res.ModelVersion, res.CorpusID)
		}
	}
}

func TestScoreDeterministic(t *testing.T) {
	c := testCorpus()
	in := typicalInput()
	first := mustJSON(t, Score(in, c))
	for range 50 {
		// A fresh corpus and scorer each time: no map order may leak.
		if got := mustJSON(t, Score(in, testCorpus())); !bytes.Equal(got, first) {
			t.Fatalf("re-score differs:\n%s\n%s", got, first)
		}
	}
	s := NewScorer(in.Job, c)
	if got := mustJSON(t, s.Score(in.Profile)); !bytes.Equal(got, first) {
		t.Fatalf("Scorer differs from Score:\n%s\n%s", got, first)
	}
	// A corpus read back from JSON gives the same result.
	var back Corpus
	if err := json.Unmarshal(mustJSON(t, c), &back); err != nil {
		t.Fatal(err)
	}
	if got := mustJSON(t, Score(in, &back)); !bytes.Equal(got, first) {
		t.Fatalf("score with the corpus read back differs:\n%s\n%s", got, first)
	}
}

// The order in which a candidate lists skills, education and experience
// does not change the result.
func TestScoreOrderIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	c := testCorpus()
	for range 300 {
		in := randomInput(r)
		want := mustJSON(t, Score(in, c))
		for range 3 {
			sh := in
			sh.Profile.Skills = slices.Clone(in.Profile.Skills)
			sh.Profile.Education = slices.Clone(in.Profile.Education)
			sh.Profile.Experience = slices.Clone(in.Profile.Experience)
			r.Shuffle(len(sh.Profile.Skills), func(i, j int) {
				sh.Profile.Skills[i], sh.Profile.Skills[j] = sh.Profile.Skills[j], sh.Profile.Skills[i]
			})
			r.Shuffle(len(sh.Profile.Education), func(i, j int) {
				sh.Profile.Education[i], sh.Profile.Education[j] = sh.Profile.Education[j], sh.Profile.Education[i]
			})
			r.Shuffle(len(sh.Profile.Experience), func(i, j int) {
				sh.Profile.Experience[i], sh.Profile.Experience[j] = sh.Profile.Experience[j], sh.Profile.Experience[i]
			})
			if got := mustJSON(t, Score(sh, c)); !bytes.Equal(got, want) {
				t.Fatalf("shuffled profile scores differently:\n%s\n%s", got, want)
			}
		}
	}
}

func TestScoreComponents(t *testing.T) {
	job := baseJob()
	job.Criteria.MinExperienceYears = 2
	job.Criteria.RequiredSkills = []string{"SQL", "Python", "MS Excel", "Data Analysis"}
	job.Criteria.PreferredSkills = []string{"Power BI", "R"}
	p := baseProfile()
	p.Skills = []string{"sql", "microsoft excel", "advanced python", "r"}
	p.ResumeText = "I did data analysis of district budgets and built Power BI dashboards."
	p.Education = []EducationEntry{{Level: vocab.PhD}}
	p.Experience = []ExperienceItem{{Title: "Analyst", Start: date(2022, 3, 2)}} // 4 years to 2026-03-01: 2 beyond
	res := Score(Input{Job: job, Profile: p}, nil)
	want := map[string]float64{
		ComponentRequiredSkills:  35 * 3.5 / 4, // sql, excel (synonym), python (contained); data analysis in the text: half
		ComponentPreferredSkills: 15 * 1.5 / 2, // r listed; power bi in the text: half
		ComponentExperience:      6,            // 1461 − 730 = 731 days of 1826 → 15 × 731/1826 = 6.0049 → 6.00
		ComponentEducation:       10,           // phd is 3 levels above bachelor, capped at 2
	}
	for _, comp := range res.Breakdown {
		if w, ok := want[comp.Name]; ok && math.Round(w*100) != math.Round(comp.Points*100) {
			t.Errorf("%s: %v points, want %.2f (%s)", comp.Name, comp.Points, w, comp.Detail)
		}
	}
	// No skills at all: nothing in the text, nothing listed.
	p2 := p
	p2.Skills, p2.ResumeText, p2.Experience = nil, "", nil
	res2 := Score(Input{Job: job, Profile: p2}, nil)
	for _, comp := range res2.Breakdown {
		if comp.Name != ComponentEducation && comp.Points != 0 {
			t.Errorf("empty profile: %s has %v points (%s)", comp.Name, comp.Points, comp.Detail)
		}
	}
}

// Text relevance rewards the job's rare words more than its common ones:
// the corpus's IDF at work.
func TestTextRelevanceUsesCorpus(t *testing.T) {
	job := JobInput{Title: "Hydrologist", Description: "Hydrology modelling of river basins; report writing for the department.", ClosesAt: closesAt}
	corpus := NewCorpus([]string{
		JobText(job.Title, "", job.Description, nil, nil),
		"Clerk: report writing for the department.", "Officer: report writing for the department.",
		"Assistant: report writing and files for the department.",
	})
	text := func(resume string) float64 {
		res := Score(Input{Job: job, Profile: ProfileInput{ResumeText: resume}}, corpus)
		return res.Breakdown[4].Points
	}
	rare, common := text("Hydrology modelling of river basins."), text("Report writing for the department.")
	if !(rare > common) {
		t.Fatalf("rare words %v points, common words %v", rare, common)
	}
	// Without a corpus every job word weighs the same: the two are closer.
	resNil := func(resume string) float64 {
		return Score(Input{Job: job, Profile: ProfileInput{ResumeText: resume}}, nil).Breakdown[4].Points
	}
	if rare-common <= resNil("Hydrology modelling of river basins.")-resNil("Report writing for the department.") {
		t.Fatal("the corpus does not change the weights")
	}
}

func TestCorpus(t *testing.T) {
	docs := []string{"Data analyst: SQL and Python.", "Civil engineer roads", "Accountant aur clerk ke liye"}
	a := NewCorpus(docs)
	b := NewCorpus([]string{docs[2], docs[0], docs[1]})
	if a.ID() != b.ID() || a.ID() == "" {
		t.Fatalf("ids %q %q: document order must not matter", a.ID(), b.ID())
	}
	if c := NewCorpus(docs[:2]); c.ID() == a.ID() {
		t.Fatal("a different corpus has the same id")
	}
	if a.Docs() != 3 || a.DF("sql") != 1 || a.DF("aur") != 0 || a.DF("engineer") != 1 {
		t.Fatalf("docs %d df(sql) %d df(aur) %d", a.Docs(), a.DF("sql"), a.DF("aur"))
	}
	raw := mustJSON(t, a)
	var back Corpus
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.ID() != a.ID() || !bytes.Equal(mustJSON(t, &back), raw) {
		t.Fatalf("round trip: %s vs %s", mustJSON(t, &back), raw)
	}
	tampered := bytes.Replace(raw, []byte(`"sql":1`), []byte(`"sql":2`), 1)
	if err := json.Unmarshal(tampered, &back); err == nil {
		t.Fatal("a tampered corpus was accepted")
	}
	other := bytes.Replace(raw, []byte(tokenizerVersion), []byte("tok0"), 1)
	if err := json.Unmarshal(other, &back); err == nil {
		t.Fatal("a corpus of another tokeniser was accepted")
	}
	var nilCorpus *Corpus
	if nilCorpus.ID() != "" || nilCorpus.Docs() != 0 || nilCorpus.DF("x") != 0 {
		t.Fatal("nil corpus")
	}
}

func TestTokens(t *testing.T) {
	cases := map[string]string{
		"Data Analysts & Engineers: SQL, C++, C# and R!":          "data analyst engineer sql c++ c# r",
		"Maine district ke data ko clean kiya aur reports banayi": "district data clean report banayi",
		"Status analysis class bas paas companies addresses":      "status analysis class bas paas company address",
		"Lahore-based  ÉCOLE naïve 2024 résumés":                  "lahore based école naïve 2024 résumés",
		"Mein ne Karachi mein 5 saal kaam kiya hai":               "ne karachi 5 saal kaam",
		"a I x 9 z": "9",
		"mujhe PostgreSQL aur MS-Excel ka tajurba hai; logon ko training di": "postgresql ms excel tajurba logon training di",
	}
	for in, want := range cases {
		if got := strings.Join(tokens(in), " "); got != want {
			t.Errorf("tokens(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func TestCanonicalSkills(t *testing.T) {
	got := canonicalSkills([]string{"  MS   Excel ", "excel", "Golang", "JS", "javascript", "", "Data Analytics"})
	want := []string{"excel", "go", "javascript", "data analysis"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestGolden pins a few results byte for byte: any change to rules,
// weights, tokeniser or synonyms shows here and must come with a new
// ModelVersion (go test -run TestGolden -update rewrites the file).
func TestGolden(t *testing.T) {
	c := testCorpus()
	type golden struct {
		Name   string `json:"name"`
		Result Result `json:"result"`
	}
	var out []golden
	in := typicalInput()
	out = append(out, golden{"typical profile, corpus", Score(in, c)})
	out = append(out, golden{"typical profile, no corpus", Score(in, nil)})
	inel := in
	inel.Profile.DomicileProvince = vocab.Sindh
	inel.Profile.DateOfBirth = date(1990, 3, 1)
	out = append(out, golden{"ineligible: domicile and age", Score(inel, c)})
	out = append(out, golden{"base job and profile", Score(Input{Job: baseJob(), Profile: baseProfile()}, c)})
	r := rand.New(rand.NewPCG(1, 2))
	for range 3 {
		out = append(out, golden{"random", Score(randomInput(r), c)})
	}
	got, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("results differ from %s (run with -update after bumping ModelVersion):\n%s", path, got)
	}
	for _, g := range out {
		if g.Result.ModelVersion != ModelVersion {
			t.Fatal("golden result without the model version")
		}
	}
}

// Text copied from the job's advertisement earns nothing: neither text
// relevance nor a skill mention.
func TestCopiedTextEarnsNothing(t *testing.T) {
	job := typicalJob()
	job.Description = "We need an officer skilled in hydrological modelling of river basins and flood forecasting " +
		"with geographic information systems for the provincial irrigation department. " + job.Description
	job.Criteria.RequiredSkills = []string{"flood forecasting"}
	own := Score(Input{Job: job, Profile: ProfileInput{ResumeText: "I did flood forecasting and hydrological modelling of river basins in Sindh."}}, nil)
	pasted := Score(Input{Job: job, Profile: ProfileInput{ResumeText: job.Description}}, nil)
	if got := pasted.Breakdown[4]; got.Points != 0 || !strings.Contains(got.Detail, "copied from the job's description") {
		t.Fatalf("pasted advertisement: text relevance %v (%s)", got.Points, got.Detail)
	}
	if got := pasted.Breakdown[0]; got.Points != 0 {
		t.Fatalf("pasted advertisement: a skill mention earned %v (%s)", got.Points, got.Detail)
	}
	if own.Breakdown[4].Points == 0 || own.Breakdown[0].Points == 0 {
		t.Fatalf("own words: text %v, skills %v", own.Breakdown[4].Points, own.Breakdown[0].Points)
	}
	// Five words in the advertisement's order are not a copy.
	short := Score(Input{Job: job, Profile: ProfileInput{ResumeText: "hydrological modelling river basins flood"}}, nil)
	if strings.Contains(short.Breakdown[4].Detail, "copied") || short.Breakdown[4].Points == 0 {
		t.Fatalf("five words taken as a copy: %s", short.Breakdown[4].Detail)
	}
}

func TestLn(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 100000 {
		x := 1 + float64(i)/7
		if i%2 == 0 {
			x = 1 + r.Float64()*1e6
		}
		got, want := ln(x), math.Log(x)
		if math.Abs(got-want) > 2e-16*math.Max(1, want) {
			t.Fatalf("ln(%v) = %v, math.Log %v", x, got, want)
		}
	}
	if ln(1) != 0 {
		t.Fatalf("ln(1) = %v", ln(1))
	}
}
