package applications

import (
	"time"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/outbox"
)

// Event types the module publishes (topic pvara.<type>, key = the
// application id, envelope org_id = the job's organisation). Payloads hold
// ids and statuses, never the profile: consumers read the snapshot through
// Service.Submitted. docs/events.md describes them.
const (
	EventSubmitted     = "applications.submitted"
	EventStatusChanged = "applications.status_changed"
	EventWithdrawn     = "applications.withdrawn"
)

// EventScored is the screening module's event this module consumes.
const EventScored = "screening.scored"

// SubmittedV1 is the payload of applications.submitted version 1.
type SubmittedV1 struct {
	ApplicationID uuid.UUID `json:"application_id"`
	JobID         uuid.UUID `json:"job_id"`
	OrgID         uuid.UUID `json:"org_id"`
	CandidateID   uuid.UUID `json:"candidate_id"`
	ReceiptNumber string    `json:"receipt_number"`
	SubmittedAt   time.Time `json:"submitted_at"`
}

// StatusChangedV1 is the payload of applications.status_changed version 1.
// Every change of status emits it, withdrawals included.
type StatusChangedV1 struct {
	ApplicationID uuid.UUID `json:"application_id"`
	JobID         uuid.UUID `json:"job_id"`
	OrgID         uuid.UUID `json:"org_id"`
	CandidateID   uuid.UUID `json:"candidate_id"`
	From          Status    `json:"from"`
	To            Status    `json:"to"`
	Reason        *string   `json:"reason"`
	ChangedBy     uuid.UUID `json:"changed_by"`
	ChangedAt     time.Time `json:"changed_at"`
}

// WithdrawnV1 is the payload of applications.withdrawn version 1, emitted
// (besides status_changed) whenever an application becomes withdrawn, by
// its candidate or by staff.
type WithdrawnV1 struct {
	ApplicationID uuid.UUID `json:"application_id"`
	JobID         uuid.UUID `json:"job_id"`
	OrgID         uuid.UUID `json:"org_id"`
	CandidateID   uuid.UUID `json:"candidate_id"`
	WithdrawnAt   time.Time `json:"withdrawn_at"`
}

// ScoredV1 is the payload of screening.scored version 1 (the contract with
// the screening module).
type ScoredV1 struct {
	ApplicationID uuid.UUID `json:"application_id"`
	JobID         uuid.UUID `json:"job_id"`
	OrgID         uuid.UUID `json:"org_id"`
	Score         float64   `json:"score"`
	Eligible      bool      `json:"eligible"`
	ModelVersion  string    `json:"model_version"`
	ScoredAt      time.Time `json:"scored_at"`
}

func submittedEvent(a Application) outbox.Event {
	return outbox.Event{
		Type: EventSubmitted, Version: 1, OrgID: a.OrgID, Subject: a.ID.String(), OccurredAt: a.CreatedAt,
		Data: SubmittedV1{
			ApplicationID: a.ID, JobID: a.JobID, OrgID: a.OrgID, CandidateID: a.CandidateID,
			ReceiptNumber: a.ReceiptNumber, SubmittedAt: a.CreatedAt,
		},
	}
}

func statusChangedEvent(a Application, from Status, reason *string, by uuid.UUID, at time.Time) outbox.Event {
	return outbox.Event{
		Type: EventStatusChanged, Version: 1, OrgID: a.OrgID, Subject: a.ID.String(), OccurredAt: at,
		Data: StatusChangedV1{
			ApplicationID: a.ID, JobID: a.JobID, OrgID: a.OrgID, CandidateID: a.CandidateID, From: from,
			To: a.Status, Reason: reason, ChangedBy: by, ChangedAt: at,
		},
	}
}

func withdrawnEvent(a Application, at time.Time) outbox.Event {
	return outbox.Event{
		Type: EventWithdrawn, Version: 1, OrgID: a.OrgID, Subject: a.ID.String(), OccurredAt: at,
		Data: WithdrawnV1{ApplicationID: a.ID, JobID: a.JobID, OrgID: a.OrgID, CandidateID: a.CandidateID, WithdrawnAt: at},
	}
}

// EventTypes returns one example of every event the module publishes, built
// by the same code that builds the real ones.
func EventTypes() []outbox.Event {
	id := uuid.MustParse("0190f5c2-7a3b-7c00-8000-0000000000a1")
	a := Application{
		ID: id, CreatedAt: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC),
		OrgID:         uuid.MustParse("0190f5c2-7a3b-7c00-8000-0000000000aa"),
		JobID:         uuid.MustParse("0190f5c2-7a3b-7c00-8000-000000000001"),
		CandidateID:   uuid.MustParse("0190f5c2-7a3b-7c00-8000-0000000000c1"),
		ReceiptNumber: "PV26-000123456", Status: StatusSubmitted,
	}
	by := uuid.MustParse("0190f5c2-7a3b-7c00-8000-0000000000b1")
	reason := "meets the criteria"
	moved := a
	moved.Status = StatusUnderReview
	at := a.CreatedAt.Add(48 * time.Hour)
	return []outbox.Event{
		submittedEvent(a),
		statusChangedEvent(moved, StatusSubmitted, &reason, by, at),
		withdrawnEvent(a, at),
	}
}

// Events are the event types the module publishes, for the wiring (topic
// creation, the PII scan, docs/events.md).
func Events() []outbox.EventType {
	desc := map[string]string{
		EventSubmitted:     "a candidate submitted an application (screening scores it, the candidate is told)",
		EventStatusChanged: "an application moved in the pipeline (every change, withdrawals included)",
		EventWithdrawn:     "an application was withdrawn, by its candidate or by staff",
	}
	var out []outbox.EventType
	for _, ev := range EventTypes() {
		out = append(out, outbox.EventType{
			Type: ev.Type, Version: ev.Version, Producer: "applications", Subject: "the application id",
			Description: desc[ev.Type], Example: ev.Data,
		})
	}
	return out
}
