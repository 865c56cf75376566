package main

import (
	"context"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/pvara-gov/pvara/internal/platform/config"
	"github.com/pvara-gov/pvara/internal/platform/httpx"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the REST API (and /livez, /readyz, /metrics on the admin listener)",
		Long: `serve runs the public REST API under /v1 on PVARA_HTTP_ADDR and the operator
endpoints (/livez, /readyz, /metrics, /debug/pprof) on PVARA_ADMIN_ADDR.

It needs PVARA_DATABASE_URL and PVARA_REDIS_URL (Kafka is not needed to accept
writes: events wait in the outbox). On SIGTERM /readyz turns 503, the listener
stops after PVARA_SHUTDOWN_DELAY, and in-flight requests get PVARA_SHUTDOWN_GRACE
to finish.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, false)
			if err != nil {
				return err
			}
			if err := cfg.Require("database.url", "redis.url"); err != nil {
				return err
			}
			logger := newLogger(cfg.Log, cmd.ErrOrStderr())
			a, err := openApp(cmd.Context(), cfg, logger)
			if err != nil {
				return err
			}
			defer a.Close()
			return a.serve(cmd.Context(), nil)
		},
	}
	addListenFlags(cmd)
	return cmd
}

func addListenFlags(cmd *cobra.Command) {
	cmd.Flags().String("http-addr", "", "API listen address (PVARA_HTTP_ADDR, default :8080)")
	cmd.Flags().String("admin-addr", "", "admin listen address (PVARA_ADMIN_ADDR, default :9090)")
	bindFlag(cmd.Flags(), "http-addr", "http.addr")
	bindFlag(cmd.Flags(), "admin-addr", "admin.addr")
}

// newServers builds the API and admin servers with their timeouts.
func (a *app) newServers(handler http.Handler) (api, admin *http.Server) {
	h := a.cfg.HTTP
	api = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: h.ReadHeaderTimeout,
		ReadTimeout:       h.ReadTimeout,
		WriteTimeout:      h.WriteTimeout,
		IdleTimeout:       h.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	admin = &http.Server{
		Handler:           httpx.AdminHandler(a.reg, a.ready),
		ReadHeaderTimeout: h.ReadHeaderTimeout,
		IdleTimeout:       h.IdleTimeout,
	}
	return api, admin
}

// serve runs the API and admin listeners until ctx ends, then drains.
// onListen, when set, is told the bound addresses (tests and dev use it).
func (a *app) serve(ctx context.Context, onListen func(api, admin string)) error {
	r, err := a.router()
	if err != nil {
		return err
	}
	apiSrv, adminSrv := a.newServers(r)
	apiL, err := httpx.Listen("api", a.cfg.HTTP.Addr, apiSrv)
	if err != nil {
		return &config.Error{Key: "http.addr", Expect: "a free address to listen on (" + err.Error() + ")"}
	}
	adminL, err := httpx.Listen("admin", a.cfg.Admin.Addr, adminSrv)
	if err != nil {
		apiL.Listener.Close()
		return &config.Error{Key: "admin.addr", Expect: "a free address to listen on (" + err.Error() + ")"}
	}
	if onListen != nil {
		onListen(apiL.Addr(), adminL.Addr())
	}
	return httpx.Serve(ctx, a.logger, a.ready, httpx.ShutdownConfig{
		Delay: a.cfg.Shutdown.Delay,
		Grace: a.cfg.Shutdown.Grace,
	}, adminL, apiL)
}
