package e2e_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/douyin"
	"github.com/payrecon/payrecon/providers/douyin/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// TestGroundTruthDouyinFees reconciles a Douyin day with a fee rate through
// the real client and its loopback sandbox. Douyin's payment and refund bills
// state no fee; its settle bill states each order's 技术服务费 (refunds settle
// back as negative rows with their fee returned). Planted: fee differences
// on the settle bill (payments and one refund), a lost payment callback, a
// ledger success for an order that timed out at Douyin (TIMEOUT, in no bill),
// and a settlement adjustment. Every planted item must come out in its class
// and nothing else (no fee_mismatch from the fee-less trade lines), and the
// settlement must net the same fees on both sides. A day whose settle bill
// also charges a 抽佣金额 (commission) on every order settles exactly: the
// commission is netted like the fees and totalled as deductions.
func TestGroundTruthDouyinFees(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// Three days: one that settles exactly, one with an adjustment row,
		// one with commissions.
		for i, d := range []struct{ adjust, commissionPPM int64 }{{0, 0}, {7, 0}, {0, 2500}} {
			t.Run(fmt.Sprintf("adjust%d_commission%d", d.adjust, d.commissionPPM), func(t *testing.T) {
				douyinFees(t, db, jobstest.DayD.Add(10*i), d.adjust, d.commissionPPM)
			})
		}
	})
}

