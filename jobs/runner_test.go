package jobs_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// plainStore hides the store's optional fast paths (LedgerScanner), so
// the engine reads the ledger through LedgerEntries.
type plainStore struct{ jobs.Store }

func TestGroundTruth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, variant := range []string{"scan", "entries"} {
			t.Run(variant, func(t *testing.T) { groundTruth(t, db, variant == "entries") })
		}
	})
}

func groundTruth(t *testing.T, db *store.DB, plain bool) {
	t.Helper()
	if plain {
		// A fresh database for the second variant.
		db = storetest.Open(t, db.Dialect())
	}
	p := jobstest.NewPlan(42, 150)
	p.Load(t, db)
	fp := &jobstest.Provider{Sc: p.Sc, Flaky: true}
	clk := &jobstest.Clock{}
	var st jobs.Store = db
	if plain {
		st = plainStore{db}
	}
	r := jobs.NewRunner(st, map[string]jobs.Target{jobstest.Account: {
		Account:  payrecon.Account{Name: jobstest.Account, Provider: "fake", FeeRatePPM: jobstest.RatePPM},
		Provider: fp,
	}}, storetest.Logger(t), clk.Now, jobs.Options{QueryBackoff: time.Millisecond, Version: "test"})
	p.RunDays(t, db, r, clk)
	if fp.Queries.Load() == 0 {
		t.Error("the provider was never queried")
	}
	// Every class of the contract that a payment provider can produce was exercised.
	seen := map[payrecon.Class]bool{}
	for _, w := range p.Want {
		for _, c := range w {
			seen[c] = true
		}
	}
	for _, c := range payrecon.Classes {
		if c != payrecon.ClassMatched && !seen[c] {
			t.Errorf("class %s not planted", c)
		}
	}
}

func TestRerunKeepsAnswerIdentityAndReview(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := jobstest.NewPlan(7, 60)
		p.Load(t, db)
		clk := &jobstest.Clock{}
		clk.RunAfter(jobstest.DayD)
		r := jobstest.NewRunner(t, db, &jobstest.Provider{Sc: p.Sc}, clk, jobs.Options{})
		first, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD)
		storetest.Must(t, err)
		items1 := jobstest.RunItems(t, db, first.ID)
		acts1, err := db.ListActions(ctx, payrecon.ActionFilter{Account: jobstest.Account})
		storetest.Must(t, err)

		// A reviewer acknowledges a discrepancy.
		var reviewed payrecon.Item
		for _, it := range items1 {
			if it.Class == payrecon.ClassAmountMismatch {
				reviewed = it
				break
			}
		}
		if reviewed.Class == "" {
			t.Fatal("no amount_mismatch to review")
		}
		storetest.Must(t, db.SetReview(ctx, reviewed.Key(), store.ReviewAcknowledged, "alice", "known promo bug"))

		clk.Set(clk.Now().Add(2 * time.Hour))
		second, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD)
		storetest.Must(t, err)
		items2 := jobstest.RunItems(t, db, second.ID)
		if !reflect.DeepEqual(jobstest.ItemsSig(items1), jobstest.ItemsSig(items2)) {
			t.Errorf("re-run items differ:\nfirst  %+v\nsecond %+v", items1, items2)
		}
		if !reflect.DeepEqual(first.Totals, second.Totals) {
			t.Errorf("re-run totals differ: %+v vs %+v", first.Totals, second.Totals)
		}
		d, err := db.GetDiscrepancy(ctx, reviewed.Key())
		storetest.Must(t, err)
		if d.ReviewState != store.ReviewAcknowledged || d.Reviewer != "alice" || d.LastRunID != second.ID || d.FirstSeenDay != jobstest.DayD {
			t.Errorf("review state not kept across the re-run: %+v", d)
		}
		acts2, err := db.ListActions(ctx, payrecon.ActionFilter{Account: jobstest.Account})
		storetest.Must(t, err)
		if len(acts1) == 0 || len(acts2) != len(acts1) {
			t.Errorf("actions: %d after the first run, %d after the re-run", len(acts1), len(acts2))
		}
		hist, err := db.RunHistory(ctx, jobstest.Account, jobstest.DayD)
		storetest.Must(t, err)
		if len(hist) != 2 || hist[0].State != payrecon.RunSuperseded || hist[1].State != payrecon.RunFindings {
			t.Errorf("history: %+v", hist)
		}
		latest, err := db.LatestRuns(ctx, []string{jobstest.Account}, jobstest.DayD, jobstest.DayD)
		storetest.Must(t, err)
		if len(latest) != 1 || latest[0].ID != second.ID {
			t.Errorf("latest runs: %+v, want run %d", latest, second.ID)
		}
		// The superseded run's items are kept (history).
		if n := len(jobstest.RunItems(t, db, first.ID)); n != len(items1) {
			t.Errorf("superseded run lost items: %d of %d", n, len(items1))
		}

		// Re-running the next day twice also gives the same answer: the
		// carry-overs resolved by the first D+1 run are still open for the second.
		p.Advance(clk, jobstest.DayD1)
		a, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD1)
		storetest.Must(t, err)
		b, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD1)
		storetest.Must(t, err)
		if !reflect.DeepEqual(jobstest.ItemsSig(jobstest.RunItems(t, db, a.ID)), jobstest.ItemsSig(jobstest.RunItems(t, db, b.ID))) || !reflect.DeepEqual(a.Totals, b.Totals) {
			t.Errorf("D+1 re-run differs")
		}
		jobstest.CheckDay(t, db, p, jobstest.DayD1, b)
	})
}

