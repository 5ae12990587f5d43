package douyin_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/douyin"
)

func parseFile(t *testing.T, name, billType, unit string) ([]payrecon.BillLine, douyin.Summary, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []payrecon.BillLine
	sum, err := douyin.ParseBill(f, billType, douyin.ParseOptions{File: name, Unit: unit}, func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	})
	return lines, sum, err
}

func shanghai(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, payrecon.Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParsePaymentBill(t *testing.T) {
	want := []struct {
		order, txn string
		amount     int64
		at         string
	}{
		{"DY20261110O001", "N7010000000000000001", 10000, "2026-11-10 09:00:05"},
		{"DY20261110O002", "N7010000000000000002", 1, "2026-11-10 10:30:02"},
		{"DY20261110O003", "N7010000000000000003", 123456, "2026-11-10 13:14:20"},
	}
	for _, tc := range []struct{ file, unit string }{
		{"payment_documented.csv", ""},
		{"payment_bom.csv", douyin.UnitYuan},
		{"payment_gbk.csv", ""},
		{"payment_fen.csv", douyin.UnitFen},
		{"payment_reordered.csv", ""},
		{"payment_summary.csv", ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			lines, sum, err := parseFile(t, tc.file, douyin.BillPayment, tc.unit)
			if err != nil {
				t.Fatal(err)
			}
			n := len(want)
			if tc.file == "payment_fen.csv" || tc.file == "payment_reordered.csv" || tc.file == "payment_summary.csv" {
				n = 2
			}
			if len(lines) != n || sum.Lines != int64(n) {
				t.Fatalf("%d lines (summary %d), want %d", len(lines), sum.Lines, n)
			}
			var total int64
			for i, l := range lines {
				w := want[i]
				if l.Kind != payrecon.KindPayment || l.Status != payrecon.StatusSuccess || l.MerchantOrderNo != w.order || l.ProviderTxnNo != w.txn || l.Amount != w.amount || l.PayerAmount != 0 {
					t.Errorf("line %d: %+v, want %+v", i, l, w)
				}
				if !l.FinishedAt.Equal(shanghai(w.at)) {
					t.Errorf("line %d: finished %s, want %s", i, l.FinishedAt, w.at)
				}
				if l.File != tc.file || l.LineNo < 2 {
					t.Errorf("line %d: file %q line %d", i, l.File, l.LineNo)
				}
				total += l.Amount
			}
			if sum.Amount != total {
				t.Errorf("summary amount %d, lines %d", sum.Amount, total)
			}
			if tc.file == "payment_summary.csv" && (!sum.HasSummary || sum.Total != 10001 || sum.Count != 2) {
				t.Errorf("summary %+v, want the 合计 row's 100.01 and 2", sum)
			}
		})
	}
}

