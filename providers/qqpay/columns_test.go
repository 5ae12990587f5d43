package qqpay_test

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/qqpay/sandbox"
)

// lineField reads a BillLine field by its payrecon.BillFields name.
var lineField = map[string]func(l payrecon.BillLine) string{
	"kind":               func(l payrecon.BillLine) string { return string(l.Kind) },
	"status":             func(l payrecon.BillLine) string { return string(l.Status) },
	"type":               func(l payrecon.BillLine) string { return l.Type },
	"merchant_order_no":  func(l payrecon.BillLine) string { return l.MerchantOrderNo },
	"provider_txn_no":    func(l payrecon.BillLine) string { return l.ProviderTxnNo },
	"merchant_refund_no": func(l payrecon.BillLine) string { return l.MerchantRefundNo },
	"provider_refund_no": func(l payrecon.BillLine) string { return l.ProviderRefundNo },
	"amount":             func(l payrecon.BillLine) string { return strconv.FormatInt(l.Amount, 10) },
	"payer_amount":       func(l payrecon.BillLine) string { return strconv.FormatInt(l.PayerAmount, 10) },
	"promotion_amount":   func(l payrecon.BillLine) string { return strconv.FormatInt(l.PromotionAmount, 10) },
	"fee":                func(l payrecon.BillLine) string { return strconv.FormatInt(l.Fee, 10) },
	"fee_rate":           func(l payrecon.BillLine) string { return strconv.FormatInt(l.FeeRatePPM, 10) },
	"settlement":         func(l payrecon.BillLine) string { return strconv.FormatInt(l.Settlement, 10) },
	"currency":           func(l payrecon.BillLine) string { return l.Currency },
	"created_at":         func(l payrecon.BillLine) string { return wallClock(l.CreatedAt) },
	"finished_at":        func(l payrecon.BillLine) string { return wallClock(l.FinishedAt) },
	"product":            func(l payrecon.BillLine) string { return l.Product },
	"payload":            func(l payrecon.BillLine) string { return l.Payload },
}

func wallClock(t time.Time) string { return t.In(payrecon.Shanghai).Format("2006-01-02 15:04:05") }

// cellEdit is a new cell for a declared column and the field value the
// parser must then read from it.
type cellEdit struct{ cell, want string }

func cellEdits(kind payrecon.Kind) map[string]cellEdit {
	e := map[string]cellEdit{
		"status":             {"退款中", string(payrecon.StatusPending)},
		"merchant_order_no":  {"`MX-42", "MX-42"},
		"provider_txn_no":    {"`TX42", "TX42"},
		"merchant_refund_no": {"`RX-42", "RX-42"},
		"provider_refund_no": {"`RFX42", "RFX42"},
		"amount":             {"98.76", "9876"},
		"promotion_amount":   {"0.05", "5"},
		"fee":                {"1.23", "123"},
		"fee_rate":           {"1.25%", "12500"},
		"currency":           {"USD", "USD"},
		"product":            {"新商品", "新商品"},
		"payload":            {"attach-42", "attach-42"},
		"created_at":         {"2026-11-20 08:07:06", "2026-11-20 08:07:06"},
		"finished_at":        {"2026-11-20 08:07:06", "2026-11-20 08:07:06"},
	}
	switch kind {
	case payrecon.KindPayment:
		e["kind"] = cellEdit{"已撤销", string(payrecon.KindOther)}
		e["type"] = cellEdit{"SUCCESS", "SUCCESS"}
	case payrecon.KindRefund:
		e["type"] = cellEdit{"REFUND", "REFUND"}
	case payrecon.KindOther:
		e["type"] = cellEdit{"已关闭", "已关闭"}
	}
	return e
}

