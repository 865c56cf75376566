package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/pvara-gov/pvara/internal/auth/internal/db"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// ClientInput is a new API client.
type ClientInput struct {
	Name   string
	Scopes []string
}

// NewClient is a created client with its secret, shown once.
type NewClient struct {
	Client
	ClientSecret string `json:"client_secret" doc:"Shown once; only its SHA-256 digest is stored."`
}

func newClientID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "pvc_" + base64.RawURLEncoding.EncodeToString(b)
}

// CreateClient registers an OAuth client of org with the given scopes. The
// secret is returned once.
func (s *Service) CreateClient(ctx context.Context, p authz.Principal, org uuid.UUID, in ClientInput) (NewClient, error) {
	if err := requireOrgAdmin(p, org); err != nil {
		return NewClient{}, err
	}
	var v apperr.Validator
	name, ok := cleanName(in.Name)
	v.Check(ok, "body.name", "must be 1 to 200 characters without control characters")
	scopes := slices.Clone(in.Scopes)
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	v.Check(len(scopes) > 0, "body.scopes", "must name at least one scope")
	for _, sc := range scopes {
		v.Check(slices.Contains(Scopes, sc), "body.scopes", "unknown scope "+sc+"; valid: "+strings.Join(Scopes, ", "))
	}
	if err := v.Err(); err != nil {
		return NewClient{}, err
	}
	secret := "pvs_" + randomToken()
	var out NewClient
	err := s.inScope(ctx, s.orgScope(p, org), func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.ClientInsert(ctx, db.ClientInsertParams{
			ID: newID(), OrgID: org, ClientID: newClientID(), Name: name, SecretHash: hashToken(secret),
			Scopes: scopes, CreatedBy: p.UserID, Now: s.now(),
		})
		if err != nil {
			return err
		}
		out = NewClient{Client: toClient(db.ClientGetRow(row)), ClientSecret: secret}
		return audit.RecordTx(ctx, tx, entry(ctx, &p, ActionClientCreated, "client", row.ID, org,
			map[string]any{"client_id": row.ClientID, "scopes": scopes}))
	})
	if err != nil {
		var ce *postgres.ConstraintError
		if postgres.IsNotFound(err) || (asConstraint(err, &ce) && ce.Kind == postgres.ForeignKey) {
			return NewClient{}, apperr.ErrNotFound.WithDetail("the organisation does not exist")
		}
		return NewClient{}, postgres.Translate(err)
	}
	return out, nil
}

// orgScope is the scope for acting on org's rows: the org itself for its
// admins, system for platform admins.
func (s *Service) orgScope(p authz.Principal, org uuid.UUID) postgres.Scope {
	if p.Role == authz.RolePlatformAdmin {
		return postgres.SystemScope()
	}
	return postgres.OrgScope(org, p.UserID)
}

// ListClients lists org's clients.
func (s *Service) ListClients(ctx context.Context, p authz.Principal, org uuid.UUID, after uuid.UUID, limit int) ([]Client, error) {
	if err := requireOrgAdmin(p, org); err != nil {
		return nil, err
	}
	var out []Client
	err := s.inScope(ctx, s.orgScope(p, org), func(_ pgx.Tx, q *db.Queries) error {
		rows, err := q.ClientsListByOrg(ctx, org, after, int32(limit))
		out = make([]Client, 0, len(rows))
		for _, r := range rows {
			out = append(out, toClient(db.ClientGetRow(r)))
		}
		return err
	})
	return out, postgres.Translate(err)
}

