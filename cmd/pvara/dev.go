package main

import (
	"github.com/spf13/cobra"
)

func newDevCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev [--reset]",
		Short: "Run everything in one process with embedded defaults (PostgreSQL, Kafka, Redis)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("pvara dev is not built yet")
		},
	}
	cmd.Flags().Bool("reset", false, "delete the data directory and start from scratch")
	return cmd
}
