package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/ledgersrc"
	"github.com/payrecon/payrecon/providers/baas"
	baassandbox "github.com/payrecon/payrecon/providers/baas/sandbox"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
	wxsandbox "github.com/payrecon/payrecon/providers/wechat/sandbox"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// mcPlan is the ground truth of a MinCloud app paying through WeChat Pay:
// what WeChat knows (wx, served with its real bills and queries), what
// MinCloud knows (mc, served as MinCloud's order list and trigger
// webhooks), and per day the class of every planted item by
// class|merchant order number.
type mcPlan struct {
	wx, mc   *scenario.Scenario
	want     map[payrecon.Day]map[string]payrecon.Class
	matched  map[payrecon.Day]int64
	ledger   map[payrecon.Day]int64 // MinCloud's money per day as the ledger must hold it
	hooks    []func(*baassandbox.Sandbox) (scenario.Callback, error)
	gateways map[string]string
	n        int
}

const (
	mcAccount = "mincloud"
	wxAccount = "wx"
)

func (p *mcPlan) expect(day payrecon.Day, class payrecon.Class, order string) {
	if p.want[day] == nil {
		p.want[day] = map[string]payrecon.Class{}
	}
	id := string(class) + "|" + order
	if _, dup := p.want[day][id]; dup {
		panic("duplicate expectation " + id)
	}
	p.want[day][id] = class
}

// pay makes the WeChat payment and MinCloud's view of it (same
// out_trade_no; MinCloud's own transaction_no).
func (p *mcPlan) pay(day payrecon.Day, amount int64) (wx, mc scenario.Payment) {
	p.n++
	at := day.Start().Add(time.Duration(9*3600+p.n*97) * time.Second)
	wx = scenario.Payment{
		MerchantOrderNo: fmt.Sprintf("1mcorder%06d", p.n), ProviderTxnNo: fmt.Sprintf("42000000%010d", p.n),
		Status: payrecon.StatusSuccess, Amount: amount, PayerAmount: amount,
		Fee: payrecon.FeeFor(amount, jobstest.RatePPM), FeeRatePPM: jobstest.RatePPM,
		CreatedAt: at.Add(-time.Minute), PaidAt: at, Product: fmt.Sprintf("商品 %d", p.n),
	}
	mc = wx
	mc.ProviderTxnNo = fmt.Sprintf("MCTXN%06d", p.n)
	mc.Fee, mc.FeeRatePPM = 0, 0
	return wx, mc
}

func (p *mcPlan) refund(day payrecon.Day, pay scenario.Payment, amount int64, minute int) scenario.Refund {
	p.n++
	at := day.Start().Add(time.Duration(15*60+minute) * time.Minute)
	return scenario.Refund{
		MerchantRefundNo: fmt.Sprintf("R%06d", p.n), ProviderRefundNo: fmt.Sprintf("50000000%010d", p.n),
		MerchantOrderNo: pay.MerchantOrderNo, ProviderTxnNo: pay.ProviderTxnNo, Status: payrecon.StatusSuccess,
		Amount: amount, PayerAmount: amount, CreatedAt: at.Add(-time.Minute), FinishedAt: at,
	}
}

// mcRefund is MinCloud's view of a refund (aggregated on its order).
func mcRefund(r scenario.Refund) scenario.Refund {
	r.ProviderTxnNo, r.ProviderRefundNo = "", ""
	return r
}

func (p *mcPlan) both(wx, mc scenario.Payment, hook bool) {
	p.wx.Payments = append(p.wx.Payments, wx)
	p.mc.Payments = append(p.mc.Payments, mc)
	p.ledger[payrecon.DayOf(mc.PaidAt)] += mc.Amount
	if hook {
		p.hooks = append(p.hooks, func(s *baassandbox.Sandbox) (scenario.Callback, error) { return s.PaymentCallback(mc) })
	}
}

