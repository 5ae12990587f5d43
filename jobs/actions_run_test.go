package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
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
		at := func(h int) time.Time { return testDay.Start().Add(time.Duration(h) * time.Hour) }
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

		clock := testDay.End().Add(10 * time.Hour)
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

		run, err := runner.RunDay(ctx, "hw1", testDay)
		storetest.Must(t, err)
		if run.Totals.ByClass[payrecon.ClassMissingInLedger].Count != 1 || run.Totals.ByClass[payrecon.ClassDuplicatePayment].Count != 1 {
			t.Fatalf("first run classes = %+v", run.Totals.ByClass)
		}
		list, err := svc.List(ctx, payrecon.ActionFilter{Account: "hw1", From: testDay, To: testDay})
		storetest.Must(t, err)
		byKind := map[payrecon.ActionKind]payrecon.Action{}
		for _, a := range list {
			byKind[a.Kind] = a
		}
		bf, rd := byKind[payrecon.ActionBackfillLedger], byKind[payrecon.ActionRefundDuplicate]
		if len(list) != 2 || bf.State != payrecon.ActionApplied || rd.State != payrecon.ActionProposed {
			t.Fatalf("actions after the run = %+v", list)
		}
		wantSteps(t, db, bf.ID, "proposed/run", "applying/auto", "auto_applied/auto")
		if reqs, _ := fake.calls(); len(reqs) != 0 {
			t.Errorf("auto-apply refunded: %+v", reqs)
		}

		// Re-run: the backfilled payment now matches; only the duplicate remains.
		again, err := runner.RunDay(ctx, "hw1", testDay)
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
