// Package auth is identity and access: organisations, accounts (candidates
// who register themselves, staff created by their organisation's admin,
// platform admins created from the command line), passwords, login
// defence, access and refresh tokens, OAuth 2.0 API clients, and the token
// Verifier the authz middleware uses on every request.
//
// Its tables live in the `auth` schema. Staff accounts and API clients are
// organisation-scoped and protected by row-level security as well as by the
// explicit organisation filter of every query. The only request paths that
// use the 'system' scope are the authentication gate itself (login by
// e-mail, refresh by token digest, client authentication by client_id and
// the verifier's "is this account still enabled" check), which run before a
// principal exists and read by an exact key, and platform-admin actions.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pvara-gov/pvara/internal/auth/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
	"github.com/pvara-gov/pvara/internal/platform/redisx"
)

// Config configures the service. Zero durations take the documented
// defaults.
type Config struct {
	// Issuer and Audience of access tokens (iss, aud); both required.
	Issuer   string
	Audience string
	// SigningKeys, newest first: the first signs, all verify.
	SigningKeys []SigningKey
	// AccessTTL is the access-token lifetime (default 15m).
	AccessTTL time.Duration
	// RefreshIdleTTL ends a session unused this long (default 7 days).
	RefreshIdleTTL time.Duration
	// RefreshAbsoluteTTL ends a session this long after login (default 30 days).
	RefreshAbsoluteTTL time.Duration
	// RefreshReuseGrace: see config.Auth.RefreshReuseGrace (default 0: strict).
	RefreshReuseGrace time.Duration
	// PasswordMinLength (default 15) and PasswordMaxLength (default 256).
	PasswordMinLength int
	PasswordMaxLength int
	Hash              HashConfig
	Throttle          ThrottleConfig
	// UserCacheTTL is how long the verifier trusts a cached "enabled"
	// answer for an account or client (default 5s; negative disables the cache).
	UserCacheTTL time.Duration
}

func (c *Config) defaults() {
	if c.AccessTTL == 0 {
		c.AccessTTL = 15 * time.Minute
	}
	if c.RefreshIdleTTL == 0 {
		c.RefreshIdleTTL = 7 * 24 * time.Hour
	}
	if c.RefreshAbsoluteTTL == 0 {
		c.RefreshAbsoluteTTL = 30 * 24 * time.Hour
	}
	if c.PasswordMinLength == 0 {
		c.PasswordMinLength = 15
	}
	if c.PasswordMaxLength == 0 {
		c.PasswordMaxLength = 256
	}
	if c.Hash.MemoryKiB == 0 {
		c.Hash.MemoryKiB, c.Hash.Iterations, c.Hash.Parallelism = 19*1024, 2, 1
	}
	if c.Hash.QueueWait == 0 {
		c.Hash.QueueWait = 500 * time.Millisecond
	}
	t := &c.Throttle
	if t.AccountIPFailures == 0 {
		t.AccountIPFailures = 5
	}
	if t.AccountFailures == 0 {
		t.AccountFailures = 20
	}
	if t.IPFailures == 0 {
		t.IPFailures = 100
	}
	if t.FailureWindow == 0 {
		t.FailureWindow = 15 * time.Minute
	}
	if t.MaxBlock == 0 {
		t.MaxBlock = 15 * time.Minute
	}
	if t.RegisterIPLimit == 0 {
		t.RegisterIPLimit = 100
	}
	if t.RegisterIPWindow == 0 {
		t.RegisterIPWindow = time.Hour
	}
	if c.UserCacheTTL == 0 {
		c.UserCacheTTL = 5 * time.Second
	}
}

// Deps are the service's collaborators.
type Deps struct {
	DB *pgxpool.Pool
	// Redis holds the login-defence counters. When nil (or down), login and
	// registration fail closed with 503.
	Redis  *redisx.Client
	Cipher *fieldcrypt.Cipher
	Logger *slog.Logger
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Registerer receives the module's metrics; may be nil.
	Registerer prometheus.Registerer
}

