package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/alipay/sandbox"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestGroundTruthAlipayRefunds builds an Alipay day's ledger through the
// real intake from the sandbox's signed notifications and reconciles it with
// the real runner. Orders are refunded two and three times (one of them in
// full, which closes the trade); every refund notification states the
// trade's cumulative refund_fee, and they arrive out of order and retried.
// Each refund must be booked at its own amount, one whose notification was
// lost must be refund_missing_in_ledger at its own amount (the next refund of
// its order still exact), a success notification for a trade Alipay closed
// unpaid must be missing_in_bill, and the day must balance.
func TestGroundTruthAlipayRefunds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &jobstest.Clock{}
		clk.RunAfter(jobstest.DayD)
		at := func(h, m int) time.Time {
			return jobstest.DayD.Start().Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
		}
		sc := &scenario.Scenario{}
		var pays []scenario.Payment
		for i := 0; i < 10; i++ {
			amount := int64(10000 + 1237*i)
			p := scenario.Payment{MerchantOrderNo: fmt.Sprintf("AO%03d", i), ProviderTxnNo: fmt.Sprintf("2026112022001400000000%06d", i),
				Status: payrecon.StatusSuccess, Amount: amount, PayerAmount: amount, CreatedAt: at(8, i), PaidAt: at(8, i+1), Product: "商品"}
			pays = append(pays, p)
		}
		// Refund plans: orders 0-3 twice, 4-6 three times, 7 three times in full.
		parts := map[int][]func(a int64) int64{}
		for i := 0; i <= 3; i++ {
			parts[i] = []func(int64) int64{func(a int64) int64 { return a / 5 }, func(a int64) int64 { return a/4 + 3 }}
		}
		for i := 4; i <= 6; i++ {
			parts[i] = []func(int64) int64{func(a int64) int64 { return a / 5 }, func(a int64) int64 { return a/4 + 3 }, func(a int64) int64 { return a/3 + 11 }}
		}
		parts[7] = []func(int64) int64{func(a int64) int64 { return a / 4 }, func(a int64) int64 { return a / 3 }, func(a int64) int64 { return a - a/4 - a/3 }}
		var refunds []scenario.Refund
		for i := 0; i <= 7; i++ {
			for j, f := range parts[i] {
				amt := f(pays[i].Amount)
				fin := at(12+j, 10+i)
				refunds = append(refunds, scenario.Refund{MerchantRefundNo: fmt.Sprintf("AR%03d-%d", i, j+1), MerchantOrderNo: pays[i].MerchantOrderNo,
					ProviderTxnNo: pays[i].ProviderTxnNo, Status: payrecon.StatusSuccess, Amount: amt, PayerAmount: amt, CreatedAt: fin.Add(-time.Minute), FinishedAt: fin})
			}
		}
		// A trade Alipay closed unpaid (no send_pay_date) that the merchant's
		// side booked as paid from a mistaken notification.
		closed := scenario.Payment{MerchantOrderNo: "AOCLOSED", ProviderTxnNo: "2026112022001400000000999999", Status: payrecon.StatusClosed,
			Amount: 4321, PayerAmount: 4321, CreatedAt: at(9, 0), PaidAt: at(9, 1)}
		sc.Payments = append(append(sc.Payments, pays...), closed)
		sc.Refunds = refunds

		sb := sandbox.New(sc, sandbox.Options{Now: clk.Now})
		defer sb.Close()
		cfg := sb.MerchantConfig()
		cfg.Account = jobstest.Account
		client, err := alipay.New(cfg, storetest.Logger(t), alipay.WithNow(clk.Now))
		storetest.Must(t, err)
		in := providertest.ServeIntake(t, db, storetest.Logger(t), alipay.Name, jobstest.Account, client, clk.Now)
		fire := func(cb scenario.Callback, err error) {
			t.Helper()
			storetest.Must(t, err)
			if status, body := in.Fire(t, jobstest.Account, cb); status != http.StatusOK || string(body) != alipay.ReplySuccess {
				t.Fatalf("notification %s: %d %q", cb.EventID, status, body)
			}
		}
		for _, p := range pays {
			fire(sb.PaymentCallback(p))
		}
		mistaken := closed
		mistaken.Status = payrecon.StatusSuccess
		fire(sb.PaymentCallback(mistaken))
		// Refund notifications newest first (Alipay retries for 25 hours, so
		// the order is anyone's), every third one retried; AR005-2 is lost.
		const lost = "AR005-2"
		var cumulativeSeen bool
		for i := len(refunds) - 1; i >= 0; i-- {
			r := refunds[i]
			if r.MerchantRefundNo == lost {
				continue
			}
			cb, err := sb.RefundCallback(r)
			storetest.Must(t, err)
			if r.MerchantRefundNo == "AR004-3" {
				// the notification states the cumulative refund, not this one
				want := payrecon.FormatYuan(refunds[i-2].Amount + refunds[i-1].Amount + r.Amount)
				cumulativeSeen = containsParam(string(cb.Body), "refund_fee", want)
			}
			fire(cb, nil)
			if i%3 == 0 {
				fire(cb, nil)
			}
		}
		if !cumulativeSeen {
			t.Fatal("the sandbox's notification for AR004-3 does not state the cumulative refund_fee")
		}
		// Exact own amounts in the ledger.
		for _, r := range refunds {
			e, err := db.LedgerEntryByKey(ctx, jobstest.Account, payrecon.EventKey(payrecon.KindRefund, alipay.RefundKey(r.ProviderTxnNo, r.MerchantRefundNo), payrecon.StatusSuccess))
			if r.MerchantRefundNo == lost {
				if err == nil {
					t.Errorf("lost refund %s booked: %+v", lost, e)
				}
				continue
			}
			if err != nil {
				t.Fatalf("refund %s: %v", r.MerchantRefundNo, err)
			}
			if e.Amount != r.Amount || e.PayerAmount != r.Amount {
				t.Errorf("refund %s booked %d (payer %d), its own amount is %d", r.MerchantRefundNo, e.Amount, e.PayerAmount, r.Amount)
			}
		}

		r := jobs.NewRunner(db, map[string]jobs.Target{jobstest.Account: {
			Account:  payrecon.Account{Name: jobstest.Account, Provider: alipay.Name},
			Provider: client,
		}}, storetest.Logger(t), clk.Now, jobs.Options{QueryBackoff: time.Millisecond, Version: "test"})
		run, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD)
		if err != nil {
			t.Fatal(err)
		}
		items := jobstest.RunItems(t, db, run.ID)
		got := map[string]payrecon.Class{}
		for _, it := range items {
			got[jobstest.ItemID(it)] = it.Class
		}
		want := map[string]payrecon.Class{
			string(payrecon.ClassRefundMissingInLedger) + "|" + alipay.RefundKey(refunds[indexOf(refunds, lost)].ProviderTxnNo, lost): payrecon.ClassRefundMissingInLedger,
			string(payrecon.ClassMissingInBill) + "|" + closed.ProviderTxnNo:                                                          payrecon.ClassMissingInBill,
		}
		for id := range want {
			if _, ok := got[id]; !ok {
				t.Errorf("recall: %s not found in %v", id, got)
			}
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("precision: unexpected %s", id)
			}
		}
		for _, it := range items {
			if it.Class == payrecon.ClassRefundMissingInLedger && (it.MerchantRefundNo != lost || it.BillAmount != -refunds[indexOf(refunds, lost)].Amount) {
				t.Errorf("refund_missing_in_ledger %s bill %d, want %s at -%d", it.MerchantRefundNo, it.BillAmount, lost, refunds[indexOf(refunds, lost)].Amount)
			}
			if it.Class == payrecon.ClassMissingInBill && it.ProviderStatus != payrecon.StatusClosed {
				t.Errorf("missing_in_bill provider status %q, want closed", it.ProviderStatus)
			}
		}
		var billTotal, ledgerTotal int64
		for _, p := range pays {
			billTotal += p.Amount
			ledgerTotal += p.Amount
		}
		ledgerTotal += closed.Amount
		for _, rf := range refunds {
			billTotal -= rf.Amount
			if rf.MerchantRefundNo != lost {
				ledgerTotal -= rf.Amount
			}
		}
		tot := run.Totals
		if tot.BillTotal != billTotal || tot.LedgerTotal != ledgerTotal || !tot.Balanced() {
			t.Errorf("totals bill %d ledger %d explained %d, want bill %d ledger %d balanced", tot.BillTotal, tot.LedgerTotal, tot.Explained, billTotal, ledgerTotal)
		}
		if wantMatched := int64(len(pays) + len(refunds) - 1); tot.Matched != wantMatched {
			t.Errorf("matched %d, want %d", tot.Matched, wantMatched)
		}
		if tot.ByClass[payrecon.ClassSettlementMismatch].Count != 0 {
			t.Errorf("settlement_mismatch: %+v", tot.ByClass)
		}
	})
}

