package douyin_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/douyin"
	"github.com/payrecon/payrecon/providers/douyin/sandbox"
	"github.com/payrecon/payrecon/providers/internal/billread"
	"github.com/payrecon/payrecon/providers/scenario"
)

const paymentHeader = "序号, 支付时间, 商户号, openId, 订单号, 平台订单号, 渠道订单号, 订单金额, 支付方式, 支付状态\n"

// paymentRow is a payment bill row numbered seq with status word st.
func paymentRow(seq, st string, i int) string {
	return fmt.Sprintf("%s, 2026-11-10 09:00:%02d, 70001234567, oAbc, O%d, N%d, C%d, 1.00, 微信, %s\n", seq, i, i, i, i, st)
}

func parseText(text, billType string) ([]payrecon.BillLine, error) {
	var lines []payrecon.BillLine
	_, err := douyin.ParseBill(strings.NewReader(text), billType, douyin.ParseOptions{File: "v.csv"}, func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	})
	return lines, err
}

// The bills' status values are undocumented [?]: "done" words (…完成,
// 已结算) are success, 未支付 is not paid; a negated or unknown word is
// refused, never read as the word it negates or as pending.
func TestBillStatusWords(t *testing.T) {
	for _, tc := range []struct {
		word string
		want payrecon.Status // "": refused
	}{
		{"", payrecon.StatusSuccess},
		{"SUCCESS", payrecon.StatusSuccess},
		{"success", payrecon.StatusSuccess},
		{"支付成功", payrecon.StatusSuccess},
		{"支付完成", payrecon.StatusSuccess},
		{"退款完成", payrecon.StatusSuccess},
		{"分账完成", payrecon.StatusSuccess},
		{"结算完成", payrecon.StatusSuccess},
		{"已完成", payrecon.StatusSuccess},
		{"完成", payrecon.StatusSuccess},
		{"已结算", payrecon.StatusSuccess},
		{"已分账", payrecon.StatusSuccess},
		{"已支付", payrecon.StatusSuccess},
		{"已退款", payrecon.StatusSuccess},
		{"未支付", payrecon.StatusNotPaid},
		{"待支付", payrecon.StatusNotPaid},
		{"FAIL", payrecon.StatusFailed},
		{"退款失败", payrecon.StatusFailed},
		{"TIMEOUT", payrecon.StatusClosed},
		{"已关闭", payrecon.StatusClosed},
		{"PROCESSING", payrecon.StatusPending},
		{"退款中", payrecon.StatusPending},
		{"分账中", payrecon.StatusPending},
		{"未完成", ""},
		{"不成功", ""},
		{"未结算", ""},
		{"未分账", ""},
		{"DONE", ""},
		{"神秘状态", ""},
	} {
		st, ok := douyin.BillStatus(tc.word)
		if ok != (tc.want != "") || st != tc.want {
			t.Errorf("BillStatus(%q) = %q %v, want %q", tc.word, st, ok, tc.want)
		}
	}

	// through the parser: a day of 完成 words is read, not refused
	lines, err := parseText(paymentHeader+paymentRow("1", "支付完成", 1)+paymentRow("2", "未支付", 2), douyin.BillPayment)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].Status != payrecon.StatusSuccess || lines[1].Status != payrecon.StatusNotPaid {
		t.Errorf("lines %+v", lines)
	}
	text := "序号, 退款时间, 商户号, openId, 订单号, 渠道订单号, 订单金额, 支付方式, 退款类型, 退款单号, 平台退款单号, 退款状态, 退款完成时间, 退款金额\n" +
		"1, 2026-11-10 16:59:00, 70001234567, oAbc, O1, C1, 10.00, 微信, 部分退款, R1, PR1, 退款完成, 2026-11-10 17:00:00, 3.00\n"
	if lines, err := parseText(text, douyin.BillRefund); err != nil || len(lines) != 1 || lines[0].Status != payrecon.StatusSuccess {
		t.Errorf("refund 退款完成: %+v %v", lines, err)
	}
	text = "序号, 分账时间, 商户号, openId, 订单号, 平台订单号, 渠道订单号, 订单金额, 支付方式, 分账单号, 分账状态, 分账方和分账金额, 技术服务费, 抽佣金额\n" +
		"1, 2026-11-05 12:00:00, 7000, o1, O1, N1, C1, 100.00, 微信, S1, 分账完成, 7000:99.40, 0.60, 0.00\n" +
		"2, 2026-11-05 12:00:00, 7000, o1, O2, N2, C2, 100.00, 微信, S2, 已结算, 7000:99.40, 0.60, 0.00\n"
	if lines, err := parseText(text, douyin.BillSettle); err != nil || len(lines) != 2 || lines[0].Status != payrecon.StatusSuccess || lines[1].Status != payrecon.StatusSuccess {
		t.Errorf("settle 分账完成 / 已结算: %+v %v", lines, err)
	}

	// an unknown or negated word still fails the day, naming the cell
	for _, w := range []string{"神秘状态", "未完成"} {
		_, err := parseText(paymentHeader+paymentRow("1", "SUCCESS", 1)+paymentRow("2", w, 2), douyin.BillPayment)
		if err == nil {
			t.Fatalf("%s: no error", w)
		}
		for _, want := range []string{"v.csv", "line 3", "支付状态", `"` + w + `"`, "not a known status word"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not mention %q", w, err, want)
			}
		}
	}
}

