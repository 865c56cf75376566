package screening

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pvara-gov/pvara/internal/vocab"
)

// ModelVersion names the rules, weights, tokeniser and synonyms below. Any
// change to any of them that can change a Result bumps it; a stored result
// names the version that produced it.
const ModelVersion = "pvara-screen-1.1.0"

// Component names and weights (the most points each can give; they add up
// to 100). Weights are in hundredths of a point internally.
const (
	ComponentRequiredSkills  = "required_skills"
	ComponentPreferredSkills = "preferred_skills"
	ComponentExperience      = "experience"
	ComponentEducation       = "education"
	ComponentTextRelevance   = "text_relevance"

	weightRequiredSkills  = 3500
	weightPreferredSkills = 1500
	weightExperience      = 1500
	weightEducation       = 1000
	weightTextRelevance   = 2500
)

// Scoring constants.
const (
	// experienceCapYears: experience beyond the job's minimum earns points
	// linearly up to this many extra years.
	experienceCapYears = 5
	// educationCapLevels: each level above the minimum earns
	// weightEducation/educationCapLevels, up to this many levels.
	educationCapLevels = 2
	// skillInTextCredit: a skill the candidate does not list but whose
	// words appear, in order, in the résumé or an experience title earns
	// this share (in hundredths) of a listed skill.
	skillInTextCredit = 50
	// BM25 parameters. The candidate's text is the document; avgDocLen is
	// a fixed typical length (tokens) of a résumé with its experience
	// titles, since the model sees one candidate at a time.
	bm25K1    = 1.2
	bm25B     = 0.75
	bm25K3    = 1.2
	avgDocLen = 300
	// copyRun: a run of this many consecutive words (stop words aside)
	// that also occurs in the job's description is taken as copied from
	// the advertisement; its words earn nothing (neither text relevance
	// nor a skill mention).
	copyRun = 6
	// textFullAt: a weighted coverage of the job's words of this much or
	// more earns the whole text-relevance weight; below it points are
	// proportional.
	textFullAt = 0.5
)

// Score applies the model to one application: eligibility at the job's
// closing date and a relevance score from 0 to 100 with its breakdown. It
// is pure and deterministic; c may be nil (the job's own text is then the
// corpus). It is Scorer's Score for one input.
func Score(in Input, c *Corpus) Result {
	return cachedScorer(in.Job, c).Score(in.Profile)
}

// Scorer holds what the model derives from a job and a corpus, so scoring
// many applications of one job does that work once. A Scorer is read-only
// after NewScorer and safe for concurrent use; its results are identical
// to Score's.
type Scorer struct {
	job      JobInput
	corpusID string
	terms    map[string]int32 // job word → index
	weight   []float64        // index → query weight (idf × saturated job frequency)
	wsum     float64
	required []skill
	prefer   []skill
	// The description as job-word indexes, and where each word occurs in
	// it (positions of word w: descPos[descAt[w]:descAt[w+1]]), to find
	// passages copied from it.
	desc    []int32
	descAt  []int32
	descPos []int32
}

// Markers in a candidate's word sequence.
const (
	separator = -2 // between texts: the résumé and each experience title
	copied    = -3 // a word of a passage copied from the job's description
)

// skill is a job skill as matched: its canonical form and its words (as
// indexes of the job's words).
type skill struct {
	canon string
	words []int32
}

