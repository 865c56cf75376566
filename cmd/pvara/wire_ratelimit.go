package main

import (
	"context"

	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/ratelimit"
)

// wireRateLimit appends the rate limiter to the API middlewares: the
// ratelimit section's limit for everything, a separate fail-closed limit
// for ratelimit.auth_paths (login, registration, tokens).
//
// The limiter keys authenticated requests by user, so openApp must call
// wireRateLimit after the wiring that appends the authentication
// middleware.
func (a *app) wireRateLimit(_ context.Context) error {
	rl := a.cfg.RateLimit
	if !rl.Enabled {
		a.logger.Warn("rate limiting is disabled (ratelimit.enabled=false)")
		return nil
	}
	auth := ratelimit.Policy{Name: "auth", Requests: rl.AuthRequests, Window: rl.AuthWindow, FailClosed: true}
	routes := make(map[string]ratelimit.Policy, len(rl.AuthPaths))
	for _, p := range rl.AuthPaths {
		routes[p] = auth
	}
	l, err := ratelimit.New(ratelimit.Config{
		Default:       ratelimit.Policy{Name: "api", Requests: rl.Requests, Window: rl.Window, FailClosed: !rl.FailOpen},
		Routes:        routes,
		Timeout:       rl.Timeout,
		LocalBatch:    rl.LocalBatch,
		LocalTTL:      rl.LocalTTL,
		LocalSubjects: rl.LocalSubjects,
		Logger:        a.logger.With("component", "ratelimit"),
		Registerer:    a.reg,
	}, a.redis)
	if err != nil {
		return err
	}
	a.middlewares = append(a.middlewares, ratelimit.Middleware(l, &httpx.ErrorMapper{Logger: a.logger}))
	return nil
}
