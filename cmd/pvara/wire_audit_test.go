package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/fieldcrypt"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// TestAuditAndRateLimitWiring opens the app as `serve` and the maintenance
// role would: the API answers /v1/audit behind the limiter, and the
// maintenance task seals entries.
func TestAuditAndRateLimitWiring(t *testing.T) {
	t.Parallel()
	d := testenv.NewDB(t)
	rdb := testenv.NewRedis(t)
	cfg := config.Defaults()
	cfg.Database.URL = config.Secret(d.URL)
	cfg.Redis.URL = config.Secret(testenv.RedisURL())
	cfg.Redis.Prefix = rdb.Prefix()
	cfg.RateLimit.Requests = 2
	require.NoError(t, cfg.Validate())
	ctx := context.Background()
	_, err := openApp(ctx, cfg, logx.Discard())
	require.True(t, config.IsError(err), "outside pvara dev the cursor secret is required: %v", err)
	cfg.HTTP.CursorSecret = "a-test-cursor-secret-of-some-length"
	cfg.Crypto.FieldKeys = config.Secret(fieldcrypt.FormatKey("t1", mustKey(t)))
	cfg.Crypto.BlindIndexKey = config.Secret(base64.StdEncoding.EncodeToString(mustKey(t)))
	cfg.Auth.SigningKeys = config.Secret(mustSigningKey(t))
	a, err := openApp(ctx, cfg, logx.Discard())
	require.NoError(t, err)
	t.Cleanup(a.Close)

	r, err := a.router()
	require.NoError(t, err)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	for _, want := range []int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusTooManyRequests} {
		res, err := srv.Client().Get(srv.URL + "/v1/audit")
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, want, res.StatusCode)
		require.Equal(t, "2;w=60", res.Header.Get("RateLimit-Policy"))
	}

	var seal func(context.Context) error
	for _, task := range a.maintenanceTasks {
		if task.Name == "audit-seal" {
			seal = task.Run
			require.Equal(t, cfg.Audit.SealInterval, task.Every)
		}
	}
	require.NotNil(t, seal, "the maintenance role seals the audit chain")
	require.NoError(t, audit.Record(ctx, a.db, audit.Entry{Action: "test.wired"}))
	require.NoError(t, seal(ctx))
	rep, err := audit.Verify(ctx, a.db, audit.VerifyOptions{})
	require.NoError(t, err)
	require.True(t, rep.OK())
	require.EqualValues(t, 1, rep.Sealed)
}
