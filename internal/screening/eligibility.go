package screening

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/pvara-gov/pvara/internal/vocab"
)

// Eligibility is judged on the job's closing date: the calendar date, in
// Pakistan Standard Time (UTC+5, no daylight saving), of the instant
// Job.ClosesAt. Dates of the profile (date of birth, experience start and
// end) are calendar dates: their year, month and day are read as stored and
// the clock and zone are ignored.
var pkt = time.FixedZone("PKT", 5*60*60)

// Reason codes. They are stable: clients and stored results rely on them.
// Each rule gives exactly one reason, in this order: education, experience,
// age, domicile.
const (
	ReasonEducationMet           = "education_met"
	ReasonEducationBelowMinimum  = "education_below_minimum"
	ReasonEducationNotStated     = "education_not_stated"
	ReasonEducationNoMinimum     = "education_no_minimum"
	ReasonExperienceMet          = "experience_met"
	ReasonExperienceBelowMinimum = "experience_below_minimum"
	ReasonExperienceNoMinimum    = "experience_no_minimum"
	ReasonAgeMet                 = "age_met"
	ReasonAgeBelowMinimum        = "age_below_minimum"
	ReasonAgeAboveMaximum        = "age_above_maximum"
	ReasonAgeNotStated           = "age_not_stated"
	ReasonAgeNotRestricted       = "age_not_restricted"
	ReasonDomicileMet            = "domicile_met"
	ReasonDomicileNotEligible    = "domicile_not_eligible"
	ReasonDomicileNotStated      = "domicile_not_stated"
	ReasonDomicileNotRestricted  = "domicile_not_restricted"
)

// Experience years. A year of experience is the mean Gregorian year,
// 365.2425 days; a minimum of N years requires at least ⌊N × 365.2425⌋ days
// in the union of the experience periods. N whole calendar years of work
// always meet N years (they hold at least ⌊N × 365.2425⌋ days); a shortfall
// of 28 days or more always fails.
const (
	yearTenThousandthsOfDays = 3652425 // 365.2425 days × 10,000
)

// requiredDays is the number of days a minimum of n years requires.
func requiredDays(n int) int64 { return int64(n) * yearTenThousandthsOfDays / 10000 }

