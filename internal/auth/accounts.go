package auth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/auth/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// NormalizeEmail trims and lower-cases an address: the form stored, looked
// up and made unique.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// validEmail accepts a bare addr-spec with a dotted domain.
func validEmail(e string) bool {
	if len(e) < 3 || len(e) > 254 || strings.ContainsAny(e, " \t\r\n<>\"(),;") {
		return false
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(e, '@')
	return at > 0 && at <= 64 && strings.Contains(e[at+1:], ".") && !strings.HasSuffix(e, ".")
}

// cleanName trims a person's or organisation's name and refuses control
// characters.
func cleanName(s string) (string, bool) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 || n > 200 || !utf8.ValidString(s) {
		return "", false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", false
		}
	}
	return s, true
}

// normalizePhone keeps a leading + and the digits of an E.164 number
// written with spaces or dashes; 7 to 15 digits.
func normalizePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	var b strings.Builder
	digits := 0
	for i, r := range s {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			digits++
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	return b.String(), digits >= 7 && digits <= 15
}

var slugRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// RegisterInput is a candidate's self-registration.
type RegisterInput struct {
	Email    string
	Password string
	FullName string
	CNIC     string
	Phone    string // optional
}

// newAccount is a validated account ready to insert.
type newAccount struct {
	id       uuid.UUID
	email    string
	fullName string
	role     authz.Role
	orgID    uuid.UUID
	password string // normalised
	cnic     string // 13 digits, or ""
	phone    string
}

func (s *Service) validateAccount(email, password, fullName string) (newAccount, *apperr.Validator, error) {
	var v apperr.Validator
	a := newAccount{id: newID(), email: NormalizeEmail(email)}
	v.Check(validEmail(a.email), "body.email", "must be an e-mail address")
	var ok bool
	a.fullName, ok = cleanName(fullName)
	v.Check(ok, "body.full_name", "must be 1 to 200 characters without control characters")
	local, _, _ := strings.Cut(a.email, "@")
	pw, err := s.policy.Check(password, a.email, local, a.fullName)
	if err != nil {
		if ae, ok := apperr.As(err); ok {
			for _, f := range ae.Fields {
				v.Add(f.Location, f.Message)
			}
		}
	}
	a.password = pw
	return a, &v, err
}

// policyErr returns the validation result: a weak password alone keeps its
// own code (weak_password); several problems become validation_failed.
func policyErr(v *apperr.Validator, pwErr error) error {
	err := v.Err()
	if err == nil {
		return nil
	}
	if ae, ok := apperr.As(err); ok && len(ae.Fields) == 1 && pwErr != nil {
		return pwErr
	}
	return err
}

// hash computes the password hash under admission control.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	release, err := s.hasher.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return s.hasher.Hash(password)
}

// Register creates a candidate account (self-registration). One account per
// e-mail and per CNIC is enforced by unique indexes, so concurrent
// registrations of the same person produce exactly one account.
func (s *Service) Register(ctx context.Context, in RegisterInput) (User, error) {
	a, v, pwErr := s.validateAccount(in.Email, in.Password, in.FullName)
	a.role = authz.RoleCandidate
	cnic, ok := fieldcrypt.NormalizeCNIC(in.CNIC)
	v.Check(ok, "body.cnic", "must be a CNIC: #####-#######-# or 13 digits")
	a.cnic = cnic
	if strings.TrimSpace(in.Phone) != "" {
		a.phone, ok = normalizePhone(in.Phone)
		v.Check(ok, "body.phone", "must be a phone number of 7 to 15 digits, optionally starting with +")
	}
	if err := policyErr(v, pwErr); err != nil {
		return User{}, err
	}
	if err := s.throttle.register(ctx, httpx.ClientIP(ctx)); err != nil {
		return User{}, err
	}
	return s.createAccount(ctx, postgres.PublicScope(), nil, a, ActionUserRegistered)
}

// StaffInput is an org admin's new staff account.
type StaffInput struct {
	Email    string
	FullName string
	Role     string
	Password string
}

// requireOrgAdmin lets platform admins and the admins of org through:
// anonymous 401, candidates and clients 403, staff of another organisation
// 404 (its objects do not exist for them), other staff of org 403.
func requireOrgAdmin(p authz.Principal, org uuid.UUID) error {
	switch {
	case p.Role == authz.RolePlatformAdmin:
		return nil
	case !p.IsStaff():
		return apperr.ErrForbidden
	case p.OrgID != org:
		return apperr.ErrNotFound
	case p.Role != authz.RoleOrgAdmin:
		return apperr.ErrForbidden
	}
	return nil
}

