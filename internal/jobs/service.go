package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/jobs/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// WriterRoles may create and change their organisation's jobs.
var WriterRoles = []authz.Role{authz.RoleRecruiter, authz.RoleOrgAdmin}

// ErrDeadlinePassed: a job whose closes_at has passed cannot be published.
var ErrDeadlinePassed = apperr.New(apperr.KindConflict, "deadline_passed", "the job's closes_at has passed; move it first")

// requireWriter checks that p is a recruiter or org admin of an
// organisation.
func requireWriter(p authz.Principal) error {
	if !p.Has(WriterRoles...) || p.OrgID == uuid.Nil {
		return apperr.ErrForbidden
	}
	return nil
}

// ETagMatches implements If-Match: a comma-separated list of entity tags,
// or "*", compared strongly (weak tags never match).
func ETagMatches(ifMatch, etag string) bool {
	for _, t := range strings.Split(ifMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func (s *Service) auditTx(ctx context.Context, tx pgx.Tx, p authz.Principal, action string, j Job, details map[string]any) error {
	ip := ""
	if a := httpx.ClientIP(ctx); a.IsValid() {
		ip = a.String()
	}
	return audit.RecordTx(ctx, tx, audit.Entry{
		OrgID: j.OrgID, ActorID: p.UserID, ActorRole: string(p.Role), Action: action,
		Resource: "job", ResourceID: j.ID.String(), IP: ip, Details: details, OccurredAt: s.now(),
	})
}

// Create stores a new draft job of p's organisation.
func (s *Service) Create(ctx context.Context, p authz.Principal, in Input) (Job, error) {
	if err := requireWriter(p); err != nil {
		return Job{}, err
	}
	now := s.now().UTC()
	f, err := validate(in, now, true)
	if err != nil {
		return Job{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Job{}, err
	}
	criteria, err := json.Marshal(f.Criteria)
	if err != nil {
		return Job{}, err
	}
	var j Job
	err = postgres.ScopedTx(ctx, s.db, p.Scope(), func(tx pgx.Tx) error {
		row, err := db.New(tx).JobInsert(ctx, db.JobInsertParams{
			ID: id, OrgID: p.OrgID, Title: f.Title, Department: f.Department, Description: f.Description,
			Location: f.Location, Province: provinceParam(f.Province), Grade: f.Grade, Positions: int32(f.Positions),
			OpensAt: f.OpensAt, ClosesAt: f.ClosesAt, Criteria: criteria, CreatedBy: p.UserID, Now: now,
		})
		if err != nil {
			return translate(err)
		}
		if j, err = toJob(db.JobGetRow(row)); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, p, "jobs.created", j, nil)
	})
	return j, err
}

// scopeOf is the row-level-security scope of a caller (nil: anonymous).
func scopeOf(p *authz.Principal) postgres.Scope {
	if p == nil {
		return postgres.PublicScope()
	}
	return p.Scope()
}

// Get returns a job the caller may see: published and closed jobs to
// anyone, drafts only to staff of the job's organisation (RLS enforces
// it; anybody else gets ErrNotFound).
func (s *Service) Get(ctx context.Context, p *authz.Principal, id uuid.UUID) (Job, error) {
	var j Job
	err := postgres.ScopedTx(ctx, s.db, scopeOf(p), func(tx pgx.Tx) error {
		row, err := db.New(tx).JobGet(ctx, id)
		if err != nil {
			return translate(err)
		}
		j, err = toJob(row)
		return err
	})
	return j, err
}

// change runs fn on the locked job after the common checks of every write:
// p is a writer of the job's organisation (others: 404), If-Match is present
// (428) and matches the job's current ETag (412).
func (s *Service) change(ctx context.Context, p authz.Principal, id uuid.UUID, ifMatch string,
	fn func(tx pgx.Tx, q *db.Queries, j Job, now time.Time) (Job, error)) (Job, error) {
	if err := requireWriter(p); err != nil {
		return Job{}, err
	}
	if strings.TrimSpace(ifMatch) == "" {
		return Job{}, apperr.ErrPreconditionRequired
	}
	var out Job
	err := postgres.ScopedTx(ctx, s.db, p.Scope(), func(tx pgx.Tx) error {
		now := s.now().UTC()
		q := db.New(tx)
		row, err := q.JobGetForUpdate(ctx, id)
		if err != nil {
			return translate(err)
		}
		j, err := toJob(db.JobGetRow(row))
		if err != nil {
			return err
		}
		// RLS lets staff read other organisations' published jobs (the
		// board is public); writing them is not theirs to know about.
		if j.OrgID != p.OrgID {
			return ErrNotFound
		}
		if !ETagMatches(ifMatch, j.ETag(now)) {
			return apperr.ErrPreconditionFailed
		}
		out, err = fn(tx, q, j, now)
		return err
	})
	return out, err
}

// Update applies a patch to a draft or published job.
func (s *Service) Update(ctx context.Context, p authz.Principal, id uuid.UUID, ifMatch string, patch Patch) (Job, error) {
	if patch.Empty() {
		return Job{}, ErrEmptyPatch
	}
	var wasPublished bool
	j, err := s.change(ctx, p, id, ifMatch, func(tx pgx.Tx, q *db.Queries, j Job, now time.Time) (Job, error) {
		st := j.EffectiveStatus(now)
		if st != StatusDraft && st != StatusPublished {
			return Job{}, ErrNotEditable
		}
		wasPublished = st == StatusPublished
		f, err := validate(patch.apply(j.input()), now, wasPublished || patch.ClosesAt != nil)
		if err != nil {
			return Job{}, err
		}
		criteria, err := json.Marshal(f.Criteria)
		if err != nil {
			return Job{}, err
		}
		oldCriteria, err := json.Marshal(j.Criteria)
		if err != nil {
			return Job{}, err
		}
		row, err := q.JobUpdate(ctx, db.JobUpdateParams{
			ID: j.ID, Version: int32(j.Version), Title: f.Title, Department: f.Department, Description: f.Description,
			Location: f.Location, Province: provinceParam(f.Province), Grade: f.Grade, Positions: int32(f.Positions),
			OpensAt: f.OpensAt, ClosesAt: f.ClosesAt, Criteria: criteria, Now: now,
		})
		if err != nil {
			if postgres.IsNotFound(err) {
				return Job{}, apperr.ErrPreconditionFailed
			}
			return Job{}, postgres.Translate(err)
		}
		nj, err := toJob(db.JobGetRow(row))
		if err != nil {
			return Job{}, err
		}
		changed := !bytes.Equal(criteria, oldCriteria) || !nj.ClosesAt.Equal(j.ClosesAt)
		if wasPublished && changed {
			if err := outbox.EnqueueTx(ctx, tx, criteriaChangedEvent(nj)); err != nil {
				return Job{}, err
			}
		}
		return nj, s.auditTx(ctx, tx, p, "jobs.updated", nj, map[string]any{"version": nj.Version, "criteria_changed": changed})
	})
	if err == nil && wasPublished {
		s.invalidate(ctx)
	}
	return j, err
}

// Publish moves a draft to published; it shows on the board from opens_at.
func (s *Service) Publish(ctx context.Context, p authz.Principal, id uuid.UUID, ifMatch string) (Job, error) {
	j, err := s.change(ctx, p, id, ifMatch, func(tx pgx.Tx, q *db.Queries, j Job, now time.Time) (Job, error) {
		if j.Status != StatusDraft {
			return Job{}, ErrInvalidTransition.WithDetail(fmt.Sprintf("only a draft can be published; the job is %s", j.EffectiveStatus(now)))
		}
		if !j.ClosesAt.After(now) {
			return Job{}, ErrDeadlinePassed
		}
		nj, err := s.setStatus(ctx, q, j, StatusPublished, nil, now)
		if err != nil {
			return Job{}, err
		}
		if err := outbox.EnqueueTx(ctx, tx, publishedEvent(nj)); err != nil {
			return Job{}, err
		}
		return nj, s.auditTx(ctx, tx, p, "jobs.published", nj, map[string]any{"version": nj.Version})
	})
	if err == nil {
		s.invalidate(ctx)
	}
	return j, err
}

// Close moves a published job to closed before (or at) its deadline.
func (s *Service) Close(ctx context.Context, p authz.Principal, id uuid.UUID, ifMatch string) (Job, error) {
	j, err := s.change(ctx, p, id, ifMatch, func(tx pgx.Tx, q *db.Queries, j Job, now time.Time) (Job, error) {
		if j.Status != StatusPublished {
			return Job{}, ErrInvalidTransition.WithDetail(fmt.Sprintf("only a published job can be closed; the job is %s", j.Status))
		}
		at, reason := now, ReasonManual
		if !now.Before(j.ClosesAt) {
			// Already past its deadline: record it as closed then, as the
			// maintenance task would have.
			at, reason = j.ClosesAt, ReasonDeadline
		}
		nj, err := s.setStatus(ctx, q, j, StatusClosed, &at, now)
		if err != nil {
			return Job{}, err
		}
		if err := outbox.EnqueueTx(ctx, tx, closedEvent(nj.ID, nj.OrgID, nj.Version, at, reason)); err != nil {
			return Job{}, err
		}
		return nj, s.auditTx(ctx, tx, p, "jobs.closed", nj, map[string]any{"version": nj.Version, "reason": reason})
	})
	if err == nil {
		s.invalidate(ctx)
	}
	return j, err
}

func (s *Service) setStatus(ctx context.Context, q *db.Queries, j Job, to Status, closedAt *time.Time, now time.Time) (Job, error) {
	row, err := q.JobSetStatus(ctx, db.JobSetStatusParams{
		ID: j.ID, Version: int32(j.Version), Status: string(to), Now: now, ClosedAt: closedAt,
	})
	if err != nil {
		if postgres.IsNotFound(err) {
			return Job{}, apperr.ErrPreconditionFailed
		}
		return Job{}, postgres.Translate(err)
	}
	return toJob(db.JobGetRow(row))
}

// CloseDue closes every published job whose deadline has passed, emitting
// jobs.closed for each in the same transaction, and returns how many it
// closed. The maintenance role runs it; it is safe to run concurrently.
func (s *Service) CloseDue(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		err := postgres.ScopedTx(ctx, s.db, postgres.SystemScope(), func(tx pgx.Tx) error {
			rows, err := db.New(tx).JobCloseDue(ctx, s.now().UTC(), int32(s.cfg.CloseBatch))
			if err != nil {
				return postgres.Translate(err)
			}
			for _, r := range rows {
				if err := outbox.EnqueueTx(ctx, tx, closedEvent(r.ID, r.OrgID, int(r.Version), deref(r.ClosedAt).UTC(), ReasonDeadline)); err != nil {
					return err
				}
			}
			n = len(rows)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n > 0 {
			s.invalidate(ctx)
		}
		if n < s.cfg.CloseBatch {
			return total, nil
		}
	}
}

// ApplicationView is what the applications module needs of a job to accept
// an application: whose it is, whether it is open, and its criteria.
type ApplicationView struct {
	ID       uuid.UUID
	OrgID    uuid.UUID
	Title    string
	Status   Status // effective status at the time of the call
	OpensAt  time.Time
	ClosesAt time.Time
	Criteria Criteria
	Version  int
}

// OpenAt reports whether the job takes applications at now.
func (v ApplicationView) OpenAt(now time.Time) bool {
	return v.Status == StatusPublished && !now.Before(v.OpensAt) && now.Before(v.ClosesAt)
}

// GetForApplication returns the job for the applications module. Drafts and
// archived jobs are ErrNotFound, as they are to candidates.
func (s *Service) GetForApplication(ctx context.Context, id uuid.UUID) (ApplicationView, error) {
	var j Job
	// One round trip (ScopedRead): every submission calls this.
	err := postgres.ScopedRead(ctx, s.db, postgres.SystemScope(), func(q postgres.DBTX) error {
		row, err := db.New(q).JobGet(ctx, id)
		if err != nil {
			return translate(err)
		}
		j, err = toJob(row)
		return err
	})
	if err != nil {
		return ApplicationView{}, translate(err)
	}
	if j.Status != StatusPublished && j.Status != StatusClosed {
		return ApplicationView{}, ErrNotFound
	}
	return ApplicationView{
		ID: j.ID, OrgID: j.OrgID, Title: j.Title, Status: j.EffectiveStatus(s.now()), OpensAt: j.OpensAt,
		ClosesAt: j.ClosesAt, Criteria: j.Criteria, Version: j.Version,
	}, nil
}
