// Package authz is the access machinery every module uses: the principal of
// a request (who, which role, which organisation), the middleware that puts
// it in the context from a bearer token, and role checks. Token formats and
// accounts belong to the auth module, which implements Verifier.
package authz

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// Role is what a principal may do.
type Role string

// Roles.
const (
	RoleCandidate     Role = "candidate"
	RoleRecruiter     Role = "recruiter"
	RoleInterviewer   Role = "interviewer"
	RoleOrgAdmin      Role = "org_admin"
	RolePlatformAdmin Role = "platform_admin"
	// RoleClient is an OAuth client_credentials API client of one
	// organisation; Scopes say what it may do.
	RoleClient Role = "client"
)

// StaffRoles are the roles that belong to one organisation.
var StaffRoles = []Role{RoleRecruiter, RoleInterviewer, RoleOrgAdmin}

// Principal is the authenticated caller.
type Principal struct {
	UserID uuid.UUID
	Role   Role
	// OrgID is the organisation of staff and clients; uuid.Nil otherwise.
	OrgID uuid.UUID
	// ClientID is set for OAuth clients.
	ClientID string
	Scopes   []string
	// TokenID is the access token's jti.
	TokenID string
	// SessionID is the login session (refresh-token family) the access
	// token belongs to; logout revokes it. uuid.Nil for API clients.
	SessionID uuid.UUID
}

// IsStaff reports whether p is staff of an organisation.
func (p Principal) IsStaff() bool { return slices.Contains(StaffRoles, p.Role) && p.OrgID != uuid.Nil }

// Has reports whether p has one of roles.
func (p Principal) Has(roles ...Role) bool { return slices.Contains(roles, p.Role) }

// HasScope reports whether an OAuth client principal has scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// Scope is the row-level-security scope of p's transactions: staff and
// clients see their organisation, everyone else their own rows.
func (p Principal) Scope() postgres.Scope {
	if p.OrgID != uuid.Nil && (p.IsStaff() || p.Role == RoleClient) {
		return postgres.OrgScope(p.OrgID, p.UserID)
	}
	return postgres.UserScope(p.UserID)
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of ctx, if the request was authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Require returns the principal when it has one of roles: 401 when the
// request is anonymous, 403 when the role is not allowed.
func Require(ctx context.Context, roles ...Role) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return Principal{}, apperr.ErrUnauthenticated
	}
	if len(roles) > 0 && !p.Has(roles...) {
		return Principal{}, apperr.ErrForbidden
	}
	return p, nil
}

// RequireOrg is Require for staff routes that act on organisation orgID
// (a path parameter): staff of another organisation get 404, as if the
// organisation's objects did not exist.
func RequireOrg(ctx context.Context, orgID uuid.UUID, roles ...Role) (Principal, error) {
	p, err := Require(ctx, roles...)
	if err != nil {
		return p, err
	}
	if p.Role != RolePlatformAdmin && p.OrgID != orgID {
		return Principal{}, apperr.ErrNotFound
	}
	return p, nil
}

// Verifier turns a bearer token into a principal; the auth module
// implements it. It returns an *apperr.Error of kind Unauthenticated for any
// bad token.
type Verifier interface {
	Verify(ctx context.Context, token string) (Principal, error)
}

// ErrorWriter writes an error response (httpx's ErrorMapper).
type ErrorWriter interface {
	WriteError(w http.ResponseWriter, r *http.Request, err error)
}

// Middleware authenticates requests that carry "Authorization: Bearer ...":
// a valid token puts its principal in the context, a bad one is answered 401
// at once. "Authorization: Basic ..." passes through untouched (OAuth client
// authentication). Requests without the header go on anonymous; each operation
// decides with Require whether that is enough.
func Middleware(v Verifier, ew ErrorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := r.Header.Get("Authorization")
			if h == "" {
				next.ServeHTTP(w, r)
				return
			}
			scheme, token, ok := strings.Cut(h, " ")
			if ok && strings.EqualFold(scheme, "Basic") {
				// HTTP Basic is OAuth client authentication at the token
				// endpoint (RFC 6749 section 2.3.1), which checks it itself;
				// everywhere else the request is simply anonymous.
				next.ServeHTTP(w, r)
				return
			}
			if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_request"`)
				ew.WriteError(w, r, apperr.ErrUnauthenticated.WithDetail("the Authorization header must be: Bearer <access token>"))
				return
			}
			p, err := v.Verify(r.Context(), strings.TrimSpace(token))
			if err != nil {
				if ae, ok := apperr.As(err); ok && ae.Kind == apperr.KindUnauthenticated {
					w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				}
				ew.WriteError(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}
