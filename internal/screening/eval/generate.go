// Package eval is the screening model's quality evaluation: a generator of a
// synthetic labelled data set (jobs with criteria and candidates whose true
// eligibility and fit are known by construction, including near-misses on
// every eligibility rule), the measures (eligibility accuracy, NDCG@10 and
// precision@10) and a naive keyword-count baseline to compare against.
// Everything is seeded and deterministic.
package eval

import (
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/pvara-gov/pvara/internal/screening"
	"github.com/pvara-gov/pvara/internal/vocab"
)

// Dataset is a generated set of jobs, each with its candidates.
type Dataset struct {
	Seed uint64
	Jobs []Job
}

// Job is one job and its candidates.
type Job struct {
	ID         int
	Domain     string
	Input      screening.JobInput
	Candidates []Candidate
}

// Candidate is one application with its labels.
type Candidate struct {
	ID      int
	Profile screening.ProfileInput
	// Kind is the archetype the candidate was drawn from (strong, good,
	// partial, unrelated, stuffer, verbose).
	Kind string
	// Case names the eligibility rule case the candidate was built for
	// ("" for a regular candidate, whose eligibility has margins on every
	// rule).
	Case string
	// Eligible is the true eligibility, by construction.
	Eligible bool
	// Grade is the true fit, 0 (none) to 3 (strong), from what the
	// candidate really has: the share of the job's required skills they
	// hold (whether or not they wrote them down, and however they spelt
	// them) and whether their background is the job's field.
	Grade int
}

// Config sizes a data set.
type Config struct {
	Seed          uint64
	Jobs          int
	CandidatesPer int // regular candidates per job (rule cases come on top)
}

var pkt = time.FixedZone("PKT", 5*60*60)

// Generate builds a data set.
func Generate(cfg Config) Dataset {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x5c5ee1))
	ds := Dataset{Seed: cfg.Seed}
	nextID := 1
	for j := range cfg.Jobs {
		g := &gen{r: r}
		job := g.job(j + 1)
		for range cfg.CandidatesPer {
			c := g.regular(job)
			c.ID = nextID
			nextID++
			job.Candidates = append(job.Candidates, c)
		}
		for _, c := range g.ruleCases(job) {
			c.ID = nextID
			nextID++
			job.Candidates = append(job.Candidates, c)
		}
		ds.Jobs = append(ds.Jobs, job)
	}
	return ds
}

type gen struct {
	r *rand.Rand
	// what the current job needs
	dom       int
	required  []string
	preferred []string
	desc      []string // the description's sentences
}

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *gen) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

// special closing dates exercise 29 February birthdays.
var specialClosings = [][3]int{{2027, 2, 28}, {2027, 3, 1}, {2028, 2, 29}}

