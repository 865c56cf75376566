package screening

import (
	"fmt"
	"testing"
	"time"

	"github.com/pvara-gov/pvara/internal/vocab"
)

// eligibleBase is a profile that meets every rule of baseJob (closing date
// 2026-03-01): each case changes one thing.
func baseJob() JobInput {
	return JobInput{
		Title:       "Assistant Director",
		Description: "Policy analysis and report writing.",
		ClosesAt:    closesAt,
		Criteria: Criteria{
			MinEducation:       vocab.Bachelor,
			MinExperienceYears: 3,
			AgeMin:             ip(21),
			AgeMax:             ip(30),
			DomicileProvinces:  []vocab.Province{vocab.Punjab, vocab.Islamabad},
		},
	}
}

func baseProfile() ProfileInput {
	return ProfileInput{
		DateOfBirth:      date(2000, 6, 15),
		DomicileProvince: vocab.Punjab,
		Education:        []EducationEntry{{Level: vocab.Bachelor, Field: "Economics", Year: 2021}},
		Experience:       []ExperienceItem{{Title: "Analyst", Start: date(2021, 1, 1)}},
		Skills:           []string{"report writing"},
	}
}

func reasonCodes(r Result) []string {
	out := make([]string, len(r.Reasons))
	for i, x := range r.Reasons {
		out[i] = x.Code
	}
	return out
}

// reasonFor returns the reason of the rule whose codes start with prefix.
func reasonFor(t *testing.T, r Result, prefix string) Reason {
	t.Helper()
	for _, x := range r.Reasons {
		if len(x.Code) >= len(prefix) && x.Code[:len(prefix)] == prefix {
			return x
		}
	}
	t.Fatalf("no %s reason in %v", prefix, reasonCodes(r))
	return Reason{}
}

