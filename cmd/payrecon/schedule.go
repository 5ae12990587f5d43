package main

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
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
is set, a summary of each firing's runs is posted there.

SIGTERM or SIGINT stops it cleanly: no new run starts, a run in flight
finishes (or, after a grace period, rolls back, never half-stored).

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
			r, closeRunner, err := buildRunner(ctx, a, nil)
			if err != nil {
				return err
			}
			defer closeRunner()
			opts := jobs.SchedulerOptions{BillReadyDeadline: cfg.Jobs.BillReadyDeadline}
			if wh := cfg.Reports.Webhook; wh.URL != "" {
				n, err := reports.NewNotifier(reports.NotifyConfig{
					URL: payrecon.NewSecret(wh.URL), Format: wh.Format, Secret: wh.Secret, Lang: cfg.Reports.Language,
				}, nil, a.logger(), time.Now)
				if err != nil {
					return runStatus(1, fmt.Errorf("reports.webhook: %w", err))
				}
				opts.AfterRun = func(ctx context.Context, runs []payrecon.Run) {
					if err := n.Notify(ctx, runs, ""); err != nil {
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
			return s.Run(ctx)
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "run the job once for yesterday and exit")
	return cmd
}
