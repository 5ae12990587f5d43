package huawei_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
)

func parseText(t *testing.T, kind payrecon.BillKind, text string) []payrecon.BillLine {
	t.Helper()
	parse := huawei.ParseTradeBill
	if kind == payrecon.BillSettlement {
		parse = huawei.ParseSettlementBill
	}
	var lines []payrecon.BillLine
	if err := parse(strings.NewReader(text), "t.csv", func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return lines
}

// 商户收单 is the other documented 交易类型 of orders paid through Huawei
// Pay (§4.2, §4.3): a payment on both bills, its Type text kept.
func TestParseMerchantPaymentType(t *testing.T) {
	trade := parseText(t, payrecon.BillTrade, "系统交易订单号,商户订单号,交易状态,交易类型,交易金额(元),订单金额(元),优惠金额(元),手续费金额(元)\r\n"+
		"420020261110000007,ORDER-7,成功,商户收单,90.00,100.00,10.00,0.60\r\n")
	p := trade[0]
	if p.Kind != payrecon.KindPayment || p.Type != huawei.TypeMerchantPayment || p.ProviderTxnNo != "420020261110000007" ||
		p.MerchantOrderNo != "ORDER-7" || p.Amount != 10000 || p.PayerAmount != 9000 || p.PromotionAmount != 1000 || p.Fee != 60 {
		t.Errorf("trade 商户收单 row: %+v", p)
	}
	settle := parseText(t, payrecon.BillSettlement, "结算单号,系统交易订单号,商户订单号,交易类型,结算金额(元),订单金额(元),手续费金额(元)\r\n"+
		"ST1,420020261110000007,ORDER-7,商户收单,-99.40,100.00,0.60\r\n")
	s := settle[0]
	if s.Kind != payrecon.KindPayment || s.Type != huawei.TypeMerchantPayment || s.Settlement != 9940 || s.Amount != 10000 {
		t.Errorf("settlement 商户收单 row: %+v", s)
	}
}

// Bills whose payment rows say 商户收单, through the client: payments on
// both bills.
func TestBillMerchantPaymentThroughClient(t *testing.T) {
	day := payrecon.MustDay("2026-11-05")
	sb := mustSandbox(t, sandbox.Options{PaymentType: huawei.TypeMerchantPayment})
	sc := sb.Scenario()
	sc.Lock()
	sc.Payments = append(sc.Payments, scenario.Payment{MerchantOrderNo: "M1", ProviderTxnNo: "4201", Status: payrecon.StatusSuccess,
		Amount: 1000, PayerAmount: 1000, Fee: 6, PaidAt: at(day, 10, 0), CreatedAt: at(day, 9, 59)})
	sc.Unlock()
	c := mustClient(t, sb, huawei.ModelDirect)
	for _, kind := range []payrecon.BillKind{payrecon.BillTrade, payrecon.BillSettlement} {
		var lines []payrecon.BillLine
		if _, err := c.Bill(context.Background(), day, kind, func(l payrecon.BillLine) error { lines = append(lines, l); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(lines) != 1 || lines[0].Kind != payrecon.KindPayment || lines[0].Type != "商户收单" || lines[0].ProviderTxnNo != "4201" || lines[0].Amount != 1000 {
			t.Errorf("%s bill: %+v", kind, lines)
		}
	}
}

// Lines payrecon does not reconcile keep the printed sign: an outgoing 分账
// printed -5.00 is -500 (the run adds it to the trade net as listed),
// an incoming one +777; payments and refunds are still normalised.
func TestParseOtherLinesKeepSign(t *testing.T) {
	lines := parseText(t, payrecon.BillTrade, "系统交易订单号,商户订单号,交易类型,交易金额(元),订单金额(元),优惠金额(元)\r\n"+
		"430020261110000001,ALLOC-1,分账,-5.00,-5.00,\r\n"+
		"430020261110000002,ALLOC-2,分账回收入金,7.77,7.77,\r\n"+
		"510020261110000001,REFUND-1,退款,-1.00,-1.00,0.00\r\n")
	out, in, rf := lines[0], lines[1], lines[2]
	if out.Kind != payrecon.KindOther || out.Type != "分账" || out.Amount != -500 || out.PayerAmount != -500 {
		t.Errorf("outgoing 分账: %+v", out)
	}
	if in.Kind != payrecon.KindOther || in.Amount != 777 || in.PayerAmount != 777 {
		t.Errorf("incoming: %+v", in)
	}
	if rf.Kind != payrecon.KindRefund || rf.Amount != 100 || rf.PayerAmount != 100 {
		t.Errorf("refund: %+v", rf)
	}
	// without 订单金额: 交易金额 (+ 优惠金额), signed as printed
	lines = parseText(t, payrecon.BillTrade, "系统交易订单号,商户订单号,交易类型,交易金额(元)\r\n430020261110000003,ALLOC-3,分账,-5.00\r\n")
	if lines[0].Amount != -500 || lines[0].PayerAmount != -500 {
		t.Errorf("outgoing 分账 without 订单金额: %+v", lines[0])
	}
	// hostile amounts that would overflow when added are refused, naming the cell
	err := huawei.ParseTradeBill(strings.NewReader("系统交易订单号,商户订单号,交易类型,交易金额(元),优惠金额(元)\r\n"+
		"1,A,分账,92233720368547758.07,0.01\r\n"), "o.csv", func(payrecon.BillLine) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "o.csv line 2 column 优惠金额(元)") {
		t.Errorf("overflowing amounts: %v", err)
	}
}

// Through the client: a day with a payment and an outgoing 分账 settles
// the trade net (payment less fee, plus the 分账 as listed) exactly.
func TestBillOutgoingSplitMatchesSettlement(t *testing.T) {
	day := payrecon.MustDay("2026-11-05")
	sb := mustSandbox(t, sandbox.Options{})
	sc := sb.Scenario()
	sc.Lock()
	sc.Payments = append(sc.Payments, scenario.Payment{MerchantOrderNo: "M1", ProviderTxnNo: "4201", Status: payrecon.StatusSuccess,
		Amount: 1000, PayerAmount: 1000, Fee: 6, PaidAt: at(day, 10, 0), CreatedAt: at(day, 9, 59)})
	sc.Others = append(sc.Others, scenario.Other{Type: "分账", ProviderTxnNo: "4301", Amount: -500, At: at(day, 12, 0)})
	sc.Unlock()
	c := mustClient(t, sb, huawei.ModelDirect)
	var tradeNet, settlement int64
	if _, err := c.Bill(context.Background(), day, payrecon.BillTrade, func(l payrecon.BillLine) error {
		switch l.Kind {
		case payrecon.KindPayment:
			tradeNet += l.PayerAmount - l.Fee
		case payrecon.KindRefund:
			tradeNet -= l.PayerAmount + l.Fee
		default:
			tradeNet += l.Amount // as the run does
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Bill(context.Background(), day, payrecon.BillSettlement, func(l payrecon.BillLine) error { settlement += l.Settlement; return nil }); err != nil {
		t.Fatal(err)
	}
	if tradeNet != 1000-6-500 || settlement != tradeNet {
		t.Errorf("trade net %d, settlement %d; want both %d", tradeNet, settlement, 1000-6-500)
	}
}

// NOT_SETTLEMENT_DATE (no settlement that day) is no empty settlement bill
// (a settlement of 0 against the day's trade net would be a false
// mismatch): an error wrapping ErrNotSupported, which the run takes as
// "nothing to compare". The trade bill of the day is unaffected.
func TestBillNotSettlementDate(t *testing.T) {
	day := payrecon.MustDay("2026-11-05")
	sb := mustSandbox(t, sandbox.Options{NoSettlementDays: []payrecon.Day{day}})
	sc := sb.Scenario()
	sc.Lock()
	sc.Payments = append(sc.Payments, scenario.Payment{MerchantOrderNo: "M1", ProviderTxnNo: "4201", Status: payrecon.StatusSuccess,
		Amount: 1000, PayerAmount: 1000, Fee: 6, PaidAt: at(day, 10, 0), CreatedAt: at(day, 9, 59)})
	sc.Unlock()
	c := mustClient(t, sb, huawei.ModelDirect)
	n := 0
	_, err := c.Bill(context.Background(), day, payrecon.BillSettlement, func(payrecon.BillLine) error { n++; return nil })
	if !errors.Is(err, payrecon.ErrNotSupported) || !strings.Contains(err.Error(), "no settlement on that day") || n != 0 {
		t.Fatalf("settlement bill of a day without settlement: %v (%d lines)", err, n)
	}
	if errors.Is(err, payrecon.ErrBillNotReady) {
		t.Errorf("not a not-ready bill: %v", err)
	}
	if _, err := c.Bill(context.Background(), day, payrecon.BillTrade, func(payrecon.BillLine) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("trade bill: %v (%d lines)", err, n)
	}
	// the day after has its settlement
	if _, err := c.Bill(context.Background(), day.Add(1), payrecon.BillSettlement, func(payrecon.BillLine) error { return nil }); err != nil {
		t.Errorf("next day's settlement bill: %v", err)
	}
}
