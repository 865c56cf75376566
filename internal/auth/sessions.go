package auth

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/auth/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// loginIndexDomain keys the throttle's account digest.
const loginIndexDomain = "auth.login.email"

// Login checks an e-mail and password and opens a session. A wrong
// password, an unknown e-mail and a disabled account all get
// ErrInvalidCredentials after the same work (an unknown e-mail is checked
// against a dummy hash), so neither the answer nor its timing tells them
// apart. Attempts are throttled per account, per account and IP, and per
// IP; while a block lasts the answer is ErrTooManyAttempts whether or not
// the account exists. Without Redis, login fails closed (503).
func (s *Service) Login(ctx context.Context, email, password string) (TokenPair, error) {
	email = NormalizeEmail(email)
	// Admission first: under overload a refusal costs no Redis round trip.
	release, err := s.hasher.Acquire(ctx)
	if err != nil {
		return TokenPair{}, err
	}
	defer release()
	keys := s.throttle.keys(s.cipher.BlindIndex(loginIndexDomain, []byte(email)), httpx.ClientIP(ctx))
	if err := s.throttle.check(ctx, keys); err != nil {
		return TokenPair{}, err
	}

	var cred db.UserGetCredentialsByEmailRow
	found := true
	err = s.inScope(ctx, postgres.SystemScope(), func(_ pgx.Tx, q *db.Queries) error {
		var err error
		cred, err = q.UserGetCredentialsByEmail(ctx, email)
		return err
	})
	if postgres.IsNotFound(err) {
		found = false
	} else if err != nil {
		return TokenPair{}, postgres.Translate(err)
	}
	pw := Normalize(password)
	var ok, rehash bool
	if found {
		ok, rehash, err = s.hasher.Verify(pw, cred.PasswordHash)
		if err != nil {
			return TokenPair{}, err
		}
	} else {
		s.hasher.VerifyDummy(pw)
	}
	var newHash string
	if ok && rehash {
		if newHash, err = s.hasher.Hash(pw); err != nil {
			return TokenPair{}, err
		}
	}
	release()

	if !ok || cred.DisabledAt != nil {
		if err := s.throttle.failed(ctx, keys); err != nil {
			s.logger.WarnContext(ctx, "auth: cannot record a failed login in Redis", "error", err)
		}
		reason := "bad_credentials"
		var subject uuid.UUID
		if found {
			subject = cred.ID
			if ok {
				reason = "disabled"
			}
		} else {
			reason = "unknown_account"
		}
		if err := audit.Record(ctx, s.db, entry(ctx, nil, ActionLoginFailed, "user", subject, derefOrg(cred.OrgID),
			map[string]any{"reason": reason})); err != nil {
			s.logger.ErrorContext(ctx, "auth: cannot audit a failed login", "error", err)
		}
		return TokenPair{}, ErrInvalidCredentials
	}
	if err := s.throttle.succeeded(ctx, keys); err != nil {
		s.logger.WarnContext(ctx, "auth: cannot clear login failures in Redis", "error", err)
	}
	p := authz.Principal{UserID: cred.ID, Role: authz.Role(cred.Role), OrgID: derefOrg(cred.OrgID)}
	var pair TokenPair
	err = s.inScope(ctx, postgres.SystemScope(), func(tx pgx.Tx, q *db.Queries) error {
		now := s.now()
		if newHash != "" {
			if err := q.UserUpdatePasswordHash(ctx, newHash, now, cred.ID); err != nil {
				return err
			}
		}
		var err error
		if pair, err = s.openSession(ctx, q, p, now); err != nil {
			return err
		}
		return audit.RecordTx(ctx, tx, entry(ctx, &p, ActionLoginSucceeded, "user", p.UserID, p.OrgID,
			map[string]any{"rehashed": newHash != ""}))
	})
	if err != nil {
		return TokenPair{}, postgres.Translate(err)
	}
	return pair, nil
}

// openSession creates a refresh family with its first token and issues an
// access token naming the family (sid).
func (s *Service) openSession(ctx context.Context, q *db.Queries, p authz.Principal, now time.Time) (TokenPair, error) {
	family := newID()
	if err := q.RefreshFamilyInsert(ctx, db.RefreshFamilyInsertParams{
		ID: family, UserID: p.UserID, OrgID: orgPtr(p.OrgID), Now: now, ExpiresAt: now.Add(s.cfg.RefreshAbsoluteTTL),
	}); err != nil {
		return TokenPair{}, err
	}
	return s.rotate(ctx, q, p, family, now, now.Add(s.cfg.RefreshAbsoluteTTL))
}

