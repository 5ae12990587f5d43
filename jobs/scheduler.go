package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/payrecon/payrecon"
)

// Job is one scheduled reconciliation: on each firing of Spec it runs the
// previous bill day for Accounts (all configured accounts when empty).
type Job struct {
	Name     string
	Spec     string // cron spec: 5 fields (6 with SchedulerOptions.Seconds); "CRON_TZ=…" prefixes are honoured
	Accounts []string
}

// SchedulerOptions tune a Scheduler; zero values take the defaults.
type SchedulerOptions struct {
	// Location of the specs; default Asia/Shanghai.
	Location *time.Location
	// Seconds: specs have a leading seconds field.
	Seconds bool
	// BillReadyDeadline: how long after the end of the bill day a bill
	// that is not published yet (ErrBillNotReady) is retried; default 36h
	// (config jobs.bill_ready_deadline). After it the run is recorded as
	// failed. Keep it shorter than the time to the job's next firing, or
	// SkipIfStillRunning skips that firing.
	BillReadyDeadline time.Duration
	// RetryBackoff is the first wait before retrying a bill that was not
	// ready (default 5m); it doubles up to RetryMax (default 1h).
	RetryBackoff time.Duration
	RetryMax     time.Duration
	// ShutdownGrace: on shutdown a run in flight may finish for this long
	// (default 10m); after it, its context is cancelled and its transaction
	// rolls back.
	ShutdownGrace time.Duration
	// AfterRun is called after each job firing with the runs it made (e.g. a
	// webhook notifier). Its context is the scheduler's run context.
	AfterRun func(ctx context.Context, runs []payrecon.Run)
	// Now decides which day is "yesterday"; default time.Now.
	Now func() time.Time
}

// Scheduler runs Jobs on cron specs with robfig/cron: overlapping firings of
// one job are skipped (SkipIfStillRunning) and a panicking job is logged
// and survived (Recover).
type Scheduler struct {
	r    *Runner
	jobs []Job
	log  *slog.Logger
	opts SchedulerOptions
	c    *cron.Cron

	stopping chan struct{} // closed on shutdown: stop waiting for bills
	runCtx   context.Context
	hardStop context.CancelFunc
	once     sync.Once

	mu       sync.Mutex
	rechecks map[string]*time.Timer // account|day → the next re-run for pending items
	inFlight sync.WaitGroup         // re-check runs
}

// NewScheduler checks every spec and builds the scheduler; Run starts it.
func NewScheduler(r *Runner, jobs []Job, logger *slog.Logger, opts SchedulerOptions) (*Scheduler, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.Location == nil {
		opts.Location = payrecon.Shanghai
	}
	if opts.BillReadyDeadline <= 0 {
		opts.BillReadyDeadline = 36 * time.Hour
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = 5 * time.Minute
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = time.Hour
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 10 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(jobs) == 0 {
		return nil, errors.New("scheduler: no jobs configured")
	}
	cl := cronLogger{logger}
	copts := []cron.Option{
		cron.WithLocation(opts.Location),
		cron.WithChain(cron.Recover(cl), cron.SkipIfStillRunning(cl)),
		cron.WithLogger(cl),
	}
	if opts.Seconds {
		copts = append(copts, cron.WithSeconds())
	}
	runCtx, hardStop := context.WithCancel(context.Background())
	s := &Scheduler{r: r, jobs: jobs, log: logger, opts: opts, c: cron.New(copts...),
		stopping: make(chan struct{}), runCtx: runCtx, hardStop: hardStop, rechecks: map[string]*time.Timer{}}
	known := map[string]bool{}
	for _, a := range r.Accounts() {
		known[a] = true
	}
	for i, j := range jobs {
		for _, a := range j.Accounts {
			if !known[a] {
				hardStop()
				return nil, fmt.Errorf("scheduler: jobs[%d] (%s): unknown account %q", i, j.Name, a)
			}
		}
		if _, err := s.c.AddFunc(j.Spec, func() { s.RunJob(s.runCtx, j) }); err != nil {
			hardStop()
			return nil, fmt.Errorf("scheduler: jobs[%d] (%s) spec %q: %w", i, j.Name, j.Spec, err)
		}
	}
	return s, nil
}

// Next returns when each job fires next (after Run started), in job order.
func (s *Scheduler) Next() []time.Time {
	var out []time.Time
	for _, e := range s.c.Entries() {
		out = append(out, e.Next)
	}
	return out
}

// Run starts the cron loop and blocks until ctx is done (SIGTERM / SIGINT
// in the CLI). It then stops scheduling, stops waiting for unpublished
// bills, lets a run in flight finish for up to ShutdownGrace (after which
// it is cancelled and rolls back), and returns.
func (s *Scheduler) Run(ctx context.Context) error {
	s.c.Start()
	s.log.Info("scheduler started", "jobs", len(s.jobs), "location", s.opts.Location.String())
	<-ctx.Done()
	s.log.Info("scheduler stopping: no new runs; waiting for runs in flight")
	s.once.Do(func() { close(s.stopping) })
	s.mu.Lock()
	for k, t := range s.rechecks {
		t.Stop()
		delete(s.rechecks, k)
	}
	s.mu.Unlock()
	cronDone := s.c.Stop().Done()
	done := make(chan struct{})
	go func() {
		<-cronDone
		s.inFlight.Wait()
		close(done)
	}()
	grace := time.NewTimer(s.opts.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		s.log.Warn("runs still in flight after the grace period: cancelling them (their transactions roll back)")
		s.hardStop()
		<-done
	}
	s.hardStop()
	s.log.Info("scheduler stopped")
	return nil
}

// RunJob runs one firing of job now: the previous bill day (by
// SchedulerOptions.Now, in Asia/Shanghai) for each of its accounts. An
// account whose bill is not ready is retried with backoff until the
// deadline while the others go on; then AfterRun gets the runs.
func (s *Scheduler) RunJob(ctx context.Context, job Job) []payrecon.Run {
	start := s.opts.Now()
	day := payrecon.DayOf(start).Add(-1)
	accounts := job.Accounts
	if len(accounts) == 0 {
		accounts = s.r.Accounts()
	}
	log := s.log.With("job", job.Name, "day", string(day))
	log.Info("job started", "accounts", len(accounts))
	var runs []payrecon.Run
	pending := accounts
	backoff := s.opts.RetryBackoff
	deadline := day.End().Add(s.opts.BillReadyDeadline)
	for len(pending) > 0 {
		var notReady []string
		for _, acc := range pending {
			if ctx.Err() != nil {
				break
			}
			run, err := s.r.RunDay(ctx, acc, day)
			switch {
			case errors.Is(err, payrecon.ErrBillNotReady):
				notReady = append(notReady, acc)
				continue
			case errors.Is(err, payrecon.ErrLocked):
				log.Info("run skipped: another process holds its lock", "account", acc)
				continue
			case err != nil:
				log.Error("run failed", "account", acc, "err", err)
			}
			runs = append(runs, run)
		}
		if len(notReady) == 0 || ctx.Err() != nil {
			break
		}
		wait := min(backoff, s.opts.RetryMax)
		backoff *= 2
		if s.opts.Now().Add(wait).After(deadline) || s.isStopping() {
			reason := "deadline passed"
			if s.isStopping() {
				reason = "scheduler stopping"
			}
			for _, acc := range notReady {
				run := payrecon.Run{Account: acc, Day: day, StartedAt: start, Version: s.r.opts.Version,
					Error: fmt.Sprintf("run %s %s: bill still not ready (%s)", acc, day, reason)}
				if t, ok := s.r.targets[acc]; ok {
					run.Provider = t.Provider.ProviderName()
				}
				if err := s.r.RecordFailure(ctx, &run); err != nil {
					log.Error("record failure", "account", acc, "err", err)
				}
				log.Error("bill not ready", "account", acc, "reason", reason)
				runs = append(runs, run)
			}
			break
		}
		log.Info("bill not ready, will retry", "accounts", notReady, "wait", wait.String())
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.stopping:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
		}
		pending = notReady
	}
	log.Info("job finished", "runs", len(runs))
	if s.opts.AfterRun != nil && len(runs) > 0 {
		s.opts.AfterRun(ctx, runs)
	}
	s.planRechecks(ctx, runs)
	return runs
}

