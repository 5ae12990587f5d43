package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// reviewActions are the actions a run stores for the test's classes.
var reviewActions = map[payrecon.Class]payrecon.ActionKind{
	payrecon.ClassMissingInLedger: payrecon.ActionBackfillLedger, payrecon.ClassMissingInBill: payrecon.ActionReverseLedger,
	payrecon.ClassAmountMismatch: payrecon.ActionManualReview, payrecon.ClassFeeMismatch: payrecon.ActionManualReview,
}

func reviewItem(n int, class payrecon.Class, delta int64) payrecon.Item {
	return payrecon.Item{Account: "acc", Day: runDay, Class: class, Kind: payrecon.KindPayment,
		MerchantOrderNo: fmt.Sprintf("O%d", n), ProviderTxnNo: fmt.Sprintf("T%d", n),
		LedgerAmount: 1000, BillAmount: 1000 + delta, Delta: delta, Action: reviewActions[class]}
}

func ptr[T any](v T) *T { return &v }

func saveItems(t *testing.T, db *store.DB, day payrecon.Day, items []payrecon.Item) *payrecon.Run {
	t.Helper()
	var acts []payrecon.Action
	for _, it := range items {
		it.Day = day
		if it.Action != payrecon.ActionNone && it.Tolerance == "" {
			acts = append(acts, payrecon.Action{DiscrepancyKey: it.Key(), Account: it.Account, Day: day, Kind: it.Action, Item: it})
		}
	}
	run := &payrecon.Run{Account: "acc", Provider: "fake", Day: day, State: payrecon.RunFindings}
	storetest.Must(t, db.SaveRun(context.Background(), run, items, acts))
	return run
}

