package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/logx"
	"github.com/pvara-gov/pvara/internal/platform/testenv"
)

var updateOpenAPI = flag.Bool("update", false, "rewrite docs/openapi.json from the code")

// openapiFile is the committed copy of the contract.
const openapiFile = "../../docs/openapi.json"

// newTestApp wires the whole application against a test database and Redis,
// in dev mode so modules generate their own keys in a temporary data dir.
func newTestApp(t *testing.T) *app {
	t.Helper()
	d := testenv.NewDB(t)
	cfg := config.Defaults()
	cfg.Dev = true
	cfg.Database.URL = config.Secret(d.URL)
	cfg.Redis.URL = config.Secret(testenv.RedisURL())
	cfg.Redis.Prefix = "pvara-test-app:"
	cfg.Data.Dir = t.TempDir()
	require.NoError(t, cfg.Validate())
	a, err := openApp(context.Background(), cfg, logx.Discard())
	require.NoError(t, err)
	t.Cleanup(a.Close)
	return a
}

// TestOpenAPIDocument checks that docs/openapi.json is the document the code
// serves; `make generate` (go test ./cmd/pvara -run TestOpenAPIDocument
// -update) rewrites it.
func TestOpenAPIDocument(t *testing.T) {
	a := newTestApp(t)
	r, err := a.router()
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/openapi.json", nil))
	require.Equal(t, 200, rec.Code)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.Equal(t, "3.1.0", doc["openapi"])
	var pretty bytes.Buffer
	enc := json.NewEncoder(&pretty)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(doc))

	if *updateOpenAPI {
		require.NoError(t, os.WriteFile(openapiFile, pretty.Bytes(), 0o644))
		return
	}
	committed, err := os.ReadFile(openapiFile)
	require.NoError(t, err, "docs/openapi.json is missing: run make generate")
	require.Equal(t, string(committed), pretty.String(), "docs/openapi.json is stale: run make generate and commit it")
}

// TestJobsWiring checks that openApp wires the jobs module's maintenance
// task and the routes of jobs and profiles.
func TestJobsWiring(t *testing.T) {
	a := newTestApp(t)
	var names []string
	for _, task := range a.maintenanceTasks {
		names = append(names, task.Name)
	}
	require.Contains(t, names, "jobs-close-due")
	r, err := a.router()
	require.NoError(t, err)
	for _, path := range []string{"/v1/jobs", "/v1/me/profile"} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		require.NotEqual(t, 404, rec.Code, path)
	}
}