// NewScorer prepares the model for one job. It keeps its own copy of the
// job: changing the caller's slices afterwards changes nothing.
func NewScorer(job JobInput, c *Corpus) *Scorer {
	job = cloneJob(job)
	n := len(job.Title) + len(job.Department) + len(job.Description)
	s := &Scorer{job: job, corpusID: c.ID(), terms: make(map[string]int32, 64+n/12)}
	required := canonicalSkills(job.Criteria.RequiredSkills)
	prefer := canonicalSkills(job.Criteria.PreferredSkills)
	// The job's words in first-occurrence order, with their frequencies:
	// the tokens of JobText, read part by part (the line breaks JobText
	// puts between the parts only separate tokens). All tokens are first
	// written into one buffer that becomes one string, so the words are
	// substrings of it (one allocation instead of one per word).
	type span struct{ a, b int32 }
	arena := make([]byte, 0, n+64)
	spans := make([]span, 0, n/5+16)
	collect := func(t []byte) {
		spans = append(spans, span{int32(len(arena)), int32(len(arena) + len(t))})
		arena = append(arena, t...)
	}
	tokenize(job.Title, collect)
	tokenize(job.Department, collect)
	d0 := len(spans)
	tokenize(job.Description, collect)
	d1 := len(spans)
	for _, k := range required {
		tokenize(k, collect)
	}
	for _, k := range prefer {
		tokenize(k, collect)
	}
	all := string(arena)
	words := make([]string, 0, 64+n/12)
	qtf := make([]int32, 0, 64+n/12)
	desc := make([]int32, 0, d1-d0)
	for k, sp := range spans {
		w := all[sp.a:sp.b]
		i, ok := s.terms[w]
		if ok {
			qtf[i]++
		} else {
			i = int32(len(words))
			s.terms[w] = i
			words = append(words, w)
			qtf = append(qtf, 1)
		}
		if k >= d0 && k < d1 {
			desc = append(desc, i)
		}
	}
	// The weights in that order, summed in that order: float sums are
	// then the same on every run.
	s.weight = make([]float64, len(qtf))
	docs := c.Docs()
	for i, w := range words {
		var v float64
		if c == nil {
			v = idf(1, 1)
		} else {
			v = idf(docs, c.DF(w))
		}
		f := float64(qtf[i])
		s.weight[i] = float64(v * float64(f*(bm25K3+1)/float64(f+bm25K3)))
		s.wsum = float64(s.wsum + s.weight[i])
	}
	if len(desc) >= copyRun {
		s.desc = desc
		s.descAt = make([]int32, len(words)+1)
		for _, w := range desc {
			s.descAt[w+1]++
		}
		for w := range words {
			s.descAt[w+1] += s.descAt[w]
		}
		s.descPos = make([]int32, len(desc))
		fill := slices.Clone(s.descAt[:len(words)])
		for p, w := range desc {
			s.descPos[fill[w]] = int32(p)
			fill[w]++
		}
	}
	s.required = s.skills(required)
	s.prefer = s.skills(prefer)
	return s
}

func (s *Scorer) skills(canon []string) []skill {
	out := make([]skill, len(canon))
	for i, c := range canon {
		out[i].canon = c
		tokenize(c, func(t []byte) {
			out[i].words = append(out[i].words, s.terms[string(t)])
		})
	}
	return out
}

// Score scores one profile for the Scorer's job.
func (s *Scorer) Score(p ProfileInput) Result {
	el := evaluate(Input{Job: s.job, Profile: p})

	// The candidate's text: résumé and experience titles, as a sequence
	// of job-word indexes (-1 for a word the job does not use).
	seq := make([]int32, 0, len(p.ResumeText)/6+8*len(p.Experience))
	emit := func(t []byte) {
		if i, ok := s.terms[string(t)]; ok {
			seq = append(seq, i)
		} else {
			seq = append(seq, -1)
		}
	}
	tokenize(p.ResumeText, emit)
	for _, e := range p.Experience {
		seq = append(seq, separator) // titles never run into each other
		tokenize(e.Title, emit)
	}

	copiedWords := s.maskCopies(seq)

	// The candidate's listed skills as sets of job-word indexes.
	cand := canonicalSkills(p.Skills)
	candWords := make([][]int32, len(cand))
	for i, c := range cand {
		tokenize(c, func(t []byte) {
			if j, ok := s.terms[string(t)]; ok {
				candWords[i] = append(candWords[i], j)
			}
		})
	}

	reqPts, reqDetail := s.skillComponent(s.required, cand, candWords, seq, weightRequiredSkills, "required")
	prefPts, prefDetail := s.skillComponent(s.prefer, cand, candWords, seq, weightPreferredSkills, "preferred")
	expPts, expDetail := s.experienceComponent(el.experienceDays)
	eduPts, eduDetail := s.educationComponent(el.educationRank)
	txtPts, txtDetail := s.textComponent(seq, copiedWords)

	total := reqPts + prefPts + expPts + eduPts + txtPts
	return Result{
		Eligible: el.eligible,
		Reasons:  el.reasons,
		Score:    hundredths(total),
		Breakdown: []Component{
			{Name: ComponentRequiredSkills, Weight: hundredths(weightRequiredSkills), Points: hundredths(reqPts), Detail: reqDetail},
			{Name: ComponentPreferredSkills, Weight: hundredths(weightPreferredSkills), Points: hundredths(prefPts), Detail: prefDetail},
			{Name: ComponentExperience, Weight: hundredths(weightExperience), Points: hundredths(expPts), Detail: expDetail},
			{Name: ComponentEducation, Weight: hundredths(weightEducation), Points: hundredths(eduPts), Detail: eduDetail},
			{Name: ComponentTextRelevance, Weight: hundredths(weightTextRelevance), Points: hundredths(txtPts), Detail: txtDetail},
		},
		ModelVersion: ModelVersion,
		CorpusID:     s.corpusID,
	}
}

