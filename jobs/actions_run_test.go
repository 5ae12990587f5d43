package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// billFake adds a trade bill to the fake provider.
type billFake struct {
	*fakeProvider
	lines []payrecon.BillLine
}

func (b billFake) Bill(_ context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	if kind != payrecon.BillTrade {
		return payrecon.BillFile{}, payrecon.ErrNotSupported
	}
	for i, l := range b.lines {
		l.Account, l.Day, l.Bill, l.LineNo, l.File = "hw1", day, kind, i+2, "trade.csv"
		if err := fn(l); err != nil {
			return payrecon.BillFile{}, err
		}
	}
	return payrecon.BillFile{Account: "hw1", Day: day, Kind: kind, Name: "trade.csv", SHA256: "x", Lines: int64(len(b.lines))}, nil
}

// A run proposes actions, the after-save hook auto-applies the safe ones,
// the money-moving one waits for approval, and a re-run finds the
// backfilled payment matched and proposes nothing twice.
func TestRunThenAutoApply(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fake := newFake()
		at := func(h int) time.Time { return jobstest.DayD.Start().Add(time.Duration(h) * time.Hour) }
		pay := func(order, txn string, amount int64, h int) (payrecon.BillLine, payrecon.Order) {
			return payrecon.BillLine{Kind: payrecon.KindPayment, Type: "收单", Status: payrecon.StatusSuccess, MerchantOrderNo: order, ProviderTxnNo: txn,
					Amount: amount, PayerAmount: amount, Currency: "CNY", CreatedAt: at(h), FinishedAt: at(h)},
				payrecon.Order{MerchantOrderNo: order, ProviderTxnNo: txn, Status: payrecon.StatusSuccess, RawStatus: "TRX_SUCCESS",
					Amount: amount, PayerAmount: amount, Currency: "CNY", PaidAt: at(h)}
		}
		l1, o1 := pay("M1", "4200000000000000001", 1000, 9)  // in both
		l2, o2 := pay("M2", "4200000000000000002", 2000, 10) // callback lost
		l3, o3 := pay("M1", "4200000000000000003", 1000, 11) // M1 paid twice
		for _, o := range []payrecon.Order{o1, o2, o3} {
			fake.orders[o.ProviderTxnNo] = o
		}
		addEntry(t, db, payrecon.LedgerEntry{EventKey: "payment:4200000000000000001:success", Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess,
			MerchantOrderNo: "M1", ProviderTxnNo: "4200000000000000001", Amount: 1000, PayerAmount: 1000, OccurredAt: at(9)})

		clock := jobstest.DayD.End().Add(10 * time.Hour)
		now := func() time.Time { return clock }
		svc, err := jobs.NewActions(jobs.ActionsDeps{
			Store: db, Ledger: db, LedgerReader: db,
			Providers: map[string]payrecon.Provider{"hw1": fake},
			Logger:    storetest.Logger(t), Now: now,
			Config: jobs.ActionsConfig{AutoApply: jobs.AutoApplicable},
		})
		storetest.Must(t, err)
		prov := billFake{fakeProvider: fake, lines: []payrecon.BillLine{l1, l2, l3}}
		runner := jobs.NewRunner(db, map[string]jobs.Target{
			"hw1": {Account: payrecon.Account{Name: "hw1", Provider: "huawei"}, Provider: prov},
		}, storetest.Logger(t), now, jobs.Options{AfterSave: svc.AfterSave, QueryBackoff: time.Millisecond})

		run, err := runner.RunDay(ctx, "hw1", jobstest.DayD)
		storetest.Must(t, err)
		if run.Totals.ByClass[payrecon.ClassMissingInLedger].Count != 1 || run.Totals.ByClass[payrecon.ClassDuplicatePayment].Count != 1 {
			t.Fatalf("first run classes = %+v", run.Totals.ByClass)
		}
		list, err := svc.List(ctx, payrecon.ActionFilter{Account: "hw1", From: jobstest.DayD, To: jobstest.DayD})
		storetest.Must(t, err)
		byKind := map[payrecon.ActionKind]payrecon.Action{}
		for _, a := range list {
			byKind[a.Kind] = a
		}
		bf, rd := byKind[payrecon.ActionBackfillLedger], byKind[payrecon.ActionRefundDuplicate]
		if len(list) != 2 || bf.State != payrecon.ActionApplied || rd.State != payrecon.ActionProposed {
			t.Fatalf("actions after the run = %+v", list)
		}
		jobstest.WantSteps(t, db, bf.ID, "proposed/run", "applying/auto", "auto_applied/auto")
		if reqs, _ := fake.calls(); len(reqs) != 0 {
			t.Errorf("auto-apply refunded: %+v", reqs)
		}

		// Re-run: the backfilled payment now matches; only the duplicate remains.
		again, err := runner.RunDay(ctx, "hw1", jobstest.DayD)
		storetest.Must(t, err)
		if again.Totals.ByClass[payrecon.ClassMissingInLedger].Count != 0 || again.Totals.ByClass[payrecon.ClassDuplicatePayment].Count != 1 || !again.Totals.Balanced() {
			t.Errorf("re-run classes = %+v", again.Totals.ByClass)
		}
		list2, err := svc.List(ctx, payrecon.ActionFilter{Account: "hw1"})
		storetest.Must(t, err)
		if len(list2) != 2 {
			t.Errorf("re-run proposed again: %d actions", len(list2))
		}
	})
}

