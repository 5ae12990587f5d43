package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// The refund_duplicate action through the real Huawei client and its
// loopback sandbox: approve, apply twice (and once more after a lost state
// change) → one refund request on the wire per apply that reached the
// provider, one refund in the provider's books, under one refund number.
func TestApplyRefundDuplicateHuaweiSandbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		paid := jobstest.DayD.Start().Add(9 * time.Hour)
		sc := &scenario.Scenario{Payments: []scenario.Payment{
			{MerchantOrderNo: "M100", ProviderTxnNo: "4200000000000000101", Status: payrecon.StatusSuccess, Amount: 5000, PayerAmount: 5000, CreatedAt: paid, PaidAt: paid},
			{MerchantOrderNo: "M100", ProviderTxnNo: "4200000000000000102", Status: payrecon.StatusSuccess, Amount: 5000, PayerAmount: 5000, CreatedAt: paid, PaidAt: paid.Add(time.Minute)},
		}}
		sb, client := huaweiSandbox(t, sc, jobstest.RepairAccount, nil)

		crash := &jobstest.CrashAfterProvider{Crashes: 1}
		crash.ActionStore = db
		svc, err := jobs.NewActions(jobs.ActionsDeps{
			Store: crash, Ledger: db, LedgerReader: db,
			Providers: map[string]payrecon.Provider{"hw1": client},
			Logger:    storetest.Logger(t), Now: time.Now,
		})
		storetest.Must(t, err)

		a := jobstest.Propose(t, db, jobstest.DuplicateItem("4200000000000000102", 5000), payrecon.ActionRefundDuplicate)
		if _, err := svc.Apply(ctx, a.ID, "bob"); err == nil {
			t.Fatal("apply before approval: want an error")
		}
		if n := countCalls(sb.Calls(), "refund"); n != 0 {
			t.Fatalf("apply before approval reached the sandbox: %v", sb.Calls())
		}
		_, err = svc.Approve(ctx, a.ID, "alice", "paid twice")
		storetest.Must(t, err)
		if _, err := svc.Apply(ctx, a.ID, "bob"); err == nil { // refund sent, state change lost
			t.Fatal("apply with a lost state change: want an error")
		}
		res, err := svc.Apply(ctx, a.ID, "bob") // retried: same refund number, no new refund
		storetest.Must(t, err)
		again, err := svc.Apply(ctx, a.ID, "bob") // applied: nothing sent
		storetest.Must(t, err)
		if res.AlreadyApplied || !again.AlreadyApplied {
			t.Errorf("AlreadyApplied: retry %v, third %v", res.AlreadyApplied, again.AlreadyApplied)
		}
		if n := countCalls(sb.Calls(), "refund"); n != 2 {
			t.Errorf("refund calls on the wire = %d, want 2 (the lost one and its retry): %v", n, sb.Calls())
		}
		sc.RLock()
		refunds := append([]scenario.Refund(nil), sc.Refunds...)
		sc.RUnlock()
		want := jobs.RefundNo(64, a.DiscrepancyKey)
		if len(refunds) != 1 || refunds[0].MerchantRefundNo != want || refunds[0].ProviderTxnNo != "4200000000000000102" || refunds[0].Amount != 5000 {
			t.Fatalf("sandbox refunds = %+v, want one of 50.00 on the duplicate under %s", refunds, want)
		}
		got, err := db.GetAction(ctx, a.ID)
		storetest.Must(t, err)
		if got.State != payrecon.ActionApplied || got.IdempotencyKey != want || !strings.Contains(got.Result, refunds[0].ProviderRefundNo) {
			t.Errorf("applied action = %+v", got)
		}
		jobstest.WantSteps(t, db, a.ID, "proposed/run", "approved/alice", "applying/bob", "interrupted/bob", "applying/bob", "applied/bob")
	})
}

func countCalls(calls []string, substr string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, "POST ") && strings.Contains(c, substr) {
			n++
		}
	}
	return n
}
