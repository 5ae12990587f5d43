package e2e_test

import (
	"context"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/wechat"
	"github.com/payrecon/payrecon/providers/wechat/sandbox"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestGroundTruthWeChatSandbox runs the ground-truth plan end to end through
// the real WeChat Pay client (API v3 signing, gzipped bills, fund-flow
// bill, queries) and its loopback sandbox.
func TestGroundTruthWeChatSandbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// The WeChat trade bill lists payments and refunds only, and its fund
		// flow settles a payment's full order amount: the plan plants no
		// other lines and no promotions in the bill (the payer/promotion
		// split mismatch is planted on the ledger side instead).
		p := jobstest.NewPlanOpts(17, 80, jobstest.DigitNumbers, true)
		p.DropOthers()
		for i := range p.Ledger {
			p.Ledger[i].Provider = "wechat"
		}
		p.Load(t, db)
		clk := &jobstest.Clock{}
		clk.RunAfter(jobstest.DayD)
		sb := sandbox.New(p.Sc, sandbox.Options{Now: clk.Now})
		defer sb.Close()
		cfg := sb.MerchantConfig()
		cfg.Account = jobstest.Account
		client, err := wechat.New(cfg, storetest.Logger(t), wechat.WithNow(clk.Now))
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
		}
	})
}
