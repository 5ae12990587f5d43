package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// noFeeBills is a provider that declares that none of its bills states fees
// (as MinCloud's order list) and has no settlement bill.
type noFeeBills struct{ *jobstest.Provider }

func (noFeeBills) FeeFacts() payrecon.FeeFacts { return payrecon.FeeFacts{} }

func (p noFeeBills) Bill(ctx context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	if kind != payrecon.BillTrade {
		return payrecon.BillFile{}, fmt.Errorf("no %s bill: %w", kind, payrecon.ErrNotSupported)
	}
	return p.Provider.Bill(ctx, day, kind, fn)
}

// TestFeesOnlyWhereStated: with a fee rate configured, the fee check runs
// only on lines that state a fee, on the bill the provider names. A bill
// without a fee column, or a provider declaring no fee-stating bill, yields
// no fee_mismatch however its (absent) fees compare with the rate; trade
// lines that state fees are checked.
func TestFeesOnlyWhereStated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i, tc := range []struct {
			name    string
			prov    func(sc *scenario.Scenario) payrecon.Provider
			wantFee int64
		}{
			{"stated", func(sc *scenario.Scenario) payrecon.Provider { return &jobstest.Provider{Sc: sc} }, 3},
			{"no fee column", func(sc *scenario.Scenario) payrecon.Provider { return &jobstest.Provider{Sc: sc, NoFees: true} }, 0},
			{"declared none", func(sc *scenario.Scenario) payrecon.Provider { return noFeeBills{&jobstest.Provider{Sc: sc}} }, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				day := jobstest.DayD.Add(20 * i)
				sc := &scenario.Scenario{}
				for j := 0; j < 20; j++ {
					amount := int64(1000 + 313*j)
					at := day.Start().Add(time.Duration(j+1) * time.Hour)
					p := scenario.Payment{MerchantOrderNo: fmt.Sprintf("F%dO%02d", i, j), ProviderTxnNo: fmt.Sprintf("F%dT%02d", i, j), Status: payrecon.StatusSuccess,
						Amount: amount, PayerAmount: amount, Fee: payrecon.FeeFor(amount, jobstest.RatePPM), CreatedAt: at, PaidAt: at}
					if j%7 == 2 {
						p.Fee += 5 // disagrees with the rate, where stated
					}
					sc.Payments = append(sc.Payments, p)
					le := jobstest.LedgerOf(p)
					if _, err := db.AddLedgerEntry(ctx, le); err != nil {
						t.Fatal(err)
					}
				}
				clk := &jobstest.Clock{}
				clk.RunAfter(day)
				run, err := jobstest.NewRunner(t, db, tc.prov(sc), clk, jobs.Options{}).RunDay(ctx, jobstest.Account, day)
				if err != nil {
					t.Fatal(err)
				}
				by := run.Totals.ByClass
				if by[payrecon.ClassFeeMismatch].Count != tc.wantFee || by[payrecon.ClassMatched].Count != 20-tc.wantFee {
					t.Errorf("classes %+v, want %d fee_mismatch and the rest matched", by, tc.wantFee)
				}
				if by[payrecon.ClassSettlementMismatch].Count != 0 || !run.Totals.Balanced() {
					t.Errorf("settlement %+v balanced=%v", by, run.Totals.Balanced())
				}
			})
		}
	})
}