func newMCPlan() *mcPlan {
	p := &mcPlan{
		wx: &scenario.Scenario{SettlementDelta: map[payrecon.Day]int64{}}, mc: &scenario.Scenario{},
		want: map[payrecon.Day]map[string]payrecon.Class{}, matched: map[payrecon.Day]int64{},
		ledger: map[payrecon.Day]int64{}, gateways: map[string]string{},
	}
	d := jobstest.DayD
	// Normal traffic, every second order also notified by webhook.
	for i := 0; i < 8; i++ {
		wx, mc := p.pay(d, int64(1000+i*137))
		p.both(wx, mc, i%2 == 0)
		p.matched[d]++
	}
	// Paid at WeChat, unknown to MinCloud: missing_in_ledger.
	wx, _ := p.pay(d, 4321)
	p.wx.Payments = append(p.wx.Payments, wx)
	p.expect(d, payrecon.ClassMissingInLedger, wx.MerchantOrderNo)
	// MinCloud says success, WeChat says not paid / never heard of it:
	// missing_in_bill after the channel query.
	wx, mc := p.pay(d, 5000)
	wx.Status, wx.PaidAt = payrecon.StatusNotPaid, time.Time{}
	p.wx.Payments = append(p.wx.Payments, wx)
	p.mc.Payments = append(p.mc.Payments, mc)
	p.ledger[d] += mc.Amount
	p.hooks = append(p.hooks, func(s *baassandbox.Sandbox) (scenario.Callback, error) { return s.PaymentCallback(mc) })
	p.expect(d, payrecon.ClassMissingInBill, mc.MerchantOrderNo)
	_, mc2 := p.pay(d, 5100)
	p.mc.Payments = append(p.mc.Payments, mc2)
	p.ledger[d] += mc2.Amount
	p.expect(d, payrecon.ClassMissingInBill, mc2.MerchantOrderNo)
	// Paid late on D, in WeChat's bill of D+1: carried over, then resolved late.
	wx, mc = p.pay(d, 6000)
	wx.PaidAt = d.End().Add(-90 * time.Second)
	wx.BillDay = d.Add(1)
	mc.PaidAt = wx.PaidAt
	p.both(wx, mc, true)
	p.expect(d, payrecon.ClassCarriedOver, mc.MerchantOrderNo)
	p.expect(d.Add(1), payrecon.ClassResolvedLate, mc.MerchantOrderNo)
	// MinCloud's total_cost differs from what WeChat took.
	wx, mc = p.pay(d, 10000)
	wx.Amount, wx.PayerAmount, wx.Fee = 9900, 9900, payrecon.FeeFor(9900, jobstest.RatePPM)
	p.both(wx, mc, true)
	p.expect(d, payrecon.ClassAmountMismatch, mc.MerchantOrderNo)
	// WeChat paid, MinCloud left the order pending / marked it failed.
	for _, st := range []payrecon.Status{payrecon.StatusPending, payrecon.StatusFailed} {
		wx, mc = p.pay(d, 7000)
		mc.Status, mc.PaidAt = st, time.Time{}
		p.wx.Payments = append(p.wx.Payments, wx)
		p.mc.Payments = append(p.mc.Payments, mc)
		p.expect(d, payrecon.ClassStatusMismatch, mc.MerchantOrderNo)
	}
	// WeChat took the order twice.
	wx, mc = p.pay(d, 8000)
	p.both(wx, mc, false)
	dup := wx
	dup.ProviderTxnNo = "4200000000999999"
	dup.PaidAt = wx.PaidAt.Add(time.Minute)
	p.wx.Payments = append(p.wx.Payments, dup)
	p.matched[d]++
	p.expect(d, payrecon.ClassDuplicatePayment, mc.MerchantOrderNo)
	// WeChat's fee is not the contracted rate.
	wx, mc = p.pay(d, 9000)
	wx.Fee++
	p.both(wx, mc, false)
	p.expect(d, payrecon.ClassFeeMismatch, mc.MerchantOrderNo)
	// Two refunds of one order, each notified (cumulative 10.00 then
	// 25.00 at MinCloud; two refund rows at WeChat): matched summed.
	wx, mc = p.pay(d, 9500)
	p.both(wx, mc, false)
	p.matched[d]++
	r1, r2 := p.refund(d, wx, 1000, 0), p.refund(d, wx, 1500, 60)
	r1.MerchantRefundNo = wx.MerchantOrderNo // a refund number equal to the order's must not pair it alone
	p.wx.Refunds = append(p.wx.Refunds, r1, r2)
	p.ledger[d] -= 2500
	p.matched[d]++
	p.hooks = append(p.hooks,
		func(s *baassandbox.Sandbox) (scenario.Callback, error) {
			s.Scenario().Lock()
			s.Scenario().Refunds = append(s.Scenario().Refunds, mcRefund(r1))
			s.Scenario().Unlock()
			return s.RefundCallback(mcRefund(r1))
		},
		func(s *baassandbox.Sandbox) (scenario.Callback, error) {
			s.Scenario().Lock()
			s.Scenario().Refunds = append(s.Scenario().Refunds, mcRefund(r2))
			s.Scenario().Unlock()
			return s.RefundCallback(mcRefund(r2))
		})
	// One refund, seen only in the order list backfill: matched.
	wx, mc = p.pay(d, 9600)
	p.both(wx, mc, false)
	p.matched[d]++
	r := p.refund(d, wx, 500, 10)
	p.wx.Refunds = append(p.wx.Refunds, r)
	p.mc.Refunds = append(p.mc.Refunds, mcRefund(r))
	p.ledger[d] -= 500
	p.matched[d]++
	// WeChat refunded 30.00, MinCloud says 25.00: refund_amount_mismatch.
	wx, mc = p.pay(d, 9700)
	p.both(wx, mc, false)
	p.matched[d]++
	r = p.refund(d, wx, 3000, 20)
	p.wx.Refunds = append(p.wx.Refunds, r)
	mr := mcRefund(r)
	mr.Amount = 2500
	p.mc.Refunds = append(p.mc.Refunds, mr)
	p.ledger[d] -= 2500
	p.expect(d, payrecon.ClassRefundAmountMismatch, mc.MerchantOrderNo)
	// MinCloud refunded, WeChat did not: refund_missing_in_bill.
	wx, mc = p.pay(d, 9800)
	p.both(wx, mc, false)
	p.matched[d]++
	r = p.refund(d, wx, 2000, 30)
	p.mc.Refunds = append(p.mc.Refunds, mcRefund(r))
	p.ledger[d] -= 2000
	p.expect(d, payrecon.ClassRefundMissingInBill, mc.MerchantOrderNo)
	// WeChat refunded, MinCloud knows nothing of it: refund_missing_in_ledger.
	wx, mc = p.pay(d, 9900)
	p.both(wx, mc, false)
	p.matched[d]++
	r = p.refund(d, wx, 700, 40)
	p.wx.Refunds = append(p.wx.Refunds, r)
	p.expect(d, payrecon.ClassRefundMissingInLedger, mc.MerchantOrderNo)
	// An Alipay order of the same MinCloud app: routed away, never in the
	// WeChat account's ledger.
	_, mc = p.pay(d, 1234)
	p.mc.Payments = append(p.mc.Payments, mc)
	p.gateways[mc.MerchantOrderNo] = "alipay_wap"
	p.hooks = append(p.hooks, func(s *baassandbox.Sandbox) (scenario.Callback, error) { return s.PaymentCallback(mc) })
	// Notified by webhook but absent from MinCloud's order list: the
	// webhook alone puts it in the ledger.
	wx, mc = p.pay(d, 4444)
	p.wx.Payments = append(p.wx.Payments, wx)
	p.ledger[d] += mc.Amount
	p.hooks = append(p.hooks, func(s *baassandbox.Sandbox) (scenario.Callback, error) { return s.PaymentCallback(mc) })
	p.matched[d]++
	// The fund-flow bill is off by 1.23.
	p.wx.SettlementDelta[d] = 123
	p.expect(d, payrecon.ClassSettlementMismatch, "settlement "+string(d))
	return p
}

