package e2e_test

import (
	"context"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestGroundTruthHuaweiSandbox runs the ground-truth plan end to end through
// the real Huawei client (signed requests, zipped CSV bills, queries) and its
// loopback sandbox.
func TestGroundTruthHuaweiSandbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := jobstest.NewPlanWith(11, 80, jobstest.DigitNumbers)
		for i := range p.Ledger {
			p.Ledger[i].Provider = huawei.Name
		}
		p.Load(t, db)
		clk := &jobstest.Clock{}
		clk.RunAfter(jobstest.DayD)
		sb, err := sandbox.New(p.Sc, sandbox.Options{CallbackURL: "https://merchant.test/callbacks/huawei/acc", Now: clk.Now})
		storetest.Must(t, err)
		defer sb.Close()
		client, err := huawei.New(sb.MerchantConfig(huawei.ModelDirect), storetest.Logger(t),
			huawei.WithHTTPClient(sb.Client()), huawei.WithAccount(jobstest.Account), huawei.WithNow(clk.Now))
		storetest.Must(t, err)
		r := jobstest.NewRunner(t, db, client, clk, jobs.Options{})
		for _, day := range []payrecon.Day{jobstest.DayD, jobstest.DayD1, jobstest.DayD3} {
			if f := p.Before[day]; f != nil {
				f(p.Sc)
			}
			clk.RunAfter(day)
			run, err := r.RunDay(ctx, jobstest.Account, day)
			if err != nil {
				t.Fatalf("run %s: %v", day, err)
			}
			jobstest.CheckDay(t, db, p, day, run)
			if len(run.Bills) == 0 || run.Bills[0].SHA256 == "" {
				t.Errorf("%s: bill file not described: %+v", day, run.Bills)
			}
		}
	})
}
