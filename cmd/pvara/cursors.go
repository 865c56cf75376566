package main

import (
	"crypto/rand"

	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

// cursors builds the list-cursor codec from http.cursor_secret, required
// outside `pvara dev`, where a random per-process secret is used.
//
// Merge note: main's cmd/pvara/secrets.go defines the same method (with a
// dev secret kept on disk); it supersedes this file, which then goes.
func (a *app) cursors() (*httpx.Cursors, error) {
	secret := []byte(a.cfg.HTTP.CursorSecret.Reveal())
	if len(secret) == 0 {
		if !a.cfg.Dev {
			return nil, &config.Error{Key: "http.cursor_secret", Expect: "a secret of at least 16 characters shared by every replica (required outside pvara dev)"}
		}
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	}
	return httpx.NewCursors(secret)
}
