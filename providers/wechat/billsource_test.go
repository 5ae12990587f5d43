package wechat_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat/sandbox"
)

// billScenario has two payments and a refund on testDay, and one payment on
// the next day.
func billScenario() *scenario.Scenario {
	at := func(d payrecon.Day, h int) time.Time { return d.Start().Add(time.Duration(h) * time.Hour) }
	return &scenario.Scenario{
		Payments: []scenario.Payment{
			{MerchantOrderNo: "O1", ProviderTxnNo: "4200000001", Status: payrecon.StatusSuccess, Amount: 12345, PayerAmount: 12000, PromotionAmount: 345, Fee: 74, FeeRatePPM: 6000, PaidAt: at(testDay, 9), Product: "商品, `带反引号`"},
			{MerchantOrderNo: "O2", ProviderTxnNo: "4200000002", Status: payrecon.StatusSuccess, Amount: 100, PayerAmount: 100, Fee: 1, FeeRatePPM: 6000, PaidAt: at(testDay, 10)},
			{MerchantOrderNo: "O3", ProviderTxnNo: "4200000003", Status: payrecon.StatusSuccess, Amount: 999, PayerAmount: 999, PaidAt: at(testDay.Add(1), 10)},
		},
		Refunds: []scenario.Refund{
			{MerchantRefundNo: "R1", ProviderRefundNo: "5030000001", MerchantOrderNo: "O1", ProviderTxnNo: "4200000001", Status: payrecon.StatusSuccess, Amount: 2000, PayerAmount: 2000, Fee: -12, FinishedAt: at(testDay, 15)},
		},
		SettlementDelta: map[payrecon.Day]int64{},
	}
}

func collect(t *testing.T, src payrecon.BillSource, day payrecon.Day, kind payrecon.BillKind) ([]payrecon.BillLine, payrecon.BillFile, error) {
	t.Helper()
	var lines []payrecon.BillLine
	f, err := src.Bill(context.Background(), day, kind, func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	})
	return lines, f, err
}

func TestBill_TradeThroughSandbox(t *testing.T) {
	_, c := MustSandbox(t, billScenario())
	lines, f, err := collect(t, c, testDay, payrecon.BillTrade)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || f.Lines != 3 || !f.HasSummary || f.SummaryCount != 3 || f.SummaryAmount != 12445 || f.SummaryRefund != 2000 || f.SummaryFee != 74+1-12 {
		t.Fatalf("%d lines, file %+v", len(lines), f)
	}
	if len(f.SHA256) != 64 || !strings.Contains(f.Name, testDay.Compact()) {
		t.Fatalf("file %+v", f)
	}
	for _, l := range lines {
		if l.Account != "sandbox" || l.Day != testDay {
			t.Fatalf("line %+v lacks account/day", l)
		}
	}
	if p := lines[0]; p.Amount != 12345 || p.PayerAmount != 12000 || p.PromotionAmount != 345 || p.Fee != 74 || !p.FeeStated || p.Product != "商品, '带反引号'" {
		t.Fatalf("payment %+v", p)
	}
	if r := lines[2]; r.Kind != payrecon.KindRefund || r.MerchantOrderNo != "O1" || r.ProviderTxnNo != "4200000001" || r.Amount != 2000 || r.Fee != -12 {
		t.Fatalf("refund %+v", r)
	}
}

func TestBill_FundFlowThroughSandbox(t *testing.T) {
	sc := billScenario()
	sc.SettlementDelta[testDay] = -7
	_, c := MustSandbox(t, sc)
	lines, f, err := collect(t, c, testDay, payrecon.BillSettlement)
	if err != nil {
		t.Fatal(err)
	}
	var net int64
	for _, l := range lines {
		net += l.Settlement
	}
	// payments 12345+100, fees −75, refund −2000, fee returned +12, delta −7
	if want := int64(12345 + 100 - 75 - 2000 + 12 - 7); net != want || f.SummaryAmount != want {
		t.Fatalf("net %d, summary %d, want %d (%d lines)", net, f.SummaryAmount, want, len(lines))
	}
}

