package applications

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pvara-gov/pvara/internal/applications/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// StaffWriterRoles may move applications through the pipeline.
var StaffWriterRoles = []authz.Role{authz.RoleRecruiter, authz.RoleOrgAdmin}

// Config configures the applications service.
type Config struct {
	// IdempotencyTTL is how long a stored Idempotency-Key answers (default 24h).
	IdempotencyTTL time.Duration
	// PurgeEvery is how often the maintenance task purges expired keys
	// (default 10m); PurgeBatch how many one statement deletes (default 5000).
	PurgeEvery time.Duration
	PurgeBatch int
}

// Deps are the collaborators of the applications service.
type Deps struct {
	// DB is the application pool (pvara_app, under row-level security).
	DB *pgxpool.Pool
	// Cipher encrypts the phone number copied into an application.
	Cipher *fieldcrypt.Cipher
	// Profiles reads the candidate's profile in the submission's transaction.
	Profiles *Profiles
	// Jobs and Candidates are the jobs and auth modules, behind this
	// module's interfaces.
	Jobs       JobReader
	Candidates CandidateDirectory
	// Logger defaults to discarding; Clock to time.Now.
	Logger *slog.Logger
	Clock  func() time.Time
}

// Service is the applications module: submission, the pipeline, reads,
// and the screening score.
type Service struct {
	cfg        Config
	db         *pgxpool.Pool
	cipher     *fieldcrypt.Cipher
	profiles   *Profiles
	jobs       JobReader
	candidates CandidateDirectory
	logger     *slog.Logger
	now        func() time.Time
}

// New builds the service.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.DB == nil || deps.Cipher == nil || deps.Profiles == nil || deps.Jobs == nil || deps.Candidates == nil {
		return nil, errors.New("applications: the service needs a pool, a cipher, profiles, a job reader and a candidate directory")
	}
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = 24 * time.Hour
	}
	if cfg.PurgeEvery <= 0 {
		cfg.PurgeEvery = 10 * time.Minute
	}
	if cfg.PurgeBatch <= 0 {
		cfg.PurgeBatch = 5000
	}
	if deps.Logger == nil {
		deps.Logger = logx.Discard()
	}
	if deps.Clock == nil {
		deps.Clock = time.Now
	}
	return &Service{
		cfg: cfg, db: deps.DB, cipher: deps.Cipher, profiles: deps.Profiles, jobs: deps.Jobs,
		candidates: deps.Candidates, logger: deps.Logger, now: deps.Clock,
	}, nil
}

// applicationPhoneBinding binds the phone copied into an application to that
// application's row.
func applicationPhoneBinding(id uuid.UUID) string {
	return "applications.applications.phone:" + id.String()
}

func (s *Service) auditTx(ctx context.Context, tx pgx.Tx, p authz.Principal, action string, a Application, at time.Time, details map[string]any) error {
	ip := ""
	if addr := httpx.ClientIP(ctx); addr.IsValid() {
		ip = addr.String()
	}
	return audit.RecordTx(ctx, tx, audit.Entry{
		OrgID: a.OrgID, ActorID: p.UserID, ActorRole: string(p.Role), Action: action, Resource: "application",
		ResourceID: a.ID.String(), IP: ip, Details: details, OccurredAt: at,
	})
}

// snapshot is the profile as stored in an application (jsonb "profile"):
// everything but the phone.
type snapshot struct {
	Version          int          `json:"version"`
	DateOfBirth      *Date        `json:"date_of_birth"`
	Gender           *string      `json:"gender"`
	DomicileProvince *string      `json:"domicile_province"`
	DomicileDistrict *string      `json:"domicile_district"`
	Education        []Education  `json:"education"`
	Experience       []Experience `json:"experience"`
	Skills           []string     `json:"skills"`
	ResumeText       string       `json:"resume_text"`
	UpdatedAt        time.Time    `json:"updated_at"`
}

// Submission is the outcome of Submit: the application, or (Replayed) the
// stored answer to an earlier request with the same Idempotency-Key.
type Submission struct {
	Application Application
	Replayed    bool
	// Status and Body are the HTTP answer (201 and the application body,
	// or the stored ones on a replay).
	Status int
	Body   json.RawMessage
}

// Idempotency is the Idempotency-Key of a request and its fingerprint.
type Idempotency struct {
	Key         string
	Fingerprint []byte
}

// Submit files an application by candidate p to a job. Everything happens
// in one transaction: the duplicate guard, the receipt number, the
// application with the profile copied as it is now, the first history row,
// the audit entry, the idempotency record (when idem.Key is set) and
// applications.submitted in the outbox.
func (s *Service) Submit(ctx context.Context, p authz.Principal, jobID uuid.UUID, in SubmitInput, idem Idempotency) (Submission, error) {
	if p.Role != authz.RoleCandidate || p.UserID == uuid.Nil {
		return Submission{}, apperr.ErrForbidden
	}
	if in.CoverLetter != nil {
		cl := strings.TrimSpace(*in.CoverLetter)
		if utf8.RuneCountInString(cl) > MaxCoverLetter {
			return Submission{}, apperr.Invalid(apperr.Field("body.cover_letter", fmt.Sprintf("must be at most %d characters", MaxCoverLetter)))
		}
		in.CoverLetter = &cl
		if cl == "" {
			in.CoverLetter = nil
		}
	}
	job, err := s.jobs.JobForApplication(ctx, jobID)
	if err != nil {
		return Submission{}, err
	}
	cand, err := s.candidates.Candidate(ctx, p.UserID)
	if err != nil {
		return Submission{}, err
	}
	var out Submission
	for attempt := 0; ; attempt++ {
		out, err = s.submitOnce(ctx, p, job, cand, in, idem)
		if err != nil && attempt == 0 && postgres.IsNoPartition(err) {
			// The partition manager has fallen behind (maintenance not
			// running): create the month now rather than refuse.
			s.logger.WarnContext(ctx, "applications: no partition for a submission; creating it", "at", s.now().UTC())
			if perr := s.ensurePartition(ctx, s.now()); perr != nil {
				return Submission{}, errors.Join(err, perr)
			}
			continue
		}
		return out, err
	}
}