func (g *gen) job(id int) Job {
	g.dom = g.r.IntN(len(domains))
	d := domains[g.dom]
	title := g.pick(d.titles)
	skills := slices.Clone(d.skills)
	g.r.Shuffle(len(skills), func(i, j int) { skills[i], skills[j] = skills[j], skills[i] })
	nReq := g.between(4, 6)
	g.required = skills[:nReq]
	g.preferred = skills[nReq : nReq+g.between(2, 3)]

	var cy, cm, cd int
	special := g.r.IntN(4) == 0
	if special {
		s := specialClosings[g.r.IntN(len(specialClosings))]
		cy, cm, cd = s[0], s[1], s[2]
	} else {
		t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, g.r.IntN(730))
		cy, cm, cd = t.Year(), int(t.Month()), t.Day()
	}
	crit := screening.Criteria{
		MinEducation:       []vocab.EducationLevel{vocab.Intermediate, vocab.Bachelor, vocab.Bachelor, vocab.Master}[g.r.IntN(4)],
		MinExperienceYears: []int{0, 1, 2, 2, 3, 3, 5}[g.r.IntN(7)],
		RequiredSkills:     g.surface(g.required),
		PreferredSkills:    g.surface(g.preferred),
	}
	if special || g.r.IntN(5) > 0 {
		min := g.between(18, 25)
		if special { // cy − min is a leap year
			min = []int{19, 23, 27}[g.r.IntN(3)] + (cy - 2027)
		}
		maxTotal := min + 4*g.between(2, 4) - 1 // max+1 ≡ min (mod 4): leap-day birthdays at both limits
		relax := 0
		if g.r.IntN(2) == 0 {
			relax = g.between(1, 5)
		}
		crit.AgeMin, crit.AgeMax = &min, ptr(maxTotal-relax)
		if relax > 0 {
			crit.AgeRelaxationYears = &relax
		}
	}
	if g.r.IntN(5) < 2 {
		ps := slices.Clone(vocab.Provinces)
		g.r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		crit.DomicileProvinces = ps[:g.between(1, 3)]
	}

	// The description.
	var s []string
	s = append(s, "The "+g.pick([]string{"Ministry", "Department", "Directorate", "Authority"})+" invites applications for the post of "+title+".")
	for _, k := range g.required {
		s = append(s, g.pick([]string{"The candidate must have ", "Proficiency in ", "Sound knowledge of "})+k+g.pick([]string{" is required.", ".", " is essential."}))
	}
	for _, k := range g.preferred {
		s = append(s, "Knowledge of "+k+" is an advantage.")
	}
	for range g.between(8, 16) {
		s = append(s, g.domainSentence(d))
	}
	for range g.between(3, 6) {
		s = append(s, g.genericSentence())
	}
	g.r.Shuffle(len(s)-1, func(i, j int) { s[i+1], s[j+1] = s[j+1], s[i+1] })
	g.desc = s
	return Job{
		ID:     id,
		Domain: d.name,
		Input: screening.JobInput{
			Title:       title,
			Department:  strings.ToUpper(d.name[:1]) + d.name[1:] + " Wing",
			Description: strings.Join(s, " "),
			ClosesAt:    time.Date(cy, time.Month(cm), cd, 17, 0, 0, 0, pkt),
			Criteria:    crit,
		},
	}
}

func ptr[T any](v T) *T { return &v }

// surface writes skills as a recruiter might: any capitalisation.
func (g *gen) surface(skills []string) []string {
	out := make([]string, len(skills))
	for i, s := range skills {
		switch g.r.IntN(3) {
		case 0:
			out[i] = strings.ToUpper(s)
		case 1:
			out[i] = titleCase(s)
		default:
			out[i] = s
		}
	}
	return out
}

func titleCase(s string) string {
	w := strings.Fields(s)
	for i, x := range w {
		w[i] = strings.ToUpper(x[:1]) + x[1:]
	}
	return strings.Join(w, " ")
}

func (g *gen) domainSentence(d domain) string {
	w := func() string { return g.pick(d.words) }
	switch g.r.IntN(4) {
	case 0:
		return "Duties include " + w() + ", " + w() + " and " + w() + " for the " + g.pick(genericWords) + " " + g.pick(genericWords) + "."
	case 1:
		return "Worked on " + w() + " and " + w() + " in the " + g.pick(genericWords) + " " + g.pick(genericWords) + "."
	case 2:
		return "Responsible for " + w() + " of " + w() + " across the " + g.pick(genericWords) + "."
	default:
		return "Prepared " + w() + " and " + w() + " " + g.pick(genericWords) + " for senior " + g.pick(genericWords) + "."
	}
}

func (g *gen) genericSentence() string {
	w := func() string { return g.pick(genericWords) }
	return "The officer will ensure " + w() + " and " + w() + " of " + w() + " " + w() + "."
}

// archetypes: the share of each kind of regular candidate, in percent.
var archetypes = []struct {
	kind string
	pct  int
}{{"strong", 15}, {"good", 20}, {"partial", 20}, {"unrelated", 25}, {"stuffer", 10}, {"verbose", 10}}

