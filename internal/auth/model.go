package auth

import (
	"time"

	"github.com/google/uuid"
)

// User is an account as the API shows it.
type User struct {
	ID       uuid.UUID  `json:"id"`
	Email    string     `json:"email"`
	FullName string     `json:"full_name"`
	Role     string     `json:"role" enum:"candidate,recruiter,interviewer,org_admin,platform_admin"`
	OrgID    *uuid.UUID `json:"org_id" doc:"The organisation of staff; null for candidates and platform admins."`
	// CNICMasked is shown to everyone allowed to see the account.
	CNICMasked *string `json:"cnic_masked" doc:"The CNIC with its middle digits hidden (35202-*******-1); null when the account has none."`
	// CNIC is the full CNIC, given only to its owner (GET /v1/me) or to a
	// platform admin who asks for it (audited).
	CNIC        *string   `json:"cnic,omitempty" doc:"The full CNIC (#####-#######-#): only for its owner, or a platform admin with ?reveal=cnic (audited)."`
	PhoneMasked *string   `json:"phone_masked,omitempty" doc:"The phone number with all but its last two digits hidden."`
	Phone       *string   `json:"phone,omitempty" doc:"The full phone number: only for its owner."`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"created_at"`
}

// Org is an organisation.
type Org struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Slug      string    `json:"slug"`
	CreatedAt time.Time `json:"created_at"`
}

// TokenPair is the answer of login and refresh.
type TokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type" example:"Bearer"`
	ExpiresIn    int    `json:"expires_in" doc:"Seconds until the access token expires."`
}

// Client is an OAuth 2.0 API client of an organisation.
type Client struct {
	ID        uuid.UUID  `json:"id"`
	OrgID     uuid.UUID  `json:"org_id"`
	ClientID  string     `json:"client_id"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	CreatedBy uuid.UUID  `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// ClientToken is the answer of the client_credentials grant.
type ClientToken struct {
	AccessToken string
	ExpiresIn   int
	Scopes      []string
}

// UserSummary is what other modules may learn about an account: no e-mail,
// no CNIC beyond its masked form.
type UserSummary struct {
	ID         uuid.UUID
	FullName   string
	Role       string
	OrgID      uuid.UUID
	CNICMasked string
	Disabled   bool
}

// Scopes API clients may be granted. Modules check them with
// authz.Principal.HasScope.
var Scopes = []string{
	"jobs:read", "jobs:write",
	"applications:read", "applications:write",
	"interviews:read", "interviews:write",
	"audit:read",
}
