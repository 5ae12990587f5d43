package payrecon_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
)

func goodEntry() payrecon.LedgerEntry {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, payrecon.Shanghai)
	return payrecon.LedgerEntry{
		Account: "a", Provider: "huawei", EventKey: "payment:T1:success", Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess,
		MerchantOrderNo: "M1", ProviderTxnNo: "T1", Amount: 1000, PayerAmount: 900, PromotionAmount: 100, Currency: "CNY",
		OccurredAt: at, ReceivedAt: at.Add(time.Second),
	}
}

func goodLine() payrecon.BillLine {
	return payrecon.BillLine{
		Account: "a", Day: "2026-11-20", Bill: payrecon.BillTrade, File: "f.csv", LineNo: 2,
		Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess, MerchantOrderNo: "M1", ProviderTxnNo: "T1",
		Amount: 1000, PayerAmount: 1000, Fee: 6, Currency: "CNY", FinishedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, payrecon.Shanghai),
	}
}

func TestCheckEntry(t *testing.T) {
	pol := payrecon.Policy{Limits: payrecon.Limits{MerchantOrderNo: payrecon.IDRule{MaxLen: 32, Charset: payrecon.CharsetOrderNo}}}
	cases := []struct {
		name  string
		edit  func(e *payrecon.LedgerEntry)
		rule  string
		field string
	}{
		{"OK", func(e *payrecon.LedgerEntry) {}, "", ""},
		{"OKEmptyCurrencyIsTheAccounts", func(e *payrecon.LedgerEntry) { e.Currency = "" }, "", ""},
		{"OKRefund", func(e *payrecon.LedgerEntry) {
			e.Kind, e.MerchantRefundNo, e.PayerAmount, e.PromotionAmount = payrecon.KindRefund, "R1", 0, 0
		}, "", ""},
		{"OKAgreement", func(e *payrecon.LedgerEntry) {
			e.Kind, e.Status, e.AgreementNo, e.Amount, e.PayerAmount, e.PromotionAmount = payrecon.KindAgreement, payrecon.StatusSigned, "C1", 0, 0, 0
		}, "", ""},
		{"NegativeAmount", func(e *payrecon.LedgerEntry) { e.Amount = -100 }, payrecon.RuleAmountPositive, "amount"},
		{"ZeroAmount", func(e *payrecon.LedgerEntry) { e.Amount, e.PayerAmount, e.PromotionAmount = 0, 0, 0 }, payrecon.RuleAmountPositive, "amount"},
		{"ZeroRefund", func(e *payrecon.LedgerEntry) {
			e.Kind, e.MerchantRefundNo, e.Amount, e.PayerAmount, e.PromotionAmount = payrecon.KindRefund, "R1", 0, 0, 0
		}, payrecon.RuleAmountPositive, "amount"},
		{"AgreementWithMoney", func(e *payrecon.LedgerEntry) {
			e.Kind, e.Status, e.AgreementNo = payrecon.KindAgreement, payrecon.StatusSigned, "C1"
		}, payrecon.RuleAmountPositive, "amount"},
		{"AboveMax", func(e *payrecon.LedgerEntry) { e.Amount = payrecon.DefaultMaxAmount + 1 }, payrecon.RuleAmountMax, "amount"},
		{"AtMax", func(e *payrecon.LedgerEntry) { e.Amount = payrecon.DefaultMaxAmount }, "", ""},
		{"NegativePayer", func(e *payrecon.LedgerEntry) { e.PayerAmount = -1 }, payrecon.RuleAmountSplit, "payer_amount"},
		{"PromotionAboveAmount", func(e *payrecon.LedgerEntry) { e.PromotionAmount = 1001 }, payrecon.RuleAmountSplit, "promotion_amount"},
		{"Currency", func(e *payrecon.LedgerEntry) { e.Currency = "USD" }, payrecon.RuleCurrency, "currency"},
		{"UnknownStatus", func(e *payrecon.LedgerEntry) { e.Status = "TRX_WEIRD" }, payrecon.RuleStatus, "status"},
		{"EmptyStatus", func(e *payrecon.LedgerEntry) { e.Status = "" }, payrecon.RuleStatus, "status"},
		{"SignedPayment", func(e *payrecon.LedgerEntry) { e.Status = payrecon.StatusSigned }, payrecon.RuleStatus, "status"},
		{"UnknownKind", func(e *payrecon.LedgerEntry) { e.Kind = "other" }, payrecon.RuleKind, "kind"},
		{"OrderNoTooLong", func(e *payrecon.LedgerEntry) { e.MerchantOrderNo = strings.Repeat("A", 200) }, payrecon.RuleIDLength, "merchant_order_no"},
		{"OrderNoAtLimit", func(e *payrecon.LedgerEntry) { e.MerchantOrderNo = strings.Repeat("A", 32) }, "", ""},
		{"OrderNoCharset", func(e *payrecon.LedgerEntry) { e.MerchantOrderNo = "M 1" }, payrecon.RuleIDCharset, "merchant_order_no"},
		{"OrderNoUTF8", func(e *payrecon.LedgerEntry) { e.MerchantOrderNo = "订单1" }, payrecon.RuleIDCharset, "merchant_order_no"},
		{"TxnNoDefaultLimit", func(e *payrecon.LedgerEntry) { e.ProviderTxnNo = strings.Repeat("1", 65) }, payrecon.RuleIDLength, "provider_txn_no"},
		{"TxnNoControl", func(e *payrecon.LedgerEntry) { e.ProviderTxnNo = "T\x001" }, payrecon.RuleIDCharset, "provider_txn_no"},
		{"NoIDs", func(e *payrecon.LedgerEntry) { e.MerchantOrderNo, e.ProviderTxnNo = "", "" }, payrecon.RuleIDRequired, "merchant_order_no"},
		{"RefundWithoutRefundNo", func(e *payrecon.LedgerEntry) { e.Kind, e.PayerAmount, e.PromotionAmount = payrecon.KindRefund, 0, 0 }, payrecon.RuleIDRequired, "merchant_refund_no"},
		{"NoTime", func(e *payrecon.LedgerEntry) { e.OccurredAt = time.Time{} }, payrecon.RuleTime, "occurred_at"},
		{"FarFuture", func(e *payrecon.LedgerEntry) { e.OccurredAt = e.ReceivedAt.Add(73 * time.Hour) }, payrecon.RuleTime, "occurred_at"},
		{"Year1970", func(e *payrecon.LedgerEntry) { e.OccurredAt = time.Unix(0, 0); e.ReceivedAt = time.Time{} }, payrecon.RuleTime, "occurred_at"},
		{"OldImportIsFine", func(e *payrecon.LedgerEntry) { e.ReceivedAt = e.OccurredAt.AddDate(1, 0, 0) }, "", ""},
		{"PlanIDInvalidUTF8", func(e *payrecon.LedgerEntry) { e.PlanID = "\xff\xfe" }, payrecon.RuleText, "plan_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := goodEntry()
			c.edit(&e)
			checkRule(t, pol.CheckEntry(e), c.rule, c.field)
		})
	}
}

