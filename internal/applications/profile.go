package applications

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/vocab"
)

// Date is a calendar date (no time of day), written "2006-01-02" in JSON.
type Date struct{ time.Time }

const dateLayout = "2006-01-02"

// ParseDate reads "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, strings.TrimSpace(s))
	if err != nil {
		return Date{}, err
	}
	return Date{t}, nil
}

// DateOf is the calendar date of t in UTC.
func DateOf(t time.Time) Date {
	y, m, d := t.UTC().Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// String writes the date as YYYY-MM-DD.
func (d Date) String() string { return d.Format(dateLayout) }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	p, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// Education is one qualification.
type Education struct {
	Level       vocab.EducationLevel `json:"level"`
	Field       string               `json:"field"`
	Institution string               `json:"institution"`
	Year        int                  `json:"year"`
	Grade       *string              `json:"grade,omitempty"`
}

// Experience is one job held; EndDate nil means it is the current one.
type Experience struct {
	Title     string `json:"title"`
	Employer  string `json:"employer"`
	StartDate Date   `json:"start_date"`
	EndDate   *Date  `json:"end_date,omitempty"`
}

// Profile is a candidate's profile. It is a plain value: an application
// copies it as it is at submission. Phone is in clear here (decrypted for
// its owner); whoever stores a copy encrypts it again under its own row.
type Profile struct {
	UserID           uuid.UUID
	Version          int
	DateOfBirth      *Date
	Gender           *vocab.Gender
	DomicileProvince *vocab.Province
	DomicileDistrict *string
	Education        []Education
	Experience       []Experience
	Skills           []string
	ResumeText       string
	Phone            *string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// ETag is the profile's entity tag.
func (p Profile) ETag() string { return fmt.Sprintf(`"v%d"`, p.Version) }

// HighestEducation is the highest level the profile lists ("" for none).
func (p Profile) HighestEducation() vocab.EducationLevel {
	var best vocab.EducationLevel
	for _, e := range p.Education {
		if e.Level.Rank() > best.Rank() {
			best = e.Level
		}
	}
	return best
}

// ErrProfileIncomplete: the profile lacks something an application needs
// (the fields are named in the error).
var ErrProfileIncomplete = apperr.New(apperr.KindInvalid, "profile_incomplete", "complete your profile before applying")

// ErrProfileNotFound: the candidate has not saved a profile yet.
var ErrProfileNotFound = apperr.New(apperr.KindNotFound, "profile_not_found", "you have not saved a profile yet")

// MissingForApplication lists what p lacks to apply (locations as the
// profile API spells them); empty means it is complete. An application
// needs the date of birth (age limits), gender (fairness reporting),
// domicile province and district (domicile quotas) and at least one
// education entry (minimum education). Experience, skills, résumé and
// phone are optional.
func MissingForApplication(p Profile) []apperr.FieldError {
	var out []apperr.FieldError
	need := func(ok bool, field string) {
		if !ok {
			out = append(out, apperr.Field("profile."+field, "is required to apply"))
		}
	}
	need(p.DateOfBirth != nil, "date_of_birth")
	need(p.Gender != nil, "gender")
	need(p.DomicileProvince != nil, "domicile_province")
	need(p.DomicileDistrict != nil && *p.DomicileDistrict != "", "domicile_district")
	need(len(p.Education) > 0, "education")
	return out
}

// CheckComplete returns ErrProfileIncomplete (422 profile_incomplete,
// naming each missing field) unless p has what an application needs.
func CheckComplete(p Profile) error {
	if missing := MissingForApplication(p); len(missing) > 0 {
		e := *ErrProfileIncomplete
		e.Fields = missing
		return &e
	}
	return nil
}

// ProfileInput is a profile as written (PUT replaces the whole profile;
// an absent field is cleared).
type ProfileInput struct {
	DateOfBirth      *string
	Gender           *string
	DomicileProvince *string
	DomicileDistrict *string
	Education        []EducationInput
	Experience       []ExperienceInput
	Skills           []string
	ResumeText       *string
	Phone            *string
}

// EducationInput is an education entry as written.
type EducationInput struct {
	Level       string
	Field       string
	Institution string
	Year        int
	Grade       *string
}

// ExperienceInput is an experience entry as written.
type ExperienceInput struct {
	Title     string
	Employer  string
	StartDate string
	EndDate   *string
}

// Limits of a profile.
const (
	MaxResumeChars  = 20000
	maxEducation    = 20
	maxExperience   = 50
	maxSkills       = 50
	maxSkillLen     = 60
	maxText         = 200
	maxDistrict     = 100
	maxGrade        = 20
	minAgeYears     = 14
	maxAgeYears     = 100
	earliestEduYear = 1940
)

// profileFields is a validated, normalised profile ready to store.
type profileFields struct {
	DateOfBirth      *Date
	Gender           *vocab.Gender
	DomicileProvince *vocab.Province
	DomicileDistrict *string
	Education        []Education
	Experience       []Experience
	Skills           []string
	ResumeText       string
	Phone            *string
}

func text(v *apperr.Validator, loc, s string, max int) string {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		v.Add(loc, "is required")
	case n > max:
		v.Add(loc, fmt.Sprintf("must be at most %d characters", max))
	}
	return s
}

// NormalizePhone accepts a Pakistani mobile or landline number written
// locally (03001234567, 042 1234567) or in international form (+92 300
// 1234567, 0092...), or any other international number (+ and 8–15
// digits), with blanks, dashes, dots and brackets ignored, and returns it
// in E.164 form (+923001234567).
func NormalizePhone(s string) (string, bool) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "+"):
	case strings.HasPrefix(d, "00"):
		d = "+" + d[2:]
	case strings.HasPrefix(d, "0"):
		d = "+92" + d[1:]
	default:
		return "", false
	}
	digits := len(d) - 1
	if digits < 8 || digits > 15 || d[1] == '0' {
		return "", false
	}
	if strings.HasPrefix(d, "+92") && (digits < 11 || digits > 12) {
		return "", false
	}
	return d, true
}

