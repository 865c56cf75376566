package main

import (
	"context"

	"github.com/pvara-gov/pvara/internal/applications"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

// wireApplications builds the applications module (candidate profiles so
// far) and its routes.
func (a *app) wireApplications(_ context.Context) error {
	cipher, err := a.fieldCipher()
	if err != nil {
		return err
	}
	profiles, err := applications.NewProfiles(applications.ProfilesDeps{
		DB: a.db, Cipher: cipher, Logger: a.logger.With("module", "applications"), Clock: a.clock,
	})
	if err != nil {
		return err
	}
	h := applications.NewProfileHandlers(profiles)
	a.routes = append(a.routes, func(r *httpx.Router) { h.Register(r) })
	return nil
}
