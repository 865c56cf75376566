package applications

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/applications/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// MaxReason is the longest transition reason, in characters.
const MaxReason = 1000

// readScope is the row-level-security scope under which p reads
// applications: staff of an organisation see its applications, a
// candidate their own; anybody else has none to see.
func readScope(p authz.Principal) (postgres.Scope, bool) {
	switch {
	case p.IsStaff():
		return postgres.OrgScope(p.OrgID, p.UserID), true
	case p.Role == authz.RoleCandidate && p.UserID != uuid.Nil:
		return postgres.UserScope(p.UserID), true
	}
	return postgres.Scope{}, false
}

// visibleTo is the explicit half of the isolation (row-level security is
// the other): staff see their organisation's applications, a candidate
// their own, the system (p nil) all.
func visibleTo(p *authz.Principal, a Application) bool {
	switch {
	case p == nil:
		return true
	case p.IsStaff():
		return a.OrgID == p.OrgID
	case p.Role == authz.RoleCandidate:
		return a.CandidateID == p.UserID
	}
	return false
}

// getTx reads one application by id, naming its partition; ErrNotFound
// when the id is not a UUIDv7, or the row is not visible in tx's scope or
// not p's to see (p nil: the system).
func getTx(ctx context.Context, q *db.Queries, p *authz.Principal, id uuid.UUID, forUpdate bool) (Application, error) {
	at, ok := idTime(id)
	if !ok {
		return Application{}, ErrNotFound
	}
	var row db.ApplicationGetRow
	var err error
	if forUpdate {
		var r db.ApplicationGetForUpdateRow
		r, err = q.ApplicationGetForUpdate(ctx, id, at)
		row = db.ApplicationGetRow(r)
	} else {
		row, err = q.ApplicationGet(ctx, id, at)
	}
	if err != nil {
		return Application{}, translate(err)
	}
	a, err := toApplication(row)
	if err != nil {
		return Application{}, err
	}
	if !visibleTo(p, a) {
		return Application{}, ErrNotFound
	}
	return a, nil
}

// Get returns an application to its candidate or to staff of the job's
// organisation; anybody else gets ErrNotFound (row-level security makes
// the row invisible to them).
func (s *Service) Get(ctx context.Context, p authz.Principal, id uuid.UUID) (Application, error) {
	scope, ok := readScope(p)
	if !ok {
		return Application{}, ErrNotFound
	}
	var a Application
	err := postgres.ScopedTx(ctx, s.db, scope, func(tx pgx.Tx) error {
		var err error
		a, err = getTx(ctx, db.New(tx), &p, id, false)
		if err != nil || !p.IsStaff() {
			return err
		}
		// Staff reading a candidate's personal data (name, date of birth,
		// domicile, résumé) is a PII read, audited in the same transaction.
		return s.auditTx(ctx, tx, p, ActionPIIRead, a, s.now().UTC(), map[string]any{"job_id": a.JobID.String()})
	})
	return a, err
}

// Audit actions of the module (besides the submission, status changes and
// withdrawals named in docs/applications.md).
const ActionPIIRead = "applications.pii_read"