// validateProfile checks in at today's date and returns it normalised, or a
// 422 naming every bad field (locations body.<field>, body.education[i].<field>).
func validateProfile(in ProfileInput, now time.Time) (profileFields, error) {
	var v apperr.Validator
	var f profileFields
	today := DateOf(now)
	if in.DateOfBirth != nil {
		d, err := ParseDate(*in.DateOfBirth)
		switch {
		case err != nil:
			v.Add("body.date_of_birth", "must be a date written YYYY-MM-DD")
		case d.After(today.Time):
			v.Add("body.date_of_birth", "must not be in the future")
		case d.After(today.AddDate(-minAgeYears, 0, 0)):
			v.Add("body.date_of_birth", fmt.Sprintf("you must be at least %d years old", minAgeYears))
		case d.Before(today.AddDate(-maxAgeYears, 0, 0)):
			v.Add("body.date_of_birth", fmt.Sprintf("must be within the last %d years", maxAgeYears))
		default:
			f.DateOfBirth = &d
		}
	}
	if in.Gender != nil {
		g := vocab.Gender(strings.ToLower(strings.TrimSpace(*in.Gender)))
		v.Check(g.Valid(), "body.gender", "must be one of "+vocab.Words(vocab.Genders))
		f.Gender = &g
	}
	if in.DomicileProvince != nil {
		p := vocab.Province(strings.ToLower(strings.TrimSpace(*in.DomicileProvince)))
		v.Check(p.Valid(), "body.domicile_province", "must be one of "+vocab.Words(vocab.Provinces))
		f.DomicileProvince = &p
	}
	if in.DomicileDistrict != nil {
		d := text(&v, "body.domicile_district", *in.DomicileDistrict, maxDistrict)
		f.DomicileDistrict = &d
	}

	v.Check(len(in.Education) <= maxEducation, "body.education", fmt.Sprintf("must list at most %d entries", maxEducation))
	f.Education = make([]Education, 0, len(in.Education))
	for i, e := range in.Education {
		loc := fmt.Sprintf("body.education[%d].", i)
		lvl := vocab.EducationLevel(strings.ToLower(strings.TrimSpace(e.Level)))
		v.Check(lvl.Valid(), loc+"level", "must be one of "+vocab.Words(vocab.EducationLevels))
		ed := Education{
			Level: lvl, Field: text(&v, loc+"field", e.Field, maxText),
			Institution: text(&v, loc+"institution", e.Institution, maxText), Year: e.Year,
		}
		switch {
		case e.Year == 0:
			v.Add(loc+"year", "is required")
		case e.Year < earliestEduYear || e.Year > today.Year():
			v.Add(loc+"year", fmt.Sprintf("must be between %d and %d (not in the future)", earliestEduYear, today.Year()))
		}
		if e.Grade != nil {
			g := strings.TrimSpace(*e.Grade)
			v.Check(utf8.RuneCountInString(g) <= maxGrade, loc+"grade", fmt.Sprintf("must be at most %d characters", maxGrade))
			if g != "" {
				ed.Grade = &g
			}
		}
		f.Education = append(f.Education, ed)
	}

	v.Check(len(in.Experience) <= maxExperience, "body.experience", fmt.Sprintf("must list at most %d entries", maxExperience))
	f.Experience = make([]Experience, 0, len(in.Experience))
	for i, e := range in.Experience {
		loc := fmt.Sprintf("body.experience[%d].", i)
		ex := Experience{Title: text(&v, loc+"title", e.Title, maxText), Employer: text(&v, loc+"employer", e.Employer, maxText)}
		start, err := ParseDate(e.StartDate)
		switch {
		case strings.TrimSpace(e.StartDate) == "":
			v.Add(loc+"start_date", "is required")
		case err != nil:
			v.Add(loc+"start_date", "must be a date written YYYY-MM-DD")
		case start.After(today.Time):
			v.Add(loc+"start_date", "must not be in the future")
		default:
			ex.StartDate = start
		}
		if e.EndDate != nil && strings.TrimSpace(*e.EndDate) != "" {
			end, err := ParseDate(*e.EndDate)
			switch {
			case err != nil:
				v.Add(loc+"end_date", "must be a date written YYYY-MM-DD")
			case end.After(today.Time):
				v.Add(loc+"end_date", "must not be in the future (leave it out for a current job)")
			case !ex.StartDate.IsZero() && end.Before(ex.StartDate.Time):
				v.Add(loc+"end_date", "must not be before start_date")
			default:
				ex.EndDate = &end
			}
		}
		f.Experience = append(f.Experience, ex)
	}

	for i, s := range in.Skills {
		n := vocab.NormalizeSkill(s)
		switch {
		case n == "":
			v.Add(fmt.Sprintf("body.skills[%d]", i), "must not be empty")
		case utf8.RuneCountInString(n) > maxSkillLen:
			v.Add(fmt.Sprintf("body.skills[%d]", i), fmt.Sprintf("must be at most %d characters", maxSkillLen))
		}
	}
	f.Skills = vocab.NormalizeSkills(in.Skills)
	v.Check(len(f.Skills) <= maxSkills, "body.skills", fmt.Sprintf("must list at most %d skills", maxSkills))

	if in.ResumeText != nil {
		f.ResumeText = strings.TrimSpace(*in.ResumeText)
		v.Check(utf8.RuneCountInString(f.ResumeText) <= MaxResumeChars, "body.resume_text",
			fmt.Sprintf("must be at most %d characters", MaxResumeChars))
	}
	if in.Phone != nil && strings.TrimSpace(*in.Phone) != "" {
		ph, ok := NormalizePhone(*in.Phone)
		// The value is never echoed back in the message.
		v.Check(ok, "body.phone", "must be a phone number such as 03001234567 or +92 300 1234567")
		f.Phone = &ph
	}
	if err := v.Err(); err != nil {
		return profileFields{}, err
	}
	return f, nil
}