func TestEligibilityAge(t *testing.T) {
	leapClosing := time.Date(2028, 2, 29, 12, 0, 0, 0, pkt)                                           // closing date 2028-02-29 (leap year)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, pkt) } // a closing instant on that PKT date
	cases := []struct {
		name     string
		closes   time.Time
		dob      time.Time
		min, max *int
		relax    *int
		wantCode string
	}{
		{"exactly the minimum age on the closing date", closesAt, date(2005, 3, 1), ip(21), ip(30), nil, ReasonAgeMet},
		{"minimum reached one day after the closing date", closesAt, date(2005, 3, 2), ip(21), ip(30), nil, ReasonAgeBelowMinimum},
		{"minimum reached one day before the closing date", closesAt, date(2005, 2, 28), ip(21), ip(30), nil, ReasonAgeMet},
		{"last day at the maximum age", closesAt, date(1995, 3, 2), ip(21), ip(30), nil, ReasonAgeMet},
		{"one past the maximum on the closing date", closesAt, date(1995, 3, 1), ip(21), ip(30), nil, ReasonAgeAboveMaximum},
		{"one past the maximum one day before the closing date", closesAt, date(1995, 2, 28), ip(21), ip(30), nil, ReasonAgeAboveMaximum},
		{"relaxation: last day at max+relaxation", closesAt, date(1990, 3, 2), ip(21), ip(30), ip(5), ReasonAgeMet},
		{"relaxation: one past max+relaxation", closesAt, date(1990, 3, 1), ip(21), ip(30), ip(5), ReasonAgeAboveMaximum},
		{"relaxation: within it", closesAt, date(1993, 1, 1), ip(21), ip(30), ip(5), ReasonAgeMet},
		{"relaxation does not lower the minimum", closesAt, date(2005, 3, 2), ip(21), ip(30), ip(5), ReasonAgeBelowMinimum},
		{"relaxation without a maximum is ignored", closesAt, date(1950, 1, 1), ip(21), nil, ip(5), ReasonAgeMet},
		{"only a maximum", closesAt, date(2015, 1, 1), nil, ip(30), nil, ReasonAgeMet},
		{"no limits", closesAt, date(2020, 1, 1), nil, nil, ip(5), ReasonAgeNotRestricted},
		{"no date of birth with limits", closesAt, time.Time{}, ip(21), ip(30), nil, ReasonAgeNotStated},
		{"no date of birth without limits", closesAt, time.Time{}, nil, nil, nil, ReasonAgeNotRestricted},
		{"born after the closing date", closesAt, date(2027, 1, 1), ip(21), nil, nil, ReasonAgeBelowMinimum},
		// 29 February birthdays: in a year without 29 February the birthday is 1 March.
		{"leap-day birthday, non-leap closing 28 Feb: not yet 21", day(2025, 2, 28), date(2004, 2, 29), ip(21), ip(30), nil, ReasonAgeBelowMinimum},
		{"leap-day birthday, non-leap closing 1 Mar: 21", day(2025, 3, 1), date(2004, 2, 29), ip(21), ip(30), nil, ReasonAgeMet},
		{"leap-day birthday, leap closing 29 Feb: 24", leapClosing, date(2004, 2, 29), ip(24), ip(30), nil, ReasonAgeMet},
		{"leap-day birthday, leap closing 28 Feb: 23", day(2028, 2, 28), date(2004, 2, 29), ip(24), ip(30), nil, ReasonAgeBelowMinimum},
		{"leap-day birthday, max 30, non-leap closing 28 Feb: still 30", day(2027, 2, 28), date(1996, 2, 29), ip(21), ip(30), nil, ReasonAgeMet},
		{"leap-day birthday, max 30, non-leap closing 1 Mar: 31", day(2027, 3, 1), date(1996, 2, 29), ip(21), ip(30), nil, ReasonAgeAboveMaximum},
		{"leap-day birthday, max 30, leap closing 29 Feb: 32", leapClosing, date(1996, 2, 29), ip(21), ip(31), nil, ReasonAgeAboveMaximum},
		// The closing date is the PKT date of the closing instant.
		{"closing instant 00:00 PKT is already that date", time.Date(2026, 2, 28, 19, 0, 0, 0, time.UTC), date(2005, 3, 1), ip(21), nil, nil, ReasonAgeMet},
		{"closing instant 23:59 PKT the day before", time.Date(2026, 2, 28, 18, 59, 0, 0, time.UTC), date(2005, 3, 1), ip(21), nil, nil, ReasonAgeBelowMinimum},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job := baseJob()
			job.ClosesAt = c.closes
			job.Criteria.MinExperienceYears = 0
			job.Criteria.AgeMin, job.Criteria.AgeMax, job.Criteria.AgeRelaxationYears = c.min, c.max, c.relax
			p := baseProfile()
			p.DateOfBirth = c.dob
			r := Score(Input{Job: job, Profile: p}, nil)
			got := reasonFor(t, r, "age_")
			if got.Code != c.wantCode {
				t.Fatalf("age reason %s (%s), want %s", got.Code, got.Message, c.wantCode)
			}
			wantMet := c.wantCode == ReasonAgeMet || c.wantCode == ReasonAgeNotRestricted
			if got.Met != wantMet || r.Eligible != wantMet {
				t.Fatalf("met %v eligible %v, want %v (%s)", got.Met, r.Eligible, wantMet, got.Message)
			}
		})
	}
}

func TestAgeOn(t *testing.T) {
	cases := []struct {
		dob  time.Time
		y    int
		m    time.Month
		d    int
		want int
	}{
		{date(2004, 2, 29), 2005, 2, 28, 0},
		{date(2004, 2, 29), 2005, 3, 1, 1},
		{date(2004, 2, 29), 2008, 2, 28, 3},
		{date(2004, 2, 29), 2008, 2, 29, 4},
		{date(2000, 12, 31), 2001, 12, 30, 0},
		{date(2000, 12, 31), 2001, 12, 31, 1},
		{date(2000, 1, 1), 2000, 1, 1, 0},
	}
	for _, c := range cases {
		if got := ageOn(c.dob, c.y, c.m, c.d); got != c.want {
			t.Errorf("ageOn(%s, %d-%02d-%02d) = %d, want %d", c.dob.Format(time.DateOnly), c.y, c.m, c.d, got, c.want)
		}
	}
}

