package qqpay_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/billread"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/qqpay/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
)

func parse(t *testing.T, data []byte, name string) ([]payrecon.BillLine, qqpay.Summary, error) {
	t.Helper()
	var lines []payrecon.BillLine
	sum, err := qqpay.ParseTradeBill(bytes.NewReader(data), name, func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	})
	return lines, sum, err
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPublishedSampleRow parses the fact file's published row ([V]-style
// check: every value is the sample's).
func TestPublishedSampleRow(t *testing.T) {
	lines, sum, err := parse(t, readFixture(t, "sample_row.csv"), "sample_row.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !sum.HasSummary || sum.Count != 1 || sum.Refund != 1 {
		t.Fatalf("lines %d summary %+v", len(lines), sum)
	}
	l := lines[0]
	want := time.Date(2016, 7, 23, 14, 14, 0, 0, payrecon.Shanghai)
	if l.Kind != payrecon.KindRefund || l.Status != payrecon.StatusSuccess || l.Type != "转入退款" {
		t.Errorf("kind %s status %s type %q", l.Kind, l.Status, l.Type)
	}
	if l.MerchantOrderNo != "100540000011201607231001010451" || l.ProviderTxnNo != "1263711801461607231903720235" {
		t.Errorf("order numbers %q %q (backticks must go)", l.MerchantOrderNo, l.ProviderTxnNo)
	}
	if l.MerchantRefundNo != "REV_100540000011201607231001010451" || l.ProviderRefundNo != "1121263711801607230535066910" {
		t.Errorf("refund numbers %q %q", l.MerchantRefundNo, l.ProviderRefundNo)
	}
	if l.Amount != 1 || l.PayerAmount != 1 || l.Fee != 0 || l.FeeStated || l.FeeRatePPM != 0 || l.Currency != "CNY" { // 手续费 暂无数据: no fee stated
		t.Errorf("amounts %+v", l)
	}
	if !l.CreatedAt.Equal(want) || !l.FinishedAt.Equal(want) {
		t.Errorf("times %s %s, want %s", l.CreatedAt, l.FinishedAt, want)
	}
	if l.Product != "" || l.Payload != "" {
		t.Errorf("暂无数据 placeholders not read as empty: %q %q", l.Product, l.Payload)
	}
	if l.File != "sample_row.csv" || l.LineNo != 2 {
		t.Errorf("position %s:%d", l.File, l.LineNo)
	}
	// The domain check with QQ Wallet's declared limits passes the documented
	// row (its 34-byte 商户退款订单号 included); refund numbers payrecon
	// derives still fit the refund API's 32.
	var c *qqpay.Client
	lim := payrecon.LimitsOf(c)
	pol := payrecon.Policy{Limits: lim}
	lc := pol.Lines(payrecon.DayOf(want))
	if err := lc.Check(&l); err != nil {
		t.Errorf("the documented row fails the domain check: %v", err)
	}
	if n := lim.RefundNoMaxLen(); n != 32 {
		t.Errorf("refund numbers derived up to %d bytes, want 32", n)
	}
}

