// Package audit is the append-only audit log every module writes to: logins,
// permission denials, PII reads, staff decisions and admin actions. Entries
// hold no plaintext PII.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/platform/audit/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/logx"
)

// Entry is one audited event.
type Entry struct {
	// OrgID is the organisation concerned (uuid.Nil for none).
	OrgID uuid.UUID
	// ActorID is who acted (uuid.Nil for anonymous or the system).
	ActorID   uuid.UUID
	ActorRole string
	// Action is <module>.<verb>, e.g. "auth.login_failed".
	Action     string
	Resource   string
	ResourceID string
	IP         string
	// Details is extra context, marshalled to JSON; never plaintext PII.
	Details map[string]any
	// OccurredAt defaults to now.
	OccurredAt time.Time
}

// DBTX is a pool, connection or transaction.
type DBTX = db.DBTX

func nullable(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// RecordTx writes e inside tx, so the entry exists if and only if the change
// it describes commits. The request id of ctx is recorded.
func RecordTx(ctx context.Context, tx pgx.Tx, e Entry) error { return Record(ctx, tx, e) }

// Record writes e with any DBTX: use it for events that are not part of a
// business transaction (a failed login, a denied request).
func Record(ctx context.Context, dbtx DBTX, e Entry) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	if e.OccurredAt.IsZero() {
		e.OccurredAt = time.Now()
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		if details, err = json.Marshal(e.Details); err != nil {
			return fmt.Errorf("audit: details: %w", err)
		}
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
