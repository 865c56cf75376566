// Package config holds the typed configuration of every pvara command and its
// validation. Loading (flags, PVARA_* environment, config file, defaults) is
// done by cmd/pvara with viper; this package knows nothing about where values
// come from, only what they must look like.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Secret is a string that never prints itself: fmt, slog and JSON all see
// "[redacted]", so a configuration dump or a log line cannot leak it.
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// LogValue hides the value from slog.
func (s Secret) LogValue() any { return s.String() }

// MarshalText hides the value from encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// Config is the whole configuration. Field tags are the viper keys; the
// environment variable of a key is PVARA_ + the key upper-cased with dots
// turned into underscores (http.addr → PVARA_HTTP_ADDR).
type Config struct {
	// Dev is set by `pvara dev` only; it allows the in-process fallbacks.
	Dev bool `mapstructure:"-"`

	HTTP       HTTP       `mapstructure:"http"`
	Admin      Admin      `mapstructure:"admin"`
	Log        Log        `mapstructure:"log"`
	Database   Database   `mapstructure:"database"`
	Redis      Redis      `mapstructure:"redis"`
	Kafka      Kafka      `mapstructure:"kafka"`
	Outbox     Outbox     `mapstructure:"outbox"`
	Consumer   Consumer   `mapstructure:"consumer"`
	Partitions Partitions `mapstructure:"partitions"`
	Data       Data       `mapstructure:"data"`
	DevEnv     DevEnv     `mapstructure:"dev"`
	Shutdown   Shutdown   `mapstructure:"shutdown"`
}

// HTTP configures the public API listener.
type HTTP struct {
	Addr              string        `mapstructure:"addr"`
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout"`
	ReadTimeout       time.Duration `mapstructure:"read_timeout"`
	WriteTimeout      time.Duration `mapstructure:"write_timeout"`
	IdleTimeout       time.Duration `mapstructure:"idle_timeout"`
	MaxBodyBytes      int64         `mapstructure:"max_body_bytes"`
	CORSOrigins       []string      `mapstructure:"cors_origins"`
	// TrustedProxies are the CIDRs whose X-Forwarded-For / Forwarded headers
	// are believed when working out the client IP.
	TrustedProxies []string `mapstructure:"trusted_proxies"`
	// PublicURL is the externally visible base URL, used as the JWT issuer
	// and in links.
	PublicURL string `mapstructure:"public_url"`
}

// Admin configures the operator listener (/livez, /readyz, /metrics, pprof).
type Admin struct {
	Addr string `mapstructure:"addr"`
}

// Log configures logging.
type Log struct {
	// Format is "json", "text" or "" (text on a terminal, else json).
	Format string `mapstructure:"format"`
	Level  string `mapstructure:"level"`
}

// Database configures PostgreSQL.
type Database struct {
	URL Secret `mapstructure:"url"`
	// MigrateURL is the owner connection used by `migrate` (defaults to URL).
	MigrateURL Secret `mapstructure:"migrate_url"`
	// Role, when set, is assumed with SET ROLE on every new connection, so a
	// privileged login still runs the application as the non-owner role that
	// row-level security applies to. Leave empty when the login role is
	// already the application role (the PgBouncer transaction-mode setup).
	Role             string        `mapstructure:"role"`
	MaxConns         int32         `mapstructure:"max_conns"`
	MinConns         int32         `mapstructure:"min_conns"`
	MaxConnLifetime  time.Duration `mapstructure:"max_conn_lifetime"`
	MaxConnIdleTime  time.Duration `mapstructure:"max_conn_idle_time"`
	ConnectTimeout   time.Duration `mapstructure:"connect_timeout"`
	StatementTimeout time.Duration `mapstructure:"statement_timeout"`
	// QueryExecMode is pgx's statement mode: cache_statement (default),
	// cache_describe, describe_exec, exec or simple_protocol. Use exec or
	// simple_protocol behind a PgBouncer in transaction mode that does not
	// track prepared statements.
	QueryExecMode string `mapstructure:"query_exec_mode"`
}

// Redis configures the Redis client.
type Redis struct {
	URL Secret `mapstructure:"url"`
	// Prefix is put in front of every key, so several deployments (or
	// tests) can share one Redis.
	Prefix string `mapstructure:"prefix"`
}

