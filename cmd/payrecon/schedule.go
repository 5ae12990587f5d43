package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/metrics"
	"github.com/payrecon/payrecon/reports"
)

func newScheduleCmd(a *app) *cobra.Command {
	var once bool
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Run the configured reconciliation jobs on their cron schedule",
		Long: `Run the jobs section of the configuration as a daemon: on every firing of
jobs.cron (Asia/Shanghai unless the spec says CRON_TZ=…) reconcile the
previous bill day for jobs.accounts (every account when empty). A bill the
provider has not published yet is retried with backoff until
jobs.bill_ready_deadline after the end of the bill day. A firing that is
still running when the next one is due is skipped. When reports.webhook.url
is set, a summary of each firing's runs is posted there, with the path of
the workbook written into reports.dir (payrecon-DAY.xlsx) after each firing.

SIGTERM or SIGINT stops it cleanly: no new run starts, a run in flight
finishes (or, after a grace period, rolls back, never half-stored).

When jobs.metrics_listen is set, GET /metrics there serves the run metrics
(last success time per account, duration, bill lines, discrepancies by
class, balanced, failures) for Prometheus.

--once runs the job a single time for yesterday and exits.

Exit status:
  0  stopped cleanly (or --once: every run clean)
  1  error (configuration, database; --once: a run failed)
  3  --once: discrepancies found`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			cfg, err := a.config()
			if err != nil {
				return err
			}
			var (
				observe func(payrecon.Run, error)
				reg     *prometheus.Registry
			)
			if cfg.Jobs.MetricsListen != "" && !once {
				reg = metrics.NewRegistry()
				observe = metrics.NewRuns(reg, accountNames(cfg)).Observe
			}
			r, closeRunner, err := buildRunner(ctx, a, nil, observe)
			if err != nil {
				return err
			}
			defer closeRunner()
			opts := jobs.SchedulerOptions{BillReadyDeadline: cfg.Jobs.BillReadyDeadline}
			var notifier *reports.Notifier
			if wh := cfg.Reports.Webhook; wh.URL != "" {
				n, err := reports.NewNotifier(reports.NotifyConfig{
					URL: payrecon.NewSecret(wh.URL), Format: wh.Format, Secret: wh.Secret, Lang: cfg.Reports.Language,
				}, nil, a.logger(), time.Now)
				if err != nil {
					return runStatus(1, fmt.Errorf("reports.webhook: %w", err))
				}
				notifier = n
			}
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			opts.AfterRun = func(ctx context.Context, runs []payrecon.Run) {
				path, err := writeRunsWorkbook(ctx, db, cfg.Reports.Dir, cfg.Reports.Language, cfg.Review.ReasonCodes, runs)
				if err != nil {
					a.logger().Error("scheduled workbook not written", "err", err)
				} else if path != "" {
					a.logger().Info("scheduled workbook written", "path", path)
				}
				if notifier != nil {
					if err := notifier.Notify(ctx, runs, path); err != nil {
						a.logger().Error("webhook notification failed", "err", err)
					}
				}
			}
			job := jobs.Job{Name: "daily", Spec: cfg.Jobs.Cron, Accounts: cfg.Jobs.Accounts}
			s, err := jobs.NewScheduler(r, []jobs.Job{job}, a.logger(), opts)
			if err != nil {
				return runStatus(1, err)
			}
			if once {
				runs := s.RunJob(ctx, job)
				printRuns(cmd.OutOrStdout(), runs)
				code := 0
				for _, run := range runs {
					switch {
					case run.State == payrecon.RunFailed:
						code = 1
					case run.State == payrecon.RunFindings && code == 0:
						code = exitFindings
					}
				}
				if code != 0 {
					return runStatus(code, fmt.Errorf("scheduled job: exit status %d", code))
				}
				return nil
			}
			if reg != nil {
				// Served once everything is built, just before the loop.
				stopMetrics, err := serveMetrics(ctx, cfg.Jobs.MetricsListen, reg, a.logger())
				if err != nil {
					return err
				}
				defer stopMetrics()
			}
			return s.Run(ctx)
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "run the job once for yesterday and exit")
	return cmd
}

// serveMetrics serves reg at GET /metrics on addr until stop is called.
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("jobs.metrics_listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(reg))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("serving run metrics", "addr", ln.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

// writeRunsWorkbook writes the workbook of a firing's runs (their accounts
// and days, latest runs) into dir as payrecon-DAY.xlsx or
// payrecon-FROM_TO.xlsx and returns its path; "" when dir is empty or no run
// reconciled. Failures never fail the runs: the caller logs them.
func writeRunsWorkbook(ctx context.Context, st interface {
	payrecon.RunStore
	payrecon.ActionStore
}, dir, lang string, reasons []string, runs []payrecon.Run) (string, error) {
	if dir == "" || len(runs) == 0 {
		return "", nil
	}
	from, to := runs[0].Day, runs[0].Day
	seen := map[string]bool{}
	var accounts []string
	for _, r := range runs {
		if r.Day < from {
			from = r.Day
		}
		if r.Day > to {
			to = r.Day
		}
		if !seen[r.Account] {
			seen[r.Account] = true
			accounts = append(accounts, r.Account)
		}
	}
	src, err := reports.StoreSource(ctx, st, st, accounts, from, to)
	if err != nil {
		return "", err
	}
	if rs, ok := st.(reports.ReviewStore); ok {
		if src, err = reports.WithReviews(ctx, src, rs, accounts, reasons); err != nil {
			return "", err
		}
	}
	if len(src.Runs) == 0 {
		return "", nil
	}
	name := "payrecon-" + string(from)
	if to != from {
		name += "_" + string(to)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("reports.dir: %w", err)
	}
	path := filepath.Join(dir, name+".xlsx")
	if err := reports.WriteXLSXFile(path, src, reports.Options{Lang: lang, Now: time.Now}); err != nil {
		return "", err
	}
	return path, nil
}
