// Package config holds the typed configuration of every pvara command and its
// validation. Loading (flags, PVARA_* environment, config file, defaults) is
// done by cmd/pvara with viper; this package knows nothing about where values
// come from, only what they must look like.
package config

import (
	"errors"
	"fmt"
	"log/slog"
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
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

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
	Auth       Auth       `mapstructure:"auth"`
	Crypto     Crypto     `mapstructure:"crypto"`
	Jobs       Jobs       `mapstructure:"jobs"`
	Apps       Apps       `mapstructure:"applications"`
	Screening  Screening  `mapstructure:"screening"`
	Audit      Audit      `mapstructure:"audit"`
	RateLimit  RateLimit  `mapstructure:"ratelimit"`
}

// Apps configures the applications module.
type Apps struct {
	// MetricsRefreshInterval is how often the maintenance role refreshes
	// the application_metrics view behind GET /v1/jobs/{job_id}/metrics:
	// the figures are at most this old.
	MetricsRefreshInterval time.Duration `mapstructure:"metrics_refresh_interval"`
	// SearchGenericShapes is how many distinct staff-search filter combinations run on a cached generic plan (about
	// 290 kB of PostgreSQL memory each, in every connection that ran it); later ones are planned per request.
	SearchGenericShapes int `mapstructure:"search_generic_shapes"`
}

// Screening configures the screening module's worker role (the consumer
// batch of first scoring is consumer.batch_size).
type Screening struct {
	// CorpusRefresh is how often the screening role rebuilds the
	// text-relevance corpus from the published and closed jobs (a job keeps
	// the corpus of its first score until it is re-screened).
	CorpusRefresh time.Duration `mapstructure:"corpus_refresh"`
	// CorpusMaxJobs is the most jobs the corpus holds, newest first.
	CorpusMaxJobs int `mapstructure:"corpus_max_jobs"`
	// RescreenBatch is how many applications one re-screening transaction
	// reads, scores and writes.
	RescreenBatch int `mapstructure:"rescreen_batch"`
	// RescreenLease is how long a claimed re-screening run stays a worker's
	// without progress before another worker takes it over; it must exceed
	// the time of one batch.
	RescreenLease time.Duration `mapstructure:"rescreen_lease"`
	// RescreenPoll is how often an idle worker looks for queued re-screening
	// runs.
	RescreenPoll time.Duration `mapstructure:"rescreen_poll"`
	// RescreenMaxAttempts is how many claims a re-screening run gets before
	// it is marked failed.
	RescreenMaxAttempts int `mapstructure:"rescreen_max_attempts"`
	// RankingTTL is how long a job's ranking lives in Redis after it was
	// rebuilt; the next read then rebuilds it from PostgreSQL, which also
	// repairs an update lost between a commit and Redis.
	RankingTTL time.Duration `mapstructure:"ranking_ttl"`
}

