package e2e_test

import (
	"context"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestGroundTruthRepairedHuaweiSandbox and ...WeChatSandbox reconcile the
// ground-truth days through the real client and sandbox, apply every
// applicable action (approving the money-moving ones), let the provider
// settle the refunds it answered pending, re-run the days, and check that
// only manual-review and carried-over items remain (plus items whose
// repair is final at the provider, e.g. a refunded duplicate payment: the
// bill still lists the second payment), that every action is in a final
// state and that every day balances.
func TestGroundTruthRepairedHuaweiSandbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p, client, clk := huaweiPlan(t, db, 11, 40)
		repairDays(t, db, p, client, clk)
	})
}

func TestGroundTruthRepairedWeChatSandbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p, sb, client, clk := wechatPlan(t, db, 17, 40)
		sb.HoldRefunds(true) // refunds answer PROCESSING, then the provider settles them
		repairDays(t, db, p, client, clk)
	})
}

func repairDays(t *testing.T, db *store.DB, p *jobstest.Plan, client payrecon.Provider, clk *jobstest.Clock) {
	t.Helper()
	ctx := context.Background()
	svc, err := jobs.NewActions(jobs.ActionsDeps{Store: db, Ledger: db, LedgerReader: db,
		Providers: map[string]payrecon.Provider{jobstest.Account: client}, Logger: storetest.Logger(t), Now: clk.Now})
	storetest.Must(t, err)
	r := jobstest.NewRunner(t, db, client, clk, jobs.Options{AfterSave: svc.AfterSave})
	days := jobstest.Days
	p.RunDays(t, db, r, clk)

	// Apply every applicable action, as an operator would in bulk.
	all, err := svc.List(ctx, payrecon.ActionFilter{Account: jobstest.Account})
	storetest.Must(t, err)
	kinds := map[payrecon.ActionKind]int{}
	for _, a := range all {
		kinds[a.Kind]++
		if a.Kind.MovesMoney() {
			_, err := svc.Approve(ctx, a.ID, "alice", "ground truth")
			storetest.Must(t, err)
			a.State = payrecon.ActionApproved
			a.ApprovedBy = "alice"
		}
		if !jobs.Eligible(jobs.VerbApply, a) {
			continue
		}
		if _, err := svc.Apply(ctx, a.ID, "bob"); err != nil {
			t.Errorf("apply %s for %s: %v", a.Kind, jobstest.ItemID(a.Item), err)
		}
	}
	for _, k := range []payrecon.ActionKind{payrecon.ActionBackfillLedger, payrecon.ActionReverseLedger, payrecon.ActionRefundDuplicate,
		payrecon.ActionCloseOrder, payrecon.ActionCorrectAgreement, payrecon.ActionManualReview} {
		if kinds[k] == 0 {
			t.Errorf("the plan proposed no %s: %v", k, kinds)
		}
	}
	// The provider settles the refunds it answered pending.
	pending, err := svc.List(ctx, payrecon.ActionFilter{Account: jobstest.Account, States: []payrecon.ActionState{payrecon.ActionApplied},
		Kinds: []payrecon.ActionKind{payrecon.ActionRefundDuplicate}})
	storetest.Must(t, err)
	if len(pending) == 0 {
		t.Error("no refund was left pending by the provider: the outcome is not followed here")
	}
	for _, a := range pending {
		if !p.Sc.SetRefundStatus(a.IdempotencyKey, payrecon.StatusSuccess, clk.Now()) {
			t.Errorf("sandbox has no refund %s", a.IdempotencyKey)
		}
	}

	// Re-run every day (each run syncs the outcomes after it is stored).
	for _, day := range days {
		clk.RunAfter(day)
		run, err := r.RunDay(ctx, jobstest.Account, day)
		if err != nil {
			t.Fatalf("re-run %s: %v", day, err)
		}
		if !run.Totals.Balanced() {
			t.Errorf("re-run %s: not balanced: %+v", day, run.Totals)
		}
		for _, it := range jobstest.RunItems(t, db, run.ID) {
			switch {
			case it.Class == payrecon.ClassCarriedOver || it.Class == payrecon.ClassResolvedLate || it.Class == payrecon.ClassOtherBillLine:
			case it.Action == payrecon.ActionManualReview:
			default:
				acts, err := svc.List(ctx, payrecon.ActionFilter{Account: jobstest.Account, Kinds: []payrecon.ActionKind{it.Action}})
				storetest.Must(t, err)
				final := false
				for _, a := range acts {
					if a.DiscrepancyKey == it.Key() && a.State.Final(a.Kind) && a.State == payrecon.ActionSucceeded {
						final = true
					}
				}
				if !final {
					t.Errorf("re-run %s: %s remains with %s not done at the provider (%s)", day, jobstest.ItemID(it), it.Action, it.Note)
				}
			}
		}
	}
	all, err = svc.List(ctx, payrecon.ActionFilter{Account: jobstest.Account})
	storetest.Must(t, err)
	for _, a := range all {
		if a.Kind != payrecon.ActionManualReview && !a.State.Final(a.Kind) {
			t.Errorf("action %d %s for %s is %s (%s), not final", a.ID, a.Kind, jobstest.ItemID(a.Item), a.State, a.Result)
		}
		if a.Kind == payrecon.ActionRefundDuplicate && !strings.Contains(a.Result, "succeeded at the provider") {
			t.Errorf("refund action %d: %q", a.ID, a.Result)
		}
	}
}