func TestFailuresAreRecordedAndOthersGoOn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := jobstest.NewPlan(3, 20)
		p.Load(t, db)
		clk := &jobstest.Clock{}
		clk.RunAfter(jobstest.DayD)
		good := &jobstest.Provider{Sc: p.Sc}
		bad := &jobstest.Provider{Sc: p.Sc, FailQueries: true}
		targets := map[string]jobs.Target{
			jobstest.Account: {Account: payrecon.Account{Name: jobstest.Account, Provider: "fake", FeeRatePPM: jobstest.RatePPM}, Provider: good},
			"broken":         {Account: payrecon.Account{Name: "broken", Provider: "fake"}, Provider: bad},
		}
		// "broken" has no ledger, so the bill's lines must all be queried, and every query fails.
		r := jobs.NewRunner(db, targets, storetest.Logger(t), clk.Now, jobs.Options{QueryBackoff: time.Millisecond})
		runs, err := r.RunRange(ctx, nil, jobstest.DayD, jobstest.DayD)
		if err == nil {
			t.Fatal("want the broken account's error")
		}
		if len(runs) != 2 {
			t.Fatalf("runs: %+v", runs)
		}
		latest, lerr := db.LatestRuns(ctx, nil, jobstest.DayD, jobstest.DayD)
		storetest.Must(t, lerr)
		states := map[string]payrecon.RunState{}
		for _, run := range latest {
			states[run.Account] = run.State
		}
		if states["broken"] != payrecon.RunFailed || states[jobstest.Account] != payrecon.RunFindings {
			t.Errorf("states %v", states)
		}

		// A bill not published yet is an ErrBillNotReady error and records nothing.
		p.Sc.NotReady = map[payrecon.Day]bool{jobstest.DayD1: true}
		_, err = r.RunDay(ctx, jobstest.Account, jobstest.DayD1)
		if !errors.Is(err, payrecon.ErrBillNotReady) {
			t.Fatalf("want ErrBillNotReady, got %v", err)
		}
		hist, herr := db.RunHistory(ctx, jobstest.Account, jobstest.DayD1)
		storetest.Must(t, herr)
		if len(hist) != 0 {
			t.Errorf("not-ready run recorded: %+v", hist)
		}
	})
}

// shiftedLedger changes every entry re-read by id (as if a repair changed
// the ledger while the run was matching): the books then cannot balance.
type shiftedLedger struct{ *store.DB }

func (s shiftedLedger) LedgerEntry(ctx context.Context, id int64) (payrecon.LedgerEntry, error) {
	e, err := s.DB.LedgerEntry(ctx, id)
	e.Amount++
	return e, err
}

func TestUnbalancedRunFailsAndStoresNothingElse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := jobstest.NewPlan(13, 20)
		p.Load(t, db)
		clk := &jobstest.Clock{}
		clk.RunAfter(jobstest.DayD)
		targets := map[string]jobs.Target{jobstest.Account: {Account: payrecon.Account{Name: jobstest.Account, Provider: "fake", FeeRatePPM: jobstest.RatePPM}, Provider: &jobstest.Provider{Sc: p.Sc}}}
		r := jobs.NewRunner(shiftedLedger{db}, targets, storetest.Logger(t), clk.Now, jobs.Options{QueryBackoff: time.Millisecond})
		run, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD)
		if !errors.Is(err, payrecon.ErrUnbalanced) {
			t.Fatalf("want ErrUnbalanced, got %v", err)
		}
		hist, herr := db.RunHistory(ctx, jobstest.Account, jobstest.DayD)
		storetest.Must(t, herr)
		if len(hist) != 1 || hist[0].State != payrecon.RunFailed || hist[0].ID != run.ID || len(jobstest.RunItems(t, db, run.ID)) != 0 {
			t.Errorf("history %+v", hist)
		}
		acts, aerr := db.ListActions(ctx, payrecon.ActionFilter{Account: jobstest.Account})
		storetest.Must(t, aerr)
		if len(acts) != 0 {
			t.Errorf("an unbalanced run proposed %d actions", len(acts))
		}
	})
}

