// Package outbox is the transactional outbox: modules call EnqueueTx inside
// their own transaction, so an event is stored if and only if the business
// change commits. The Relay (worker role `outbox`) claims stored events,
// produces them to Kafka and deletes them; docs/events.md explains the
// delivery and ordering guarantees.
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
// key, and one relay transaction at a time drains a lane, in order.
const Lanes = 64

// TopicPrefix prefixes every event type to make its topic.
const TopicPrefix = "pvara."

// DLQSuffix is appended to a topic to name its dead-letter topic.
const DLQSuffix = ".dlq"

// MaxEnvelopeBytes bounds an event's JSON envelope. Kafka refuses records
// above its max.message.bytes (1 MB by default), and a refused row would
// block its lane for ever, so EnqueueTx refuses it instead, failing the
// business transaction. Events carry ids and facts, not documents.
const MaxEnvelopeBytes = 256 << 10

// ErrEventTooLarge is returned by EnqueueTx for an envelope above
// MaxEnvelopeBytes.
var ErrEventTooLarge = errors.New("outbox: event larger than MaxEnvelopeBytes")

// Record headers set on every event. They travel beside the envelope (not
// inside it) so tooling can route and trace without parsing the payload.
const (
	HeaderContentType  = "content-type"
	HeaderEventType    = "event-type"
	HeaderEventVersion = "event-version"
	// HeaderRequestID is the id of the API request that caused the event
	// (logx.RequestID), when there was one.
	HeaderRequestID = "request-id"
	// HeaderTraceParent is the W3C traceparent of that request, when the
	// client or a proxy sent one (logx.TraceParent).
	HeaderTraceParent = "traceparent"
)

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

// DLQTopic is the dead-letter topic of an event type.
func DLQTopic(eventType string) string { return Topic(eventType) + DLQSuffix }

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

// Headers are the record headers of e given the request context ctx.
func Headers(ctx context.Context, e Event) map[string]string {
	h := map[string]string{
		HeaderContentType:  "application/json",
		HeaderEventType:    e.Type,
		HeaderEventVersion: fmt.Sprint(e.Version),
	}
	if rid := logx.RequestID(ctx); rid != "" {
		h[HeaderRequestID] = rid
	}
	if tp := logx.TraceParent(ctx); tp != "" {
		h[HeaderTraceParent] = tp
	}
	return h
}

// EnqueueTx stores e in the outbox inside tx: the event exists if and only
// if tx commits. The request id and traceparent of ctx travel as headers.
//
// Call it after the write that locks the aggregate (the UPDATE of the row,
// or the INSERT that creates it): the outbox row's order number is taken at
// this insert, so two transactions on the same aggregate, serialised by
// that lock, enqueue in commit order and their events reach Kafka in that
// order (docs/events.md, "Ordering").
func EnqueueTx(ctx context.Context, tx pgx.Tx, e Event) error {
	payload, err := Marshal(&e)
	if err != nil {
		return err
	}
	if len(payload) > MaxEnvelopeBytes {
		return fmt.Errorf("%w: %s is %d bytes", ErrEventTooLarge, e.Type, len(payload))
	}
	hb, err := json.Marshal(Headers(ctx, e))
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

// EnqueueBatchTx stores many events inside tx with one statement, in the
// order given (a key's events keep that order), as EnqueueTx does for one:
// they exist if and only if tx commits. A bulk writer (a re-screening of a
// whole job) uses it to avoid a round trip per event.
func EnqueueBatchTx(ctx context.Context, tx pgx.Tx, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	p := db.OutboxInsertBatchParams{
		Ids: make([]uuid.UUID, len(evs)), Topics: make([]string, len(evs)), EventKeys: make([]string, len(evs)),
		Lanes: make([]int16, len(evs)), Payloads: make([][]byte, len(evs)), Headers: make([][]byte, len(evs)),
	}
	for i := range evs {
		e := &evs[i]
		payload, err := Marshal(e)
		if err != nil {
			return err
		}
		if len(payload) > MaxEnvelopeBytes {
			return fmt.Errorf("%w: %s is %d bytes", ErrEventTooLarge, e.Type, len(payload))
		}
		hb, err := json.Marshal(Headers(ctx, *e))
		if err != nil {
			return err
		}
		p.Ids[i], p.Topics[i], p.EventKeys[i], p.Lanes[i] = e.ID, Topic(e.Type), e.Subject, Lane(e.Subject)
		p.Payloads[i], p.Headers[i] = payload, hb
	}
	if err := db.New(tx).OutboxInsertBatch(ctx, p); err != nil {
		return fmt.Errorf("outbox: enqueue %d events: %w", len(evs), err)
	}
	return nil
}