func TestBill_Faults(t *testing.T) {
	for name, tc := range map[string]struct {
		fault sandbox.BillFault
		want  string
		is    error
	}{
		"HashMismatch":    {sandbox.FaultHashMismatch, "SHA1 is", nil},
		"TruncatedGzip":   {sandbox.FaultTruncatedGzip, "truncated", nil},
		"SummaryMismatch": {sandbox.FaultSummaryMismatch, "应结订单总金额 says 124.46, the lines add up to 124.45", nil},
	} {
		t.Run(name, func(t *testing.T) {
			sb, c := MustSandbox(t, billScenario())
			sb.SetBillFault(tc.fault)
			_, _, err := collect(t, c, testDay, payrecon.BillTrade)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if errors.Is(err, payrecon.ErrBillNotReady) {
				t.Fatalf("a broken bill is not a not-ready bill: %v", err)
			}
			sb.SetBillFault(sandbox.FaultNone)
			if _, _, err := collect(t, c, testDay, payrecon.BillTrade); err != nil {
				t.Fatalf("after the fault: %v", err)
			}
		})
	}
}

func TestBill_NotReady(t *testing.T) {
	sc := billScenario()
	sc.NotReady = map[payrecon.Day]bool{testDay.Add(1): true}
	sb, c := MustSandbox(t, sc)
	for _, day := range []payrecon.Day{testDay.Add(1), payrecon.DayOf(fixedNow()), payrecon.DayOf(fixedNow()).Add(3)} {
		n := 0
		_, err := c.Bill(context.Background(), day, payrecon.BillTrade, func(payrecon.BillLine) error { n++; return nil })
		if !errors.Is(err, payrecon.ErrBillNotReady) || n != 0 {
			t.Fatalf("day %s: err = %v after %d lines, want ErrBillNotReady", day, err, n)
		}
	}
	// today and later are refused without asking the provider
	for _, call := range sb.Calls() {
		if strings.Contains(call, "billdownload") {
			t.Fatalf("downloaded a not-ready bill: %v", sb.Calls())
		}
	}
	if _, err := c.Bill(context.Background(), testDay, payrecon.BillKind("fees"), func(payrecon.BillLine) error { return nil }); !errors.Is(err, payrecon.ErrNotSupported) {
		t.Fatalf("unknown kind: %v", err)
	}
}

// The trade bill's credited amounts (应结订单金额, 退款金额) less fees equal
// the fund flow's net, also for a payment partly paid by a coupon: the
// reconciliation's settlement check compares exactly these two.
func TestBill_TradeSettlementAgreesWithFundFlow(t *testing.T) {
	_, c := MustSandbox(t, billScenario())
	trade, _, err := collect(t, c, testDay, payrecon.BillTrade)
	if err != nil {
		t.Fatal(err)
	}
	fund, _, err := collect(t, c, testDay, payrecon.BillSettlement)
	if err != nil {
		t.Fatal(err)
	}
	var tradeNet, fundNet int64
	for _, l := range trade {
		if l.Settlement == 0 {
			t.Fatalf("trade line %s %s has no credited amount", l.Kind, l.ProviderTxnNo)
		}
		tradeNet += l.Settlement - l.Fee
	}
	for _, l := range fund {
		fundNet += l.Settlement
	}
	if tradeNet != fundNet {
		t.Fatalf("trade bill net %d, fund flow net %d", tradeNet, fundNet)
	}
	if p := trade[0]; p.Settlement != 12345 || p.PayerAmount != 12000 {
		t.Fatalf("coupon payment credited %d (payer %d), want the order's 12345", p.Settlement, p.PayerAmount)
	}
}

// A sandbox printing the refund as a REVOKED row with its amount in the
// refund columns (a payment reversed after it succeeded, under the original
// order's numbers): Bill reads it as the refund of that payment, keyed by
// its 微信订单号, and the bill's summary still checks.
func TestBill_RevokedRefundThroughSandbox(t *testing.T) {
	sb := sandbox.New(billScenario(), sandbox.Options{Now: fixedNow, RevokedRefunds: true})
	t.Cleanup(sb.Close)
	c := MustClient(t, sb.MerchantConfig())
	lines, f, err := collect(t, c, testDay, payrecon.BillTrade)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || f.SummaryCount != 3 || f.SummaryRefund != 2000 {
		t.Fatalf("%d lines, file %+v", len(lines), f)
	}
	r := lines[2]
	if r.Kind != payrecon.KindRefund || r.Status != payrecon.StatusSuccess || r.Amount != 2000 || r.Settlement != -2000 ||
		r.MerchantOrderNo != "O1" || r.ProviderTxnNo != "4200000001" || r.ProviderRefundNo != "4200000001" || r.MerchantRefundNo != "" ||
		r.Fee != -12 || r.Type != "JSAPI" {
		t.Fatalf("revoked refund %+v", r)
	}
	if err := payrecon.PolicyFor(payrecon.Account{Currency: "CNY"}, c).CheckLine(r, testDay); err != nil {
		t.Fatalf("revoked refund line does not validate: %v", err)
	}
}