// CreateStaff creates a recruiter, interviewer or org admin in org. The
// role is one of the three; the organisation is the path's, never the
// body's.
func (s *Service) CreateStaff(ctx context.Context, p authz.Principal, org uuid.UUID, in StaffInput) (User, error) {
	if err := requireOrgAdmin(p, org); err != nil {
		return User{}, err
	}
	a, v, pwErr := s.validateAccount(in.Email, in.Password, in.FullName)
	role := authz.Role(in.Role)
	v.Check(role == authz.RoleRecruiter || role == authz.RoleInterviewer || role == authz.RoleOrgAdmin,
		"body.role", "must be recruiter, interviewer or org_admin")
	if err := policyErr(v, pwErr); err != nil {
		return User{}, err
	}
	a.role, a.orgID = role, org
	scope := postgres.OrgScope(org, p.UserID)
	if p.Role == authz.RolePlatformAdmin {
		scope = postgres.SystemScope()
	}
	return s.createAccount(ctx, scope, &p, a, ActionStaffCreated)
}

// createAccount hashes the password and inserts the account with its event
// and audit entry in one transaction.
func (s *Service) createAccount(ctx context.Context, scope postgres.Scope, actor *authz.Principal, a newAccount, action string) (User, error) {
	hash, err := s.hash(ctx, a.password)
	if err != nil {
		return User{}, err
	}
	now := s.now()
	params := db.UserInsertParams{
		ID: a.id, Email: a.email, FullName: a.fullName, Role: string(a.role), OrgID: orgPtr(a.orgID),
		PasswordHash: hash, Now: now,
	}
	if a.cnic != "" {
		if params.CnicEnc, err = s.cipher.EncryptString(a.cnic, cnicBinding(a.id)); err != nil {
			return User{}, err
		}
		params.CnicBidx = s.cipher.BlindIndex(cnicIndexDomain, []byte(a.cnic))
	}
	if a.phone != "" {
		if params.PhoneEnc, err = s.cipher.EncryptString(a.phone, phoneBinding(a.id)); err != nil {
			return User{}, err
		}
	}
	err = s.inScope(ctx, scope, func(tx pgx.Tx, q *db.Queries) error {
		if err := q.UserInsert(ctx, params); err != nil {
			return err
		}
		var createdBy *uuid.UUID
		if actor != nil {
			createdBy = &actor.UserID
		}
		if err := outbox.EnqueueTx(ctx, tx, outbox.Event{
			Type: EventUserRegistered, Version: 1, OrgID: a.orgID, Subject: a.id.String(),
			Data: UserRegisteredV1{UserID: a.id, Role: string(a.role), OrgID: orgPtr(a.orgID),
				EmailDomain: fieldcrypt.EmailDomain(a.email), CreatedBy: createdBy},
		}); err != nil {
			return err
		}
		return audit.RecordTx(ctx, tx, entry(ctx, actor, action, "user", a.id, a.orgID, map[string]any{"role": string(a.role)}))
	})
	if err != nil {
		return User{}, s.accountErr(err)
	}
	u := User{ID: a.id, Email: a.email, FullName: a.fullName, Role: string(a.role), OrgID: orgPtr(a.orgID), CreatedAt: now}
	if a.cnic != "" {
		u.CNICMasked = ptr(fieldcrypt.MaskCNIC(a.cnic))
	}
	if a.phone != "" {
		u.PhoneMasked = ptr(fieldcrypt.MaskPhone(a.phone))
	}
	return u, nil
}

// accountErr maps constraint violations of an account insert.
func (s *Service) accountErr(err error) error {
	switch {
	case postgres.IsUnique(err, "users_email_key"):
		return ErrEmailTaken
	case postgres.IsUnique(err, "users_cnic_bidx_key"):
		return ErrCNICTaken
	}
	var ce *postgres.ConstraintError
	if errors.As(postgres.Translate(err), &ce) && ce.Kind == postgres.ForeignKey {
		return apperr.ErrNotFound.WithDetail("the organisation does not exist")
	}
	return postgres.Translate(err)
}

