package auth

import "github.com/pvara-gov/pvara/internal/platform/apperr"

// Errors of the auth module.
var (
	ErrEmailTaken = apperr.New(apperr.KindConflict, "email_taken", "an account with this e-mail address already exists")
	ErrCNICTaken  = apperr.New(apperr.KindConflict, "cnic_taken", "an account with this CNIC already exists")
	ErrSlugTaken  = apperr.New(apperr.KindConflict, "slug_taken", "an organisation with this slug already exists")
	// ErrInvalidCredentials is the one answer for a wrong password, an
	// unknown e-mail and a disabled account, so none can be told apart.
	ErrInvalidCredentials = apperr.New(apperr.KindUnauthenticated, "invalid_credentials", "the e-mail address or password is incorrect")
	// ErrInvalidRefreshToken is a refresh token that is unknown, expired,
	// spent (its session is then revoked) or of a revoked session.
	ErrInvalidRefreshToken = apperr.New(apperr.KindUnauthenticated, "invalid_refresh_token", "the refresh token is invalid, expired or already used; sign in again")
	// ErrRefreshRace is a second use of a refresh token within the
	// configured grace window: the session survives, the caller should use
	// the token the first request received.
	ErrRefreshRace = apperr.New(apperr.KindUnauthenticated, "refresh_race", "this refresh token was just used by another request")
	// ErrInvalidToken is any access token that fails verification.
	ErrInvalidToken = apperr.New(apperr.KindUnauthenticated, "invalid_token", "the access token is invalid or expired")
	ErrCannotSelf   = apperr.New(apperr.KindConflict, "cannot_disable_self", "you cannot disable your own account")
)