func indexOf(rs []scenario.Refund, merchantRefundNo string) int {
	for i, r := range rs {
		if r.MerchantRefundNo == merchantRefundNo {
			return i
		}
	}
	panic("no refund " + merchantRefundNo)
}

// containsParam reports whether a form body holds name=value.
func containsParam(body, name, value string) bool {
	v, err := url.ParseQuery(body)
	return err == nil && v.Get(name) == value
}

// TestRunDayAlipaySettlement runs the real job over a small Alipay day:
// notifications land in the ledger through intake, the run reads the trade
// and fund bills and must match everything (Alipay refunds have no
// provider number: they match by out_request_no). One payment whose
// notification never arrived must come out as missing_in_ledger; a fund
// bill moving one yuan less than the trade bill explains is a
// settlement_mismatch on a re-run. The same day with its promotion funded by
// Alipay (支付宝优惠: the buyer pays less, the merchant receives the whole
// order amount) settles exactly too.
func TestRunDayAlipaySettlement(t *testing.T) {
	for _, funded := range []bool{false, true} {
		t.Run(fmt.Sprintf("alipayFunded=%v", funded), func(t *testing.T) { alipaySettlementDay(t, funded) })
	}
}

func alipaySettlementDay(t *testing.T, alipayFunded bool) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	clk := &jobstest.Clock{}
	clk.RunAfter(jobstest.DayD)
	at := func(h, m int) time.Time {
		return jobstest.DayD.Start().Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	sc := &scenario.Scenario{
		Payments: []scenario.Payment{
			{MerchantOrderNo: "O1", ProviderTxnNo: "2026112022001400000000000001", Status: payrecon.StatusSuccess, Amount: 12345, PayerAmount: 12000, PromotionAmount: 345, Fee: 74, CreatedAt: at(9, 0), PaidAt: at(9, 1), Product: "商品 A"},
			{MerchantOrderNo: "O2", ProviderTxnNo: "2026112022001400000000000002", Status: payrecon.StatusSuccess, Amount: 100, PayerAmount: 100, CreatedAt: at(10, 0), PaidAt: at(10, 1), Product: "商品 B"},
			{MerchantOrderNo: "O3", ProviderTxnNo: "2026112022001400000000000003", Status: payrecon.StatusSuccess, Amount: 500, PayerAmount: 500, CreatedAt: at(14, 0), PaidAt: at(14, 1), Product: "商品 C"},
		},
		Refunds: []scenario.Refund{
			{MerchantRefundNo: "R1", MerchantOrderNo: "O1", ProviderTxnNo: "2026112022001400000000000001", Status: payrecon.StatusSuccess, Amount: 2345, PayerAmount: 2345, Fee: -14, CreatedAt: at(12, 0), FinishedAt: at(12, 1)},
		},
	}
	sb := sandbox.New(sc, sandbox.Options{Now: clk.Now, AlipayFunded: alipayFunded})
	t.Cleanup(sb.Close)
	cfg := sb.MerchantConfig()
	cfg.Account = "ali"
	c, err := alipay.New(cfg, storetest.Logger(t), alipay.WithNow(clk.Now))
	storetest.Must(t, err)
	in := providertest.ServeIntake(t, db, storetest.Logger(t), alipay.Name, "ali", c, clk.Now)
	// O3's notification never arrives.
	for _, cb := range []func() (scenario.Callback, error){
		func() (scenario.Callback, error) { return sb.PaymentCallback(sc.Payments[0]) },
		func() (scenario.Callback, error) { return sb.PaymentCallback(sc.Payments[1]) },
		func() (scenario.Callback, error) { return sb.RefundCallback(sc.Refunds[0]) },
	} {
		cb, err := cb()
		storetest.Must(t, err)
		if status, body := in.Fire(t, "ali", cb); status != http.StatusOK || string(body) != alipay.ReplySuccess {
			t.Fatalf("notification %s: %d %q", cb.EventID, status, body)
		}
	}
	runner := jobs.NewRunner(db, map[string]jobs.Target{"ali": {Account: payrecon.Account{Name: "ali", Provider: alipay.Name}, Provider: c}},
		storetest.Logger(t), clk.Now, jobs.Options{QueryBackoff: time.Millisecond})
	runs, err := runner.RunRange(ctx, []string{"ali"}, jobstest.DayD, jobstest.DayD)
	storetest.Must(t, err)
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	by := runs[0].Totals.ByClass
	if by[payrecon.ClassMatched].Count != 3 || by[payrecon.ClassMissingInLedger].Count != 1 {
		t.Fatalf("classes %+v, want 3 matched (2 payments, 1 refund) and 1 missing_in_ledger", by)
	}
	for cl, tot := range by {
		if cl != payrecon.ClassMatched && cl != payrecon.ClassMissingInLedger && tot.Count != 0 {
			t.Errorf("unexpected %s: %+v", cl, tot)
		}
	}

	sc.Lock()
	sc.SettlementDelta = map[payrecon.Day]int64{jobstest.DayD: -100}
	sc.Unlock()
	runs, err = runner.RunRange(ctx, []string{"ali"}, jobstest.DayD, jobstest.DayD)
	storetest.Must(t, err)
	if n := runs[0].Totals.ByClass[payrecon.ClassSettlementMismatch].Count; n != 1 {
		t.Fatalf("settlement_mismatch %d, want 1: %+v", n, runs[0].Totals.ByClass)
	}
}