func TestCheckEntryAccountPolicy(t *testing.T) {
	e := goodEntry()
	e.Currency, e.Amount = "HKD", 5000
	pol := payrecon.PolicyFor(payrecon.Account{Currency: "HKD", MaxAmount: 4999}, nil)
	checkRule(t, pol.CheckEntry(e), payrecon.RuleAmountMax, "amount")
	e.Amount = 4999
	checkRule(t, pol.CheckEntry(e), "", "")
	e.Currency = "CNY"
	checkRule(t, pol.CheckEntry(e), payrecon.RuleCurrency, "currency")
}

func TestCheckLine(t *testing.T) {
	day := payrecon.MustDay("2026-11-20")
	pol := payrecon.Policy{}
	cases := []struct {
		name  string
		edit  func(l *payrecon.BillLine)
		rule  string
		field string
	}{
		{"OK", func(l *payrecon.BillLine) {}, "", ""},
		{"OKRefundWithNegativeFee", func(l *payrecon.BillLine) {
			l.Kind, l.MerchantRefundNo, l.Fee = payrecon.KindRefund, "R1", -6
		}, "", ""},
		{"OKOtherSigned", func(l *payrecon.BillLine) {
			l.Kind, l.Amount, l.Type, l.Status = payrecon.KindOther, -500, "分账", ""
		}, "", ""},
		{"OKSettlementSigned", func(l *payrecon.BillLine) { l.Bill, l.Settlement, l.Amount = payrecon.BillSettlement, -700, 0 }, "", ""},
		{"OKSettleCommission", func(l *payrecon.BillLine) {
			l.Bill, l.Kind, l.Type, l.Status, l.Amount, l.Deduction, l.Settlement = payrecon.BillSettlement, payrecon.KindOther, "分账", "", -1000, -25, -975
		}, "", ""},
		{"DeductionAboveAmount", func(l *payrecon.BillLine) {
			l.Bill, l.Kind, l.Type, l.Status, l.Amount, l.Deduction = payrecon.BillSettlement, payrecon.KindOther, "分账", "", 1000, 1001
		}, payrecon.RuleAmountSplit, "deduction"},
		{"HugeDeduction", func(l *payrecon.BillLine) { l.Deduction = -payrecon.DefaultMaxAmount - 1 }, payrecon.RuleAmountMax, "deduction"},
		{"OKCutOffNextMorning", func(l *payrecon.BillLine) { l.FinishedAt = day.End().Add(2 * time.Hour) }, "", ""},
		{"NegativeAmount", func(l *payrecon.BillLine) { l.Amount = -1000 }, payrecon.RuleAmountPositive, "amount"},
		{"ZeroAmountRefund", func(l *payrecon.BillLine) {
			l.Kind, l.MerchantRefundNo, l.Amount, l.PayerAmount = payrecon.KindRefund, "R1", 0, 0
		}, payrecon.RuleAmountPositive, "amount"},
		{"HugeFee", func(l *payrecon.BillLine) { l.Fee = payrecon.DefaultMaxAmount + 1 }, payrecon.RuleAmountMax, "fee"},
		{"FeeRate", func(l *payrecon.BillLine) { l.FeeRatePPM = 1_000_001 }, payrecon.RuleAmountMax, "fee_rate"},
		{"HugeOther", func(l *payrecon.BillLine) { l.Kind, l.Amount = payrecon.KindOther, -payrecon.DefaultMaxAmount-1 }, payrecon.RuleAmountMax, "amount"},
		{"Currency", func(l *payrecon.BillLine) { l.Currency = "JPY" }, payrecon.RuleCurrency, "currency"},
		{"Status", func(l *payrecon.BillLine) { l.Status = "REVOKED?" }, payrecon.RuleStatus, "status"},
		{"Kind", func(l *payrecon.BillLine) { l.Kind = payrecon.KindAgreement }, payrecon.RuleKind, "kind"},
		{"LongID", func(l *payrecon.BillLine) { l.ProviderTxnNo = strings.Repeat("9", 65) }, payrecon.RuleIDLength, "provider_txn_no"},
		{"TooEarly", func(l *payrecon.BillLine) { l.FinishedAt = day.Start().Add(-73 * time.Hour) }, payrecon.RuleTime, "finished_at"},
		{"TooLate", func(l *payrecon.BillLine) { l.FinishedAt = day.End().Add(72 * time.Hour) }, payrecon.RuleTime, "finished_at"},
		{"ProductInvalidUTF8", func(l *payrecon.BillLine) { l.Product = "a\xffb" }, payrecon.RuleText, "product"},
		{"PayloadTooLong", func(l *payrecon.BillLine) { l.Payload = strings.Repeat("x", payrecon.MaxTextLen+1) }, payrecon.RuleText, "payload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := goodLine()
			c.edit(&l)
			checkRule(t, pol.CheckLine(l, day), c.rule, c.field)
		})
	}
}