// TestGroundTruthMinCloudWeChat runs a MinCloud app linked to a WeChat
// Pay account end to end: MinCloud's trigger webhooks through the real
// intake, MinCloud's order list from its sandbox, routed by gateway_type
// into the WeChat account's ledger by the runner's pull, reconciled
// against the WeChat sandbox's real bills and queries.
func TestGroundTruthMinCloudWeChat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newMCPlan()
		clk := &jobstest.Clock{}
		clk.RunAfter(jobstest.DayD)
		logger := storetest.Logger(t)

		wsb := wxsandbox.New(p.wx, wxsandbox.Options{Now: clk.Now})
		defer wsb.Close()
		wcfg := wsb.MerchantConfig()
		wcfg.Account = wxAccount
		wx, err := wechat.New(wcfg, logger, wechat.WithNow(clk.Now))
		storetest.Must(t, err)

		bsb := baassandbox.New(p.mc, baassandbox.Options{FlatEnvelope: true, Gateways: p.gateways})
		defer bsb.Close()
		bcfg := bsb.MerchantConfig()
		bcfg.Account = mcAccount
		mc, err := baas.New(bcfg, logger, baas.WithNow(clk.Now))
		storetest.Must(t, err)

		// MinCloud's trigger fires during the day, into the real intake.
		evening := func() time.Time { return jobstest.DayD.Start().Add(22 * time.Hour) }
		in := providertest.ServeIntake(t, db, logger, baas.Name, mcAccount, mc, evening)
		for i, h := range p.hooks {
			cb, err := h(bsb)
			storetest.Must(t, err)
			if !strings.HasPrefix(string(cb.Body), `{"data":`) && !strings.HasPrefix(string(cb.Body), `{"event":"payment"`) {
				t.Fatalf("webhook %d is not in the {\"event\":\"payment\",\"data\":…} envelope: %.60s", i, cb.Body)
			}
			if status, body := in.Fire(t, mcAccount, cb); status != http.StatusOK {
				t.Fatalf("webhook %d: %d %s", i, status, body)
			}
		}

		src := &ledgersrc.MinCloud{Account: wxAccount, Channel: "wechat", MinCloudAccount: mcAccount, Client: mc, Callbacks: db, Log: logger}
		target := jobs.Target{
			Account:  payrecon.Account{Name: wxAccount, Provider: wechat.Name, FeeRatePPM: jobstest.RatePPM},
			Provider: wx, Ledger: src, RefundsByOrder: true,
		}
		r := jobs.NewRunner(db, map[string]jobs.Target{wxAccount: target}, logger, clk.Now, jobs.Options{QueryBackoff: time.Millisecond, Version: "test"})
		for _, day := range []payrecon.Day{jobstest.DayD, jobstest.DayD.Add(1)} {
			clk.RunAfter(day)
			run, err := r.RunDay(ctx, wxAccount, day)
			if err != nil {
				t.Fatalf("run %s: %v", day, err)
			}
			checkMCDay(t, db, p, day, run)
		}
		// The same app's Alipay order is routed to an Alipay account, alone.
		ali := &ledgersrc.MinCloud{Account: "ali", Channel: "alipay", MinCloudAccount: mcAccount, Client: mc, Callbacks: db}
		var routed []string
		storetest.Must(t, ali.Pull(ctx, jobstest.DayD, func(e payrecon.LedgerEntry) error {
			routed = append(routed, e.Account+" "+e.EventKey)
			return nil
		}))
		if len(routed) != 1 || !strings.HasPrefix(routed[0], "ali mincloud:payment:") {
			t.Errorf("alipay account pulled %v, want the one alipay_wap order", routed)
		}
		// A second pull of the same day changes nothing; a re-run finds the same.
		res, err := jobs.PullLedger(ctx, src, db, wxAccount, jobstest.DayD, nil)
		storetest.Must(t, err)
		if res.Added != 0 || res.Pulled == 0 {
			t.Errorf("second pull: %+v, want nothing added", res)
		}
		clk.RunAfter(jobstest.DayD)
		run, err := r.RunDay(ctx, wxAccount, jobstest.DayD)
		storetest.Must(t, err)
		checkMCDay(t, db, p, jobstest.DayD, run)
	})
}

