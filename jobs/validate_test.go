package jobs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestHostileBillLineFailsTheRun: a bill line that breaks a domain rule
// fails the run naming file, line and column; the run stores no items and
// the last good run of the day is still what reports read.
func TestHostileBillLineFailsTheRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := jobstest.NewPlan(17, 20)
		p.Load(t, db)
		clk := &jobstest.Clock{}
		clk.RunAfter(jobstest.DayD)
		r := jobstest.NewRunner(t, db, &jobstest.Provider{Sc: p.Sc}, clk, jobs.Options{})
		good, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD)
		if err != nil {
			t.Fatalf("good run: %v", err)
		}
		goodItems := len(jobstest.RunItems(t, db, good.ID))

		for _, tc := range []struct {
			name string
			pay  func(pay *scenario.Payment)
			want string
		}{
			{"negative amount", func(pay *scenario.Payment) { pay.Amount, pay.PayerAmount, pay.PromotionAmount = -500, 0, 0 }, "column amount: amount_positive"},
			{"amount above the bound", func(pay *scenario.Payment) { pay.Amount = payrecon.DefaultMaxAmount + 1 }, "column amount: amount_max"},
			{"long order number", func(pay *scenario.Payment) { pay.MerchantOrderNo = strings.Repeat("9", 200) }, "column merchant_order_no: id_length"},
			{"paid a week later", func(pay *scenario.Payment) { pay.PaidAt = pay.PaidAt.AddDate(0, 0, 7); pay.BillDay = jobstest.DayD }, "column finished_at: time_window"},
		} {
			pay := p.Payment(jobstest.DayD)
			tc.pay(&pay)
			p.Sc.Lock()
			n := len(p.Sc.Payments)
			p.Sc.Payments = append(p.Sc.Payments, pay)
			p.Sc.Unlock()

			run, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD)
			p.Sc.Lock()
			p.Sc.Payments = p.Sc.Payments[:n]
			p.Sc.Unlock()
			if err == nil || !strings.Contains(err.Error(), "trade-20261120.csv line ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s: run error %v, want file, line and %q", tc.name, err, tc.want)
			}
			if run.State != payrecon.RunFailed || len(jobstest.RunItems(t, db, run.ID)) != 0 {
				t.Errorf("%s: failed run %d state %s with %d items", tc.name, run.ID, run.State, len(jobstest.RunItems(t, db, run.ID)))
			}
			latest, err := db.LatestRuns(ctx, []string{jobstest.Account}, jobstest.DayD, jobstest.DayD)
			storetest.Must(t, err)
			if len(latest) != 1 || latest[0].ID != good.ID || len(jobstest.RunItems(t, db, latest[0].ID)) != goodItems {
				t.Errorf("%s: latest run %+v, want the good run %d", tc.name, latest, good.ID)
			}
		}
	})
}
