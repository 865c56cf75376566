package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// EntryView is an audit entry as GET /v1/audit shows it.
type EntryView struct {
	ID         uuid.UUID      `json:"id"`
	OccurredAt time.Time      `json:"occurred_at"`
	OrgID      *uuid.UUID     `json:"org_id" nullable:"true"`
	ActorID    *uuid.UUID     `json:"actor_id" nullable:"true"`
	ActorRole  string         `json:"actor_role"`
	Action     string         `json:"action" doc:"<module>.<verb>, e.g. auth.login_failed, authz.permission_denied."`
	Resource   string         `json:"resource"`
	ResourceID string         `json:"resource_id"`
	IP         string         `json:"ip"`
	RequestID  string         `json:"request_id"`
	Details    map[string]any `json:"details"`
	Seq        *int64         `json:"seq" nullable:"true" doc:"Position in the hash chain; null until the sealer has linked the entry (moments after it was written)."`
}

// API serves GET /v1/audit.
type API struct {
	db      postgres.Beginner
	cursors *httpx.Cursors
}

// NewAPI returns the audit HTTP API over db (a pool running as the
// application role).
func NewAPI(db postgres.Beginner, cursors *httpx.Cursors) *API {
	return &API{db: db, cursors: cursors}
}

type listInput struct {
	ActorID    string    `query:"actor_id" format:"uuid" doc:"Only entries by this actor."`
	OrgID      string    `query:"org_id" format:"uuid" doc:"Only entries of this organisation (an org_admin sees their own organisation's entries whatever this says)."`
	Resource   string    `query:"resource" maxLength:"100" doc:"Only entries about this kind of resource, e.g. user."`
	ResourceID string    `query:"resource_id" maxLength:"200" doc:"Only entries about this resource."`
	Action     string    `query:"action" maxLength:"100" doc:"Only entries with this action, e.g. auth.login_failed."`
	After      time.Time `query:"after" doc:"Only entries that occurred at or after this time (RFC 3339)."`
	Before     time.Time `query:"before" doc:"Only entries that occurred before this time (RFC 3339)."`
	httpx.PageParams
}

type listOutput struct {
	Body httpx.Page[EntryView]
}

// cursorList names the cursors of this list (they cannot be replayed on
// another list).
const cursorList = "audit"

type auditCursor struct {
	ID uuid.UUID `json:"id"`
}

// Register adds GET /v1/audit to r.
func (a *API) Register(r *httpx.Router) {
	huma.Register(r.API, huma.Operation{
		OperationID: "listAuditEntries",
		Method:      http.MethodGet,
		Path:        "/v1/audit",
		Summary:     "List audit entries",
		Description: "The audit log, newest first. An org_admin sees the entries of their own organisation only; a platform_admin sees every entry. Entries hold no plaintext PII.",
		Tags:        []string{"audit"},
		Security:    []map[string][]string{{"bearer": {}}},
	}, a.list)
}

// filter is a parsed, authorised list query.
type filter struct {
	orgID, actorID               *uuid.UUID
	resource, resourceID, action string
	after, before                time.Time
	beforeID                     *uuid.UUID
	limit                        int
}