// Review state: created open (tolerated when a rule covers it, audited as
// the run's change), changed with audit (who, when, source, before, after),
// kept across re-runs, conditioned on a version, written off with a reason
// that dismisses the pending repair.
func TestReviewLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &fakeClock{t: time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)}
		db.Now = clk.Now

		a := reviewItem(1, payrecon.ClassMissingInLedger, 1000)
		a.DueDay = runDay.Add(3)
		b := reviewItem(2, payrecon.ClassFeeMismatch, 0)
		b.LedgerFee, b.BillFee, b.Tolerance = 6, 7, "fee_rounding"
		saveItems(t, db, runDay, []payrecon.Item{a, b})

		ra, err := db.GetReview(ctx, a.Key())
		storetest.Must(t, err)
		if ra.State != payrecon.ReviewOpen || ra.Version != 0 || ra.DueDay != runDay.Add(3) || ra.Amount != 1000 || ra.Ref != "txn T1" || ra.LastDay != runDay {
			t.Fatalf("new review: %+v", ra)
		}
		rb, err := db.GetReview(ctx, b.Key())
		storetest.Must(t, err)
		if rb.State != payrecon.ReviewTolerated || rb.Rule != "fee_rounding" || rb.Version != 1 || rb.Amount != 1 {
			t.Fatalf("tolerated review: %+v", rb)
		}
		audit, err := db.ReviewAudit(ctx, b.Key())
		storetest.Must(t, err)
		if len(audit) != 1 || audit[0].Source != payrecon.SourceRun || audit[0].Before.State != payrecon.ReviewOpen || audit[0].After.Rule != "fee_rounding" {
			t.Fatalf("tolerance audit: %+v", audit)
		}

		// Assign and investigate from the CLI.
		clk.Advance(time.Hour)
		got, changed, err := db.ChangeReview(ctx, a.Key(), payrecon.ReviewChange{State: ptr(payrecon.ReviewInvestigating),
			Assignee: ptr("alice"), Note: ptr("asking the provider"), Comment: "asking the provider", Actor: "bob", Source: payrecon.SourceCLI, IfVersion: 0})
		storetest.Must(t, err)
		if !changed || got.Version != 1 || got.Assignee != "alice" || got.UpdatedBy != "bob" {
			t.Fatalf("after change: %+v", got)
		}
		// The same again changes nothing and writes no audit row.
		if _, changed, err := db.ChangeReview(ctx, a.Key(), payrecon.ReviewChange{State: ptr(payrecon.ReviewInvestigating),
			Actor: "bob", Source: payrecon.SourceCLI, IfVersion: -1}); err != nil || changed {
			t.Fatalf("no-op change: changed=%v err=%v", changed, err)
		}
		// A change conditioned on the old version conflicts.
		if _, _, err := db.ChangeReview(ctx, a.Key(), payrecon.ReviewChange{Note: ptr("x"), Actor: "eve", Source: payrecon.SourceWorkbook, IfVersion: 0}); !errors.Is(err, payrecon.ErrReviewConflict) {
			t.Fatalf("stale version: want ErrReviewConflict, got %v", err)
		}
		// Written off needs a reason; tolerated is not for people.
		if _, _, err := db.ChangeReview(ctx, a.Key(), payrecon.ReviewChange{State: ptr(payrecon.ReviewWrittenOff), Actor: "bob", Source: payrecon.SourceCLI, IfVersion: -1}); err == nil {
			t.Fatal("written_off without a reason accepted")
		}
		if _, _, err := db.ChangeReview(ctx, a.Key(), payrecon.ReviewChange{State: ptr(payrecon.ReviewTolerated), Rule: ptr("x"), Actor: "bob", Source: payrecon.SourceCLI, IfVersion: -1}); err == nil {
			t.Fatal("tolerated by hand accepted")
		}
		if _, _, err := db.ChangeReview(ctx, "nope", payrecon.ReviewChange{Note: ptr("x"), Actor: "bob", Source: payrecon.SourceCLI, IfVersion: -1}); !errors.Is(err, payrecon.ErrNotFound) {
			t.Fatalf("unknown key: %v", err)
		}

		// A re-run keeps the review and the first due day.
		clk.Advance(time.Hour)
		a2 := a
		a2.DueDay = runDay.Add(9)
		saveItems(t, db, runDay, []payrecon.Item{a2, b})
		ra, err = db.GetReview(ctx, a.Key())
		storetest.Must(t, err)
		if ra.State != payrecon.ReviewInvestigating || ra.Assignee != "alice" || ra.Version != 1 || ra.DueDay != runDay.Add(3) {
			t.Fatalf("after re-run: %+v", ra)
		}
		if rb, _ := db.GetReview(ctx, b.Key()); rb.Version != 1 {
			t.Fatalf("re-run with the same rule changed the tolerated review: %+v", rb)
		}

		// Write-off dismisses the pending action, with the reason in its audit.
		clk.Advance(time.Hour)
		got, _, err = db.ChangeReview(ctx, a.Key(), payrecon.ReviewChange{State: ptr(payrecon.ReviewWrittenOff), ReasonCode: ptr("small_amount"),
			Actor: "carol", Source: payrecon.SourceCLI, IfVersion: -1})
		storetest.Must(t, err)
		acts, err := db.ListActions(ctx, payrecon.ActionFilter{Account: "acc"})
		storetest.Must(t, err)
		if len(acts) != 1 || acts[0].State != payrecon.ActionDismissed || acts[0].Reason != "written off (small_amount)" {
			t.Fatalf("action after write-off: %+v", acts)
		}
		audit, err = db.ReviewAudit(ctx, a.Key())
		storetest.Must(t, err)
		if len(audit) != 2 {
			t.Fatalf("audit: %+v", audit)
		}
		first, last := audit[0], audit[1]
		if first.Actor != "bob" || first.Source != payrecon.SourceCLI || first.Before.State != payrecon.ReviewOpen || first.After.State != payrecon.ReviewInvestigating ||
			first.Comment != "asking the provider" || !first.At.Equal(time.Date(2026, 11, 21, 4, 0, 0, 0, time.UTC)) {
			t.Errorf("first audit entry: %+v", first)
		}
		if last.Version != 2 || last.Before.Assignee != "alice" || last.After.State != payrecon.ReviewWrittenOff || last.After.ReasonCode != "small_amount" || last.Actor != "carol" {
			t.Errorf("write-off audit entry: %+v", last)
		}
		at1, err := db.ReviewFieldsAt(ctx, a.Key(), 1)
		storetest.Must(t, err)
		if at1.State != payrecon.ReviewInvestigating || at1.Note != "asking the provider" {
			t.Errorf("fields at version 1: %+v", at1)
		}
		comments, err := db.ReviewComments(ctx, a.Key())
		storetest.Must(t, err)
		if len(comments) != 1 || comments[0].Author != "bob" {
			t.Errorf("comments: %+v", comments)
		}

		// A rule no longer covering a run-tolerated item reopens it.
		b2 := b
		b2.Tolerance = ""
		saveItems(t, db, runDay, []payrecon.Item{a, b2})
		rb, err = db.GetReview(ctx, b.Key())
		storetest.Must(t, err)
		if rb.State != payrecon.ReviewOpen || rb.Version != 2 {
			t.Fatalf("tolerance withdrawn: %+v", rb)
		}
		if got.State != payrecon.ReviewWrittenOff {
			t.Fatalf("write-off result: %+v", got)
		}
	})
}

