package applications

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/authz"
)

// SeedDemo gives the dev demo candidate a complete profile (when they have
// none) and an application to each of jobs (when they have not applied), so
// `pvara dev` starts with something in every list. It is idempotent and
// returns how many applications it made.
func (s *Service) SeedDemo(ctx context.Context, candidate uuid.UUID, jobs []uuid.UUID) (int, error) {
	p := authz.Principal{UserID: candidate, Role: authz.RoleCandidate}
	if _, err := s.profiles.Get(ctx, p); errors.Is(err, ErrProfileNotFound) {
		dob, gender, province, district := "1997-03-14", "male", "punjab", "Lahore"
		resume := "Computer science graduate; two years building web services in Go and PostgreSQL."
		grade := "3.5 CGPA"
		if _, err := s.profiles.Put(ctx, p, ProfileInput{
			DateOfBirth: &dob, Gender: &gender, DomicileProvince: &province, DomicileDistrict: &district,
			Education: []EducationInput{
				{Level: "bachelor", Field: "Computer Science", Institution: "University of the Punjab", Year: 2019, Grade: &grade},
				{Level: "intermediate", Field: "Pre-Engineering", Institution: "Government College Lahore", Year: 2015},
			},
			Experience: []ExperienceInput{{Title: "Software Engineer", Employer: "Arbisoft", StartDate: "2019-09-01"}},
			Skills:     []string{"go", "postgresql", "linux", "communication"},
			ResumeText: &resume,
		}, ""); err != nil {
			return 0, err
		}
	} else if err != nil {
		return 0, err
	}
	made := 0
	for _, job := range jobs {
		_, err := s.Submit(ctx, p, job, SubmitInput{}, Idempotency{})
		switch {
		case err == nil:
			made++
		case errors.Is(err, ErrDuplicateApplication), errors.Is(err, ErrJobNotOpen):
		default:
			return made, err
		}
	}
	return made, nil
}