func TestExperienceDays(t *testing.T) {
	closing := dayNumber(2026, 3, 1)
	open := time.Time{}
	item := func(s, e time.Time) ExperienceItem { return ExperienceItem{Title: "x", Start: s, End: e} }
	cases := []struct {
		name  string
		items []ExperienceItem
		want  int64
	}{
		{"none", nil, 0},
		{"open-ended counts to and including the closing date", []ExperienceItem{item(date(2026, 2, 1), open)}, 29},
		{"end date included", []ExperienceItem{item(date(2025, 1, 1), date(2025, 1, 31))}, 31},
		{"overlaps count once", []ExperienceItem{item(date(2020, 1, 1), date(2021, 12, 31)), item(date(2021, 1, 1), date(2022, 6, 30))}, 912},
		{"nested period counts once", []ExperienceItem{item(date(2020, 1, 1), date(2020, 12, 31)), item(date(2020, 3, 1), date(2020, 3, 31))}, 366},
		{"adjacent periods", []ExperienceItem{item(date(2021, 1, 1), date(2021, 12, 31)), item(date(2022, 1, 1), date(2022, 12, 31))}, 730},
		{"gap not counted", []ExperienceItem{item(date(2021, 1, 1), date(2021, 1, 10)), item(date(2021, 2, 1), date(2021, 2, 10))}, 20},
		{"open-ended overlapping a closed one", []ExperienceItem{item(date(2025, 3, 2), open), item(date(2025, 1, 1), date(2025, 12, 31))}, 425},
		{"starting after the closing date is ignored", []ExperienceItem{item(date(2026, 3, 2), open)}, 0},
		{"starting on the closing date counts one day", []ExperienceItem{item(date(2026, 3, 1), open)}, 1},
		{"ending after the closing date is cut", []ExperienceItem{item(date(2026, 2, 1), date(2027, 1, 1))}, 29},
		{"end before start is ignored", []ExperienceItem{item(date(2024, 1, 1), date(2023, 1, 1))}, 0},
		{"no start is ignored", []ExperienceItem{item(time.Time{}, date(2023, 1, 1))}, 0},
		{"order does not matter", []ExperienceItem{item(date(2021, 1, 1), date(2022, 6, 30)), item(date(2020, 1, 1), date(2021, 12, 31))}, 912},
	}
	for _, c := range cases {
		if got := experienceDays(c.items, closing); got != c.want {
			t.Errorf("%s: %d days, want %d", c.name, got, c.want)
		}
	}
}

