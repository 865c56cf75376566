package config_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pvara-gov/pvara/internal/platform/config"
)

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
