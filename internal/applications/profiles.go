package applications

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pvara-gov/pvara/internal/applications/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/vocab"
)

// ProfilesDeps are the collaborators of the profile service.
type ProfilesDeps struct {
	// DB is the application pool (pvara_app, under row-level security).
	DB *pgxpool.Pool
	// Cipher encrypts the phone number.
	Cipher *fieldcrypt.Cipher
	// Logger defaults to discarding; Clock to time.Now.
	Logger *slog.Logger
	Clock  func() time.Time
}

// Profiles stores candidate profiles.
type Profiles struct {
	db     *pgxpool.Pool
	cipher *fieldcrypt.Cipher
	logger *slog.Logger
	now    func() time.Time
}

// NewProfiles builds the profile service.
func NewProfiles(deps ProfilesDeps) (*Profiles, error) {
	if deps.DB == nil || deps.Cipher == nil {
		return nil, errors.New("applications: profiles need a database pool and a field cipher")
	}
	if deps.Logger == nil {
		deps.Logger = logx.Discard()
	}
	if deps.Clock == nil {
		deps.Clock = time.Now
	}
	return &Profiles{db: deps.DB, cipher: deps.Cipher, logger: deps.Logger, now: deps.Clock}, nil
}

// phoneBinding binds a phone ciphertext to its row and column: copied into
// another candidate's row it no longer decrypts.
func phoneBinding(userID uuid.UUID) string { return "applications.profiles.phone:" + userID.String() }

// requireCandidate: only candidates have profiles.
func requireCandidate(p authz.Principal) error {
	if p.Role != authz.RoleCandidate || p.UserID == uuid.Nil {
		return apperr.ErrForbidden
	}
	return nil
}

// Get returns the caller's own profile.
func (s *Profiles) Get(ctx context.Context, p authz.Principal) (Profile, error) {
	if err := requireCandidate(p); err != nil {
		return Profile{}, err
	}
	var out Profile
	err := postgres.ScopedTx(ctx, s.db, postgres.UserScope(p.UserID), func(tx pgx.Tx) error {
		var err error
		out, err = s.GetTx(ctx, tx, p.UserID)
		return err
	})
	return out, err
}

// GetTx reads a candidate's profile inside the caller's transaction, whose
// scope must see it (the candidate's own user scope, or system). The
// submission of an application calls it to copy the profile as it is at
// that moment; ErrProfileNotFound when there is none.
func (s *Profiles) GetTx(ctx context.Context, tx pgx.Tx, userID uuid.UUID) (Profile, error) {
	row, err := db.New(tx).ProfileGet(ctx, userID)
	if err != nil {
		if postgres.IsNotFound(err) {
			return Profile{}, ErrProfileNotFound
		}
		return Profile{}, postgres.Translate(err)
	}
	return s.fromRow(row)
}

