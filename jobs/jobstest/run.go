package jobstest

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// Clock is a settable test clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *Clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// RunAfter sets the clock to 10:30 on the day after day, when a daily job runs.
func (c *Clock) RunAfter(day payrecon.Day) {
	c.Set(day.Add(1).Start().Add(10*time.Hour + 30*time.Minute))
}

// NewRunner is a runner over db for the one Account, served by p, on clk.
func NewRunner(t testing.TB, db *store.DB, p payrecon.Provider, clk *Clock, opts jobs.Options) *jobs.Runner {
	t.Helper()
	opts.QueryBackoff = time.Millisecond
	if opts.Version == "" {
		opts.Version = "test"
	}
	targets := map[string]jobs.Target{Account: {
		Account:  payrecon.Account{Name: Account, Provider: "fake", FeeRatePPM: RatePPM},
		Provider: p,
	}}
	return jobs.NewRunner(db, targets, storetest.Logger(t), clk.Now, opts)
}

// RunItems reads back every stored item of a run.
func RunItems(t testing.TB, db *store.DB, runID int64) []payrecon.Item {
	t.Helper()
	var out []payrecon.Item
	storetest.Must(t, db.RunItems(context.Background(), runID, func(it payrecon.Item) error {
		out = append(out, it)
		return nil
	}))
	return out
}

// CheckDay compares a stored run with the plan: every planted item in its
// class (recall), nothing else (precision), totals from the scenario and
// the ledger, the balance, and one proposed action per repairable item.
func CheckDay(t *testing.T, db *store.DB, p *Plan, day payrecon.Day, run payrecon.Run) {
	t.Helper()
	items := RunItems(t, db, run.ID)
	got := map[string]payrecon.Class{}
	for _, it := range items {
		id := ItemID(it)
		if _, dup := got[id]; dup {
			t.Errorf("%s: item %s stored twice", day, id)
		}
		got[id] = it.Class
		if it.OutsideBalance() {
			// settlement_mismatch: the planted difference in its own fields.
			if it.Delta != p.Sc.SettlementDelta[day] || it.Kind != payrecon.KindSettlement || len(it.BillFiles) < 2 ||
				it.MerchantOrderNo != "" || it.Action != payrecon.ActionManualReview {
				t.Errorf("%s: settlement item %+v: want delta %d, kind settlement, both bill files named, no merchant order no", day, it, p.Sc.SettlementDelta[day])
			}
			continue
		}
		if it.Delta != it.BillAmount-it.LedgerAmount {
			t.Errorf("%s: item %s: delta %d != bill %d - ledger %d", day, id, it.Delta, it.BillAmount, it.LedgerAmount)
		}
	}
	want := p.Want[day]
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
	wb, wl := p.WantTotals(day)
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
	if tot.Matched != p.WantMatched[day] {
		t.Errorf("%s: matched %d, want %d", day, tot.Matched, p.WantMatched[day])
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
	acts, err := db.ListActions(context.Background(), payrecon.ActionFilter{Account: Account})
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
			t.Errorf("%s: no %s action for %s", day, it.Action, ItemID(it))
		}
	}
}

// ItemsSig is what must not change on a re-run.
func ItemsSig(items []payrecon.Item) []payrecon.Item {
	out := make([]payrecon.Item, len(items))
	for i, it := range items {
		it.LedgerTime, it.BillTime = it.LedgerTime.UTC(), it.BillTime.UTC()
		out[i] = it
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// Days are the days a plan plants items on, in the order they are run.
var Days = []payrecon.Day{DayD, DayD1, DayD3}

// Advance makes day the one the daily job runs next: the provider's
// changes planned before it are applied and the clock stands at 10:30 on
// the day after.
func (p *Plan) Advance(clk *Clock, day payrecon.Day) {
	if f := p.Before[day]; f != nil {
		f(p.Sc)
	}
	clk.RunAfter(day)
}

// RunDays runs every planted day in order as the daily job would
// (Advance, then the run, which must succeed), checks each run with
// CheckDay and returns the runs.
func (p *Plan) RunDays(t *testing.T, db *store.DB, r *jobs.Runner, clk *Clock) []payrecon.Run {
	t.Helper()
	var runs []payrecon.Run
	for _, day := range Days {
		p.Advance(clk, day)
		run, err := r.RunDay(context.Background(), Account, day)
		if err != nil {
			t.Fatalf("run %s: %v", day, err)
		}
		CheckDay(t, db, p, day, run)
		runs = append(runs, run)
	}
	return runs
}
