// Package jobs runs reconciliations: one run per provider account and bill
// day (pull the bills, load the ledger, match, query, classify, store), the
// cron scheduler that runs them, and the repair actions.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/payrecon/payrecon"
)

// Store is what a run needs from the store.
type Store interface {
	payrecon.RunStore
	payrecon.LedgerReader
}

// Target is one configured account and its provider.
type Target struct {
	Account  payrecon.Account
	Provider payrecon.Provider // must be a payrecon.BillSource; queriers are optional

	// Ledger, when set, is the account's pull source (MinCloud orders, the
	// merchant's order table): the run pulls it into the ledger first
	// (PullLedger, under the run lock, every entry checked with the
	// account's payrecon.PolicyFor), then reconciles. Nil: callbacks.
	Ledger payrecon.LedgerSource
	// RefundsByOrder matches the ledger's aggregated refunds (MinCloud:
	// one cumulative amount per order, no refund number) against the
	// bill's refund lines of the order summed.
	RefundsByOrder bool
}

// Progress is reported while a run advances.
type Progress struct {
	Account     string
	Day         payrecon.Day
	Phase       string // "lock", "pull", "ledger", "bill", "settlement", "query", "save", "done", "failed"
	LedgerLines int64  // ledger entries loaded so far
	BillLines   int64  // trade bill lines read so far
	Queries     int64  // provider queries done so far
}

// Options tune a Runner; zero values take the defaults.
type Options struct {
	// RequerySchedule: a ledger success that the provider still reports as
	// pending is carried over while its age (from the ledger time) is below
	// the last step, and becomes a discrepancy after it. Default 1h, 6h, 24h, 72h.
	RequerySchedule []time.Duration
	// CarryOverDays: a carried-over payment or refund still absent from the
	// bills this many days after its origin day becomes missing_in_bill.
	// Default 3.
	CarryOverDays int
	// LockTTL is the run lease; it is renewed every quarter of it while the
	// run lasts, so a killed run's lease lapses within LockTTL. Default 60s.
	LockTTL time.Duration
	// Version is stored with every run.
	Version string
	// Owner names this process in run locks; default host:pid. A random
	// suffix is added per run.
	Owner string
	// Progress, when set, is called as the run advances (from the run's goroutine).
	Progress func(Progress)
	// QueryAttempts is how often a transient query error is tried (default 4),
	// with QueryBackoff (default 200ms) doubling between tries.
	QueryAttempts int
	QueryBackoff  time.Duration
	// QueryConcurrency bounds parallel provider queries (default 4).
	QueryConcurrency int
	// AgreementRecheckDays: when > 0, every agreement in the ledger (not only
	// those that changed that day) is re-checked on days whose ordinal
	// (days since 1970-01-01) is a multiple of it.
	AgreementRecheckDays int
	// Observe, when set, is told of every attempt RunDay makes, with the
	// run and error RunDay returns (e.g. for metrics).
	Observe func(run payrecon.Run, err error)
	// ProviderActions lists the money-moving action kinds runs may propose
	// (jobs.provider_actions); nil means all of them. A discrepancy whose
	// repair is not listed is proposed for manual review.
	ProviderActions []payrecon.ActionKind
	// AfterSave runs after a run was stored (e.g. auto-applying safe repair
	// actions); its error is logged, the run stays stored.
	AfterSave func(ctx context.Context, run payrecon.Run) error
	// Review sets due days and applies tolerance rules to a run's
	// discrepancies (tolerance.go); nil: none.
	Review *ReviewPolicy
}

// noBillAfter is how long after the end of a bill day a provider's "no
// bill for the day" means a day without transactions rather than a bill not
// generated yet: noon of the next day in Shanghai (providers publish by
// 10:00).
const noBillAfter = 12 * time.Hour

func (o Options) withDefaults() Options {
	if len(o.RequerySchedule) == 0 {
		o.RequerySchedule = []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour, 72 * time.Hour}
	}
	if o.CarryOverDays <= 0 {
		o.CarryOverDays = 3
	}
	if o.LockTTL <= 0 {
		o.LockTTL = DefaultLockTTL
	}
	if o.Owner == "" {
		host, _ := os.Hostname()
		o.Owner = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if o.QueryAttempts <= 0 {
		o.QueryAttempts = 4
	}
	if o.QueryBackoff <= 0 {
		o.QueryBackoff = 200 * time.Millisecond
	}
	if o.QueryConcurrency <= 0 {
		o.QueryConcurrency = 4
	}
	return o
}

