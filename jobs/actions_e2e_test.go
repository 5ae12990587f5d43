package jobs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/providers/huawei"
	hwsandbox "github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/wechat"
	wxsandbox "github.com/payrecon/payrecon/providers/wechat/sandbox"
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
		p := newPlanWith(11, 40, digitNumbers)
		for i := range p.ledger {
			p.ledger[i].Provider = huawei.Name
		}
		p.load(t, db)
		clk := &clock{}
		clk.runAfter(dayD)
		sb, err := hwsandbox.New(p.sc, hwsandbox.Options{CallbackURL: "https://merchant.test/callbacks/huawei/acc", Now: clk.Now})
		storetest.Must(t, err)
		defer sb.Close()
		client, err := huawei.New(sb.MerchantConfig(huawei.ModelDirect), storetest.Logger(t),
			huawei.WithHTTPClient(sb.Client()), huawei.WithAccount(testAccount), huawei.WithNow(clk.Now))
		storetest.Must(t, err)
		repairDays(t, db, p, client, clk)
	})
}

func TestGroundTruthRepairedWeChatSandbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPlanOpts(17, 40, digitNumbers, true)
		p.dropOthers()
		for i := range p.ledger {
			p.ledger[i].Provider = "wechat"
		}
		p.load(t, db)
		clk := &clock{}
		clk.runAfter(dayD)
		sb := wxsandbox.New(p.sc, wxsandbox.Options{Now: clk.Now})
		defer sb.Close()
		sb.HoldRefunds(true) // refunds answer PROCESSING, then the provider settles them
		cfg := sb.MerchantConfig()
		cfg.Account = testAccount
		client, err := wechat.New(cfg, storetest.Logger(t), wechat.WithNow(clk.Now))
		storetest.Must(t, err)
		repairDays(t, db, p, client, clk)
	})
}

func repairDays(t *testing.T, db *store.DB, p *plan, client payrecon.Provider, clk *clock) {
	t.Helper()
	ctx := context.Background()
	svc, err := jobs.NewActions(jobs.ActionsDeps{Store: db, Ledger: db, LedgerReader: db,
		Providers: map[string]payrecon.Provider{testAccount: client}, Logger: storetest.Logger(t), Now: clk.Now})
	storetest.Must(t, err)
	r := newRunner(t, db, client, clk, jobs.Options{AfterSave: svc.AfterSave})
	days := []payrecon.Day{dayD, dayD1, dayD3}
	for _, day := range days {
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

	// Apply every applicable action, as an operator would in bulk.
	all, err := svc.List(ctx, payrecon.ActionFilter{Account: testAccount})
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
			t.Errorf("apply %s for %s: %v", a.Kind, itemID(a.Item), err)
		}
	}
	for _, k := range []payrecon.ActionKind{payrecon.ActionBackfillLedger, payrecon.ActionReverseLedger, payrecon.ActionRefundDuplicate,
		payrecon.ActionCloseOrder, payrecon.ActionCorrectAgreement, payrecon.ActionManualReview} {
		if kinds[k] == 0 {
			t.Errorf("the plan proposed no %s: %v", k, kinds)
		}
	}
	// The provider settles the refunds it answered pending.
	pending, err := svc.List(ctx, payrecon.ActionFilter{Account: testAccount, States: []payrecon.ActionState{payrecon.ActionApplied},
		Kinds: []payrecon.ActionKind{payrecon.ActionRefundDuplicate}})
	storetest.Must(t, err)
	if len(pending) == 0 {
		t.Error("no refund was left pending by the provider: the outcome is not followed here")
	}
	for _, a := range pending {
		if !p.sc.SetRefundStatus(a.IdempotencyKey, payrecon.StatusSuccess, clk.Now()) {
			t.Errorf("sandbox has no refund %s", a.IdempotencyKey)
		}
	}

	// Re-run every day (each run syncs the outcomes after it is stored).
	for _, day := range days {
		clk.runAfter(day)
		run, err := r.RunDay(ctx, testAccount, day)
		if err != nil {
			t.Fatalf("re-run %s: %v", day, err)
		}
		if !run.Totals.Balanced() {
			t.Errorf("re-run %s: not balanced: %+v", day, run.Totals)
		}
		for _, it := range runItems(t, db, run.ID) {
			switch {
			case it.Class == payrecon.ClassCarriedOver || it.Class == payrecon.ClassResolvedLate || it.Class == payrecon.ClassOtherBillLine:
			case it.Action == payrecon.ActionManualReview:
			default:
				acts, err := svc.List(ctx, payrecon.ActionFilter{Account: testAccount, Kinds: []payrecon.ActionKind{it.Action}})
				storetest.Must(t, err)
				final := false
				for _, a := range acts {
					if a.DiscrepancyKey == it.Key() && a.State.Final(a.Kind) && a.State == payrecon.ActionSucceeded {
						final = true
					}
				}
				if !final {
					t.Errorf("re-run %s: %s remains with %s not done at the provider (%s)", day, itemID(it), it.Action, it.Note)
				}
			}
		}
	}
	all, err = svc.List(ctx, payrecon.ActionFilter{Account: testAccount})
	storetest.Must(t, err)
	for _, a := range all {
		if a.Kind != payrecon.ActionManualReview && !a.State.Final(a.Kind) {
			t.Errorf("action %d %s for %s is %s (%s), not final", a.ID, a.Kind, itemID(a.Item), a.State, a.Result)
		}
		if a.Kind == payrecon.ActionRefundDuplicate && !strings.Contains(a.Result, "succeeded at the provider") {
			t.Errorf("refund action %d: %q", a.ID, a.Result)
		}
	}
}