func (a *API) list(ctx context.Context, in *listInput) (*listOutput, error) {
	p, err := authz.Require(ctx, authz.RoleOrgAdmin, authz.RolePlatformAdmin)
	if err != nil {
		return nil, err
	}
	var v apperr.Validator
	f := filter{resource: in.Resource, resourceID: in.ResourceID, action: in.Action, after: in.After, before: in.Before, limit: in.Limit}
	if f.limit <= 0 {
		f.limit = 25
	}
	parseID := func(s, loc string) *uuid.UUID {
		if s == "" {
			return nil
		}
		id, err := uuid.Parse(s)
		v.Check(err == nil, loc, "must be a UUID")
		return &id
	}
	f.actorID = parseID(in.ActorID, "query.actor_id")
	f.orgID = parseID(in.OrgID, "query.org_id")
	v.Check(f.after.IsZero() || f.before.IsZero() || f.after.Before(f.before), "query.before", "must be later than after")
	if err := v.Err(); err != nil {
		return nil, err
	}
	var cur auditCursor
	if err := a.cursors.Decode(cursorList, in.Cursor, &cur); err != nil {
		return nil, err
	}
	if cur.ID != uuid.Nil {
		f.beforeID = &cur.ID
	}
	// Two walls: the query filters by the caller's organisation, and the
	// transaction's row-level-security scope hides every other one anyway.
	scope := postgres.SystemScope()
	if p.Role == authz.RoleOrgAdmin {
		if f.orgID != nil && *f.orgID != p.OrgID {
			return &listOutput{Body: httpx.Page[EntryView]{Items: []EntryView{}}}, nil
		}
		own := p.OrgID
		f.orgID = &own
		scope = postgres.OrgScope(p.OrgID, p.UserID)
	}
	var items []EntryView
	err = postgres.ScopedTx(ctx, a.db, scope, func(tx pgx.Tx) error {
		items, err = listEntries(ctx, tx, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &listOutput{Body: httpx.Page[EntryView]{Items: items}}
	if len(items) > f.limit {
		out.Body.Items = items[:f.limit]
		next, err := a.cursors.Encode(cursorList, auditCursor{ID: items[f.limit-1].ID})
		if err != nil {
			return nil, err
		}
		out.Body.NextCursor = &next
	}
	return out, nil
}

// listEntries runs the list query. It is built here rather than by sqlc
// because every filter is optional: a static query with "($1 IS NULL OR
// col = $1)" for each would get one generic plan that can use none of the
// indexes (TRAPS.md), while this one is planned for the filters present.
// Only placeholders are appended; no input reaches the SQL text.
func listEntries(ctx context.Context, tx pgx.Tx, f filter) ([]EntryView, error) {
	var sb strings.Builder
	sb.WriteString(`SELECT e.id, e.occurred_at, e.org_id, e.actor_id, e.actor_role, e.action, e.resource, e.resource_id,
       e.ip, e.request_id, e.details, c.seq
FROM platform.audit_log e
LEFT JOIN platform.audit_chain c ON c.entry_id = e.id
WHERE true`)
	var args []any
	cond := func(sql string, arg any) {
		args = append(args, arg)
		sb.WriteString(" AND ")
		sb.WriteString(strings.Replace(sql, "?", "$"+strconv.Itoa(len(args)), 1))
	}
	if f.orgID != nil {
		cond("e.org_id = ?", *f.orgID)
	}
	if f.actorID != nil {
		cond("e.actor_id = ?", *f.actorID)
	}
	if f.resource != "" {
		cond("e.resource = ?", f.resource)
	}
	if f.resourceID != "" {
		cond("e.resource_id = ?", f.resourceID)
	}
	if f.action != "" {
		cond("e.action = ?", f.action)
	}
	if !f.after.IsZero() {
		cond("e.occurred_at >= ?", f.after)
	}
	if !f.before.IsZero() {
		cond("e.occurred_at < ?", f.before)
	}
	if f.beforeID != nil {
		cond("e.id < ?", *f.beforeID)
	}
	args = append(args, f.limit+1)
	fmt.Fprintf(&sb, " ORDER BY e.id DESC LIMIT $%d", len(args))

	rows, err := tx.Query(ctx, sb.String(), args...)
	if err != nil {
		return nil, postgres.Translate(err)
	}
	defer rows.Close()
	items := []EntryView{}
	for rows.Next() {
		var e EntryView
		var details json.RawMessage
		if err := rows.Scan(&e.ID, &e.OccurredAt, &e.OrgID, &e.ActorID, &e.ActorRole, &e.Action, &e.Resource,
			&e.ResourceID, &e.IP, &e.RequestID, &details, &e.Seq); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(details, &e.Details); err != nil {
			return nil, fmt.Errorf("audit: details of %s: %w", e.ID, err)
		}
		items = append(items, e)
	}
	return items, postgres.Translate(rows.Err())
}