func checkRule(t *testing.T, err error, rule, field string) {
	t.Helper()
	if rule == "" {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	var ve *payrecon.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want %s on %s, got %v", rule, field, err)
	}
	if ve.Rule != rule || ve.Field != field {
		t.Fatalf("want %s on %s, got %s on %s (%v)", rule, field, ve.Rule, ve.Field, err)
	}
	if !strings.HasPrefix(err.Error(), rule+": "+field) {
		t.Fatalf("message %q does not start with the rule and field", err)
	}
}

func TestLimitsOf(t *testing.T) {
	if got := payrecon.LimitsOf(nil).RefundNoMaxLen(); got != payrecon.DefaultIDMaxLen {
		t.Fatalf("default refund no length %d", got)
	}
	if got := payrecon.LimitsOf(declarer{}).RefundNoMaxLen(); got != 32 {
		t.Fatalf("declared refund no length %d", got)
	}
}

type declarer struct{}

func (declarer) Limits() payrecon.Limits {
	return payrecon.Limits{MerchantRefundNo: payrecon.IDRule{MaxLen: 32}}
}

func TestStatusMap(t *testing.T) {
	m := payrecon.StatusMap{"TRX_SUCCESS": payrecon.StatusSuccess, "TRX_APPLY": payrecon.StatusPending}
	if st, err := m.Map("orderStatus", "TRX_SUCCESS"); err != nil || st != payrecon.StatusSuccess {
		t.Fatalf("documented word: %v %v", st, err)
	}
	_, err := m.Map("orderStatus", "TRX_PAID_TWICE")
	checkRule(t, err, payrecon.RuleStatus, "orderStatus")
	if !strings.Contains(err.Error(), `"TRX_PAID_TWICE"`) {
		t.Fatalf("error %q does not name the value", err)
	}
	if st := m.Or("TRX_PAID_TWICE", payrecon.StatusPending); st != payrecon.StatusPending {
		t.Fatalf("Or: %v", st)
	}
}