// RevokeClient revokes a client: its secret stops working and its access
// tokens fail within the verifier cache TTL.
func (s *Service) RevokeClient(ctx context.Context, p authz.Principal, org, id uuid.UUID) (Client, error) {
	if err := requireOrgAdmin(p, org); err != nil {
		return Client{}, err
	}
	var out Client
	err := s.inScope(ctx, s.orgScope(p, org), func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.ClientRevoke(ctx, s.now(), id, org)
		if err != nil {
			return err
		}
		out = toClient(db.ClientGetRow(row))
		return audit.RecordTx(ctx, tx, entry(ctx, &p, ActionClientRevoked, "client", id, org,
			map[string]any{"client_id": row.ClientID}))
	})
	if postgres.IsNotFound(err) {
		return Client{}, apperr.ErrNotFound
	}
	if err != nil {
		return Client{}, postgres.Translate(err)
	}
	s.states.invalidate(id)
	return out, nil
}

// OAuth errors of the token endpoint (RFC 6749 section 5.2).
type OAuthError struct {
	Code        string
	Description string
	Status      int
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

func oauthErr(code, desc string, status int) *OAuthError {
	return &OAuthError{Code: code, Description: desc, Status: status}
}

var errInvalidClient = oauthErr("invalid_client", "client authentication failed", 401)

// dummySecretHash keeps the unknown-client path as costly as a known one.
var dummySecretHash = hashToken("pvs_dummy")

// authenticateClient checks a client id and secret.
func (s *Service) authenticateClient(ctx context.Context, clientID, secret string) (db.ClientGetByClientIDRow, error) {
	var row db.ClientGetByClientIDRow
	found := true
	err := s.inScope(ctx, postgres.SystemScope(), func(_ pgx.Tx, q *db.Queries) error {
		var err error
		row, err = q.ClientGetByClientID(ctx, clientID)
		return err
	})
	if postgres.IsNotFound(err) {
		found = false
	} else if err != nil {
		return row, postgres.Translate(err)
	}
	want := dummySecretHash
	if found {
		want = row.SecretHash
	}
	match := subtle.ConstantTimeCompare(hashToken(secret), want) == 1
	if !found || !match || row.RevokedAt != nil {
		var subject, org uuid.UUID
		if found {
			subject, org = row.ID, row.OrgID
		}
		if err := audit.Record(ctx, s.db, entry(ctx, nil, ActionClientAuthFailed, "client", subject, org, nil)); err != nil {
			s.logger.ErrorContext(ctx, "auth: cannot audit a failed client authentication", "error", err)
		}
		return row, errInvalidClient
	}
	return row, nil
}

// ClientCredentials is the client_credentials grant: it authenticates the
// client and issues an access token with the requested scopes (all of the
// client's when none are requested). No refresh token is issued (RFC 6749
// section 4.4.3).
func (s *Service) ClientCredentials(ctx context.Context, clientID, secret string, requested []string) (ClientToken, error) {
	c, err := s.authenticateClient(ctx, clientID, secret)
	if err != nil {
		return ClientToken{}, err
	}
	scopes := c.Scopes
	if len(requested) > 0 {
		for _, sc := range requested {
			if !slices.Contains(c.Scopes, sc) {
				return ClientToken{}, oauthErr("invalid_scope", "the client may not request scope "+sc, 400)
			}
		}
		scopes = slices.Compact(slices.Sorted(slices.Values(requested)))
	}
	tok, claims, err := s.tokens.Issue(AccessClaims{
		Subject: c.ID, Role: string(authz.RoleClient), OrgID: c.OrgID, ClientID: c.ClientID, Scopes: scopes,
	})
	if err != nil {
		return ClientToken{}, err
	}
	actor := authz.Principal{UserID: c.ID, Role: authz.RoleClient, OrgID: c.OrgID, ClientID: c.ClientID}
	if err := audit.Record(ctx, s.db, entry(ctx, &actor, ActionClientToken, "client", c.ID, c.OrgID,
		map[string]any{"scopes": scopes, "jti": claims.TokenID})); err != nil {
		return ClientToken{}, err
	}
	return ClientToken{AccessToken: tok, ExpiresIn: int(claims.Expiry.Sub(claims.IssuedAt).Seconds()), Scopes: scopes}, nil
}

func asConstraint(err error, ce **postgres.ConstraintError) bool {
	return errors.As(postgres.Translate(err), ce)
}
