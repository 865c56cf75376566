package testenv

import (
	"context"

	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/authz"
)

// Tokens stands in for the auth module behind authz.Verifier (the
// consumer-side interface) in a module's own tests: a test token names a
// principal, and any other token is refused as the real verifier refuses
// it (401). Tests of the whole binary use real tokens from the auth module.
type Tokens map[string]authz.Principal

// Verify returns the principal the token names.
func (v Tokens) Verify(_ context.Context, token string) (authz.Principal, error) {
	p, ok := v[token]
	if !ok {
		return authz.Principal{}, apperr.ErrUnauthenticated.WithDetail("unknown test token")
	}
	return p, nil
}