// rotate stores a new refresh token of family and issues the pair.
func (s *Service) rotate(ctx context.Context, q *db.Queries, p authz.Principal, family uuid.UUID, now, familyExpires time.Time) (TokenPair, error) {
	refresh := randomToken()
	expires := now.Add(s.cfg.RefreshIdleTTL)
	if expires.After(familyExpires) {
		expires = familyExpires
	}
	if err := q.RefreshTokenInsert(ctx, hashToken(refresh), family, now, expires); err != nil {
		return TokenPair{}, err
	}
	access, claims, err := s.tokens.Issue(AccessClaims{Subject: p.UserID, Role: string(p.Role), OrgID: p.OrgID, SessionID: family})
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{
		AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(claims.Expiry.Sub(claims.IssuedAt) / time.Second),
	}, nil
}

// plausibleRefreshToken accepts only what randomToken makes (43 base64url
// characters), so garbage never reaches the database.
func plausibleRefreshToken(t string) bool {
	if len(t) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(t)
	return err == nil
}

// Refresh spends a refresh token and returns a new pair in the same
// session. A token is good once: a second use is reuse, which revokes the
// whole session (both the thief's and the owner's tokens die) and is
// audited, unless it comes within RefreshReuseGrace of the first use, which
// answers ErrRefreshRace and leaves the session alone. Two concurrent
// refreshes of one token serialise on its row: exactly one wins.
func (s *Service) Refresh(ctx context.Context, raw string) (TokenPair, error) {
	if !plausibleRefreshToken(raw) {
		return TokenPair{}, ErrInvalidRefreshToken
	}
	digest := hashToken(raw)
	var pair TokenPair
	// outcome is the answer decided inside the transaction; the transaction
	// itself commits (a revocation on reuse must stick).
	var outcome error
	err := s.inScope(ctx, postgres.SystemScope(), func(tx pgx.Tx, q *db.Queries) error {
		now := s.now()
		row, err := q.RefreshTokenSpend(ctx, now, digest)
		if postgres.IsNotFound(err) {
			outcome, err = s.spentOrUnknown(ctx, tx, q, digest, now)
			return err
		}
		if err != nil {
			return err
		}
		if row.RevokedAt != nil || !now.Before(row.TokenExpiresAt) || !now.Before(row.FamilyExpiresAt) {
			outcome = ErrInvalidRefreshToken
			return nil
		}
		st, err := q.UserState(ctx, row.UserID)
		if err != nil {
			return err
		}
		if st.DisabledAt != nil {
			outcome = ErrInvalidRefreshToken
			return nil
		}
		p := authz.Principal{UserID: row.UserID, Role: authz.Role(st.Role), OrgID: derefOrg(st.OrgID)}
		pair, err = s.rotate(ctx, q, p, row.FamilyID, now, row.FamilyExpiresAt)
		return err
	})
	if err != nil {
		return TokenPair{}, postgres.Translate(err)
	}
	if outcome != nil {
		return TokenPair{}, outcome
	}
	return pair, nil
}

// spentOrUnknown decides what a token that could not be spent is: unknown,
// a benign race within the grace window, or reuse (the family is revoked
// and the event audited).
func (s *Service) spentOrUnknown(ctx context.Context, tx pgx.Tx, q *db.Queries, digest []byte, now time.Time) (error, error) {
	lk, err := q.RefreshTokenLookup(ctx, digest)
	if postgres.IsNotFound(err) {
		return ErrInvalidRefreshToken, nil
	}
	if err != nil {
		return nil, err
	}
	if lk.UsedAt == nil || lk.RevokedAt != nil {
		// Unspent but not spendable cannot happen outside a race with the
		// purge; a revoked family stays revoked.
		return ErrInvalidRefreshToken, nil
	}
	if s.cfg.RefreshReuseGrace > 0 && now.Sub(*lk.UsedAt) < s.cfg.RefreshReuseGrace {
		return ErrRefreshRace, nil
	}
	if _, err := q.RefreshFamilyRevoke(ctx, now, "reuse", lk.FamilyID, lk.UserID); err != nil {
		return nil, err
	}
	s.logger.WarnContext(ctx, "auth: refresh token reuse detected; session revoked", "family_id", lk.FamilyID, "user_id", lk.UserID)
	err = audit.RecordTx(ctx, tx, entry(ctx, nil, ActionRefreshReuse, "refresh_family", lk.FamilyID, derefOrg(lk.OrgID),
		map[string]any{"user_id": lk.UserID.String(), "first_used_at": lk.UsedAt.UTC().Format(time.RFC3339Nano)}))
	return ErrInvalidRefreshToken, err
}

// Logout revokes the caller's session (the refresh family named by the
// access token). The access token itself expires within its lifetime.
func (s *Service) Logout(ctx context.Context, p authz.Principal) error {
	if p.SessionID == uuid.Nil {
		return nil // an API client has no session
	}
	return postgres.Translate(s.inScope(ctx, p.Scope(), func(tx pgx.Tx, q *db.Queries) error {
		n, err := q.RefreshFamilyRevoke(ctx, s.now(), "logout", p.SessionID, p.UserID)
		if err != nil || n == 0 {
			return err
		}
		return audit.RecordTx(ctx, tx, entry(ctx, &p, ActionLogout, "refresh_family", p.SessionID, p.OrgID, nil))
	}))
}
