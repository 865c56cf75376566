package main

import (
	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

// cursors builds the list-cursor codec from http.cursor_secret, or from a
// generated development secret under `pvara dev`.
func (a *app) cursors() (*httpx.Cursors, error) {
	secret := []byte(a.cfg.HTTP.CursorSecret.Reveal())
	if len(secret) == 0 {
		if !a.cfg.Dev {
			return nil, &config.Error{Key: "http.cursor_secret", Expect: "a secret of at least 16 characters shared by every replica (required outside pvara dev)"}
		}
		var err error
		if secret, err = a.devSecret("cursor-secret", 32); err != nil {
			return nil, err
		}
	}
	return httpx.NewCursors(secret)
}