// DefaultLockTTL is the run lease when Options.LockTTL is zero.
const DefaultLockTTL = 60 * time.Second

// Runner reconciles accounts day by day. It is safe for concurrent use;
// runs of one (account, day) are serialised across processes by the store's
// run lock.
type Runner struct {
	store   Store
	targets map[string]Target
	log     *slog.Logger
	now     func() time.Time
	opts    Options
}

// NewRunner builds a Runner over targets keyed by account name.
func NewRunner(st Store, targets map[string]Target, logger *slog.Logger, now func() time.Time, opts Options) *Runner {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Runner{store: st, targets: targets, log: logger, now: now, opts: opts.withDefaults()}
}

// Accounts lists the configured account names, sorted.
func (r *Runner) Accounts() []string {
	out := make([]string, 0, len(r.targets))
	for name := range r.targets {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// RunDay reconciles one account for one bill day and stores the result.
// The returned run is RunClean or RunFindings on success. On failure the
// run is recorded with FailRun (except when another process holds the lock,
// ErrLocked, or the bill is not published yet, ErrBillNotReady: the caller
// retries those) and the error is returned; an unbalanced run returns an
// error wrapping payrecon.ErrUnbalanced and stores nothing but the failure.
func (r *Runner) RunDay(ctx context.Context, account string, day payrecon.Day) (payrecon.Run, error) {
	t, ok := r.targets[account]
	if !ok {
		return payrecon.Run{}, fmt.Errorf("run %s %s: unknown account", account, day)
	}
	run := payrecon.Run{
		Account:   account,
		Provider:  t.Provider.ProviderName(),
		Day:       day,
		State:     payrecon.RunRunning,
		StartedAt: r.now(),
		Version:   r.opts.Version,
	}
	log := r.log.With("account", account, "day", string(day))
	log.Info("run started")
	owner := r.opts.Owner + ":" + nonce()
	err := r.runLocked(ctx, t, &run, owner, log)
	if err != nil {
		err = fmt.Errorf("run %s %s: %w", account, day, err)
		run.State = payrecon.RunFailed
		run.Error = err.Error()
		run.FinishedAt = r.now()
		r.progress(Progress{Account: account, Day: day, Phase: "failed"})
		if !errors.Is(err, payrecon.ErrLocked) && !errors.Is(err, payrecon.ErrBillNotReady) {
			if ferr := r.RecordFailure(ctx, &run); ferr != nil {
				err = errors.Join(err, ferr)
			}
		}
		if aerr := r.recordAttempt(ctx, &run, owner, err); aerr != nil {
			log.Warn("run attempt not recorded", "err", aerr)
		}
		r.observe(run, err)
		return run, err
	}
	log.Info("run finished", "state", string(run.State), "run_id", run.ID,
		"bill_total", run.Totals.BillTotal, "ledger_total", run.Totals.LedgerTotal,
		"bill_lines", run.Totals.BillLines, "ledger_lines", run.Totals.LedgerLines,
		"discrepancies", run.Totals.Discrepancies(), "open", run.Totals.Open())
	if r.opts.AfterSave != nil {
		if aerr := r.opts.AfterSave(ctx, run); aerr != nil {
			log.Error("after-save hook failed", "err", aerr)
		}
	}
	r.observe(run, nil)
	return run, nil
}

func (r *Runner) observe(run payrecon.Run, err error) {
	if r.opts.Observe != nil {
		r.opts.Observe(run, err)
	}
}

// RecordFailure stores a failed run (run.State is set to RunFailed); it
// uses a context that survives the caller's cancellation, so an
// interrupted run is still recorded.
func (r *Runner) RecordFailure(ctx context.Context, run *payrecon.Run) error {
	run.State = payrecon.RunFailed
	if run.FinishedAt.IsZero() {
		run.FinishedAt = r.now()
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := r.store.FailRun(fctx, run); err != nil {
		return fmt.Errorf("record failed run %s %s: %w", run.Account, run.Day, err)
	}
	return nil
}

// recordAttempt keeps the attempt that err ended (refused, failed, bill
// not ready) when the store records attempts; run.LastAttempt is set.
func (r *Runner) recordAttempt(ctx context.Context, run *payrecon.Run, owner string, err error) error {
	rec, ok := r.store.(payrecon.AttemptRecorder)
	if !ok {
		return nil
	}
	a := payrecon.RunAttempt{Account: run.Account, Day: run.Day, At: r.now(), Outcome: payrecon.AttemptFailed,
		Owner: owner, Reason: err.Error()}
	var held *payrecon.LockHeldError
	switch {
	case errors.As(err, &held):
		a.Outcome, a.Holder, a.HolderExpires = payrecon.AttemptRefused, held.Owner, held.Expires
	case errors.Is(err, payrecon.ErrLocked):
		a.Outcome = payrecon.AttemptRefused
	case errors.Is(err, payrecon.ErrBillNotReady):
		a.Outcome = payrecon.AttemptNotReady
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := rec.RecordAttempt(actx, &a); err != nil {
		return err
	}
	run.LastAttempt = a
	return nil
}

// RunRange runs every day from..to (inclusive, in day order, so carry-overs
// flow forward) for each account (all configured accounts when empty). One
// account's failure is recorded and the others go on; the failures are
// returned joined. It stops early only when ctx is done.
func (r *Runner) RunRange(ctx context.Context, accounts []string, from, to payrecon.Day) ([]payrecon.Run, error) {
	if len(accounts) == 0 {
		accounts = r.Accounts()
	}
	var (
		runs []payrecon.Run
		errs []error
	)
	for _, day := range payrecon.Days(from, to) {
		for _, acc := range accounts {
			if ctx.Err() != nil {
				errs = append(errs, ctx.Err())
				return runs, errors.Join(errs...)
			}
			run, err := r.RunDay(ctx, acc, day)
			if run.Account != "" {
				runs = append(runs, run)
			}
			if err != nil {
				r.log.Error("run failed", "account", acc, "day", string(day), "err", err)
				errs = append(errs, err)
			}
		}
	}
	return runs, errors.Join(errs...)
}

func (r *Runner) progress(p Progress) {
	if r.opts.Progress != nil {
		r.opts.Progress(p)
	}
}

// runLocked takes the lease, keeps it renewed, reconciles and saves.
func (r *Runner) runLocked(ctx context.Context, t Target, run *payrecon.Run, owner string, log *slog.Logger) error {
	r.progress(Progress{Account: run.Account, Day: run.Day, Phase: "lock"})
	release, err := r.store.LockRun(ctx, run.Account, run.Day, owner, r.opts.LockTTL)
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		tick := time.NewTicker(r.opts.LockTTL / 4)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := r.store.LockRun(ctx, run.Account, run.Day, owner, r.opts.LockTTL); err != nil {
					cancel(fmt.Errorf("lost run lock: %w", err))
					return
				}
			}
		}
	}()
	defer func() {
		close(done)
		<-renewed
		cancel(nil)
		if rerr := release(); rerr != nil {
			log.Warn("release run lock", "err", rerr)
		}
	}()

	if t.Ledger != nil {
		if err := r.pullLedger(ctx, t, run); err != nil {
			return err
		}
	}
	e := newEngine(r, t, run, log)
	items, err := e.reconcile(ctx)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			return fmt.Errorf("%w (%v)", err, cause)
		}
		return err
	}
	r.opts.Review.apply(run, items)
	actions := proposeActions(items, run, r.now())
	r.progress(Progress{Account: run.Account, Day: run.Day, Phase: "save", BillLines: run.Totals.BillLines, LedgerLines: run.Totals.LedgerLines})
	run.FinishedAt = r.now()
	run.State = payrecon.RunClean
	if run.Totals.Discrepancies() > 0 {
		run.State = payrecon.RunFindings
	}
	if err := r.store.SaveRun(ctx, run, items, actions); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	r.progress(Progress{Account: run.Account, Day: run.Day, Phase: "done", BillLines: run.Totals.BillLines, LedgerLines: run.Totals.LedgerLines})
	return nil
}

// proposeActions makes one proposed action per item whose class proposes a
// repair (recheck is implicit in the carry-over and is not an action).
func proposeActions(items []payrecon.Item, run *payrecon.Run, now time.Time) []payrecon.Action {
	var out []payrecon.Action
	for _, it := range items {
		if it.Action == payrecon.ActionNone || it.Action == payrecon.ActionRecheck || it.Tolerance != "" {
			continue // a tolerated item proposes no repair
		}
		out = append(out, payrecon.Action{
			DiscrepancyKey: it.Key(),
			Account:        it.Account,
			Day:            run.Day,
			Kind:           it.Action,
			State:          payrecon.ActionProposed,
			Item:           it,
			CreatedAt:      now,
			UpdatedAt:      now,
		})
	}
	return out
}

func nonce() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
