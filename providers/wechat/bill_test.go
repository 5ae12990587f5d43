package wechat_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/billread"
	"github.com/payrecon/payrecon/providers/wechat"
)

// realBill reads the shared fixture (the official PHP SDK's ALL bill), or
// skips when the shared folder is absent (a user's clone has none).
func realBill(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "fixtures", "wechat", "bill.ALL.csv"))
	if os.IsNotExist(err) {
		t.Skip("../shared/fixtures/wechat/bill.ALL.csv is absent (only in the project workspace); skipping the real-bill test")
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "bills", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseAll(t *testing.T, text []byte, name string) ([]payrecon.BillLine, wechat.Summary, error) {
	t.Helper()
	var lines []payrecon.BillLine
	sum, err := wechat.ParseTradeBill(bytes.NewReader(text), name, func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	})
	return lines, sum, err
}

// totals recomputes what a trade bill's summary should say from the lines.
type totals struct{ payments, refunds, amount, refund, fee int64 }

func sumLines(lines []payrecon.BillLine) totals {
	var s totals
	for _, l := range lines {
		switch l.Kind {
		case payrecon.KindPayment:
			s.payments++
			s.amount += l.Amount
		case payrecon.KindRefund:
			s.refunds++
			s.refund += l.Amount
		}
		s.fee += l.Fee
	}
	return s
}

func TestParseTradeBill_RealALL(t *testing.T) {
	text := realBill(t)
	for name, variant := range map[string][]byte{
		"AsPublished": text,
		"CRLF":        bytes.ReplaceAll(text, []byte("\n"), []byte("\r\n")),
		"NoBOM":       bytes.TrimPrefix(text, []byte("\xef\xbb\xbf")),
	} {
		t.Run(name, func(t *testing.T) {
			lines, sum, err := parseAll(t, variant, "bill.ALL.csv")
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != 45 || sum.Lines != 45 || sum.Count != 45 {
				t.Fatalf("lines %d, Summary.Lines %d, Count %d; want 45", len(lines), sum.Lines, sum.Count)
			}
			if !sum.HasSummary || sum.Amount != 47 || sum.Refund != 14 || sum.Fee != 8 || sum.OrderAmount != 47 || sum.RefundApplied != 14 {
				t.Fatalf("summary %+v, want 0.47 / 0.14 / fee 0.08", sum)
			}
			got := sumLines(lines)
			if got.amount != sum.Amount || got.refund != sum.Refund {
				t.Fatalf("lines add up to %+v, summary %+v", got, sum)
			}
			if got.payments+got.refunds != 45 {
				t.Fatalf("%d payments + %d refunds", got.payments, got.refunds)
			}
			// The first line is a refund of an order from 2019-02-16.
			l := lines[0]
			if l.Kind != payrecon.KindRefund || l.Status != payrecon.StatusSuccess || l.LineNo != 2 ||
				l.ProviderTxnNo != "4200000263201902167700134212" || l.MerchantOrderNo != "autotest_20190216081946_82335" ||
				l.ProviderRefundNo != "50000709672019011908420787722" || l.MerchantRefundNo != "REF4200000263201902167700963919" ||
				l.Amount != 1 || l.PayerAmount != 1 || l.FeeRatePPM != 390000 {
				t.Fatalf("first line %+v", l)
			}
			if want := "2019-02-19 05:01:46 +0800"; l.CreatedAt.Format("2006-01-02 15:04:05 -0700") != want {
				t.Fatalf("first line time %s, want %s", l.CreatedAt, want)
			}
			// The last line is a payment with a 0.01 coupon and a 0.01 fee.
			l = lines[44]
			if l.Kind != payrecon.KindPayment || l.Amount != 3 || l.PromotionAmount != 1 || l.PayerAmount != 2 || l.Fee != 1 ||
				l.MerchantRefundNo != "" || l.ProviderRefundNo != "" || l.Type != "NATIVE" || l.Bill != payrecon.BillTrade {
				t.Fatalf("last line %+v", l)
			}
		})
	}
}

