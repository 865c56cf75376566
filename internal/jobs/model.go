package jobs

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/vocab"
)

// Status is a job's place in its lifecycle.
type Status string

// Statuses. A job is created as a draft, published (visible on the board
// from opens_at), and closed by a recruiter or by its deadline.
const (
	StatusDraft     Status = "draft"
	StatusPublished Status = "published"
	StatusClosed    Status = "closed"
	StatusArchived  Status = "archived"
)

// Criteria are a job's structured eligibility criteria. Screening evaluates
// them at the job's closing date.
type Criteria struct {
	MinEducation       vocab.EducationLevel `json:"min_education"`
	MinExperienceYears int                  `json:"min_experience_years"`
	AgeMin             *int                 `json:"age_min,omitempty"`
	AgeMax             *int                 `json:"age_max,omitempty"`
	// AgeRelaxationYears extends AgeMax (government posts grant it to some
	// groups); it needs AgeMax.
	AgeRelaxationYears *int     `json:"age_relaxation_years,omitempty"`
	RequiredSkills     []string `json:"required_skills"`
	PreferredSkills    []string `json:"preferred_skills"`
	// DomicileProvinces restricts who may apply; empty means everyone.
	DomicileProvinces []vocab.Province `json:"domicile_provinces,omitempty"`
}

// Job is a posting as stored, with Status the stored status. Use
// EffectiveStatus to show it: a published job past its deadline is closed
// even before the maintenance task has written that down.
type Job struct {
	ID          uuid.UUID
	OrgID       uuid.UUID
	Status      Status
	Version     int
	Title       string
	Department  string
	Description string
	Location    string
	Province    *vocab.Province
	Grade       *string
	Positions   int
	OpensAt     time.Time
	ClosesAt    time.Time
	Criteria    Criteria
	CreatedBy   uuid.UUID
	CreatedAt   time.Time
	UpdatedAt   time.Time
	PublishedAt *time.Time
	ClosedAt    *time.Time
}

// effectiveStatus is the status to show at now.
func effectiveStatus(s Status, closesAt, now time.Time) Status {
	if s == StatusPublished && !now.Before(closesAt) {
		return StatusClosed
	}
	return s
}

// EffectiveStatus is the job's status at now.
func (j Job) EffectiveStatus(now time.Time) Status { return effectiveStatus(j.Status, j.ClosesAt, now) }

// OpenAt reports whether candidates may apply at now.
func (j Job) OpenAt(now time.Time) bool {
	return j.Status == StatusPublished && !now.Before(j.OpensAt) && now.Before(j.ClosesAt)
}

// ETag is the job's entity tag at now. It changes with every stored
// version and also when the job passes its deadline (the shown status
// changes before the stored one), so a client never revalidates a
// "published" copy of a job that has closed.
func (j Job) ETag(now time.Time) string {
	if j.Status == StatusPublished && j.EffectiveStatus(now) == StatusClosed {
		return fmt.Sprintf(`"v%d-closed"`, j.Version)
	}
	return fmt.Sprintf(`"v%d"`, j.Version)
}

// Summary is a job as listed on the board: the description is cut to an
// excerpt.
type Summary struct {
	ID          uuid.UUID
	OrgID       uuid.UUID
	Status      Status
	Version     int
	Title       string
	Department  string
	Excerpt     string
	Location    string
	Province    *vocab.Province
	Grade       *string
	Positions   int
	OpensAt     time.Time
	ClosesAt    time.Time
	Criteria    Criteria
	PublishedAt *time.Time
}

// Input is what a recruiter writes: every field of a new job, or a job's
// fields after a patch has been applied.
type Input struct {
	Title       string
	Department  string
	Description string
	Location    string
	Province    *string
	Grade       *string
	Positions   int
	OpensAt     time.Time
	ClosesAt    time.Time
	Criteria    CriteriaInput
}

// CriteriaInput is criteria as written, before normalisation.
type CriteriaInput struct {
	MinEducation       string
	MinExperienceYears int
	AgeMin             *int
	AgeMax             *int
	AgeRelaxationYears *int
	RequiredSkills     []string
	PreferredSkills    []string
	DomicileProvinces  []string
}

// Patch is a partial update: nil fields are left alone. Criteria, when
// present, replaces the whole criteria object. Province and Grade are
// cleared with an empty string.
type Patch struct {
	Title       *string
	Department  *string
	Description *string
	Location    *string
	Province    *string
	Grade       *string
	Positions   *int
	OpensAt     *time.Time
	ClosesAt    *time.Time
	Criteria    *CriteriaInput
}