// Kafka configures the Kafka client (internal/platform/kafka). Only the
// worker roles talk to Kafka; the API does not need it to accept writes.
type Kafka struct {
	// Brokers are the seed brokers, host:port (PVARA_KAFKA_BROKERS).
	Brokers  []string `mapstructure:"brokers"`
	ClientID string   `mapstructure:"client_id"`
	// TLS turns on TLS; TLSCAFile adds a CA bundle (PEM) to the system
	// roots, TLSCertFile/TLSKeyFile give a client certificate (mutual TLS).
	TLS         bool   `mapstructure:"tls"`
	TLSCAFile   string `mapstructure:"tls_ca_file"`
	TLSCertFile string `mapstructure:"tls_cert_file"`
	TLSKeyFile  string `mapstructure:"tls_key_file"`
	// SASLMechanism is "", plain, scram-sha-256 or scram-sha-512.
	SASLMechanism string `mapstructure:"sasl_mechanism"`
	SASLUsername  string `mapstructure:"sasl_username"`
	SASLPassword  Secret `mapstructure:"sasl_password"`
	// TopicPartitions and ReplicationFactor are used when a missing
	// pvara.<type> or pvara.<type>.dlq topic is created at start.
	TopicPartitions   int32 `mapstructure:"topic_partitions"`
	ReplicationFactor int16 `mapstructure:"replication_factor"`
}

// Outbox configures the relay (worker role outbox) that moves outbox rows
// to Kafka. See docs/events.md.
type Outbox struct {
	// Workers is how many batches one relay process has in flight at once.
	Workers int `mapstructure:"workers"`
	// LanesPerClaim is how many ordering lanes (of 64) one batch claims.
	LanesPerClaim int `mapstructure:"lanes_per_claim"`
	// BatchPerLane is how many rows one batch takes from each claimed lane.
	BatchPerLane int `mapstructure:"batch_per_lane"`
	// PollMin and PollMax bound the idle polling: after an empty claim a
	// worker sleeps PollMin, doubling up to PollMax; any row resets it.
	PollMin time.Duration `mapstructure:"poll_min"`
	PollMax time.Duration `mapstructure:"poll_max"`
	// ProduceTimeout bounds one batch's produce (all acks); on timeout the
	// batch is rolled back and retried.
	ProduceTimeout time.Duration `mapstructure:"produce_timeout"`
	// Linger is the producer's linger per partition.
	Linger time.Duration `mapstructure:"linger"`
	// RetryMax caps the backoff while Kafka or PostgreSQL fails.
	RetryMax time.Duration `mapstructure:"retry_max"`
}

// Consumer configures the consumer runner of the event-driven worker roles.
type Consumer struct {
	// MaxAttempts is how many times a handler is tried for one event before
	// the event goes to the dead-letter topic.
	MaxAttempts int `mapstructure:"max_attempts"`
	// RetryBackoff is the first pause between attempts, doubling up to
	// RetryBackoffMax.
	RetryBackoff    time.Duration `mapstructure:"retry_backoff"`
	RetryBackoffMax time.Duration `mapstructure:"retry_backoff_max"`
	// HandlerTimeout bounds one attempt (the handler and its transaction).
	HandlerTimeout time.Duration `mapstructure:"handler_timeout"`
	// MaxPollRecords bounds the records taken from Kafka per poll.
	MaxPollRecords int `mapstructure:"max_poll_records"`
	// BatchSize bounds the events of one partition applied in one database
	// transaction (one commit, one fsync, per batch).
	BatchSize int `mapstructure:"batch_size"`
	// ProcessedRetention is how long processed-event records (the dedupe
	// keys) are kept; it must stay well beyond the Kafka topics' retention,
	// since a redelivery older than it would be applied again.
	ProcessedRetention time.Duration `mapstructure:"processed_retention"`
}

// Partitions configures the partition manager.
type Partitions struct {
	MonthsAhead int `mapstructure:"months_ahead"`
}

// Data configures where `pvara dev` keeps its state.
type Data struct {
	Dir string `mapstructure:"dir"`
}