func TestParseTradeBill_RealALLSummaryTampered(t *testing.T) {
	text := realBill(t)
	for _, tc := range []struct{ from, to, field string }{
		{"`45.0,", "`44.0,", "总交易单数"},
		{"`0.47,`0.14,", "`0.48,`0.14,", "应结订单总金额"},
		{"`0.47,`0.14,`0.0,", "`0.47,`0.13,`0.0,", "退款总金额"},
		{",`0.08,", ",`0.09,", "手续费总金额"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			bad := bytes.Replace(text, []byte(tc.from), []byte(tc.to), 1)
			if bytes.Equal(bad, text) {
				t.Fatalf("%q not in the fixture", tc.from)
			}
			_, _, err := parseAll(t, bad, "bill.ALL.csv")
			if !errors.Is(err, wechat.ErrSummaryMismatch) || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), "bill.ALL.csv") {
				t.Fatalf("err = %v, want a summary mismatch naming %s and the file", err, tc.field)
			}
		})
	}
}

func TestParseTradeBill_Layouts(t *testing.T) {
	t.Run("SUCCESS", func(t *testing.T) {
		lines, sum, err := parseAll(t, mustRead(t, "success.csv"), "success.csv")
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) != 3 || sum.Count != 3 || sum.Amount != 13151 || sum.Fee != 79 {
			t.Fatalf("%d lines, summary %+v", len(lines), sum)
		}
		coffee := lines[1]
		if coffee.Product != "咖啡, 大杯" || coffee.Payload != "a,b" {
			t.Fatalf("comma inside a value split it: product %q payload %q", coffee.Product, coffee.Payload)
		}
		if coffee.Amount != 12850 || coffee.PromotionAmount != 1000 || coffee.PayerAmount != 11850 || coffee.FeeRatePPM != 6000 {
			t.Fatalf("coffee %+v", coffee)
		}
		// 0.77100 rounds to 0.77; the summary's 0.79 is the rounded sum of the exact fees (0.789).
		if coffee.Fee != 77 || lines[2].Fee != 2 || sumLines(lines).fee != 79 {
			t.Fatalf("fees %d %d", coffee.Fee, lines[2].Fee)
		}
		if r := lines[2]; r.Kind != payrecon.KindPayment || r.Status != payrecon.StatusClosed || r.Type != "MICROPAY" {
			t.Fatalf("REVOKED row %+v, want a closed payment", r)
		}
	})
	t.Run("REFUND", func(t *testing.T) {
		lines, sum, err := parseAll(t, mustRead(t, "refund.csv"), "refund.csv")
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) != 3 || sum.Count != 3 || sum.Refund != 5201 || sum.CouponRefund != 500 || sum.Fee != -31 {
			t.Fatalf("%d lines, summary %+v", len(lines), sum)
		}
		r := lines[0]
		if r.Kind != payrecon.KindRefund || r.MerchantRefundNo != "S20210201143320649393" || r.ProviderRefundNo != "50300807172021020106006664916" ||
			r.MerchantOrderNo != "S20210124161554311546" || r.ProviderTxnNo != "4200000844202101245866928772" || r.Amount != 1 {
			t.Fatalf("refund %+v", r)
		}
		// In the REFUND bill 交易时间 is the payment's; the refund's own times win.
		if r.CreatedAt.Format("2006-01-02 15:04:05") != "2021-02-01 14:33:21" || r.FinishedAt.Format("2006-01-02 15:04:05") != "2021-02-01 14:33:24" {
			t.Fatalf("refund times %s / %s", r.CreatedAt, r.FinishedAt)
		}
		if c := lines[1]; c.Amount != 5000 || c.PromotionAmount != 500 || c.PayerAmount != 4500 || c.Fee != -30 {
			t.Fatalf("coupon refund %+v", c)
		}
		if p := lines[2]; p.Status != payrecon.StatusPending || !p.FinishedAt.Equal(p.FinishedAt) || p.Fee != -1 {
			t.Fatalf("processing refund %+v", p)
		}
	})
	t.Run("Legacy", func(t *testing.T) {
		lines, sum, err := parseAll(t, mustRead(t, "legacy.csv"), "legacy.csv")
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) != 2 || sum.Amount != 100 || sum.Refund != 40 || sum.Fee != 1 {
			t.Fatalf("%d lines, summary %+v", len(lines), sum)
		}
		if p, r := lines[0], lines[1]; p.Amount != 100 || r.Kind != payrecon.KindRefund || r.Amount != 40 || r.ProviderTxnNo != p.ProviderTxnNo || r.MerchantRefundNo != "LEGACYR0001" {
			t.Fatalf("legacy lines %+v / %+v", p, r)
		}
	})
	t.Run("CRLFWithBOM", func(t *testing.T) {
		text := append([]byte("\xef\xbb\xbf"), bytes.ReplaceAll(mustRead(t, "success.csv"), []byte("\n"), []byte("\r\n"))...)
		lines, sum, err := parseAll(t, text, "success-crlf.csv")
		if err != nil {
			t.Fatal(err)
		}
		plain, _, _ := parseAll(t, mustRead(t, "success.csv"), "success.csv")
		if len(lines) != len(plain) || sum.Count != 3 {
			t.Fatalf("%d lines", len(lines))
		}
		for i := range lines {
			lines[i].File, plain[i].File = "", ""
			if lines[i] != plain[i] {
				t.Fatalf("line %d differs with CRLF+BOM:\n%+v\n%+v", i, lines[i], plain[i])
			}
		}
	})
}

