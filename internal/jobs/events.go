package jobs

import (
	"time"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/vocab"
)

// Event types the jobs module publishes (topic pvara.<type>, key = job id).
// Their payloads hold no personal data: a job is an organisation's public
// posting. docs/events.md describes them.
const (
	EventPublished       = "jobs.published"
	EventClosed          = "jobs.closed"
	EventCriteriaChanged = "jobs.criteria_changed"
)

// PublishedV1 is the payload of jobs.published version 1.
type PublishedV1 struct {
	JobID       uuid.UUID       `json:"job_id"`
	OrgID       uuid.UUID       `json:"org_id"`
	Version     int             `json:"version"`
	Title       string          `json:"title"`
	Department  string          `json:"department"`
	Location    string          `json:"location"`
	Province    *vocab.Province `json:"province"`
	Grade       *string         `json:"grade"`
	Positions   int             `json:"positions"`
	OpensAt     time.Time       `json:"opens_at"`
	ClosesAt    time.Time       `json:"closes_at"`
	PublishedAt time.Time       `json:"published_at"`
	Criteria    Criteria        `json:"criteria"`
}

// ClosedV1 is the payload of jobs.closed version 1.
type ClosedV1 struct {
	JobID    uuid.UUID `json:"job_id"`
	OrgID    uuid.UUID `json:"org_id"`
	Version  int       `json:"version"`
	ClosedAt time.Time `json:"closed_at"`
	// Reason is "manual" (a recruiter closed it) or "deadline" (it reached
	// closes_at).
	Reason string `json:"reason"`
}

// CriteriaChangedV1 is the payload of jobs.criteria_changed version 1: a
// published job's criteria or deadline changed (eligibility is evaluated at
// the deadline, so a new closes_at can change it too); screening re-scores.
type CriteriaChangedV1 struct {
	JobID    uuid.UUID `json:"job_id"`
	OrgID    uuid.UUID `json:"org_id"`
	Version  int       `json:"version"`
	ClosesAt time.Time `json:"closes_at"`
	Criteria Criteria  `json:"criteria"`
}

// Closed reasons.
const (
	ReasonManual   = "manual"
	ReasonDeadline = "deadline"
)

func publishedEvent(j Job) outbox.Event {
	return outbox.Event{
		Type: EventPublished, Version: 1, OrgID: j.OrgID, Subject: j.ID.String(),
		Data: PublishedV1{
			JobID: j.ID, OrgID: j.OrgID, Version: j.Version, Title: j.Title, Department: j.Department,
			Location: j.Location, Province: j.Province, Grade: j.Grade, Positions: j.Positions,
			OpensAt: j.OpensAt, ClosesAt: j.ClosesAt, PublishedAt: deref(j.PublishedAt), Criteria: j.Criteria,
		},
	}
}

func closedEvent(id, org uuid.UUID, version int, at time.Time, reason string) outbox.Event {
	return outbox.Event{
		Type: EventClosed, Version: 1, OrgID: org, Subject: id.String(), OccurredAt: at,
		Data: ClosedV1{JobID: id, OrgID: org, Version: version, ClosedAt: at, Reason: reason},
	}
}

func criteriaChangedEvent(j Job) outbox.Event {
	return outbox.Event{
		Type: EventCriteriaChanged, Version: 1, OrgID: j.OrgID, Subject: j.ID.String(),
		Data: CriteriaChangedV1{JobID: j.ID, OrgID: j.OrgID, Version: j.Version, ClosesAt: j.ClosesAt, Criteria: j.Criteria},
	}
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

// EventTypes returns one example of every event the module publishes, built
// by the same code that builds the real ones, for wiring-level checks (the
// PII scan of every module's payloads) and for documentation.
func EventTypes() []outbox.Event {
	id := uuid.MustParse("0190f5c2-7a3b-7c00-8000-000000000001")
	org := uuid.MustParse("0190f5c2-7a3b-7c00-8000-0000000000aa")
	opens := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	closes := opens.AddDate(0, 0, 30)
	province, grade, ageMin, ageMax, relax := vocab.Punjab, "BPS-14", 18, 30, 5
	j := Job{
		ID: id, OrgID: org, Status: StatusPublished, Version: 2, Title: "Naib Qasid", Department: "Administration",
		Location: "Lahore", Province: &province, Grade: &grade, Positions: 3, OpensAt: opens, ClosesAt: closes,
		PublishedAt: &opens,
		Criteria: Criteria{
			MinEducation: vocab.Matric, MinExperienceYears: 0, AgeMin: &ageMin, AgeMax: &ageMax, AgeRelaxationYears: &relax,
			RequiredSkills: []string{"office work"}, PreferredSkills: []string{"urdu typing"},
			DomicileProvinces: []vocab.Province{vocab.Punjab},
		},
	}
	changed := j
	changed.Version = 3
	return []outbox.Event{
		publishedEvent(j),
		criteriaChangedEvent(changed),
		closedEvent(id, org, 4, closes, ReasonDeadline),
	}
}

// Events are the event types the module publishes, with the examples of
// EventTypes, for the wiring (topic creation, the PII scan, docs/events.md).
func Events() []outbox.EventType {
	desc := map[string]string{
		EventPublished:       "a draft job was published on the board",
		EventCriteriaChanged: "a published job's criteria or deadline changed (screening re-scores its applications)",
		EventClosed:          "a job closed, by a recruiter or at its deadline",
	}
	var out []outbox.EventType
	for _, ev := range EventTypes() {
		out = append(out, outbox.EventType{
			Type: ev.Type, Version: ev.Version, Producer: "jobs", Subject: "the job id",
			Description: desc[ev.Type], Example: ev.Data,
		})
	}
	return out
}