// DevEnv configures `pvara dev`.
type DevEnv struct {
	KafkaAddr string `mapstructure:"kafka_addr"`
}

// Shutdown configures graceful shutdown.
type Shutdown struct {
	// Delay is how long the process keeps serving after /readyz turned 503,
	// so load balancers stop sending before the listener closes.
	Delay time.Duration `mapstructure:"delay"`
	// Grace bounds how long in-flight requests and workers get to finish.
	Grace time.Duration `mapstructure:"grace"`
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{
		HTTP: HTTP{
			Addr:              ":8080",
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxBodyBytes:      1 << 20,
			PublicURL:         "http://localhost:8080",
		},
		Admin: Admin{Addr: ":9090"},
		Log:   Log{Level: "info"},
		Database: Database{
			Role:            "pvara_app",
			MaxConns:        32,
			MinConns:        2,
			MaxConnLifetime: time.Hour,
			MaxConnIdleTime: 10 * time.Minute,
			ConnectTimeout:  5 * time.Second,
			// StatementTimeout bounds every statement of the API; a runaway
			// query is cut instead of holding a connection.
			StatementTimeout: 30 * time.Second,
			QueryExecMode:    "cache_statement",
		},
		Redis: Redis{Prefix: "pvara:"},
		Kafka: Kafka{ClientID: "pvara", TopicPartitions: 6, ReplicationFactor: -1},
		Outbox: Outbox{
			Workers:        4,
			LanesPerClaim:  16,
			BatchPerLane:   128,
			PollMin:        5 * time.Millisecond,
			PollMax:        50 * time.Millisecond,
			ProduceTimeout: 10 * time.Second,
			Linger:         time.Millisecond,
			RetryMax:       5 * time.Second,
		},
		Consumer: Consumer{
			MaxAttempts:     5,
			RetryBackoff:    200 * time.Millisecond,
			RetryBackoffMax: 2 * time.Second,
			HandlerTimeout:  5 * time.Second,
			MaxPollRecords:  1000,
			BatchSize:       100,
			// Kafka's default retention is 7 days; keep dedupe keys 30.
			ProcessedRetention: 30 * 24 * time.Hour,
		},
		Partitions: Partitions{MonthsAhead: 3},
		Data:       Data{Dir: "./.pvara"},
		DevEnv:     DevEnv{KafkaAddr: "127.0.0.1:19092"},
		Shutdown:   Shutdown{Delay: 0, Grace: 25 * time.Second},
	}
}

// Error is a bad configuration value. Its message is one line that names the
// key (and its environment variable) and what it expects; it never repeats a
// secret value.
type Error struct {
	Key    string
	Expect string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid configuration: %s (%s): expected %s", e.Key, EnvName(e.Key), e.Expect)
}

