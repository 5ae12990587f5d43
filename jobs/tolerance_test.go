package jobs_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// Tolerance rules on a real run: a re-run with rules keeps every item's
// class and delta and the balance to the fen, marks tolerated exactly the
// items a rule covers (within its daily cap), counts them separately in the
// totals, sets due days from the SLA, and dismisses their repair actions.
func TestToleranceKeepsBalance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := jobstest.NewPlan(11, 60)
		p.Load(t, db)
		clk := &jobstest.Clock{}
		clk.RunAfter(jobstest.DayD)
		plain := jobstest.NewRunner(t, db, &jobstest.Provider{Sc: p.Sc}, clk, jobs.Options{})
		first, err := plain.RunDay(ctx, jobstest.Account, jobstest.DayD)
		storetest.Must(t, err)
		items := jobstest.RunItems(t, db, first.ID)

		// Bound the amount rule at the smallest amount_mismatch, so some
		// are tolerated and (with two or more distinct amounts) some not.
		// The capped rule takes a class with two or more items.
		var bound int64 = -1
		count := map[payrecon.Class]int{}
		for _, it := range items {
			count[it.Class]++
			if it.Class == payrecon.ClassAmountMismatch {
				if a := payrecon.ItemAmount(it); bound < 0 || a < bound {
					bound = a
				}
			}
		}
		var capped payrecon.Class
		for _, c := range payrecon.Classes {
			if c.IsDiscrepancy() && c != payrecon.ClassAmountMismatch && count[c] >= 2 {
				capped = c
				break
			}
		}
		if bound < 0 || capped == "" {
			t.Fatalf("plan lacks amount_mismatch or a class with two items: %v", count)
		}
		policy := &jobs.ReviewPolicy{
			SLA:         []jobs.SLATier{{MinAmount: 100_00, Days: 1}},
			DefaultDays: 5,
			Tolerances: []jobs.ToleranceRule{
				{Name: "any_one", Classes: []payrecon.Class{capped}, MaxPerLine: 1 << 40, DailyMaxCount: 1},
				{Name: "small_amount", Accounts: []string{jobstest.Account}, Classes: []payrecon.Class{payrecon.ClassAmountMismatch}, MaxPerLine: bound},
			},
		}
		clk.Set(clk.Now().Add(3600e9))
		tol := jobstest.NewRunner(t, db, &jobstest.Provider{Sc: p.Sc}, clk, jobs.Options{Review: policy})
		second, err := tol.RunDay(ctx, jobstest.Account, jobstest.DayD)
		storetest.Must(t, err)
		items2 := jobstest.RunItems(t, db, second.ID)
		if !reflect.DeepEqual(jobstest.ItemsSig(items), jobstest.ItemsSig(items2)) {
			t.Fatal("tolerance changed the items")
		}
		if !second.Totals.Balanced() || second.Totals.Difference != first.Totals.Difference || !reflect.DeepEqual(second.Totals.ByClass, first.Totals.ByClass) {
			t.Fatalf("totals changed: %+v vs %+v", second.Totals, first.Totals)
		}

		reviews, err := db.ReviewsOfRun(ctx, second.ID)
		storetest.Must(t, err)
		var tolCount, tolAmount int64
		perRule := map[string]int{}
		for _, it := range items2 {
			if !it.Class.IsDiscrepancy() {
				continue
			}
			rv, ok := reviews[it.Key()]
			if !ok {
				t.Fatalf("no review for %s", jobstest.ItemID(it))
			}
			amount := payrecon.ItemAmount(it)
			wantDue := jobstest.DayD.Add(5)
			if it.OriginDay != "" && it.OriginDay < jobstest.DayD {
				wantDue = it.OriginDay.Add(5)
			}
			if amount >= 100_00 {
				wantDue = wantDue.Add(-4)
			}
			if rv.DueDay != wantDue {
				t.Errorf("%s (amount %d): due %s, want %s", jobstest.ItemID(it), amount, rv.DueDay, wantDue)
			}
			if rv.State != payrecon.ReviewTolerated {
				if it.Class == payrecon.ClassAmountMismatch && amount <= bound {
					t.Errorf("%s (amount %d ≤ %d) not tolerated: %s", jobstest.ItemID(it), amount, bound, rv.State)
				}
				continue
			}
			perRule[rv.Rule]++
			tolCount++
			tolAmount += it.Delta
			switch rv.Rule {
			case "small_amount":
				if it.Class != payrecon.ClassAmountMismatch || amount > bound {
					t.Errorf("%s tolerated by %s: class %s amount %d", jobstest.ItemID(it), rv.Rule, it.Class, amount)
				}
			case "any_one":
				if it.Class != capped {
					t.Errorf("%s tolerated by %s: class %s", jobstest.ItemID(it), rv.Rule, it.Class)
				}
			default:
				t.Errorf("%s: unknown rule %q", jobstest.ItemID(it), rv.Rule)
			}
			acts, err := db.ListActions(ctx, payrecon.ActionFilter{Account: jobstest.Account})
			storetest.Must(t, err)
			for _, a := range acts {
				if a.DiscrepancyKey == it.Key() && a.State != payrecon.ActionDismissed {
					t.Errorf("tolerated %s keeps action %d in state %s", jobstest.ItemID(it), a.ID, a.State)
				}
			}
		}
		if perRule["any_one"] != 1 || perRule["small_amount"] == 0 {
			t.Errorf("tolerated per rule: %v (cap of one fee item, at least one small amount)", perRule)
		}
		if second.Totals.Tolerated.Count != tolCount || second.Totals.Tolerated.Amount != tolAmount {
			t.Errorf("totals tolerated %+v, reviews say %d items %d fen", second.Totals.Tolerated, tolCount, tolAmount)
		}
		// The stored run keeps the tolerated totals (reports read them).
		latest, err := db.LatestRuns(ctx, []string{jobstest.Account}, jobstest.DayD, jobstest.DayD)
		storetest.Must(t, err)
		if latest[0].Totals.Tolerated != second.Totals.Tolerated {
			t.Errorf("stored tolerated totals %+v, run had %+v", latest[0].Totals.Tolerated, second.Totals.Tolerated)
		}
	})
}

