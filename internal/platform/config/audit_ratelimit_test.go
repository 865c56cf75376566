package config

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAuditAndRateLimitValidation(t *testing.T) {
	t.Parallel()
	d := Defaults()
	require.NoError(t, d.Validate())
	require.True(t, d.RateLimit.Enabled)
	require.Equal(t, 1000, d.RateLimit.Requests)
	require.Equal(t, time.Minute, d.RateLimit.Window)

	for key, mutate := range map[string]func(c *Config){
		"ratelimit.requests":       func(c *Config) { c.RateLimit.Requests = 0 },
		"ratelimit.window":         func(c *Config) { c.RateLimit.Window = 1500 * time.Millisecond },
		"ratelimit.auth_requests":  func(c *Config) { c.RateLimit.AuthRequests = -1 },
		"ratelimit.auth_window":    func(c *Config) { c.RateLimit.AuthWindow = 0 },
		"ratelimit.auth_paths":     func(c *Config) { c.RateLimit.AuthPaths = []string{"v1/auth/login"} },
		"ratelimit.timeout":        func(c *Config) { c.RateLimit.Timeout = 0 },
		"ratelimit.local_batch":    func(c *Config) { c.RateLimit.LocalBatch = -1 },
		"ratelimit.local_ttl":      func(c *Config) { c.RateLimit.LocalTTL = 0 },
		"ratelimit.local_subjects": func(c *Config) { c.RateLimit.LocalSubjects = 10 },
		"audit.seal_interval":      func(c *Config) { c.Audit.SealInterval = time.Millisecond },
		"audit.seal_batch":         func(c *Config) { c.Audit.SealBatch = 0 },
		"http.cursor_secret":       func(c *Config) { c.HTTP.CursorSecret = "short" },
		"http.writes_in_flight":    func(c *Config) { c.HTTP.WritesInFlight = -1 },
		"http.writes_queue":        func(c *Config) { c.HTTP.WritesQueue = -1 },
		"http.writes_queue_wait":   func(c *Config) { c.HTTP.WritesQueueWait = time.Hour },
		"http.reads_in_flight":     func(c *Config) { c.HTTP.ReadsInFlight = -1 },
		"http.reads_queue":         func(c *Config) { c.HTTP.ReadsQueue = -1 },
		"http.reads_queue_wait":    func(c *Config) { c.HTTP.ReadsQueueWait = -time.Second },
	} {
		c := Defaults()
		mutate(&c)
		err := c.Validate()
		var ce *Error
		require.True(t, errors.As(err, &ce), key)
		require.Equal(t, key, ce.Key)
	}
	// A load test may raise the limit as far as it likes within reason.
	c := Defaults()
	c.RateLimit.Requests = 1_000_000
	require.NoError(t, c.Validate())
}
