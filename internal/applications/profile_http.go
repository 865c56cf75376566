package applications

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

// EducationBody is an education entry over HTTP.
type EducationBody struct {
	Level       string  `json:"level" maxLength:"40" doc:"matric, intermediate, bachelor, master, mphil or phd."`
	Field       string  `json:"field" maxLength:"1000"`
	Institution string  `json:"institution" maxLength:"1000"`
	Year        int     `json:"year" doc:"Year of completion, not in the future."`
	Grade       *string `json:"grade,omitempty" maxLength:"100"`
}

// ExperienceBody is an experience entry over HTTP.
type ExperienceBody struct {
	Title     string  `json:"title" maxLength:"1000"`
	Employer  string  `json:"employer" maxLength:"1000"`
	StartDate string  `json:"start_date" maxLength:"40" doc:"YYYY-MM-DD, not in the future."`
	EndDate   *string `json:"end_date,omitempty" maxLength:"40" doc:"YYYY-MM-DD, not before start_date; absent for the current job."`
}

// ProfileBody is a profile over HTTP (to its owner only).
type ProfileBody struct {
	UserID           uuid.UUID        `json:"user_id"`
	Version          int              `json:"version"`
	DateOfBirth      *string          `json:"date_of_birth" doc:"YYYY-MM-DD."`
	Gender           *string          `json:"gender" enum:"male,female,other"`
	DomicileProvince *string          `json:"domicile_province" enum:"punjab,sindh,kpk,balochistan,islamabad,gb,ajk"`
	DomicileDistrict *string          `json:"domicile_district"`
	Education        []EducationBody  `json:"education" nullable:"false"`
	Experience       []ExperienceBody `json:"experience" nullable:"false"`
	Skills           []string         `json:"skills" nullable:"false"`
	ResumeText       string           `json:"resume_text"`
	Phone            *string          `json:"phone" doc:"E.164 (+923001234567); stored encrypted."`
	PhoneMasked      *string          `json:"phone_masked" doc:"The phone with all but its last two digits hidden."`
	Complete         bool             `json:"complete" doc:"Whether the profile has what an application needs."`
	Missing          []string         `json:"missing" nullable:"false" doc:"The fields an application still needs."`
	CreatedAt        time.Time        `json:"created_at"`
	UpdatedAt        time.Time        `json:"updated_at"`
}

func profileBody(p Profile) *ProfileBody {
	b := &ProfileBody{
		UserID: p.UserID, Version: p.Version, DomicileDistrict: p.DomicileDistrict, Skills: p.Skills,
		ResumeText: p.ResumeText, Phone: p.Phone, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		Education: make([]EducationBody, len(p.Education)), Experience: make([]ExperienceBody, len(p.Experience)),
		Missing: []string{},
	}
	if p.DateOfBirth != nil {
		s := p.DateOfBirth.String()
		b.DateOfBirth = &s
	}
	if p.Gender != nil {
		s := string(*p.Gender)
		b.Gender = &s
	}
	if p.DomicileProvince != nil {
		s := string(*p.DomicileProvince)
		b.DomicileProvince = &s
	}
	for i, e := range p.Education {
		b.Education[i] = EducationBody{Level: string(e.Level), Field: e.Field, Institution: e.Institution, Year: e.Year, Grade: e.Grade}
	}
	for i, e := range p.Experience {
		b.Experience[i] = ExperienceBody{Title: e.Title, Employer: e.Employer, StartDate: e.StartDate.String()}
		if e.EndDate != nil {
			s := e.EndDate.String()
			b.Experience[i].EndDate = &s
		}
	}
	if p.Phone != nil {
		m := fieldcrypt.MaskPhone(*p.Phone)
		b.PhoneMasked = &m
	}
	for _, f := range MissingForApplication(p) {
		b.Missing = append(b.Missing, f.Location[len("profile."):])
	}
	b.Complete = len(b.Missing) == 0
	return b
}

