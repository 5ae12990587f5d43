package e2e_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
	wxsandbox "github.com/payrecon/payrecon/providers/wechat/sandbox"
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

// A day WeChat Pay has no bill for (NO_STATEMENT_EXIST: no trades or
// refunds that day): not ready before noon of the next day, reconciled as a
// day without transactions after it — a success the ledger holds that WeChat
// Pay does not know is missing_in_bill — instead of failing after the
// bill-ready deadline.
func TestNoStatementDayWeChat(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	day := jobstest.DayD
	at := day.Start().Add(10 * time.Hour)
	forged := scenario.Payment{MerchantOrderNo: "NOSTMT1", ProviderTxnNo: "4200000000202611200000000001", Status: payrecon.StatusSuccess,
		Amount: 990, PayerAmount: 990, CreatedAt: at, PaidAt: at}
	le := jobstest.LedgerOf(forged)
	le.Provider = wechat.Name
	_, err := db.AddLedgerEntry(ctx, le)
	storetest.Must(t, err)
	clk := &jobstest.Clock{}
	clk.Set(day.End().Add(10 * time.Hour))
	sb := wxsandbox.New(&scenario.Scenario{}, wxsandbox.Options{Now: clk.Now, NoStatementWhenEmpty: true})
	t.Cleanup(sb.Close)
	cfg := sb.MerchantConfig()
	cfg.Account = jobstest.Account
	client, err := wechat.New(cfg, storetest.Logger(t), wechat.WithNow(clk.Now))
	storetest.Must(t, err)
	r := jobstest.NewRunner(t, db, client, clk, jobs.Options{})
	if _, err := r.RunDay(ctx, jobstest.Account, day); !errors.Is(err, payrecon.ErrBillNotReady) {
		t.Fatalf("10:00 the next day: %v, want not ready", err)
	}
	clk.Set(day.End().Add(13 * time.Hour))
	run, err := r.RunDay(ctx, jobstest.Account, day)
	storetest.Must(t, err)
	items := jobstest.RunItems(t, db, run.ID)
	if len(items) != 1 || items[0].Class != payrecon.ClassMissingInBill || items[0].ProviderTxnNo != forged.ProviderTxnNo || !run.Totals.Balanced() {
		t.Fatalf("run %+v items %+v, want the forged payment missing_in_bill", run, items)
	}
}
