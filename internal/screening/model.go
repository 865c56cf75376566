// Package screening is the screening module: a versioned, deterministic and
// explainable scoring model (this file declares its input and output), the
// worker that scores every submitted application and publishes
// screening.scored, the per-job ranking, the candidate's explanation and the
// fairness report. It owns the PostgreSQL schema `screening`.
//
// The model never sees a name, gender, CNIC or anything else that identifies
// a protected group: Input has no field for them. It never rejects anyone:
// Eligible is a flag with reasons and the score ranks; people decide.
package screening

import (
	"time"

	"github.com/pvara-gov/pvara/internal/vocab"
)

// Input is everything the model reads: the job as it stands and the
// candidate's profile as submitted. The same Input always gives the same
// Result, byte for byte.
type Input struct {
	Job     JobInput     `json:"job"`
	Profile ProfileInput `json:"profile"`
}

// JobInput is the part of a job the model reads. Eligibility is evaluated at
// ClosesAt (what was true at the deadline is what is judged).
type JobInput struct {
	Title       string    `json:"title"`
	Department  string    `json:"department"`
	Description string    `json:"description"`
	ClosesAt    time.Time `json:"closes_at"`
	Criteria    Criteria  `json:"criteria"`
}

// Criteria mirrors the job's eligibility criteria (jobs.Criteria) in the
// shared vocabulary, so the model depends on no other module.
type Criteria struct {
	MinEducation       vocab.EducationLevel `json:"min_education"`
	MinExperienceYears int                  `json:"min_experience_years"`
	AgeMin             *int                 `json:"age_min,omitempty"`
	AgeMax             *int                 `json:"age_max,omitempty"`
	AgeRelaxationYears *int                 `json:"age_relaxation_years,omitempty"`
	RequiredSkills     []string             `json:"required_skills"`
	PreferredSkills    []string             `json:"preferred_skills"`
	DomicileProvinces  []vocab.Province     `json:"domicile_provinces,omitempty"`
}

// ProfileInput is the submitted profile without anything that identifies a
// person or a protected group (no name, gender, CNIC or phone). The date of
// birth is read only to apply the job's age limits.
type ProfileInput struct {
	DateOfBirth      time.Time        `json:"date_of_birth"`
	DomicileProvince vocab.Province   `json:"domicile_province"`
	Education        []EducationEntry `json:"education"`
	Experience       []ExperienceItem `json:"experience"`
	Skills           []string         `json:"skills"`
	ResumeText       string           `json:"resume_text"`
}

// EducationEntry is one qualification.
type EducationEntry struct {
	Level vocab.EducationLevel `json:"level"`
	Field string               `json:"field"`
	Year  int                  `json:"year"`
}

// ExperienceItem is one job held; a zero End means it is still held (counted
// to the job's closing date).
type ExperienceItem struct {
	Title string    `json:"title"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitempty"`
}

// Result is the model's output: the score ranks, Eligible and Reasons say
// which rules the candidate meets, Breakdown says where every point came
// from (the components add up to Score exactly).
type Result struct {
	Eligible     bool        `json:"eligible"`
	Reasons      []Reason    `json:"reasons"`
	Score        float64     `json:"score"`
	Breakdown    []Component `json:"breakdown"`
	ModelVersion string      `json:"model_version"`
	// CorpusID is the ID of the corpus the text relevance was computed
	// with ("" for none: the job's own text); with ModelVersion and the
	// Input it reproduces the Result.
	CorpusID string `json:"corpus_id"`
}

// Reason is one eligibility finding: a stable code and a sentence a
// candidate understands.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Met is true for a rule the candidate meets, false for one they fail.
	Met bool `json:"met"`
}

// Component is one part of the score: its name, its weight (the most it
// can contribute) and what it contributed.
type Component struct {
	Name   string  `json:"name"`
	Weight float64 `json:"weight"`
	Points float64 `json:"points"`
	Detail string  `json:"detail,omitempty"`
}
