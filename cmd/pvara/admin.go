package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pvara-gov/pvara/internal/auth"
	"github.com/pvara-gov/pvara/internal/platform/apperr"
	"github.com/pvara-gov/pvara/internal/platform/postgres"
)

func newAdminCmd() *cobra.Command {
	admin := &cobra.Command{
		Use:   "admin",
		Short: "Administrative tasks (create the first platform admin)",
		Args:  cobra.NoArgs,
	}
	create := &cobra.Command{
		Use:   "create --email E --password P --full-name N",
		Short: "Create a platform admin, or leave an existing one alone (exit 0 either way)",
		Long: `admin create creates a platform_admin account. When an account with the
e-mail already exists as a platform admin it is left unchanged (its password
is neither checked nor changed) and the command still exits 0, so it can run
in every deploy. An e-mail that belongs to another kind of account exits 1.
The password must meet the password policy (auth.password_min_length
characters, default 15, not a common password). It needs PVARA_DATABASE_URL
only (no Redis, no keys).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			email, _ := cmd.Flags().GetString("email")
			password, _ := cmd.Flags().GetString("password")
			fullName, _ := cmd.Flags().GetString("full-name")
			var missing []string
			for name, v := range map[string]string{"--email": email, "--password": password, "--full-name": fullName} {
				if strings.TrimSpace(v) == "" {
					missing = append(missing, name)
				}
			}
			if len(missing) > 0 {
				return usagef("admin create needs --email, --password and --full-name")
			}
			cfg, err := loadConfig(cmd, false)
			if err != nil {
				return err
			}
			if err := cfg.Require("database.url"); err != nil {
				return err
			}
			logger := newLogger(cfg.Log, cmd.ErrOrStderr())
			ctx := cmd.Context()
			pool, err := postgres.Open(ctx, postgres.Config{
				URL: cfg.Database.URL.Reveal(), Role: cfg.Database.Role, MaxConns: 2,
				ConnectTimeout: cfg.Database.ConnectTimeout, QueryExecMode: cfg.Database.QueryExecMode,
				ApplicationName: "pvara-admin",
			}, logger)
			if err != nil {
				return err
			}
			defer pool.Close()
			id, created, err := auth.CreatePlatformAdmin(ctx, auth.AdminDeps{
				DB: pool, Hash: hashConfig(cfg.Auth), Logger: logger,
				PasswordMinLength: cfg.Auth.PasswordMinLength, PasswordMaxLength: cfg.Auth.PasswordMaxLength,
			}, auth.AdminInput{Email: email, Password: password, FullName: fullName})
			if ae, ok := apperr.As(err); ok && ae.Kind == apperr.KindInvalid {
				var msgs []string
				for _, f := range ae.Fields {
					msgs = append(msgs, strings.TrimPrefix(f.Location, "body.")+": "+f.Message)
				}
				return usagef("admin create: %s", strings.Join(msgs, "; "))
			}
			if errors.Is(err, auth.ErrAccountExists) {
				return fmt.Errorf("admin create: %s already belongs to an account that is not a platform admin", auth.NormalizeEmail(email))
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if created {
				fmt.Fprintf(out, "created platform admin %s (id %s)\n", auth.NormalizeEmail(email), id)
			} else {
				fmt.Fprintf(out, "platform admin %s already exists (id %s); left unchanged\n", auth.NormalizeEmail(email), id)
			}
			return nil
		},
	}
	create.Flags().String("email", "", "the admin's e-mail address")
	create.Flags().String("password", "", "the admin's password (at least auth.password_min_length characters)")
	create.Flags().String("full-name", "", "the admin's full name")
	create.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err: err} })
	admin.AddCommand(create)
	return admin
}
