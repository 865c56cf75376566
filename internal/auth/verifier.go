package auth

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/auth/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// Verifier implements authz.Verifier: it verifies an access token (see
// tokenIssuer.Verify) and then checks that its subject is still allowed in:
// the account exists, is not disabled, still has the token's role and
// organisation, and the token was issued after the account's last disable;
// for an API client, that the client is not revoked. That second check is
// answered from a per-replica cache for Config.UserCacheTTL (5 s by
// default), so a disable takes effect immediately on the replica that
// handled it and within the TTL everywhere else.
type Verifier struct{ s *Service }

var _ authz.Verifier = (*Verifier)(nil)

var knownRoles = map[string]authz.Role{
	string(authz.RoleCandidate): authz.RoleCandidate, string(authz.RoleRecruiter): authz.RoleRecruiter,
	string(authz.RoleInterviewer): authz.RoleInterviewer, string(authz.RoleOrgAdmin): authz.RoleOrgAdmin,
	string(authz.RolePlatformAdmin): authz.RolePlatformAdmin, string(authz.RoleClient): authz.RoleClient,
}

// Verify returns the principal of a valid access token, ErrInvalidToken
// (401) for any bad, expired or revoked one, and a 503 when the account
// state cannot be read.
func (v *Verifier) Verify(ctx context.Context, token string) (authz.Principal, error) {
	c, err := v.s.tokens.VerifyCached(token)
	if err != nil {
		return authz.Principal{}, ErrInvalidToken
	}
	role, ok := knownRoles[c.Role]
	if !ok {
		return authz.Principal{}, ErrInvalidToken
	}
	st, err := v.s.subjectState(ctx, c.Subject, role == authz.RoleClient)
	if err != nil {
		return authz.Principal{}, apperr.ErrUnavailable.WithCause(err)
	}
	if !st.found || st.disabled || st.org != c.OrgID || (role != authz.RoleClient && st.role != c.Role) ||
		c.IssuedAt.Before(st.validAfter) {
		return authz.Principal{}, ErrInvalidToken
	}
	return authz.Principal{
		UserID: c.Subject, Role: role, OrgID: c.OrgID, ClientID: c.ClientID, Scopes: c.Scopes,
		TokenID: c.TokenID, SessionID: c.SessionID,
	}, nil
}

// subjectState is what the verifier must know about a token's subject.
type subjectState struct {
	found      bool
	disabled   bool
	role       string
	org        uuid.UUID
	validAfter time.Time
	loadedAt   time.Time
}

func (s *Service) subjectState(ctx context.Context, id uuid.UUID, client bool) (subjectState, error) {
	if st, ok := s.states.get(id); ok {
		return st, nil
	}
	st := subjectState{loadedAt: s.clock()}
	err := s.inScope(ctx, postgres.SystemScope(), func(_ pgx.Tx, q *db.Queries) error {
		if client {
			row, err := q.ClientState(ctx, id)
			if err != nil {
				return err
			}
			st.found, st.disabled, st.org, st.role = true, row.RevokedAt != nil, row.OrgID, string(authz.RoleClient)
			return nil
		}
		row, err := q.UserState(ctx, id)
		if err != nil {
			return err
		}
		st.found, st.disabled, st.role, st.org = true, row.DisabledAt != nil, row.Role, derefOrg(row.OrgID)
		if row.TokensValidAfter != nil {
			st.validAfter = *row.TokensValidAfter
		}
		return nil
	})
	if err != nil && !postgres.IsNotFound(err) {
		return subjectState{}, err
	}
	s.states.put(id, st)
	return st, nil
}

// stateCache is a small TTL map of subject states. It is bounded: when it
// is full, expired entries are dropped, and if none were, everything is
// (the next requests reload from the database).
type stateCache struct {
	ttl   time.Duration
	clock func() time.Time
	max   int
	mu    sync.RWMutex
	m     map[uuid.UUID]subjectState
}

func newStateCache(ttl time.Duration, clock func() time.Time) *stateCache {
	return &stateCache{ttl: ttl, clock: clock, max: 100_000, m: map[uuid.UUID]subjectState{}}
}

func (c *stateCache) get(id uuid.UUID) (subjectState, bool) {
	if c.ttl <= 0 {
		return subjectState{}, false
	}
	c.mu.RLock()
	st, ok := c.m[id]
	c.mu.RUnlock()
	if !ok || c.clock().Sub(st.loadedAt) >= c.ttl {
		return subjectState{}, false
	}
	return st, true
}

func (c *stateCache) put(id uuid.UUID, st subjectState) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		now := c.clock()
		for k, v := range c.m {
			if now.Sub(v.loadedAt) >= c.ttl {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[id] = st
}

func (c *stateCache) invalidate(id uuid.UUID) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