// ListMine returns candidate p's applications, newest first, before the
// given id (uuid.Nil for the first page).
func (s *Service) ListMine(ctx context.Context, p authz.Principal, before uuid.UUID, limit int) ([]Application, error) {
	if p.Role != authz.RoleCandidate || p.UserID == uuid.Nil {
		return nil, apperr.ErrForbidden
	}
	var out []Application
	err := postgres.ScopedTx(ctx, s.db, postgres.UserScope(p.UserID), func(tx pgx.Tx) error {
		var b *uuid.UUID
		if before != uuid.Nil {
			b = &before
		}
		rows, err := db.New(tx).ApplicationListByCandidate(ctx, p.UserID, b, int32(limit))
		if err != nil {
			return postgres.Translate(err)
		}
		out = make([]Application, 0, len(rows))
		for _, r := range rows {
			a, err := toApplication(db.ApplicationGetRow(r))
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// History returns the status changes of an application the caller may
// see, oldest first.
func (s *Service) History(ctx context.Context, p authz.Principal, id uuid.UUID) ([]HistoryEntry, error) {
	scope, ok := readScope(p)
	if !ok {
		return nil, ErrNotFound
	}
	var out []HistoryEntry
	err := postgres.ScopedTx(ctx, s.db, scope, func(tx pgx.Tx) error {
		q := db.New(tx)
		if _, err := getTx(ctx, q, &p, id, false); err != nil {
			return err
		}
		rows, err := q.HistoryList(ctx, id)
		if err != nil {
			return postgres.Translate(err)
		}
		out = make([]HistoryEntry, 0, len(rows))
		for _, r := range rows {
			h := HistoryEntry{To: Status(r.ToStatus), At: r.ChangedAt.UTC(), By: r.ChangedBy, Reason: r.Reason}
			if r.FromStatus != nil {
				f := Status(*r.FromStatus)
				h.From = &f
			}
			out = append(out, h)
		}
		return nil
	})
	return out, err
}

// TransitionInput is a pipeline move. IfMatch is optional: when given it
// must match the application's current ETag ("v<version>"), else 412.
type TransitionInput struct {
	To      string
	Reason  *string
	IfMatch string `json:"-"`
}

// Transition moves an application of p's organisation to another status
// (recruiter or org_admin). The row is locked for the change, so of two
// concurrent transitions the second sees the first's result and is judged
// against it: both cannot win.
func (s *Service) Transition(ctx context.Context, p authz.Principal, id uuid.UUID, in TransitionInput, idem Idempotency) (Submission, error) {
	if !p.Has(StaffWriterRoles...) || p.OrgID == uuid.Nil {
		return Submission{}, apperr.ErrForbidden
	}
	to := Status(strings.TrimSpace(in.To))
	if !to.Valid() {
		return Submission{}, apperr.Invalid(apperr.Field("body.to", "must be one of submitted, under_review, shortlisted, interview, offered, hired, rejected, withdrawn"))
	}
	var reason *string
	if in.Reason != nil {
		r := strings.TrimSpace(*in.Reason)
		if utf8.RuneCountInString(r) > MaxReason {
			return Submission{}, apperr.Invalid(apperr.Field("body.reason", fmt.Sprintf("must be at most %d characters", MaxReason)))
		}
		if r != "" {
			reason = &r
		}
	}
	return s.change(ctx, p, postgres.OrgScope(p.OrgID, p.UserID), id, to, reason, in.IfMatch, "applications.status_changed", idem)
}

// Withdraw withdraws candidate p's own application (from any status that
// is not final). ifMatch is optional, as on Transition.
func (s *Service) Withdraw(ctx context.Context, p authz.Principal, id uuid.UUID, ifMatch string, idem Idempotency) (Submission, error) {
	if p.Role != authz.RoleCandidate || p.UserID == uuid.Nil {
		return Submission{}, apperr.ErrForbidden
	}
	return s.change(ctx, p, postgres.UserScope(p.UserID), id, StatusWithdrawn, nil, ifMatch, "applications.withdrawn", idem)
}

// change is the one path of every status change: lock the row, check the
// pipeline, update it, and write history, audit and events in the same
// transaction.
func (s *Service) change(ctx context.Context, p authz.Principal, scope postgres.Scope, id uuid.UUID, to Status,
	reason *string, ifMatch, action string, idem Idempotency) (Submission, error) {
	var out Submission
	err := postgres.ScopedTx(ctx, s.db, scope, func(tx pgx.Tx) error {
		q := db.New(tx)
		if idem.Key != "" {
			replay, err := s.idempotencyCheck(ctx, q, p.UserID, idem)
			if err != nil || replay != nil {
				if replay != nil {
					out = *replay
				}
				return err
			}
		}
		cur, err := getTx(ctx, q, &p, id, true)
		if err != nil {
			return err
		}
		if ifMatch = strings.TrimSpace(ifMatch); ifMatch != "" && !etagMatches(ifMatch, cur.ETag()) {
			return apperr.ErrPreconditionFailed
		}
		if !CanTransition(cur.Status, to) {
			return ErrInvalidTransition.WithDetail(fmt.Sprintf("an application that is %s cannot become %s", cur.Status, to))
		}
		now := s.now().UTC()
		row, err := q.ApplicationSetStatus(ctx, db.ApplicationSetStatusParams{
			Status: string(to), Now: now, ID: cur.ID, CreatedAt: cur.CreatedAt, Version: int32(cur.Version),
		})
		if err != nil {
			return translate(err)
		}
		a, err := toApplication(db.ApplicationGetRow(row))
		if err != nil {
			return err
		}
		hid, err := newIDAt(now)
		if err != nil {
			return err
		}
		from := string(cur.Status)
		if err := q.HistoryInsert(ctx, db.HistoryInsertParams{
			ID: hid, ApplicationID: a.ID, OrgID: a.OrgID, CandidateID: a.CandidateID, FromStatus: &from,
			ToStatus: string(to), Reason: reason, ChangedBy: p.UserID, ChangedAt: now,
		}); err != nil {
			return postgres.Translate(err)
		}
		if err := outbox.EnqueueTx(ctx, tx, statusChangedEvent(a, cur.Status, reason, p.UserID, now)); err != nil {
			return err
		}
		if to == StatusWithdrawn {
			if err := outbox.EnqueueTx(ctx, tx, withdrawnEvent(a, now)); err != nil {
				return err
			}
		}
		details := map[string]any{"from": string(cur.Status), "to": string(to), "job_id": a.JobID.String()}
		if reason != nil {
			details["reason"] = *reason
		}
		if err := s.auditTx(ctx, tx, p, action, a, now, details); err != nil {
			return err
		}
		body, err := json.Marshal(applicationBody(a))
		if err != nil {
			return err
		}
		out = Submission{Application: a, Status: 200, Body: body}
		if idem.Key != "" {
			return s.idempotencyStore(ctx, q, p.UserID, idem, 200, body, now)
		}
		return nil
	})
	if err != nil {
		return Submission{}, err
	}
	return out, nil
}
