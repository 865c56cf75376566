package screening

import (
	"time"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/outbox"
)

// EventScored is the event type screening publishes (topic
// pvara.screening.scored, key = the application id): an application was
// scored, or re-scored with a different result. The applications module
// stores it as ai_score. Its payload holds no personal data.
const EventScored = "screening.scored"

// The event types screening consumes (the applications and jobs modules
// publish them; their payload fields are fixed by the cross-module
// contract, and screening decodes only what it reads).
const (
	EventApplicationSubmitted = "applications.submitted"
	EventStatusChanged        = "applications.status_changed"
	EventWithdrawn            = "applications.withdrawn"
	EventCriteriaChanged      = "jobs.criteria_changed"
)

// ScoredV1 is the payload of screening.scored version 1.
type ScoredV1 struct {
	ApplicationID uuid.UUID `json:"application_id"`
	JobID         uuid.UUID `json:"job_id"`
	OrgID         uuid.UUID `json:"org_id"`
	// Score is 0..100 with at most two decimals.
	Score    float64 `json:"score"`
	Eligible bool    `json:"eligible"`
	// ModelVersion is the model that produced the score.
	ModelVersion string `json:"model_version"`
	// ScoredAt (RFC 3339 with nanoseconds) orders re-scores: a consumer
	// keeps the newest.
	ScoredAt time.Time `json:"scored_at"`
}

func scoredEvent(p ScoredV1) outbox.Event {
	return outbox.Event{
		Type: EventScored, Version: 1, OrgID: p.OrgID, Subject: p.ApplicationID.String(), OccurredAt: p.ScoredAt,
		Data: p,
	}
}

// submittedV1 is what screening reads of applications.submitted v1.
type submittedV1 struct {
	ApplicationID uuid.UUID `json:"application_id"`
	JobID         uuid.UUID `json:"job_id"`
	OrgID         uuid.UUID `json:"org_id"`
}

// statusChangedV1 is what screening reads of applications.status_changed
// v1.
type statusChangedV1 struct {
	ApplicationID uuid.UUID `json:"application_id"`
	JobID         uuid.UUID `json:"job_id"`
	OrgID         uuid.UUID `json:"org_id"`
	CandidateID   uuid.UUID `json:"candidate_id"`
	To            string    `json:"to"`
	ChangedAt     time.Time `json:"changed_at"`
}

// withdrawnV1 is what screening reads of applications.withdrawn v1.
type withdrawnV1 struct {
	ApplicationID uuid.UUID `json:"application_id"`
	JobID         uuid.UUID `json:"job_id"`
	OrgID         uuid.UUID `json:"org_id"`
	CandidateID   uuid.UUID `json:"candidate_id"`
	WithdrawnAt   time.Time `json:"withdrawn_at"`
}

// criteriaChangedV1 is what screening reads of jobs.criteria_changed v1.
type criteriaChangedV1 struct {
	JobID   uuid.UUID `json:"job_id"`
	OrgID   uuid.UUID `json:"org_id"`
	Version int       `json:"version"`
}

// EventTypes returns one example of every event the module publishes,
// built by the same code that builds the real ones.
func EventTypes() []outbox.Event {
	return []outbox.Event{scoredEvent(ScoredV1{
		ApplicationID: uuid.MustParse("0190f5c2-7a3b-7c00-8000-000000000101"),
		JobID:         uuid.MustParse("0190f5c2-7a3b-7c00-8000-000000000001"),
		OrgID:         uuid.MustParse("0190f5c2-7a3b-7c00-8000-0000000000aa"),
		Score:         73.45, Eligible: true, ModelVersion: ModelVersion,
		ScoredAt: time.Date(2026, 12, 2, 9, 30, 15, 123456789, time.UTC),
	})}
}

// Events are the event types the module publishes, with the examples of
// EventTypes, for the wiring (topic creation, the PII scan,
// docs/events.md).
func Events() []outbox.EventType {
	var out []outbox.EventType
	for _, ev := range EventTypes() {
		out = append(out, outbox.EventType{
			Type: ev.Type, Version: ev.Version, Producer: "screening", Subject: "the application id",
			Description: "an application was scored, or re-scored with a different result (applications stores it as ai_score)",
			Example:     ev.Data,
		})
	}
	return out
}