// A statement's refund status phrase that is not one of the documented
// words is read by what it says; a fee printed to 5 decimals is rounded to
// the fen, and the fee total agrees within a fen per rounded line.
func TestStatementWordsAndFeeDecimals(t *testing.T) {
	row := string(readFixture(t, "sample_row.csv"))
	for word, want := range map[string]payrecon.Status{"退款处理中": payrecon.StatusPending, "退款已成功": payrecon.StatusSuccess, "退款失败了": payrecon.StatusFailed} {
		lines, _, err := parse(t, []byte(strings.Replace(row, ",退款成功,", ","+word+",", 1)), "s.csv")
		if err != nil || len(lines) != 1 || lines[0].Status != want {
			t.Errorf("%s: %v %+v, want %s", word, err, lines, want)
		}
	}
	for _, word := range []string{"待定", "退款不成功"} { // unknown, and negated: not read as success
		if _, _, err := parse(t, []byte(strings.Replace(row, ",退款成功,", ","+word+",", 1)), "s.csv"); err == nil || !strings.Contains(err.Error(), "退款状态") {
			t.Errorf("status word %s: %v, want it refused naming the column", word, err)
		}
	}
	// A fee printed to 5 decimals rounds to the fen, half away from zero.
	for _, tc := range []struct {
		fee, total string
		want       int64
		ok         bool
	}{
		{"0.00556", "0.00556", 1, true}, // total printed as exactly
		{"0.00556", "0.01", 1, true},    // total rounded
		{"0.00556", "0", 1, true},       // total of the exact fees rounded: within a fen of the rounded sum
		{"0.00556", "0.03", 0, false},   // two fen off: refused
		{"0.6", "0.6", 60, true},
	} {
		text := strings.Replace(row, ",暂无数据,暂无数据\n", ","+tc.fee+",0.60%\n", 1)
		text = strings.Replace(text, "1,0,0,0,0,0,0.01,0,0", "1,0,0,0,0,0,0.01,0,"+tc.total, 1)
		lines, _, err := parse(t, []byte(text), "s.csv")
		if (err == nil) != tc.ok || (tc.ok && (len(lines) != 1 || lines[0].Fee != tc.want || !lines[0].FeeStated)) {
			t.Errorf("fee %s total %s: %v %+v, want ok=%v fee %d", tc.fee, tc.total, err, lines, tc.ok, tc.want)
		}
	}
}

// A payment row whose 交易状态 says it was paid in other words than 支付成功
// is a payment.
func TestPaymentStatusWords(t *testing.T) {
	text := string(readFixture(t, "statement_all_utf8.csv"))
	for _, word := range []string{"交易成功", "已支付", "支付完成"} {
		lines, _, err := parse(t, []byte(strings.ReplaceAll(text, ",支付成功,", ","+word+",")), "s.csv")
		if err != nil {
			t.Fatalf("%s: %v", word, err)
		}
		payments := 0
		for _, l := range lines {
			if l.Kind == payrecon.KindPayment {
				payments++
				if l.Type != word || l.Amount <= 0 {
					t.Errorf("%s: payment %+v", word, l)
				}
			}
		}
		if payments == 0 {
			t.Errorf("%s: no payment read", word)
		}
	}
}

// TestPublishedSummaryDisagrees: the published summary (9 rows, 353.04)
// belongs to nine rows of which one is published, so it must not pass.
func TestPublishedSummaryDisagrees(t *testing.T) {
	_, _, err := parse(t, readFixture(t, "sample_published_summary.csv"), "s.csv")
	if !errors.Is(err, qqpay.ErrSummaryMismatch) || !strings.Contains(err.Error(), "交易总笔数") || !strings.Contains(err.Error(), "s.csv line 4") {
		t.Fatalf("err = %v", err)
	}
}

// billScenario is a small day: two payments (one with a promotion), a refund, an other line.
func billScenario() *scenario.Scenario {
	at := func(h, m, s int) time.Time {
		return testDay.Start().Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
	}
	return &scenario.Scenario{
		Payments: []scenario.Payment{
			{MerchantOrderNo: "M1", ProviderTxnNo: "T1", Status: payrecon.StatusSuccess, Amount: 10000, PayerAmount: 10000, Fee: 60, FeeRatePPM: 6000, PaidAt: at(9, 5, 7), Product: "商品,一", Payload: "p1"},
			{MerchantOrderNo: "M2", ProviderTxnNo: "T2", Status: payrecon.StatusSuccess, Amount: 123456, PayerAmount: 122456, PromotionAmount: 1000, Fee: 741, FeeRatePPM: 6000, PaidAt: at(21, 0, 0)},
		},
		Refunds: []scenario.Refund{
			{MerchantRefundNo: "R1", ProviderRefundNo: "RF1", MerchantOrderNo: "M1", ProviderTxnNo: "T1", Status: payrecon.StatusSuccess, Amount: 2500, PayerAmount: 2500, Fee: -15, CreatedAt: at(10, 0, 0), FinishedAt: at(10, 1, 0)},
		},
		Others: []scenario.Other{{Type: "已撤销", ProviderTxnNo: "T9", Amount: 777, At: at(12, 0, 0)}},
	}
}

