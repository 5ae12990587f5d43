package e2e_test

import (
	"testing"

	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/wechat"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestGroundTruthWeChatSandbox runs the ground-truth plan end to end through
// the real WeChat Pay client (API v3 signing, gzipped bills, fund-flow
// bill, queries) and its loopback sandbox.
func TestGroundTruthWeChatSandbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// The WeChat trade bill lists payments and refunds only, and its fund
		// flow settles a payment's full order amount: the plan plants no
		// other lines and no promotions in the bill (the payer/promotion
		// split mismatch is planted on the ledger side instead).
		p := jobstest.NewPlanOpts(17, 80, jobstest.DigitNumbers, true)
		p.DropOthers()
		p.ForProvider(wechat.Name)
		p.Load(t, db)
		clk := &jobstest.Clock{}
		clk.RunAfter(jobstest.DayD)
		_, client := wechatSandbox(t, p.Sc, jobstest.Account, clk.Now)
		r := jobstest.NewRunner(t, db, client, clk, jobs.Options{})
		p.RunDays(t, db, r, clk)
	})
}
