package main

import (
	"encoding/base64"
	"testing"

	"github.com/google/uuid"

	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// testConfig is a production-shaped configuration (not dev mode: every key
// given explicitly) against the test database d and the test Redis, under a
// private key prefix.
func testConfig(t testing.TB, d *testenv.DB) config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.Database.URL = config.Secret(d.URL)
	cfg.Database.MaxConns = 8
	cfg.Database.MinConns = 0
	cfg.Redis.URL = config.Secret(testenv.RedisURL())
	cfg.Redis.Prefix = "pvara-test:" + uuid.NewString() + ":"
	cfg.HTTP.CursorSecret = "a-test-cursor-secret-of-some-length"
	cfg.Crypto.FieldKeys = config.Secret(fieldcrypt.FormatKey("t1", mustKey(t)))
	cfg.Crypto.BlindIndexKey = config.Secret(base64.StdEncoding.EncodeToString(mustKey(t)))
	cfg.Auth.SigningKeys = config.Secret(mustSigningKey(t))
	return cfg
}