// dayNumber is the number of days from 1970-01-01 to the civil date y-m-d.
func dayNumber(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func civilDay(t time.Time) int64 {
	y, m, d := t.Date()
	return dayNumber(y, m, d)
}

// closingDate is the civil date, in PKT, of the job's closing instant.
func closingDate(closesAt time.Time) (int, time.Month, int) {
	return closesAt.In(pkt).Date()
}

// ageOn is the age in completed years on the civil date y-m-d of a person
// born on the civil date dob. A birthday counts from its first moment. A
// person born on 29 February completes a year on 1 March in a year without
// 29 February (on 28 February they have not yet reached it), the
// convention of English law and of most civil registries, chosen and
// documented here (docs/screening.md); in a leap year they complete it on
// 29 February.
func ageOn(dob time.Time, y int, m time.Month, d int) int {
	by, bm, bd := dob.Date()
	age := y - by
	if m < bm || m == bm && d < bd {
		age--
	}
	return age
}

// experienceDays is the number of calendar days, up to and including the
// closing day, covered by at least one experience period. A period covers
// its start date through its end date, both included; a period without an
// end (still held) runs to the closing date; a period ending after the
// closing date is cut there; a period starting after the closing date, or
// ending before it starts, counts nothing. Overlapping periods count once.
func experienceDays(items []ExperienceItem, closing int64) int64 {
	type span struct{ s, e int64 } // [s, e)
	var arr [16]span
	spans := arr[:0]
	limit := closing + 1
	for _, it := range items {
		if it.Start.IsZero() {
			continue
		}
		s := civilDay(it.Start)
		e := limit
		if !it.End.IsZero() {
			e = min(civilDay(it.End)+1, limit)
		}
		if s > closing || e <= s {
			continue
		}
		spans = append(spans, span{s, e})
	}
	slices.SortFunc(spans, func(a, b span) int {
		if c := cmp.Compare(a.s, b.s); c != 0 {
			return c
		}
		return cmp.Compare(a.e, b.e)
	})
	var total int64
	var cs, ce int64
	open := false
	for _, sp := range spans {
		if open && sp.s <= ce {
			ce = max(ce, sp.e)
			continue
		}
		if open {
			total += ce - cs
		}
		cs, ce, open = sp.s, sp.e, true
	}
	if open {
		total += ce - cs
	}
	return total
}

// highestEducation is the rank of the highest recognised level (0 when
// none is).
func highestEducation(ed []EducationEntry) int {
	best := 0
	for _, e := range ed {
		best = max(best, e.Level.Rank())
	}
	return best
}

// eligibility is what the rules found, with what scoring reuses.
type eligibility struct {
	reasons        []Reason
	eligible       bool
	educationRank  int   // highest level held, 0 when none
	experienceDays int64 // union of periods up to the closing date
}

func evaluate(in Input) eligibility {
	job, p := in.Job, in.Profile
	cy, cm, cd := closingDate(job.ClosesAt)
	closing := dayNumber(cy, cm, cd)
	closingStr := formatDate(cy, cm, cd)
	el := eligibility{reasons: make([]Reason, 0, 4), eligible: true}
	add := func(code string, met bool, msg string) {
		el.reasons = append(el.reasons, Reason{Code: code, Message: msg, Met: met})
		if !met {
			el.eligible = false
		}
	}

	// Education.
	el.educationRank = highestEducation(p.Education)
	minEd := job.Criteria.MinEducation
	switch {
	case !minEd.Valid():
		add(ReasonEducationNoMinimum, true, "The job sets no minimum education.")
	case el.educationRank == 0:
		add(ReasonEducationNotStated, false, "No recognised education level is stated; the job requires at least "+string(minEd)+".")
	case el.educationRank < minEd.Rank():
		add(ReasonEducationBelowMinimum, false, "Highest education is "+levelName(el.educationRank)+"; the job requires at least "+string(minEd)+".")
	default:
		add(ReasonEducationMet, true, "Highest education is "+levelName(el.educationRank)+"; the job requires at least "+string(minEd)+".")
	}

	// Experience.
	el.experienceDays = experienceDays(p.Experience, closing)
	have := "Experience up to the closing date (" + closingStr + ") is " + formatYears(el.experienceDays) +
		" (" + strconv.FormatInt(el.experienceDays, 10) + " days)"
	if n := job.Criteria.MinExperienceYears; n <= 0 {
		add(ReasonExperienceNoMinimum, true, have+"; the job sets no minimum experience.")
	} else {
		need := "; the job requires at least " + plural(n, "year") + " (" + strconv.FormatInt(requiredDays(n), 10) + " days)."
		if el.experienceDays < requiredDays(n) {
			add(ReasonExperienceBelowMinimum, false, have+need)
		} else {
			add(ReasonExperienceMet, true, have+need)
		}
	}

	// Age.
	c := job.Criteria
	if c.AgeMin == nil && c.AgeMax == nil {
		add(ReasonAgeNotRestricted, true, "The job sets no age limits.")
	} else if p.DateOfBirth.IsZero() {
		add(ReasonAgeNotStated, false, "No date of birth is stated; the job's age limits are "+ageRange(c)+".")
	} else {
		age := ageOn(p.DateOfBirth, cy, cm, cd)
		have := "Age on the closing date (" + closingStr + ") is " + plural(age, "completed year")
		switch {
		case c.AgeMin != nil && age < *c.AgeMin:
			add(ReasonAgeBelowMinimum, false, have+"; the job's minimum age is "+strconv.Itoa(*c.AgeMin)+".")
		case c.AgeMax != nil && age > maxAge(c):
			add(ReasonAgeAboveMaximum, false, have+"; the job's maximum age is "+maxAgeText(c)+".")
		default:
			add(ReasonAgeMet, true, have+"; the job's age limits are "+ageRange(c)+".")
		}
	}

	// Domicile.
	if len(job.Criteria.DomicileProvinces) == 0 {
		add(ReasonDomicileNotRestricted, true, "The job is open to every domicile.")
	} else {
		open := "the job is open to the domicile of " + vocab.Words(job.Criteria.DomicileProvinces) + "."
		switch {
		case p.DomicileProvince == "":
			add(ReasonDomicileNotStated, false, "No domicile is stated; "+open)
		case slices.Contains(job.Criteria.DomicileProvinces, p.DomicileProvince):
			add(ReasonDomicileMet, true, "Domicile is "+string(p.DomicileProvince)+"; "+open)
		default:
			add(ReasonDomicileNotEligible, false, "Domicile is "+string(p.DomicileProvince)+"; "+open)
		}
	}
	return el
}

func maxAge(c Criteria) int {
	m := *c.AgeMax
	if c.AgeRelaxationYears != nil && *c.AgeRelaxationYears > 0 {
		m += *c.AgeRelaxationYears
	}
	return m
}

func maxAgeText(c Criteria) string {
	if c.AgeRelaxationYears != nil && *c.AgeRelaxationYears > 0 {
		return strconv.Itoa(maxAge(c)) + " (" + strconv.Itoa(*c.AgeMax) + " plus " + plural(*c.AgeRelaxationYears, "year") + " of relaxation)"
	}
	return strconv.Itoa(*c.AgeMax)
}

func ageRange(c Criteria) string {
	switch {
	case c.AgeMin != nil && c.AgeMax != nil:
		return strconv.Itoa(*c.AgeMin) + " to " + maxAgeText(c)
	case c.AgeMin != nil:
		return "at least " + strconv.Itoa(*c.AgeMin)
	default:
		return "at most " + maxAgeText(c)
	}
}

func levelName(rank int) string {
	if rank < 1 || rank > len(vocab.EducationLevels) {
		return "none"
	}
	return string(vocab.EducationLevels[rank-1])
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// formatYears writes days as years with two decimals, rounded down (so a
// shortfall never shows as the required number).
func formatYears(days int64) string {
	h := days * 1000000 / yearTenThousandthsOfDays // hundredths of a year
	return strconv.FormatInt(h/100, 10) + "." + twoDigits(h%100) + " years"
}

func twoDigits(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

func formatDate(y int, m time.Month, d int) string {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}