// planRechecks arranges, for each stored run that carried over items still
// pending at the provider, a re-run of its day at the next step of the
// re-query schedule (counted from the items' ledger times). The re-run
// re-queries them: paid stays carried over, failed or closed becomes a
// discrepancy, and past the last step a pending item becomes
// missing_in_bill. Re-runs supersede the earlier run; nothing else changes.
func (s *Scheduler) planRechecks(ctx context.Context, runs []payrecon.Run) {
	for _, run := range runs {
		if run.ID == 0 || (run.State != payrecon.RunClean && run.State != payrecon.RunFindings) {
			continue
		}
		now := s.opts.Now()
		var next time.Time
		err := s.r.store.RunItems(ctx, run.ID, func(it payrecon.Item) error {
			if it.Class != payrecon.ClassCarriedOver || it.Note != NotePending || it.LedgerTime.IsZero() {
				return nil
			}
			for _, step := range s.r.opts.RequerySchedule {
				if at := it.LedgerTime.Add(step); at.After(now) {
					if next.IsZero() || at.Before(next) {
						next = at
					}
					break
				}
			}
			return nil
		})
		if err != nil {
			s.log.Error("plan re-checks", "account", run.Account, "day", string(run.Day), "err", err)
			continue
		}
		if next.IsZero() {
			continue
		}
		s.scheduleRecheck(run.Account, run.Day, next.Sub(now))
	}
}

func (s *Scheduler) scheduleRecheck(account string, day payrecon.Day, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isStopping() {
		return
	}
	key := account + "|" + string(day)
	if t, ok := s.rechecks[key]; ok {
		t.Stop()
	}
	s.log.Info("pending items: day re-run planned", "account", account, "day", string(day), "in", wait.String())
	s.rechecks[key] = time.AfterFunc(wait, func() {
		s.mu.Lock()
		delete(s.rechecks, key)
		if s.isStopping() {
			s.mu.Unlock()
			return
		}
		s.inFlight.Add(1)
		s.mu.Unlock()
		defer s.inFlight.Done()
		run, err := s.r.RunDay(s.runCtx, account, day)
		if err != nil {
			s.log.Error("re-check run failed", "account", account, "day", string(day), "err", err)
			return
		}
		if s.opts.AfterRun != nil {
			s.opts.AfterRun(s.runCtx, []payrecon.Run{run})
		}
		s.planRechecks(s.runCtx, []payrecon.Run{run})
	})
}

func (s *Scheduler) isStopping() bool {
	select {
	case <-s.stopping:
		return true
	default:
		return false
	}
}

// cronLogger adapts slog to cron.Logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append([]any{"err", err}, kv...)...)
}
