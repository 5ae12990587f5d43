package e2e_test

import (
	"testing"

	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestGroundTruthWeChatSandbox runs the ground-truth plan end to end through
// the real WeChat Pay client (API v3 signing, gzipped bills, fund-flow
// bill, queries) and its loopback sandbox.
func TestGroundTruthWeChatSandbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p, _, client, clk := wechatPlan(t, db, 17, 80)
		r := jobstest.NewRunner(t, db, client, clk, jobs.Options{})
		p.RunDays(t, db, r, clk)
	})
}