func TestEligibilityExperience(t *testing.T) {
	open := time.Time{}
	item := func(s, e time.Time) ExperienceItem { return ExperienceItem{Title: "Analyst", Start: s, End: e} }
	cases := []struct {
		name  string
		min   int
		items []ExperienceItem
		want  string
	}{
		{"three calendar years, no leap day", 3, []ExperienceItem{item(date(2021, 1, 1), date(2023, 12, 31))}, ReasonExperienceMet},
		{"three calendar years with a leap day", 3, []ExperienceItem{item(date(2019, 3, 1), date(2022, 2, 28))}, ReasonExperienceMet},
		{"three years one day short", 3, []ExperienceItem{item(date(2021, 1, 2), date(2023, 12, 31))}, ReasonExperienceBelowMinimum},
		{"open-ended, three years to the closing date", 3, []ExperienceItem{item(date(2023, 3, 2), open)}, ReasonExperienceMet},
		{"open-ended, one month short", 3, []ExperienceItem{item(date(2023, 4, 1), open)}, ReasonExperienceBelowMinimum},
		{"overlaps are not counted twice", 3, []ExperienceItem{item(date(2020, 1, 1), date(2021, 12, 31)), item(date(2021, 1, 1), date(2022, 6, 30))}, ReasonExperienceBelowMinimum},
		{"adjacent periods add up", 3, []ExperienceItem{item(date(2020, 1, 1), date(2020, 12, 31)), item(date(2021, 1, 1), date(2022, 12, 31))}, ReasonExperienceMet},
		{"work after the closing date does not count", 3, []ExperienceItem{item(date(2023, 4, 1), open), item(date(2026, 3, 2), date(2026, 12, 31))}, ReasonExperienceBelowMinimum},
		{"a period running past the closing date is cut", 1, []ExperienceItem{item(date(2025, 3, 3), date(2027, 1, 1))}, ReasonExperienceBelowMinimum},
		{"a period running past the closing date, enough before it", 1, []ExperienceItem{item(date(2025, 3, 1), date(2027, 1, 1))}, ReasonExperienceMet},
		{"no experience, minimum 1", 1, nil, ReasonExperienceBelowMinimum},
		{"no minimum", 0, nil, ReasonExperienceNoMinimum},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job := baseJob()
			job.Criteria.MinExperienceYears = c.min
			p := baseProfile()
			p.Experience = c.items
			r := Score(Input{Job: job, Profile: p}, nil)
			got := reasonFor(t, r, "experience_")
			if got.Code != c.want {
				t.Fatalf("experience reason %s (%s), want %s", got.Code, got.Message, c.want)
			}
			if r.Eligible != (c.want != ReasonExperienceBelowMinimum) {
				t.Fatalf("eligible %v for %s", r.Eligible, got.Code)
			}
		})
	}
}

func TestRequiredDays(t *testing.T) {
	// N whole calendar years always meet N years: the fewest days N
	// consecutive years can hold is 365·N plus their fewest leap days.
	for n := 1; n <= 40; n++ {
		fewest := int64(1 << 62)
		for start := 1990; start < 2100-n; start++ {
			fewest = min(fewest, dayNumber(start+n, 1, 1)-dayNumber(start, 1, 1), dayNumber(start+n, 3, 1)-dayNumber(start, 3, 1))
		}
		if requiredDays(n) > fewest {
			t.Errorf("%d years require %d days, but %d calendar years can hold %d", n, requiredDays(n), n, fewest)
		}
		if requiredDays(n) < int64(365*n) {
			t.Errorf("%d years require %d days, fewer than 365 a year", n, requiredDays(n))
		}
	}
}

func TestEligibilityEducation(t *testing.T) {
	levels := append([]vocab.EducationLevel{""}, vocab.EducationLevels...)
	for _, min := range levels {
		for _, held := range levels {
			t.Run(fmt.Sprintf("min=%q held=%q", min, held), func(t *testing.T) {
				job := baseJob()
				job.Criteria.MinEducation = min
				p := baseProfile()
				p.Education = nil
				if held != "" {
					// An unranked entry and a lower one never raise the level.
					p.Education = []EducationEntry{{Level: "diploma"}, {Level: held}, {Level: vocab.Matric}}
				}
				r := Score(Input{Job: job, Profile: p}, nil)
				got := reasonFor(t, r, "education_")
				var want string
				switch {
				case min == "":
					want = ReasonEducationNoMinimum
				case held == "":
					want = ReasonEducationNotStated
				case held.Rank() < min.Rank():
					want = ReasonEducationBelowMinimum
				default:
					want = ReasonEducationMet
				}
				if got.Code != want {
					t.Fatalf("education reason %s (%s), want %s", got.Code, got.Message, want)
				}
				wantMet := want == ReasonEducationMet || want == ReasonEducationNoMinimum
				if got.Met != wantMet || r.Eligible != wantMet {
					t.Fatalf("met %v eligible %v, want %v", got.Met, r.Eligible, wantMet)
				}
			})
		}
	}
}