// Jobs configures the jobs module.
type Jobs struct {
	// CacheTTL is the longest a cached job-board page lives in Redis; every
	// change to a job invalidates all pages at once, and a page never
	// outlives the earliest deadline it shows. 0 disables the cache.
	CacheTTL time.Duration `mapstructure:"cache_ttl"`
	// LocalCacheTTL is how long a replica keeps a board page in memory in
	// front of Redis: the longest another replica's change takes to show
	// on this one. 0 disables it.
	LocalCacheTTL time.Duration `mapstructure:"local_cache_ttl"`
	// CloseEvery is how often the maintenance role closes jobs past their
	// deadline (reads treat them as closed at once regardless).
	CloseEvery time.Duration `mapstructure:"close_every"`
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
	// WritesInFlight bounds the write requests (POST, PUT, PATCH, DELETE) a replica serves at once; 0 turns
	// admission control of writes off (docs/operations.md, "Overload").
	WritesInFlight int `mapstructure:"writes_in_flight"`
	// WritesQueue is how many more write requests may wait for a slot; beyond it, 503 overloaded at once.
	WritesQueue int `mapstructure:"writes_queue"`
	// WritesQueueWait is the longest a write request waits for a slot before 503 overloaded (with Retry-After).
	WritesQueueWait time.Duration `mapstructure:"writes_queue_wait"`
	// ReadsInFlight bounds the read requests (GET, HEAD) a replica serves at once, a budget separate from the
	// writes' so that a flood of one does not refuse the other; 0 turns it off.
	ReadsInFlight int `mapstructure:"reads_in_flight"`
	// ReadsQueue is how many more read requests may wait for a slot; beyond it, 503 overloaded at once.
	ReadsQueue int `mapstructure:"reads_queue"`
	// ReadsQueueWait is the longest a read request waits for a slot before 503 overloaded (with Retry-After).
	ReadsQueueWait time.Duration `mapstructure:"reads_queue_wait"`
	// TrustedProxies are the CIDRs whose X-Forwarded-For / Forwarded headers
	// are believed when working out the client IP.
	TrustedProxies []string `mapstructure:"trusted_proxies"`
	// PublicURL is the externally visible base URL, used as the JWT issuer
	// and in links.
	PublicURL string `mapstructure:"public_url"`
	// CursorSecret keys the HMAC of list cursors (at least 16 bytes); every
	// replica must share it. Required outside `pvara dev`, which generates
	// its own.
	CursorSecret Secret `mapstructure:"cursor_secret"`
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

// Auth configures the identity module: tokens, passwords, login defence.
type Auth struct {
	// Issuer is the JWT iss; empty means http.public_url.
	Issuer string `mapstructure:"issuer"`
	// Audience is the JWT aud every access token carries and requires.
	Audience string `mapstructure:"audience"`
	// SigningKeys are the Ed25519 access-token keys, comma-separated
	// "kid:base64(32-byte seed)", newest first: the first signs, all verify
	// (and are published in the JWKS), so a key rotates without logging
	// anyone out. Required outside `pvara dev`, which generates its own.
	SigningKeys Secret `mapstructure:"signing_keys"`
	// AccessTTL is the access-token lifetime.
	AccessTTL time.Duration `mapstructure:"access_ttl"`
	// RefreshIdleTTL ends a session unused for this long.
	RefreshIdleTTL time.Duration `mapstructure:"refresh_idle_ttl"`
	// RefreshAbsoluteTTL ends every session this long after login.
	RefreshAbsoluteTTL time.Duration `mapstructure:"refresh_absolute_ttl"`
	// RefreshReuseGrace, when positive, treats a second use of a refresh
	// token within this long of its first use as a benign race (401
	// refresh_race, the session survives) instead of reuse (the session is
	// revoked). 0, the default, treats every second use as reuse.
	RefreshReuseGrace time.Duration `mapstructure:"refresh_reuse_grace"`
	// PasswordMinLength is the minimum password length in characters (NIST
	// SP 800-63B-4: 15 for single-factor authentication).
	PasswordMinLength int `mapstructure:"password_min_length"`
	// PasswordMaxLength caps passwords (at least 64).
	PasswordMaxLength int `mapstructure:"password_max_length"`
	// Argon2 parameters of new hashes (OWASP: 19 MiB, 2 iterations, 1 lane).
	Argon2MemoryKiB   int `mapstructure:"argon2_memory_kib"`
	Argon2Iterations  int `mapstructure:"argon2_iterations"`
	Argon2Parallelism int `mapstructure:"argon2_parallelism"`
	// HashConcurrency bounds concurrent password hashes (0: one per CPU).
	HashConcurrency int `mapstructure:"hash_concurrency"`
	// HashQueue is how many requests may wait for a hashing slot; beyond it
	// login and registration are refused at once with 503 + Retry-After.
	// Keep it small (about twice the slots): a queued request waits about
	// HashQueue/slots hash times, and refusals must stay instant.
	HashQueue int `mapstructure:"hash_queue"`
	// HashQueueWait bounds the wait of a queued request (a safety net: with
	// a short queue it is reached only when hashing itself slows down).
	HashQueueWait time.Duration `mapstructure:"hash_queue_wait"`
	// UserCacheTTL is how long a replica trusts its cached "is this
	// account (or API client) still enabled" answer; a disable takes effect
	// on other replicas within it.
	UserCacheTTL time.Duration `mapstructure:"user_cache_ttl"`
	// Login throttling: consecutive failures per account and client IP,
	// per account, and per IP before the attempts slow down (exponential
	// back-off from 1 s, capped at LoginMaxBlock). Counters are forgotten
	// after LoginFailureWindow without failures.
	LoginAccountIPFailures int           `mapstructure:"login_account_ip_failures"`
	LoginAccountFailures   int           `mapstructure:"login_account_failures"`
	LoginIPFailures        int           `mapstructure:"login_ip_failures"`
	LoginFailureWindow     time.Duration `mapstructure:"login_failure_window"`
	LoginMaxBlock          time.Duration `mapstructure:"login_max_block"`
	// RegisterIPLimit registrations per RegisterIPWindow from one client IP.
	RegisterIPLimit  int           `mapstructure:"register_ip_limit"`
	RegisterIPWindow time.Duration `mapstructure:"register_ip_window"`
}

// Crypto configures field encryption (internal/platform/fieldcrypt).
type Crypto struct {
	// FieldKeys are the AES-256 keys of encrypted columns, comma-separated
	// "kid:base64(32 bytes)", newest first: the first encrypts, all decrypt.
	// Required outside `pvara dev`, which generates its own.
	FieldKeys Secret `mapstructure:"field_keys"`
	// BlindIndexKey is the HMAC-SHA256 key of blind indexes (base64, at
	// least 32 bytes). It cannot rotate without re-indexing.
	BlindIndexKey Secret `mapstructure:"blind_index_key"`
}

// Audit configures the audit log's sealer (run by the maintenance role).
type Audit struct {
	// SealInterval is how often new entries are linked into the hash chain.
	SealInterval time.Duration `mapstructure:"seal_interval"`
	// SealBatch is the most entries linked per transaction.
	SealBatch int `mapstructure:"seal_batch"`
}

// RateLimit configures the per-caller request limit of the API: Requests
// per Window for each user (each client IP for anonymous calls), shared by
// every replica through Redis.
type RateLimit struct {
	// Enabled turns the limiter on (false: no limit, a warning at start).
	Enabled bool `mapstructure:"enabled"`
	// Requests per Window for each caller (user, API client, or client IP).
	Requests int `mapstructure:"requests"`
	// Window is the period Requests apply to, in whole seconds.
	Window time.Duration `mapstructure:"window"`
	// AuthPaths are request paths (login, registration, token endpoints)
	// with their own bucket, AuthRequests per AuthWindow, that always fail
	// closed.
	AuthPaths []string `mapstructure:"auth_paths"`
	// AuthRequests per AuthWindow for each caller on AuthPaths.
	AuthRequests int `mapstructure:"auth_requests"`
	// AuthWindow is the period AuthRequests apply to, in whole seconds.
	AuthWindow time.Duration `mapstructure:"auth_window"`
	// FailOpen lets the rest of the API through, unlimited, while Redis
	// cannot be asked (with a warning and a metric); false refuses with 503.
	FailOpen bool `mapstructure:"fail_open"`
	// Timeout bounds the Redis call of one request.
	Timeout time.Duration `mapstructure:"timeout"`
	// LocalBatch is the most cells (requests) one Redis call reserves for a busy caller, spent on this replica
	// without asking Redis again (0 or 1: off, one Redis call per request); a policy batches at most 1/64 of
	// its limit. Reserved cells count against the shared limit when taken, so the limit is never exceeded.
	LocalBatch int `mapstructure:"local_batch"`
	// LocalTTL is how long reserved cells may be spent; leftovers are lost (the limit is only stricter).
	LocalTTL time.Duration `mapstructure:"local_ttl"`
	// LocalSubjects bounds the callers each policy tracks for the local batch on a replica; beyond it, callers
	// are limited one Redis call per request.
	LocalSubjects int `mapstructure:"local_subjects"`
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
			// Twice database.max_conns: the pool stays busy while at most
			// as many again wait for it.
			WritesInFlight:  64,
			WritesQueue:     128,
			WritesQueueWait: 50 * time.Millisecond,
			ReadsInFlight:   256,
			ReadsQueue:      512,
			ReadsQueueWait:  50 * time.Millisecond,
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
		Auth: Auth{
			Audience:               "pvara-api",
			AccessTTL:              15 * time.Minute,
			RefreshIdleTTL:         7 * 24 * time.Hour,
			RefreshAbsoluteTTL:     30 * 24 * time.Hour,
			PasswordMinLength:      15,
			PasswordMaxLength:      256,
			Argon2MemoryKiB:        19 * 1024,
			Argon2Iterations:       2,
			Argon2Parallelism:      1,
			HashQueue:              4,
			HashQueueWait:          500 * time.Millisecond,
			UserCacheTTL:           5 * time.Second,
			LoginAccountIPFailures: 5,
			LoginAccountFailures:   20,
			LoginIPFailures:        100,
			LoginFailureWindow:     15 * time.Minute,
			LoginMaxBlock:          15 * time.Minute,
			RegisterIPLimit:        100,
			RegisterIPWindow:       time.Hour,
		},
		Jobs: Jobs{CacheTTL: 5 * time.Minute, LocalCacheTTL: 500 * time.Millisecond, CloseEvery: time.Minute},
		Apps: Apps{MetricsRefreshInterval: 5 * time.Minute, SearchGenericShapes: 32},
		Screening: Screening{
			CorpusRefresh: time.Hour, CorpusMaxJobs: 20000, RescreenBatch: 1000, RescreenLease: 30 * time.Second,
			RescreenPoll: time.Second, RescreenMaxAttempts: 5, RankingTTL: time.Hour,
		},
		Audit: Audit{SealInterval: 250 * time.Millisecond, SealBatch: 1000},
		RateLimit: RateLimit{
			Enabled:       true,
			Requests:      1000,
			Window:        time.Minute,
			AuthPaths:     []string{"/v1/auth/login", "/v1/auth/register", "/v1/auth/refresh", "/oauth2/token"},
			AuthRequests:  300,
			AuthWindow:    time.Minute,
			FailOpen:      true,
			Timeout:       100 * time.Millisecond,
			LocalBatch:    16,
			LocalTTL:      250 * time.Millisecond,
			LocalSubjects: 10_000,
		},
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
		{c.HTTP.WritesInFlight >= 0 && c.HTTP.WritesInFlight <= 100_000, "http.writes_in_flight", "a number between 0 (off) and 100000"},
		{c.HTTP.WritesQueue >= 0 && c.HTTP.WritesQueue <= 1_000_000, "http.writes_queue", "a number between 0 and 1000000"},
		{c.HTTP.WritesQueueWait >= 0 && c.HTTP.WritesQueueWait <= time.Minute, "http.writes_queue_wait", "a duration between 0 and 1m, e.g. 50ms"},
		{c.HTTP.ReadsInFlight >= 0 && c.HTTP.ReadsInFlight <= 100_000, "http.reads_in_flight", "a number between 0 (off) and 100000"},
		{c.HTTP.ReadsQueue >= 0 && c.HTTP.ReadsQueue <= 1_000_000, "http.reads_queue", "a number between 0 and 1000000"},
		{c.HTTP.ReadsQueueWait >= 0 && c.HTTP.ReadsQueueWait <= time.Minute, "http.reads_queue_wait", "a duration between 0 and 1m, e.g. 50ms"},
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
		{c.Auth.Issuer == "" || validURL(c.Auth.Issuer, "http", "https"), "auth.issuer", "an http(s) URL, or empty for http.public_url"},
		{c.Auth.Audience != "", "auth.audience", "a non-empty audience name"},
		{c.Auth.AccessTTL >= time.Minute && c.Auth.AccessTTL <= time.Hour, "auth.access_ttl", "a duration between 1m and 1h"},
		{c.Auth.RefreshIdleTTL >= 5*time.Minute && c.Auth.RefreshIdleTTL <= c.Auth.RefreshAbsoluteTTL, "auth.refresh_idle_ttl", "a duration of at least 5m and at most auth.refresh_absolute_ttl"},
		{c.Auth.RefreshAbsoluteTTL <= 365*24*time.Hour, "auth.refresh_absolute_ttl", "a duration of at most 8760h"},
		{c.Auth.RefreshReuseGrace >= 0 && c.Auth.RefreshReuseGrace <= time.Minute, "auth.refresh_reuse_grace", "a duration between 0s and 1m"},
		{c.Auth.PasswordMinLength >= 8 && c.Auth.PasswordMinLength <= 64, "auth.password_min_length", "a number between 8 and 64"},
		{c.Auth.PasswordMaxLength >= 64 && c.Auth.PasswordMaxLength <= 1024 && c.Auth.PasswordMaxLength >= c.Auth.PasswordMinLength, "auth.password_max_length", "a number between 64 and 1024"},
		{c.Auth.Argon2MemoryKiB >= 8 && c.Auth.Argon2MemoryKiB <= 1<<21, "auth.argon2_memory_kib", "a memory size in KiB between 8 and 2097152 (OWASP: 19456)"},
		{c.Auth.Argon2Iterations >= 1 && c.Auth.Argon2Iterations <= 64, "auth.argon2_iterations", "a number between 1 and 64 (OWASP: 2)"},
		{c.Auth.Argon2Parallelism >= 1 && c.Auth.Argon2Parallelism <= 64, "auth.argon2_parallelism", "a number between 1 and 64 (OWASP: 1)"},
		{c.Auth.HashConcurrency >= 0 && c.Auth.HashConcurrency <= 1024, "auth.hash_concurrency", "a number between 0 (one per CPU) and 1024"},
		{c.Auth.HashQueue >= 0 && c.Auth.HashQueue <= 100000, "auth.hash_queue", "a number between 0 and 100000"},
		{c.Auth.HashQueueWait >= 0 && c.Auth.HashQueueWait <= 10*time.Second, "auth.hash_queue_wait", "a duration between 0s and 10s"},
		{c.Auth.UserCacheTTL >= 0 && c.Auth.UserCacheTTL <= 5*time.Minute, "auth.user_cache_ttl", "a duration between 0s and 5m"},
		{c.Auth.LoginAccountIPFailures >= 1, "auth.login_account_ip_failures", "a positive number"},
		{c.Auth.LoginAccountFailures >= 1 && c.Auth.LoginAccountFailures <= 100, "auth.login_account_failures", "a number between 1 and 100 (NIST: at most 100)"},
		{c.Auth.LoginIPFailures >= 1, "auth.login_ip_failures", "a positive number"},
		{c.Auth.LoginFailureWindow >= time.Minute, "auth.login_failure_window", "a duration of at least 1m"},
		{c.Auth.LoginMaxBlock >= time.Second && c.Auth.LoginMaxBlock <= 24*time.Hour, "auth.login_max_block", "a duration between 1s and 24h"},
		{c.Auth.RegisterIPLimit >= 1, "auth.register_ip_limit", "a positive number"},
		{c.Auth.RegisterIPWindow >= time.Second, "auth.register_ip_window", "a positive duration"},
		{c.HTTP.CursorSecret == "" || len(c.HTTP.CursorSecret) >= 16, "http.cursor_secret", "a secret of at least 16 characters"},
		{c.Jobs.CacheTTL >= 0 && c.Jobs.CacheTTL <= time.Hour, "jobs.cache_ttl", "a duration between 0s (off) and 1h"},
		{c.Jobs.LocalCacheTTL >= 0 && c.Jobs.LocalCacheTTL <= time.Second, "jobs.local_cache_ttl", "a duration between 0s (off) and 1s"},
		{c.Apps.MetricsRefreshInterval >= time.Second && c.Apps.MetricsRefreshInterval <= 24*time.Hour, "applications.metrics_refresh_interval", "a duration between 1s and 24h"},
		{c.Apps.SearchGenericShapes >= 0 && c.Apps.SearchGenericShapes <= 1024, "applications.search_generic_shapes", "a number between 0 (every search planned per request) and 1024"},
		{c.Jobs.CloseEvery >= time.Second && c.Jobs.CloseEvery <= time.Hour, "jobs.close_every", "a duration between 1s and 1h"},
		{c.Screening.CorpusRefresh >= time.Minute && c.Screening.CorpusRefresh <= 24*time.Hour, "screening.corpus_refresh", "a duration between 1m and 24h"},
		{c.Screening.CorpusMaxJobs >= 1 && c.Screening.CorpusMaxJobs <= 1_000_000, "screening.corpus_max_jobs", "a number between 1 and 1000000"},
		{c.Screening.RescreenBatch >= 1 && c.Screening.RescreenBatch <= 10000, "screening.rescreen_batch", "a number between 1 and 10000"},
		{c.Screening.RescreenLease >= time.Second && c.Screening.RescreenLease <= time.Hour, "screening.rescreen_lease", "a duration between 1s and 1h"},
		{c.Screening.RescreenPoll >= 10*time.Millisecond && c.Screening.RescreenPoll <= time.Minute, "screening.rescreen_poll", "a duration between 10ms and 1m"},
		{c.Screening.RescreenMaxAttempts >= 1 && c.Screening.RescreenMaxAttempts <= 100, "screening.rescreen_max_attempts", "a number between 1 and 100"},
		{c.Screening.RankingTTL >= time.Minute && c.Screening.RankingTTL <= 24*time.Hour, "screening.ranking_ttl", "a duration between 1m and 24h"},
		{c.Audit.SealInterval >= 10*time.Millisecond && c.Audit.SealInterval <= time.Minute, "audit.seal_interval", "a duration between 10ms and 1m"},
		{c.Audit.SealBatch >= 1 && c.Audit.SealBatch <= 100000, "audit.seal_batch", "a number between 1 and 100000"},
		{c.RateLimit.Requests >= 1 && c.RateLimit.Requests <= 10_000_000, "ratelimit.requests", "a number of requests between 1 and 10000000"},
		{validWindow(c.RateLimit.Window, c.RateLimit.Requests), "ratelimit.window", "whole seconds between 1s and 24h, e.g. 1m"},
		{c.RateLimit.AuthRequests >= 1 && c.RateLimit.AuthRequests <= 10_000_000, "ratelimit.auth_requests", "a number of requests between 1 and 10000000"},
		{validWindow(c.RateLimit.AuthWindow, c.RateLimit.AuthRequests), "ratelimit.auth_window", "whole seconds between 1s and 24h, e.g. 1m"},
		{validPaths(c.RateLimit.AuthPaths), "ratelimit.auth_paths", "a comma-separated list of request paths starting with /"},
		{c.RateLimit.Timeout >= time.Millisecond && c.RateLimit.Timeout <= 5*time.Second, "ratelimit.timeout", "a duration between 1ms and 5s"},
		{c.RateLimit.LocalBatch >= 0 && c.RateLimit.LocalBatch <= 1000, "ratelimit.local_batch", "a number of requests between 0 (off) and 1000"},
		{c.RateLimit.LocalTTL >= 10*time.Millisecond && c.RateLimit.LocalTTL <= time.Second, "ratelimit.local_ttl", "a duration between 10ms and 1s"},
		{c.RateLimit.LocalSubjects >= 100 && c.RateLimit.LocalSubjects <= 1_000_000, "ratelimit.local_subjects", "a number between 100 and 1000000"},
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

// validWindow: whole seconds (the headers count in seconds), at most a
// day, and at least a microsecond per request.
func validWindow(w time.Duration, requests int) bool {
	return w >= time.Second && w <= 24*time.Hour && w%time.Second == 0 &&
		requests >= 1 && w/time.Duration(requests) >= time.Microsecond
}

func validPaths(paths []string) bool {
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " ?#") {
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
