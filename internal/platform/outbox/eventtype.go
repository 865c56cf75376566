package outbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// EventType documents one event type a module publishes. Each module
// declares its types in its events.go, e.g.
//
//	// Events are the event types this module publishes.
//	func Events() []outbox.EventType {
//		return []outbox.EventType{{
//			Type: TypeUserRegistered, Version: 1, Producer: "auth",
//			Subject: "the user id", Description: "a person created an account",
//			Example: UserRegistered{UserID: ..., Role: "candidate"},
//		}}
//	}
//
// and cmd/pvara lists every module's Events() in one place (eventTypes in
// wire_events.go): the relay creates their topics at start, and a test there
// validates each declaration, scanning its example for plaintext PII. There
// is no global registry.
type EventType struct {
	// Type is <module>.<fact>: lower case, one dot, e.g. "jobs.published".
	Type string
	// Version is the current payload schema version (from 1). A change
	// that breaks consumers gets a new version; consumers switch on it.
	Version int
	// Producer is the module that publishes the type.
	Producer string
	// Subject says what the subject (the Kafka key) is, e.g. "the job id".
	Subject string
	// Description says what happened, in one sentence.
	Description string
	// Example is a representative Data value, built with the same type the
	// module publishes, with realistic (fake) values.
	Example any
}

// Topic is the type's Kafka topic.
func (t EventType) Topic() string { return Topic(t.Type) }

// DLQTopic is the type's dead-letter topic.
func (t EventType) DLQTopic() string { return DLQTopic(t.Type) }

var typeName = regexp.MustCompile(`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`)

// Validate checks the declaration: a well-formed name, a version, a
// description, and an example that marshals to a JSON object holding no
// plaintext PII (see ScanPII).
func (t EventType) Validate() error {
	if !typeName.MatchString(t.Type) {
		return fmt.Errorf("event type %q: want <module>.<fact> in lower case", t.Type)
	}
	if t.Version < 1 {
		return fmt.Errorf("event type %s: version must be 1 or more", t.Type)
	}
	if t.Producer == "" || t.Subject == "" || t.Description == "" {
		return fmt.Errorf("event type %s: Producer, Subject and Description document it and are required", t.Type)
	}
	e := Event{Type: t.Type, Version: t.Version, OrgID: uuid.Must(uuid.NewV7()), Subject: uuid.Must(uuid.NewV7()).String(), Data: t.Example}
	b, err := Marshal(&e)
	if err != nil {
		return fmt.Errorf("event type %s: %w", t.Type, err)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("event type %s: %w", t.Type, err)
	}
	if len(env.Data) == 0 || env.Data[0] != '{' {
		return fmt.Errorf("event type %s: the example must marshal to a JSON object, got %.20s", t.Type, env.Data)
	}
	if fs := ScanPII(b); len(fs) > 0 {
		var msgs []string
		for _, f := range fs {
			msgs = append(msgs, f.String())
		}
		return fmt.Errorf("event type %s: plaintext PII in the example payload: %s", t.Type, strings.Join(msgs, "; "))
	}
	return nil
}

// ValidateAll validates every declaration and refuses two declarations of
// one type.
func ValidateAll(types []EventType) error {
	seen := map[string]bool{}
	var errs []error
	for _, t := range types {
		if seen[t.Type] {
			errs = append(errs, fmt.Errorf("event type %s is declared twice", t.Type))
		}
		seen[t.Type] = true
		if err := t.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// TypeTestPing is the platform's own event: an operator (`pvara events
// ping`) or a test enqueues it to check the pipeline end to end. No module
// consumes it.
const TypeTestPing = "platform.test_ping"

// TestPing is the payload of platform.test_ping, version 1.
type TestPing struct {
	// Note is free text chosen by whoever sent the ping (no PII).
	Note string `json:"note"`
	// Seq numbers pings from one sender, for ordering checks.
	Seq int64 `json:"seq"`
}

// Events are the event types the platform itself publishes.
func Events() []EventType {
	return []EventType{{
		Type:        TypeTestPing,
		Version:     1,
		Producer:    "platform (pvara events ping, tests)",
		Subject:     "any string the sender chooses; pings with one subject stay in order",
		Description: "a diagnostic ping that checks outbox → relay → Kafka → consumers end to end",
		Example:     TestPing{Note: "deploy check", Seq: 1},
	}}
}