// EnvName is the environment variable of a key.
func EnvName(key string) string {
	return "PVARA_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

var execModes = []string{"cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"}

// Validate checks every value and returns the first bad one as an *Error.
// Which values must be present depends on the command: Require lists them.
func (c *Config) Validate() error {
	checks := []struct {
		ok     bool
		key    string
		expect string
	}{
		{validAddr(c.HTTP.Addr), "http.addr", "a listen address host:port, e.g. :8080"},
		{validAddr(c.Admin.Addr), "admin.addr", "a listen address host:port, e.g. :9090"},
		{c.HTTP.ReadHeaderTimeout > 0, "http.read_header_timeout", "a positive duration, e.g. 5s"},
		{c.HTTP.ReadTimeout > 0, "http.read_timeout", "a positive duration, e.g. 30s"},
		{c.HTTP.WriteTimeout > 0, "http.write_timeout", "a positive duration, e.g. 60s"},
		{c.HTTP.IdleTimeout > 0, "http.idle_timeout", "a positive duration, e.g. 120s"},
		{c.HTTP.MaxBodyBytes >= 1024 && c.HTTP.MaxBodyBytes <= 64<<20, "http.max_body_bytes", "a byte count between 1024 and 67108864"},
		{validOrigins(c.HTTP.CORSOrigins), "http.cors_origins", "a comma-separated list of origins like https://portal.example.gov.pk, or *"},
		{validCIDRs(c.HTTP.TrustedProxies), "http.trusted_proxies", "a comma-separated list of IP addresses or CIDRs"},
		{validURL(c.HTTP.PublicURL, "http", "https"), "http.public_url", "an http(s) URL"},
		{slices.Contains([]string{"", "json", "text"}, c.Log.Format), "log.format", "json or text"},
		{slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level), "log.level", "debug, info, warn or error"},
		{c.Database.URL == "" || validURL(string(c.Database.URL), "postgres", "postgresql"), "database.url", "a postgres:// URL"},
		{c.Database.MigrateURL == "" || validURL(string(c.Database.MigrateURL), "postgres", "postgresql"), "database.migrate_url", "a postgres:// URL"},
		{c.Database.Role == "" || validIdent(c.Database.Role), "database.role", "a PostgreSQL role name (letters, digits, _), or empty"},
		{c.Database.MaxConns >= 1 && c.Database.MaxConns <= 1000, "database.max_conns", "a number between 1 and 1000"},
		{c.Database.MinConns >= 0 && c.Database.MinConns <= c.Database.MaxConns, "database.min_conns", "a number between 0 and database.max_conns"},
		{c.Database.MaxConnLifetime > 0, "database.max_conn_lifetime", "a positive duration"},
		{c.Database.MaxConnIdleTime > 0, "database.max_conn_idle_time", "a positive duration"},
		{c.Database.ConnectTimeout > 0, "database.connect_timeout", "a positive duration"},
		{c.Database.StatementTimeout >= 0, "database.statement_timeout", "a duration (0 disables)"},
		{slices.Contains(execModes, c.Database.QueryExecMode), "database.query_exec_mode", "one of " + strings.Join(execModes, ", ")},
		{c.Redis.URL == "" || validURL(string(c.Redis.URL), "redis", "rediss", "unix"), "redis.url", "a redis:// or rediss:// URL"},
		{validBrokers(c.Kafka.Brokers), "kafka.brokers", "a comma-separated list of host:port"},
		{c.Kafka.ClientID != "", "kafka.client_id", "a non-empty client id"},
		{slices.Contains([]string{"", "plain", "scram-sha-256", "scram-sha-512"}, strings.ToLower(c.Kafka.SASLMechanism)), "kafka.sasl_mechanism", "plain, scram-sha-256 or scram-sha-512"},
		{c.Kafka.SASLMechanism == "" || c.Kafka.SASLUsername != "", "kafka.sasl_username", "a user name when kafka.sasl_mechanism is set"},
		{!(c.Kafka.TLSCAFile != "" || c.Kafka.TLSCertFile != "") || c.Kafka.TLS, "kafka.tls", "true when kafka.tls_ca_file or kafka.tls_cert_file is set"},
		{(c.Kafka.TLSCertFile == "") == (c.Kafka.TLSKeyFile == ""), "kafka.tls_key_file", "a key file exactly when kafka.tls_cert_file is set"},
		{c.Kafka.SASLMechanism == "" || c.Kafka.SASLPassword != "", "kafka.sasl_password", "a password when kafka.sasl_mechanism is set"},
		{c.Kafka.TopicPartitions >= 1 && c.Kafka.TopicPartitions <= 1000, "kafka.topic_partitions", "a number between 1 and 1000"},
		{c.Kafka.ReplicationFactor == -1 || (c.Kafka.ReplicationFactor >= 1 && c.Kafka.ReplicationFactor <= 7), "kafka.replication_factor", "-1 (broker default) or a number between 1 and 7"},
		{c.Outbox.Workers >= 1 && c.Outbox.Workers <= 64, "outbox.workers", "a number between 1 and 64"},
		{c.Outbox.LanesPerClaim >= 1 && c.Outbox.LanesPerClaim <= 64, "outbox.lanes_per_claim", "a number between 1 and 64"},
		{c.Outbox.BatchPerLane >= 1 && c.Outbox.BatchPerLane <= 10000, "outbox.batch_per_lane", "a number between 1 and 10000"},
		{c.Outbox.PollMin > 0 && c.Outbox.PollMin <= c.Outbox.PollMax, "outbox.poll_min", "a positive duration not above outbox.poll_max"},
		{c.Outbox.PollMax > 0 && c.Outbox.PollMax <= 10*time.Second, "outbox.poll_max", "a duration between 1ms and 10s"},
		{c.Outbox.ProduceTimeout >= time.Second && c.Outbox.ProduceTimeout <= 5*time.Minute, "outbox.produce_timeout", "a duration between 1s and 5m"},
		{c.Outbox.Linger >= 0 && c.Outbox.Linger <= time.Second, "outbox.linger", "a duration between 0s and 1s"},
		{c.Outbox.RetryMax > 0 && c.Outbox.RetryMax <= 5*time.Minute, "outbox.retry_max", "a duration between 1ms and 5m"},
		{c.Consumer.MaxAttempts >= 1 && c.Consumer.MaxAttempts <= 100, "consumer.max_attempts", "a number between 1 and 100"},
		{c.Consumer.RetryBackoff > 0 && c.Consumer.RetryBackoff <= c.Consumer.RetryBackoffMax, "consumer.retry_backoff", "a positive duration not above consumer.retry_backoff_max"},
		{c.Consumer.RetryBackoffMax > 0 && c.Consumer.RetryBackoffMax <= time.Minute, "consumer.retry_backoff_max", "a duration between 1ms and 1m"},
		{c.Consumer.HandlerTimeout >= 100*time.Millisecond && c.Consumer.HandlerTimeout <= 5*time.Minute, "consumer.handler_timeout", "a duration between 100ms and 5m"},
		{c.Consumer.BatchSize >= 1 && c.Consumer.BatchSize <= 10000, "consumer.batch_size", "a number between 1 and 10000"},
		{c.Consumer.MaxPollRecords >= 1 && c.Consumer.MaxPollRecords <= 100000, "consumer.max_poll_records", "a number between 1 and 100000"},
		{c.Consumer.ProcessedRetention >= 24*time.Hour, "consumer.processed_retention", "a duration of at least 24h, well beyond the Kafka topics' retention"},
		{c.Partitions.MonthsAhead >= 1 && c.Partitions.MonthsAhead <= 24, "partitions.months_ahead", "a number of months between 1 and 24"},
		{c.Data.Dir != "", "data.dir", "a directory path"},
		{validAddr(c.DevEnv.KafkaAddr), "dev.kafka_addr", "a listen address host:port"},
		{c.Shutdown.Delay >= 0 && c.Shutdown.Delay <= 5*time.Minute, "shutdown.delay", "a duration between 0s and 5m"},
		{c.Shutdown.Grace > 0 && c.Shutdown.Grace <= 10*time.Minute, "shutdown.grace", "a duration between 1s and 10m"},
	}
	for _, ch := range checks {
		if !ch.ok {
			return &Error{Key: ch.key, Expect: ch.expect}
		}
	}
	return nil
}