// 序号 may count from 0 or 1, up or down to 0 or 1; a gap or a repeat (a
// row lost or repeated) is refused, naming the row.
func TestParseBillSequence(t *testing.T) {
	bill := func(seqs ...string) string {
		var b strings.Builder
		b.WriteString(paymentHeader)
		for i, s := range seqs {
			b.WriteString(paymentRow(s, "SUCCESS", i+1))
		}
		return b.String()
	}
	for _, seqs := range [][]string{
		{"1", "2", "3"},
		{"0", "1", "2"},
		{"3", "2", "1"},
		{"2", "1", "0"},
		{"1", "0"},
		{"0"},
		{"1"},
		{"1", "", "2"}, // a row without 序号 is not counted
	} {
		lines, err := parseText(bill(seqs...), douyin.BillPayment)
		if err != nil || len(lines) != len(seqs) {
			t.Errorf("序号 %v: %d lines, %v", seqs, len(lines), err)
		}
	}
	for _, tc := range []struct {
		seqs []string
		want []string
	}{
		{[]string{"1", "3", "4"}, []string{"line 3", "row number 3 after 1, want 2 or 0", "missing or repeated"}},
		{[]string{"1", "2", "4"}, []string{"line 4", "row number 4 after 2, want 3"}},
		{[]string{"1", "2", "2", "3"}, []string{"line 4", "row number 2 after 2, want 3"}},
		{[]string{"1", "1", "2"}, []string{"line 3", "row number 1 after 1"}},
		{[]string{"0", "1", "3"}, []string{"line 4", "want 2"}},
		{[]string{"3", "2", "2", "1"}, []string{"line 4", "row number 2 after 2, want 1"}},
		{[]string{"4", "2", "1"}, []string{"line 3", "row number 2 after 4, want 5 or 3"}},
		{[]string{"3", "2", "1", "2"}, []string{"line 5", "want 0"}},
		{[]string{"2", "3", "4"}, []string{"line 2", "count up from 2, not from 0 or 1", "missing before"}},
		{[]string{"4", "3", "2"}, []string{"line 4", "count down from 4 and stop at 2", "missing after"}},
		{[]string{"5"}, []string{"line 2", "only numbered row is 5"}},
	} {
		_, err := parseText(bill(tc.seqs...), douyin.BillPayment)
		if err == nil {
			t.Errorf("序号 %v: no error", tc.seqs)
			continue
		}
		if !errors.Is(err, billread.ErrSummary) {
			t.Errorf("序号 %v: %v is not ErrSummary", tc.seqs, err)
		}
		for _, w := range append([]string{"v.csv", "column 序号"}, tc.want...) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("序号 %v: error %q does not mention %q", tc.seqs, err, w)
			}
		}
	}
}