// Put saves the caller's whole profile (creating it the first time).
// ifMatch is optional: when given it must be the current ETag (412
// otherwise, also when there is no profile yet), which protects against
// two browser tabs overwriting each other; without it the last write wins.
func (s *Profiles) Put(ctx context.Context, p authz.Principal, in ProfileInput, ifMatch string) (Profile, error) {
	if err := requireCandidate(p); err != nil {
		return Profile{}, err
	}
	now := s.now().UTC()
	f, err := validateProfile(in, now)
	if err != nil {
		return Profile{}, err
	}
	var phone []byte
	if f.Phone != nil {
		if phone, err = s.cipher.EncryptString(*f.Phone, phoneBinding(p.UserID)); err != nil {
			return Profile{}, err
		}
	}
	education, err := json.Marshal(f.Education)
	if err != nil {
		return Profile{}, err
	}
	experience, err := json.Marshal(f.Experience)
	if err != nil {
		return Profile{}, err
	}
	var dob *time.Time
	if f.DateOfBirth != nil {
		dob = &f.DateOfBirth.Time
	}
	ifMatch = strings.TrimSpace(ifMatch)
	var out Profile
	err = postgres.ScopedTx(ctx, s.db, postgres.UserScope(p.UserID), func(tx pgx.Tx) error {
		q := db.New(tx)
		// Two tries: a first PUT that loses an insert race to another
		// first PUT becomes an update of the winner's row.
		for range 2 {
			cur, err := q.ProfileGetForUpdate(ctx, p.UserID)
			if err != nil && !postgres.IsNotFound(err) {
				return postgres.Translate(err)
			}
			if postgres.IsNotFound(err) {
				if ifMatch != "" {
					return apperr.ErrPreconditionFailed
				}
				row, err := q.ProfileInsert(ctx, db.ProfileInsertParams{
					UserID: p.UserID, DateOfBirth: dob, Gender: (*string)(f.Gender),
					DomicileProvince: (*string)(f.DomicileProvince), DomicileDistrict: f.DomicileDistrict,
					Education: education, Experience: experience, Skills: f.Skills, ResumeText: f.ResumeText,
					PhoneEnc: phone, Now: now,
				})
				if postgres.IsNotFound(err) {
					continue // somebody else inserted it first
				}
				if err != nil {
					return postgres.Translate(err)
				}
				out, err = s.fromRow(row)
				return err
			}
			if ifMatch != "" && !etagMatches(ifMatch, fmt.Sprintf(`"v%d"`, cur.Version)) {
				return apperr.ErrPreconditionFailed
			}
			row, err := q.ProfileUpdate(ctx, db.ProfileUpdateParams{
				UserID: p.UserID, Version: cur.Version, DateOfBirth: dob, Gender: (*string)(f.Gender),
				DomicileProvince: (*string)(f.DomicileProvince), DomicileDistrict: f.DomicileDistrict,
				Education: education, Experience: experience, Skills: f.Skills, ResumeText: f.ResumeText,
				PhoneEnc: phone, Now: now,
			})
			if err != nil {
				return postgres.Translate(err)
			}
			out, err = s.fromRow(row)
			return err
		}
		return apperr.ErrPreconditionFailed
	})
	return out, err
}

// etagMatches implements If-Match (strong comparison, "*" matches).
func etagMatches(ifMatch, etag string) bool {
	for _, t := range strings.Split(ifMatch, ",") {
		if t = strings.TrimSpace(t); t == "*" || t == etag {
			return true
		}
	}
	return false
}

func (s *Profiles) fromRow(r db.ApplicationsProfile) (Profile, error) {
	p := Profile{
		UserID: r.UserID, Version: int(r.Version), DomicileDistrict: r.DomicileDistrict, Skills: r.Skills,
		ResumeText: r.ResumeText, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.DateOfBirth != nil {
		d := DateOf(*r.DateOfBirth)
		p.DateOfBirth = &d
	}
	if r.Gender != nil {
		g := vocab.Gender(*r.Gender)
		p.Gender = &g
	}
	if r.DomicileProvince != nil {
		pr := vocab.Province(*r.DomicileProvince)
		p.DomicileProvince = &pr
	}
	if err := json.Unmarshal(r.Education, &p.Education); err != nil {
		return Profile{}, fmt.Errorf("applications: education of a profile: %w", err)
	}
	if err := json.Unmarshal(r.Experience, &p.Experience); err != nil {
		return Profile{}, fmt.Errorf("applications: experience of a profile: %w", err)
	}
	if p.Education == nil {
		p.Education = []Education{}
	}
	if p.Experience == nil {
		p.Experience = []Experience{}
	}
	if p.Skills == nil {
		p.Skills = []string{}
	}
	if r.PhoneEnc != nil {
		ph, err := s.cipher.DecryptString(r.PhoneEnc, phoneBinding(r.UserID))
		if err != nil {
			// Never the ciphertext or the number in the message.
			return Profile{}, fmt.Errorf("applications: the phone number of a profile does not decrypt: %w", err)
		}
		p.Phone = &ph
	}
	return p, nil
}