func TestParseRefundAndSettleBills(t *testing.T) {
	lines, _, err := parseFile(t, "refund_documented.csv", douyin.BillRefund, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 {
		t.Fatalf("%d refund lines", len(lines))
	}
	r := lines[1]
	if r.Kind != payrecon.KindRefund || r.MerchantOrderNo != "DY20261110O003" || r.MerchantRefundNo != "DY20261110R002" || r.ProviderRefundNo != "R7010000000000000002" ||
		r.Amount != 3456 || r.Type != "部分退款" || !r.FinishedAt.Equal(shanghai("2026-11-10 17:00:00")) || !r.CreatedAt.Equal(shanghai("2026-11-10 16:59:00")) || r.ProviderTxnNo != "" {
		t.Errorf("refund line %+v", r)
	}
	lines, _, err = parseFile(t, "settle_documented.csv", douyin.BillSettle, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 {
		t.Fatalf("%d settle lines", len(lines))
	}
	s := lines[0]
	if s.Kind != payrecon.KindOther || s.Type != "分账" || s.Bill != payrecon.BillSettlement || s.Amount != 10000 || s.Fee != 100 || !s.FeeStated || s.Settlement != 9900 || s.ProviderTxnNo != "N7010000000000000001" {
		t.Errorf("settle line %+v", s)
	}
}

func TestParseBillErrors(t *testing.T) {
	for _, tc := range []struct {
		file, unit string
		want       []string
	}{
		{"payment_bad_amount.csv", "", []string{"payment_bad_amount.csv", "line 3", "订单金额", "0.0x"}},
		{"payment_bad_time.csv", "", []string{"line 4", "支付时间"}},
		{"payment_summary_mismatch.csv", "", []string{"line 4", "summary 订单金额 total 100.02", "100.01"}},
		{"payment_documented.csv", douyin.UnitFen, []string{"line 3", "订单金额", "fen"}},
		{"refund_documented.csv", "", []string{"no header row", "平台订单号"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, _, err := parseFile(t, tc.file, douyin.BillPayment, tc.unit)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// a short row is an error, not skipped
	_, err := douyin.ParseBill(strings.NewReader("订单号,平台订单号,订单金额,支付时间\nO1,N1\n"), douyin.BillPayment, douyin.ParseOptions{File: "x.csv"}, func(payrecon.BillLine) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "x.csv line 2") {
		t.Errorf("short row: %v", err)
	}
	// fn's error stops the parse
	stop := errors.New("stop")
	f, _ := os.Open(filepath.Join("testdata", "payment_documented.csv"))
	defer f.Close()
	n := 0
	_, err = douyin.ParseBill(f, douyin.BillPayment, douyin.ParseOptions{}, func(payrecon.BillLine) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn error: %v after %d lines", err, n)
	}
	// an empty body is an empty bill
	sum, err := douyin.ParseBill(strings.NewReader(""), douyin.BillRefund, douyin.ParseOptions{}, func(payrecon.BillLine) error { return nil })
	if err != nil || sum.Lines != 0 {
		t.Errorf("empty bill: %v %+v", err, sum)
	}
}

// A settle row with a negative 订单金额 is a refund settled back: its fee is
// returned (negative), its Settlement negative, and the summary total signed.
func TestParseSettleRefundRow(t *testing.T) {
	text := "序号, 分账时间, 商户号, openId, 订单号, 平台订单号, 渠道订单号, 订单金额, 支付方式, 分账单号, 分账状态, 分账方和分账金额, 技术服务费, 抽佣金额\n" +
		"1, 2026-11-05 12:00:00, 7000, o1, O1, N1, C1, 100.00, 微信, S1, SUCCESS, 7000:99.40, 0.60, 0.00\n" +
		"2, 2026-11-05 13:00:00, 7000, o1, O1, N1, C1, -30.00, 微信, S2, SUCCESS, 7000:-29.82, -0.18, 0.00\n" +
		"合计, 共2笔, , , , , , 70.00, , , , , , \n"
	var lines []payrecon.BillLine
	sum, err := douyin.ParseBill(strings.NewReader(text), douyin.BillSettle, douyin.ParseOptions{File: "s.csv"}, func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || sum.Amount != 7000 || sum.Total != 7000 {
		t.Fatalf("lines %d summary %+v", len(lines), sum)
	}
	if p, r := lines[0], lines[1]; p.Amount != 10000 || p.Fee != 60 || p.Settlement != 9940 || !p.FeeStated ||
		r.Amount != 3000 || r.Fee != -18 || r.Settlement != -2982 || !r.FeeStated || r.MerchantOrderNo != "O1" {
		t.Errorf("payment %+v\nrefund %+v", p, r)
	}
}

// With the unit left to auto, a bill printing whole fen reads as fen, one
// printing yuan with decimals as yuan, each decided by its first non-zero
// amount; an amount of the other form after that is refused naming the
// setting.
func TestBillUnitAuto(t *testing.T) {
	const head = "序号, 支付时间, 商户号, openId, 订单号, 平台订单号, 渠道订单号, 订单金额, 支付方式, 支付状态\n"
	row := func(n int, amount string) string {
		return fmt.Sprintf("%d, 2026-11-10 10:0%d:00, 70001234567, oid, DYO%d, N70%d, C%d, %s, 微信, SUCCESS\n", n, n, n, n, n, amount)
	}
	for _, tc := range []struct {
		name, text string
		want       []int64
		ok         bool
	}{
		{"fen", row(1, "9980") + row(2, "1"), []int64{9980, 1}, true},
		{"yuan", row(1, "99.80") + row(2, "1"), []int64{9980, 100}, true},
		{"fen then a decimal", row(1, "9980") + row(2, "1.50"), nil, false},
	} {
		var got []int64
		_, err := douyin.ParseBill(strings.NewReader(head+tc.text), douyin.BillPayment, douyin.ParseOptions{File: "p.csv"}, func(l payrecon.BillLine) error {
			got = append(got, l.Amount)
			return nil
		})
		if (err == nil) != tc.ok || (tc.ok && !slices.Equal(got, tc.want)) {
			t.Errorf("%s: %v %v, want %v ok=%v", tc.name, got, err, tc.want, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "bill_amount_unit") {
			t.Errorf("%s: %v does not name bill_amount_unit", tc.name, err)
		}
	}
}

// A settle row whose 分账方和分账金额 lists several parties separated by
// commas (unquoted) is read, the list kept whole; a row widened anywhere
// else is still refused.
func TestSettlePartiesWithCommas(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "settle_documented.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from, to, parties string
		ok                bool
	}{
		{"70001234567:99.00, 1.00", "70001234567:90.00, 70007654321:9.00, 1.00", "70001234567:90.00,70007654321:9.00", true},
		{", 100.00, 微信", ", 100.00, 1, 微信", "", false},
	} {
		var got []payrecon.BillLine
		_, err := douyin.ParseBill(strings.NewReader(strings.Replace(string(b), tc.from, tc.to, 1)), douyin.BillSettle, douyin.ParseOptions{File: "s.csv"}, func(l payrecon.BillLine) error {
			got = append(got, l)
			return nil
		})
		if (err == nil) != tc.ok || (tc.ok && (len(got) == 0 || got[0].Payload != tc.parties || got[0].Amount != 10000 || got[0].Fee != 100)) {
			t.Errorf("%q: %v %+v", tc.to, err, got)
		}
	}
}
