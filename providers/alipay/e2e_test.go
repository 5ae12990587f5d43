package alipay_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestRunDay runs the real reconciliation job over a day served by the
// sandbox: notifications land in the ledger through intake, the run reads
// the trade and fund bills and must match everything (Alipay refunds have
// no provider number: they match by out_request_no). One payment whose
// notification never arrived must come out as missing_in_ledger.
func TestRunDay(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	sc := smallScenario()
	lost := scenario.Payment{MerchantOrderNo: "O3", ProviderTxnNo: "2026110222001400000000000003", Status: payrecon.StatusSuccess, Amount: 500, PayerAmount: 500,
		CreatedAt: testDay.Start().Add(14 * time.Hour), PaidAt: testDay.Start().Add(14*time.Hour + time.Minute), Product: "商品 C"}
	sc.Payments = append(sc.Payments, lost)
	sb, c := MustSandbox(t, sc)
	srv := httptest.NewServer(intake.New(intake.Config{
		Accounts: map[string]intake.Account{"ali": {Provider: alipay.Name, Verifier: c}},
		Store:    db, Logger: storetest.Logger(t), Now: fixedNow,
	}))
	defer srv.Close()
	ctx := context.Background()
	for _, cb := range []scenario.Callback{must(sb.PaymentCallback(sc.Payments[0])), must(sb.PaymentCallback(sc.Payments[1])), must(sb.RefundCallback(sc.Refunds[0]))} {
		if status, body, err := scenario.Fire(ctx, srv.Client(), srv.URL+"/callbacks/alipay/ali", cb); err != nil || status != 200 || string(body) != "success" {
			t.Fatalf("%d %q %v", status, body, err)
		}
	}
	runner := jobs.NewRunner(db, map[string]jobs.Target{"ali": {Account: payrecon.Account{Name: "ali", Provider: alipay.Name}, Provider: c}},
		storetest.Logger(t), fixedNow, jobs.Options{QueryBackoff: time.Millisecond})
	runs, err := runner.RunRange(ctx, []string{"ali"}, testDay, testDay)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	by := runs[0].Totals.ByClass
	t.Logf("classes %+v", by)
	if by[payrecon.ClassMatched].Count != 3 || by[payrecon.ClassMissingInLedger].Count != 1 {
		t.Fatalf("classes %+v, want 3 matched (2 payments, 1 refund) and 1 missing_in_ledger", by)
	}
	for cl, tot := range by {
		if cl != payrecon.ClassMatched && cl != payrecon.ClassMissingInLedger && tot.Count != 0 {
			t.Errorf("unexpected %s: %+v", cl, tot)
		}
	}

	// The fund bill moves one yuan less than the trade bill explains: a
	// settlement_mismatch on a re-run.
	sc.Lock()
	sc.SettlementDelta = map[payrecon.Day]int64{testDay: -100}
	sc.Unlock()
	runs, err = runner.RunRange(ctx, []string{"ali"}, testDay, testDay)
	if err != nil {
		t.Fatal(err)
	}
	if n := runs[0].Totals.ByClass[payrecon.ClassSettlementMismatch].Count; n != 1 {
		t.Fatalf("settlement_mismatch %d, want 1: %+v", n, runs[0].Totals.ByClass)
	}
}