// hundredths converts an integer number of hundredths of a point to the
// float64 nearest to it (which JSON writes with at most two decimals).
func hundredths(h int64) float64 { return float64(h) / 100 }

// skillComponent: each job skill the candidate lists earns a full share of
// the weight, one whose words appear in order in the candidate's text
// earns skillInTextCredit percent of a share. No skills: the whole weight
// (nothing is missing).
func (s *Scorer) skillComponent(job []skill, cand []string, candWords [][]int32, seq []int32, weight int64, kind string) (int64, string) {
	if len(job) == 0 {
		return weight, "The job lists no " + kind + " skills."
	}
	var credit int64 // in hundredths of a skill
	listed, inText := 0, 0
	var missing []string
	for _, js := range job {
		switch {
		case listsSkill(js, cand, candWords):
			credit += 100
			listed++
		case len(js.words) > 0 && containsRun(seq, js.words):
			credit += skillInTextCredit
			inText++
			missing = append(missing, js.canon)
		default:
			missing = append(missing, js.canon)
		}
	}
	pts := divRound(weight*credit, int64(len(job))*100)
	d := strconv.Itoa(listed) + " of " + strconv.Itoa(len(job)) + " " + kind + " skills listed"
	if inText > 0 {
		d += ", " + strconv.Itoa(inText) + " more mentioned in the résumé or experience"
	}
	if len(missing) > 0 {
		d += "; not listed: " + strings.Join(missing, ", ")
	}
	return pts, d + "."
}

// listsSkill: a listed skill matches a job skill when their canonical
// forms are equal or when the listed skill contains every word of the job
// skill ("advanced excel" lists "excel").
func listsSkill(js skill, cand []string, candWords [][]int32) bool {
	for i, c := range cand {
		if c == js.canon {
			return true
		}
		if len(js.words) > 0 && containsAll(candWords[i], js.words) {
			return true
		}
	}
	return false
}

