package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// ScopeKind says on whose behalf a transaction runs. Row-level-security
// policies read it (current_setting('app.scope', true)) together with
// app.org_id and app.user_id; a transaction that sets nothing sees no
// organisation-scoped rows at all, so a forgotten scope fails closed.
type ScopeKind string

// Scope kinds.
const (
	// ScopeOrg is staff of one organisation: they see that organisation's rows.
	ScopeOrg ScopeKind = "org"
	// ScopeUser is a signed-in person acting on their own rows (a candidate).
	ScopeUser ScopeKind = "user"
	// ScopePublic is an anonymous reader: only rows a policy marks public.
	ScopePublic ScopeKind = "public"
	// ScopeSystem is a worker or maintenance job acting for every
	// organisation; only background code uses it.
	ScopeSystem ScopeKind = "system"
)

// Scope is the row-level-security context of one transaction.
type Scope struct {
	Kind   ScopeKind
	OrgID  uuid.UUID
	UserID uuid.UUID
	// ForceCustomPlan sets plan_cache_mode = force_custom_plan for the
	// transaction. Use it for queries with optional filters (`$1 IS NULL OR
	// col = $1`) and full-text search: pgx prepares statements, and after
	// five runs PostgreSQL may switch to a generic plan that cannot use the
	// right partial or GIN index (see TRAPS.md). It rides on the same
	// round trip as the scope.
	ForceCustomPlan bool
	// Settings are further transaction-local settings applied in the same
	// round trip, such as planner switches for one query.
	Settings []Setting
}

// Setting is one configuration parameter and its value.
type Setting struct{ Name, Value string }

// WithCustomPlans returns s with ForceCustomPlan set.
func (s Scope) WithCustomPlans() Scope {
	s.ForceCustomPlan = true
	return s
}

// OrgScope is staff of org acting as user.
func OrgScope(org, user uuid.UUID) Scope { return Scope{Kind: ScopeOrg, OrgID: org, UserID: user} }

// UserScope is a person acting on their own rows.
func UserScope(user uuid.UUID) Scope { return Scope{Kind: ScopeUser, UserID: user} }

// PublicScope is an anonymous reader.
func PublicScope() Scope { return Scope{Kind: ScopePublic} }

// SystemScope is background work across organisations.
func SystemScope() Scope { return Scope{Kind: ScopeSystem} }

func idOrEmpty(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

// statement is the one SELECT of set_config calls that sets s, and its
// arguments.
func (s Scope) statement() (string, []any) {
	sql := "SELECT set_config('app.scope', $1, true), set_config('app.org_id', $2, true), set_config('app.user_id', $3, true)"
	if s.ForceCustomPlan {
		sql += ", set_config('plan_cache_mode', 'force_custom_plan', true)"
	}
	args := []any{string(s.Kind), idOrEmpty(s.OrgID), idOrEmpty(s.UserID)}
	for _, st := range s.Settings {
		sql += fmt.Sprintf(", set_config($%d, $%d, true)", len(args)+1, len(args)+2)
		args = append(args, st.Name, st.Value)
	}
	return sql, args
}

// Queue adds the statement that sets s to a batch that begins a
// transaction, for code that sends a whole transaction in a few round trips.
func (s Scope) Queue(b *pgx.Batch) {
	sql, args := s.statement()
	b.Queue(sql, args...)
}

// Apply sets the scope for the rest of tx with set_config(..., true), which is
// transaction-local: it ends with the transaction, so it is safe behind
// PgBouncer in transaction mode and never leaks to the next user of the
// connection.
func (s Scope) Apply(ctx context.Context, tx pgx.Tx) error {
	if s.Kind == "" {
		return fmt.Errorf("postgres: empty scope")
	}
	sql, args := s.statement()
	_, err := tx.Exec(ctx, sql, args...)
	if err != nil {
		return Translate(fmt.Errorf("set scope: %w", err))
	}
	return nil
}