// Require checks that the named keys have a value; commands call it for the
// dependencies they cannot run without.
func (c *Config) Require(keys ...string) error {
	for _, k := range keys {
		var empty bool
		switch k {
		case "database.url":
			empty = c.Database.URL == ""
		case "redis.url":
			empty = c.Redis.URL == ""
		case "kafka.brokers":
			empty = len(c.Kafka.Brokers) == 0
		default:
			return fmt.Errorf("config: Require does not know key %q", k)
		}
		if empty {
			return &Error{Key: k, Expect: "a value (this command needs it)"}
		}
	}
	return nil
}

// IsError reports whether err is a configuration error.
func IsError(err error) bool {
	var ce *Error
	return errors.As(err, &ce)
}

func validAddr(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || port == "" {
		return false
	}
	_ = host
	for _, r := range port {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func validURL(s string, schemes ...string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return slices.Contains(schemes, u.Scheme) && (u.Host != "" || u.Scheme == "unix" || u.Path != "")
}

func validOrigins(origins []string) bool {
	for _, o := range origins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return false
		}
	}
	return true
}

func validCIDRs(items []string) bool {
	for _, s := range items {
		if _, err := netip.ParsePrefix(s); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(s); err != nil {
			return false
		}
	}
	return true
}

func validBrokers(items []string) bool {
	for _, b := range items {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return false
		}
	}
	return true
}

func validIdent(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}