// Service is the auth module.
type Service struct {
	cfg      Config
	db       *pgxpool.Pool
	cipher   *fieldcrypt.Cipher
	logger   *slog.Logger
	clock    func() time.Time
	hasher   *Hasher
	policy   *PasswordPolicy
	tokens   *tokenIssuer
	throttle *throttle
	states   *stateCache
	verifier *Verifier
	cursors  *httpx.Cursors
}

// New builds the service.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg.defaults()
	if deps.DB == nil || deps.Cipher == nil {
		return nil, errors.New("auth: DB and Cipher are required")
	}
	if deps.Logger == nil {
		deps.Logger = logx.Discard()
	}
	if deps.Clock == nil {
		deps.Clock = time.Now
	}
	if cfg.RefreshIdleTTL > cfg.RefreshAbsoluteTTL {
		return nil, errors.New("auth: the refresh idle lifetime exceeds the absolute lifetime")
	}
	policy, err := NewPasswordPolicy(cfg.PasswordMinLength, cfg.PasswordMaxLength)
	if err != nil {
		return nil, err
	}
	hasher, err := NewHasher(cfg.Hash, deps.Registerer)
	if err != nil {
		return nil, err
	}
	tokens, err := newTokenIssuer(cfg.Issuer, cfg.Audience, cfg.AccessTTL, cfg.SigningKeys, deps.Clock)
	if err != nil {
		return nil, err
	}
	s := &Service{
		cfg: cfg, db: deps.DB, cipher: deps.Cipher, logger: deps.Logger, clock: deps.Clock,
		hasher: hasher, policy: policy, tokens: tokens,
		throttle: &throttle{cfg: cfg.Throttle, redis: deps.Redis},
		states:   newStateCache(cfg.UserCacheTTL, deps.Clock),
	}
	s.verifier = &Verifier{s: s}
	// List cursors are keyed by a key derived from the blind-index key, so
	// every replica shares it without another secret to configure.
	if s.cursors, err = httpx.NewCursors(deps.Cipher.BlindIndex("pvara.auth.cursor-key", nil)); err != nil {
		return nil, err
	}
	return s, nil
}

// Verifier returns the authz.Verifier of access tokens.
func (s *Service) Verifier() *Verifier { return s.verifier }

// JWKS is the public key set of access tokens.
func (s *Service) JWKS() JWKSet { return s.tokens.jwks }

// now is the service clock in UTC, truncated to microseconds (what
// PostgreSQL stores), so values read back compare equal.
func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// inScope runs fn in a transaction with the given RLS scope.
func (s *Service) inScope(ctx context.Context, scope postgres.Scope, fn func(tx pgx.Tx, q *db.Queries) error) error {
	return postgres.ScopedTx(ctx, s.db, scope, func(tx pgx.Tx) error {
		return fn(tx, db.New(tx))
	})
}

// scopeOf is the RLS scope of a principal's transactions in this module:
// platform admins act across organisations.
func scopeOf(p authz.Principal) postgres.Scope {
	if p.Role == authz.RolePlatformAdmin {
		return postgres.SystemScope()
	}
	return p.Scope()
}

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// PurgeExpired deletes refresh tokens and sessions that can no longer be
// used (the maintenance role runs it). Spent tokens are kept while their
// session lives, so their reuse is still recognised.
func (s *Service) PurgeExpired(ctx context.Context) (int64, error) {
	var n int64
	err := s.inScope(ctx, postgres.SystemScope(), func(_ pgx.Tx, q *db.Queries) error {
		before := s.now().Add(-24 * time.Hour)
		a, err := q.RefreshTokensPurge(ctx, before)
		if err != nil {
			return err
		}
		b, err := q.RefreshFamiliesPurge(ctx, before)
		n = a + b
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("auth: purge: %w", postgres.Translate(err))
	}
	return n, nil
}
