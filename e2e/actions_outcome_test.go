package e2e_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// outcomeScenario has two orders each paid twice.
func outcomeScenario() *scenario.Scenario {
	paid := jobstest.DayD.Start().Add(9 * time.Hour)
	sc := &scenario.Scenario{}
	for i, o := range []string{"M201", "M202"} {
		for j := 0; j < 2; j++ {
			at := paid.Add(time.Duration(i*10+j) * time.Minute)
			sc.Payments = append(sc.Payments, scenario.Payment{MerchantOrderNo: o, ProviderTxnNo: "42000000000000002" + string(rune('0'+i)) + string(rune('0'+j)),
				Status: payrecon.StatusSuccess, Amount: 3000, PayerAmount: 3000, CreatedAt: at, PaidAt: at})
		}
	}
	return sc
}

// TestRefundOutcomesFollowed: through the real clients and their loopback
// sandboxes, a refund the provider answers pending stays applied; Sync
// follows it, and once the provider settles it the action ends succeeded
// (one refund) or failed with the provider's words (the other). The failed
// one is applied again after approval under a new refund number.
func TestRefundOutcomesFollowed(t *testing.T) {
	type setup struct {
		name string
		mk   func(t *testing.T, sc *scenario.Scenario, now func() time.Time) (payrecon.Provider, string)
	}
	for _, su := range []setup{
		{"huawei", func(t *testing.T, sc *scenario.Scenario, now func() time.Time) (payrecon.Provider, string) {
			_, c := huaweiSandbox(t, sc, jobstest.RepairAccount, now)
			return c, "REFUND_FAILED"
		}},
		{"wechat", func(t *testing.T, sc *scenario.Scenario, now func() time.Time) (payrecon.Provider, string) {
			sb, c := wechatSandbox(t, sc, jobstest.RepairAccount, now)
			sb.HoldRefunds(true)
			return c, "ABNORMAL"
		}},
	} {
		t.Run(su.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				now := func() time.Time { return jobstest.DayD.Start().Add(30 * time.Hour) }
				sc := outcomeScenario()
				prov, failedWords := su.mk(t, sc, now)
				svc, err := jobs.NewActions(jobs.ActionsDeps{Store: db, Ledger: db, LedgerReader: db,
					Providers: map[string]payrecon.Provider{"hw1": prov}, Logger: storetest.Logger(t), Now: now})
				storetest.Must(t, err)

				ok := jobstest.DuplicateItem("4200000000000000201", 3000)
				ok.MerchantOrderNo = "M201"
				bad := jobstest.DuplicateItem("4200000000000000211", 3000)
				bad.MerchantOrderNo = "M202"
				var ids []int64
				for _, it := range []payrecon.Item{ok, bad} {
					a := jobstest.Propose(t, db, it, payrecon.ActionRefundDuplicate)
					_, err := svc.Approve(ctx, a.ID, "alice", "paid twice")
					storetest.Must(t, err)
					res, err := svc.Apply(ctx, a.ID, "bob")
					storetest.Must(t, err)
					if res.Action.State != payrecon.ActionApplied || !strings.Contains(res.Action.Result, "pending") {
						t.Fatalf("apply of a refund the provider answers pending: %s %q", res.Action.State, res.Action.Result)
					}
					ids = append(ids, a.ID)
				}
				res, err := svc.Sync(ctx, payrecon.ActionFilter{Account: "hw1"}, jobs.ActorSync)
				storetest.Must(t, err)
				if res.Checked != 2 || res.Pending != 2 {
					t.Fatalf("sync while pending: %+v, want 2 checked and still pending", res)
				}
				okA, err := db.GetAction(ctx, ids[0])
				storetest.Must(t, err)
				badA, err := db.GetAction(ctx, ids[1])
				storetest.Must(t, err)
				if !sc.SetRefundStatus(okA.IdempotencyKey, payrecon.StatusSuccess, now()) || !sc.SetRefundStatus(badA.IdempotencyKey, payrecon.StatusFailed, time.Time{}) {
					t.Fatalf("sandbox holds no refunds under %s and %s", okA.IdempotencyKey, badA.IdempotencyKey)
				}
				res, err = svc.Sync(ctx, payrecon.ActionFilter{Account: "hw1"}, jobs.ActorSync)
				storetest.Must(t, err)
				if res.Succeeded != 1 || res.Failed != 1 || res.Pending != 0 {
					t.Fatalf("sync after the provider settled: %+v, want 1 succeeded and 1 failed", res)
				}
				okA, _ = db.GetAction(ctx, ids[0])
				badA, _ = db.GetAction(ctx, ids[1])
				if okA.State != payrecon.ActionSucceeded || !strings.Contains(okA.Result, "succeeded") {
					t.Errorf("settled refund: %s %q, want succeeded", okA.State, okA.Result)
				}
				if badA.State != payrecon.ActionFailed || !strings.Contains(badA.Result, failedWords) {
					t.Errorf("failed refund: %s %q, want failed in the provider's words (%s)", badA.State, badA.Result, failedWords)
				}
				jobstest.WantSteps(t, db, ids[0], "proposed/run", "approved/alice", "applying/bob", "applied/bob", "succeeded/sync")
				jobstest.WantSteps(t, db, ids[1], "proposed/run", "approved/alice", "applying/bob", "applied/bob", "failed/sync")
				if again, err := svc.Sync(ctx, payrecon.ActionFilter{Account: "hw1"}, jobs.ActorSync); err != nil || again.Checked != 0 {
					t.Errorf("sync of final actions: %+v, %v; want nothing checked", again, err)
				}

				// The failed refund is retried under a new number; the old one
				// is failed at the provider and cannot be reused.
				_, err = svc.Approve(ctx, badA.ID, "alice", "retry the refund")
				storetest.Must(t, err)
				retry, err := svc.Apply(ctx, badA.ID, "bob")
				storetest.Must(t, err)
				if retry.Action.IdempotencyKey == badA.IdempotencyKey || !strings.HasPrefix(retry.Action.IdempotencyKey, jobs.RefundNoPrefix+"2") {
					t.Errorf("retried refund number %q, want a new one after %q", retry.Action.IdempotencyKey, badA.IdempotencyKey)
				}
				sc.RLock()
				var mine []scenario.Refund
				for _, r := range sc.Refunds {
					if r.ProviderTxnNo == bad.ProviderTxnNo {
						mine = append(mine, r)
					}
				}
				sc.RUnlock()
				if len(mine) != 2 || mine[0].Status != payrecon.StatusFailed || mine[1].Status == payrecon.StatusFailed {
					t.Errorf("provider's refunds of the failed duplicate: %+v, want the failed one and one new", mine)
				}
			})
		})
	}
}
