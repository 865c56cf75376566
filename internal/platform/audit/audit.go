// Package audit is the append-only, hash-chained audit log every module
// writes to: logins, permission denials, PII reads, staff decisions and
// admin actions. Entries hold no plaintext PII.
//
// Writing is cheap and lock-free: RecordTx inserts one row in the caller's
// transaction and nothing else, so concurrent writers never wait for each
// other. A Sealer (one at a time, cluster-wide) links committed entries into
// a SHA-256 chain moments later, and Verify walks that chain and names the
// first entry that was altered, removed, inserted or reordered. See
// docs/security.md, "Audit log".
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/platform/audit/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/logx"
)

// Entry is one audited event.
type Entry struct {
	// OrgID is the organisation concerned (uuid.Nil for none). An org_admin
	// reading GET /v1/audit sees exactly the entries of their organisation.
	OrgID uuid.UUID
	// ActorID is who acted (uuid.Nil for anonymous or the system).
	ActorID   uuid.UUID
	ActorRole string
	// Action is <module>.<verb>, e.g. "auth.login_failed". Required.
	Action     string
	Resource   string
	ResourceID string
	IP         string
	// Details is extra context, marshalled to JSON; never plaintext PII.
	// String values (and whole numbers) that look like a CNIC or a phone
	// number are replaced by "[redacted]" before the entry is stored, and
	// the entry then carries "pii_redacted": <count>.
	Details map[string]any
	// OccurredAt defaults to now.
	OccurredAt time.Time
}

// DBTX is a pool, connection or transaction.
type DBTX = db.DBTX

// ErrNoAction is returned by Record for an entry without an Action.
var ErrNoAction = errors.New("audit: an entry needs an action")

func nullable(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// RecordTx writes e inside tx, so the entry exists if and only if the change
// it describes commits. The request id of ctx is recorded. It takes no lock:
// the chain is built later by the Sealer.
func RecordTx(ctx context.Context, tx pgx.Tx, e Entry) error { return Record(ctx, tx, e) }

// Record writes e with any DBTX: use it for events that are not part of a
// business transaction (a failed login, a denied request).
func Record(ctx context.Context, dbtx DBTX, e Entry) error {
	if e.Action == "" {
		return ErrNoAction
	}
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	if e.OccurredAt.IsZero() {
		e.OccurredAt = time.Now()
	}
	details, err := sanitise(&e)
	if err != nil {
		return err
	}
	err = db.New(dbtx).AuditInsert(ctx, db.AuditInsertParams{
		ID: id, OccurredAt: e.OccurredAt.UTC(), OrgID: nullable(e.OrgID), ActorID: nullable(e.ActorID),
		ActorRole: e.ActorRole, Action: e.Action, Resource: e.Resource, ResourceID: e.ResourceID,
		Ip: e.IP, RequestID: logx.RequestID(ctx), Details: details,
	})
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

// sanitise applies the PII guard to the free-text fields of e and returns
// the JSON of its details.
func sanitise(e *Entry) (json.RawMessage, error) {
	var n int
	e.ResourceID, n = redactString(e.ResourceID)
	if len(e.Details) == 0 {
		if n > 0 {
			return json.Marshal(map[string]int{redactedCountKey: n})
		}
		return json.RawMessage("{}"), nil
	}
	details, m, err := redactDetails(e.Details)
	if err != nil {
		return nil, fmt.Errorf("audit: details: %w", err)
	}
	if n+m > 0 {
		details[redactedCountKey] = n + m
	}
	b, err := json.Marshal(details)
	if err != nil {
		return nil, fmt.Errorf("audit: details: %w", err)
	}
	return b, nil
}
