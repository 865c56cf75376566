//go:build smoke

package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/db"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

// TestSmokeBinary is the last step of `make test` (go test -tags
// smoke): the built binary (PVARA_TEST_BINARY, from scripts/test.sh) run the
// way an operator runs it, against a fresh, empty database on the test
// PostgreSQL and the test Redis.
func TestSmokeBinary(t *testing.T) {
	bin := buildPvaraBinary(t)
	ctx := context.Background()

	name := "pvara_smoke_" + randHex(6)
	admin, err := pgx.Connect(ctx, testenv.AdminURL())
	require.NoError(t, err, "the test PostgreSQL (PVARA_TEST_DATABASE_URL) must answer")
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		require.NoError(t, err)
		admin.Close(context.Background())
	})
	u, err := url.Parse(testenv.AdminURL())
	require.NoError(t, err)
	u.Path = "/" + name

	env := envWithoutPVARA(
		"PVARA_DATABASE_URL="+u.String(),
		"PVARA_REDIS_URL="+testenv.RedisURL(),
		"PVARA_REDIS_PREFIX=pvara-smoke-"+randHex(4)+":",
		"PVARA_LOG_FORMAT=json",
		"PVARA_DATA_DIR="+t.TempDir(), // no developer's dev.env
		"PVARA_HTTP_CURSOR_SECRET="+randHex(16),
		"PVARA_AUTH_SIGNING_KEYS=smoke1:"+randBase64Key(t),
		"PVARA_CRYPTO_FIELD_KEYS=smoke1:"+randBase64Key(t),
		"PVARA_CRYPTO_BLIND_INDEX_KEY="+randBase64Key(t),
	)

	out, code := runBinary(t, bin, env, "version")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "pvara ")

	out, code = runBinary(t, bin, env, "migrate", "up")
	require.Equal(t, 0, code, out)

	files, err := fs.Glob(db.Migrations, "migrations/*.sql")
	require.NoError(t, err)
	out, code = runBinary(t, bin, env, "migrate", "status")
	require.Equal(t, 0, code, out)
	require.Equal(t, len(files), strings.Count(out, " applied "), "every migration applied:\n%s", out)
	require.NotContains(t, out, "pending")

	out, code = runBinary(t, bin, env, "migrate", "wait", "--timeout=30s")
	require.Equal(t, 0, code, out)

	out, code = runBinary(t, bin, env, "worker", "--role=nope")
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "maintenance", "names the valid roles")

	out, code = runBinary(t, bin, append(env, "PVARA_HTTP_MAX_BODY_BYTES=lots"), "serve")
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "http.max_body_bytes")
	require.Contains(t, out, "PVARA_HTTP_MAX_BODY_BYTES")
	require.Equal(t, 1, strings.Count(strings.TrimSpace(out), "\n")+1, "one line: %q", out)

	httpAddr, adminAddr := freeLocalAddr(t), freeLocalAddr(t)
	p := startBinary(t, bin, append(env, "PVARA_HTTP_ADDR="+httpAddr, "PVARA_ADMIN_ADDR="+adminAddr), "serve")
	took := p.waitReady(adminAddr, time.Minute)
	t.Logf("serve: /readyz 200 after %s", took)

	resp, err := http.Get("http://" + httpAddr + "/v1/no-such-thing")
	require.NoError(t, err)
	var problem map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&problem))
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	rid := resp.Header.Get("X-Request-ID")
	require.NotEmpty(t, rid)
	require.Equal(t, rid, problem["request_id"])
	require.EqualValues(t, 404, problem["status"])
	require.NotEmpty(t, problem["code"])

	resp, err = http.Get("http://" + httpAddr + "/v1/openapi.json")
	require.NoError(t, err)
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3.1"), "openapi %q", doc.OpenAPI)

	// The admin endpoints are not on the public listener.
	resp, err = http.Get("http://" + httpAddr + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	require.Equal(t, 0, p.stop(syscall.SIGTERM, time.Minute), "SIGTERM drains and exits 0")
}

// randBase64Key is a random 32-byte key in the configuration's base64 form.
func randBase64Key(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(k)
}