// Carried-over items still absent after the configured number of days
// (review.carry_over_days → Options.CarryOverDays) escalate to discrepancies
// with their own note, aged from the day they were first seen.
func TestCarryOverEscalatesAfterConfiguredDays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := jobstest.NewPlan(5, 20)
		p.Load(t, db)
		clk := &jobstest.Clock{}
		r := jobstest.NewRunner(t, db, &jobstest.Provider{Sc: p.Sc}, clk, jobs.Options{CarryOverDays: 2})
		clk.RunAfter(jobstest.DayD)
		first, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD)
		storetest.Must(t, err)
		carried := map[string]bool{}
		for _, it := range jobstest.RunItems(t, db, first.ID) {
			if it.Class == payrecon.ClassCarriedOver {
				carried[it.Key()] = true
			}
		}
		if len(carried) == 0 {
			t.Fatal("plan has no carried-over item")
		}
		later := jobstest.DayD.Add(2)
		clk.RunAfter(later)
		second, err := r.RunDay(ctx, jobstest.Account, later)
		storetest.Must(t, err)
		escalated := 0
		for _, it := range jobstest.RunItems(t, db, second.ID) {
			if !carried[it.ResolvesKey] {
				continue
			}
			if !it.Class.IsDiscrepancy() || it.Note == "" || !strings.Contains(it.Note, "carried over 2 days") || it.OriginDay != jobstest.DayD {
				t.Errorf("carry-over %s on %s: %s %q", it.ResolvesKey, later, it.Class, it.Note)
				continue
			}
			escalated++
			rv, err := db.GetReview(ctx, it.Key())
			storetest.Must(t, err)
			if rv.FirstSeenDay != jobstest.DayD || rv.AgeDays(later) != 2 || rv.State != payrecon.ReviewOpen {
				t.Errorf("escalated review: %+v", rv)
			}
		}
		if escalated != len(carried) {
			t.Errorf("%d of %d carried-over items escalated after 2 days", escalated, len(carried))
		}
	})
}
