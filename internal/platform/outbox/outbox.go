// Package outbox is the transactional outbox: modules call EnqueueTx inside
// their own transaction, so an event is stored if and only if the business
// change commits. The relay publishes stored events to Kafka.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/outbox/internal/db"
)

// Lanes is the number of ordering lanes; an event's lane is a hash of its
// key, and one relay at a time drains a lane in id order.
const Lanes = 64

// TopicPrefix prefixes every event type to make its topic.
const TopicPrefix = "pvara."

// Event is a fact a module publishes. Data must hold no plaintext PII (CNIC,
// phone): ids, codes and masked values only.
type Event struct {
	// ID is the event id; a UUIDv7 is generated when zero.
	ID uuid.UUID
	// Type is <module>.<fact>, e.g. "applications.submitted".
	Type string
	// Version is the payload schema version of Type.
	Version int
	// OccurredAt defaults to now.
	OccurredAt time.Time
	// OrgID is the organisation the event belongs to, uuid.Nil for none.
	OrgID uuid.UUID
	// Subject is the aggregate id; it is the Kafka key, so one aggregate's
	// events stay in order.
	Subject string
	// Data is the payload, marshalled to JSON.
	Data any
}

// Envelope is the JSON form of an event on the wire.
type Envelope struct {
	ID         uuid.UUID       `json:"id"`
	Type       string          `json:"type"`
	Version    int             `json:"version"`
	OccurredAt time.Time       `json:"occurred_at"`
	OrgID      *uuid.UUID      `json:"org_id"`
	Subject    string          `json:"subject"`
	Data       json.RawMessage `json:"data"`
}

// Topic is the Kafka topic of an event type.
func Topic(eventType string) string { return TopicPrefix + eventType }

// Lane is the ordering lane of a key.
func Lane(key string) int16 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int16(h.Sum32() % Lanes)
}

// Marshal builds the envelope of e, filling the id and time.
func Marshal(e *Event) ([]byte, error) {
	if e.Type == "" || e.Subject == "" || e.Version < 1 {
		return nil, errors.New("outbox: an event needs a type, a subject and a version")
	}
	if e.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		e.ID = id
	}
	if e.OccurredAt.IsZero() {
		e.OccurredAt = time.Now()
	}
	data, err := json.Marshal(e.Data)
	if err != nil {
		return nil, fmt.Errorf("outbox: marshal %s: %w", e.Type, err)
	}
	env := Envelope{ID: e.ID, Type: e.Type, Version: e.Version, OccurredAt: e.OccurredAt.UTC(), Subject: e.Subject, Data: data}
	if e.OrgID != uuid.Nil {
		org := e.OrgID
		env.OrgID = &org
	}
	return json.Marshal(env)
}

// EnqueueTx stores e in the outbox inside tx. The request id of ctx travels
// as a header.
func EnqueueTx(ctx context.Context, tx pgx.Tx, e Event) error {
	payload, err := Marshal(&e)
	if err != nil {
		return err
	}
	headers := map[string]string{"content-type": "application/json", "event-type": e.Type}
	if rid := logx.RequestID(ctx); rid != "" {
		headers["request-id"] = rid
	}
	hb, err := json.Marshal(headers)
	if err != nil {
		return err
	}
	err = db.New(tx).OutboxInsert(ctx, db.OutboxInsertParams{
		ID: e.ID, Topic: Topic(e.Type), EventKey: e.Subject, Lane: Lane(e.Subject), Payload: payload, Headers: hb,
	})
	if err != nil {
		return fmt.Errorf("outbox: enqueue %s: %w", e.Type, err)
	}
	return nil
}
