package screening

import (
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
	para := "The Ministry of Planning seeks a data analyst to build statistical models of public expenditure, " +
		"maintain PostgreSQL databases, write SQL reports for federal departments and present findings to senior officers. " +
		"Candidates work with Python, Excel and Power BI dashboards, clean survey data, and support budget planning. " +
		"Knowledge of procurement rules, district development data and monitoring and evaluation frameworks is an advantage. "
	var b strings.Builder
	for b.Len() < 3000 {
		b.WriteString(para)
	}
	return JobInput{
		Title:       "Data Analyst (BPS-17)",
		Department:  "Planning and Development",
		Description: b.String()[:3000],
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
	para := "Data analyst with experience in SQL reporting, Python scripts and Excel dashboards for the provincial health department. " +
		"Maine district ke data ko clean kiya aur monthly reports banayi. Built statistical summaries of survey data, " +
		"trained staff on Power BI and maintained a Postgres database of facilities. "
	var b strings.Builder
	for b.Len() < 2000 {
		b.WriteString(para)
	}
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
		ResumeText: b.String()[:2000],
	}
}

func typicalInput() Input { return Input{Job: typicalJob(), Profile: typicalProfile()} }
