package jobs_test

import (
	"context"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
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
		p := newPlanWith(11, 80, digitNumbers)
		for i := range p.ledger {
			p.ledger[i].Provider = huawei.Name
		}
		p.load(t, db)
		clk := &clock{}
		clk.runAfter(dayD)
		sb, err := sandbox.New(p.sc, sandbox.Options{CallbackURL: "https://merchant.test/callbacks/huawei/acc", Now: clk.Now})
		storetest.Must(t, err)
		defer sb.Close()
		client, err := huawei.New(sb.MerchantConfig(huawei.ModelDirect), storetest.Logger(t),
			huawei.WithHTTPClient(sb.Client()), huawei.WithAccount(testAccount), huawei.WithNow(clk.Now))
		storetest.Must(t, err)
		r := newRunner(t, db, client, clk, jobs.Options{})
		for _, day := range []payrecon.Day{dayD, dayD1, dayD3} {
			if f := p.before[day]; f != nil {
				f(p.sc)
			}
			clk.runAfter(day)
			run, err := r.RunDay(ctx, testAccount, day)
			if err != nil {
				t.Fatalf("run %s: %v", day, err)
			}
			checkDay(t, db, p, day, run)
			if len(run.Bills) == 0 || run.Bills[0].SHA256 == "" {
				t.Errorf("%s: bill file not described: %+v", day, run.Bills)
			}
		}
	})
}
