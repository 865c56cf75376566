package auth

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

var bearer = []map[string][]string{{"bearer": {}}}

const tag = "Identity"

type registerIn struct {
	Body struct {
		Email    string `json:"email" maxLength:"254" doc:"Trimmed and lower-cased; one account per e-mail."`
		Password string `json:"password" maxLength:"1024" doc:"At least 15 characters (configurable); no composition rules; common passwords are refused."`
		FullName string `json:"full_name" maxLength:"200"`
		CNIC     string `json:"cnic" maxLength:"32" doc:"#####-#######-# or 13 digits; one account per CNIC."`
		Phone    string `json:"phone,omitempty" maxLength:"32" doc:"Optional; 7 to 15 digits, optionally starting with +."`
	}
}

type userOut struct {
	Body User
}

type loginIn struct {
	Body struct {
		Email    string `json:"email" maxLength:"254"`
		Password string `json:"password" maxLength:"1024"`
	}
}

type tokensOut struct {
	Body TokenPair
}

type refreshIn struct {
	Body struct {
		RefreshToken string `json:"refresh_token" maxLength:"8192"`
	}
}

type jwksOut struct {
	CacheControl string `header:"Cache-Control"`
	Body         JWKSet
}

type orgIn struct {
	Body struct {
		Name string `json:"name" maxLength:"200"`
		Slug string `json:"slug" maxLength:"63" doc:"Lower-case letters, digits and inner hyphens."`
	}
}

type orgOut struct {
	Body Org
}

type orgPath struct {
	OrgID uuid.UUID `path:"org_id"`
}

type staffIn struct {
	OrgID uuid.UUID `path:"org_id"`
	Body  struct {
		Email    string `json:"email" maxLength:"254"`
		FullName string `json:"full_name" maxLength:"200"`
		Role     string `json:"role" enum:"recruiter,interviewer,org_admin"`
		Password string `json:"password" maxLength:"1024"`
	}
}

type listIn struct {
	OrgID uuid.UUID `path:"org_id"`
	httpx.PageParams
}

type usersOut struct {
	Body httpx.Page[User]
}

type userPath struct {
	UserID uuid.UUID `path:"user_id"`
}

type getUserIn struct {
	UserID uuid.UUID `path:"user_id"`
	Reveal string    `query:"reveal" enum:"cnic" doc:"cnic: a platform admin reads the full CNIC (audited)."`
}

type clientIn struct {
	OrgID uuid.UUID `path:"org_id"`
	Body  struct {
		Name   string   `json:"name" maxLength:"200"`
		Scopes []string `json:"scopes" maxItems:"20" doc:"Scopes the client may request."`
	}
}

type newClientOut struct {
	Body NewClient
}

type clientsOut struct {
	Body httpx.Page[Client]
}

type clientPath struct {
	OrgID    uuid.UUID `path:"org_id"`
	ClientID uuid.UUID `path:"client_id" doc:"The client's id (not its client_id string)."`
}

// cursorPos is a keyset position: the last id of the previous page.
type cursorPos struct {
	After uuid.UUID `json:"a"`
}

func (s *Service) page(list string, p httpx.PageParams) (uuid.UUID, int, error) {
	var pos cursorPos
	if err := s.cursors.Decode(list, p.Cursor, &pos); err != nil {
		return uuid.Nil, 0, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 25
	}
	return pos.After, limit, nil
}

