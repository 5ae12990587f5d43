package e2e_test

import (
	"testing"

	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestGroundTruthHuaweiSandbox runs the ground-truth plan end to end through
// the real Huawei client (signed requests, zipped CSV bills, queries) and its
// loopback sandbox.
func TestGroundTruthHuaweiSandbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p, client, clk := huaweiPlan(t, db, 11, 80)
		r := jobstest.NewRunner(t, db, client, clk, jobs.Options{})
		for _, run := range p.RunDays(t, db, r, clk) {
			if len(run.Bills) == 0 || run.Bills[0].SHA256 == "" {
				t.Errorf("%s: bill file not described: %+v", run.Day, run.Bills)
			}
		}
	})
}
