package screening

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/pvara-gov/pvara/internal/vocab"
)

func ip(n int) *int { return &n }

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// closesAt is 2026-03-01 23:59 PKT (the closing date is 2026-03-01).
var closesAt = time.Date(2026, 3, 1, 18, 59, 0, 0, time.UTC)

// typicalJob: a 3,000-character description, 6 required and 4 preferred
// skills.
func typicalJob() JobInput {
	b := strings.Builder{}
	b.WriteString("The Ministry of Planning seeks a data analyst to build statistical models of public expenditure, " +
		"maintain PostgreSQL databases, write SQL reports for federal departments and present findings to senior officers. ")
	b.WriteString(proseOf(1, 3000-b.Len()))
	return JobInput{
		Title:       "Data Analyst (BPS-17)",
		Department:  "Planning and Development",
		Description: b.String(),
		ClosesAt:    closesAt,
		Criteria: Criteria{
			MinEducation:       vocab.Bachelor,
			MinExperienceYears: 2,
			AgeMin:             ip(21),
			AgeMax:             ip(30),
			AgeRelaxationYears: ip(5),
			RequiredSkills:     []string{"SQL", "Python", "Statistics", "MS Excel", "PostgreSQL", "Data Analysis"},
			PreferredSkills:    []string{"Power BI", "Monitoring and Evaluation", "Survey Design", "R"},
			DomicileProvinces:  []vocab.Province{vocab.Punjab, vocab.Islamabad},
		},
	}
}

// typicalProfile: 5 experience entries, 15 skills, a 2,000-character résumé.
func typicalProfile() ProfileInput {
	b := strings.Builder{}
	b.WriteString("Data analyst with experience in SQL reporting, Python scripts and Excel dashboards. " +
		"Maine district ke data ko clean kiya aur monthly reports banayi. ")
	b.WriteString(proseOf(2, 2000-b.Len()))
	return ProfileInput{
		DateOfBirth:      date(1994, 7, 14),
		DomicileProvince: vocab.Punjab,
		Education: []EducationEntry{
			{Level: vocab.Intermediate, Field: "Pre-engineering", Year: 2011},
			{Level: vocab.Bachelor, Field: "Statistics", Year: 2015},
			{Level: vocab.Master, Field: "Economics", Year: 2018},
		},
		Experience: []ExperienceItem{
			{Title: "Intern, Bureau of Statistics", Start: date(2015, 6, 1), End: date(2015, 8, 31)},
			{Title: "Data Entry Operator", Start: date(2015, 9, 1), End: date(2017, 2, 28)},
			{Title: "Research Assistant", Start: date(2017, 1, 1), End: date(2019, 6, 30)},
			{Title: "Monitoring Officer", Start: date(2019, 7, 1), End: date(2022, 12, 31)},
			{Title: "Data Analyst", Start: date(2023, 1, 15)},
		},
		Skills: []string{"SQL", "python", "Excel", "Power BI", "statistics", "Data Analytics", "Postgres", "SPSS",
			"Stata", "report writing", "Urdu typing", "survey design", "GIS", "project management", "communication"},
		ResumeText: b.String(),
	}
}

// proseWords is a vocabulary of about 200 words of job advertisements and
// résumés (English and romanised Urdu), for texts with realistic numbers of
// distinct words.
var proseWords = strings.Fields(`
analysis analyst annual assessment assistant audit budget census clerk coordination data database dashboard
department development district division economic education employment engineering evaluation expenditure
federal field finance forecasting government grant health household implementation indicator infrastructure
inspection irrigation labour ledger literacy livestock management market ministry monitoring municipal
national nutrition officer operations pension planning policy population poverty procurement programme
project provincial public quality records recruitment regional register reporting research revenue review
rural sampling sanitation school secretariat sector services skills social statistics strategy supervision
survey tax technical training transport treasury urban verification water welfare workshop youth python sql
excel postgresql regression modelling visualisation stata spss tableau powerbi scripts automation pipeline
cleaning validation quarterly monthly briefing summaries presentation committee stakeholders donors partners
compliance accountability transparency governance reform digital portal systems software hardware network
security backup archive documentation manual guidelines standards benchmarks targets outcomes impact baseline
endline indicators framework logframe results matrix tajurba kaam zimmedari idara sarkari nizam tarteeb
jaiza mansooba hisaab kitaab riport tayyari nigrani tameer sehat taleem paani bijli sadak ilaqa zila soobah
wafaqi mulazmat bharti imtihan nateeja darkhwast`)

// proseOf writes about n characters of seeded pseudo-prose.
func proseOf(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, 99))
	var b strings.Builder
	for b.Len() < n {
		for range 6 + r.IntN(10) {
			b.WriteString(proseWords[r.IntN(len(proseWords))])
			b.WriteByte(' ')
		}
		b.WriteString("and the ")
		b.WriteString(proseWords[r.IntN(len(proseWords))])
		b.WriteString(". ")
	}
	return b.String()[:n]
}

func typicalInput() Input { return Input{Job: typicalJob(), Profile: typicalProfile()} }
