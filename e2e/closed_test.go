package e2e_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/qqpay/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestClosedLeftoverQQWallet: a ledger success for an order QQ Wallet
// reports CLOSED (or NOTPAY, or PAYERROR) and no statement lists is
// missing_in_bill, through the real client and sandbox; status_mismatch is
// left for the transaction both sides hold (here: a ledger failure the
// statement lists as paid).
func TestClosedLeftoverQQWallet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sc := &scenario.Scenario{}
		want := map[string]payrecon.Class{}
		for i, st := range []payrecon.Status{payrecon.StatusSuccess, payrecon.StatusSuccess, payrecon.StatusClosed, payrecon.StatusNotPaid, payrecon.StatusFailed, payrecon.StatusSuccess} {
			at := jobstest.DayD.Start().Add(time.Duration(9+i) * time.Hour)
			p := scenario.Payment{MerchantOrderNo: fmt.Sprintf("QO%d", i), ProviderTxnNo: fmt.Sprintf("12637118014616072319%08d", i), Status: st,
				Amount: int64(1000 + i), PayerAmount: int64(1000 + i), Fee: payrecon.FeeFor(int64(1000+i), jobstest.RatePPM), FeeRatePPM: jobstest.RatePPM,
				CreatedAt: at.Add(-time.Minute), PaidAt: at}
			sc.Payments = append(sc.Payments, p)
			booked := payrecon.StatusSuccess
			if i == 5 { // the ledger recorded a failure the statement lists as paid
				booked = payrecon.StatusFailed
				want[string(payrecon.ClassStatusMismatch)+"|"+p.ProviderTxnNo] = payrecon.ClassStatusMismatch
			} else if st != payrecon.StatusSuccess {
				want[string(payrecon.ClassMissingInBill)+"|"+p.ProviderTxnNo] = payrecon.ClassMissingInBill
			}
			le := jobstest.LedgerAs(p, booked)
			le.Provider = qqpay.Name
			if _, err := db.AddLedgerEntry(ctx, le); err != nil {
				t.Fatal(err)
			}
		}
		clk := &jobstest.Clock{}
		clk.RunAfter(jobstest.DayD)
		sb := sandbox.New(sc, sandbox.Options{Now: clk.Now})
		defer sb.Close()
		cfg := sb.MerchantConfig()
		cfg.Account = jobstest.Account
		client, err := qqpay.New(cfg, storetest.Logger(t), qqpay.WithNow(clk.Now))
		storetest.Must(t, err)
		run, err := jobstest.NewRunner(t, db, client, clk, jobs.Options{}).RunDay(ctx, jobstest.Account, jobstest.DayD)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]payrecon.Class{}
		for _, it := range jobstest.RunItems(t, db, run.ID) {
			got[jobstest.ItemID(it)] = it.Class
			if it.Class == payrecon.ClassMissingInBill && it.ProviderStatus == payrecon.StatusSuccess {
				t.Errorf("missing_in_bill %s with provider status %s", it.ProviderTxnNo, it.ProviderStatus)
			}
		}
		for id := range want {
			if _, ok := got[id]; !ok {
				t.Errorf("recall: %s not found in %v", id, got)
			}
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("precision: unexpected %s", id)
			}
		}
		if !run.Totals.Balanced() || run.Totals.Matched != 2 {
			t.Errorf("totals %+v", run.Totals)
		}
	})
}
