package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pvara-gov/pvara/db"
	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

func newMigrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate up|down|status|wait",
		Short: "Apply, roll back, list or wait for the embedded schema migrations",
		Long: `migrate manages the schema with the migrations embedded in this binary. It runs
under a PostgreSQL advisory lock, so replicas may run it at once.

  up      apply every pending migration, then create partitions ahead
  down    roll back the newest migration (--to=N rolls back to version N)
  status  list every migration and whether it is applied
  wait    block until the schema is current (for init containers); --timeout

It connects with PVARA_DATABASE_MIGRATE_URL (the schema owner) when set, else
PVARA_DATABASE_URL.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"up", "down", "status", "wait"},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case "up", "down", "status", "wait":
			default:
				return usagef("unknown migrate action %q; valid: up, down, status, wait", args[0])
			}
			cfg, err := loadConfig(cmd, false)
			if err != nil {
				return err
			}
			if err := cfg.Require("database.url"); err != nil {
				return err
			}
			logger := newLogger(cfg.Log, cmd.ErrOrStderr())
			m, err := postgres.NewMigrator(migrateURL(cfg), db.Migrations, nil)
			if err != nil {
				return err
			}
			defer m.Close()
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			switch args[0] {
			case "up":
				applied, err := m.Up(ctx)
				for _, v := range applied {
					logger.Info("migration applied", "version", v)
				}
				if err != nil {
					return err
				}
				n, err := ensurePartitions(ctx, cfg)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "migrations applied: %d; partitions created: %d\n", len(applied), n)
			case "down":
				to, _ := cmd.Flags().GetInt64("to")
				if cmd.Flags().Changed("to") {
					if err := m.DownTo(ctx, to); err != nil {
						return err
					}
					fmt.Fprintf(out, "rolled back to version %d\n", to)
					return nil
				}
				v, err := m.Down(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "rolled back version %d\n", v)
			case "status":
				st, err := m.Status(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE")
				for _, s := range st {
					state, at := "pending", "-"
					if s.Applied {
						state, at = "applied", s.AppliedAt.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Version, state, at, s.Name)
				}
				return tw.Flush()
			case "wait":
				timeout, _ := cmd.Flags().GetDuration("timeout")
				wctx, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				if err := m.Wait(wctx, time.Second, logger); err != nil {
					return err
				}
				fmt.Fprintln(out, "schema is current")
			}
			return nil
		},
	}
	cmd.Flags().Int64("to", 0, "with down: roll back to this version (0 = everything)")
	cmd.Flags().Duration("timeout", 5*time.Minute, "with wait: give up after this long")
	return cmd
}

func migrateURL(cfg config.Config) string {
	if cfg.Database.MigrateURL != "" {
		return cfg.Database.MigrateURL.Reveal()
	}
	return cfg.Database.URL.Reveal()
}

// ensurePartitions creates partitions ahead as the schema owner.
func ensurePartitions(ctx context.Context, cfg config.Config) (int, error) {
	pool, err := postgres.Open(ctx, postgres.Config{URL: migrateURL(cfg), MaxConns: 2, ApplicationName: "pvara-migrate"}, nil)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	pm, err := postgres.NewPartitionManager(pool, postgres.PartitionConfig{MonthsAhead: cfg.Partitions.MonthsAhead})
	if err != nil {
		return 0, err
	}
	return pm.Ensure(ctx)
}