// Me returns the caller's own account, with the full CNIC and phone.
func (s *Service) Me(ctx context.Context, p authz.Principal) (User, error) {
	if p.Role == authz.RoleClient {
		return User{}, apperr.ErrForbidden.WithDetail("API clients have no account")
	}
	var u User
	err := s.inScope(ctx, p.Scope(), func(_ pgx.Tx, q *db.Queries) error {
		row, err := q.UserGet(ctx, p.UserID, nil)
		if err != nil {
			return err
		}
		u, err = s.toUser(row, viewOwner)
		return err
	})
	if postgres.IsNotFound(err) {
		return User{}, apperr.ErrUnauthenticated
	}
	return u, postgres.Translate(err)
}

// GetUser returns an account: a platform admin may read any (and reveal its
// CNIC, which is audited), an org admin the staff of their organisation,
// anyone their own account.
func (s *Service) GetUser(ctx context.Context, p authz.Principal, id uuid.UUID, revealCNIC bool) (User, error) {
	if id == p.UserID && p.Role != authz.RoleClient {
		return s.Me(ctx, p)
	}
	var org *uuid.UUID
	switch {
	case p.Role == authz.RolePlatformAdmin:
	case p.Role == authz.RoleOrgAdmin && p.IsStaff():
		if revealCNIC {
			return User{}, apperr.ErrForbidden.WithDetail("only a platform admin may reveal a CNIC")
		}
		org = &p.OrgID
	default:
		return User{}, apperr.ErrForbidden
	}
	v := viewMasked
	if revealCNIC {
		v = viewReveal
	}
	var u User
	err := s.inScope(ctx, scopeOf(p), func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.UserGet(ctx, id, org)
		if err != nil {
			return err
		}
		if u, err = s.toUser(row, v); err != nil {
			return err
		}
		if revealCNIC && u.CNIC != nil {
			// The read and its audit entry commit together.
			return audit.RecordTx(ctx, tx, entry(ctx, &p, ActionPIIRead, "user", id, derefOrg(row.OrgID),
				map[string]any{"fields": []string{"cnic"}}))
		}
		return nil
	})
	if postgres.IsNotFound(err) {
		return User{}, apperr.ErrNotFound
	}
	return u, postgres.Translate(err)
}

// ListStaff lists the staff of org, after the given id, up to limit.
func (s *Service) ListStaff(ctx context.Context, p authz.Principal, org uuid.UUID, after uuid.UUID, limit int) ([]User, error) {
	if err := requireOrgAdmin(p, org); err != nil {
		return nil, err
	}
	var out []User
	err := s.inScope(ctx, scopeOf(p), func(_ pgx.Tx, q *db.Queries) error {
		rows, err := q.UsersListByOrg(ctx, &org, after, int32(limit))
		if err != nil {
			return err
		}
		out = make([]User, 0, len(rows))
		for _, r := range rows {
			u, err := s.toUser(db.UserGetRow(r), viewMasked)
			if err != nil {
				return err
			}
			out = append(out, u)
		}
		return nil
	})
	return out, postgres.Translate(err)
}

// SetDisabled disables (or re-enables) an account: an org admin over the
// staff of their organisation, a platform admin over anyone. Disabling
// revokes every refresh-token family of the account and makes its access
// tokens fail at once on this replica and within the verifier cache TTL on
// the others; it publishes auth.user_disabled.
func (s *Service) SetDisabled(ctx context.Context, p authz.Principal, id uuid.UUID, disabled bool) (User, error) {
	var org *uuid.UUID
	switch {
	case p.Role == authz.RolePlatformAdmin:
	case p.Role == authz.RoleOrgAdmin && p.IsStaff():
		org = &p.OrgID
	default:
		return User{}, apperr.ErrForbidden
	}
	if id == p.UserID {
		return User{}, ErrCannotSelf
	}
	now := s.now()
	var u User
	err := s.inScope(ctx, scopeOf(p), func(tx pgx.Tx, q *db.Queries) error {
		if !disabled {
			row, err := q.UserEnable(ctx, now, id, org)
			if err != nil {
				return err
			}
			if u, err = s.toUser(db.UserGetRow(row), viewMasked); err != nil {
				return err
			}
			return audit.RecordTx(ctx, tx, entry(ctx, &p, ActionUserEnabled, "user", id, derefOrg(row.OrgID), nil))
		}
		row, err := q.UserDisable(ctx, now, id, org)
		if err != nil {
			return err
		}
		if u, err = s.toUser(db.UserGetRow(row), viewMasked); err != nil {
			return err
		}
		if !row.DisabledAt.Equal(now) {
			return nil // already disabled: nothing changes
		}
		n, err := q.RefreshFamiliesRevokeByUser(ctx, now, "disabled", id)
		if err != nil {
			return err
		}
		if err := outbox.EnqueueTx(ctx, tx, outbox.Event{
			Type: EventUserDisabled, Version: 1, OrgID: derefOrg(row.OrgID), Subject: id.String(),
			Data: UserDisabledV1{UserID: id, Role: row.Role, OrgID: row.OrgID, DisabledBy: p.UserID},
		}); err != nil {
			return err
		}
		return audit.RecordTx(ctx, tx, entry(ctx, &p, ActionUserDisabled, "user", id, derefOrg(row.OrgID),
			map[string]any{"sessions_revoked": n}))
	})
	if postgres.IsNotFound(err) {
		return User{}, apperr.ErrNotFound
	}
	if err != nil {
		return User{}, postgres.Translate(err)
	}
	s.states.invalidate(id)
	return u, nil
}

