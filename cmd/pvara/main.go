// Command pvara is the PVARA recruitment backend: one binary whose
// subcommand decides the role (serve, worker, migrate, dev, admin, audit).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pvara-gov/pvara/internal/platform/config"
)

// Exit codes, as documented in API.md.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is bad usage (unknown role, missing argument): exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "pvara:", err)
	var ue *usageError
	if config.IsError(err) || errors.As(err, &ue) || isCobraUsage(err) {
		return exitUsage
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	return exitFailure
}

// exitCodeError carries a specific exit code (e.g. audit verify's 1).
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

func isCobraUsage(err error) bool {
	var fe *flagError
	return errors.As(err, &fe)
}

// flagError wraps cobra's flag parsing errors so they exit 2.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "pvara",
		Short: "PVARA: the backend of the national recruitment portal",
		Long: `pvara is the whole PVARA backend in one binary. The subcommand picks the role:

  pvara dev                 everything in one process on a laptop, no set-up
  pvara migrate up          apply the schema migrations (a deploy step)
  pvara serve               the REST API, with /livez, /readyz and /metrics on the admin listener
  pvara worker --role=R     background consumers and maintenance
  pvara events ...          event types, test pings, dead-letter replay

Configuration comes from flags, then PVARA_* environment variables, then an
optional config file (--config or PVARA_CONFIG), then defaults. Exit codes:
0 success, 1 failure at run time, 2 bad usage or configuration.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q; run 'pvara --help' for the commands", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.PersistentFlags().String("config", "", "configuration file (YAML, JSON or TOML); also PVARA_CONFIG")
	root.PersistentFlags().String("log-format", "", "log format: json or text (default: text on a terminal, else json); PVARA_LOG_FORMAT")
	root.PersistentFlags().String("log-level", "", "log level: debug, info, warn, error; PVARA_LOG_LEVEL")
	bindFlag(root.PersistentFlags(), "log-format", "log.format")
	bindFlag(root.PersistentFlags(), "log-level", "log.level")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err: err} })
	root.AddCommand(
		newServeCmd(),
		newWorkerCmd(),
		newMigrateCmd(),
		newDevCmd(),
		newEventsCmd(),
		newVersionCmd(),
		newAdminCmd(),
		newAuditCmd(),
	)
	for _, c := range root.Commands() {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err: err} })
	}
	return root
}