func render(t *testing.T, opts sandbox.Options) []byte {
	t.Helper()
	sb := sandbox.New(billScenario(), opts)
	defer sb.Close()
	var b bytes.Buffer
	sb.RenderStatement(&b, testDay)
	return b.Bytes()
}

func checkBill(t *testing.T, lines []payrecon.BillLine, sum qqpay.Summary) {
	t.Helper()
	if len(lines) != 4 || sum.Lines != 4 || !sum.HasSummary || sum.Count != 4 {
		t.Fatalf("%d lines, summary %+v", len(lines), sum)
	}
	p1, p2, r, o := lines[0], lines[1], lines[2], lines[3]
	if p1.Kind != payrecon.KindPayment || p1.Amount != 10000 || p1.Fee != 60 || !p1.FeeStated || p1.FeeRatePPM != 6000 || p1.Product != "商品，一" || p1.Payload != "p1" {
		t.Errorf("p1 %+v", p1)
	}
	if p2.Amount != 123456 || p2.PayerAmount != 122456 || p2.PromotionAmount != 1000 || p2.MerchantOrderNo != "M2" || p2.ProviderTxnNo != "T2" {
		t.Errorf("p2 %+v", p2)
	}
	if r.Kind != payrecon.KindRefund || r.Amount != 2500 || r.Fee != -15 || r.MerchantOrderNo != "M1" || r.ProviderTxnNo != "T1" || r.MerchantRefundNo != "R1" || r.ProviderRefundNo != "RF1" {
		t.Errorf("refund %+v", r)
	}
	if o.Kind != payrecon.KindOther || o.Type != "已撤销" || o.Amount != 777 {
		t.Errorf("other %+v", o)
	}
	if sum.OrderAmount != 10000+123456+777 || sum.Refund != 2500 || sum.Fee != 60+741-15 {
		t.Errorf("summary %+v", sum)
	}
}

func TestParseRenderedStatements(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts sandbox.Options
		min  bool // times to the minute only
	}{
		{"utf8-sample-times", sandbox.Options{}, true},
		{"utf8-bom-long-times", sandbox.Options{BOM: true, LongTimes: true}, false},
		{"gbk", sandbox.Options{GBK: true, LongTimes: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := render(t, tc.opts)
			lines, sum, err := parse(t, data, "s.csv")
			if err != nil {
				t.Fatal(err)
			}
			checkBill(t, lines, sum)
			want := testDay.Start().Add(9*time.Hour + 5*time.Minute + 7*time.Second)
			if tc.min {
				want = want.Truncate(time.Minute)
			}
			if !lines[0].FinishedAt.Equal(want) {
				t.Errorf("paid at %s, want %s", lines[0].FinishedAt, want)
			}
			if tc.opts.GBK && sum.DetectedFormat != qqpay.EncodingGBK {
				t.Errorf("detected %s", sum.DetectedFormat)
			}
		})
	}
	// forced encodings
	gbk := render(t, sandbox.Options{GBK: true})
	var n int
	if _, err := qqpay.ParseTradeBillEncoding(bytes.NewReader(gbk), "g.csv", qqpay.EncodingGBK, func(payrecon.BillLine) error { n++; return nil }); err != nil || n != 4 {
		t.Fatalf("forced gbk: %d lines, %v", n, err)
	}
	if _, err := qqpay.ParseTradeBillEncoding(bytes.NewReader(gbk), "g.csv", qqpay.EncodingUTF8, func(payrecon.BillLine) error { return nil }); err == nil {
		t.Fatal("a GBK file read as UTF-8 parsed")
	}
}

// permute rewrites a CSV bill's header and data rows (until the summary)
// with the columns in a new order plus an extra column.
func permute(t *testing.T, data []byte) []byte {
	t.Helper()
	rows := strings.Split(strings.TrimRight(string(data), "\r\n"), "\r\n")
	var out []string
	inData := true
	for i, r := range rows {
		if strings.HasPrefix(r, "交易总笔数") {
			inData = false
		}
		if !inData {
			out = append(out, r)
			continue
		}
		c := strings.Split(r, ",")
		for l, m := 0, len(c)-1; l < m; l, m = l+1, m-1 {
			c[l], c[m] = c[m], c[l]
		}
		extra := "新增列"
		if i > 0 {
			extra = "x"
		}
		out = append(out, strings.Join(append([]string{extra}, c...), ","))
	}
	return []byte("QQ钱包对账单\n\n" + strings.Join(out, "\n") + "\n\n")
}

