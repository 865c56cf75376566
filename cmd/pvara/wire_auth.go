package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"time"

	"github.com/pvara-gov/pvara/internal/auth"
	"github.com/pvara-gov/pvara/internal/platform/authz"
	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
	"github.com/pvara-gov/pvara/internal/platform/maintenance"
)

// wireAuth builds the auth module, installs the token-verifying middleware
// (every request with a bearer token gets its principal in the context)
// and registers the module's routes and maintenance.
func (a *app) wireAuth(_ context.Context) error {
	cipher, err := a.fieldCipher()
	if err != nil {
		return err
	}
	keys, err := a.signingKeys()
	if err != nil {
		return err
	}
	svc, err := auth.New(authConfig(a.cfg, keys), auth.Deps{
		DB: a.db, Redis: a.redis, Cipher: cipher, Logger: a.logger.With("module", "auth"),
		Clock: a.clock, Registerer: a.reg,
	})
	if err != nil {
		return err
	}
	a.auth = svc
	a.middlewares = append(a.middlewares, authz.Middleware(svc.Verifier(), &httpx.ErrorMapper{Logger: a.logger}))
	a.routes = append(a.routes, svc.Routes)
	a.maintenanceTasks = append(a.maintenanceTasks, maintenance.Task{
		Name:  "auth-sessions-purge",
		Every: time.Hour,
		Run: func(ctx context.Context) error {
			_, err := svc.PurgeExpired(ctx)
			return err
		},
	})
	return nil
}

// authConfig maps the configuration onto the module's Config.
func authConfig(cfg config.Config, keys []auth.SigningKey) auth.Config {
	c := cfg.Auth
	issuer := c.Issuer
	if issuer == "" {
		issuer = cfg.HTTP.PublicURL
	}
	return auth.Config{
		Issuer: issuer, Audience: c.Audience, SigningKeys: keys,
		AccessTTL: c.AccessTTL, RefreshIdleTTL: c.RefreshIdleTTL, RefreshAbsoluteTTL: c.RefreshAbsoluteTTL,
		RefreshReuseGrace: c.RefreshReuseGrace,
		PasswordMinLength: c.PasswordMinLength, PasswordMaxLength: c.PasswordMaxLength,
		Hash:         hashConfig(c),
		UserCacheTTL: c.UserCacheTTL,
		Throttle: auth.ThrottleConfig{
			AccountIPFailures: c.LoginAccountIPFailures, AccountFailures: c.LoginAccountFailures,
			IPFailures: c.LoginIPFailures, FailureWindow: c.LoginFailureWindow, MaxBlock: c.LoginMaxBlock,
			RegisterIPLimit: c.RegisterIPLimit, RegisterIPWindow: c.RegisterIPWindow,
		},
	}
}

func hashConfig(c config.Auth) auth.HashConfig {
	return auth.HashConfig{
		MemoryKiB: uint32(c.Argon2MemoryKiB), Iterations: uint32(c.Argon2Iterations), Parallelism: uint8(c.Argon2Parallelism),
		Concurrency: c.HashConcurrency, Queue: c.HashQueue, QueueWait: c.HashQueueWait,
	}
}

// fieldCipher returns the field-encryption cipher every module shares, built
// once from crypto.field_keys and crypto.blind_index_key; `pvara dev`
// generates and keeps them when unset.
func (a *app) fieldCipher() (*fieldcrypt.Cipher, error) {
	if a.cipher != nil {
		return a.cipher, nil
	}
	fieldKeys := a.cfg.Crypto.FieldKeys.Reveal()
	blind := a.cfg.Crypto.BlindIndexKey.Reveal()
	var err error
	if fieldKeys == "" && a.cfg.Dev {
		k, err := a.devSecret("field-key-dev1", fieldcrypt.KeySize)
		if err != nil {
			return nil, err
		}
		fieldKeys = fieldcrypt.FormatKey("dev1", k)
	}
	if blind == "" && a.cfg.Dev {
		k, err := a.devSecret("blind-index-key", fieldcrypt.KeySize)
		if err != nil {
			return nil, err
		}
		blind = base64.StdEncoding.EncodeToString(k)
	}
	const keysExpect = `comma-separated "kid:base64(32 random bytes)", newest first (e.g. k2026a:` + "`openssl rand -base64 32`" + `)`
	if fieldKeys == "" {
		return nil, &config.Error{Key: "crypto.field_keys", Expect: keysExpect}
	}
	keys, err := fieldcrypt.ParseKeys(fieldKeys)
	if err != nil {
		return nil, &config.Error{Key: "crypto.field_keys", Expect: keysExpect + " (" + err.Error() + ")"}
	}
	blindKey, err := fieldcrypt.DecodeBase64(blind)
	if err != nil || len(blindKey) < fieldcrypt.KeySize {
		return nil, &config.Error{Key: "crypto.blind_index_key", Expect: "base64 of at least 32 random bytes, different from every field key"}
	}
	c, err := fieldcrypt.New(keys, blindKey)
	if err != nil {
		return nil, &config.Error{Key: "crypto.field_keys", Expect: keysExpect + " (" + err.Error() + ")"}
	}
	a.cipher = c
	return c, nil
}

// signingKeys reads auth.signing_keys; `pvara dev` generates and keeps one
// when unset.
func (a *app) signingKeys() ([]auth.SigningKey, error) {
	raw := a.cfg.Auth.SigningKeys.Reveal()
	var err error
	if raw == "" && a.cfg.Dev {
		seed, err := a.devSecret("signing-key-dev1", ed25519.SeedSize)
		if err != nil {
			return nil, err
		}
		raw = fieldcrypt.FormatKey("dev1", seed)
	}
	const expect = `comma-separated "kid:base64(32-byte Ed25519 seed)", newest first; the first signs, all verify`
	if raw == "" {
		return nil, &config.Error{Key: "auth.signing_keys", Expect: expect}
	}
	keys, err := auth.ParseSigningKeys(raw)
	if err != nil {
		return nil, &config.Error{Key: "auth.signing_keys", Expect: expect + " (" + err.Error() + ")"}
	}
	return keys, nil
}