type putProfileIn struct {
	IfMatch string `header:"If-Match" doc:"Optional: the profile's ETag; 412 when it is stale."`
	Body    struct {
		DateOfBirth      *string          `json:"date_of_birth,omitempty" maxLength:"40" doc:"YYYY-MM-DD; not in the future; at least 14 years ago."`
		Gender           *string          `json:"gender,omitempty" maxLength:"20" doc:"male, female or other."`
		DomicileProvince *string          `json:"domicile_province,omitempty" maxLength:"40" doc:"punjab, sindh, kpk, balochistan, islamabad, gb or ajk."`
		DomicileDistrict *string          `json:"domicile_district,omitempty" maxLength:"1000"`
		Education        []EducationBody  `json:"education,omitempty" maxItems:"100"`
		Experience       []ExperienceBody `json:"experience,omitempty" maxItems:"200"`
		Skills           []string         `json:"skills,omitempty" maxItems:"200"`
		ResumeText       *string          `json:"resume_text,omitempty" maxLength:"100000" doc:"Up to 20,000 characters."`
		Phone            *string          `json:"phone,omitempty" maxLength:"40" doc:"Optional; stored encrypted."`
	}
}

type profileOut struct {
	ETag         string `header:"ETag"`
	CacheControl string `header:"Cache-Control"`
	Body         *ProfileBody
}

// ProfileHandlers serves /v1/me/profile.
type ProfileHandlers struct{ svc *Profiles }

// NewProfileHandlers builds the HTTP layer of profiles.
func NewProfileHandlers(svc *Profiles) *ProfileHandlers { return &ProfileHandlers{svc: svc} }

// Register adds the profile operations to r.
func (h *ProfileHandlers) Register(r *httpx.Router) {
	tags := []string{"profile"}
	bearer := []map[string][]string{{"bearer": {}}}
	huma.Register(r.API, huma.Operation{
		OperationID: "put-profile", Method: http.MethodPut, Path: "/v1/me/profile", Tags: tags, Security: bearer,
		Summary: "Save the caller's candidate profile (replaces it whole)",
	}, h.put)
	huma.Register(r.API, huma.Operation{
		OperationID: "get-profile", Method: http.MethodGet, Path: "/v1/me/profile", Tags: tags, Security: bearer,
		Summary: "The caller's candidate profile",
	}, h.get)
}

func (h *ProfileHandlers) put(ctx context.Context, in *putProfileIn) (*profileOut, error) {
	p, err := authz.Require(ctx, authz.RoleCandidate)
	if err != nil {
		return nil, err
	}
	b := in.Body
	pi := ProfileInput{
		DateOfBirth: b.DateOfBirth, Gender: b.Gender, DomicileProvince: b.DomicileProvince,
		DomicileDistrict: b.DomicileDistrict, Skills: b.Skills, ResumeText: b.ResumeText, Phone: b.Phone,
	}
	for _, e := range b.Education {
		pi.Education = append(pi.Education, EducationInput{Level: e.Level, Field: e.Field, Institution: e.Institution, Year: e.Year, Grade: e.Grade})
	}
	for _, e := range b.Experience {
		pi.Experience = append(pi.Experience, ExperienceInput{Title: e.Title, Employer: e.Employer, StartDate: e.StartDate, EndDate: e.EndDate})
	}
	prof, err := h.svc.Put(ctx, p, pi, in.IfMatch)
	if err != nil {
		return nil, err
	}
	return &profileOut{ETag: prof.ETag(), CacheControl: "private, no-store", Body: profileBody(prof)}, nil
}

func (h *ProfileHandlers) get(ctx context.Context, _ *struct{}) (*profileOut, error) {
	p, err := authz.Require(ctx, authz.RoleCandidate)
	if err != nil {
		return nil, err
	}
	prof, err := h.svc.Get(ctx, p)
	if err != nil {
		return nil, err
	}
	return &profileOut{ETag: prof.ETag(), CacheControl: "private, no-store", Body: profileBody(prof)}, nil
}