// Alipay's out_request_no is unique only within its trade: two trades each
// refunded under "1" are two refunds — both notifications booked, each
// refund matched to its own bill line, nothing else reported.
func TestAlipayRefundNumbersPerTrade(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	clk := &jobstest.Clock{}
	clk.RunAfter(jobstest.DayD)
	at := func(h int) time.Time { return jobstest.DayD.Start().Add(time.Duration(h) * time.Hour) }
	sc := &scenario.Scenario{}
	for i, amount := range []int64{5000, 7000} {
		p := scenario.Payment{MerchantOrderNo: fmt.Sprintf("PT%d", i), ProviderTxnNo: fmt.Sprintf("20261120220014000000000000%02d", i),
			Status: payrecon.StatusSuccess, Amount: amount, PayerAmount: amount, Fee: payrecon.FeeFor(amount, jobstest.RatePPM), CreatedAt: at(9 + i), PaidAt: at(9 + i)}
		sc.Payments = append(sc.Payments, p)
		sc.Refunds = append(sc.Refunds, scenario.Refund{MerchantRefundNo: "1", MerchantOrderNo: p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo,
			Status: payrecon.StatusSuccess, Amount: amount / 5, PayerAmount: amount / 5, CreatedAt: at(12 + i), FinishedAt: at(12 + i)})
	}
	sb := sandbox.New(sc, sandbox.Options{Now: clk.Now})
	t.Cleanup(sb.Close)
	cfg := sb.MerchantConfig()
	cfg.Account = jobstest.Account
	client, err := alipay.New(cfg, storetest.Logger(t), alipay.WithNow(clk.Now))
	storetest.Must(t, err)
	in := providertest.ServeIntake(t, db, storetest.Logger(t), alipay.Name, jobstest.Account, client, clk.Now)
	for i := range sc.Payments {
		for _, cb := range []func() (scenario.Callback, error){
			func() (scenario.Callback, error) { return sb.PaymentCallback(sc.Payments[i]) },
			func() (scenario.Callback, error) { return sb.RefundCallback(sc.Refunds[i]) },
		} {
			c, err := cb()
			storetest.Must(t, err)
			if st, body := in.Fire(t, jobstest.Account, c); st != http.StatusOK {
				t.Fatalf("notification %s: %d %s", c.EventID, st, body)
			}
		}
	}
	for _, r := range sc.Refunds {
		e, err := db.LedgerEntryByKey(ctx, jobstest.Account, payrecon.EventKey(payrecon.KindRefund, alipay.RefundKey(r.ProviderTxnNo, "1"), payrecon.StatusSuccess))
		if err != nil || e.Amount != r.Amount {
			t.Fatalf("refund 1 of %s: %+v %v, want %d booked", r.ProviderTxnNo, e, err, r.Amount)
		}
	}
	run, err := jobstest.NewRunner(t, db, client, clk, jobs.Options{}).RunDay(ctx, jobstest.Account, jobstest.DayD)
	storetest.Must(t, err)
	if items := jobstest.RunItems(t, db, run.ID); len(items) != 0 || run.Totals.Matched != 4 || !run.Totals.Balanced() {
		t.Fatalf("matched %d, items %+v: want the two payments and two refunds matched, nothing else", run.Totals.Matched, items)
	}
}
