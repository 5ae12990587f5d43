package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/metrics"
)

func newServeCmd(a *app) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Receive provider callbacks into the ledger",
		Long: `Serve POST /callbacks/{provider}/{account}, GET /healthz (liveness),
GET /readyz (readiness: the database answers) and GET /metrics (Prometheus).

Each callback goes, raw, to its account's verifier; an authentic one is stored
with its ledger entries in one transaction and acknowledged in the provider's
format only after the commit. Duplicates are acknowledged and stored once;
forged, unreadable, oversized or misaddressed callbacks are stored as rejected
with the reason and answered with a failure. Limits: server.max_body_bytes,
server.read_timeout, server.write_timeout. SIGTERM or SIGINT shuts down
gracefully (requests in flight finish).` + exitStatusHelp,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.serve(cmd.Context(), listen)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "listen address (default server.listen)")
	return cmd
}

// maxHeaderBytes bounds a request's headers (net/http's default is 1 MiB):
// rejected callbacks keep their headers, so this bounds what one stores.
const maxHeaderBytes = 64 << 10

func (a *app) serve(ctx context.Context, listen string) error {
	c, err := a.config()
	if err != nil {
		return err
	}
	if listen == "" {
		listen = c.Server.Listen
	}
	db, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	reg := metrics.NewRegistry()
	h, err := a.intakeHandler(ctx, db, nil, intakeOps{ready: db.Ping, observer: metrics.NewIntake(reg), metrics: metrics.Handler(reg)})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", listen, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: c.Server.ReadTimeout,
		ReadTimeout:       c.Server.ReadTimeout,
		WriteTimeout:      c.Server.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          nil,
	}
	log := a.logger()
	log.Info("serving callbacks", "addr", ln.Addr().String(), "accounts", len(c.Accounts), "database", db.Dialect())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// intakeHandler wires the callback handler for the named accounts (all
// when empty). Accounts whose provider has no callback verifier are left
// out (their callbacks are stored as rejected: unknown account).
// intakeOps is what serve adds to the handler: readiness and metrics.
type intakeOps struct {
	ready    func(context.Context) error
	observer intake.Observer
	metrics  http.Handler
}

func (a *app) intakeHandler(ctx context.Context, st payrecon.CallbackStore, names []string, ops intakeOps) (*intake.Handler, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	ps, _, err := a.buildProviders(ctx, names)
	if err != nil {
		return nil, err
	}
	accounts := map[string]intake.Account{}
	var skipped []string
	for name, p := range ps {
		v, ok := p.(payrecon.CallbackVerifier)
		if !ok {
			skipped = append(skipped, name)
			continue
		}
		acct, _ := c.Account(name)
		accounts[name] = intake.Account{Provider: acct.Provider, Verifier: v, Policy: payrecon.PolicyFor(acct.Domain(), p)}
	}
	sort.Strings(skipped)
	for _, name := range skipped {
		a.logger().Warn("account has no callback verifier; its callbacks will be rejected", "account", name)
	}
	return intake.New(intake.Config{
		Accounts:             accounts,
		Providers:            config.Providers,
		Store:                st,
		Logger:               a.logger(),
		Now:                  time.Now,
		MaxBodyBytes:         c.Server.MaxBodyBytes,
		RejectBodyBytes:      orNone(c.Server.RejectBodyBytes),
		RejectRate:           orNone(c.Server.RejectRate),
		RejectBurst:          c.Server.RejectBurst,
		UnknownAccountRate:   orNone(c.Server.UnknownAccountRate),
		UnknownAccountBurst:  c.Server.UnknownAccountBurst,
		StoreTimeout:         c.Server.StoreTimeout,
		MaxBodyBytesInFlight: c.Server.MaxBodyBytesInFlight,
		Ready:                ops.ready,
		Observer:             ops.observer,
		Metrics:              ops.metrics,
	}), nil
}

// orNone maps the configuration's 0 ("none": no body prefix, no limit) to
// intake's negative value (its 0 means "the default").
func orNone[T int | float64](v T) T {
	if v == 0 {
		return -1
	}
	return v
}
