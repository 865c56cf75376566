// Package vocab is the small published language the recruitment modules
// share: the ordered scale of education levels, Pakistan's provinces and
// territories, genders, and how skills are normalised. Jobs state criteria
// in these words, profiles are written in them and screening compares the
// two, so they must agree exactly; keeping them here, with no behaviour
// beyond parsing and ordering, lets each module depend on the words without
// depending on another module.
package vocab

import (
	"slices"
	"strings"
	"unicode"
)

// EducationLevel is a level on the ordered scale matric < intermediate <
// bachelor < master < mphil < phd.
type EducationLevel string

// Education levels, lowest first.
const (
	Matric       EducationLevel = "matric"
	Intermediate EducationLevel = "intermediate"
	Bachelor     EducationLevel = "bachelor"
	Master       EducationLevel = "master"
	MPhil        EducationLevel = "mphil"
	PhD          EducationLevel = "phd"
)

// EducationLevels lists the levels in ascending order.
var EducationLevels = []EducationLevel{Matric, Intermediate, Bachelor, Master, MPhil, PhD}

// Rank is the level's position on the scale (1 = matric), or 0 when the
// level is unknown.
func (l EducationLevel) Rank() int {
	return slices.Index(EducationLevels, l) + 1
}

// Valid reports whether l is on the scale.
func (l EducationLevel) Valid() bool { return l.Rank() > 0 }

// AtLeast reports whether l is min or higher.
func (l EducationLevel) AtLeast(min EducationLevel) bool {
	return l.Valid() && min.Valid() && l.Rank() >= min.Rank()
}

// Province is a province or federally administered territory.
type Province string

// Provinces and territories.
const (
	Punjab      Province = "punjab"
	Sindh       Province = "sindh"
	KPK         Province = "kpk"
	Balochistan Province = "balochistan"
	Islamabad   Province = "islamabad"
	GB          Province = "gb"
	AJK         Province = "ajk"
)

// Provinces lists every province and territory.
var Provinces = []Province{Punjab, Sindh, KPK, Balochistan, Islamabad, GB, AJK}

// Valid reports whether p is a known province.
func (p Province) Valid() bool { return slices.Contains(Provinces, p) }

// Gender as a candidate states it.
type Gender string

// Genders.
const (
	Male   Gender = "male"
	Female Gender = "female"
	Other  Gender = "other"
)

// Genders lists the accepted values.
var Genders = []Gender{Male, Female, Other}

// Valid reports whether g is accepted.
func (g Gender) Valid() bool { return slices.Contains(Genders, g) }

// Words joins a list of values for messages: "a, b or c".
func Words[T ~string](vals []T) string {
	var b strings.Builder
	for i, v := range vals {
		switch {
		case i == 0:
		case i == len(vals)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(v))
	}
	return b.String()
}

// NormalizeSkill lower-cases a skill, trims it and collapses inner runs of
// white space to one space, so "  MS   Excel " and "ms excel" are one skill.
func NormalizeSkill(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), unicode.IsSpace), " ")
}

// NormalizeSkills normalises every skill and drops empty ones and
// duplicates, keeping the first occurrence's position. It never returns
// nil.
func NormalizeSkills(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		n := NormalizeSkill(s)
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