// An agreement signed days ago and terminated at the provider since (the
// unsign callback was lost) is caught only by the periodic re-check.
func TestAgreementPeriodicRecheck(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	signed := jobstest.DayD.Add(-5).Start().Add(10 * time.Hour)
	sc := &scenario.Scenario{Agreements: []scenario.Agreement{
		{AgreementNo: "AGOLD", MerchantAgreeNo: "MAGOLD", Status: payrecon.StatusUnsigned, SignedAt: signed, TerminatedAt: signed.Add(48 * time.Hour)},
		{AgreementNo: "AGOK", MerchantAgreeNo: "MAGOK", Status: payrecon.StatusSigned, SignedAt: signed},
	}}
	for _, no := range []string{"AGOLD", "AGOK"} {
		_, err := db.AddLedgerEntry(ctx, payrecon.LedgerEntry{Account: jobstest.Account, Provider: "fake", EventKey: payrecon.EventKey(payrecon.KindAgreement, no, payrecon.StatusSigned),
			Kind: payrecon.KindAgreement, Status: payrecon.StatusSigned, AgreementNo: no, MerchantAgreeNo: "M" + no, OccurredAt: signed})
		storetest.Must(t, err)
	}
	clk := &jobstest.Clock{}
	clk.RunAfter(jobstest.DayD)
	for _, every := range []int{0, 1} {
		r := jobstest.NewRunner(t, db, &jobstest.Provider{Sc: sc}, clk, jobs.Options{AgreementRecheckDays: every})
		run, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD)
		storetest.Must(t, err)
		got := run.Totals.ByClass[payrecon.ClassAgreementMismatch].Count
		want := int64(every) // 0: only today's changes are checked; 1: every day re-checks all
		if got != want || run.Totals.LedgerLines != 0 || run.Totals.Matched != 0 {
			t.Errorf("recheck every %d days: %d agreement mismatches (want %d), totals %+v", every, got, want, run.Totals)
		}
		if every == 1 {
			for _, it := range jobstest.RunItems(t, db, run.ID) {
				if it.AgreementNo != "AGOLD" || it.Action != payrecon.ActionCorrectAgreement {
					t.Errorf("item %+v", it)
				}
			}
		}
	}
}

// A provider that says it has no bill for the day (payrecon.ErrNoBill): not
// ready before noon of the next day (nothing recorded), a day without
// transactions after it: the ledger's entries are put to the provider — a
// payment it confirms is carried over, one it does not know is
// missing_in_bill — and the books balance.
func TestNoBillDay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		day := jobstest.DayD
		at := day.Start().Add(9 * time.Hour)
		known := scenario.Payment{MerchantOrderNo: "NB1", ProviderTxnNo: "TNB1", Status: payrecon.StatusSuccess, Amount: 1200, PayerAmount: 1200,
			CreatedAt: at, PaidAt: at, BillDay: day.Add(1)}
		forged := scenario.Payment{MerchantOrderNo: "NB2", ProviderTxnNo: "TNB2", Status: payrecon.StatusSuccess, Amount: 800, PayerAmount: 800, CreatedAt: at, PaidAt: at}
		for _, p := range []scenario.Payment{known, forged} {
			_, err := db.AddLedgerEntry(ctx, jobstest.LedgerOf(p))
			storetest.Must(t, err)
		}
		sc := &scenario.Scenario{Payments: []scenario.Payment{known}}
		clk := &jobstest.Clock{}
		r := jobstest.NewRunner(t, db, &jobstest.Provider{Sc: sc, NoBill: map[payrecon.Day]bool{day: true}}, clk, jobs.Options{})

		clk.Set(day.End().Add(11 * time.Hour)) // 11:00 the next day: the provider may still be generating it
		if _, err := r.RunDay(ctx, jobstest.Account, day); !errors.Is(err, payrecon.ErrBillNotReady) || !errors.Is(err, payrecon.ErrNoBill) {
			t.Fatalf("before noon: %v, want ErrBillNotReady (wrapping ErrNoBill)", err)
		}
		if hist, _ := db.RunHistory(ctx, jobstest.Account, day); len(hist) != 0 {
			t.Fatalf("a not-ready day recorded runs: %+v", hist)
		}

		clk.Set(day.End().Add(13 * time.Hour))
		run, err := r.RunDay(ctx, jobstest.Account, day)
		storetest.Must(t, err)
		got := map[string]payrecon.Class{}
		for _, it := range jobstest.RunItems(t, db, run.ID) {
			got[it.ProviderTxnNo] = it.Class
		}
		if got["TNB1"] != payrecon.ClassCarriedOver || got["TNB2"] != payrecon.ClassMissingInBill || len(got) != 2 {
			t.Errorf("items %v, want TNB1 carried_over and TNB2 missing_in_bill", got)
		}
		if run.Totals.BillLines != 0 || run.Totals.LedgerTotal != 2000 || !run.Totals.Balanced() || len(run.Bills) != 1 || run.Bills[0].Lines != 0 {
			t.Errorf("run %+v", run)
		}
	})
}