func nextCursor[T any](s *Service, list string, items []T, limit int, id func(T) uuid.UUID) (*string, error) {
	if len(items) < limit || len(items) == 0 {
		return nil, nil
	}
	c, err := s.cursors.Encode(list, cursorPos{After: id(items[len(items)-1])})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Routes registers the module's operations on r.
func (s *Service) Routes(r *httpx.Router) {
	api := r.API
	huma.Register(api, huma.Operation{
		OperationID: "auth-register", Method: http.MethodPost, Path: "/v1/auth/register", Tags: []string{tag},
		Summary:       "Register a candidate account",
		Description:   "Anyone may register one candidate account per e-mail and per CNIC (409 email_taken / cnic_taken). Weak passwords: 422 weak_password. Throttled per client IP (429); 503 with Retry-After when hashing capacity or the login-defence store is unavailable.",
		DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *registerIn) (*userOut, error) {
		u, err := s.Register(ctx, RegisterInput{Email: in.Body.Email, Password: in.Body.Password,
			FullName: in.Body.FullName, CNIC: in.Body.CNIC, Phone: in.Body.Phone})
		if err != nil {
			return nil, err
		}
		return &userOut{Body: u}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "auth-login", Method: http.MethodPost, Path: "/v1/auth/login", Tags: []string{tag},
		Summary:     "Sign in with e-mail and password",
		Description: "A wrong e-mail or password answers the same 401 invalid_credentials. Repeated failures are throttled per account and per client IP (429 too_many_attempts with Retry-After); 503 with Retry-After when busy or when the login-defence store is down (login fails closed).",
	}, func(ctx context.Context, in *loginIn) (*tokensOut, error) {
		pair, err := s.Login(ctx, in.Body.Email, in.Body.Password)
		if err != nil {
			return nil, err
		}
		return &tokensOut{Body: pair}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "auth-refresh", Method: http.MethodPost, Path: "/v1/auth/refresh", Tags: []string{tag},
		Summary:     "Exchange a refresh token for a new pair",
		Description: "Refresh tokens are single-use: each call returns a new refresh token. Presenting a spent one answers 401 and revokes the whole session.",
	}, func(ctx context.Context, in *refreshIn) (*tokensOut, error) {
		pair, err := s.Refresh(ctx, in.Body.RefreshToken)
		if err != nil {
			return nil, err
		}
		return &tokensOut{Body: pair}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "auth-logout", Method: http.MethodPost, Path: "/v1/auth/logout", Tags: []string{tag},
		Summary:       "Sign out: revoke the session",
		Description:   "Revokes the refresh-token family of the access token's session. No body is needed (an empty body or {} is accepted). The access token stays valid until it expires (15 minutes at most).",
		DefaultStatus: http.StatusNoContent, Security: bearer,
	}, func(ctx context.Context, _ *struct{}) (*struct{}, error) {
		p, err := authz.Require(ctx)
		if err != nil {
			return nil, err
		}
		return nil, s.Logout(ctx, p)
	})
	huma.Register(api, huma.Operation{
		OperationID: "me-get", Method: http.MethodGet, Path: "/v1/me", Tags: []string{tag},
		Summary:     "The caller's account",
		Description: "Includes cnic_masked and, for the owner, the full cnic and phone.",
		Security:    bearer,
	}, func(ctx context.Context, _ *struct{}) (*userOut, error) {
		p, err := authz.Require(ctx)
		if err != nil {
			return nil, err
		}
		u, err := s.Me(ctx, p)
		if err != nil {
			return nil, err
		}
		return &userOut{Body: u}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "jwks-get", Method: http.MethodGet, Path: "/.well-known/jwks.json", Tags: []string{tag},
		Summary: "Public keys that verify access tokens (JWK set)",
	}, func(context.Context, *struct{}) (*jwksOut, error) {
		return &jwksOut{CacheControl: "public, max-age=300", Body: s.JWKS()}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "org-create", Method: http.MethodPost, Path: "/v1/orgs", Tags: []string{tag},
		Summary: "Create an organisation (platform admin)", DefaultStatus: http.StatusCreated, Security: bearer,
	}, func(ctx context.Context, in *orgIn) (*orgOut, error) {
		p, err := authz.Require(ctx)
		if err != nil {
			return nil, err
		}
		o, err := s.CreateOrg(ctx, p, OrgInput{Name: in.Body.Name, Slug: in.Body.Slug})
		if err != nil {
			return nil, err
		}
		return &orgOut{Body: o}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "org-get", Method: http.MethodGet, Path: "/v1/orgs/{org_id}", Tags: []string{tag},
		Summary: "An organisation (public)",
	}, func(ctx context.Context, in *orgPath) (*orgOut, error) {
		o, err := s.GetOrg(ctx, in.OrgID)
		if err != nil {
			return nil, err
		}
		return &orgOut{Body: o}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "staff-create", Method: http.MethodPost, Path: "/v1/orgs/{org_id}/staff", Tags: []string{tag},
		Summary:       "Create a staff account (org admin of that organisation, or platform admin)",
		Description:   "The organisation comes from the path and the role from the body (recruiter, interviewer or org_admin); nobody can create a candidate or platform admin here. Staff of another organisation get 404.",
		DefaultStatus: http.StatusCreated, Security: bearer,
	}, func(ctx context.Context, in *staffIn) (*userOut, error) {
		p, err := authz.Require(ctx)
		if err != nil {
			return nil, err
		}
		u, err := s.CreateStaff(ctx, p, in.OrgID, StaffInput{Email: in.Body.Email, FullName: in.Body.FullName,
			Role: in.Body.Role, Password: in.Body.Password})
		if err != nil {
			return nil, err
		}
		return &userOut{Body: u}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "staff-list", Method: http.MethodGet, Path: "/v1/orgs/{org_id}/staff", Tags: []string{tag},
		Summary: "List an organisation's staff (org admin, platform admin)", Security: bearer,
	}, func(ctx context.Context, in *listIn) (*usersOut, error) {
		p, err := authz.Require(ctx)
		if err != nil {
			return nil, err
		}
		list := "staff:" + in.OrgID.String()
		after, limit, err := s.page(list, in.PageParams)
		if err != nil {
			return nil, err
		}
		items, err := s.ListStaff(ctx, p, in.OrgID, after, limit)
		if err != nil {
			return nil, err
		}
		next, err := nextCursor(s, list, items, limit, func(u User) uuid.UUID { return u.ID })
		return &usersOut{Body: httpx.Page[User]{Items: items, NextCursor: next}}, err
	})
	huma.Register(api, huma.Operation{
		OperationID: "user-get", Method: http.MethodGet, Path: "/v1/users/{user_id}", Tags: []string{tag},
		Summary:     "An account (platform admin: any; org admin: their staff; anyone: themselves)",
		Description: "The CNIC is masked. A platform admin may add ?reveal=cnic to read it in full; every reveal is written to the audit log.",
		Security:    bearer,
	}, func(ctx context.Context, in *getUserIn) (*userOut, error) {
		p, err := authz.Require(ctx)
		if err != nil {
			return nil, err
		}
		u, err := s.GetUser(ctx, p, in.UserID, in.Reveal == "cnic")
		if err != nil {
			return nil, err
		}
		return &userOut{Body: u}, nil
	})
	for _, act := range []struct {
		verb     string
		disabled bool
		summary  string
	}{
		{"disable", true, "Disable an account: its sessions are revoked and its access tokens stop working (within 5 s on other replicas)"},
		{"enable", false, "Re-enable a disabled account (it must sign in again)"},
	} {
		huma.Register(api, huma.Operation{
			OperationID: "user-" + act.verb, Method: http.MethodPost, Path: "/v1/users/{user_id}/" + act.verb, Tags: []string{tag},
			Summary:     act.summary,
			Description: "Org admins over the staff of their organisation, platform admins over anyone; nobody over themselves (409). No body is needed.",
			Security:    bearer,
		}, func(ctx context.Context, in *userPath) (*userOut, error) {
			p, err := authz.Require(ctx)
			if err != nil {
				return nil, err
			}
			u, err := s.SetDisabled(ctx, p, in.UserID, act.disabled)
			if err != nil {
				return nil, err
			}
			return &userOut{Body: u}, nil
		})
	}
	huma.Register(api, huma.Operation{
		OperationID: "client-create", Method: http.MethodPost, Path: "/v1/orgs/{org_id}/clients", Tags: []string{tag},
		Summary:       "Register an OAuth API client (org admin)",
		Description:   "Returns the client_secret once. The client obtains tokens at POST /oauth2/token with grant_type=client_credentials.",
		DefaultStatus: http.StatusCreated, Security: bearer,
	}, func(ctx context.Context, in *clientIn) (*newClientOut, error) {
		p, err := authz.Require(ctx)
		if err != nil {
			return nil, err
		}
		c, err := s.CreateClient(ctx, p, in.OrgID, ClientInput{Name: in.Body.Name, Scopes: in.Body.Scopes})
		if err != nil {
			return nil, err
		}
		return &newClientOut{Body: c}, nil
	})
	huma.Register(api, huma.Operation{
		OperationID: "client-list", Method: http.MethodGet, Path: "/v1/orgs/{org_id}/clients", Tags: []string{tag},
		Summary: "List an organisation's API clients (org admin)", Security: bearer,
	}, func(ctx context.Context, in *listIn) (*clientsOut, error) {
		p, err := authz.Require(ctx)
		if err != nil {
			return nil, err
		}
		list := "clients:" + in.OrgID.String()
		after, limit, err := s.page(list, in.PageParams)
		if err != nil {
			return nil, err
		}
		items, err := s.ListClients(ctx, p, in.OrgID, after, limit)
		if err != nil {
			return nil, err
		}
		next, err := nextCursor(s, list, items, limit, func(c Client) uuid.UUID { return c.ID })
		return &clientsOut{Body: httpx.Page[Client]{Items: items, NextCursor: next}}, err
	})
	huma.Register(api, huma.Operation{
		OperationID: "client-revoke", Method: http.MethodDelete, Path: "/v1/orgs/{org_id}/clients/{client_id}", Tags: []string{tag},
		Summary:       "Revoke an API client (org admin)",
		DefaultStatus: http.StatusNoContent, Security: bearer,
	}, func(ctx context.Context, in *clientPath) (*struct{}, error) {
		p, err := authz.Require(ctx)
		if err != nil {
			return nil, err
		}
		_, err = s.RevokeClient(ctx, p, in.OrgID, in.ClientID)
		return nil, err
	})
	s.registerTokenEndpoint(r)
}