func checkMCDay(t *testing.T, db *store.DB, p *mcPlan, day payrecon.Day, run payrecon.Run) {
	t.Helper()
	got := map[string]payrecon.Class{}
	for _, it := range jobstest.RunItems(t, db, run.ID) {
		id := string(it.Class) + "|" + it.MerchantOrderNo
		if it.Class == payrecon.ClassSettlementMismatch {
			id = string(it.Class) + "|settlement " + string(it.Day) // the day's own item, no order number
		}
		if _, dup := got[id]; dup {
			t.Errorf("%s: item %s twice", day, id)
		}
		got[id] = it.Class
	}
	var missed, extra []string
	for id := range p.want[day] {
		if _, ok := got[id]; !ok {
			missed = append(missed, id)
		}
	}
	for id := range got {
		if _, ok := p.want[day][id]; !ok {
			extra = append(extra, id)
		}
	}
	sort.Strings(missed)
	sort.Strings(extra)
	if len(missed) > 0 {
		t.Errorf("%s: recall: planted but not found: %v", day, missed)
	}
	if len(extra) > 0 {
		t.Errorf("%s: precision: found but not planted: %v", day, extra)
	}
	var bill int64
	for _, pay := range p.wx.BillPayments(day) {
		bill += pay.Amount
	}
	for _, r := range p.wx.BillRefunds(day) {
		bill -= r.Amount
	}
	tot := run.Totals
	if tot.BillTotal != bill || tot.LedgerTotal != p.ledger[day] {
		t.Errorf("%s: totals bill %d ledger %d, want %d and %d", day, tot.BillTotal, tot.LedgerTotal, bill, p.ledger[day])
	}
	if !tot.Balanced() {
		t.Errorf("%s: not balanced: difference %d, explained %d", day, tot.Difference, tot.Explained)
	}
	if tot.Matched != p.matched[day] {
		t.Errorf("%s: matched %d, want %d", day, tot.Matched, p.matched[day])
	}
}
