package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/pvara-gov/pvara/internal/platform/consumer"
	"github.com/pvara-gov/pvara/internal/platform/kafka"
	"github.com/pvara-gov/pvara/internal/platform/outbox"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

func newEventsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events types|ping|replay-dlq",
		Short: "Inspect and operate the event backbone (event types, test pings, dead-letter replay)",
		Long: `events operates the event backbone (docs/events.md):

  types        list the event types this binary publishes, with their topics
  ping         enqueue platform.test_ping events in the outbox, to check
               outbox → relay → Kafka → consumers end to end (needs
               PVARA_DATABASE_URL; a running outbox role relays them)
  replay-dlq   send the records of a dead-letter topic back to their topic
               once the cause is fixed (needs PVARA_KAFKA_BROKERS)`,
	}
	cmd.AddCommand(newEventsTypesCmd(), newEventsPingCmd(), newEventsReplayCmd())
	for _, c := range cmd.Commands() {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err: err} })
	}
	return cmd
}

func newEventsTypesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "types",
		Short: "List the declared event types and their topics",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "TYPE\tVERSION\tTOPIC\tPRODUCER\tSUBJECT (KEY)")
			for _, t := range eventTypes() {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\n", t.Type, t.Version, t.Topic(), t.Producer, t.Subject)
			}
			return w.Flush()
		},
	}
}

func newEventsPingCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ping [--subject S] [--note N] [--count N]",
		Short: "Enqueue platform.test_ping events in the outbox",
		Long: `ping writes --count platform.test_ping events to the outbox in one transaction,
exactly as a module writes its events, and prints their ids. With the outbox
role running they appear on topic pvara.platform.test_ping, e.g.

  kcat -b $PVARA_KAFKA_BROKERS -C -t pvara.platform.test_ping -e -J`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, false)
			if err != nil {
				return err
			}
			if err := cfg.Require("database.url"); err != nil {
				return err
			}
			subject, _ := cmd.Flags().GetString("subject")
			note, _ := cmd.Flags().GetString("note")
			count, _ := cmd.Flags().GetInt("count")
			if count < 1 || count > 100000 {
				return usagef("--count must be between 1 and 100000")
			}
			logger := newLogger(cfg.Log, cmd.ErrOrStderr())
			ctx := cmd.Context()
			pool, err := postgres.Open(ctx, postgres.Config{
				URL: cfg.Database.URL.Reveal(), Role: cfg.Database.Role, MaxConns: 2,
				ConnectTimeout: cfg.Database.ConnectTimeout, QueryExecMode: cfg.Database.QueryExecMode,
				ApplicationName: "pvara-events-ping",
			}, logger)
			if err != nil {
				return err
			}
			defer pool.Close()
			events := make([]outbox.Event, count)
			err = postgres.Tx(ctx, pool, func(tx pgx.Tx) error {
				for i := range events {
					events[i] = outbox.Event{ID: uuid.Must(uuid.NewV7()), Type: outbox.TypeTestPing, Version: 1, Subject: subject,
						Data: outbox.TestPing{Note: note, Seq: int64(i + 1)}}
					if err := outbox.EnqueueTx(ctx, tx, events[i]); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, e := range events {
				fmt.Fprintln(cmd.OutOrStdout(), e.ID)
			}
			return nil
		},
	}
	cmd.Flags().String("subject", "ping", "the subject (Kafka key) of the pings")
	cmd.Flags().String("note", "pvara events ping", "free text carried in each ping (no PII)")
	cmd.Flags().Int("count", 1, "how many pings to enqueue")
	return cmd
}

func newEventsReplayCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "replay-dlq --topic pvara.<type>.dlq [--dry-run] [--limit N]",
		Short: "Send dead letters back to their topic",
		Long: `replay-dlq reads a dead-letter topic and produces each record back to its
original topic with its key, value and headers (the dlq-* headers removed,
replayed-from added). The consumer group that gave up on an event applies it
now; groups that had applied it skip it (they recorded its id). Fix the cause
first, or the events come back to the dead-letter topic.

Progress is kept as the committed offsets of consumer group --group on the
dead-letter topic: a second run continues after the first. --dry-run lists
the records (event id, failing group, attempts, error) and sends nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			topic, _ := cmd.Flags().GetString("topic")
			if topic == "" {
				return usagef("--topic is required, e.g. pvara.applications.submitted.dlq")
			}
			dry, _ := cmd.Flags().GetBool("dry-run")
			limit, _ := cmd.Flags().GetInt("limit")
			group, _ := cmd.Flags().GetString("group")
			cfg, err := loadConfig(cmd, false)
			if err != nil {
				return err
			}
			kopts, err := kafka.ClientOptions(cfg.Kafka)
			if err != nil {
				return err
			}
			cl, err := kafka.NewClient(cfg.Kafka)
			if err != nil {
				return err
			}
			defer cl.Close()
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "PARTITION\tOFFSET\tEVENT\tTYPE\tGROUP\tATTEMPTS\tERROR\tTO")
			n, err := consumer.ReplayDLQ(cmd.Context(), cl, kopts, consumer.ReplayOptions{
				Topic: topic, Group: group, DryRun: dry, Limit: limit,
				Report: func(r consumer.ReplayedRecord) {
					fmt.Fprintf(w, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Partition, r.Offset, r.EventID, r.Type, r.Group, r.Attempts, r.Error, r.Target)
				},
			})
			_ = w.Flush()
			verb := "replayed"
			if dry {
				verb = "would replay"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %d record(s) from %s\n", verb, n, topic)
			return err
		},
	}
	cmd.Flags().String("topic", "", "the dead-letter topic, pvara.<type>.dlq")
	cmd.Flags().Bool("dry-run", false, "list the records; send nothing, record no progress")
	cmd.Flags().Int("limit", 0, "replay at most this many records (0: all)")
	cmd.Flags().String("group", consumer.DefaultReplayGroup, "consumer group that keeps the replay's progress")
	return cmd
}
