package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// gatedProvider wraps jobstest.Provider: the trade bill is not ready for the first
// notReady calls, and, when hold is set, the bill waits for it after
// signalling started.
type gatedProvider struct {
	*jobstest.Provider
	notReady int32
	calls    atomic.Int32
	started  chan struct{}
	hold     chan struct{}
}

func (g *gatedProvider) Bill(ctx context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	if kind == payrecon.BillTrade {
		if n := g.calls.Add(1); n <= g.notReady {
			return payrecon.BillFile{}, payrecon.ErrBillNotReady
		}
		if g.hold != nil {
			close(g.started)
			<-g.hold
		}
	}
	return g.Provider.Bill(ctx, day, kind, fn)
}

func schedTargets(p payrecon.Provider) map[string]jobs.Target {
	return map[string]jobs.Target{jobstest.Account: {Account: payrecon.Account{Name: jobstest.Account, Provider: "fake", FeeRatePPM: jobstest.RatePPM}, Provider: p}}
}

// fixedNow is 10:30 in Shanghai on the day after D: "yesterday" is D.
func fixedNow() time.Time { return jobstest.DayD1.Start().Add(10*time.Hour + 30*time.Minute) }

func TestSchedulerRunsYesterdayOnCron(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	p := jobstest.NewPlan(5, 20)
	p.Load(t, db)
	r := jobs.NewRunner(db, schedTargets(&jobstest.Provider{Sc: p.Sc}), storetest.Logger(t), fixedNow, jobs.Options{QueryBackoff: time.Millisecond})
	got := make(chan []payrecon.Run, 4)
	s, err := jobs.NewScheduler(r, []jobs.Job{{Name: "daily", Spec: "* * * * * *"}}, storetest.Logger(t),
		jobs.SchedulerOptions{Seconds: true, Now: fixedNow, AfterRun: func(_ context.Context, runs []payrecon.Run) { got <- runs }})
	storetest.Must(t, err)
	if next := s.Next(); len(next) != 1 {
		t.Fatalf("entries: %v", next)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var runs []payrecon.Run
	select {
	case runs = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the job never fired")
	}
	cancel()
	select {
	case err := <-done:
		storetest.Must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("scheduler did not stop")
	}
	if len(runs) != 1 || runs[0].Day != jobstest.DayD || runs[0].State != payrecon.RunFindings || runs[0].ID == 0 {
		t.Fatalf("runs: %+v", runs)
	}
	jobstest.CheckDay(t, db, p, jobstest.DayD, runs[0])
}

func TestSchedulerRetriesBillNotReady(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	p := jobstest.NewPlan(6, 10)
	p.Load(t, db)
	g := &gatedProvider{Provider: &jobstest.Provider{Sc: p.Sc}, notReady: 2}
	r := jobs.NewRunner(db, schedTargets(g), storetest.Logger(t), fixedNow, jobs.Options{QueryBackoff: time.Millisecond})
	s, err := jobs.NewScheduler(r, []jobs.Job{{Name: "daily", Spec: "30 10 * * *"}}, storetest.Logger(t),
		jobs.SchedulerOptions{Now: fixedNow, RetryBackoff: 5 * time.Millisecond, BillReadyDeadline: 36 * time.Hour})
	storetest.Must(t, err)
	runs := s.RunJob(context.Background(), jobs.Job{Name: "daily"})
	if len(runs) != 1 || runs[0].State != payrecon.RunFindings {
		t.Fatalf("runs: %+v", runs)
	}
	if n := g.calls.Load(); n != 3 {
		t.Errorf("trade bill fetched %d times, want 3 (two not ready, then ready)", n)
	}

	// Past the deadline the run is recorded as failed.
	g2 := &gatedProvider{Provider: &jobstest.Provider{Sc: p.Sc}, notReady: 1 << 30}
	db2 := storetest.Open(t, store.SQLite)
	// The clock stands at the end of day D, the deadline 50ms after it:
	// waits of 20ms and 40ms fit, the next (80ms) does not.
	endOfD := func() time.Time { return jobstest.DayD.End() }
	r2 := jobs.NewRunner(db2, schedTargets(g2), storetest.Logger(t), endOfD, jobs.Options{})
	s2, err := jobs.NewScheduler(r2, []jobs.Job{{Name: "daily", Spec: "30 10 * * *"}}, storetest.Logger(t),
		jobs.SchedulerOptions{Now: endOfD, RetryBackoff: 20 * time.Millisecond, BillReadyDeadline: 50 * time.Millisecond})
	storetest.Must(t, err)
	runs = s2.RunJob(context.Background(), jobs.Job{Name: "daily"})
	if len(runs) != 1 || runs[0].State != payrecon.RunFailed {
		t.Fatalf("runs: %+v", runs)
	}
	hist, err := db2.RunHistory(context.Background(), jobstest.Account, jobstest.DayD)
	storetest.Must(t, err)
	if len(hist) != 1 || hist[0].State != payrecon.RunFailed || hist[0].Error == "" {
		t.Errorf("history: %+v", hist)
	}
	if n := g2.calls.Load(); n != 3 {
		t.Errorf("trade bill fetched %d times before the deadline, want 3", n)
	}
}

func TestSchedulerShutdownLetsRunFinish(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	p := jobstest.NewPlan(8, 10)
	p.Load(t, db)
	g := &gatedProvider{Provider: &jobstest.Provider{Sc: p.Sc}, started: make(chan struct{}), hold: make(chan struct{})}
	r := jobs.NewRunner(db, schedTargets(g), storetest.Logger(t), fixedNow, jobs.Options{QueryBackoff: time.Millisecond})
	s, err := jobs.NewScheduler(r, []jobs.Job{{Name: "daily", Spec: "* * * * * *"}}, storetest.Logger(t),
		jobs.SchedulerOptions{Seconds: true, Now: fixedNow})
	storetest.Must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the job never fired")
	}
	cancel() // SIGTERM while the run is in flight
	select {
	case <-done:
		t.Fatal("scheduler returned while a run was in flight")
	case <-time.After(300 * time.Millisecond):
	}
	close(g.hold)
	select {
	case err := <-done:
		storetest.Must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("scheduler did not stop after the run finished")
	}
	latest, err := db.LatestRuns(context.Background(), nil, jobstest.DayD, jobstest.DayD)
	storetest.Must(t, err)
	if len(latest) != 1 || latest[0].State != payrecon.RunFindings {
		t.Errorf("the run in flight was not stored whole: %+v", latest)
	}
	if n := g.calls.Load(); n != 1 {
		t.Errorf("%d runs started; none may start after shutdown began", n)
	}
}

