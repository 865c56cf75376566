package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pvara-gov/pvara/db"
	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/devenv"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

// devRedisURL is the Redis `pvara dev` uses when one answers there.
const devRedisURL = "redis://127.0.0.1:6379"

func newDevCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev [--reset]",
		Short: "Run everything in one process with embedded defaults (PostgreSQL, Kafka, Redis)",
		Long: `dev runs the whole system on a laptop with nothing to configure: the API and
every worker role in one process, on

  PostgreSQL  a private cluster made from the machine's own server programs
              (PATH, /usr/lib/postgresql/*/bin) in $PVARA_DATA_DIR/postgres,
              on a free port of 127.0.0.1 (unless PVARA_DATABASE_URL is set)
  Kafka       an in-process broker on PVARA_DEV_KAFKA_ADDR (default
              127.0.0.1:19092), its data in $PVARA_DATA_DIR/kafka (unless
              PVARA_KAFKA_BROKERS is set)
  Redis       redis://127.0.0.1:6379 when it answers, else an in-process
              stand-in that keeps nothing (unless PVARA_REDIS_URL is set)

It migrates, loads the demo data (printing the demo accounts), writes the URLs
to $PVARA_DATA_DIR/dev.env (read by the other pvara commands, and by your
shell with: set -a; . .pvara/dev.env; set +a) and serves until Ctrl-C, when it
stops everything it started. Later runs reuse the data directory (default
./.pvara) and start in seconds; --reset deletes it first.

The API listens on 127.0.0.1:8080 and the admin endpoints on 127.0.0.1:9090
unless PVARA_HTTP_ADDR / PVARA_ADMIN_ADDR say otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, true)
			if err != nil {
				return err
			}
			reset, _ := cmd.Flags().GetBool("reset")
			return runDev(cmd.Context(), cfg, devOptions{
				Reset:  reset,
				Out:    cmd.OutOrStdout(),
				Logger: newLogger(cfg.Log, cmd.ErrOrStderr()),
			})
		},
	}
	cmd.Flags().Bool("reset", false, "delete the data directory and start from scratch")
	cmd.Flags().String("data-dir", "", "where dev keeps its state (PVARA_DATA_DIR, default ./.pvara)")
	bindFlag(cmd.Flags(), "data-dir", "data.dir")
	addListenFlags(cmd)
	return cmd
}

// devOptions are runDev's inputs besides the configuration.
type devOptions struct {
	Reset  bool
	Out    io.Writer // the banner and demo credentials
	Logger *slog.Logger
	// RedisProbeURL is the Redis used when it answers (devRedisURL when
	// empty).
	RedisProbeURL string
	// PostgresSearchDirs overrides where PostgreSQL's programs are looked
	// for (devenv.DefaultSearchDirs when nil).
	PostgresSearchDirs []string
	// OnReady is told the API and admin addresses once both listen.
	OnReady func(api, admin string)
}

// runDev brings up the dev environment, migrates, seeds, writes dev.env and
// serves the API and every worker role until ctx ends; then it stops
// everything it started, in reverse order.
func runDev(ctx context.Context, cfg config.Config, o devOptions) (err error) {
	logger := o.Logger
	defer func() {
		// Ctrl-C during start-up is not a failure, whatever the step it
		// cut short reported: everything started has been stopped again
		// by the deferred calls below.
		if err != nil && ctx.Err() != nil {
			logger.Info("interrupted; stopped", "during", err.Error())
			err = nil
		}
	}()
	if o.RedisProbeURL == "" {
		o.RedisProbeURL = devRedisURL
	}
	dataDir, err := filepath.Abs(cfg.Data.Dir)
	if err != nil {
		return &config.Error{Key: "data.dir", Expect: "a directory path"}
	}
	cfg.Data.Dir = dataDir
	ignoreStaleDevEnv(&cfg, logger)
	// A laptop's dev server is for the laptop: listen on loopback unless
	// told otherwise.
	if cfg.HTTP.Addr == config.Defaults().HTTP.Addr {
		cfg.HTTP.Addr = "127.0.0.1" + cfg.HTTP.Addr
	}
	if cfg.Admin.Addr == config.Defaults().Admin.Addr {
		cfg.Admin.Addr = "127.0.0.1" + cfg.Admin.Addr
	}

	dc := devenv.Config{
		DataDir:            dataDir,
		Reset:              o.Reset,
		Postgres:           cfg.Database.URL == "",
		PostgresSearchDirs: o.PostgresSearchDirs,
		Logger:             logger,
	}
	if len(cfg.Kafka.Brokers) == 0 {
		dc.KafkaAddr = cfg.DevEnv.KafkaAddr
	}
	if cfg.Redis.URL == "" {
		dc.RedisURL = o.RedisProbeURL
	}
	env, err := devenv.Start(ctx, dc)
	if err != nil {
		var ae *devenv.AddrError
		if errors.As(err, &ae) {
			return &config.Error{Key: "dev.kafka_addr", Expect: "a free address to listen on (" + ae.Error() + ")"}
		}
		return err
	}
	defer env.Stop()
	if env.DatabaseURL != "" {
		cfg.Database.URL = config.Secret(env.DatabaseURL)
		cfg.Database.MigrateURL = ""
	}
	if env.Kafka != nil {
		cfg.Kafka.Brokers = env.KafkaBrokers
	}
	if env.RedisURL != "" {
		cfg.Redis.URL = config.Secret(env.RedisURL)
	}

	m, err := postgres.NewMigrator(migrateURL(cfg), db.Migrations, nil)
	if err != nil {
		return err
	}
	applied, err := m.Up(ctx)
	m.Close()
	if err != nil {
		return err
	}
	parts, err := ensurePartitions(ctx, cfg)
	if err != nil {
		return err
	}
	logger.Info("schema is current", "migrations_applied", len(applied), "partitions_created", parts)

	a, err := openApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	a.devOut = o.Out
	for _, seed := range a.devSeeds {
		if err := seed(ctx); err != nil {
			return fmt.Errorf("load demo data: %w", err)
		}
	}

	vars := [][2]string{
		{config.EnvName("database.url"), cfg.Database.URL.Reveal()},
		{config.EnvName("kafka.brokers"), strings.Join(cfg.Kafka.Brokers, ",")},
	}
	realRedis := !a.redis.Embedded()
	if realRedis {
		vars = append(vars, [2]string{config.EnvName("redis.url"), cfg.Redis.URL.Reveal()})
	}
	envFile := devenv.EnvFile(dataDir)
	if err := devenv.WriteEnvFile(envFile, vars); err != nil {
		return fmt.Errorf("write %s: %w", envFile, err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() {
		errc <- a.serve(runCtx, func(api, admin string) {
			printDevBanner(o.Out, devBanner{
				API: api, Admin: admin, Env: env, Kafka: cfg.Kafka.Brokers,
				RealRedis: realRedis, RedisURL: cfg.Redis.URL.Reveal(), EnvFile: envFile,
			})
			if o.OnReady != nil {
				o.OnReady(api, admin)
			}
		})
	}()
	go func() { errc <- a.runRoles(runCtx, knownRoles) }()
	// Whichever ends first (Ctrl-C ends both) stops the other.
	first := <-errc
	cancel()
	second := <-errc
	if err := errors.Join(first, second); err != nil {
		return err
	}
	logger.Info("dev stopped")
	return nil
}

// ignoreStaleDevEnv drops the URLs that equal those of the last dev.env: a
// shell that sourced it exports them, but they point at this very
// environment, which is not running until we start it.
func ignoreStaleDevEnv(cfg *config.Config, logger *slog.Logger) {
	prev, err := devenv.ReadEnvFile(devenv.EnvFile(cfg.Data.Dir))
	if err != nil || len(prev) == 0 {
		return
	}
	same := func(key, value string) bool {
		v, ok := prev[config.EnvName(key)]
		if ok && value != "" && v == value {
			logger.Debug("ignoring a value exported from dev.env; dev starts its own", "key", key)
			return true
		}
		return false
	}
	if same("database.url", cfg.Database.URL.Reveal()) {
		cfg.Database.URL = ""
	}
	if same("kafka.brokers", strings.Join(cfg.Kafka.Brokers, ",")) {
		cfg.Kafka.Brokers = nil
	}
	if same("redis.url", cfg.Redis.URL.Reveal()) {
		cfg.Redis.URL = ""
	}
}

type devBanner struct {
	API, Admin string
	Env        *devenv.Env
	Kafka      []string
	RealRedis  bool
	RedisURL   string
	EnvFile    string
}

func printDevBanner(w io.Writer, b devBanner) {
	api, admin := "http://"+browsable(b.API), "http://"+browsable(b.Admin)
	var s strings.Builder
	s.WriteString("\nPVARA is running (pvara dev). Ctrl-C stops everything.\n\n")
	fmt.Fprintf(&s, "  API         %s/v1   (OpenAPI: %s/v1/openapi.json)\n", api, api)
	fmt.Fprintf(&s, "  Admin       %s/readyz  /livez  /metrics  /debug/pprof/\n", admin)
	if b.Env.Cluster != nil {
		fmt.Fprintf(&s, "  PostgreSQL  %s   (private cluster in %s)\n", b.Env.DatabaseURL, b.Env.Cluster.Dir())
	} else {
		s.WriteString("  PostgreSQL  PVARA_DATABASE_URL\n")
	}
	if b.Env.Kafka != nil {
		fmt.Fprintf(&s, "  Kafka       %s   (in-process broker, data in %s)\n", strings.Join(b.Kafka, ","), filepath.Join(b.Env.DataDir, "kafka"))
	} else {
		fmt.Fprintf(&s, "  Kafka       %s\n", strings.Join(b.Kafka, ","))
	}
	if b.RealRedis {
		fmt.Fprintf(&s, "  Redis       %s\n", redactURL(b.RedisURL))
	} else {
		s.WriteString("  Redis       in-process stand-in (nothing kept; start redis-server on 6379 to use a real one)\n")
	}
	fmt.Fprintf(&s, "  dev.env     %s   (set -a; . %s; set +a — then psql \"$PVARA_DATABASE_URL\")\n\n", b.EnvFile, b.EnvFile)
	_, _ = io.WriteString(w, s.String())
}

// browsable turns a listen address into one a browser can open.
func browsable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// redactURL hides a password in a URL.
func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		if at := strings.LastIndex(s, "@"); at > i {
			if colon := strings.Index(s[i+3:at], ":"); colon >= 0 {
				return s[:i+3+colon+1] + "xxxxx" + s[at:]
			}
		}
	}
	return s
}

// devSecret returns size random bytes kept in $PVARA_DATA_DIR/secrets/<name>
// (0600), made on first use: development signing keys, encryption keys and
// cursor secrets that survive restarts. Only `pvara dev` may use it; every
// other command must be given its secrets.
func (a *app) devSecret(name string, size int) ([]byte, error) {
	if !a.cfg.Dev {
		return nil, fmt.Errorf("secret %q is not configured (only `pvara dev` makes secrets up)", name)
	}
	return devenv.Secret(filepath.Join(a.cfg.Data.Dir, "secrets"), name, size)
}
