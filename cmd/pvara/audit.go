package main

import (
	"encoding/hex"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pvara-gov/pvara/internal/platform/audit"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Audit log tools (verify the hash chain)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("audit needs a subcommand: verify")
		},
	}
	cmd.AddCommand(newAuditVerifyCmd())
	return cmd
}

func newAuditVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify [--anchor SEQ:HASH]...",
		Short: "Walk the audit hash chain: exit 0 with the count when intact, 1 naming the first bad entry",
		Long: `verify reads the whole audit chain in seq order from one consistent snapshot
(writers and the sealer may keep going), recomputes every hash, and checks
that every entry older than the sealed horizon is in the chain.

Intact: it prints the number of sealed entries, those still waiting for the
sealer, and the head as an anchor (SEQ:HASH), and exits 0.
Broken: it names the first altered, removed, inserted or reordered entry
(its id and seq) and exits 1.

A chain alone cannot show that its newest links were cut off, or that
someone with write access recomputed every hash after an edit. Give the
anchors recorded earlier (the sealer logs one every minute as
"audit chain head"; verify prints one) with --anchor to catch both.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, _ := cmd.Flags().GetStringArray("anchor")
			var anchors []audit.Anchor
			for _, s := range raw {
				a, err := audit.ParseAnchor(s)
				if err != nil {
					return usagef("--anchor: %v", err)
				}
				anchors = append(anchors, a)
			}
			cfg, err := loadConfig(cmd, false)
			if err != nil {
				return err
			}
			if err := cfg.Require("database.url"); err != nil {
				return err
			}
			logger := newLogger(cfg.Log, cmd.ErrOrStderr())
			pool, err := postgres.Open(cmd.Context(), postgres.Config{
				URL:             cfg.Database.URL.Reveal(),
				Role:            cfg.Database.Role,
				MaxConns:        2,
				ConnectTimeout:  cfg.Database.ConnectTimeout,
				QueryExecMode:   cfg.Database.QueryExecMode,
				ApplicationName: "pvara-audit-verify",
			}, logger)
			if err != nil {
				return err
			}
			defer pool.Close()
			rep, err := audit.Verify(cmd.Context(), pool, audit.VerifyOptions{Anchors: anchors})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !rep.OK() {
				fmt.Fprintf(out, "audit chain BROKEN: %d links verified before the first bad entry\n", rep.Sealed)
				return &exitCodeError{code: exitFailure, err: fmt.Errorf("audit chain broken: %w", rep.Problem)}
			}
			fmt.Fprintf(out, "audit chain intact: %d entries sealed, %d pending\n", rep.Sealed, rep.Pending)
			if rep.HeadSeq > 0 {
				fmt.Fprintf(out, "anchor: %d:%s\n", rep.HeadSeq, hex.EncodeToString(rep.HeadHash))
			}
			return nil
		},
	}
	cmd.Flags().StringArray("anchor", nil, "a head recorded earlier, SEQ:HASH (repeatable)")
	return cmd
}
