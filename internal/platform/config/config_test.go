package config_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/config"
)

func TestDefaultsAreValid(t *testing.T) {
	t.Parallel()
	c := config.Defaults()
	require.NoError(t, c.Validate())
}

func TestValidateNamesTheBadKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		key    string
		mutate func(*config.Config)
	}{
		{"http.addr", func(c *config.Config) { c.HTTP.Addr = "8080" }},
		{"http.addr", func(c *config.Config) { c.HTTP.Addr = ":http" }},
		{"admin.addr", func(c *config.Config) { c.Admin.Addr = "" }},
		{"http.read_header_timeout", func(c *config.Config) { c.HTTP.ReadHeaderTimeout = 0 }},
		{"http.max_body_bytes", func(c *config.Config) { c.HTTP.MaxBodyBytes = 10 }},
		{"http.cors_origins", func(c *config.Config) { c.HTTP.CORSOrigins = []string{"portal.example.gov.pk"} }},
		{"http.cors_origins", func(c *config.Config) { c.HTTP.CORSOrigins = []string{"https://x.example/path"} }},
		{"http.trusted_proxies", func(c *config.Config) { c.HTTP.TrustedProxies = []string{"10.0.0.0/33"} }},
		{"http.public_url", func(c *config.Config) { c.HTTP.PublicURL = "ftp://x" }},
		{"log.format", func(c *config.Config) { c.Log.Format = "xml" }},
		{"http.cursor_secret", func(c *config.Config) { c.HTTP.CursorSecret = "short" }},
		{"jobs.cache_ttl", func(c *config.Config) { c.Jobs.CacheTTL = -time.Second }},
		{"jobs.cache_ttl", func(c *config.Config) { c.Jobs.CacheTTL = 2 * time.Hour }},
		{"jobs.local_cache_ttl", func(c *config.Config) { c.Jobs.LocalCacheTTL = 5 * time.Second }},
		{"jobs.close_every", func(c *config.Config) { c.Jobs.CloseEvery = 0 }},
		{"log.level", func(c *config.Config) { c.Log.Level = "loud" }},
		{"database.url", func(c *config.Config) { c.Database.URL = "mysql://u:hunter2@x/db" }},
		{"database.role", func(c *config.Config) { c.Database.Role = "pvara app; DROP" }},
		{"database.max_conns", func(c *config.Config) { c.Database.MaxConns = 0 }},
		{"database.min_conns", func(c *config.Config) { c.Database.MinConns = 100 }},
		{"database.query_exec_mode", func(c *config.Config) { c.Database.QueryExecMode = "fast" }},
		{"redis.url", func(c *config.Config) { c.Redis.URL = "http://127.0.0.1:6379" }},
		{"kafka.brokers", func(c *config.Config) { c.Kafka.Brokers = []string{"kafka"} }},
		{"kafka.sasl_mechanism", func(c *config.Config) { c.Kafka.SASLMechanism = "gssapi" }},
		{"kafka.sasl_username", func(c *config.Config) { c.Kafka.SASLMechanism = "plain" }},
		{"kafka.topic_partitions", func(c *config.Config) { c.Kafka.TopicPartitions = 0 }},
		{"kafka.replication_factor", func(c *config.Config) { c.Kafka.ReplicationFactor = 0 }},
		{"partitions.months_ahead", func(c *config.Config) { c.Partitions.MonthsAhead = 0 }},
		{"shutdown.grace", func(c *config.Config) { c.Shutdown.Grace = 0 }},
		{"shutdown.delay", func(c *config.Config) { c.Shutdown.Delay = time.Hour }},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			c := config.Defaults()
			tc.mutate(&c)
			err := c.Validate()
			require.Error(t, err)
			var ce *config.Error
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.key, ce.Key)
			msg := err.Error()
			require.NotContains(t, msg, "\n", "one line")
			require.Contains(t, msg, config.EnvName(tc.key))
			require.NotContains(t, msg, "hunter2", "never repeat a secret value")
		})
	}
}

func TestRequire(t *testing.T) {
	t.Parallel()
	c := config.Defaults()
	err := c.Require("database.url")
	require.ErrorContains(t, err, "PVARA_DATABASE_URL")
	c.Database.URL = "postgres://x/y"
	require.NoError(t, c.Require("database.url"))
	require.ErrorContains(t, c.Require("redis.url", "kafka.brokers"), "PVARA_REDIS_URL")
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	c := config.Defaults()
	c.Database.URL = "postgres://pvara:hunter2@db/pvara"
	c.Kafka.SASLPassword = "hunter2"
	require.NotContains(t, fmt.Sprintf("%v %+v %s", c, c, c.Database.URL), "hunter2")
	b, err := json.Marshal(c)
	require.NoError(t, err)
	require.NotContains(t, string(b), "hunter2")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "url", c.Database.URL, "cfg", c)
	require.NotContains(t, buf.String(), "hunter2")
	require.Equal(t, "postgres://pvara:hunter2@db/pvara", c.Database.URL.Reveal())
	require.True(t, strings.Contains(c.Database.URL.String(), "redacted"))
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	require.Equal(t, "PVARA_HTTP_ADDR", config.EnvName("http.addr"))
	require.Equal(t, "PVARA_DEV_KAFKA_ADDR", config.EnvName("dev.kafka_addr"))
	require.Equal(t, "PVARA_DATA_DIR", config.EnvName("data.dir"))
}

func TestEventBackboneSettings(t *testing.T) {
	t.Parallel()
	def := config.Defaults()
	require.NoError(t, def.Validate())
	cases := map[string]func(*config.Config){
		"kafka.tls":                    func(c *config.Config) { c.Kafka.TLSCAFile = "/ca.pem" },
		"kafka.tls_key_file":           func(c *config.Config) { c.Kafka.TLS, c.Kafka.TLSCertFile = true, "/cert.pem" },
		"kafka.sasl_password":          func(c *config.Config) { c.Kafka.SASLMechanism, c.Kafka.SASLUsername = "plain", "u" },
		"outbox.workers":               func(c *config.Config) { c.Outbox.Workers = 0 },
		"outbox.lanes_per_claim":       func(c *config.Config) { c.Outbox.LanesPerClaim = 65 },
		"outbox.poll_min":              func(c *config.Config) { c.Outbox.PollMin = time.Second },
		"outbox.produce_timeout":       func(c *config.Config) { c.Outbox.ProduceTimeout = 0 },
		"consumer.max_attempts":        func(c *config.Config) { c.Consumer.MaxAttempts = 0 },
		"consumer.retry_backoff":       func(c *config.Config) { c.Consumer.RetryBackoff = time.Minute },
		"consumer.batch_size":          func(c *config.Config) { c.Consumer.BatchSize = 0 },
		"consumer.processed_retention": func(c *config.Config) { c.Consumer.ProcessedRetention = time.Hour },
	}
	for key, mutate := range cases {
		c := config.Defaults()
		mutate(&c)
		err := c.Validate()
		var ce *config.Error
		require.True(t, errors.As(err, &ce), key)
		require.Equal(t, key, ce.Key)
	}
}