// regular builds a candidate eligible with a margin on every rule.
func (g *gen) regular(job Job) Candidate {
	n := g.r.IntN(100)
	kind := ""
	for _, a := range archetypes {
		if n < a.pct {
			kind = a.kind
			break
		}
		n -= a.pct
	}
	R := len(g.required)
	bg := g.dom
	var held int
	switch kind {
	case "strong":
		held = g.between(ceilFrac(R, 8), R)
	case "good":
		held = g.between(ceilFrac(R, 5), max(ceilFrac(R, 8)-1, ceilFrac(R, 5)))
	case "partial":
		held = g.between(1, max(ceilFrac(R, 5)-1, 1))
		if g.r.IntN(2) == 0 {
			bg = g.otherDomain()
		}
	case "unrelated", "stuffer":
		bg = g.otherDomain()
	case "verbose":
		held = g.r.IntN(2)
	}
	req := slices.Clone(g.required)
	g.r.Shuffle(len(req), func(i, j int) { req[i], req[j] = req[j], req[i] })
	heldSkills := req[:held]
	// A background in another field may bring some of the job's skills
	// with it (excel, python, ...).
	own := domains[bg].skills
	for _, k := range g.required {
		if bg != g.dom && slices.Contains(own, k) && !slices.Contains(heldSkills, k) && g.r.IntN(2) == 0 {
			heldSkills = append(heldSkills, k)
		}
	}
	c := Candidate{Kind: kind, Eligible: true}
	c.Grade = grade(len(heldSkills), R, bg == g.dom)
	c.Profile = g.profile(job, bg, heldSkills, kind)
	return c
}

func ceilFrac(n, tenths int) int { return (n*tenths + 9) / 10 }

// grade is the true fit: the share of required skills held and whether the
// background is the job's field.
func grade(held, required int, sameField bool) int {
	f := float64(held) / float64(required)
	switch {
	case f >= 0.8 && sameField:
		return 3
	case f >= 0.5:
		return 2
	case f >= 0.2 || sameField:
		return 1
	}
	return 0
}

func (g *gen) otherDomain() int {
	for {
		if d := g.r.IntN(len(domains)); d != g.dom {
			return d
		}
	}
}

// profile writes what a candidate with background bg who holds heldSkills
// puts in their application. A held skill is listed (65%: in the canonical
// spelling, a known variant or an unknown variant), only mentioned in the
// résumé (25%) or not written anywhere (10%).
func (g *gen) profile(job Job, bg int, heldSkills []string, kind string) screening.ProfileInput {
	d := domains[bg]
	var listed, sentences []string
	for _, k := range heldSkills {
		switch n := g.r.IntN(100); {
		case n < 65:
			listed = append(listed, g.variant(k))
		case n < 90:
			sentences = append(sentences, g.pick([]string{"Experienced in ", "Used ", "Trained colleagues in "})+k+".")
		}
	}
	// Other skills of the candidate's own field, and a few unrelated ones.
	// (never one of the job's required skills: which of those the
	// candidate holds was decided above).
	for range g.between(4, 10) {
		if k := g.pick(d.skills); !slices.Contains(g.required, k) {
			listed = append(listed, g.variant(k))
		}
	}
	for range g.r.IntN(3) {
		if k := g.pick(domains[g.r.IntN(len(domains))].skills); !slices.Contains(g.required, k) {
			listed = append(listed, k)
		}
	}
	if len(listed) > 15 {
		listed = listed[:15]
	}

	nDomain := g.between(4, 10)
	if kind == "verbose" {
		nDomain = g.between(15, 25)
	}
	for range nDomain {
		sentences = append(sentences, g.domainSentence(d))
	}
	for range g.between(1, 5) {
		sentences = append(sentences, g.genericSentence())
	}
	for range g.r.IntN(3) {
		sentences = append(sentences, g.pick(urduFiller))
	}
	if kind == "stuffer" {
		// Keyword stuffing: sentences of the job's advertisement pasted in.
		for range g.between(4, 8) {
			sentences = append(sentences, g.pick(g.desc))
		}
		sentences = append(sentences, job.Input.Title+" "+job.Input.Title+".")
	}
	g.r.Shuffle(len(sentences), func(i, j int) { sentences[i], sentences[j] = sentences[j], sentences[i] })

	crit := job.Input.Criteria
	p := screening.ProfileInput{
		Skills:     listed,
		ResumeText: strings.Join(sentences, " "),
	}
	// Education: the minimum plus 0–2 levels, with the lower levels too.
	top := min(crit.MinEducation.Rank()+[]int{0, 0, 1, 1, 2}[g.r.IntN(5)], len(vocab.EducationLevels))
	p.Education = education(top)
	// Experience: the minimum plus a margin of 2–6 months plus 0–8 years.
	extra := g.r.IntN(9)
	if kind == "strong" {
		extra = g.between(2, 8)
	}
	months := crit.MinExperienceYears*12 + g.between(2, 6) + extra*12
	p.Experience = g.experience(job, d, months)
	// Age with a margin inside the limits, domicile among those allowed.
	p.DateOfBirth = g.dob(job)
	p.DomicileProvince = vocab.Provinces[g.r.IntN(len(vocab.Provinces))]
	if allow := crit.DomicileProvinces; len(allow) > 0 {
		p.DomicileProvince = allow[g.r.IntN(len(allow))]
	}
	return p
}