// OrgInput is a new organisation.
type OrgInput struct {
	Name string
	Slug string
}

// CreateOrg creates an organisation (platform admins only).
func (s *Service) CreateOrg(ctx context.Context, p authz.Principal, in OrgInput) (Org, error) {
	if p.Role != authz.RolePlatformAdmin {
		return Org{}, apperr.ErrForbidden
	}
	var v apperr.Validator
	name, ok := cleanName(in.Name)
	v.Check(ok, "body.name", "must be 1 to 200 characters without control characters")
	slug := strings.TrimSpace(in.Slug)
	v.Check(slugRe.MatchString(slug), "body.slug", "must be 1 to 63 lower-case letters, digits and inner hyphens")
	if err := v.Err(); err != nil {
		return Org{}, err
	}
	var o Org
	err := s.inScope(ctx, postgres.SystemScope(), func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.OrgInsert(ctx, newID(), name, slug, s.now())
		if err != nil {
			return err
		}
		o = toOrg(row)
		return audit.RecordTx(ctx, tx, entry(ctx, &p, ActionOrgCreated, "org", o.ID, o.ID, map[string]any{"slug": slug}))
	})
	if postgres.IsUnique(err, "orgs_slug_key") {
		return Org{}, ErrSlugTaken
	}
	return o, postgres.Translate(err)
}

// GetOrg returns an organisation (organisations are public facts).
func (s *Service) GetOrg(ctx context.Context, id uuid.UUID) (Org, error) {
	var o Org
	err := s.inScope(ctx, postgres.PublicScope(), func(_ pgx.Tx, q *db.Queries) error {
		row, err := q.OrgGet(ctx, id)
		o = toOrg(row)
		return err
	})
	if postgres.IsNotFound(err) {
		return Org{}, apperr.ErrNotFound
	}
	return o, postgres.Translate(err)
}

// Users returns what other modules may know of accounts (names, roles,
// organisations, masked CNICs), by id; unknown ids are absent.
func (s *Service) Users(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]UserSummary, error) {
	out := make(map[uuid.UUID]UserSummary, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	// One round trip (ScopedRead): every application submission calls this.
	err := postgres.ScopedRead(ctx, s.db, postgres.SystemScope(), func(dbtx postgres.DBTX) error {
		rows, err := db.New(dbtx).UsersGetNames(ctx, ids)
		if err != nil {
			return err
		}
		for _, r := range rows {
			sum, err := s.summary(r)
			if err != nil {
				return err
			}
			out[r.ID] = sum
		}
		return nil
	})
	return out, postgres.Translate(err)
}

// summary is what other modules may know of an account: its CNIC is
// decrypted here and leaves masked.
func (s *Service) summary(r db.UsersGetNamesRow) (UserSummary, error) {
	sum := UserSummary{ID: r.ID, FullName: r.FullName, Role: r.Role, OrgID: derefOrg(r.OrgID), Disabled: r.DisabledAt != nil}
	if r.CnicEnc != nil {
		cnic, err := s.cipher.DecryptString(r.CnicEnc, cnicBinding(r.ID))
		if err != nil {
			return UserSummary{}, fmt.Errorf("auth: decrypt cnic of %s: %w", r.ID, err)
		}
		sum.CNICMasked = fieldcrypt.MaskCNIC(cnic)
	}
	return sum, nil
}
