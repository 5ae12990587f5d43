package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/metrics"
)

// Exit statuses of `payrecon run` beyond 0 (reconciled clean), 1 (error)
// and 2 (usage).
const exitFindings = 3

// statusError carries a command's exit status (see exitCode in main.go).
type statusError struct {
	code int
	err  error
}

func (e statusError) Error() string { return e.err.Error() }
func (e statusError) Unwrap() error { return e.err }
func (e statusError) ExitCode() int { return e.code }

func runStatus(code int, err error) error { return statusError{code: code, err: err} }

const runExitHelp = `
Exit status:
  0  every run reconciled clean (the books balance, no discrepancy, or only
     discrepancies a tolerance rule of review: covers)
  1  error: at least one run failed (bill, query, database, or books that do
     not balance); the other accounts and days still ran and were recorded
  2  usage (bad date or flag, unknown account)
  3  every run finished and at least one found discrepancies no tolerance
     rule covers`

func newRunCmd(a *app) *cobra.Command {
	var date, to, account, metricsFile string
	cmd := &cobra.Command{
		Use:   "run --date D [--to D2] [--account NAME]",
		Short: "Reconcile provider accounts for one bill day or a range of days",
		Long: `Reconcile each configured account (or only --account) for the bill day
--date, or for every day from --date to --to in order: fetch the provider's
bills, load the ledger, match, query the provider for what disagrees,
classify, check the balance, and store the run with its discrepancies and
proposed repair actions. A re-run of a day supersedes the earlier run and
keeps the discrepancies' review state.

On a terminal a progress bar is shown; otherwise progress goes to the log.
--metrics-file writes the run metrics (last success time, duration, bill
lines, discrepancies by class, balanced, failures) for node_exporter's
textfile collector, atomically (temporary file, then rename).
The Go heap works under an 800 MiB soft limit unless $GOMEMLIMIT is set.` + runExitHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			from, err := payrecon.ParseDay(date)
			if err != nil {
				return runStatus(2, fmt.Errorf("--date: %w", err))
			}
			until := from
			if to != "" {
				if until, err = payrecon.ParseDay(to); err != nil {
					return runStatus(2, fmt.Errorf("--to: %w", err))
				}
				if until < from {
					return runStatus(2, fmt.Errorf("--to %s is before --date %s", until, from))
				}
			}
			var accounts []string
			if account != "" {
				if _, ok := cfg.Account(account); !ok {
					return runStatus(2, fmt.Errorf("--account: no account %q in the configuration", account))
				}
				if mincloudLinked(cfg)[account] {
					return runStatus(2, fmt.Errorf("--account: the orders of %q are reconciled by the channel account whose ledger.account names it; run that one", account))
				}
				accounts = []string{account}
			}
			ctx := cmd.Context()
			prog := newRunProgress(cmd.ErrOrStderr(), a.logger())
			var (
				reg     *prometheus.Registry
				observe func(payrecon.Run, error)
			)
			if metricsFile != "" {
				reg = prometheus.NewRegistry()
				observe = metrics.NewRuns(reg, accountNames(cfg)).Observe
			}
			r, closeRunner, err := buildRunner(ctx, a, prog.update, observe)
			if err != nil {
				return err
			}
			defer closeRunner()
			runs, runErr := r.RunRange(ctx, accounts, from, until)
			prog.finish()
			printRuns(cmd.OutOrStdout(), runs)
			if reg != nil {
				// Written (temp file + rename) whatever the runs' outcome:
				// a failure is exactly what the alert must see.
				if err := prometheus.WriteToTextfile(metricsFile, reg); err != nil {
					runErr = errors.Join(runErr, fmt.Errorf("--metrics-file: %w", err))
				}
			}
			if runErr != nil {
				return runStatus(1, runErr)
			}
			for _, run := range runs {
				if run.State == payrecon.RunFindings && run.Totals.Open() > 0 {
					return runStatus(exitFindings, errors.New("discrepancies found"))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&date, "date", "", "bill day to reconcile, YYYY-MM-DD (required)")
	cmd.Flags().StringVar(&to, "to", "", "last bill day of a range, YYYY-MM-DD (default: --date)")
	cmd.Flags().StringVar(&account, "account", "", "reconcile only this account")
	cmd.Flags().StringVar(&metricsFile, "metrics-file", "", "write the runs' metrics to FILE in the node_exporter textfile format (e.g. /var/lib/node_exporter/textfile/payrecon.prom)")
	_ = cmd.MarkFlagRequired("date")
	return cmd
}

// defaultMemoryLimit is the soft heap limit a run works under unless
// $GOMEMLIMIT says otherwise: the garbage collector then keeps a big day
// (the engine holds ~40 bytes per ledger entry plus ~14 of index) within
// the 1 GiB target instead of letting the heap double before collecting.
// Measured: a 10,000,000-entry day peaks at 1.07 GiB RSS without a limit
// and at 790 MiB with this one (BenchmarkEngine in jobs).
const defaultMemoryLimit = 800 << 20

func applyMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

// buildRunner wires a jobs.Runner from the configuration: the store, every
// account's provider, the jobs settings, the repair actions' after-run
// work (auto-apply of jobs.auto_apply, sync of provider outcomes), and
// observe (run metrics) when set.
func buildRunner(ctx context.Context, a *app, progress func(jobs.Progress), observe func(payrecon.Run, error)) (*jobs.Runner, func(), error) {
	applyMemoryLimit()
	cfg, err := a.config()
	if err != nil {
		return nil, nil, err
	}
	db, err := a.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	provs, err := a.providers(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	targets := map[string]jobs.Target{}
	linked := mincloudLinked(cfg)
	for _, acc := range cfg.Accounts {
		if linked[acc.Name] {
			continue // its orders are reconciled by the channel account it feeds
		}
		p, ok := provs[acc.Name]
		if !ok {
			db.Close()
			return nil, nil, fmt.Errorf("account %s: no provider built", acc.Name)
		}
		targets[acc.Name] = jobs.Target{Account: acc.Domain(), Provider: p}
	}
	// Accounts whose ledger is pulled (MinCloud orders, the merchant's
	// order table): the run pulls first.
	srcs, byOrder, closeSources, err := ledgerSources(cfg, provs, db, a, entryCheck(cfg, provs))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	for name, src := range srcs {
		t := targets[name]
		t.Ledger, t.RefundsByOrder = src, byOrder[name]
		targets[name] = t
	}
	opts := jobs.Options{
		RequerySchedule: cfg.Jobs.RequerySchedule,
		LockTTL:         cfg.Jobs.LockTTL,
		Version:         version,
		Progress:        progress,
		Observe:         observe,
		CarryOverDays:   cfg.Review.CarryOverDays,
		Review:          cfg.Review.Policy(),
	}
	// After every stored run: auto-apply the configured safe kinds and
	// follow applied refunds and closes to the provider's final answer.
	svc, err := jobs.NewActions(jobs.ActionsDeps{
		Store: db, Ledger: db, LedgerReader: db, Providers: provs,
		Logger: a.logger(), Now: time.Now,
		Config: jobs.ActionsConfig{AutoApply: cfg.Jobs.AutoApply, ProviderActions: cfg.Jobs.ProviderActions},
	})
	if err != nil {
		closeSources()
		db.Close()
		return nil, nil, err
	}
	opts.AfterSave = svc.AfterSave
	opts.ProviderActions = cfg.Jobs.ProviderActions
	r := jobs.NewRunner(db, targets, a.logger(), time.Now, opts)
	return r, func() { closeSources(); db.Close() }, nil
}

// runProgress shows a progress bar on a terminal and logs phase changes
// otherwise.
type runProgress struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	log   *slog.Logger
	last  string
	shown bool
}

func newRunProgress(w io.Writer, logger *slog.Logger) *runProgress {
	p := &runProgress{log: logger}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("starting"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("lines"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

func (p *runProgress) update(pr jobs.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	desc := fmt.Sprintf("%s %s %s", pr.Account, pr.Day, pr.Phase)
	if p.bar != nil {
		if desc != p.last {
			p.bar.Describe(desc)
		}
		_ = p.bar.Set64(pr.LedgerLines + pr.BillLines)
		p.shown = true
	} else if desc != p.last {
		p.log.Info("run progress", "account", pr.Account, "day", string(pr.Day), "phase", pr.Phase,
			"ledger_entries", pr.LedgerLines, "bill_lines", pr.BillLines, "queries", pr.Queries)
	}
	p.last = desc
}

func (p *runProgress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil && p.shown {
		_ = p.bar.Finish()
	}
}

// printRuns writes one line per run: day, account, state, totals and the
// discrepancy counts by class.
func printRuns(w io.Writer, runs []payrecon.Run) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DAY\tACCOUNT\tSTATE\tBILL\tLEDGER\tDIFFERENCE\tEXPLAINED\tFINDINGS")
	for _, run := range runs {
		t := run.Totals
		var classes []string
		for c, ct := range t.ByClass {
			if c != payrecon.ClassMatched && ct.Count > 0 {
				classes = append(classes, fmt.Sprintf("%s=%d", c, ct.Count))
			}
		}
		sort.Strings(classes)
		if t.Tolerated.Count > 0 {
			classes = append(classes, fmt.Sprintf("(tolerated=%d)", t.Tolerated.Count))
		}
		findings := strings.Join(classes, " ")
		if run.State == payrecon.RunFailed {
			findings = run.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", run.Day, run.Account, run.State,
			payrecon.FormatYuan(t.BillTotal), payrecon.FormatYuan(t.LedgerTotal),
			payrecon.FormatYuan(t.Difference), payrecon.FormatYuan(t.Explained), findings)
	}
	_ = tw.Flush()
}
