package applications

import (
	"bytes"
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
	"github.com/jackc/pgx/v5/pgconn"
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
	// Status is the HTTP status (201, 200, or the stored one on a replay);
	// Body is the stored answer's body on a replay (and, on a fresh write
	// with a key, the answer that was stored).
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
	var (
		out Submission
		err error
	)
	for attempt := 0; ; attempt++ {
		out, err = s.submitOnce(ctx, p, jobID, in, idem)
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

// errNotRead: a JobReader or CandidateDirectory that did not call back.
var errNotRead = errors.New("applications: the job or candidate read did not report")

// submitOnce is one attempt at the submission transaction, in two round
// trips on one connection (the hot path of deadline day; TRAPS.md: every
// statement costs, and a round trip costs more):
//
//  1. BEGIN, the candidate's row-level-security scope, the job (jobs
//     module) and the candidate's name and masked CNIC (auth module), the
//     Idempotency-Key's lock and stored answer, the profile and the next
//     receipt number, as one batch;
//  2. the application with its guard (one statement), its first history
//     row (a statement of its own: the history insert policy checks the
//     application, which it could not see from a CTE of the same
//     statement), the outbox row, the audit entry, the idempotency record
//     and COMMIT, as a second batch.
//
// PostgreSQL runs a batch's statements in order and skips the rest after
// an error, so a failure before COMMIT leaves the transaction aborted and
// it is rolled back here; nothing of it is ever visible.
func (s *Service) submitOnce(ctx context.Context, p authz.Principal, jobID uuid.UUID, in SubmitInput, idem Idempotency) (out Submission, err error) {
	conn, err := s.db.Acquire(ctx)
	if err != nil {
		return Submission{}, postgres.Translate(err)
	}
	// A connection left inside a transaction (a failed rollback, a
	// cancelled context) is closed by the pool on release, never reused.
	defer conn.Release()
	open := false
	defer func() {
		if open {
			if _, rbErr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()

	now := s.now().UTC()
	var (
		b1              pgx.Batch
		job             JobView
		cand            Candidate
		jobErr, candErr = errNotRead, errNotRead
		prof            db.ApplicationsProfile
		hasProf, locked bool
		stored          db.IdempotencyGetRow
		hasStored       bool
		receiptN        int64
	)
	b1.Queue("BEGIN")
	// Every read of the batch runs in the candidate's own scope: the job
	// (published and closed jobs are public), their own account, their
	// own profile and keys.
	postgres.UserScope(p.UserID).Queue(&b1)
	s.jobs.QueueJobForApplication(&b1, jobID, func(j JobView, err error) { job, jobErr = j, err })
	s.candidates.QueueCandidate(&b1, p.UserID, func(c Candidate, err error) { cand, candErr = c, err })
	if idem.Key != "" {
		db.QueueIdempotencyLock(&b1, lockKey(p.UserID, idem.Key), &locked)
		db.QueueIdempotencyGet(&b1, p.UserID, idem.Key, now, &stored, &hasStored)
	}
	db.QueueProfileGet(&b1, p.UserID, &prof, &hasProf)
	db.QueueReceiptNext(&b1, &receiptN)
	open = true
	if err := conn.SendBatch(ctx, &b1).Close(); err != nil {
		return Submission{}, postgres.Translate(err)
	}
	// The same order of refusals as when these were separate reads: the
	// job, the account, then the key.
	if jobErr != nil {
		return Submission{}, jobErr
	}
	if candErr != nil {
		return Submission{}, candErr
	}
	if idem.Key != "" {
		if !locked {
			return Submission{}, ErrIdempotencyInFlight
		}
		if hasStored {
			if !bytes.Equal(stored.Fingerprint, idem.Fingerprint) {
				return Submission{}, ErrIdempotencyReused
			}
			return Submission{Replayed: true, Status: int(stored.Status), Body: stored.Response}, nil
		}
	}
	if !hasProf {
		return Submission{}, CheckComplete(Profile{})
	}
	profile, err := s.profiles.fromRow(prof)
	if err != nil {
		return Submission{}, err
	}
	if err := CheckComplete(profile); err != nil {
		return Submission{}, err
	}
	// Server time decides whether the job is open; the application's
	// created_at is this same instant (truncated to the millisecond), so
	// an accepted application is always stamped before closes_at.
	now = s.now().UTC()
	if !job.OpenAt(now) {
		return Submission{}, ErrJobNotOpen
	}
	id, err := newIDAt(now)
	if err != nil {
		return Submission{}, err
	}
	historyID, err := newIDAt(now)
	if err != nil {
		return Submission{}, err
	}
	createdAt, _ := idTime(id)
	snapJSON, err := json.Marshal(snapshot{
		Version: profile.Version, DateOfBirth: profile.DateOfBirth, Gender: (*string)(profile.Gender),
		DomicileProvince: (*string)(profile.DomicileProvince), DomicileDistrict: profile.DomicileDistrict,
		Education: profile.Education, Experience: profile.Experience, Skills: profile.Skills,
		ResumeText: profile.ResumeText, UpdatedAt: profile.UpdatedAt,
	})
	if err != nil {
		return Submission{}, err
	}
	var phone []byte
	if profile.Phone != nil {
		if phone, err = s.cipher.EncryptString(*profile.Phone, applicationPhoneBinding(id)); err != nil {
			return Submission{}, err
		}
	}
	profile.Phone = nil
	a := Application{
		ID: id, CreatedAt: createdAt, OrgID: job.OrgID, JobID: job.ID, CandidateID: p.UserID,
		ReceiptNumber: receiptNumber(createdAt, receiptN), Status: StatusSubmitted, Version: 1,
		CoverLetter: in.CoverLetter, CandidateName: cand.FullName, CNICMasked: cand.CNICMasked, Profile: profile,
		UpdatedAt: createdAt,
	}
	var body []byte // the stored answer, only needed with a key
	if idem.Key != "" {
		if body, err = json.Marshal(applicationBody(a)); err != nil {
			return Submission{}, err
		}
	}

	var b2 pgx.Batch
	var receipt string
	db.QueueApplicationSubmit(&b2, db.ApplicationSubmitParams{
		JobID: job.ID, CandidateID: p.UserID, ID: id, CreatedAt: createdAt, ReceiptNumber: a.ReceiptNumber,
		OrgID: job.OrgID, CoverLetter: in.CoverLetter, CandidateName: cand.FullName, CnicMasked: cand.CNICMasked,
		Gender: string(*profile.Gender), DateOfBirth: profile.DateOfBirth.Time,
		DomicileProvince: string(*profile.DomicileProvince), DomicileDistrict: *profile.DomicileDistrict,
		Skills: profile.Skills, ResumeText: profile.ResumeText, Profile: snapJSON, PhoneEnc: phone,
	}, &receipt)
	db.QueueHistoryInsert(&b2, db.HistoryInsertParams{
		ID: historyID, ApplicationID: id, OrgID: job.OrgID, CandidateID: p.UserID, ToStatus: string(StatusSubmitted),
		ChangedBy: p.UserID, ChangedAt: createdAt,
	})
	bt := batchTx{b: &b2}
	if err := outbox.EnqueueTx(ctx, bt, submittedEvent(a)); err != nil {
		return Submission{}, err
	}
	if err := s.auditTx(ctx, bt, p, "applications.submitted", a, now, map[string]any{
		"job_id": a.JobID.String(), "receipt_number": a.ReceiptNumber,
	}); err != nil {
		return Submission{}, err
	}
	if idem.Key != "" {
		db.QueueIdempotencyPut(&b2, db.IdempotencyPutParams{
			UserID: p.UserID, Key: idem.Key, Fingerprint: idem.Fingerprint, Status: 201, Response: body,
			Now: now, ExpiresAt: now.Add(s.cfg.IdempotencyTTL),
		})
	}
	b2.Queue("COMMIT")
	if err := conn.SendBatch(ctx, &b2).Close(); err != nil {
		if postgres.IsUnique(err, "guards_pkey") {
			return Submission{}, ErrDuplicateApplication
		}
		return Submission{}, postgres.Translate(err)
	}
	open = false
	return Submission{Application: a, Status: 201, Body: body}, nil
}

// receiptNumber is the human-readable receipt of the n-th submission:
// "PV" and the two-digit year, then n in at least nine digits
// (PV26-000123456). n comes from a sequence, so receipts never repeat; the
// guard's unique index on it makes sure.
func receiptNumber(at time.Time, n int64) string {
	return fmt.Sprintf("PV%s-%09d", at.UTC().Format("06"), n)
}

// batchTx queues the Exec calls of code written for a pgx.Tx
// (outbox.EnqueueTx, audit.RecordTx: each one INSERT through Exec) into a
// batch instead of sending them one by one. Only Exec is supported: the
// embedded pgx.Tx is nil, so any other method would panic, which the
// submission tests would catch.
type batchTx struct {
	pgx.Tx
	b *pgx.Batch
}

func (t batchTx) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	t.b.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}