// declaredCols declares two columns of trade-bill refund lines.
type declaredCols struct{}

func (declaredCols) BillColumns(bill payrecon.BillKind, kind payrecon.Kind) payrecon.BillColumns {
	if bill == payrecon.BillTrade && kind == payrecon.KindRefund {
		return payrecon.BillColumns{"amount": "退款金额(元)", "provider_txn_no": "原系统交易订单号"}
	}
	return nil
}

func TestBillColumnOf(t *testing.T) {
	for _, tc := range []struct {
		src   any
		bill  payrecon.BillKind
		kind  payrecon.Kind
		field string
		want  string
	}{
		{declaredCols{}, payrecon.BillTrade, payrecon.KindRefund, "amount", "退款金额(元) (amount)"},
		{declaredCols{}, payrecon.BillTrade, payrecon.KindRefund, "provider_txn_no", "原系统交易订单号 (provider_txn_no)"},
		{declaredCols{}, payrecon.BillTrade, payrecon.KindRefund, "currency", "currency"},  // not declared
		{declaredCols{}, payrecon.BillTrade, payrecon.KindPayment, "amount", "amount"},     // other kind
		{declaredCols{}, payrecon.BillSettlement, payrecon.KindRefund, "amount", "amount"}, // other bill
		{struct{}{}, payrecon.BillTrade, payrecon.KindRefund, "amount", "amount"},          // declares nothing
	} {
		if got := payrecon.BillColumnOf(tc.src, tc.bill, tc.kind, tc.field); got != tc.want {
			t.Errorf("%T %s %s %s: %q, want %q", tc.src, tc.bill, tc.kind, tc.field, got, tc.want)
		}
	}
}

func TestStatusPhrase(t *testing.T) {
	for phrase, want := range map[string]payrecon.Status{
		"退款失败": payrecon.StatusFailed, "交易关闭": payrecon.StatusClosed, "支付超时": payrecon.StatusClosed,
		"退款处理中": payrecon.StatusPending, "分账中": payrecon.StatusPending, "交易成功": payrecon.StatusSuccess,
		"支付完成": payrecon.StatusSuccess, " 已结算 ": payrecon.StatusSuccess,
		"不成功": "", "未完成": "", "无": "", "待定": "", "": "",
	} {
		st, ok := payrecon.StatusPhrase(phrase)
		if st != want || ok != (want != "") {
			t.Errorf("%q: %q %v, want %q", phrase, st, ok, want)
		}
	}
}