func douyinFees(t *testing.T, db *store.DB, day payrecon.Day, adjust, commissionPPM int64) {
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(uint64(adjust)+5, 99))
	prefix := fmt.Sprintf("A%dC%d", adjust, commissionPPM) // each sub-run its own orders
	at := func() time.Time { return day.Start().Add(time.Hour + time.Duration(rnd.IntN(20*3600))*time.Second) }
	sc := &scenario.Scenario{SettlementDelta: map[payrecon.Day]int64{day: adjust}}
	var ledger []payrecon.LedgerEntry
	want := map[string]payrecon.Class{}
	payEntry := func(p scenario.Payment) payrecon.LedgerEntry {
		return payrecon.LedgerEntry{Account: jobstest.Account, Provider: douyin.Name, EventKey: payrecon.EventKey(payrecon.KindPayment, p.ProviderTxnNo, payrecon.StatusSuccess),
			Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess, MerchantOrderNo: p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo,
			Amount: p.Amount, PayerAmount: p.Amount, Currency: "CNY", OccurredAt: p.PaidAt, Source: "callback"}
	}
	var pays []scenario.Payment
	for i := 0; i < 150; i++ {
		amount := int64(100 + rnd.IntN(200000))
		paid := at()
		p := scenario.Payment{MerchantOrderNo: fmt.Sprintf("%sDO%05d", prefix, i), ProviderTxnNo: fmt.Sprintf("N7%s%011d", prefix, i),
			Status: payrecon.StatusSuccess, Amount: amount, PayerAmount: amount, Fee: payrecon.FeeFor(amount, jobstest.RatePPM), FeeRatePPM: jobstest.RatePPM,
			CreatedAt: paid.Add(-time.Minute), PaidAt: paid}
		if i%37 == 5 { // planted: the settle bill charges another fee
			p.Fee += int64(1 + i%4)
			want[string(payrecon.ClassFeeMismatch)+"|"+p.ProviderTxnNo] = payrecon.ClassFeeMismatch
		}
		pays = append(pays, p)
		if i == 77 { // planted: the payment callback never arrived
			want[string(payrecon.ClassMissingInLedger)+"|"+p.ProviderTxnNo] = payrecon.ClassMissingInLedger
			continue
		}
		ledger = append(ledger, payEntry(p))
	}
	var refunds []scenario.Refund
	for i := 3; i < len(pays); i += 9 {
		p := pays[i]
		amt := p.Amount/3 + 1
		fin := p.PaidAt.Add(time.Minute)
		if fin.After(day.End()) {
			fin = p.PaidAt
		}
		r := scenario.Refund{MerchantRefundNo: fmt.Sprintf("%sDR%05d", prefix, i), ProviderRefundNo: fmt.Sprintf("R7%s%011d", prefix, i),
			MerchantOrderNo: p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo, Status: payrecon.StatusSuccess,
			Amount: amt, PayerAmount: amt, Fee: payrecon.FeeFor(amt, jobstest.RatePPM), CreatedAt: fin, FinishedAt: fin}
		if i == 30 { // planted: the settle bill returns another fee for this refund
			r.Fee--
			want[string(payrecon.ClassFeeMismatch)+"|"+p.ProviderTxnNo] = payrecon.ClassFeeMismatch
		}
		refunds = append(refunds, r)
		ledger = append(ledger, payrecon.LedgerEntry{Account: jobstest.Account, Provider: douyin.Name, EventKey: payrecon.EventKey(payrecon.KindRefund, r.ProviderRefundNo, payrecon.StatusSuccess),
			Kind: payrecon.KindRefund, Status: payrecon.StatusSuccess, MerchantOrderNo: r.MerchantOrderNo, ProviderTxnNo: r.ProviderTxnNo,
			MerchantRefundNo: r.MerchantRefundNo, ProviderRefundNo: r.ProviderRefundNo, Amount: r.Amount, PayerAmount: r.Amount,
			Currency: "CNY", OccurredAt: r.FinishedAt, Source: "callback"})
	}
	// planted: the ledger says paid, Douyin says TIMEOUT and no bill lists it.
	timedOut := scenario.Payment{MerchantOrderNo: prefix + "DOTIMEOUT", ProviderTxnNo: "N7" + prefix + "TIMEOUT", Status: payrecon.StatusClosed,
		Amount: 4321, PayerAmount: 4321, CreatedAt: at(), PaidAt: at()}
	ledger = append(ledger, payEntry(timedOut))
	want[string(payrecon.ClassMissingInBill)+"|"+timedOut.ProviderTxnNo] = payrecon.ClassMissingInBill
	if adjust != 0 {
		want[string(payrecon.ClassSettlementMismatch)+"|settlement "+string(day)] = payrecon.ClassSettlementMismatch
	}
	sc.Payments = append(append(sc.Payments, pays...), timedOut)
	sc.Refunds = refunds
	for _, e := range ledger {
		if dup, err := db.AddLedgerEntry(ctx, e); err != nil || dup {
			t.Fatalf("ledger %s: %v %v", e.EventKey, dup, err)
		}
	}

	clk := &jobstest.Clock{}
	clk.RunAfter(day)
	sb, err := sandbox.New(sc, sandbox.Options{Now: clk.Now, SettleTrades: true, Summary: true, CommissionPPM: commissionPPM})
	storetest.Must(t, err)
	defer sb.Close()
	cfg := sb.MerchantConfig()
	cfg.Account = jobstest.Account
	client, err := douyin.New(cfg, storetest.Logger(t), douyin.WithNow(clk.Now))
	storetest.Must(t, err)
	if client.FeeFacts().Bill != payrecon.BillSettlement {
		t.Fatalf("douyin declares fees on %q", client.FeeFacts().Bill)
	}
	r := jobstest.NewRunner(t, db, client, clk, jobs.Options{})
	run, err := r.RunDay(ctx, jobstest.Account, day)
	if err != nil {
		t.Fatal(err)
	}
	items := jobstest.RunItems(t, db, run.ID)
	got := map[string]payrecon.Class{}
	for _, it := range items {
		got[jobstest.ItemID(it)] = it.Class
		if it.Class == payrecon.ClassFeeMismatch && (it.Delta != 0 || it.BillFee == it.LedgerFee) {
			t.Errorf("fee_mismatch %s: delta %d, bill fee %d, rate fee %d", it.ProviderTxnNo, it.Delta, it.BillFee, it.LedgerFee)
		}
	}
	for id := range want {
		if _, ok := got[id]; !ok {
			t.Errorf("recall: planted %s not found", id)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("precision: unexpected %s", id)
		}
	}
	// Totals from the scenario, independently of the engine.
	var bill, led, fees, settle, commissions int64
	for _, p := range pays {
		com := payrecon.FeeFor(p.Amount, commissionPPM)
		bill += p.Amount
		fees += p.Fee
		commissions += com
		settle += p.Amount - p.Fee - com
	}
	for _, rf := range refunds {
		com := payrecon.FeeFor(rf.Amount, commissionPPM)
		bill -= rf.Amount
		fees -= rf.Fee
		commissions -= com
		settle -= rf.Amount - rf.Fee - com
	}
	for _, e := range ledger {
		if e.Kind == payrecon.KindRefund {
			led -= e.Amount
		} else {
			led += e.Amount
		}
	}
	tot := run.Totals
	if tot.BillTotal != bill || tot.LedgerTotal != led || !tot.Balanced() {
		t.Errorf("totals bill %d ledger %d difference %d explained %d; want bill %d ledger %d, balanced", tot.BillTotal, tot.LedgerTotal, tot.Difference, tot.Explained, bill, led)
	}
	if tot.Fees != fees || tot.Settlement != settle+adjust || tot.Deductions != commissions {
		t.Errorf("fees %d settlement %d deductions %d, want %d, %d and %d", tot.Fees, tot.Settlement, tot.Deductions, fees, settle+adjust, commissions)
	}
	if commissionPPM > 0 && commissions == 0 {
		t.Fatal("no commission planted")
	}
	if wantMatched := int64(len(pays) + len(refunds) - 1 - len(want) + 2); adjust == 0 && tot.Matched != wantMatched {
		t.Errorf("matched %d, want %d", tot.Matched, wantMatched)
	}
}
