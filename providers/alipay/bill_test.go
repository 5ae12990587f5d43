package alipay_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/alipay/sandbox"
	"github.com/payrecon/payrecon/providers/internal/billread"
	"github.com/payrecon/payrecon/providers/scenario"
)

func parseFile(t *testing.T, name string) ([]payrecon.BillLine, alipay.Summary, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []payrecon.BillLine
	sum, err := alipay.ParseTradeBill(f, name, func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	})
	return lines, sum, err
}

func sh(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, payrecon.Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// The published sample rows (fact file B3), GBK with CRLF, as Alipay
// writes them; also as UTF-8 with a BOM and with columns reordered / added.
func TestParseTradeBill_Documented(t *testing.T) {
	for _, name := range []string{"trade_documented.csv", "trade_utf8_bom.csv", "trade_reordered.csv"} {
		t.Run(name, func(t *testing.T) {
			lines, sum, err := parseFile(t, name)
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != 3 || sum.Lines != 3 || !sum.HasSummary() || sum.TradeCount != 2 || sum.RefundCount != 1 ||
				sum.TradeReceived != 2 || sum.RefundReceived != -1 {
				t.Fatalf("%d lines, summary %+v", len(lines), sum)
			}
			p, r, p2 := lines[0], lines[1], lines[2]
			if p.Kind != payrecon.KindPayment || p.ProviderTxnNo != "2019091622001458860515315453" || p.MerchantOrderNo != "service_1568601259302" ||
				p.Amount != 1 || p.PayerAmount != 1 || p.Type != "交易" || p.Product != "下单测试" || p.Status != payrecon.StatusSuccess ||
				!p.CreatedAt.Equal(sh("2019-09-16 10:55:16")) || !p.FinishedAt.Equal(sh("2019-09-16 10:55:23")) || p.LineNo != 6 || p.File != name || p.Bill != payrecon.BillTrade {
				t.Errorf("payment %+v", p)
			}
			if r.Kind != payrecon.KindRefund || r.Amount != 1 || r.MerchantRefundNo != "re_test_1568602607356" || r.ProviderRefundNo != p.ProviderTxnNo+"/re_test_1568602607356" ||
				r.ProviderTxnNo != p.ProviderTxnNo || r.MerchantOrderNo != p.MerchantOrderNo || !r.FinishedAt.Equal(sh("2019-09-16 10:56:48")) {
				t.Errorf("refund %+v", r)
			}
			if p2.MerchantOrderNo != "20190916165659224L3VUQRL9" || p2.Product != "千丁订单INSURANCE88100011909161658423172" || strings.ContainsRune(p2.ProviderTxnNo, '\t') {
				t.Errorf("second payment %+v", p2)
			}
		})
	}
}

func TestParseTradeBill_Errors(t *testing.T) {
	_, _, err := parseFile(t, "trade_bad_amount.csv")
	if !errors.Is(err, payrecon.ErrAmountSyntax) || !strings.Contains(err.Error(), "trade_bad_amount.csv line 6") || !strings.Contains(err.Error(), "column 订单金额（元）") {
		t.Errorf("bad amount: %v", err)
	}
	_, _, err = parseFile(t, "trade_total_mismatch.csv")
	if !errors.Is(err, alipay.ErrSummaryMismatch) || !strings.Contains(err.Error(), "交易合计 商家实收 0.03元, the rows sum to 0.02元") {
		t.Errorf("total mismatch: %v", err)
	}
	doc, err := os.ReadFile(filepath.Join("testdata", "trade_documented.csv"))
	if err != nil {
		t.Fatal(err)
	}
	gbk := func(s string) string {
		b, _ := simplifiedchinese.GBK.NewEncoder().String(s)
		return b
	}
	for name, tc := range map[string]struct {
		mut  func([]byte) []byte
		want error
		say  string
	}{
		"RefundCountOff": {func(b []byte) []byte {
			return bytes.Replace(b, []byte(gbk("#退款合计：1笔")), []byte(gbk("#退款合计：2笔")), 1)
		}, alipay.ErrSummaryMismatch, "退款合计 says 2笔, the bill has 1 rows"},
		"RowDropped": {func(b []byte) []byte {
			i := bytes.Index(b, []byte("2019091622001465870515233238"))
			j := bytes.IndexByte(b[i:], '\n')
			return append(append([]byte{}, b[:i]...), b[i+j+1:]...)
		}, alipay.ErrSummaryMismatch, "交易合计 says 2笔, the bill has 1 rows"},
		"ShortRow": {func(b []byte) []byte {
			return bytes.Replace(b, []byte(",0.00,0.00,"+gbk("下单测试")+"\r\n"), []byte("\r\n"), 1)
		}, billread.ErrColumns, "line 6 column 服务费（元）: wrong number of columns: 22 columns, the header has 25"},
		"NoHeader": {func(b []byte) []byte {
			return bytes.Replace(b, []byte(gbk("支付宝交易号,")), []byte(gbk("交易号,")), 1)
		}, alipay.ErrBillFormat, "line 5"},
		"BadTime": {func(b []byte) []byte {
			return bytes.Replace(b, []byte("2019-09-16 10:55:23"), []byte("2019-09-16 25:55:23"), 1)
		}, nil, "line 6 column 完成时间"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := alipay.ParseTradeBill(bytes.NewReader(tc.mut(append([]byte{}, doc...))), "x.csv", func(payrecon.BillLine) error { return nil })
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.say) {
				t.Fatalf("err = %v, want %v saying %q", err, tc.want, tc.say)
			}
		})
	}
}

