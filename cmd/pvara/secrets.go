package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

// devSecret returns size random bytes kept in <data dir>/secrets/<name>,
// made on first use, so development keys (field encryption, cursor MACs)
// survive a restart and what they protect stays readable. Only `pvara dev`
// (cfg.Dev) may use it. (The devenv package on the ops branch has the same
// helper with a race-free create; prefer it once both are merged.)
func (a *app) devSecret(name string, size int) ([]byte, error) {
	dir := filepath.Join(a.cfg.Data.Dir, "secrets")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != size {
			return nil, fmt.Errorf("dev secret %s holds %d bytes, %d wanted: delete it or run pvara dev --reset", path, len(b), size)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return nil, err
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	// Link fails if another process made it first: then use theirs.
	lerr := os.Link(tmp.Name(), path)
	os.Remove(tmp.Name())
	if lerr != nil {
		if errors.Is(lerr, os.ErrExist) {
			return a.devSecret(name, size)
		}
		return nil, lerr
	}
	return b, nil
}

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