// Empty reports whether the patch changes nothing.
func (p Patch) Empty() bool {
	return p.Title == nil && p.Department == nil && p.Description == nil && p.Location == nil &&
		p.Province == nil && p.Grade == nil && p.Positions == nil && p.OpensAt == nil && p.ClosesAt == nil &&
		p.Criteria == nil
}

// input returns the job's current fields as an Input.
func (j Job) input() Input {
	in := Input{
		Title: j.Title, Department: j.Department, Description: j.Description, Location: j.Location,
		Grade: j.Grade, Positions: j.Positions, OpensAt: j.OpensAt, ClosesAt: j.ClosesAt,
		Criteria: CriteriaInput{
			MinEducation: string(j.Criteria.MinEducation), MinExperienceYears: j.Criteria.MinExperienceYears,
			AgeMin: j.Criteria.AgeMin, AgeMax: j.Criteria.AgeMax, AgeRelaxationYears: j.Criteria.AgeRelaxationYears,
			RequiredSkills: j.Criteria.RequiredSkills, PreferredSkills: j.Criteria.PreferredSkills,
		},
	}
	if j.Province != nil {
		p := string(*j.Province)
		in.Province = &p
	}
	for _, p := range j.Criteria.DomicileProvinces {
		in.Criteria.DomicileProvinces = append(in.Criteria.DomicileProvinces, string(p))
	}
	return in
}

// apply returns in with the patch's fields.
func (p Patch) apply(in Input) Input {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&in.Title, p.Title)
	set(&in.Department, p.Department)
	set(&in.Description, p.Description)
	set(&in.Location, p.Location)
	if p.Province != nil {
		in.Province = p.Province
		if *p.Province == "" {
			in.Province = nil
		}
	}
	if p.Grade != nil {
		in.Grade = p.Grade
		if strings.TrimSpace(*p.Grade) == "" {
			in.Grade = nil
		}
	}
	if p.Positions != nil {
		in.Positions = *p.Positions
	}
	if p.OpensAt != nil {
		in.OpensAt = *p.OpensAt
	}
	if p.ClosesAt != nil {
		in.ClosesAt = *p.ClosesAt
	}
	if p.Criteria != nil {
		in.Criteria = *p.Criteria
	}
	return in
}

// Limits of a job's fields.
const (
	maxTitle        = 200
	maxDepartment   = 120
	maxDescription  = 20000
	maxLocation     = 200
	maxGrade        = 40
	maxPositions    = 100000
	maxSkills       = 30
	maxSkillLen     = 60
	maxExperience   = 50
	minAge, maxAge  = 15, 100
	maxRelaxation   = 15
	maxOpenDuration = 366 * 24 * time.Hour
)

// fields is a validated, normalised Input ready to store.
type fields struct {
	Title, Department, Description, Location string
	Province                                 *vocab.Province
	Grade                                    *string
	Positions                                int
	OpensAt, ClosesAt                        time.Time
	Criteria                                 Criteria
}

func checkText(v *apperr.Validator, loc, s string, min, max int) string {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		v.Add(loc, "is required")
	case n < min:
		v.Add(loc, fmt.Sprintf("must be at least %d characters", min))
	case n > max:
		v.Add(loc, fmt.Sprintf("must be at most %d characters", max))
	}
	return s
}

// skills validates and normalises a skill list: lower-case, trimmed, inner
// blanks collapsed, duplicates dropped; an empty or over-long entry is an
// error at its index.
func skills(v *apperr.Validator, loc string, in []string) []string {
	for i, s := range in {
		n := vocab.NormalizeSkill(s)
		switch {
		case n == "":
			v.Add(fmt.Sprintf("%s[%d]", loc, i), "must not be empty")
		case utf8.RuneCountInString(n) > maxSkillLen:
			v.Add(fmt.Sprintf("%s[%d]", loc, i), fmt.Sprintf("must be at most %d characters", maxSkillLen))
		}
	}
	out := vocab.NormalizeSkills(in)
	if len(out) > maxSkills {
		v.Add(loc, fmt.Sprintf("must list at most %d skills", maxSkills))
	}
	return out
}