func TestParseFundBill_Documented(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "fund_documented.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []payrecon.BillLine
	sum, err := alipay.ParseFundBill(f, "fund.csv", func(l payrecon.BillLine) error { lines = append(lines, l); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || sum.IncomeCount != 1 || sum.Income != 1 || sum.ExpenseCount != 2 || sum.Expense != -7 || !sum.HasSummary() {
		t.Fatalf("%d lines, %+v", len(lines), sum)
	}
	want := []struct {
		kind       payrecon.Kind
		settlement int64
	}{{payrecon.KindPayment, 1}, {payrecon.KindRefund, -1}, {payrecon.KindOther, -6}}
	for i, w := range want {
		l := lines[i]
		if l.Kind != w.kind || l.Settlement != w.settlement || l.Amount != max(w.settlement, -w.settlement) || l.Bill != payrecon.BillSettlement || l.ProviderTxnNo == "" {
			t.Errorf("line %d: %+v", i, l)
		}
	}
	if lines[0].ProviderTxnNo != "2019091622001458860515315453" || lines[0].MerchantOrderNo != "service_1568601259302" {
		t.Errorf("numbers %+v", lines[0])
	}
}

// The parser's fast amount path agrees with payrecon.ParseYuan.
func TestAmountFastPath(t *testing.T) {
	for _, s := range []string{"0.00", "-0.01", "123456.78", "1.5", "1.", ".50", "-", "12.345", "999999999999999.99", "+1.00", "0.0x"} {
		want, werr := payrecon.ParseYuan(s)
		var lines []payrecon.BillLine
		bill := "支付宝交易号,商户订单号,业务类型,订单金额（元）,商家实收（元）\n1,O,交易," + s + ",0.00\n#交易合计：1笔\n#退款合计：0笔\n"
		_, err := alipay.ParseTradeBill(strings.NewReader(bill), "a.csv", func(l payrecon.BillLine) error { lines = append(lines, l); return nil })
		if (err != nil) != (werr != nil) || (err == nil && lines[0].Amount != max(want, -want)) {
			t.Errorf("%q: parser %v %v, ParseYuan %d %v", s, lines, err, want, werr)
		}
	}
}

// A 0.00 movement printed in one column counts in that column's footer
// total; a refund footer printed with positive totals (the rows negative)
// agrees: the sign of refund totals is not documented.
func TestFooterCountsAndSigns(t *testing.T) {
	day := payrecon.MustDay("2026-11-02")
	at := day.Start().Add(10 * time.Hour)
	sc := &scenario.Scenario{
		Payments: []scenario.Payment{{MerchantOrderNo: "O1", ProviderTxnNo: "2026110222001400000000000001", Status: payrecon.StatusSuccess,
			Amount: 1000, PayerAmount: 900, PromotionAmount: 100, CreatedAt: at, PaidAt: at}},
		Refunds: []scenario.Refund{{MerchantRefundNo: "R1", MerchantOrderNo: "O1", ProviderTxnNo: "2026110222001400000000000001", Status: payrecon.StatusSuccess,
			Amount: 500, PayerAmount: 450, CreatedAt: at.Add(time.Hour), FinishedAt: at.Add(time.Hour)}},
		Others: []scenario.Other{{Type: "转账", ProviderTxnNo: "T0", Amount: 0, At: at}}, // a 0.00 movement
	}
	sb := sandbox.New(sc, sandbox.Options{Now: fixedNow})
	defer sb.Close()
	fund := sb.FundBill(day)
	n := 0
	sum, err := alipay.ParseFundBill(strings.NewReader(fund), "fund.csv", func(payrecon.BillLine) error { n++; return nil })
	if err != nil || n != 3 || sum.IncomeCount != 2 {
		t.Fatalf("fund bill with a 0.00 row: %v, %d lines, summary %+v", err, n, sum)
	}
	detail, _ := sb.TradeBill(day)
	if !strings.Contains(detail, "商家优惠退款共-0.50元") {
		t.Fatalf("the sandbox prints the refund discount total as %q", detail)
	}
	positive := strings.Replace(strings.Replace(detail, "商家优惠退款共-0.50元", "商家优惠退款共0.50元", 1), "商家实收退款共-4.50元", "商家实收退款共4.50元", 1)
	if _, err := alipay.ParseTradeBill(strings.NewReader(positive), "trade.csv", func(payrecon.BillLine) error { return nil }); err != nil {
		t.Errorf("refund footer with positive totals: %v", err)
	}
	wrong := strings.Replace(detail, "商家优惠退款共-0.50元", "商家优惠退款共0.60元", 1)
	if _, err := alipay.ParseTradeBill(strings.NewReader(wrong), "trade.csv", func(payrecon.BillLine) error { return nil }); !errors.Is(err, alipay.ErrSummaryMismatch) {
		t.Errorf("refund footer off by 0.10: %v, want ErrSummaryMismatch", err)
	}
}

// A footer total printed with thousands separators (共1,234.56元) is read and
// checked, not skipped.
func TestFooterThousandsSeparator(t *testing.T) {
	day := payrecon.MustDay("2026-11-02")
	at := day.Start().Add(10 * time.Hour)
	sc := &scenario.Scenario{Payments: []scenario.Payment{{MerchantOrderNo: "O1", ProviderTxnNo: "2026110222001400000000000001",
		Status: payrecon.StatusSuccess, Amount: 123456, PayerAmount: 123456, CreatedAt: at, PaidAt: at}}}
	sb := sandbox.New(sc, sandbox.Options{Now: fixedNow})
	defer sb.Close()
	fund := sb.FundBill(day)
	if !strings.Contains(fund, "#收入合计：1笔，共1234.56元") {
		t.Fatalf("the sandbox's footer: %s", fund)
	}
	for footer, ok := range map[string]bool{"共1,234.56元": true, "共1,234.57元": false} {
		sum, err := alipay.ParseFundBill(strings.NewReader(strings.Replace(fund, "共1234.56元", footer, 1)), "fund.csv", func(payrecon.BillLine) error { return nil })
		if (err == nil) != ok || (ok && sum.Income != 123456) {
			t.Errorf("%s: %v, income %d; want ok=%v", footer, err, sum.Income, ok)
		}
	}
}

// Alipay does not quote its cells: a comma in the product name or the
// remark widens the row, and the row is folded back into that column; a
// row widened anywhere else is still refused.
func TestUnquotedCommaInText(t *testing.T) {
	day := payrecon.MustDay("2026-11-02")
	at := day.Start().Add(10 * time.Hour)
	sc := &scenario.Scenario{Payments: []scenario.Payment{{MerchantOrderNo: "O1", ProviderTxnNo: "2026110222001400000000000001",
		Status: payrecon.StatusSuccess, Amount: 1000, PayerAmount: 1000, CreatedAt: at, PaidAt: at, Product: "苹果，梨", Payload: "备注，甲"}}}
	sb := sandbox.New(sc, sandbox.Options{Now: fixedNow})
	defer sb.Close()
	detail, _ := sb.TradeBill(day)
	fund := sb.FundBill(day)
	for _, tc := range []struct {
		name, from, to  string
		product, remark string
		ok              bool
	}{
		{"product", "苹果，梨", "苹果,梨", "苹果,梨", "备注，甲", true},
		{"remark", "备注，甲", "备注,甲", "苹果，梨", "备注,甲", true},
		{"an amount", ",10.00,", ",10,.00,", "", "", false},
	} {
		var got []payrecon.BillLine
		_, err := alipay.ParseTradeBill(strings.NewReader(strings.Replace(detail, tc.from, tc.to, 1)), "trade.csv", func(l payrecon.BillLine) error {
			got = append(got, l)
			return nil
		})
		if (err == nil) != tc.ok || (tc.ok && (len(got) != 1 || got[0].Product != tc.product || got[0].Payload != tc.remark || got[0].Amount != 1000)) {
			t.Errorf("trade bill, comma in the %s: %v %+v", tc.name, err, got)
		}
	}
	var got []payrecon.BillLine
	if _, err := alipay.ParseFundBill(strings.NewReader(strings.Replace(fund, "苹果，梨", "苹果,梨", 1)), "fund.csv", func(l payrecon.BillLine) error {
		got = append(got, l)
		return nil
	}); err != nil || len(got) != 1 || got[0].Product != "苹果,梨" || got[0].Settlement != 1000 {
		t.Errorf("fund bill, comma in the product: %v %+v", err, got)
	}
}

// Folding never takes a cell inserted among the money columns: such a row
// is refused, not read with its amounts shifted.
func TestFoldRefusesShiftedMoney(t *testing.T) {
	day := payrecon.MustDay("2026-11-02")
	at := day.Start().Add(10 * time.Hour)
	sc := &scenario.Scenario{Payments: []scenario.Payment{{MerchantOrderNo: "O1", ProviderTxnNo: "2026110222001400000000000001",
		Status: payrecon.StatusSuccess, Amount: 1000, PayerAmount: 900, PromotionAmount: 100, CreatedAt: at, PaidAt: at, Product: "苹果", Payload: "备注"}}}
	sb := sandbox.New(sc, sandbox.Options{Now: fixedNow})
	defer sb.Close()
	detail, _ := sb.TradeBill(day)
	fund := sb.FundBill(day)
	shifted := strings.Replace(detail, ",10.00,9.00,", ",10.00,1.00,9.00,", 1) // a cell inserted after 订单金额
	if shifted == detail {
		t.Fatalf("no row to shift in %s", detail)
	}
	if _, err := alipay.ParseTradeBill(strings.NewReader(shifted), "trade.csv", func(payrecon.BillLine) error { return nil }); err == nil {
		t.Error("a trade row with a cell inserted among its amounts was read")
	}
	shiftedFund := strings.Replace(fund, ",9.00,,", ",9.00,1.00,,", 1)
	if shiftedFund == fund {
		t.Fatalf("no fund row to shift in %s", fund)
	}
	if _, err := alipay.ParseFundBill(strings.NewReader(shiftedFund), "fund.csv", func(payrecon.BillLine) error { return nil }); err == nil {
		t.Error("a fund row with a cell inserted among its amounts was read")
	}
}