// TestBillColumnsRead: every column the client declares for a kind of
// trade-bill line is the one the parser reads the field from. In the
// statement the sandbox serves, the cell under the declared column (found
// by its exact header) of a line of that kind is changed, and the parsed
// line's field must change to what the new cell says.
func TestBillColumnsRead(t *testing.T) {
	_, c := mustSandbox(t, billScenario(), sandbox.Options{})
	good := string(render(t, sandbox.Options{LongTimes: true}))
	rows := strings.Split(good, "\r\n")
	header := strings.Split(rows[0], ",")
	lines, _, err := parse(t, []byte(good), "c.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []payrecon.Kind{payrecon.KindPayment, payrecon.KindRefund, payrecon.KindOther} {
		i := slices.IndexFunc(lines, func(l payrecon.BillLine) bool { return l.Kind == kind })
		if i < 0 {
			t.Fatalf("the statement has no %s line", kind)
		}
		before := lines[i]
		cols := c.BillColumns(payrecon.BillTrade, kind)
		if len(cols) == 0 {
			t.Errorf("%s lines: no column declared", kind)
		}
		edits := cellEdits(kind)
		for _, field := range slices.Sorted(maps.Keys(cols)) {
			col := cols[field]
			t.Run(string(kind)+"/"+field, func(t *testing.T) {
				read, ok := lineField[field]
				if !ok {
					t.Fatalf("%q is not a BillLine field the test knows", field)
				}
				edit, ok := edits[field]
				if !ok {
					t.Fatalf("no cell edit for %s lines' %s: add one", kind, field)
				}
				if read(before) == edit.want {
					t.Fatalf("%s is already %q: the edit would prove nothing", field, edit.want)
				}
				at := slices.Index(header, col)
				if at < 0 {
					t.Fatalf("declared column %q heads no column of %q", col, rows[0])
				}
				row := strings.Split(rows[before.LineNo-1], ",")
				if len(row) != len(header) {
					t.Fatalf("line %d has %d cells, the header %d", before.LineNo, len(row), len(header))
				}
				row[at] = edit.cell
				edited := slices.Clone(rows)
				edited[before.LineNo-1] = strings.Join(row, ",")
				got, _, err := parse(t, []byte(strings.Join(edited, "\r\n")), "c.csv")
				// every line is delivered before the summary is checked:
				// a changed amount only breaks the summary
				if err != nil && !errors.Is(err, qqpay.ErrSummaryMismatch) {
					t.Fatal(err)
				}
				j := slices.IndexFunc(got, func(l payrecon.BillLine) bool { return l.LineNo == before.LineNo })
				if j < 0 {
					t.Fatalf("line %d not parsed", before.LineNo)
				}
				if v := read(got[j]); v != edit.want {
					t.Errorf("%s = %q after %q was written under %s, want %q: the field is not read from the declared column", field, v, edit.cell, col, edit.want)
				}
				if field != "kind" && got[j].Kind != kind {
					t.Errorf("the edit made the line a %s line", got[j].Kind)
				}
			})
		}
	}
}

func TestBillColumnsDeclared(t *testing.T) {
	_, c := mustSandbox(t, billScenario(), sandbox.Options{})
	for _, kind := range []payrecon.Kind{payrecon.KindPayment, payrecon.KindRefund, payrecon.KindOther} {
		if cols := c.BillColumns(payrecon.BillSettlement, kind); cols != nil {
			t.Errorf("settlement bill (not supported), %s lines: %v", kind, cols)
		}
	}
	if cols := c.BillColumns(payrecon.BillTrade, payrecon.KindAgreement); cols != nil {
		t.Errorf("agreement lines: %v", cols)
	}
	for _, tc := range []struct {
		kind         payrecon.Kind
		field, named string
	}{
		{payrecon.KindPayment, "amount", "订单金额(元) (amount)"},
		{payrecon.KindRefund, "amount", "退款金额(元) (amount)"},
		{payrecon.KindRefund, "provider_txn_no", "QQ钱包订单号 (provider_txn_no)"},
		{payrecon.KindOther, "amount", "amount"},            // 订单金额, or 退款金额 when 0
		{payrecon.KindRefund, "finished_at", "finished_at"}, // 退款成功时间, or 交易时间 when empty
	} {
		if got := payrecon.BillColumnOf(c, payrecon.BillTrade, tc.kind, tc.field); got != tc.named {
			t.Errorf("%s %s: %q, want %q", tc.kind, tc.field, got, tc.named)
		}
	}
}