// validate checks in and returns it normalised, or a 422 naming every bad
// field (locations are body.<field> as the API spells them). now is used
// for "the deadline must be in the future" when requireFuture is set.
func validate(in Input, now time.Time, requireFuture bool) (fields, error) {
	var v apperr.Validator
	f := fields{
		Title:       checkText(&v, "body.title", in.Title, 3, maxTitle),
		Department:  checkText(&v, "body.department", in.Department, 2, maxDepartment),
		Description: checkText(&v, "body.description", in.Description, 10, maxDescription),
		Location:    checkText(&v, "body.location", in.Location, 2, maxLocation),
		Positions:   in.Positions,
		OpensAt:     in.OpensAt.UTC().Truncate(time.Microsecond),
		ClosesAt:    in.ClosesAt.UTC().Truncate(time.Microsecond),
	}
	if in.Province != nil {
		p := vocab.Province(strings.ToLower(strings.TrimSpace(*in.Province)))
		v.Check(p.Valid(), "body.province", "must be one of "+vocab.Words(vocab.Provinces))
		f.Province = &p
	}
	if in.Grade != nil {
		g := strings.TrimSpace(*in.Grade)
		v.Check(utf8.RuneCountInString(g) <= maxGrade, "body.grade", fmt.Sprintf("must be at most %d characters", maxGrade))
		if g != "" {
			f.Grade = &g
		}
	}
	v.Check(in.Positions >= 1 && in.Positions <= maxPositions, "body.positions", fmt.Sprintf("must be between 1 and %d", maxPositions))
	switch {
	case in.OpensAt.IsZero():
		v.Add("body.opens_at", "is required")
	case in.ClosesAt.IsZero():
		v.Add("body.closes_at", "is required")
	case !in.ClosesAt.After(in.OpensAt):
		v.Add("body.closes_at", "must be after opens_at")
	case in.ClosesAt.Sub(in.OpensAt) > maxOpenDuration:
		v.Add("body.closes_at", "must be within 366 days of opens_at")
	case requireFuture && !in.ClosesAt.After(now):
		v.Add("body.closes_at", "must be in the future")
	}

	c := in.Criteria
	const cl = "body.criteria."
	f.Criteria.MinEducation = vocab.EducationLevel(strings.ToLower(strings.TrimSpace(c.MinEducation)))
	if c.MinEducation == "" {
		v.Add(cl+"min_education", "is required: one of "+vocab.Words(vocab.EducationLevels))
	} else {
		v.Check(f.Criteria.MinEducation.Valid(), cl+"min_education", "must be one of "+vocab.Words(vocab.EducationLevels))
	}
	f.Criteria.MinExperienceYears = c.MinExperienceYears
	v.Check(c.MinExperienceYears >= 0 && c.MinExperienceYears <= maxExperience, cl+"min_experience_years",
		fmt.Sprintf("must be between 0 and %d", maxExperience))
	ageOK := func(loc string, a *int) {
		if a != nil {
			v.Check(*a >= minAge && *a <= maxAge, cl+loc, fmt.Sprintf("must be between %d and %d", minAge, maxAge))
		}
	}
	ageOK("age_min", c.AgeMin)
	ageOK("age_max", c.AgeMax)
	if c.AgeMin != nil && c.AgeMax != nil && *c.AgeMin > *c.AgeMax {
		v.Add(cl+"age_max", "must not be less than age_min")
	}
	if c.AgeRelaxationYears != nil {
		switch {
		case *c.AgeRelaxationYears < 0 || *c.AgeRelaxationYears > maxRelaxation:
			v.Add(cl+"age_relaxation_years", fmt.Sprintf("must be between 0 and %d", maxRelaxation))
		case c.AgeMax == nil:
			v.Add(cl+"age_relaxation_years", "needs age_max (the relaxation extends the upper age limit)")
		}
	}
	f.Criteria.AgeMin, f.Criteria.AgeMax, f.Criteria.AgeRelaxationYears = c.AgeMin, c.AgeMax, c.AgeRelaxationYears
	f.Criteria.RequiredSkills = skills(&v, cl+"required_skills", c.RequiredSkills)
	f.Criteria.PreferredSkills = skills(&v, cl+"preferred_skills", c.PreferredSkills)
	for i, p := range c.DomicileProvinces {
		pv := vocab.Province(strings.ToLower(strings.TrimSpace(p)))
		if !pv.Valid() {
			v.Add(fmt.Sprintf("%sdomicile_provinces[%d]", cl, i), "must be one of "+vocab.Words(vocab.Provinces))
			continue
		}
		if !containsProvince(f.Criteria.DomicileProvinces, pv) {
			f.Criteria.DomicileProvinces = append(f.Criteria.DomicileProvinces, pv)
		}
	}
	if err := v.Err(); err != nil {
		return fields{}, err
	}
	return f, nil
}

func containsProvince(ps []vocab.Province, p vocab.Province) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}
