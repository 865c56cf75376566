package applications

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
)

// Status is where an application stands in the hiring pipeline.
type Status string

// Statuses. The pipeline runs submitted → under_review → shortlisted →
// interview → offered → hired, one step at a time; rejected and withdrawn
// may follow any status that is not final. hired, rejected and withdrawn
// are final.
const (
	StatusSubmitted   Status = "submitted"
	StatusUnderReview Status = "under_review"
	StatusShortlisted Status = "shortlisted"
	StatusInterview   Status = "interview"
	StatusOffered     Status = "offered"
	StatusHired       Status = "hired"
	StatusRejected    Status = "rejected"
	StatusWithdrawn   Status = "withdrawn"
)

// Statuses lists every status in pipeline order.
var Statuses = []Status{StatusSubmitted, StatusUnderReview, StatusShortlisted, StatusInterview, StatusOffered,
	StatusHired, StatusRejected, StatusWithdrawn}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, x := range Statuses {
		if s == x {
			return true
		}
	}
	return false
}

// Final reports whether nothing may follow s.
func (s Status) Final() bool {
	return s == StatusHired || s == StatusRejected || s == StatusWithdrawn
}

// next is the one forward step of the pipeline from each status.
var next = map[Status]Status{
	StatusSubmitted:   StatusUnderReview,
	StatusUnderReview: StatusShortlisted,
	StatusShortlisted: StatusInterview,
	StatusInterview:   StatusOffered,
	StatusOffered:     StatusHired,
}

// CanTransition reports whether the pipeline allows from → to: the next
// forward step, or rejected/withdrawn from any status that is not final.
func CanTransition(from, to Status) bool {
	if from.Final() || !to.Valid() {
		return false
	}
	if to == StatusRejected || to == StatusWithdrawn {
		return true
	}
	return next[from] == to
}

// Application is one candidate's application to one job, with the profile
// as submitted.
type Application struct {
	ID            uuid.UUID
	CreatedAt     time.Time // the id's timestamp: when it was submitted
	OrgID         uuid.UUID // the job's organisation
	JobID         uuid.UUID
	CandidateID   uuid.UUID
	ReceiptNumber string
	Status        Status
	Version       int
	CoverLetter   *string
	CandidateName string
	CNICMasked    string
	Profile       Profile // the snapshot (Phone nil)
	Screening     *Screening
	UpdatedAt     time.Time
}

// ETag is the application's entity tag: its version, bumped by every
// status change.
func (a Application) ETag() string { return fmt.Sprintf(`"v%d"`, a.Version) }

// Screening is the stored result of the screening model (nil until scored).
type Screening struct {
	Score        float64
	Eligible     bool
	ModelVersion string
	ScoredAt     time.Time
}

// Submitted is an application as submitted: what screening scores.
type Submitted struct {
	ApplicationID, JobID, OrgID, CandidateID uuid.UUID
	ReceiptNumber                            string
	SubmittedAt                              time.Time
	Status                                   Status // current status
	// StatusAt is when Status was set (the row's updated_at, from the same
	// clock as applications.status_changed's changed_at), so a consumer can
	// order the snapshot's status against status events.
	StatusAt time.Time
	Profile  Profile // the snapshot copied at submission (Phone nil)
}

// HistoryEntry is one status change.
type HistoryEntry struct {
	From   *Status // nil for the submission
	To     Status
	At     time.Time
	By     uuid.UUID
	Reason *string
}

// SubmitInput is the body of a submission.
type SubmitInput struct {
	CoverLetter *string
}

// MaxCoverLetter is the longest cover letter, in characters.
const MaxCoverLetter = 5000

// JobView is what a submission needs of a job.
type JobView struct {
	ID       uuid.UUID
	OrgID    uuid.UUID
	Title    string
	Open     bool // published (not closed by hand); the dates are checked here
	OpensAt  time.Time
	ClosesAt time.Time
}

// OpenAt reports whether the job takes applications at now.
func (j JobView) OpenAt(now time.Time) bool {
	return j.Open && !now.Before(j.OpensAt) && now.Before(j.ClosesAt)
}

// JobReader is what the module needs of the jobs module (cmd/pvara adapts
// the jobs service). QueueJobForApplication queues the read of one job into
// b, the first batch of the submission's own transaction, which runs in the
// candidate's row-level-security scope (postgres.UserScope), so that the
// job, the candidate and the submission's own reads cost one round trip.
// done is called once, at the latest when the batch's results are read,
// with the job or ErrJobNotFound for a job that does not exist or is not
// public (a draft); a database error is the batch's error instead.
type JobReader interface {
	QueueJobForApplication(b *pgx.Batch, id uuid.UUID, done func(JobView, error))
}

// Candidate is what a submission copies from the account.
type Candidate struct {
	FullName   string
	CNICMasked string
}

// CandidateDirectory is what the module needs of the auth module (cmd/pvara
// adapts the auth service): the name and masked CNIC of an account,
// queued into the same batch as JobReader's read, in the candidate's own
// scope. done gets ErrCandidateNotFound when there is no such (enabled)
// account.
type CandidateDirectory interface {
	QueueCandidate(b *pgx.Batch, id uuid.UUID, done func(Candidate, error))
}

// Errors of the applications module.
var (
	ErrNotFound             = apperr.New(apperr.KindNotFound, "application_not_found", "the application does not exist")
	ErrJobNotFound          = apperr.New(apperr.KindNotFound, "job_not_found", "the job does not exist")
	ErrCandidateNotFound    = apperr.New(apperr.KindNotFound, "candidate_not_found", "the account does not exist")
	ErrDuplicateApplication = apperr.New(apperr.KindConflict, "duplicate_application", "you have already applied to this job")
	ErrJobNotOpen           = apperr.New(apperr.KindConflict, "job_not_open", "the job is not taking applications")
	ErrInvalidTransition    = apperr.New(apperr.KindConflict, "invalid_transition", "the application's status does not allow this")
	ErrIdempotencyReused    = apperr.New(apperr.KindInvalid, "idempotency_key_reused", "this Idempotency-Key was used with a different request")
	ErrIdempotencyInFlight  = apperr.New(apperr.KindConflict, "idempotency_key_in_flight", "a request with this Idempotency-Key is still being processed")
)

// newIDAt makes a UUIDv7 whose timestamp is t (millisecond precision), so
// the injected clock decides the partition.
func newIDAt(t time.Time) (uuid.UUID, error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return uuid.Nil, err
	}
	ms := uint64(t.UnixMilli())
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(id[0:6], ts[2:8])
	// rand_a holds the sub-millisecond fraction (RFC 9562, method 3), so
	// ids made in one millisecond still sort in time order.
	frac := uint16((t.UnixNano() % int64(time.Millisecond)) * 4096 / int64(time.Millisecond))
	id[6] = 0x70 | byte(frac>>8) // version 7
	id[7] = byte(frac)
	id[8] = (id[8] & 0x3f) | 0x80 // RFC 9562 variant
	return id, nil
}

// idTime is the timestamp of a UUIDv7 (the application's created_at, which
// names its partition); false for an id that is not version 7.
func idTime(id uuid.UUID) (time.Time, bool) {
	if id.Version() != 7 {
		return time.Time{}, false
	}
	var ts [8]byte
	copy(ts[2:8], id[0:6])
	return time.UnixMilli(int64(binary.BigEndian.Uint64(ts[:]))).UTC(), true
}