func TestSchedulerRejectsBadConfig(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	r := jobs.NewRunner(db, schedTargets(&jobstest.Provider{}), nil, fixedNow, jobs.Options{})
	if _, err := jobs.NewScheduler(r, []jobs.Job{{Name: "x", Spec: "not a spec"}}, nil, jobs.SchedulerOptions{}); err == nil {
		t.Error("bad spec accepted")
	}
	if _, err := jobs.NewScheduler(r, []jobs.Job{{Name: "x", Spec: "30 10 * * *", Accounts: []string{"nobody"}}}, nil, jobs.SchedulerOptions{}); err == nil {
		t.Error("unknown account accepted")
	}
	if _, err := jobs.NewScheduler(r, nil, nil, jobs.SchedulerOptions{}); err == nil {
		t.Error("no jobs accepted")
	}
}

// A payment still pending at the provider is carried over; the scheduler
// re-runs its day at the next step of the re-query schedule, where the
// provider's new answer (failed, and still in no bill) turns it into a
// missing_in_bill.
func TestSchedulerRechecksPendingOnSchedule(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	ledgerAt := jobstest.DayD.Start().Add(23*time.Hour + 30*time.Minute)
	sc := &scenario.Scenario{Payments: []scenario.Payment{{MerchantOrderNo: "OP1", ProviderTxnNo: "TP1", Status: payrecon.StatusPending,
		Amount: 900, PayerAmount: 900, CreatedAt: ledgerAt, PaidAt: ledgerAt}}}
	_, err := db.AddLedgerEntry(ctx, payrecon.LedgerEntry{Account: jobstest.Account, Provider: "fake", EventKey: "payment:TP1:success",
		Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess, MerchantOrderNo: "OP1", ProviderTxnNo: "TP1",
		Amount: 900, PayerAmount: 900, OccurredAt: ledgerAt})
	storetest.Must(t, err)
	// The clock runs from 300ms before the first step (1h after the ledger time).
	base, start := ledgerAt.Add(time.Hour-300*time.Millisecond), time.Now()
	now := func() time.Time { return base.Add(time.Since(start)) }
	r := jobs.NewRunner(db, schedTargets(&jobstest.Provider{Sc: sc}), storetest.Logger(t), now,
		jobs.Options{QueryBackoff: time.Millisecond, RequerySchedule: []time.Duration{time.Hour, 2 * time.Hour}})
	rechecked := make(chan payrecon.Run, 4)
	s, err := jobs.NewScheduler(r, []jobs.Job{{Name: "daily", Spec: "30 10 * * *"}}, storetest.Logger(t),
		jobs.SchedulerOptions{Now: now, AfterRun: func(_ context.Context, runs []payrecon.Run) {
			for _, run := range runs {
				rechecked <- run
			}
		}})
	storetest.Must(t, err)
	first := s.RunJob(ctx, jobs.Job{Name: "daily"})
	if len(first) != 1 || first[0].Totals.ByClass[payrecon.ClassCarriedOver].Count != 1 {
		t.Fatalf("first run: %+v", first)
	}
	<-rechecked // the job's own AfterRun
	sc.SetPaymentStatus("OP1", "TP1", payrecon.StatusFailed)
	var again payrecon.Run
	select {
	case again = <-rechecked:
	case <-time.After(10 * time.Second):
		t.Fatal("no re-check run at the schedule step")
	}
	if again.Day != jobstest.DayD || again.Totals.ByClass[payrecon.ClassMissingInBill].Count != 1 || again.Totals.ByClass[payrecon.ClassCarriedOver].Count != 0 {
		t.Errorf("re-check run: %+v", again.Totals.ByClass)
	}
	hist, err := db.RunHistory(ctx, jobstest.Account, jobstest.DayD)
	storetest.Must(t, err)
	if len(hist) != 2 || hist[0].State != payrecon.RunSuperseded {
		t.Errorf("history: %+v", hist)
	}
	// Shutting down cancels the re-checks still planned.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	storetest.Must(t, s.Run(cctx))
}