// A sandbox that prints 完成 / 已结算 status words and numbers its rows from
// 0 or downwards serves bills the client reads whole.
func TestBillFromSandboxNumberingAndWords(t *testing.T) {
	for _, opts := range []sandbox.Options{
		{Numbering: sandbox.NumberFromZero, DoneWords: map[string]string{douyin.BillPayment: "支付完成", douyin.BillRefund: "退款完成", douyin.BillSettle: "分账完成"}},
		{Numbering: sandbox.NumberDown, DoneWords: map[string]string{douyin.BillPayment: "已支付", douyin.BillRefund: "已退款", douyin.BillSettle: "已结算"}, Summary: true},
	} {
		t.Run(opts.Numbering, func(t *testing.T) {
			sb := mustSandbox(t, opts)
			sc := sb.Scenario()
			sc.Lock()
			for i := range 3 {
				p := scenario.Payment{MerchantOrderNo: fmt.Sprintf("V-ORDER-%d", i), ProviderTxnNo: fmt.Sprintf("N70202611050000%02d", i), Status: payrecon.StatusSuccess,
					Amount: 1000 + int64(i), PayerAmount: 1000 + int64(i), PaidAt: at(qDay, 9, i), CreatedAt: at(qDay, 9, i)}
				sc.Payments = append(sc.Payments, p)
				sc.Others = append(sc.Others, scenario.Other{Type: "分账", ProviderTxnNo: p.ProviderTxnNo, Amount: p.Amount, At: at(qDay, 12, i)})
			}
			for i := range 2 {
				sc.Refunds = append(sc.Refunds, scenario.Refund{MerchantRefundNo: fmt.Sprintf("V-REFUND-%d", i), ProviderRefundNo: fmt.Sprintf("R7%d", i),
					MerchantOrderNo: fmt.Sprintf("V-ORDER-%d", i), ProviderTxnNo: fmt.Sprintf("N70202611050000%02d", i), Status: payrecon.StatusSuccess,
					Amount: 100, PayerAmount: 100, CreatedAt: at(qDay, 15, i), FinishedAt: at(qDay, 15, i+1)})
			}
			sc.Unlock()
			var seen []string
			sb.TamperBills(func(tb *scenario.BillTamper) { seen = append(seen, string(tb.Plain)) })
			c := sandboxClient(t, sb, "dy")
			for _, kind := range []payrecon.BillKind{payrecon.BillTrade, payrecon.BillSettlement} {
				var lines []payrecon.BillLine
				f, err := c.Bill(context.Background(), qDay, kind, func(l payrecon.BillLine) error { lines = append(lines, l); return nil })
				if err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				want := 5
				if kind == payrecon.BillSettlement {
					want = 3
				}
				if len(lines) != want || f.Lines != int64(want) {
					t.Fatalf("%s: %d lines (file %d), want %d", kind, len(lines), f.Lines, want)
				}
				for _, l := range lines {
					if l.Status != payrecon.StatusSuccess {
						t.Errorf("%s: line %d status %q", kind, l.LineNo, l.Status)
					}
				}
			}
			// the variant is really on the wire
			all := strings.Join(seen, "")
			first := "\n0, "
			if opts.Numbering == sandbox.NumberDown {
				first = "\n3, "
			}
			if !strings.Contains(all, first) || !strings.Contains(all, opts.DoneWords[douyin.BillSettle]) || strings.Contains(all, "SUCCESS") {
				t.Errorf("sandbox bills do not show the variant:\n%s", all)
			}
		})
	}
}

// An answer that is JSON where a bill table was expected is an error: with
// err_no 0 it says so (not a provider refusal, never an empty bill); with
// another err_no it is the provider's error with its err_tips.
func TestBillJSONAnswer(t *testing.T) {
	sb, _ := plantedSandbox(t, sandbox.Options{})
	c := sandboxClient(t, sb, "dy")
	for _, tc := range []struct {
		body   string
		want   []string
		code   string // the ProviderError's, "" for none
		format bool   // wraps billread.ErrFormat
	}{
		{`{"err_no":0,"err_tips":"success"}`, []string{"unexpected JSON answer (err_no 0) where a bill table was expected", `err_tips "success"`, "_payment.csv"}, "", true},
		{"\ufeff  {\"err_no\":\"0\",\"data\":{}}", []string{"unexpected JSON answer (err_no 0) where a bill table was expected"}, "", true},
		{`{"data":[]}`, []string{"unexpected JSON answer (err_no 0) where a bill table was expected"}, "", true},
		{`{"err_no":1,"err_tips":"end_date is before start_date"}`, []string{"end_date is before start_date"}, "1", false},
		{`{"err_no":`, []string{"neither a bill nor json"}, "", false},
	} {
		sb.TamperBills(func(tb *scenario.BillTamper) { tb.Plain = []byte(tc.body) })
		n := 0
		_, err := c.Bill(context.Background(), qDay, payrecon.BillTrade, func(payrecon.BillLine) error { n++; return nil })
		if err == nil || n != 0 {
			t.Errorf("%s: %v after %d lines", tc.body, err, n)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", tc.body, err, w)
			}
		}
		var pe *payrecon.ProviderError
		if isPE := errors.As(err, &pe); isPE != (tc.code != "") || (isPE && pe.Code != tc.code) {
			t.Errorf("%s: provider error %v (%+v), want code %q", tc.body, isPE, pe, tc.code)
		}
		if errors.Is(err, payrecon.ErrBillNotReady) || errors.Is(err, payrecon.ErrTransient) {
			t.Errorf("%s: %v classified as not ready or transient", tc.body, err)
		}
		if errors.Is(err, billread.ErrFormat) != tc.format {
			t.Errorf("%s: %v: ErrFormat %v, want %v", tc.body, err, !tc.format, tc.format)
		}
	}
}
