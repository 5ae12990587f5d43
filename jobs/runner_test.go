package jobs_test

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// runAfter sets the clock to 10:30 on the day after day, when a daily job runs.
func (c *clock) runAfter(day payrecon.Day) {
	c.Set(day.Add(1).Start().Add(10*time.Hour + 30*time.Minute))
}

func newRunner(t testing.TB, db *store.DB, p payrecon.Provider, clk *clock, opts jobs.Options) *jobs.Runner {
	t.Helper()
	opts.QueryBackoff = time.Millisecond
	if opts.Version == "" {
		opts.Version = "test"
	}
	targets := map[string]jobs.Target{testAccount: {
		Account:  payrecon.Account{Name: testAccount, Provider: "fake", FeeRatePPM: testRatePPM},
		Provider: p,
	}}
	return jobs.NewRunner(db, targets, storetest.Logger(t), clk.Now, opts)
}

func runItems(t testing.TB, db *store.DB, runID int64) []payrecon.Item {
	t.Helper()
	var out []payrecon.Item
	storetest.Must(t, db.RunItems(context.Background(), runID, func(it payrecon.Item) error {
		out = append(out, it)
		return nil
	}))
	return out
}

// checkDay compares a stored run with the plan: every planted item in its
// class (recall), nothing else (precision), totals from the scenario and
// the ledger, the balance, and one proposed action per repairable item.
func checkDay(t *testing.T, db *store.DB, p *plan, day payrecon.Day, run payrecon.Run) {
	t.Helper()
	items := runItems(t, db, run.ID)
	got := map[string]payrecon.Class{}
	for _, it := range items {
		id := itemID(it)
		if _, dup := got[id]; dup {
			t.Errorf("%s: item %s stored twice", day, id)
		}
		got[id] = it.Class
		if it.OutsideBalance() {
			// settlement_mismatch: the planted difference in its own fields.
			if it.Delta != p.sc.SettlementDelta[day] || it.Kind != payrecon.KindSettlement || len(it.BillFiles) < 2 ||
				it.MerchantOrderNo != "" || it.Action != payrecon.ActionManualReview {
				t.Errorf("%s: settlement item %+v: want delta %d, kind settlement, both bill files named, no merchant order no", day, it, p.sc.SettlementDelta[day])
			}
			continue
		}
		if it.Delta != it.BillAmount-it.LedgerAmount {
			t.Errorf("%s: item %s: delta %d != bill %d - ledger %d", day, id, it.Delta, it.BillAmount, it.LedgerAmount)
		}
	}
	want := p.want[day]
	for id := range want {
		if _, ok := got[id]; !ok {
			t.Errorf("%s: recall: planted %s not found", day, id)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s: precision: unexpected item %s", day, id)
		}
	}
	tot := run.Totals
	wb, wl := p.wantTotals(day)
	if tot.BillTotal != wb || tot.LedgerTotal != wl {
		t.Errorf("%s: totals bill %d ledger %d, want %d and %d", day, tot.BillTotal, tot.LedgerTotal, wb, wl)
	}
	if !tot.Balanced() || tot.Difference != wb-wl {
		t.Errorf("%s: not balanced: difference %d explained %d", day, tot.Difference, tot.Explained)
	}
	var sum int64
	for _, it := range items {
		if !it.OutsideBalance() {
			sum += it.Delta
		}
	}
	if sum != tot.Difference {
		t.Errorf("%s: stored deltas sum to %d, difference is %d", day, sum, tot.Difference)
	}
	if tot.Matched != p.wantMatched[day] {
		t.Errorf("%s: matched %d, want %d", day, tot.Matched, p.wantMatched[day])
	}
	wantState := payrecon.RunClean
	for _, c := range want {
		if c.IsDiscrepancy() {
			wantState = payrecon.RunFindings
		}
	}
	if run.State != wantState {
		t.Errorf("%s: state %s, want %s", day, run.State, wantState)
	}
	// One proposed action per repairable item.
	acts, err := db.ListActions(context.Background(), payrecon.ActionFilter{Account: testAccount})
	storetest.Must(t, err)
	have := map[string]bool{}
	for _, a := range acts {
		have[a.DiscrepancyKey+"|"+string(a.Kind)] = true
	}
	for _, it := range items {
		if it.Action == payrecon.ActionNone || it.Action == payrecon.ActionRecheck {
			continue
		}
		if !have[it.Key()+"|"+string(it.Action)] {
			t.Errorf("%s: no %s action for %s", day, it.Action, itemID(it))
		}
	}
}

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
	ctx := context.Background()
	if plain {
		// A fresh database for the second variant.
		db = storetest.Open(t, db.Dialect())
	}
	p := newPlan(42, 150)
	p.load(t, db)
	fp := &scProvider{sc: p.sc, flaky: true}
	clk := &clock{}
	var st jobs.Store = db
	if plain {
		st = plainStore{db}
	}
	r := jobs.NewRunner(st, map[string]jobs.Target{testAccount: {
		Account:  payrecon.Account{Name: testAccount, Provider: "fake", FeeRatePPM: testRatePPM},
		Provider: fp,
	}}, storetest.Logger(t), clk.Now, jobs.Options{QueryBackoff: time.Millisecond, Version: "test"})
	for _, day := range []payrecon.Day{dayD, dayD1, dayD3} {
		if f := p.before[day]; f != nil {
			f(p.sc)
		}
		clk.runAfter(day)
		run, err := r.RunDay(ctx, testAccount, day)
		if err != nil {
			t.Fatalf("run %s: %v", day, err)
		}
		checkDay(t, db, p, day, run)
	}
	if fp.queries.Load() == 0 {
		t.Error("the provider was never queried")
	}
	// Every class of the contract that a payment provider can produce was exercised.
	seen := map[payrecon.Class]bool{}
	for _, w := range p.want {
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

// itemsSig is what must not change on a re-run.
func itemsSig(items []payrecon.Item) []payrecon.Item {
	out := make([]payrecon.Item, len(items))
	for i, it := range items {
		it.LedgerTime, it.BillTime = it.LedgerTime.UTC(), it.BillTime.UTC()
		out[i] = it
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

func TestRerunKeepsAnswerIdentityAndReview(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPlan(7, 60)
		p.load(t, db)
		clk := &clock{}
		clk.runAfter(dayD)
		r := newRunner(t, db, &scProvider{sc: p.sc}, clk, jobs.Options{})
		first, err := r.RunDay(ctx, testAccount, dayD)
		storetest.Must(t, err)
		items1 := runItems(t, db, first.ID)
		acts1, err := db.ListActions(ctx, payrecon.ActionFilter{Account: testAccount})
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
		second, err := r.RunDay(ctx, testAccount, dayD)
		storetest.Must(t, err)
		items2 := runItems(t, db, second.ID)
		if !reflect.DeepEqual(itemsSig(items1), itemsSig(items2)) {
			t.Errorf("re-run items differ:\nfirst  %+v\nsecond %+v", items1, items2)
		}
		if !reflect.DeepEqual(first.Totals, second.Totals) {
			t.Errorf("re-run totals differ: %+v vs %+v", first.Totals, second.Totals)
		}
		d, err := db.GetDiscrepancy(ctx, reviewed.Key())
		storetest.Must(t, err)
		if d.ReviewState != store.ReviewAcknowledged || d.Reviewer != "alice" || d.LastRunID != second.ID || d.FirstSeenDay != dayD {
			t.Errorf("review state not kept across the re-run: %+v", d)
		}
		acts2, err := db.ListActions(ctx, payrecon.ActionFilter{Account: testAccount})
		storetest.Must(t, err)
		if len(acts1) == 0 || len(acts2) != len(acts1) {
			t.Errorf("actions: %d after the first run, %d after the re-run", len(acts1), len(acts2))
		}
		hist, err := db.RunHistory(ctx, testAccount, dayD)
		storetest.Must(t, err)
		if len(hist) != 2 || hist[0].State != payrecon.RunSuperseded || hist[1].State != payrecon.RunFindings {
			t.Errorf("history: %+v", hist)
		}
		latest, err := db.LatestRuns(ctx, []string{testAccount}, dayD, dayD)
		storetest.Must(t, err)
		if len(latest) != 1 || latest[0].ID != second.ID {
			t.Errorf("latest runs: %+v, want run %d", latest, second.ID)
		}
		// The superseded run's items are kept (history).
		if n := len(runItems(t, db, first.ID)); n != len(items1) {
			t.Errorf("superseded run lost items: %d of %d", n, len(items1))
		}

		// Re-running the next day twice also gives the same answer: the
		// carry-overs resolved by the first D+1 run are still open for the second.
		if f := p.before[dayD1]; f != nil {
			f(p.sc)
		}
		clk.runAfter(dayD1)
		a, err := r.RunDay(ctx, testAccount, dayD1)
		storetest.Must(t, err)
		b, err := r.RunDay(ctx, testAccount, dayD1)
		storetest.Must(t, err)
		if !reflect.DeepEqual(itemsSig(runItems(t, db, a.ID)), itemsSig(runItems(t, db, b.ID))) || !reflect.DeepEqual(a.Totals, b.Totals) {
			t.Errorf("D+1 re-run differs")
		}
		checkDay(t, db, p, dayD1, b)
	})
}

func TestFailuresAreRecordedAndOthersGoOn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPlan(3, 20)
		p.load(t, db)
		clk := &clock{}
		clk.runAfter(dayD)
		good := &scProvider{sc: p.sc}
		bad := &scProvider{sc: p.sc, failQueries: true}
		targets := map[string]jobs.Target{
			testAccount: {Account: payrecon.Account{Name: testAccount, Provider: "fake", FeeRatePPM: testRatePPM}, Provider: good},
			"broken":    {Account: payrecon.Account{Name: "broken", Provider: "fake"}, Provider: bad},
		}
		// "broken" has no ledger, so the bill's lines must all be queried, and every query fails.
		r := jobs.NewRunner(db, targets, storetest.Logger(t), clk.Now, jobs.Options{QueryBackoff: time.Millisecond})
		runs, err := r.RunRange(ctx, nil, dayD, dayD)
		if err == nil {
			t.Fatal("want the broken account's error")
		}
		if len(runs) != 2 {
			t.Fatalf("runs: %+v", runs)
		}
		latest, lerr := db.LatestRuns(ctx, nil, dayD, dayD)
		storetest.Must(t, lerr)
		states := map[string]payrecon.RunState{}
		for _, run := range latest {
			states[run.Account] = run.State
		}
		if states["broken"] != payrecon.RunFailed || states[testAccount] != payrecon.RunFindings {
			t.Errorf("states %v", states)
		}

		// A bill not published yet is an ErrBillNotReady error and records nothing.
		p.sc.NotReady = map[payrecon.Day]bool{dayD1: true}
		_, err = r.RunDay(ctx, testAccount, dayD1)
		if !errors.Is(err, payrecon.ErrBillNotReady) {
			t.Fatalf("want ErrBillNotReady, got %v", err)
		}
		hist, herr := db.RunHistory(ctx, testAccount, dayD1)
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
		p := newPlan(13, 20)
		p.load(t, db)
		clk := &clock{}
		clk.runAfter(dayD)
		targets := map[string]jobs.Target{testAccount: {Account: payrecon.Account{Name: testAccount, Provider: "fake", FeeRatePPM: testRatePPM}, Provider: &scProvider{sc: p.sc}}}
		r := jobs.NewRunner(shiftedLedger{db}, targets, storetest.Logger(t), clk.Now, jobs.Options{QueryBackoff: time.Millisecond})
		run, err := r.RunDay(ctx, testAccount, dayD)
		if !errors.Is(err, payrecon.ErrUnbalanced) {
			t.Fatalf("want ErrUnbalanced, got %v", err)
		}
		hist, herr := db.RunHistory(ctx, testAccount, dayD)
		storetest.Must(t, herr)
		if len(hist) != 1 || hist[0].State != payrecon.RunFailed || hist[0].ID != run.ID || len(runItems(t, db, run.ID)) != 0 {
			t.Errorf("history %+v", hist)
		}
		acts, aerr := db.ListActions(ctx, payrecon.ActionFilter{Account: testAccount})
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
	signed := dayD.Add(-5).Start().Add(10 * time.Hour)
	sc := &scenario.Scenario{Agreements: []scenario.Agreement{
		{AgreementNo: "AGOLD", MerchantAgreeNo: "MAGOLD", Status: payrecon.StatusUnsigned, SignedAt: signed, TerminatedAt: signed.Add(48 * time.Hour)},
		{AgreementNo: "AGOK", MerchantAgreeNo: "MAGOK", Status: payrecon.StatusSigned, SignedAt: signed},
	}}
	for _, no := range []string{"AGOLD", "AGOK"} {
		_, err := db.AddLedgerEntry(ctx, payrecon.LedgerEntry{Account: testAccount, Provider: "fake", EventKey: payrecon.EventKey(payrecon.KindAgreement, no, payrecon.StatusSigned),
			Kind: payrecon.KindAgreement, Status: payrecon.StatusSigned, AgreementNo: no, MerchantAgreeNo: "M" + no, OccurredAt: signed})
		storetest.Must(t, err)
	}
	clk := &clock{}
	clk.runAfter(dayD)
	for _, every := range []int{0, 1} {
		r := newRunner(t, db, &scProvider{sc: sc}, clk, jobs.Options{AgreementRecheckDays: every})
		run, err := r.RunDay(ctx, testAccount, dayD)
		storetest.Must(t, err)
		got := run.Totals.ByClass[payrecon.ClassAgreementMismatch].Count
		want := int64(every) // 0: only today's changes are checked; 1: every day re-checks all
		if got != want || run.Totals.LedgerLines != 0 || run.Totals.Matched != 0 {
			t.Errorf("recheck every %d days: %d agreement mismatches (want %d), totals %+v", every, got, want, run.Totals)
		}
		if every == 1 {
			for _, it := range runItems(t, db, run.ID) {
				if it.AgreementNo != "AGOLD" || it.Action != payrecon.ActionCorrectAgreement {
					t.Errorf("item %+v", it)
				}
			}
		}
	}
}