func education(top int) []screening.EducationEntry {
	var out []screening.EducationEntry
	for rank := 1; rank <= top; rank++ {
		out = append(out, screening.EducationEntry{Level: vocab.EducationLevels[rank-1], Field: "General", Year: 2000 + rank})
	}
	return out
}

func (g *gen) variant(k string) string {
	n := g.r.IntN(100)
	if v, ok := variants[k]; ok && n < 30 {
		return g.pick(v)
	}
	if v, ok := unknownVariants[k]; ok && n >= 80 {
		return g.pick(v)
	}
	if n%2 == 0 {
		return strings.ToUpper(k)
	}
	return k
}

// closing is the job's closing date (PKT).
func closing(job Job) (int, time.Month, int) { return job.Input.ClosesAt.In(pkt).Date() }

func civil(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// experience writes consecutive periods covering months months up to the
// closing date (the last one still held or ending after the closing date),
// sometimes with an overlapping part-time job inside them.
func (g *gen) experience(job Job, d domain, months int) []screening.ExperienceItem {
	if months <= 0 {
		return nil
	}
	cy, cm, cd := closing(job)
	k := min(g.between(1, 5), months)
	cuts := []int{0, months}
	for len(cuts) < k+1 {
		c := g.between(1, months-1)
		if !slices.Contains(cuts, c) {
			cuts = append(cuts, c)
		}
	}
	slices.Sort(cuts) // months before the closing date at which a period starts
	var out []screening.ExperienceItem
	for i := len(cuts) - 1; i > 0; i-- {
		start := civil(cy, cm-time.Month(cuts[i]), cd)
		var end time.Time
		if i > 1 {
			end = civil(cy, cm-time.Month(cuts[i-1]), cd).AddDate(0, 0, -1)
		} else if g.r.IntN(10) < 3 {
			end = civil(cy, cm, cd).AddDate(0, 0, g.between(1, 200)) // ends after the closing date
		}
		out = append(out, screening.ExperienceItem{Title: g.pick(d.titles), Start: start, End: end})
	}
	if months > 14 && g.r.IntN(10) < 3 { // a part-time job inside the span: counted once
		s := civil(cy, cm-time.Month(months)+1, cd)
		out = append(out, screening.ExperienceItem{Title: "Part-time " + g.pick(d.titles), Start: s, End: s.AddDate(0, 6, 0)})
	}
	g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// dob is a date of birth whose age on the closing date is strictly inside
// the job's limits (1–300 days short of a birthday).
func (g *gen) dob(job Job) time.Time {
	cy, cm, cd := closing(job)
	c := job.Input.Criteria
	lo, hi := 22, 45
	if c.AgeMin != nil {
		lo = *c.AgeMin + 1
	}
	if c.AgeMax != nil {
		hi = maxAge(c) - 1
	}
	if hi < lo {
		hi = lo
	}
	age := g.between(lo, hi)
	return civil(cy-age, cm, cd-g.between(1, 300))
}

func maxAge(c screening.Criteria) int {
	m := *c.AgeMax
	if c.AgeRelaxationYears != nil {
		m += *c.AgeRelaxationYears
	}
	return m
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// birthday is the civil date n years before the closing date, if it exists
// (29 February does not exist in a year without it).
func birthday(job Job, n int) (time.Time, bool) {
	cy, cm, cd := closing(job)
	y := cy - n
	if cm == time.February && cd == 29 && !isLeap(y) {
		return time.Time{}, false
	}
	return civil(y, cm, cd), true
}

// ruleCases builds, from eligible base candidates, the near-misses (and
// near-hits) of every rule the job has, each labelled by construction.
func (g *gen) ruleCases(job Job) []Candidate {
	var out []Candidate
	c := job.Input.Criteria
	cy, cm, cd := closing(job)
	add := func(name string, eligible bool, change func(p *screening.ProfileInput)) {
		base := g.regular(job)
		for base.Kind == "unrelated" || base.Kind == "stuffer" {
			base = g.regular(job)
		}
		change(&base.Profile)
		base.Case, base.Eligible = name, eligible
		out = append(out, base)
	}
	setDOB := func(t time.Time) func(p *screening.ProfileInput) {
		return func(p *screening.ProfileInput) { p.DateOfBirth = t }
	}
	// Age.
	if c.AgeMin != nil {
		if b, ok := birthday(job, *c.AgeMin); ok {
			add("age_min_exact", true, setDOB(b))                           // turns the minimum age on the closing date
			add("age_min_one_day_short", false, setDOB(b.AddDate(0, 0, 1))) // turns it the day after
		}
		if cm == time.February || cm == time.March && cd == 1 {
			if y := cy - *c.AgeMin; isLeap(y) {
				// Born on 29 February: in a year without it the birthday is 1 March.
				// Reached on 1 March, or on 29 February when the closing year has it.
				reached := cm == time.March || cd == 29
				add("leap_birthday_at_min_age", reached, setDOB(civil(y, time.February, 29)))
			}
		}
	}
	if c.AgeMax != nil {
		top := maxAge(c)
		if b, ok := birthday(job, top+1); ok {
			add("age_max_one_day_over", false, setDOB(b))             // one past the limit on the closing date
			add("age_max_last_day", true, setDOB(b.AddDate(0, 0, 1))) // one past it the day after
		}
		if cm == time.February || cm == time.March && cd == 1 {
			if y := cy - (top + 1); isLeap(y) {
				over := cm == time.March || cd == 29
				add("leap_birthday_past_max_age", !over, setDOB(civil(y, time.February, 29)))
			}
		}
	}
	// Experience.
	if n := c.MinExperienceYears; n > 0 {
		title := domains[g.dom].titles[0]
		open := func(s time.Time) screening.ExperienceItem { return screening.ExperienceItem{Title: title, Start: s} }
		exact := civil(cy-n, cm, cd) // 29 February → 1 March: still n whole years to 28/29 February
		add("experience_exact", true, func(p *screening.ProfileInput) {
			p.Experience = []screening.ExperienceItem{open(exact)}
		})
		add("experience_one_month_short", false, func(p *screening.ProfileInput) {
			p.Experience = []screening.ExperienceItem{open(civil(cy-n, cm+1, cd))}
		})
		add("experience_overlap_counted_once", false, func(p *screening.ProfileInput) {
			s := civil(cy-n, cm+3, cd)
			inner := civil(cy-n, cm+4, cd)
			p.Experience = []screening.ExperienceItem{open(s), {Title: title, Start: inner, End: inner.AddDate(1, 0, 0)}}
		})
		add("experience_after_closing_not_counted", false, func(p *screening.ProfileInput) {
			p.Experience = []screening.ExperienceItem{
				{Title: title, Start: civil(cy-n, cm+1, cd), End: civil(cy, cm, cd)},
				{Title: title, Start: civil(cy, cm, cd+1), End: civil(cy+2, cm, cd)},
			}
		})
		add("experience_past_and_open_ended", true, func(p *screening.ProfileInput) {
			p.Experience = []screening.ExperienceItem{
				{Title: title, Start: civil(cy-n-1, cm, cd), End: civil(cy-n, cm+6, cd)},
				open(civil(cy-n, cm+8, cd)),
			}
		})
	}
	// Education.
	if m := c.MinEducation.Rank(); m > 1 {
		add("education_exact", true, func(p *screening.ProfileInput) { p.Education = education(m) })
		add("education_one_level_below", false, func(p *screening.ProfileInput) { p.Education = education(m - 1) })
	}
	// Domicile.
	if allow := c.DomicileProvinces; len(allow) > 0 {
		add("domicile_allowed", true, func(p *screening.ProfileInput) { p.DomicileProvince = allow[len(allow)-1] })
		var other vocab.Province
		for _, pr := range vocab.Provinces {
			if !slices.Contains(allow, pr) {
				other = pr
			}
		}
		add("domicile_wrong_province", false, func(p *screening.ProfileInput) { p.DomicileProvince = other })
	}
	return out
}