// Bulk changes: the dry run's count and amount (ListReviews over the same
// filter) equal what the change applies; filters by class, amount, age,
// state and assignee select the right rows.
func TestReviewBulkAndFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var items []payrecon.Item
		for i := 1; i <= 12; i++ {
			c := payrecon.ClassAmountMismatch
			if i%3 == 0 {
				c = payrecon.ClassMissingInBill
			}
			items = append(items, reviewItem(i, c, int64(i*10)))
		}
		saveItems(t, db, runDay, items[:6])
		saveItems(t, db, runDay.Add(5), items[6:])

		f := payrecon.ReviewFilter{Classes: []payrecon.Class{payrecon.ClassAmountMismatch}, MinAmount: 20, MaxAmount: 100, States: []payrecon.ReviewState{payrecon.ReviewOpen}}
		dry, err := db.ListReviews(ctx, f)
		storetest.Must(t, err)
		var dryAmount int64
		for _, r := range dry {
			dryAmount += r.Amount
			if r.Class != payrecon.ClassAmountMismatch || r.Amount < 20 || r.Amount > 100 {
				t.Errorf("filter let through %+v", r)
			}
		}
		// amount_mismatch with 20..100: 2,4,5,7,8,10 → 6 rows.
		if len(dry) != 6 || dryAmount != (2+4+5+7+8+10)*10 {
			t.Fatalf("dry run: %d rows, %d fen", len(dry), dryAmount)
		}
		res, err := db.ChangeReviews(ctx, f, payrecon.ReviewChange{Assignee: ptr("dave"), Actor: "lead", Source: payrecon.SourceCLI})
		storetest.Must(t, err)
		if res.Matched != len(dry) || res.Changed != len(dry) || res.Amount != dryAmount {
			t.Fatalf("bulk: %+v, dry run %d rows %d fen", res, len(dry), dryAmount)
		}
		// Again: same matches, nothing changes.
		res, err = db.ChangeReviews(ctx, f, payrecon.ReviewChange{Assignee: ptr("dave"), Actor: "lead", Source: payrecon.SourceCLI})
		storetest.Must(t, err)
		if res.Matched != 6 || res.Changed != 0 {
			t.Fatalf("bulk again: %+v", res)
		}
		mine, _ := db.ListReviews(ctx, payrecon.ReviewFilter{Assignee: "dave"})
		none, _ := db.ListReviews(ctx, payrecon.ReviewFilter{Assignee: "-"})
		if len(mine) != 6 || len(none) != 6 {
			t.Fatalf("by assignee: dave %d, unassigned %d", len(mine), len(none))
		}
		// Age at runDay+10: the first six are 10 days old, the others 5.
		old, _ := db.ListReviews(ctx, payrecon.ReviewFilter{AsOf: runDay.Add(10), MinAgeDays: 8})
		young, _ := db.ListReviews(ctx, payrecon.ReviewFilter{AsOf: runDay.Add(10), MaxAgeDays: 7})
		if len(old) != 6 || len(young) != 6 || old[0].AgeDays(runDay.Add(10)) != 10 {
			t.Fatalf("by age: old %d, young %d", len(old), len(young))
		}
		days, _ := db.ListReviews(ctx, payrecon.ReviewFilter{From: runDay.Add(5), To: runDay.Add(5), Account: "acc"})
		if len(days) != 6 {
			t.Fatalf("by day: %d", len(days))
		}
		// A bad change (written off without a reason) changes nothing at all.
		if _, err := db.ChangeReviews(ctx, payrecon.ReviewFilter{}, payrecon.ReviewChange{State: ptr(payrecon.ReviewWrittenOff), Actor: "lead", Source: payrecon.SourceCLI}); err == nil {
			t.Fatal("bulk write-off without a reason accepted")
		}
		if all, _ := db.ListReviews(ctx, payrecon.ReviewFilter{States: []payrecon.ReviewState{payrecon.ReviewOpen}}); len(all) != 12 {
			t.Fatalf("a failed bulk change left %d open", len(all))
		}
	})
}

func TestReviewKeyGeneratedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		k1, err := db.ReviewKey(ctx)
		storetest.Must(t, err)
		k2, err := db.ReviewKey(ctx)
		storetest.Must(t, err)
		if len(k1) != 32 || !bytes.Equal(k1, k2) {
			t.Fatalf("review key not stable: %x vs %x", k1, k2)
		}
	})
}