// ensurePartition creates the monthly partition holding t (and the next
// month) through the partition manager's SQL function.
func (s *Service) ensurePartition(ctx context.Context, t time.Time) error {
	_, err := s.db.Exec(ctx, "SELECT platform.ensure_monthly_partitions('applications', 'applications', $1, 1)", t.UTC())
	return postgres.Translate(err)
}

func (s *Service) submitOnce(ctx context.Context, p authz.Principal, job JobView, cand Candidate, in SubmitInput, idem Idempotency) (Submission, error) {
	var out Submission
	err := postgres.ScopedTx(ctx, s.db, postgres.UserScope(p.UserID), func(tx pgx.Tx) error {
		q := db.New(tx)
		if idem.Key != "" {
			replay, err := s.idempotencyCheck(ctx, q, p.UserID, idem)
			if err != nil {
				return err
			}
			if replay != nil {
				out = *replay
				return nil
			}
		}
		// Server time decides, after any wait for a lock above.
		now := s.now().UTC()
		if !job.OpenAt(now) {
			return ErrJobNotOpen
		}
		prof, err := s.profiles.GetTx(ctx, tx, p.UserID)
		if errors.Is(err, ErrProfileNotFound) {
			return CheckComplete(Profile{})
		}
		if err != nil {
			return err
		}
		if err := CheckComplete(prof); err != nil {
			return err
		}
		id, err := newIDAt(now)
		if err != nil {
			return err
		}
		historyID, err := newIDAt(now)
		if err != nil {
			return err
		}
		createdAt, _ := idTime(id)
		snap := snapshot{
			Version: prof.Version, DateOfBirth: prof.DateOfBirth, Gender: (*string)(prof.Gender),
			DomicileProvince: (*string)(prof.DomicileProvince), DomicileDistrict: prof.DomicileDistrict,
			Education: prof.Education, Experience: prof.Experience, Skills: prof.Skills, ResumeText: prof.ResumeText,
			UpdatedAt: prof.UpdatedAt,
		}
		snapJSON, err := json.Marshal(snap)
		if err != nil {
			return err
		}
		var phone []byte
		if prof.Phone != nil {
			if phone, err = s.cipher.EncryptString(*prof.Phone, applicationPhoneBinding(id)); err != nil {
				return err
			}
		}
		receipt, err := q.ApplicationSubmit(ctx, db.ApplicationSubmitParams{
			JobID: job.ID, CandidateID: p.UserID, ID: id, CreatedAt: createdAt,
			ReceiptPrefix: "PV" + createdAt.Format("06") + "-", OrgID: job.OrgID, CoverLetter: in.CoverLetter,
			CandidateName: cand.FullName, CnicMasked: cand.CNICMasked, Gender: string(*prof.Gender),
			DateOfBirth: prof.DateOfBirth.Time, DomicileProvince: string(*prof.DomicileProvince),
			DomicileDistrict: *prof.DomicileDistrict, Skills: prof.Skills, ResumeText: prof.ResumeText,
			Profile: snapJSON, PhoneEnc: phone, HistoryID: historyID,
		})
		if err != nil {
			if postgres.IsUnique(err, "guards_pkey") {
				return ErrDuplicateApplication
			}
			return postgres.Translate(err)
		}
		prof.Phone = nil
		a := Application{
			ID: id, CreatedAt: createdAt, OrgID: job.OrgID, JobID: job.ID, CandidateID: p.UserID,
			ReceiptNumber: receipt, Status: StatusSubmitted, Version: 1, CoverLetter: in.CoverLetter,
			CandidateName: cand.FullName, CNICMasked: cand.CNICMasked, Profile: prof, UpdatedAt: createdAt,
		}
		if err := outbox.EnqueueTx(ctx, tx, submittedEvent(a)); err != nil {
			return err
		}
		if err := s.auditTx(ctx, tx, p, "applications.submitted", a, now, map[string]any{
			"job_id": a.JobID.String(), "receipt_number": a.ReceiptNumber,
		}); err != nil {
			return err
		}
		body, err := json.Marshal(applicationBody(a))
		if err != nil {
			return err
		}
		out = Submission{Application: a, Status: 201, Body: body}
		if idem.Key != "" {
			return s.idempotencyStore(ctx, q, p.UserID, idem, out.Status, body, now)
		}
		return nil
	})
	if err != nil {
		return Submission{}, err
	}
	return out, nil
}
