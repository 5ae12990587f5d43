package jobs_test

import (
	"context"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
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
		p := newPlanOpts(17, 80, digitNumbers, true)
		p.dropOthers()
		for i := range p.ledger {
			p.ledger[i].Provider = "wechat"
		}
		p.load(t, db)
		clk := &clock{}
		clk.runAfter(dayD)
		sb := sandbox.New(p.sc, sandbox.Options{Now: clk.Now})
		defer sb.Close()
		cfg := sb.MerchantConfig()
		cfg.Account = testAccount
		client, err := wechat.New(cfg, storetest.Logger(t), wechat.WithNow(clk.Now))
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
		}
	})
}