// A refund the provider fails, found by the next run's sync, puts the
// duplicate payment back in front of the reviewers: its discrepancy,
// marked resolved when the refund was sent, is new again.
func TestFailedRefundReopensDiscrepancy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fake := newFake()
		at := func(h int) time.Time { return jobstest.DayD.Start().Add(time.Duration(h) * time.Hour) }
		var lines []payrecon.BillLine
		for i, txn := range []string{"4200000000000000401", "4200000000000000402"} {
			lines = append(lines, payrecon.BillLine{Kind: payrecon.KindPayment, Type: "收单", Status: payrecon.StatusSuccess, MerchantOrderNo: "M4",
				ProviderTxnNo: txn, Amount: 900, PayerAmount: 900, Currency: "CNY", CreatedAt: at(9 + i), FinishedAt: at(9 + i)})
			fake.orders[txn] = payrecon.Order{MerchantOrderNo: "M4", ProviderTxnNo: txn, Status: payrecon.StatusSuccess, Amount: 900, Currency: "CNY", PaidAt: at(9 + i)}
		}
		addEntry(t, db, payrecon.LedgerEntry{EventKey: "payment:4200000000000000401:success", Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess,
			MerchantOrderNo: "M4", ProviderTxnNo: "4200000000000000401", Amount: 900, PayerAmount: 900, OccurredAt: at(9)})
		now := func() time.Time { return jobstest.DayD.End().Add(10 * time.Hour) }
		svc, err := jobs.NewActions(jobs.ActionsDeps{Store: db, Ledger: db, LedgerReader: db,
			Providers: map[string]payrecon.Provider{"hw1": fake}, Logger: storetest.Logger(t), Now: now})
		storetest.Must(t, err)
		runner := jobs.NewRunner(db, map[string]jobs.Target{
			"hw1": {Account: payrecon.Account{Name: "hw1", Provider: "huawei"}, Provider: billFake{fakeProvider: fake, lines: lines}},
		}, storetest.Logger(t), now, jobs.Options{AfterSave: svc.AfterSave, QueryBackoff: time.Millisecond})
		_, err = runner.RunDay(ctx, "hw1", jobstest.DayD)
		storetest.Must(t, err)
		list, err := svc.List(ctx, payrecon.ActionFilter{Account: "hw1", Kinds: []payrecon.ActionKind{payrecon.ActionRefundDuplicate}})
		storetest.Must(t, err)
		if len(list) != 1 {
			t.Fatalf("refund actions = %+v", list)
		}
		rd := list[0]
		_, err = svc.Approve(ctx, rd.ID, "alice", "paid twice")
		storetest.Must(t, err)
		res, err := svc.Apply(ctx, rd.ID, "bob")
		storetest.Must(t, err)
		storetest.Must(t, db.SetReview(ctx, rd.DiscrepancyKey, store.ReviewResolved, "alice", "refund sent"))

		fake.mu.Lock()
		r := fake.issued[res.Action.IdempotencyKey]
		r.Status, r.RawStatus = payrecon.StatusFailed, "REFUND_FAILED"
		fake.issued[res.Action.IdempotencyKey] = r
		fake.mu.Unlock()
		_, err = runner.RunDay(ctx, "hw1", jobstest.DayD) // the re-run syncs the account's outcomes
		storetest.Must(t, err)

		got, err := db.GetAction(ctx, rd.ID)
		storetest.Must(t, err)
		if got.State != payrecon.ActionFailed || !strings.Contains(got.Result, "REFUND_FAILED") {
			t.Errorf("refund action after the provider failed it: %s %q", got.State, got.Result)
		}
		d, err := db.GetDiscrepancy(ctx, rd.DiscrepancyKey)
		storetest.Must(t, err)
		if d.ReviewState != store.ReviewNew || !strings.Contains(d.ReviewNote, "failed at the provider") {
			t.Errorf("discrepancy after the failed refund: %+v, want it new again", d)
		}

		// The approval was spent on the refund that failed: refunding again
		// needs a new one.
		if got.ApprovedBy != "" || jobs.Eligible(jobs.VerbApply, got) {
			t.Errorf("failed refund still approved by %q (eligible to apply: %v)", got.ApprovedBy, jobs.Eligible(jobs.VerbApply, got))
		}
		if _, err := svc.Apply(ctx, rd.ID, "bob"); !errors.Is(err, payrecon.ErrInvalidState) {
			t.Fatalf("re-apply of a provider-failed refund without a new approval: err = %v, want ErrInvalidState", err)
		}
		if _, n := fake.calls(); n != 1 {
			t.Errorf("the provider saw %d refunds, want 1", n)
		}
		_, err = svc.Approve(ctx, rd.ID, "carol", "refund again")
		storetest.Must(t, err)
		if _, err := svc.Apply(ctx, rd.ID, "bob"); err != nil {
			t.Fatalf("re-apply after a new approval: %v", err)
		}
		if _, n := fake.calls(); n != 2 {
			t.Errorf("the provider saw %d refunds after the re-approved retry, want 2", n)
		}
	})
}