func TestParseTradeBill_Errors(t *testing.T) {
	good := mustRead(t, "success.csv")
	text := string(good)
	for name, tc := range map[string]struct {
		text string
		want string
		is   error
	}{
		"SummaryMismatch":  {string(mustRead(t, "summary_mismatch.csv")), "应结订单总金额 says 131.52, the lines add up to 131.51", wechat.ErrSummaryMismatch},
		"NoSummary":        {text[:strings.Index(text, "总交易单数")], "no summary rows", wechat.ErrBillFormat},
		"SummaryNoValues":  {strings.TrimSuffix(text, "`3,`131.51,`0.00,`0.00,`0.79,`131.51,`0.00\n"), "no values line", wechat.ErrBillFormat},
		"TextAfterSummary": {text + "`1,`2\n", "after the summary", wechat.ErrBillFormat},
		"Empty":            {"", "empty file", wechat.ErrBillFormat},
		"MissingColumn":    {strings.Replace(text, "微信订单号", "订单号X", 1), "header lacks column 微信订单号", wechat.ErrBillFormat},
		"ShortRow":         {strings.Replace(text, ",`0.00000,`1.00%,`0.01,`\n", ",`0.00000\n", 1), "line 2 column 费率: wrong number of columns: 17 columns", billread.ErrColumns},
		"BadAmount":        {strings.Replace(text, "`128.50,`10.00", "`128.5x,`10.00", 1), "line 3 column 应结订单金额", payrecon.ErrAmountSyntax},
		"ThreeDecimals":    {strings.Replace(text, "`128.50,`10.00", "`128.505,`10.00", 1), "column 应结订单金额", payrecon.ErrAmountSyntax},
		"BadTime":          {strings.Replace(text, "2021-02-01 15:00:01", "2021/02/01 15:00", 1), "line 3 column 交易时间", nil},
		"BadFee":           {strings.Replace(text, "`0.77100", "`0.771001", 1), "column 手续费", payrecon.ErrAmountSyntax},
		"GarbageLine":      {strings.Replace(text, "总交易单数", "合计", 1), "neither a data line nor the summary header", wechat.ErrBillFormat},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := parseAll(t, []byte(tc.text), "x.csv")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "x.csv") {
				t.Fatalf("err = %v, want one naming x.csv and containing %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want errors.Is %v", err, tc.is)
			}
		})
	}
}

func TestParseTradeBill_CallbackErrorStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	_, err := wechat.ParseTradeBill(bytes.NewReader(mustRead(t, "success.csv")), "s.csv", func(payrecon.BillLine) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err %v after %d lines, want stop after 1", err, n)
	}
}