func TestColumnsByName(t *testing.T) {
	data := permute(t, render(t, sandbox.Options{LongTimes: true}))
	lines, sum, err := parse(t, data, "p.csv")
	if err != nil {
		t.Fatal(err)
	}
	checkBill(t, lines, sum)
	if lines[0].LineNo != 4 {
		t.Errorf("first data line %d, want 4 (title, blank, header)", lines[0].LineNo)
	}
	// the header without "(元)" ([D] ponfee's names) and 支付方式 for 支付场景
	plain := strings.ReplaceAll(string(render(t, sandbox.Options{})), "(元)", "")
	plain = strings.Replace(plain, "支付场景", "支付方式", 1)
	lines, sum, err = parse(t, []byte(plain), "plain.csv")
	if err != nil {
		t.Fatal(err)
	}
	checkBill(t, lines, sum)
}

func TestBillErrors(t *testing.T) {
	good := string(render(t, sandbox.Options{LongTimes: true}))
	for _, tc := range []struct {
		name, data string
		want       []string
		is         error
	}{
		{"bad amount", strings.Replace(good, ",1234.56,", ",1234.5x6,", 1), []string{"b.csv line 3", "订单金额(元)", "1234.5x6"}, payrecon.ErrAmountSyntax},
		{"third decimal", strings.Replace(good, ",1234.56,", ",1234.561,", 1), []string{"b.csv line 3", "订单金额(元)"}, payrecon.ErrAmountSyntax},
		{"refund total", strings.Replace(good, ",25.00,0.00,", ",25.00,0.00,", 1)[:len(good)-len(",7.86\r\n")] + ",7.87\r\n", []string{"手续费总金额(元)", "7.87", "7.86"}, qqpay.ErrSummaryMismatch},
		{"bad time", strings.Replace(good, "2026-11-20 09:05:07", "2026-11-20 9h05", 1), []string{"b.csv line 2", "交易时间"}, nil},
		{"short row", strings.Replace(good, ",p1,", ",", 1), []string{"b.csv line 2", "29 columns, the header has 30"}, billread.ErrColumns},
		{"no header", "hello,world\n1,2\n", []string{"b.csv line 1", "header"}, qqpay.ErrBillFormat},
		{"data after summary", good + "1,2,3\n", []string{"data after the summary"}, qqpay.ErrBillFormat},
		{"empty", "", []string{"no header"}, qqpay.ErrBillFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.data == good {
				t.Fatal("the test did not change the bill")
			}
			_, _, err := parse(t, []byte(tc.data), "b.csv")
			if err == nil {
				t.Fatal("parsed")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err %q lacks %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err %v is not %v", err, tc.is)
			}
		})
	}
}

func TestBillTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2016/7/23 4:04":      time.Date(2016, 7, 23, 4, 4, 0, 0, payrecon.Shanghai),
		"2016/07/03 14:14:59": time.Date(2016, 7, 3, 14, 14, 59, 0, payrecon.Shanghai),
		"2026-11-20 23:59:58": time.Date(2026, 11, 20, 23, 59, 58, 0, payrecon.Shanghai),
	} {
		got, err := qqpay.BillTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("BillTime(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"2016/7/23", "2016/2/30 1:00", "2016/13/1 1:00", "2016/1/1 24:00", "x/1/1 1:00"} {
		if _, err := qqpay.BillTime(bad); err == nil {
			t.Errorf("BillTime(%q) accepted", bad)
		}
	}
}

func TestGBKDetectedFromBytes(t *testing.T) {
	utf := readFixture(t, "sample_row.csv")
	gbk, err := simplifiedchinese.GB18030.NewEncoder().Bytes(utf)
	if err != nil {
		t.Fatal(err)
	}
	lines, sum, err := parse(t, gbk, "gbk.csv")
	if err != nil || len(lines) != 1 || sum.DetectedFormat != qqpay.EncodingGBK || lines[0].Type != "转入退款" {
		t.Fatalf("%v %+v %+v", err, sum, lines)
	}
}
