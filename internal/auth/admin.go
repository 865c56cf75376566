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

	"github.com/pvara-gov/pvara/internal/auth/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// AdminInput is a platform admin to create.
type AdminInput struct {
	Email    string
	Password string
	FullName string
}

// AdminDeps is what CreatePlatformAdmin needs: no Redis, no keys, so the
// command line can run it against a bare database.
type AdminDeps struct {
	DB                *pgxpool.Pool
	Hash              HashConfig
	PasswordMinLength int
	PasswordMaxLength int
	Logger            *slog.Logger
}

// ErrAccountExists is an e-mail that already belongs to an account that is
// not a platform admin.
var ErrAccountExists = errors.New("auth: an account with this e-mail exists and is not a platform admin")

// CreatePlatformAdmin creates a platform admin, or leaves an existing one
// alone (created is then false; the password is not checked or changed).
func CreatePlatformAdmin(ctx context.Context, deps AdminDeps, in AdminInput) (id uuid.UUID, created bool, err error) {
	if deps.Logger == nil {
		deps.Logger = logx.Discard()
	}
	cfg := Config{PasswordMinLength: deps.PasswordMinLength, PasswordMaxLength: deps.PasswordMaxLength, Hash: deps.Hash}
	cfg.defaults()
	policy, err := NewPasswordPolicy(cfg.PasswordMinLength, cfg.PasswordMaxLength)
	if err != nil {
		return uuid.Nil, false, err
	}
	hasher, err := NewHasher(cfg.Hash, nil)
	if err != nil {
		return uuid.Nil, false, err
	}
	s := &Service{cfg: cfg, db: deps.DB, policy: policy, hasher: hasher, logger: deps.Logger, clock: time.Now}
	return s.CreatePlatformAdmin(ctx, in)
}

// CreatePlatformAdmin is CreatePlatformAdmin with this service.
func (s *Service) CreatePlatformAdmin(ctx context.Context, in AdminInput) (uuid.UUID, bool, error) {
	existing := func() (uuid.UUID, bool, error) {
		var cred db.UserGetCredentialsByEmailRow
		err := s.inScope(ctx, postgres.SystemScope(), func(_ pgx.Tx, q *db.Queries) error {
			var err error
			cred, err = q.UserGetCredentialsByEmail(ctx, NormalizeEmail(in.Email))
			return err
		})
		if err != nil {
			return uuid.Nil, false, err
		}
		if cred.Role != string(authz.RolePlatformAdmin) {
			return uuid.Nil, false, ErrAccountExists
		}
		return cred.ID, false, nil
	}
	id, _, err := existing()
	if err == nil || !postgres.IsNotFound(err) {
		return id, false, err
	}
	a, v, pwErr := s.validateAccount(in.Email, in.Password, in.FullName)
	if err := policyErr(v, pwErr); err != nil {
		return uuid.Nil, false, err
	}
	a.role = authz.RolePlatformAdmin
	u, err := s.createAccount(ctx, postgres.SystemScope(), nil, a, ActionPlatformAdminAdded)
	if errors.Is(err, ErrEmailTaken) {
		return existing() // created concurrently by another run
	}
	if err != nil {
		return uuid.Nil, false, err
	}
	return u.ID, true, nil
}

// DemoAccount is one seeded account with its development password.
type DemoAccount struct {
	Role     string
	Email    string
	Password string
	ID       uuid.UUID
}

// Demo is what SeedDemo created or found.
type Demo struct {
	OrgID    uuid.UUID
	OrgSlug  string
	Accounts []DemoAccount
}

// Demo organisation and accounts of `pvara dev`. The passwords are public
// (printed at start-up): never seed them into a real deployment.
const (
	DemoOrgSlug = "demo"
	DemoOrgName = "Demo Regulatory Authority"
	DemoCNIC    = "35202-1234567-1"
)

// SeedDemo idempotently creates the demo organisation, a platform admin, an
// org admin, a recruiter, an interviewer and a candidate (with DemoCNIC),
// and returns their credentials. Existing accounts are left alone.
func (s *Service) SeedDemo(ctx context.Context) (Demo, error) {
	d := Demo{OrgSlug: DemoOrgSlug}
	err := s.inScope(ctx, postgres.SystemScope(), func(_ pgx.Tx, q *db.Queries) error {
		org, err := q.OrgGetBySlug(ctx, DemoOrgSlug)
		if postgres.IsNotFound(err) {
			org, err = q.OrgInsert(ctx, newID(), DemoOrgName, DemoOrgSlug, s.now())
		}
		d.OrgID = org.ID
		return err
	})
	if err != nil {
		return Demo{}, fmt.Errorf("auth: seed demo organisation: %w", postgres.Translate(err))
	}
	accounts := []struct {
		role     authz.Role
		email    string
		name     string
		password string
	}{
		{authz.RolePlatformAdmin, "admin@pvara.test", "Platform Administrator", "dev platform admin passphrase"},
		{authz.RoleOrgAdmin, "orgadmin@demo.pvara.test", "Ayesha Siddiqui", "dev org admin passphrase"},
		{authz.RoleRecruiter, "recruiter@demo.pvara.test", "Bilal Ahmed", "dev recruiter passphrase"},
		{authz.RoleInterviewer, "interviewer@demo.pvara.test", "Sana Malik", "dev interviewer passphrase"},
		{authz.RoleCandidate, "candidate@pvara.test", "Hamza Khan", "dev candidate passphrase"},
	}
	for _, acc := range accounts {
		id, err := s.seedAccount(ctx, acc.role, acc.email, acc.name, acc.password, d.OrgID)
		if err != nil {
			return Demo{}, fmt.Errorf("auth: seed %s: %w", acc.email, err)
		}
		d.Accounts = append(d.Accounts, DemoAccount{Role: string(acc.role), Email: acc.email, Password: acc.password, ID: id})
	}
	return d, nil
}

func (s *Service) seedAccount(ctx context.Context, role authz.Role, email, name, password string, org uuid.UUID) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.inScope(ctx, postgres.SystemScope(), func(_ pgx.Tx, q *db.Queries) error {
		cred, err := q.UserGetCredentialsByEmail(ctx, email)
		id = cred.ID
		return err
	})
	if err == nil || !postgres.IsNotFound(err) {
		return id, postgres.Translate(err)
	}
	a, v, pwErr := s.validateAccount(email, password, name)
	if err := policyErr(v, pwErr); err != nil {
		return uuid.Nil, err
	}
	a.role = role
	if authz.Role(role) != authz.RoleCandidate && role != authz.RolePlatformAdmin {
		a.orgID = org
	}
	if role == authz.RoleCandidate {
		a.cnic = "3520212345671"
	}
	action := ActionStaffCreated
	switch role {
	case authz.RoleCandidate:
		action = ActionUserRegistered
	case authz.RolePlatformAdmin:
		action = ActionPlatformAdminAdded
	}
	u, err := s.createAccount(ctx, postgres.SystemScope(), nil, a, action)
	if errors.Is(err, ErrEmailTaken) {
		return s.seedAccount(ctx, role, email, name, password, org)
	}
	return u.ID, err
}
