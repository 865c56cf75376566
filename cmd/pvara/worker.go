package main

import (
	"strings"

	"github.com/spf13/cobra"
)

func newWorkerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker --role=ROLE[,ROLE...]",
		Short: "Run background roles (" + strings.Join(knownRoles, ", ") + ", or all)",
		Long: `worker runs background roles until SIGTERM; /livez, /readyz and /metrics are
served on PVARA_ADMIN_ADDR. Roles:

  maintenance   partitions ahead, and the housekeeping of every module
  outbox        the outbox relay: committed events to Kafka (PVARA_KAFKA_BROKERS)
  all           every role in one process

An unknown role exits 2 and names the valid ones.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			requested, _ := cmd.Flags().GetStringSlice("role")
			roles, err := selectRoles(requested)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd, false)
			if err != nil {
				return err
			}
			if err := cfg.Require("database.url", "redis.url"); err != nil {
				return err
			}
			if needsKafka(roles) {
				if err := cfg.Require("kafka.brokers"); err != nil {
					return err
				}
			}
			logger := newLogger(cfg.Log, cmd.ErrOrStderr())
			a, err := openApp(cmd.Context(), cfg, logger)
			if err != nil {
				return err
			}
			defer a.Close()
			return a.runWorkers(cmd.Context(), roles)
		},
	}
	cmd.Flags().StringSlice("role", nil, "roles to run, comma-separated: "+strings.Join(knownRoles, ", ")+", or all")
	cmd.Flags().String("admin-addr", "", "admin listen address (PVARA_ADMIN_ADDR, default :9090)")
	bindFlag(cmd.Flags(), "admin-addr", "admin.addr")
	return cmd
}