func TestParseFundFlowBill(t *testing.T) {
	var lines []payrecon.BillLine
	sum, err := wechat.ParseFundFlowBill(bytes.NewReader(mustRead(t, "fundflow.csv")), "fundflow.csv", func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || sum.Count != 3 || sum.Income != 23 || sum.Expense != 2 || sum.IncomeCount != 1 || sum.ExpenseCount != 2 {
		t.Fatalf("%d lines, summary %+v", len(lines), sum)
	}
	var net int64
	for _, l := range lines {
		net += l.Settlement
		if l.Bill != payrecon.BillSettlement {
			t.Fatalf("line %+v not a settlement line", l)
		}
	}
	if net != sum.Income-sum.Expense {
		t.Fatalf("net %d", net)
	}
	if r := lines[1]; r.Kind != payrecon.KindRefund || r.Settlement != -1 || r.Amount != 1 || r.MerchantRefundNo != "S20210201135356381941" || r.ProviderRefundNo != "50300806962021020105978994968" {
		t.Fatalf("refund line %+v", r)
	}
	if p := lines[0]; p.Kind != payrecon.KindPayment || p.Settlement != 23 || p.MerchantOrderNo != "S20210201135000000001" {
		t.Fatalf("payment line %+v", p)
	}
	if f := lines[2]; f.Kind != payrecon.KindOther || f.Type != "扣除交易手续费" {
		t.Fatalf("fee line %+v", f)
	}
	// Full-width brackets (the official v2 header) read the same.
	wide := bytes.Replace(mustRead(t, "fundflow.csv"), []byte("收支金额(元),账户结余(元)"), []byte("收支金额（元）,账户结余（元）"), 1)
	if _, err := wechat.ParseFundFlowBill(bytes.NewReader(wide), "wide.csv", func(payrecon.BillLine) error { return nil }); err != nil {
		t.Fatalf("full-width header: %v", err)
	}
	bad := bytes.Replace(mustRead(t, "fundflow.csv"), []byte("`2.0,`0.02"), []byte("`2.0,`0.03"), 1)
	_, err = wechat.ParseFundFlowBill(bytes.NewReader(bad), "ff.csv", func(payrecon.BillLine) error { return nil })
	if !errors.Is(err, wechat.ErrSummaryMismatch) || !strings.Contains(err.Error(), "支出金额 says 0.03") {
		t.Fatalf("err = %v", err)
	}
}

// A 支出 row of 0.00 is one of the 支出笔数: the summary count goes by
// 收支类型, not by the sign of the amount.
func TestParseFundFlowBill_ZeroExpense(t *testing.T) {
	text := string(mustRead(t, "fundflow.csv"))
	zero := "`2021-02-01 23:10:00,`4200000920202102013333333333,`1601959334202102010000000004,`扣除交易手续费,`扣除交易手续费,`支出,`0.00,`0.21,`system,`,`\n"
	i := strings.Index(text, "资金流水总笔数")
	text = text[:i] + zero + text[i:]
	text = strings.Replace(text, "`3.0,`1.0,`0.23,`2.0,`0.02", "`4.0,`1.0,`0.23,`3.0,`0.02", 1)
	var lines []payrecon.BillLine
	sum, err := wechat.ParseFundFlowBill(strings.NewReader(text), "ff0.csv", func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 4 || sum.IncomeCount != 1 || sum.ExpenseCount != 3 || sum.Income != 23 || sum.Expense != 2 {
		t.Fatalf("%d lines, summary %+v", len(lines), sum)
	}
	if z := lines[3]; z.Settlement != 0 || z.Amount != 0 || z.Kind != payrecon.KindOther {
		t.Fatalf("zero 支出 line %+v", z)
	}
	// Counted as income it would not match: 收入笔数 1 must stay 1.
	bad := strings.Replace(text, "`4.0,`1.0,`0.23,`3.0,`0.02", "`4.0,`2.0,`0.23,`2.0,`0.02", 1)
	_, err = wechat.ParseFundFlowBill(strings.NewReader(bad), "ff0.csv", func(payrecon.BillLine) error { return nil })
	if !errors.Is(err, wechat.ErrSummaryMismatch) || !strings.Contains(err.Error(), "收入笔数 says 2, the bill has 1") {
		t.Fatalf("err = %v", err)
	}
}

// allBill builds an ALL trade bill from detail rows (values without the
// backticks) and a summary computed by the caller.
func allBill(rows [][]string, summary string) string {
	var b strings.Builder
	b.WriteString("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n")
	for _, r := range rows {
		b.WriteString("`" + strings.Join(r, ",`") + "\n")
	}
	b.WriteString("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n")
	b.WriteString(summary + "\n")
	return b.String()
}

// revokedRow is an ALL-bill REVOKED row: order amounts settle/order, refund
// columns refundNo/outRefundNo/refund/applied/status.
func revokedRow(txn, order, settle, refundNo, outRefundNo, refund, status, orderAmt, applied string) []string {
	return []string{"2021-02-01 16:25:00", "wx81be3101902f7cb2", "1601959334", "0", "", txn, order, "ofyak5lCyFIsihOYEX0Zx9smR0g2",
		"MICROPAY", "REVOKED", "OTHERS", "CNY", settle, "0.00", refundNo, outRefundNo, refund, "0.00", "", status,
		"撤销的付款码", "", "0.00000", "0.60%", orderAmt, applied, ""}
}

// A REVOKED row carrying its amount in the refund columns (order amounts
// 0.00) is the refund of the original payment, keyed by the 微信订单号 when
// it has no refund numbers; a REVOKED row with order amounts stays a closed
// payment.
func TestParseTradeBill_RevokedRefundShape(t *testing.T) {
	text := allBill([][]string{
		// refund numbers "0", 退款状态 empty: applied amount, key = 微信订单号
		revokedRow("4200000922202102014836880594", "S1", "0.00", "0", "0", "3.00", "", "0.00", "3.00"),
		// refund numbers blank, only 退款金额, PROCESSING
		revokedRow("4200000922202102014836880595", "S2", "0.00", "", "", "1.50", "PROCESSING", "0.00", "0.00"),
		// refund numbers printed: they are the key
		revokedRow("4200000922202102014836880596", "S3", "0.00", "50300000000000000003", "R3", "0.20", "SUCCESS", "0.00", "0.20"),
		// the shape read so far: amounts in the order columns
		revokedRow("4200000922202102014836880597", "S4", "2.00", "0", "0", "0.00", "", "2.00", "0.00"),
	}, "`4,`2.00,`4.70,`0.00,`0.00,`2.00,`3.20")
	lines, sum, err := parseAll(t, []byte(text), "revoked.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 4 || sum.Count != 4 || sum.Refund != 470 || sum.RefundApplied != 320 {
		t.Fatalf("%d lines, summary %+v", len(lines), sum)
	}
	for i, want := range []struct {
		kind            payrecon.Kind
		status          payrecon.Status
		amount, settled int64
		refundNo, outNo string
	}{
		{payrecon.KindRefund, payrecon.StatusSuccess, 300, -300, "4200000922202102014836880594", ""},
		{payrecon.KindRefund, payrecon.StatusPending, 150, -150, "4200000922202102014836880595", ""},
		{payrecon.KindRefund, payrecon.StatusSuccess, 20, -20, "50300000000000000003", "R3"},
		{payrecon.KindPayment, payrecon.StatusClosed, 200, 200, "", ""},
	} {
		l := lines[i]
		if l.Kind != want.kind || l.Status != want.status || l.Amount != want.amount || l.Settlement != want.settled ||
			l.ProviderRefundNo != want.refundNo || l.MerchantRefundNo != want.outNo || l.MerchantOrderNo != fmt.Sprintf("S%d", i+1) {
			t.Fatalf("line %d: %+v, want %+v", i+2, l, want)
		}
	}
	// A REVOKED refund with an unknown 退款状态 is refused, naming the line.
	bad := allBill([][]string{revokedRow("4200000922202102014836880594", "S1", "0.00", "0", "0", "3.00", "WHATEVER", "0.00", "3.00")},
		"`1,`0.00,`3.00,`0.00,`0.00,`0.00,`3.00")
	if _, _, err := parseAll(t, []byte(bad), "revoked.csv"); err == nil || !strings.Contains(err.Error(), "revoked.csv line 2") || !strings.Contains(err.Error(), "退款状态") {
		t.Fatalf("err = %v", err)
	}
	// ... and one without any number to key it by.
	bad = allBill([][]string{revokedRow("", "S1", "0.00", "0", "0", "3.00", "", "0.00", "3.00")},
		"`1,`0.00,`3.00,`0.00,`0.00,`0.00,`3.00")
	if _, _, err := parseAll(t, []byte(bad), "revoked.csv"); !errors.Is(err, wechat.ErrBillFormat) || !strings.Contains(err.Error(), "REVOKED row without") {
		t.Fatalf("err = %v", err)
	}
}