func containsAll(set, words []int32) bool {
	for _, w := range words {
		found := false
		for _, x := range set {
			if x == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// maskCopies replaces, in seq, every word of a run of copyRun or more
// consecutive words that also occurs in the job's description with the
// copied marker, and returns how many it replaced. Runs never cross a
// separator (the job's words are all ≥ 0).
func (s *Scorer) maskCopies(seq []int32) int {
	if s.desc == nil {
		return 0
	}
	// Find every matching window first (marking in place would break the
	// matching of overlapping windows), then mark.
	var marks []bool
	run := 0 // job words in a row ending at seq[i+copyRun-1]
	for i := 0; i+copyRun <= len(seq); i++ {
		if i == 0 {
			for _, x := range seq[:copyRun-1] {
				run = nextRun(run, x)
			}
		}
		run = nextRun(run, seq[i+copyRun-1])
		if run < copyRun || !s.inDescription(seq[i:i+copyRun]) {
			continue
		}
		if marks == nil {
			marks = make([]bool, len(seq))
		}
		for j := i; j < i+copyRun; j++ {
			marks[j] = true
		}
	}
	n := 0
	for j, m := range marks {
		if m {
			seq[j] = copied
			n++
		}
	}
	return n
}

// inDescription reports whether the words w (all job words) occur
// consecutively in the job's description.
func (s *Scorer) inDescription(w []int32) bool {
	for _, p := range s.descPos[s.descAt[w[0]]:s.descAt[w[0]+1]] {
		if int(p)+len(w) <= len(s.desc) && slices.Equal(s.desc[p:int(p)+len(w)], w) {
			return true
		}
	}
	return false
}

func nextRun(run int, x int32) int {
	if x < 0 {
		return 0
	}
	return run + 1
}

// containsRun reports whether words occurs contiguously in seq.
func containsRun(seq, words []int32) bool {
	n := len(words)
	for i := 0; i+n <= len(seq); i++ {
		if seq[i] != words[0] {
			continue
		}
		ok := true
		for j := 1; j < n; j++ {
			if seq[i+j] != words[j] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// experienceComponent: experience beyond the job's minimum, linearly up to
// experienceCapYears extra years.
func (s *Scorer) experienceComponent(days int64) (int64, string) {
	need := requiredDays(max(s.job.Criteria.MinExperienceYears, 0))
	extra := max(days-need, 0)
	capDays := requiredDays(experienceCapYears)
	pts := divRound(weightExperience*min(extra, capDays), capDays)
	return pts, formatYears(extra) + " beyond the minimum (" + strconv.Itoa(experienceCapYears) + " years or more earn the full weight)."
}

// educationComponent: each level above the job's minimum (or above matric
// when the job sets none), up to educationCapLevels levels.
func (s *Scorer) educationComponent(rank int) (int64, string) {
	base := s.job.Criteria.MinEducation.Rank()
	baseName := string(s.job.Criteria.MinEducation)
	if base == 0 {
		base, baseName = vocab.Matric.Rank(), string(vocab.Matric)
	}
	above := min(max(rank-base, 0), educationCapLevels)
	pts := divRound(weightEducation*int64(above), educationCapLevels)
	return pts, plural(max(rank-base, 0), "level") + " above " + baseName + " (" + strconv.Itoa(educationCapLevels) + " or more earn the full weight)."
}

// textComponent: BM25 of the candidate's text against the job's words,
// as a weighted coverage in [0, 1): Σ w·sat(tf) / Σ w, where w is a job
// word's idf times its saturated frequency in the job text and sat is
// BM25's term-frequency saturation divided by its limit (k1+1).
func (s *Scorer) textComponent(seq []int32, copiedWords int) (int64, string) {
	note := ""
	if copiedWords > 0 {
		note = " " + plural(copiedWords, "word") + " copied from the job's description not counted."
	}
	if s.wsum == 0 || len(seq) == 0 {
		return 0, "No words of the job's text found in the résumé or experience." + note
	}
	tf := make([]int32, len(s.weight))
	dl := 0 // the candidate's words (title separators are not words)
	for _, i := range seq {
		if i >= 0 {
			tf[i]++
		}
		if i != separator && i != copied {
			dl++
		}
	}
	norm := float64(bm25K1 * float64(1-bm25B+float64(bm25B*float64(dl)/avgDocLen)))
	var sum float64
	matched := 0
	for i, f := range tf {
		if f == 0 {
			continue
		}
		matched++
		ff := float64(f)
		sat := float64(ff / float64(ff+norm))
		sum = float64(sum + float64(s.weight[i]*sat))
	}
	ratio := float64(sum / s.wsum)
	frac := math.Min(1, float64(ratio/textFullAt))
	pts := int64(math.Round(float64(frac * weightTextRelevance)))
	return pts, strconv.Itoa(matched) + " of the job's " + strconv.Itoa(len(s.weight)) + " distinct words found; weighted coverage " +
		strconv.FormatFloat(math.Floor(ratio*1000)/10, 'f', 1, 64) + "%." + note
}

// divRound is a·/b rounded half up, for a ≥ 0, b > 0.
func divRound(a, b int64) int64 { return (2*a + b) / (2 * b) }

// canonicalSkills normalises skills (vocab.NormalizeSkills) and maps each
// to its canonical synonym, dropping duplicates and keeping the order.
func canonicalSkills(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		c := vocab.NormalizeSkill(s)
		if syn, ok := skillSynonyms[c]; ok {
			c = syn
		}
		if c == "" {
			continue
		}
		dup := false
		for _, o := range out {
			if o == c {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, c)
		}
	}
	return out
}