func TestEligibilityDomicile(t *testing.T) {
	cases := []struct {
		name  string
		allow []vocab.Province
		have  vocab.Province
		want  string
	}{
		{"no restriction", nil, vocab.Sindh, ReasonDomicileNotRestricted},
		{"no restriction, none stated", nil, "", ReasonDomicileNotRestricted},
		{"allowed", []vocab.Province{vocab.Punjab, vocab.Islamabad}, vocab.Islamabad, ReasonDomicileMet},
		{"not allowed", []vocab.Province{vocab.Punjab, vocab.Islamabad}, vocab.Sindh, ReasonDomicileNotEligible},
		{"single province, other", []vocab.Province{vocab.Balochistan}, vocab.KPK, ReasonDomicileNotEligible},
		{"none stated", []vocab.Province{vocab.GB}, "", ReasonDomicileNotStated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job := baseJob()
			job.Criteria.DomicileProvinces = c.allow
			p := baseProfile()
			p.DomicileProvince = c.have
			r := Score(Input{Job: job, Profile: p}, nil)
			got := reasonFor(t, r, "domicile_")
			if got.Code != c.want {
				t.Fatalf("domicile reason %s (%s), want %s", got.Code, got.Message, c.want)
			}
			wantMet := c.want == ReasonDomicileMet || c.want == ReasonDomicileNotRestricted
			if got.Met != wantMet || r.Eligible != wantMet {
				t.Fatalf("met %v eligible %v, want %v", got.Met, r.Eligible, wantMet)
			}
		})
	}
}

func TestReasonsOrderAndMessages(t *testing.T) {
	job := baseJob()
	job.Criteria.AgeRelaxationYears = ip(2)
	p := baseProfile()
	p.DateOfBirth = date(1993, 1, 1)
	p.DomicileProvince = vocab.Sindh
	p.Education = []EducationEntry{{Level: vocab.Intermediate}}
	p.Experience = []ExperienceItem{{Title: "Clerk", Start: date(2024, 1, 1), End: date(2024, 12, 31)}}
	r := Score(Input{Job: job, Profile: p}, nil)
	want := []string{ReasonEducationBelowMinimum, ReasonExperienceBelowMinimum, ReasonAgeAboveMaximum, ReasonDomicileNotEligible}
	if fmt.Sprint(reasonCodes(r)) != fmt.Sprint(want) {
		t.Fatalf("reasons %v, want %v", reasonCodes(r), want)
	}
	msgs := []string{
		"Highest education is intermediate; the job requires at least bachelor.",
		"Experience up to the closing date (2026-03-01) is 1.00 years (366 days); the job requires at least 3 years (1095 days).",
		"Age on the closing date (2026-03-01) is 33 completed years; the job's maximum age is 32 (30 plus 2 years of relaxation).",
		"Domicile is sindh; the job is open to the domicile of punjab or islamabad.",
	}
	for i, m := range msgs {
		if r.Reasons[i].Message != m {
			t.Errorf("reason %d message\n got %q\nwant %q", i, r.Reasons[i].Message, m)
		}
	}
	if r.Eligible {
		t.Fatal("eligible with four failed rules")
	}
}

// Ineligible is a flag, not a low score: the age does not enter the score.
func TestIneligibleStillScored(t *testing.T) {
	in := typicalInput()
	ok := Score(in, nil)
	in.Profile.DateOfBirth = date(1980, 1, 1)
	old := Score(in, nil)
	if !ok.Eligible || old.Eligible {
		t.Fatalf("eligible %v / %v, want true / false", ok.Eligible, old.Eligible)
	}
	if old.Score != ok.Score || old.Score == 0 {
		t.Fatalf("score %v for the ineligible twin, %v for the eligible one", old.Score, ok.Score)
	}
}
